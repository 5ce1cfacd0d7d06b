//! Copies bytes between a pty master and a pair of descriptors.
//!
//! `run -it` relays the user's terminal (fds 0 and 1); the same [`Relay`]
//! serves any pair — a supervisor's log file and nothing, an `attach`'s
//! socket — since it only reads `input` and writes `output`. One `poll`
//! loop, no threads: [`Relay::pump`] moves bytes until a `wake`
//! descriptor (a `signalfd`, a pidfd, a socket to watch) is readable, and
//! returns so the caller can act on it. The master is borrowed: its owner
//! (casulo's `run` here; a supervisor of a `-dit` container, later, across
//! several `attach`es, each one a `Relay` of its own) keeps it open.
//!
//! The master is non-blocking: keys the container's terminal cannot take
//! yet wait in a buffer (and casulo reads no more of them meanwhile), so
//! casulo never blocks on the container while output is pending. The
//! user's descriptors are left as they are (they are shared with the
//! user's shell: making them non-blocking would break it after casulo).

use std::os::fd::BorrowedFd;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

const CHUNK: usize = 16 * 1024;

pub struct Relay<'a> {
    /// Borrowed: whoever holds the terminal (casulo's `run`, later a
    /// supervisor across several `attach`es) keeps it open.
    master: BorrowedFd<'a>,
    /// Where the keys come from; `None`: nothing is sent (no `-i`), or it
    /// reached its end.
    input: Option<BorrowedFd<'a>>,
    /// Where the container's output goes; `None` once it failed (the
    /// user's terminal is gone): the output is then read and dropped, so
    /// the container never blocks on a full terminal.
    output: Option<BorrowedFd<'a>>,
    /// The master is still open at the other end (some process of the
    /// container holds the slave).
    master_open: bool,
    /// Keys read, not yet taken by the master.
    pending: Vec<u8>,
    /// The input is a terminal (a read of 0 bytes is then its hang-up,
    /// not the end of a file).
    input_is_terminal: bool,
    /// The user's terminal hung up (EIO writing to it, or reading from it).
    hung_up: bool,
}

impl<'a> Relay<'a> {
    pub fn new(
        master: BorrowedFd<'a>,
        input: Option<BorrowedFd<'a>>,
        output: BorrowedFd<'a>,
    ) -> std::io::Result<Relay<'a>> {
        let flags = OFlag::from_bits_truncate(fcntl(master, FcntlArg::F_GETFL)?);
        fcntl(master, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        Ok(Relay {
            master,
            input,
            output: Some(output),
            master_open: true,
            pending: Vec::new(),
            input_is_terminal: input.is_some_and(|fd| std::io::IsTerminal::is_terminal(&fd)),
            hung_up: false,
        })
    }

    /// The user's terminal went away: its window closed, the emulator (or
    /// the ssh connection) that held its master is gone.
    pub fn hung_up(&self) -> bool {
        self.hung_up
    }

    /// The master (to set its window size).
    pub fn master(&self) -> BorrowedFd<'a> {
        self.master
    }

    /// Copies both ways until `wake` is readable or the user's terminal
    /// hung up (returns `Ok`), or `poll` itself fails.
    pub fn pump(&mut self, wake: BorrowedFd) -> std::io::Result<()> {
        loop {
            if self.hung_up {
                return Ok(());
            }
            let mut master_events = PollFlags::empty();
            if self.master_open {
                master_events |= PollFlags::POLLIN;
                if !self.pending.is_empty() {
                    master_events |= PollFlags::POLLOUT;
                }
            }
            let read_input = self.master_open && self.pending.is_empty();
            let input = self.input.filter(|_| read_input);
            let mut fds = vec![
                PollFd::new(wake, PollFlags::POLLIN),
                PollFd::new(self.master, master_events),
            ];
            if let Some(input) = input {
                fds.push(PollFd::new(input, PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
                Ok(_) => {}
            }
            let ready = |fd: &PollFd| fd.revents().unwrap_or(PollFlags::empty());
            let (wake_ready, master_ready) = (ready(&fds[0]), ready(&fds[1]));
            let input_ready = fds.get(2).map(ready).unwrap_or(PollFlags::empty());
            drop(fds);
            if !master_ready.is_empty() {
                if master_ready.intersects(PollFlags::POLLOUT) {
                    self.flush_keys();
                }
                if master_ready
                    .intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
                {
                    self.copy_output();
                }
            }
            if !input_ready.is_empty() {
                self.read_keys();
            }
            if !wake_ready.is_empty() {
                return Ok(());
            }
        }
    }

    /// What the master still holds, to the output (the container ended:
    /// its last words).
    pub fn drain(&mut self) {
        while self.master_open && self.copy_output() {}
    }

    /// One read of the master to the output; false when there was nothing.
    fn copy_output(&mut self) -> bool {
        let mut buf = [0u8; CHUNK];
        match nix::unistd::read(self.master, &mut buf) {
            Ok(0) => {
                self.master_open = false;
                false
            }
            Ok(n) => {
                if let Some(out) = self.output {
                    if let Err(e) = write_all(out, &buf[..n]) {
                        self.output = None;
                        // EIO: a terminal that hung up (EPIPE: a pipe's reader left).
                        self.hung_up |= e == Errno::EIO;
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

    /// One read of the input into the pending keys, then as much as the
    /// master takes.
    fn read_keys(&mut self) {
        let Some(input) = self.input else { return };
        let mut buf = [0u8; CHUNK];
        match nix::unistd::read(input, &mut buf) {
            Ok(0) => {
                self.input = None;
                self.hung_up |= self.input_is_terminal;
            }
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                self.flush_keys();
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            // EIO: the user's terminal hung up.
            Err(e) => {
                self.input = None;
                self.hung_up |= e == Errno::EIO;
            }
        }
    }

    fn flush_keys(&mut self) {
        while !self.pending.is_empty() {
            match nix::unistd::write(self.master, &self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return,
                Err(_) => {
                    // The container's side is gone: the keys have nowhere to go.
                    self.pending.clear();
                    self.master_open = false;
                }
            }
        }
    }
}

/// All of `buf` to `fd`, waiting (poll) if it is non-blocking and full.
pub(crate) fn write_all(fd: BorrowedFd, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        match nix::unistd::write(fd, buf) {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => buf = &buf[n..],
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
                poll(&mut fds, PollTimeout::NONE)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    /// A pty whose slave plays the container (raw: bytes unchanged), a
    /// pipe as the user's keyboard, another as the screen.
    #[test]
    fn keys_reach_the_slave_and_output_reaches_the_screen() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let mut t = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
        nix::sys::termios::cfmakeraw(&mut t);
        nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t).unwrap();
        let (keys_rd, keys_wr) = nix::unistd::pipe().unwrap();
        let (screen_rd, screen_wr) = nix::unistd::pipe().unwrap();
        let (wake_rd, wake_wr) = nix::unistd::pipe().unwrap();
        let mut relay =
            Relay::new(pty.master.as_fd(), Some(keys_rd.as_fd()), screen_wr.as_fd()).unwrap();

        std::fs::File::from(keys_wr).write_all(b"ls\x03").unwrap();
        let mut slave = std::fs::File::from(pty.slave);
        slave.write_all(b"ola\r\n").unwrap();
        // Wake the relay once the bytes had time to move.
        let waker = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            nix::unistd::write(&wake_wr, b"x").unwrap();
        });
        relay.pump(wake_rd.as_fd()).unwrap();
        waker.join().unwrap();
        let mut got = [0u8; 3];
        slave.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ls\x03");
        drop(slave);
        relay.drain();
        drop(relay);
        drop(screen_wr);
        let mut screen = String::new();
        std::fs::File::from(screen_rd)
            .read_to_string(&mut screen)
            .unwrap();
        assert_eq!(screen, "ola\r\n");
    }

    /// The user's terminal hangs up (its master closed): the relay says
    /// so and returns, instead of waiting for keys that will never come.
    #[test]
    fn a_terminal_that_hangs_up_stops_the_pump() {
        let container = nix::pty::openpty(None, None).unwrap();
        let user = nix::pty::openpty(None, None).unwrap();
        let (wake_rd, _wake_wr) = nix::unistd::pipe().unwrap();
        let (_screen_rd, screen_wr) = nix::unistd::pipe().unwrap();
        let mut relay = Relay::new(
            container.master.as_fd(),
            Some(user.slave.as_fd()),
            screen_wr.as_fd(),
        )
        .unwrap();
        assert!(!relay.hung_up());
        drop(user.master);
        relay.pump(wake_rd.as_fd()).unwrap();
        assert!(relay.hung_up());
    }
}
