//! cgroup v2: one unified tree. A container gets one directory,
//! `<root>/casulo/<id>`, holding every controller's files. A controller's
//! files only appear in a cgroup when its parent lists the controller in
//! `cgroup.subtree_control`: casulo enables `cpu`, `memory` and `pids` in
//! the root (when missing) and in `casulo/`. (The "no internal processes"
//! rule: a cgroup that hands controllers to children holds no process
//! itself — `casulo/` never does; the root is exempt.) The device
//! allow-list is no controller here: an eBPF program attached to the
//! container's directory ([`devices`]); nor is the freezer (`pause`):
//! every cgroup has `cgroup.freeze` ([`freeze`]).

pub mod cpu;
pub mod devices;
pub mod freeze;
pub mod memory;
pub mod pids;

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::unistd::Pid;

use super::{
    mkdir_with_parent, remove_dir, CgroupError, Events, Manager, Resources, Stats, PARENT,
};
use crate::kernel::Kernel;

/// The controllers casulo enables for its containers.
pub const CONTROLLERS: [&str; 3] = ["cpu", "memory", "pids"];

pub struct V2Manager {
    root: PathBuf,
    parent: PathBuf,
    dir: PathBuf,
}

impl V2Manager {
    pub fn new(root: &Path, id: &str) -> Self {
        let parent = root.join(PARENT);
        V2Manager {
            root: root.to_path_buf(),
            dir: parent.join(id),
            parent,
        }
    }

    /// Controllers listed in a `cgroup.controllers`/`subtree_control` file
    /// (the kernel writes `cpu memory`; a `+` is tolerated).
    fn listed(k: &Kernel, file: &Path) -> Vec<String> {
        k.read_file(file)
            .unwrap_or_default()
            .split_whitespace()
            .map(|c| c.trim_start_matches('+').to_string())
            .collect()
    }

    /// Writes `+c` into `cgroup.subtree_control` of `dir` for each wanted
    /// controller not yet enabled there.
    fn enable(&self, k: &Kernel, dir: &Path, available: &[String]) -> Result<(), CgroupError> {
        let file = dir.join("cgroup.subtree_control");
        let enabled = Self::listed(k, &file);
        let missing: Vec<String> = CONTROLLERS
            .iter()
            .filter(|c| available.iter().any(|a| a == *c) && !enabled.iter().any(|e| e == *c))
            .map(|c| format!("+{c}"))
            .collect();
        if !missing.is_empty() {
            k.write_file(&file, &missing.join(" "))?;
        }
        Ok(())
    }

    fn need(
        &self,
        k: &Kernel,
        controller: &'static str,
        flag: &'static str,
    ) -> Result<(), CgroupError> {
        let enabled = Self::listed(k, &self.parent.join("cgroup.subtree_control"));
        if enabled.iter().any(|c| c == controller) {
            Ok(())
        } else {
            Err(CgroupError::MissingController {
                controller,
                where_: format!(
                    "não aparece em {}",
                    self.root.join("cgroup.controllers").display()
                ),
                flag,
            })
        }
    }
}

impl Manager for V2Manager {
    fn version(&self) -> &'static str {
        "v2"
    }

    fn paths(&self) -> Vec<PathBuf> {
        vec![self.dir.clone()]
    }

    fn create(&self, k: &Kernel) -> Result<(), CgroupError> {
        let available = Self::listed(k, &self.root.join("cgroup.controllers"));
        self.enable(k, &self.root, &available)?;
        mkdir_with_parent(k, &self.parent, &self.dir, "v2", "")?;
        self.enable(k, &self.parent, &available)?;
        Ok(())
    }

    fn apply(&self, k: &Kernel, res: &Resources) -> Result<(), CgroupError> {
        if res.memory.is_some() || res.memory_swap.is_some() {
            self.need(k, "memory", "--memory")?;
            memory::apply(k, &self.dir, res)?;
        }
        if res.cpu_quota_us.is_some() || res.weight().is_some() {
            self.need(k, "cpu", "--cpus")?;
            cpu::apply(k, &self.dir, res)?;
        }
        if res.pids.is_some() {
            self.need(k, "pids", "--pids-limit")?;
            pids::apply(k, &self.dir, res)?;
        }
        Ok(())
    }

    fn devices(&self, k: &Kernel, privileged: bool) -> Result<(), CgroupError> {
        devices::apply(k, &self.dir, privileged)
    }

    fn attach(&self, k: &Kernel, pid: Pid) -> Result<(), CgroupError> {
        Ok(k.cgroup_attach(&self.dir, pid)?)
    }

    fn birth_dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }

    fn freeze(&self, k: &Kernel, frozen: bool, timeout: Duration) -> Result<(), CgroupError> {
        freeze::freeze(k, &self.dir, frozen, timeout)
    }

    fn stats(&self, k: &Kernel) -> Stats {
        let mut s = Stats::default();
        memory::stats(k, &self.dir, &mut s);
        cpu::stats(k, &self.dir, &mut s);
        pids::stats(k, &self.dir, &mut s);
        s
    }

    fn events(&self, k: &Kernel) -> Events {
        Events {
            oom_kills: memory::oom_kills(k, &self.dir).unwrap_or(0),
            memory_peak_bytes: memory::peak(k, &self.dir),
            memory_path: self.dir.clone(),
            pids_refused: pids::refused(k, &self.dir).unwrap_or(0),
            pids_path: self.dir.clone(),
        }
    }

    fn delete(&self, k: &Kernel) -> Result<(), CgroupError> {
        Ok(remove_dir(k, &self.dir)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LinuxSyscalls;
    use crate::recorder::Recorder;

    #[test]
    fn controllers_are_enabled_only_where_missing_and_available() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::write(root.join("cgroup.controllers"), "cpuset cpu io memory pids").unwrap();
        std::fs::write(root.join("cgroup.subtree_control"), "memory").unwrap();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        let m = V2Manager::new(root, "c2");
        m.create(&k).unwrap();
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        assert_eq!(read("cgroup.subtree_control"), "+cpu +pids");
        assert_eq!(read("casulo/cgroup.subtree_control"), "+cpu +memory +pids");
        assert!(root.join("casulo/c2").is_dir());
        m.apply(
            &k,
            &Resources {
                memory: Some(64 << 20),
                cpu_quota_us: Some(50_000),
                pids: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(read("casulo/c2/memory.max"), "67108864");
        assert_eq!(read("casulo/c2/cpu.max"), "50000 100000");
        assert_eq!(read("casulo/c2/pids.max"), "3");
    }

    #[test]
    fn a_controller_the_kernel_lacks_is_an_error_naming_the_flag() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::write(root.join("cgroup.controllers"), "cpu memory").unwrap();
        std::fs::write(root.join("cgroup.subtree_control"), "cpu memory").unwrap();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        let m = V2Manager::new(root, "c3");
        m.create(&k).unwrap();
        let err = m
            .apply(
                &k,
                &Resources {
                    pids: Some(3),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(err.to_string().contains("--pids-limit"), "{err}");
    }
}
