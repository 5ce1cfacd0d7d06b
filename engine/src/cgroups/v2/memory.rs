//! v2 memory controller: `memory.max` (RAM) and `memory.swap.max` (swap
//! alone — v2 separates them, so docker's `--memory-swap` total becomes
//! total − memory). Usage in `memory.current`, its peak in `memory.peak`
//! (kernels ≥ 5.19); `memory.events` counts OOM kills (`oom_kill N`).

use std::path::Path;

use crate::cgroups::resources::Swap;
use crate::cgroups::{read_key, read_u64, CgroupError, Resources, Stats};
use crate::kernel::Kernel;

pub fn apply(k: &Kernel, dir: &Path, res: &Resources) -> Result<(), CgroupError> {
    if let Some(limit) = res.memory {
        k.cgroup_limit("memory", &dir.join("memory.max"), &limit.to_string())?;
    }
    if let Some(swap) = res.memory_swap {
        let file = dir.join("memory.swap.max");
        if !file.exists() {
            return Err(CgroupError::NoSwapAccounting { path: file });
        }
        let value = match swap {
            Swap::Total(total) => total.saturating_sub(res.memory.unwrap_or(0)).to_string(),
            Swap::Unlimited => "max".to_string(),
        };
        k.cgroup_limit("memory", &file, &value)?;
    }
    Ok(())
}

pub fn stats(k: &Kernel, dir: &Path, s: &mut Stats) {
    s.memory_bytes = read_u64(k, &dir.join("memory.current"));
    s.memory_peak_bytes = peak(k, dir);
    // "max" does not parse: None (no limit).
    s.memory_limit_bytes = read_u64(k, &dir.join("memory.max"));
}

/// The most memory the cgroup has used at any moment so far; `memory.peak`
/// exists from Linux 5.19 on (None before).
pub fn peak(k: &Kernel, dir: &Path) -> Option<u64> {
    read_u64(k, &dir.join("memory.peak"))
}

/// OOM kills in this cgroup so far.
pub fn oom_kills(k: &Kernel, dir: &Path) -> Option<u64> {
    read_key(k, &dir.join("memory.events"), "oom_kill")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LinuxSyscalls;
    use crate::recorder::Recorder;

    #[test]
    fn swap_is_the_total_minus_memory_and_counters_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("memory.swap.max"), "max").unwrap();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&LinuxSyscalls, &rec);
        apply(
            &k,
            d,
            &Resources {
                memory: Some(64 << 20),
                memory_swap: Some(Swap::Total(96 << 20)),
                ..Default::default()
            },
        )
        .unwrap();
        let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(read("memory.max"), "67108864");
        assert_eq!(read("memory.swap.max"), (32u64 << 20).to_string());

        std::fs::write(d.join("memory.current"), "123\n").unwrap();
        std::fs::write(d.join("memory.max"), "max\n").unwrap();
        std::fs::write(
            d.join("memory.events"),
            "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\noom_group_kill 0\n",
        )
        .unwrap();
        let mut s = Stats::default();
        stats(&k, d, &mut s);
        assert_eq!(s.memory_bytes, Some(123));
        assert_eq!(s.memory_peak_bytes, None, "no memory.peak on older kernels");
        assert_eq!(s.memory_limit_bytes, None);
        assert_eq!(oom_kills(&k, d), Some(1));
        std::fs::write(d.join("memory.peak"), "67108864\n").unwrap();
        stats(&k, d, &mut s);
        assert_eq!(s.memory_peak_bytes, Some(64 << 20));
        assert_eq!(peak(&k, d), Some(64 << 20));
    }
}
