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
//! another file of the archive), and every image is verified *before*
//! anything of it enters the store ([`super::verify`]): manifest and config
//! against their descriptors, and every layer streamed once, while it is
//! copied to a temp file of the store, for its digest and size (the
//! descriptor's; for a blob the store already has, the stored one must
//! have the descriptor's size too), its uncompressed sha256 (the config's
//! `diff_id`) and every entry through the extractor's own checker (`..`,
//! absolute paths, writes through links, hard links to nowhere, truncated
//! entries, the size limits). Only when every layer of every image of the
//! input passed are the blobs moved into `blobs/` and the tags written: a
//! refused input leaves no tag and no blob. `run` checks everything again
//! as it unpacks.
//!
//! Saving is deterministic: same images, same bytes (entries sorted, mtime
//! 0, owner 0:0), so `load → save → load` gives the same digests.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::digest::{self, TeeReader};
use super::extract::{self, open_in_root, Limits};
use super::layer::{Compression, Decoder};
use super::oci::{self, ConfigFile, Descriptor, Index, Manifest};
use super::store::{BlobInfo, BlobWriter};
use super::verify;
use super::{Image, ImageError, Layer, Reference, Store};

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
    let mut staging = Staging {
        store,
        dir,
        limits: Limits::from_env(),
        pending: Vec::new(),
        verified: BTreeMap::new(),
        planned: Vec::new(),
        report: LoadReport::default(),
        done: 0,
        total: 0,
        progress,
    };
    if has("oci-layout") && has("index.json") {
        stage_oci(&mut staging, stem)?;
    } else if has("manifest.json") {
        stage_docker(&mut staging)?;
    } else {
        return Err(ImageError::Other(format!(
            "{}: não é um layout OCI (falta oci-layout/index.json) nem um docker-archive \
             (falta manifest.json)",
            dir.display()
        )));
    }
    // Every layer of every image passed: only now does anything enter the
    // store's blobs/ and index.json.
    staging.commit()
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

/// What one load brings in, held back until every layer of every image
/// in the input passed [`verify`]: layer blobs in temp files of the store
/// (a dropped [`BlobWriter`] removes its own), configs and manifests in
/// memory, tags as a plan. A refused input leaves no tag and no blob.
struct Staging<'a> {
    store: &'a Store,
    /// The input, extracted or as given.
    dir: &'a Path,
    limits: Limits,
    /// Layer blobs copied and verified, not in `blobs/` yet.
    pending: Vec<(String, BlobWriter)>,
    /// Layers verified in this load: digest → (diff_id, verified as a
    /// bottom layer?, where its bytes are: a store blob or a temp file).
    verified: BTreeMap<String, (String, bool, PathBuf)>,
    planned: Vec<Planned>,
    report: LoadReport,
    done: u64,
    total: u64,
    progress: &'a mut dyn FnMut(u64, u64),
}

/// An image of the input, verified, to be stored and tagged.
enum Planned {
    /// An OCI image: its config and manifest blobs as they came, and the
    /// index descriptor to tag (or `None`: loaded, not named).
    Oci {
        blobs: Vec<Vec<u8>>,
        name: Option<String>,
        desc: Descriptor,
    },
    /// A docker-archive image: casulo writes its OCI manifest.
    Docker {
        config: Box<ConfigFile>,
        config_bytes: Vec<u8>,
        layers: Vec<Descriptor>,
        tags: Vec<String>,
    },
}

impl Staging<'_> {
    /// Verifies a layer of the input whose descriptor is known (OCI),
    /// copying it into a temp blob of the store on the way, unless the
    /// store has it already: then the stored blob is verified against
    /// *this* descriptor (its size too: deduplication must not let a
    /// descriptor lie).
    fn layer(&mut self, layer: &Layer, bottom: bool) -> Result<(), ImageError> {
        if let Some((diff_id, was_bottom, path)) = self.verified.get(&layer.digest) {
            if diff_id == &layer.diff_id && (*was_bottom || !bottom) {
                let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                if size == layer.size {
                    return Ok(());
                }
            }
            // Seen before in another role (or with another diff_id): the
            // bytes are here already, check them again for this one.
            let path = path.clone();
            let file = File::open(&path).map_err(|e| ImageError::io(&path, e))?;
            verify::verify_layer(file, layer, !bottom, self.limits)?;
            self.verified
                .insert(layer.digest.clone(), (layer.diff_id.clone(), bottom, path));
            return Ok(());
        }
        if self.store.has_blob(&layer.digest) {
            let path = self.store.blob_path(&layer.digest)?;
            let file = File::open(&path).map_err(|e| ImageError::io(&path, e))?;
            let stored = file.metadata().map_err(|e| ImageError::io(&path, e))?.len();
            if stored != layer.size {
                return Err(ImageError::BadLayer {
                    layer: layer.digest.clone(),
                    what: format!(
                        "o descritor do manifest diz {} bytes, mas o blob com esse digest, \
                         que já está no store, tem {stored} (o descritor mente)",
                        layer.size
                    ),
                    source: None,
                });
            }
            let counted = Counting {
                inner: file,
                done: &mut self.done,
                total: self.total,
                progress: &mut *self.progress,
            };
            verify::verify_layer(counted, layer, !bottom, self.limits)?;
            self.verified
                .insert(layer.digest.clone(), (layer.diff_id.clone(), bottom, path));
            return Ok(());
        }
        let input = open_in_root(self.dir, &blob_rel(&layer.digest)?)?;
        let mut writer = self.store.blob_writer()?;
        let counted = Counting {
            inner: input,
            done: &mut self.done,
            total: self.total,
            progress: &mut *self.progress,
        };
        verify::verify_layer(
            TeeReader::new(counted, &mut writer),
            layer,
            !bottom,
            self.limits,
        )?;
        writer
            .flush()
            .map_err(|e| ImageError::io(writer.temp_path(), e))?;
        let path = writer.temp_path().to_path_buf();
        self.report.blobs_copied += 1;
        self.report.bytes_copied += layer.size;
        self.pending.push((layer.digest.clone(), writer));
        self.verified
            .insert(layer.digest.clone(), (layer.diff_id.clone(), bottom, path));
        Ok(())
    }

    /// Verifies a layer of a docker-archive (a tar, maybe gzip, named by
    /// path: its digest is learnt by reading it) against its `diff_id`,
    /// copying it into a temp blob of the store. Returns its descriptor.
    fn docker_layer(
        &mut self,
        rel: &str,
        diff_id: &str,
        bottom: bool,
    ) -> Result<Descriptor, ImageError> {
        let mut head = Vec::new();
        open_in_root(self.dir, rel)?
            .take(8)
            .read_to_end(&mut head)
            .map_err(|e| ImageError::io(self.dir.join(rel), e))?;
        let compression =
            Compression::sniff(&head).map_err(|why| ImageError::Other(format!("{rel}: {why}")))?;
        let input = open_in_root(self.dir, rel)?;
        let mut writer = self.store.blob_writer()?;
        let counted = Counting {
            inner: input,
            done: &mut self.done,
            total: self.total,
            progress: &mut *self.progress,
        };
        let found = verify::verify_stream(
            TeeReader::new(counted, &mut writer),
            compression,
            !bottom,
            self.limits,
            rel,
        )?;
        let layer = Layer {
            digest: found.digest.clone(),
            diff_id: diff_id.to_string(),
            media_type: compression.media_type().to_string(),
            size: found.size,
        };
        verify::matches(&found, &layer)?;
        writer
            .flush()
            .map_err(|e| ImageError::io(writer.temp_path(), e))?;
        self.report.blobs_copied += 1;
        self.report.bytes_copied += found.size;
        self.pending.push((found.digest.clone(), writer));
        Ok(Descriptor::new(
            &layer.media_type,
            &layer.digest,
            layer.size,
        ))
    }

    /// Stores a config or manifest of the input, counting it as copied
    /// when the store did not have it.
    fn put_small(&mut self, bytes: &[u8]) -> Result<BlobInfo, ImageError> {
        if !self.store.has_blob(&digest::sha256(bytes)) {
            self.report.blobs_copied += 1;
            self.report.bytes_copied += bytes.len() as u64;
        }
        self.store.put_blob(bytes)
    }

    /// Puts every staged blob in place, then writes the tags.
    fn commit(mut self) -> Result<LoadReport, ImageError> {
        for (digest, writer) in std::mem::take(&mut self.pending) {
            writer.commit_checked(Some(&digest))?;
        }
        for planned in std::mem::take(&mut self.planned) {
            match planned {
                Planned::Oci { blobs, name, desc } => {
                    for bytes in &blobs {
                        self.put_small(bytes)?;
                    }
                    match name {
                        Some(name) => {
                            let reference = Reference::parse(&name)?;
                            let mut tag_desc =
                                Descriptor::new(&desc.media_type, &desc.digest, desc.size);
                            tag_desc.platform = desc.platform.clone();
                            self.store.tag(&reference, &tag_desc)?;
                            let image = self.store.resolve(&reference.to_string())?;
                            self.report.tagged.push((image.reference, image.id));
                        }
                        None => self.report.untagged.push(desc.digest.clone()),
                    }
                }
                Planned::Docker {
                    config,
                    config_bytes,
                    layers,
                    tags,
                } => {
                    let config_info = self.put_small(&config_bytes)?;
                    let desc = self.store.put_manifest(&config, &config_info, layers)?;
                    if tags.is_empty() {
                        self.report.untagged.push(desc.digest.clone());
                    }
                    for tag in tags {
                        let reference = Reference::parse(&short_name(&tag))?;
                        self.store.tag(&reference, &desc)?;
                        self.report
                            .tagged
                            .push((reference.to_string(), config_info.digest.clone()));
                    }
                }
            }
        }
        Ok(self.report)
    }
}

/// The error for an image of the input that was refused: which one, and
/// (as its cause) why.
fn refused(image: &str, e: ImageError) -> ImageError {
    ImageError::Refused {
        image: image.to_string(),
        source: Box::new(e),
    }
}

/// The image's config, parsed, with one diff_id per layer.
fn parse_config(bytes: &[u8], what: &str, layers: usize) -> Result<ConfigFile, ImageError> {
    let config: ConfigFile = serde_json::from_slice(bytes)
        .map_err(|e| ImageError::Other(format!("{what}: config JSON inválida: {e}")))?;
    if config.rootfs.diff_ids.len() != layers {
        return Err(ImageError::Other(format!(
            "o manifest lista {layers} camadas, mas a config {what} tem {} diff_ids",
            config.rootfs.diff_ids.len()
        )));
    }
    Ok(config)
}

fn stage_oci(st: &mut Staging<'_>, stem: &str) -> Result<(), ImageError> {
    let dir = st.dir;
    let layout: oci::OciLayout = read_json(dir, "oci-layout")?;
    if !layout.image_layout_version.starts_with("1.") {
        return Err(ImageError::Other(format!(
            "oci-layout: versão {:?} desconhecida",
            layout.image_layout_version
        )));
    }
    let index: Index = read_json(dir, "index.json")?;
    // First every manifest (resolving nested indexes), then the layers.
    let mut images: Vec<(Option<String>, Descriptor, Manifest, Vec<u8>)> = Vec::new();
    for desc in &index.manifests {
        let name = name_of(desc, stem);
        let shown = name.clone().unwrap_or_else(|| desc.digest.clone());
        let manifest_desc = pick_manifest(dir, desc).map_err(|e| refused(&shown, e))?;
        let bytes = read_verified(dir, &manifest_desc).map_err(|e| refused(&shown, e))?;
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            refused(
                &shown,
                ImageError::Other(format!(
                    "manifest {}: JSON inválido: {e}",
                    manifest_desc.digest
                )),
            )
        })?;
        images.push((name, manifest_desc, manifest, bytes));
    }
    st.total = images
        .iter()
        .map(|(_, d, m, _)| {
            // Sizes come from the archive (any u64): only for the progress
            // bar, so they saturate instead of overflowing.
            m.layers
                .iter()
                .fold(d.size.saturating_add(m.config.size), |t, l| {
                    t.saturating_add(l.size)
                })
        })
        .fold(0u64, u64::saturating_add);
    for (name, desc, manifest, manifest_bytes) in images {
        let shown = name.clone().unwrap_or_else(|| desc.digest.clone());
        (|| {
            let config_bytes = read_verified(dir, &manifest.config)?;
            let config = parse_config(
                &config_bytes,
                &manifest.config.digest,
                manifest.layers.len(),
            )?;
            for (i, (blob, diff_id)) in manifest
                .layers
                .iter()
                .zip(&config.rootfs.diff_ids)
                .enumerate()
            {
                let layer = Layer::of(blob, diff_id)?;
                st.layer(&layer, i == 0)?;
            }
            st.planned.push(Planned::Oci {
                blobs: vec![config_bytes, manifest_bytes],
                name,
                desc,
            });
            Ok(())
        })()
        .map_err(|e| refused(&shown, e))?;
    }
    Ok(())
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
        return Err(ImageError::Other(format!(
            "{rel}: o conteúdo tem sha256 {actual} e {} bytes, mas o descritor diz {} e {} \
             bytes (o arquivo não confere)",
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
                ImageError::Other(format!("índice {}: JSON inválido: {e}", desc.digest))
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

fn stage_docker(st: &mut Staging<'_>) -> Result<(), ImageError> {
    let dir = st.dir;
    let entries: Vec<DockerManifestEntry> = read_json(dir, "manifest.json")?;
    for entry in &entries {
        for rel in std::iter::once(&entry.config).chain(&entry.layers) {
            st.total += open_in_root(dir, rel)?
                .metadata()
                .map(|m| m.len())
                .unwrap_or(0);
        }
    }
    for entry in entries {
        let tags = entry.repo_tags.clone().unwrap_or_default();
        let shown = tags
            .first()
            .cloned()
            .unwrap_or_else(|| entry.config.clone());
        (|| {
            let mut config_bytes = Vec::new();
            open_in_root(dir, &entry.config)?
                .take(16 << 20)
                .read_to_end(&mut config_bytes)
                .map_err(|e| ImageError::io(dir.join(&entry.config), e))?;
            st.done += config_bytes.len() as u64;
            let config = parse_config(&config_bytes, &entry.config, entry.layers.len())?;
            let mut layers = Vec::new();
            for (i, (rel, diff_id)) in entry.layers.iter().zip(&config.rootfs.diff_ids).enumerate()
            {
                digest::hex_of(diff_id)?;
                layers.push(st.docker_layer(rel, diff_id, i == 0)?);
            }
            st.planned.push(Planned::Docker {
                config: Box::new(config),
                config_bytes,
                layers,
                tags,
            });
            Ok(())
        })()
        .map_err(|e| refused(&shown, e))?;
    }
    Ok(())
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
    use crate::image::{digest, oci};
    use crate::state::StateDir;
    use std::fs;

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
        let mut chain = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            chain.push_str(&format!(": {c}"));
            cause = c.source();
        }
        assert!(chain.contains("recusada"), "{chain}");
        assert!(store.resolve("enorme:1").is_err());
    }
}
