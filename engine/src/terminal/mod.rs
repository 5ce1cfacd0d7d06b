//! `casulo run -t`: a pseudo-terminal for the container.
//!
//! A pty is a pair of ends the kernel joins: what is written to the
//! *master* is read from the *slave* as if typed, and what the program
//! writes to the slave comes out of the master. Between them sits the
//! terminal's line discipline, which turns Ctrl-C into `SIGINT` and Ctrl-Z
//! into `SIGTSTP` for the terminal's foreground process group, echoes,
//! edits lines — what gives a shell job control.
//!
//! As runc's `--console-socket`, the container's init opens the pty itself,
//! from the `/dev/ptmx` of the container's own devpts (so `tty` inside
//! says `/dev/pts/0` and the slave is a file of the container), takes the
//! slave as its controlling terminal and its stdin, stdout and stderr, and
//! sends the master to casulo over a unix socket ([`console`]). casulo puts
//! the user's terminal in raw mode ([`raw`]: every key goes through as a
//! byte, Ctrl-C included) and copies bytes both ways ([`relay`]) while it
//! waits for the container, forwarding window resizes ([`crate::container::terminal_wait`]).
//!
//! `exec -t` gets its terminal the same way (the exec'd process opens it
//! inside the container). A `-dit` container's supervisor holds the master
//! instead, logs its output and serves `casulo attach`es ([`crate::container::terminal_hub`],
//! [`attach`], with docker's detach keys: [`detach`]). A `-di` container
//! (stdin open, no terminal) has no master: its supervisor writes what
//! attachers type into the container's stdin pipe ([`feeder`]).
//!
//! Single-threaded until the `exec`, as the rest of `run`: the relay is a
//! `poll` loop on the main thread, woken by a `signalfd` for the signals
//! casulo blocked (`SIGCHLD`, `SIGWINCH`, the termination signals).

pub mod attach;
pub mod console;
pub mod detach;
pub mod feeder;
pub mod raw;
pub mod relay;

use std::os::fd::{AsRawFd, BorrowedFd};

/// The window size lives in the facade, which sets it on a new pty.
pub use crate::kernel::WindowSize;

/// `ioctl(fd, TIOCGWINSZ)`: the window size of the terminal `fd` is, if any.
pub fn window_size(fd: BorrowedFd) -> Option<WindowSize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize through a valid pointer.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (r == 0).then_some(WindowSize {
        rows: size.ws_row,
        cols: size.ws_col,
    })
}

/// Where the container's window size comes from: casulo's stdin if it
/// is a terminal, else its stdout (as docker: `-t` with a pipe as input
/// still has a window).
pub fn caller_window() -> Option<BorrowedFd<'static>> {
    [0, 1].into_iter().find_map(|fd| {
        // SAFETY: 0 and 1 stay open for the whole life of casulo.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        window_size(fd).map(|_| fd)
    })
}

/// The size of [`caller_window`] (unknown when neither is a terminal).
pub fn caller_size() -> WindowSize {
    caller_window().and_then(window_size).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_file_has_no_window_and_a_pty_has_the_size_set_on_it() {
        let file = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(window_size(file.as_fd()), None);
        let pty = nix::pty::openpty(None, None).unwrap();
        let sys = crate::kernel::LinuxSyscalls;
        crate::kernel::Syscalls::set_window_size(&sys, pty.master.as_fd(), 33, 101).unwrap();
        assert_eq!(
            window_size(pty.slave.as_fd()),
            Some(WindowSize {
                rows: 33,
                cols: 101
            })
        );
        assert!(WindowSize::default().is_unknown());
    }
}
