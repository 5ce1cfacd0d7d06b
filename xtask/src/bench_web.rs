//! The visualizer's budgets, part of `cargo xtask bench` (alone with
//! `cargo xtask bench --so-visualizador`):
//!
//! - the `.wasm`, gzipped: at most [`WASM_GZ_BUDGET`];
//! - opening a 100 000-event trace in headless chromium: at most
//!   [`OPEN_BUDGET_MS`] from navigation to the first drawing (the lines
//!   counted, so the whole timeline is known, and the first slice read;
//!   the rest is read in slices after it — that time is reported too);
//! - scrubbing across it: each move (the input handled, the page redrawn
//!   and laid out) within a frame of [`SCRUB_FPS_BUDGET`] frames per
//!   second, for 95 % of the moves; the frames per second of a drag (one
//!   position per animation frame, at most the display's 60) reported;
//! - a 1 000 000-event trace ([`HUGE_EVENTS`]) opens and scrubs: its times
//!   and the tab's memory (JS heap and the wasm's memory) reported.
//!
//! The big traces are a real recording (the echo fixture) followed by a
//! long stretch of a container being sampled (`cgroup.sample`, with a
//! limit written now and then), as `casulo run --memory` leaves for a long
//! run. Results: `bench-results/visualizer.json`.

use std::fs;
use std::process::Command;

use casulo_trace::{Event, EventBody, Outcome};
use serde_json::{json, Value};

use crate::cmd::{self, step};
use crate::{browser, fail, serve::Server, web, Result};

pub const WASM_GZ_BUDGET: u64 = 250 * 1024;
pub const OPEN_BUDGET_MS: f64 = 300.0;
pub const SCRUB_FPS_BUDGET: f64 = 60.0;
pub const BIG_EVENTS: usize = 100_000;
pub const HUGE_EVENTS: usize = 1_000_000;

pub fn run() -> Result {
    let build_start = std::time::Instant::now();
    let prepared = browser::prepare()?;
    let build_s = build_start.elapsed().as_secs_f64();
    let wasm = prepared.dist.join("index_bg.wasm");
    let wasm_bytes = fs::metadata(&wasm)?.len();
    let wasm_gz = web::gzip_size(&wasm)?;

    let names = write_big_traces(&prepared)?;
    // Their 275 MB on disk before the first open: otherwise the kernel's
    // writeback of them runs beside the measured loads (a whole bench's
    // 100k open: 749/389/233 ms, alone right after: 620/208/164 ms).
    cmd::run(&mut Command::new("sync"))?;
    let m = measure_in_chromium(&prepared, &names)?;
    let checks = budgets(wasm_gz, &m);
    step("Orçamentos do visualizador");
    for (what, got, budget, ok) in &checks {
        println!(
            "  {:<4} {what}: {got} (orçamento {budget})",
            if *ok { "ok" } else { "ESTOUROU" }
        );
    }
    print_timelines(&m["traces"]["grande.trace.jsonl"]);
    println!(
        "  (wasm sem gzip: {} KB; compilação + preparo: {build_s:.1} s)",
        wasm_bytes / 1024
    );

    crate::bench_tools::write_results(
        "visualizer.json",
        &json!({
            "benchmark": "visualizer",
            "wasm_bytes": wasm_bytes,
            "wasm_gzip_bytes": wasm_gz,
            "wasm_gzip_budget_bytes": WASM_GZ_BUDGET,
            "big_trace_events": BIG_EVENTS,
            "huge_trace_events": HUGE_EVENTS,
            "open_budget_ms": OPEN_BUDGET_MS,
            "scrub_fps_budget": SCRUB_FPS_BUDGET,
            "browser": crate::bench_tools::first_line(
                Command::new(browser::CHROMIUM).arg("--version")
            ),
            "measured": m,
            "unix_time": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        }),
    )?;
    if let Some(errors) = m["page_errors"].as_array().filter(|e| !e.is_empty()) {
        fail!("a página teve erros durante a medição: {errors:?}");
    }
    if checks.iter().any(|c| !c.3) {
        fail!("o visualizador estourou um orçamento (veja acima)");
    }
    Ok(())
}

/// The 100k and 1M traces, written among the test traces; their
/// `NAME:ROUNDS` for bench.mjs.
fn write_big_traces(prepared: &browser::Prepared) -> Result<Vec<String>> {
    let mut names = vec![];
    for (name, n, rounds) in [("grande", BIG_EVENTS, 3), ("enorme", HUGE_EVENTS, 1)] {
        step(&format!(
            "Trace {name}: {n} eventos (gravação real + amostras de cgroup)"
        ));
        let path = prepared.traces.join(format!("{name}.trace.jsonl"));
        fs::write(&path, big_trace(n)?)?;
        println!(
            "  {} ({:.1} MB)",
            path.display(),
            fs::metadata(&path)?.len() as f64 / 1e6
        );
        names.push(format!("{name}.trace.jsonl:{rounds}"));
    }
    Ok(names)
}

/// bench.mjs in headless chromium against the test server: its JSON.
fn measure_in_chromium(prepared: &browser::Prepared, names: &[String]) -> Result<Value> {
    step("Medindo no chromium headless: abrir, arrastar a linha do tempo, memória");
    let server = Server::start_concurrent(&prepared.dist, &prepared.traces)?;
    let out = cmd::capture(
        Command::new("node")
            .current_dir(&prepared.e2e)
            .arg("bench.mjs")
            .env("CASULO_VIS_URL", &server.url)
            .env("CASULO_BENCH_TRACES", names.join(","))
            .env("CASULO_CHROMIUM", browser::CHROMIUM),
    )?;
    drop(server);
    for name in ["grande", "enorme"] {
        // 25 and 250 MB: not kept among the test traces.
        let _ = fs::remove_file(prepared.traces.join(format!("{name}.trace.jsonl")));
    }
    let Some(m) = out
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
    else {
        fail!("bench.mjs não imprimiu o JSON dos resultados:\n{out}");
    };
    Ok(m)
}

/// Each budget: what, what was measured, the budget, met.
fn budgets(wasm_gz: u64, m: &Value) -> Vec<(&'static str, String, String, bool)> {
    let big = &m["traces"]["grande.trace.jsonl"];
    let huge = &m["traces"]["enorme.trace.jsonl"];
    let num = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let open_ms = num(big, "open_total_ms");
    let seek_p95 = num(big, "seek_p95_ms");
    let seek_fps = 1000.0 / seek_p95;
    let mb = |v: &Value, k: &str| num(v, k) / 1048576.0;
    vec![
        (
            "wasm com gzip",
            format!("{} KB", wasm_gz / 1024),
            format!("≤ {} KB", WASM_GZ_BUDGET / 1024),
            wasm_gz <= WASM_GZ_BUDGET,
        ),
        (
            "abrir 100 mil eventos (navegação → primeiro desenho)",
            format!(
                "{open_ms:.0} ms (todo lido em {:.0} ms)",
                num(big, "open_full_ms")
            ),
            format!("≤ {OPEN_BUDGET_MS:.0} ms"),
            open_ms <= OPEN_BUDGET_MS,
        ),
        (
            "arrastar a linha do tempo (100 mil)",
            format!(
                "cada posição em {seek_p95:.1} ms (p95; {seek_fps:.0} quadros/s possíveis); \
                 arrasto a {:.1} quadros/s, quadro mais longo {:.0} ms",
                num(big, "scrub_fps"),
                num(big, "scrub_longest_frame_ms"),
            ),
            format!("≥ {SCRUB_FPS_BUDGET:.0} quadros/s"),
            seek_fps >= SCRUB_FPS_BUDGET,
        ),
        (
            "1 milhão de eventos: abre e arrasta",
            format!(
                "primeiro desenho {:.0} ms, todo lido {:.0} ms; posição em {:.1} ms (p95); \
                 memória: wasm {:.0} MB + heap JS {:.0} MB",
                num(huge, "open_total_ms"),
                num(huge, "open_full_ms"),
                num(huge, "seek_p95_ms"),
                mb(huge, "wasm_memory_bytes"),
                mb(huge, "js_heap_used_bytes"),
            ),
            "abrir e arrastar sem faltar memória".to_string(),
            huge["final_position"]
                .as_str()
                .is_some_and(|p| p.starts_with("evento ")),
        ),
    ]
}

/// Where each opening of the 100k trace went (ms since navigation), and
/// the visualizer's own part: from the last byte to the drawing.
fn print_timelines(big: &Value) {
    let num = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    for o in big["opens"].as_array().into_iter().flatten() {
        let t = &o["timeline"];
        let own = num(t, "desenhado") - num(t, "trace_baixado");
        println!(
            "  (100 mil, desde a navegação: wasm baixado {}, app iniciada {}, trace baixado {}, \
             na página {}, linhas contadas {}, primeira fatia {}, desenhado {}, todo lido {}; \
             do último byte ao desenho: {own:.0} ms)",
            t["wasm_baixado"],
            t["iniciado"],
            t["trace_baixado"],
            t["baixado"],
            t["contado"],
            t["primeira-fatia"],
            t["desenhado"],
            t["carregado"]
        );
    }
}

/// The echo fixture, then `cgroup.sample`s (and a `cgroup.limit` every 5000
/// events) up to `n` events, as JSON Lines.
fn big_trace(n: usize) -> Result<String> {
    let fixture = cmd::workspace_root().join("engine/trace/tests/fixtures/run-echo.trace.jsonl");
    let trace = casulo_trace::read_trace_file(&fixture).map_err(|e| e.to_string())?;
    let mut out = serde_json::to_string(&trace.header).expect("header") + "\n";
    let mut events = trace.events;
    let pid = events.first().map_or(1, |e| e.pid);
    let cg = "/sys/fs/cgroup/memory/casulo/grande".to_string();
    let mut t = events.last().map_or(0, |e| e.t_us);
    let limit = 256u64 << 20;
    while events.len() < n {
        let i = events.len();
        t += 1000;
        let (body, op) = if i % 5000 == 0 {
            (
                EventBody::CgroupLimit {
                    controller: "memory".into(),
                    file: format!("{cg}/memory.limit_in_bytes"),
                    value: limit.to_string(),
                },
                format!("write {cg}/memory.limit_in_bytes = {limit}"),
            )
        } else {
            let wave = ((i as f64 / 3000.0).sin() * 0.4 + 0.5) * limit as f64;
            (
                EventBody::CgroupSample {
                    memory_bytes: Some(wave as u64),
                    memory_peak_bytes: None,
                    memory_limit_bytes: Some(limit),
                    pids: Some(1 + (i % 7) as u64),
                    pids_limit: Some(64),
                    cpu_usage_us: Some(i as u64 * 300),
                    cpu_throttled_us: None,
                },
                format!("read {cg}/memory.usage_in_bytes"),
            )
        };
        events.push(Event {
            seq: i as u64,
            t_us: t,
            pid,
            body,
            op,
            outcome: Outcome::Ok,
        });
    }
    for e in &events {
        out.push_str(&serde_json::to_string(e).expect("event"));
        out.push('\n');
    }
    Ok(out)
}
