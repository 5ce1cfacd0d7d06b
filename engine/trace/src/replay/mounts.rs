//! The container's file system view: overlay, other mounts, `pivot_root`,
//! devices, symlinks, hostname.

use super::World;
use crate::{Event, EventBody};

/// The overlay that became the container's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    /// Where it was mounted (the `merged` directory), as seen from the host.
    pub target: String,
    /// Layers, top-most first.
    pub lowerdirs: Vec<String>,
    pub upperdir: String,
    pub workdir: String,
    pub at: usize,
}

/// Any other mount of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub fstype: String,
    pub source: String,
    /// As written in the trace (host path before `pivot_root`).
    pub target: String,
    /// The same place as seen from inside the container (`/proc`).
    pub inside: String,
    pub flags: Vec<String>,
    pub data: String,
    pub at: usize,
}

/// A device node created in the container's `/dev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Path inside the container (`/dev/null`).
    pub inside: String,
    pub major: u64,
    pub minor: u64,
}

impl World {
    /// Applies this area's kinds; other kinds are left alone.
    pub(super) fn apply_mounts(&mut self, event: &Event, at: usize) {
        let pid = event.pid;
        match &event.body {
            EventBody::MountIdmap { source, .. } => self.idmapped.push(source.clone()),
            EventBody::MountOverlay {
                target,
                lowerdirs,
                upperdir,
                workdir,
            } => {
                self.overlay = Some(Overlay {
                    target: target.clone(),
                    lowerdirs: lowerdirs.clone(),
                    upperdir: upperdir.clone(),
                    workdir: workdir.clone(),
                    at,
                });
            }
            EventBody::MountFs {
                fstype,
                source,
                target,
                flags,
                data,
            } => {
                let inside = self.inside(target);
                // A bind mount has no filesystem type of its own.
                let fstype = if fstype.is_empty() && flags.iter().any(|f| f == "MS_BIND") {
                    "bind".to_string()
                } else {
                    fstype.clone()
                };
                self.mounts.push(Mount {
                    fstype,
                    source: source.clone(),
                    target: target.clone(),
                    inside,
                    flags: flags.clone(),
                    data: data.clone(),
                    at,
                });
            }
            EventBody::MountPropagation { .. } => {}
            EventBody::MountPivotRoot { new_root, .. } => {
                self.pivoted = true;
                // `pivot_root(".", ".")` is relative to the working directory.
                let proc = self.process(pid);
                let root = match (new_root.starts_with('/'), &proc.cwd) {
                    (false, Some(cwd)) => cwd.clone(),
                    _ => new_root.clone(),
                };
                proc.root = Some(root);
            }
            EventBody::MountUmount { target, .. } => {
                let inside = self.inside(target);
                if let Some(i) = self
                    .mounts
                    .iter()
                    .rposition(|m| m.target == *target || m.inside == inside)
                {
                    self.mounts.remove(i);
                }
            }
            EventBody::DeviceCreate {
                path, major, minor, ..
            } => {
                let inside = self.inside(path);
                self.devices.push(Device {
                    inside,
                    major: *major,
                    minor: *minor,
                });
            }
            EventBody::FsSymlink { target, link } => {
                let link = self.inside(link);
                self.symlinks.push((link, target.clone()));
            }
            EventBody::FsWrite { .. } => {}
            EventBody::UtsSethostname { hostname } => self.hostname = Some(hostname.clone()),
            _ => {}
        }
    }
}
