//! v2 freezer: no controller to enable, every cgroup but the root has
//! `cgroup.freeze`. Writing `1` freezes the group (and its descendants),
//! `0` thaws it; the kernel says it is done in `cgroup.events`
//! (`frozen 1` / `frozen 0`), which casulo polls. Unlike v1, a frozen
//! process still dies of SIGKILL.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::cgroups::{read_key, CgroupError, FREEZE_POLL};
use crate::kernel::Kernel;

const FILE: &str = "cgroup.freeze";
const EVENTS: &str = "cgroup.events";

/// Freezes (`frozen`) or thaws the group in `dir` and waits up to `timeout`
/// for `cgroup.events` to agree; a freeze that does not finish is undone.
pub fn freeze(k: &Kernel, dir: &Path, frozen: bool, timeout: Duration) -> Result<(), CgroupError> {
    let file = dir.join(FILE);
    let want = u64::from(frozen);
    k.cgroup_freeze(&file, frozen, &want.to_string())?;
    let deadline = Instant::now() + timeout;
    loop {
        let now = read_key(k, &dir.join(EVENTS), "frozen");
        if now == Some(want) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            if frozen {
                let _ = k.cgroup_freeze(&file, false, "0");
            }
            return Err(CgroupError::FreezeTimeout {
                file: dir.join(EVENTS),
                want: format!("frozen {want}"),
                seen: now.map_or("nada".to_string(), |n| format!("frozen {n}")),
                timeout,
            });
        }
        std::thread::sleep(FREEZE_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LinuxSyscalls;
    use crate::recorder::Recorder;
    use casulo_trace::EventBody;

    /// A temp dir stands for the cgroup; what the kernel would say in
    /// `cgroup.events` is written by the test.
    #[test]
    fn one_and_zero_are_written_and_cgroup_events_is_waited_for() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        std::fs::write(d.join(EVENTS), "populated 1\nfrozen 1\n").unwrap();
        freeze(&k, d, true, Duration::from_secs(1)).unwrap();
        assert_eq!(std::fs::read_to_string(d.join(FILE)).unwrap(), "1");
        std::fs::write(d.join(EVENTS), "populated 1\nfrozen 0\n").unwrap();
        freeze(&k, d, false, Duration::from_secs(1)).unwrap();
        assert_eq!(std::fs::read_to_string(d.join(FILE)).unwrap(), "0");
        let bodies: Vec<EventBody> = rec.events().into_iter().map(|e| e.body).collect();
        let file = d.join(FILE).display().to_string();
        assert_eq!(
            bodies,
            [
                EventBody::CgroupFreeze {
                    file: file.clone(),
                    frozen: true
                },
                EventBody::CgroupFreeze {
                    file,
                    frozen: false
                }
            ]
        );
    }

    #[test]
    fn a_freeze_the_kernel_never_confirms_is_undone() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join(EVENTS), "populated 1\nfrozen 0\n").unwrap();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        let err = freeze(&k, d, true, Duration::from_millis(30)).unwrap_err();
        assert!(err.to_string().contains("frozen 0"), "{err}");
        assert_eq!(std::fs::read_to_string(d.join(FILE)).unwrap(), "0");
        assert_eq!(rec.events().len(), 2);
    }
}
