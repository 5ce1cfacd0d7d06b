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
//! # Checking entries
//!
//! A layer comes from outside, so before anything is written each header
//! goes through [`EntryChecker`], which refuses (naming layer and entry):
//! absolute paths (`/etc/passwd`), any `..` component, a path that goes
//! *through* a symlink declared earlier in the same layer (`evil -> /etc`,
//! then `evil/passwd`), hard links whose target is absolute, has `..`, or
//! was not declared earlier in the layer, malformed whiteouts and unknown
//! entry types. It recognizes OCI whiteouts ([`Whiteout`]).
//!
//! The checker gives clear messages; the *guarantee* that nothing is written
//! outside the layer directory comes from the kernel: the extractor in
//! [`super::extract`] resolves every path with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS)` relative to a directory fd, and creates the final
//! component with the `*at` calls. `image import` uses the same checker on
//! a tarball before storing it.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;
use tar::EntryType;

use super::digest::HashWriter;
pub use super::extract::{remove_tree, unpack, Limits};
use super::layer_tar::{Content, Entry};
use super::oci;
use super::zstd::ZstdDecoder;
use super::ImageError;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// From a layer descriptor's media type.
    pub fn from_media_type(media_type: &str) -> Result<Compression, ImageError> {
        match media_type {
            oci::MEDIA_TYPE_LAYER_TAR => Ok(Compression::None),
            oci::MEDIA_TYPE_LAYER_TAR_GZIP | oci::MEDIA_TYPE_DOCKER_LAYER_GZIP => {
                Ok(Compression::Gzip)
            }
            oci::MEDIA_TYPE_LAYER_TAR_ZSTD => Ok(Compression::Zstd),
            other => Err(ImageError::Other(format!(
                "tipo de camada não suportado: {other} (casulo entende {}, {}, {} e {})",
                oci::MEDIA_TYPE_LAYER_TAR,
                oci::MEDIA_TYPE_LAYER_TAR_GZIP,
                oci::MEDIA_TYPE_LAYER_TAR_ZSTD,
                oci::MEDIA_TYPE_DOCKER_LAYER_GZIP
            ))),
        }
    }

    /// From the first bytes of a file (its "magic number").
    pub fn sniff(head: &[u8]) -> Result<Compression, String> {
        match head {
            [0x1f, 0x8b, ..] => Ok(Compression::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Ok(Compression::Zstd),
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
            Compression::Zstd => oci::MEDIA_TYPE_LAYER_TAR_ZSTD,
        }
    }
}

/// A reader that undoes the layer's compression (and gives the raw reader back).
pub enum Decoder<R: Read> {
    Plain(R),
    Gzip(MultiGzDecoder<R>),
    /// Boxed: its frame decoder is a few KiB, gzip's state a few hundred bytes.
    Zstd(Box<ZstdDecoder<R>>),
}

impl<R: Read> Decoder<R> {
    pub fn new(inner: R, compression: Compression) -> Self {
        match compression {
            Compression::None => Decoder::Plain(inner),
            Compression::Gzip => Decoder::Gzip(MultiGzDecoder::new(inner)),
            Compression::Zstd => Decoder::Zstd(Box::new(ZstdDecoder::new(inner))),
        }
    }

    pub fn into_inner(self) -> R {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.into_inner(),
        }
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
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
    /// For hard links: the target was declared earlier in this layer (a
    /// real hard link). `false` only with
    /// [`EntryChecker::allowing_lower_links`]: the target is a file of a
    /// lower layer, which the extractor copies (see [`super::extract`]).
    pub target_in_layer: bool,
    /// Set when the entry is an OCI whiteout rather than a file.
    pub whiteout: Option<Whiteout>,
}

/// The prefix of OCI whiteout file names (from aufs).
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// The name that marks its directory opaque.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// What an OCI whiteout entry asks for (image-spec `layer.md`, "Whiteouts").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whiteout {
    /// `dir/.wh.NAME`: `dir/NAME` of the layers below is deleted.
    Remove(PathBuf),
    /// `dir/.wh..wh..opq`: everything under `dir` in the layers below is hidden.
    Opaque(PathBuf),
    /// Other `.wh..wh.*` names: aufs bookkeeping, ignored (as containerd does).
    AufsMeta,
}

impl Whiteout {
    /// Whether the normalized entry path `path` is a whiteout, and which.
    pub fn of(path: &Path) -> Result<Option<Whiteout>, String> {
        let Some(name) = path.file_name().map(OsStrExt::as_bytes) else {
            return Ok(None);
        };
        let Some(rest) = name.strip_prefix(WHITEOUT_PREFIX.as_bytes()) else {
            return Ok(None);
        };
        let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
        if name == OPAQUE_MARKER.as_bytes() {
            return Ok(Some(Whiteout::Opaque(parent)));
        }
        if rest.starts_with(WHITEOUT_PREFIX.as_bytes()) {
            return Ok(Some(Whiteout::AufsMeta));
        }
        if rest.is_empty() || rest == b"." || rest == b".." || rest.contains(&b'/') {
            return Err(format!(
                "whiteout inválido: {:?} não nomeia um arquivo do mesmo diretório",
                String::from_utf8_lossy(name)
            ));
        }
        Ok(Some(Whiteout::Remove(parent.join(OsStr::from_bytes(rest)))))
    }
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
    lower_links: bool,
}

impl EntryChecker {
    pub fn new() -> Self {
        Self::default()
    }

    /// A checker for a layer unpacked above other layers: a hard link whose
    /// target is not declared earlier in this layer is accepted (its target
    /// must then be found in a lower layer, by the extractor). The target's
    /// path is checked all the same (no `..`, not absolute, not through a
    /// symlink of this layer).
    pub fn allowing_lower_links() -> Self {
        EntryChecker {
            lower_links: true,
            ..Self::default()
        }
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
        self.check_ancestors(&path)?;
        if let Some(whiteout) = Whiteout::of(&path)? {
            // A mark for the layers below, not a file of this layer.
            return Ok(Some(CheckedEntry {
                path,
                kind,
                hardlink_target: None,
                target_in_layer: false,
                whiteout: Some(whiteout),
            }));
        }
        let mut hardlink_target = None;
        let mut target_in_layer = false;
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
                    Some(Seen::Other) | Some(Seen::Symlink) => target_in_layer = true,
                    Some(Seen::Dir) => {
                        return Err(format!("link físico para o diretório {shown:?}"));
                    }
                    None if self.lower_links => {}
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
            target_in_layer,
            whiteout: None,
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

/// Builds a layer tarball in memory, whose bytes depend only on what was
/// added (the bootstrap image, tests): entries sorted by path, one fixed
/// mtime, explicit modes and owners — written by the same writer as a
/// build's layers ([`super::layer_tar`]), gzip header without name or time.
/// The same content always gives the same diff_id and digest (a
/// *reproducible* layer).
#[derive(Debug, Clone)]
pub struct LayerBuilder {
    mtime: u64,
    entries: BTreeMap<String, Entry>,
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
        self.insert(path, Entry::Dir { mode, uid, gid })
    }

    pub fn file(&mut self, path: &str, mode: u32, uid: u64, gid: u64, data: Vec<u8>) -> &mut Self {
        let size = data.len() as u64;
        let source = Content::Bytes(data.into());
        self.insert(
            path,
            Entry::File {
                source,
                size,
                mode,
                uid,
                gid,
            },
        )
    }

    /// A symlink owned by root (its mode is always `0777` on Linux).
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        let target = target.to_string();
        self.insert(
            path,
            Entry::Symlink {
                target,
                uid: 0,
                gid: 0,
            },
        )
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

    fn insert(&mut self, path: &str, entry: Entry) -> &mut Self {
        let path = path.trim_matches('/').to_string();
        let mut parent = Path::new(&path).parent();
        while let Some(dir) = parent {
            if dir.as_os_str().is_empty() {
                break;
            }
            self.entries
                .entry(dir.to_string_lossy().into_owned())
                .or_insert(Entry::Dir {
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                });
            parent = dir.parent();
        }
        self.entries.insert(path, entry);
        self
    }

    /// Writes the uncompressed tar to `out`; returns it back.
    pub fn write_tar<W: Write>(&self, out: W) -> io::Result<W> {
        super::layer_tar::write_tar(out, &self.entries, self.mtime)
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
    use crate::image::{digest, Layer};
    use std::fs;
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
        let stats = unpack(&blob, &layer, &dest, Limits::default()).unwrap();
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
            ("whiteout-dotdot", "a/.wh...", |b| {
                raw_entry(b, EntryType::Regular, "a/.wh...", None, 0o644, b"")
            }),
            ("whiteout-through-symlink", "evil/.wh.passwd", |b| {
                raw_entry(b, EntryType::Symlink, "evil", Some("/etc"), 0o777, b"");
                raw_entry(b, EntryType::Regular, "evil/.wh.passwd", None, 0o644, b"");
            }),
            ("whiteout-outside", "../.wh.secret", |b| {
                raw_entry(b, EntryType::Regular, "../.wh.secret", None, 0o644, b"")
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
            let err = unpack(&blob, &layer, &dest, Limits::default()).expect_err(label);
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
            let err = super::super::extract::unpack_into(
                &blob,
                &layer,
                &dest,
                Limits::default(),
                &mut |_| {},
            )
            .expect_err(name);
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
        super::super::extract::unpack_into(&blob, &layer, &dest, Limits::default(), &mut |_| {})
            .unwrap();
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
        let err = unpack(&blob, &layer, &dest, Limits::default()).unwrap_err();
        // The image is wrong, not the store: no "corrompido" (issue 13).
        assert!(matches!(err, ImageError::BadLayer { .. }), "{err}");
        assert!(err.to_string().contains("diff_id"), "{err}");
        assert!(!err.to_string().contains("corrompido"), "{err}");
        assert!(!dest.exists());

        // Same for a blob whose bytes changed after it was stored.
        let (blob, layer) = layer_blob(tmp.path(), &tar);
        let mut bytes = fs::read(&blob).unwrap();
        let i = bytes.windows(8).position(|w| w == b"conteudo").unwrap();
        bytes[i] = b'C';
        fs::write(&blob, bytes).unwrap();
        let err = unpack(&blob, &layer, &dest, Limits::default()).unwrap_err();
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
        unpack(&blob, &layer, &dest, Limits::default()).unwrap();
        assert_eq!(fs::read(dest.join("z/y/x")).unwrap(), b"1");
    }

    #[test]
    fn image_layer_compression_sniffing() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8]), Ok(Compression::Gzip));
        assert_eq!(Compression::sniff(b"bin/\0\0"), Ok(Compression::None));
        assert!(Compression::sniff(&[0xfd, b'7', b'z', b'X', b'Z', 0])
            .unwrap_err()
            .contains("xz"));
        assert_eq!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+zstd").unwrap(),
            Compression::Zstd
        );
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Ok(Compression::Zstd)
        );
        assert!(
            Compression::from_media_type("application/vnd.oci.image.layer.v1.tar+lz4").is_err()
        );
        assert_eq!(
            Compression::from_media_type(oci::MEDIA_TYPE_DOCKER_LAYER_GZIP).unwrap(),
            Compression::Gzip
        );
    }
}
