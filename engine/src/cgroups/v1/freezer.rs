//! v1 freezer controller: `freezer.state` in the container's directory of
//! the `freezer` hierarchy. Writing `FROZEN` asks the kernel to stop every
//! process of the group where it stands (no signal: they are simply not
//! scheduled any more); while some are still on their way the file reads
//! `FREEZING`, and `FROZEN` once all are. `THAWED` lets them go on.
//! Reading the file is what makes the kernel check again, so casulo polls
//! it until it says what was asked.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cgroups::{CgroupError, FREEZE_POLL};
use crate::kernel::Kernel;

const FILE: &str = "freezer.state";

/// Freezes (`frozen`) or thaws the group in `dir` and waits up to `timeout`
/// for the kernel to say it is done. A freeze that does not finish in time
/// is undone (thawed), as runc does: a half-frozen container is worse than
/// a running one.
pub fn freeze(k: &Kernel, dir: &Path, frozen: bool, timeout: Duration) -> Result<(), CgroupError> {
    let file = dir.join(FILE);
    let want = if frozen { "FROZEN" } else { "THAWED" };
    k.cgroup_freeze(&file, frozen, want)?;
    let deadline = Instant::now() + timeout;
    loop {
        let now = k.read_file(&file)?;
        if now.trim() == want {
            return Ok(());
        }
        if Instant::now() >= deadline {
            if frozen {
                let _ = k.cgroup_freeze(&file, false, "THAWED");
            }
            return Err(CgroupError::FreezeTimeout {
                file,
                want: want.to_string(),
                seen: now.trim().to_string(),
                timeout,
            });
        }
        std::thread::sleep(FREEZE_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::double::FakeSyscalls;
    use crate::kernel::LinuxSyscalls;
    use crate::recorder::Recorder;
    use casulo_trace::EventBody;

    #[test]
    fn frozen_and_thawed_are_written_and_read_back() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        freeze(&k, d, true, Duration::from_secs(1)).unwrap();
        assert_eq!(std::fs::read_to_string(d.join(FILE)).unwrap(), "FROZEN");
        freeze(&k, d, false, Duration::from_secs(1)).unwrap();
        assert_eq!(std::fs::read_to_string(d.join(FILE)).unwrap(), "THAWED");
        let events = rec.events();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].body,
            EventBody::CgroupFreeze {
                file: d.join(FILE).display().to_string(),
                frozen: true
            }
        );
        assert_eq!(
            events[0].op,
            format!("write {} = FROZEN", d.join(FILE).display())
        );
    }

    /// The kernel still says FREEZING after the timeout: thawed again, and
    /// the error says what the file read.
    #[test]
    fn a_freeze_that_never_finishes_is_undone() {
        let sys = FakeSyscalls::new();
        let dir = Path::new("/cg/freezer/casulo/c1");
        sys.set_file(dir.join(FILE), "FREEZING\n");
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let err = freeze(&k, dir, true, Duration::from_millis(30)).unwrap_err();
        assert!(err.to_string().contains("FREEZING"), "{err}");
        let writes: Vec<String> = sys
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("write"))
            .collect();
        assert_eq!(
            writes,
            [
                "write /cg/freezer/casulo/c1/freezer.state FROZEN",
                "write /cg/freezer/casulo/c1/freezer.state THAWED"
            ]
        );
        assert_eq!(rec.events().len(), 2);
    }
}
