//! v1 cpu and cpuacct controllers. A CPU limit is a CFS quota: the cgroup
//! may run `cpu.cfs_quota_us` microseconds every `cpu.cfs_period_us`
//! (`--cpus 0.5` → 50000 every 100000); `cpu.shares` is a relative weight
//! used only when CPUs are contended. Time used is in `cpuacct.usage`
//! (nanoseconds), time throttled in `cpu.stat` (`throttled_time`, ns).

use std::path::Path;

use crate::cgroups::resources::CPU_PERIOD_US;
use crate::cgroups::{read_key, read_u64, CgroupError, Resources, Stats};
use crate::kernel::Kernel;

pub fn apply(k: &Kernel, dir: &Path, res: &Resources) -> Result<(), CgroupError> {
    if let Some(quota) = res.cpu_quota_us {
        // The period first: the quota is read against it.
        k.cgroup_limit(
            "cpu",
            &dir.join("cpu.cfs_period_us"),
            &CPU_PERIOD_US.to_string(),
        )?;
        k.cgroup_limit("cpu", &dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
    }
    if let Some(shares) = res.shares() {
        k.cgroup_limit("cpu", &dir.join("cpu.shares"), &shares.to_string())?;
    }
    Ok(())
}

/// Throttled time, from the cpu controller's `cpu.stat`.
pub fn stats(k: &Kernel, dir: &Path, s: &mut Stats) {
    s.cpu_throttled_us = read_key(k, &dir.join("cpu.stat"), "throttled_time").map(|ns| ns / 1000);
}

/// CPU time used, from the cpuacct controller.
pub fn usage(k: &Kernel, dir: &Path, s: &mut Stats) {
    s.cpu_usage_us = read_u64(k, &dir.join("cpuacct.usage")).map(|ns| ns / 1000);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LinuxSyscalls;
    use crate::recorder::Recorder;

    #[test]
    fn quota_period_and_shares_are_written_and_usage_read_in_microseconds() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        let res = Resources {
            cpu_quota_us: Some(50_000),
            cpu_weight: Some(100),
            ..Default::default()
        };
        apply(&k, d, &res).unwrap();
        let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(read("cpu.cfs_period_us"), "100000");
        assert_eq!(read("cpu.cfs_quota_us"), "50000");
        assert_eq!(read("cpu.shares"), res.shares().unwrap().to_string());

        std::fs::write(d.join("cpuacct.usage"), "2500000000\n").unwrap();
        std::fs::write(
            d.join("cpu.stat"),
            "nr_periods 10\nnr_throttled 4\nthrottled_time 700000000\n",
        )
        .unwrap();
        let mut s = Stats::default();
        stats(&k, d, &mut s);
        usage(&k, d, &mut s);
        assert_eq!(s.cpu_usage_us, Some(2_500_000));
        assert_eq!(s.cpu_throttled_us, Some(700_000));
    }
}
