//! `cargo xtask test`: the whole check, in order, stopping at the first
//! failure (this is what CI runs, through `.ci/run`).
//!
//! 1. setup (packages and rustup targets)
//! 2. `cargo fmt --all --check`          (first: it takes a second)
//! 3. `cargo build -p casulo`            the engine, debug
//! 4. the probe, static (musl, release)  copied into test images as /probe,
//!    and `dist/casulo` (`dist.rs`: static, the course and the visualizer
//!    inside), which `tests/tests/dist.rs` runs alone in an empty folder
//! 5. `cargo test --workspace --no-fail-fast` with CASULO_BIN, CASULO_PROBE,
//!    CASULO_DIST and CASULO_DIST_SITE set
//!    (every test binary runs, so one report shows all failures); this
//!    includes `fuzz/tests/corpus.rs`, which replays the fuzzers' saved
//!    corpus and crash regressions (`fuzz/corpus/`, `fuzz/regressoes/`)
//!    through the same target functions, without libFuzzer
//! 6. the course (`book.rs`): each example run again and compared with the
//!    book, recorded traces valid, spelling, internal links
//! 7. no casulo cgroup left under /sys/fs/cgroup, no network lease of a
//!    casulo that ended, no `veth*` on `casulo0` without a live lease; then
//!    `casulo gc`, and `casulo0` must be gone (the host as it was found)
//! 8. the cgroup v2 tests and the demo path in a VM, with `dist/casulo`
//!    (`vm.rs`; skip with `--sem-vm`)
//! 9. `cargo build -p casulo-trace --target wasm32-unknown-unknown`
//! 10. the visualizer built to wasm and tested in Debian's chromium
//!     (see `browser.rs`; only this with `--so-navegador`)
//! 11. `cargo clippy --workspace -- -D warnings`, and the visualizer's app
//!     code for wasm32 (skip with `--sem-clippy`)

use std::time::Instant;

use crate::cmd::{self, cargo, step};
use crate::{browser, fail, setup, web, Result};

use crate::musl::build_probe;

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

    // `tests/tests/dist.rs` runs the one file to hand out; the VM runs it too
    // (one static build instead of two).
    let dist = crate::dist::build()?;

    step("Testes (cargo test --workspace --no-fail-fast)");
    cmd::run_timed(
        cargo()
            .args(["test", "--workspace", "--no-fail-fast"])
            .env("CASULO_BIN", &casulo)
            .env("CASULO_PROBE", &probe)
            .env("CASULO_DIST", &dist)
            .env("CASULO_DIST_SITE", crate::dist::site_dir()),
    )?;

    // The course's examples run real containers too: before the leak checks.
    crate::book::check(&casulo)?;
    check_nothing_left(&casulo)?;

    if vm {
        crate::vm::run(Some(probe.clone()), Some(dist.clone()))?;
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
    run_clippy(clippy)?;

    println!(
        "\ntudo certo: formatação, compilação, testes, wasm e navegador ({:.0} s no total).",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// After the tests: no cgroup, address or veth of theirs left, and
/// `casulo gc` removes the bridge (unless other runs' containers use it).
fn check_nothing_left(casulo: &std::path::Path) -> Result {
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

    step("Nenhum endereço ou veth de rede sobrou (/run/casulo/net, casulo0)");
    let left = leftover_network();
    if !left.is_empty() {
        fail!("os testes deixaram a rede suja: {}", left.join(", "));
    }
    println!(
        "  nenhum (leases de casulos que terminaram, veths na casulo0 sem lease viva; \
         contêineres vivos de outras execuções não contam)"
    );

    step("casulo gc apaga a bridge casulo0 e os diretórios casulo dos cgroups (a máquina fica como estava)");
    cmd::run(std::process::Command::new(casulo).arg("gc"))?;
    for parent in casulo_tests::host_casulo_cgroup_parents() {
        let containers = casulo_tests::containers_in(&parent).len();
        if containers == 0 {
            fail!(
                "{} ficou depois do `casulo gc`, sem nenhum contêiner dentro",
                parent.display()
            );
        }
        println!(
            "  {} fica: outras execuções têm {containers} contêiner(es) nele agora",
            parent.display()
        );
    }
    if std::path::Path::new("/sys/class/net/casulo0").exists() {
        let others = live_leases();
        if others.is_empty() {
            fail!("a bridge casulo0 ficou depois do `casulo gc`, sem nenhum contêiner na rede");
        }
        println!(
            "  casulo0 fica: outras execuções têm contêineres na rede agora ({})",
            others.join(", ")
        );
    } else {
        println!("  casulo0 não existe mais");
    }

    Ok(())
}

/// Clippy on the workspace and on the visualizer for wasm32 (skipped
/// with `--sem-clippy`).
fn run_clippy(clippy: bool) -> Result {
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

    Ok(())
}

/// Leaked casulo cgroups: a container cgroup (`casulo/<id>`) with no
/// process left (the `casulo` parents stay, as docker's; `casulo gc`
/// removes the empty ones: [`check_nothing_left`] checks it). Other test
/// runs on the same host (other worktrees) may have containers running or
/// being born/removed right now, so this looks for up to 10 s for one clean
/// snapshot and reports the last one otherwise.
pub fn leftover_cgroups() -> Vec<std::path::PathBuf> {
    let snapshot = || {
        casulo_tests::host_casulo_cgroups()
            .into_iter()
            .filter(|child| {
                std::fs::read_to_string(child.join("cgroup.procs"))
                    .is_ok_and(|t| t.trim().is_empty())
            })
            .collect()
    };
    until_clean(snapshot)
}

/// The leases of `/run/casulo/net/leases`: (address, container id, owner alive).
fn leases() -> Vec<(String, String, bool)> {
    leases_in(std::path::Path::new("/run/casulo/net/leases"))
}

fn leases_in(dir: &std::path::Path) -> Vec<(String, String, bool)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flatten()
        .map(|e| {
            let ip = e.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            let field = |key: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .unwrap_or_default()
                    .to_string()
            };
            // The owner is alive if its pid runs with the same start time
            // (field 22 of /proc/<pid>/stat): a reused pid does not count.
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", field("pid=")));
            let alive = !field("pid=").is_empty()
                && stat.is_ok_and(|st| {
                    st.rsplit_once(") ")
                        .and_then(|(_, rest)| rest.split(' ').nth(19).map(str::to_string))
                        .is_some_and(|start| start == field("start="))
                });
            (ip, field("id="), alive)
        })
        .collect()
}

/// Addresses leased by casulos still running (other runs on this host).
fn live_leases() -> Vec<String> {
    leases()
        .into_iter()
        .filter(|(_, _, alive)| *alive)
        .map(|(ip, _, _)| ip)
        .collect()
}

/// Leaked network state: a lease whose casulo ended, or a `veth*` plugged
/// into `casulo0` that no live lease owns (its name is `veth` + the first
/// 8 hex digits of the container id). Like [`leftover_cgroups`], up to
/// 10 s for one clean snapshot (other runs may be tearing down right now).
pub fn leftover_network() -> Vec<String> {
    let snapshot = || {
        let leases = leases();
        let mut leaked: Vec<String> = leases
            .iter()
            .filter(|(_, _, alive)| !alive)
            .map(|(ip, id, _)| format!("lease {ip} (contêiner {:.12})", id))
            .collect();
        let owned: Vec<String> = leases
            .iter()
            .filter(|(_, _, alive)| *alive)
            .map(|(_, id, _)| format!("veth{:.8}", id))
            .collect();
        if let Ok(rd) = std::fs::read_dir("/sys/class/net/casulo0/brif") {
            for e in rd.flatten() {
                let ifname = e.file_name().to_string_lossy().into_owned();
                if ifname.starts_with("veth") && !owned.contains(&ifname) {
                    leaked.push(format!("interface {ifname} na casulo0"));
                }
            }
        }
        leaked
    };
    until_clean(snapshot)
}

/// Takes `snapshot` until one is empty, for up to 10 s (other runs on the
/// host may be tearing down right now), and returns the last one.
fn until_clean<T>(snapshot: impl Fn() -> Vec<T>) -> Vec<T> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A lease is alive only if its pid runs with the recorded start time.
    #[test]
    fn a_lease_is_alive_only_with_its_own_process() {
        let tmp = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let stat = std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
        let start = stat
            .rsplit_once(") ")
            .unwrap()
            .1
            .split(' ')
            .nth(19)
            .unwrap();
        let lease = |ip: &str, pid: &str, start: &str| {
            let text = format!("id={}\npid={pid}\nstart={start}\n", "ab".repeat(32));
            std::fs::write(tmp.path().join(ip), text).unwrap();
        };
        lease("10.88.0.2", &me.to_string(), start);
        lease("10.88.0.3", &me.to_string(), "1"); // the pid was reused
        lease("10.88.0.4", "999999999", start); // gone
        let mut got = leases_in(tmp.path());
        got.sort();
        let alive: Vec<(&str, bool)> = got.iter().map(|(ip, _, a)| (ip.as_str(), *a)).collect();
        assert_eq!(
            alive,
            [
                ("10.88.0.2", true),
                ("10.88.0.3", false),
                ("10.88.0.4", false)
            ]
        );
        assert_eq!(got[0].1, "ab".repeat(32));
    }
}
