//! Image layers (unpacked or reused, whiteouts), the container's upper layer, volumes.

use super::World;
use crate::{Event, EventBody};

/// A volume created for the container (`volume.create`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    /// Its directory on the host.
    pub path: String,
    /// Where the container sees it.
    pub target: String,
    pub anonymous: bool,
    pub at: usize,
}

/// An image layer the run used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub diff_id: String,
    pub path: String,
    /// Unpacked now (with its size), or reused from an earlier run.
    pub unpacked: Option<Unpacked>,
    /// Paths deleted by this layer (whiteouts), with `true` for opaque dirs.
    pub whiteouts: Vec<(String, bool)>,
    pub at: usize,
}

/// Numbers of a fresh unpack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unpacked {
    pub bytes: u64,
    pub files: u64,
    pub duration_us: u64,
}

/// What the container wrote, from `layer.upper`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpperLayer {
    pub upperdir: String,
    pub added: u64,
    pub changed: u64,
    pub deleted: u64,
    pub bytes: u64,
    pub sample: Vec<String>,
}

impl World {
    /// Applies this area's kinds; other kinds are left alone.
    pub(super) fn apply_layers(&mut self, event: &Event, at: usize) {
        match &event.body {
            EventBody::LayerUnpack {
                diff_id,
                path,
                bytes,
                files,
                duration_us,
            } => {
                let unpacked = Some(Unpacked {
                    bytes: *bytes,
                    files: *files,
                    duration_us: *duration_us,
                });
                self.layer(diff_id, path, at).unpacked = unpacked;
            }
            EventBody::LayerReuse { diff_id, path } => {
                self.layer(diff_id, path, at);
            }
            EventBody::LayerUpper {
                upperdir,
                added,
                changed,
                deleted,
                bytes,
                sample,
            } => {
                self.upper = Some(UpperLayer {
                    upperdir: upperdir.clone(),
                    added: *added,
                    changed: *changed,
                    deleted: *deleted,
                    bytes: *bytes,
                    sample: sample.clone(),
                })
            }
            EventBody::VolumeCreate {
                name,
                path,
                target,
                anonymous,
            } => self.volumes.push(Volume {
                name: name.clone(),
                path: path.clone(),
                target: target.clone(),
                anonymous: *anonymous,
                at,
            }),
            EventBody::LayerWhiteout {
                diff_id,
                path,
                opaque,
            } => {
                self.layer(diff_id, "", at)
                    .whiteouts
                    .push((path.clone(), *opaque));
            }
            _ => {}
        }
    }

    pub(super) fn layer(&mut self, diff_id: &str, path: &str, at: usize) -> &mut Layer {
        let i = match self.layers.iter().position(|l| l.diff_id == diff_id) {
            Some(i) => i,
            None => {
                self.layers.push(Layer {
                    diff_id: diff_id.to_string(),
                    path: path.to_string(),
                    unpacked: None,
                    whiteouts: vec![],
                    at,
                });
                self.layers.len() - 1
            }
        };
        let layer = &mut self.layers[i];
        if layer.path.is_empty() {
            layer.path = path.to_string();
        }
        layer
    }
}
