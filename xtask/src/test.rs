//! `cargo xtask test`: the whole check, in order, stopping at the first
//! failure (this is what CI runs, through `.ci/run`).
//!
//! 1. setup (packages and rustup targets)
//! 2. `cargo fmt --all --check`          (first: it takes a second)
//! 3. `cargo build -p casulo`            the engine, debug
//! 4. the probe, static (musl, release)  copied into test images as /probe
//! 5. `cargo test --workspace --no-fail-fast` with CASULO_BIN and CASULO_PROBE set
//!    (every test binary runs, so one report shows all failures)
//! 6. `cargo build -p casulo-trace --target wasm32-unknown-unknown`
//! 7. the visualizer built to wasm and tested in Debian's chromium
//!    (see `browser.rs`; only this with `--so-navegador`)
//! 8. `cargo clippy --workspace -- -D warnings`, and the visualizer's app
//!    code for wasm32 (skip with `--sem-clippy`)

use std::time::Instant;

use crate::cmd::{self, cargo, step};
use crate::{browser, fail, setup, web, Result};

pub const PROBE_TARGET: &str = "x86_64-unknown-linux-musl";

pub fn run(args: &[String]) -> Result {
    let mut clippy = true;
    let mut only_browser = false;
    for a in args {
        match a.as_str() {
            "--sem-clippy" => clippy = false,
            "--so-navegador" => only_browser = true,
            other => fail!(
                "opção desconhecida para `test`: {other} (aceita: --sem-clippy, --so-navegador)"
            ),
        }
    }
    let start = Instant::now();
    setup::run()?;
    if only_browser {
        let prepared = browser::prepare()?;
        browser::run_tests(&prepared)?;
        println!(
            "\nvisualizador ok no navegador ({:.0} s).",
            start.elapsed().as_secs_f64()
        );
        return Ok(());
    }

    step("Formatação (cargo fmt --all --check)");
    if cmd::run(cargo().args(["fmt", "--all", "--check"])).is_err() {
        fail!("o código não está formatado: rode `cargo fmt --all` e confira a diferença acima");
    }

    step("Compilando o motor (casulo, debug)");
    cmd::run_timed(cargo().args(["build", "-p", "casulo"]))?;
    let casulo = cmd::target_dir().join("debug/casulo");

    let probe = build_probe()?;

    step("Testes (cargo test --workspace --no-fail-fast)");
    cmd::run_timed(
        cargo()
            .args(["test", "--workspace", "--no-fail-fast"])
            .env("CASULO_BIN", &casulo)
            .env("CASULO_PROBE", &probe),
    )?;

    step("O crate de trace compila para WebAssembly");
    cmd::run_timed(cargo().args([
        "build",
        "-p",
        "casulo-trace",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;

    let prepared = browser::prepare()?;
    browser::run_tests(&prepared)?;

    if clippy {
        step("Clippy (cargo clippy --workspace -- -D warnings)");
        cmd::run_timed(cargo().args(["clippy", "--workspace", "--", "-D", "warnings"]))?;
        step("Clippy do visualizador para wasm32 (o código do app só existe lá)");
        cmd::run_timed(cargo().args([
            "clippy",
            "-p",
            "casulo-visualizer",
            "--target",
            web::WASM_TARGET,
            "--",
            "-D",
            "warnings",
        ]))?;
    } else {
        println!("\n(clippy pulado: --sem-clippy)");
    }

    println!(
        "\ntudo certo: formatação, compilação, testes, wasm e navegador ({:.0} s no total).",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Builds the static probe and returns its absolute path.
pub fn build_probe() -> Result<std::path::PathBuf> {
    step("Compilando a sonda estática (probe, musl, release)");
    cmd::run_timed(cargo().args([
        "build",
        "-p",
        "casulo-probe",
        "--release",
        "--target",
        PROBE_TARGET,
    ]))?;
    Ok(cmd::target_dir().join(PROBE_TARGET).join("release/probe"))
}
