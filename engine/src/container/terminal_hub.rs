//! The supervisor's side of a `-dit` container's terminal: it holds the
//! pty's master for the container's whole life, writes what comes out of it
//! to `container.log` (so `casulo logs` works as for any `-d` container),
//! and serves `casulo attach`es on `containers/<id>/attach.sock`
//! ([`super::attach`] has the messages): the output goes to every attacher,
//! the keys of each (with `-i`) to the master, and a resize from any sets
//! the pty's window (`TIOCSWINSZ`, a `process.tty` `resize` in the trace).
//!
//! One `poll` loop on the supervisor's main thread, as the relay of
//! `casulo run -it` ([`super::session`]), woken by the same `signalfd`:
//! `SIGCHLD` (the container may have ended), the termination signals
//! (forwarded to PID 1). Nothing here runs for a container without `-t`.
//!
//! A container whose client attaches only after the start (`docker run
//! -it` through the daemon: it attaches, then starts) would miss the
//! shell's first prompt: with `keep`, what the terminal writes before the
//! first attacher comes is kept (the last [`BACKLOG`] bytes) and sent to
//! the attacher that asks for it ([`HELLO`]: the daemon's attach does).
//!
//! An attacher too slow to take the output (its socket full for
//! [`SLOW`]) is dropped rather than let the container wait for it; one
//! that leaves just closes its socket (after a `q` if it used the detach
//! keys). Each attacher that said who it is (`i`) has its coming and going
//! in the container's trace (`terminal.attach`, `terminal.detach`).

use casulo_trace::{DetachReason, EventBody};

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{self, MsgFlags};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::logs::LogWriter;
use super::{wait, RunError};
use crate::kernel::Kernel;
use crate::terminal::attach::{self, Listener, EXIT, HELLO, IDENT, KEYS, MESSAGE, OUTPUT, QUIT};
use crate::terminal::console::Console;

/// The most output kept for a first attacher that has not come yet.
pub const BACKLOG: usize = 64 * 1024;

/// How long a new attacher's first message is awaited while output is kept.
pub const GREET: Duration = Duration::from_millis(100);

/// How long a send to an attacher may wait before it is dropped.
pub const SLOW: Duration = Duration::from_secs(2);

/// How the hub serves: the attachers' keys reach the terminal
/// (`interactive`, `-i`), and the output before the first attacher is kept
/// for it (`keep`, see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Serving {
    pub interactive: bool,
    pub keep: bool,
}

/// Serves the terminal until `pid` ends; returns how it ended.
pub fn serve(
    k: &Kernel,
    pid: Pid,
    console: Console,
    listener: Listener,
    mut log: LogWriter,
    Serving { interactive, keep }: Serving,
    on_forward: &mut dyn FnMut(Signal, bool),
) -> Result<WaitStatus, RunError> {
    let io = |what: &'static str, e: std::io::Error| RunError::io(what, "terminal", e);
    let signals = SignalFd::with_flags(
        &wait::handled(),
        SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
    )
    .map_err(|e| io("signalfd", e.into()))?;
    let master = console.master.as_fd();
    nonblocking(master).map_err(|e| io("fcntl", e.into()))?;
    let mut hub = Hub {
        master,
        master_open: true,
        attachers: Vec::new(),
        keys: Vec::new(),
        log: &mut log,
        interactive,
        path: console.path.clone(),
        size: console.size,
        buf: vec![0u8; MESSAGE],
        backlog: keep.then(Vec::new),
    };
    let mut forwarded = 0;
    let status = loop {
        if let Some(status) = k.wait(pid, false)? {
            break status;
        }
        let mut fds = vec![
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
        ];
        let mut master_events = PollFlags::empty();
        if hub.master_open {
            master_events |= PollFlags::POLLIN;
            if !hub.keys.is_empty() {
                master_events |= PollFlags::POLLOUT;
            }
        }
        fds.push(PollFd::new(master, master_events));
        // New keys only once the master took the last ones.
        let read_keys = hub.keys.is_empty();
        for a in &hub.attachers {
            let events = if read_keys {
                PollFlags::POLLIN
            } else {
                PollFlags::empty()
            };
            fds.push(PollFd::new(a.fd.as_fd(), events));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(io("poll", e.into())),
            Ok(_) => {}
        }
        let revents: Vec<PollFlags> = fds
            .iter()
            .map(|fd| fd.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);
        if revents[2].intersects(PollFlags::POLLOUT) {
            hub.flush_keys();
        }
        if revents[2].intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
            hub.copy_output(k);
        }
        // From the last, so removing one does not move the others.
        for i in (0..hub.attachers.len()).rev() {
            if !revents[3 + i].is_empty() {
                hub.read_attacher(k, i);
            }
        }
        if !revents[1].is_empty() {
            hub.accept(k, &listener, true);
        }
        if !revents[0].is_empty() {
            while let Some(info) = signals
                .read_signal()
                .map_err(|e| io("signalfd", e.into()))?
            {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGCHLD | Signal::SIGWINCH) | Err(_) => {}
                    Ok(signal) => wait::forward(k, pid, signal, &mut forwarded, on_forward),
                }
            }
        }
    };
    // Its last words, then how it ended, to whoever is attached — and to
    // whoever connected meanwhile, not accepted yet (a `docker run -t`
    // whose command ended at once must still see what it printed).
    while hub.master_open && hub.copy_output(k) {}
    hub.log.finish();
    while hub.accept(k, &listener, false) {}
    let code = wait::exit_code(status).to_le_bytes();
    let bye = [EXIT, code[0], code[1], code[2], code[3]];
    for a in &hub.attachers {
        let _ = socket::send(a.fd.as_raw_fd(), &bye, MsgFlags::MSG_NOSIGNAL);
    }
    while !hub.attachers.is_empty() {
        hub.let_go(k, hub.attachers.len() - 1, DetachReason::Ended);
    }
    drop(listener);
    Ok(status)
}

/// `fd` (the terminal's master) without blocking: the hub polls it.
fn nonblocking(fd: BorrowedFd) -> nix::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = fcntl(fd, FcntlArg::F_GETFL)?;
    fcntl(
        fd,
        FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
    )?;
    Ok(())
}

/// A connection to the hub; `who` once it said who it is (see [`IDENT`]).
struct Attacher {
    fd: OwnedFd,
    who: Option<String>,
}

struct Hub<'a> {
    master: BorrowedFd<'a>,
    master_open: bool,
    attachers: Vec<Attacher>,
    /// Keys read from an attacher, not yet taken by the master.
    keys: Vec<u8>,
    log: &'a mut LogWriter,
    interactive: bool,
    /// The pty's path inside the container (for the trace).
    path: String,
    /// Its window now.
    size: crate::terminal::WindowSize,
    buf: Vec<u8>,
    /// The output kept for the first attacher (see the module docs).
    backlog: Option<Vec<u8>>,
}

impl Hub<'_> {
    /// Takes one waiting connection, if any, and greets it; `slow_guard`
    /// gives it a send timeout (an attacher that stops reading must not
    /// stall the container's output). False when none was waiting.
    fn accept(&mut self, k: &Kernel, listener: &Listener, slow_guard: bool) -> bool {
        let Ok(fd) = socket::accept4(listener.as_fd().as_raw_fd(), socket::SockFlag::SOCK_CLOEXEC)
        else {
            return false;
        };
        // SAFETY: accept4 returned a new descriptor we own.
        let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        if slow_guard {
            let _ = socket::setsockopt(
                &fd,
                socket::sockopt::SendTimeout,
                &nix::sys::time::TimeVal::new(SLOW.as_secs() as _, 0),
            );
        }
        self.attachers.push(Attacher { fd, who: None });
        self.greet(k, self.attachers.len() - 1);
        true
    }

    /// One read of the master to the log and every attacher; false when
    /// there was nothing.
    fn copy_output(&mut self, k: &Kernel) -> bool {
        match nix::unistd::read(self.master, &mut self.buf[1..]) {
            Ok(0) => {
                self.master_open = false;
                false
            }
            Ok(n) => {
                self.log.write(&self.buf[1..1 + n]);
                if let Some(kept) = self.backlog.as_mut() {
                    kept.extend_from_slice(&self.buf[1..1 + n]);
                    let over = kept.len().saturating_sub(BACKLOG);
                    kept.drain(..over);
                }
                self.buf[0] = OUTPUT;
                // From the last, so removing one does not move the others.
                for i in (0..self.attachers.len()).rev() {
                    let message = &self.buf[..1 + n];
                    let fd = self.attachers[i].fd.as_raw_fd();
                    if socket::send(fd, message, MsgFlags::MSG_NOSIGNAL).is_err() {
                        self.lost(k, i);
                    }
                }
                true
            }
            Err(Errno::EAGAIN | Errno::EINTR) => false,
            // EIO: no process holds the slave any more.
            Err(_) => {
                self.master_open = false;
                false
            }
        }
    }

    /// What was kept, to attacher `i`, who asked for it ([`HELLO`]); kept no more.
    fn welcome(&mut self, i: usize) {
        let attacher = self.attachers[i].fd.as_raw_fd();
        for chunk in self.backlog.take().unwrap_or_default().chunks(MESSAGE - 1) {
            let mut message = Vec::with_capacity(1 + chunk.len());
            message.push(OUTPUT);
            message.extend_from_slice(chunk);
            if socket::send(attacher, &message, MsgFlags::MSG_NOSIGNAL).is_err() {
                return;
            }
        }
    }

    /// A new attacher `i`: while output is kept, its first message is
    /// awaited a moment (the daemon's attach says [`HELLO`] at once), so
    /// that what was kept reaches it before anything newer — a `resize`'s
    /// own short connection, which says no hello, does not take it.
    fn greet(&mut self, k: &Kernel, i: usize) {
        if self.backlog.is_none() {
            return;
        }
        let fd = self.attachers[i].fd.as_raw_fd();
        let wait = nix::sys::time::TimeVal::new(0, GREET.as_micros() as _);
        let _ = socket::setsockopt(
            &self.attachers[i].fd,
            socket::sockopt::ReceiveTimeout,
            &wait,
        );
        let mut message = [0u8; MESSAGE];
        if let Ok(n) = socket::recv(fd, &mut message, MsgFlags::empty()) {
            self.take(k, i, &message[..n]);
        }
    }

    /// Attacher `i` could not be written to: it left. What it said before
    /// closing (its detach keys, typed as the shell printed something) is
    /// read first, so that it is let go for the right reason.
    fn lost(&mut self, k: &Kernel, i: usize) {
        let before = self.attachers.len();
        while self.attachers.len() == before && self.read_attacher(k, i) {}
        if self.attachers.len() == before {
            self.let_go(k, i, DetachReason::Gone);
        }
    }

    /// A message from attacher `i`; it is dropped when it left. False when
    /// it had nothing waiting.
    fn read_attacher(&mut self, k: &Kernel, i: usize) -> bool {
        let mut message = [0u8; MESSAGE];
        let n = match socket::recv(
            self.attachers[i].fd.as_raw_fd(),
            &mut message,
            MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(n) => n,
            Err(Errno::EAGAIN | Errno::EINTR) => return false,
            Err(_) => 0,
        };
        self.take(k, i, &message[..n]);
        true
    }

    fn take(&mut self, k: &Kernel, i: usize, message: &[u8]) {
        match message {
            [] => self.let_go(k, i, DetachReason::Gone),
            [QUIT] => self.let_go(k, i, DetachReason::Keys),
            [IDENT, name @ ..] if self.attachers[i].who.is_none() => {
                let client = String::from_utf8_lossy(name).into_owned();
                self.attachers[i].who = Some(client.clone());
                let attached = self.attached();
                k.observed(
                    EventBody::TerminalAttach { client, attached },
                    format!("accept4({})", attach::SOCKET),
                );
            }
            [HELLO] => self.welcome(i),
            [KEYS, keys @ ..] if self.interactive && self.master_open => {
                self.keys.extend_from_slice(keys);
                self.flush_keys();
            }
            resize => {
                let size = attach::parse_resize(resize).filter(|s| *s != self.size);
                if let Some(size) = size {
                    if k.resize_terminal(self.master, &self.path, size).is_ok() {
                        self.size = size;
                    }
                }
            }
        }
    }

    /// Attachers that said who they are.
    fn attached(&self) -> u32 {
        self.attachers.iter().filter(|a| a.who.is_some()).count() as u32
    }

    /// Attacher `i` goes (its socket closed), in the trace if it said who it was.
    fn let_go(&mut self, k: &Kernel, i: usize, reason: DetachReason) {
        let gone = self.attachers.remove(i);
        if let Some(client) = gone.who {
            let attached = self.attached();
            k.observed(
                EventBody::TerminalDetach {
                    client,
                    reason,
                    attached,
                },
                format!("close({})", attach::SOCKET),
            );
        }
    }

    fn flush_keys(&mut self) {
        while !self.keys.is_empty() {
            match nix::unistd::write(self.master, &self.keys) {
                Ok(n) => {
                    self.keys.drain(..n);
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return,
                Err(_) => {
                    self.keys.clear();
                    self.master_open = false;
                }
            }
        }
    }
}
