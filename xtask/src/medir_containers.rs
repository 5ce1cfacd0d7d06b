//! The container side of `cargo xtask medir` (see `medir.rs`).
//!
//! N `casulo run --rm --name medir-<i> busybox sh -c 'echo pronto; read x'`
//! launched at once with the release casulo on a fresh temp state dir (after
//! one unmeasured run: the first run of an image unpacks its layer). The
//! shell says `pronto` and then waits on `read`, reading the stdin xtask
//! holds: writing a line to it is the clean stop (the shell exits 0, casulo
//! removes the container). After the stop, the host must be as it was: no casulo
//! cgroup or network lease left (test.rs' checks), no mount of the state dir,
//! no container in `casulo ps -a`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cmd::{self, step};
use crate::medir_tools::{self as medir, Launched, Side, Unit};
use crate::{fail, Result};

/// The command each container runs.
const SCRIPT: &str = "echo pronto; read x";
/// Longest wait for all N to say `pronto`.
const READY_LIMIT: Duration = Duration::from_secs(60);
/// Longest wait for one container to end once its stdin is closed.
const STOP_LIMIT: Duration = Duration::from_secs(20);

pub fn measure(n: usize) -> Result<Side> {
    step("Contêineres: casulo (release) e um diretório de estado novo");
    let casulo = cmd::build_casulo_release()?;
    let work = tempfile::Builder::new().prefix("casulo-medir-").tempdir()?;
    let state = work.path().join("state");
    cmd::run(
        Command::new(&casulo)
            .arg("--root")
            .arg(&state)
            .args(["image", "bootstrap"]),
    )?;
    // One run first, not measured: the first run of an image unpacks its
    // layer (as the VMs' initramfs is built before they are timed).
    cmd::run(
        Command::new(&casulo)
            .arg("--root")
            .arg(&state)
            .args(["run", "--rm", "busybox", "true"]),
    )?;
    let version = cmd::capture(Command::new(&casulo).arg("--version"))?
        .trim()
        .to_string();

    step(&format!(
        "Contêineres: {n} × `casulo run --rm busybox sh -c '{SCRIPT}'`, todos de uma vez"
    ));
    let (tx, rx) = std::sync::mpsc::channel();
    let mut running = Running(Vec::new());
    for i in 0..n {
        let mut c = Command::new(&casulo);
        c.arg("--root")
            .arg(&state)
            .args(["run", "--rm", "--name"])
            .arg(format!("medir-{}", i + 1))
            .args(["busybox", "sh", "-c", SCRIPT])
            .stdin(Stdio::piped());
        running.0.push(medir::launch(&mut c, i, &tx)?);
    }
    let ready = medir::wait_ready(&rx, &mut running.0, READY_LIMIT, "contêineres")?;
    std::thread::sleep(medir::SETTLE);

    let mut units = Vec::new();
    for (l, (at, _)) in running.0.iter().zip(&ready) {
        let engine = l.child.id();
        let inside = medir::descendants(engine);
        let (pss, rss) = medir::memory_kib(&[&[engine][..], &inside].concat());
        let (pss_inside, _) = medir::memory_kib(&inside);
        let cgroup = inside.first().and_then(|p| cgroup_memory_bytes(*p));
        let start_ms = at.duration_since(l.launched).as_secs_f64() * 1e3;
        println!(
            "  contêiner {}: pronto em {}, PSS {} ({} processos: casulo run + {} dentro), cgroup {}",
            units.len() + 1,
            medir::show_ms(start_ms),
            medir::show_mib(pss),
            1 + inside.len(),
            inside.len(),
            cgroup.map_or("?".into(), |b| medir::show_mib(b / 1024)),
        );
        let mut extra = serde_json::Map::new();
        extra.insert("processes".into(), json!(1 + inside.len()));
        extra.insert(
            "inside_memory_mib".into(),
            json!((pss_inside as f64 / 1024.0 * 100.0).round() / 100.0),
        );
        extra.insert(
            "cgroup_mib".into(),
            json!(cgroup.map(|b| (b as f64 / 1048576.0 * 100.0).round() / 100.0)),
        );
        units.push(Unit {
            start_ms,
            pss_kib: pss,
            rss_kib: rss,
            extra,
        });
    }

    step("Contêineres: parando (uma linha no stdin: o `read` volta e o shell sai com 0)");
    let errors = running.stop();
    if !errors.is_empty() {
        fail!("os contêineres não pararam direito:\n{}", errors.join("\n"));
    }
    println!("  os {n} saíram com código 0");
    no_leftovers(&casulo, &state)?;

    Ok(Side {
        units,
        version: Some(version),
        meta: json!({
            "command": format!("casulo run --rm busybox sh -c '{SCRIPT}'"),
            "image": "busybox:latest (casulo image bootstrap: o busybox estático do host)",
            "start": "do lançamento de `casulo run` até a linha \"pronto\" na saída do \
                      contêiner; antes, um `casulo run` não medido (o primeiro desempacota a camada)",
            "memory": "PSS de `casulo run` (que espera o contêiner) mais os processos do \
                       contêiner, de /proc/<pid>/smaps_rollup; inside_memory_mib: só os de \
                       dentro; cgroup_mib: uso do cgroup de memória do contêiner (conta \
                       também memória do kernel e cache de arquivos)",
            "what": "contêiner busybox do casulo",
        }),
    })
}

/// The containers being measured; dropping it stops them (error paths).
struct Running(Vec<Launched>);

impl Running {
    /// Writes a line to every stdin and closes it, waits for each to end (SIGTERM twice to `casulo
    /// run` if it does not: the second makes casulo SIGKILL the container and
    /// clean up), and returns what went wrong.
    fn stop(&mut self) -> Vec<String> {
        for l in &mut self.0 {
            if let Some(mut stdin) = l.child.stdin.take() {
                // The line `read` waits for; then EOF (stdin dropped).
                let _ = std::io::Write::write_all(&mut stdin, b"fim\n");
            }
        }
        let mut errors = Vec::new();
        for (i, mut l) in self.0.drain(..).enumerate() {
            let deadline = Instant::now() + STOP_LIMIT;
            let mut status = None;
            for signals_sent in 0.. {
                match l.child.try_wait() {
                    Ok(Some(s)) => {
                        status = Some(s);
                        break;
                    }
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    _ if signals_sent < 2 => {
                        let pid = nix::unistd::Pid::from_raw(l.child.id() as i32);
                        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
                        std::thread::sleep(Duration::from_millis(500));
                    }
                    _ => {
                        status = l.child.wait().ok();
                        break;
                    }
                }
            }
            match status {
                Some(s) if s.success() => {}
                Some(s) => errors.push(format!(
                    "  contêiner {} terminou com {}:\n{}",
                    i + 1,
                    cmd::describe(s),
                    l.output().trim_end()
                )),
                None => errors.push(format!("  contêiner {}: não consegui esperar", i + 1)),
            }
        }
        errors
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The memory cgroup usage of the cgroup `pid` is in: v1's
/// `memory.usage_in_bytes` (the line of `/proc/<pid>/cgroup` naming the
/// memory controller) or v2's `memory.current` (the `0::` line).
fn cgroup_memory_bytes(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let read = |p: String| std::fs::read_to_string(p).ok()?.trim().parse().ok();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if controllers.split(',').any(|c| c == "memory") {
            return read(format!("/sys/fs/cgroup/memory{path}/memory.usage_in_bytes"));
        }
    }
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    read(format!("/sys/fs/cgroup{path}/memory.current"))
}

/// The same leak checks as `cargo xtask test`, plus no mount left under the
/// state dir and no container in it.
fn no_leftovers(casulo: &Path, state: &Path) -> Result {
    let cgroups = crate::test::leftover_cgroups();
    if !cgroups.is_empty() {
        fail!(
            "sobraram cgroups do casulo: {}",
            cgroups
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let network = crate::test::leftover_network();
    if !network.is_empty() {
        fail!("sobrou rede do casulo: {}", network.join(", "));
    }
    let state_text = state.display().to_string();
    let mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")?
        .lines()
        .filter(|l| l.contains(&state_text))
        .map(str::to_string)
        .collect();
    if !mounts.is_empty() {
        fail!("sobraram montagens do estado: {}", mounts.join("\n"));
    }
    let ps = cmd::capture(
        Command::new(casulo)
            .arg("--root")
            .arg(state)
            .args(["ps", "-a", "-q"]),
    )?;
    if !ps.trim().is_empty() {
        fail!(
            "sobraram contêineres no estado (casulo ps -a): {}",
            ps.trim()
        );
    }
    println!(
        "  nada sobrou: nenhum cgroup nem endereço de rede do casulo, nenhuma montagem, \
         nenhum contêiner em `casulo ps -a`"
    );
    Ok(())
}
