//! Who looks after a container while it lives and while it is torn down:
//! its `casulo run` in the foreground, or its supervisor (`-d`, `start`).
//!
//! The container's init ends before its keeper is done with it: the keeper
//! still reaps it, stops its port proxy, releases its address, removes its
//! cgroup, writes how it ended and flushes its log (and, with `--rm`,
//! removes it). Until then the container is not "exited" for the other
//! verbs, or a `casulo rm` straight after the end would remove its
//! directory under the keeper's feet and return with its cgroup still
//! there.
//!
//! The keeper holds an exclusive `flock(2)` on the directory
//! `containers/<id>/` itself from before the container starts until it has
//! finished with it. The kernel lets the lock go when the keeper exits, even
//! killed with SIGKILL, so a held lock always means a live keeper (no pid
//! to go stale). Its descriptor is close-on-exec: the container's command
//! never holds it. (A directory takes a `flock` as a file does; until 4/12
//! the lock was a file of its own, `keeper.lock`: one inode made and
//! removed per run, ~0.2 ms on an ext4 churned by runs, #19. A keeper of
//! an older casulo still running holds that file: it is looked at too.)

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use super::RunError;

/// The lock file of the keepers of casulo before 4/12 (see the module docs).
const OLD_LOCK: &str = "keeper.lock";

/// The lock, held until dropped (or the process ends).
pub struct Keeper {
    _lock: File,
}

/// Becomes the keeper of the container in `dir`, waiting for an earlier
/// keeper (a supervisor still tearing down its last run) to finish.
pub fn hold(dir: &Path) -> Result<Keeper, RunError> {
    let file = open_dir(dir)
        .map_err(|e| RunError::io("não consegui abrir a trava do contêiner", dir, e))?;
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(Keeper { _lock: file });
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(RunError::io("não consegui travar o contêiner", dir, e));
        }
    }
}

/// Is a live keeper looking after the container in `dir` right now?
pub fn is_kept(dir: &Path) -> bool {
    let held = |file: File| {
        // SAFETY: flock on a descriptor we own; a lock we get goes with `file`.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) != 0 }
    };
    open_dir(dir).is_ok_and(held) || File::open(dir.join(OLD_LOCK)).is_ok_and(held)
}

/// The container's directory, opened to be locked (close-on-exec, as
/// every std open).
fn open_dir(dir: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)
}

/// Waits until nobody keeps the container in `dir` or `done_early` says
/// there is no need to wait any more (looked at every few milliseconds), at
/// most `limit`; true if it was not kept any more.
pub fn wait_released(dir: &Path, limit: Duration, mut done_early: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !is_kept(dir) {
            return true;
        }
        if done_early() || Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Held: kept (for another open of the directory, as another process
    /// sees it); dropped: not kept; a missing dir: not kept; an older
    /// casulo's keeper (its `keeper.lock` held): kept.
    #[test]
    fn a_held_keeper_is_seen_and_its_end_is_waited_for() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(!is_kept(tmp.path()));
        let keeper = hold(tmp.path()).unwrap();
        assert!(is_kept(tmp.path()));
        assert!(!wait_released(
            tmp.path(),
            Duration::from_millis(30),
            || false
        ));
        assert!(!wait_released(tmp.path(), Duration::from_secs(30), || true));
        let dir = tmp.path().to_path_buf();
        let waiter =
            std::thread::spawn(move || wait_released(&dir, Duration::from_secs(30), || false));
        std::thread::sleep(Duration::from_millis(20));
        drop(keeper);
        assert!(waiter.join().unwrap());
        assert!(!is_kept(tmp.path()));
        assert!(!tmp.path().join(OLD_LOCK).exists(), "no lock file made");
        assert!(!is_kept(&tmp.path().join("nao-existe")));

        let old = File::create(tmp.path().join(OLD_LOCK)).unwrap();
        assert!(!is_kept(tmp.path()));
        // SAFETY: flock on a descriptor we own.
        assert_eq!(unsafe { libc::flock(old.as_raw_fd(), libc::LOCK_EX) }, 0);
        assert!(is_kept(tmp.path()));
        drop(old);
        assert!(!is_kept(tmp.path()));
    }
}
