//! `GET /events`: what happens to containers (`docker events`), from the
//! daemon's [`event_log`](super::event_log), which tells the differences
//! between two looks at the records: `create`, `start`, `die` (with
//! `exitCode`), `pause`, `unpause`, `destroy`. `since` replays what the
//! log remembers; `until` ends the stream. A container whose whole life is
//! shorter than one look shows only `create`/`destroy` (or nothing) — said
//! in the README.

use std::collections::HashMap;
use std::time::Duration;

use hyper::body::Bytes;
use serde_json::{json, Value};

use super::http::{ApiError, Query, Reply};
use super::Ctx;
use crate::container::{ContainerRecord, ContainerState};

/// How often the records are compared when inotify is not there.
pub const LOOK_EVERY: Duration = Duration::from_millis(50);

/// What is remembered of a container between two looks.
#[derive(Debug, Clone)]
pub struct Seen {
    name: String,
    image: String,
    state: ContainerState,
    started_at: Option<String>,
    finished_at: Option<String>,
    exit_code: Option<i32>,
    pid: Option<i32>,
    trace: std::path::PathBuf,
}

impl Seen {
    pub fn of(r: &ContainerRecord) -> Seen {
        Seen {
            name: r.name.clone(),
            image: r.image.clone(),
            state: r.state,
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            exit_code: r.exit_code,
            pid: r.pid,
            trace: r.trace.clone(),
        }
    }
}

/// docker's `filters` for events: `type` (only `container`), `container`
/// (id, id prefix or name) and `event`.
struct Filters {
    containers: Vec<String>,
    events: Vec<String>,
}

impl Filters {
    fn parse(text: Option<&str>) -> Result<Filters, ApiError> {
        let mut f = Filters {
            containers: Vec::new(),
            events: Vec::new(),
        };
        for (key, values) in super::http::filters(text)? {
            match key.as_str() {
                "type" if values.iter().all(|v| v == "container") => {}
                "container" => f.containers = values,
                "event" => f.events = values,
                _ => {
                    return Err(ApiError::not_implemented(&format!(
                        "o filtro {key}={} de events (o casulo conta só eventos de \
                         contêineres: type=container, container=…, event=…)",
                        values.join(",")
                    )))
                }
            }
        }
        Ok(f)
    }

    fn accept(&self, id: &str, name: &str, action: &str) -> bool {
        (self.containers.is_empty()
            || self
                .containers
                .iter()
                .any(|c| c == name || id.starts_with(c.as_str())))
            && (self.events.is_empty() || self.events.iter().any(|e| e == action))
    }
}

pub fn events(ctx: &std::sync::Arc<Ctx>, query: &Query) -> Result<Reply, ApiError> {
    // docker's time formats (its CLI sends unix seconds).
    let now = std::time::SystemTime::now();
    let time = |name: &str| -> Result<Option<std::time::SystemTime>, ApiError> {
        match query.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => super::since::parse(v, now)
                .map(Some)
                .map_err(|e| ApiError::bad_request(format!("o parâmetro {name} de events: {e}"))),
        }
    };
    let since = time("since")?;
    let until = time("until")?;
    let filters = Filters::parse(query.get("filters"))?;
    let log = ctx
        .events
        .clone()
        .ok_or_else(|| ApiError::not_implemented("GET /events fora do casulo daemon"))?;
    // Without since, only what happens from now on.
    let mut last = if since.is_some() { 0 } else { log.last_seq() };
    Ok(Reply::Stream {
        length: None,
        content_type: "application/json",
        producer: Box::new(move |tx| loop {
            let (entries, newest) = log.after(last, since, Duration::from_millis(250));
            last = newest;
            let mut lines = String::new();
            for e in entries {
                if until.is_some_and(|u| e.time > u) {
                    continue;
                }
                if filters.accept(&e.id, &e.seen.name, e.action) {
                    lines.push_str(&message(e.time, &e.id, e.action, &e.seen).to_string());
                    lines.push('\n');
                }
            }
            let sent = if lines.is_empty() {
                !tx.is_closed()
            } else {
                tx.blocking_send(Bytes::from(lines)).is_ok()
            };
            if !sent || until.is_some_and(|u| std::time::SystemTime::now() >= u) {
                return;
            }
        }),
    })
}

/// What changed between two looks, in the order docker would tell it.
pub fn differences(
    before: &HashMap<String, Seen>,
    now: &HashMap<String, Seen>,
) -> Vec<(String, &'static str, Seen)> {
    let mut out = Vec::new();
    for (id, s) in now {
        let old = before.get(id);
        if old.is_none() {
            out.push((id.clone(), "create", s.clone()));
        }
        let was_started = old.and_then(|o| o.started_at.clone());
        if s.started_at.is_some() && s.started_at != was_started {
            out.push((id.clone(), "start", s.clone()));
        }
        let was_finished = old.and_then(|o| o.finished_at.clone());
        let was_up = old.is_some_and(|o| is_up(o.state));
        if s.finished_at.is_some() && s.finished_at != was_finished {
            out.push((id.clone(), "die", s.clone()));
        } else if was_up && s.state == ContainerState::Exited {
            // Its keeper was killed with it: nobody wrote how it ended,
            // its trace may tell.
            out.push((id.clone(), "die", died(s)));
        }
        match (old.map(|o| o.state), s.state) {
            (Some(ContainerState::Running), ContainerState::Paused) => {
                out.push((id.clone(), "pause", s.clone()))
            }
            (Some(ContainerState::Paused), ContainerState::Running) => {
                out.push((id.clone(), "unpause", s.clone()))
            }
            _ => {}
        }
    }
    for (id, s) in before {
        if !now.contains_key(id) {
            // Gone while up (it ended and was removed between two looks,
            // as a `--rm` does): it died first, with the code its trace
            // (which stays) tells.
            if is_up(s.state) {
                out.push((id.clone(), "die", died(s)));
            }
            out.push((id.clone(), "destroy", s.clone()));
        }
    }
    let order = |a: &str| {
        ["create", "start", "pause", "unpause", "die", "destroy"]
            .iter()
            .position(|x| *x == a)
    };
    out.sort_by_key(|(_, a, _)| order(a));
    out
}

fn is_up(state: ContainerState) -> bool {
    matches!(state, ContainerState::Running | ContainerState::Paused)
}

/// `s` with the exit code its trace tells (its record never got one).
fn died(s: &Seen) -> Seen {
    let mut died = s.clone();
    died.exit_code = crate::container::record::exit_in_trace(&s.trace, s.pid);
    died
}

/// One event in docker's shape (old and new fields both, as dockerd).
fn message(time: std::time::SystemTime, id: &str, action: &str, s: &Seen) -> Value {
    let now = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut attributes = json!({ "name": s.name, "image": s.image });
    if action == "die" {
        attributes["exitCode"] = json!(s.exit_code.unwrap_or(0).to_string());
    }
    json!({
        "status": action,
        "id": id,
        "from": s.image,
        "Type": "container",
        "Action": action,
        "Actor": { "ID": id, "Attributes": attributes },
        "scope": "local",
        "time": now.as_secs(),
        "timeNano": now.as_nanos() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::{header_for, Recorder};
    use casulo_trace::{ContainerInfo, EventBody, Outcome};

    fn seen(state: ContainerState, trace: &std::path::Path) -> Seen {
        Seen {
            name: "web".into(),
            image: "busybox".into(),
            state,
            started_at: Some("2026-12-02T10:00:00Z".into()),
            finished_at: None,
            exit_code: None,
            pid: Some(4321),
            trace: trace.to_path_buf(),
        }
    }

    /// A container that ended and was removed between two looks (a busy
    /// host makes a look slow) still dies with its real code, read from
    /// its trace — not a made-up 0.
    #[test]
    fn a_container_gone_between_two_looks_dies_with_the_code_of_its_trace() {
        let tmp = tempfile::tempdir().unwrap();
        let trace = tmp.path().join("c.trace.jsonl");
        let rec = Recorder::create(
            &trace,
            &header_for(
                ContainerInfo {
                    id: "a".repeat(64),
                    name: "web".into(),
                    image: "busybox".into(),
                    image_id: None,
                    command: vec![],
                },
                "v2",
            ),
        )
        .unwrap();
        rec.record(
            EventBody::ProcessExit {
                exited_pid: 4321,
                code: Some(2),
                signal: None,
                signal_name: None,
            },
            "wait4(4321)".into(),
            Outcome::Ok,
        );
        drop(rec);
        let id = "a".repeat(64);
        let before = HashMap::from([(id.clone(), seen(ContainerState::Running, &trace))]);
        let told: Vec<_> = differences(&before, &HashMap::new())
            .into_iter()
            .map(|(_, action, s)| (action, s.exit_code))
            .collect();
        assert_eq!(told, [("die", Some(2)), ("destroy", None)]);
        assert_eq!(
            message(
                std::time::SystemTime::now(),
                &id,
                "die",
                &differences(&before, &HashMap::new())[0].2
            )["Actor"]["Attributes"]["exitCode"],
            "2"
        );
        // One seen exited and then gone only says destroy.
        let mut exited = seen(ContainerState::Exited, &trace);
        exited.exit_code = Some(2);
        let before = HashMap::from([(id.clone(), exited)]);
        let told: Vec<_> = differences(&before, &HashMap::new())
            .into_iter()
            .map(|(_, action, _)| action)
            .collect();
        assert_eq!(told, ["destroy"]);
        // Seen up, then exited with no end recorded (its keeper was
        // killed with it): it dies, with the trace's code, and is then
        // only destroyed.
        let mut dead = seen(ContainerState::Exited, &trace);
        dead.pid = Some(4321);
        let up = HashMap::from([(id.clone(), seen(ContainerState::Running, &trace))]);
        let now = HashMap::from([(id.clone(), dead.clone())]);
        let told: Vec<_> = differences(&up, &now)
            .into_iter()
            .map(|(_, action, s)| (action, s.exit_code))
            .collect();
        assert_eq!(told, [("die", Some(2))]);
        let before = HashMap::from([(id, dead)]);
        let told: Vec<_> = differences(&before, &HashMap::new())
            .into_iter()
            .map(|(_, action, s)| (action, s.exit_code))
            .collect();
        assert_eq!(told, [("destroy", None)]);
    }
}
