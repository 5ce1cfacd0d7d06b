//! Safe extraction of a layer tarball into its own directory.
//!
//! A layer comes from outside (a registry, a file a student downloaded), so
//! unpacking it must never write outside `layers/<diff_id>/`. The guarantee
//! comes from the kernel, not from string checks: every path is resolved
//! with `openat2(2)` relative to a file descriptor of the layer directory,
//! with
//!
//! - `RESOLVE_BENEATH`: resolution may never leave that directory (`..`
//!   above it and absolute paths fail with `EXDEV`);
//! - `RESOLVE_NO_SYMLINKS`: no symlink is followed on the way (`ELOOP`), so
//!   a symlink planted by the layer (`evil -> /etc`) can never be written
//!   *through*; symlinks are only ever *created*, as they are;
//! - `RESOLVE_NO_XDEV`: no crossing into another mount.
//!
//! The final component is then created relative to the parent's fd with
//! `mkdirat`, `openat(O_CREAT|O_EXCL|O_NOFOLLOW)`, `symlinkat`, `linkat`
//! (without `AT_SYMLINK_FOLLOW`), `mknodat`, never through a path string.
//! Header checks still run first ([`super::layer::EntryChecker`]) so the
//! student gets a clear error naming the entry (`..`, absolute path, hard
//! link to nowhere) before the kernel would refuse it anyway.
//!
//! # Whiteouts
//!
//! A layer deletes a file of the layers below with an empty entry named
//! `.wh.NAME`, and hides a whole directory below with `DIR/.wh..wh..opq`
//! (OCI image-spec, "Whiteouts"). Overlayfs has its own spelling of the same
//! ideas, and casulo converts while unpacking, so the multi-lower overlay of
//! a container shows exactly the image's final filesystem:
//!
//! - `.wh.NAME` becomes a character device `NAME` with device number 0:0
//!   (`mknodat(S_IFCHR, makedev(0, 0))`);
//! - `.wh..wh..opq` becomes the xattr `trusted.overlay.opaque = "y"` on DIR.
//!
//! Both need root (`CAP_MKNOD`, `CAP_SYS_ADMIN` for `trusted.*`), as running
//! containers does. Each one is listed in [`UnpackStats::whiteouts`], and
//! `casulo run` records a `layer.whiteout` event for it.
//!
//! # Hard links across layers
//!
//! A hard link entry names its target by path. Within one layer the target
//! must come earlier in the tar, and the link is a real hard link (same
//! inode, `nlink` 2). A tar *can* also carry a link whose target lives only
//! in a lower layer (the OCI image-spec allows layers to be applied in
//! order onto the filesystem of the layers below and says union
//! filesystems have limited support for such links; containerd and umoci
//! apply each layer onto a snapshot/rootfs that already holds the lower
//! layers, so the `link(2)` finds the target there). Casulo unpacks each
//! layer into its own directory, and overlayfs cannot hard-link a file of
//! one lowerdir to a name in another, so there are three choices: refuse
//! the image, make a link to nowhere, or copy. Casulo copies, as overlayfs
//! itself does on copy-up and as a diff producer does when the target is
//! unchanged:
//!
//! - the target is looked up as the image's merged filesystem shows it:
//!   this layer first (a whiteout of the target in this same layer makes
//!   the link refused), then the lower layers top-most first, stopping at a
//!   whiteout (`0:0` device) or a non-directory on the way, and below an
//!   opaque directory; a directory target is refused;
//! - the file found (regular file or symlink) is copied to the link's
//!   path with its content, owner, mode (incl. setuid), mtime and xattrs
//!   (those [`allowed_xattr`] keeps: never `trusted.overlay.*`). The
//!   container sees the right content at both names; they are two inodes
//!   (`nlink` 1), which is also what a write through one name would give
//!   after overlayfs's copy-up;
//! - every lookup is an `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`
//!   below the fd of a layer directory, and the final file is opened with
//!   `O_NOFOLLOW`: a link can only ever copy a file of the image's own
//!   layers, never one of the host (a symlink on the way, e.g. a lower
//!   `evil -> /etc` and a link to `evil/shadow`, is refused).
//!
//! What such a layer unpacks to depends on the layers below it, so it
//! cannot be shared by diff_id: the store keeps it under its ChainID
//! (`Store::ensure_layer_over`), which names the layer *and* everything
//! below it. Links to the lower layers are listed in
//! [`UnpackStats::lower_links`]. Archives given to `image load` and rootfs
//! tarballs for `image import` have no layers below: there a link to
//! nowhere is refused as before.
//!
//! # Limits
//!
//! A decompression bomb (a few KiB of gzip that inflate to terabytes) and
//! absurd entry sizes are refused by [`Limits`]: the decompressed stream
//! may not exceed `max_bytes`, nor the layer `max_entries` entries, nor
//! the sizes the entries *declare*, added up, `max_bytes`
//! ([`super::verify::Budget`], checked before an entry is written). The
//! last one is for GNU sparse files: such an entry stores only its data
//! blocks and a map of holes, so a few hundred bytes of tar can declare a
//! 10 GiB file whose holes never pass through the stream limit. Its full
//! size counts, and it is written sparse: holes stay holes, only its data
//! takes disk space (docker and containerd write it out densely; GNU tar
//! and the tar crate's own `unpack` keep it sparse, and casulo follows
//! them).
//!
//! # Other entries
//!
//! Ownership (when running as root), modes including setuid/setgid/sticky
//! (`fchown` before `fchmod`: `chown` clears setuid), mtimes, extended
//! attributes (`SCHILY.xattr.*` on an allow-list, [`allowed_xattr`]:
//! `user.*`, `security.*` but file capabilities and SELinux labels, POSIX
//! ACLs; never `trusted.*`, so never overlayfs's own `trusted.overlay.*`),
//! symlinks, hard links and FIFOs are kept.
//! Setuid files stay setuid: the state dir is `0700`, so only root reaches
//! them (see `state`).
//! Device nodes are skipped and counted ([`UnpackStats::devices_skipped`]):
//! runc and containerd only create them from layers for privileged
//! runtimes; a container gets its `/dev` from the runtime instead.
//! Directory modes and mtimes are applied at the end, deepest first.
//!
//! On any error the half-made directory is removed: nothing is left behind.

use std::ffi::{CString, OsStr};
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use tar::EntryType;

use super::digest::HashReader;
use super::layer::{entry_path, CheckedEntry, Compression, Decoder, EntryChecker, Whiteout};
use super::verify::{self, bad_tar, too_big, Budget, LimitReader};
use super::{ImageError, Layer, UnpackStats};

use super::overlay::is_opaque;
pub use super::overlay::OPAQUE_XATTR;

/// Size limits of one layer.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum bytes of the decompressed tar stream.
    pub max_bytes: u64,
    /// Maximum number of entries.
    pub max_entries: u64,
}

impl Default for Limits {
    /// 32 GiB and 4 million entries: far above any real image layer.
    fn default() -> Self {
        Limits {
            max_bytes: 32 << 30,
            max_entries: 4_000_000,
        }
    }
}

impl Limits {
    /// The defaults, or `CASULO_MAX_LAYER_BYTES` when set (for tests and
    /// small machines).
    pub fn from_env() -> Self {
        let mut limits = Limits::default();
        if let Some(n) = std::env::var("CASULO_MAX_LAYER_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            limits.max_bytes = n;
        }
        limits
    }
}

/// Unpacks the layer blob at `blob` into `dest`, which must not exist yet.
///
/// Verifies the blob digest and size (of the stored bytes) and the diff_id
/// (of the uncompressed tar) while reading; on any error, including a digest
/// mismatch found at the end, `dest` is removed.
pub fn unpack(
    blob: &Path,
    layer: &Layer,
    dest: &Path,
    limits: Limits,
) -> Result<UnpackStats, ImageError> {
    unpack_with_progress(blob, layer, dest, limits, &mut |_| {})
}

/// [`unpack`], calling `progress` with the blob bytes read so far.
pub fn unpack_with_progress(
    blob: &Path,
    layer: &Layer,
    dest: &Path,
    limits: Limits,
    progress: &mut dyn FnMut(u64),
) -> Result<UnpackStats, ImageError> {
    unpack_over(blob, layer, dest, &[], limits, progress)
}

/// [`unpack_with_progress`] for a layer that sits above `lowers` (the
/// already unpacked directories of the layers below it, top-most first): a
/// hard link whose target is not in this layer is resolved in them (see
/// "Hard links across layers" in the module docs).
pub fn unpack_over(
    blob: &Path,
    layer: &Layer,
    dest: &Path,
    lowers: &[PathBuf],
    limits: Limits,
    progress: &mut dyn FnMut(u64),
) -> Result<UnpackStats, ImageError> {
    let started = Instant::now();
    fs::DirBuilder::new()
        .mode(0o755)
        .create(dest)
        .and_then(|_| fs::set_permissions(dest, fs::Permissions::from_mode(0o755)))
        .map_err(|e| ImageError::io(dest, e))?;
    match unpack_into_over(blob, layer, dest, lowers, limits, progress) {
        Ok(mut stats) => {
            stats.duration_us = started.elapsed().as_micros() as u64;
            Ok(stats)
        }
        Err(e) => {
            remove_tree(dest);
            Err(e)
        }
    }
}

/// Metadata of a directory, applied after all entries are written.
struct DirMeta {
    name: String,
    rel: PathBuf,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Why one entry failed.
enum EntryError {
    Unsafe(String),
    Io(io::Error),
}

impl From<io::Error> for EntryError {
    fn from(e: io::Error) -> Self {
        EntryError::Io(e)
    }
}

impl From<Errno> for EntryError {
    fn from(e: Errno) -> Self {
        EntryError::Io(e.into())
    }
}

/// A reader that reports how many bytes went through it.
struct ProgressReader<'a, R> {
    inner: R,
    count: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        (self.progress)(self.count);
        Ok(n)
    }
}

/// Unpacks into an existing directory `dest`.
#[cfg(test)]
pub(crate) fn unpack_into(
    blob: &Path,
    layer: &Layer,
    dest: &Path,
    limits: Limits,
    progress: &mut dyn FnMut(u64),
) -> Result<UnpackStats, ImageError> {
    unpack_into_over(blob, layer, dest, &[], limits, progress)
}

fn unpack_into_over(
    blob: &Path,
    layer: &Layer,
    dest: &Path,
    lowers: &[PathBuf],
    limits: Limits,
    progress: &mut dyn FnMut(u64),
) -> Result<UnpackStats, ImageError> {
    let compression = Compression::from_media_type(&layer.media_type)?;
    let file = File::open(blob).map_err(|e| ImageError::io(blob, e))?;
    let counted = ProgressReader {
        inner: file,
        count: 0,
        progress,
    };
    let blob_reader = HashReader::new(BufReader::with_capacity(256 * 1024, counted));
    let limited = LimitReader::new(Decoder::new(blob_reader, compression), limits.max_bytes);
    let tar_reader = HashReader::new(limited);
    let mut archive = tar::Archive::new(tar_reader);
    let (stats, last) = extract_entries(&mut archive, dest, lowers, &layer.digest, limits)?;

    // The tar reader stops at the end-of-archive marker; the digests cover
    // the whole stream, so read what is left (padding) through both hashers.
    let mut tar_reader = archive.into_inner();
    tar_reader
        .drain()
        .map_err(|e| bad_tar(&layer.digest, &last, e))?;
    let (diff_id, _, limited) = tar_reader.finish();
    let mut blob_reader = limited.inner.into_inner();
    blob_reader.drain().map_err(|e| ImageError::io(blob, e))?;
    let (digest, size, _) = blob_reader.finish();
    if digest != layer.digest {
        // The blob is named by its digest in the store: a blob whose bytes
        // changed after it was verified on arrival is store corruption.
        return Err(ImageError::Corrupt(format!(
            "blob da camada {}: o arquivo tem {size} bytes e sha256 {digest}, \
             mas o manifest diz {} bytes (o blob foi alterado ou corrompido)",
            layer.digest, layer.size
        )));
    }
    // A size or diff_id that is not the blob's is the image's fault, not
    // the store's (`image load` refuses such images; one loaded by an older
    // casulo can still be here, and `image fsck` names it).
    verify::matches(
        &verify::Verified {
            digest,
            size,
            diff_id,
            entries: 0,
        },
        layer,
    )?;
    Ok(stats)
}

/// Extracts a tar file (plain or gzip, told by its first bytes) into `dest`,
/// which must not exist, with the same guarantees as a layer; `label` names
/// the archive in errors. Used for archives given to `image load`. On error
/// `dest` is removed.
pub fn extract_file(
    path: &Path,
    dest: &Path,
    limits: Limits,
    label: &str,
) -> Result<UnpackStats, ImageError> {
    let mut file = File::open(path).map_err(|e| ImageError::io(path, e))?;
    let mut head = Vec::with_capacity(8);
    (&mut file)
        .take(8)
        .read_to_end(&mut head)
        .map_err(|e| ImageError::io(path, e))?;
    let compression = Compression::sniff(&head)
        .map_err(|why| ImageError::Other(format!("{}: {why}", path.display())))?;
    let file = File::open(path).map_err(|e| ImageError::io(path, e))?;
    let limited = LimitReader::new(
        Decoder::new(BufReader::with_capacity(256 * 1024, file), compression),
        limits.max_bytes,
    );
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dest)
        .map_err(|e| ImageError::io(dest, e))?;
    let mut archive = tar::Archive::new(limited);
    match extract_entries(&mut archive, dest, &[], label, limits) {
        Ok((stats, _)) => Ok(stats),
        Err(e) => {
            remove_tree(dest);
            Err(e)
        }
    }
}

/// The entries loop: checks each header, writes it below `dest`, then
/// applies the directories' metadata. Returns the stats and the last entry.
fn extract_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    dest: &Path,
    lowers: &[PathBuf],
    label: &str,
    limits: Limits,
) -> Result<(UnpackStats, String), ImageError> {
    let root = open_root(dest).map_err(|e| ImageError::io(dest, e))?;
    let lowers = lowers
        .iter()
        .map(|dir| open_root(dir).map_err(|e| ImageError::io(dir, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut checker = if lowers.is_empty() {
        EntryChecker::new()
    } else {
        EntryChecker::allowing_lower_links()
    };
    let mut x = Extractor {
        root,
        lowers,
        as_root: nix::unistd::geteuid().is_root(),
        stats: UnpackStats::default(),
        dirs: Vec::new(),
        parent_cache: None,
    };
    let mut last = String::new();
    let mut budget = Budget::new(limits);
    for entry in archive.entries().map_err(|e| bad_tar(label, "", e))? {
        let mut entry = entry.map_err(|e| bad_tar(label, &last, e))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let unsafe_entry = |why: String| ImageError::UnsafeEntry {
            layer: label.to_string(),
            entry: name.clone(),
            why,
        };
        let checked = match checker.check(&entry) {
            Ok(Some(checked)) => checked,
            Ok(None) => continue,
            Err(why) => return Err(unsafe_entry(why)),
        };
        budget.admit(entry.size()).map_err(unsafe_entry)?;
        x.entry(&mut entry, &name, &checked).map_err(|e| match e {
            EntryError::Unsafe(why) => unsafe_entry(why),
            EntryError::Io(source) => match too_big(&source) {
                Some(_) => bad_tar(label, &name, source),
                None => ImageError::Unpack {
                    layer: label.to_string(),
                    entry: name.clone(),
                    source,
                },
            },
        })?;
        last = name;
    }

    // Deepest directories first: fixing a child never touches its parent.
    let mut dirs = std::mem::take(&mut x.dirs);
    dirs.sort_by_key(|d| std::cmp::Reverse(d.rel.components().count()));
    for dir in &dirs {
        x.apply_dir_meta(dir).map_err(|source| ImageError::Unpack {
            layer: label.to_string(),
            entry: dir.name.clone(),
            source,
        })?;
    }
    Ok((x.stats, last))
}

/// Opens the regular file `rel` inside `dir` for reading, resolving
/// symlinks as if `dir` were `/` (`openat2(RESOLVE_IN_ROOT)`): an archive's
/// links can point between its own files, never outside.
pub fn open_in_root(dir: &Path, rel: &str) -> Result<File, ImageError> {
    let root = open_root(dir).map_err(|e| ImageError::io(dir, e))?;
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC)
        .resolve(
            ResolveFlag::RESOLVE_IN_ROOT
                | ResolveFlag::RESOLVE_NO_MAGICLINKS
                | ResolveFlag::RESOLVE_NO_XDEV,
        );
    let fd = nix::fcntl::openat2(root.as_fd(), rel, how)
        .map_err(|errno| ImageError::io(Path::new(rel), errno.into()))?;
    let file = File::from(fd);
    let meta = file
        .metadata()
        .map_err(|e| ImageError::io(Path::new(rel), e))?;
    if !meta.is_file() {
        return Err(ImageError::Other(format!(
            "{rel}: não é um arquivo regular"
        )));
    }
    Ok(file)
}

/// The open layer directory and what was done so far.
struct Extractor {
    root: OwnedFd,
    /// The unpacked layers below this one, top-most first (O_PATH fds).
    lowers: Vec<OwnedFd>,
    as_root: bool,
    stats: UnpackStats,
    dirs: Vec<DirMeta>,
    /// The last parent directory opened (entries come grouped by directory).
    parent_cache: Option<(PathBuf, OwnedFd)>,
}

/// Resolution that cannot leave the layer directory nor follow a symlink.
fn resolve_flags() -> ResolveFlag {
    ResolveFlag::RESOLVE_BENEATH
        | ResolveFlag::RESOLVE_NO_SYMLINKS
        | ResolveFlag::RESOLVE_NO_MAGICLINKS
        | ResolveFlag::RESOLVE_NO_XDEV
}

fn open_root(dest: &Path) -> io::Result<OwnedFd> {
    let how = OpenHow::new().flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC);
    Ok(nix::fcntl::openat2(nix::fcntl::AT_FDCWD, dest, how)?)
}

/// `openat2` below `root`, never following a symlink nor leaving it.
fn open_beneath(root: BorrowedFd<'_>, rel: &Path, flags: OFlag) -> Result<OwnedFd, Errno> {
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

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL no nome"))
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `fstatat(AT_SYMLINK_NOFOLLOW)`: the file type at `name`, if any.
fn lstat_at(dir: BorrowedFd<'_>, name: &CString) -> io::Result<Option<libc::mode_t>> {
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
fn stat_at(dir: BorrowedFd<'_>, name: &CString) -> io::Result<Option<libc::stat>> {
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

/// Copies the extended attributes of `src` to `dst` that [`allowed_xattr`]
/// lets through (never overlayfs's own `trusted.overlay.*`, which describe
/// the layer, not the file).
fn copy_xattrs(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> io::Result<()> {
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

/// Creates `name` in `dir` as a new, empty file (mode 0600 until the
/// entry's own mode is set): `O_CREAT|O_EXCL|O_NOFOLLOW` never opens an
/// existing file or follows a link a layer planted there.
fn create_new_at(dir: BorrowedFd<'_>, name: &CString) -> io::Result<File> {
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
fn copy_sparse<R: Read>(from: &mut R, to: &mut File) -> io::Result<u64> {
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
fn remove_non_dir(dir: BorrowedFd<'_>, name: &CString) -> io::Result<()> {
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

fn set_times_at(dir: BorrowedFd<'_>, name: &CString, mtime: u64) -> io::Result<()> {
    let ts = libc::timespec {
        tv_sec: mtime as libc::time_t,
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

fn set_times_fd(fd: BorrowedFd<'_>, mtime: u64) -> io::Result<()> {
    let ts = libc::timespec {
        tv_sec: mtime as libc::time_t,
        tv_nsec: 0,
    };
    let times = [ts, ts];
    // SAFETY: valid fd and two timespecs.
    check(unsafe { libc::futimens(fd.as_raw_fd(), times.as_ptr()) })
}

fn set_xattr_fd(fd: BorrowedFd<'_>, name: &[u8], value: &[u8]) -> io::Result<()> {
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
fn set_owner_mode_fd(
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
fn entry_xattrs<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
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

impl Extractor {
    /// Opens (creating missing directories, `0755`) the directory `rel`
    /// below the layer root. A symlink or a non-directory on the way is
    /// refused by the kernel (`ELOOP`/`ENOTDIR`), never followed.
    fn dir_fd(&mut self, rel: &Path) -> Result<BorrowedFd<'_>, EntryError> {
        let cached = matches!(&self.parent_cache, Some((path, _)) if path == rel);
        if !cached {
            let fd = match open_beneath(self.root.as_fd(), rel, OFlag::O_PATH | OFlag::O_DIRECTORY)
            {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => self.make_dirs(rel)?,
                Err(errno) => return Err(walk_error(rel, errno)),
            };
            self.parent_cache = Some((rel.to_path_buf(), fd));
        }
        Ok(self.parent_cache.as_ref().expect("just set").1.as_fd())
    }

    /// Creates the missing directories of `rel`, one component at a time.
    fn make_dirs(&self, rel: &Path) -> Result<OwnedFd, EntryError> {
        let mut current = open_beneath(
            self.root.as_fd(),
            Path::new(""),
            OFlag::O_PATH | OFlag::O_DIRECTORY,
        )?;
        let mut so_far = PathBuf::new();
        for component in rel.components() {
            so_far.push(component);
            let name = cstr(component.as_os_str())?;
            let next = match open_beneath(
                current.as_fd(),
                Path::new(component.as_os_str()),
                OFlag::O_PATH | OFlag::O_DIRECTORY,
            ) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    // SAFETY: valid fd, NUL-terminated name.
                    let rc = unsafe { libc::mkdirat(current.as_raw_fd(), name.as_ptr(), 0o755) };
                    if rc != 0 {
                        let e = io::Error::last_os_error();
                        if e.raw_os_error() != Some(libc::EEXIST) {
                            return Err(e.into());
                        }
                    }
                    open_beneath(
                        current.as_fd(),
                        Path::new(component.as_os_str()),
                        OFlag::O_PATH | OFlag::O_DIRECTORY,
                    )
                    .map_err(|errno| walk_error(&so_far, errno))?
                }
                Err(errno) => return Err(walk_error(&so_far, errno)),
            };
            current = next;
        }
        Ok(current)
    }

    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
        checked: &CheckedEntry,
    ) -> Result<(), EntryError> {
        if let Some(whiteout) = &checked.whiteout {
            return self.whiteout(whiteout);
        }
        let header = entry.header();
        let old = header.as_old();
        let (mode, uid, gid, mtime) = (
            numeric(&old.mode, header.mode().map(u64::from))? as u32,
            numeric(&old.uid, header.uid())?,
            numeric(&old.gid, header.gid())?,
            numeric(&old.mtime, header.mtime())?,
        );
        let rel = &checked.path;
        if checked.kind == EntryType::Directory {
            let xattrs = entry_xattrs(entry)?;
            if !rel.as_os_str().is_empty() {
                let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
                let file = cstr(rel.file_name().expect("non-empty path"))?;
                let dir = self.dir_fd(&parent)?;
                match lstat_at(dir, &file)? {
                    Some(libc::S_IFDIR) => {}
                    Some(_) => {
                        remove_non_dir(dir, &file)?;
                        // SAFETY: valid fd, NUL-terminated name.
                        check(unsafe { libc::mkdirat(dir.as_raw_fd(), file.as_ptr(), 0o755) })?;
                    }
                    None => {
                        // SAFETY: valid fd, NUL-terminated name.
                        check(unsafe { libc::mkdirat(dir.as_raw_fd(), file.as_ptr(), 0o755) })?;
                    }
                }
            }
            self.dirs.push(DirMeta {
                name: name.to_string(),
                rel: rel.clone(),
                mode,
                uid,
                gid,
                mtime,
                xattrs,
            });
            self.stats.dirs += 1;
            return Ok(());
        }

        let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        let file = cstr(rel.file_name().expect("non-empty path"))?;
        let as_root = self.as_root;
        match checked.kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let xattrs = entry_xattrs(entry)?;
                let size = entry.size();
                let dir = self.dir_fd(&parent)?;
                remove_non_dir(dir, &file)?;
                let mut out = create_new_at(dir.as_fd(), &file)?;
                let copied = if checked.kind == EntryType::GNUSparse {
                    copy_sparse(entry, &mut out)?
                } else {
                    io::copy(entry, &mut out)?
                };
                if copied != size {
                    return Err(
                        io::Error::new(io::ErrorKind::UnexpectedEof, "conteúdo truncado").into(),
                    );
                }
                set_owner_mode_fd(out.as_fd(), as_root, uid, gid, mode)?;
                for (key, value) in &xattrs {
                    set_xattr_fd(out.as_fd(), key, value)?;
                }
                set_times_fd(out.as_fd(), mtime)?;
                self.stats.files += 1;
                self.stats.bytes += size;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| EntryError::Unsafe("link simbólico sem destino".into()))?;
                let target = CString::new(target.as_ref())
                    .map_err(|_| EntryError::Unsafe("NUL no destino do link".into()))?;
                let dir = self.dir_fd(&parent)?;
                remove_non_dir(dir, &file)?;
                // SAFETY: valid fd and NUL-terminated strings.
                check(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), file.as_ptr()) })?;
                if as_root {
                    // SAFETY: valid fd and name; NOFOLLOW changes the link itself.
                    check(unsafe {
                        libc::fchownat(
                            dir.as_raw_fd(),
                            file.as_ptr(),
                            uid as libc::uid_t,
                            gid as libc::gid_t,
                            libc::AT_SYMLINK_NOFOLLOW,
                        )
                    })?;
                }
                set_times_at(dir, &file, mtime)?;
                self.stats.symlinks += 1;
            }
            EntryType::Link => {
                let target = checked
                    .hardlink_target
                    .as_deref()
                    .ok_or_else(|| EntryError::Unsafe("link físico sem destino".into()))?;
                if !checked.target_in_layer {
                    return self.link_from_lower(&parent, &file, rel, target);
                }
                let target_parent = target.parent().unwrap_or(Path::new(""));
                let target_name = cstr(target.file_name().expect("non-empty target"))?;
                let source_dir = open_beneath(
                    self.root.as_fd(),
                    target_parent,
                    OFlag::O_PATH | OFlag::O_DIRECTORY,
                )
                .map_err(|errno| walk_error(target_parent, errno))?;
                match lstat_at(source_dir.as_fd(), &target_name)? {
                    Some(libc::S_IFDIR) => {
                        return Err(EntryError::Unsafe("link físico para um diretório".into()))
                    }
                    Some(_) => {}
                    // A hard link to a device node that was skipped is skipped too.
                    None if self
                        .stats
                        .skipped_devices
                        .iter()
                        .any(|d| entry_path(d.as_bytes()).is_ok_and(|p| p == target)) =>
                    {
                        self.stats.devices_skipped += 1;
                        self.stats.skipped_devices.push(name.to_string());
                        return Ok(());
                    }
                    None => return Err(io::Error::from(io::ErrorKind::NotFound).into()),
                }
                let dir = self.dir_fd(&parent)?;
                remove_non_dir(dir, &file)?;
                // SAFETY: valid fds and names; flags 0 = never follow `source`.
                check(unsafe {
                    libc::linkat(
                        source_dir.as_raw_fd(),
                        target_name.as_ptr(),
                        dir.as_raw_fd(),
                        file.as_ptr(),
                        0,
                    )
                })?;
                self.stats.hardlinks += 1;
            }
            EntryType::Fifo => {
                let dir = self.dir_fd(&parent)?;
                remove_non_dir(dir, &file)?;
                // SAFETY: valid fd and name.
                check(unsafe {
                    libc::mknodat(dir.as_raw_fd(), file.as_ptr(), libc::S_IFIFO | 0o600, 0)
                })?;
                if as_root {
                    // SAFETY: valid fd and name.
                    check(unsafe {
                        libc::fchownat(
                            dir.as_raw_fd(),
                            file.as_ptr(),
                            uid as libc::uid_t,
                            gid as libc::gid_t,
                            libc::AT_SYMLINK_NOFOLLOW,
                        )
                    })?;
                }
                // SAFETY: valid fd and name (a FIFO we just made, not a link).
                check(unsafe {
                    libc::fchmodat(
                        dir.as_raw_fd(),
                        file.as_ptr(),
                        (mode & 0o7777) as libc::mode_t,
                        0,
                    )
                })?;
                set_times_at(dir, &file, mtime)?;
                self.stats.files += 1;
            }
            EntryType::Char | EntryType::Block => {
                self.stats.devices_skipped += 1;
                self.stats.skipped_devices.push(name.to_string());
            }
            _ => return Err(EntryError::Unsafe("tipo de entrada não suportado".into())),
        }
        Ok(())
    }

    /// A hard link whose target is a file of a lower layer: that file is
    /// found as the image's merged filesystem would show it (top-most layer
    /// first, honouring whiteouts and opaque directories) and *copied* to
    /// the link's path in this layer (see the module docs). Every lookup is
    /// an `openat2` beneath a layer directory without following symlinks.
    fn link_from_lower(
        &mut self,
        parent: &Path,
        file: &CString,
        rel: &Path,
        target: &Path,
    ) -> Result<(), EntryError> {
        let (dir, name, st) = self.find_below(target)?;
        let (uid, gid, mode) = (st.st_uid as u64, st.st_gid as u64, st.st_mode);
        let mtime = st.st_mtime.max(0) as u64;
        let as_root = self.as_root;
        let out_dir = self.dir_fd(parent)?;
        remove_non_dir(out_dir, file)?;
        match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => {
                // SAFETY: valid fd and name; O_NOFOLLOW: the file itself.
                let raw = unsafe {
                    libc::openat(
                        dir.as_raw_fd(),
                        name.as_ptr(),
                        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                    )
                };
                if raw < 0 {
                    return Err(io::Error::last_os_error().into());
                }
                // SAFETY: raw is a new fd we own.
                let mut src = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(raw) };
                let mut out = create_new_at(out_dir.as_fd(), file)?;
                let copied = io::copy(&mut src, &mut out)?;
                set_owner_mode_fd(out.as_fd(), as_root, uid, gid, mode)?;
                copy_xattrs(src.as_fd(), out.as_fd())?;
                set_times_fd(out.as_fd(), mtime)?;
                self.stats.files += 1;
                self.stats.bytes += copied;
            }
            libc::S_IFLNK => {
                let link = nix::fcntl::readlinkat(dir.as_fd(), name.as_c_str())?;
                let link = cstr(&link)?;
                // SAFETY: valid fd and NUL-terminated strings.
                check(unsafe {
                    libc::symlinkat(link.as_ptr(), out_dir.as_raw_fd(), file.as_ptr())
                })?;
                if as_root {
                    // SAFETY: valid fd and name; NOFOLLOW changes the link itself.
                    check(unsafe {
                        libc::fchownat(
                            out_dir.as_raw_fd(),
                            file.as_ptr(),
                            uid as libc::uid_t,
                            gid as libc::gid_t,
                            libc::AT_SYMLINK_NOFOLLOW,
                        )
                    })?;
                }
                set_times_at(out_dir, file, mtime)?;
                self.stats.symlinks += 1;
            }
            _ => {
                return Err(EntryError::Unsafe(format!(
                    "link físico para {:?}, de uma camada de baixo, que não é um arquivo \
                     regular nem um link simbólico",
                    shown(target)
                )))
            }
        }
        self.stats.lower_links.push((shown(rel), shown(target)));
        Ok(())
    }

    /// Finds `target` in the layers below, as the merged filesystem shows
    /// it. Returns its parent directory (in the layer that has it), its
    /// name and its `lstat`.
    fn find_below(&self, target: &Path) -> Result<(OwnedFd, CString, libc::stat), EntryError> {
        let parent = target.parent().unwrap_or(Path::new(""));
        let name = cstr(target.file_name().expect("non-empty target"))?;
        let not_found = || {
            EntryError::Unsafe(format!(
                "link físico para {:?}, que não aparece antes nesta camada nem existe nas \
                 camadas de baixo",
                shown(target)
            ))
        };
        // This layer first: its whiteouts and opaque directories hide the
        // layers below; a file here that the tar did not declare before the
        // link can only be a whiteout of this layer.
        for (i, layer) in std::iter::once(&self.root).chain(&self.lowers).enumerate() {
            let mut dir = open_beneath(
                layer.as_fd(),
                Path::new(""),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY,
            )?;
            let mut opaque = false;
            let mut present = true;
            for component in parent.components() {
                match open_beneath(
                    dir.as_fd(),
                    Path::new(component.as_os_str()),
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY,
                ) {
                    Ok(next) => {
                        opaque |= is_opaque(next.as_fd());
                        dir = next;
                    }
                    Err(Errno::ENOENT) => {
                        present = false;
                        break;
                    }
                    // A whiteout or a file in a higher layer hides the rest.
                    Err(Errno::ENOTDIR) => return Err(not_found()),
                    Err(errno) => return Err(walk_error(parent, errno)),
                }
            }
            if present {
                if let Some(st) = stat_at(dir.as_fd(), &name)? {
                    match st.st_mode & libc::S_IFMT {
                        libc::S_IFDIR => {
                            return Err(EntryError::Unsafe(format!(
                                "link físico para o diretório {:?}",
                                shown(target)
                            )))
                        }
                        _ if i == 0 => {
                            return Err(EntryError::Unsafe(format!(
                                "link físico para {:?}, que esta mesma camada apagou (whiteout)",
                                shown(target)
                            )))
                        }
                        libc::S_IFCHR if st.st_rdev == 0 => return Err(not_found()),
                        _ => return Ok((dir, name, st)),
                    }
                }
            }
            if opaque {
                return Err(not_found());
            }
        }
        Err(not_found())
    }

    /// Turns an OCI whiteout into overlayfs's spelling of it.
    fn whiteout(&mut self, whiteout: &Whiteout) -> Result<(), EntryError> {
        match whiteout {
            Whiteout::AufsMeta => Ok(()),
            Whiteout::Opaque(dir) => {
                self.dir_fd(dir)?;
                let fd = open_beneath(self.root.as_fd(), dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
                    .map_err(|errno| walk_error(dir, errno))?;
                set_xattr_fd(fd.as_fd(), OPAQUE_XATTR.to_bytes(), b"y").map_err(needs_root)?;
                self.stats.whiteouts.push((shown(dir), true));
                Ok(())
            }
            Whiteout::Remove(path) => {
                let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
                let file = cstr(path.file_name().expect("validated name"))?;
                let dir = self.dir_fd(&parent)?;
                remove_non_dir(dir, &file)?;
                // SAFETY: valid fd and name; a 0:0 character device is
                // overlayfs's whiteout.
                check(unsafe { libc::mknodat(dir.as_raw_fd(), file.as_ptr(), libc::S_IFCHR, 0) })
                    .map_err(needs_root)?;
                self.stats.whiteouts.push((shown(path), false));
                Ok(())
            }
        }
    }

    fn apply_dir_meta(&self, dir: &DirMeta) -> io::Result<()> {
        let fd = open_beneath(
            self.root.as_fd(),
            &dir.rel,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY,
        )?;
        set_owner_mode_fd(fd.as_fd(), self.as_root, dir.uid, dir.gid, dir.mode)?;
        for (name, value) in &dir.xattrs {
            set_xattr_fd(fd.as_fd(), name, value)?;
        }
        set_times_fd(fd.as_fd(), dir.mtime)
    }
}

/// `/etc/motd` for `etc/motd` (how the image's paths are shown).
fn shown(rel: &Path) -> String {
    format!("/{}", rel.display())
}

fn needs_root(e: io::Error) -> EntryError {
    if e.raw_os_error() == Some(libc::EPERM) {
        EntryError::Unsafe(
            "criar um whiteout do overlay (dispositivo 0:0 ou xattr trusted.*) exige root".into(),
        )
    } else {
        EntryError::Io(e)
    }
}

/// What the kernel's refusal to resolve `rel` means for the student.
fn walk_error(rel: &Path, errno: Errno) -> EntryError {
    let at = rel.display().to_string();
    match errno {
        Errno::ELOOP => EntryError::Unsafe(format!(
            "o caminho passa por um link simbólico em {at:?} \
             (openat2 com RESOLVE_NO_SYMLINKS: escrever através de links é recusado)"
        )),
        Errno::EXDEV => EntryError::Unsafe(format!(
            "o caminho {at:?} sairia do diretório da camada (openat2 com RESOLVE_BENEATH)"
        )),
        Errno::ENOTDIR => EntryError::Io(io::Error::new(
            io::ErrorKind::NotADirectory,
            format!("{at:?} não é um diretório"),
        )),
        other => EntryError::Io(other.into()),
    }
}

/// A numeric header field read as Go's `archive/tar` (docker) and GNU tar
/// read it: an empty field (only NULs and spaces, as some hand-made tars
/// leave uid and gid) is 0; anything else must be a number.
fn numeric(raw: &[u8], parsed: io::Result<u64>) -> io::Result<u64> {
    if raw.iter().all(|b| *b == 0 || *b == b' ') {
        Ok(0)
    } else {
        parsed
    }
}

/// Removes a directory tree, best effort, even if some directories inside
/// were made read-only by the layer (their owner can still chmod them).
pub fn remove_tree(path: &Path) {
    if fs::remove_dir_all(path).is_ok() || fs::symlink_metadata(path).is_err() {
        return;
    }
    fn make_writable(path: &Path) {
        if let Ok(meta) = fs::symlink_metadata(path) {
            if meta.is_dir() {
                let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
                if let Ok(entries) = fs::read_dir(path) {
                    for entry in entries.flatten() {
                        make_writable(&entry.path());
                    }
                }
            }
        }
    }
    make_writable(path);
    let _ = fs::remove_dir_all(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty numeric field is 0, as docker's Go tar reads it; a
    /// malformed one stays an error.
    #[test]
    fn empty_numeric_tar_fields_are_zero() {
        let bad = || Err(io::Error::other("not a number"));
        assert_eq!(numeric(&[0; 8], bad()).unwrap(), 0);
        assert_eq!(numeric(b"        ", bad()).unwrap(), 0);
        assert_eq!(numeric(b"0001750\0", Ok(1000)).unwrap(), 1000);
        assert!(numeric(b"12x\0", bad()).is_err());
    }
    use crate::image::{digest, oci};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    fn entry(b: &mut tar::Builder<Vec<u8>>, kind: EntryType, name: &str, data: &[u8]) {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(if kind == EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_mtime(1_000_000);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(data.len() as u64);
        header.set_path(name).unwrap();
        header.set_cksum();
        b.append(&header, data).unwrap();
    }

    fn blob_of(dir: &Path, bytes: &[u8], diff_id: String, media_type: &str) -> (PathBuf, Layer) {
        let digest = digest::sha256(bytes);
        let blob = dir.join(digest::hex_of(&digest).unwrap());
        fs::write(&blob, bytes).unwrap();
        let layer = Layer {
            digest,
            diff_id,
            media_type: media_type.into(),
            size: bytes.len() as u64,
        };
        (blob, layer)
    }

    fn plain(dir: &Path, tar: &[u8]) -> (PathBuf, Layer) {
        blob_of(dir, tar, digest::sha256(tar), oci::MEDIA_TYPE_LAYER_TAR)
    }

    /// These tests write what only root may (overlay whiteouts, `trusted.*`
    /// and `security.capability` xattrs): without root they fail, never
    /// pass unchecked.
    fn require_root(what: &str) {
        assert!(
            nix::unistd::geteuid().is_root(),
            "este teste precisa de root ({what}): rode-o como root, como o `cargo xtask test` faz"
        );
    }

    /// A file with file capabilities (`setcap cap_net_raw+ep`) unpacks
    /// without them; a setuid file keeps its bit (the state dir's 0700 is
    /// what keeps local users away from it).
    #[test]
    fn image_extract_drops_file_capabilities_and_keeps_setuid() {
        require_root("gravar security.capability exige root");
        let tmp = tempfile::tempdir().unwrap();
        // vfs_cap_data v2, effective, permitted = CAP_NET_RAW (13).
        let mut cap = Vec::new();
        for word in [0x0200_0001u32, 1 << 13, 0, 0, 0] {
            cap.extend_from_slice(&word.to_le_bytes());
        }
        // A PAX record is "<len> <key>=<value>\n", len counting itself.
        let body_len = b" SCHILY.xattr.security.capability=".len() + cap.len() + 1;
        let mut len = body_len + 1;
        while (body_len + len.to_string().len()) != len {
            len = body_len + len.to_string().len();
        }
        let mut pax = format!("{len} SCHILY.xattr.security.capability=").into_bytes();
        pax.extend_from_slice(&cap);
        pax.push(b'\n');
        let mut b = tar::Builder::new(Vec::new());
        entry(&mut b, EntryType::XHeader, "PaxHeaders/ping", &pax);
        entry(&mut b, EntryType::Regular, "ping", b"#!/bin/sh\n");
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(EntryType::Regular);
        header.set_mode(0o4755);
        header.set_mtime(1_000_000);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(1);
        header.set_path("su").unwrap();
        header.set_cksum();
        b.append(&header, &b"x"[..]).unwrap();
        let tar = b.into_inner().unwrap();

        let (blob, layer) = plain(tmp.path(), &tar);
        let dest = tmp.path().join("camada");
        unpack(&blob, &layer, &dest, Limits::default()).unwrap();
        assert!(dest.join("ping").is_file());
        let path = CString::new(dest.join("ping").as_os_str().as_bytes()).unwrap();
        let name = CString::new("security.capability").unwrap();
        // SAFETY: valid C strings; NULL buffer of size 0 asks for the size.
        let n = unsafe { libc::lgetxattr(path.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
        let err = io::Error::last_os_error().raw_os_error();
        assert_eq!(
            (n, err),
            (-1, Some(libc::ENODATA)),
            "security.capability sobreviveu"
        );
        let mode = fs::metadata(dest.join("su")).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o4755);
    }

    /// Two layers: the lower has files, the upper deletes one and makes a
    /// directory opaque. Unpacked, they carry overlayfs's whiteouts; mounted
    /// as a multi-lower overlay, they show the image's final filesystem.
    #[test]
    fn image_extract_whiteouts_become_overlay_whiteouts() {
        require_root("whiteouts do overlay exigem root");
        let tmp = tempfile::tempdir().unwrap();
        let mut lower = tar::Builder::new(Vec::new());
        entry(&mut lower, EntryType::Directory, "etc/", b"");
        entry(&mut lower, EntryType::Regular, "etc/motd", b"bem-vindo\n");
        entry(&mut lower, EntryType::Regular, "etc/hostname", b"casulo\n");
        entry(&mut lower, EntryType::Directory, "var/", b"");
        entry(&mut lower, EntryType::Directory, "var/cache/", b"");
        entry(&mut lower, EntryType::Regular, "var/cache/velho", b"x");
        entry(&mut lower, EntryType::Regular, "var/log", b"y");
        let lower = lower.into_inner().unwrap();
        let mut upper = tar::Builder::new(Vec::new());
        entry(&mut upper, EntryType::Regular, "etc/.wh.motd", b"");
        entry(&mut upper, EntryType::Directory, "var/", b"");
        entry(&mut upper, EntryType::Regular, "var/.wh..wh..opq", b"");
        entry(&mut upper, EntryType::Regular, "var/novo", b"z");
        entry(&mut upper, EntryType::Regular, ".wh..wh.plnk", b"");
        let upper = upper.into_inner().unwrap();

        let (blob, layer) = plain(tmp.path(), &lower);
        let l1 = tmp.path().join("l1");
        unpack(&blob, &layer, &l1, Limits::default()).unwrap();
        let (blob, layer) = plain(tmp.path(), &upper);
        let l2 = tmp.path().join("l2");
        let stats = unpack(&blob, &layer, &l2, Limits::default()).unwrap();
        assert_eq!(
            stats.whiteouts,
            [("/etc/motd".to_string(), false), ("/var".to_string(), true)]
        );
        let wh = fs::symlink_metadata(l2.join("etc/motd")).unwrap();
        assert!(wh.file_type().is_char_device());
        assert_eq!(wh.rdev(), 0, "overlayfs whiteout is device 0:0");
        let mut value = [0u8; 8];
        let path = CString::new(l2.join("var").as_os_str().as_bytes()).unwrap();
        let name = OPAQUE_XATTR.to_owned();
        // SAFETY: valid C strings and buffer.
        let n =
            unsafe { libc::lgetxattr(path.as_ptr(), name.as_ptr(), value.as_mut_ptr().cast(), 8) };
        assert_eq!(&value[..n as usize], b"y");
        assert!(!l2.join(".wh..wh.plnk").exists(), "aufs metadata ignored");

        // The real kernel agrees.
        let (up, work, merged) = (
            tmp.path().join("up"),
            tmp.path().join("work"),
            tmp.path().join("merged"),
        );
        for d in [&up, &work, &merged] {
            fs::create_dir(d).unwrap();
        }
        let data = format!(
            "lowerdir={}:{},upperdir={},workdir={}",
            l2.display(),
            l1.display(),
            up.display(),
            work.display()
        );
        nix::mount::mount(
            Some("overlay"),
            &merged,
            Some("overlay"),
            nix::mount::MsFlags::empty(),
            Some(data.as_str()),
        )
        .unwrap();
        let seen = |p: &str| merged.join(p).exists();
        let result = (
            seen("etc/hostname"),
            seen("etc/motd"),
            seen("var/novo"),
            seen("var/cache"),
            seen("var/log"),
        );
        nix::mount::umount2(&merged, nix::mount::MntFlags::MNT_DETACH).unwrap();
        assert_eq!(result, (true, false, true, false, false));
    }

    #[test]
    fn image_extract_refuses_bombs_and_absurd_sizes() {
        let tmp = tempfile::tempdir().unwrap();
        let limits = Limits {
            max_bytes: 1 << 20,
            max_entries: 10,
        };
        // 8 MiB of zeros gzip to a few KiB.
        let mut b = tar::Builder::new(Vec::new());
        entry(&mut b, EntryType::Regular, "zeros", &vec![0u8; 8 << 20]);
        let tar = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        assert!(gz.len() < 64 << 10);
        let (blob, layer) = blob_of(
            tmp.path(),
            &gz,
            digest::sha256(&tar),
            oci::MEDIA_TYPE_LAYER_TAR_GZIP,
        );
        let dest = tmp.path().join("out");
        let err = unpack(&blob, &layer, &dest, limits).unwrap_err();
        assert!(err.to_string().contains("zeros"), "{err}");
        assert!(!dest.exists());

        // A bomb made of padding after the end of the archive.
        let mut tar = tar::Builder::new(Vec::new()).into_inner().unwrap();
        tar.extend(std::iter::repeat_n(0u8, 4 << 20));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let (blob, layer) = blob_of(
            tmp.path(),
            &gz,
            digest::sha256(&tar),
            oci::MEDIA_TYPE_LAYER_TAR_GZIP,
        );
        let err = unpack(&blob, &layer, &dest, limits).unwrap_err();
        assert!(err.to_string().contains("bomba"), "{err}");
        assert!(!dest.exists());

        // A header that claims an absurd size (with no data behind it).
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(EntryType::Regular);
        header.set_path("enorme").unwrap();
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(1 << 40);
        header.set_cksum();
        let mut raw = header.as_bytes().to_vec();
        raw.extend([0u8; 1024]);
        let (blob, layer) = plain(tmp.path(), &raw);
        let err = unpack(&blob, &layer, &dest, limits).unwrap_err();
        assert!(
            matches!(&err, ImageError::UnsafeEntry { entry, .. } if entry == "enorme"),
            "{err}"
        );
        assert!(err.to_string().contains("absurdo"), "{err}");
        assert!(!dest.exists());

        // Too many entries.
        let mut b = tar::Builder::new(Vec::new());
        for i in 0..20 {
            entry(&mut b, EntryType::Regular, &format!("f{i}"), b"");
        }
        let (blob, layer) = plain(tmp.path(), &b.into_inner().unwrap());
        let err = unpack(&blob, &layer, &dest, limits).unwrap_err();
        assert!(err.to_string().contains("entradas"), "{err}");
        assert!(!dest.exists());
    }

    /// A GNU sparse entry (old GNU format): `data` stored at each offset
    /// of `blocks`, holes elsewhere, `real_size` bytes in all.
    pub(crate) fn sparse_entry(
        b: &mut tar::Builder<Vec<u8>>,
        name: &str,
        real_size: u64,
        blocks: &[u64],
        data: &[u8; 512],
    ) {
        assert!(blocks.len() < 4, "one header holds 4 map entries");
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(EntryType::GNUSparse);
        header.set_path(name).unwrap();
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_000_000);
        header.set_size(512 * blocks.len() as u64);
        let gnu = header.as_gnu_mut().unwrap();
        for (slot, offset) in gnu.sparse.iter_mut().zip(blocks) {
            slot.set_offset(*offset);
            slot.set_length(512);
        }
        // The last map entry, empty, at the end: a trailing hole.
        gnu.sparse[blocks.len()].set_offset(real_size);
        gnu.sparse[blocks.len()].set_length(0);
        gnu.set_real_size(real_size);
        header.set_cksum();
        let stored: Vec<u8> = blocks.iter().flat_map(|_| data.iter().copied()).collect();
        b.append(&header, &stored[..]).unwrap();
    }

    /// Issue 13, item 5: the holes of a sparse entry never pass through the
    /// stream limit, so its declared size must count, and it must be
    /// written sparse (a few hundred bytes of tar wrote 11 GB before).
    #[test]
    fn image_extract_sparse_entries_count_their_size_and_stay_sparse() {
        let tmp = tempfile::tempdir().unwrap();
        let limits = Limits {
            max_bytes: 16 << 20,
            max_entries: 100,
        };
        let data = [b'd'; 512];
        let mut b = tar::Builder::new(Vec::new());
        sparse_entry(&mut b, "esparso", 12 << 20, &[0, 6 << 20], &data);
        let tar = b.into_inner().unwrap();
        assert!(tar.len() < 8 << 10, "{} bytes", tar.len());
        let (blob, layer) = plain(tmp.path(), &tar);
        let dest = tmp.path().join("um");
        unpack(&blob, &layer, &dest, limits).unwrap();
        let meta = fs::metadata(dest.join("esparso")).unwrap();
        assert_eq!(meta.len(), 12 << 20);
        assert!(
            meta.blocks() * 512 < 1 << 20,
            "written densely: {} bytes on disk",
            meta.blocks() * 512
        );
        let content = fs::read(dest.join("esparso")).unwrap();
        assert_eq!(&content[..512], &data[..]);
        assert_eq!(&content[6 << 20..(6 << 20) + 512], &data[..]);
        assert!(content[512..6 << 20].iter().all(|b| *b == 0));

        // Two of them declare 24 MiB: past the 16 MiB limit, though each
        // is below it and the tar is a few KiB.
        let mut b = tar::Builder::new(Vec::new());
        sparse_entry(&mut b, "a", 12 << 20, &[0], &data);
        sparse_entry(&mut b, "b", 12 << 20, &[0], &data);
        let tar = b.into_inner().unwrap();
        let (blob, layer) = plain(tmp.path(), &tar);
        let dest = tmp.path().join("dois");
        let err = unpack(&blob, &layer, &dest, limits).unwrap_err();
        assert!(
            matches!(&err, ImageError::UnsafeEntry { entry, .. } if entry == "b"),
            "{err}"
        );
        assert!(err.to_string().contains("esparso"), "{err}");
        assert!(!dest.exists());
        // The load-time check says the same, writing nothing.
        let err =
            verify::verify_layer(File::open(&blob).unwrap(), &layer, false, limits).unwrap_err();
        assert!(err.to_string().contains("esparso"), "{err}");
    }

    /// A PAX extended header body with these records.
    fn pax(records: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (key, value) in records {
            // "<len> <key>=<value>\n", len counting itself.
            let body = 1 + key.len() + 1 + value.len() + 1;
            let mut len = body + 1;
            while body + len.to_string().len() != len {
                len = body + len.to_string().len();
            }
            out.extend(format!("{len} {key}=").into_bytes());
            out.extend_from_slice(value);
            out.push(b'\n');
        }
        out
    }

    fn xattr_of(path: &Path, name: &str) -> Option<Vec<u8>> {
        let path = CString::new(path.as_os_str().as_bytes()).unwrap();
        let name = CString::new(name).unwrap();
        let mut value = vec![0u8; 256];
        // SAFETY: valid C strings and a buffer of value.len() bytes.
        let n = unsafe {
            libc::lgetxattr(
                path.as_ptr(),
                name.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        (n >= 0).then(|| value[..n as usize].to_vec())
    }

    /// Issue 13, item 10: only allow-listed xattrs reach an unpacked layer;
    /// overlayfs's own `trusted.overlay.*` never comes from a layer.
    #[test]
    fn image_extract_applies_only_allowed_xattrs() {
        require_root("gravar xattrs trusted.* exige root");
        let tmp = tempfile::tempdir().unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let dir_pax = pax(&[
            ("SCHILY.xattr.trusted.overlay.opaque", b"y"),
            ("SCHILY.xattr.user.nota", b"diretorio"),
        ]);
        entry(&mut b, EntryType::XHeader, "PaxHeaders/d", &dir_pax);
        entry(&mut b, EntryType::Directory, "d/", b"");
        let file_pax = pax(&[
            ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
            ("SCHILY.xattr.trusted.outra", b"x"),
            (
                "SCHILY.xattr.security.selinux",
                b"system_u:object_r:shadow_t:s0",
            ),
            ("SCHILY.xattr.user.nota", b"arquivo"),
            ("SCHILY.xattr.security.ima", b"assinatura"),
        ]);
        entry(&mut b, EntryType::XHeader, "PaxHeaders/d/f", &file_pax);
        entry(&mut b, EntryType::Regular, "d/f", b"conteudo");
        let (blob, layer) = plain(tmp.path(), &b.into_inner().unwrap());
        let dest = tmp.path().join("camada");
        unpack(&blob, &layer, &dest, Limits::default()).unwrap();
        let (d, f) = (dest.join("d"), dest.join("d/f"));
        assert_eq!(
            xattr_of(&d, OPAQUE_XATTR.to_str().unwrap()),
            None,
            "opaque came from the tar"
        );
        assert_eq!(xattr_of(&f, "trusted.overlay.redirect"), None);
        assert_eq!(xattr_of(&f, "trusted.outra"), None);
        assert_eq!(xattr_of(&f, "security.selinux"), None);
        assert_eq!(
            xattr_of(&d, "user.nota").as_deref(),
            Some(&b"diretorio"[..])
        );
        assert_eq!(xattr_of(&f, "user.nota").as_deref(), Some(&b"arquivo"[..]));
        assert_eq!(
            xattr_of(&f, "security.ima").as_deref(),
            Some(&b"assinatura"[..])
        );
        assert!(allowed_xattr(b"system.posix_acl_access"));
        assert!(!allowed_xattr(b"system.nfs4_acl"));
        assert!(!allowed_xattr(b"security.capability"));
        assert!(!allowed_xattr(b"security."));
    }

    /// A thousand files, a hard link across directories and UTF-8 names.
    #[test]
    fn image_extract_many_files() {
        let tmp = tempfile::tempdir().unwrap();
        let mut b = tar::Builder::new(Vec::new());
        for i in 0..1000 {
            entry(
                &mut b,
                EntryType::Regular,
                &format!("d{}/ação-{i}.txt", i % 7),
                format!("{i}").as_bytes(),
            );
        }
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(EntryType::Link);
        header.set_path("outro/link").unwrap();
        header.set_link_name("d0/ação-0.txt").unwrap();
        header.set_size(0);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        b.append(&header, &[][..]).unwrap();
        let (blob, layer) = plain(tmp.path(), &b.into_inner().unwrap());
        let dest = tmp.path().join("out");
        let stats = unpack(&blob, &layer, &dest, Limits::default()).unwrap();
        assert_eq!((stats.files, stats.hardlinks), (1000, 1));
        assert_eq!(
            fs::read_to_string(dest.join("d5/ação-999.txt")).unwrap(),
            "999"
        );
        assert_eq!(fs::metadata(dest.join("outro/link")).unwrap().nlink(), 2);
    }

    fn link(b: &mut tar::Builder<Vec<u8>>, name: &str, target: &str) {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(EntryType::Link);
        header.set_path(name).unwrap();
        header.set_link_name(target).unwrap();
        header.set_size(0);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        b.append(&header, &[][..]).unwrap();
    }

    /// A hard link to a file of a lower layer: refused when the layer is
    /// unpacked alone, copied (content, mode, mtime) when unpacked above
    /// its lowers; whiteouts, opaque dirs and symlinks on the way are
    /// honoured, and nothing outside the layers can be reached.
    #[test]
    fn image_extract_hardlinks_to_a_lower_layer_are_copied_safely() {
        require_root("whiteouts do overlay exigem root");
        let tmp = tempfile::tempdir().unwrap();
        let unpack_tar = |name: &str, tar: Vec<u8>, lowers: &[PathBuf]| {
            let (blob, layer) = plain(tmp.path(), &tar);
            let dest = tmp.path().join(name);
            unpack_over(&blob, &layer, &dest, lowers, Limits::default(), &mut |_| {})
                .map(|stats| (dest, stats))
        };
        let mut b = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(EntryType::Regular);
        header.set_path("bin/a").unwrap();
        header.set_size(4);
        header.set_mode(0o4755);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_234_567);
        header.set_cksum();
        b.append(&header, &b"abc\n"[..]).unwrap();
        entry(&mut b, EntryType::Regular, "velho/x", b"x");
        entry(&mut b, EntryType::Regular, "opaco/y", b"y");
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(EntryType::Symlink);
        header.set_path("fuga").unwrap();
        header.set_link_name("/etc").unwrap();
        header.set_size(0);
        header.set_mode(0o777);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        b.append(&header, &[][..]).unwrap();
        let (l1, _) = unpack_tar("l1", b.into_inner().unwrap(), &[]).unwrap();

        // A middle layer deletes velho/x and hides opaco/.
        let mut b = tar::Builder::new(Vec::new());
        entry(&mut b, EntryType::Regular, "velho/.wh.x", b"");
        entry(&mut b, EntryType::Directory, "opaco/", b"");
        entry(&mut b, EntryType::Regular, "opaco/.wh..wh..opq", b"");
        let (l2, _) = unpack_tar("l2", b.into_inner().unwrap(), std::slice::from_ref(&l1)).unwrap();

        let upper = |target: &str| {
            let mut b = tar::Builder::new(Vec::new());
            link(&mut b, "usr/b", target);
            b.into_inner().unwrap()
        };
        // Alone (no lowers), a link to nowhere is refused as always.
        let err = unpack_tar("alone", upper("bin/a"), &[]).unwrap_err();
        assert!(err.to_string().contains("não aparece antes"), "{err}");

        // Above its lowers: copied.
        let lowers = [l2.clone(), l1.clone()];
        let (l3, stats) = unpack_tar("l3", upper("bin/a"), &lowers).unwrap();
        assert_eq!(
            stats.lower_links,
            [("/usr/b".to_string(), "/bin/a".to_string())]
        );
        let meta = fs::symlink_metadata(l3.join("usr/b")).unwrap();
        assert_eq!(fs::read(l3.join("usr/b")).unwrap(), b"abc\n");
        assert_eq!(meta.mode() & 0o7777, 0o4755, "setuid kept");
        assert_eq!(meta.mtime(), 1_234_567);
        assert_eq!(
            meta.nlink(),
            1,
            "a copy: overlayfs cannot link across lowerdirs"
        );
        assert!(!l3.join("bin").exists(), "the target is not copied up");

        // Deleted by a whiteout, hidden by an opaque dir, missing, a
        // directory, through a symlink (to the host's /etc), with `..`.
        for (target, why) in [
            ("velho/x", "não aparece antes"),
            ("opaco/y", "não aparece antes"),
            ("nada", "não aparece antes"),
            ("velho", "diretório"),
            ("fuga/passwd", "link simbólico"),
            ("../l1/bin/a", ".."),
        ] {
            let err = unpack_tar("mau", upper(target), &lowers).unwrap_err();
            assert!(
                matches!(&err, ImageError::UnsafeEntry { entry, .. } if entry == "usr/b"),
                "{target}: {err}"
            );
            assert!(err.to_string().contains(why), "{target}: {err}");
            assert!(!tmp.path().join("mau").exists());
        }

        // Deleted by a whiteout of the same layer, before the link.
        let mut b = tar::Builder::new(Vec::new());
        entry(&mut b, EntryType::Regular, "bin/.wh.a", b"");
        link(&mut b, "usr/b", "bin/a");
        let err = unpack_tar("mau", b.into_inner().unwrap(), &lowers).unwrap_err();
        assert!(err.to_string().contains("whiteout"), "{err}");
    }
}
