//! `GET /casulo/traces` and `GET /casulo/traces/{id, name or file}`: the
//! traces of the state dir, read-only, for `curl` and the visualizer.
//!
//! Only the files directly in `<state>/traces/` are ever served: a key is
//! matched against that directory's listing (never joined to a path), a
//! symlink or anything but a regular file is not listed, and the file is
//! opened with `O_NOFOLLOW` and checked again after the open.

use std::fs::File;
use std::io::{BufRead, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use hyper::StatusCode;
use serde_json::{json, Value};

use super::http::{ApiError, Reply};
use super::Ctx;
use crate::container::ContainerState;
use crate::state::StateDir;

/// The media type of a trace: one JSON document per line.
pub const NDJSON: &str = "application/x-ndjson";

/// One trace file, with what its header says.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The file's name in `traces/` (`web-1a2b3c4d.trace.jsonl`).
    pub file: String,
    pub path: PathBuf,
    pub bytes: u64,
    /// The container's (or build's) id and name, from line 1.
    pub id: String,
    pub name: String,
    pub image: String,
    pub command: Vec<String>,
    pub started_at: String,
    /// Its container exists and runs (or is paused, or restarting).
    pub running: bool,
}

impl Listed {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "container": self.name,
            "name": self.file,
            "url": format!("/casulo/traces/{}", self.file),
            "live": format!("/casulo/live/{}", self.id),
            "path": self.path,
            "bytes": self.bytes,
            "image": self.image,
            "command": self.command,
            "started_at": self.started_at,
            "running": self.running,
        })
    }
}

/// Every trace of the state dir, newest first.
pub fn list(state: &StateDir) -> Vec<Listed> {
    let running: Vec<String> = crate::container::list(state)
        .into_iter()
        .filter(|r| {
            matches!(
                r.state,
                ContainerState::Running | ContainerState::Paused | ContainerState::Restarting
            )
        })
        .map(|r| r.id)
        .collect();
    let mut all: Vec<Listed> = std::fs::read_dir(state.traces())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name().to_str()?.to_string();
            // `DirEntry::metadata` does not follow symlinks: a link is not a file here.
            let meta = entry.metadata().ok()?;
            if !(file.ends_with(".trace.jsonl") && meta.is_file()) {
                return None;
            }
            let header = header_of(&entry.path())?;
            let c = &header["container"];
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            let id = text(&c["id"]);
            Some(Listed {
                running: running.contains(&id),
                file,
                path: entry.path(),
                bytes: meta.len(),
                name: text(&c["name"]),
                image: text(&c["image"]),
                command: c["command"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                started_at: text(&header["started_at"]),
                id,
            })
        })
        .collect();
    all.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(a.file.cmp(&b.file)));
    all
}

/// Line 1 (the header), capped: a file that is no trace is not listed.
fn header_of(path: &Path) -> Option<Value> {
    let file = open_no_follow(path).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(file.take(64 * 1024))
        .read_line(&mut line)
        .ok()?;
    let header: Value = serde_json::from_str(line.trim_end()).ok()?;
    (header["format"] == casulo_trace::FORMAT_NAME).then_some(header)
}

/// Opens a trace to read, never through a symlink, and only a regular file.
pub fn open_no_follow(path: &Path) -> std::io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("não é um arquivo comum"));
    }
    Ok(file)
}

/// The trace `key` names: its file name, its container's id, its
/// container's name (the newest trace of that name), or a prefix of an id
/// that only one trace has.
pub fn find(state: &StateDir, key: &str) -> Result<Listed, ApiError> {
    if key.is_empty() || key.contains('/') || key.contains("..") || key.contains('\0') {
        return Err(ApiError::bad_request(format!(
            "{key:?} não é um nome de trace: use o id ou o nome do contêiner, ou o nome \
             do arquivo que GET /casulo/traces lista"
        )));
    }
    let all = list(state);
    let exact = all
        .iter()
        .find(|t| t.file == key || t.id == key)
        .or_else(|| all.iter().find(|t| t.name == key));
    if let Some(t) = exact {
        return Ok(t.clone());
    }
    let mut ids: Vec<&Listed> = all.iter().filter(|t| t.id.starts_with(key)).collect();
    ids.dedup_by(|a, b| a.id == b.id);
    match ids.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(not_found(key)),
        many => Err(ApiError::bad_request(format!(
            "{key:?} é o começo do id de {} traces: escreva mais letras do id",
            many.len()
        ))),
    }
}

pub fn not_found(key: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "não há trace de {key:?} no diretório de estado (GET /casulo/traces lista os que há)"
        ),
    )
}

/// `GET /casulo/traces`.
pub fn list_reply(ctx: &Ctx) -> Result<Reply, ApiError> {
    let items: Vec<Value> = list(&ctx.state).iter().map(Listed::json).collect();
    Ok(Reply::Json(StatusCode::OK, Value::Array(items)))
}

/// `GET /casulo/traces/{key}`: the file as it is now.
pub fn get_reply(ctx: &Ctx, key: &str) -> Result<Reply, ApiError> {
    let t = find(&ctx.state, key)?;
    let file = open_no_follow(&t.path).map_err(|_| not_found(key))?;
    Ok(Reply::file(NDJSON, file, ()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(id: &str, name: &str) -> String {
        format!(
            r#"{{"format":"casulo-trace","format_version":1,"engine_version":"0","kernel":"k","cgroup_mode":"v1","container":{{"id":"{id}","name":"{name}","image":"busybox","command":["true"]}},"started_at":"2026-12-02T22:00:00Z"}}"#
        ) + "\n"
    }

    #[test]
    fn daemon_traces_are_found_by_id_name_file_and_never_outside() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::new(dir.path());
        std::fs::create_dir_all(state.traces()).unwrap();
        let id = "ab".repeat(32);
        std::fs::write(
            state.traces().join("web-abababab.trace.jsonl"),
            header(&id, "web"),
        )
        .unwrap();
        std::fs::write(dir.path().join("segredo.trace.jsonl"), header("cd", "x")).unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("segredo.trace.jsonl"),
            state.traces().join("link.trace.jsonl"),
        )
        .unwrap();
        std::fs::write(state.traces().join("lixo.trace.jsonl"), "não é trace\n").unwrap();

        let all = list(&state);
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].name, "web");
        assert!(!all[0].running);
        for key in [id.as_str(), "web", "web-abababab.trace.jsonl", "abab"] {
            assert_eq!(find(&state, key).unwrap().id, id, "{key}");
        }
        assert_eq!(find(&state, "link.trace.jsonl").unwrap_err().status, 404);
        assert_eq!(find(&state, "cd").unwrap_err().status, 404);
        for bad in ["../segredo.trace.jsonl", "..", "a/b", ""] {
            assert_eq!(find(&state, bad).unwrap_err().status, 400, "{bad}");
        }
        assert!(open_no_follow(&state.traces().join("link.trace.jsonl")).is_err());
    }
}
