//! cgroup v1: one hierarchy per controller, so one directory per controller
//! for each container: `<root>/memory/casulo/<id>`, `<root>/cpu/casulo/<id>`,
//! `<root>/cpuacct/casulo/<id>`, `<root>/pids/casulo/<id>`,
//! `<root>/devices/casulo/<id>` (the device allow-list, [`devices`]),
//! `<root>/freezer/casulo/<id>` (`pause`, [`freezer`]). A pid written into
//! one hierarchy's `cgroup.procs` joins only that one: casulo attaches the
//! container's init to each — or rather the init joins each itself, writing
//! `0` to its `tasks` ([`crate::kernel::Kernel::cgroup_join_itself`]: no
//! global lock, no RCU grace period to wait for).
//!
//! Some distributions mount two controllers together (`cpu,cpuacct`, with
//! `cpu` and `cpuacct` as symlinks to it): such a hierarchy is used once.

pub mod cpu;
pub mod devices;
pub mod freezer;
pub mod memory;
pub mod pids;

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use nix::unistd::Pid;

use super::{
    mkdir_with_parent, remove_dir, CgroupError, Events, Manager, Resources, Stats, PARENT,
};
use crate::kernel::Kernel;

/// The v1 controllers casulo uses.
pub const CONTROLLERS: [&str; 6] = ["memory", "cpu", "cpuacct", "pids", "devices", "freezer"];

/// One mounted v1 hierarchy and the controllers it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where it is mounted (symlinks resolved), e.g. `/sys/fs/cgroup/memory`.
    pub mount: PathBuf,
    /// e.g. `["memory"]` or `["cpu", "cpuacct"]`.
    pub controllers: Vec<&'static str>,
}

impl Hierarchy {
    fn name(&self) -> String {
        self.controllers.join(",")
    }
}

/// The hierarchies under `root` that carry casulo's controllers.
pub fn hierarchies(root: &Path) -> Vec<Hierarchy> {
    let mut found: Vec<Hierarchy> = Vec::new();
    for controller in CONTROLLERS {
        let mount = resolve_link(root, controller);
        if !mount.join("cgroup.procs").exists() {
            continue;
        }
        match found.iter_mut().find(|h| h.mount == mount) {
            Some(h) => h.controllers.push(controller),
            None => found.push(Hierarchy {
                mount,
                controllers: vec![controller],
            }),
        }
    }
    found
}

/// `root/name`, or where it points when it is a symlink (`cpu` →
/// `cpu,cpuacct`): one `readlink`, where `canonicalize` took one per
/// component of the path, for each of the six controllers on every run.
fn resolve_link(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    match std::fs::read_link(&dir) {
        Err(_) => dir,
        Ok(target)
            if target
                .components()
                .all(|c| matches!(c, Component::Normal(_))) =>
        {
            root.join(target)
        }
        // Absolute, or with `..`: let the kernel resolve it.
        Ok(_) => dir.canonicalize().unwrap_or(dir),
    }
}

pub struct V1Manager {
    id: String,
    hierarchies: Vec<Hierarchy>,
}

impl V1Manager {
    pub fn new(root: &Path, id: &str) -> Self {
        V1Manager {
            id: id.to_string(),
            hierarchies: hierarchies(root),
        }
    }

    /// The container's directory in the hierarchy carrying `controller`.
    pub fn dir(&self, controller: &str) -> Option<PathBuf> {
        self.hierarchies
            .iter()
            .find(|h| h.controllers.contains(&controller))
            .map(|h| h.mount.join(PARENT).join(&self.id))
    }

    fn need(&self, controller: &'static str, flag: &'static str) -> Result<PathBuf, CgroupError> {
        self.dir(controller)
            .ok_or_else(|| CgroupError::MissingController {
                controller,
                where_: "nenhuma hierarquia v1 montada para ele".into(),
                flag,
            })
    }
}

impl Manager for V1Manager {
    fn version(&self) -> &'static str {
        "v1"
    }

    fn paths(&self) -> Vec<PathBuf> {
        self.hierarchies
            .iter()
            .map(|h| h.mount.join(PARENT).join(&self.id))
            .collect()
    }

    fn create(&self, k: &Kernel) -> Result<(), CgroupError> {
        if self.hierarchies.is_empty() {
            return Err(CgroupError::MissingController {
                controller: "memory",
                where_: "nenhuma hierarquia v1 de memory, cpu ou pids".into(),
                flag: "limites",
            });
        }
        for h in &self.hierarchies {
            let parent = h.mount.join(PARENT);
            mkdir_with_parent(k, &parent, &parent.join(&self.id), "v1", &h.name())?;
        }
        Ok(())
    }

    fn apply(&self, k: &Kernel, res: &Resources) -> Result<(), CgroupError> {
        if res.memory.is_some() || res.memory_swap.is_some() {
            memory::apply(k, &self.need("memory", "--memory")?, res)?;
        }
        if res.cpu_quota_us.is_some() || res.shares().is_some() {
            cpu::apply(k, &self.need("cpu", "--cpus")?, res)?;
        }
        if res.pids.is_some() {
            pids::apply(k, &self.need("pids", "--pids-limit")?, res)?;
        }
        Ok(())
    }

    fn devices(&self, k: &Kernel, privileged: bool) -> Result<(), CgroupError> {
        match self.dir("devices") {
            Some(dir) => devices::apply(k, &dir, privileged),
            // Nothing to open up, nothing to record.
            None if privileged => Ok(()),
            None => Err(CgroupError::MissingController {
                controller: "devices",
                where_: "nenhuma hierarquia v1 montada para ele".into(),
                flag: "a lista de dispositivos permitidos (só --privileged roda sem ela)",
            }),
        }
    }

    fn attach(&self, k: &Kernel, pid: Pid) -> Result<(), CgroupError> {
        for dir in self.paths() {
            k.cgroup_attach(&dir, pid)?;
        }
        Ok(())
    }

    fn joins_itself(&self) -> bool {
        true
    }

    fn join_itself(&self, k: &Kernel, host_pid: i32) -> Result<(), CgroupError> {
        for dir in self.paths() {
            k.cgroup_join_itself(&dir, host_pid)?;
        }
        Ok(())
    }

    fn freeze(&self, k: &Kernel, frozen: bool, timeout: Duration) -> Result<(), CgroupError> {
        let flag = if frozen { "o pause" } else { "o unpause" };
        freezer::freeze(k, &self.need("freezer", flag)?, frozen, timeout)
    }

    fn stats(&self, k: &Kernel) -> Stats {
        let mut s = Stats::default();
        if let Some(dir) = self.dir("memory") {
            memory::stats(k, &dir, &mut s);
        }
        if let Some(dir) = self.dir("cpu") {
            cpu::stats(k, &dir, &mut s);
        }
        if let Some(dir) = self.dir("cpuacct") {
            cpu::usage(k, &dir, &mut s);
        }
        if let Some(dir) = self.dir("pids") {
            pids::stats(k, &dir, &mut s);
        }
        s
    }

    fn events(&self, k: &Kernel) -> Events {
        let memory_path = self.dir("memory").unwrap_or_default();
        let pids_path = self.dir("pids").unwrap_or_default();
        Events {
            oom_kills: memory::oom_kills(k, &memory_path).unwrap_or(0),
            memory_peak_bytes: memory::peak(k, &memory_path),
            pids_refused: pids::refused(k, &pids_path).unwrap_or(0),
            memory_path,
            pids_path,
        }
    }

    fn delete(&self, k: &Kernel) -> Result<(), CgroupError> {
        let mut first_error = None;
        for h in &self.hierarchies {
            let parent = h.mount.join(PARENT);
            if let Err(e) = remove_dir(k, &parent.join(&self.id)) {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `<root>/{memory,cpu,cpuacct,pids}/cgroup.procs`, like a v1 host.
    pub fn fixture_root(comounted_cpu: bool) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for c in ["memory", "pids"] {
            std::fs::create_dir(root.join(c)).unwrap();
            std::fs::write(root.join(c).join("cgroup.procs"), "").unwrap();
        }
        if comounted_cpu {
            std::fs::create_dir(root.join("cpu,cpuacct")).unwrap();
            std::fs::write(root.join("cpu,cpuacct/cgroup.procs"), "").unwrap();
            std::os::unix::fs::symlink("cpu,cpuacct", root.join("cpu")).unwrap();
            std::os::unix::fs::symlink("cpu,cpuacct", root.join("cpuacct")).unwrap();
        } else {
            for c in ["cpu", "cpuacct"] {
                std::fs::create_dir(root.join(c)).unwrap();
                std::fs::write(root.join(c).join("cgroup.procs"), "").unwrap();
            }
        }
        tmp
    }

    #[test]
    fn comounted_controllers_share_one_directory() {
        let tmp = fixture_root(true);
        let h = hierarchies(tmp.path());
        assert_eq!(h.len(), 3);
        assert!(h.iter().any(|h| h.controllers == ["cpu", "cpuacct"]));
        let m = V1Manager::new(tmp.path(), "id1");
        assert_eq!(m.dir("cpu"), m.dir("cpuacct"));
        assert_eq!(m.paths().len(), 3);
        let separate = fixture_root(false);
        assert_eq!(V1Manager::new(separate.path(), "id1").paths().len(), 4);
    }

    #[test]
    fn freeze_uses_the_freezer_hierarchy_or_says_it_is_missing() {
        let tmp = fixture_root(false);
        let rec = crate::recorder::Recorder::in_memory();
        let k = Kernel::new(&crate::kernel::LinuxSyscalls, &rec);
        let m = V1Manager::new(tmp.path(), "c1");
        let err = m.freeze(&k, true, Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("freezer"), "{err}");
        assert!(err.to_string().contains("pause"), "{err}");
        std::fs::create_dir(tmp.path().join("freezer")).unwrap();
        std::fs::write(tmp.path().join("freezer/cgroup.procs"), "").unwrap();
        let m = V1Manager::new(tmp.path(), "c1");
        m.create(&k).unwrap();
        m.freeze(&k, true, Duration::from_secs(1)).unwrap();
        let state = tmp.path().join("freezer/casulo/c1/freezer.state");
        assert_eq!(std::fs::read_to_string(&state).unwrap(), "FROZEN");
        m.freeze(&k, false, Duration::from_secs(1)).unwrap();
        assert_eq!(std::fs::read_to_string(&state).unwrap(), "THAWED");
    }

    #[test]
    fn create_and_apply_write_each_controllers_files() {
        let tmp = fixture_root(false);
        let rec = crate::recorder::Recorder::in_memory();
        let k = Kernel::new(&crate::kernel::LinuxSyscalls, &rec);
        let m = V1Manager::new(tmp.path(), "c1");
        m.create(&k).unwrap();
        let res = Resources {
            memory: Some(64 << 20),
            cpu_quota_us: Some(50_000),
            pids: Some(5),
            ..Default::default()
        };
        m.apply(&k, &res).unwrap();
        let read = |p: &str| std::fs::read_to_string(tmp.path().join(p)).unwrap();
        assert_eq!(read("memory/casulo/c1/memory.limit_in_bytes"), "67108864");
        assert_eq!(read("cpu/casulo/c1/cpu.cfs_quota_us"), "50000");
        assert_eq!(read("cpu/casulo/c1/cpu.cfs_period_us"), "100000");
        assert_eq!(read("pids/casulo/c1/pids.max"), "5");
        let creates = rec
            .events()
            .iter()
            .filter(|e| e.body.kind() == "cgroup.create")
            .count();
        assert_eq!(creates, 8, "4 parents + 4 containers");
    }
}
