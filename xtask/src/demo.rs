//! `cargo xtask demo`: a real container, start to finish, and the trace it
//! left behind — checked and narrated.
//!
//! State dir: `/var/lib/casulo`, or `CASULO_ROOT` if set.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{self, cargo, step};
use crate::{fail, setup, Result};

/// What the demo container runs (through busybox's sh).
const SCRIPT: &str = r#"echo "Olá do contêiner!"; hostname; echo "PID: $$"; ps; ls /"#;

pub fn run() -> Result {
    setup::run()?;

    step("Compilando o casulo (release)");
    cmd::run_timed(cargo().args(["build", "--release", "-p", "casulo"]))?;
    let casulo = cmd::target_dir().join("release/casulo");
    let root = std::env::var_os("CASULO_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/casulo"));
    let casulo_cmd = |args: &[&str]| {
        let mut c = Command::new(&casulo);
        c.arg("--root").arg(&root).args(args);
        c
    };

    step(&format!(
        "Imagem base busybox:latest (estado em {})",
        root.display()
    ));
    cmd::run(&mut casulo_cmd(&["image", "bootstrap"]))?;

    step("Um contêiner de verdade: novos namespaces, overlayfs, pivot_root");
    let mut run = casulo_cmd(&[
        "run",
        "--rm",
        "--name",
        "demo",
        "--hostname",
        "casulo-demo",
        "busybox",
        "sh",
        "-c",
        SCRIPT,
    ]);
    let (status, stderr) = cmd::run_tee_stderr(&mut run)?;
    cmd::check(&run, status)?;
    let Some(trace) = trace_path(&stderr) else {
        fail!(
            "o casulo não informou o trace (esperava a linha `casulo: trace: <caminho>` no stderr)"
        );
    };

    step("O trace é válido? (casulo trace check)");
    cmd::run(&mut casulo_cmd(&["trace", "check", path_str(&trace)?]))?;

    step("O que o kernel fez, passo a passo (casulo trace show)");
    cmd::run(&mut casulo_cmd(&["trace", "show", path_str(&trace)?]))?;

    println!("\nO trace desta execução está em:\n  {}", trace.display());
    serve(&trace)
}

/// Next issues: serve the visualizer and the book, opening this trace.
/// Until then, say where the trace is and how to look at it again.
fn serve(trace: &Path) -> Result {
    println!(
        "\nPara rever: casulo trace show {}\n\
         (Em breve: `cargo xtask demo` também vai servir o visualizador e o livro\n\
         no navegador, já abertos neste trace.)",
        trace.display()
    );
    Ok(())
}

/// The path in the `casulo: trace: <path>` line of `casulo run`'s stderr.
fn trace_path(stderr: &str) -> Option<PathBuf> {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.trim_end().strip_prefix("casulo: trace: "))
        .map(|p| PathBuf::from(p.trim()))
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| crate::Error(format!("caminho não é UTF-8: {}", p.display())))
}
