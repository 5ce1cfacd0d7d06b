//! `POST /containers/{id}/exec`, `POST /exec/{id}/start`, `GET
//! /exec/{id}/json`: docker's exec in three calls (create, start with the
//! output hijacked, inspect for the exit code).
//!
//! The process is started by `casulo exec` itself, a child of the daemon:
//! [`crate::container::exec`] joins the container's pid namespace with
//! `setns`, which changes the namespace of every *later child of the
//! calling process* — done inside the daemon, its next supervisors would be
//! born in that container. A process of its own keeps the daemon clean, and
//! it is the same code the CLI runs.

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use hyper::body::Bytes;
use hyper::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::http::{ApiError, Reply, MULTIPLEXED_STREAM};
use super::{stream, Ctx};
use crate::container::{self, ContainerState};

/// An exec created and maybe started.
#[derive(Debug, Clone)]
pub struct Exec {
    container: String,
    args: Vec<String>,
    running: bool,
    exit_code: Option<i32>,
    pid: i32,
}

/// The execs this daemon made, by id.
#[derive(Default)]
pub struct Execs(Mutex<HashMap<String, Exec>>);

impl Execs {
    fn get(&self, id: &str) -> Result<Exec, ApiError> {
        self.0
            .lock()
            .ok()
            .and_then(|m| m.get(id).cloned())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("exec não encontrado: {id:?} (ele some quando o daemon para)"),
                )
            })
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Exec)) {
        if let Some(e) = self.0.lock().ok().as_mut().and_then(|m| m.get_mut(id)) {
            f(e);
        }
    }
}

/// `POST /containers/{id}/exec`: checked and kept; nothing runs yet.
pub fn create(ctx: &Ctx, key: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let config: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("o corpo do exec não é JSON válido: {e}")))?;
    let record = container::find(&ctx.state, key)?;
    if !matches!(record.state, ContainerState::Running) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("o contêiner {:?} não está rodando", record.name),
        ));
    }
    let flag = |k: &str| config.get(k).and_then(Value::as_bool).unwrap_or(false);
    if flag("Tty") || flag("AttachStdin") {
        return Err(ApiError::not_implemented(
            "exec com terminal ou entrada (docker exec -i/-t); use casulo exec -it",
        ));
    }
    let strings = |k: &str| -> Vec<String> {
        config
            .get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let cmd = strings("Cmd");
    if cmd.is_empty() {
        return Err(ApiError::bad_request("falta o comando do exec (Cmd)"));
    }
    let mut args: Vec<String> = vec!["exec".into()];
    for e in strings("Env").into_iter().filter(|e| e.contains('=')) {
        args.extend(["-e".into(), e]);
    }
    for (key, flag_name) in [("WorkingDir", "-w"), ("User", "-u")] {
        if let Some(v) = config
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
        {
            args.extend([flag_name.to_string(), v.to_string()]);
        }
    }
    if flag("Privileged") {
        args.push("--privileged".into());
    }
    args.push(record.id.clone());
    args.extend(cmd);
    let id = container::new_id();
    if let Ok(mut m) = ctx.execs.0.lock() {
        m.insert(
            id.clone(),
            Exec {
                container: record.id,
                args,
                running: false,
                exit_code: None,
                pid: 0,
            },
        );
    }
    Ok(Reply::Json(StatusCode::CREATED, json!({ "Id": id })))
}

/// `POST /exec/{id}/start`: `casulo exec`, its stdout and stderr framed
/// into the hijacked connection; with `Detach`, `casulo exec -d`.
pub fn start(ctx: &Arc<Ctx>, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let exec = ctx.execs.get(id)?;
    if exec.running || exec.exit_code.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("o exec {id} já foi iniciado"),
        ));
    }
    let config: Value = serde_json::from_slice(if body.is_empty() { b"{}" } else { body })
        .map_err(|e| ApiError::bad_request(format!("o corpo do start não é JSON válido: {e}")))?;
    let detach = config
        .get("Detach")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut args = exec.args.clone();
    if detach {
        args.insert(1, "-d".into());
    }
    let mut child = Command::new("/proc/self/exe")
        .arg("--root")
        .arg(ctx.state.root())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("não consegui iniciar o casulo exec: {e}"),
            )
        })?;
    let pid = child.id() as i32;
    ctx.execs.update(id, |e| {
        e.running = true;
        e.pid = pid;
    });
    if detach {
        let out = child.wait_with_output()?;
        let code = out.status.code().unwrap_or(125);
        ctx.execs.update(id, |e| e.running = false);
        if code != 0 {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        return Ok(Reply::Status(StatusCode::OK));
    }
    let ctx = ctx.clone();
    let id = id.to_string();
    Ok(Reply::Hijack {
        content_type: MULTIPLEXED_STREAM,
        producer: Box::new(move |tx| {
            let stderr = child.stderr.take().map(|err| {
                let tx = tx.clone();
                std::thread::spawn(move || relay(err, 2, &tx))
            });
            if let Some(out) = child.stdout.take() {
                relay(out, 1, &tx);
            }
            if let Some(t) = stderr {
                let _ = t.join();
            }
            let code = child
                .wait()
                .map(|s| {
                    use std::os::unix::process::ExitStatusExt;
                    s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
                })
                .unwrap_or(125);
            // Written before the stream closes: the client asks for it next.
            ctx.execs.update(&id, |e| {
                e.running = false;
                e.exit_code = Some(code);
            });
        }),
    })
}

/// Copies one pipe into frames of `stream` until EOF (or the client left).
fn relay(mut from: impl Read, stream_no: u8, tx: &mpsc::Sender<Bytes>) {
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx
                    .blocking_send(Bytes::from(stream::frame(stream_no, &buf[..n])))
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

/// `GET /exec/{id}/json`: running or not, and how it ended.
pub fn inspect(ctx: &Ctx, id: &str) -> Result<Reply, ApiError> {
    let e = ctx.execs.get(id)?;
    let command: Vec<&String> = e
        .args
        .iter()
        .skip_while(|a| **a != e.container)
        .skip(1)
        .collect();
    Ok(Reply::Json(
        StatusCode::OK,
        json!({
            "ID": id,
            "Running": e.running,
            "ExitCode": e.exit_code,
            "ProcessConfig": {
                "tty": false,
                "entrypoint": command.first(),
                "arguments": command.iter().skip(1).collect::<Vec<_>>(),
                "privileged": e.args.iter().any(|a| a == "--privileged"),
            },
            "OpenStdin": false,
            "OpenStderr": true,
            "OpenStdout": true,
            "CanRemove": false,
            "ContainerID": e.container,
            "DetachKeys": "",
            "Pid": e.pid,
        }),
    ))
}
