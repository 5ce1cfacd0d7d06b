//! The "new" mount API (Linux 5.2+, idmapped mounts 5.12+): mounts held as
//! file descriptors instead of paths. `--userns` needs it because the
//! idmapped layers and the overlay built on them are made by the host's
//! root (only it may idmap a host filesystem) and handed, as descriptors,
//! to the container's init, which attaches them in its own mount
//! namespace. A detached mount that is never attached goes away with its
//! last descriptor: nothing can be left mounted on the host.
//!
//! Raw `syscall(2)`s: neither nix nor libc wraps them, and the five calls
//! are the lesson (runc and crun make the same ones).

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_SET_FD: libc::c_uint = 5;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 4;

/// `struct mount_attr` of `linux/mount.h`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn cpath(path: &Path) -> Result<CString, Errno> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)
}

fn fd_result(r: libc::c_long) -> Result<OwnedFd, Errno> {
    let fd = Errno::result(r)?;
    // SAFETY: the kernel just returned this new descriptor; we own it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `open_tree(path, OPEN_TREE_CLONE)` then `mount_setattr(MOUNT_ATTR_IDMAP)`
/// with the user namespace `userns`: a detached copy of the mount at
/// `path` through which owners are seen through that namespace's maps.
pub fn idmapped_tree(path: &Path, userns: BorrowedFd) -> Result<OwnedFd, Errno> {
    let c = cpath(path)?;
    // SAFETY: `c` is a valid C string for the call.
    let tree = fd_result(unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            c.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    })?;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    // SAFETY: `attr` lives across the call; its size is passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(r)?;
    Ok(tree)
}

/// An overlay built with `fsopen`/`fsconfig`/`fsmount`: each lower layer
/// given as a mount descriptor (`lowerdir+`, top-most first), the upper
/// and work directories by path. Returns the detached mount.
pub fn overlay_from_fds(
    lowers: &[BorrowedFd],
    upper: &Path,
    work: &Path,
) -> Result<OwnedFd, Errno> {
    // SAFETY: a constant C string.
    let ctx =
        fd_result(unsafe { libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC) })?;
    let config =
        |cmd: libc::c_uint, key: Option<&std::ffi::CStr>, value: *const libc::c_char, aux: i32| {
            // SAFETY: key and value are valid C strings (or NULL) for the call.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_fsconfig,
                    ctx.as_raw_fd(),
                    cmd,
                    key.map_or(std::ptr::null(), |k| k.as_ptr()),
                    value,
                    aux,
                )
            };
            Errno::result(r).map(drop)
        };
    for lower in lowers {
        config(
            FSCONFIG_SET_FD,
            Some(c"lowerdir+"),
            std::ptr::null(),
            lower.as_raw_fd(),
        )?;
    }
    let (u, w) = (cpath(upper)?, cpath(work)?);
    config(FSCONFIG_SET_STRING, Some(c"upperdir"), u.as_ptr(), 0)?;
    config(FSCONFIG_SET_STRING, Some(c"workdir"), w.as_ptr(), 0)?;
    config(FSCONFIG_CMD_CREATE, None, std::ptr::null(), 0)?;
    // SAFETY: integer arguments.
    fd_result(unsafe { libc::syscall(libc::SYS_fsmount, ctx.as_raw_fd(), FSMOUNT_CLOEXEC, 0) })
}

/// `move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)`:
/// attaches a detached mount at `target` in the caller's mount namespace.
pub fn attach(fd: BorrowedFd, target: &Path) -> Result<(), Errno> {
    let t = cpath(target)?;
    // SAFETY: valid C strings for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    Errno::result(r).map(drop)
}
