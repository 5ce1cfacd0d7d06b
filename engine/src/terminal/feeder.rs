//! The supervisor's side of a `-di` container: its stdin is a pipe the
//! supervisor keeps open (no terminal: `-i` without `-t`), and what a
//! `casulo attach` (or `start -ai`) reads from its own stdin arrives here as
//! [`KEYS`] messages, on the same `attach.sock` and in the same format as a
//! `-dit` container's [`crate::container::terminal_hub`], and goes into that pipe. The output
//! does not come back this way: without a terminal stdout and stderr are
//! apart, in the log, and the attacher follows the log.
//!
//! As docker's `run -di` (its `StdinOnce` false), an attacher whose input
//! ends (a pipe, Ctrl-D) does not close the container's stdin: the next one
//! can still write to it. It closes when the container ends.
//!
//! A thread of the supervisor, only for `-di` containers (the others pay
//! nothing), from the start of the command to its end. Writes block when
//! the container does not read: the attacher then waits (its socket fills),
//! as it would with docker; the container's end breaks the pipe (`EPIPE`),
//! which frees the thread.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{self, MsgFlags};

use super::attach::{Listener, KEYS, MESSAGE};

/// The feeding thread and the pipe that tells it to stop.
pub struct Feeder {
    stop: OwnedFd,
    thread: std::thread::JoinHandle<()>,
}

impl Feeder {
    /// Serves `listener`, writing what attachers send into `stdin` (the
    /// write end of the container's stdin); with `once`, closing it when
    /// the first attacher leaves.
    pub fn start(listener: Listener, stdin: OwnedFd, once: bool) -> std::io::Result<Feeder> {
        let (stop_rd, stop) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let thread = std::thread::Builder::new()
            .name("stdin".into())
            // It holds a message buffer and little else.
            .stack_size(64 * 1024)
            .spawn(move || serve(&listener, Some(stdin), once, &stop_rd))?;
        Ok(Feeder { stop, thread })
    }

    /// Stops serving (the container ended): the socket is removed and the
    /// container's stdin closed.
    pub fn finish(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}

fn serve(listener: &Listener, mut stdin: Option<OwnedFd>, once: bool, stop: &OwnedFd) {
    let mut attachers: Vec<OwnedFd> = Vec::new();
    let mut buf = vec![0u8; MESSAGE];
    loop {
        let mut fds = vec![
            PollFd::new(stop.as_fd(), PollFlags::POLLIN),
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
        ];
        fds.extend(
            attachers
                .iter()
                .map(|a| PollFd::new(a.as_fd(), PollFlags::POLLIN)),
        );
        match poll(&mut fds, PollTimeout::NONE) {
            Err(Errno::EINTR) => continue,
            Err(_) => return,
            Ok(_) => {}
        }
        let revents: Vec<PollFlags> = fds
            .iter()
            .map(|fd| fd.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);
        if !revents[0].is_empty() {
            return;
        }
        for i in (0..attachers.len()).rev() {
            if revents[2 + i].is_empty() {
                continue;
            }
            match socket::recv(attachers[i].as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(n) if n > 0 => {
                    if let (KEYS, Some(stdin)) = (buf[0], &stdin) {
                        // EPIPE: nobody reads the container's stdin any more
                        // (it is ending); what was sent is lost, as in docker.
                        let _ = super::relay::write_all(stdin.as_fd(), &buf[1..n]);
                    }
                }
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                // The attacher left (or its input ended and it closed).
                _ => {
                    attachers.remove(i);
                    if once {
                        // The container reads EOF.
                        stdin = None;
                    }
                }
            }
        }
        if !revents[1].is_empty() {
            if let Ok(fd) =
                socket::accept4(listener.as_fd().as_raw_fd(), socket::SockFlag::SOCK_CLOEXEC)
            {
                // SAFETY: accept4 returned a new descriptor we own.
                attachers.push(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) });
            }
        }
    }
}
