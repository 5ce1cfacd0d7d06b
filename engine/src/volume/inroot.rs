//! Finding a mount target inside the container's root, never outside it.
//!
//! The image decides what the path `/dados` is: a directory, or a symlink
//! to `/tmp/host-dir`, or to `../../../../etc`. Resolved on the host
//! (`merged/dados`), such a link leads out of the rootfs and the mount
//! would cover a host directory (CVE-2021-30465 and kin in runc). So the
//! path is walked **one component at a time through file descriptors**:
//!
//! - each step is `openat2(dir_fd, nome, O_PATH | O_NOFOLLOW)` with
//!   `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`: it cannot leave `dir_fd`;
//! - a symlink found on the way is read (`readlinkat`) and its text is
//!   resolved *as the container would*: an absolute one restarts from the
//!   container's root, `..` stops at the root (the kernel's own
//!   `RESOLVE_IN_ROOT` rule, done by hand so missing directories can be
//!   created on the way, as docker does for a new mount point);
//! - the result is an `O_PATH` fd of the target; the mount is then made on
//!   `/proc/self/fd/N` — that very inode, whatever its name points to later.
//!
//! Written by hand (a tiny `filepath-securejoin`/`libpathrs`): the walk is the lesson.
//! A candidate to share with `mounts.rs` (proc, sys, dev targets) at merge.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{Mode, SFlag};

/// Symlinks followed before giving up (the kernel's own limit).
const MAX_LINKS: usize = 40;

/// What to create at the end of the path when it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Last {
    Dir,
    File,
    /// Nothing: the target must exist.
    Existing,
}

/// Opens `target` (absolute, as seen in the container) inside the
/// directory `root`, creating missing directories (and, with
/// [`Last::File`], an empty file at the end). Returns an `O_PATH` fd.
pub fn open_in_root(root: &Path, target: &str, last: Last) -> io::Result<OwnedFd> {
    let root_fd = nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut pending: VecDeque<OsString> = components(target.as_bytes());
    let mut links = 0;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            stack.pop(); // at the root, `..` is the root
            continue;
        }
        let at_end = pending.is_empty();
        let cur = stack.last().unwrap_or(&root_fd);
        match step(cur, &name) {
            Ok(fd) => {
                let st = nix::sys::stat::fstat(&fd)?;
                let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
                if kind == SFlag::S_IFLNK {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(Errno::ELOOP.into());
                    }
                    let text = nix::fcntl::readlinkat(&fd, "")?;
                    if text.as_bytes().starts_with(b"/") {
                        stack.clear();
                    }
                    let mut rest = components(text.as_bytes());
                    rest.extend(pending.drain(..));
                    pending = rest;
                } else if kind == SFlag::S_IFDIR {
                    stack.push(fd);
                } else if at_end {
                    return Ok(fd);
                } else {
                    return Err(Errno::ENOTDIR.into());
                }
            }
            Err(Errno::ENOENT) => {
                // Create it in `cur` (never through a name: mkdirat/openat
                // on the fd), then look at it again.
                let file = at_end && last == Last::File;
                match last {
                    Last::Existing => return Err(Errno::ENOENT.into()),
                    _ if file => {
                        nix::fcntl::openat(
                            cur,
                            name.as_os_str(),
                            OFlag::O_CREAT
                                | OFlag::O_EXCL
                                | OFlag::O_NOFOLLOW
                                | OFlag::O_WRONLY
                                | OFlag::O_CLOEXEC,
                            Mode::from_bits_truncate(0o644),
                        )
                        .map(drop)
                        .or_else(ignore_exists)?;
                    }
                    _ => {
                        nix::sys::stat::mkdirat(
                            cur,
                            name.as_os_str(),
                            Mode::from_bits_truncate(0o755),
                        )
                        .or_else(ignore_exists)?;
                    }
                }
                pending.push_front(name);
            }
            Err(e) => return Err(e.into()),
        }
    }
    match stack.pop() {
        Some(fd) => Ok(fd),
        // Everything resolved to the root itself (`/x -> /`): never mount over it.
        None => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "o destino aponta para a raiz do contêiner",
        )),
    }
}

/// Someone (an earlier mount, the image) made it already: look again.
fn ignore_exists(e: Errno) -> Result<(), Errno> {
    match e {
        Errno::EEXIST => Ok(()),
        e => Err(e),
    }
}

/// One step down from `dir`: never follows a symlink, never leaves `dir`.
fn step(dir: &OwnedFd, name: &OsStr) -> Result<OwnedFd, Errno> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
        .resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        );
    loop {
        match nix::fcntl::openat2(dir.as_fd(), name, how) {
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

fn components(path: &[u8]) -> VecDeque<OsString> {
    path.split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(|c| OsStr::from_bytes(c).to_os_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn real(fd: &OwnedFd) -> std::path::PathBuf {
        std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap()
    }

    #[test]
    fn symlinks_resolve_inside_the_root_and_missing_dirs_are_made_there() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let host = tmp.path().join("host-dir");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(&host).unwrap();
        // Hostile image: absolute and relative links that point "out".
        std::os::unix::fs::symlink(&host, root.join("dados")).unwrap();
        std::os::unix::fs::symlink("../../../../host-dir", root.join("rel")).unwrap();
        std::os::unix::fs::symlink("/", root.join("raiz")).unwrap();

        let fd = open_in_root(&root, "/dados", Last::Dir).unwrap();
        let inside = root.join(host.strip_prefix("/").unwrap());
        assert_eq!(real(&fd), inside);
        let fd = open_in_root(&root, "/rel/sub", Last::Dir).unwrap();
        assert_eq!(real(&fd), root.join("host-dir/sub"));
        let fd = open_in_root(&root, "/etc/arq", Last::File).unwrap();
        assert!(root.join("etc/arq").is_file());
        drop(fd);
        assert!(open_in_root(&root, "/raiz", Last::Dir).is_err());
        assert!(open_in_root(&root, "/nao/existe", Last::Existing).is_err());
        assert_eq!(
            std::fs::read_dir(&host).unwrap().count(),
            0,
            "nada criado no host"
        );
        std::os::unix::fs::symlink("laco", root.join("laco")).unwrap();
        assert!(open_in_root(&root, "/laco", Last::Dir).is_err());
    }
}
