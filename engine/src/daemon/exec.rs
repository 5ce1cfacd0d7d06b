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
//!
//! `-i` gives that child a stdin pipe the client's bytes are written to
//! (closed when the client's input ends); `-t` gives it a pseudo-terminal
//! of the daemon's, whose slave is its stdin, stdout, stderr and
//! controlling terminal: `casulo exec -t` then does what it does under a
//! user's terminal — raw mode, its own pty inside the container, the
//! window followed on `SIGWINCH` (which the kernel sends it when
//! `/exec/{id}/resize` sets the size of the daemon's pty). With `Detach`
//! (`docker exec -d`, `-dt`) it is `casulo exec -d [-t]`: the command's
//! terminal, if any, is opened in the container and read by the exec's
//! waiter, its output dropped as docker drops it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use hyper::body::Bytes;
use hyper::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::http::{ApiError, Consumer, Query, Reply, MULTIPLEXED_STREAM, RAW_STREAM};
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
    /// `Tty`: a pty of the daemon's between the client and `casulo exec -t`.
    tty: bool,
    /// `AttachStdin`: the client's bytes go to its stdin.
    stdin: bool,
    /// The window the pty opens with (`ConsoleSize`), rows and cols.
    size: Option<(u16, u16)>,
    /// The pty's master while it runs (for `resize`).
    master: Option<Arc<OwnedFd>>,
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
    let (tty, stdin) = (flag("Tty"), flag("AttachStdin"));
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
    if stdin {
        args.push("-i".into());
    }
    if tty {
        args.push("-t".into());
    }
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
                tty,
                stdin,
                size: console_size(&config),
                master: None,
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
    let mut command = Command::new("/proc/self/exe");
    command.arg("--root").arg(ctx.state.root()).args(&args);
    let tty = exec.tty && !detach;
    let master = if tty {
        let size = console_size(&config).or(exec.size);
        Some(Arc::new(give_terminal(&mut command, size)?))
    } else {
        let stdin = if exec.stdin && !detach {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        command
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        None
    };
    let mut child = command.spawn().map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("não consegui iniciar o casulo exec: {e}"),
        )
    })?;
    // The slave stays only in the child (the daemon's copy went with
    // `command`): the master reads EOF when the child is gone.
    drop(command);
    let pid = child.id() as i32;
    ctx.execs.update(id, |e| {
        e.running = true;
        e.pid = pid;
        e.master = master.clone();
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
    let input = input(master.as_ref(), child.stdin.take(), exec.stdin, pid);
    let ctx = ctx.clone();
    let id = id.to_string();
    Ok(Reply::Hijack {
        content_type: if tty { RAW_STREAM } else { MULTIPLEXED_STREAM },
        producer: Box::new(move |tx| stream_output(&ctx, &id, child, master, &tx)),
        input,
    })
}

/// What the client types: into the terminal's master (`-it`), or the
/// command's stdin pipe (`-i`); nothing without `-i`.
fn input(
    master: Option<&Arc<OwnedFd>>,
    stdin: Option<std::process::ChildStdin>,
    wants_stdin: bool,
    pid: i32,
) -> Option<Consumer> {
    match (master, stdin) {
        (Some(master), _) if wants_stdin => {
            let master = master.clone();
            Some(Box::new(move |mut rx| {
                while let Some(bytes) = rx.blocking_recv() {
                    if super::super::terminal::relay::write_all(master.as_fd(), &bytes).is_err() {
                        return;
                    }
                }
                // The client left: its terminal hangs up (as `casulo exec -t`'s
                // own would), and the command gets a SIGHUP.
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGHUP,
                );
            }))
        }
        (None, Some(mut stdin)) => Some(Box::new(move |mut rx| {
            while let Some(bytes) = rx.blocking_recv() {
                if stdin.write_all(&bytes).is_err() {
                    return;
                }
            }
            // Dropped: the command reads EOF.
        })),
        _ => None,
    }
}

/// The command's output to the client until it ends (the terminal's, or
/// stdout and stderr in docker's frames); then its exit code, for the
/// client's `GET /exec/{id}/json`.
fn stream_output(
    ctx: &Ctx,
    id: &str,
    mut child: std::process::Child,
    master: Option<Arc<OwnedFd>>,
    tx: &mpsc::Sender<Bytes>,
) {
    if let Some(master) = &master {
        copy_terminal(master, tx);
    } else {
        let stderr = child.stderr.take().map(|err| {
            let tx = tx.clone();
            std::thread::spawn(move || relay(err, 2, &tx))
        });
        if let Some(out) = child.stdout.take() {
            relay(out, 1, tx);
        }
        if let Some(t) = stderr {
            let _ = t.join();
        }
    }
    let code = child
        .wait()
        .map(|s| {
            use std::os::unix::process::ExitStatusExt;
            s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
        })
        .unwrap_or(125);
    // Written before the stream closes: the client asks for it next.
    ctx.execs.update(id, |e| {
        e.running = false;
        e.exit_code = Some(code);
        e.master = None;
    });
}

/// `ConsoleSize` (`[rows, cols]`) of an exec's create or start.
fn console_size(config: &Value) -> Option<(u16, u16)> {
    let size = config.get("ConsoleSize")?.as_array()?;
    let n = |i: usize| size.get(i)?.as_u64().and_then(|v| u16::try_from(v).ok());
    let (rows, cols) = (n(0)?, n(1)?);
    (rows > 0 && cols > 0).then_some((rows, cols))
}

/// A pty for the child: its slave becomes the child's stdin, stdout,
/// stderr and controlling terminal (a session of its own); the master is
/// returned.
fn give_terminal(command: &mut Command, size: Option<(u16, u16)>) -> Result<OwnedFd, ApiError> {
    use std::os::unix::process::CommandExt;
    let io = |e: nix::errno::Errno| ApiError::from(std::io::Error::from(e));
    // Both ends close-on-exec from their birth: a supervisor the daemon
    // spawns meanwhile on another thread must not keep them open.
    use nix::fcntl::OFlag;
    let master =
        nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).map_err(io)?;
    nix::pty::grantpt(&master).map_err(io)?;
    nix::pty::unlockpt(&master).map_err(io)?;
    let path = nix::pty::ptsname_r(&master).map_err(io)?;
    let slave: OwnedFd = nix::fcntl::open(
        path.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(io)?;
    let master = OwnedFd::from(master);
    // Raw: the bytes go through as the container's own terminal made them
    // (cooked, a `\n` it already turned into `\r\n` would get another
    // `\r` here; `casulo exec -it` would set it raw anyway, `-t` alone not).
    use nix::sys::termios;
    let mut settings = termios::tcgetattr(&slave).map_err(io)?;
    termios::cfmakeraw(&mut settings);
    termios::tcsetattr(&slave, termios::SetArg::TCSANOW, &settings).map_err(io)?;
    if let Some((rows, cols)) = size {
        use crate::kernel::Syscalls;
        crate::kernel::LinuxSyscalls
            .set_window_size(master.as_fd(), rows, cols)
            .map_err(io)?;
    }
    let dup = |fd: &OwnedFd| -> Result<Stdio, ApiError> { Ok(Stdio::from(fd.try_clone()?)) };
    command
        .stdin(dup(&slave)?)
        .stdout(dup(&slave)?)
        .stderr(Stdio::from(slave));
    // SAFETY: setsid and ioctl are async-signal-safe; run in the child
    // between fork and exec, with fd 0 already the slave.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(master)
}

/// The pty's output, as it is, until the child and its terminal are gone
/// (EIO) or the client left.
fn copy_terminal(master: &OwnedFd, tx: &mpsc::Sender<Bytes>) {
    let mut buf = [0u8; 8192];
    loop {
        match nix::unistd::read(master.as_fd(), &mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                    return;
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// `POST /exec/{id}/resize?h=&w=`: the daemon's pty of a `-t` exec takes
/// the size; the kernel tells `casulo exec` (`SIGWINCH`), which resizes
/// the container's.
pub fn resize(ctx: &Ctx, id: &str, query: &Query) -> Result<Reply, ApiError> {
    let size = super::attach::window(query)?;
    let e = ctx.execs.get(id)?;
    if let Some(master) = e.master.filter(|_| e.running) {
        use crate::kernel::Syscalls;
        crate::kernel::LinuxSyscalls
            .set_window_size(master.as_fd(), size.rows, size.cols)
            .map_err(|e| ApiError::from(std::io::Error::from(e)))?;
    } else if !e.running {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("o exec {id} não está rodando: não há terminal para redimensionar"),
        ));
    }
    Ok(Reply::Status(StatusCode::OK))
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
                "tty": e.tty,
                "entrypoint": command.first(),
                "arguments": command.iter().skip(1).collect::<Vec<_>>(),
                "privileged": e.args.iter().any(|a| a == "--privileged"),
            },
            "OpenStdin": e.stdin,
            "OpenStderr": true,
            "OpenStdout": true,
            "CanRemove": false,
            "ContainerID": e.container,
            "DetachKeys": "",
            "Pid": e.pid,
        }),
    ))
}
