//! Who is using a container's cgroup, for `casulo gc`.
//!
//! An empty cgroup is not always an orphan: the casulo that made it may be
//! about to move the container's first process in, or to remove it. gc
//! cannot tell by age: a cgroup directory's times are not its creation
//! time (cgroupfs is a kernfs: an inode evicted from the cache comes back
//! with the time of the lookup that brought it back, so an orphan can look
//! seconds old forever). So the casulo that creates a container's cgroup
//! holds an exclusive `flock(2)` on `/run/casulo/cgroups/<id>.lock` from
//! before the `mkdir` until the cgroup is gone; the kernel drops the lock
//! when that casulo ends, SIGKILL included. An empty cgroup whose lock is
//! free is an orphan. (The lock file is casulo's own bookkeeping, like the
//! network leases, and not a trace event.)

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Where the lock files live (host-wide, like `/run/casulo/net`).
pub const DIR: &str = "/run/casulo/cgroups";

/// The held lock of one container's cgroup; dropping it removes the file.
#[derive(Debug)]
pub struct Owner {
    path: PathBuf,
    _file: File,
}

impl Drop for Owner {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn lock_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.lock"))
}

/// Takes the lock of cgroup `id` (before its `mkdir`). `None` when it
/// cannot be taken (no writable `/run`): then gc falls back to the age of
/// the directory, as before.
pub fn claim(dir: &Path, id: &str) -> Option<Owner> {
    crate::state::create_private_dir_all(dir).ok()?;
    let path = lock_path(dir, id);
    let file = crate::state::private_file_options()
        .create(true)
        .open(&path)
        .ok()?;
    // SAFETY: flock on a descriptor we own.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    locked.then_some(Owner { path, _file: file })
}

/// What gc knows of cgroup `id`'s user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A live casulo holds the lock.
    Held,
    /// The lock file is there and free: its casulo ended without removing it.
    Abandoned,
    /// No lock file (made by an older casulo, or without `/run`).
    Unknown,
}

pub fn check(dir: &Path, id: &str) -> Use {
    let Ok(file) = File::open(lock_path(dir, id)) else {
        return Use::Unknown;
    };
    // SAFETY: flock on a descriptor we own; released when `file` drops.
    match unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } {
        0 => Use::Abandoned,
        _ => Use::Held,
    }
}

/// Removes the lock file of an orphan gc removed.
pub fn forget(dir: &Path, id: &str) {
    let _ = std::fs::remove_file(lock_path(dir, id));
}

/// Removes the free lock files whose cgroup is gone (`exists(id)` false):
/// what a casulo killed after its `rmdir` left.
pub fn forget_abandoned(dir: &Path, exists: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".lock") {
            if check(dir, id) == Use::Abandoned && !exists(id) {
                forget(dir, id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_seen_and_an_abandoned_one_too() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(check(tmp.path(), "abc"), Use::Unknown);
        let owner = claim(tmp.path(), "abc").expect("claimed");
        assert_eq!(check(tmp.path(), "abc"), Use::Held);
        assert!(claim(tmp.path(), "abc").is_none(), "one owner");
        // A killed owner: the file stays, the lock goes with its descriptor.
        std::mem::forget(std::fs::File::create(tmp.path().join("dead.lock")).unwrap());
        assert_eq!(check(tmp.path(), "dead"), Use::Abandoned);
        drop(owner);
        assert_eq!(check(tmp.path(), "abc"), Use::Unknown, "removed on drop");
    }
}
