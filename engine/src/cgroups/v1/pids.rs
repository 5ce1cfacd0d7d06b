//! v1 pids controller. Its files (`pids.max`, `pids.current`,
//! `pids.events`) have the same names and meaning as in v2 — the one
//! controller that did not change between the versions — so the code is
//! shared: see [`crate::cgroups::v2::pids`]. Only the directory differs
//! (`/sys/fs/cgroup/pids/casulo/<id>` here).

pub use crate::cgroups::v2::pids::{apply, refused, stats};
