//! v2 cpu controller: `cpu.max` holds quota and period in one line
//! (`50000 100000` for `--cpus 0.5`; `max 100000` = no limit);
//! `cpu.weight` (1–10000, default 100) replaces v1's shares. `cpu.stat`
//! has both the time used (`usage_usec`) and throttled (`throttled_usec`).

use std::path::Path;

use crate::cgroups::resources::CPU_PERIOD_US;
use crate::cgroups::{read_key, CgroupError, Resources, Stats};
use crate::kernel::Kernel;

pub fn apply(k: &Kernel, dir: &Path, res: &Resources) -> Result<(), CgroupError> {
    if let Some(quota) = res.cpu_quota_us {
        k.cgroup_limit(
            "cpu",
            &dir.join("cpu.max"),
            &format!("{quota} {CPU_PERIOD_US}"),
        )?;
    }
    if let Some(weight) = res.weight() {
        k.cgroup_limit("cpu", &dir.join("cpu.weight"), &weight.to_string())?;
    }
    Ok(())
}

pub fn stats(k: &Kernel, dir: &Path, s: &mut Stats) {
    let file = dir.join("cpu.stat");
    s.cpu_usage_us = read_key(k, &file, "usage_usec");
    s.cpu_throttled_us = read_key(k, &file, "throttled_usec");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LinuxSyscalls;
    use crate::recorder::Recorder;

    #[test]
    fn quota_and_weight_are_written_and_stat_read() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        let res = Resources {
            cpu_quota_us: Some(25_000),
            cpu_shares: Some(1024),
            ..Default::default()
        };
        apply(&k, d, &res).unwrap();
        let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(read("cpu.max"), "25000 100000");
        assert_eq!(read("cpu.weight"), "39");
        std::fs::write(
            d.join("cpu.stat"),
            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 80\n",
        )
        .unwrap();
        let mut s = Stats::default();
        stats(&k, d, &mut s);
        assert_eq!((s.cpu_usage_us, s.cpu_throttled_us), (Some(1500), Some(80)));
    }
}
