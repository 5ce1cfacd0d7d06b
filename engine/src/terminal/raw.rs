//! The user's terminal in raw mode while the container has it.
//!
//! In raw mode (`cfmakeraw`) the host's line discipline does nothing:
//! no echo, no line editing, no `SIGINT` for Ctrl-C — every key goes to
//! casulo as a byte and from there to the container's terminal, whose
//! own line discipline does all that for the program inside. The saved
//! settings are put back when the guard is dropped: at the end of the
//! relay, whatever ended it (the container's exit, its death, an error; a
//! `SIGTERM` or `SIGHUP` to casulo is read from a `signalfd`, never kills
//! it before this runs).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::sys::termios::{self, SetArg, Termios};

/// The guard: restores the terminal's settings on drop.
pub struct RawMode {
    /// A duplicate of the terminal's descriptor (the settings belong to
    /// the terminal, not to the descriptor).
    tty: OwnedFd,
    saved: Termios,
}

impl RawMode {
    /// Saves the settings of the terminal `fd` and makes it raw.
    pub fn enter(fd: BorrowedFd) -> nix::Result<RawMode> {
        let tty = fd
            .try_clone_to_owned()
            .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EBADF)))?;
        let saved = termios::tcgetattr(&tty)?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(&tty, SetArg::TCSANOW, &raw)?;
        Ok(RawMode { tty, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // TCSADRAIN: what the container printed last is written out with
        // the raw settings it was meant for.
        let _ = termios::tcsetattr(self.tty.as_fd(), SetArg::TCSADRAIN, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::termios::{LocalFlags, OutputFlags};

    #[test]
    fn raw_while_the_guard_lives_and_restored_after() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let before = termios::tcgetattr(&pty.slave).unwrap();
        assert!(before
            .local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ISIG));
        let guard = RawMode::enter(pty.slave.as_fd()).unwrap();
        let raw = termios::tcgetattr(&pty.slave).unwrap();
        assert!(!raw
            .local_flags
            .intersects(LocalFlags::ICANON | LocalFlags::ISIG | LocalFlags::ECHO));
        assert!(!raw.output_flags.contains(OutputFlags::OPOST));
        drop(guard);
        let after = termios::tcgetattr(&pty.slave).unwrap();
        assert_eq!(format!("{before:?}"), format!("{after:?}"));
    }

    #[test]
    fn a_file_is_not_a_terminal() {
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(RawMode::enter(file.as_fd()).is_err());
    }
}
