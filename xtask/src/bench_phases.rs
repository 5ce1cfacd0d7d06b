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
//!
//! And, where the bench knows when each run began and ended (wall clock:
//! the host's `bench startup`), the two stretches no event covers:
//! - before the trace: from the spawn to the header's `started_at` (the
//!   binary's own start, the arguments, the state directory, the image's
//!   manifest and config, the container's name, id and directory)
//! - after the trace: from the last event to the exit (the record saying
//!   `exited`, `--rm` removing the container's directory, the process's
//!   own end)

use std::path::Path;
use std::time::SystemTime;

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

/// The stretches before the first event and after the last one.
pub const OUTSIDE: [&str; 2] = [
    "antes do trace (binário, estado)",
    "depois do trace (registro, --rm)",
];

/// A trace's events as `(kind, t_us)`, in order.
pub type Events = Vec<(String, u64)>;

/// One run's wall clock: spawned, exited.
pub type Span = (SystemTime, SystemTime);

/// A trace: its header's `started_at` (when known) and its events.
pub struct Trace {
    pub started: Option<SystemTime>,
    pub events: Events,
}

impl Trace {
    /// A trace file's text.
    pub fn of(text: &str) -> Trace {
        let started = text
            .lines()
            .next()
            .and_then(|l| serde_json::from_str::<Value>(l).ok())
            .and_then(|h| humantime::parse_rfc3339_weak(h["started_at"].as_str()?).ok());
        Trace {
            started,
            events: events_of(text),
        }
    }

    /// Only the events (the VM's console gives no header).
    pub fn events(events: Events) -> Trace {
        Trace {
            started: None,
            events,
        }
    }
}

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

/// Before the first event and after the last (µs), for a trace whose
/// start falls inside one of `runs`.
pub fn outside_of(trace: &Trace, runs: &[Span]) -> Option<[u64; 2]> {
    let started = trace.started?;
    let &(spawned, exited) = runs
        .iter()
        .find(|(spawned, exited)| *spawned <= started && started <= *exited)?;
    let last = trace.events.iter().map(|(_, t)| *t).max()?;
    let micros = |from: SystemTime, to: SystemTime| {
        to.duration_since(from).map_or(0, |d| d.as_micros() as u64)
    };
    let before = micros(spawned, started);
    Some([
        before,
        micros(spawned, exited).saturating_sub(before + last),
    ])
}

/// [`report`] of every trace in `dir`, timed against `runs`.
pub fn report_dir(dir: &Path, runs: &[Span]) -> Result<Value> {
    let mut traces = vec![];
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with(".trace.jsonl") {
            traces.push(Trace::of(&std::fs::read_to_string(&path)?));
        }
    }
    Ok(report(&traces, runs))
}

/// Median of each phase over `traces` (and of the stretches outside them,
/// for the traces `runs` times); prints a table and returns it as JSON (ms).
pub fn report(traces: &[Trace], runs: &[Span]) -> Value {
    let mut per_phase: [Vec<u64>; PHASES.len() + OUTSIDE.len()] = Default::default();
    let mut counted = 0;
    for trace in traces {
        let Some(p) = phases_of(&trace.events) else {
            continue;
        };
        counted += 1;
        for (i, us) in p.iter().enumerate() {
            per_phase[i].push(*us);
        }
        for (i, us) in outside_of(trace, runs).into_iter().flatten().enumerate() {
            per_phase[PHASES.len() + i].push(us);
        }
    }
    let traces = counted;
    println!("\nonde vai o tempo de `casulo run` (mediana de {traces} traces, pelo t_us do próprio trace):");
    let mut rows = vec![];
    let names = PHASES.iter().chain(OUTSIDE.iter());
    for (i, (name, samples)) in names.zip(per_phase.iter_mut()).enumerate() {
        if i >= PHASES.len() && samples.is_empty() {
            continue; // no run timed these traces (the VM)
        }
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

    /// Before the trace: spawn → `started_at`; after: the last event → exit.
    /// A trace that no run's span holds (a warm-up run) gets none.
    #[test]
    fn the_stretches_outside_the_trace_come_from_the_runs_wall_clock() {
        let trace = Trace::of(
            &[
                r#"{"format":"casulo-trace","started_at":"2026-12-03T15:00:00.002000Z"}"#,
                r#"{"seq":0,"t_us":40,"kind":"layer.reuse"}"#,
                r#"{"seq":1,"t_us":9000,"kind":"cgroup.delete"}"#,
            ]
            .join("\n"),
        );
        let at = |ms: u64| {
            humantime::parse_rfc3339("2026-12-03T15:00:00Z").unwrap()
                + std::time::Duration::from_millis(ms)
        };
        assert_eq!(outside_of(&trace, &[(at(0), at(14))]), Some([2000, 3000]));
        assert_eq!(outside_of(&trace, &[(at(5), at(20))]), None);
        assert_eq!(
            outside_of(&Trace::events(trace.events.clone()), &[(at(0), at(14))]),
            None
        );
    }
}
