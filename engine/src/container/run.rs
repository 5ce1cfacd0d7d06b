//! `run` = create + start + wait (+ rm with `--rm`): what `casulo run` does.

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use super::create::{create, save_record};
use super::{rm, start, wait, ContainerRecord, ContainerState, RunError, RunOptions};
use crate::kernel::{Kernel, Syscalls};
use crate::state::StateDir;

/// Hooks for the CLI to tell the user what is happening (the library never prints).
pub trait RunObserver {
    /// The container exists and its trace is open.
    fn created(&mut self, _record: &ContainerRecord) {}
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
}

pub fn run(
    state: &StateDir,
    opts: &RunOptions,
    sys: &dyn Syscalls,
    observer: &mut dyn RunObserver,
) -> Result<RunOutcome, RunError> {
    let created = create(state, opts)?;
    observer.created(&created.record);
    let k = Kernel::new(sys, &created.recorder);
    let (id, name) = (created.record.id.clone(), created.record.name.clone());

    wait::block_signals();
    let pid = match start::start(&k, &created) {
        Ok(pid) => pid,
        Err(e) => {
            rm::remove_dirs(state, &id, &name);
            return Err(e);
        }
    };
    let mut record = created.record.clone();
    record.state = ContainerState::Running;
    record.pid = Some(pid.as_raw());
    let _ = save_record(&created.dir, &record);

    let status = wait::wait_for(&k, pid, &mut |sig, esc| observer.signal_forwarded(sig, esc))?;
    let exit_code = wait::exit_code(status);
    record.state = ContainerState::Exited;
    record.pid = None;
    record.exit_code = Some(exit_code);
    if opts.rm {
        rm::remove_dirs(state, &id, &name);
    } else {
        save_record(&created.dir, &record)?;
    }
    Ok(RunOutcome {
        record,
        status,
        exit_code,
        trace_incomplete: created.recorder.write_failed(),
    })
}
