//! A command run on a new pseudo-terminal, as in a terminal window: the
//! pty's slave is its stdin, stdout, stderr and controlling terminal (a
//! session of its own), and the test reads and types on the master. Used
//! for `casulo run -it` (`tests/tty.rs`) and `docker run -it` against the
//! daemon (`tests/daemon.rs`).

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

/// The running command and both ends of its terminal.
pub struct OnPty {
    pub child: Child,
    /// Non-blocking: reads give `WouldBlock` when the screen has nothing new.
    pub master: File,
    /// Kept by the test to change the window's size or close the terminal.
    pub slave: OwnedFd,
}

/// Starts `cmd` on a new pty of `rows` × `cols`.
pub fn spawn(mut cmd: Command, rows: u16, cols: u16) -> OnPty {
    let size = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&size), None).unwrap();
    // Neither end may leak into the command (openpty does not set
    // close-on-exec): one holding the master would keep the terminal alive
    // after the test closes it.
    for fd in [&pty.master, &pty.slave] {
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .unwrap();
    }
    let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
    cmd.stdin(stdio(&pty.slave))
        .stdout(stdio(&pty.slave))
        .stderr(stdio(&pty.slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // A session of its own whose controlling terminal is the
            // slave (its stdin): as a shell in a terminal window.
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    nix::fcntl::fcntl(
        &pty.master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    OnPty {
        child,
        master: File::from(pty.master),
        slave: pty.slave,
    }
}
