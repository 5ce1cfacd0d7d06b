//! Waiting for a container that has a terminal: [`wait::wait_for`] with a
//! [`Relay`] in the middle.
//!
//! The signals casulo blocked before the `clone` ([`wait::handled`]) are
//! read from a `signalfd`, which wakes the relay's `poll`: `SIGCHLD` (the
//! container may have ended), `SIGWINCH` (the user's window changed size:
//! the new one goes to the master, `process.tty` `resize`), and the
//! termination signals, forwarded to PID 1 as without a terminal (the
//! first as it is, the second as SIGKILL). In raw mode Ctrl-C is no
//! signal to casulo: it is the byte 0x03, and the container's terminal
//! makes it a `SIGINT` for the program in the foreground there.
//!
//! **The user's terminal hangs up** (its window closed, the ssh connection
//! dropped: whoever held its master is gone; casulo reads EOF or EIO from
//! it, and the kernel sends `SIGHUP` to its session's leader, which a
//! shell passes on to its jobs): casulo does to the container what the
//! kernel did to it, as `sshd` does to a session's shell — `hang_up`:
//! `SIGHUP` to the foreground process group of the container's terminal,
//! the master closed (the kernel hangs the terminal up: `SIGHUP` to its
//! session's leader, EOF to whoever reads it), and after [`HANGUP_GRACE`]
//! `SIGKILL` to what is left. casulo's own stdout and stderr go to
//! `/dev/null` first: nothing it writes later can fail on the dead terminal.
//!
//! [`wait::wait_for`]: crate::container::wait::wait_for
//! [`wait::handled`]: crate::container::wait::handled

use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::signal::Signal;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::{wait, RunError};
use crate::kernel::Kernel;
use crate::terminal::console::Console;
use crate::terminal::raw::RawMode;
use crate::terminal::relay::Relay;
use crate::terminal::{caller_window, window_size, WindowSize};

/// Relays casulo's stdin (with `interactive`) and stdout to the
/// container's terminal until `pid` ends; the user's terminal is raw
/// meanwhile (when the keys come from one) and restored before this
/// returns, on every path.
pub fn wait_relaying(
    k: &Kernel,
    pid: Pid,
    console: Console,
    interactive: bool,
    on_forward: &mut dyn FnMut(Signal, bool),
) -> Result<WaitStatus, RunError> {
    // SAFETY: casulo's 0 and 1 stay open for its whole life.
    let (stdin, stdout) = unsafe { (BorrowedFd::borrow_raw(0), BorrowedFd::borrow_raw(1)) };
    let input = interactive.then_some(stdin);
    let signals = SignalFd::with_flags(
        &wait::handled(),
        SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
    )
    .map_err(|e| RunError::io("signalfd", "terminal", e.into()))?;
    let mut window = Window {
        path: console.path,
        size: console.size,
    };
    let mut relay = Relay::new(console.master.as_fd(), input, stdout)
        .map_err(|e| RunError::io("não consegui usar o terminal do contêiner", &window.path, e))?;
    // Dropped (the terminal restored) when this function returns.
    let _raw = input
        .filter(|fd| fd.is_terminal())
        .and_then(|fd| RawMode::enter(fd).ok());
    // The window may have changed since the init opened the terminal.
    window.follow(k, &relay);
    let mut forwarded = 0;
    loop {
        if let Some(status) = k.wait(pid, false)? {
            relay.drain();
            return Ok(status);
        }
        relay.pump(signals.as_fd()).map_err(|e| {
            RunError::io("falha ao copiar o terminal do contêiner", &window.path, e)
        })?;
        let mut hung_up = relay.hung_up();
        while let Some(info) = signals
            .read_signal()
            .map_err(|e| RunError::io("signalfd", "terminal", e.into()))?
        {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGCHLD) | Err(_) => {}
                Ok(Signal::SIGWINCH) => window.follow(k, &relay),
                // The kernel's SIGHUP for a terminal that hung up is no
                // request to pass on: the hang-up itself is.
                Ok(Signal::SIGHUP) if input.is_some_and(gone) => hung_up = true,
                Ok(signal) => wait::forward(k, pid, signal, &mut forwarded, on_forward),
            }
        }
        if hung_up {
            drop(relay);
            return hang_up(k, pid, console.master, &signals);
        }
    }
}

/// How long the container's processes have, after the hang-up of its
/// terminal, to end by themselves before `SIGKILL`.
pub const HANGUP_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The terminal `fd` hung up (`poll` says `POLLHUP` at once).
fn gone(fd: BorrowedFd) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    poll(&mut fds, PollTimeout::ZERO).is_ok()
        && fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR))
}

/// The user's terminal is gone: the container's goes too (see the module
/// docs); returns how the container ended.
fn hang_up(
    k: &Kernel,
    pid: Pid,
    master: std::os::fd::OwnedFd,
    signals: &SignalFd,
) -> Result<WaitStatus, RunError> {
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..=2 {
            // SAFETY: dup2 onto casulo's own standard descriptors.
            unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), fd) };
        }
    }
    // The foreground of the container's terminal (a host pid: the kernel
    // translates it for casulo), unless it is PID 1 itself.
    let foreground = nix::unistd::tcgetpgrp(&master).ok();
    if let Some(group) = foreground.filter(|g| g.as_raw() > 0 && *g != pid) {
        let _ = k.kill(Pid::from_raw(-group.as_raw()), Signal::SIGHUP);
    }
    let _ = k.kill(pid, Signal::SIGHUP);
    drop(master);
    let until = std::time::Instant::now() + HANGUP_GRACE;
    loop {
        if let Some(status) = k.wait(pid, false)? {
            return Ok(status);
        }
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        // Woken by SIGCHLD (or any signal casulo blocked) or the time.
        let mut fds = [nix::poll::PollFd::new(
            signals.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ms = left.as_millis().min(u16::MAX as u128) as u16;
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms));
        while let Ok(Some(_)) = signals.read_signal() {}
    }
    let _ = k.kill(pid, Signal::SIGKILL);
    Ok(k.wait(pid, true)?
        .expect("a blocking wait returns a status"))
}

/// The container's terminal's size, kept equal to the user's window.
struct Window {
    path: String,
    size: WindowSize,
}

impl Window {
    fn follow(&mut self, k: &Kernel, relay: &Relay) {
        let Some(now) = caller_window().and_then(window_size) else {
            return;
        };
        if now != self.size && k.resize_terminal(relay.master(), &self.path, now).is_ok() {
            self.size = now;
        }
    }
}
