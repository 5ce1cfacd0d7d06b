//! `casulo image load` and `casulo image save`: images in and out of the
//! store, in the two formats other tools speak.
//!
//! - **OCI image layout** (image-spec `image-layout.md`): a directory (or a
//!   tar of it) with `oci-layout`, `index.json` and `blobs/sha256/<hex>`.
//!   skopeo (`oci:` / `oci-archive:`), umoci and buildah read and write it.
//!   Casulo's own store *is* one, so saving copies blobs byte for byte and
//!   the digests never change.
//! - **docker-archive**, the format of `docker save`: a tar with
//!   `manifest.json` (`[{"Config": "<hex>.json", "RepoTags": [...],
//!   "Layers": ["<id>/layer.tar", ...]}]`), the config JSON, one
//!   *uncompressed* `layer.tar` per layer (with the legacy `VERSION` and
//!   `json` beside it) and `repositories`. Its config is the same JSON as an
//!   OCI config (the image id is its sha256), so loading keeps the id; the
//!   manifest, which docker-archive does not have, is made by casulo.
//!
//! Loading never trusts the input: an archive is extracted with the same
//! safe extractor as a layer ([`super::extract`]), files inside are opened
//! with `openat2(RESOLVE_IN_ROOT)` (a link in the archive can only point to
//! another file of the archive), every blob is hashed while it is copied
//! and refused if it does not match its digest, and nothing is tagged until
//! every blob of the image is in place. Layers are checked again (diff_id,
//! safety) when they are unpacked.
//!
//! Saving is deterministic: same images, same bytes (entries sorted, mtime
//! 0, owner 0:0), so `load → save → load` gives the same digests.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::digest::{self, HashReader};
use super::extract::{self, open_in_root, Limits};
use super::layer::{Compression, Decoder};
use super::oci::{self, ConfigFile, Descriptor, Index, Manifest};
use super::{Image, ImageError, Reference, Store};

/// Format of `image save`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Oci,
    Docker,
}

/// One entry of docker-archive's `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DockerManifestEntry {
    #[serde(rename = "Config")]
    pub config: String,
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
}

/// What `load` did.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// `(reference, image id)` of each tag written.
    pub tagged: Vec<(String, String)>,
    /// Manifests found without a name (their blobs were loaded, not tagged).
    pub untagged: Vec<String>,
    /// Blobs copied in (others were already in the store).
    pub blobs_copied: u64,
    pub bytes_copied: u64,
}

/// Loads an OCI layout (directory or tar) or a docker-archive (tar, maybe
/// gzip) into the store. `progress` gets (bytes done, bytes total) of blob copies.
pub fn load(
    store: &Store,
    input: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<LoadReport, ImageError> {
    store.init()?;
    // Our blobs are unreachable until tagged: keep gc out until then.
    let _writing = store.writing()?;
    let meta = fs::metadata(input).map_err(|e| ImageError::io(input, e))?;
    let stem = default_name(input);
    if meta.is_dir() {
        return load_dir(store, input, &stem, progress);
    }
    // A file: extract it (safely) into the store's tmp, load, remove.
    let tmp = store
        .state
        .tmp()
        .join(format!("load-{}-{}", std::process::id(), unique()));
    let shown = input.display().to_string();
    extract::extract_file(input, &tmp, Limits::from_env(), &shown)?;
    let result = load_dir(store, &tmp, &stem, progress);
    extract::remove_tree(&tmp);
    result
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A repository name from a file name: `meu-app.tar` → `meu-app`.
fn default_name(input: &Path) -> String {
    let base = input
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let base = base
        .trim_end_matches(".gz")
        .trim_end_matches(".tgz")
        .trim_end_matches(".tar");
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if clean.is_empty() {
        "imagem".to_string()
    } else {
        clean.to_string()
    }
}

fn load_dir(
    store: &Store,
    dir: &Path,
    stem: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<LoadReport, ImageError> {
    let has = |name: &str| open_in_root(dir, name).is_ok();
    if has("oci-layout") && has("index.json") {
        load_oci(store, dir, stem, progress)
    } else if has("manifest.json") {
        load_docker(store, dir, progress)
    } else {
        Err(ImageError::Other(format!(
            "{}: não é um layout OCI (falta oci-layout/index.json) nem um docker-archive \
             (falta manifest.json)",
            dir.display()
        )))
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(dir: &Path, rel: &str) -> Result<T, ImageError> {
    let mut bytes = Vec::new();
    open_in_root(dir, rel)?
        .take(16 << 20)
        .read_to_end(&mut bytes)
        .map_err(|e| ImageError::io(dir.join(rel), e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ImageError::Other(format!("{rel}: JSON inválido: {e}")))
}

fn blob_rel(digest_str: &str) -> Result<String, ImageError> {
    Ok(format!("blobs/sha256/{}", digest::hex_of(digest_str)?))
}

/// Blob copies of one load: counts and progress.
struct Copier<'a> {
    report: LoadReport,
    done: u64,
    total: u64,
    progress: &'a mut dyn FnMut(u64, u64),
}

/// Copies one file of the input into the store, checking its digest.
fn copy_in(
    store: &Store,
    dir: &Path,
    rel: &str,
    expected: Option<(&str, u64)>,
    c: &mut Copier<'_>,
) -> Result<super::store::BlobInfo, ImageError> {
    if let Some((digest, size)) = expected {
        if store.has_blob(digest) {
            c.done = c.done.saturating_add(size);
            (c.progress)(c.done, c.total);
            return Ok(super::store::BlobInfo {
                digest: digest.to_string(),
                size,
            });
        }
    }
    let mut file = BufReader::with_capacity(256 * 1024, open_in_root(dir, rel)?);
    let mut writer = store.blob_writer()?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| ImageError::io(dir.join(rel), e))?;
        if n == 0 {
            break;
        }
        writer
            .write_all(&buf[..n])
            .map_err(|e| ImageError::io(writer.temp_path(), e))?;
        c.done += n as u64;
        (c.progress)(c.done, c.total);
    }
    let info = writer.commit_checked(expected.map(|(d, _)| d))?;
    if let Some((digest, size)) = expected {
        if info.size != size {
            return Err(ImageError::Corrupt(format!(
                "{rel}: o blob {digest} tem {} bytes, mas o descritor diz {size}",
                info.size
            )));
        }
    }
    c.report.blobs_copied += 1;
    c.report.bytes_copied += info.size;
    Ok(info)
}

fn load_oci(
    store: &Store,
    dir: &Path,
    stem: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<LoadReport, ImageError> {
    let layout: oci::OciLayout = read_json(dir, "oci-layout")?;
    if !layout.image_layout_version.starts_with("1.") {
        return Err(ImageError::Other(format!(
            "oci-layout: versão {:?} desconhecida",
            layout.image_layout_version
        )));
    }
    let index: Index = read_json(dir, "index.json")?;
    // First every manifest (resolving nested indexes), then the copies.
    let mut images: Vec<(Option<String>, Descriptor, Manifest)> = Vec::new();
    for desc in &index.manifests {
        let name = name_of(desc, stem);
        let manifest_desc = pick_manifest(dir, desc)?;
        let bytes = read_verified(dir, &manifest_desc)?;
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            ImageError::Corrupt(format!(
                "manifest {}: JSON inválido: {e}",
                manifest_desc.digest
            ))
        })?;
        images.push((name, manifest_desc, manifest));
    }
    // Sizes come from the archive (any u64): only for the progress bar,
    // so saturate instead of overflowing (a panic in a debug build).
    let total: u64 = images
        .iter()
        .flat_map(|(_, d, m)| [d, &m.config].into_iter().chain(&m.layers))
        .fold(0u64, |sum, desc| sum.saturating_add(desc.size));
    let mut c = Copier {
        report: LoadReport::default(),
        done: 0,
        total,
        progress,
    };
    for (name, desc, manifest) in &images {
        for blob in std::iter::once(&manifest.config).chain(&manifest.layers) {
            copy_in(
                store,
                dir,
                &blob_rel(&blob.digest)?,
                Some((&blob.digest, blob.size)),
                &mut c,
            )?;
        }
        copy_in(
            store,
            dir,
            &blob_rel(&desc.digest)?,
            Some((&desc.digest, desc.size)),
            &mut c,
        )?;
        match name {
            Some(name) => {
                let reference = Reference::parse(name)?;
                let mut tag_desc = Descriptor::new(&desc.media_type, &desc.digest, desc.size);
                tag_desc.platform = desc.platform.clone();
                store.tag(&reference, &tag_desc)?;
                let image = store.resolve(&reference.to_string())?;
                c.report.tagged.push((image.reference, image.id));
            }
            None => c.report.untagged.push(desc.digest.clone()),
        }
    }
    Ok(c.report)
}

/// Reads a small blob of the input, verifying digest and size.
fn read_verified(dir: &Path, desc: &Descriptor) -> Result<Vec<u8>, ImageError> {
    let rel = blob_rel(&desc.digest)?;
    let mut bytes = Vec::new();
    open_in_root(dir, &rel)?
        .take(16 << 20)
        .read_to_end(&mut bytes)
        .map_err(|e| ImageError::io(dir.join(&rel), e))?;
    let actual = digest::sha256(&bytes);
    if actual != desc.digest || bytes.len() as u64 != desc.size {
        return Err(ImageError::Corrupt(format!(
            "{rel}: o conteúdo tem sha256 {actual} e {} bytes, mas o índice diz {} e {} bytes",
            bytes.len(),
            desc.digest,
            desc.size
        )));
    }
    Ok(bytes)
}

/// A manifest descriptor; a nested index chooses this machine's platform.
fn pick_manifest(dir: &Path, desc: &Descriptor) -> Result<Descriptor, ImageError> {
    match desc.media_type.as_str() {
        oci::MEDIA_TYPE_MANIFEST | oci::MEDIA_TYPE_DOCKER_MANIFEST => Ok(desc.clone()),
        oci::MEDIA_TYPE_INDEX | "application/vnd.docker.distribution.manifest.list.v2+json" => {
            let bytes = read_verified(dir, desc)?;
            let nested: Index = serde_json::from_slice(&bytes).map_err(|e| {
                ImageError::Corrupt(format!("índice {}: JSON inválido: {e}", desc.digest))
            })?;
            let arch = oci::host_architecture();
            let chosen = nested
                .manifests
                .iter()
                .find(|d| {
                    d.platform
                        .as_ref()
                        .is_some_and(|p| p.os == "linux" && p.architecture == arch)
                })
                .or_else(|| (nested.manifests.len() == 1).then(|| &nested.manifests[0]))
                .ok_or_else(|| {
                    ImageError::Other(format!(
                        "o índice {} não tem imagem para linux/{arch}",
                        desc.digest
                    ))
                })?;
            pick_manifest(dir, chosen)
        }
        other => Err(ImageError::Other(format!(
            "tipo de descritor desconhecido em index.json: {other}"
        ))),
    }
}

/// The name to tag: `io.containerd.image.name` (docker, containerd), else
/// `org.opencontainers.image.ref.name` — a full `name:tag` as casulo writes
/// it, or a bare tag (skopeo, umoci) given the file's name as repository.
fn name_of(desc: &Descriptor, stem: &str) -> Option<String> {
    if let Some(full) = desc.annotations.get("io.containerd.image.name") {
        if let Ok(r) = Reference::parse(&short_name(full)) {
            return Some(r.to_string());
        }
    }
    let ref_name = desc.ref_name()?;
    if ref_name.contains(':') || ref_name.contains('/') {
        if let Ok(r) = Reference::parse(&short_name(ref_name)) {
            return Some(r.to_string());
        }
    }
    Reference::parse(&format!("{stem}:{ref_name}"))
        .ok()
        .map(|r| r.to_string())
}

/// `docker.io/library/busybox:1` → `busybox:1`; `docker.io/a/b` → `a/b`.
fn short_name(name: &str) -> String {
    let name = name.strip_prefix("docker.io/").unwrap_or(name);
    name.strip_prefix("library/").unwrap_or(name).to_string()
}

fn load_docker(
    store: &Store,
    dir: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<LoadReport, ImageError> {
    let entries: Vec<DockerManifestEntry> = read_json(dir, "manifest.json")?;
    let mut total = 0;
    for entry in &entries {
        for rel in std::iter::once(&entry.config).chain(&entry.layers) {
            total += open_in_root(dir, rel)?
                .metadata()
                .map(|m| m.len())
                .unwrap_or(0);
        }
    }
    let mut c = Copier {
        report: LoadReport::default(),
        done: 0,
        total,
        progress,
    };
    for entry in &entries {
        let config_info = copy_in(store, dir, &entry.config, None, &mut c)?;
        let config_bytes = store.read_blob(&config_info.digest, Some(config_info.size))?;
        let config: ConfigFile = serde_json::from_slice(&config_bytes).map_err(|e| {
            ImageError::Corrupt(format!("{}: config JSON inválida: {e}", entry.config))
        })?;
        if config.rootfs.diff_ids.len() != entry.layers.len() {
            return Err(ImageError::Corrupt(format!(
                "manifest.json lista {} camadas, mas a config {} tem {} diff_ids",
                entry.layers.len(),
                entry.config,
                config.rootfs.diff_ids.len()
            )));
        }
        let mut layers = Vec::new();
        for (rel, diff_id) in entry.layers.iter().zip(&config.rootfs.diff_ids) {
            let info = copy_in(store, dir, rel, None, &mut c)?;
            let (compression, actual) = diff_id_of(&store.blob_path(&info.digest)?)?;
            if &actual != diff_id {
                return Err(ImageError::Corrupt(format!(
                    "camada {rel}: o tar tem diff_id {actual}, mas a config declara {diff_id}"
                )));
            }
            layers.push(Descriptor::new(
                compression.media_type(),
                &info.digest,
                info.size,
            ));
        }
        let desc = store.put_manifest(&config, &config_info, layers)?;
        let tags = entry.repo_tags.clone().unwrap_or_default();
        if tags.is_empty() {
            c.report.untagged.push(desc.digest.clone());
        }
        for tag in tags {
            let reference = Reference::parse(&short_name(&tag))?;
            store.tag(&reference, &desc)?;
            c.report
                .tagged
                .push((reference.to_string(), config_info.digest.clone()));
        }
    }
    Ok(c.report)
}

/// The compression of a stored layer blob and its diff_id.
fn diff_id_of(blob: &Path) -> Result<(Compression, String), ImageError> {
    let mut file = File::open(blob).map_err(|e| ImageError::io(blob, e))?;
    let mut head = Vec::new();
    (&mut file)
        .take(8)
        .read_to_end(&mut head)
        .map_err(|e| ImageError::io(blob, e))?;
    let compression = Compression::sniff(&head)
        .map_err(|why| ImageError::Other(format!("{}: {why}", blob.display())))?;
    let file = File::open(blob).map_err(|e| ImageError::io(blob, e))?;
    let mut reader = HashReader::new(Decoder::new(
        BufReader::with_capacity(256 * 1024, file),
        compression,
    ));
    reader.drain().map_err(|e| ImageError::io(blob, e))?;
    Ok((compression, reader.finish().0))
}

/// An image to save: its index descriptor, manifest and config.
struct Saved {
    reference: Reference,
    desc: Descriptor,
    manifest: Manifest,
    image: Image,
}

/// Writes the images `references` to `out` in `format`. OCI goes to a
/// directory when `out` is one (or ends with `/`), else to a tar; docker is
/// always a tar. Files are written under a temp name and renamed at the end.
pub fn save(
    store: &Store,
    references: &[String],
    format: Format,
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), ImageError> {
    if references.is_empty() {
        return Err(ImageError::Other("diga quais imagens salvar".into()));
    }
    let mut saved = Vec::new();
    for r in references {
        let image = store.resolve(r)?;
        let reference = Reference::parse(&image.reference)?;
        let desc = store.descriptor(&image.reference)?;
        let bytes = store.read_blob(&desc.digest, Some(desc.size))?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| ImageError::Corrupt(format!("manifest {}: {e}", desc.digest)))?;
        saved.push(Saved {
            reference,
            desc,
            manifest,
            image,
        });
    }
    let to_dir = format == Format::Oci
        && (out.is_dir() || out.as_os_str().as_encoded_bytes().ends_with(b"/"));
    if to_dir {
        return save_oci_dir(store, &saved, out, progress);
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = parent.join(format!(
        ".{}.casulo-tmp-{}",
        out.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let file = File::create(&tmp).map_err(|e| ImageError::io(&tmp, e))?;
        let mut tar = TarOut::new(io::BufWriter::with_capacity(256 * 1024, file));
        match format {
            Format::Oci => write_oci(store, &saved, &mut tar, progress)?,
            Format::Docker => write_docker(store, &saved, &mut tar, progress)?,
        }
        let file = tar
            .finish()
            .map_err(|e| ImageError::io(&tmp, e))?
            .into_inner()
            .map_err(|e| ImageError::io(&tmp, e.into_error()))?;
        file.sync_all().map_err(|e| ImageError::io(&tmp, e))?;
        fs::rename(&tmp, out).map_err(|e| ImageError::io(out, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A deterministic tar writer: mtime 0, owner 0:0, given modes.
struct TarOut<W: Write> {
    builder: tar::Builder<W>,
    dirs: BTreeSet<String>,
}

impl<W: Write> TarOut<W> {
    fn new(out: W) -> Self {
        let mut builder = tar::Builder::new(out);
        builder.mode(tar::HeaderMode::Deterministic);
        TarOut {
            builder,
            dirs: BTreeSet::new(),
        }
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(size);
        h
    }

    /// Adds the parent directories of `path` once.
    fn parents(&mut self, path: &str) -> io::Result<()> {
        let mut so_far = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            so_far.push_str(part);
            so_far.push('/');
            if self.dirs.insert(so_far.clone()) {
                let mut h = Self::header(tar::EntryType::Directory, 0o755, 0);
                self.builder.append_data(&mut h, &so_far, io::empty())?;
            }
        }
        Ok(())
    }

    fn bytes(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        self.parents(path)?;
        let mut h = Self::header(tar::EntryType::Regular, 0o644, data.len() as u64);
        self.builder.append_data(&mut h, path, data)
    }

    fn reader(&mut self, path: &str, size: u64, data: impl Read) -> io::Result<()> {
        self.parents(path)?;
        let mut h = Self::header(tar::EntryType::Regular, 0o644, size);
        self.builder.append_data(&mut h, path, data)
    }

    fn finish(self) -> io::Result<W> {
        self.builder.into_inner()
    }
}

/// Wraps a reader to report progress.
struct Counting<'a, R> {
    inner: R,
    done: &'a mut u64,
    total: u64,
    progress: &'a mut dyn FnMut(u64, u64),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        *self.done += n as u64;
        (self.progress)(*self.done, self.total);
        Ok(n)
    }
}

/// The index.json of a saved layout: one descriptor per image, named
/// `name:tag` (ref.name, as in casulo's store) and with the full name
/// docker and containerd look for.
fn saved_index(saved: &[Saved]) -> Vec<u8> {
    let mut index = Index::default();
    for s in saved {
        let mut desc = s.desc.clone();
        desc.annotations.insert(
            oci::ANNOTATION_REF_NAME.to_string(),
            s.reference.to_string(),
        );
        desc.annotations.insert(
            "io.containerd.image.name".to_string(),
            s.reference.to_string(),
        );
        index.manifests.push(desc);
    }
    let mut json = serde_json::to_vec_pretty(&index).expect("index serializes");
    json.push(b'\n');
    json
}

/// Every blob of the images, once, sorted by digest: (digest, size).
fn saved_blobs(saved: &[Saved]) -> BTreeMap<String, u64> {
    let mut blobs = BTreeMap::new();
    for s in saved {
        blobs.insert(s.desc.digest.clone(), s.desc.size);
        blobs.insert(s.manifest.config.digest.clone(), s.manifest.config.size);
        for l in &s.manifest.layers {
            blobs.insert(l.digest.clone(), l.size);
        }
    }
    blobs
}

fn layout_json() -> Vec<u8> {
    serde_json::to_vec(&oci::OciLayout {
        image_layout_version: oci::IMAGE_LAYOUT_VERSION.into(),
    })
    .expect("oci-layout serializes")
}

fn write_oci<W: Write>(
    store: &Store,
    saved: &[Saved],
    tar: &mut TarOut<W>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), ImageError> {
    let blobs = saved_blobs(saved);
    let total = blobs.values().sum();
    let mut done = 0;
    let io_err = |e| ImageError::io("tar", e);
    tar.bytes("oci-layout", &layout_json()).map_err(io_err)?;
    for (digest_str, size) in &blobs {
        let path = store.blob_path(digest_str)?;
        let file = File::open(&path).map_err(|e| ImageError::io(&path, e))?;
        let reader = Counting {
            inner: BufReader::with_capacity(256 * 1024, file),
            done: &mut done,
            total,
            progress,
        };
        tar.reader(&blob_rel(digest_str)?, *size, reader)
            .map_err(|e| ImageError::io(&path, e))?;
    }
    tar.bytes("index.json", &saved_index(saved))
        .map_err(io_err)?;
    Ok(())
}

fn save_oci_dir(
    store: &Store,
    saved: &[Saved],
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), ImageError> {
    let blobs_dir = out.join("blobs").join("sha256");
    fs::create_dir_all(&blobs_dir).map_err(|e| ImageError::io(&blobs_dir, e))?;
    let blobs = saved_blobs(saved);
    let total = blobs.values().sum();
    let mut done = 0;
    for digest_str in blobs.keys() {
        let dst = blobs_dir.join(digest::hex_of(digest_str)?);
        let src = store.blob_path(digest_str)?;
        let tmp = dst.with_extension("casulo-tmp");
        fs::copy(&src, &tmp)
            .and_then(|_| fs::rename(&tmp, &dst))
            .map_err(|e| {
                let _ = fs::remove_file(&tmp);
                ImageError::io(&dst, e)
            })?;
        done += blobs[digest_str];
        progress(done, total);
    }
    for (name, bytes) in [
        ("oci-layout", layout_json()),
        ("index.json", saved_index(saved)),
    ] {
        let dst = out.join(name);
        let tmp = out.join(format!(".{name}.casulo-tmp"));
        fs::write(&tmp, bytes)
            .and_then(|_| fs::rename(&tmp, &dst))
            .map_err(|e| ImageError::io(&dst, e))?;
    }
    Ok(())
}

/// The legacy v1 ids of docker-archive: the OCI ChainID of each layer.
fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    super::store::chain_ids(diff_ids)
}

fn write_docker<W: Write>(
    store: &Store,
    saved: &[Saved],
    tar: &mut TarOut<W>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), ImageError> {
    let io_err = |e| ImageError::io("tar", e);
    let total: u64 = saved
        .iter()
        .flat_map(|s| &s.image.layers)
        .map(|l| l.size)
        .sum();
    let mut done = 0;
    let mut written = BTreeSet::new();
    let mut entries = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for s in saved {
        let config_hex = digest::hex_of(&s.image.id)?.to_string();
        let config_name = format!("{config_hex}.json");
        let diff_ids: Vec<String> = s.image.layers.iter().map(|l| l.diff_id.clone()).collect();
        let chains = chain_ids(&diff_ids);
        let mut layer_paths = Vec::new();
        for (i, layer) in s.image.layers.iter().enumerate() {
            let id = digest::hex_of(&chains[i])?.to_string();
            let path = format!("{id}/layer.tar");
            layer_paths.push(path.clone());
            if !written.insert(id.clone()) {
                continue;
            }
            let mut legacy = serde_json::json!({ "id": id, "created": "1970-01-01T00:00:00Z" });
            if i > 0 {
                legacy["parent"] = digest::hex_of(&chains[i - 1])?.into();
            }
            tar.bytes(&format!("{id}/VERSION"), b"1.0")
                .map_err(io_err)?;
            tar.bytes(&format!("{id}/json"), legacy.to_string().as_bytes())
                .map_err(io_err)?;
            // docker-archive layers are uncompressed tars.
            let blob = store.blob_path(&layer.digest)?;
            let compression = Compression::from_media_type(&layer.media_type)?;
            let size = if compression == Compression::None {
                layer.size
            } else {
                let file = File::open(&blob).map_err(|e| ImageError::io(&blob, e))?;
                let mut r = Decoder::new(BufReader::with_capacity(256 * 1024, file), compression);
                io::copy(&mut r, &mut io::sink()).map_err(|e| ImageError::io(&blob, e))?
            };
            let file = File::open(&blob).map_err(|e| ImageError::io(&blob, e))?;
            let reader = Counting {
                inner: BufReader::with_capacity(256 * 1024, file),
                done: &mut done,
                total,
                progress,
            };
            tar.reader(&path, size, Decoder::new(reader, compression))
                .map_err(|e| ImageError::io(&blob, e))?;
        }
        if written.insert(config_name.clone()) {
            let bytes = store.read_blob(&s.image.id, None)?;
            tar.bytes(&config_name, &bytes).map_err(io_err)?;
        }
        if let Some(top) = chains.last() {
            repositories
                .entry(s.reference.name.clone())
                .or_default()
                .insert(s.reference.tag.clone(), digest::hex_of(top)?.to_string());
        }
        entries.push(DockerManifestEntry {
            config: config_name,
            repo_tags: Some(vec![s.reference.to_string()]),
            layers: layer_paths,
        });
    }
    let manifest = serde_json::to_vec(&entries).expect("manifest.json serializes");
    tar.bytes("manifest.json", &manifest).map_err(io_err)?;
    let repos = serde_json::to_vec(&repositories).expect("repositories serializes");
    tar.bytes("repositories", &repos).map_err(io_err)?;
    Ok(())
}

/// `PathBuf` of a saved OCI layout blob (for tests and messages).
pub fn layout_blob(dir: &Path, digest_str: &str) -> Result<PathBuf, ImageError> {
    Ok(dir.join(blob_rel(digest_str)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::StateDir;

    /// Found with the `carregar` fuzz target's oracle (fuzz/regressoes/carregar/):
    /// a manifest declaring a layer of `u64::MAX` bytes made `image load`
    /// panic ("attempt to add with overflow") while summing the sizes for
    /// the progress bar, before the size was ever checked.
    #[test]
    fn absurd_descriptor_sizes_are_refused_not_a_panic() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("entrada");
        let blobs = input.join("blobs/sha256");
        fs::create_dir_all(&blobs).unwrap();
        let put = |bytes: &[u8]| {
            let d = digest::sha256(bytes);
            fs::write(blobs.join(digest::hex_of(&d).unwrap()), bytes).unwrap();
            d
        };
        let layer = put(&[0u8; 1024]);
        let config = serde_json::to_vec(&oci::rootfs_config(
            "2026-01-01T00:00:00Z".into(),
            "amd64".into(),
            "teste".into(),
        ))
        .unwrap();
        let config_digest = put(&config);
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(oci::MEDIA_TYPE_MANIFEST.into()),
            config: Descriptor::new(oci::MEDIA_TYPE_CONFIG, &config_digest, config.len() as u64),
            layers: vec![Descriptor::new(oci::MEDIA_TYPE_LAYER_TAR, &layer, u64::MAX)],
            annotations: Default::default(),
        };
        let manifest = serde_json::to_vec(&manifest).unwrap();
        let mut desc = Descriptor::new(
            oci::MEDIA_TYPE_MANIFEST,
            &put(&manifest),
            manifest.len() as u64,
        );
        desc.annotations
            .insert(oci::ANNOTATION_REF_NAME.into(), "enorme:1".into());
        let index = Index {
            manifests: vec![desc],
            ..Index::default()
        };
        fs::write(
            input.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
        fs::write(input.join("oci-layout"), layout_json()).unwrap();

        let store = Store::open(&StateDir::new(tmp.path().join("estado"))).unwrap();
        let err = load(&store, &input, &mut |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("bytes"), "{err}");
        assert!(store.resolve("enorme:1").is_err());
    }
}
