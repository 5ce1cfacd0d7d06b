//! Images: an OCI image layout store, unpacked layers, and the ways an image
//! gets into the store without internet (bootstrap from the host's busybox,
//! import of a rootfs tarball).
//!
//! An image is immutable: a manifest naming a config (env, cmd, …) and an
//! ordered list of layers (bottom first). Each layer is a tarball of changes;
//! casulo unpacks it once into `layers/<diff_id hex>/` and every container
//! of every image that has it uses that directory as an overlay lowerdir.

pub mod archive;
pub mod beneath;
pub mod bootstrap;
pub mod digest;
pub mod extract;
pub mod fsck;
pub mod import;
pub mod inspect;
pub mod layer;
pub mod layer_tar;
pub mod layered;
pub mod leftovers;
pub mod oci;
pub mod overlay;
pub mod read_ahead;
pub mod reference;
pub mod store;
pub mod verify;
pub mod zstd;

pub use reference::Reference;
pub use store::Store;

/// An image resolved from the store, ready to run.
#[derive(Debug, Clone)]
pub struct Image {
    /// Normalized reference, e.g. `busybox:latest`.
    pub reference: String,
    /// `sha256:<hex>` digest of the config blob (docker's "image id").
    pub id: String,
    /// `sha256:<hex>` digest of the manifest blob.
    pub manifest_digest: String,
    pub config: ImageConfig,
    /// Layers bottom first (the order of the manifest).
    pub layers: Vec<Layer>,
}

/// The parts of the OCI image config that running needs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageConfig {
    /// `KEY=value` entries.
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// Empty means `/`.
    pub working_dir: String,
    /// Empty means root.
    pub user: String,
    /// Paths the image declares as volumes (created in the container).
    pub volumes: Vec<String>,
    /// The image's StopSignal (empty: SIGTERM), kept for `stop`.
    pub stop_signal: String,
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// `sha256:<hex>` of the blob as stored (maybe compressed).
    pub digest: String,
    /// `sha256:<hex>` of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: String,
    pub media_type: String,
    /// Blob size in bytes.
    pub size: u64,
}

impl Layer {
    /// The layer a manifest's `blob` descriptor and the config's `diff_id`
    /// describe together; both digests checked to be `sha256:<hex>` (they
    /// become file names in the store).
    pub fn of(blob: &oci::Descriptor, diff_id: &str) -> Result<Layer, ImageError> {
        digest::hex_of(&blob.digest)?;
        digest::hex_of(diff_id)?;
        Ok(Layer {
            digest: blob.digest.clone(),
            diff_id: diff_id.to_string(),
            media_type: blob.media_type.clone(),
            size: blob.size,
        })
    }
}

/// A row of `casulo image ls`.
#[derive(Debug, Clone)]
pub struct ImageSummary {
    pub reference: String,
    pub id: String,
    /// RFC 3339, from the config's `created`.
    pub created: String,
    /// Sum of the layer blob sizes.
    pub size: u64,
    /// `sha256:` of the manifest: the digest a registry knows the image by
    /// (pushed or pulled, the manifest's bytes travel as they are).
    pub manifest_digest: String,
}

/// Result of making sure a layer is unpacked.
#[derive(Debug, Clone)]
pub struct LayerDir {
    pub path: std::path::PathBuf,
    /// `Some` when it was unpacked just now, `None` when it was reused.
    pub unpacked: Option<UnpackStats>,
}

#[derive(Debug, Clone, Default)]
pub struct UnpackStats {
    /// Bytes of regular file content written.
    pub bytes: u64,
    /// Regular files and FIFOs created.
    pub files: u64,
    pub duration_us: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// Device nodes in the layer that were not created (a warning: only a
    /// privileged runtime creates them; the container's /dev comes from the
    /// runtime anyway).
    pub devices_skipped: u64,
    /// Their paths, as written in the tar.
    pub skipped_devices: Vec<String>,
    /// Rootless with a single-id map: entries whose owner the user
    /// namespace cannot hold, written as owned by 0 (see `crate::rootless`).
    pub owners_to_root: u64,
    /// OCI whiteouts turned into overlayfs ones: (path in the image, e.g.
    /// `/etc/motd`, opaque directory?).
    pub whiteouts: Vec<(String, bool)>,
    /// Hard links whose target lives in a lower layer, resolved by copying
    /// that file (see [`extract`]): (link path, target path), as in the
    /// image (`/usr/bin/b`, `/usr/bin/a`). Non-empty only when the layer
    /// was unpacked above its parents; such a layer's directory is keyed by
    /// its ChainID, not its diff_id.
    pub lower_links: Vec<(String, String)>,
}

/// Image errors; messages in pt-BR, naming what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("imagem não encontrada: {0} (veja `casulo image ls`; a busybox se cria com `casulo image bootstrap`)")]
    NotFound(String),
    #[error("referência de imagem inválida: {reference:?}: {why}")]
    BadReference { reference: String, why: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("store de imagens corrompido: {0}")]
    Corrupt(String),
    #[error("camada {layer}: entrada {entry:?} recusada: {why}")]
    UnsafeEntry {
        layer: String,
        entry: String,
        why: String,
    },
    #[error("camada {layer}: falha ao desempacotar a entrada {entry:?}")]
    Unpack {
        layer: String,
        entry: String,
        #[source]
        source: std::io::Error,
    },
    #[error("camada {layer}: {what}")]
    BadLayer {
        layer: String,
        what: String,
        #[source]
        source: Option<std::io::Error>,
    },
    /// An image of `image load` that could never run: nothing of it was
    /// stored (the cause says which layer or file, and why).
    #[error("imagem {image} recusada: nada dela foi registrado no store")]
    Refused {
        image: String,
        #[source]
        source: Box<ImageError>,
    },
    #[error("{0}")]
    Other(String),
}

impl ImageError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        ImageError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
