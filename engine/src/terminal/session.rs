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
//! [`wait::wait_for`]: crate::container::wait::wait_for
//! [`wait::handled`]: crate::container::wait::handled

use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::signal::Signal;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::console::Console;
use super::raw::RawMode;
use super::relay::Relay;
use super::{caller_window, window_size, WindowSize};
use crate::container::{wait, RunError};
use crate::kernel::Kernel;

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
        while let Some(info) = signals
            .read_signal()
            .map_err(|e| RunError::io("signalfd", "terminal", e.into()))?
        {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGCHLD) | Err(_) => {}
                Ok(Signal::SIGWINCH) => window.follow(k, &relay),
                Ok(signal) => wait::forward(k, pid, signal, &mut forwarded, on_forward),
            }
        }
    }
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
