//! The cgroup tree: groups, their limits and device rules, processes, OOM kills, freezing.

use super::sorted_map::SortedMap;
use super::World;
use crate::{Event, EventBody};

/// One cgroup directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    pub path: String,
    pub version: String,
    pub controller: String,
    /// File name (`memory.max`) → value written.
    pub limits: SortedMap<String, String>,
    /// Host pids moved into it.
    pub procs: Vec<i32>,
    /// OOM kills seen (`cgroup.oom`), and the event where the last happened.
    pub oom_kills: u64,
    pub last_oom: Option<usize>,
    /// Forks refused by `pids.max`.
    pub pids_refused: u64,
    /// The device allow-list applied to it (`cgroup.devices`).
    pub devices: Option<DeviceRules>,
    /// Its processes are frozen (`cgroup.freeze`: `pause` until `unpause`).
    pub frozen: bool,
    pub deleted: bool,
    pub at: usize,
}

/// The devices a cgroup's processes may open or create (`cgroup.devices`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRules {
    /// `v1` (`devices.allow` lines) or `v2` (an eBPF program).
    pub version: String,
    /// `--privileged`: everything allowed.
    pub privileged: bool,
    /// `deny` or `allow`: for a device no rule names.
    pub default_action: String,
    /// `c 1:3 rwm`, `c 136:* rwm`, …
    pub allowed: Vec<String>,
    /// v2: the program's length in instructions.
    pub program_insns: Option<u32>,
    /// The event that applied them.
    pub at: usize,
}

/// One `cgroup.sample`, with where it is in the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sample {
    pub index: usize,
    pub t_us: u64,
    pub memory_bytes: Option<u64>,
    /// The most memory used so far, as the kernel counts it (a climb
    /// between two samples shows here, not in `memory_bytes`).
    pub memory_peak_bytes: Option<u64>,
    pub memory_limit_bytes: Option<u64>,
    pub pids: Option<u64>,
    pub pids_limit: Option<u64>,
    pub cpu_usage_us: Option<u64>,
    pub cpu_throttled_us: Option<u64>,
}

impl World {
    /// Applies this area's kinds; other kinds are left alone.
    pub(super) fn apply_cgroups(&mut self, event: &Event, at: usize) {
        match &event.body {
            EventBody::CgroupCreate {
                path,
                version,
                controller,
            } => {
                let cg = self.cgroup(path, at);
                cg.version = version.clone();
                cg.controller = controller.clone();
                cg.deleted = false;
            }
            EventBody::CgroupLimit {
                controller,
                file,
                value,
                ..
            } => {
                let (dir, name) = match file.rsplit_once('/') {
                    Some((dir, name)) => (dir.to_string(), name.to_string()),
                    None => (String::new(), file.clone()),
                };
                let cg = self.cgroup(&dir, at);
                if cg.controller.is_empty() && cg.version != "v2" {
                    cg.controller = controller.clone();
                }
                cg.limits.insert(name, value.clone());
            }
            EventBody::CgroupDevices {
                path,
                version,
                privileged,
                default_action,
                allowed,
                program_insns,
            } => {
                self.cgroup(path, at).devices = Some(DeviceRules {
                    version: version.clone(),
                    privileged: *privileged,
                    default_action: default_action.clone(),
                    allowed: allowed.clone(),
                    program_insns: *program_insns,
                    at,
                });
            }
            EventBody::CgroupAttach {
                path, target_pid, ..
            } => {
                let cg = self.cgroup(path, at);
                if !cg.procs.contains(target_pid) {
                    cg.procs.push(*target_pid);
                }
            }
            EventBody::CgroupSample { .. } => {}
            EventBody::CgroupOom {
                path, oom_kills, ..
            } => {
                let cg = self.cgroup(path, at);
                cg.oom_kills = *oom_kills;
                cg.last_oom = Some(at);
            }
            EventBody::CgroupPidsMax { path, refused, .. } => {
                self.cgroup(path, at).pids_refused = *refused;
            }
            EventBody::CgroupFreeze { file, frozen } => {
                let dir = file.rsplit_once('/').map_or("", |(dir, _)| dir);
                self.cgroup(dir, at).frozen = *frozen;
                self.paused = *frozen;
            }
            EventBody::CgroupDelete { path } => {
                if let Some(cg) = self.cgroups.get_mut(path) {
                    cg.deleted = true;
                    cg.frozen = false;
                }
            }
            _ => {}
        }
    }

    pub(super) fn cgroup(&mut self, path: &str, at: usize) -> &mut Cgroup {
        self.cgroups
            .get_or_insert_with(path.to_string(), || Cgroup {
                path: path.to_string(),
                version: String::new(),
                controller: String::new(),
                limits: SortedMap::new(),
                procs: vec![],
                oom_kills: 0,
                last_oom: None,
                pids_refused: 0,
                devices: None,
                frozen: false,
                deleted: false,
                at,
            })
    }
}
