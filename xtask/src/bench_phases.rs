//! Where the milliseconds of one `casulo run` go, from the trace's own
//! `t_us` (the time since the recorder started, same clock for every process).
//!
//! Phases, cut at the first event of each kind family:
//! - image/layers: from the recorder's start to the first `cgroup.create`
//! - cgroups (create + limits): to `process.clone`
//! - clone → attach: `process.clone` to the last `cgroup.attach` (the
//!   namespaces, and the first write to a v1 `cgroup.procs`, which waits
//!   for an RCU grace period: 12–17 ms measured alone on this host, 0.1 ms
//!   for the writes right after it); zero when there is no cgroup
//! - attach → exec: to `process.exec` (mounts, pivot_root, capabilities,
//!   seccomp, the `execve`)
//! - exec → exit: `process.exec` to `process.exit`
//! - teardown: `process.exit` to the last event (upper layer, cgroup rmdir)

use std::path::Path;

use serde_json::{json, Value};

use crate::Result;

pub const PHASES: [&str; 6] = [
    "imagem/camadas",
    "cgroups (criar + limites)",
    "clone → cgroup.attach",
    "cgroup.attach → exec",
    "exec → saída",
    "desmontagem",
];

/// A trace's events as `(kind, t_us)`, in order.
pub type Events = Vec<(String, u64)>;

/// The events of a trace file's text.
pub fn events_of(trace: &str) -> Events {
    trace
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|e| Some((e["kind"].as_str()?.to_string(), e["t_us"].as_u64()?)))
        .collect()
}

/// The six phase durations (µs) of one trace, or None if a boundary is missing.
pub fn phases_of(events: &[(String, u64)]) -> Option<[u64; 6]> {
    let first = |kind: &str| events.iter().find(|(k, _)| k == kind).map(|(_, t)| *t);
    let cgroup = first("cgroup.create")?;
    let clone = first("process.clone")?;
    let exec = first("process.exec")?;
    let attached = events
        .iter()
        .filter(|(k, t)| k == "cgroup.attach" && *t <= exec)
        .map(|(_, t)| *t)
        .max()
        .unwrap_or(clone)
        .max(clone);
    let exit = first("process.exit")?;
    let last = events.iter().map(|(_, t)| *t).max()?;
    Some([
        cgroup,
        clone.saturating_sub(cgroup),
        attached - clone,
        exec.saturating_sub(attached),
        exit.saturating_sub(exec),
        last.saturating_sub(exit),
    ])
}

/// [`report`] of every trace in `dir`.
pub fn report_dir(dir: &Path) -> Result<Value> {
    let mut traces = vec![];
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with(".trace.jsonl") {
            traces.push(events_of(&std::fs::read_to_string(&path)?));
        }
    }
    Ok(report(&traces))
}

/// Median of each phase over `traces`; prints a table and returns it as
/// JSON (ms).
pub fn report(traces: &[Events]) -> Value {
    let mut per_phase: [Vec<u64>; 6] = Default::default();
    let mut counted = 0;
    for p in traces.iter().filter_map(|events| phases_of(events)) {
        counted += 1;
        for (i, us) in p.iter().enumerate() {
            per_phase[i].push(*us);
        }
    }
    let traces = counted;
    println!("\nonde vai o tempo de `casulo run` (mediana de {traces} traces, pelo t_us do próprio trace):");
    let mut rows = vec![];
    for (name, samples) in PHASES.iter().zip(per_phase.iter_mut()) {
        samples.sort_unstable();
        let median_ms = samples.get(samples.len() / 2).map(|us| *us as f64 / 1e3);
        println!(
            "  {name:<28} {:>8}",
            median_ms.map_or("-".into(), |m| format!("{m:.2} ms"))
        );
        rows.push(json!({ "phase": name, "median_ms": median_ms }));
    }
    json!({ "traces": traces, "phases": rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_cut_at_first_event_of_each_kind() {
        let trace = [
            r#"{"format":"casulo-trace"}"#,
            r#"{"seq":0,"t_us":40,"kind":"layer.reuse"}"#,
            r#"{"seq":1,"t_us":100,"kind":"cgroup.create"}"#,
            r#"{"seq":2,"t_us":150,"kind":"cgroup.create"}"#,
            r#"{"seq":3,"t_us":300,"kind":"process.clone"}"#,
            r#"{"seq":4,"t_us":700,"kind":"cgroup.attach"}"#,
            r#"{"seq":5,"t_us":900,"kind":"cgroup.attach"}"#,
            r#"{"seq":6,"t_us":1300,"kind":"process.exec"}"#,
            r#"{"seq":7,"t_us":1800,"kind":"process.exit"}"#,
            r#"{"seq":8,"t_us":2000,"kind":"cgroup.delete"}"#,
        ]
        .join("\n");
        assert_eq!(
            phases_of(&events_of(&trace)),
            Some([100, 200, 600, 400, 500, 200])
        );
        assert_eq!(
            phases_of(&events_of(r#"{"seq":0,"t_us":1,"kind":"layer.reuse"}"#)),
            None
        );
    }
}
