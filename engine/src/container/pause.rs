//! `pause` and `unpause`: every process of a running container frozen
//! where it stands, then let go, with the cgroup freezer (v1: the
//! `freezer` controller; v2: `cgroup.freeze`, see [`crate::cgroups`]).
//! Nothing is sent to the processes: they are simply not scheduled, so a
//! program cannot notice, block or handle it (unlike `SIGSTOP`).
//!
//! Each freeze and thaw is a `cgroup.freeze` event in the container's own
//! trace (reopened: [`record::reopen_trace`]), and the record goes to
//! `paused` and back to `running`. Both happen under the record's lock, so
//! a `pause` racing an `unpause` or a `stop` never leaves the record saying
//! the opposite of the freezer.
//!
//! **Signals to a paused container.** A frozen process does not run, so it
//! cannot act on a signal (on v1 not even die of SIGKILL). As docker does,
//! `stop` and `kill` thaw a paused container right after sending their
//! signal ([`thaw_after_signal`]), and so does the `casulo run` that
//! forwards a Ctrl-C.

use std::path::Path;

use super::{init_alive, record, ContainerRecord, ContainerState, RunError};
use crate::cgroups::{self, Manager, FREEZE_TIMEOUT};
use crate::kernel::{Kernel, LinuxSyscalls};
use crate::state::StateDir;

/// `casulo pause`: freezes the container; returns its record as written.
pub fn pause(state: &StateDir, record: &ContainerRecord) -> Result<ContainerRecord, RunError> {
    set_frozen(state, record, true)
}

/// `casulo unpause`: thaws a paused container.
pub fn unpause(state: &StateDir, record: &ContainerRecord) -> Result<ContainerRecord, RunError> {
    set_frozen(state, record, false)
}

/// After `stop`/`kill` signalled `record`'s init: thaws the container if
/// it is paused, so the signal is acted on. True if it was paused.
pub fn thaw_if_paused(state: &StateDir, record: &ContainerRecord) -> Result<bool, RunError> {
    if record.state != ContainerState::Paused {
        return Ok(false);
    }
    match set_frozen(state, record, false) {
        Ok(_) => Ok(true),
        // Ended meanwhile (a frozen task still dies of SIGKILL on v2), or
        // someone else thawed it: nothing left to do.
        Err(RunError::NotPaused(_) | RunError::NotRunning(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The same, for the `casulo run` that owns the container (its own kernel
/// facade and trace): after it forwarded a signal.
pub fn thaw_after_signal(k: &Kernel, manager: &dyn Manager, dir: &Path) -> Result<(), RunError> {
    let thawed = record::try_update(dir, |r| {
        if r.state != ContainerState::Paused {
            return Err(RunError::NotPaused(r.name.clone()));
        }
        manager.freeze(k, false, FREEZE_TIMEOUT)?;
        r.state = ContainerState::Running;
        Ok(())
    });
    match thawed {
        Ok(_) | Err(RunError::NotPaused(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

fn set_frozen(
    state: &StateDir,
    record: &ContainerRecord,
    frozen: bool,
) -> Result<ContainerRecord, RunError> {
    // Refused before anything is opened; checked again under the lock.
    check(record, frozen)?;
    let manager = cgroups::host_manager(&record.id)?;
    let rec = record::reopen_trace(state, record)?;
    let k = Kernel::new(&LinuxSyscalls, &rec);
    record::try_update(&state.container(&record.id), |r| {
        check(r, frozen)?;
        manager.freeze(&k, frozen, FREEZE_TIMEOUT)?;
        r.state = if frozen {
            ContainerState::Paused
        } else {
            ContainerState::Running
        };
        Ok(())
    })
}

/// May `r` be frozen (`frozen`) or thawed now?
fn check(r: &ContainerRecord, frozen: bool) -> Result<(), RunError> {
    let alive = r.pid.is_some_and(|pid| init_alive(pid, &r.id));
    match (r.state, frozen) {
        (ContainerState::Running, true) | (ContainerState::Paused, false) if alive => Ok(()),
        (ContainerState::Paused, true) if alive => Err(RunError::AlreadyPaused(r.name.clone())),
        (ContainerState::Running, false) if alive => Err(RunError::NotPaused(r.name.clone())),
        _ => Err(RunError::NotRunning(r.name.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::record::tests::sample;

    /// The states each verb refuses, with the message the student reads.
    #[test]
    fn only_a_running_container_pauses_and_only_a_paused_one_unpauses() {
        let mut r = sample(&"a".repeat(64), "gelo");
        // Our own pid is no container's init: "not running" whatever the record says.
        r.pid = Some(std::process::id() as i32);
        for s in [
            ContainerState::Created,
            ContainerState::Running,
            ContainerState::Paused,
            ContainerState::Exited,
        ] {
            r.state = s;
            for frozen in [true, false] {
                let err = check(&r, frozen).unwrap_err();
                assert!(
                    matches!(err, RunError::NotRunning(_)),
                    "{s:?} {frozen}: {err}"
                );
            }
        }
        let paused = RunError::AlreadyPaused("gelo".into()).to_string();
        assert_eq!(
            paused,
            "o contêiner \"gelo\" já está pausado (para continuar: `casulo unpause gelo`)"
        );
        let not = RunError::NotPaused("gelo".into()).to_string();
        assert!(not.contains("não está pausado"), "{not}");
    }

    /// A container that is not paused is left alone by stop/kill (no
    /// cgroup, no trace touched).
    #[test]
    fn stop_of_a_running_container_thaws_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path());
        let mut r = sample(&"b".repeat(64), "quente");
        r.state = ContainerState::Running;
        assert!(!thaw_if_paused(&state, &r).unwrap());
    }
}
