//! `cargo xtask bench vm [--runs N]`: start→exit in the pure cgroup v2 VM
//! of `cargo xtask vm`, where most students' machines are (this host is
//! hybrid). The same contenders as the host's bench, side by side in one
//! boot: the floor (`unshare -fpmnuiC --mount-proc true`), `crun run` and
//! `casulo run --rm busybox true` (with and without its trace, and
//! `casulo --version`: the binary's own start), timed by
//! the probe's stopwatch (`probe cronometrar`: interleaved rounds, each
//! timed run right after an untimed one of the same program, wall and
//! CPU) — see `xtask/vm/bench.sh`. casulo is the static musl build, crun and
//! util-linux's `unshare` are Debian's with their libraries.
//!
//! The VM is emulated (TCG: no KVM here), so every figure is several times
//! the host's; the ratios (to the floor, to crun) are what compare.
//!
//! It boots with `norandmaps` (no address-space randomization): QEMU's TCG
//! keeps the code it translated by virtual address, so with ASLR every exec
//! of a position-independent program is translated anew — a cost of the
//! emulator, not of the program, that no real CPU has. Measured in one
//! boot each (7 rounds): `casulo --version` 150 → 31 ms, crun 371 → 235,
//! the floor 71 → 29, static non-PIE busybox 8.7 → 7.2.
//!
//! Output: a table and `bench-results/vm.json`.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::cmd::{self, step};
use crate::{fail, musl, vm, Result};

const BENCH: &str = include_str!("../vm/bench.sh");
/// Boot to poweroff: ~60 s of boot and bootstrap, then 5 contenders × 2 runs × the rounds.
const TIMEOUT_SECS: &str = "900";

pub fn run(args: &[String]) -> Result {
    let runs = crate::bench_tools::runs_and_size(args, "vm", 5, 0)?
        .runs
        .max(5);
    let dir = cmd::target_dir().join("vm");
    std::fs::create_dir_all(&dir)?;
    step("VM cgroup v2: kernel do Debian e seus módulos (cache em target/vm/kernel)");
    let (vmlinuz, modules) = vm::kernel()?;
    let casulo = musl::build_casulo(None)?;
    let probe = musl::build_probe()?;

    step("VM cgroup v2: initramfs para a medida (casulo, probe, crun, unshare)");
    let mut files: Vec<(PathBuf, String)> =
        vec![(casulo, "casulo".into()), (probe, "probe".into())];
    for m in &modules {
        let name = m.file_name().expect("module file").to_string_lossy();
        files.push((m.clone(), format!("modules/{name}")));
    }
    files.extend(vm::dynamic_files(
        &["/usr/bin/crun", "/usr/bin/unshare"],
        "pacotes crun e util-linux",
    )?);
    let script = dir.join("bench.sh");
    std::fs::write(&script, BENCH)?;
    files.push((script, "bench/bench.sh".into()));
    let files: Vec<(&Path, &str)> = files
        .iter()
        .map(|(p, n)| (p.as_path(), n.as_str()))
        .collect();
    let initrd = dir.join("initrd-bench.gz");
    vm::initramfs(&dir.join("initramfs-bench"), vm::INIT, &files, &initrd)?;

    step(&format!(
        "VM cgroup v2: boot no qemu (TCG) e {runs} rodadas intercaladas"
    ));
    let console = dir.join("console-bench.log");
    let _ = std::fs::remove_file(&console);
    let status = vm::qemu(
        TIMEOUT_SECS,
        vm::MEMORY_MB,
        &vmlinuz,
        &initrd,
        &format!("file:{}", console.display()),
        &format!("cgroup_no_v1=all norandmaps casulo.bench={runs}"),
    )
    .stdin(std::process::Stdio::null())
    .status()
    .map_err(|e| {
        format!("não consegui rodar qemu-system-x86_64 ({e}): rode `cargo xtask setup`")
    })?;
    let log = std::fs::read_to_string(&console).unwrap_or_default();
    let Some(measured) = marked(&log, "CASULO-BENCH ") else {
        fail!(
            "a VM não mediu ({}); console em {}:\n{}",
            cmd::describe(status),
            console.display(),
            log.lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        );
    };
    let measured: Value = serde_json::from_str(measured)
        .map_err(|e| format!("a linha CASULO-BENCH não é JSON ({e}): {measured}"))?;
    for line in log.lines().filter(|l| l.contains("CASULO-BENCH-ERRO")) {
        println!("  {line}");
    }
    let info = marked(&log, "CASULO-BENCH-INFO ").unwrap_or("").to_string();
    let rows = table(&measured)?;
    let trace_cpu = trace_cpu(&measured);
    let phases = phases(&log);
    if measured["concorrentes"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["falhas"].as_u64() != Some(0)))
    {
        fail!(
            "algum concorrente falhou na VM (veja a coluna falhas); console em {}",
            console.display()
        );
    }
    crate::bench_tools::write_results(
        "vm.json",
        &json!({
            "what": "início→fim de `true` na VM só cgroup v2 (qemu TCG), rodadas intercaladas",
            "runs": runs,
            "versions": info,
            "load_host": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
            "contenders": rows,
            "trace_cpu": trace_cpu,
            "casulo_phases": phases,
        }),
    )
}

/// The text after `marker` on its line of the console.
fn marked<'a>(log: &'a str, marker: &str) -> Option<&'a str> {
    log.lines()
        .find_map(|l| l.trim_end_matches('\r').split_once(marker).map(|(_, r)| r))
}

/// The trace's CPU in the VM: `casulo` − `casulo --trace /dev/null` round
/// by round (the probe's `cpu_ms`; rounds where either failed are left
/// out), against `casulo`'s median CPU. Printed; `None` if not measured.
fn trace_cpu(measured: &Value) -> Option<Value> {
    let (with, without) = (
        contender(measured, "casulo")?,
        contender(measured, "casulo --trace /dev/null")?,
    );
    let (a, b): (Vec<f64>, Vec<f64>) = with["cpu_ms"]
        .as_array()?
        .iter()
        .zip(without["cpu_ms"].as_array()?)
        .filter_map(|(a, b)| a.as_f64().zip(b.as_f64()))
        .unzip();
    let t = crate::bench_tools::paired(&a, &b)?;
    let share = t.median / with["cpu_mediana_ms"].as_f64()? * 100.0;
    println!(
        "\n  CPU do trace na VM (casulo − casulo --trace /dev/null, na mesma rodada): \
         mediana {:.2} ms (metade das rodadas entre {:.2} e {:.2}), {share:.1} % da CPU da execução",
        t.median, t.p25, t.p75
    );
    Some(json!({
        "what": "CPU of casulo minus casulo --trace /dev/null in the same round, per round",
        "rounds": a.len(),
        "median_ms": t.median,
        "p25_ms": t.p25,
        "p75_ms": t.p75,
        "share_of_run_pct": share,
    }))
}

/// The probe's row for the contender `name`.
fn contender<'a>(measured: &'a Value, name: &str) -> Option<&'a Value> {
    measured["concorrentes"]
        .as_array()?
        .iter()
        .find(|c| c["nome"] == name)
}

/// The per-phase medians of the VM's `casulo run` traces (`bench_phases`),
/// from their `kind=t_us` lines.
fn phases(log: &str) -> Value {
    let traces: Vec<crate::bench_phases::Trace> = log
        .lines()
        .filter_map(|l| {
            let (_, pairs) = l.trim_end_matches('\r').split_once("CASULO-BENCH-TRACE ")?;
            Some(crate::bench_phases::Trace::events(
                pairs
                    .split_whitespace()
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(kind, t)| (kind.to_string(), t.parse::<u64>().unwrap_or(0)))
                    .collect(),
            ))
        })
        .collect();
    crate::bench_phases::report(&traces, &[])
}

/// Prints the contenders beside the floor and crun; their JSON rows, with
/// the ratios.
fn table(measured: &Value) -> Result<Vec<Value>> {
    let list = measured["concorrentes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let median = |name: &str| contender(measured, name).and_then(|c| c["mediana_ms"].as_f64());
    let measured_ok = |m: Option<f64>| m.filter(|ms| *ms > 0.0);
    let (Some(floor), Some(crun)) = (measured_ok(median("piso")), measured_ok(median("crun")))
    else {
        fail!("a VM não mediu o piso e o crun (um deles falhou em todas as rodadas): {measured}");
    };
    println!(
        "\n  {:<26} {:>9} {:>9} {:>9} {:>7} {:>7} {:>8} {:>6}",
        "concorrente (na VM)", "mediana", "p10", "p90", "×piso", "×crun", "CPU ms", "falhas"
    );
    let mut rows = vec![];
    for c in &list {
        let m = c["mediana_ms"].as_f64().unwrap_or(0.0);
        let num = |k: &str| c[k].as_f64().unwrap_or(0.0);
        println!(
            "  {:<26} {:>6.1} ms {:>6.1} ms {:>6.1} ms {:>6.2}× {:>6.2}× {:>8.1} {:>6}",
            c["nome"].as_str().unwrap_or("?"),
            m,
            num("p10_ms"),
            num("p90_ms"),
            m / floor,
            m / crun,
            num("cpu_mediana_ms"),
            c["falhas"]
        );
        let mut row = c.clone();
        row["ratio_to_floor"] = json!(m / floor);
        row["ratio_to_crun"] = json!(m / crun);
        rows.push(row);
    }
    Ok(rows)
}
