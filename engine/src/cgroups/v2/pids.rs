//! v2 pids controller: `pids.max` caps the number of processes (and
//! threads) in the cgroup; a fork past it fails with EAGAIN and
//! `pids.events` counts it (`max N`). `pids.current` is the count now.
//! v1's pids controller has the very same files, so `v1::pids` is this code.

use std::path::Path;

use crate::cgroups::{read_key, read_u64, CgroupError, Resources, Stats};
use crate::kernel::Kernel;

pub fn apply(k: &Kernel, dir: &Path, res: &Resources) -> Result<(), CgroupError> {
    if let Some(max) = res.pids {
        k.cgroup_limit("pids", &dir.join("pids.max"), &max.to_string())?;
    }
    Ok(())
}

pub fn stats(k: &Kernel, dir: &Path, s: &mut Stats) {
    s.pids = read_u64(k, &dir.join("pids.current"));
    // "max" (no limit) does not parse: None.
    s.pids_limit = read_u64(k, &dir.join("pids.max"));
}

/// Forks refused by `pids.max` so far.
pub fn refused(k: &Kernel, dir: &Path) -> Option<u64> {
    read_key(k, &dir.join("pids.events"), "max")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LinuxSyscalls;
    use crate::recorder::Recorder;

    #[test]
    fn max_is_written_counters_read_and_max_means_no_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        apply(
            &k,
            d,
            &Resources {
                pids: Some(7),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(d.join("pids.max")).unwrap(), "7");
        std::fs::write(d.join("pids.current"), "3\n").unwrap();
        std::fs::write(d.join("pids.events"), "max 2\n").unwrap();
        let mut s = Stats::default();
        stats(&k, d, &mut s);
        assert_eq!((s.pids, s.pids_limit), (Some(3), Some(7)));
        assert_eq!(refused(&k, d), Some(2));
        std::fs::write(d.join("pids.max"), "max\n").unwrap();
        stats(&k, d, &mut s);
        assert_eq!(s.pids_limit, None);
    }
}
