//! `cargo xtask medir [--n N]`: containers vs VMs, measured on this machine,
//! for chapter 1 of the course (`{{#medida conteineres-vms}}`).
//!
//! Two sides, N units each, the N of a side launched all at once:
//! - containers (`medir_containers.rs`): N `casulo run --rm busybox sh -c
//!   'echo pronto; read x'` (release casulo, fresh temp state dir);
//! - VMs (`medir_vms.rs`): N `qemu-system-x86_64` (TCG: no KVM here) booting
//!   the same Debian kernel as `cargo xtask vm` with a minimal initramfs
//!   whose `/init` prints `pronto` on the serial console and sleeps.
//!
//! Per unit:
//! - start: wall time from spawning it to the line `pronto` on its output;
//! - memory: the PSS (proportional set size: private pages plus an equal
//!   share of each page shared with other processes) of its processes, from
//!   `/proc/<pid>/smaps_rollup`, read once all N are ready plus [`SETTLE`].
//!   A container counts `casulo run` (which stays, waiting for it) and every
//!   process in it; a VM counts its `qemu` process. RSS is kept too, and
//!   the container's memory cgroup usage (which also charges kernel memory
//!   and page cache) as a second view.
//!
//! Then everything is stopped (containers: a line on their stdin, `read`
//! returns, they exit 0 and `--rm` removes them, then test.rs' leak checks
//! and a mount check; VMs: SIGTERM to `timeout`, which passes it to qemu).
//!
//! Output: a pt-BR table and `book/medidas/conteineres-vms.json`, shaped as
//! documented in `book/medidas/README.md`: `meta` (what, where, when),
//! `containers` and `vms` (one object per unit), `summary` (median and mean
//! of `start_ms` and `memory_mib` for each side, and the N's total memory).

use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};

use crate::cmd::{self, step};
use crate::medir_tools::{first_line, round, show_mib, show_ms, Unit};
use crate::{fail, setup, Result};

/// Default N: both sides together stay well under 3 minutes on 2 cores.
const DEFAULT_N: usize = 5;
/// Where the result goes, from the workspace root.
const OUTPUT: &str = "book/medidas/conteineres-vms.json";

pub fn run(args: &[String]) -> Result {
    let n = parse_n(args)?;
    cmd::require_root("os contêineres medidos criam namespaces e cgroups de verdade")?;
    setup::run()?;
    let started = Instant::now();
    let date = cmd::capture(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]))?
        .trim()
        .to_string();

    step(&format!("Medindo contêineres contra VMs, N = {n} de cada"));
    let load = load_average();
    let cpus = std::thread::available_parallelism().map_or(1, |c| c.get());
    if load.first().is_some_and(|l| *l > cpus as f64) {
        println!(
            "  aviso: a máquina está ocupada (carga média {:.1} em {cpus} núcleos): os tempos \
             saem maiores do que numa máquina parada; a carga vai junto no resultado",
            load[0]
        );
    }
    let containers = crate::medir_containers::measure(n)?;
    let vms = crate::medir_vms::measure(n)?;

    let duration = started.elapsed().as_secs_f64();
    let result = json!({
        "meta": {
            "format": 1,
            "n": n,
            "date": date,
            "duration_s": round(duration, 1),
            "casulo_version": containers.version,
            "git_commit": first_line(
                Command::new("git")
                    .current_dir(cmd::workspace_root())
                    .args(["describe", "--always", "--dirty", "--abbrev=7"]),
            ),
            "machine": machine(&load),
            "container": containers.meta,
            "vm": vms.meta,
            "caveat": caveat(),
        },
        "containers": containers.units.iter().map(Unit::to_json).collect::<Vec<_>>(),
        "vms": vms.units.iter().map(Unit::to_json).collect::<Vec<_>>(),
        "summary": {
            "containers": summary(&containers.units),
            "vms": summary(&vms.units),
        },
    });

    print_table(n, &containers.units, &vms.units);
    let path = cmd::workspace_root().join(OUTPUT);
    std::fs::create_dir_all(path.parent().expect("has a parent"))?;
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&result).expect("json") + "\n",
    )?;
    println!(
        "\nresultado em {} ({duration:.0} s no total)",
        path.display()
    );
    Ok(())
}

fn parse_n(args: &[String]) -> Result<usize> {
    let mut n = DEFAULT_N;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--n" => match it.next().map(|v| v.parse::<usize>()) {
                Some(Ok(v)) if v >= 1 => n = v,
                _ => fail!("--n precisa de um número inteiro maior que zero"),
            },
            other => fail!("opção desconhecida para `medir`: {other} (aceita: --n N)"),
        }
    }
    Ok(n)
}

/// The caveat the book shows under the figures (pt-BR).
fn caveat() -> String {
    let kvm = kvm_available();
    format!(
        "As VMs rodaram em emulação pura (TCG do qemu), {}: cada instrução do \
         convidado é traduzida por software, então uma VM com aceleração de \
         hardware (KVM) parte bem mais rápido do que isto. As unidades de cada lado \
         partiram todas juntas, dividindo os mesmos núcleos, e cada VM é um kernel \
         mínimo que só diz \"pronto\"; uma VM de verdade ainda iniciaria um \
         sistema inteiro. \
         Memória: PSS (o que cada um ocupa de fato, dividindo as páginas \
         compartilhadas), lida depois que todos estavam prontos; a de uma VM é, \
         na maior parte, a RAM que o convidado já usou (dos {} MB do -m) mais o \
         cache de código traduzido pelo TCG (que com KVM não existiria).",
        if kvm {
            "embora esta máquina tenha KVM (ele não foi usado)"
        } else {
            "porque esta máquina não tem KVM"
        },
        crate::medir_vms::MEMORY_MB
    )
}

/// `/dev/kvm` exists and the CPU says it can virtualise.
fn kvm_available() -> bool {
    let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    std::path::Path::new("/dev/kvm").exists()
        && flags
            .lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"))
}

/// The machine the figures come from; `load`: its load average before the
/// measurement started (the VMs measured raise it themselves).
fn machine(load: &[f64]) -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, v)| v.trim().to_string());
    let memory_kib = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    let kernel = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": cpu_model,
        "memory_mib": memory_kib / 1024,
        "kernel": kernel,
        "kvm": kvm_available(),
        // Other work on the machine weighs on the figures: the load average
        // (1, 5, 15 min) just before the measurement.
        "load_average": load
            .iter()
            .map(f64::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        "acceleration": if kvm_available() {
            "TCG (emulação; KVM disponível mas não usado)"
        } else {
            "sem KVM: emulação TCG"
        },
    })
}

/// The load average over 1, 5 and 15 minutes (`/proc/loadavg`).
fn load_average() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect()
}

fn summary(units: &[Unit]) -> Value {
    let start: Vec<f64> = units.iter().map(|u| u.start_ms).collect();
    let memory: Vec<f64> = units.iter().map(|u| u.pss_kib as f64 / 1024.0).collect();
    json!({
        "start_ms": {"median": round(median(&start), 1), "mean": round(mean(&start), 1)},
        "memory_mib": {
            "median": round(median(&memory), 2),
            "mean": round(mean(&memory), 2),
            "total": round(memory.iter().sum(), 2),
        },
    })
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn print_table(n: usize, containers: &[Unit], vms: &[Unit]) {
    step(&format!("Cada unidade (N = {n} de cada lado)"));
    println!(
        "{:<12} {:>12} {:>14} {:>12}",
        "", "partida", "memória (PSS)", "RSS"
    );
    for (name, units) in [("contêiner", containers), ("VM", vms)] {
        for (i, u) in units.iter().enumerate() {
            println!(
                "{:<12} {:>12} {:>14} {:>12}",
                format!("{name} {}", i + 1),
                show_ms(u.start_ms),
                show_mib(u.pss_kib),
                show_mib(u.rss_kib)
            );
        }
    }
    let med =
        |units: &[Unit], f: &dyn Fn(&Unit) -> f64| median(&units.iter().map(f).collect::<Vec<_>>());
    let (cs, vs) = (med(containers, &|u| u.start_ms), med(vms, &|u| u.start_ms));
    let (cm, vm) = (
        med(containers, &|u| u.pss_kib as f64),
        med(vms, &|u| u.pss_kib as f64),
    );
    step(&format!(
        "Contêineres × VMs (medianas de N = {n}; VMs em emulação TCG, sem KVM)"
    ));
    println!(
        "{:<22} {:>12} {:>12} {:>16}",
        "", "contêiner", "VM", "VM ÷ contêiner"
    );
    println!(
        "{:<22} {:>12} {:>12} {:>16}",
        "tempo até \"pronto\"",
        show_ms(cs),
        show_ms(vs),
        format!("{:.0}×", vs / cs)
    );
    println!(
        "{:<22} {:>12} {:>12} {:>16}",
        "memória (PSS)",
        show_mib(cm as u64),
        show_mib(vm as u64),
        format!("{:.0}×", vm / cm)
    );
    let total = |units: &[Unit]| units.iter().map(|u| u.pss_kib).sum::<u64>();
    let (ct, vt) = (total(containers), total(vms));
    println!(
        "{:<22} {:>12} {:>12} {:>16}",
        format!("memória dos {n} (soma)"),
        show_mib(ct),
        show_mib(vt),
        format!("{:.0}×", vt as f64 / ct as f64)
    );
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_means() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(mean(&[1.0, 2.0, 6.0]), 3.0);
    }

    #[test]
    fn options_and_display() {
        assert_eq!(parse_n(&[]).unwrap(), DEFAULT_N);
        assert_eq!(parse_n(&["--n".into(), "3".into()]).unwrap(), 3);
        assert!(parse_n(&["--n".into(), "0".into()]).is_err());
        assert!(parse_n(&["--x".into()]).is_err());
        assert_eq!(show_ms(45.4), "45 ms");
        assert_eq!(show_ms(12_345.0), "12,3 s");
        assert_eq!(show_mib(3 * 1024 + 512), "3,5 MiB");
    }
}
