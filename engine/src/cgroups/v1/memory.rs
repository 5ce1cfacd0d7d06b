//! v1 memory controller: `memory.limit_in_bytes` (RAM) and
//! `memory.memsw.limit_in_bytes` (RAM + swap; only when the kernel accounts
//! swap per cgroup). Usage in `memory.usage_in_bytes`, its peak in
//! `memory.max_usage_in_bytes`; OOM kills counted in `memory.oom_control`
//! (`oom_kill N`, kernels ≥ 4.13).

use std::path::Path;

use crate::cgroups::resources::Swap;
use crate::cgroups::{read_key, read_u64, CgroupError, Resources, Stats};
use crate::kernel::Kernel;

/// What v1 reports as "no limit" is a huge number (`PAGE_COUNTER_MAX`
/// pages); anything above this is treated as unlimited.
const UNLIMITED_ABOVE: u64 = 1 << 60;

pub fn apply(k: &Kernel, dir: &Path, res: &Resources) -> Result<(), CgroupError> {
    // RAM first: the kernel requires limit_in_bytes <= memsw.limit_in_bytes.
    if let Some(limit) = res.memory {
        k.cgroup_limit(
            "memory",
            &dir.join("memory.limit_in_bytes"),
            &limit.to_string(),
        )?;
    }
    if let Some(swap) = res.memory_swap {
        let file = dir.join("memory.memsw.limit_in_bytes");
        if !file.exists() {
            return Err(CgroupError::NoSwapAccounting { path: file });
        }
        let value = match swap {
            Swap::Total(total) => total.to_string(),
            // -1: no limit on RAM + swap.
            Swap::Unlimited => "-1".to_string(),
        };
        k.cgroup_limit("memory", &file, &value)?;
    }
    Ok(())
}

pub fn stats(k: &Kernel, dir: &Path, s: &mut Stats) {
    s.memory_bytes = read_u64(k, &dir.join("memory.usage_in_bytes"));
    s.memory_peak_bytes = peak(k, dir);
    s.memory_limit_bytes =
        read_u64(k, &dir.join("memory.limit_in_bytes")).filter(|&l| l < UNLIMITED_ABOVE);
}

/// The most memory the cgroup has used at any moment so far (the kernel
/// keeps it, so an allocation between two samples is not missed).
pub fn peak(k: &Kernel, dir: &Path) -> Option<u64> {
    read_u64(k, &dir.join("memory.max_usage_in_bytes"))
}

/// OOM kills in this cgroup so far.
pub fn oom_kills(k: &Kernel, dir: &Path) -> Option<u64> {
    read_key(k, &dir.join("memory.oom_control"), "oom_kill")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LinuxSyscalls;
    use crate::recorder::Recorder;

    #[test]
    fn limits_are_written_ram_first_and_swap_needs_accounting() {
        let tmp = tempfile::tempdir().unwrap();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        let mut res = Resources {
            memory: Some(64 << 20),
            memory_swap: Some(Swap::Total(128 << 20)),
            ..Default::default()
        };
        let err = apply(&k, tmp.path(), &res).unwrap_err();
        assert!(matches!(err, CgroupError::NoSwapAccounting { .. }));
        std::fs::write(tmp.path().join("memory.memsw.limit_in_bytes"), "x").unwrap();
        apply(&k, tmp.path(), &res).unwrap();
        let read = |f: &str| std::fs::read_to_string(tmp.path().join(f)).unwrap();
        assert_eq!(read("memory.limit_in_bytes"), "67108864");
        assert_eq!(read("memory.memsw.limit_in_bytes"), "134217728");
        res.memory_swap = Some(Swap::Unlimited);
        apply(&k, tmp.path(), &res).unwrap();
        assert_eq!(read("memory.memsw.limit_in_bytes"), "-1");
        let values: Vec<String> = rec
            .events()
            .iter()
            .filter_map(|e| match &e.body {
                casulo_trace::EventBody::CgroupLimit { value, .. } => Some(value.clone()),
                _ => None,
            })
            .collect();
        // The first, failed attempt wrote only memory.limit_in_bytes.
        assert_eq!(values[..3], ["67108864", "67108864", "134217728"]);
    }

    #[test]
    fn usage_peak_limit_and_oom_kills_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("memory.usage_in_bytes"), "4096\n").unwrap();
        std::fs::write(d.join("memory.max_usage_in_bytes"), "8192\n").unwrap();
        std::fs::write(d.join("memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        std::fs::write(
            d.join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        )
        .unwrap();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        let mut s = Stats::default();
        stats(&k, d, &mut s);
        assert_eq!(s.memory_bytes, Some(4096));
        assert_eq!(s.memory_peak_bytes, Some(8192));
        assert_eq!(peak(&k, d), Some(8192));
        assert_eq!(s.memory_limit_bytes, None, "the huge value means no limit");
        assert_eq!(oom_kills(&k, d), Some(2));
    }
}
