//! `GET /casulo/live/{id}`: a container's trace as Server-Sent Events,
//! while the engine writes it — the visualizer's "ao vivo" mode.
//!
//! SSE is plain text over an ordinary response (`text/event-stream`), so it
//! is written here by hand over hyper's streamed body: no crate needed.
//! What the client reads:
//!
//! ```text
//! event: cabecalho          line 1 of the trace (the header)
//! data: {"format":"casulo-trace",…}
//!
//! id: 0                     one message per event, as the engine appended it
//! data: {"seq":0,"kind":"namespace.create",…}
//!
//! : ainda aqui              a comment every 15 s (finds a client that left)
//!
//! (a browser that reconnects sends `Last-Event-ID: N`: then no header,
//! and the events after N)
//!
//! event: fim                the container ended and its trace is complete
//! data: {"exit_code":0}
//! ```
//!
//! The trace is append-only JSONL: the producer reads what is there, then
//! looks again every 100 ms (a complete line at a time: a line being
//! written is sent once its `\n` is there). The trace is *complete* when
//! its container has ended (or was removed) and no process has the file
//! open any more — the supervisor or `casulo run` writes the cleanup after
//! the exit, so the exit alone is not the end. A client that leaves closes
//! the channel; the producer sees it at its next look and ends.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use serde_json::json;
use tokio::sync::mpsc::Sender;

use super::http::{ApiError, Reply};
use super::traces::{self, Listed};
use super::Ctx;
use crate::container::ContainerState;
use crate::state::StateDir;

pub const EVENT_STREAM: &str = "text/event-stream";
/// How often the file and the container are looked at.
const LOOK_EVERY: Duration = Duration::from_millis(100);
/// A comment this often: a write is how a gone client is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// `GET /casulo/live/{key}` (`key` as in [`traces::find`]).
pub fn live(ctx: &Ctx, key: &str) -> Result<Reply, ApiError> {
    let t = traces::find(&ctx.state, key)?;
    let file = traces::open_no_follow(&t.path).map_err(|_| traces::not_found(key))?;
    let state = ctx.state.clone();
    let resume = super::request::current().and_then(|a| a.last_event_id);
    Ok(Reply::Stream {
        length: None,
        content_type: EVENT_STREAM,
        producer: Box::new(move |tx| follow(&state, &t, file, resume, &tx)),
    })
}

/// Sends every complete line of `file`, then each new one, until the trace
/// is complete (then `fim`) or the client is gone.
fn follow(state: &StateDir, t: &Listed, mut file: File, resume: Option<u64>, tx: &Sender<Bytes>) {
    // Named, so `top -H` (and the tests) can tell the followers apart.
    let _ = nix::sys::prctl::set_name(c"casulo-ao-vivo");
    let mut pending: Vec<u8> = Vec::new();
    let mut first_line = true;
    let mut last_write = Instant::now();
    loop {
        // Decided before reading: whatever was written before the end is read below.
        let ended = ended(state, t);
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match file.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => pending.extend_from_slice(&chunk[..n]),
            }
        }
        let mut out = String::new();
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line[..end]);
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            let header = std::mem::take(&mut first_line);
            match (header, resume) {
                (true, Some(_)) => {}
                (false, Some(last)) if seq_of(line).is_some_and(|seq| seq <= last) => {}
                _ => out.push_str(&message(line, header)),
            }
        }
        if let Some(exit) = &ended {
            out.push_str(&format!("event: fim\ndata: {exit}\n\n"));
        } else if out.is_empty() && last_write.elapsed() >= KEEP_ALIVE {
            out.push_str(": ainda aqui\n\n");
        }
        if !out.is_empty() {
            if tx.blocking_send(Bytes::from(out)).is_err() {
                return;
            }
            last_write = Instant::now();
        }
        if ended.is_some() || tx.is_closed() {
            return;
        }
        std::thread::sleep(LOOK_EVERY);
    }
}

/// One SSE message: the header as `cabecalho`, events with their `seq` as id.
fn message(line: &str, header: bool) -> String {
    if header {
        return format!("event: cabecalho\ndata: {line}\n\n");
    }
    match seq_of(line) {
        Some(seq) => format!("id: {seq}\ndata: {line}\n\n"),
        None => format!("data: {line}\n\n"),
    }
}

fn seq_of(line: &str) -> Option<u64> {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v["seq"].as_u64())
}

/// `Some(fim's data)` once the trace is complete: its container is gone or
/// has exited, and no other process has the file open.
fn ended(state: &StateDir, t: &Listed) -> Option<serde_json::Value> {
    // Its own record only (every follower looks ten times a second).
    let record = crate::container::record::load(&state.container(&t.id)).ok();
    if let Some(r) = &record {
        let alive = match r.state {
            ContainerState::Exited => false,
            // A `create` only: it may be started yet.
            ContainerState::Created => true,
            // As `casulo ps` says it: an init that is gone (casulo killed) ended.
            ContainerState::Running | ContainerState::Paused => r
                .pid
                .is_some_and(|pid| crate::container::init_alive(pid, &r.id)),
            ContainerState::Restarting => {
                r.supervisor.is_some_and(crate::container::supervisor_alive)
            }
        };
        if alive {
            return None;
        }
    }
    // No record: removed (`--rm`), or not written yet — whoever makes it
    // holds the trace open, which the next check sees.
    if held_open_by_others(&t.path) {
        return None;
    }
    // Nobody writes any more, so the record read now is the last one. (Not
    // the one read above: between the two looks its keeper may have written
    // the exit code and closed the trace — a /proc walk is slow on a busy
    // machine.)
    let last = crate::container::record::load(&state.container(&t.id)).ok();
    Some(json!({ "exit_code": last.and_then(|r| r.exit_code) }))
}

/// Does a process other than this one have `path` open? (`/proc/*/fd`,
/// compared by device and inode: every recorder of a trace holds it open.)
fn held_open_by_others(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    let me = std::process::id().to_string();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    for p in procs.flatten() {
        let name = p.file_name();
        let Some(pid) = name.to_str() else { continue };
        if pid == me || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            // Only links to files can be it: a cheap look before the stat.
            let is_file = std::fs::read_link(fd.path()).is_ok_and(|target| {
                target.is_absolute() && target.ends_with(path.file_name().unwrap_or_default())
            });
            if !is_file {
                continue;
            }
            if std::fs::metadata(fd.path())
                .is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
            {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_live_messages_carry_the_seq() {
        assert_eq!(
            message(r#"{"format":"casulo-trace"}"#, true),
            "event: cabecalho\ndata: {\"format\":\"casulo-trace\"}\n\n"
        );
        assert_eq!(
            message(r#"{"seq":7,"kind":"x"}"#, false),
            "id: 7\ndata: {\"seq\":7,\"kind\":\"x\"}\n\n"
        );
    }

    #[test]
    fn daemon_live_sees_who_holds_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.trace.jsonl");
        std::fs::write(&path, "x\n").unwrap();
        // Ourselves never count (the daemon reads the traces it serves).
        let _mine = File::open(&path).unwrap();
        assert!(!held_open_by_others(&path));
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("exec 3<\"$1\"; read x")
            .arg("sh")
            .arg(&path)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let began = Instant::now();
        while !held_open_by_others(&path) {
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "sh não abriu o arquivo"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(child.stdin.take());
        child.wait().unwrap();
        assert!(!held_open_by_others(&path));
    }
}
