//! The console socket (runc's `--console-socket`): the init opens the pty
//! inside the container and hands the master to casulo.
//!
//! A unix socket pair made before the `clone`; the init's end is
//! close-on-exec, so if the init dies (or `exec`s) without sending, casulo
//! reads end-of-file instead of waiting forever. The message carries the
//! master as `SCM_RIGHTS` and, as its bytes, the slave's path.

use std::os::fd::{AsFd, OwnedFd};

use super::WindowSize;
use crate::kernel::{Kernel, KernelError};

/// What the init gets across the `clone` to open its terminal.
pub struct Request {
    /// The init's end of the console socket.
    pub socket: OwnedFd,
    /// The window size to start with (the user's).
    pub size: WindowSize,
}

/// The container's terminal, seen from casulo.
#[derive(Debug)]
pub struct Console {
    pub master: OwnedFd,
    /// The slave's path inside the container (`/dev/pts/0`).
    pub path: String,
    /// The size the init set.
    pub size: WindowSize,
}

/// (casulo's end, the init's end), both close-on-exec.
pub fn channel() -> std::io::Result<(OwnedFd, OwnedFd)> {
    crate::fd_channel::pair()
}

/// Why the init could not give the container its terminal.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("não consegui abrir o terminal do contêiner: {0}")]
    Kernel(#[from] KernelError),
    #[error("não consegui entregar o terminal do contêiner ao casulo: {0}")]
    Send(std::io::Error),
}

/// In the init (a session leader since `setsid`), before `exec`: open the
/// pty, take it as terminal and stdio, send the master to casulo. The
/// init keeps no descriptor of the master: only casulo reads the keys.
pub fn open_in_init(k: &Kernel, request: Request) -> Result<(), OpenError> {
    let (master, path) = k.open_terminal(request.size)?;
    crate::fd_channel::send(request.socket.as_fd(), master.as_fd(), path.as_bytes())
        .map_err(OpenError::Send)?;
    Ok(())
}

/// In casulo, once the init reported its `exec`: the master and the path.
pub fn receive(socket: &OwnedFd, size: WindowSize) -> std::io::Result<Console> {
    let mut bytes = [0u8; 128];
    let (master, len) =
        crate::fd_channel::receive(socket.as_fd(), &mut bytes)?.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "o init do contêiner não mandou o terminal",
            )
        })?;
    let path = String::from_utf8_lossy(&bytes[..len]).into_owned();
    Ok(Console { master, path, size })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::double::FakeSyscalls;
    use crate::recorder::Recorder;

    /// The init's side on the double (a pty is opened, sized, taken, and
    /// its master arrives with the path); one `process.tty` event.
    #[test]
    fn the_master_and_the_path_cross_the_socket() {
        let (ours, theirs) = channel().unwrap();
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let size = WindowSize { rows: 24, cols: 80 };
        open_in_init(
            &Kernel::new(&sys, &rec),
            Request {
                socket: theirs,
                size,
            },
        )
        .unwrap();
        assert_eq!(
            sys.calls(),
            ["open_pty", "set_window_size 24x80", "take_terminal"]
        );
        let events = rec.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].body.kind(), "process.tty");
        assert!(events[0].op.contains("TIOCSCTTY"), "{}", events[0].op);
        let console = receive(&ours, size).unwrap();
        assert_eq!(console.path, "/dev/pts/0");
    }

    /// An init that dies without sending: end-of-file, not a hang.
    #[test]
    fn a_closed_socket_is_an_error() {
        let (ours, theirs) = channel().unwrap();
        drop(theirs);
        assert!(receive(&ours, WindowSize::default()).is_err());
    }

    /// Unknown size (no terminal around casulo): no TIOCSWINSZ.
    #[test]
    fn an_unknown_size_is_not_set() {
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        Kernel::new(&sys, &rec)
            .open_terminal(WindowSize::default())
            .unwrap();
        assert_eq!(sys.calls(), ["open_pty", "take_terminal"]);
    }
}
