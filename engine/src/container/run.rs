//! `run` = create + start + wait (+ rm with `--rm`): what `casulo run` does.
//!
//! Around the process, its cgroup: created and limited before the `clone`,
//! the init attached before it may go on, usage sampled by a second thread
//! while the command runs (started only after `exec`: until then casulo
//! stays single-threaded, as the fork-like `clone` needs), OOM kills and
//! refused forks checked at the end, and the cgroup removed on every path.
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

use super::create::{create_with, Prepared};
use super::{
    rm, start, wait, ContainerRecord, ContainerState, RunError, RunOptions, DEFAULT_SAMPLE_INTERVAL,
};
use crate::cgroups::{self, CgroupError, CgroupMode, ContainerCgroup, Resources};
use crate::kernel::{Kernel, Syscalls};
use crate::network::ports::Proxy;
use crate::network::{Attachment, NetDir, NetworkMode};
use crate::state::StateDir;

/// Hooks for the CLI to tell the user what is happening (the library never prints).
pub trait RunObserver {
    /// The container exists and its trace is open.
    fn created(&mut self, _record: &ContainerRecord) {}
    /// The container is on the bridge with this address, its ports published.
    fn network(&mut self, _ip: std::net::Ipv4Addr, _ports: &[crate::network::ports::PortSpec]) {}
    /// A signal was passed on to the container (`escalated`: it was SIGKILL).
    fn signal_forwarded(&mut self, _signal: Signal, _escalated: bool) {}
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
    observer.created(&created.record);
    let k = Kernel::new(sys, &created.recorder);
    let (id, name) = (created.record.id.clone(), created.record.name.clone());

    let cgroup = match make_cgroup(
        &k,
        Path::new(cgroups::DEFAULT_ROOT),
        &id,
        &opts.resources,
        opts.security.privileged,
    ) {
        Ok(cg) => cg,
        Err(e) => {
            abandon(&k, state, &created.record, None, None);
            return Err(e.into());
        }
    };
    // From here a Ctrl-C waits (blocked) until the container runs: then it
    // is forwarded, and every clean-up below still happens.
    wait::block_signals();
    let mut net = match opts.network {
        NetworkMode::Bridge => match Attachment::prepare(&k, &NetDir::host(), &id, &opts.publish) {
            Ok(attachment) => Some(attachment),
            Err(e) => {
                abandon(&k, state, &created.record, cgroup.as_ref(), None);
                return Err(e.into());
            }
        },
        NetworkMode::None => None,
    };
    let pid = match start::start(&k, &created, cgroup.as_ref(), net.as_ref()) {
        Ok(pid) => pid,
        Err(e) => {
            abandon(&k, state, &created.record, cgroup.as_ref(), net.as_mut());
            return Err(e);
        }
    };
    let ip = net.as_ref().map(|n| n.lease.ip);
    let running = |r: &mut ContainerRecord| {
        r.state = ContainerState::Running;
        r.pid = Some(pid.as_raw());
        r.ip = ip;
    };
    let mut record = created.record.clone();
    running(&mut record);
    let _ = super::record::update(&created.dir, running);
    // The published ports start serving now that the command runs (threads
    // only after the clone: see the module docs).
    if let Some(n) = &net {
        observer.network(n.lease.ip, &opts.publish);
    }
    let proxy = net
        .as_mut()
        .filter(|n| !n.bound.is_empty())
        .map(|n| Proxy::start(std::mem::take(&mut n.bound), n.lease.ip));

    let interval = opts.sample_interval.unwrap_or(DEFAULT_SAMPLE_INTERVAL);
    let status = std::thread::scope(|scope| {
        let (stop, stopped) = mpsc::channel::<()>();
        if let Some(cg) = &cgroup {
            scope.spawn(move || {
                // One sample now, then one per interval until told to stop
                // (the sender dropped: Disconnected).
                cg.sample(&k);
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    cg.sample(&k);
                }
            });
        }
        let status = wait::wait_for(&k, pid, &mut |sig, esc| {
            observer.signal_forwarded(sig, esc);
            // Paused from another terminal: frozen, it would never act on
            // the signal about to be sent (see `pause`), so it is thawed.
            if let Some(cg) = &cgroup {
                let _ = super::pause::thaw_after_signal(&k, cg.manager(), &created.dir);
            }
        });
        drop(stop);
        status
    });
    if status.is_err() {
        // waitpid itself failed: the command may still run. It must be gone
        // before its network and cgroup go (reaped if waitpid works at all).
        let _ = k.kill(pid, Signal::SIGKILL);
        let _ = k.wait(pid, true);
    }
    // The network goes first: no more connections to a container that is
    // gone (the host ports closed and free again), its veth end deleted if
    // still there, its address given back.
    if let Some(proxy) = proxy {
        proxy.stop(&k);
    }
    if let Some(net) = &mut net {
        net.release(&k);
    }
    // What the container wrote (copy-ups included), before --rm removes it.
    super::diff::record_upper(
        &created.recorder,
        &created.dir.join("upper"),
        &created.record.lowerdirs,
    );
    let (report, leftover) = match &cgroup {
        Some(cg) => {
            // The last reading: the peak, and any OOM kill or refused fork
            // the sampler had no time to see.
            cg.sample(&k);
            let report = cg.check_events(&k);
            (Some(report), cg.destroy(&k).err().map(|e| e.to_string()))
        }
        None => (None, None),
    };
    // On an error from here the network and cgroup are already gone: what
    // is left is the container's directories and name (as with --rm).
    let status = match status {
        Ok(status) => status,
        Err(e) => {
            rm::remove_dirs(state, &id, &name);
            return Err(e);
        }
    };
    let exit_code = wait::exit_code(status);
    let exited = |r: &mut ContainerRecord| {
        r.state = ContainerState::Exited;
        r.pid = None;
        r.exit_code = Some(exit_code);
    };
    exited(&mut record);
    if opts.rm {
        rm::remove_dirs(state, &id, &name);
        rm::remove_anonymous_volumes(state, &record);
    } else if let Err(e) = super::record::update(&created.dir, exited) {
        // A record that still says "running" would be half-made.
        rm::remove_dirs(state, &id, &name);
        return Err(e);
    }
    Ok(RunOutcome {
        record,
        status,
        exit_code,
        trace_incomplete: created.recorder.write_failed(),
        cgroup: report,
        cgroup_leftover: leftover,
    })
}

/// An error path after create: undoes what exists so far — the network
/// (host veth end, address), the cgroup, the container's directories and
/// its name — best effort, so the caller reports the first error. The
/// trace stays: it tells what went wrong.
fn abandon(
    k: &Kernel,
    state: &StateDir,
    record: &ContainerRecord,
    cgroup: Option<&ContainerCgroup>,
    net: Option<&mut Attachment>,
) {
    if let Some(net) = net {
        net.release(k);
    }
    if let Some(cg) = cgroup {
        let _ = cg.destroy(k);
    }
    rm::remove_dirs(state, &record.id, &record.name);
    // A container that never ran keeps no anonymous volume made for it.
    rm::remove_anonymous_volumes(state, record);
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
