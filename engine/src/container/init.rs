//! The container's first process, before it becomes the user's command.
//!
//! It was born by `clone` in new pid, mount, UTS, IPC and network
//! namespaces (it is PID 1 in its own pid namespace). In order:
//!
//! 1. ask to be SIGKILLed if casulo dies, so no container outlives it;
//!    wait for the parent's go (and learn its own host pid, for the trace);
//!    then check casulo is still alive — had it died before the `prctl`,
//!    no signal would ever come (`getppid()` cannot tell here: in its new
//!    pid namespace the parent is pid 0, so casulo passes a pidfd of itself);
//!    on cgroup v1, join its cgroup by itself, `0` into each hierarchy's
//!    `tasks` (on v2 it was born there; with `--userns` casulo put it there
//!    before the go: [`crate::cgroups::clone_into`]);
//! 2. become non-dumpable, so `/proc/PID/exe` — the host's `casulo` until
//!    the `execve` — is closed to the container
//!    ([`crate::security::host_binary`]); `setsid()`, so the container has
//!    no controlling terminal (it cannot type into the caller's with
//!    `TIOCSTI`; Ctrl-C still reaches it: casulo gets it and forwards it to
//!    PID 1, see [`super::wait`]) — with `-t` it gets one of its own in
//!    step 7;
//! 3. `unshare(CLONE_NEWCGROUP)`: its cgroup becomes its `/`;
//! 4. build the rootfs ([`crate::mounts`]), set the hostname, bring `lo` up
//!    (and, with `--network bridge`, give `eth0` its address, bring it up and
//!    add the default route: [`crate::network::veth::configure_inside`]);
//! 5. `pivot_root` into it; `chdir` to the working directory;
//! 6. give up root's power: keep only docker's default capabilities and
//!    set `no_new_privs`; install the seccomp filter ([`crate::security`]);
//! 7. find the command in the container's PATH, become the image's user
//!    (`setgroups`/`setgid`/`setuid`, when one was asked for); with `-t`,
//!    open a pseudo-terminal from the container's own `/dev/ptmx` and take
//!    it as controlling terminal (`TIOCSCTTY`: it leads a session without
//!    one since step 2) and as stdin, stdout and stderr, sending the
//!    master to casulo ([`crate::terminal::console`]); and `execve`
//!    it, with the signal mask casulo had blocked restored and every
//!    descriptor from 3 on marked close-on-exec (`close_range`): only
//!    stdin, stdout and stderr cross into the container, never a file the
//!    caller left open without `O_CLOEXEC`.
//!
//! It reports to the parent over the `report` pipe (see [`super::start`]) and
//! never returns: it becomes the command or `_exit`s.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use casulo_trace::NsKind;
use nix::errno::Errno;

use super::ProcessSpec;
use crate::kernel::Kernel;
use crate::mounts::{self, RootfsPlan};
use crate::network::ContainerNet;

/// The descriptors the init gets from casulo across the `clone` (see
/// [`super::start`]).
pub struct Channels {
    /// A pidfd of casulo, to learn whether it died before our
    /// `PR_SET_PDEATHSIG` (`None`: a kernel without `pidfd_open`).
    pub parent: Option<OwnedFd>,
    /// The parent's go: our host pid, 4 bytes, once the cgroup and the
    /// network are ready.
    pub sync: OwnedFd,
    /// Where the init says `EXEC path` or `FAIL code\nmessage`.
    pub report: OwnedFd,
    /// With `--userns`, the socket the idmapped overlay arrives on.
    pub userns: Option<OwnedFd>,
    /// With `-t`, the console socket the terminal's master goes back on.
    pub console: Option<crate::terminal::console::Request>,
}

pub fn run(
    k: &Kernel,
    plan: &RootfsPlan,
    spec: &ProcessSpec,
    net: Option<&ContainerNet>,
    cgroup: Option<&dyn crate::cgroups::Manager>,
    channels: Channels,
) -> ! {
    let Channels {
        parent,
        sync,
        report,
        userns,
        console,
    } = channels;
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let mut report = std::fs::File::from(report);
    let mut pid = [0u8; 4];
    if std::fs::File::from(sync).read_exact(&mut pid).is_err() {
        // The parent is gone before saying go: nothing to do.
        exit(125);
    }
    if parent.as_ref().is_some_and(has_exited) {
        // It died before our prctl: no SIGKILL will come. Stop here.
        exit(125);
    }
    drop(parent);
    let host_pid = i32::from_le_bytes(pid);
    k.recorder().set_pid(host_pid);
    // The setup's events are written together, at the `execve` (or by the
    // parent if we die first): see `recorder`.
    k.recorder().begin_batch();
    // v1: into the cgroup before anything else, so all that follows counts.
    if let Some(cgroup) = cgroup {
        if let Err(e) = cgroup.join_itself(k, host_pid) {
            fail(&mut report, 125, &e.to_string());
        }
    }
    if let Err(e) = detach(k) {
        let _ = write!(report, "FAIL 125\nfalha ao preparar o contêiner: {e}");
        exit(125);
    }

    let path = match setup(k, plan, spec, net, userns) {
        Ok(path) => path,
        Err((code, message)) => {
            let _ = write!(report, "FAIL {code}\n{message}");
            exit(code);
        }
    };
    let env = match become_user(k, &spec.user, spec.env.clone()) {
        Ok(env) => env,
        Err((code, message)) => fail(&mut report, code, &message),
    };
    if let Some(console) = console {
        if let Err(e) = crate::terminal::console::open_in_init(k, console) {
            let _ = write!(report, "FAIL 125\n{e}");
            exit(125);
        }
    }
    exec_command(k, &mut report, &path, &spec.args, &env)
}

/// Step 7's end, shared with `casulo exec` ([`super::exec`]): every
/// descriptor from 3 on closed at `execve`, `EXEC path` said on `report`,
/// signals back to their defaults and unblocked, then `execve`. Returns
/// never: on failure it reports `FAIL 126/127` and exits with that code.
pub(super) fn exec_command(
    k: &Kernel,
    report: &mut std::fs::File,
    path: &str,
    args: &[String],
    env: &[String],
) -> ! {
    if let Err(e) = k.close_fds_on_exec(3) {
        fail(report, 125, &format!("falha ao preparar o processo: {e}"));
    }
    let _ = writeln!(report, "EXEC {path}");
    crate::container::wait::reset_dispositions();
    crate::container::wait::unblock_signals();
    let err = k.exec(path, args, env);
    let code = if err.errno == Errno::ENOENT { 127 } else { 126 };
    fail(
        report,
        code,
        &format!(
            "não consegui executar {:?} no contêiner: {}",
            args[0],
            crate::kernel::errno_text(err.errno)
        ),
    )
}

/// Says `FAIL code` and `message` on `report` (see [`super::start`]) and exits.
pub(super) fn fail(report: &mut std::fs::File, code: i32, message: &str) -> ! {
    let _ = write!(report, "FAIL {code}\n{message}");
    exit(code)
}

/// Step 2: the host's binary out of reach, the caller's terminal left behind.
fn detach(k: &Kernel) -> Result<(), crate::kernel::KernelError> {
    crate::security::host_binary::protect(k)?;
    k.setsid()
}

/// Whether the process behind `pidfd` has exited (a pidfd polls readable
/// then).
pub(super) fn has_exited(pidfd: &OwnedFd) -> bool {
    use std::os::fd::AsRawFd;
    let mut fds = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, timeout 0 (no waiting).
    let n = unsafe { libc::poll(&mut fds, 1, 0) };
    n > 0 && fds.revents & libc::POLLIN != 0
}

/// Steps 3–6; returns the command's resolved path, or (exit code, message).
fn setup(
    k: &Kernel,
    plan: &RootfsPlan,
    spec: &ProcessSpec,
    net: Option<&ContainerNet>,
    userns: Option<OwnedFd>,
) -> Result<String, (i32, String)> {
    let engine =
        |e: crate::kernel::KernelError| (125, format!("falha ao preparar o contêiner: {e}"));
    k.unshare(NsKind::Cgroup).map_err(engine)?;
    let root = build_rootfs(k, plan, userns)?;
    crate::volume::mount::mount_all(k, &root, &spec.mounts, spec.read_only)
        .map_err(|m| (125, m))?;
    k.sethostname(&spec.hostname).map_err(engine)?;
    k.link_up("lo").map_err(engine)?;
    if let Some(net) = net {
        crate::network::veth::configure_inside(k, net).map_err(engine)?;
    }
    mounts::pivot_into(k, &root).map_err(engine)?;
    // A build's RUN: the image's volume paths exist, as plain directories
    // of the upper layer (a run mounts anonymous volumes there instead).
    for volume in spec.volumes.iter().filter(|v| v.starts_with('/')) {
        if let Err(e) = std::fs::create_dir_all(volume) {
            return Err((125, format!("não consegui criar o volume {volume:?}: {e}")));
        }
    }
    // Like docker, a missing working directory is created (in the upper
    // layer). pivot_into already left us in `/`.
    let cwd = Path::new(&spec.cwd);
    if cwd != Path::new("/") {
        if let Err(e) = std::fs::create_dir_all(cwd) {
            return Err((
                125,
                format!(
                    "não consegui criar o diretório de trabalho {:?}: {e}",
                    spec.cwd
                ),
            ));
        }
        k.chdir(cwd).map_err(engine)?;
    }
    // Last: the steps above need the whole root (mount, pivot_root, …).
    crate::security::harden(k, &spec.security).map_err(engine)?;
    let path_var = spec
        .env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(super::DEFAULT_PATH);
    find_command(&spec.args[0], path_var)
}

/// Step 4's rootfs; returns where it is (the path `pivot_into` takes). With
/// `--userns` the parent made the overlay and sends it over `userns`
/// ([`crate::security::userns::enter_rootfs`]).
fn build_rootfs(
    k: &Kernel,
    plan: &RootfsPlan,
    userns: Option<OwnedFd>,
) -> Result<std::path::PathBuf, (i32, String)> {
    match userns {
        None => mounts::prepare_rootfs(k, plan)
            .map(|()| plan.merged.clone())
            .map_err(|e| (125, format!("falha ao preparar o contêiner: {e}"))),
        Some(channel) => {
            crate::security::userns::enter_rootfs(k, plan, channel).map_err(|m| (125, m))
        }
    }
}

/// Step 7a: drops root when a user was asked for (`-u` or the image's
/// `User`), resolved in the container's own `/etc/passwd` and `/etc/group`
/// (see [`super::user`]); returns the environment `env`, with `HOME` from
/// passwd unless the image or `-e` set it. `casulo exec` does the same.
pub(super) fn become_user(
    k: &Kernel,
    who: &str,
    mut env: Vec<String>,
) -> Result<Vec<String>, (i32, String)> {
    if who.is_empty() {
        return Ok(env);
    }
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let user = super::user::resolve(who, &read("/etc/passwd"), &read("/etc/group"))
        .map_err(|why| (125, format!("usuário {who:?}: {why}")))?;
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", user.home));
    }
    k.switch_user(&user).map_err(|e| {
        (
            125,
            format!("não consegui trocar para o usuário {who:?}: {e}"),
        )
    })?;
    Ok(env)
}

/// `execvp`'s search, done by hand so the error can say what was missing.
pub fn find_command(cmd: &str, path_var: &str) -> Result<String, (i32, String)> {
    let candidates: Vec<String> = if cmd.contains('/') {
        vec![cmd.to_string()]
    } else {
        path_var
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| format!("{}/{cmd}", d.trim_end_matches('/')))
            .collect()
    };
    let mut not_executable = None;
    for candidate in &candidates {
        if let Ok(meta) = std::fs::metadata(candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate.clone());
            }
            not_executable.get_or_insert(candidate.clone());
        }
    }
    Err(match not_executable {
        Some(path) => (
            126,
            format!("{path:?} existe no contêiner mas não é um arquivo executável"),
        ),
        None if cmd.contains('/') => (127, format!("arquivo não encontrado no contêiner: {cmd:?}")),
        None => (
            127,
            format!("comando não encontrado no contêiner: {cmd:?} (procurei em PATH={path_var})"),
        ),
    })
}

pub(super) fn exit(code: i32) -> ! {
    // _exit: no atexit handlers or buffers of the parent's copy run twice.
    unsafe { libc::_exit(code) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_found_in_path_or_reported_with_docker_codes() {
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(bin.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(bin.join("data"), "x").unwrap();
        let path = format!("/nonexistent:{}", bin.display());
        assert_eq!(
            find_command("tool", &path).unwrap(),
            format!("{}/tool", bin.display())
        );
        assert_eq!(find_command("nope", &path).unwrap_err().0, 127);
        assert_eq!(find_command("data", &path).unwrap_err().0, 126);
        assert_eq!(find_command("/no/such", &path).unwrap_err().0, 127);
        assert_eq!(
            find_command(&bin.display().to_string(), &path)
                .unwrap_err()
                .0,
            126
        );
    }
}

#[cfg(test)]
mod parent_tests {
    use std::os::fd::FromRawFd;

    use super::*;

    fn pidfd(pid: u32) -> OwnedFd {
        // SAFETY: pidfd_open with integers; the fd returned is ours.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
        // SAFETY: a fresh descriptor nobody else owns.
        unsafe { OwnedFd::from_raw_fd(fd as i32) }
    }

    /// The check the init makes after its PR_SET_PDEATHSIG: a living
    /// parent is not "exited"; one that died (even reaped) is.
    #[test]
    fn a_pidfd_tells_whether_the_parent_has_exited() {
        assert!(!has_exited(&pidfd(std::process::id())));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let fd = pidfd(child.id());
        assert!(!has_exited(&fd));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(has_exited(&fd));
    }
}

#[cfg(test)]
mod sequence_tests {
    use super::*;
    use crate::kernel::double::FakeSyscalls;
    use crate::recorder::Recorder;

    /// A rootfs plan under `dir` (nothing is mounted: the kernel is the
    /// double) and a plain `sh` process.
    fn plan_and_spec(dir: &std::path::Path) -> (RootfsPlan, ProcessSpec) {
        std::fs::create_dir_all(dir.join("merged")).unwrap();
        let plan = RootfsPlan::in_dir(dir, vec![dir.join("layer")], Default::default());
        let spec = ProcessSpec {
            args: vec!["sh".into()],
            env: vec!["PATH=/bin:/usr/bin".into()],
            cwd: "/".into(),
            hostname: "casulo".into(),
            user: String::new(),
            volumes: vec![],
            mounts: vec![],
            read_only: false,
            security: Default::default(),
        };
        (plan, spec)
    }

    /// The whole set-up of the init, without root: the order of the kernel
    /// calls is the lesson (cgroup ns first, private mounts before the
    /// overlay, pivot_root last), so it is asserted exactly.
    #[test]
    fn the_init_sets_up_the_container_in_the_documented_order() {
        let tmp = tempfile::tempdir().unwrap();
        let (plan, spec) = plan_and_spec(tmp.path());
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let path = setup(&Kernel::new(&sys, &rec), &plan, &spec, None, None).unwrap();
        assert!(path.ends_with("/sh"), "{path}");
        let kinds: Vec<&str> = rec.events().iter().map(|e| e.body.kind()).collect();
        let first = |k: &str| kinds.iter().position(|x| *x == k).unwrap();
        assert_eq!(kinds[0], "namespace.create");
        assert_eq!(kinds[1], "mount.propagation");
        assert_eq!(kinds[2], "mount.overlay");
        assert!(first("uts.sethostname") < first("mount.pivot_root"));
        assert!(first("net.link_up") < first("mount.pivot_root"));
        assert_eq!(
            &kinds[kinds.len() - 6..],
            &[
                "mount.pivot_root",
                "mount.umount",
                "process.chdir",
                "security.capabilities",
                "security.no_new_privs",
                "security.seccomp"
            ]
        );
        assert!(rec.events().iter().all(|e| e.outcome.is_ok()));
        assert!(sys.calls()[0].starts_with("unshare"), "{:?}", sys.calls());
    }

    /// Step 2, before anything of the image is touched: non-dumpable, then
    /// a session of its own (no controlling terminal).
    #[test]
    fn the_init_hides_the_host_binary_and_leaves_the_terminal_first() {
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        detach(&Kernel::new(&sys, &rec)).unwrap();
        assert_eq!(sys.calls(), vec!["set_dumpable false", "setsid"]);
        let kinds: Vec<&str> = rec.events().iter().map(|e| e.body.kind()).collect();
        assert_eq!(kinds, vec!["security.non_dumpable", "process.setsid"]);
    }

    /// An image whose `/proc` is a symlink to a host directory is refused
    /// before anything is mounted there, and nothing is created through it.
    #[test]
    fn a_symlinked_mount_target_stops_the_container_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (plan, spec) = plan_and_spec(tmp.path());
        let host = tmp.path().join("host-dir");
        std::fs::create_dir(&host).unwrap();
        std::os::unix::fs::symlink(host.join("deep/proc"), plan.merged.join("proc")).unwrap();
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let (code, message) =
            setup(&Kernel::new(&sys, &rec), &plan, &spec, None, None).unwrap_err();
        assert_eq!(code, 125);
        assert!(
            message.contains("/proc como link simbólico") && message.contains("host-dir/deep/proc"),
            "{message}"
        );
        assert!(!host.join("deep").exists(), "nada criado no host");
        assert!(
            !sys.calls().iter().any(|c| c.starts_with("mount proc")),
            "{:?}",
            sys.calls()
        );
    }

    /// Volumes, binds and tmpfs are mounted after the rootfs (overlay,
    /// /proc, /sys, /dev) and before `pivot_root`, each on the fd of its
    /// target (`/proc/self/fd/N`), and `--read-only` remounts the overlay
    /// last of all.
    #[test]
    fn mounts_come_after_the_rootfs_and_read_only_last_before_pivot_root() {
        let tmp = tempfile::tempdir().unwrap();
        let (plan, mut spec) = plan_and_spec(tmp.path());
        std::fs::create_dir_all(&plan.merged).unwrap();
        spec.read_only = true;
        spec.mounts = vec![crate::volume::mount::MountPlan {
            spec: crate::volume::spec::parse_tmpfs("/rapido:size=1m").unwrap(),
            host: Default::default(),
            seed: false,
        }];
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        setup(&Kernel::new(&sys, &rec), &plan, &spec, None, None).unwrap();
        let ops: Vec<String> = rec.events().iter().map(|e| e.op.clone()).collect();
        let at = |p: &str| ops.iter().position(|o| o.starts_with(p)).unwrap();
        let tmpfs = at("mount(\"tmpfs\", \"/proc/self/fd/");
        assert!(ops[tmpfs].contains("size=1m"), "{ops:?}");
        let merged = plan.merged.display().to_string();
        let ro = at(&format!(
            "mount(\"\", \"{merged}\", NULL, MS_RDONLY|MS_REMOUNT|MS_BIND"
        ));
        assert!(at("mount(\"mqueue\"") < tmpfs && tmpfs < ro, "{ops:?}");
        assert!(ro < at("pivot_root"), "{ops:?}");
        // The mount point was made inside the rootfs.
        assert!(plan.merged.join("rapido").is_dir());
    }

    /// With `--network bridge` the child configures its `eth0` after `lo`
    /// and before `pivot_root`: address, up, default route.
    #[test]
    fn the_init_configures_eth0_before_pivot_root() {
        let tmp = tempfile::tempdir().unwrap();
        let (plan, spec) = plan_and_spec(tmp.path());
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let net = ContainerNet::new(
            std::net::Ipv4Addr::new(10, 88, 0, 7),
            &crate::network::networks::Network::default_bridge(),
        );
        setup(&Kernel::new(&sys, &rec), &plan, &spec, Some(&net), None).unwrap();
        let events = rec.events();
        let ops: Vec<&str> = events.iter().map(|e| e.op.as_str()).collect();
        let at = |op: &str| ops.iter().position(|o| o.starts_with(op)).unwrap();
        let lo = at("ioctl(sock, SIOCSIFFLAGS, {ifr_name=\"lo\"");
        let addr = at("RTM_NEWADDR eth0 10.88.0.7/16");
        let up = at("RTM_NEWLINK eth0 flags=IFF_UP");
        let route = at("RTM_NEWROUTE default via 10.88.0.1 dev eth0");
        assert!(lo < addr && addr < up && up < route, "{ops:?}");
        assert!(route < at("pivot_root"));
        assert!(matches!(
            events[addr].body,
            casulo_trace::EventBody::NetAddr { inside: true, .. }
        ));
    }

    /// A kernel that refuses the capability cut stops the container before
    /// its command runs (it would otherwise run with the whole root).
    #[test]
    fn a_refused_capability_cut_stops_the_container() {
        let tmp = tempfile::tempdir().unwrap();
        let (plan, spec) = plan_and_spec(tmp.path());
        let sys = FakeSyscalls::new();
        sys.fail_on("restrict_capabilities", Errno::EPERM);
        let rec = Recorder::in_memory();
        let (code, message) =
            setup(&Kernel::new(&sys, &rec), &plan, &spec, None, None).unwrap_err();
        assert_eq!(code, 125);
        assert!(
            message.contains("PR_CAPBSET_DROP") && message.contains("EPERM"),
            "{message}"
        );
        let last = rec.events().last().unwrap().clone();
        assert_eq!(last.body.kind(), "security.capabilities");
        assert!(!last.outcome.is_ok());
        assert!(!sys.calls().iter().any(|c| c == "set_no_new_privs"));
    }

    #[test]
    fn a_refused_call_becomes_an_engine_error_with_the_operation() {
        let tmp = tempfile::tempdir().unwrap();
        let plan = RootfsPlan::in_dir(tmp.path(), vec![], Default::default());
        let spec = ProcessSpec {
            args: vec!["sh".into()],
            env: vec![],
            cwd: "/".into(),
            hostname: "h".into(),
            user: String::new(),
            volumes: vec![],
            mounts: vec![],
            read_only: false,
            security: Default::default(),
        };
        std::fs::create_dir_all(&plan.merged).unwrap();
        let sys = FakeSyscalls::new();
        sys.fail_on("pivot_root", Errno::EINVAL);
        let rec = Recorder::in_memory();
        let (code, message) =
            setup(&Kernel::new(&sys, &rec), &plan, &spec, None, None).unwrap_err();
        assert_eq!(code, 125);
        assert!(
            message.contains("pivot_root") && message.contains("EINVAL"),
            "{message}"
        );
        assert_eq!(rec.events().last().unwrap().body.kind(), "mount.pivot_root");
    }
}
