//! The one table of `cargo xtask bench`: every figure of #19 beside its
//! reference, ratio and target, read back from the `bench-results/*.json`
//! this run wrote (start→exit, the trace's CPU, unpack, build, memory, the
//! visualizer). A figure whose bench did not run shows `—`.

use std::fs;

use serde_json::Value;

use crate::cmd::{self, step};
use crate::Result;

fn read(name: &str) -> Value {
    fs::read(cmd::workspace_root().join("bench-results").join(name))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

/// One row: what, casulo's figure, the reference's, the ratio, the target
/// and whether it is met.
struct Row {
    what: &'static str,
    casulo: String,
    reference: String,
    ratio: String,
    target: &'static str,
    met: Option<bool>,
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn show(v: Option<f64>, unit: &str, digits: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.digits$}{unit}"))
}

pub fn print() -> Result {
    let rows = rows(
        &read("startup.json"),
        &read("vm.json"),
        &read("unpack.json"),
        &read("build.json"),
        &read("visualizer.json"),
    );
    step("Resumo (#19): cada número ao lado da referência e da meta");
    println!(
        "{:<42} {:>16} {:>34} {:>14} {:>16}  ",
        "figura", "casulo", "referência", "razão", "meta"
    );
    for r in &rows {
        println!(
            "{:<42} {:>16} {:>34} {:>14} {:>16}  {}",
            r.what,
            r.casulo,
            r.reference,
            r.ratio,
            r.target,
            match r.met {
                Some(true) => "ok",
                Some(false) => "NÃO",
                None => "",
            }
        );
    }
    Ok(())
}

fn rows(startup: &Value, vm: &Value, unpack: &Value, build: &Value, web: &Value) -> Vec<Row> {
    let mut rows = startup_rows(startup);
    rows.push(vm_row(vm));
    rows.push(vm_trace_row(vm));
    rows.push(unpack_row(unpack));
    rows.extend(build_rows(build));
    rows.extend(visualizer_rows(web));
    rows
}

/// Start→exit against the floor, and the trace's share of the CPU.
fn startup_rows(startup: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    let contender = |name: &str, field: &str| {
        startup["contenders"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["name"] == name))
            .and_then(|r| num(&r[field]))
    };

    let (casulo, floor, crun) = (
        contender("casulo", "median_ms"),
        contender("piso (unshare)", "median_ms"),
        contender("crun", "median_ms"),
    );
    rows.push(against_the_floor(
        "início→fim de `true` (estático, mediana)",
        (casulo, floor, crun),
        1,
    ));
    // Beside it, when measured, reported only (the target is the static
    // one's, on the disk: the binary `dist` hands out, the one the VM runs):
    // the glibc build, and the state dir on a tmpfs (the disk's share).
    for (name, what) in [
        (crate::bench_tools::GLIBC, "o mesmo, casulo glibc dinâmico"),
        (
            crate::bench_tools::TMPFS,
            "o mesmo, estado em tmpfs (sem o disco)",
        ),
    ] {
        if let Some(median) = contender(name, "median_ms") {
            rows.push(Row {
                target: "(só informado)",
                met: None,
                ..against_the_floor(what, (Some(median), floor, crun), 1)
            });
        }
    }
    let (cpu, cpu_null) = (
        contender("casulo", "cpu_median_ms"),
        contender("casulo --trace /dev/null", "cpu_median_ms"),
    );
    // Paired round by round when the run recorded it (less noise than the
    // difference of two medians); the older results had only the medians.
    let share = num(&startup["trace_cpu"]["share_of_run_pct"])
        .or_else(|| cpu.zip(cpu_null).map(|(a, b)| (a - b) / a * 100.0));
    rows.push(Row {
        what: "CPU do trace (casulo − --trace /dev/null)",
        casulo: show(cpu, " ms", 2),
        reference: show(cpu_null, " ms sem trace", 2),
        ratio: show(share, " %", 1),
        target: "≤ 2 % da CPU",
        met: share.map(|s| s <= 2.0),
    });
    rows.push(peak_rss(
        "pico de RSS do supervisor (`run -d`)",
        &startup["supervisor_peak_rss_kib"],
    ));
    rows
}

/// The number `field` of the VM's contender `name` (`bench vm` names its
/// rows and fields in Portuguese, as the probe wrote them).
fn vm_contender(vm: &Value, name: &str, field: &str) -> Option<f64> {
    vm["contenders"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["nome"] == name))
        .and_then(|r| num(&r[field]))
}

/// Start→exit in the pure cgroup v2 VM (`bench vm`), against its floor and crun.
fn vm_row(vm: &Value) -> Row {
    let median = |name| vm_contender(vm, name, "mediana_ms");
    against_the_floor(
        "início→fim na VM só cgroup v2 (qemu)",
        (median("casulo"), median("piso"), median("crun")),
        0,
    )
}

/// The trace's CPU in the VM, paired round by round (`bench vm`).
fn vm_trace_row(vm: &Value) -> Row {
    let cpu = vm_contender(vm, "casulo", "cpu_mediana_ms");
    let share = num(&vm["trace_cpu"]["share_of_run_pct"]);
    Row {
        what: "CPU do trace na VM (pareado por rodada)",
        casulo: show(num(&vm["trace_cpu"]["median_ms"]), " ms", 2),
        reference: show(cpu, " ms da execução", 1),
        ratio: show(share, " %", 1),
        target: "≤ 2 % da CPU",
        met: share.map(|s| s <= 2.0),
    }
}

/// A peak RSS (KiB in the results, MiB in the table): reported, no target.
fn peak_rss(what: &'static str, kib: &Value) -> Row {
    Row {
        what,
        casulo: show(num(kib).map(|k| k / 1024.0), " MiB", 1),
        reference: "—".into(),
        ratio: "—".into(),
        target: "(informativo)",
        met: None,
    }
}

/// casulo's start→exit beside the floor and crun (medians, ms), against
/// the target of 2× the floor.
fn against_the_floor(
    what: &'static str,
    (casulo, floor, crun): (Option<f64>, Option<f64>, Option<f64>),
    digits: usize,
) -> Row {
    let to_floor = casulo.zip(floor).map(|(c, f)| c / f);
    Row {
        what,
        casulo: show(casulo, " ms", digits),
        reference: format!(
            "piso {}, crun {}",
            show(floor, " ms", digits),
            show(crun, " ms", digits)
        ),
        ratio: show(to_floor, "× o piso", 2),
        target: "≤ 2× o piso",
        met: to_floor.map(|r| r <= 2.0),
    }
}

/// Unpack + verify against tar + sha256sum.
fn unpack_row(unpack: &Value) -> Row {
    let ratio = num(&unpack["ratio"]);
    Row {
        what: "desempacotar + verificar ~200 MB",
        casulo: show(num(&unpack["casulo_median_ms"]), " ms", 0),
        reference: show(
            num(&unpack["tar_sha256sum_median_ms"]),
            " ms (tar+sha256sum)",
            0,
        ),
        ratio: show(ratio, "×", 2),
        target: "≥ 1,5×",
        met: ratio.map(|r| r >= 1.5),
    }
}

/// The build, cold and cached, against buildah; `casulo run`'s peak RSS.
fn build_rows(build: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    let cold = num(&build["cold_ratio"]);
    rows.push(Row {
        what: "build frio, 15 passos",
        casulo: show(num(&build["casulo_cold_ms"]), " ms", 0),
        reference: show(num(&build["buildah_cold_ms"]), " ms (buildah)", 0),
        ratio: show(cold, "×", 1),
        target: "(informativo)",
        met: None,
    });
    let cached = num(&build["casulo_cached_ms"]);
    rows.push(Row {
        what: "build com cache, 15 passos",
        casulo: show(cached, " ms", 1),
        reference: show(num(&build["buildah_cached_ms"]), " ms (buildah)", 0),
        ratio: show(num(&build["cached_ratio"]), "×", 0),
        target: "< 20 ms",
        met: cached.map(|c| c < 20.0),
    });
    rows.push(peak_rss(
        "pico de RSS do `casulo run`",
        &build["casulo_run_peak_rss_kib"],
    ));
    rows
}

/// The visualizer in chromium: opening, scrubbing, the 1M trace, the wasm.
fn visualizer_rows(web: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    let big = &web["measured"]["traces"]["grande.trace.jsonl"];
    let huge = &web["measured"]["traces"]["enorme.trace.jsonl"];
    let open = num(&big["open_total_ms"]);
    rows.push(Row {
        what: "visualizador: abrir 100 mil eventos",
        casulo: show(open, " ms", 0),
        reference: "—".into(),
        ratio: "—".into(),
        target: "≤ 300 ms",
        met: open.map(|o| o <= 300.0),
    });
    // Each position's own cost (p95): how many a second the app can draw.
    let fps = num(&big["seek_p95_ms"]).map(|ms| 1000.0 / ms);
    rows.push(Row {
        what: "visualizador: arrastar a linha do tempo",
        casulo: show(fps, " posições/s", 0),
        reference: "—".into(),
        ratio: "—".into(),
        target: "≥ 60 quadros/s",
        met: fps.map(|f| f >= 60.0),
    });
    rows.push(Row {
        what: "visualizador: abrir 1 milhão de eventos",
        casulo: show(num(&huge["open_total_ms"]), " ms", 0),
        reference: show(
            num(&huge["wasm_memory_bytes"]).map(|b| b / 1048576.0),
            " MiB de wasm",
            0,
        ),
        ratio: "—".into(),
        target: "abre sem faltar memória",
        met: huge["final_position"]
            .as_str()
            .map(|p| p.starts_with("evento ")),
    });
    let wasm = num(&web["wasm_gzip_bytes"]).map(|b| b / 1024.0);
    rows.push(Row {
        what: "visualizador: wasm (gzip)",
        casulo: show(wasm, " KiB", 0),
        reference: "—".into(),
        ratio: "—".into(),
        target: "≤ 250 KiB",
        met: wasm.map(|w| w <= 250.0),
    });

    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bench_summary_puts_each_figure_beside_its_target() {
        let startup = json!({"contenders": [
            {"name": "casulo", "median_ms": 9.0, "cpu_median_ms": 10.0},
            {"name": "casulo --trace /dev/null", "median_ms": 8.9, "cpu_median_ms": 9.9},
            {"name": "piso (unshare)", "median_ms": 4.0},
            {"name": "crun", "median_ms": 12.0},
        ]});
        let vm = json!({"contenders": [
            {"nome": "piso", "mediana_ms": 100.0},
            {"nome": "crun", "mediana_ms": 600.0},
            {"nome": "casulo", "mediana_ms": 1000.0, "cpu_mediana_ms": 800.0},
        ], "trace_cpu": {"median_ms": 24.0, "share_of_run_pct": 3.0}});
        let rows = rows(
            &startup,
            &vm,
            &json!({"ratio": 1.6}),
            &Value::Null,
            &Value::Null,
        );
        assert_eq!(rows[0].ratio, "2.25× o piso");
        assert_eq!(rows[0].met, Some(false));
        assert_eq!(rows[1].ratio, "1.0 %");
        assert_eq!(rows[1].met, Some(true));
        // The supervisor's RSS was not measured: said so.
        assert_eq!((rows[2].casulo.as_str(), rows[2].met), ("—", None));
        assert_eq!(
            (rows[3].ratio.as_str(), rows[3].met),
            ("10.00× o piso", Some(false))
        );
        assert_eq!(rows[3].reference, "piso 100 ms, crun 600 ms");
        assert_eq!(
            (rows[4].ratio.as_str(), rows[4].met),
            ("3.0 %", Some(false))
        );
        assert_eq!(rows[4].reference, "800.0 ms da execução");
        assert_eq!((rows[5].ratio.as_str(), rows[5].met), ("1.60×", Some(true)));
        // What did not run says so.
        assert_eq!((rows[6].casulo.as_str(), rows[6].met), ("—", None));
    }
}
