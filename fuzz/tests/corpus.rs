//! Replays the saved corpus and the crash regressions of every fuzz target
//! as ordinary tests (no fuzzing engine): `fuzz/corpus/<alvo>/*`,
//! `fuzz/regressoes/<alvo>/*` and the seeds (`casulo_fuzz::seeds`, among
//! them the hostile layers) go through the same function the fuzzer calls.
//! A target with no corpus at all fails: the corpus is part of the
//! repository.

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(d) => d
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

fn replay(name: &str) {
    let target = casulo_fuzz::target(name).expect("alvo conhecido");
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = files(&fuzz.join("corpus").join(name));
    let regressions = files(&fuzz.join("regressoes").join(name));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{name}/ está vazio: rode `cargo xtask fuzz {name}`"
    );
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| (target.run)(&data));
        if outcome.is_err() {
            panic!(
                "{} quebrou o alvo {name} (veja a mensagem acima)",
                path.display()
            );
        }
    }
    // The seeds too (the minimised corpus may have dropped the hand-made
    // hostile ones, whose edges other files reach).
    let seeds = casulo_fuzz::seeds::seeds(name, fuzz.parent().unwrap());
    for (seed, data) in &seeds {
        let outcome = std::panic::catch_unwind(|| (target.run)(data));
        if outcome.is_err() {
            panic!("a semente {seed} quebrou o alvo {name} (veja a mensagem acima)");
        }
    }
    println!(
        "{name}: {} entradas do corpus, {} regressões e {} sementes",
        corpus.len(),
        regressions.len(),
        seeds.len()
    );
}

#[test]
fn corpus_dockerfile() {
    replay("dockerfile");
}

#[test]
fn corpus_dockerignore() {
    replay("dockerignore");
}

#[test]
fn corpus_trace() {
    replay("trace");
}

#[test]
fn corpus_imagem() {
    replay("imagem");
}

#[test]
fn corpus_camada() {
    let outcome = std::panic::catch_unwind(|| replay("camada"));
    casulo_fuzz::camada::cleanup();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn corpus_carregar() {
    replay("carregar");
}

/// Known bugs the targets catch, whose fix belongs to another change: each
/// file of `fuzz/pendentes/<alvo>/` must still break its target. When the
/// fix lands this test fails: move the file to `fuzz/regressoes/<alvo>/`.
/// (None today: `camada/bomba-esparsa`, issue 13's item 5, is fixed and
/// lives in `fuzz/regressoes/camada/`.)
#[test]
fn pending_bugs_still_break_their_targets() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for target in casulo_fuzz::TARGETS {
        for path in files(&fuzz.join("pendentes").join(target.name)) {
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| (target.run)(&data));
            if target.name == "camada" {
                casulo_fuzz::camada::cleanup();
            }
            assert!(
                outcome.is_err(),
                "{} não quebra mais o alvo {}: o defeito foi corrigido? mova-o para fuzz/regressoes/{}/",
                path.display(),
                target.name,
                target.name
            );
            checked += 1;
        }
    }
    println!("{checked} defeitos conhecidos ainda pegos pelos alvos");
}
