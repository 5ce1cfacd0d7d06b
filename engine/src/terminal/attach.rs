//! `casulo attach`: the user's terminal connected to the terminal of a
//! `-dit` container, which its supervisor holds ([`super::hub`]).
//!
//! The two talk over a unix socket in the container's directory,
//! `containers/<id>/attach.sock` (mode `0600`: only root). `SEQPACKET`
//! keeps each message whole, and the first byte says what it is:
//!
//! | from     | message                         | meaning                                   |
//! |----------|---------------------------------|-------------------------------------------|
//! | attach   | `k` + bytes                     | keys typed (with `-i`, they reach the pty,|
//! |          |                                 | or the stdin pipe of a `-di` container)   |
//! | attach   | `w` + rows, cols (u16 LE each)  | the user's window changed size            |
//! | attach   | `h`                             | what the terminal printed before I came,  |
//! |          |                                 | please (kept only for an attach that      |
//! |          |                                 | `docker run` makes before the start)      |
//! | attach   | `i` + name (UTF-8)              | who I am (`casulo attach`, `docker        |
//! |          |                                 | attach`): a `terminal.attach` in the trace|
//! | attach   | `q`                             | I leave with the detach keys (then it     |
//! |          |                                 | closes; closing alone: it went away)      |
//! | hub      | `o` + bytes                     | what the container wrote on its terminal  |
//! | hub      | `x` + code (i32 LE)             | the container ended with this code        |
//!
//! The detach keys ([`super::detach`]) are watched here, on the user's
//! side: the hub never sees them, only the `q` the attach sends before it
//! closes its socket. A connection that never says `i` (a resize's) is not
//! an attacher for the trace.
//! While attached, the user's terminal is raw (every key, Ctrl-C
//! included, goes to the container's terminal, whose line discipline makes
//! it a `SIGINT` there) and is restored on every way out.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{self, MsgFlags};

use super::detach::DetachKeys;
use super::raw::RawMode;
use super::{caller_window, window_size, WindowSize};

/// The socket's name in the container's directory.
pub const SOCKET: &str = "attach.sock";

pub const KEYS: u8 = b'k';
pub const RESIZE: u8 = b'w';
pub const HELLO: u8 = b'h';
pub const IDENT: u8 = b'i';
pub const QUIT: u8 = b'q';
pub const OUTPUT: u8 = b'o';
pub const EXIT: u8 = b'x';

/// The largest message: a type byte and a chunk of the terminal.
pub const MESSAGE: usize = 1 + 16 * 1024;

/// A resize message.
pub fn resize_message(size: WindowSize) -> [u8; 5] {
    let (r, c) = (size.rows.to_le_bytes(), size.cols.to_le_bytes());
    [RESIZE, r[0], r[1], c[0], c[1]]
}

/// The size a resize message carries.
pub fn parse_resize(message: &[u8]) -> Option<WindowSize> {
    match message {
        [RESIZE, r0, r1, c0, c1] => Some(WindowSize {
            rows: u16::from_le_bytes([*r0, *r1]),
            cols: u16::from_le_bytes([*c0, *c1]),
        }),
        _ => None,
    }
}

/// How an attach ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The detach keys: the container goes on.
    Detached,
    /// The container ended with this code.
    Exited(i32),
    /// The supervisor closed the socket without saying how the container
    /// ended (it restarts it, or was killed).
    Lost,
    /// The user's terminal went away (hang-up), or casulo was told to go
    /// (`SIGTERM`, `SIGHUP`, …): the container goes on.
    Left,
}

/// Why `casulo attach` could not connect.
#[derive(Debug, thiserror::Error)]
#[error("não consegui ligar ao terminal do contêiner ({path}): {source}")]
pub struct ConnectError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// The socket's address in the container's directory `dir`, through
/// `/proc/self/fd` of the directory opened here (the kernel follows that
/// link): a socket's path may have at most 107 bytes, and the state dir and
/// a 64-character id can make `dir/attach.sock` longer. The directory's
/// descriptor must live until the `bind` or `connect`.
pub fn address(dir: &Path) -> std::io::Result<(OwnedFd, socket::UnixAddr)> {
    use nix::fcntl::OFlag;
    let fd = nix::fcntl::open(
        dir,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    let addr =
        socket::UnixAddr::new(format!("/proc/self/fd/{}/{SOCKET}", fd.as_raw_fd()).as_str())?;
    Ok((fd, addr))
}

/// Connects to the supervisor's socket in the container's directory `dir`.
pub fn connect(dir: &Path) -> Result<OwnedFd, ConnectError> {
    let err = |source: std::io::Error| ConnectError {
        path: dir.join(SOCKET).display().to_string(),
        source,
    };
    let fd = socket::socket(
        socket::AddressFamily::Unix,
        socket::SockType::SeqPacket,
        socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| err(e.into()))?;
    let (_dir, addr) = address(dir).map_err(err)?;
    socket::connect(fd.as_raw_fd(), &addr).map_err(|e| err(e.into()))?;
    Ok(fd)
}

/// The signals the attach takes from a `signalfd` while it runs.
fn handled() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGWINCH,
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        set.add(s);
    }
    set
}

/// Who the client on `socket` is, for the container's trace.
pub fn introduce(socket: &OwnedFd, client: &str) {
    let mut message = Vec::with_capacity(1 + client.len());
    message.push(IDENT);
    message.extend_from_slice(client.as_bytes());
    let _ = socket::send(socket.as_raw_fd(), &message, MsgFlags::MSG_NOSIGNAL);
}

/// The client on `socket` leaves with the detach keys (said before it closes).
pub fn say_detach(socket: &OwnedFd) {
    let _ = socket::send(socket.as_raw_fd(), &[QUIT], MsgFlags::MSG_NOSIGNAL);
}

/// Relays casulo's stdin and stdout to the container's terminal through
/// `socket` until the detach keys, the container's end, or the user's
/// terminal's; the terminal is raw meanwhile (when stdin is one) and
/// restored before this returns. `client` is who attaches, for the trace.
/// Without `input` (`--no-stdin`), only the output is relayed.
pub fn attach(
    socket: OwnedFd,
    client: &str,
    keys: &mut DetachKeys,
    input: bool,
) -> std::io::Result<Ended> {
    introduce(&socket, client);
    // SAFETY: casulo's 0 and 1 stay open for its whole life.
    let (stdin, stdout) = unsafe { (BorrowedFd::borrow_raw(0), BorrowedFd::borrow_raw(1)) };
    let set = handled();
    let mut old = SigSet::empty();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old))?;
    let signals = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
    let ended = {
        // Without input the terminal stays as it is: Ctrl-C leaves.
        let _raw = (input && std::io::IsTerminal::is_terminal(&stdin))
            .then(|| RawMode::enter(stdin).ok())
            .flatten();
        relay(&socket, (stdin, input), stdout, &signals, keys)
    };
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    ended
}

fn relay(
    socket: &OwnedFd,
    (stdin, mut input_open): (BorrowedFd, bool),
    stdout: BorrowedFd,
    signals: &SignalFd,
    keys: &mut DetachKeys,
) -> std::io::Result<Ended> {
    send_window(socket);
    let mut buf = vec![0u8; MESSAGE];
    loop {
        let mut fds = vec![
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(socket.as_fd(), PollFlags::POLLIN),
        ];
        if input_open {
            fds.push(PollFd::new(stdin, PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        let ready = |fd: &PollFd| fd.revents().unwrap_or(PollFlags::empty());
        let (sig_ready, sock_ready) = (ready(&fds[0]), ready(&fds[1]));
        let in_ready = fds.get(2).map(ready).unwrap_or(PollFlags::empty());
        drop(fds);
        if !sock_ready.is_empty() {
            let n = match socket::recv(socket.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(n) => n,
                Err(Errno::EINTR | Errno::EAGAIN) => 0,
                Err(_) => return Ok(Ended::Lost),
            };
            match buf[..n] {
                [] => return Ok(Ended::Lost),
                [OUTPUT, ..] if super::relay::write_all(stdout, &buf[1..n]).is_err() => {
                    return Ok(Ended::Left);
                }
                [EXIT, a, b, c, d] => return Ok(Ended::Exited(i32::from_le_bytes([a, b, c, d]))),
                _ => {}
            }
        }
        if !in_ready.is_empty() {
            match nix::unistd::read(stdin, &mut buf[1..]) {
                // A pipe that ended: nothing more to send, the output goes on.
                Ok(0) if !std::io::IsTerminal::is_terminal(&stdin) => input_open = false,
                // A terminal that hung up.
                Ok(0) => return Ok(Ended::Left),
                Ok(n) => {
                    let (send, detach) = keys.feed(&buf[1..1 + n]);
                    if !send.is_empty() {
                        let mut message = Vec::with_capacity(1 + send.len());
                        message.push(KEYS);
                        message.extend_from_slice(&send);
                        if socket::send(socket.as_raw_fd(), &message, MsgFlags::MSG_NOSIGNAL)
                            .is_err()
                        {
                            return Ok(Ended::Lost);
                        }
                    }
                    if detach {
                        say_detach(socket);
                        return Ok(Ended::Detached);
                    }
                }
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(_) => return Ok(Ended::Left),
            }
        }
        if !sig_ready.is_empty() {
            while let Some(info) = signals.read_signal()? {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGWINCH) => send_window(socket),
                    Ok(_) => return Ok(Ended::Left),
                    Err(_) => {}
                }
            }
        }
    }
}

/// casulo's stdin to a `-di` container's [`super::feeder`] through
/// `socket`, until it ends (EOF: the container's stdin stays open for the
/// next attacher) or the supervisor goes; a thread of `casulo attach`, whose
/// main thread follows the container's log meanwhile.
pub fn send_input(socket: OwnedFd) {
    let mut buf = vec![0u8; MESSAGE];
    buf[0] = KEYS;
    loop {
        // SAFETY: casulo's fd 0 stays open for its whole life.
        let stdin = unsafe { BorrowedFd::borrow_raw(0) };
        match nix::unistd::read(stdin, &mut buf[1..]) {
            Ok(0) => return,
            Ok(n) => {
                if socket::send(socket.as_raw_fd(), &buf[..1 + n], MsgFlags::MSG_NOSIGNAL).is_err()
                {
                    return;
                }
            }
            Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// The user's window size to the hub (nothing if unknown).
fn send_window(socket: &OwnedFd) {
    if let Some(size) = caller_window().and_then(window_size) {
        let _ = socket::send(
            socket.as_raw_fd(),
            &resize_message(size),
            MsgFlags::MSG_NOSIGNAL,
        );
    }
}

/// The listening socket, made before the supervisor says the container
/// runs (so an `attach` right after `run -dit` finds it); removed on drop.
pub struct Listener {
    fd: OwnedFd,
    path: PathBuf,
}

impl Listener {
    /// `dir/attach.sock`, `0600`.
    pub fn bind(dir: &Path) -> std::io::Result<Listener> {
        let path = dir.join(SOCKET);
        let _ = std::fs::remove_file(&path);
        let fd = socket::socket(
            socket::AddressFamily::Unix,
            socket::SockType::SeqPacket,
            socket::SockFlag::SOCK_CLOEXEC | socket::SockFlag::SOCK_NONBLOCK,
            None,
        )?;
        let (_dir, addr) = address(dir)?;
        socket::bind(fd.as_raw_fd(), &addr)?;
        let listener = Listener { fd, path };
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&listener.path, std::fs::Permissions::from_mode(0o600))?;
        socket::listen(&listener.fd, socket::Backlog::new(8)?)?;
        Ok(listener)
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resize_message_carries_the_size() {
        let size = WindowSize {
            rows: 40,
            cols: 300,
        };
        assert_eq!(parse_resize(&resize_message(size)), Some(size));
        assert_eq!(parse_resize(b"w12"), None);
    }
}
