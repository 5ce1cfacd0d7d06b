//! The course: `cargo xtask book` records the examples that have no
//! recording yet (or again, with `--regravar`), builds the visualizer and
//! the book, and puts them together in `book/build/`:
//!
//! ```text
//! book/build/index.html …       the chapters (mdBook, with our preprocessor)
//! book/build/visualizador/      the visualizer (its embed mode is the replays)
//! book/build/exemplos/          the recorded traces the replays open
//! ```
//!
//! [`check`] is the book's part of `cargo xtask test`: every scenario run
//! again and compared with its recording (the course's doctest), every
//! recorded trace valid and of the current format, the spelling (hunspell
//! pt_BR + `book/palavras.txt`) and every internal link.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use casulo_book::{compare, links, record, scenario, spelling};

use crate::cmd::{self, step};
use crate::{fail, web, Result};

/// `book/`
pub fn book_dir() -> PathBuf {
    cmd::workspace_root().join("book")
}

fn examples_dir() -> PathBuf {
    book_dir().join("exemplos")
}

/// Where scenarios run (a fresh folder each, removed after).
fn scratch_dir() -> PathBuf {
    cmd::target_dir().join("book-cenarios")
}

/// `cargo xtask book [--regravar [NOME...]] [--verificar]`
pub fn run(args: &[String]) -> Result {
    let mut again: Option<Vec<String>> = None;
    let mut verify = false;
    for a in args {
        match (a.as_str(), &mut again) {
            ("--verificar", _) => verify = true,
            ("--regravar", None) => again = Some(Vec::new()),
            (name, Some(names)) if !name.starts_with('-') => names.push(name.to_string()),
            _ => fail!("uso: cargo xtask book [--regravar [NOME...]] [--verificar]"),
        }
    }
    crate::setup::run()?;
    let casulo = cmd::build_casulo_release()?;
    record_examples(&casulo, again.as_deref())?;
    if verify {
        return check(&casulo);
    }
    let built = build()?;
    println!(
        "\ncurso pronto em {}\n(para ler com o visualizador: cargo xtask demo, ou cargo xtask serve)",
        built.join("index.html").display()
    );
    Ok(())
}

/// Every scenario of `book/exemplos`: (name, path), sorted.
fn scenarios() -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(examples_dir())? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .ok_or_else(|| format!("nome de arquivo estranho: {}", path.display()))?;
            out.push((name.to_string(), path.clone()));
        }
    }
    out.sort();
    Ok(out)
}

/// Records the scenarios with no recording yet, or those in `again`
/// (all of them when `again` is empty).
pub fn record_examples(casulo: &Path, again: Option<&[String]>) -> Result {
    web::ensure_visualizer()?;
    step("Gravando os exemplos do curso (cenários de book/exemplos)");
    let all = scenarios()?;
    if let Some(names) = again {
        for n in names {
            if !all.iter().any(|(name, _)| name == n) {
                fail!("não há cenário {n} em {}", examples_dir().display());
            }
        }
    }
    let mut recorded = 0;
    for (name, path) in &all {
        let wanted = match again {
            Some([]) => true,
            Some(names) => names.contains(name),
            None => !record::recording_path(&examples_dir(), name).exists(),
        };
        if !wanted {
            continue;
        }
        let start = Instant::now();
        let scenario = scenario::load(path)?;
        let fresh = record::record(&scenario, casulo, &scratch_dir())
            .map_err(|e| format!("cenário {name}: {e}"))?;
        record::save(&examples_dir(), name, &fresh)?;
        recorded += 1;
        println!(
            "  gravado  {name}: {} passos{} ({:.1} s)",
            fresh.recording.passos.len(),
            match &fresh.trace {
                Some(t) => format!(", trace de {} eventos", t.lines().count().saturating_sub(1)),
                None => String::new(),
            },
            start.elapsed().as_secs_f64()
        );
    }
    println!(
        "  {recorded} gravados, {} já tinham gravação",
        all.len() - recorded
    );
    Ok(())
}

/// Builds the visualizer and the book into `book/build/`; returns it.
pub fn build() -> Result<PathBuf> {
    let dist = web::build_visualizer()?;
    step("Montando o curso (mdBook + o pré-processador do casulo)");
    let start = Instant::now();
    let mut book = mdbook_driver::MDBook::load(book_dir())
        .map_err(|e| format!("não consegui carregar o livro: {e:#}"))?;
    book.with_preprocessor(casulo_book::preprocessor::Casulo);
    book.build()
        .map_err(|e| format!("o livro não foi montado:\n{e:#}"))?;
    let out = book_dir().join("build");
    fold_search_accents(&out)?;
    copy_dir(&dist, &out.join("visualizador"))?;
    let traces = out.join("exemplos");
    fs::create_dir_all(&traces)?;
    for entry in fs::read_dir(examples_dir())? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with(".trace.jsonl") {
            fs::copy(&path, traces.join(path.file_name().expect("file name")))?;
        }
    }
    println!(
        "  {} ({:.1} s)",
        out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(out)
}

/// The search index also under plain spellings (`memoria` finds `memória`).
fn fold_search_accents(out: &Path) -> Result {
    for entry in fs::read_dir(out)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("searchindex") && name.ends_with(".js") {
            let folded = casulo_book::search::fold_accents(&fs::read_to_string(&path)?)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            fs::write(&path, folded)?;
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// The book's checks in `cargo xtask test` (see the module doc), with the
/// `casulo` binary the tests use.
pub fn check(casulo: &Path) -> Result {
    web::ensure_visualizer()?;
    step("Curso: cada exemplo roda de novo e dá a saída do livro (o doctest do curso)");
    let start = Instant::now();
    let mut problems = Vec::new();
    let all = scenarios()?;
    for (name, path) in &all {
        let scenario = scenario::load(path)?;
        let stored = match record::load(&examples_dir(), name) {
            Ok(r) => r,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        if scenario.passo.iter().any(|p| p.trace) {
            if let Err(e) = record::load_trace(&examples_dir(), name) {
                problems.push(e);
            }
        }
        let t = Instant::now();
        match record::record(&scenario, casulo, &scratch_dir()) {
            Ok(fresh) => match compare::compare(&scenario, &stored, &fresh.recording)
                .and_then(|()| same_start_up(name, fresh.trace.as_deref()))
            {
                Ok(()) => println!("  ok  {name} ({:.1} s)", t.elapsed().as_secs_f64()),
                Err(e) => problems.push(format!(
                    "{name}: a saída de hoje não é a do livro (se a mudança é esperada: cargo xtask book --regravar {name})\n{e}"
                )),
            },
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    if !problems.is_empty() {
        fail!("{}", problems.join("\n\n"));
    }
    println!(
        "  {} exemplos iguais ao livro ({:.0} s)",
        all.len(),
        start.elapsed().as_secs_f64()
    );

    spelling_check()?;

    let built = build()?;
    step("Curso: nenhum link interno quebrado");
    let broken = links::broken(&built)?;
    if !broken.is_empty() {
        fail!("links quebrados no curso:\n  {}", broken.join("\n  "));
    }
    println!("  nenhum");
    Ok(())
}

/// The example's recorded trace starts its container as today's run did
/// ([`compare::compare_startup`]), when the example has a trace.
fn same_start_up(name: &str, fresh: Option<&str>) -> std::result::Result<(), String> {
    let Some(fresh) = fresh else {
        return Ok(());
    };
    let path = record::trace_path(&examples_dir(), name);
    let stored = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    compare::compare_startup(&stored, fresh)
}

/// hunspell (pt_BR) over the prose of every chapter and lab; words of
/// `book/palavras.txt` are accepted.
fn spelling_check() -> Result {
    step("Curso: ortografia (hunspell pt_BR + book/palavras.txt)");
    // Case does not matter: `Docker` accepts `docker` (the command).
    let accepted: std::collections::BTreeSet<String> =
        spelling::word_list(&fs::read_to_string(book_dir().join("palavras.txt"))?)
            .into_iter()
            .map(|w| w.to_lowercase())
            .collect();
    let src = book_dir().join("src");
    let mut chapters: Vec<PathBuf> = fs::read_dir(&src)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    // The labs' READMEs are pages of the course too ({{#laboratorio}}).
    let labs = cmd::workspace_root().join("labs");
    chapters.push(labs.join("README.md"));
    for entry in fs::read_dir(&labs)?.flatten() {
        let readme = entry.path().join("README.md");
        if readme.is_file() {
            chapters.push(readme);
        }
    }
    chapters.sort();
    let mut wrong = Vec::new();
    for chapter in &chapters {
        let text = fs::read_to_string(chapter)?;
        let prose = spelling::prose(&text);
        for word in hunspell(&prose)? {
            if accepted.contains(&word.to_lowercase()) {
                continue;
            }
            wrong.push(format!(
                "{}:{}: «{word}»",
                chapter
                    .strip_prefix(cmd::workspace_root())
                    .unwrap_or(chapter)
                    .display(),
                spelling::line_of(&prose, &word)
            ));
        }
    }
    if !wrong.is_empty() {
        fail!(
            "palavras que o hunspell não conhece (corrija, ou, se for termo técnico, ponha em book/palavras.txt):\n  {}",
            wrong.join("\n  ")
        );
    }
    println!("  {} páginas sem erros", chapters.len());
    Ok(())
}

/// The words of `text` hunspell's pt_BR dictionary does not know.
fn hunspell(text: &str) -> Result<Vec<String>> {
    use std::io::Write;
    let mut child = Command::new("hunspell")
        .args(["-d", "pt_BR", "-i", "UTF-8", "-l"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("não consegui rodar o hunspell ({e}): rode `cargo xtask setup`"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let input = text.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    let _ = writer.join();
    if !out.status.success() {
        fail!("hunspell falhou: {}", cmd::describe(out.status));
    }
    let mut words: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    words.sort();
    words.dedup();
    Ok(words)
}
