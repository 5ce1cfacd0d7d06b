//! A push or pull: the registry, its token, each layer's transfer, the manifest.

use super::World;
use crate::{Event, EventBody};

/// What happened to one layer in a `push` or `pull` (`registry.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerTransfer {
    /// Asked about, and missing: about to travel.
    Missing,
    /// Already there ("já estava aqui"): nothing traveled.
    Present,
    /// Sent to the registry (push).
    Sent,
    /// Linked from another repository of the registry, no byte sent.
    Mounted,
    /// Downloaded and verified (pull).
    Downloaded,
}

/// One layer of the image a `push` or `pull` moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryLayer {
    /// 0 = bottom.
    pub index: u32,
    pub digest: String,
    /// Blob bytes.
    pub size: u64,
    pub state: LayerTransfer,
    /// Microseconds the transfer took (0 when nothing traveled).
    pub duration_us: u64,
    /// Index of the event that last changed it.
    pub at: usize,
}

/// A `casulo push` or `pull`, from its `registry.*` events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryTransfer {
    /// `host[:port]`.
    pub registry: String,
    pub repository: String,
    /// `push` or `pull` (empty until an upload/manifest event says which).
    pub direction: String,
    /// The authentication scheme used (`basic`, `bearer`), empty if none.
    pub auth: String,
    /// The image's layers, by index.
    pub layers: Vec<RegistryLayer>,
    /// Digest of the manifest sent or fetched.
    pub manifest: Option<String>,
    /// Platform picked from an index (pull).
    pub platform: Option<String>,
    /// Bytes that traveled (blobs only).
    pub bytes: u64,
}

impl RegistryTransfer {
    fn layer_mut(&mut self, index: u32, digest: &str, size: u64, at: usize) -> &mut RegistryLayer {
        let pos = match self.layers.iter().position(|l| l.index == index) {
            Some(pos) => pos,
            None => {
                // Inserted where its index goes (the list stays in order
                // without a sort: a sort's code was 3 KB of the wasm).
                let pos = self.layers.partition_point(|l| l.index < index);
                self.layers.insert(
                    pos,
                    RegistryLayer {
                        index,
                        digest: digest.to_string(),
                        size,
                        state: LayerTransfer::Missing,
                        duration_us: 0,
                        at,
                    },
                );
                pos
            }
        };
        let layer = &mut self.layers[pos];
        layer.at = at;
        if size > 0 {
            layer.size = size;
        }
        layer
    }

    /// Layers that traveled (sent, mounted or downloaded) and those that
    /// were already there.
    pub fn counts(&self) -> (usize, usize) {
        let moved = self
            .layers
            .iter()
            .filter(|l| {
                matches!(
                    l.state,
                    LayerTransfer::Sent | LayerTransfer::Mounted | LayerTransfer::Downloaded
                )
            })
            .count();
        let present = self
            .layers
            .iter()
            .filter(|l| l.state == LayerTransfer::Present)
            .count();
        (moved, present)
    }
}

impl World {
    /// Applies this area's kinds; other kinds are left alone.
    pub(super) fn apply_registry(&mut self, event: &Event, at: usize) {
        match &event.body {
            EventBody::RegistryPing { registry, .. } => {
                self.registry_mut(registry).registry = registry.clone();
            }
            EventBody::RegistryAuth {
                registry, scheme, ..
            } => self.registry_mut(registry).auth = scheme.clone(),
            EventBody::RegistryBlobExists {
                registry,
                repository,
                digest,
                size,
                exists,
                layer: Some(index),
                ..
            } => {
                let reg = self.registry_mut(registry);
                reg.repository = repository.clone();
                let layer = reg.layer_mut(*index, digest, *size, at);
                layer.state = if *exists {
                    LayerTransfer::Present
                } else {
                    LayerTransfer::Missing
                };
            }
            // A blob sent (push) or received (pull): the same bookkeeping,
            // in opposite directions.
            EventBody::RegistryBlobUpload {
                registry,
                repository,
                digest,
                bytes,
                duration_us,
                layer,
                ..
            }
            | EventBody::RegistryBlobDownload {
                registry,
                repository,
                digest,
                bytes,
                duration_us,
                layer,
                ..
            } => {
                let push = matches!(event.body, EventBody::RegistryBlobUpload { .. });
                let reg = self.registry_mut(registry);
                reg.repository = repository.clone();
                reg.direction = if push { "push" } else { "pull" }.into();
                reg.bytes += bytes;
                if let Some(index) = layer {
                    let layer = reg.layer_mut(*index, digest, *bytes, at);
                    layer.state = if push {
                        LayerTransfer::Sent
                    } else {
                        LayerTransfer::Downloaded
                    };
                    layer.duration_us = *duration_us;
                }
            }
            EventBody::RegistryBlobMount {
                registry,
                repository,
                digest,
                mounted: true,
                layer: Some(index),
                ..
            } => {
                let reg = self.registry_mut(registry);
                reg.repository = repository.clone();
                reg.direction = "push".into();
                reg.layer_mut(*index, digest, 0, at).state = LayerTransfer::Mounted;
            }
            EventBody::RegistryManifestGet {
                registry,
                repository,
                digest,
                platform,
                ..
            } => {
                let reg = self.registry_mut(registry);
                reg.repository = repository.clone();
                reg.direction = "pull".into();
                reg.manifest = Some(digest.clone());
                if platform.is_some() {
                    reg.platform = platform.clone();
                }
            }
            EventBody::RegistryManifestPut {
                registry,
                repository,
                digest,
                ..
            } => {
                let reg = self.registry_mut(registry);
                reg.repository = repository.clone();
                reg.direction = "push".into();
                reg.manifest = Some(digest.clone());
            }
            EventBody::RegistryBlobExists { .. } | EventBody::RegistryBlobMount { .. } => {}
            _ => {}
        }
    }

    /// The push or pull, made on its first `registry.*` event.
    pub(super) fn registry_mut(&mut self, registry: &str) -> &mut RegistryTransfer {
        self.registry.get_or_insert_with(|| RegistryTransfer {
            registry: registry.to_string(),
            ..RegistryTransfer::default()
        })
    }
}
