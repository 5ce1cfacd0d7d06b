//! `cargo xtask test`: the whole check, in order, stopping at the first
//! failure (this is what CI runs, through `.ci/run`).
//!
//! 1. setup (packages and rustup targets)
//! 2. `cargo fmt --all --check`          (first: it takes a second)
//! 3. `cargo build -p casulo`            the engine, debug
//! 4. the probe, static (musl, release)  copied into test images as /probe
//! 5. `cargo test --workspace --no-fail-fast` with CASULO_BIN and CASULO_PROBE set
//!    (every test binary runs, so one report shows all failures)
//! 6. no casulo cgroup left under /sys/fs/cgroup
//! 7. the cgroup v2 tests in a VM (`vm.rs`; skip with `--sem-vm`)
//! 8. `cargo build -p casulo-trace --target wasm32-unknown-unknown`
//! 9. the visualizer built to wasm and tested in Debian's chromium
//!    (see `browser.rs`; only this with `--so-navegador`)
//! 10. `cargo clippy --workspace -- -D warnings`, and the visualizer's app
//!     code for wasm32 (skip with `--sem-clippy`)

use std::time::Instant;

use crate::cmd::{self, cargo, step};
use crate::{browser, fail, setup, web, Result};

pub const PROBE_TARGET: &str = "x86_64-unknown-linux-musl";

pub fn run(args: &[String]) -> Result {
    let mut clippy = true;
    let mut only_browser = false;
    let mut vm = true;
    for a in args {
        match a.as_str() {
            "--sem-clippy" => clippy = false,
            "--so-navegador" => only_browser = true,
            "--sem-vm" => vm = false,
            other => fail!(
                "opção desconhecida para `test`: {other} (aceita: --sem-clippy, --sem-vm, --so-navegador)"
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

    step("Nenhum cgroup do casulo sobrou em /sys/fs/cgroup");
    let left = leftover_cgroups();
    if !left.is_empty() {
        fail!(
            "os testes deixaram cgroups para trás: {}",
            left.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!(
        "  nenhum (procurei em /sys/fs/cgroup/casulo e /sys/fs/cgroup/*/casulo; \
         contêineres vivos de outras execuções não contam)"
    );

    if vm {
        crate::vm::run(Some(probe.clone()))?;
    } else {
        println!("\n(VM de cgroup v2 pulada: --sem-vm)");
    }

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

/// Leaked casulo cgroups: a container cgroup (`casulo/<id>`) with no
/// process left, or a `casulo` parent with no container in it. Other test
/// runs on the same host (other worktrees) may have containers running or
/// being born/removed right now, so this looks for up to 10 s for one clean
/// snapshot and reports the last one otherwise.
fn leftover_cgroups() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new("/sys/fs/cgroup");
    let snapshot = || {
        let mut parents = vec![root.join("casulo")];
        if let Ok(rd) = std::fs::read_dir(root) {
            parents.extend(rd.flatten().map(|e| e.path().join("casulo")));
        }
        let mut leaked = Vec::new();
        for parent in parents.into_iter().filter(|p| p.is_dir()) {
            let children: Vec<_> = std::fs::read_dir(&parent)
                .map(|rd| {
                    rd.flatten()
                        .map(|e| e.path())
                        .filter(|p| p.is_dir())
                        .collect()
                })
                .unwrap_or_default();
            if children.is_empty() {
                leaked.push(parent);
            }
            for child in children {
                let empty = std::fs::read_to_string(child.join("cgroup.procs"))
                    .is_ok_and(|t| t.trim().is_empty());
                if empty {
                    leaked.push(child);
                }
            }
        }
        leaked
    };
    let mut last = snapshot();
    for _ in 0..40 {
        if last.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        last = snapshot();
    }
    last
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
