//! The state directory: everything casulo keeps on disk, under one root.
//!
//! ```text
//! <root>/                       default /var/lib/casulo (flag --root, env CASULO_ROOT)
//!   images/                     an OCI image layout (the image store)
//!     oci-layout                {"imageLayoutVersion":"1.0.0"}
//!     index.json                one manifest descriptor per tag, with the
//!                               annotation org.opencontainers.image.ref.name = "busybox:latest"
//!     blobs/sha256/<hex>        manifests, configs and layer tarballs, by digest
//!   layers/<hex of diff_id>/    each layer unpacked once, reused by every image
//!                               and container that has it (read-only lowerdirs;
//!                               OCI whiteouts stored as overlayfs ones: 0:0 char
//!                               devices and the trusted.overlay.opaque xattr)
//!   layers/.tmp-<hex>-<pid>-<n>/  a layer being unpacked (renamed into place when
//!                               complete; `image fsck` reports leftovers)
//!   containers/<id>/            one per container
//!     container.json            what was asked (image, command, name, state)
//!     upper/  work/             the container's read/write layer (overlay upper/work)
//!     merged/                   where the overlay is mounted (inside the
//!                               container's own mount namespace only)
//!   names/<name>                container names, created exclusively (holds the id)
//!   traces/<name>-<id8>.trace.jsonl   one trace per run
//!   traces/build-<id8>.trace.jsonl    one trace per `casulo build` (header
//!                               container = the build: id, name "build",
//!                               image = the FROM image, empty command)
//!   build-cache/<key hex>.json  the build cache: what a Dockerfile step made
//!                               (its layer, or nothing for config-only steps)
//!   labs/<NN-nome>/             one per lab the student started (`casulo lab`):
//!     progresso.json            when it started (only later traces count),
//!                               hints seen, when every task passed
//!     trabalho/                 the work folder: the lab's files, the student's outputs
//!   tmp/                        staging for atomic writes (same filesystem):
//!                               blob-*/write-*/cache-* temp files, load-* (an archive
//!                               being loaded), images.lock (flock for index.json),
//!                               copy-from-<id8>-<line>/ (a build's `COPY --from`
//!                               source stage, its layers merged by hard links;
//!                               removed once the step's layer is written)
//! ```
//!
//! Every function that touches these paths takes a [`StateDir`], never a
//! hard-coded path, so tests run against a temporary root.

use std::path::{Path, PathBuf};

/// Default root when neither `--root` nor `CASULO_ROOT` is given.
pub const DEFAULT_ROOT: &str = "/var/lib/casulo";

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn images(&self) -> PathBuf {
        self.root.join("images")
    }

    pub fn layers(&self) -> PathBuf {
        self.root.join("layers")
    }

    /// Directory of one unpacked layer, by its diff_id hex.
    pub fn layer(&self, diff_id_hex: &str) -> PathBuf {
        self.layers().join(diff_id_hex)
    }

    pub fn containers(&self) -> PathBuf {
        self.root.join("containers")
    }

    pub fn container(&self, id: &str) -> PathBuf {
        self.containers().join(id)
    }

    pub fn names(&self) -> PathBuf {
        self.root.join("names")
    }

    pub fn traces(&self) -> PathBuf {
        self.root.join("traces")
    }

    /// The build cache (see `build::cache`).
    pub fn build_cache(&self) -> PathBuf {
        self.root.join("build-cache")
    }

    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Creates the top-level directories (idempotent).
    pub fn ensure(&self) -> std::io::Result<()> {
        for dir in [
            self.images(),
            self.layers(),
            self.containers(),
            self.traces(),
            self.tmp(),
        ] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }
}
