//! cgroups: the second pillar. Namespaces decide what a process *sees*;
//! cgroups decide how much it can *use* (memory, CPU time, processes).
//!
//! A cgroup is a directory in a special filesystem; limiting is writing a
//! number into one of its files; joining is writing a pid into
//! `cgroup.procs`. Two generations of the interface exist:
//!
//! - **v1** ([`v1`]): one tree per controller (`/sys/fs/cgroup/memory/…`,
//!   `/sys/fs/cgroup/pids/…`), so a container gets one directory per
//!   controller: `<root>/<controller>/casulo/<id>`;
//! - **v2** ([`v2`]): a single unified tree; a container gets one directory,
//!   `<root>/casulo/<id>`, after its parent enabled the controllers in
//!   `cgroup.subtree_control`.
//!
//! Besides limits, every container's cgroup holds its **device
//! allow-list** ([`devices`]: docker's default, which devices it may open):
//! the v1 `devices` controller, or on v2 an eBPF program attached to the
//! directory.
//!
//! A **hybrid** host (v1 controllers plus an almost empty cgroup2 at
//! `unified/`) is driven with v1. Each controller lives in its own file
//! (`v1/memory.rs`, `v2/pids.rs`, …) and every function takes the cgroup
//! directory as a parameter, so unit tests run it against a temp dir.
//!
//! **Layout and clean-up.** Every container's cgroup sits under a `casulo`
//! directory, made by the first container and kept after the last one, as
//! docker keeps its `docker` parent: making and removing it at every run
//! was 12 of a v1 run's 24 cgroup `mkdir`/`rmdir` (~1 ms of its CPU) and,
//! on v2, a `cgroup.subtree_control` write each time. `casulo gc` removes
//! an empty one. If casulo itself is killed, the container dies with it
//! (`PR_SET_PDEATHSIG`) but its empty cgroup stays: `casulo gc` removes
//! such orphans (an empty cgroup whose creator is gone: [`owner`]).

pub mod devices;
pub mod owner;
pub mod resources;
pub mod v1;
pub mod v2;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use casulo_trace::EventBody;
use nix::errno::Errno;
use nix::unistd::Pid;

use crate::kernel::{Kernel, KernelError};
pub use resources::Resources;

/// The directory under each hierarchy that holds casulo's containers.
pub const PARENT: &str = "casulo";

/// Where cgroup filesystems are mounted on every modern distribution.
pub const DEFAULT_ROOT: &str = "/sys/fs/cgroup";

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

/// The mode of the host's cgroups at [`DEFAULT_ROOT`] (what a trace's
/// header says).
pub fn host_mode() -> CgroupMode {
    detect_mode(Path::new(DEFAULT_ROOT))
}

/// Detects the mode from the filesystem mounted at `root` (normally `/sys/fs/cgroup`).
pub fn detect_mode(root: &Path) -> CgroupMode {
    // f_type is i64 with glibc and u64 with musl (the VM's static build).
    #[allow(clippy::unnecessary_cast)]
    let fs_type = |p: &Path| {
        nix::sys::statfs::statfs(p)
            .ok()
            .map(|s| s.filesystem_type().0 as i64)
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

/// What went wrong with a cgroup; the messages are for the student.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("falha no cgroup do contêiner: {0}")]
    Kernel(#[from] KernelError),
    #[error("este host não tem cgroups utilizáveis em {root} (modo {mode}): não dá para aplicar limites")]
    Unsupported { root: PathBuf, mode: &'static str },
    #[error("sem root, o cgroup do contêiner vai na subárvore delegada ao seu usuário: {why}")]
    Delegation { why: String },
    #[error("o controlador {controller} não está disponível neste host ({where_}): não dá para aplicar {flag}")]
    MissingController {
        controller: &'static str,
        where_: String,
        flag: &'static str,
    },
    #[error("o kernel não contabiliza swap por cgroup ({path} não existe): --memory-swap não pode ser aplicado")]
    NoSwapAccounting { path: PathBuf },
    #[error("o freezer não terminou em {} s: {} diz {seen:?}, não {want:?} (o contêiner segue descongelado)", timeout.as_secs_f32(), file.display())]
    FreezeTimeout {
        file: PathBuf,
        want: String,
        seen: String,
        timeout: Duration,
    },
}

/// How long `pause` waits for the kernel to freeze every process.
pub const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the freezer's state is read while waiting.
pub(crate) const FREEZE_POLL: Duration = Duration::from_millis(10);

/// One reading of the container's usage (`None`: not available here).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub memory_bytes: Option<u64>,
    pub memory_peak_bytes: Option<u64>,
    pub memory_limit_bytes: Option<u64>,
    pub pids: Option<u64>,
    pub pids_limit: Option<u64>,
    pub cpu_usage_us: Option<u64>,
    pub cpu_throttled_us: Option<u64>,
}

impl Stats {
    pub fn event(&self) -> EventBody {
        EventBody::CgroupSample {
            memory_bytes: self.memory_bytes,
            memory_peak_bytes: self.memory_peak_bytes,
            memory_limit_bytes: self.memory_limit_bytes,
            pids: self.pids,
            pids_limit: self.pids_limit,
            cpu_usage_us: self.cpu_usage_us,
            cpu_throttled_us: self.cpu_throttled_us,
        }
    }
}

/// Counters of what the kernel refused: OOM kills and refused forks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Events {
    pub oom_kills: u64,
    /// The memory peak so far (`memory.max_usage_in_bytes` / `memory.peak`),
    /// told with an OOM kill: the climb a sample may have missed.
    pub memory_peak_bytes: Option<u64>,
    /// The cgroup whose memory controller counted them.
    pub memory_path: PathBuf,
    pub pids_refused: u64,
    pub pids_path: PathBuf,
}

/// The seam between the engine and a cgroup version (youki's "manager").
pub trait Manager: Send + Sync {
    /// `v1` or `v2`.
    fn version(&self) -> &'static str;
    /// The container's cgroup directories (one per v1 hierarchy; one on v2).
    fn paths(&self) -> Vec<PathBuf>;
    /// Makes the directories (and the `casulo` parents when missing).
    fn create(&self, k: &Kernel) -> Result<(), CgroupError>;
    /// Writes the limits.
    fn apply(&self, k: &Kernel, res: &Resources) -> Result<(), CgroupError>;
    /// Puts the device allow-list in place ([`devices`]): docker's default,
    /// or every device when `privileged`.
    fn devices(&self, k: &Kernel, privileged: bool) -> Result<(), CgroupError>;
    /// Moves `pid` into the cgroup (every hierarchy, on v1).
    fn attach(&self, k: &Kernel, pid: Pid) -> Result<(), CgroupError>;
    /// Whether the container's init, single-threaded, can move itself in
    /// ([`Manager::join_itself`]): v1's fast way (see
    /// [`Kernel::cgroup_join_itself`]); v2 has `clone3` instead.
    fn joins_itself(&self) -> bool {
        false
    }
    /// The calling process (single-threaded, `host_pid` on the host) moves
    /// itself in, every hierarchy on v1.
    fn join_itself(&self, _k: &Kernel, _host_pid: i32) -> Result<(), CgroupError> {
        Ok(())
    }
    /// The one directory a process can be born in (`clone3` with
    /// `CLONE_INTO_CGROUP`): v2's; v1 has none (one per hierarchy).
    fn birth_dir(&self) -> Option<&Path> {
        None
    }
    /// Freezes (`pause`) or thaws (`unpause`) every process of the
    /// container with the cgroup freezer, and waits until the kernel says
    /// it is done (at most `timeout`).
    fn freeze(&self, k: &Kernel, frozen: bool, timeout: Duration) -> Result<(), CgroupError>;
    /// Reads the usage counters.
    fn stats(&self, k: &Kernel) -> Stats;
    /// Reads the OOM and pids.max counters.
    fn events(&self, k: &Kernel) -> Events;
    /// Removes the directories (they must be empty of processes); the
    /// `casulo` parents stay (see the module docs).
    fn delete(&self, k: &Kernel) -> Result<(), CgroupError>;
}

/// The manager of container `id`'s cgroup on this host (under
/// [`DEFAULT_ROOT`]), for the verbs that act on a running container
/// (`pause`, `stats`); a host without usable cgroups is an error.
pub fn host_manager(id: &str) -> Result<Box<dyn Manager>, CgroupError> {
    let root = Path::new(DEFAULT_ROOT);
    let mode = detect_mode(root);
    manager(mode, root, id).ok_or_else(|| CgroupError::Unsupported {
        root: root.to_path_buf(),
        mode: mode.as_str(),
    })
}

/// The manager for this host's mode; `Unknown` has none.
pub fn manager(mode: CgroupMode, root: &Path, id: &str) -> Option<Box<dyn Manager>> {
    match mode {
        CgroupMode::V2 => Some(Box::new(v2::V2Manager::new(root, id))),
        // Hybrid: the controllers are in the v1 hierarchies.
        CgroupMode::V1 | CgroupMode::Hybrid => Some(Box::new(v1::V1Manager::new(root, id))),
        CgroupMode::Unknown => None,
    }
}

/// A container's cgroup, from creation to removal, with the counters of
/// events already recorded (so each OOM kill is told once).
pub struct ContainerCgroup {
    manager: Box<dyn Manager>,
    /// Held until this value is dropped, after [`ContainerCgroup::destroy`].
    _owner: Option<owner::Owner>,
    resources: Resources,
    oom_seen: AtomicU64,
    pids_seen: AtomicU64,
}

/// What happened in the cgroup, for the user at the end of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub oom_kills: u64,
    pub memory_limit: Option<u64>,
    pub pids_refused: u64,
    pub pids_limit: Option<u64>,
}

impl ContainerCgroup {
    /// Creates the cgroup, writes the limits and puts the device
    /// allow-list in place (every device when `privileged`), before the
    /// container's process exists. On error nothing is left behind.
    pub fn create(
        k: &Kernel,
        manager: Box<dyn Manager>,
        resources: &Resources,
        privileged: bool,
    ) -> Result<ContainerCgroup, CgroupError> {
        let id = manager
            .paths()
            .first()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned());
        let cg = ContainerCgroup {
            _owner: id.and_then(|id| owner::claim(Path::new(owner::DIR), &id)),
            manager,
            resources: *resources,
            oom_seen: AtomicU64::new(0),
            pids_seen: AtomicU64::new(0),
        };
        let made = cg
            .manager
            .create(k)
            .and_then(|()| cg.manager.apply(k, resources))
            // Rootless: no device program (loading eBPF needs the host's
            // CAP_SYS_ADMIN); the user namespace already forbids mknod.
            .and_then(|()| match crate::rootless_mode::active() {
                true => Ok(()),
                false => cg.manager.devices(k, privileged),
            });
        if let Err(e) = made {
            let _ = cg.manager.delete(k);
            return Err(e);
        }
        Ok(cg)
    }

    pub fn manager(&self) -> &dyn Manager {
        &*self.manager
    }

    pub fn attach(&self, k: &Kernel, pid: Pid) -> Result<(), CgroupError> {
        self.manager.attach(k, pid)
    }

    /// Records one `cgroup.sample`, then any new OOM kill or refused fork;
    /// returns the totals ([`ContainerCgroup::check_events`]).
    pub fn sample(&self, k: &Kernel) -> Report {
        let stats = self.manager.stats(k);
        let files = match self.manager.version() {
            "v2" => "memory.current, memory.peak, pids.current, cpu.stat",
            _ => "memory.usage_in_bytes, memory.max_usage_in_bytes, pids.current, cpuacct.usage, cpu.stat",
        };
        k.observed(stats.event(), format!("read {files}"));
        self.check_events(k)
    }

    /// Records `cgroup.oom` / `cgroup.pids_max` when their counters grew
    /// since the last check; returns the totals.
    pub fn check_events(&self, k: &Kernel) -> Report {
        let ev = self.manager.events(k);
        let version = self.manager.version();
        if ev.oom_kills > self.oom_seen.swap(ev.oom_kills, Ordering::Relaxed) {
            let file = if version == "v2" {
                "memory.events"
            } else {
                "memory.oom_control"
            };
            k.observed(
                EventBody::CgroupOom {
                    path: ev.memory_path.display().to_string(),
                    oom_kills: ev.oom_kills,
                    limit_bytes: self.resources.memory,
                    peak_bytes: ev.memory_peak_bytes,
                },
                format!(
                    "read {}/{file} (oom_kill {})",
                    ev.memory_path.display(),
                    ev.oom_kills
                ),
            );
        }
        if ev.pids_refused > self.pids_seen.swap(ev.pids_refused, Ordering::Relaxed) {
            k.observed(
                EventBody::CgroupPidsMax {
                    path: ev.pids_path.display().to_string(),
                    limit: self.resources.pids.unwrap_or(0),
                    refused: ev.pids_refused,
                },
                format!(
                    "read {}/pids.events (max {})",
                    ev.pids_path.display(),
                    ev.pids_refused
                ),
            );
        }
        Report {
            oom_kills: ev.oom_kills,
            memory_limit: self.resources.memory,
            pids_refused: ev.pids_refused,
            pids_limit: self.resources.pids,
        }
    }

    /// Removes the cgroup once the container has ended. Processes still
    /// dying (the pid namespace's last ones) are waited for; any that stay
    /// are SIGKILLed. The kernel refuses `rmdir` on a cgroup with processes.
    pub fn destroy(&self, k: &Kernel) -> Result<(), CgroupError> {
        let mut killed = false;
        for attempt in 0..200 {
            let procs = self.procs(k);
            if procs.is_empty() {
                break;
            }
            if attempt == 50 && !killed {
                for pid in procs {
                    let _ = k.kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
                }
                killed = true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.manager.delete(k)
    }

    /// Pids still in the container's cgroup: its first directory's
    /// `cgroup.procs`. On v1 every hierarchy holds the same processes (the
    /// init joins all of them, what it forks stays, `exec` attaches to all):
    /// reading the six was ~50 µs of a run's end (a `cgroup.procs` open and
    /// read costs ~10 µs, #19). One moved out of the first by someone else
    /// would still make its `rmdir` fail, reported as a leftover for `gc`.
    fn procs(&self, k: &Kernel) -> Vec<i32> {
        let Some(dir) = self.manager.paths().into_iter().next() else {
            return vec![];
        };
        match k.read_file(&dir.join("cgroup.procs")) {
            Ok(text) => text.lines().filter_map(|l| l.trim().parse().ok()).collect(),
            Err(_) => vec![],
        }
    }
}

/// Whether the child of [`clone_into`] is already in its cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Born {
    /// Born there (v2: `clone3` with `CLONE_INTO_CGROUP`).
    InCgroup,
    /// It moves itself in, first thing after the go
    /// ([`Manager::join_itself`], v1).
    JoinsItself,
    /// Born in casulo's cgroup: the caller [`Manager::attach`]es it before
    /// it may go on (v1, no cgroup, or a kernel that refused `clone3`).
    Outside,
}

/// The `clone` of a container's process (its init, or an `exec`'d one) in
/// the namespaces `kinds`. With a v2 cgroup the child is born in it, so not
/// one instruction of it runs outside, and no write to `cgroup.procs` is
/// needed (crun and youki do the same); with a v1 one and `self_join` (the
/// child can write the host's cgroup files: no user namespace), the child
/// moves itself in ([`Born::JoinsItself`]); otherwise, or when the kernel
/// refuses that `clone3`, a plain `clone` and [`Born::Outside`].
pub fn clone_into(
    k: &Kernel,
    kinds: &[casulo_trace::NsKind],
    manager: Option<&dyn Manager>,
    self_join: bool,
) -> Result<(crate::kernel::Forked, Born), KernelError> {
    if self_join && manager.is_some_and(|m| m.joins_itself()) {
        return Ok((k.clone_process(kinds)?, Born::JoinsItself));
    }
    if let Some(dir) = manager.and_then(|m| m.birth_dir()) {
        // Unreadable: the write that follows says why, with its path.
        if let Ok(fd) = std::fs::File::open(dir) {
            use std::os::fd::AsFd;
            if let Some(forked) = k.clone_into_cgroup(kinds, dir, fd.as_fd())? {
                return Ok((forked, Born::InCgroup));
            }
        }
    }
    Ok((k.clone_process(kinds)?, Born::Outside))
}

/// `mkdir` of `parent` (when missing) and of `dir` inside it. A `casulo gc`
/// may remove an empty `parent` between the two: then try again.
pub(crate) fn mkdir_with_parent(
    k: &Kernel,
    parent: &Path,
    dir: &Path,
    version: &str,
    controller: &str,
) -> Result<(), KernelError> {
    let mut attempts = 0;
    loop {
        if !parent.exists() {
            k.cgroup_create_shared(parent, version, controller)?;
        }
        match k.cgroup_create(dir, version, controller) {
            Err(e) if e.errno == Errno::ENOENT && attempts < 3 => attempts += 1,
            other => return other,
        }
    }
}

/// Removes `parent` if no container cgroup is left in it (`casulo gc`).
fn remove_parent_if_unused(k: &Kernel, parent: &Path) -> Result<(), KernelError> {
    // The entry's type from `getdents` (kernfs fills `d_type`): a `stat`
    // per control file was ~15 `statx` per hierarchy, 85 of a run's 211.
    let has_children = std::fs::read_dir(parent)
        .map(|rd| {
            rd.flatten()
                .any(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        })
        .unwrap_or(true);
    if has_children || !parent.exists() {
        return Ok(());
    }
    // Another container may be born meanwhile: then the parent stays.
    k.cgroup_delete_shared(parent).map(|_| ())
}

/// `rmdir` of a cgroup that may already be gone.
pub(crate) fn remove_dir(k: &Kernel, dir: &Path) -> Result<(), KernelError> {
    if !dir.exists() {
        return Ok(());
    }
    k.cgroup_delete(dir)
}

/// A number read from a cgroup file (`max` and unreadable: `None`).
pub(crate) fn read_u64(k: &Kernel, path: &Path) -> Option<u64> {
    k.read_file(path).ok()?.trim().parse().ok()
}

/// The value of `key` in a flat-keyed file (`oom_kill 3`, `usage_usec 1234`).
pub(crate) fn read_key(k: &Kernel, path: &Path, key: &str) -> Option<u64> {
    let text = k.read_file(path).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok()).flatten()
    })
}

/// The `casulo` parent directories of this host's mode.
fn parents_of_mode(mode: CgroupMode, root: &Path) -> Vec<PathBuf> {
    match mode {
        CgroupMode::V2 => vec![root.join(PARENT)],
        CgroupMode::V1 | CgroupMode::Hybrid => v1::hierarchies(root)
            .into_iter()
            .map(|h| h.mount.join(PARENT))
            .collect(),
        CgroupMode::Unknown => vec![],
    }
}

/// Orphans under `root`: container cgroups with no process left whose
/// creator is gone ([`owner`]; without a lock file: older than `min_age`,
/// as a younger empty one may be a container being born). Removes
/// them and the empty `casulo` parents; returns what was removed.
pub fn gc(k: &Kernel, mode: CgroupMode, root: &Path, min_age: Duration) -> Vec<PathBuf> {
    let parents = parents_of_mode(mode, root);
    let mut removed = Vec::new();
    let mut orphans = Vec::new();
    for parent in parents {
        let Ok(rd) = std::fs::read_dir(&parent) else {
            continue;
        };
        for entry in rd.flatten() {
            let dir = entry.path();
            if !dir.is_dir() {
                continue;
            }
            let empty = k
                .read_file(&dir.join("cgroup.procs"))
                .map(|t| t.trim().is_empty())
                .unwrap_or(false);
            let id = entry.file_name().to_string_lossy().into_owned();
            let orphan = match owner::check(Path::new(owner::DIR), &id) {
                owner::Use::Held => false,
                owner::Use::Abandoned => true,
                // Only the age is left to go by (see `owner` for why it
                // is a poor guide).
                owner::Use::Unknown => entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age >= min_age),
            };
            if empty && orphan && k.cgroup_delete(&dir).is_ok() {
                removed.push(dir);
                orphans.push(id);
            }
        }
        if remove_parent_if_unused(k, &parent).is_ok() && !parent.exists() {
            removed.push(parent);
        }
    }
    // On v1 one id has a directory per hierarchy: its lock file goes last.
    orphans.sort_unstable();
    orphans.dedup();
    for id in orphans {
        owner::forget(Path::new(owner::DIR), &id);
    }
    owner::forget_abandoned(Path::new(owner::DIR), |id| {
        parents_of_mode(mode, root)
            .iter()
            .any(|p| p.join(id).exists())
    });
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LinuxSyscalls;
    use crate::recorder::Recorder;

    /// v2: the child is born in its cgroup by `clone3`, and the trace says
    /// so right after its namespaces; a kernel that refuses `clone3`
    /// (ENOSYS) gets a plain `clone`, nothing recorded of the refusal, and
    /// the caller is told to attach. v1 never tries `clone3`.
    #[test]
    fn a_v2_child_is_born_in_its_cgroup_or_cloned_the_old_way() {
        use crate::kernel::double::FakeSyscalls;
        use casulo_trace::{AttachVia, NsKind};
        let tmp = tempfile::tempdir().unwrap();
        let v2 = v2::V2Manager::new(tmp.path(), "c1");
        std::fs::create_dir_all(tmp.path().join("casulo/c1")).unwrap();
        let kinds = [NsKind::Pid, NsKind::Mnt];

        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let (_, born) = clone_into(&k, &kinds, Some(&v2), true).unwrap();
        assert_eq!(born, Born::InCgroup);
        assert_eq!(
            sys.calls(),
            ["clone3 CloneFlags(CLONE_NEWNS | CLONE_NEWPID) CLONE_INTO_CGROUP"]
        );
        let events = rec.events();
        let kinds_seen: Vec<&str> = events.iter().map(|e| e.body.kind()).collect();
        assert_eq!(
            kinds_seen,
            [
                "process.clone",
                "namespace.create",
                "namespace.create",
                "cgroup.attach"
            ]
        );
        let dir = tmp.path().join("casulo/c1").display().to_string();
        assert_eq!(
            events[3].body,
            EventBody::CgroupAttach {
                path: dir.clone(),
                target_pid: 4242,
                via: AttachVia::Clone3
            }
        );
        assert!(events[0].op.starts_with("clone3({flags=CLONE_NEWPID|CLONE_NEWNS|CLONE_INTO_CGROUP, exit_signal=SIGCHLD, cgroup=open("), "{}", events[0].op);

        let sys = FakeSyscalls::new();
        sys.fail_on("clone3", Errno::ENOSYS);
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let (_, born) = clone_into(&k, &kinds, Some(&v2), true).unwrap();
        assert_eq!(born, Born::Outside);
        assert!(sys.calls()[1].starts_with("clone "), "{:?}", sys.calls());
        let kinds_seen: Vec<&str> = rec.events().iter().map(|e| e.body.kind()).collect();
        assert_eq!(
            kinds_seen,
            ["process.clone", "namespace.create", "namespace.create"]
        );
        assert!(rec.events().iter().all(|e| e.outcome.is_ok()));

        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let v1 = v1::V1Manager::new(tmp.path(), "c1");
        let (_, born) = clone_into(&Kernel::new(&sys, &rec), &kinds, Some(&v1), false).unwrap();
        assert_eq!(born, Born::Outside);
        assert_eq!(sys.calls().len(), 1);
        assert!(sys.calls()[0].starts_with("clone "), "{:?}", sys.calls());
    }

    /// v1: the init is cloned plainly and told to join by itself (unless a
    /// user namespace keeps it from the host's files); joining writes `0`
    /// to `tasks` in each hierarchy, one `cgroup.attach` (`via: tasks`)
    /// each, with the init's host pid.
    #[test]
    fn a_v1_init_joins_its_cgroup_itself_through_tasks() {
        use crate::kernel::double::FakeSyscalls;
        use casulo_trace::{AttachVia, NsKind};
        let tmp = tempfile::tempdir().unwrap();
        for c in ["memory", "pids"] {
            std::fs::create_dir_all(tmp.path().join(c)).unwrap();
            std::fs::write(tmp.path().join(c).join("cgroup.procs"), "").unwrap();
        }
        let v1 = v1::V1Manager::new(tmp.path(), "c1");
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let (_, born) = clone_into(&k, &[NsKind::Pid], Some(&v1), true).unwrap();
        assert_eq!(born, Born::JoinsItself);
        let (_, born) = clone_into(&k, &[NsKind::Pid], Some(&v1), false).unwrap();
        assert_eq!(born, Born::Outside);

        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        v1.join_itself(&Kernel::new(&sys, &rec), 5002).unwrap();
        let memory = tmp.path().join("memory/casulo/c1");
        let pids = tmp.path().join("pids/casulo/c1");
        assert_eq!(
            sys.calls(),
            [
                format!("write {}/tasks 0", memory.display()),
                format!("write {}/tasks 0", pids.display())
            ]
        );
        let events = rec.events();
        assert_eq!(
            events[0].body,
            EventBody::CgroupAttach {
                path: memory.display().to_string(),
                target_pid: 5002,
                via: AttachVia::Tasks
            }
        );
        assert_eq!(events[1].op, format!("write {}/tasks = 0", pids.display()));
    }

    /// A container cgroup's life on a v2 fixture: events in order, nothing left.
    #[test]
    fn a_container_cgroup_is_created_limited_sampled_and_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::write(root.join("cgroup.controllers"), "cpu memory pids").unwrap();
        std::fs::write(root.join("cgroup.subtree_control"), "cpu memory pids").unwrap();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        let res = Resources {
            memory: Some(64 << 20),
            pids: Some(10),
            ..Default::default()
        };
        // Privileged: no device program (a temp dir is no cgroup to attach to).
        let cg = ContainerCgroup::create(
            &k,
            manager(CgroupMode::V2, root, "abc").unwrap(),
            &res,
            true,
        )
        .unwrap();
        let dir = root.join("casulo/abc");
        assert_eq!(
            std::fs::read_to_string(dir.join("memory.max")).unwrap(),
            "67108864"
        );
        // The kernel would count an OOM kill here.
        std::fs::write(dir.join("memory.events"), "oom 1\noom_kill 1\n").unwrap();
        std::fs::write(dir.join("memory.current"), "1000\n").unwrap();
        cg.sample(&k);
        cg.sample(&k); // the same OOM kill is told once
        let report = cg.check_events(&k);
        assert_eq!(report.oom_kills, 1);
        assert_eq!(report.memory_limit, Some(64 << 20));
        // rmdir would refuse a dir with files on a real fs: empty it as the kernel would.
        for e in std::fs::read_dir(&dir).unwrap() {
            std::fs::remove_file(e.unwrap().path()).unwrap();
        }
        cg.destroy(&k).unwrap();
        // The container's directory goes; the `casulo` parent stays.
        assert!(!dir.exists());
        assert!(root.join("casulo").is_dir());
        let kinds: Vec<&str> = rec.events().iter().map(|e| e.body.kind()).collect();
        assert_eq!(
            kinds,
            [
                "cgroup.create",
                "cgroup.create",
                "fs.write",
                "cgroup.limit",
                "cgroup.limit",
                "cgroup.devices",
                "cgroup.sample",
                "cgroup.oom",
                "cgroup.sample",
                "cgroup.delete"
            ]
        );
    }

    #[test]
    fn a_failed_limit_removes_what_was_made() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::write(root.join("cgroup.controllers"), "cpu memory pids").unwrap();
        std::fs::write(root.join("cgroup.subtree_control"), "cpu memory pids").unwrap();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        let res = Resources {
            memory: Some(64 << 20),
            memory_swap: Some(resources::Swap::Total(128 << 20)),
            ..Default::default()
        };
        let err =
            ContainerCgroup::create(&k, manager(CgroupMode::V2, root, "x").unwrap(), &res, false)
                .err()
                .unwrap();
        assert!(matches!(err, CgroupError::NoSwapAccounting { .. }), "{err}");
        assert!(err.to_string().contains("--memory-swap"));
        // It tried to remove what it made (on a plain fs the written files
        // keep the directory; on cgroupfs the rmdir succeeds).
        let last = rec.events().last().unwrap().body.kind();
        assert_eq!(last, "cgroup.delete");
    }

    #[test]
    fn gc_removes_empty_old_cgroups_only() {
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().join(PARENT);
        std::fs::create_dir_all(parent.join("orphan")).unwrap();
        std::fs::create_dir_all(parent.join("alive")).unwrap();
        // The double answers the reads; rmdir is only remembered.
        let sys = crate::kernel::double::FakeSyscalls::new();
        sys.set_file(parent.join("orphan/cgroup.procs"), "");
        sys.set_file(parent.join("alive/cgroup.procs"), "1234\n");
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let young = gc(&k, CgroupMode::V2, tmp.path(), Duration::from_secs(3600));
        assert!(
            young.is_empty(),
            "a young empty cgroup may be a container being born"
        );
        let removed = gc(&k, CgroupMode::V2, tmp.path(), Duration::ZERO);
        assert_eq!(removed, [parent.join("orphan")]);
        let rmdirs: Vec<String> = sys
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("rmdir"))
            .collect();
        assert_eq!(
            rmdirs,
            [format!("rmdir {}", parent.join("orphan").display())]
        );
    }
}
