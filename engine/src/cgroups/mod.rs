//! cgroups: how the host mounts them. Limits, accounting and OOM detection
//! (one file per controller under `v1/` and `v2/`) come with the cgroups issue.

use std::path::Path;

/// How the host mounts cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// Only the legacy per-controller hierarchies.
    V1,
    /// One unified cgroup2 hierarchy at the root.
    V2,
    /// v1 controllers plus a cgroup2 mount (usually `unified/`) with few or no controllers.
    Hybrid,
    Unknown,
}

impl CgroupMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupMode::V1 => "v1",
            CgroupMode::V2 => "v2",
            CgroupMode::Hybrid => "hybrid",
            CgroupMode::Unknown => "unknown",
        }
    }
}

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// Detects the mode from the filesystem mounted at `root` (normally `/sys/fs/cgroup`).
pub fn detect_mode(root: &Path) -> CgroupMode {
    let fs_type = |p: &Path| {
        nix::sys::statfs::statfs(p)
            .ok()
            .map(|s| s.filesystem_type().0)
    };
    match fs_type(root) {
        Some(CGROUP2_SUPER_MAGIC) => CgroupMode::V2,
        Some(TMPFS_MAGIC) => {
            if fs_type(&root.join("unified")) == Some(CGROUP2_SUPER_MAGIC) {
                CgroupMode::Hybrid
            } else {
                CgroupMode::V1
            }
        }
        _ => CgroupMode::Unknown,
    }
}
