//! Layer tarballs: building them deterministically and unpacking them safely.
//!
//! A layer is a tar archive (maybe gzip-compressed) of the files an image
//! step added or changed. Two digests name it:
//!
//! - the blob **digest**: sha256 of the bytes as stored (compressed), used in
//!   the manifest and as the blob's file name;
//! - the **diff_id**: sha256 of the *uncompressed* tar, listed in the config
//!   (`rootfs.diff_ids`); casulo unpacks each layer once into
//!   `layers/<diff_id hex>/`.
//!
//! # Safety of unpacking
//!
//! A layer comes from outside (a registry, a tarball a student downloaded),
//! so unpacking it must never write outside its directory. Three lines of
//! defense, in order:
//!
//! 1. [`EntryChecker`] looks at each header before anything is written and
//!    refuses (with [`ImageError::UnsafeEntry`], naming layer and entry):
//!    absolute paths (`/etc/passwd`), any `..` component, a path that goes
//!    *through* a symlink declared earlier in the same layer
//!    (`evil -> /etc`, then `evil/passwd`), hard links whose target is
//!    absolute, has `..`, or was not declared earlier in the layer, OCI
//!    whiteouts (`.wh.*`, not supported yet) and unknown entry types.
//! 2. Before each entry, the unpacker `lstat`s every existing parent of the
//!    target inside the layer directory and refuses if one is a symlink.
//!    Symlinks are *created* as they are (an absolute `bin/sh -> /bin/busybox`
//!    is normal: it is resolved inside the container later), but nothing is
//!    ever written *through* one.
//! 3. Regular files and symlinks are written by the `tar` crate's
//!    `Entry::unpack_in`, which by itself guarantees: entries with `..` are
//!    skipped, leading `/` is stripped, missing parents are created only after
//!    canonicalizing them and checking they are inside the destination, the
//!    parent of the target is canonicalized (following symlinks) and must be
//!    inside the destination, and files are created with `O_CREAT|O_EXCL`
//!    after unlinking what was there (so an existing symlink at the final
//!    component is replaced, not followed). Directories, hard links and
//!    FIFOs casulo creates itself with the same checks (hard links use
//!    `linkat` without `AT_SYMLINK_FOLLOW`: a link to a symlink links the
//!    symlink itself).
//!
//! These checks are path-based, so they are race-free only because nobody
//! else writes into the private temporary directory while it is unpacked.
//! TODO(openat2): a later issue replaces this with an extractor that opens
//! every path with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` relative
//! to a directory fd, which makes escapes impossible by construction (and
//! lets a layer legitimately write through in-root symlinks, as containerd does).
//!
//! What is preserved: ownership (uid/gid, only when casulo runs as root —
//! otherwise `chown` would fail), permissions including setuid/setgid/sticky
//! (`chown` happens before `chmod`, because `chown` clears setuid), mtimes,
//! extended attributes (`SCHILY.xattr.*` PAX records, on files and
//! directories), symlinks, hard links and FIFOs. Device nodes are skipped and
//! counted in [`UnpackStats::devices_skipped`]: creating them needs
//! `CAP_MKNOD`, and runc/containerd only create device nodes from layers when
//! running privileged; a container gets its `/dev` from the runtime instead.
//! Directory modes and mtimes are applied at the end, deepest first, so a
//! read-only directory can still receive its files and writing a child does
//! not change its parent's mtime.
//!
//! On any error the half-made directory is removed: nothing is left behind.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{CString, OsStr};
use std::fs;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use flate2::read::MultiGzDecoder;
use tar::EntryType;

use super::digest::{HashReader, HashWriter};
use super::oci;
use super::{ImageError, Layer, UnpackStats};

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
}

impl Compression {
    /// From a layer descriptor's media type.
    pub fn from_media_type(media_type: &str) -> Result<Compression, ImageError> {
        match media_type {
            oci::MEDIA_TYPE_LAYER_TAR => Ok(Compression::None),
            oci::MEDIA_TYPE_LAYER_TAR_GZIP | oci::MEDIA_TYPE_DOCKER_LAYER_GZIP => {
                Ok(Compression::Gzip)
            }
            other if other.ends_with("+zstd") || other.ends_with(".zstd") => {
                Err(ImageError::Other(format!(
                    "camadas comprimidas com zstd ainda não são suportadas ({other})"
                )))
            }
            other => Err(ImageError::Other(format!(
                "tipo de camada não suportado: {other} (casulo entende {}, {} e {})",
                oci::MEDIA_TYPE_LAYER_TAR,
                oci::MEDIA_TYPE_LAYER_TAR_GZIP,
                oci::MEDIA_TYPE_DOCKER_LAYER_GZIP
            ))),
        }
    }

    /// From the first bytes of a file (its "magic number").
    pub fn sniff(head: &[u8]) -> Result<Compression, String> {
        match head {
            [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => {
                Err("o arquivo está comprimido com zstd; descompacte antes com `zstd -d`".into())
            }
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => {
                Err("o arquivo está comprimido com xz; descompacte antes com `xz -d`".into())
            }
            [b'B', b'Z', b'h', ..] => {
                Err("o arquivo está comprimido com bzip2; descompacte antes com `bzip2 -d`".into())
            }
            _ => Ok(Compression::None),
        }
    }

    /// The OCI media type of a layer with this compression.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::None => oci::MEDIA_TYPE_LAYER_TAR,
            Compression::Gzip => oci::MEDIA_TYPE_LAYER_TAR_GZIP,
        }
    }
}

/// A reader that undoes the layer's compression (and gives the raw reader back).
pub enum Decoder<R: Read> {
    Plain(R),
    Gzip(MultiGzDecoder<R>),
}

impl<R: Read> Decoder<R> {
    pub fn new(inner: R, compression: Compression) -> Self {
        match compression {
            Compression::None => Decoder::Plain(inner),
            Compression::Gzip => Decoder::Gzip(MultiGzDecoder::new(inner)),
        }
    }

    pub fn into_inner(self) -> R {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(d) => d.into_inner(),
        }
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
        }
    }
}

/// The normalized relative path of a tar entry (`./bin/sh` → `bin/sh`; the
/// root `./` → empty), or why it is refused (pt-BR).
pub fn entry_path(raw: &[u8]) -> Result<PathBuf, String> {
    if raw.first() == Some(&b'/') {
        return Err(
            "caminho absoluto: as entradas de uma camada devem ser relativas à raiz da imagem"
                .into(),
        );
    }
    let mut out = PathBuf::new();
    for component in Path::new(OsStr::from_bytes(raw)).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err("o caminho contém '..' e sairia do diretório da camada".into())
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(
                    "caminho absoluto: as entradas de uma camada devem ser relativas".into(),
                )
            }
        }
    }
    Ok(out)
}

/// What an accepted entry is, after [`EntryChecker::check`].
#[derive(Debug, Clone)]
pub struct CheckedEntry {
    /// Normalized relative path (empty for the layer root `./`).
    pub path: PathBuf,
    pub kind: EntryType,
    /// For hard links: the normalized relative target.
    pub hardlink_target: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Dir,
    Symlink,
    Other,
}

/// Checks tar headers one by one (see the module docs for the rules); keeps
/// what the layer declared so far, so it can spot writes through symlinks and
/// hard links to nowhere. Used by the unpacker and by `image import` (which
/// checks a tarball before storing it).
#[derive(Debug, Default)]
pub struct EntryChecker {
    seen: HashMap<PathBuf, Seen>,
}

impl EntryChecker {
    pub fn new() -> Self {
        Self::default()
    }

    /// `Ok(None)` for metadata-only entries (PAX global headers) to skip;
    /// `Err(why)` in pt-BR for a refused entry.
    pub fn check<R: Read>(
        &mut self,
        entry: &tar::Entry<'_, R>,
    ) -> Result<Option<CheckedEntry>, String> {
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            EntryType::XGlobalHeader
                | EntryType::XHeader
                | EntryType::GNULongName
                | EntryType::GNULongLink
        ) {
            return Ok(None);
        }
        let path = entry_path(&entry.path_bytes())?;
        if path.as_os_str().is_empty() && !kind.is_dir() {
            return Err(
                "entrada sem nome (só a raiz \"./\" pode não ter nome, e ela é um diretório)"
                    .into(),
            );
        }
        if path
            .file_name()
            .is_some_and(|name| name.as_bytes().starts_with(b".wh."))
        {
            return Err(
                "whiteout (arquivo \".wh.*\"): marcas de remoção entre camadas \
                        ainda não são suportadas pelo casulo"
                    .into(),
            );
        }
        self.check_ancestors(&path)?;
        let mut hardlink_target = None;
        let seen = match kind {
            EntryType::Directory => Seen::Dir,
            EntryType::Symlink => {
                if entry.link_name_bytes().is_none_or(|t| t.is_empty()) {
                    return Err("link simbólico sem destino".into());
                }
                Seen::Symlink
            }
            EntryType::Link => {
                let raw = entry
                    .link_name_bytes()
                    .ok_or("link físico sem destino")?
                    .into_owned();
                let shown = String::from_utf8_lossy(&raw).into_owned();
                let target =
                    entry_path(&raw).map_err(|why| format!("link físico para {shown:?}: {why}"))?;
                if target.as_os_str().is_empty() {
                    return Err("link físico para a raiz da camada".into());
                }
                self.check_ancestors(&target)
                    .map_err(|why| format!("link físico para {shown:?}: {why}"))?;
                match self.seen.get(&target) {
                    Some(Seen::Other) | Some(Seen::Symlink) => {}
                    Some(Seen::Dir) => {
                        return Err(format!("link físico para o diretório {shown:?}"));
                    }
                    None => {
                        return Err(format!(
                            "link físico para {shown:?}, que não aparece antes na camada"
                        ));
                    }
                }
                hardlink_target = Some(target);
                Seen::Other
            }
            EntryType::Regular
            | EntryType::Continuous
            | EntryType::GNUSparse
            | EntryType::Char
            | EntryType::Block
            | EntryType::Fifo => Seen::Other,
            other => {
                return Err(format!(
                    "tipo de entrada tar desconhecido ({:?}, byte {:?})",
                    other,
                    other.as_byte() as char
                ));
            }
        };
        self.seen.insert(path.clone(), seen);
        Ok(Some(CheckedEntry {
            path,
            kind,
            hardlink_target,
        }))
    }

    fn check_ancestors(&self, path: &Path) -> Result<(), String> {
        let mut ancestor = path.parent();
        while let Some(dir) = ancestor {
            if dir.as_os_str().is_empty() {
                break;
            }
            if self.seen.get(dir) == Some(&Seen::Symlink) {
                return Err(format!(
                    "o caminho passa pelo link simbólico {:?} declarado antes na camada \
                     (escrever através de links é recusado)",
                    dir.display().to_string()
                ));
            }
            ancestor = dir.parent();
        }
        Ok(())
    }
}

/// Unpacks the layer blob at `blob` into `dest`, which must not exist yet.
///
/// Verifies the blob digest and size (of the stored bytes) and the diff_id
/// (of the uncompressed tar) while reading; on any error, including a digest
/// mismatch found at the end, `dest` is removed.
pub fn unpack(blob: &Path, layer: &Layer, dest: &Path) -> Result<UnpackStats, ImageError> {
    let started = Instant::now();
    fs::DirBuilder::new()
        .mode(0o755)
        .create(dest)
        .and_then(|_| fs::set_permissions(dest, fs::Permissions::from_mode(0o755)))
        .map_err(|e| ImageError::io(dest, e))?;
    match unpack_into(blob, layer, dest) {
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
    path: PathBuf,
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

fn unpack_into(blob: &Path, layer: &Layer, dest: &Path) -> Result<UnpackStats, ImageError> {
    let compression = Compression::from_media_type(&layer.media_type)?;
    let file = fs::File::open(blob).map_err(|e| ImageError::io(blob, e))?;
    let blob_reader = HashReader::new(BufReader::with_capacity(256 * 1024, file));
    let tar_reader = HashReader::new(Decoder::new(blob_reader, compression));
    let mut archive = tar::Archive::new(tar_reader);
    let as_root = nix::unistd::geteuid().is_root();
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(true);
    archive.set_preserve_ownerships(as_root);
    archive.set_overwrite(true);
    archive.set_mask(0);

    let bad_tar = |after: &str, e: io::Error| ImageError::BadLayer {
        layer: layer.digest.clone(),
        what: if after.is_empty() {
            "o arquivo tar é inválido logo no início".to_string()
        } else {
            format!("o arquivo tar é inválido depois da entrada {after:?}")
        },
        source: Some(e),
    };

    let mut stats = UnpackStats::default();
    let mut checker = EntryChecker::new();
    let mut dirs: Vec<DirMeta> = Vec::new();
    let mut last = String::new();
    for entry in archive.entries().map_err(|e| bad_tar("", e))? {
        let mut entry = entry.map_err(|e| bad_tar(&last, e))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let checked = match checker.check(&entry) {
            Ok(Some(checked)) => checked,
            Ok(None) => continue,
            Err(why) => {
                return Err(ImageError::UnsafeEntry {
                    layer: layer.digest.clone(),
                    entry: name,
                    why,
                })
            }
        };
        unpack_entry(
            &mut entry, &name, &checked, dest, as_root, &mut stats, &mut dirs,
        )
        .map_err(|e| match e {
            EntryError::Unsafe(why) => ImageError::UnsafeEntry {
                layer: layer.digest.clone(),
                entry: name.clone(),
                why,
            },
            EntryError::Io(source) => ImageError::Unpack {
                layer: layer.digest.clone(),
                entry: name.clone(),
                source,
            },
        })?;
        last = name;
    }

    // The tar reader stops at the end-of-archive marker; the digests cover
    // the whole stream, so read what is left (padding) through both hashers.
    let mut tar_reader = archive.into_inner();
    tar_reader.drain().map_err(|e| bad_tar(&last, e))?;
    let (diff_id, _, decoder) = tar_reader.finish();
    let mut blob_reader = decoder.into_inner();
    blob_reader.drain().map_err(|e| ImageError::io(blob, e))?;
    let (digest, size, _) = blob_reader.finish();
    if digest != layer.digest || size != layer.size {
        return Err(ImageError::Corrupt(format!(
            "blob da camada {}: o arquivo tem {size} bytes e sha256 {digest}, \
             mas o manifest diz {} bytes (o blob foi alterado ou corrompido)",
            layer.digest, layer.size
        )));
    }
    if diff_id != layer.diff_id {
        return Err(ImageError::Corrupt(format!(
            "camada {}: o tar descompactado tem diff_id {diff_id}, mas a config da imagem \
             declara {} (conteúdo corrompido)",
            layer.digest, layer.diff_id
        )));
    }

    // Deepest directories first: fixing a child never touches its parent.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.path.components().count()));
    for dir in &dirs {
        apply_dir_meta(dir, as_root).map_err(|source| ImageError::Unpack {
            layer: layer.digest.clone(),
            entry: dir.name.clone(),
            source,
        })?;
    }
    Ok(stats)
}

fn unpack_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    name: &str,
    checked: &CheckedEntry,
    dest: &Path,
    as_root: bool,
    stats: &mut UnpackStats,
    dirs: &mut Vec<DirMeta>,
) -> Result<(), EntryError> {
    check_no_symlink_parents(dest, &checked.path)?;
    let target = dest.join(&checked.path);
    let header = entry.header();
    match checked.kind {
        EntryType::Directory => {
            let (mode, uid, gid, mtime) = (
                header.mode()?,
                header.uid()?,
                header.gid()?,
                header.mtime()?,
            );
            if !checked.path.as_os_str().is_empty() {
                make_dir(&target)?;
            }
            dirs.push(DirMeta {
                name: name.to_string(),
                path: target,
                mode,
                uid,
                gid,
                mtime,
                xattrs: entry_xattrs(entry)?,
            });
            stats.dirs += 1;
        }
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
            let size = entry.size();
            if !entry.unpack_in(dest)? {
                return Err(EntryError::Unsafe("o tar recusou o caminho".into()));
            }
            stats.files += 1;
            stats.bytes += size;
        }
        EntryType::Symlink => {
            if !entry.unpack_in(dest)? {
                return Err(EntryError::Unsafe("o tar recusou o caminho".into()));
            }
            stats.symlinks += 1;
        }
        EntryType::Link => {
            let rel = checked
                .hardlink_target
                .as_deref()
                .ok_or_else(|| EntryError::Unsafe("link físico sem destino".into()))?;
            check_no_symlink_parents(dest, rel)?;
            let source = dest.join(rel);
            let meta = match fs::symlink_metadata(&source) {
                Ok(meta) => meta,
                // A hard link to a device node that was skipped is skipped too.
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound
                        && stats
                            .skipped_devices
                            .iter()
                            .any(|d| entry_path(d.as_bytes()).is_ok_and(|p| p == rel)) =>
                {
                    stats.devices_skipped += 1;
                    stats.skipped_devices.push(name.to_string());
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
            if meta.is_dir() {
                return Err(EntryError::Unsafe("link físico para um diretório".into()));
            }
            remove_non_dir(&target)?;
            make_parent(&target)?;
            // linkat(2) without AT_SYMLINK_FOLLOW: never follows `source`.
            fs::hard_link(&source, &target)?;
            stats.hardlinks += 1;
        }
        EntryType::Fifo => {
            let (mode, uid, gid, mtime) = (
                header.mode()?,
                header.uid()?,
                header.gid()?,
                header.mtime()?,
            );
            remove_non_dir(&target)?;
            make_parent(&target)?;
            nix::unistd::mkfifo(&target, nix::sys::stat::Mode::from_bits_truncate(0o600))
                .map_err(io::Error::from)?;
            if as_root {
                std::os::unix::fs::lchown(&target, Some(uid as u32), Some(gid as u32))?;
            }
            fs::set_permissions(&target, fs::Permissions::from_mode(mode & 0o7777))?;
            set_mtime(&target, mtime)?;
            stats.files += 1;
        }
        EntryType::Char | EntryType::Block => {
            stats.devices_skipped += 1;
            stats.skipped_devices.push(name.to_string());
        }
        _ => return Err(EntryError::Unsafe("tipo de entrada não suportado".into())),
    }
    Ok(())
}

/// Refuses when an existing parent of `rel` inside `dest` is a symlink.
fn check_no_symlink_parents(dest: &Path, rel: &Path) -> Result<(), EntryError> {
    let Some(parent) = rel.parent() else {
        return Ok(());
    };
    let mut current = dest.to_path_buf();
    for component in parent.components() {
        current.push(component);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let shown = current.strip_prefix(dest).unwrap_or(&current);
                return Err(EntryError::Unsafe(format!(
                    "o caminho passa pelo link simbólico {:?} (escrever através de links é recusado)",
                    shown.display().to_string()
                )));
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(EntryError::Io(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{} não é um diretório", current.display()),
                )))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => return Err(EntryError::Io(e)),
        }
    }
    Ok(())
}

/// Creates a directory (and missing parents, already checked) if needed;
/// a non-directory in the way is replaced (a later entry wins).
fn make_dir(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => fs::remove_file(path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(path)
}

fn make_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(parent),
        None => Ok(()),
    }
}

/// Removes what is at `path` unless it is a directory (then it is an error).
fn remove_non_dir(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            format!("{} já existe e é um diretório", path.display()),
        )),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn apply_dir_meta(dir: &DirMeta, as_root: bool) -> io::Result<()> {
    if as_root {
        // chown first: it clears setgid, which chmod then sets.
        std::os::unix::fs::lchown(&dir.path, Some(dir.uid as u32), Some(dir.gid as u32))?;
    }
    for (name, value) in &dir.xattrs {
        set_xattr(&dir.path, name, value)?;
    }
    fs::set_permissions(&dir.path, fs::Permissions::from_mode(dir.mode & 0o7777))?;
    set_mtime(&dir.path, dir.mtime)
}

/// Sets atime and mtime without following a symlink at `path`.
fn set_mtime(path: &Path, mtime: u64) -> io::Result<()> {
    let ts = nix::sys::time::TimeSpec::new(mtime as i64, 0);
    nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &ts,
        &ts,
        nix::sys::stat::UtimensatFlags::NoFollowSymlink,
    )
    .map_err(io::Error::from)
}

/// The `SCHILY.xattr.<name>` PAX records of an entry.
fn entry_xattrs<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    if let Some(extensions) = entry.pax_extensions()? {
        for extension in extensions {
            let extension = extension?;
            if let Some(name) = extension.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                out.push((name.to_vec(), extension.value_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

fn set_xattr(path: &Path, name: &[u8], value: &[u8]) -> io::Result<()> {
    let nul = |_| io::Error::new(io::ErrorKind::InvalidInput, "NUL no nome");
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(nul)?;
    let c_name = CString::new(name).map_err(nul)?;
    // SAFETY: both strings are valid NUL-terminated C strings and `value`
    // is a live slice of `value.len()` bytes for the duration of the call.
    let rc = unsafe {
        libc::lsetxattr(
            c_path.as_ptr(),
            c_name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
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

/// Builds a layer tarball whose bytes depend only on what was added: entries
/// sorted by path, one fixed mtime, explicit modes and owners, no user or
/// group names, gzip header without name or time. The same content always
/// gives the same diff_id and digest (a *reproducible* layer).
#[derive(Debug, Clone)]
pub struct LayerBuilder {
    mtime: u64,
    entries: BTreeMap<String, BuildEntry>,
}

#[derive(Debug, Clone)]
struct BuildEntry {
    kind: BuildKind,
    mode: u32,
    uid: u64,
    gid: u64,
}

#[derive(Debug, Clone)]
enum BuildKind {
    Dir,
    File(Vec<u8>),
    Symlink(String),
}

impl LayerBuilder {
    /// `mtime`: seconds since the epoch given to every entry.
    pub fn new(mtime: u64) -> Self {
        LayerBuilder {
            mtime,
            entries: BTreeMap::new(),
        }
    }

    /// Adds a directory; missing parents are added as `0755 root:root`.
    pub fn dir(&mut self, path: &str, mode: u32, uid: u64, gid: u64) -> &mut Self {
        self.insert(path, BuildKind::Dir, mode, uid, gid)
    }

    pub fn file(&mut self, path: &str, mode: u32, uid: u64, gid: u64, data: Vec<u8>) -> &mut Self {
        self.insert(path, BuildKind::File(data), mode, uid, gid)
    }

    /// A symlink owned by root (its mode is always `0777` on Linux).
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.insert(path, BuildKind::Symlink(target.to_string()), 0o777, 0, 0)
    }

    /// Whether `path` was added (explicitly or as a parent).
    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path.trim_matches('/'))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(&mut self, path: &str, kind: BuildKind, mode: u32, uid: u64, gid: u64) -> &mut Self {
        let path = path.trim_matches('/').to_string();
        let mut parent = Path::new(&path).parent();
        while let Some(dir) = parent {
            if dir.as_os_str().is_empty() {
                break;
            }
            self.entries
                .entry(dir.to_string_lossy().into_owned())
                .or_insert(BuildEntry {
                    kind: BuildKind::Dir,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                });
            parent = dir.parent();
        }
        self.entries.insert(
            path,
            BuildEntry {
                kind,
                mode,
                uid,
                gid,
            },
        );
        self
    }

    /// Writes the uncompressed tar to `out`; returns it back.
    pub fn write_tar<W: Write>(&self, out: W) -> io::Result<W> {
        let mut builder = tar::Builder::new(out);
        for (path, entry) in &self.entries {
            let mut header = tar::Header::new_ustar();
            header.set_mode(entry.mode);
            header.set_uid(entry.uid);
            header.set_gid(entry.gid);
            header.set_mtime(self.mtime);
            match &entry.kind {
                BuildKind::Dir => {
                    header.set_entry_type(EntryType::Directory);
                    header.set_size(0);
                    builder.append_data(&mut header, format!("{path}/"), io::empty())?;
                }
                BuildKind::File(data) => {
                    header.set_entry_type(EntryType::Regular);
                    header.set_size(data.len() as u64);
                    builder.append_data(&mut header, path, &data[..])?;
                }
                BuildKind::Symlink(target) => {
                    header.set_entry_type(EntryType::Symlink);
                    header.set_size(0);
                    builder.append_link(&mut header, path, target)?;
                }
            }
        }
        builder.into_inner()
    }

    /// Writes the tar gzip-compressed to `out`; returns the diff_id (sha256
    /// of the uncompressed tar) and `out`.
    pub fn write_gzip<W: Write>(&self, out: W) -> io::Result<(String, W)> {
        // GzBuilder's default header has no file name and mtime 0.
        let gzip = flate2::GzBuilder::new().write(out, flate2::Compression::default());
        let hashing = self.write_tar(HashWriter::new(gzip))?;
        let (diff_id, _, gzip) = hashing.finish();
        Ok((diff_id, gzip.finish()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::digest;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    /// Appends an entry with a raw name (bypassing the tar crate's own
    /// refusal to *write* unsafe paths).
    fn raw_entry(
        builder: &mut tar::Builder<Vec<u8>>,
        kind: EntryType,
        name: &str,
        link: Option<&str>,
        mode: u32,
        data: &[u8],
    ) {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_000_000);
        header.set_size(data.len() as u64);
        let old = header.as_old_mut();
        old.name = [0; 100];
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            old.linkname = [0; 100];
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }

    /// Writes `tar` as a plain-tar layer blob in `dir`; returns its Layer.
    fn layer_blob(dir: &Path, tar: &[u8]) -> (PathBuf, Layer) {
        let digest = digest::sha256(tar);
        let blob = dir.join(digest::hex_of(&digest).unwrap());
        fs::write(&blob, tar).unwrap();
        let layer = Layer {
            digest: digest.clone(),
            diff_id: digest,
            media_type: oci::MEDIA_TYPE_LAYER_TAR.into(),
            size: tar.len() as u64,
        };
        (blob, layer)
    }

    /// A directory tree listing, to prove nothing was written outside.
    fn listing(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                out.push(path.strip_prefix(base).unwrap().display().to_string());
                if entry.file_type().unwrap().is_dir() {
                    walk(base, &path, out);
                }
            }
        }
        walk(dir, dir, &mut out);
        out.sort();
        out
    }

    #[test]
    fn image_layer_unpack_preserves_modes_links_and_names() {
        let tmp = tempfile::tempdir().unwrap();
        let mut layer = LayerBuilder::new(1_700_000_000);
        layer
            .dir("bin", 0o755, 0, 0)
            .file("bin/prog", 0o6755, 1000, 1000, b"#!/bin/sh\n".to_vec())
            .file(
                "etc/ação.txt",
                0o640,
                1000,
                1000,
                "olá\n".as_bytes().to_vec(),
            )
            .symlink("bin/sh", "/bin/busybox")
            .symlink("etc/rel", "../bin/prog")
            .dir("tmp", 0o1777, 0, 0)
            .dir("ro", 0o555, 0, 0)
            .file("ro/inside", 0o444, 0, 0, b"x".to_vec());
        let mut tar = layer.write_tar(Vec::new()).unwrap();
        // Append a hard link (the builder only does dirs/files/symlinks).
        tar.truncate(tar.len() - 1024); // drop the end-of-archive blocks
        let mut builder = tar::Builder::new(tar);
        raw_entry(
            &mut builder,
            EntryType::Link,
            "bin/prog2",
            Some("bin/prog"),
            0o4755,
            b"",
        );
        raw_entry(&mut builder, EntryType::Fifo, "tmp/fila", None, 0o620, b"");
        raw_entry(&mut builder, EntryType::Char, "dev-null", None, 0o666, b"");
        raw_entry(
            &mut builder,
            EntryType::Link,
            "dev-null2",
            Some("dev-null"),
            0o666,
            b"",
        );
        let tar = builder.into_inner().unwrap();
        let (blob, layer) = layer_blob(tmp.path(), &tar);

        let dest = tmp.path().join("out");
        let stats = unpack(&blob, &layer, &dest).unwrap();
        assert_eq!(stats.devices_skipped, 2);
        assert_eq!(stats.skipped_devices, ["dev-null", "dev-null2"]);
        assert!(stats.files >= 3 && stats.symlinks == 2 && stats.hardlinks == 1);

        let mode = |p: &str| fs::symlink_metadata(dest.join(p)).unwrap().mode() & 0o7777;
        assert_eq!(mode("bin/prog"), 0o6755, "setuid and setgid kept");
        assert_eq!(mode("tmp"), 0o1777, "sticky kept");
        assert_eq!(mode("ro"), 0o555);
        assert_eq!(mode("ro/inside"), 0o444);
        assert_eq!(mode("tmp/fila"), 0o620);
        assert!(fs::symlink_metadata(dest.join("tmp/fila"))
            .unwrap()
            .file_type()
            .is_fifo());
        assert_eq!(
            fs::read_to_string(dest.join("etc/ação.txt")).unwrap(),
            "olá\n"
        );
        assert_eq!(
            fs::read_link(dest.join("bin/sh")).unwrap(),
            Path::new("/bin/busybox")
        );
        assert_eq!(
            fs::read_link(dest.join("etc/rel")).unwrap(),
            Path::new("../bin/prog")
        );
        let a = fs::metadata(dest.join("bin/prog")).unwrap();
        let b = fs::metadata(dest.join("bin/prog2")).unwrap();
        assert_eq!(
            (a.ino(), a.nlink()),
            (b.ino(), 2),
            "hard link shares the inode"
        );
        assert_eq!(a.mtime(), 1_700_000_000);
        assert_eq!(
            fs::metadata(dest.join("ro")).unwrap().mtime(),
            1_700_000_000
        );
        assert!(!dest.join("dev-null").exists());
        if nix::unistd::geteuid().is_root() {
            let m = fs::metadata(dest.join("etc/ação.txt")).unwrap();
            assert_eq!((m.uid(), m.gid()), (1000, 1000));
        }
        remove_tree(&dest);
        assert!(!dest.exists());
    }

    /// Each unsafe tar is refused, names the entry, writes nothing outside
    /// and leaves no temp dir.
    #[test]
    fn image_layer_unsafe_entries_are_refused_and_cleaned() {
        type Build = fn(&mut tar::Builder<Vec<u8>>);
        let cases: Vec<(&str, &str, Build)> = vec![
            ("dotdot", "../x", |b| {
                raw_entry(b, EntryType::Regular, "../x", None, 0o644, b"pwned")
            }),
            ("dotdot-inner", "a/../../x", |b| {
                raw_entry(b, EntryType::Directory, "a/", None, 0o755, b"");
                raw_entry(b, EntryType::Regular, "a/../../x", None, 0o644, b"pwned");
            }),
            ("absolute", "/abs", |b| {
                raw_entry(b, EntryType::Regular, "/abs", None, 0o644, b"pwned")
            }),
            ("symlink-then-through", "evil/x", |b| {
                raw_entry(
                    b,
                    EntryType::Symlink,
                    "evil",
                    Some("../outside"),
                    0o777,
                    b"",
                );
                raw_entry(b, EntryType::Regular, "evil/x", None, 0o644, b"pwned");
            }),
            ("abs-symlink-then-through", "evil/x", |b| {
                raw_entry(b, EntryType::Symlink, "evil", Some("/tmp"), 0o777, b"");
                raw_entry(b, EntryType::Regular, "evil/x", None, 0o644, b"pwned");
            }),
            ("hardlink-dotdot", "h", |b| {
                raw_entry(
                    b,
                    EntryType::Link,
                    "h",
                    Some("../outside/secret"),
                    0o644,
                    b"",
                )
            }),
            ("hardlink-absolute", "h", |b| {
                raw_entry(b, EntryType::Link, "h", Some("/etc/passwd"), 0o644, b"")
            }),
            ("hardlink-through-symlink", "h", |b| {
                raw_entry(b, EntryType::Symlink, "s", Some("../outside"), 0o777, b"");
                raw_entry(b, EntryType::Link, "h", Some("s/secret"), 0o644, b"");
            }),
            ("whiteout", "a/.wh.b", |b| {
                raw_entry(b, EntryType::Regular, "a/.wh.b", None, 0o644, b"")
            }),
        ];
        for (label, bad_entry, build) in cases {
            let tmp = tempfile::tempdir().unwrap();
            let outside = tmp.path().join("outside");
            fs::create_dir(&outside).unwrap();
            fs::write(outside.join("secret"), "segredo").unwrap();
            let layers = tmp.path().join("layers");
            fs::create_dir(&layers).unwrap();

            let mut builder = tar::Builder::new(Vec::new());
            raw_entry(
                &mut builder,
                EntryType::Regular,
                "ok.txt",
                None,
                0o644,
                b"ok",
            );
            build(&mut builder);
            let tar = builder.into_inner().unwrap();
            let (blob, layer) = layer_blob(tmp.path(), &tar);

            let dest = layers.join(".tmp-test");
            let before = listing(tmp.path());
            let err = unpack(&blob, &layer, &dest).expect_err(label);
            match &err {
                ImageError::UnsafeEntry {
                    layer: l, entry, ..
                } => {
                    assert_eq!(l, &layer.digest, "{label}");
                    assert_eq!(entry, bad_entry, "{label}");
                }
                other => panic!("{label}: unexpected error {other}"),
            }
            let msg = err.to_string();
            assert!(
                msg.contains(&layer.digest) && msg.contains(bad_entry),
                "{label}: {msg}"
            );
            assert!(!dest.exists(), "{label}: temp dir left behind");
            assert_eq!(
                listing(tmp.path()),
                before,
                "{label}: something written outside"
            );
            assert_eq!(
                fs::read_to_string(outside.join("secret")).unwrap(),
                "segredo"
            );
        }
    }

    /// Second line of defense: a symlink already in the directory (not
    /// declared by the layer, so the header checker cannot know it) is
    /// still never written through.
    #[test]
    fn image_layer_existing_symlink_in_dest_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let dest = tmp.path().join("dest");
        fs::create_dir(&dest).unwrap();
        std::os::unix::fs::symlink(&outside, dest.join("evil")).unwrap();
        for (kind, name) in [
            (EntryType::Regular, "evil/x"),
            (EntryType::Directory, "evil/d/"),
            (EntryType::Fifo, "evil/f"),
        ] {
            let mut builder = tar::Builder::new(Vec::new());
            raw_entry(&mut builder, kind, name, None, 0o644, b"");
            let tar = builder.into_inner().unwrap();
            let (blob, layer) = layer_blob(tmp.path(), &tar);
            let err = unpack_into(&blob, &layer, &dest).expect_err(name);
            assert!(
                matches!(&err, ImageError::UnsafeEntry { entry, .. } if entry == name),
                "{name}: {err}"
            );
            assert!(err.to_string().contains("link simbólico"), "{err}");
            assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "{name}");
        }
        // A file *named* like the symlink replaces the link, never writes
        // through it.
        let mut builder = tar::Builder::new(Vec::new());
        raw_entry(
            &mut builder,
            EntryType::Regular,
            "evil",
            None,
            0o644,
            b"novo",
        );
        let (blob, layer) = layer_blob(tmp.path(), &builder.into_inner().unwrap());
        unpack_into(&blob, &layer, &dest).unwrap();
        assert!(fs::symlink_metadata(dest.join("evil")).unwrap().is_file());
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    }

    #[test]
    fn image_layer_diff_id_mismatch_is_refused_and_cleaned() {
        let tmp = tempfile::tempdir().unwrap();
        let mut layer = LayerBuilder::new(0);
        layer.file("a.txt", 0o644, 0, 0, b"conteudo".to_vec());
        let tar = layer.write_tar(Vec::new()).unwrap();
        let (blob, mut layer) = layer_blob(tmp.path(), &tar);
        layer.diff_id = digest::sha256(b"outra coisa");
        let dest = tmp.path().join("out");
        let err = unpack(&blob, &layer, &dest).unwrap_err();
        assert!(matches!(err, ImageError::Corrupt(_)), "{err}");
        assert!(err.to_string().contains("diff_id"), "{err}");
        assert!(!dest.exists());

        // Same for a blob whose bytes changed after it was stored.
        let (blob, layer) = layer_blob(tmp.path(), &tar);
        let mut bytes = fs::read(&blob).unwrap();
        let i = bytes.windows(8).position(|w| w == b"conteudo").unwrap();
        bytes[i] = b'C';
        fs::write(&blob, bytes).unwrap();
        let err = unpack(&blob, &layer, &dest).unwrap_err();
        assert!(err.to_string().contains(&layer.digest), "{err}");
        assert!(!dest.exists());
    }

    #[test]
    fn image_layer_builder_is_deterministic_and_gzip_roundtrips() {
        let make = || {
            let mut b = LayerBuilder::new(0);
            b.file("z/y/x", 0o600, 0, 0, b"1".to_vec())
                .symlink("a", "z")
                .dir("m", 0o700, 0, 0);
            b
        };
        let (d1, gz1) = make().write_gzip(Vec::new()).unwrap();
        let (d2, gz2) = make().write_gzip(Vec::new()).unwrap();
        assert_eq!((d1.clone(), gz1.clone()), (d2, gz2));
        let tar = make().write_tar(Vec::new()).unwrap();
        assert_eq!(d1, digest::sha256(&tar));
        // Parents come before children, sorted.
        let mut archive = tar::Archive::new(&tar[..]);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
            .collect();
        assert_eq!(names, ["a", "m/", "z/", "z/y/", "z/y/x"]);

        let tmp = tempfile::tempdir().unwrap();
        let blob = tmp.path().join("blob");
        fs::write(&blob, &gz1).unwrap();
        let layer = Layer {
            digest: digest::sha256(&gz1),
            diff_id: d1,
            media_type: oci::MEDIA_TYPE_LAYER_TAR_GZIP.into(),
            size: gz1.len() as u64,
        };
        let dest = tmp.path().join("out");
        unpack(&blob, &layer, &dest).unwrap();
        assert_eq!(fs::read(dest.join("z/y/x")).unwrap(), b"1");
    }

    #[test]
    fn image_layer_compression_sniffing() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8]), Ok(Compression::Gzip));
        assert_eq!(Compression::sniff(b"bin/\0\0"), Ok(Compression::None));
        assert!(Compression::sniff(&[0xfd, b'7', b'z', b'X', b'Z', 0])
            .unwrap_err()
            .contains("xz"));
        assert!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+zstd").is_err()
        );
        assert_eq!(
            Compression::from_media_type(oci::MEDIA_TYPE_DOCKER_LAYER_GZIP).unwrap(),
            Compression::Gzip
        );
    }
}
