//! `exec`: a new process inside a running container, as `docker exec`.
//!
//! Nothing new is created: the process *joins* what the container's init
//! already has — its namespaces (`setns`, one `namespace.join` each), its
//! cgroup, its capabilities, `no_new_privs` and seccomp filter, its user,
//! environment and working directory — and then `execve`s the command.
//!
//! **The order** (runc's `nsexec`, youki's and crun's do the same steps):
//!
//! 1. casulo (on the host) opens `/proc/<init>/ns/*` of the container's
//!    init, checked to really be that container's init
//!    ([`super::init_alive`]), while the host's `/proc` is still in view;
//! 2. becomes non-dumpable (the child inherits it from the first
//!    instruction: the host's binary is never open to the container,
//!    see [`crate::security::host_binary`]);
//! 3. joins the container's **pid** namespace itself: for a pid namespace
//!    `setns` changes nothing of the caller, only where its *next child*
//!    is born (`/proc/self/ns/pid_for_children`);
//! 4. `fork`s: the child is born inside, with a pid of the container
//!    (the container's `ps` shows it), and in the container's **cgroup**
//!    on v2 (`clone3`); on v1 it waits on a pipe for casulo's go and then
//!    joins every hierarchy itself (`0` into `tasks`, as the init does: no
//!    RCU wait of a `cgroup.procs` write, 15–25 ms → 7–10 ms per `exec`
//!    here), while the host's `/sys/fs/cgroup` is still the one it sees;
//! 5. the child joins the **user** namespace first (with `--userns`: the
//!    others belong to it, and joining it gives the capabilities to join
//!    them), then **mnt** (the kernel moves its root and working directory
//!    to the container's `/`), **uts**, **ipc**, **net** and **cgroup**;
//! 6. `setsid`, then the container's root with `--userns`, the working
//!    directory (`-w` or the container's), the same security as the init
//!    ([`crate::security::harden`]), the user (`-u` or the container's),
//!    and `execve` of the command found in the container's `PATH` — the
//!    init's own last steps ([`super::init`]).
//!
//! casulo itself never enters the container's mounts or cgroup: when the
//! container stops, nothing of casulo is left in them. It waits for the
//! command and exits with its code, forwarding Ctrl-C (SIGINT, SIGTERM,
//! SIGHUP, SIGQUIT: the first one as is, the second as SIGKILL). With
//! `-d`, a waiter forked on the host (own session, `/dev/null` for stdin,
//! stdout and stderr) does all of the above and stays to wait for the
//! command, and casulo returns once the command runs. Every step is recorded in the
//! container's own trace ([`super::record::reopen_trace`]), after the
//! events of its run.
//!
//! When the container's init ends, the kernel kills every process of its
//! pid namespace: the exec'd command ends with the container.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use casulo_trace::NsKind;
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::start::pidfd_of_self;
use super::{init, wait, ContainerRecord, ContainerState, RunError};
use crate::cgroups;
use crate::kernel::{Forked, Kernel, Syscalls};
use crate::state::StateDir;
use crate::terminal::console;

/// What the user asked `casulo exec` for.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// The command and its arguments (found in the container's PATH).
    pub command: Vec<String>,
    /// `-e`: `KEY=value` (or `KEY` alone: casulo's own value), over the
    /// container's environment.
    pub env: Vec<String>,
    /// `-w`: absolute path inside the container (default: the container's).
    pub workdir: Option<String>,
    /// `-u`: `name`, `uid`, `name:group`, `uid:gid` (default: the container's).
    pub user: Option<String>,
    /// `--privileged`: every capability for this process (the container's
    /// seccomp filter and `no_new_privs` stay, as in docker).
    pub privileged: bool,
    /// `-d`: returns once the command runs; its stdin, stdout and stderr
    /// are `/dev/null`.
    pub detach: bool,
    /// `-i`: stdin is casulo's (otherwise `/dev/null`).
    pub interactive: bool,
    /// `-t`: a pseudo-terminal of its own, opened inside the container
    /// ([`crate::terminal::console`], as `run -t`), relayed to casulo's
    /// stdin (with `-i`) and stdout.
    pub tty: bool,
}

/// How an exec ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecOutcome {
    /// `-d`: the command runs; `pid` is its host pid.
    Detached { pid: Pid },
    /// The command ended: `exit_code` is its code, or 128 + the signal.
    Exited {
        pid: Pid,
        status: WaitStatus,
        exit_code: i32,
    },
}

/// The namespaces a process of the container is in, in the order the
/// child joins them (pid is joined by casulo before the fork).
const JOINED_BY_CHILD: [NsKind; 6] = [
    NsKind::User,
    NsKind::Mnt,
    NsKind::Uts,
    NsKind::Ipc,
    NsKind::Net,
    NsKind::Cgroup,
];

/// One namespace of the init to join: its open `/proc/<init>/ns/<kind>`.
struct NsHandle {
    kind: NsKind,
    file: File,
    inode: Option<u64>,
}

/// Runs `opts.command` in the container `key` names (id, name or prefix);
/// `on_signal(signal, escalated)` is told about every signal forwarded.
pub fn exec(
    state: &StateDir,
    key: &str,
    opts: &ExecOptions,
    sys: &dyn Syscalls,
    on_signal: &mut dyn FnMut(Signal, bool),
) -> Result<ExecOutcome, RunError> {
    let record = super::find(state, key)?;
    let init_pid = running_init(&record)?;
    let plan = plan(&record, opts)?;
    let namespaces = open_namespaces(init_pid)?;
    // The files opened above must be the init's, not those of a process
    // that got its pid after it died.
    if !super::init_alive(init_pid, &record.id) {
        return Err(RunError::NotRunning(record.name.clone()));
    }
    let rec = super::record::reopen_trace(state, &record)?;
    let k = Kernel::new(sys, &rec);
    let root = Path::new(cgroups::DEFAULT_ROOT);
    let entry = Entry {
        init_pid,
        plan,
        namespaces,
        // Rootless: the container's cgroup, if it has one (limits), is in
        // the user's delegated subtree.
        cgroup: if crate::rootless::active() {
            crate::rootless::delegation::find()
                .ok()
                .and_then(|d| cgroups::manager(cgroups::CgroupMode::V2, &d.dir, &record.id))
                .filter(|m| m.paths().iter().all(|p| p.is_dir()))
        } else {
            cgroups::manager(cgroups::detect_mode(root), root, &record.id)
        },
    };
    wait::block_signals();
    crate::security::host_binary::protect(&k)?;
    if opts.detach {
        return detached(&k, entry, opts.tty);
    }
    let (pid, waited) = if opts.tty {
        // The child opens its terminal inside and sends the master here.
        let (pid, console) = start_with_terminal(&k, entry, crate::terminal::caller_size(), false)?;
        let waited = crate::container::terminal_wait::wait_relaying(
            &k,
            pid,
            console,
            opts.interactive,
            on_signal,
        );
        (pid, waited)
    } else {
        let null = (!opts.interactive)
            .then(|| File::options().read(true).write(true).open("/dev/null"))
            .transpose()
            .map_err(|e| RunError::io("não consegui abrir", "/dev/null", e))?;
        let stdio = Stdio {
            null,
            console: None,
        };
        let pid = start_child(&k, entry, stdio, false)?;
        (pid, wait::wait_for(&k, pid, on_signal))
    };
    let status = match waited {
        Ok(status) => status,
        Err(e) => {
            let _ = k.kill(pid, Signal::SIGKILL);
            let _ = k.wait(pid, true);
            return Err(e);
        }
    };
    Ok(ExecOutcome::Exited {
        pid,
        status,
        exit_code: wait::exit_code(status),
    })
}

/// What the child joins, decided and opened on the host.
struct Entry {
    init_pid: i32,
    plan: Plan,
    namespaces: Vec<NsHandle>,
    cgroup: Option<Box<dyn cgroups::Manager>>,
}

/// Steps 3–6: casulo joins the pid namespace, forks, puts the child in the
/// cgroup and lets it go; returns the child's host pid once the command
/// runs. `stdio` says what its stdin, stdout and stderr become.
fn start_child(k: &Kernel, entry: Entry, stdio: Stdio, detach: bool) -> Result<Pid, RunError> {
    let Entry {
        init_pid,
        plan,
        namespaces,
        cgroup,
    } = entry;
    let pipe = || nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(std::io::Error::from);
    let (sync_rd, sync_wr) = pipe().map_err(|e| RunError::io("pipe", "sync", e))?;
    let (report_rd, report_wr) = pipe().map_err(|e| RunError::io("pipe", "report", e))?;
    let me = if detach { None } else { pidfd_of_self() };
    let (pid_ns, rest): (Vec<NsHandle>, Vec<NsHandle>) =
        namespaces.into_iter().partition(|n| n.kind == NsKind::Pid);
    for ns in &pid_ns {
        k.join_namespace(ns.kind, init_pid, ns.file.as_fd(), ns.inode)?;
    }
    // v1: the child, still in the host's user namespace, joins the cgroup
    // itself before it enters the container's mounts (see `Born::JoinsItself`).
    let (forked, born) = cgroups::clone_into(k, &[], cgroup.as_deref(), true)?;
    match forked {
        Forked::Child => {
            drop((sync_wr, report_rd));
            let child = Child {
                init_pid,
                namespaces: rest,
                cgroup: cgroup
                    .as_deref()
                    .filter(|_| born == cgroups::Born::JoinsItself),
                plan: &plan,
                parent: me,
                sync: Some(sync_rd),
                report: File::from(report_wr),
                stdio,
                detach,
            };
            child.run(k)
        }
        Forked::Parent(pid) => {
            drop((me, sync_rd, report_wr, rest, stdio));
            let attached = match (&cgroup, born) {
                (Some(cg), cgroups::Born::Outside) => cg.attach(k, pid).map_err(RunError::from),
                _ => Ok(()),
            };
            if let Err(e) = attached {
                // Closing the pipe unsaid makes the child exit (125).
                drop((sync_wr, report_rd));
                let _ = k.wait(pid, true);
                return Err(e);
            }
            super::start::release(
                k,
                pid,
                (sync_wr, report_rd),
                (&plan.args, &plan.env),
                (
                    "não consegui liberar o processo do exec",
                    "o processo do exec morreu antes de executar o comando",
                ),
            )?;
            Ok(pid)
        }
    }
}

/// `-d`: a waiter, forked on the host in a session of its own with
/// `/dev/null` for stdin, stdout and stderr, does the exec and stays to
/// wait for the command (its `process.exit` goes into the trace, and no
/// zombie is left for the host's init); casulo returns as soon as the
/// waiter says the command runs, or why it does not.
///
/// With `tty` (`exec -dt`, as docker's): the command gets a terminal of
/// the container's own, whose master the waiter holds and reads until the
/// command (and whatever else holds the terminal) is gone; what comes out
/// is dropped, as docker drops a detached exec's output.
fn detached(k: &Kernel, entry: Entry, tty: bool) -> Result<ExecOutcome, RunError> {
    let size = crate::terminal::caller_size();
    let (said_rd, said_wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| RunError::io("pipe", "exec -d", std::io::Error::from(e)))?;
    match k.clone_process(&[])? {
        Forked::Child => {
            drop(said_rd);
            k.recorder().set_pid(std::process::id() as i32);
            let mut said = File::from(said_wr);
            let null = || File::options().read(true).write(true).open("/dev/null");
            let started = null()
                .map_err(|e| RunError::io("não consegui abrir", "/dev/null", e))
                .and_then(|n| {
                    let _ = k.setsid();
                    Stdio::null(n)
                        .apply(k, true)
                        .map_err(|(code, message)| RunError::Init { code, message })
                })
                .and_then(|()| {
                    if tty {
                        return start_with_terminal(k, entry, size, true)
                            .map(|(pid, console)| (pid, Some(console.master)));
                    }
                    let n =
                        null().map_err(|e| RunError::io("não consegui abrir", "/dev/null", e))?;
                    start_child(k, entry, Stdio::null(n), true).map(|pid| (pid, None))
                });
            match started {
                Ok((pid, master)) => {
                    let _ = write!(said, "EXEC {pid}");
                    drop(said);
                    if let Some(master) = master {
                        drain(&master);
                    }
                    let _ = k.wait(pid, true);
                    init::exit(0)
                }
                Err(e) => init::fail(&mut said, e.exit_code(), &e.to_string()),
            }
        }
        Forked::Parent(waiter) => {
            drop((said_wr, entry));
            let mut text = String::new();
            let _ = File::from(said_rd).read_to_string(&mut text);
            if let Some(pid) = text.strip_prefix("EXEC ").and_then(|p| p.parse().ok()) {
                return Ok(ExecOutcome::Detached {
                    pid: Pid::from_raw(pid),
                });
            }
            // It failed: reap it (it has exited or is about to).
            let _ = k.wait(waiter, true);
            Err(match text.strip_prefix("FAIL ") {
                Some(rest) => {
                    let (code, message) = super::start::parse_failure(rest);
                    RunError::Init { code, message }
                }
                None => RunError::Init {
                    code: 125,
                    message: "o processo do exec -d morreu antes de executar o comando".into(),
                },
            })
        }
    }
}

/// `exec -t`'s child (`detach`: `-dt`'s), with a terminal it opens inside
/// the container; its pid and the terminal.
fn start_with_terminal(
    k: &Kernel,
    entry: Entry,
    size: crate::terminal::WindowSize,
    detach: bool,
) -> Result<(Pid, console::Console), RunError> {
    let (ours, theirs) =
        console::channel().map_err(|e| RunError::io("socketpair", "console", e))?;
    let stdio = Stdio {
        null: None,
        console: Some(console::Request {
            socket: theirs,
            size,
        }),
    };
    let pid = start_child(k, entry, stdio, detach)?;
    let what = "não recebi o terminal do exec";
    super::start::receive_console(k, pid, &ours, size, what).map(|console| (pid, console))
}

/// Reads a terminal's master until no process holds its slave (EIO),
/// dropping what it reads: a terminal nobody reads would fill up and block
/// the command's writes.
fn drain(master: &OwnedFd) {
    let mut buf = [0u8; 4096];
    loop {
        match nix::unistd::read(master.as_fd(), &mut buf) {
            Ok(0) => return,
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// The host pid of the container's running init, or why there is none.
fn running_init(record: &ContainerRecord) -> Result<i32, RunError> {
    match (record.state, record.pid) {
        (ContainerState::Running, Some(pid)) if super::init_alive(pid, &record.id) => Ok(pid),
        (ContainerState::Paused, _) => Err(RunError::Init {
            code: 125,
            message: format!(
                "o contêiner {:?} está pausado: nada roda nele até `casulo unpause {}`",
                record.name, record.name
            ),
        }),
        _ => Err(RunError::NotRunning(record.name.clone())),
    }
}

/// What the child becomes, decided on the host (errors before any fork).
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    args: Vec<String>,
    /// The container's environment, then `-e` (later wins).
    env: Vec<String>,
    cwd: String,
    /// `-u` or the container's user; empty: root.
    user: String,
    /// The container runs in its own user namespace (`--userns`).
    userns: bool,
    security: crate::security::SecurityOptions,
}

fn plan(record: &ContainerRecord, opts: &ExecOptions) -> Result<Plan, RunError> {
    if opts.command.is_empty() {
        return Err(RunError::Init {
            code: 125,
            message: "falta o comando a executar no contêiner".into(),
        });
    }
    let p = &record.process;
    let mut env = p.env.clone();
    if opts.user.is_some() && p.user.is_empty() {
        // create's default for root: the new user's HOME comes from passwd.
        env.retain(|e| e != "HOME=/root");
    }
    super::create::override_env(&mut env, &super::create::parse_env(&opts.env)?);
    let cwd = match &opts.workdir {
        Some(w) if !w.starts_with('/') => return Err(RunError::BadWorkdir(w.clone())),
        Some(w) => w.clone(),
        None => p.cwd.clone(),
    };
    let mut security = p.security.clone();
    if opts.privileged {
        // Every capability casulo has; seccomp and no_new_privs stay.
        security.cap_add = vec!["ALL".into()];
        security.cap_drop.clear();
    }
    Ok(Plan {
        args: opts.command.clone(),
        env,
        cwd,
        user: opts.user.clone().unwrap_or_else(|| p.user.clone()),
        userns: p.security.userns.is_some(),
        security,
    })
}

/// Opens the init's namespaces that differ from casulo's own (a container
/// without `--userns` shares the host's user namespace: nothing to join).
fn open_namespaces(init_pid: i32) -> Result<Vec<NsHandle>, RunError> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    for kind in [NsKind::Pid].into_iter().chain(JOINED_BY_CHILD) {
        let path = format!("/proc/{init_pid}/ns/{}", kind.proc_name());
        let file = File::open(&path)
            .map_err(|e| RunError::io("não consegui abrir o namespace do contêiner", &path, e))?;
        let inode = file.metadata().ok().map(|m| m.ino());
        if inode.is_some() && inode == crate::namespaces::inode(0, kind) {
            continue;
        }
        out.push(NsHandle { kind, file, inode });
    }
    Ok(out)
}

/// The forked child, born in the container's pid namespace.
struct Child<'a> {
    init_pid: i32,
    /// Every namespace but pid, in [`JOINED_BY_CHILD`]'s order.
    namespaces: Vec<NsHandle>,
    /// The cgroup to join first thing after the go (v1), as the init does.
    cgroup: Option<&'a dyn cgroups::Manager>,
    plan: &'a Plan,
    parent: Option<OwnedFd>,
    /// The parent's go: our host pid, 4 bytes (taken when read).
    sync: Option<OwnedFd>,
    report: File,
    stdio: Stdio,
    detach: bool,
}

impl Child<'_> {
    fn run(mut self, k: &Kernel) -> ! {
        if !self.detach {
            // SAFETY: prctl with integer arguments.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        }
        let mut pid = [0u8; 4];
        let go = self
            .sync
            .take()
            .map(|fd| File::from(fd).read_exact(&mut pid));
        if !matches!(go, Some(Ok(()))) {
            // casulo gave up (cgroup refused, …) or died: nothing to do.
            init::fail(&mut self.report, 125, "o casulo desistiu do exec");
        }
        if self.parent.as_ref().is_some_and(init::has_exited) {
            init::fail(&mut self.report, 125, "o casulo morreu antes do exec");
        }
        drop(self.parent.take());
        let host_pid = i32::from_le_bytes(pid);
        k.recorder().set_pid(host_pid);
        // Before `setns` into the container's mounts: the host's
        // `/sys/fs/cgroup` is still ours to see.
        if let Some(cgroup) = self.cgroup {
            if let Err(e) = cgroup.join_itself(k, host_pid) {
                init::fail(&mut self.report, 125, &e.to_string());
            }
        }
        let plan = self.plan;
        match self.enter(k) {
            Ok(path) => {
                let env = match init::become_user(k, &plan.user, plan.env.clone()) {
                    Ok(env) => env,
                    Err((code, message)) => init::fail(&mut self.report, code, &message),
                };
                init::exec_command(k, &mut self.report, &path, &plan.args, &env)
            }
            Err((code, message)) => init::fail(&mut self.report, code, &message),
        }
    }

    /// Steps 5–6 up to the user: returns the command's resolved path.
    fn enter(&mut self, k: &Kernel) -> Result<String, (i32, String)> {
        let plan = self.plan;
        for ns in &self.namespaces {
            k.join_namespace(ns.kind, self.init_pid, ns.file.as_fd(), ns.inode)
                .map_err(|e| {
                    let ns = ns.kind.proc_name();
                    (
                        125,
                        format!("não consegui entrar no namespace {ns} do contêiner: {e}"),
                    )
                })?;
        }
        self.namespaces.clear();
        let engine = |e: crate::kernel::KernelError| (125, format!("falha no exec: {e}"));
        k.setsid().map_err(engine)?;
        std::mem::take(&mut self.stdio).apply(k, self.detach)?;
        if plan.userns {
            // casulo's uid 0 is not mapped in the container's namespace:
            // become its root, as the init did (host uid 100000 or so).
            let root = super::user::resolve("0", "", "").expect("uid 0 always resolves");
            k.switch_user(&root).map_err(engine)?;
        }
        k.chdir(Path::new(&plan.cwd)).map_err(|e| {
            (
                126,
                format!(
                    "diretório de trabalho {:?} inacessível no contêiner: {}",
                    plan.cwd,
                    crate::kernel::errno_text(e.errno)
                ),
            )
        })?;
        crate::security::harden(k, &plan.security).map_err(engine)?;
        let path_var = plan
            .env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or(super::DEFAULT_PATH);
        init::find_command(&plan.args[0], path_var)
    }
}

/// The child's stdin, stdout and stderr: casulo's, except `/dev/null` for
/// stdin without `-i`, and for all three with `-d`; with `-t`, a terminal
/// of its own.
#[derive(Default)]
struct Stdio {
    /// `/dev/null`, for stdin (without `-i`) and for all three with `-d`.
    null: Option<File>,
    /// `-t`: the console socket the terminal's master goes back on.
    console: Option<console::Request>,
}

impl Stdio {
    fn null(null: File) -> Stdio {
        Stdio {
            null: Some(null),
            console: None,
        }
    }

    /// In the child, a session leader inside the container's namespaces:
    /// with `-t`, the pty is opened from the container's `/dev/ptmx` and
    /// becomes 0, 1, 2 and the controlling terminal (`TIOCSCTTY`), its
    /// master sent to casulo, as the init of `run -t` does.
    fn apply(self, k: &Kernel, detach: bool) -> Result<(), (i32, String)> {
        if let Some(request) = self.console {
            return console::open_in_init(k, request).map_err(|e| (125, e.to_string()));
        }
        let Some(null) = self.null else {
            return Ok(());
        };
        let targets: &[i32] = if detach { &[0, 1, 2] } else { &[0] };
        for &fd in targets {
            // SAFETY: dup2 onto a standard descriptor of this process.
            if unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), fd) } < 0 {
                let e = std::io::Error::last_os_error();
                return Err((
                    125,
                    format!("não consegui redirecionar o descritor {fd}: {e}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::record::tests::sample;

    #[test]
    fn the_plan_takes_the_container_s_process_and_the_options_over_it() {
        let mut record = sample(&"a".repeat(64), "web");
        record.process.env = vec!["PATH=/bin".into(), "HOME=/root".into(), "A=1".into()];
        record.process.cwd = "/srv".into();
        let plain = plan(
            &record,
            &ExecOptions {
                command: vec!["ls".into()],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(plain.env, record.process.env);
        assert_eq!((plain.cwd.as_str(), plain.user.as_str()), ("/srv", ""));
        assert!(!plain.userns);

        let opts = ExecOptions {
            command: vec!["ls".into()],
            env: vec!["A=2".into(), "B=3".into()],
            workdir: Some("/tmp".into()),
            user: Some("1000".into()),
            privileged: true,
            ..Default::default()
        };
        let p = plan(&record, &opts).unwrap();
        assert_eq!(p.env, ["PATH=/bin", "A=2", "B=3"], "HOME vem do passwd");
        assert_eq!((p.cwd.as_str(), p.user.as_str()), ("/tmp", "1000"));
        assert_eq!(p.security.cap_add, ["ALL"]);
        assert_eq!(p.security.seccomp, record.process.security.seccomp);

        let relative = ExecOptions {
            workdir: Some("tmp".into()),
            ..opts.clone()
        };
        assert!(matches!(
            plan(&record, &relative),
            Err(RunError::BadWorkdir(_))
        ));
        let bad_env = ExecOptions {
            env: vec!["=x".into()],
            ..opts
        };
        assert!(matches!(plan(&record, &bad_env), Err(RunError::BadEnv(_))));
    }

    #[test]
    fn only_a_running_container_can_be_entered() {
        let mut record = sample(&"b".repeat(64), "parado");
        record.state = ContainerState::Exited;
        let err = running_init(&record).unwrap_err().to_string();
        assert!(err.contains("\"parado\" não está rodando"), "{err}");
        record.state = ContainerState::Paused;
        record.pid = Some(1);
        let err = running_init(&record).unwrap_err().to_string();
        assert!(
            err.contains("pausado") && err.contains("casulo unpause parado"),
            "{err}"
        );
        // "Running" with a pid that is not this container's init.
        record.state = ContainerState::Running;
        record.pid = Some(std::process::id() as i32);
        assert!(matches!(
            running_init(&record),
            Err(RunError::NotRunning(_))
        ));
    }

    /// casulo's own namespaces are skipped: joining them would do nothing.
    #[test]
    fn a_process_s_own_namespaces_are_not_joined() {
        let me = std::process::id() as i32;
        assert!(open_namespaces(me).unwrap().is_empty());
    }
}

#[cfg(test)]
mod sequence_tests {
    use super::*;
    use crate::kernel::double::FakeSyscalls;
    use crate::recorder::Recorder;

    /// The child's side, without root: user namespace first, then the
    /// others, the session, the working directory and the init's
    /// security, in that order, each a trace event.
    #[test]
    fn the_child_joins_user_first_then_the_rest_then_hardens() {
        let mut record = crate::container::record::tests::sample(&"c".repeat(64), "c");
        record.process.env = vec!["PATH=/bin:/usr/bin".into()];
        let mut plan = plan(
            &record,
            &ExecOptions {
                command: vec!["sh".into()],
                ..Default::default()
            },
        )
        .unwrap();
        plan.userns = true;
        let namespaces = JOINED_BY_CHILD
            .iter()
            .map(|&kind| NsHandle {
                kind,
                file: File::open(format!("/proc/self/ns/{}", kind.proc_name())).unwrap(),
                inode: Some(7),
            })
            .collect();
        let (sync, _) = nix::unistd::pipe().unwrap();
        let mut child = Child {
            init_pid: 99,
            namespaces,
            cgroup: None,
            plan: &plan,
            parent: None,
            sync: Some(sync),
            report: File::create("/dev/null").unwrap(),
            stdio: Stdio::default(),
            detach: false,
        };
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let path = child.enter(&Kernel::new(&sys, &rec)).unwrap();
        assert!(path.ends_with("/sh"), "{path}");
        let kinds: Vec<&str> = rec.events().iter().map(|e| e.body.kind()).collect();
        assert_eq!(
            kinds,
            [
                "namespace.join",
                "namespace.join",
                "namespace.join",
                "namespace.join",
                "namespace.join",
                "namespace.join",
                "process.setsid",
                "process.user",
                "process.chdir",
                "security.capabilities",
                "security.no_new_privs",
                "security.seccomp"
            ]
        );
        assert!(
            sys.calls()[0].contains("CLONE_NEWUSER"),
            "{:?}",
            sys.calls()
        );
        let first = &rec.events()[0];
        assert_eq!(
            first.op, "setns(open(\"/proc/99/ns/user\"), CLONE_NEWUSER)",
            "{first:?}"
        );
    }

    /// A namespace the kernel refuses stops the child before anything else.
    #[test]
    fn a_refused_setns_stops_the_child_naming_the_namespace() {
        let record = crate::container::record::tests::sample(&"d".repeat(64), "d");
        let plan = plan(
            &record,
            &ExecOptions {
                command: vec!["sh".into()],
                ..Default::default()
            },
        )
        .unwrap();
        let (sync, _) = nix::unistd::pipe().unwrap();
        let mut child = Child {
            init_pid: 99,
            namespaces: vec![NsHandle {
                kind: NsKind::Net,
                file: File::open("/proc/self/ns/net").unwrap(),
                inode: None,
            }],
            cgroup: None,
            plan: &plan,
            parent: None,
            sync: Some(sync),
            report: File::create("/dev/null").unwrap(),
            stdio: Stdio::default(),
            detach: false,
        };
        let sys = FakeSyscalls::new();
        sys.fail_on("setns", nix::errno::Errno::EPERM);
        let rec = Recorder::in_memory();
        let (code, message) = child.enter(&Kernel::new(&sys, &rec)).unwrap_err();
        assert_eq!(code, 125);
        assert!(
            message.contains("namespace net") && message.contains("EPERM"),
            "{message}"
        );
        assert_eq!(rec.events().len(), 1);
    }
}
