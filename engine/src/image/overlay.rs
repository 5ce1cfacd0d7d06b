//! overlayfs's conventions for an unpacked layer, in one place: a deleted
//! name is a whiteout (a character device 0:0), and a directory that hides
//! everything below it carries the `trusted.overlay.opaque` xattr = `y`.
//! The extractor writes them, the build's stage merge and `casulo diff`
//! read them.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The xattr overlayfs reads to treat a directory as opaque.
pub const OPAQUE_XATTR: &CStr = c"trusted.overlay.opaque";

/// The same in a user namespace (rootless, `crate::rootless`): `trusted.*`
/// needs the host's root, so overlayfs is mounted with `userxattr` and
/// reads `user.overlay.*` instead.
pub const USER_OPAQUE_XATTR: &CStr = c"user.overlay.opaque";

/// The opaque mark this casulo writes and reads: [`OPAQUE_XATTR`], or
/// [`USER_OPAQUE_XATTR`] when rootless.
pub fn opaque_xattr() -> &'static CStr {
    if crate::rootless::active() {
        USER_OPAQUE_XATTR
    } else {
        OPAQUE_XATTR
    }
}

/// Whether the directory open at `fd` carries overlayfs's opaque mark.
pub fn is_opaque(fd: BorrowedFd<'_>) -> bool {
    let mut value = [0u8; 4];
    // SAFETY: a valid fd, a C string and a buffer of value.len() bytes.
    let n = unsafe {
        libc::fgetxattr(
            fd.as_raw_fd(),
            opaque_xattr().as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    n == 1 && value[0] == b'y'
}
