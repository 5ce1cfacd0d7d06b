//! The student's traces: every `<root>/traces/*.trace.jsonl` that started
//! after `casulo lab iniciar`, read with the trace crate's reader and folded
//! with its replay model.

use std::path::Path;
use std::time::SystemTime;

use casulo_trace::replay::{Replay, World};
use casulo_trace::Trace;

use crate::state::StateDir;

/// One trace, read and replayed to its end.
#[derive(Debug)]
pub struct StudentTrace {
    /// File name in `traces/` (for the visualizer link).
    pub file_name: String,
    pub trace: Trace,
    /// The world after the last event.
    pub world: World,
    /// The events as JSON objects (what event patterns match against),
    /// serialized from the typed events.
    pub json: Vec<serde_json::Value>,
}

impl StudentTrace {
    pub fn from_trace(file_name: String, trace: Trace) -> StudentTrace {
        let replay = Replay::new(trace.events.clone());
        let world = replay.world_at(replay.len());
        let json = trace
            .events
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or_default())
            .collect();
        StudentTrace {
            file_name,
            trace,
            world,
            json,
        }
    }

    /// A `casulo build` trace (the replay saw `build.start`).
    pub fn is_build(&self) -> bool {
        self.world.build.is_some()
    }

    /// `push` or `pull` for a trace of `casulo push/pull` (named
    /// `push-…`/`pull-…`; the replay's direction for one renamed).
    pub fn transfer(&self) -> Option<&str> {
        ["push", "pull"]
            .into_iter()
            .find(|w| self.file_name.starts_with(&format!("{w}-")))
            .or_else(|| {
                self.world
                    .registry
                    .as_ref()
                    .map(|r| r.direction.as_str())
                    .filter(|d| !d.is_empty())
            })
    }

    /// The `seq` of the event at `index`.
    pub fn seq(&self, index: usize) -> u64 {
        self.trace.events.get(index).map(|e| e.seq).unwrap_or(0)
    }
}

/// The traces that started at or after `since`, oldest first. Unreadable
/// files (a run still being written, a damaged file) are counted in the
/// second value and left out.
pub fn since(state: &StateDir, since: SystemTime) -> (Vec<StudentTrace>, usize) {
    let dir = state.traces();
    let mut out = vec![];
    let mut unreadable = 0;
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return (out, 0);
    };
    for entry in rd.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".trace.jsonl") || !recent(&path, since) {
            continue;
        }
        match casulo_trace::read_trace_file(&path) {
            Ok(trace) => {
                let started = humantime::parse_rfc3339_weak(&trace.header.started_at)
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                if started >= since {
                    out.push(StudentTrace::from_trace(name, trace));
                }
            }
            Err(_) => unreadable += 1,
        }
    }
    out.sort_by(|a, b| {
        a.trace
            .header
            .started_at
            .cmp(&b.trace.header.started_at)
            .then(a.file_name.cmp(&b.file_name))
    });
    (out, unreadable)
}

/// Cheap filter before reading: a file last written before `since` cannot
/// hold a trace that started after it.
fn recent(path: &Path, since: SystemTime) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|m| m >= since)
        .unwrap_or(true)
}
