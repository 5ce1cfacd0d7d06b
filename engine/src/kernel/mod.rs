//! The kernel-call facade: the one choke point between casulo and the kernel.
//!
//! Every namespace, mount, hostname, device, `/proc`/`/sys` write, chdir,
//! chroot, exec, wait and signal goes through [`Kernel`]. Each method
//!
//! 1. describes the call as a trace [`EventBody`] plus its readable `op`
//!    (`mount("proc", "/…/merged/proc", "proc", MS_NOSUID|MS_NODEV, NULL)`),
//! 2. performs it through a [`Syscalls`] implementation (the real kernel, or
//!    the recording double in unit tests),
//! 3. records the event with its outcome (ok or errno) and returns the result.
//!
//! So "the trace is complete" is a property of this file. A test
//! (`tests/tests/trace.rs`) runs casulo under `strace -f` and matches what
//! strace saw with the events, call for call and outcome for outcome:
//! `clone`/`unshare`/`setns`, `mount`/`umount2`, `pivot_root`,
//! `sethostname`, `execve`, the `mkdir`/`rmdir` of cgroup directories,
//! every value written to a cgroup, `/proc` or `/sys` file (limits,
//! `cgroup.procs`, v1 device rules), `mknod`, `symlink`, `chdir`,
//! `chroot`, `kill`, the capability calls, `PR_SET_NO_NEW_PRIVS`,
//! `PR_SET_DUMPABLE`, each seccomp filter, `setsid`, `close_range`, the
//! loopback's `SIOCSIFFLAGS` and the user switch (`setgroups`, `setgid`,
//! `setuid`), and each netlink request of a bridge network
//! (`netlink::Request`: its message type, in order, with the kernel's
//! answer as the outcome). Not compared: the v2 device program's `bpf()`
//! (this host's devices controller is v1; the v2 VM has no strace), and
//! the programs the facade runs as helpers (`nft`, `pasta`): their event
//! is the command, not their calls.
//! Code elsewhere in the engine must not call `nix::mount`, `unshare`,
//! `execve`, … directly.

pub mod bpf;
#[cfg(test)]
pub mod double;
pub mod mount_api;
mod net;
pub mod netlink;
pub mod proc_stat;
mod quoted;
pub mod syscalls;
mod tty;
mod types;
mod userns;

use std::ffi::CString;
use std::path::Path;

use casulo_trace::{AttachVia, DeviceType, EventBody, NsKind, NsVia, Outcome, Propagation};
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::sys::stat::{Mode, SFlag};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use crate::recorder::Recorder;
pub use quoted::quoted;
pub use syscalls::{Forked, LinuxSyscalls, Syscalls};
pub use types::{PortSpec, Protocol, User, WindowSize};

/// Inode of `/proc/<pid>/ns/<kind>` (`pid` 0 means the calling process).
pub fn namespace_inode(pid: i32, kind: NsKind) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let path = if pid == 0 {
        format!("/proc/self/ns/{}", kind.proc_name())
    } else {
        format!("/proc/{pid}/ns/{}", kind.proc_name())
    };
    std::fs::metadata(path).ok().map(|m| m.ino())
}

/// casulo's own namespace inodes, one per kind: read before a `clone`,
/// so the parent has less to do between the clone and the child's go (and
/// touches fewer pages the fork made copy-on-write).
fn host_inodes(kinds: &[NsKind]) -> Vec<Option<u64>> {
    kinds.iter().map(|&ns| namespace_inode(0, ns)).collect()
}

/// What [`Kernel::restrict_capabilities`] keeps: the mask and, for the
/// trace, the names (see `security::capabilities`).
#[derive(Debug, Clone, Default)]
pub struct CapabilityCut {
    pub keep: u64,
    /// The highest capability this kernel knows.
    pub last_cap: u32,
    pub kept: Vec<String>,
    pub dropped: Vec<String>,
    pub privileged: bool,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// What [`Kernel::install_seccomp`] says about the programs it installs
/// (see `security::seccomp`).
#[derive(Debug, Clone, Default)]
pub struct SeccompSummary {
    pub profile: String,
    pub path: Option<String>,
    pub default_action: String,
    pub rule_count: u32,
    pub allowed_count: u32,
    pub blocked_action: String,
    pub blocked: Vec<String>,
    pub ignored: Vec<String>,
}

/// A kernel call that failed: the readable operation and the errno.
#[derive(Debug, thiserror::Error)]
#[error("o kernel recusou `{op}`: {} ({})", errno_text(*.errno), errno_name(*.errno))]
pub struct KernelError {
    pub op: String,
    pub errno: Errno,
}

/// The facade. Cheap to copy: two references.
#[derive(Clone, Copy)]
pub struct Kernel<'a> {
    sys: &'a dyn Syscalls,
    rec: &'a Recorder,
}

impl<'a> Kernel<'a> {
    pub fn new(sys: &'a dyn Syscalls, rec: &'a Recorder) -> Self {
        Kernel { sys, rec }
    }

    pub fn recorder(&self) -> &'a Recorder {
        self.rec
    }

    /// Records the outcome of `result` and maps the error.
    fn done<T>(
        &self,
        body: EventBody,
        op: String,
        result: Result<T, Errno>,
    ) -> Result<T, KernelError> {
        let outcome = outcome_of(&result);
        self.rec.record(body, op.clone(), outcome);
        result.map_err(|errno| KernelError { op, errno })
    }

    /// `clone` in the namespaces `kinds`; the parent records the clone and one
    /// `namespace.create` per kind (with the new and the old inode). The
    /// child records nothing here (the parent speaks for both).
    pub fn clone_process(&self, kinds: &[NsKind]) -> Result<Forked, KernelError> {
        let mut names: Vec<String> = kinds.iter().map(|k| k.clone_flag().to_string()).collect();
        names.push("SIGCHLD".into());
        let op = format!("clone(child_stack=NULL, flags={})", names.join("|"));
        let host = host_inodes(kinds);
        let result = self.sys.clone_process(clone_flags(kinds));
        self.cloned(kinds, &host, names, op, result)
    }

    /// As [`Kernel::clone_process`], with `clone3` and `CLONE_INTO_CGROUP`:
    /// the child is born in the cgroup v2 directory `dir` (open as `fd`),
    /// so it never runs a single instruction outside it. Recorded as the
    /// clone, its namespaces, then a `cgroup.attach` with `via: clone3`.
    /// `Ok(None)`: the kernel refused `clone3` itself or this use of it
    /// (`ENOSYS`, `E2BIG`, `EINVAL`: older than 5.7, or a seccomp filter
    /// around casulo); no process was made and nothing is recorded, and
    /// the caller clones the old way and writes `cgroup.procs`.
    pub fn clone_into_cgroup(
        &self,
        kinds: &[NsKind],
        dir: &Path,
        fd: std::os::fd::BorrowedFd,
    ) -> Result<Option<Forked>, KernelError> {
        let mut names: Vec<String> = kinds.iter().map(|k| k.clone_flag().to_string()).collect();
        names.push("CLONE_INTO_CGROUP".into());
        let op = format!(
            "clone3({{flags={}, exit_signal=SIGCHLD, cgroup=open({dir})}})",
            names.join("|"),
            dir = quoted(dir)
        );
        names.push("SIGCHLD".into());
        let host = host_inodes(kinds);
        let result = self.sys.clone_into_cgroup(clone_flags(kinds), fd);
        if let Err(Errno::ENOSYS | Errno::E2BIG | Errno::EINVAL) = result {
            return Ok(None);
        }
        let forked = self.cloned(kinds, &host, names, op.clone(), result)?;
        if let Forked::Parent(child) = forked {
            let body = EventBody::CgroupAttach {
                path: path_str(dir),
                target_pid: child.as_raw(),
                via: AttachVia::Clone3,
            };
            self.rec.record(body, op, Outcome::Ok);
        }
        Ok(Some(forked))
    }

    /// Records what a clone of [`Kernel::clone_process`] or
    /// [`Kernel::clone_into_cgroup`] did, in the parent (`host`: casulo's
    /// own namespace inodes, one per kind, read before the clone).
    fn cloned(
        &self,
        kinds: &[NsKind],
        host: &[Option<u64>],
        names: Vec<String>,
        op: String,
        result: Result<Forked, Errno>,
    ) -> Result<Forked, KernelError> {
        match result {
            Ok(Forked::Child) => Ok(Forked::Child),
            Ok(Forked::Parent(child)) => {
                let body = EventBody::ProcessClone {
                    child_pid: child.as_raw(),
                    flags: names,
                };
                self.rec.record(body, op.clone(), Outcome::Ok);
                for (&ns, &host_inode) in kinds.iter().zip(host) {
                    self.rec.record(
                        EventBody::NamespaceCreate {
                            ns,
                            via: NsVia::Clone,
                            inode: namespace_inode(child.as_raw(), ns),
                            host_inode,
                        },
                        op.clone(),
                        Outcome::Ok,
                    );
                }
                Ok(Forked::Parent(child))
            }
            Err(errno) => {
                let body = EventBody::ProcessClone {
                    child_pid: 0,
                    flags: names,
                };
                self.done(body, op, Err(errno))
            }
        }
    }

    /// `unshare` of one namespace kind for the calling process.
    pub fn unshare(&self, ns: NsKind) -> Result<(), KernelError> {
        let before = namespace_inode(0, ns);
        let op = format!("unshare({})", ns.clone_flag());
        let result = self.sys.unshare(clone_flags(&[ns]));
        let body = EventBody::NamespaceCreate {
            ns,
            via: NsVia::Unshare,
            inode: result.is_ok().then(|| namespace_inode(0, ns)).flatten(),
            host_inode: before,
        };
        self.done(body, op, result)
    }

    /// `setns` into the namespace of kind `ns` of the process `target_pid`
    /// (`fd` is its open `/proc/PID/ns/<kind>`, whose inode is `inode`):
    /// one `namespace.join` event. How `casulo exec` enters a container.
    pub fn join_namespace(
        &self,
        ns: NsKind,
        target_pid: i32,
        fd: std::os::fd::BorrowedFd,
        inode: Option<u64>,
    ) -> Result<(), KernelError> {
        let op = format!(
            "setns(open(\"/proc/{target_pid}/ns/{}\"), {})",
            ns.proc_name(),
            ns.clone_flag()
        );
        let result = self.sys.setns(fd, clone_flags(&[ns]));
        let body = EventBody::NamespaceJoin {
            ns,
            target_pid,
            inode,
        };
        self.done(body, op, result)
    }

    /// Changes propagation of `target` (`mount --make-rprivate /`).
    pub fn set_propagation(
        &self,
        target: &Path,
        propagation: Propagation,
        recursive: bool,
    ) -> Result<(), KernelError> {
        let mut flags = match propagation {
            Propagation::Private => MsFlags::MS_PRIVATE,
            Propagation::Slave => MsFlags::MS_SLAVE,
            Propagation::Shared => MsFlags::MS_SHARED,
        };
        if recursive {
            flags |= MsFlags::MS_REC;
        }
        let op = format!(
            "mount(NULL, {}, NULL, {}, NULL)",
            quoted(target),
            ms_flag_names(flags).join("|")
        );
        let result = self.sys.mount(None, target, None, flags, None);
        let body = EventBody::MountPropagation {
            target: path_str(target),
            propagation,
            recursive,
        };
        self.done(body, op, result)
    }

    /// Mounts an overlay: `lowerdirs` top-most first; `volatile`: its
    /// upper layer is never synced to disk ([`crate::mounts::RootfsPlan`]).
    pub fn mount_overlay(
        &self,
        lowerdirs: &[String],
        upperdir: &Path,
        workdir: &Path,
        target: &Path,
        volatile: bool,
    ) -> Result<(), KernelError> {
        // Rootless (`crate::rootless`): overlayfs in a user namespace keeps
        // its marks in `user.overlay.*` xattrs (`trusted.*` is the host root's).
        let userxattr = if crate::rootless_mode::active() {
            ",userxattr"
        } else {
            ""
        };
        let volatile = if volatile { ",volatile" } else { "" };
        let data = format!(
            "lowerdir={},upperdir={},workdir={}{userxattr}{volatile}",
            lowerdirs.join(":"),
            upperdir.display(),
            workdir.display()
        );
        let op = format!(
            "mount(\"overlay\", {target}, \"overlay\", 0, {data})",
            target = quoted(target),
            data = quoted(&data)
        );
        let result = self.sys.mount(
            Some("overlay"),
            target,
            Some("overlay"),
            MsFlags::empty(),
            Some(&data),
        );
        let body = EventBody::MountOverlay {
            target: path_str(target),
            lowerdirs: lowerdirs.to_vec(),
            upperdir: path_str(upperdir),
            workdir: path_str(workdir),
        };
        self.done(body, op, result)
    }

    /// Any other mount: proc, sysfs, tmpfs, devpts, mqueue, bind.
    pub fn mount(
        &self,
        source: &str,
        target: &Path,
        fstype: &str,
        flags: MsFlags,
        data: &str,
    ) -> Result<(), KernelError> {
        let names = ms_flag_names(flags);
        let op = format!(
            "mount({}, {}, {}, {}, {})",
            quoted(source),
            quoted(target),
            if fstype.is_empty() {
                "NULL".to_string()
            } else {
                quoted(fstype).to_string()
            },
            if names.is_empty() {
                "0".to_string()
            } else {
                names.join("|")
            },
            if data.is_empty() {
                "NULL".to_string()
            } else {
                quoted(data).to_string()
            },
        );
        let fs = (!fstype.is_empty()).then_some(fstype);
        let dat = (!data.is_empty()).then_some(data);
        let result = self.sys.mount(Some(source), target, fs, flags, dat);
        let body = EventBody::MountFs {
            fstype: fstype.to_string(),
            source: source.to_string(),
            target: path_str(target),
            flags: names,
            data: data.to_string(),
        };
        self.done(body, op, result)
    }

    pub fn umount(&self, target: &Path, detach: bool) -> Result<(), KernelError> {
        let flags = if detach {
            MntFlags::MNT_DETACH
        } else {
            MntFlags::empty()
        };
        let op = format!(
            "umount2({target}, {})",
            if detach { "MNT_DETACH" } else { "0" },
            target = quoted(target)
        );
        let result = self.sys.umount2(target, flags);
        let body = EventBody::MountUmount {
            target: path_str(target),
            detach,
        };
        self.done(body, op, result)
    }

    pub fn pivot_root(&self, new_root: &Path, put_old: &Path) -> Result<(), KernelError> {
        let op = format!(
            "pivot_root({new_root}, {put_old})",
            new_root = quoted(new_root),
            put_old = quoted(put_old)
        );
        let result = self.sys.pivot_root(new_root, put_old);
        let body = EventBody::MountPivotRoot {
            new_root: path_str(new_root),
            put_old: path_str(put_old),
        };
        self.done(body, op, result)
    }

    pub fn sethostname(&self, hostname: &str) -> Result<(), KernelError> {
        let op = format!(
            "sethostname({hostname}, {})",
            hostname.len(),
            hostname = quoted(hostname)
        );
        let result = self.sys.sethostname(hostname);
        let body = EventBody::UtsSethostname {
            hostname: hostname.to_string(),
        };
        self.done(body, op, result)
    }

    /// Writes a value into a kernel file (under /proc or /sys).
    pub fn write_file(&self, path: &Path, value: &str) -> Result<(), KernelError> {
        let op = format!("write {} = {value}", path.display());
        let result = self.sys.write_file(path, value);
        let body = EventBody::FsWrite {
            path: path_str(path),
            value: value.to_string(),
        };
        self.done(body, op, result)
    }

    pub fn mknod(
        &self,
        path: &Path,
        dev_type: DeviceType,
        major: u64,
        minor: u64,
        mode: u32,
    ) -> Result<(), KernelError> {
        let kind = match dev_type {
            DeviceType::Char => SFlag::S_IFCHR,
            DeviceType::Block => SFlag::S_IFBLK,
        };
        let type_name = match dev_type {
            DeviceType::Char => "S_IFCHR",
            DeviceType::Block => "S_IFBLK",
        };
        let op = format!(
            "mknod({path}, {type_name}|0{mode:o}, makedev({major}, {minor}))",
            path = quoted(path)
        );
        let result = self.sys.mknod(
            path,
            kind,
            Mode::from_bits_truncate(mode),
            nix::sys::stat::makedev(major, minor),
        );
        let body = EventBody::DeviceCreate {
            path: path_str(path),
            dev_type,
            major,
            minor,
            mode,
        };
        self.done(body, op, result)
    }

    pub fn symlink(&self, target: &str, link: &Path) -> Result<(), KernelError> {
        let op = format!(
            "symlink({target}, {link})",
            target = quoted(target),
            link = quoted(link)
        );
        let result = self.sys.symlink(target, link);
        let body = EventBody::FsSymlink {
            target: target.to_string(),
            link: path_str(link),
        };
        self.done(body, op, result)
    }

    pub fn chdir(&self, path: &Path) -> Result<(), KernelError> {
        let op = format!("chdir({path})", path = quoted(path));
        let result = self.sys.chdir(path);
        self.done(
            EventBody::ProcessChdir {
                path: path_str(path),
            },
            op,
            result,
        )
    }

    pub fn chroot(&self, path: &Path) -> Result<(), KernelError> {
        let op = format!("chroot({path})", path = quoted(path));
        let result = self.sys.chroot(path);
        self.done(
            EventBody::ProcessChroot {
                path: path_str(path),
            },
            op,
            result,
        )
    }

    pub fn link_up(&self, ifname: &str) -> Result<(), KernelError> {
        let op = format!(
            "ioctl(sock, SIOCSIFFLAGS, {{ifr_name={ifname}, ifr_flags|=IFF_UP}})",
            ifname = quoted(ifname)
        );
        let result = self.sys.link_up(ifname);
        self.done(
            EventBody::NetLinkUp {
                ifname: ifname.to_string(),
            },
            op,
            result,
        )
    }

    /// `execve`. Returns only on failure, after recording it. A successful
    /// exec cannot be recorded by the process that made it (it no longer
    /// runs our code): the parent records it with [`Kernel::exec_succeeded`]
    /// when the close-on-exec pipe closes.
    pub fn exec(&self, path: &str, argv: &[String], env: &[String]) -> KernelError {
        let op = exec_op(path, argv);
        let c = |s: &String| CString::new(s.as_bytes()).unwrap_or_default();
        let cpath = CString::new(path).unwrap_or_default();
        let cargv: Vec<CString> = argv.iter().map(c).collect();
        let cenv: Vec<CString> = env.iter().map(c).collect();
        // What this process gathered must be in the file before it stops
        // running our code.
        self.rec.end_batch();
        let errno = match self.sys.execve(&cpath, &cargv, &cenv) {
            Ok(never) => match never {},
            Err(errno) => errno,
        };
        let _ = self.done::<()>(exec_body(path, argv, env), op, Err(errno));
        KernelError {
            op: exec_op(path, argv),
            errno,
        }
    }

    /// Records, on behalf of `pid`, the `execve` it performed successfully.
    pub fn exec_succeeded(&self, pid: Pid, path: &str, argv: &[String], env: &[String]) {
        self.rec.record_as(
            pid.as_raw(),
            exec_body(path, argv, env),
            exec_op(path, argv),
            Outcome::Ok,
        );
    }

    /// Waits for `pid`; records `process.exit` once it has ended.
    pub fn wait(&self, pid: Pid, block: bool) -> Result<Option<WaitStatus>, KernelError> {
        let op = format!(
            "wait4({pid}, &status, {}, NULL)",
            if block { "0" } else { "WNOHANG" }
        );
        match self.sys.wait(pid, block) {
            Ok(None) => Ok(None),
            Ok(Some(status)) => {
                let (code, signal) = match status {
                    WaitStatus::Exited(_, code) => (Some(code), None),
                    WaitStatus::Signaled(_, sig, _) => (None, Some(sig)),
                    _ => (None, None),
                };
                let body = EventBody::ProcessExit {
                    exited_pid: pid.as_raw(),
                    code,
                    signal: signal.map(|s| s as i32),
                    signal_name: signal.map(|s| s.as_str().to_string()),
                };
                self.rec.record(body, op, Outcome::Ok);
                Ok(Some(status))
            }
            Err(errno) => {
                let body = EventBody::ProcessExit {
                    exited_pid: pid.as_raw(),
                    code: None,
                    signal: None,
                    signal_name: None,
                };
                self.done(body, op, Err(errno))
            }
        }
    }

    /// Drops root for `user`: `setgroups`, `setgid`, then `setuid` (after
    /// `setuid` the process could no longer change its groups). One
    /// `process.user` event with the outcome of the first call that failed.
    pub fn switch_user(&self, user: &User) -> Result<(), KernelError> {
        let op = format!(
            "setgroups({}, {:?}); setgid({}); setuid({})",
            user.groups.len(),
            user.groups,
            user.gid,
            user.uid
        );
        let result = self
            .sys
            .setgroups(&user.groups)
            .and_then(|_| self.sys.setgid(user.gid))
            .and_then(|_| self.sys.setuid(user.uid));
        let body = EventBody::ProcessUser {
            uid: user.uid,
            gid: user.gid,
            groups: user.groups.clone(),
            name: user.name.clone(),
        };
        self.done(body, op, result)
    }

    /// Cuts the calling process's capabilities to `cut.keep` (a mask; the
    /// names are for the trace): bounding set, ambient, then `capset`. One
    /// `security.capabilities` event.
    pub fn restrict_capabilities(&self, cut: CapabilityCut) -> Result<(), KernelError> {
        let keep = cut.keep;
        let op = format!(
            "prctl(PR_CAPBSET_DROP, cap) for cap in [{}]; \
             prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL); \
             capset({{_LINUX_CAPABILITY_VERSION_3, 0}}, \
             {{effective=permitted=inheritable={keep:#x}}})",
            cut.dropped.join(", ")
        );
        let result = self.sys.restrict_capabilities(keep, cut.last_cap);
        let body = EventBody::SecurityCapabilities {
            kept: cut.kept,
            dropped: cut.dropped,
            mask: format!("{keep:016x}"),
            privileged: cut.privileged,
            added: cut.added,
            removed: cut.removed,
        };
        self.done(body, op, result)
    }

    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: one `security.no_new_privs` event.
    pub fn set_no_new_privs(&self) -> Result<(), KernelError> {
        let op = "prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)".to_string();
        let result = self.sys.set_no_new_privs();
        self.done(EventBody::SecurityNoNewPrivs {}, op, result)
    }

    /// `seccomp(SECCOMP_SET_MODE_FILTER)` once per program of `programs`,
    /// in order (the kernel runs the last one installed first, and the
    /// strictest verdict wins). One `security.seccomp` event.
    pub fn install_seccomp(
        &self,
        programs: &[Vec<libc::sock_filter>],
        summary: SeccompSummary,
    ) -> Result<(), KernelError> {
        let lens: Vec<String> = programs.iter().map(|p| p.len().to_string()).collect();
        let op = format!(
            "seccomp(SECCOMP_SET_MODE_FILTER, 0, {{len, filter=<BPF>}}) for len in [{}]: \
             {} syscalls named, default {}",
            lens.join(", "),
            summary.rule_count,
            summary.default_action
        );
        let result = programs
            .iter()
            .try_for_each(|p| self.sys.install_seccomp(p));
        let body = EventBody::SecuritySeccomp {
            mode: "filter".to_string(),
            profile: summary.profile,
            path: summary.path,
            default_action: summary.default_action,
            rule_count: summary.rule_count,
            allowed_count: summary.allowed_count,
            blocked_action: summary.blocked_action,
            blocked_count: summary.blocked.len() as u32,
            blocked: summary.blocked,
            filters: programs.len() as u32,
            ignored: summary.ignored,
        };
        self.done(body, op, result)
    }

    /// No seccomp filter (`seccomp=unconfined`, `--privileged`): no call to
    /// the kernel, but a `security.seccomp` event in mode `disabled`, so
    /// the trace says the filter is missing on purpose.
    pub fn seccomp_unconfined(&self, profile: &str) {
        let body = EventBody::SecuritySeccomp {
            mode: "disabled".to_string(),
            profile: profile.to_string(),
            path: None,
            default_action: "allow".to_string(),
            rule_count: 0,
            allowed_count: 0,
            blocked_action: String::new(),
            blocked_count: 0,
            blocked: Vec::new(),
            filters: 0,
            ignored: Vec::new(),
        };
        let op = format!("(nenhum seccomp(): {profile}, toda chamada de sistema chega ao kernel)");
        self.rec.record(body, op, Outcome::Ok);
    }

    /// `prctl(PR_SET_DUMPABLE, 0)`: one `security.non_dumpable` event.
    pub fn set_non_dumpable(&self) -> Result<(), KernelError> {
        let op = "prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)".to_string();
        let result = self.sys.set_dumpable(false);
        self.done(EventBody::SecurityNonDumpable {}, op, result)
    }

    /// `setsid()`: one `process.setsid` event (with whether a controlling
    /// terminal was left behind).
    pub fn setsid(&self) -> Result<(), KernelError> {
        let op = "setsid()".to_string();
        let result = self.sys.setsid();
        let had_terminal = *result.as_ref().unwrap_or(&false);
        self.done(
            EventBody::ProcessSetsid { had_terminal },
            op,
            result.map(drop),
        )
    }

    /// `close_range(first, ~0U, CLOSE_RANGE_CLOEXEC)`: one
    /// `process.fds_closed` event, with the inherited descriptors it caught.
    pub fn close_fds_on_exec(&self, first: i32) -> Result<(), KernelError> {
        let op = format!("close_range({first}, ~0U, CLOSE_RANGE_CLOEXEC)");
        let result = self.sys.close_fds_on_exec(first);
        let inherited = result.as_ref().cloned().unwrap_or_default();
        let body = EventBody::ProcessFdsClosed { first, inherited };
        self.done(body, op, result.map(drop))
    }

    /// `mkdir` of a new cgroup: `version` is `v1`/`v2`, `controller` the v1
    /// hierarchy's controller (empty on v2).
    pub fn cgroup_create(
        &self,
        path: &Path,
        version: &str,
        controller: &str,
    ) -> Result<(), KernelError> {
        let op = format!("mkdir({path}, 0755)", path = quoted(path));
        let result = self.sys.mkdir(path);
        let body = EventBody::CgroupCreate {
            path: path_str(path),
            version: version.to_string(),
            controller: controller.to_string(),
        };
        self.done(body, op, result)
    }

    /// Writes a limit (`value`, the exact text) into a cgroup `file`.
    pub fn cgroup_limit(
        &self,
        controller: &str,
        file: &Path,
        value: &str,
    ) -> Result<(), KernelError> {
        let op = format!("write {} = {value}", file.display());
        let result = self.sys.write_file(file, value);
        let body = EventBody::CgroupLimit {
            controller: controller.to_string(),
            file: path_str(file),
            value: value.to_string(),
        };
        self.done(body, op, result)
    }

    /// Freezes (`frozen`) or thaws a cgroup by writing `value` into its
    /// freezer `file` (v1 `freezer.state` = `FROZEN`/`THAWED`, v2
    /// `cgroup.freeze` = `1`/`0`). The kernel may take a moment to get
    /// every process there: the caller waits for it (`cgroups::v1::freezer`,
    /// `cgroups::v2::freeze`).
    pub fn cgroup_freeze(&self, file: &Path, frozen: bool, value: &str) -> Result<(), KernelError> {
        let op = format!("write {} = {value}", file.display());
        let result = self.sys.write_file(file, value);
        let body = EventBody::CgroupFreeze {
            file: path_str(file),
            frozen,
        };
        self.done(body, op, result)
    }

    /// The device allow-list of a v1 cgroup: each `(file, line)` of
    /// `writes` written in order into `dir` (`devices.deny = a`, then one
    /// `devices.allow` line per rule; `devices.allow = a` when
    /// `privileged`). One `cgroup.devices` event, with the outcome of the
    /// first write that failed (the rest are not tried).
    pub fn cgroup_devices_v1(
        &self,
        dir: &Path,
        writes: &[(&str, String)],
        privileged: bool,
        allowed: Vec<String>,
    ) -> Result<(), KernelError> {
        let op = writes
            .iter()
            .map(|(file, line)| format!("write {} = {line}", dir.join(file).display()))
            .collect::<Vec<_>>()
            .join("; ");
        // Each file is opened once for its run of lines (a v1 cgroup file's
        // open is most of a write's cost); the error names the one line the
        // kernel refused.
        let failed = writes.chunk_by(|a, b| a.0 == b.0).find_map(|run| {
            let file = dir.join(run[0].0);
            let lines: Vec<&str> = run.iter().map(|(_, line)| line.as_str()).collect();
            let (i, errno) = self.sys.write_lines(&file, &lines).err()?;
            Some((format!("write {} = {}", file.display(), lines[i]), errno))
        });
        let result = failed.as_ref().map_or(Ok(()), |(_, errno)| Err(*errno));
        let body = devices_body(dir, "v1", privileged, allowed, None);
        let recorded = self.done(body, op, result);
        match failed {
            Some((op, errno)) => Err(KernelError { op, errno }),
            None => recorded,
        }
    }

    /// The device allow-list of a v2 cgroup: `program`, an eBPF program of
    /// type `BPF_PROG_TYPE_CGROUP_DEVICE` (`allowed`: its rules, for the
    /// trace), loaded (the verifier checks it) and attached to `dir`. One
    /// `cgroup.devices` event.
    pub fn cgroup_devices_v2(
        &self,
        dir: &Path,
        program: &[bpf::BpfInsn],
        allowed: Vec<String>,
    ) -> Result<(), KernelError> {
        let op = format!(
            "bpf(BPF_PROG_LOAD, {{prog_type=BPF_PROG_TYPE_CGROUP_DEVICE, insn_cnt={}, \
             license=\"GPL\"}}); bpf(BPF_PROG_ATTACH, {{target_fd=open({dir}), \
             attach_type=BPF_CGROUP_DEVICE, attach_flags=BPF_F_ALLOW_MULTI}})",
            program.len(),
            dir = quoted(dir)
        );
        let result = self.sys.attach_device_program(dir, program);
        let body = devices_body(dir, "v2", false, allowed, Some(program.len() as u32));
        self.done(body, op, result)
    }

    /// v2 under `--privileged`: no device program is attached, so every
    /// device is allowed (as far as the ancestors allow). Nothing is
    /// called; the `cgroup.devices` event says so.
    pub fn cgroup_devices_v2_unrestricted(&self, dir: &Path, allowed: Vec<String>) {
        let op = format!(
            "no BPF_PROG_ATTACH on {dir}: without a device program every device is allowed",
            dir = quoted(dir)
        );
        let body = devices_body(dir, "v2", true, allowed, None);
        let _ = self.done(body, op, Ok(()));
    }

    /// Moves `pid` into the cgroup `dir` (writes it to `cgroup.procs`).
    pub fn cgroup_attach(&self, dir: &Path, pid: Pid) -> Result<(), KernelError> {
        let file = dir.join("cgroup.procs");
        let op = format!("write {} = {pid}", file.display());
        let result = self.sys.write_file(&file, &pid.to_string());
        let body = EventBody::CgroupAttach {
            path: path_str(dir),
            target_pid: pid.as_raw(),
            via: AttachVia::Write,
        };
        self.done(body, op, result)
    }

    /// The calling process, single-threaded, moves itself into the v1
    /// cgroup `dir`: `0` (the caller) written to its `tasks`. Moving only
    /// the caller's thread, the kernel skips the global lock a
    /// `cgroup.procs` write takes (`cgroup_threadgroup_rwsem`, whose first
    /// writer waits for an RCU grace period: 5–17 ms here). `host_pid` is
    /// the caller's pid on the host, for the trace.
    pub fn cgroup_join_itself(&self, dir: &Path, host_pid: i32) -> Result<(), KernelError> {
        let file = dir.join("tasks");
        let op = format!("write {} = 0", file.display());
        let result = self.sys.write_file(&file, "0");
        let body = EventBody::CgroupAttach {
            path: path_str(dir),
            target_pid: host_pid,
            via: AttachVia::Tasks,
        };
        self.done(body, op, result)
    }

    /// `rmdir` of a cgroup (the kernel refuses while processes are inside).
    pub fn cgroup_delete(&self, path: &Path) -> Result<(), KernelError> {
        let op = format!("rmdir({path})", path = quoted(path));
        let result = self.sys.rmdir(path);
        let body = EventBody::CgroupDelete {
            path: path_str(path),
        };
        self.done(body, op, result)
    }

    /// `mkdir` of a directory other casulos share (the `casulo` parent):
    /// if another one made it first (EEXIST) nothing happened, and nothing
    /// is recorded.
    pub fn cgroup_create_shared(
        &self,
        path: &Path,
        version: &str,
        controller: &str,
    ) -> Result<(), KernelError> {
        match self.sys.mkdir(path) {
            Err(Errno::EEXIST) => Ok(()),
            result => {
                let body = EventBody::CgroupCreate {
                    path: path_str(path),
                    version: version.to_string(),
                    controller: controller.to_string(),
                };
                self.done(
                    body,
                    format!("mkdir({path}, 0755)", path = quoted(path)),
                    result,
                )
            }
        }
    }

    /// `rmdir` of the shared `casulo` parent: if another container is
    /// inside (EBUSY/ENOTEMPTY) or another casulo removed it (ENOENT),
    /// nothing happened and nothing is recorded; returns whether it went.
    pub fn cgroup_delete_shared(&self, path: &Path) -> Result<bool, KernelError> {
        match self.sys.rmdir(path) {
            Err(Errno::EBUSY | Errno::ENOTEMPTY | Errno::ENOENT) => Ok(false),
            result => {
                let body = EventBody::CgroupDelete {
                    path: path_str(path),
                };
                self.done(body, format!("rmdir({path})", path = quoted(path)), result)
                    .map(|()| true)
            }
        }
    }

    /// Reads a kernel counter file. Not recorded by itself: reads change
    /// nothing; what they found is recorded as a fact ([`Kernel::observed`]).
    pub fn read_file(&self, path: &Path) -> Result<String, KernelError> {
        self.sys.read_file(path).map_err(|errno| KernelError {
            op: format!("read {}", path.display()),
            errno,
        })
    }

    /// Records something casulo observed by reading kernel files (a
    /// `cgroup.sample`, `cgroup.oom`, …); `op` names the files read.
    pub fn observed(&self, body: EventBody, op: String) {
        self.rec.record(body, op, Outcome::Ok);
    }

    pub fn kill(&self, pid: Pid, signal: Signal) -> Result<(), KernelError> {
        let op = format!("kill({pid}, {})", signal.as_str());
        let result = self.sys.kill(pid, signal);
        let body = EventBody::ProcessSignal {
            target_pid: pid.as_raw(),
            signal: signal as i32,
            signal_name: signal.as_str().to_string(),
        };
        self.done(body, op, result)
    }
}

fn devices_body(
    dir: &Path,
    version: &str,
    privileged: bool,
    allowed: Vec<String>,
    program_insns: Option<u32>,
) -> EventBody {
    EventBody::CgroupDevices {
        path: path_str(dir),
        version: version.to_string(),
        privileged,
        default_action: if privileged { "allow" } else { "deny" }.to_string(),
        allowed,
        program_insns,
    }
}

fn exec_op(path: &str, argv: &[String]) -> String {
    format!("execve({path}, {argv:?}, envp)", path = quoted(path))
}

fn exec_body(path: &str, argv: &[String], env: &[String]) -> EventBody {
    EventBody::ProcessExec {
        path: path.to_string(),
        argv: argv.to_vec(),
        env_keys: env
            .iter()
            .map(|kv| kv.split('=').next().unwrap_or_default().to_string())
            .collect(),
    }
}

/// `CLONE_NEW*` flags for these namespace kinds.
pub fn clone_flags(kinds: &[NsKind]) -> CloneFlags {
    kinds.iter().fold(CloneFlags::empty(), |acc, k| {
        acc | match k {
            NsKind::Pid => CloneFlags::CLONE_NEWPID,
            NsKind::Mnt => CloneFlags::CLONE_NEWNS,
            NsKind::Uts => CloneFlags::CLONE_NEWUTS,
            NsKind::Ipc => CloneFlags::CLONE_NEWIPC,
            NsKind::Net => CloneFlags::CLONE_NEWNET,
            NsKind::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            NsKind::User => CloneFlags::CLONE_NEWUSER,
            NsKind::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
        }
    })
}

/// The trace outcome of a call's result.
pub fn outcome_of<T>(result: &Result<T, Errno>) -> Outcome {
    match result {
        Ok(_) => Outcome::Ok,
        Err(errno) => Outcome::Error(casulo_trace::Errno {
            errno: *errno as i32,
            name: errno_name(*errno),
            message: errno.desc().to_string(),
        }),
    }
}

/// `ENOENT` for Errno::ENOENT.
pub fn errno_name(errno: Errno) -> String {
    format!("{errno:?}")
}

/// What the errno means, in pt-BR for the common ones
/// ([`casulo_trace::errno`]), else the kernel's English.
pub fn errno_text(errno: Errno) -> &'static str {
    casulo_trace::errno::text(&errno_name(errno), errno.desc())
}

/// `text` with every `Permission denied (os error 13)` — how Rust's
/// `io::Error` shows an errno — said as `permissão negada (EACCES)`, for the
/// errnos of [`casulo_trace::errno`]; the others stay as they are.
pub fn translate_os_errors(text: &str) -> String {
    const MARK: &str = "(os error ";
    let mut out = text.to_string();
    let mut from = 0;
    while let Some(at) = out[from..].find(MARK).map(|i| i + from) {
        let digits: String = out[at + MARK.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        from = at + MARK.len();
        let Ok(n) = digits.parse::<i32>() else {
            continue;
        };
        let english = std::io::Error::from_raw_os_error(n).to_string();
        let errno = Errno::from_raw(n);
        let Some(pt) = casulo_trace::errno::pt(&errno_name(errno)) else {
            continue;
        };
        let end = (from + digits.len() + 1).min(out.len());
        if let Some(start) = out[..end].rfind(&english) {
            let said = format!("{pt} ({})", errno_name(errno));
            out.replace_range(start..start + english.len(), &said);
            from = start + said.len();
        }
    }
    out
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Names of the mount flags set in `flags`, in the kernel's spelling.
pub fn ms_flag_names(flags: MsFlags) -> Vec<String> {
    const NAMES: &[(MsFlags, &str)] = &[
        (MsFlags::MS_RDONLY, "MS_RDONLY"),
        (MsFlags::MS_NOSUID, "MS_NOSUID"),
        (MsFlags::MS_NODEV, "MS_NODEV"),
        (MsFlags::MS_NOEXEC, "MS_NOEXEC"),
        (MsFlags::MS_SYNCHRONOUS, "MS_SYNCHRONOUS"),
        (MsFlags::MS_REMOUNT, "MS_REMOUNT"),
        (MsFlags::MS_NOATIME, "MS_NOATIME"),
        (MsFlags::MS_BIND, "MS_BIND"),
        (MsFlags::MS_REC, "MS_REC"),
        (MsFlags::MS_PRIVATE, "MS_PRIVATE"),
        (MsFlags::MS_SLAVE, "MS_SLAVE"),
        (MsFlags::MS_SHARED, "MS_SHARED"),
        (MsFlags::MS_STRICTATIME, "MS_STRICTATIME"),
        (MsFlags::MS_RELATIME, "MS_RELATIME"),
    ];
    NAMES
        .iter()
        .filter(|(f, _)| flags.contains(*f))
        .map(|(_, n)| n.to_string())
        .collect()
}

#[cfg(test)]
mod errno_tests {
    use super::*;

    #[test]
    fn errnos_are_said_in_portuguese() {
        let e = KernelError {
            op: "mkdir(\"/x\", 0755)".into(),
            errno: Errno::EACCES,
        };
        assert_eq!(
            e.to_string(),
            "o kernel recusou `mkdir(\"/x\", 0755)`: permissão negada (EACCES)"
        );
        let io = std::io::Error::from_raw_os_error(2);
        let text = format!("não consegui abrir /a: {io}; nem /b: {io}");
        assert_eq!(
            translate_os_errors(&text),
            "não consegui abrir /a: arquivo ou diretório não existe (ENOENT); \
             nem /b: arquivo ou diretório não existe (ENOENT)"
        );
        // Not in the table: kept as Rust says it.
        let other = std::io::Error::from_raw_os_error(libc::ENOTBLK).to_string();
        assert_eq!(translate_os_errors(&other), other);
    }
}
