//! Helpers to run commands: output streamed to the terminal, and an error
//! that names the exact command line that failed.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use crate::{fail, Result};

/// The workspace root (xtask lives in `<root>/xtask`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask/ has a parent")
        .to_path_buf()
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or `<root>/target`), absolute.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// A `cargo` command, using the same cargo that runs xtask.
pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

/// The command line as a person would type it (env vars set on it first).
pub fn show(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .collect();
    parts.push(cmd.get_program().to_string_lossy().into_owned());
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$;&|()".contains(c)) {
            parts.push(format!("'{}'", a.replace('\'', r"'\''")));
        } else {
            parts.push(a.into_owned());
        }
    }
    parts.join(" ")
}

/// A step title, so long outputs are easy to scan.
pub fn step(title: &str) {
    println!("\n==> {title}");
    let _ = std::io::stdout().flush();
}

/// Runs `cmd` with its output going straight to the terminal; fails, naming
/// the command, on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result {
    println!("$ {}", show(cmd));
    let _ = std::io::stdout().flush();
    let status = spawn_status(cmd)?;
    check(cmd, status)
}

/// Like [`run`], and says how long it took.
pub fn run_timed(cmd: &mut Command) -> Result {
    let start = Instant::now();
    run(cmd)?;
    println!("   ({:.1} s)", start.elapsed().as_secs_f64());
    Ok(())
}

/// Runs `cmd` and returns its stdout; stderr is kept for the error message.
pub fn capture(cmd: &mut Command) -> Result<String> {
    let out = match cmd.stdin(Stdio::null()).output() {
        Ok(out) => out,
        Err(e) => fail!("não foi possível executar `{}`: {e}", show(cmd)),
    };
    if !out.status.success() {
        fail!(
            "o comando `{}` falhou ({}):\n{}",
            show(cmd),
            describe(out.status),
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `cmd` with stdout streamed, and stderr both streamed and returned
/// (to find lines such as `casulo: trace: <path>`). Does not fail on a
/// non-zero exit: the caller decides.
pub fn run_tee_stderr(cmd: &mut Command) -> Result<(ExitStatus, String)> {
    println!("$ {}", show(cmd));
    let _ = std::io::stdout().flush();
    let mut child = match cmd.stderr(Stdio::piped()).spawn() {
        Ok(c) => c,
        Err(e) => fail!("não foi possível executar `{}`: {e}", show(cmd)),
    };
    let mut captured = String::new();
    let stderr = child.stderr.take().expect("stderr is piped");
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        eprintln!("{line}");
        captured.push_str(&line);
        captured.push('\n');
    }
    Ok((child.wait()?, captured))
}

/// An error naming `cmd` unless `status` is success.
pub fn check(cmd: &Command, status: ExitStatus) -> Result {
    if !status.success() {
        fail!("o comando `{}` falhou ({})", show(cmd), describe(status));
    }
    Ok(())
}

/// "código 1" or "morto pelo sinal 9".
pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("código {c}"),
        (None, Some(s)) => format!("morto pelo sinal {s}"),
        _ => status.to_string(),
    }
}

fn spawn_status(cmd: &mut Command) -> Result<ExitStatus> {
    match cmd.status() {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => fail!(
            "o programa `{}` não foi encontrado (rode `cargo xtask setup`?)",
            cmd.get_program().to_string_lossy()
        ),
        Err(e) => fail!("não foi possível executar `{}`: {e}", show(cmd)),
    }
}

/// Fails with a pt-BR explanation unless running as root.
pub fn require_root(why: &str) -> Result {
    if !nix::unistd::geteuid().is_root() {
        fail!(
            "este comando precisa rodar como root: {why}.\n\
             Tente: sudo -E cargo xtask ... (ou entre como root)"
        );
    }
    Ok(())
}

/// `cargo build --release -p casulo` (shown as a step); the binary's path.
pub fn build_casulo_release() -> Result<PathBuf> {
    step("Compilando o casulo (release)");
    run_timed(cargo().args(["build", "--release", "-p", "casulo"]))?;
    Ok(target_dir().join("release/casulo"))
}
