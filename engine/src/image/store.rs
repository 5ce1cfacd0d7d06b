//! The image store: an OCI image layout at `<root>/images`, plus the unpacked
//! layers at `<root>/layers/<diff_id hex>/`.
//!
//! ```text
//! images/
//!   oci-layout          {"imageLayoutVersion":"1.0.0"}
//!   index.json          one manifest descriptor per tag; the tag is the
//!                       annotation org.opencontainers.image.ref.name ("busybox:latest")
//!   blobs/sha256/<hex>  manifests, configs and layers, named by the sha256 of their bytes
//! ```
//!
//! Reading an image walks index.json → manifest → config, and every blob read
//! is hashed again and compared with its name: a changed byte is reported as
//! [`ImageError::Corrupt`] naming the blob. Layer blobs are verified when
//! they arrive (`image load`, [`super::verify`]: digest, size, diff_id,
//! every entry) and again while they are unpacked (see [`super::extract`]).
//!
//! Writes are atomic: a blob is written to `<root>/tmp/` while its digest is
//! computed, then renamed to `blobs/sha256/<digest>` (a blob that already
//! exists is kept — same name, same bytes). `index.json` is rewritten the
//! same way (temp file + rename) under an exclusive `flock` on
//! `<root>/tmp/images.lock`, so two `casulo` processes tagging at once do not
//! lose each other's tags. Readers take no lock: they always see either the
//! old or the new index.json, never half of one.
//!
//! Because it is a standard layout, other tools read it as is:
//! `skopeo inspect oci:<root>/images:busybox:latest`,
//! `umoci unpack --image <root>/images:busybox:latest bundle`.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::digest::{self, HashWriter};
use super::layer;
use super::oci::{self, ConfigFile, Descriptor, Index, Manifest};
use super::reference::{self, Reference};
use super::*;
use crate::state::StateDir;

/// Manifests and configs bigger than this are refused (they are a few KiB).
const MAX_JSON_BLOB: u64 = 16 * 1024 * 1024;

/// The image store of one state directory.
pub struct Store {
    pub state: StateDir,
}

/// A blob just written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// `sha256:<hex>`.
    pub digest: String,
    pub size: u64,
}

impl Store {
    /// Opens the store. Creates nothing (so `casulo image ls` works on a
    /// fresh root without permission to create it); the first write does.
    pub fn open(state: &StateDir) -> Result<Store, ImageError> {
        let store = Store {
            state: state.clone(),
        };
        let layout = store.dir().join("oci-layout");
        match fs::read(&layout) {
            Ok(bytes) => {
                let parsed: oci::OciLayout = serde_json::from_slice(&bytes).map_err(|e| {
                    ImageError::Corrupt(format!("{}: JSON inválido: {e}", layout.display()))
                })?;
                if !parsed.image_layout_version.starts_with("1.") {
                    return Err(ImageError::Corrupt(format!(
                        "{}: versão de layout {:?} desconhecida (casulo entende 1.x)",
                        layout.display(),
                        parsed.image_layout_version
                    )));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(ImageError::io(&layout, e)),
        }
        Ok(store)
    }

    /// The OCI layout directory (`<root>/images`).
    pub fn dir(&self) -> PathBuf {
        self.state.images()
    }

    fn index_path(&self) -> PathBuf {
        self.dir().join("index.json")
    }

    fn blobs_dir(&self) -> PathBuf {
        self.dir().join("blobs").join(digest::ALGORITHM)
    }

    /// Creates the state dirs and an empty layout if missing (idempotent).
    pub fn init(&self) -> Result<(), ImageError> {
        self.state
            .ensure()
            .map_err(|e| ImageError::io(self.state.root(), e))?;
        let blobs = self.blobs_dir();
        fs::create_dir_all(&blobs).map_err(|e| ImageError::io(&blobs, e))?;
        let layout = self.dir().join("oci-layout");
        if !layout.exists() {
            let json = serde_json::to_vec(&oci::OciLayout {
                image_layout_version: oci::IMAGE_LAYOUT_VERSION.into(),
            })
            .expect("oci-layout serializes");
            self.write_atomic(&layout, &json)?;
        }
        if !self.index_path().exists() {
            let _lock = self.lock()?;
            if !self.index_path().exists() {
                self.write_index(&Index::default())?;
            }
        }
        Ok(())
    }

    /// Path of a blob (validates the digest first: it becomes a file name).
    pub fn blob_path(&self, digest: &str) -> Result<PathBuf, ImageError> {
        Ok(self.blobs_dir().join(digest::hex_of(digest)?))
    }

    pub fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).is_ok_and(|p| p.is_file())
    }

    /// A writer for a new blob; [`BlobWriter::commit`] puts it in place.
    pub fn blob_writer(&self) -> Result<BlobWriter, ImageError> {
        self.new_blob_writer(true)
    }

    /// A writer for a blob whose bytes are hashed on their way in by whoever
    /// feeds it (a pull verifies the stream it tees here): it only counts,
    /// and only [`BlobWriter::commit_verified`] puts it in place.
    pub fn blob_writer_verified_elsewhere(&self) -> Result<BlobWriter, ImageError> {
        self.new_blob_writer(false)
    }

    fn new_blob_writer(&self, hashing: bool) -> Result<BlobWriter, ImageError> {
        self.init()?;
        let tmp = self.state.tmp().join(temp_name("blob"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| ImageError::io(&tmp, e))?;
        let buffered = BufWriter::with_capacity(256 * 1024, file);
        Ok(BlobWriter {
            writer: Some(if hashing {
                HashWriter::new(buffered)
            } else {
                HashWriter::counting(buffered)
            }),
            tmp,
            blobs: self.blobs_dir(),
        })
    }

    /// Stores the OCI manifest of `config` (already stored as `config_blob`)
    /// and `layers`; returns its descriptor, with the platform, ready to tag.
    pub fn put_manifest(
        &self,
        config: &oci::ConfigFile,
        config_blob: &BlobInfo,
        layers: Vec<Descriptor>,
    ) -> Result<Descriptor, ImageError> {
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(oci::MEDIA_TYPE_MANIFEST.into()),
            config: Descriptor::new(
                oci::MEDIA_TYPE_CONFIG,
                &config_blob.digest,
                config_blob.size,
            ),
            layers,
            annotations: Default::default(),
        };
        let manifest_json = serde_json::to_vec(&manifest).expect("manifest serializes");
        let manifest_blob = self.put_blob(&manifest_json)?;
        let mut desc = Descriptor::new(
            oci::MEDIA_TYPE_MANIFEST,
            &manifest_blob.digest,
            manifest_blob.size,
        );
        desc.platform = Some(oci::Platform {
            architecture: config.architecture.clone(),
            os: config.os.clone(),
            extra: Default::default(),
        });
        Ok(desc)
    }

    /// Stores bytes as a blob; returns its digest and size. A blob already
    /// there is kept as it is (nothing written, no fsync): a cached build
    /// stores the same config and manifest again, and the fsync of a temp
    /// file about to be removed cost it 10 ms to a second on a busy disk.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<BlobInfo, ImageError> {
        let digest = digest::sha256(bytes);
        let size = bytes.len() as u64;
        if self
            .blob_path(&digest)?
            .metadata()
            .is_ok_and(|m| m.is_file() && m.len() == size)
        {
            return Ok(BlobInfo { digest, size });
        }
        let mut writer = self.blob_writer()?;
        writer
            .write_all(bytes)
            .map_err(|e| ImageError::io(&writer.tmp, e))?;
        writer.commit()
    }

    /// Reads a (small, JSON) blob and checks its sha256 and size.
    pub fn read_blob(
        &self,
        digest: &str,
        expected_size: Option<u64>,
    ) -> Result<Vec<u8>, ImageError> {
        let path = self.blob_path(digest)?;
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ImageError::Corrupt(format!(
                    "o blob {digest} não existe ({})",
                    path.display()
                )))
            }
            Err(e) => return Err(ImageError::io(&path, e)),
        };
        if meta.len() > MAX_JSON_BLOB {
            return Err(ImageError::Corrupt(format!(
                "o blob {digest} tem {} bytes, grande demais para um manifest ou config",
                meta.len()
            )));
        }
        let bytes = fs::read(&path).map_err(|e| ImageError::io(&path, e))?;
        let actual = digest::sha256(&bytes);
        if actual != digest {
            return Err(ImageError::Corrupt(format!(
                "o blob {digest} foi alterado: o conteúdo de {} tem {actual}",
                path.display()
            )));
        }
        if let Some(size) = expected_size {
            if size != bytes.len() as u64 {
                return Err(ImageError::Corrupt(format!(
                    "o blob {digest} tem {} bytes, mas o descritor diz {size}",
                    bytes.len()
                )));
            }
        }
        Ok(bytes)
    }

    /// The parsed index.json (empty if the store was never written).
    pub fn read_index(&self) -> Result<Index, ImageError> {
        let path = self.index_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(ImageError::io(&path, e)),
        };
        let index: Index = serde_json::from_slice(&bytes)
            .map_err(|e| ImageError::Corrupt(format!("{}: JSON inválido: {e}", path.display())))?;
        if index.schema_version != 2 {
            return Err(ImageError::Corrupt(format!(
                "{}: schemaVersion {} (esperava 2)",
                path.display(),
                index.schema_version
            )));
        }
        Ok(index)
    }

    fn write_index(&self, index: &Index) -> Result<(), ImageError> {
        let mut json = serde_json::to_vec_pretty(index).expect("index serializes");
        json.push(b'\n');
        self.write_atomic(&self.index_path(), &json)
    }

    /// Writes a file via a temp file in `<root>/tmp` and `rename(2)`.
    fn write_atomic(&self, dst: &Path, bytes: &[u8]) -> Result<(), ImageError> {
        let tmp = self.state.tmp().join(temp_name("write"));
        let result = (|| {
            let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, dst)
        })();
        result.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            ImageError::io(dst, e)
        })
    }

    /// Exclusive lock for read-modify-write of index.json (released on drop).
    fn lock(&self) -> Result<nix::fcntl::Flock<File>, ImageError> {
        self.flock("images.lock", nix::fcntl::FlockArg::LockExclusive)
    }

    /// Shared lock held for the whole of an operation that writes blobs and
    /// then tags them (`image load`, `image import`, the bootstrap, `image
    /// tag`): between the first blob written and the tag, those blobs are
    /// reachable from nothing, and a concurrent [`Store::gc`] (which takes
    /// the same lock exclusively) would delete them, leaving a tag that
    /// points at missing blobs. Many writers can run together; gc waits
    /// until none is running, and writers wait for a running gc. Always
    /// taken *before* the index lock (never while holding it), so the two
    /// locks cannot deadlock. Released on drop.
    pub fn writing(&self) -> Result<nix::fcntl::Flock<File>, ImageError> {
        self.flock("images.writers.lock", nix::fcntl::FlockArg::LockShared)
    }

    fn flock(
        &self,
        name: &str,
        how: nix::fcntl::FlockArg,
    ) -> Result<nix::fcntl::Flock<File>, ImageError> {
        let tmp = self.state.tmp();
        fs::create_dir_all(&tmp).map_err(|e| ImageError::io(&tmp, e))?;
        let path = tmp.join(name);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ImageError::io(&path, e))?;
        nix::fcntl::Flock::lock(file, how).map_err(|(_, errno)| ImageError::io(&path, errno.into()))
    }

    /// Points the tag `reference` at a manifest: replaces the descriptor that
    /// had this tag (in place), or appends one. Returns `false` when the
    /// index already said exactly this (nothing written).
    pub fn tag(&self, reference: &Reference, manifest: &Descriptor) -> Result<bool, ImageError> {
        self.init()?;
        let name = reference.to_string();
        let mut desc = manifest.clone();
        desc.annotations
            .insert(oci::ANNOTATION_REF_NAME.to_string(), name.clone());
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let mut manifests = Vec::with_capacity(index.manifests.len() + 1);
        let mut placed = false;
        for old in &index.manifests {
            if old.ref_name() == Some(name.as_str()) {
                if !placed {
                    manifests.push(desc.clone());
                    placed = true;
                }
            } else {
                manifests.push(old.clone());
            }
        }
        if !placed {
            manifests.push(desc);
        }
        if manifests == index.manifests {
            return Ok(false);
        }
        index.manifests = manifests;
        self.write_index(&index)?;
        Ok(true)
    }

    /// Stores config and manifest for `layers` (whose blobs must already be
    /// in the store) and tags the result as `reference`. The config's
    /// `rootfs.diff_ids` are set from `layers`.
    pub fn write_image(
        &self,
        reference: &Reference,
        mut config: ConfigFile,
        layers: &[Layer],
    ) -> Result<Image, ImageError> {
        for layer in layers {
            if !self.has_blob(&layer.digest) {
                return Err(ImageError::Corrupt(format!(
                    "o blob da camada {} não está no store",
                    layer.digest
                )));
            }
            digest::hex_of(&layer.diff_id)?;
        }
        config.rootfs = oci::RootFs {
            kind: "layers".into(),
            diff_ids: layers.iter().map(|l| l.diff_id.clone()).collect(),
        };
        let config_json = serde_json::to_vec(&config).expect("config serializes");
        let config_blob = self.put_blob(&config_json)?;
        let layers = layers
            .iter()
            .map(|l| Descriptor::new(&l.media_type, &l.digest, l.size))
            .collect();
        let desc = self.put_manifest(&config, &config_blob, layers)?;
        self.tag(reference, &desc)?;
        self.resolve(&reference.to_string())
    }

    /// Finds an image by reference (`busybox` means `busybox:latest`),
    /// verifying its manifest and config blobs.
    pub fn resolve(&self, reference: &str) -> Result<Image, ImageError> {
        let reference = reference::normalize(reference)?;
        let index = self.read_index()?;
        let desc = index
            .manifests
            .iter()
            .rev()
            .find(|d| d.ref_name() == Some(reference.as_str()))
            .ok_or_else(|| ImageError::NotFound(reference.clone()))?;
        Ok(self.load(reference, desc)?.0)
    }

    /// [`Store::resolve`], with the whole config document (a build starts
    /// from the base image's config and changes it).
    pub fn resolve_with_config(&self, reference: &str) -> Result<(Image, ConfigFile), ImageError> {
        let reference = reference::normalize(reference)?;
        let desc = self.descriptor(&reference)?;
        self.load(reference, &desc)
    }

    /// Removes the tag `reference` from index.json; returns its descriptor.
    pub fn untag(&self, reference: &str) -> Result<Descriptor, ImageError> {
        let reference = reference::normalize(reference)?;
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let pos = index
            .manifests
            .iter()
            .position(|d| d.ref_name() == Some(reference.as_str()))
            .ok_or_else(|| ImageError::NotFound(reference.clone()))?;
        let desc = index.manifests.remove(pos);
        self.write_index(&index)?;
        Ok(desc)
    }

    /// Every blob reachable from index.json (manifests, their configs and
    /// layers, nested indexes), and the diff_ids of those images. A
    /// manifest that cannot be read keeps only itself.
    pub fn reachable(&self) -> Result<(BTreeSet<String>, BTreeSet<String>), ImageError> {
        let mut blobs = BTreeSet::new();
        let mut diff_ids = BTreeSet::new();
        let mut todo: Vec<Descriptor> = self.read_index()?.manifests;
        while let Some(desc) = todo.pop() {
            if !blobs.insert(desc.digest.clone()) {
                continue;
            }
            let Ok(bytes) = self.read_blob(&desc.digest, None) else {
                continue;
            };
            if desc.media_type.contains("index") || desc.media_type.contains("list") {
                if let Ok(index) = serde_json::from_slice::<Index>(&bytes) {
                    todo.extend(index.manifests);
                }
                continue;
            }
            let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) else {
                continue;
            };
            blobs.insert(manifest.config.digest.clone());
            for layer in &manifest.layers {
                blobs.insert(layer.digest.clone());
            }
            if let Ok(config) = self.read_blob(&manifest.config.digest, None).and_then(|b| {
                serde_json::from_slice::<ConfigFile>(&b)
                    .map_err(|e| ImageError::Corrupt(e.to_string()))
            }) {
                // A layer may be unpacked under its ChainID (see
                // [`Store::ensure_layer_over`]): keep those too.
                diff_ids.extend(chain_ids(&config.rootfs.diff_ids));
                diff_ids.extend(config.rootfs.diff_ids);
            }
        }
        Ok((blobs, diff_ids))
    }

    /// Removes blobs no image reaches and unpacked layers that no image
    /// has and no container in `in_use` (diff_id hexes) uses. Holds the
    /// writers lock exclusively (no load is half-way) and the index lock,
    /// so no tag appears meanwhile. Returns (blobs removed,
    /// layer dirs removed, bytes freed).
    pub fn gc(&self, in_use: &BTreeSet<String>) -> Result<(u64, u64, u64), ImageError> {
        // No load/import may be between writing its blobs and tagging them
        // (see [`Store::writing`]); then no tag may change while we sweep.
        let _writers = self.flock("images.writers.lock", nix::fcntl::FlockArg::LockExclusive)?;
        let _lock = self.lock()?;
        let (blobs, diff_ids) = self.reachable()?;
        let (mut nblobs, mut nlayers, mut bytes) = (0, 0, 0);
        if let Ok(entries) = fs::read_dir(self.blobs_dir()) {
            for entry in entries.flatten() {
                let name = format!("sha256:{}", entry.file_name().to_string_lossy());
                if !blobs.contains(&name) {
                    bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
                    fs::remove_file(entry.path()).map_err(|e| ImageError::io(entry.path(), e))?;
                    nblobs += 1;
                }
            }
        }
        let keep: BTreeSet<&str> = diff_ids
            .iter()
            .filter_map(|d| digest::hex_of(d).ok())
            .chain(in_use.iter().map(String::as_str))
            .collect();
        if let Ok(entries) = fs::read_dir(self.state.layers()) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || keep.contains(name.as_str()) {
                    continue;
                }
                layer::remove_tree(&entry.path());
                nlayers += 1;
            }
        }
        Ok((nblobs, nlayers, bytes))
    }

    /// The index descriptor of a tag (`busybox` means `busybox:latest`).
    pub fn descriptor(&self, reference: &str) -> Result<Descriptor, ImageError> {
        let reference = reference::normalize(reference)?;
        self.read_index()?
            .manifests
            .iter()
            .rev()
            .find(|d| d.ref_name() == Some(reference.as_str()))
            .cloned()
            .ok_or(ImageError::NotFound(reference))
    }

    /// Every tagged image, sorted by reference.
    pub fn list(&self) -> Result<Vec<ImageSummary>, ImageError> {
        let index = self.read_index()?;
        let mut rows = Vec::new();
        for desc in &index.manifests {
            let Some(name) = desc.ref_name() else {
                continue;
            };
            let (image, config) = self.load(name.to_string(), desc)?;
            rows.push(ImageSummary {
                reference: image.reference,
                id: image.id,
                created: config.created.unwrap_or_default(),
                size: image.layers.iter().map(|l| l.size).sum(),
                manifest_digest: image.manifest_digest,
            });
        }
        rows.sort_by(|a, b| a.reference.cmp(&b.reference));
        Ok(rows)
    }

    /// Reads manifest and config of an index descriptor.
    fn load(
        &self,
        reference: String,
        desc: &Descriptor,
    ) -> Result<(Image, ConfigFile), ImageError> {
        match desc.media_type.as_str() {
            oci::MEDIA_TYPE_MANIFEST | oci::MEDIA_TYPE_DOCKER_MANIFEST => {}
            oci::MEDIA_TYPE_INDEX | "application/vnd.docker.distribution.manifest.list.v2+json" => {
                return Err(ImageError::Other(format!(
                    "{reference} é um índice multiplataforma ({}); casulo ainda não escolhe plataforma",
                    desc.digest
                )))
            }
            other => {
                return Err(ImageError::Corrupt(format!(
                    "{reference}: tipo de manifest desconhecido {other:?}"
                )))
            }
        }
        let bytes = self.read_blob(&desc.digest, Some(desc.size))?;
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            ImageError::Corrupt(format!("manifest {}: JSON inválido: {e}", desc.digest))
        })?;
        let config_bytes = self.read_blob(&manifest.config.digest, Some(manifest.config.size))?;
        let config: ConfigFile = serde_json::from_slice(&config_bytes).map_err(|e| {
            ImageError::Corrupt(format!(
                "config {}: JSON inválido: {e}",
                manifest.config.digest
            ))
        })?;
        if config.rootfs.diff_ids.len() != manifest.layers.len() {
            return Err(ImageError::Corrupt(format!(
                "{reference}: o manifest {} lista {} camadas, mas a config tem {} diff_ids",
                desc.digest,
                manifest.layers.len(),
                config.rootfs.diff_ids.len()
            )));
        }
        let mut layers = Vec::with_capacity(manifest.layers.len());
        for (blob, diff_id) in manifest.layers.iter().zip(&config.rootfs.diff_ids) {
            layers.push(Layer::of(blob, diff_id)?);
        }
        let run = config.config.clone().unwrap_or_default();
        let image = Image {
            reference,
            id: manifest.config.digest.clone(),
            manifest_digest: desc.digest.clone(),
            config: ImageConfig {
                env: run.env.unwrap_or_default(),
                entrypoint: run.entrypoint.unwrap_or_default(),
                cmd: run.cmd.unwrap_or_default(),
                working_dir: run.working_dir.unwrap_or_default(),
                user: run.user.unwrap_or_default(),
                volumes: run.volumes.unwrap_or_default().into_keys().collect(),
                stop_signal: run.stop_signal.unwrap_or_default(),
            },
            layers,
        };
        Ok((image, config))
    }

    /// Makes sure a layer is unpacked at `layers/<diff_id hex>/`.
    ///
    /// Already there: reused (`unpacked: None`). Otherwise the blob is
    /// unpacked into `layers/.tmp-<hex>-<pid>-<n>/` (verifying digest and
    /// diff_id) and renamed into place. If another process renamed its copy
    /// first, ours is dropped and theirs is used.
    pub fn ensure_layer(&self, layer: &Layer) -> Result<LayerDir, ImageError> {
        self.ensure_layer_with_progress(layer, &mut |_| {})
    }

    /// [`Store::ensure_layer`], calling `progress` with the blob bytes read.
    pub fn ensure_layer_with_progress(
        &self,
        layer: &Layer,
        progress: &mut dyn FnMut(u64),
    ) -> Result<LayerDir, ImageError> {
        self.ensure_layer_over(layer, &layer.diff_id, &[], progress)
    }

    /// Makes sure a layer that sits above `lowers` (the unpacked directories
    /// of the layers below it in an image, top-most first) is unpacked.
    /// `chain_id` is the layer's OCI ChainID in that image ([`chain_ids`]).
    ///
    /// Almost every layer is self-contained and goes to
    /// `layers/<diff_id hex>/`, shared by every image that has it. A layer
    /// with a hard link to a file of a lower layer is resolved by copying
    /// that file (see [`super::extract`]), so what it unpacks to depends on
    /// the layers below: it goes to `layers/<chain_id hex>/`, shared only by
    /// images with the same layers below it.
    pub fn ensure_layer_over(
        &self,
        layer: &Layer,
        chain_id: &str,
        lowers: &[PathBuf],
        progress: &mut dyn FnMut(u64),
    ) -> Result<LayerDir, ImageError> {
        let hex = digest::hex_of(&layer.diff_id)?;
        let path = self.state.layer(hex);
        if path.is_dir() {
            return Ok(LayerDir {
                path,
                unpacked: None,
            });
        }
        let chained = self.state.layer(digest::hex_of(chain_id)?);
        if chained.is_dir() {
            return Ok(LayerDir {
                path: chained,
                unpacked: None,
            });
        }
        let blob = self.blob_path(&layer.digest)?;
        if !blob.is_file() {
            return Err(ImageError::Corrupt(format!(
                "o blob da camada {} não existe ({})",
                layer.digest,
                blob.display()
            )));
        }
        let layers = self.state.layers();
        fs::create_dir_all(&layers).map_err(|e| ImageError::io(&layers, e))?;
        let tmp = layers.join(format!(".{}", temp_name(&format!("tmp-{hex}"))));
        if tmp.exists() {
            layer::remove_tree(&tmp);
        }
        let stats = super::extract::unpack_over(
            &blob,
            layer,
            &tmp,
            lowers,
            layer::Limits::from_env(),
            progress,
        )?;
        let path = if stats.lower_links.is_empty() {
            path
        } else {
            chained
        };
        match fs::rename(&tmp, &path) {
            Ok(()) => Ok(LayerDir {
                path,
                unpacked: Some(stats),
            }),
            Err(_) if path.is_dir() => {
                // Someone else won the race: theirs is as good as ours.
                layer::remove_tree(&tmp);
                Ok(LayerDir {
                    path,
                    unpacked: None,
                })
            }
            Err(e) => {
                layer::remove_tree(&tmp);
                Err(ImageError::io(&path, e))
            }
        }
    }
}

/// The OCI ChainID of each layer of an image, bottom first: the first
/// layer's is its diff_id, then `sha256(parent_chain_id + " " + diff_id)`.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => digest::sha256(format!("{prev} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// A blob being written: bytes go to a temp file and into a sha256 hasher;
/// [`commit`](BlobWriter::commit) renames it to its digest. Dropped without
/// commit, the temp file is removed.
pub struct BlobWriter {
    writer: Option<HashWriter<BufWriter<File>>>,
    tmp: PathBuf,
    blobs: PathBuf,
}

impl BlobWriter {
    /// Flushes, syncs and moves the blob into `blobs/sha256/` (keeping an
    /// existing blob of the same digest).
    pub fn commit(self) -> Result<BlobInfo, ImageError> {
        self.commit_checked(None)
    }

    /// Like [`commit`](BlobWriter::commit), but when `expected` is given
    /// the bytes must have that digest, or nothing is stored.
    pub fn commit_checked(mut self, expected: Option<&str>) -> Result<BlobInfo, ImageError> {
        let writer = self.writer.take().expect("commit once");
        let (digest, size, buffered) = writer.finish();
        if digest.is_empty() {
            return Err(ImageError::Corrupt(
                "um blob sem hash só entra no store por commit_verified".into(),
            ));
        }
        self.place(digest, size, buffered, expected)
    }

    /// Puts in place a blob of a writer made by
    /// [`Store::blob_writer_verified_elsewhere`], whose reader found it to be
    /// `digest`, `size` bytes long; the count written must agree.
    pub fn commit_verified(mut self, digest: &str, size: u64) -> Result<BlobInfo, ImageError> {
        let writer = self.writer.take().expect("commit once");
        let (_, written, buffered) = writer.finish();
        if written != size {
            return Err(ImageError::Corrupt(format!(
                "o blob {digest}: {written} bytes escritos, mas {size} conferidos"
            )));
        }
        self.place(digest.to_string(), size, buffered, None)
    }

    fn place(
        &mut self,
        digest: String,
        size: u64,
        buffered: BufWriter<File>,
        expected: Option<&str>,
    ) -> Result<BlobInfo, ImageError> {
        if let Some(expected) = expected {
            if digest != expected {
                return Err(ImageError::Corrupt(format!(
                    "o blob {expected} não confere: seu conteúdo tem sha256 {digest} \
                     (arquivo alterado ou corrompido)"
                )));
            }
        }
        let file = buffered
            .into_inner()
            .map_err(|e| ImageError::io(&self.tmp, e.into_error()))?;
        let dst = self.blobs.join(digest::hex_of(&digest)?);
        if dst.exists() {
            // Kept as it is: the temp file goes, no need to sync it first.
            drop(file);
            let _ = fs::remove_file(&self.tmp);
        } else {
            file.sync_all().map_err(|e| ImageError::io(&self.tmp, e))?;
            drop(file);
            fs::rename(&self.tmp, &dst).map_err(|e| ImageError::io(&dst, e))?;
        }
        Ok(BlobInfo { digest, size })
    }

    /// The temp file being written (for error messages).
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().expect("not committed").write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("not committed").flush()
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // After a successful commit the temp file is gone already.
        let _ = fs::remove_file(&self.tmp);
    }
}

/// A unique name for a temp file or dir: `<prefix>-<pid>-<counter>`.
fn temp_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::layer::LayerBuilder;

    fn temp_store() -> (tempfile::TempDir, Store) {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join("root"));
        let store = Store::open(&state).unwrap();
        (tmp, store)
    }

    /// A one-layer image with a file `hello.txt`.
    fn small_image(store: &Store, reference: &str, text: &str) -> Image {
        let mut builder = LayerBuilder::new(0);
        builder
            .dir("etc", 0o755, 0, 0)
            .file("hello.txt", 0o644, 0, 0, text.as_bytes().to_vec());
        let writer = store.blob_writer().unwrap();
        let (diff_id, writer) = builder.write_gzip(writer).unwrap();
        let blob = writer.commit().unwrap();
        let layer = Layer {
            digest: blob.digest,
            diff_id,
            media_type: oci::MEDIA_TYPE_LAYER_TAR_GZIP.into(),
            size: blob.size,
        };
        let config = ConfigFile {
            created: Some("2024-01-01T00:00:00Z".into()),
            architecture: "amd64".into(),
            os: "linux".into(),
            config: Some(oci::RunConfig {
                env: Some(vec![oci::DEFAULT_PATH_ENV.into()]),
                cmd: Some(vec!["sh".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        store
            .write_image(&Reference::parse(reference).unwrap(), config, &[layer])
            .unwrap()
    }

    fn tmp_is_empty(store: &Store) -> bool {
        fs::read_dir(store.state.tmp())
            .unwrap()
            .flatten()
            .all(|e| e.file_name() == "images.lock" || e.file_name() == "images.writers.lock")
    }

    #[test]
    fn image_store_empty_lists_nothing_and_creates_nothing() {
        let (_tmp, store) = temp_store();
        assert!(store.list().unwrap().is_empty());
        assert!(matches!(
            store.resolve("busybox"),
            Err(ImageError::NotFound(r)) if r == "busybox:latest"
        ));
        assert!(!store.state.root().exists());
    }

    #[test]
    fn image_store_layout_write_resolve_list() {
        let (_tmp, store) = temp_store();
        let image = small_image(&store, "hello", "oi\n");
        assert_eq!(image.reference, "hello:latest");
        assert_eq!(image.config.cmd, vec!["sh"]);
        assert_eq!(image.layers.len(), 1);

        let layout: serde_json::Value =
            serde_json::from_slice(&fs::read(store.dir().join("oci-layout")).unwrap()).unwrap();
        assert_eq!(layout["imageLayoutVersion"], "1.0.0");
        let index: serde_json::Value =
            serde_json::from_slice(&fs::read(store.dir().join("index.json")).unwrap()).unwrap();
        assert_eq!(index["schemaVersion"], 2);
        assert_eq!(
            index["manifests"][0]["digest"],
            image.manifest_digest.as_str()
        );
        assert_eq!(
            index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
            "hello:latest"
        );
        // Every blob is named by its own sha256.
        for entry in fs::read_dir(store.blobs_dir()).unwrap().flatten() {
            let bytes = fs::read(entry.path()).unwrap();
            let name = entry.file_name().into_string().unwrap();
            assert_eq!(digest::sha256(&bytes), format!("sha256:{name}"));
        }
        assert!(tmp_is_empty(&store), "no temp files left");

        // Re-tagging replaces; another tag adds a row.
        let v2 = small_image(&store, "hello:latest", "oi de novo\n");
        assert_ne!(v2.manifest_digest, image.manifest_digest);
        small_image(&store, "aluno/app:v1", "x");
        let index = store.read_index().unwrap();
        assert_eq!(index.manifests.len(), 2);
        assert_eq!(
            index.manifests[0].digest, v2.manifest_digest,
            "replaced in place"
        );
        let rows = store.list().unwrap();
        let refs: Vec<&str> = rows.iter().map(|r| r.reference.as_str()).collect();
        assert_eq!(refs, ["aluno/app:v1", "hello:latest"]);
        assert_eq!(rows[1].id, v2.id);
        assert_eq!(rows[1].created, "2024-01-01T00:00:00Z");
        assert_eq!(rows[1].size, v2.layers[0].size);

        // Same content again: nothing changes.
        let again = small_image(&store, "hello", "oi de novo\n");
        assert_eq!(again.manifest_digest, v2.manifest_digest);
        assert_eq!(store.read_index().unwrap().manifests.len(), 2);
    }

    #[test]
    fn image_store_blob_writes_are_atomic_and_keep_existing() {
        let (_tmp, store) = temp_store();
        let info = store.put_blob(b"conteudo").unwrap();
        assert_eq!(info.digest, digest::sha256(b"conteudo"));
        assert_eq!(info.size, 8);
        let path = store.blob_path(&info.digest).unwrap();
        let inode = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&path).unwrap());
        // Writing the same bytes keeps the existing file.
        store.put_blob(b"conteudo").unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&fs::metadata(&path).unwrap()),
            inode
        );
        // An abandoned writer leaves nothing behind, in blobs/ or tmp/.
        let mut writer = store.blob_writer().unwrap();
        writer.write_all(b"metade").unwrap();
        let temp = writer.temp_path().to_path_buf();
        assert!(temp.exists());
        drop(writer);
        assert!(!temp.exists());
        assert!(!store.has_blob(&digest::sha256(b"metade")));
        assert!(tmp_is_empty(&store));
        // Digests are validated before they become paths.
        assert!(store.blob_path("sha256:../../etc/passwd").is_err());
    }

    #[test]
    fn image_store_corrupt_blobs_are_reported() {
        let (_tmp, store) = temp_store();
        let image = small_image(&store, "hello", "oi\n");

        // Corrupt the config: resolve names the blob.
        let config = store.blob_path(&image.id).unwrap();
        let original = fs::read(&config).unwrap();
        let mut bad = original.clone();
        bad[0] = b' ';
        fs::write(&config, &bad).unwrap();
        let err = store.resolve("hello").unwrap_err();
        assert!(matches!(err, ImageError::Corrupt(_)), "{err}");
        assert!(err.to_string().contains(&image.id), "{err}");
        assert!(store.list().is_err());
        fs::write(&config, &original).unwrap();
        store.resolve("hello").unwrap();

        // Corrupt the manifest.
        let manifest = store.blob_path(&image.manifest_digest).unwrap();
        let mut bytes = fs::read(&manifest).unwrap();
        bytes.push(b' ');
        fs::write(&manifest, &bytes).unwrap();
        let err = store.resolve("hello").unwrap_err();
        assert!(err.to_string().contains(&image.manifest_digest), "{err}");

        // A missing manifest.
        fs::remove_file(&manifest).unwrap();
        let err = store.resolve("hello").unwrap_err();
        assert!(err.to_string().contains("não existe"), "{err}");
    }

    #[test]
    fn image_store_ensure_layer_unpacks_then_reuses() {
        let (_tmp, store) = temp_store();
        let image = small_image(&store, "hello", "oi\n");
        let layer = &image.layers[0];
        let first = store.ensure_layer(layer).unwrap();
        let stats = first.unpacked.expect("unpacked the first time");
        assert_eq!(stats.files, 1);
        assert_eq!(stats.bytes, 3);
        assert_eq!(
            first.path,
            store.state.layer(digest::hex_of(&layer.diff_id).unwrap())
        );
        assert_eq!(
            fs::read_to_string(first.path.join("hello.txt")).unwrap(),
            "oi\n"
        );
        let second = store.ensure_layer(layer).unwrap();
        assert!(second.unpacked.is_none(), "reused the second time");
        assert_eq!(second.path, first.path);
        // No temp dirs left in layers/.
        let names: Vec<String> = fs::read_dir(store.state.layers())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [digest::hex_of(&layer.diff_id).unwrap()]);
    }

    #[test]
    fn image_store_ensure_layer_refuses_corrupt_layer_and_cleans() {
        let (_tmp, store) = temp_store();
        let image = small_image(&store, "hello", "oi\n");
        let mut layer = image.layers[0].clone();
        layer.diff_id = digest::sha256(b"outra");
        let err = store.ensure_layer(&layer).unwrap_err();
        assert!(err.to_string().contains("diff_id"), "{err}");
        assert_eq!(fs::read_dir(store.state.layers()).unwrap().count(), 0);
        // A missing blob.
        let mut missing = image.layers[0].clone();
        missing.digest = digest::sha256(b"nada");
        missing.diff_id = digest::sha256(b"nada2");
        assert!(store.ensure_layer(&missing).is_err());
    }

    #[test]
    fn image_store_concurrent_tags_and_unpacks_lose_nothing() {
        let (_tmp, store) = temp_store();
        let image = small_image(&store, "base", "oi\n");
        let store = std::sync::Arc::new(store);
        let threads: Vec<_> = (0..6)
            .map(|i| {
                let store = store.clone();
                let image = image.clone();
                std::thread::spawn(move || {
                    let mut desc = Descriptor::new(
                        oci::MEDIA_TYPE_MANIFEST,
                        &image.manifest_digest,
                        fs::metadata(store.blob_path(&image.manifest_digest).unwrap())
                            .unwrap()
                            .len(),
                    );
                    desc.platform = None;
                    store
                        .tag(&Reference::parse(&format!("base:t{i}")).unwrap(), &desc)
                        .unwrap();
                    store.ensure_layer(&image.layers[0]).unwrap()
                })
            })
            .collect();
        let dirs: Vec<LayerDir> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(dirs.iter().all(|d| d.path == dirs[0].path));
        assert!(dirs.iter().filter(|d| d.unpacked.is_some()).count() >= 1);
        assert_eq!(store.list().unwrap().len(), 7, "every tag kept");
        assert_eq!(
            fs::read_dir(store.state.layers()).unwrap().count(),
            1,
            "no temp dirs"
        );
    }

    #[test]
    fn image_store_keeps_foreign_index_entries() {
        let (_tmp, store) = temp_store();
        store.init().unwrap();
        // An index written by another tool, with fields casulo does not know.
        let foreign = r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1,"urls":["x"]}],"annotations":{"a":"b"}}"#;
        fs::write(store.dir().join("index.json"), foreign).unwrap();
        small_image(&store, "hello", "oi\n");
        let index: serde_json::Value =
            serde_json::from_slice(&fs::read(store.dir().join("index.json")).unwrap()).unwrap();
        assert_eq!(index["annotations"]["a"], "b");
        assert_eq!(index["manifests"][0]["urls"][0], "x");
        assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
        // Untagged descriptors are not listed.
        assert_eq!(store.list().unwrap().len(), 1);
    }
}
