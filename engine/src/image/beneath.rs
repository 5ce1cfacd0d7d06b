//! Walking a directory tree someone else controls, through file
//! descriptors, never by name.
//!
//! A build context, a container's upper dir, an image layer: another
//! process (or the author of the files) may change them while we read. A
//! check on a path (`lstat` says "directory") followed by a use of the same
//! path (`read_dir`, `open`) is a race: between the two, the directory can
//! become a symlink to `/etc` and the use reads the host (CVE-2018-15664,
//! `docker cp`). So here:
//!
//! - a tree is opened **once**: [`Node::open_root`] gives an `O_PATH` fd;
//! - every step down is `openat2(fd, name, O_PATH | O_NOFOLLOW)` with
//!   `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`: a
//!   symlink is opened *as a symlink* (its text read with `readlinkat(fd,
//!   "")`), never followed, and nothing leaves the tree;
//! - what a node *is* comes from `fstat` of its own fd, and its contents
//!   are read from that same object: a directory is listed by reopening
//!   `"."` relative to its fd, a regular file is reopened for reading
//!   through `/proc/self/fd/N` (the very inode we checked, whatever its
//!   name points to now).
//!
//! A name swapped after we opened it changes nothing we read: we hold the
//! object, not the name. Written by hand (a small `cap-std`): the calls
//! themselves are the lesson.

use std::ffi::{CString, OsString};
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};

/// One object of a tree: an `O_PATH` fd and what `fstat` said about it.
#[derive(Debug)]
pub struct Node {
    fd: OwnedFd,
    meta: fs::Metadata,
}

/// Resolution that never follows a symlink nor leaves the starting fd.
fn no_follow() -> ResolveFlag {
    ResolveFlag::RESOLVE_BENEATH
        | ResolveFlag::RESOLVE_NO_SYMLINKS
        | ResolveFlag::RESOLVE_NO_MAGICLINKS
}

fn openat2(dir: BorrowedFd<'_>, rel: &Path, how: OpenHow) -> Result<OwnedFd, Errno> {
    loop {
        match nix::fcntl::openat2(dir, rel, how) {
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

impl Node {
    fn from_fd(fd: OwnedFd) -> io::Result<Node> {
        let file = File::from(fd);
        let meta = file.metadata()?;
        Ok(Node {
            fd: file.into(),
            meta,
        })
    }

    /// Opens the top of a tree (a path we chose or the user typed: it may
    /// itself go through symlinks).
    pub fn open_root(path: &Path) -> io::Result<Node> {
        let how = OpenHow::new().flags(OFlag::O_PATH | OFlag::O_CLOEXEC);
        let fd = openat2(nix::fcntl::AT_FDCWD.as_fd(), path, how)?;
        Node::from_fd(fd)
    }

    /// `rel` below this directory, never following a symlink on the way nor
    /// at the end (a final symlink is opened as itself). `ELOOP`: a
    /// component on the way is a symlink; `ENOTDIR`: it is not a directory.
    pub fn open(&self, rel: &Path) -> Result<Node, Errno> {
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
            .resolve(no_follow());
        let fd = openat2(self.fd.as_fd(), rel, how)?;
        Node::from_fd(fd).map_err(errno)
    }

    /// `rel` below this directory, following the symlinks it meets only
    /// while they stay below it (`RESOLVE_BENEATH`: an absolute one or a
    /// `..` that climbs out is `EXDEV`). For a name a user wrote (`COPY
    /// link.txt`), as docker resolves it.
    pub fn open_following_beneath(&self, rel: &Path) -> Result<Node, Errno> {
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let fd = openat2(self.fd.as_fd(), rel, how)?;
        Node::from_fd(fd).map_err(errno)
    }

    pub fn meta(&self) -> &fs::Metadata {
        &self.meta
    }

    pub fn is_dir(&self) -> bool {
        self.meta.is_dir()
    }

    pub fn is_file(&self) -> bool {
        self.meta.is_file()
    }

    pub fn is_symlink(&self) -> bool {
        self.meta.file_type().is_symlink()
    }

    /// An overlayfs whiteout: a `0:0` character device.
    pub fn is_whiteout(&self) -> bool {
        self.meta.file_type().is_char_device() && self.meta.rdev() == 0
    }

    /// Where this object really is now (for messages and for matching
    /// `.dockerignore` patterns: never opened again by this name).
    pub fn real_path(&self) -> io::Result<PathBuf> {
        fs::read_link(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
    }

    /// The directory itself, open for reading (`openat(fd, ".")`).
    fn open_dir(&self) -> io::Result<OwnedFd> {
        let how = OpenHow::new()
            .flags(OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
            .resolve(no_follow());
        Ok(openat2(self.fd.as_fd(), Path::new("."), how)?)
    }

    /// The names in this directory, sorted (no `.` nor `..`). Listed
    /// through `/proc/self/fd/N`: the directory we hold, not a name.
    pub fn names(&self) -> io::Result<Vec<OsString>> {
        if !self.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        let mut names = Vec::new();
        for entry in fs::read_dir(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))? {
            names.push(entry?.file_name());
        }
        names.sort();
        Ok(names)
    }

    /// The child `name` of this directory (never followed if a symlink).
    pub fn child(&self, name: &std::ffi::OsStr) -> Result<Node, Errno> {
        self.open(Path::new(name))
    }

    /// This regular file, open for reading: the same inode we checked.
    pub fn reopen_file(&self) -> io::Result<File> {
        if !self.is_file() {
            return Err(io::Error::other("não é um arquivo regular"));
        }
        let file = File::open(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))?;
        let now = file.metadata()?;
        if now.ino() != self.meta.ino() || now.dev() != self.meta.dev() {
            return Err(io::Error::other("o arquivo mudou ao ser reaberto"));
        }
        Ok(file)
    }

    /// The text of this symlink (`readlinkat(fd, "")`).
    pub fn link_target(&self) -> io::Result<PathBuf> {
        let mut buf = vec![0u8; libc::PATH_MAX as usize];
        let empty = CString::default();
        // SAFETY: a valid fd, a NUL-terminated empty path and a buffer of buf.len() bytes.
        let n = unsafe {
            libc::readlinkat(
                self.fd.as_raw_fd(),
                empty.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        buf.truncate(n as usize);
        Ok(PathBuf::from(OsString::from_vec(buf)))
    }

    /// Whether this directory carries overlayfs's opaque mark
    /// (`trusted.overlay.opaque = y`).
    pub fn is_opaque(&self) -> bool {
        self.open_dir()
            .is_ok_and(|dir| super::overlay::is_opaque(dir.as_fd()))
    }

    /// The whole content of this regular file, refused past `max` bytes
    /// (`what` names it in the pt-BR message).
    pub fn read_capped(&self, max: u64, what: &str) -> io::Result<Vec<u8>> {
        let file = self.reopen_file()?;
        let mut bytes = Vec::new();
        file.take(max + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > max {
            return Err(io::Error::other(too_big(what, max)));
        }
        Ok(bytes)
    }
}

/// `"{what} passa do limite de N MiB"`.
pub fn too_big(what: &str, max: u64) -> String {
    format!(
        "{what} passa do limite de {} ({max} bytes): o casulo não lê arquivos desse tamanho aqui",
        human(max)
    )
}

fn human(bytes: u64) -> String {
    if bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

fn errno(e: io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// `name` as a C-free byte view, for joining relative paths in messages.
pub fn join(rel: &str, name: &std::ffi::OsStr) -> String {
    let name = String::from_utf8_lossy(name.as_bytes());
    if rel.is_empty() {
        name.into_owned()
    } else {
        format!("{rel}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beneath_walk_never_follows_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        fs::create_dir_all(t.join("arvore/sub")).unwrap();
        fs::create_dir_all(t.join("fora")).unwrap();
        fs::write(t.join("fora/segredo"), "host").unwrap();
        fs::write(t.join("arvore/sub/a"), "a").unwrap();
        std::os::unix::fs::symlink(t.join("fora"), t.join("arvore/link")).unwrap();
        let root = Node::open_root(&t.join("arvore")).unwrap();
        assert_eq!(root.names().unwrap(), ["link", "sub"]);
        let link = root.child("link".as_ref()).unwrap();
        assert!(link.is_symlink());
        assert_eq!(link.link_target().unwrap(), t.join("fora"));
        // Through the symlink: refused, never the host file.
        assert_eq!(
            root.open(Path::new("link/segredo")).unwrap_err(),
            Errno::ELOOP
        );
        assert_eq!(
            root.open_following_beneath(Path::new("link/segredo"))
                .unwrap_err(),
            Errno::EXDEV
        );
        let a = root.open(Path::new("sub/a")).unwrap();
        // The name swapped after the open: the fd still reads what we checked.
        fs::rename(t.join("arvore/sub/a"), t.join("arvore/sub/b")).unwrap();
        fs::copy(t.join("fora/segredo"), t.join("arvore/sub/a")).unwrap();
        assert_eq!(a.read_capped(10, "a").unwrap(), b"a");
        let e = a.read_capped(0, "o arquivo a").unwrap_err().to_string();
        assert!(e.contains("o arquivo a passa do limite"), "{e}");
    }
}
