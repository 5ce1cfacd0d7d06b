//! `kill`, `stop` and `wait` for a container that runs under a `casulo run`
//! in another terminal: signals go straight to its init (host pid from the
//! record); the `casulo run` that waits for it then records the exit (in
//! the record and in the trace) as for any other end.
//!
//! **The signals are in the container's trace**: the CLI reopens it
//! ([`record::reopen_trace`]) and its `kill(2)` calls go through the kernel
//! facade like any other event, with the next `seq` (the visualizer shows
//! who sent what, and when). A trace that cannot be reopened (removed)
//! leaves the events in memory; the signal still goes.
//!
//! **PID 1 and signals.** The init is PID 1 of its pid namespace: the
//! kernel delivers a signal sent from outside only if it has a handler for
//! it — except SIGKILL (and SIGSTOP), which are always delivered. So a
//! `sleep` that is PID 1 ignores `stop`'s SIGTERM, and `stop` escalates to
//! SIGKILL after the timeout, exactly as `docker stop` does.
//!
//! **A paused container** (frozen, [`super::pause`]) cannot act on a
//! signal: as docker, `kill` and `stop` thaw it right after sending theirs.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::str::FromStr;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{init_alive, pid_alive, record, ContainerRecord, ContainerState, RunError};
use crate::kernel::Kernel;
use crate::state::StateDir;

/// docker's `stop` timeout.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A signal as docker takes it: `KILL`, `SIGKILL`, `kill` or `9`.
pub fn parse_signal(text: &str) -> Option<Signal> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).ok();
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).ok()
}

/// The running init of `record`, or `NotRunning`.
///
/// A record can say "running" with a pid that is no longer the
/// container's: its `casulo run` was killed (the init died with it) and
/// the host gave the number to another process. Signalling that would hit
/// an innocent host process, so the pid must still be the init of *this*
/// container: pid 1 of a pid namespace of its own, in its cgroup.
fn running_pid(record: &ContainerRecord) -> Result<Pid, RunError> {
    match (record.state, record.pid) {
        (ContainerState::Running | ContainerState::Paused, Some(pid))
            if init_alive(pid, &record.id) =>
        {
            Ok(Pid::from_raw(pid))
        }
        _ => Err(RunError::NotRunning(record.name.clone())),
    }
}

/// `casulo kill`: sends `signal` to the container's init (and thaws it
/// if it was paused).
pub fn kill(
    k: &Kernel,
    state: &StateDir,
    record: &ContainerRecord,
    signal: Signal,
) -> Result<(), RunError> {
    let pid = running_pid(record)?;
    k.kill(pid, signal)?;
    super::pause::thaw_if_paused(state, record)?;
    Ok(())
}

/// How a `stop` went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It was not running: nothing to do (as docker, not an error).
    AlreadyStopped,
    /// It ended after the stop signal, within the timeout.
    BySignal(Signal),
    /// It was still there after the timeout: SIGKILL.
    Killed,
}

/// `casulo stop`: the container's StopSignal (SIGTERM by default), then
/// SIGKILL if its init is still there after `timeout`. Returns once the
/// init is gone and its `casulo run` has recorded the end (as docker, so
/// a `stop` then `rm` never races the run's clean-up).
pub fn stop(
    k: &Kernel,
    state: &StateDir,
    record: &ContainerRecord,
    timeout: Duration,
) -> Result<Stopped, RunError> {
    if record.is_up() {
        // Its --restart policy must not bring it back.
        let _ = record::update(&state.container(&record.id), |r| r.stopped_by_user = true);
    }
    let stopped = signal_until_gone(k, state, record, timeout)?;
    if stopped != Stopped::AlreadyStopped {
        // Gone, or removed by --rm: either way the run is done with it.
        let _ = wait_exit(state, record);
    }
    wait_supervisor_gone(state, record);
    Ok(stopped)
}

fn signal_until_gone(
    k: &Kernel,
    state: &StateDir,
    record: &ContainerRecord,
    timeout: Duration,
) -> Result<Stopped, RunError> {
    let pid = match running_pid(record) {
        Ok(pid) => pid,
        Err(_) => return Ok(Stopped::AlreadyStopped),
    };
    let signal = record
        .stop_signal
        .as_deref()
        .and_then(parse_signal)
        .unwrap_or(Signal::SIGTERM);
    // The pidfd first: from here "gone" is about this process, even if its
    // pid number is reused later.
    let pidfd = pidfd_open(pid);
    if let Err(e) = k.kill(pid, signal) {
        if e.errno == nix::errno::Errno::ESRCH {
            return Ok(Stopped::AlreadyStopped);
        }
        return Err(e.into());
    }
    super::pause::thaw_if_paused(state, record)?;
    if wait_gone(pid, pidfd.as_ref(), timeout) {
        return Ok(Stopped::BySignal(signal));
    }
    let _ = k.kill(pid, Signal::SIGKILL);
    // SIGKILL to a PID 1 cannot be refused; what takes time is the kernel
    // tearing down its namespace. Wait for it, without a limit, as docker.
    while !wait_gone(pid, pidfd.as_ref(), Duration::from_secs(60)) {}
    Ok(Stopped::Killed)
}

/// `casulo wait`: blocks until the container has ended and its `casulo run`
/// recorded it; its exit code (`None`: it ended but nobody recorded how —
/// its `casulo run` was killed too). A container removed as it ended
/// (`--rm`) has no record left: its code comes from its trace, as docker's
/// `wait` still answers for an `--rm` container.
pub fn wait_exit(state: &StateDir, record: &ContainerRecord) -> Result<Option<i32>, RunError> {
    let dir = state.container(&record.id);
    // The init's pid as last seen: its `process.exit` in the trace is the
    // one that counts (an `exec`'s process ends there too).
    let mut pid = record.pid;
    loop {
        let now = match record::load(&dir) {
            Ok(r) => r,
            // Removed as it ended (`--rm`): its code is in its trace.
            Err(_) if !dir.exists() => {
                return record::exit_in_trace(&record.trace, pid)
                    .map(Some)
                    .ok_or_else(|| RunError::Removed(record.name.clone()));
            }
            Err(e) => return Err(e),
        };
        pid = now.pid.or(pid);
        match (now.state, now.pid) {
            // Restarting: it did end (docker's wait returns then too).
            (ContainerState::Restarting, _) => return Ok(now.exit_code),
            (ContainerState::Exited, _) => {
                // Its keeper may still be finishing (the log's last lines,
                // --rm): done when it lets go, or starts it again.
                super::keeper::wait_released(&dir, KEEPER_LIMIT, || {
                    record::load(&dir).map_or(true, |r| r.state != ContainerState::Exited)
                });
                return Ok(now.exit_code);
            }
            (ContainerState::Running | ContainerState::Paused, Some(pid))
                if init_alive(pid, &record.id) =>
            {
                let pidfd = pidfd_open(Pid::from_raw(pid));
                wait_gone(
                    Pid::from_raw(pid),
                    pidfd.as_ref(),
                    Duration::from_millis(500),
                );
            }
            (ContainerState::Running | ContainerState::Paused, _) => {
                // The init is gone: its keeper records it in a moment,
                // unless it was killed as well (then nobody will).
                if !super::keeper::is_kept(&dir) && record::load(&dir).is_ok_and(|r| r.is_up()) {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            (ContainerState::Created, _) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Waits (up to [`KEEPER_LIMIT`]) until the container's keeper (its
/// supervisor or `casulo run`, see [`super::keeper`]) has finished with it:
/// its last record written, its cgroup removed, `--rm` done.
pub fn wait_supervisor_gone(state: &StateDir, record: &ContainerRecord) {
    super::keeper::wait_released(&state.container(&record.id), KEEPER_LIMIT, || false);
}

/// How long a verb waits for a keeper to finish tearing a container down
/// (it takes milliseconds; a cgroup whose last processes are slow to die
/// can take seconds).
pub const KEEPER_LIMIT: Duration = Duration::from_secs(30);

/// Waits up to `timeout` for `pid` to end (readable pidfd, or, without
/// one, `/proc/PID` gone); true if it did.
fn wait_gone(pid: Pid, pidfd: Option<&OwnedFd>, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match pidfd {
            Some(fd) => {
                let mut poll = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one pollfd on the stack, for a descriptor we own.
                let n = unsafe {
                    libc::poll(&mut poll, 1, left.as_millis().min(i32::MAX as u128) as i32)
                };
                if n > 0 {
                    return true;
                }
                if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
            }
            None => {
                if !pid_alive(pid.as_raw()) {
                    return true;
                }
                std::thread::sleep(left.min(Duration::from_millis(50)));
            }
        }
        if Instant::now() >= deadline {
            // A pidfd turns readable when the process exits, before it is
            // reaped; without one, a zombie still has /proc/PID.
            return pidfd.is_none() && !pid_alive(pid.as_raw());
        }
    }
}

/// `pidfd_open(pid, 0)`; `None` on a kernel without it (< 5.3) or if the
/// process is already gone.
fn pidfd_open(pid: Pid) -> Option<OwnedFd> {
    // SAFETY: integer arguments; a returned descriptor is ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    // SAFETY: a fresh descriptor nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_read_as_docker_reads_them() {
        assert_eq!(parse_signal("KILL"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("sigint"), Some(Signal::SIGINT));
        assert_eq!(parse_signal("SIGTERM"), Some(Signal::SIGTERM));
        assert_eq!(parse_signal("9"), Some(Signal::SIGKILL));
        assert_eq!(parse_signal("HUP"), Some(Signal::SIGHUP));
        assert_eq!(parse_signal("NADA"), None);
        assert_eq!(parse_signal("99"), None);
    }
}
