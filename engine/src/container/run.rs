//! `run` = create + start + wait (+ rm with `--rm`): what `casulo run` does.
//!
//! Around the process, its cgroup: created and limited before the `clone`,
//! the init attached before it may go on, usage sampled by a second thread
//! while the command runs (started only after `exec`: until then casulo
//! stays single-threaded, as the fork-like `clone` needs), OOM kills and
//! refused forks checked at the end, and the cgroup removed on every path.
//!
//! With `-t`, the container's terminal: the init opens it and sends its
//! master back ([`start::start_with`]); while the command runs, casulo
//! relays it to and from the user's terminal on the main thread
//! ([`crate::container::terminal_wait`]) instead of a plain wait.
//!
//! With `--network bridge`, around it too: the bridge, an address and the
//! published ports' host sockets before the `clone`, the veth pair before the
//! go ([`start`]), the proxy's threads after `exec`, and on every path the
//! proxy stopped, the host veth end deleted and the address released
//! ([`crate::network`]).

use std::path::Path;
use std::sync::mpsc;

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use super::create::{create_with, Created, Prepared};
use super::{
    rm, start, wait, ContainerRecord, ContainerState, RunError, RunOptions, DEFAULT_SAMPLE_INTERVAL,
};
use crate::cgroups::{self, CgroupError, CgroupMode, ContainerCgroup, Resources};
use crate::kernel::{Kernel, Syscalls};
use crate::network::ipam::Holder;
use crate::network::ports::Proxy;
use crate::network::{Attachment, NetDir, NetworkError};
use crate::state::StateDir;

/// Hooks for the CLI to tell the user what is happening (the library never prints).
pub trait RunObserver {
    /// The container exists and its trace is open.
    fn created(&mut self, _record: &ContainerRecord) {}
    /// Its command runs (`exec` done): the record says `running`. Threads
    /// may start from here (see the module docs).
    fn started(&mut self, _record: &ContainerRecord) {}
    /// The container is on the bridge with this address, its ports published.
    fn network(
        &mut self,
        _network: &crate::network::networks::Network,
        _ip: std::net::Ipv4Addr,
        _ports: &[crate::network::ports::PortSpec],
    ) {
    }
    /// A signal was passed on to the container (`escalated`: it was SIGKILL).
    fn signal_forwarded(&mut self, _signal: Signal, _escalated: bool) {}
    /// With `-t`: true when the container's terminal is served to `casulo
    /// attach`es from its directory ([`crate::container::terminal_hub`], the
    /// supervisor of a `-dit` container) rather than relayed to casulo's
    /// own stdin and stdout.
    fn serves_terminal(&self) -> bool {
        false
    }
}

/// How a run ended.
#[derive(Debug)]
pub struct RunOutcome {
    pub record: ContainerRecord,
    pub status: WaitStatus,
    /// casulo's exit code: the command's, or 128 + signal.
    pub exit_code: i32,
    /// Some events could not be written to the trace.
    pub trace_incomplete: bool,
    /// What the cgroup saw (OOM kills, refused forks), when there was one.
    pub cgroup: Option<cgroups::Report>,
    /// The cgroup could not be removed (the message says why).
    pub cgroup_leftover: Option<String>,
}

pub fn run(
    state: &StateDir,
    opts: &RunOptions,
    sys: &dyn Syscalls,
    observer: &mut dyn RunObserver,
) -> Result<RunOutcome, RunError> {
    run_with(state, opts, None, sys, observer)
}

/// [`run`] on a [`Prepared`] image and trace (a `RUN` step of a build).
pub fn run_with(
    state: &StateDir,
    opts: &RunOptions,
    prepared: Option<Prepared>,
    sys: &dyn Syscalls,
    observer: &mut dyn RunObserver,
) -> Result<RunOutcome, RunError> {
    opts.resources.validate().map_err(RunError::BadLimit)?;
    let created = create_with(state, opts, prepared)?;
    // This casulo keeps the container until it is done with it, --rm included.
    let _keeper = match super::keeper::hold(&created.dir) {
        Ok(keeper) => keeper,
        Err(e) => {
            rm::remove_dirs(state, &created.record.id, &created.record.name);
            return Err(e);
        }
    };
    observer.created(&created.record);
    let at_exit = if opts.rm {
        AtExit::Removed
    } else {
        AtExit::Record
    };
    let lived = live(&created, sys, observer, Sampling::Steady, at_exit);
    let record = &created.record;
    match &lived {
        // A container that never ran keeps no directory, name or anonymous
        // volume; one that ran keeps them unless --rm.
        Err(_) => {
            rm::remove_dirs(state, &record.id, &record.name);
            rm::remove_anonymous_volumes(state, record);
        }
        Ok(outcome) if opts.rm => {
            rm::remove_dirs(state, &record.id, &record.name);
            rm::remove_anonymous_volumes(state, &outcome.record);
        }
        Ok(_) => {}
    }
    lived
}

/// What [`live`] does with the container's record once its command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtExit {
    /// It says `exited`, with the code and the time: `ps -a`, `wait`,
    /// `start` and the supervisor's restart policy read it.
    Record,
    /// Nothing written: the caller removes the container right away
    /// (`casulo run --rm` in a terminal). Rewriting a record about to be
    /// deleted cost a temp file and a `rename` on the host's disk (~0.3 ms
    /// of a ~8 ms run here, #19); the code stays in the trace's
    /// `process.exit`, where `casulo wait` and the daemon read it once the
    /// record is gone ([`super::record::exit_in_trace`]).
    Removed,
}

/// How often the cgroup's usage goes into the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// Every interval (the record's, or [`DEFAULT_SAMPLE_INTERVAL`]) until
    /// the end: a container someone watches in a terminal.
    Steady,
    /// As `Steady` for the first [`DETACHED_FAST_FOR`], then every
    /// [`DETACHED_SLOW_INTERVAL`]: a `-d` container may live for days, and
    /// five samples a second would grow its trace by ~100 MB a day.
    Detached,
}

/// See [`Sampling::Detached`].
pub const DETACHED_FAST_FOR: std::time::Duration = std::time::Duration::from_secs(10);
/// See [`Sampling::Detached`].
pub const DETACHED_SLOW_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Starts a created container and lives with it until it ends: its cgroup,
/// its network, the `clone`, the sampler, the wait, and the clean-up of all
/// of it on every path; the record says `running` while it runs and
/// `exited` (code and time) after. Shared by `casulo run` in a terminal and
/// by the supervisor of a `-d` container (which may call it again for
/// `--restart`). On an error the container's directories stay: the caller
/// decides (a new container goes, an old one being started again stays).
///
/// The steps, in order: [`make_cgroup`], [`attach`] (the network),
/// [`launch`] (the `clone`, pasta, the served terminal), [`mark_running`],
/// [`watch`] (sampler, DNS, the wait), [`teardown`], [`mark_exited`].
pub fn live(
    created: &Created,
    sys: &dyn Syscalls,
    observer: &mut dyn RunObserver,
    sampling: Sampling,
    at_exit: AtExit,
) -> Result<RunOutcome, RunError> {
    let k = Kernel::new(sys, &created.recorder);
    // Everything up to the `execve` is written in one go, with the init's
    // own events (it ends the batch there): see `recorder`.
    let before_exec = created.recorder.batch();
    let cgroup = make_cgroup(
        &k,
        Path::new(cgroups::DEFAULT_ROOT),
        &created.record.id,
        &created.record.host.resources,
        created.record.process.security.privileged,
    )?;
    // From here a Ctrl-C waits (blocked) until the container runs: then it
    // is forwarded, and every clean-up below still happens.
    wait::block_signals();
    let mut net = match attach(&k, created) {
        Ok(net) => net,
        Err(e) => {
            abandon(&k, cgroup.as_ref(), None);
            return Err(e.into());
        }
    };
    let mut launched = launch(&k, created, cgroup.as_ref(), &mut net, observer)?;
    drop(before_exec);
    mark_running(created, launched.pid, net.as_ref(), observer);
    // The published ports start serving now that the command runs (threads
    // only after the clone: see the module docs).
    let proxy = net
        .as_mut()
        .filter(|n| !n.bound.is_empty())
        .map(|n| Proxy::start(std::mem::take(&mut n.bound), n.lease.ip));
    // The network's DNS answers from a thread of this casulo (see
    // `network::dns`), until the container ends.
    let dns = net
        .as_mut()
        .and_then(|n| Some((n.dns.take()?, n.network.name.clone())));
    let pid = launched.pid;
    let status = watch(
        &k,
        created,
        cgroup.as_ref(),
        &mut launched,
        dns,
        sampling,
        observer,
    );
    if status.is_err() {
        // waitpid itself failed: the command may still run. It must be gone
        // before its network and cgroup go (reaped if waitpid works at all).
        let _ = k.kill(pid, Signal::SIGKILL);
        let _ = k.wait(pid, true);
    }
    // The clean-up's events, back to back, in one write too.
    let cleaning = created.recorder.batch();
    let (report, leftover) = teardown(
        &k,
        created,
        proxy,
        launched.pasta,
        net.as_mut(),
        cgroup.as_ref(),
    );
    drop(cleaning);
    // On an error from here the network and cgroup are already gone.
    let status = status?;
    let exit_code = wait::exit_code(status);
    Ok(RunOutcome {
        record: mark_exited(created, exit_code, at_exit)?,
        status,
        exit_code,
        trace_incomplete: created.recorder.write_failed(),
        cgroup: report,
        cgroup_leftover: leftover,
    })
}

/// With `-t`: the container's terminal, and the `attach` socket when it
/// is served.
type Console = (
    crate::terminal::console::Console,
    Option<crate::terminal::attach::Listener>,
);

/// The container's process once [`launch`]ed.
struct Launched {
    pid: nix::unistd::Pid,
    /// Taken by [`watch`].
    console: Option<Console>,
    /// Rootless: the pasta giving it its network.
    pasta: Option<crate::rootless::pasta::Pasta>,
}

/// The `clone` ([`start::start_with`]), with pasta started while the init
/// waits for its go, and with `-t` served to `attach`es, its socket bound.
/// On an error, what exists so far is undone ([`abandon`]).
fn launch(
    k: &Kernel,
    created: &Created,
    cgroup: Option<&ContainerCgroup>,
    net: &mut Option<Attachment>,
    observer: &mut dyn RunObserver,
) -> Result<Launched, RunError> {
    let host = &created.record.host;
    // -t: the init opens a terminal of the user's window size (the one
    // at `run`, for a supervisor that has no terminal around it).
    let terminal = host.tty.then(|| {
        host.console_size
            .map(|[rows, cols]| crate::terminal::WindowSize { rows, cols })
            .unwrap_or_else(crate::terminal::caller_size)
    });
    // Rootless: pasta gives the container its network (outbound, and the
    // `-p` ports) while the init still waits for its go, so even the
    // shortest command finds `eth0` up (`crate::rootless::pasta`).
    let mut pasta = None;
    let wants_pasta = crate::rootless::active() && (host.pasta || !created.record.ports.is_empty());
    let mut before_go = |pid: nix::unistd::Pid| {
        if wants_pasta {
            match crate::rootless::pasta::start(
                &created.recorder,
                &created.dir,
                pid.as_raw(),
                &created.record.ports,
            ) {
                Ok(started) => pasta = Some(started),
                // Only the default way out failed (no -p asked): the
                // container runs with `lo` alone, as with `--network none`;
                // the failed `net.pasta` in the trace says why.
                Err(_) if created.record.ports.is_empty() => {}
                Err(message) => return Err(RunError::Init { code: 125, message }),
            }
        }
        Ok(())
    };
    let started = start::start_with(k, created, cgroup, net.as_ref(), terminal, &mut before_go);
    let (pid, console) = match started {
        Ok(started) => started,
        Err(e) => {
            if let Some(p) = pasta.take() {
                p.stop(&created.recorder);
            }
            abandon(k, cgroup, net.as_mut());
            return Err(e);
        }
    };
    // A served terminal: its socket exists before the container is said
    // to run, so an `attach` right after `run -dit` finds it.
    let console = match (console, observer.serves_terminal()) {
        (Some(console), true) => match crate::terminal::attach::Listener::bind(&created.dir) {
            Ok(listener) => Some((console, Some(listener))),
            Err(e) => {
                let _ = k.kill(pid, Signal::SIGKILL);
                let _ = k.wait(pid, true);
                if let Some(p) = pasta.take() {
                    p.stop(&created.recorder);
                }
                abandon(k, cgroup, net.as_mut());
                let path = created.dir.join(crate::terminal::attach::SOCKET);
                return Err(RunError::io(
                    "não consegui criar o socket do attach",
                    path,
                    e,
                ));
            }
        },
        (console, _) => console.map(|c| (c, None)),
    };
    Ok(Launched {
        pid,
        console,
        pasta,
    })
}

/// The record says `running` (pid, address, start time), and the observer
/// hears of it and of the network.
fn mark_running(
    created: &Created,
    pid: nix::unistd::Pid,
    net: Option<&Attachment>,
    observer: &mut dyn RunObserver,
) {
    let ip = net.map(|n| n.lease.ip);
    let started_at = now_rfc3339();
    let running = |r: &mut ContainerRecord| {
        r.state = ContainerState::Running;
        r.pid = Some(pid.as_raw());
        r.ip = ip;
        r.exit_code = None;
        r.started_at = Some(started_at.clone());
        r.finished_at = None;
    };
    let mut record = created.record.clone();
    running(&mut record);
    if let Ok(now) = super::record::update(&created.dir, running) {
        record = now;
    }
    observer.started(&record);
    if let Some(n) = net {
        observer.network(&n.network, n.lease.ip, &created.record.ports);
    }
}

/// Lives beside the running command until it ends: the cgroup's sampler
/// and the network's DNS on their own threads, the wait (or the terminal's
/// relay, or the `attach`es' hub) on this one, signals forwarded.
fn watch(
    k: &Kernel,
    created: &Created,
    cgroup: Option<&ContainerCgroup>,
    launched: &mut Launched,
    dns: Option<(crate::network::dns::Sockets, String)>,
    sampling: Sampling,
    observer: &mut dyn RunObserver,
) -> Result<WaitStatus, RunError> {
    let host = &created.record.host;
    let (pid, console) = (launched.pid, launched.console.take());
    let dns_stop = std::sync::atomic::AtomicBool::new(false);
    let interval = host
        .sample_interval_ms
        .map(std::time::Duration::from_millis)
        .unwrap_or(DEFAULT_SAMPLE_INTERVAL);
    std::thread::scope(|scope| {
        let (stop, stopped) = mpsc::channel::<()>();
        let mut stopped = Some(stopped);
        // One sample per interval until told to stop (the sender dropped:
        // Disconnected); the teardown takes the last one. None right at the
        // start: a short command would share its CPU with reading the
        // cgroup's files (on a one-CPU VM, the reading delayed its end by
        // ~5 ms), for a sample of a process that has barely begun. Without
        // a terminal the thread itself starts only after that first
        // interval (`wait_for_then`): most short commands never need it.
        let mut start_sampler = |first: std::time::Duration| {
            let (Some(cg), Some(stopped)) = (cgroup, stopped.take()) else {
                return;
            };
            scope.spawn(move || {
                let began = std::time::Instant::now();
                let mut wait = first;
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                    cg.sample(k);
                    wait = if sampling == Sampling::Detached && began.elapsed() >= DETACHED_FAST_FOR
                    {
                        DETACHED_SLOW_INTERVAL.max(interval)
                    } else {
                        interval
                    };
                }
            });
        };
        if console.is_some() {
            start_sampler(interval);
        }
        if let Some((socket, network)) = dns {
            let stop = &dns_stop;
            scope.spawn(move || {
                crate::network::dns::serve(k, socket, &network, &NetDir::host(), stop)
            });
        }
        let on_forward = &mut |sig, esc| {
            observer.signal_forwarded(sig, esc);
            // Paused from another terminal: frozen, it would never act on
            // the signal about to be sent (see `pause`), so it is thawed.
            if let Some(cg) = cgroup {
                let _ = super::pause::thaw_after_signal(k, cg.manager(), &created.dir);
            }
        };
        let status = match console {
            Some((console, Some(listener))) => crate::container::terminal_hub::serve(
                k,
                pid,
                console,
                listener,
                super::logs::LogWriter::open(&created.dir, "stdout"),
                crate::container::terminal_hub::Serving {
                    interactive: host.interactive,
                    keep: host.attach_before_start,
                },
                on_forward,
            ),
            Some((console, None)) => crate::container::terminal_wait::wait_relaying(
                k,
                pid,
                console,
                host.interactive,
                on_forward,
            ),
            None => wait::wait_for_then(
                k,
                pid,
                on_forward,
                Some((interval, &mut || start_sampler(std::time::Duration::ZERO))),
            ),
        };
        drop(stop);
        dns_stop.store(true, std::sync::atomic::Ordering::Relaxed);
        status
    })
}

/// After the command ended, in this order: the network, what the
/// container wrote, then the cgroup's last reading and its removal.
/// Returns what the cgroup saw and why it could not go, if so.
fn teardown(
    k: &Kernel,
    created: &Created,
    proxy: Option<Proxy>,
    pasta: Option<crate::rootless::pasta::Pasta>,
    net: Option<&mut Attachment>,
    cgroup: Option<&ContainerCgroup>,
) -> (Option<cgroups::Report>, Option<String>) {
    // The network goes first: no more connections to a container that is
    // gone (the host ports closed and free again), its veth end deleted if
    // still there, its address given back.
    if let Some(proxy) = proxy {
        proxy.stop(k);
    }
    if let Some(pasta) = pasta {
        pasta.stop(&created.recorder);
    }
    if let Some(net) = net {
        net.release(k);
    }
    // What the container wrote (copy-ups included), before --rm removes it.
    super::diff::record_upper(
        &created.recorder,
        &crate::mounts::upper_of(&created.dir),
        &created.record.lowerdirs,
    );
    match cgroup {
        Some(cg) => {
            // The last reading: the peak, and any OOM kill or refused fork
            // the sampler had no time to see.
            let report = cg.sample(k);
            (Some(report), cg.destroy(k).err().map(|e| e.to_string()))
        }
        None => (None, None),
    }
}

/// The record says `exited`, with its code and end time. A record that
/// still says "running" would be half-made: the caller hears of it. With
/// [`AtExit::Removed`] the record is only made in memory.
fn mark_exited(
    created: &Created,
    exit_code: i32,
    at_exit: AtExit,
) -> Result<ContainerRecord, RunError> {
    let finished_at = now_rfc3339();
    let exited = |r: &mut ContainerRecord| {
        r.state = ContainerState::Exited;
        r.pid = None;
        r.exit_code = Some(exit_code);
        r.finished_at = Some(finished_at.clone());
    };
    match at_exit {
        AtExit::Record => super::record::update(&created.dir, exited),
        AtExit::Removed => {
            let mut record = created.record.clone();
            exited(&mut record);
            Ok(record)
        }
    }
}

/// Now, as docker writes `State.StartedAt` (RFC 3339, nanoseconds, UTC).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string()
}

/// The container's network before its `clone`, if it has one: its
/// network looked up (a user network may have been removed since
/// `create`), its bridge, its address and its published ports.
fn attach(k: &Kernel, created: &Created) -> Result<Option<Attachment>, NetworkError> {
    let record = &created.record;
    let Some(name) = record.network.network_name() else {
        return Ok(None);
    };
    let net = NetDir::host();
    let network = net.networks().load(name)?;
    if !network.is_default() {
        write_resolv_conf(&created.dir)?;
    }
    let who = Holder {
        container_id: &record.id,
        name: &record.name,
        aliases: &record.host.network_aliases,
        ip: record.host.ip,
        ..Holder::default()
    };
    Attachment::prepare(
        k,
        &net,
        &network,
        &who,
        &record.ports,
        record.host.publish_dnat,
    )
    .map(|mut a| {
        a.joined = record.host.networks_joined.clone();
        Some(a)
    })
}

/// A user network's container asks the network's DNS
/// ([`crate::network::dns`]): its `/etc/resolv.conf`, written into its
/// upper layer before the overlay is mounted (it replaces the image's).
fn write_resolv_conf(dir: &Path) -> Result<(), NetworkError> {
    let etc = crate::mounts::upper_of(dir).join("etc");
    let path = etc.join("resolv.conf");
    let io = |source| NetworkError::Io {
        what: "não consegui escrever o /etc/resolv.conf do contêiner",
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&etc).map_err(io)?;
    // A symlink left there by the image or the container is replaced, not followed.
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, crate::network::dns::RESOLV_CONF).map_err(io)
}

/// An error path before the container runs: undoes what exists so far —
/// the network (host veth end, address) and the cgroup — best effort, so
/// the caller reports the first error. The trace stays: it tells what went
/// wrong.
fn abandon(k: &Kernel, cgroup: Option<&ContainerCgroup>, net: Option<&mut Attachment>) {
    if let Some(net) = net {
        net.release(k);
    }
    if let Some(cg) = cgroup {
        let _ = cg.destroy(k);
    }
}

/// The container's cgroup under `root`, in the host's mode, with its
/// limits and device allow-list (every device when `privileged`). A host
/// with no usable cgroups runs containers without one, unless limits beyond
/// the default pids limit were asked.
fn make_cgroup(
    k: &Kernel,
    root: &Path,
    id: &str,
    resources: &Resources,
    privileged: bool,
) -> Result<Option<ContainerCgroup>, CgroupError> {
    // Rootless: a cgroup only for limits, in the user's delegated subtree
    // (without one they were refused up front: `crate::rootless::delegation`).
    if crate::rootless::active() {
        if resources.is_default() {
            return Ok(None);
        }
        let delegated =
            crate::rootless::delegation::find().map_err(|why| CgroupError::Delegation {
                why: why.to_string(),
            })?;
        delegated
            .make_room()
            .map_err(|why| CgroupError::Delegation { why })?;
        let manager = cgroups::manager(CgroupMode::V2, &delegated.dir, id).expect("v2 manager");
        return ContainerCgroup::create(k, manager, resources, privileged).map(Some);
    }
    let mode = cgroups::detect_mode(root);
    match cgroups::manager(mode, root, id) {
        Some(manager) => ContainerCgroup::create(k, manager, resources, privileged).map(Some),
        None if resources.is_default() => Ok(None),
        None => Err(CgroupError::Unsupported {
            root: root.to_path_buf(),
            mode: CgroupMode::as_str(mode),
        }),
    }
}
