//! Namespaces: which ones a container gets, and how to see them.
//!
//! A namespace is identified by the inode of `/proc/<pid>/ns/<kind>`: two
//! processes are in the same namespace exactly when those inodes are equal
//! (that is what `lsns` and the tests compare).
//!
//! Casulo's order, as runc's: `clone` creates the pid, mount, UTS, IPC and
//! network namespaces together with the container's first process; that
//! process then `unshare`s its cgroup namespace *after* the parent has put
//! it in its cgroup, so `/proc/self/cgroup` inside shows `/`.

use casulo_trace::NsKind;

/// Created by `clone` with the container's init.
pub const CLONED: [NsKind; 5] = [
    NsKind::Pid,
    NsKind::Mnt,
    NsKind::Uts,
    NsKind::Ipc,
    NsKind::Net,
];

/// [`CLONED`], and first a user namespace with `--userns`: created by the
/// same `clone`, the kernel makes it first, so it owns all the others.
pub fn cloned(userns: bool) -> Vec<NsKind> {
    let mut kinds = Vec::with_capacity(CLONED.len() + 1);
    if userns {
        kinds.push(NsKind::User);
    }
    kinds.extend(CLONED);
    kinds
}

/// Created by the init itself with `unshare`, once it is in its cgroup.
pub const UNSHARED: [NsKind; 1] = [NsKind::Cgroup];

/// Inode of `/proc/<pid>/ns/<kind>` (`pid` 0 means the calling process);
/// in the facade, which records it with every `namespace.create`.
pub use crate::kernel::namespace_inode as inode;
