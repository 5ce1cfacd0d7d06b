//! The fd-relative file-system calls of the extractor: every path is opened
//! below a directory fd (`openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`),
//! and the final component is made with the `*at` calls, never by a path string.

use super::*;

/// Resolution that cannot leave the layer directory nor follow a symlink.
pub(super) fn resolve_flags() -> ResolveFlag {
    ResolveFlag::RESOLVE_BENEATH
        | ResolveFlag::RESOLVE_NO_SYMLINKS
        | ResolveFlag::RESOLVE_NO_MAGICLINKS
        | ResolveFlag::RESOLVE_NO_XDEV
}

pub(super) fn open_root(dest: &Path) -> io::Result<OwnedFd> {
    let how = OpenHow::new().flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC);
    Ok(nix::fcntl::openat2(nix::fcntl::AT_FDCWD, dest, how)?)
}

/// `openat2` below `root`, never following a symlink nor leaving it.
pub(super) fn open_beneath(
    root: BorrowedFd<'_>,
    rel: &Path,
    flags: OFlag,
) -> Result<OwnedFd, Errno> {
    let rel: &Path = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(resolve_flags());
    loop {
        match nix::fcntl::openat2(root, rel, how) {
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

pub(super) fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL no nome"))
}

pub(super) fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `fstatat(AT_SYMLINK_NOFOLLOW)`: the file type at `name`, if any.
pub(super) fn lstat_at(dir: BorrowedFd<'_>, name: &CString) -> io::Result<Option<libc::mode_t>> {
    // SAFETY: stat is plain data filled by the kernel; name is NUL-terminated.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc == 0 {
        Ok(Some(st.st_mode & libc::S_IFMT))
    } else {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::ENOENT) {
            Ok(None)
        } else {
            Err(e)
        }
    }
}

/// `fstatat(AT_SYMLINK_NOFOLLOW)`, the whole stat, if `name` exists.
pub(super) fn stat_at(dir: BorrowedFd<'_>, name: &CString) -> io::Result<Option<libc::stat>> {
    // SAFETY: stat is plain data filled by the kernel; name is NUL-terminated.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc == 0 {
        return Ok(Some(st));
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENOENT) {
        Ok(None)
    } else {
        Err(e)
    }
}

/// Creates `name` in `dir` as a new, empty file (mode 0600 until the
/// entry's own mode is set): `O_CREAT|O_EXCL|O_NOFOLLOW` never opens an
/// existing file or follows a link a layer planted there.
pub(super) fn create_new_at(dir: BorrowedFd<'_>, name: &CString) -> io::Result<File> {
    // SAFETY: valid fd, NUL-terminated name.
    let raw = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a new fd we own.
    Ok(unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(raw) })
}

/// Copies the content of a GNU sparse entry, leaving every all-zero block
/// as a hole (a `seek` instead of a `write`), as `tar -x --sparse` and the
/// tar crate's own `unpack` do: the file has its declared size but only
/// its data takes disk space. (Docker and containerd write sparse entries
/// out densely, holes as zeros; their size is counted by [`Budget`]
/// either way.) Returns the bytes of content, holes included.
pub(super) fn copy_sparse<R: Read>(from: &mut R, to: &mut File) -> io::Result<u64> {
    const BLOCK: usize = 4096;
    static ZEROS: [u8; BLOCK] = [0; BLOCK];
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for block in buf[..n].chunks(BLOCK) {
            if block == &ZEROS[..block.len()] {
                to.seek(io::SeekFrom::Current(block.len() as i64))?;
            } else {
                to.write_all(block)?;
            }
        }
        total += n as u64;
    }
    // A hole at the end is made by the length alone.
    to.set_len(total)?;
    Ok(total)
}

/// Removes what is at `name` unless it is a directory (then an error):
/// a later entry replaces an earlier one, as in `tar -x`.
pub(super) fn remove_non_dir(dir: BorrowedFd<'_>, name: &CString) -> io::Result<()> {
    match lstat_at(dir, name)? {
        None => Ok(()),
        Some(libc::S_IFDIR) => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "já existe um diretório com esse nome na camada",
        )),
        // SAFETY: unlinkat with a valid fd and NUL-terminated name.
        Some(_) => check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) }),
    }
}

pub(super) fn set_times_at(dir: BorrowedFd<'_>, name: &CString, mtime: u64) -> io::Result<()> {
    let ts = libc::timespec {
        tv_sec: mtime as _, // time_t, whose alias musl's libc deprecates
        tv_nsec: 0,
    };
    let times = [ts, ts];
    // SAFETY: valid fd, NUL-terminated name, two timespecs.
    check(unsafe {
        libc::utimensat(
            dir.as_raw_fd(),
            name.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
}

pub(super) fn set_times_fd(fd: BorrowedFd<'_>, mtime: u64) -> io::Result<()> {
    let ts = libc::timespec {
        tv_sec: mtime as _, // time_t, whose alias musl's libc deprecates
        tv_nsec: 0,
    };
    let times = [ts, ts];
    // SAFETY: valid fd and two timespecs.
    check(unsafe { libc::futimens(fd.as_raw_fd(), times.as_ptr()) })
}

pub(super) fn set_xattr_fd(fd: BorrowedFd<'_>, name: &[u8], value: &[u8]) -> io::Result<()> {
    let c_name = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL no nome do xattr"))?;
    // SAFETY: valid fd, NUL-terminated name, a live slice of value.len() bytes.
    check(unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            c_name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
}

/// `fchown` then `fchmod` (chown clears setuid/setgid, so it goes first).
pub(super) fn set_owner_mode_fd(
    fd: BorrowedFd<'_>,
    as_root: bool,
    uid: u64,
    gid: u64,
    mode: u32,
) -> io::Result<()> {
    if as_root {
        // SAFETY: valid fd.
        check(unsafe { libc::fchown(fd.as_raw_fd(), uid as libc::uid_t, gid as libc::gid_t) })?;
    }
    // SAFETY: valid fd.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), (mode & 0o7777) as libc::mode_t) })
}
