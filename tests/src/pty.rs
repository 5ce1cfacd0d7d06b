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
    /// The slave's settings before the command started (`tcgetattr`,
    /// as text): what a command that changes them must put back. Read
    /// after the spawn, they may already be the command's own.
    pub initial: String,
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
    let initial = format!("{:?}", nix::sys::termios::tcgetattr(&pty.slave).unwrap());
    let child = cmd.spawn().unwrap();
    nix::fcntl::fcntl(
        &pty.master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .unwrap();
    OnPty {
        child,
        initial,
        master: File::from(pty.master),
        slave: pty.slave,
    }
}

/// A terminal window in a test: a command on a new pty ([`spawn`]), what it
/// showed and the test has not consumed yet, keys typed on it. Shared by
/// `casulo run -it`/`attach` (`tests/tty.rs`) and the docker CLI against
/// the daemon (`tests/daemon.rs`). The command is killed if the screen is
/// dropped while it runs (a failed test leaves nothing behind).
pub struct Screen {
    /// `None` once the test closed the terminal ([`Screen::hang_up`]).
    master: Option<File>,
    slave: Option<OwnedFd>,
    pub child: Child,
    /// The terminal's settings before the command started ([`OnPty::initial`]).
    pub initial: String,
    /// Read and not yet consumed by [`Screen::expect`].
    pub screen: String,
}

impl Screen {
    /// `cmd` on a new pty of `rows` × `cols`.
    pub fn spawn(cmd: Command, rows: u16, cols: u16) -> Screen {
        let on = spawn(cmd, rows, cols);
        Screen {
            master: Some(on.master),
            slave: Some(on.slave),
            child: on.child,
            initial: on.initial,
            screen: String::new(),
        }
    }

    fn master(&self) -> &File {
        self.master.as_ref().expect("o terminal já foi fechado")
    }

    /// The slave, to read its settings.
    pub fn slave(&self) -> &OwnedFd {
        self.slave.as_ref().expect("o terminal já foi fechado")
    }

    /// Types `keys`.
    pub fn send(&mut self, keys: &str) {
        use std::io::Write;
        self.master().write_all(keys.as_bytes()).unwrap();
    }

    /// One read of what the terminal shows (waiting up to 100 ms); false
    /// when there was nothing.
    fn pump(&mut self) -> bool {
        use std::io::Read;
        let Some(master) = self.master.as_mut() else {
            std::thread::sleep(std::time::Duration::from_millis(50));
            return false;
        };
        let mut fds = [nix::poll::PollFd::new(
            std::os::fd::AsFd::as_fd(&*master),
            nix::poll::PollFlags::POLLIN,
        )];
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16));
        let mut buf = [0u8; 4096];
        match master.read(&mut buf) {
            Ok(n) if n > 0 => {
                self.screen.push_str(&String::from_utf8_lossy(&buf[..n]));
                true
            }
            _ => false,
        }
    }

    /// Reads the screen until `needle` appears after what was already
    /// consumed (20 s at most); returns the text up to and including it.
    pub fn expect(&mut self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(at) = self.screen.find(needle) {
                return self.screen.drain(..at + needle.len()).collect();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{needle:?} não apareceu na tela em 20 s (o comando: {:?}); a tela tem:\n{}",
                self.child.try_wait(),
                self.screen
            );
            self.pump();
        }
    }

    /// Runs `command` at a busybox shell's prompt; what it printed (up to
    /// the next prompt).
    pub fn shell(&mut self, command: &str) -> String {
        self.send(&format!("{command}\r"));
        // The end of the echoed line: busybox's line editor may redraw it
        // midway (it asks the terminal for the cursor with `ESC[6n` after
        // each prompt), so the echo is not always the command verbatim.
        self.expect("\r\n");
        self.expect("/ # ")
    }

    /// The window changes size (the kernel sends SIGWINCH to the terminal's
    /// foreground).
    pub fn resize(&mut self, rows: u16, cols: u16) {
        let size = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let fd = std::os::fd::AsRawFd::as_raw_fd(self.master());
        // SAFETY: TIOCSWINSZ reads one winsize.
        assert_eq!(unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &size) }, 0);
    }

    /// `stty size` until it says `rows cols` (a resize travels through
    /// casulo, and maybe a supervisor or the daemon).
    pub fn expect_size(&mut self, rows: u16, cols: u16) {
        if let Err(seen) = self.size_becomes(rows, cols, 50) {
            assert_eq!(seen, format!("{rows} {cols}\r\n/ # "));
        }
    }

    /// `stty size` up to `looks` times, 100 ms apart, until it says `rows
    /// cols`; what it said last when it never did.
    pub fn size_becomes(&mut self, rows: u16, cols: u16, looks: u32) -> Result<(), String> {
        let want = format!("{rows} {cols}\r\n/ # ");
        let mut seen = String::new();
        for _ in 0..looks {
            seen = self.shell("stty size");
            if seen == want {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err(seen)
    }

    /// The user closes the terminal window: both ends of the pty close.
    pub fn hang_up(&mut self) {
        self.master = None;
        self.slave = None;
    }

    /// The command's exit code (-1 if a signal killed it), the screen kept
    /// drained meanwhile (20 s at most).
    pub fn wait(&mut self) -> i32 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while self.pump() {}
                return status.code().unwrap_or(-1);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "o comando não terminou em 20 s; a tela tem:\n{}",
                self.screen
            );
            self.pump();
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
