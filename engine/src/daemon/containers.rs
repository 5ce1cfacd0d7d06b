//! `/containers/…`: list, inspect, start, stop, restart, kill, wait, logs,
//! attach and remove — each the same library call the `casulo` verb makes,
//! on the same records (`casulo ps` and `docker ps` agree).

use std::time::{Duration, SystemTime};

use hyper::body::Bytes;
use hyper::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::http::{ApiError, Query, Reply, MULTIPLEXED_STREAM, RAW_STREAM};
use super::images::unix_seconds;
use super::{stream, Ctx};
use crate::container::logs::{self, Follower};
use crate::container::{self, kill::Stopped, record, ContainerRecord, ContainerState};
use crate::kernel::{Kernel, LinuxSyscalls};

fn find(ctx: &Ctx, key: &str) -> Result<ContainerRecord, ApiError> {
    container::find(&ctx.state, key).map_err(|e| match e {
        container::RunError::NoSuchContainer(_) => ApiError::new(
            StatusCode::NOT_FOUND,
            format!("contêiner não encontrado: {key:?} (veja `docker ps -a` ou `casulo ps -a`)"),
        ),
        e => e.into(),
    })
}

/// `GET /containers/json`: `all`, `limit` and the filters `id`, `name`
/// and `status`.
pub fn list(ctx: &Ctx, query: &Query) -> Result<Reply, ApiError> {
    let filters = Filters::parse(query.get("filters"))?;
    let mut records: Vec<ContainerRecord> = container::list(&ctx.state)
        .into_iter()
        .filter(|r| query.flag("all") || r.is_up() || filters.has_status())
        .filter(|r| filters.accept(r))
        .collect();
    // docker lists the newest first.
    records.reverse();
    if let Some(n) = query.get("limit").and_then(|n| n.parse::<usize>().ok()) {
        if n > 0 {
            records.truncate(n);
        }
    }
    let out: Vec<Value> = records.iter().map(summary).collect();
    Ok(Reply::Json(StatusCode::OK, Value::Array(out)))
}

fn summary(r: &ContainerRecord) -> Value {
    let ports: Vec<Value> = r
        .ports
        .iter()
        .map(|p| {
            json!({
                "IP": p.host_ip.to_string(),
                "PrivatePort": p.container_port,
                "PublicPort": p.host_port,
                "Type": p.protocol.to_string(),
            })
        })
        .collect();
    json!({
        "Id": r.id,
        "Names": [format!("/{}", r.name)],
        "Image": r.image,
        "ImageID": r.image_id,
        "Command": r.process.args.join(" "),
        "Created": unix_seconds(&r.created),
        "Ports": ports,
        "Labels": { "casulo.trace": r.trace },
        "State": r.docker_state(),
        "Status": r.docker_status(),
        "HostConfig": { "NetworkMode": r.network },
        "NetworkSettings": { "Networks": {} },
        "Mounts": [],
    })
}

/// docker's `filters` (`{"name":["web"],"status":["exited"]}`): the ones
/// casulo knows; any other is refused by name, never ignored.
struct Filters(Vec<(String, Vec<String>)>);

impl Filters {
    fn parse(text: Option<&str>) -> Result<Filters, ApiError> {
        let all = super::http::filters(text)?;
        if let Some((key, _)) = all
            .iter()
            .find(|(k, _)| !matches!(k.as_str(), "id" | "name" | "status"))
        {
            return Err(ApiError::bad_request(format!(
                "o filtro {key:?} ainda não é suportado pelo casulo daemon \
                 (ele entende id, name e status)"
            )));
        }
        Ok(Filters(all))
    }

    fn has_status(&self) -> bool {
        self.0.iter().any(|(k, _)| k == "status")
    }

    fn accept(&self, r: &ContainerRecord) -> bool {
        self.0.iter().all(|(key, values)| {
            values.iter().any(|v| match key.as_str() {
                "id" => r.id.starts_with(v.as_str()),
                "name" => r.name.contains(v.trim_start_matches('/')),
                _ => r.docker_state() == v,
            })
        })
    }
}

/// `GET /containers/{id}/json`: the library's docker-like record, with the
/// fields docker's client reads that casulo keeps elsewhere.
pub fn inspect(ctx: &Ctx, key: &str) -> Result<Reply, ApiError> {
    let r = find(ctx, key)?;
    let mut v = container::inspect::inspect(&ctx.state, &r);
    v["Name"] = json!(format!("/{}", r.name));
    v["Driver"] = json!("overlay");
    v["Platform"] = json!("linux");
    v["State"]["OOMKilled"] = json!(false);
    v["State"]["Dead"] = json!(false);
    v["State"]["Error"] = json!("");
    let config = &mut v["Config"];
    config["Tty"] = json!(r.host.tty);
    config["OpenStdin"] = json!(r.host.interactive);
    config["AttachStdin"] = json!(false);
    config["AttachStdout"] = json!(true);
    config["AttachStderr"] = json!(true);
    config["Labels"] = json!({ "casulo.trace": r.trace });
    Ok(Reply::Json(StatusCode::OK, v))
}

/// `POST /containers/{id}/start`: its supervisor, as `casulo start` (and
/// `run -d`): it lives on without the daemon. 304 if it already runs.
pub fn start(ctx: &Ctx, key: &str) -> Result<Reply, ApiError> {
    let r = find(ctx, key)?;
    if r.is_up() {
        return Ok(Reply::Status(StatusCode::NOT_MODIFIED));
    }
    if let Err(e) = container::supervise::start(&ctx.state, &r) {
        // An attach waiting for it would wait forever: told to stop.
        ctx.start_failed(&r.id);
        if r.host.auto_remove {
            // docker's rule: an AutoRemove container that cannot start goes
            // (its `run --rm` waits for that).
            container::kill::wait_supervisor_gone(&ctx.state, &r);
            container::rm::remove_dirs(&ctx.state, &r.id, &r.name);
            container::rm::remove_anonymous_volumes(&ctx.state, &r);
        }
        return Err(e.into());
    }
    ctx.adopt(&r.id);
    Ok(Reply::Status(StatusCode::NO_CONTENT))
}

fn seconds(query: &Query) -> Result<Duration, ApiError> {
    match query.get("t") {
        None | Some("") => Ok(Duration::from_secs(10)),
        Some(t) => t
            .parse::<i64>()
            .map(|t| Duration::from_secs(t.max(0) as u64))
            .map_err(|_| ApiError::bad_request(format!("t={t:?} não é um número de segundos"))),
    }
}

/// `POST /containers/{id}/stop?t=10`: the stop signal, SIGKILL after `t`.
pub fn stop(ctx: &Ctx, key: &str, query: &Query) -> Result<Reply, ApiError> {
    let r = find(ctx, key)?;
    let timeout = seconds(query)?;
    let trace = record::trace_of(&ctx.state, &r);
    let k = Kernel::new(&LinuxSyscalls, &trace);
    Ok(match container::kill::stop(&k, &ctx.state, &r, timeout)? {
        Stopped::AlreadyStopped => Reply::Status(StatusCode::NOT_MODIFIED),
        _ => Reply::Status(StatusCode::NO_CONTENT),
    })
}

pub fn restart(ctx: &Ctx, key: &str, query: &Query) -> Result<Reply, ApiError> {
    stop(ctx, key, query)?;
    let r = find(ctx, key)?;
    container::supervise::start(&ctx.state, &r)?;
    ctx.adopt(&r.id);
    Ok(Reply::Status(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/kill?signal=SIGKILL`.
pub fn kill(ctx: &Ctx, key: &str, query: &Query) -> Result<Reply, ApiError> {
    let r = find(ctx, key)?;
    let name = query
        .get("signal")
        .filter(|s| !s.is_empty())
        .unwrap_or("KILL");
    let signal = container::kill::parse_signal(name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "sinal inválido: {name:?} (use um nome como KILL, TERM, INT, HUP, ou um número como 9)"
        ))
    })?;
    let trace = record::trace_of(&ctx.state, &r);
    let k = Kernel::new(&LinuxSyscalls, &trace);
    container::kill::kill(&k, &ctx.state, &r, signal)?;
    Ok(Reply::Status(StatusCode::NO_CONTENT))
}

/// `DELETE /containers/{id}?force=1&v=1`.
pub fn remove(ctx: &Ctx, key: &str, query: &Query) -> Result<Reply, ApiError> {
    let r = find(ctx, key)?;
    let volumes = query.flag("v");
    if query.flag("force") {
        let trace = record::trace_of(&ctx.state, &r);
        let k = Kernel::new(&LinuxSyscalls, &trace);
        container::rm::force_remove(&k, &ctx.state, &r.id, volumes)?;
    } else {
        container::rm::remove(&ctx.state, &r.id, volumes).map_err(|e| match e {
            container::RunError::StillRunning(name) => ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "o contêiner {name:?} ainda está rodando: pare-o antes de remover \
                     (docker stop {name}) ou force (docker rm -f {name})"
                ),
            ),
            e => e.into(),
        })?;
    }
    Ok(Reply::Status(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/wait?condition=…`: the headers at once (docker's
/// `run` asks before it starts the container), `{"StatusCode": N}` when
/// the condition holds: `not-running` (the default), `next-exit`, `removed`.
pub fn wait(ctx: &std::sync::Arc<Ctx>, key: &str, query: &Query) -> Result<Reply, ApiError> {
    let r = find(ctx, key)?;
    let condition = match query.get("condition").unwrap_or("") {
        "" | "not-running" => Condition::NotRunning,
        "next-exit" => Condition::NextExit,
        "removed" => Condition::Removed,
        other => {
            return Err(ApiError::bad_request(format!(
                "condição de espera {other:?} desconhecida: use not-running, next-exit ou removed"
            )))
        }
    };
    let ctx = ctx.clone();
    Ok(Reply::Stream {
        length: None,
        content_type: "application/json",
        producer: Box::new(move |tx| {
            if let Some(code) = wait_for(&ctx, &r, condition, &tx) {
                let body = json!({ "StatusCode": code, "Error": null });
                let _ = tx.blocking_send(Bytes::from(format!("{body}\n")));
            }
        }),
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Condition {
    NotRunning,
    NextExit,
    Removed,
}

/// Polls the record until `condition` holds; its exit code (`None`: the
/// client left first). A `--rm` container's code goes with its record: it
/// is read back from its trace, which stays.
fn wait_for(
    ctx: &Ctx,
    first: &ContainerRecord,
    condition: Condition,
    tx: &mpsc::Sender<Bytes>,
) -> Option<i32> {
    let dir = ctx.state.container(&first.id);
    let mut pid = first.pid;
    let mut code = first.exit_code;
    loop {
        match record::load(&dir) {
            Ok(now) => {
                pid = now.pid.or(pid);
                code = now.exit_code.or(code);
                let ended = !now.is_up()
                    && now.state != ContainerState::Created
                    && now.finished_at != first.finished_at;
                let done = match condition {
                    Condition::NotRunning => !now.is_up(),
                    Condition::NextExit => ended,
                    Condition::Removed => false,
                };
                if done {
                    return Some(now.exit_code.unwrap_or(0));
                }
            }
            Err(_) if !dir.exists() => {
                return Some(
                    record::exit_in_trace(&first.trace, pid)
                        .or(code)
                        .unwrap_or(0),
                );
            }
            Err(_) => {}
        }
        // A next-exit that will not come (its start failed, and it stays).
        if tx.is_closed() || condition == Condition::NextExit && ctx.failed_to_start(&first.id) {
            return None;
        }
        std::thread::sleep(logs::FOLLOW_EVERY);
    }
}

/// Which of stdout and stderr the client asked for.
fn wants(query: &Query, entry: &logs::Entry) -> bool {
    if entry.is_stderr() {
        query.flag("stderr")
    } else {
        query.flag("stdout")
    }
}

/// `GET /containers/{id}/logs`: `stdout`, `stderr`, `follow`, `tail`,
/// `timestamps`, `since`, `until` — read from the same `container.log` as
/// `casulo logs`.
pub fn logs(ctx: &Ctx, key: &str, query: &Query) -> Result<Reply, ApiError> {
    let r = find(ctx, key)?;
    if !query.flag("stdout") && !query.flag("stderr") {
        return Err(ApiError::bad_request(
            "diga qual saída quer: stdout=1, stderr=1 ou as duas",
        ));
    }
    // `since`/`until` in docker's time formats (its CLI sends unix seconds);
    // 0 or nothing: no bound.
    let bound = |name: &str| -> Result<Option<SystemTime>, ApiError> {
        match query.get(name).filter(|v| !v.is_empty() && *v != "0") {
            None => Ok(None),
            Some(v) => super::since::parse(v, SystemTime::now())
                .map(Some)
                .map_err(|e| ApiError::bad_request(format!("o parâmetro {name} de logs: {e}"))),
        }
    };
    let (since, until) = (bound("since")?, bound("until")?);
    let in_window = move |e: &logs::Entry| {
        let t = humantime::parse_rfc3339(&e.time).ok();
        since.is_none_or(|s| t.is_some_and(|t| t >= s))
            && until.is_none_or(|u| t.is_some_and(|t| t <= u))
    };
    let tail = match query.get("tail").unwrap_or("all") {
        "all" | "" => None,
        n => Some(n.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!("tail={n:?} não é um número de linhas (ou all)"))
        })?),
    };
    let mut follower = Follower::open(&ctx.state.container(&r.id), 0, false)?;
    let all: Vec<logs::Entry> = follower
        .read()?
        .into_iter()
        .filter(|e| wants(query, e) && in_window(e))
        .collect();
    let skip = tail.map_or(0, |n| all.len().saturating_sub(n));
    let (tty, timestamps, follow) = (r.host.tty, query.flag("timestamps"), query.flag("follow"));
    let first = stream::entries(&all[skip..], tty, timestamps);
    let (out, err) = (query.flag("stdout"), query.flag("stderr"));
    let state = ctx.state.clone();
    Ok(Reply::Stream {
        length: None,
        content_type: if tty { RAW_STREAM } else { MULTIPLEXED_STREAM },
        producer: Box::new(move |tx| {
            if !first.is_empty() && tx.blocking_send(first).is_err() {
                return;
            }
            // Following ends at `until`, as docker's does.
            if follow && until.is_none_or(|u| SystemTime::now() < u) {
                let _ = logs::follow(&state, &r.id, &mut follower, |entries| {
                    let chosen: Vec<logs::Entry> = entries
                        .iter()
                        .filter(|e| (if e.is_stderr() { err } else { out }) && in_window(e))
                        .cloned()
                        .collect();
                    send(&tx, stream::entries(&chosen, tty, timestamps))
                        && until.is_none_or(|u| SystemTime::now() < u)
                });
            }
        }),
    })
}

/// Sends what there is; false once the client is gone.
fn send(tx: &mpsc::Sender<Bytes>, bytes: Bytes) -> bool {
    if bytes.is_empty() {
        return !tx.is_closed();
    }
    tx.blocking_send(bytes).is_ok()
}

/// `POST /containers/{id}/attach`: the container's output from now on (with
/// `logs=1`, from its beginning) until it ends — what `docker run` without
/// `-d` shows. casulo's supervisor keeps a container's output in its log,
/// so the attach follows the log (held open from before the start: a short
/// `--rm` container is not missed). With `stdin=1` the client's bytes go
/// to the container's input ([`super::attach`]) until the detach keys.
pub fn attach(ctx: &std::sync::Arc<Ctx>, key: &str, query: &Query) -> Result<Reply, ApiError> {
    let r = find(ctx, key)?;
    let input = query.flag("stdin");
    if input && !r.host.interactive {
        // docker ignores it; the client would type into nothing.
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "o contêiner {:?} foi criado sem a entrada aberta (-i): não há onde \
                 escrever o que você digita",
                r.name
            ),
        ));
    }
    let keys = super::attach::detach_keys(query)?;
    let dir = ctx.state.container(&r.id);
    let from_start = query.flag("logs");
    let mut follower = Follower::open(&dir, 0, true)?;
    if !from_start {
        // Skip what is there: only what comes from now on.
        follower.read()?;
    }
    let tty = r.host.tty;
    let (out, err) = (query.flag("stdout"), query.flag("stderr"));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A terminal's output comes from its hub, whose socket the keys share.
    let (link_tx, link_rx) = match tty && input {
        true => {
            let (a, b) = std::sync::mpsc::channel();
            (Some(a), Some(b))
        }
        false => (None, None),
    };
    let input = input.then(|| {
        super::attach::consumer(
            ctx.clone(),
            r.clone(),
            tty.then_some(keys),
            done.clone(),
            link_rx,
        )
    });
    let ctx = ctx.clone();
    Ok(Reply::Hijack {
        content_type: if tty { RAW_STREAM } else { MULTIPLEXED_STREAM },
        producer: Box::new(move |tx| {
            if tty {
                if from_start {
                    let _ = send(
                        &tx,
                        stream::entries(&follower.read().unwrap_or_default(), true, false),
                    );
                }
                return super::attach::terminal(&ctx, &r, &mut follower, &done, link_tx, &tx);
            }
            let _ = logs::follow(&ctx.state, &r.id, &mut follower, |entries| {
                if ctx.failed_to_start(&r.id) || done.load(std::sync::atomic::Ordering::SeqCst) {
                    return false;
                }
                let chosen: Vec<logs::Entry> = entries
                    .iter()
                    .filter(|e| if e.is_stderr() { err } else { out })
                    .cloned()
                    .collect();
                send(&tx, stream::entries(&chosen, tty, false))
            });
        }),
        input,
    })
}

/// `POST /containers/{id}/pause` and `unpause`: the cgroup freezer, as
/// `casulo pause`.
pub fn pause(ctx: &Ctx, key: &str, freeze: bool) -> Result<Reply, ApiError> {
    let r = find(ctx, key)?;
    if freeze {
        container::pause::pause(&ctx.state, &r)?;
    } else {
        container::pause::unpause(&ctx.state, &r)?;
    }
    Ok(Reply::Status(StatusCode::NO_CONTENT))
}

/// `POST /containers/{id}/rename?name=NEW`.
pub fn rename(ctx: &Ctx, key: &str, query: &Query) -> Result<Reply, ApiError> {
    let new = query
        .get("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("falta o nome novo (name=…)"))?;
    find(ctx, key)?;
    container::rename::rename(&ctx.state, key, new)?;
    Ok(Reply::Status(StatusCode::NO_CONTENT))
}

/// `GET /containers/{id}/top`: the processes of its cgroup, docker's table
/// (`Titles` and `Processes`), as `casulo top` lists them.
pub fn top(ctx: &Ctx, key: &str, query: &Query) -> Result<Reply, ApiError> {
    if query
        .get("ps_args")
        .is_some_and(|a| !a.is_empty() && a != "-ef")
    {
        return Err(ApiError::not_implemented("top com opções do ps (ps_args)"));
    }
    let r = find(ctx, key)?;
    if !matches!(r.state, ContainerState::Running | ContainerState::Paused) {
        return Err(container::RunError::NotRunning(r.name).into());
    }
    let trace = crate::recorder::Recorder::in_memory();
    let k = Kernel::new(&LinuxSyscalls, &trace);
    let rows: Vec<Value> = container::top::top(&k, &r)?
        .into_iter()
        .map(|p| {
            let user = nix::unistd::User::from_uid(p.uid.into())
                .ok()
                .flatten()
                .map(|u| u.name)
                .unwrap_or_else(|| p.uid.to_string());
            let inside = p.container_pid.map_or("?".to_string(), |n| n.to_string());
            json!([user, p.pid.to_string(), inside, p.command])
        })
        .collect();
    Ok(Reply::Json(
        StatusCode::OK,
        json!({ "Titles": ["USUÁRIO", "PID", "PID NO CONTÊINER", "COMANDO"], "Processes": rows }),
    ))
}
