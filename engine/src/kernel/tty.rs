//! The pseudo-terminal calls of the facade (`run -t`, see
//! `terminal`): the init opens its terminal (`process.tty`
//! `open`), casulo forwards the window's new sizes (`process.tty` `resize`).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use casulo_trace::{EventBody, TtyAction};

use super::types::WindowSize;
use super::{Kernel, KernelError};

impl Kernel<'_> {
    /// In the init, after `setsid`: a new pty from the container's
    /// `/dev/ptmx`, its window set to `size` (unless unknown), the slave
    /// made the controlling terminal and stdin, stdout and stderr. Returns
    /// the master (for casulo) and the slave's path; the slave's own
    /// descriptor is closed (0, 1 and 2 hold it).
    pub fn open_terminal(&self, size: WindowSize) -> Result<(OwnedFd, String), KernelError> {
        let mut op = "open(\"/dev/ptmx\", O_RDWR|O_NOCTTY|O_CLOEXEC)".to_string();
        let opened = self.sys.open_pty();
        let (master, slave, path) = match opened {
            Ok(pty) => pty,
            Err(errno) => {
                let body = tty_body(TtyAction::Open, String::new(), size);
                return self.done(body, op, Err(errno));
            }
        };
        op.push_str(&format!(" → {path}"));
        let mut result = Ok(());
        if !size.is_unknown() {
            op.push_str(&format!(
                "; ioctl(TIOCSWINSZ, {{ws_row={}, ws_col={}}})",
                size.rows, size.cols
            ));
            result = self
                .sys
                .set_window_size(slave.as_fd(), size.rows, size.cols);
        }
        if result.is_ok() {
            op.push_str("; ioctl(TIOCSCTTY, 0); dup2 → 0, 1, 2");
            result = self.sys.take_terminal(slave.as_fd());
        }
        drop(slave);
        let body = tty_body(TtyAction::Open, path.clone(), size);
        self.done(body, op, result).map(|()| (master, path))
    }

    /// casulo, when its window changed (`SIGWINCH`): the new size on the
    /// master; the kernel tells the container's foreground process group
    /// with a `SIGWINCH` of its own.
    pub fn resize_terminal(
        &self,
        master: BorrowedFd,
        path: &str,
        size: WindowSize,
    ) -> Result<(), KernelError> {
        let op = format!(
            "ioctl(master, TIOCSWINSZ, {{ws_row={}, ws_col={}}})",
            size.rows, size.cols
        );
        let result = self.sys.set_window_size(master, size.rows, size.cols);
        let body = tty_body(TtyAction::Resize, path.to_string(), size);
        self.done(body, op, result)
    }
}

fn tty_body(action: TtyAction, path: String, size: WindowSize) -> EventBody {
    EventBody::ProcessTty {
        action,
        path,
        rows: size.rows,
        cols: size.cols,
    }
}
