//! Extended attributes of a layer entry: which ones pass ([`allowed_xattr`]),
//! read from the tar (`SCHILY.xattr.*`) and copied from file to file.

use super::*;

/// Copies the extended attributes of `src` to `dst` that [`allowed_xattr`]
/// lets through (never overlayfs's own `trusted.overlay.*`, which describe
/// the layer, not the file).
pub(super) fn copy_xattrs(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: a NULL buffer of size 0 asks for the size.
    let size = unsafe { libc::flistxattr(src.as_raw_fd(), std::ptr::null_mut(), 0) };
    if size <= 0 {
        return Ok(());
    }
    let mut names = vec![0u8; size as usize];
    // SAFETY: a live buffer of names.len() bytes.
    let size = unsafe { libc::flistxattr(src.as_raw_fd(), names.as_mut_ptr().cast(), names.len()) };
    if size < 0 {
        return Err(io::Error::last_os_error());
    }
    names.truncate(size as usize);
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        if !allowed_xattr(name) {
            continue;
        }
        let c_name = CString::new(name).expect("split at NUL");
        // SAFETY: NULL buffer of size 0 asks for the value's size.
        let len =
            unsafe { libc::fgetxattr(src.as_raw_fd(), c_name.as_ptr(), std::ptr::null_mut(), 0) };
        if len < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut value = vec![0u8; len as usize];
        // SAFETY: a live buffer of value.len() bytes.
        let len = unsafe {
            libc::fgetxattr(
                src.as_raw_fd(),
                c_name.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if len < 0 {
            return Err(io::Error::last_os_error());
        }
        value.truncate(len as usize);
        set_xattr_fd(dst, name, &value)?;
    }
    Ok(())
}

/// Whether a layer may set the extended attribute `name`: an allow-list,
/// because an xattr is often a privilege or an instruction to the kernel,
/// not data of the file. Kept: `user.*` (the owner's own data),
/// `security.*` (IMA/EVM signatures, …) and the POSIX ACLs
/// (`system.posix_acl_access`, `system.posix_acl_default`), the ones docker
/// and containerd restore from a layer. Dropped, whatever the layer says:
///
/// - `security.capability`: file capabilities would give a binary of the
///   image capabilities when run, a privilege that, unlike a setuid bit,
///   leaves no trace in `ls -l`;
/// - `security.selinux`: a label of the host that built the layer, not of
///   this one (umoci drops it for the same reason);
/// - `trusted.*`, among them overlayfs's own `trusted.overlay.*`
///   (`opaque`, `redirect`, `origin`, `metacopy`…): they are instructions
///   to overlayfs about the layer directory, which only casulo may write
///   (an opaque directory comes from a `.wh..wh..opq` entry, see
///   "Whiteouts"); a layer carrying one could hide or redirect the files of
///   the layers below;
/// - every other namespace (`system.nfs4_acl`, names casulo does not know).
///
/// Docker and containerd apply every `SCHILY.xattr.*` record they find;
/// umoci ignores the `trusted.overlay.*` ones; casulo keeps only what is
/// known to be data.
pub fn allowed_xattr(name: &[u8]) -> bool {
    if name.starts_with(b"user.") {
        return true;
    }
    if let Some(rest) = name.strip_prefix(b"security.") {
        return !rest.is_empty() && rest != b"capability" && rest != b"selinux";
    }
    name == b"system.posix_acl_access" || name == b"system.posix_acl_default"
}

/// The `SCHILY.xattr.<name>` PAX records of an entry that
/// [`allowed_xattr`] lets through.
pub(super) fn entry_xattrs<R: Read>(
    entry: &mut tar::Entry<'_, R>,
) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    if let Some(extensions) = entry.pax_extensions()? {
        for extension in extensions {
            let extension = extension?;
            if let Some(name) = extension.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                if !allowed_xattr(name) {
                    continue;
                }
                out.push((name.to_vec(), extension.value_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}
