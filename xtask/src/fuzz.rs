//! `cargo xtask fuzz [ALVO] [--tempo S] [--execucoes N]`: the coverage-guided
//! fuzzers of `fuzz/` (libFuzzer, through the `libfuzzer-sys` crate).
//!
//! - installs `g++` if missing (libfuzzer-sys compiles libFuzzer's C++);
//! - builds the targets with SanitizerCoverage on **stable** Rust: the
//!   flags cargo-fuzz passes (`-Cpasses=sancov-module` and LLVM options)
//!   are stable `-C` options; no AddressSanitizer (that one needs nightly,
//!   and safe Rust does not need it to find panics, hangs and broken
//!   invariants). Their own target dir, `target/fuzz`, so the normal build
//!   is not thrown away;
//! - for each target: seeds `fuzz/corpus/<alvo>/` if it is empty (bin
//!   `semear`), fuzzes for S seconds in a scratch folder
//!   (`target/fuzz/rodada/<alvo>`), then merges and minimises what it
//!   found back into `fuzz/corpus/<alvo>/` (`-set_cover_merge=1` on edge
//!   coverage: a small set of files reaching the same code; alone with
//!   `--so-minimizar`);
//! - says, in pt-BR, how many executions, how many per second, the crashes
//!   (with the file that reproduces each; it belongs in
//!   `fuzz/regressoes/<alvo>/` once fixed) and the new corpus entries.
//!
//! `cargo xtask test` replays both folders (`fuzz/tests/corpus.rs`) without
//! libFuzzer. Long campaigns: `nice -n 19 cargo xtask fuzz ALVO --tempo 3600`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::cmd::{self, cargo, step};
use crate::{fail, setup, Result};

/// Target names (the same list as `casulo_fuzz::TARGETS`), with the
/// largest input each one is given.
pub const TARGETS: &[(&str, usize)] = &[
    ("dockerfile", 8192),
    ("dockerignore", 2048),
    ("trace", 8192),
    ("imagem", 8192),
    ("camada", 8192),
    ("carregar", 16384),
];

/// The targets that write files: they run fenced (`fuzz/src/sandbox.rs`:
/// own mount namespace, tmpfs, chroot into their working folder).
const FENCED: &[&str] = &["camada", "carregar"];

/// What the targets need besides Rust.
const PACKAGES: &[(&str, &str)] = &[("g++", "compila o libFuzzer (cargo xtask fuzz)")];

/// SanitizerCoverage as cargo-fuzz sets it, all stable options.
const RUSTFLAGS: &str = "-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    -Cllvm-args=-sanitizer-coverage-stack-depth \
    --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

/// The numbers of one run.
#[derive(Debug, Default)]
struct Outcome {
    executions: u64,
    per_second: u64,
    seconds: f64,
    crashes: Vec<PathBuf>,
    new_entries: u64,
    corpus_before: usize,
    corpus_files: usize,
    corpus_bytes: u64,
}

pub fn run(args: &[String]) -> Result {
    let mut targets: Vec<&str> = Vec::new();
    let mut seconds: u64 = 60;
    let mut runs: Option<u64> = None;
    let mut only_minimise = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--tempo" => seconds = number(it.next(), "--tempo")?,
            "--execucoes" => runs = Some(number(it.next(), "--execucoes")?),
            "--so-minimizar" => only_minimise = true,
            name if TARGETS.iter().any(|(t, _)| *t == name) => targets.push(name),
            other => fail!(
                "opção ou alvo desconhecido para `fuzz`: {other} (alvos: {}; opções: --tempo S, --execucoes N, --so-minimizar)",
                TARGETS.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
            ),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|(t, _)| *t).collect();
    }
    cmd::require_root(
        "o alvo `camada` desempacota camadas num namespace de montagem próprio, \
         com chroot e tmpfs, e o g++ se instala com apt-get",
    )?;
    step("Pacotes do fuzzing");
    setup::install_debian_packages(PACKAGES)?;
    let bin_dir = build()?;

    let mut summary = Vec::new();
    for name in &targets {
        let max_len = TARGETS
            .iter()
            .find(|(t, _)| t == name)
            .map(|(_, l)| *l)
            .unwrap_or(4096);
        let seconds = if only_minimise { 0 } else { seconds };
        let outcome = fuzz_one(&bin_dir, name, max_len, seconds, runs)?;
        summary.push((name.to_string(), outcome));
    }

    step("Resumo");
    let mut failed = Vec::new();
    for (name, o) in &summary {
        println!(
            "  {name:<12} {:>14} execuções em {:.0} s ({} exec/s), {} falha(s), {} entrada(s) nova(s); \
             corpus minimizado: {} → {} arquivos ({})",
            thousands(o.executions),
            o.seconds,
            thousands(o.per_second),
            o.crashes.len(),
            o.new_entries,
            o.corpus_before,
            o.corpus_files,
            kib(o.corpus_bytes),
        );
        for c in &o.crashes {
            println!("      falha: {}", c.display());
            failed.push(c.display().to_string());
        }
    }
    if !failed.is_empty() {
        fail!(
            "o fuzzing achou {} falha(s). Para reproduzir: rode o binário do alvo com o arquivo \
             (ex.: {}/fuzz-ALVO ARQUIVO). Corrigido o defeito, copie o arquivo para \
             fuzz/regressoes/ALVO/: `cargo xtask test` o repete para sempre",
            failed.len(),
            bin_dir.display()
        );
    }
    Ok(())
}

fn number(value: Option<&String>, option: &str) -> Result<u64> {
    match value.map(|v| v.parse::<u64>()) {
        Some(Ok(n)) if n > 0 => Ok(n),
        _ => fail!("{option} espera um número inteiro positivo"),
    }
}

/// The host's target triple (`rustc -vV`): the flags must not reach build
/// scripts and proc macros, so the build names its target explicitly.
fn host_triple() -> Result<String> {
    let out = cmd::capture(Command::new("rustc").arg("-vV"))?;
    match out.lines().find_map(|l| l.strip_prefix("host: ")) {
        Some(h) => Ok(h.trim().to_string()),
        None => fail!("`rustc -vV` não disse o alvo da máquina (linha host:)"),
    }
}

/// Builds the fuzzers (release, with debug assertions and overflow checks);
/// returns the folder of the binaries. (`semear` is an ordinary binary:
/// with these flags and no libFuzzer it would not link.)
fn build() -> Result<PathBuf> {
    step("Compilando os alvos de fuzzing (libFuzzer + SanitizerCoverage, Rust estável)");
    let triple = host_triple()?;
    let target_dir = cmd::target_dir().join("fuzz");
    cmd::run_timed(
        cargo()
            .args([
                "build",
                "--release",
                "-p",
                "casulo-fuzz",
                "--features",
                "libfuzzer",
            ])
            .args(
                TARGETS
                    .iter()
                    .flat_map(|(t, _)| ["--bin".to_string(), format!("fuzz-{t}")]),
            )
            .args(["--target", &triple])
            .arg("--target-dir")
            .arg(&target_dir)
            .env(
                "RUSTFLAGS",
                RUSTFLAGS.split_whitespace().collect::<Vec<_>>().join(" "),
            ),
    )?;
    Ok(target_dir.join(&triple).join("release"))
}

/// The files of `dir` (none if it does not exist).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn fresh_dir(dir: &Path) -> Result {
    if dir.exists() {
        fs::remove_dir_all(dir)
            .map_err(|e| format!("não consegui apagar {}: {e}", dir.display()))?;
    }
    fs::create_dir_all(dir).map_err(|e| format!("não consegui criar {}: {e}", dir.display()))?;
    Ok(())
}

/// Fuzzes one target for `seconds` (0: only minimises its corpus).
fn fuzz_one(
    bin_dir: &Path,
    name: &str,
    max_len: usize,
    seconds: u64,
    runs: Option<u64>,
) -> Result<Outcome> {
    if seconds == 0 {
        step(&format!("Minimizando o corpus do alvo {name}"));
    } else {
        step(&format!("Fuzzing do alvo {name} ({seconds} s)"));
    }
    let corpus = cmd::workspace_root().join("fuzz/corpus").join(name);
    seed_if_empty(name, &corpus)?;
    let before: BTreeSet<String> = names(&corpus);
    let work = work_dir(name, &corpus)?;
    let fuzzer = bin_dir.join(format!("fuzz-{name}"));
    let started = Instant::now();
    let (status, text) = fuzz(&fuzzer, &work, name, max_len, seconds, runs)?;
    let elapsed = started.elapsed().as_secs_f64();
    let stat = |key: &str| -> u64 {
        text.lines()
            .filter_map(|l| l.strip_prefix(&format!("stat::{key}:")))
            .filter_map(|v| v.trim().parse().ok())
            .next_back()
            .unwrap_or(0)
    };
    let crashes = files(&work.join("artefatos"));
    if !status.success() && crashes.is_empty() {
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        fail!(
            "o fuzzer de {name} terminou com {} sem deixar artefato; fim do log ({}):\n{}",
            cmd::describe(status),
            work.join("log.txt").display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    for c in &crashes {
        let why = text
            .lines()
            .find(|l| l.contains("panicked at") || l.contains("ERROR: libFuzzer"))
            .unwrap_or("(veja o log)");
        println!("  FALHA: {} — {why}", c.display());
    }
    minimise(&fuzzer, &work, name, max_len, &corpus)?;
    let after = names(&corpus);
    let outcome = Outcome {
        executions: stat("number_of_executed_units"),
        per_second: stat("average_exec_per_sec"),
        seconds: elapsed,
        crashes,
        new_entries: stat("new_units_added"),
        corpus_before: before.len(),
        corpus_files: after.len(),
        corpus_bytes: files(&corpus)
            .iter()
            .filter_map(|f| f.metadata().ok())
            .map(|m| m.len())
            .sum(),
    };
    println!(
        "  {name}: {} execuções, {} exec/s, {} falha(s), {} entrada(s) nova(s) no corpus",
        thousands(outcome.executions),
        thousands(outcome.per_second),
        outcome.crashes.len(),
        outcome.new_entries
    );
    Ok(outcome)
}

/// An empty `fuzz/corpus/<alvo>/` is seeded with the project's own files.
fn seed_if_empty(name: &str, corpus: &Path) -> Result {
    if !files(corpus).is_empty() {
        return Ok(());
    }
    println!("  fuzz/corpus/{name}/ está vazio: semeando com os arquivos do projeto");
    cmd::run(
        cargo()
            .args([
                "run",
                "-q",
                "-p",
                "casulo-fuzz",
                "--bin",
                "semear",
                "--",
                name,
            ])
            .arg(corpus),
    )
}

/// The fuzzer works in its own folder (the `camada` target chroots into
/// it): a copy of the corpus, its artifacts, its log.
fn work_dir(name: &str, corpus: &Path) -> Result<PathBuf> {
    let work = cmd::target_dir().join("fuzz/rodada").join(name);
    fresh_dir(&work)?;
    for sub in ["corpus", "artefatos", "minimo"] {
        fs::create_dir_all(work.join(sub))?;
    }
    for f in files(corpus) {
        fs::copy(&f, work.join("corpus").join(f.file_name().unwrap()))?;
    }
    Ok(work)
}

/// Runs the fuzzer in `work` for `seconds` (0: not at all); its exit
/// status and its log (`work/log.txt`).
fn fuzz(
    fuzzer: &Path,
    work: &Path,
    name: &str,
    max_len: usize,
    seconds: u64,
    runs: Option<u64>,
) -> Result<(std::process::ExitStatus, String)> {
    let log = work.join("log.txt");
    if seconds == 0 {
        fs::write(&log, "")?;
        return Ok((std::process::ExitStatus::default(), String::new()));
    }
    let mut c = Command::new(fuzzer);
    c.current_dir(work)
        .arg("corpus")
        .arg("-artifact_prefix=artefatos/")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-max_len={max_len}"))
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1");
    if let Some(n) = runs {
        c.arg(format!("-runs={n}"));
    }
    if FENCED.contains(&name) {
        c.env("CASULO_FUZZ_CHROOT", "1");
    }
    println!(
        "$ (em {}) {} 2> {}",
        work.display(),
        cmd::show(&c),
        log.display()
    );
    let status = c
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log)?)
        .status()
        .map_err(|e| format!("não consegui rodar {}: {e}", fuzzer.display()))?;
    Ok((status, fs::read_to_string(&log).unwrap_or_default()))
}

/// Minimise: a small subset of (old corpus + new units) with the same
/// edge coverage replaces fuzz/corpus/<alvo>. Set-cover merge on edges
/// only (no hit counters, no comparison operands): those distinguish
/// thousands of near-identical inputs, and the corpus lives in git.
fn minimise(fuzzer: &Path, work: &Path, name: &str, max_len: usize, corpus: &Path) -> Result {
    let mut m = Command::new(fuzzer);
    m.current_dir(work)
        .args([
            "-set_cover_merge=1",
            "-use_counters=0",
            "-use_cmp=0",
            "-merge_control_file=controle-merge",
        ])
        .arg(format!("-max_len={max_len}"))
        .args(["-timeout=10", "minimo", "corpus"]);
    if FENCED.contains(&name) {
        m.env("CASULO_FUZZ_CHROOT", "1");
    }
    let merged = m
        .stdout(Stdio::null())
        .stderr(fs::File::create(work.join("merge.txt"))?)
        .status()?;
    if merged.success() && !files(&work.join("minimo")).is_empty() {
        fresh_dir(corpus)?;
        for f in files(&work.join("minimo")) {
            fs::copy(&f, corpus.join(f.file_name().unwrap()))?;
        }
    } else {
        println!(
            "  (a minimização falhou, veja {}: o corpus do repositório ficou como estava)",
            work.join("merge.txt").display()
        );
    }
    Ok(())
}

fn names(dir: &Path) -> BTreeSet<String> {
    files(dir)
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

/// 12345678 → "12.345.678" (the Brazilian way).
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

fn kib(bytes: u64) -> String {
    format!("{:.0} KiB", bytes as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_dotted() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1.000");
        assert_eq!(super::thousands(12_345_678), "12.345.678");
    }
}
