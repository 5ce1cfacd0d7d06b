//! The input side of docker's attach (`docker run -i`, `-it`, `docker
//! attach` with a keyboard) and `POST /containers/{id}/resize`.
//!
//! No second path to the container: the daemon connects to the same
//! `attach.sock` of the container's supervisor as `casulo attach` does, and
//! speaks its messages ([`crate::terminal::attach`]) — the client's bytes
//! become `KEYS` (for a `-t` container the terminal hub writes them to the
//! pty's master; for `-i` alone the feeder writes them to the stdin pipe),
//! a resize becomes a `RESIZE` (`TIOCSWINSZ` on the master, by the hub).
//! The output still comes from the log, followed as for any attach.
//!
//! docker's client attaches *before* it starts the container, so the
//! socket may not exist yet: the daemon waits for it (the client's bytes
//! wait in the connection meanwhile). With a terminal, docker's detach
//! keys (Ctrl-P Ctrl-Q, or the `detachKeys` query) are watched on their
//! way in, as `casulo attach` does: the attach ends, the container goes on.
//! Without one they are data like any other (as dockerd: `docker run -i`
//! may be fed a binary file with those two bytes in it). When the client's
//! input ends: with a terminal that means it left (the attach ends); without
//! one its socket to the feeder closes, which closes the container's stdin
//! if it was made with docker's `StdinOnce` (`docker run -i`).

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::StatusCode;
use nix::sys::socket::{self, MsgFlags, Shutdown};

use super::http::{ApiError, Consumer, Query, Reply};
use super::Ctx;
use crate::container::{self, record, ContainerRecord};
use crate::terminal::attach::{self as term, KEYS, MESSAGE};
use crate::terminal::detach::DetachKeys;
use crate::terminal::WindowSize;

/// Who attaches, in the container's trace (`docker attach`, `docker run
/// -it`, `docker start -ai` all come through the API's attach).
const CLIENT: &str = "docker attach";

/// How often the daemon looks for the socket of a container not started yet.
const LOOK_EVERY: Duration = Duration::from_millis(20);

/// The detach keys of the `detachKeys` query (docker's format), or docker's default.
pub fn detach_keys(query: &Query) -> Result<DetachKeys, ApiError> {
    match query.get("detachKeys").filter(|k| !k.is_empty()) {
        None => Ok(DetachKeys::default()),
        Some(text) => DetachKeys::parse(text).map_err(ApiError::bad_request),
    }
}

/// What takes the client's bytes for the container `r`; `done` is set when
/// the attach must end (the detach keys, or a terminal's client that
/// left). For a terminal the socket comes from the [`terminal`] producer
/// (`link`), which reads the output from it; without one it is connected here.
pub fn consumer(
    ctx: Arc<Ctx>,
    r: ContainerRecord,
    mut keys: Option<DetachKeys>,
    done: Arc<AtomicBool>,
    link: Option<std::sync::mpsc::Receiver<OwnedFd>>,
) -> Consumer {
    Box::new(move |mut rx| {
        let tty = r.host.tty;
        let socket = match link {
            Some(link) => link.recv().ok(),
            // Not `rx.is_closed()`: a pipe fully sent before the start has
            // closed it, and what it sent waits in it.
            None => connect_when_up(&ctx, &r, &done, &|| false),
        };
        let Some(socket) = socket else {
            return;
        };
        let mut input_ended = false;
        loop {
            let Some(bytes) = rx.blocking_recv() else {
                input_ended = true;
                break;
            };
            let (send, detach) = match keys.as_mut() {
                Some(keys) => keys.feed(&bytes),
                None => (bytes.to_vec(), false),
            };
            if !send_keys(&socket, &send) {
                break;
            }
            if detach {
                term::say_detach(&socket);
                break;
            }
        }
        // Ended by the keys, or the client's input ended: with a terminal
        // the client is gone; without one the output goes on (the command
        // may still be reading what it got).
        if tty || !input_ended {
            done.store(true, Ordering::SeqCst);
        }
        // Both ways: the producer's read wakes, the supervisor sees the
        // attacher leave (and the feeder closes stdin for `StdinOnce`).
        let _ = socket::shutdown(socket.as_raw_fd(), Shutdown::Both);
    })
}

/// A terminal's output for the client: from the hub's socket once the
/// container runs (the hub kept what came before, see
/// [`crate::container::terminal_hub`]), until it ends or the attach does; the
/// socket is lent to the consumer (`link`). A container that ended before
/// its socket was reached: what its log holds (`follower`, opened before
/// the start).
pub fn terminal(
    ctx: &Ctx,
    r: &ContainerRecord,
    follower: &mut crate::container::logs::Follower,
    done: &AtomicBool,
    link: Option<std::sync::mpsc::Sender<OwnedFd>>,
    tx: &tokio::sync::mpsc::Sender<hyper::body::Bytes>,
) {
    use crate::terminal::attach::{EXIT, OUTPUT};
    let Some(socket) = connect_when_up(ctx, r, done, &|| tx.is_closed()) else {
        if let Ok(entries) = follower.read() {
            let _ = tx.blocking_send(super::stream::entries(&entries, true, false));
        }
        return;
    };
    // The hub kept the terminal's first output for this attach.
    let _ = socket::send(
        socket.as_raw_fd(),
        &[crate::terminal::attach::HELLO],
        MsgFlags::MSG_NOSIGNAL,
    );
    term::introduce(&socket, CLIENT);
    if let (Some(link), Ok(lent)) = (link, socket.try_clone()) {
        let _ = link.send(lent);
    }
    let mut buf = vec![0u8; MESSAGE];
    let mut heard = false;
    loop {
        let n = match socket::recv(socket.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => 0,
        };
        match buf[..n] {
            [OUTPUT, ..] => {
                heard = true;
                let bytes = hyper::body::Bytes::copy_from_slice(&buf[1..n]);
                if tx.blocking_send(bytes).is_err() {
                    break;
                }
            }
            [EXIT, ..] => break,
            [] => {
                // Connected as the hub was closing, never accepted: what
                // the container printed is in its log.
                if !heard && !done.load(Ordering::SeqCst) {
                    if let Ok(entries) = follower.read() {
                        let _ = tx.blocking_send(super::stream::entries(&entries, true, false));
                    }
                }
                break;
            }
            _ => {}
        }
        if done.load(Ordering::SeqCst) {
            break;
        }
    }
    let _ = socket::shutdown(socket.as_raw_fd(), Shutdown::Both);
}

/// The supervisor's socket, once the container runs; `None` if it will not
/// (its start failed, it ran and ended or was removed first, the attach
/// ended or its client left: `gone`). `r` is the record as the attach
/// found it: a container not running then (created, or stopped: `docker
/// start -ai`) is waited for until it starts.
fn connect_when_up(
    ctx: &Ctx,
    r: &ContainerRecord,
    done: &AtomicBool,
    gone: &dyn Fn() -> bool,
) -> Option<OwnedFd> {
    let dir = ctx.state.container(&r.id);
    let mut seen_up = false;
    loop {
        if done.load(Ordering::SeqCst) || gone() || ctx.failed_to_start(&r.id) {
            return None;
        }
        if let Ok(socket) = term::connect(&dir) {
            return Some(socket);
        }
        match record::load(&dir) {
            Ok(now) if now.is_up() => seen_up = true,
            // Not started yet: it has not ended since the attach came.
            Ok(now) if !seen_up && now.finished_at == r.finished_at => {}
            // Ended before the socket was reached, or removed.
            _ => return None,
        }
        std::thread::sleep(LOOK_EVERY);
    }
}

/// The keys to the supervisor, in messages it takes whole; false once it is gone.
fn send_keys(socket: &OwnedFd, keys: &[u8]) -> bool {
    keys.chunks(MESSAGE - 1).all(|chunk| {
        let mut message = Vec::with_capacity(1 + chunk.len());
        message.push(KEYS);
        message.extend_from_slice(chunk);
        socket::send(socket.as_raw_fd(), &message, MsgFlags::MSG_NOSIGNAL).is_ok()
    })
}

/// `POST /containers/{id}/resize?h=ROWS&w=COLS`: the terminal of a `-t`
/// container takes the client's window size (its hub does `TIOCSWINSZ`,
/// a `process.tty` `resize` in the trace). Without a terminal there is
/// nothing to resize: 200, as docker answers.
pub fn resize(ctx: &Ctx, key: &str, query: &Query) -> Result<Reply, ApiError> {
    let size = window(query)?;
    let r = container::find(&ctx.state, key)?;
    if !r.is_up() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "o contêiner {:?} não está rodando: não há terminal para redimensionar",
                r.name
            ),
        ));
    }
    if r.host.tty {
        let socket = term::connect(&ctx.state.container(&r.id)).map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, super::http::chain(&e))
        })?;
        socket::send(
            socket.as_raw_fd(),
            &term::resize_message(size),
            MsgFlags::MSG_NOSIGNAL,
        )
        .map_err(|e| ApiError::from(std::io::Error::from(e)))?;
    }
    Ok(Reply::Status(StatusCode::OK))
}

/// `h` and `w` of a resize (rows and columns).
pub fn window(query: &Query) -> Result<WindowSize, ApiError> {
    let number = |key: &str, what: &str| -> Result<u16, ApiError> {
        let text = query.get(key).unwrap_or("");
        text.parse::<u16>().map_err(|_| {
            ApiError::bad_request(format!(
                "{key}={text:?} não é um número de {what} (0 a 65535)"
            ))
        })
    };
    Ok(WindowSize {
        rows: number("h", "linhas")?,
        cols: number("w", "colunas")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_resize_reads_rows_and_columns() {
        let q = Query::parse(Some("h=40&w=120"));
        assert_eq!(
            window(&q).unwrap(),
            WindowSize {
                rows: 40,
                cols: 120
            }
        );
        let e = window(&Query::parse(Some("h=x&w=1"))).unwrap_err();
        assert!(e.message.contains("h=\"x\""), "{}", e.message);
        assert!(window(&Query::parse(Some("h=1"))).is_err());
        assert!(detach_keys(&Query::parse(Some("detachKeys=ctrl-x"))).is_ok());
        assert!(detach_keys(&Query::parse(Some("detachKeys=ctrl-1"))).is_err());
    }
}
