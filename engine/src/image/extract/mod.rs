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
use super::read_ahead::HashingReadAhead;
use super::verify::{self, bad_tar, too_big, Budget, LimitReader};
use super::{ImageError, Layer, UnpackStats};

use super::overlay::is_opaque;
pub use super::overlay::OPAQUE_XATTR;

mod at;
mod extractor;
mod lower_links;
mod xattrs;

use at::*;
use extractor::Extractor;
pub use xattrs::allowed_xattr;
use xattrs::*;

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
    // Read and hashed beside the unpacking, on another thread.
    let ahead = HashingReadAhead::new(file).map_err(|e| ImageError::io(blob, e))?;
    let blob_reader = ProgressReader {
        inner: ahead,
        count: 0,
        progress,
    };
    let limited = LimitReader::new(Decoder::new(blob_reader, compression), limits.max_bytes);
    // A plain tar is its own diff_id: hashed once, as the blob.
    let plain = compression == Compression::None;
    let tar_reader = HashReader::hashing_if(limited, !plain);
    let mut archive = tar::Archive::new(tar_reader);
    let (stats, last) = extract_entries(&mut archive, dest, lowers, &layer.digest, limits)?;

    // The tar reader stops at the end-of-archive marker; the digests cover
    // the whole stream, so read what is left (padding) through both hashers.
    let mut tar_reader = archive.into_inner();
    tar_reader
        .drain()
        .map_err(|e| bad_tar(&layer.digest, &last, e))?;
    let (diff_id, _, limited) = tar_reader.finish();
    let mut blob_reader = limited.inner.into_inner().inner;
    blob_reader.drain().map_err(|e| ImageError::io(blob, e))?;
    let (digest, size) = blob_reader.finish();
    let diff_id = if plain { digest.clone() } else { diff_id };
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
mod tests;
