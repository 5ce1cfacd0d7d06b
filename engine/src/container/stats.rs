//! `stats`: what running containers use right now — memory against its
//! limit, CPU %, processes — as `docker stats` shows it.
//!
//! The numbers are the ones the `cgroup.sample` events hold: the same
//! reading of the same cgroup files ([`crate::cgroups::Manager::stats`]).
//! A cgroup counts only the CPU *time* used so far, so a percentage needs
//! two readings: the time used between them over the time that passed
//! (100 % = one CPU busy all along; two busy threads make 200 %, as docker
//! shows). Memory % is of the container's `--memory` limit or, without one,
//! of the host's memory (docker's rule too).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{ContainerRecord, ContainerState};
use crate::cgroups::{self, Stats};
use crate::kernel::Kernel;

/// One container's usage, as shown in a row of `casulo stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Usage {
    pub name: String,
    pub id: String,
    pub paused: bool,
    /// Over the interval since the last reading (`None`: the first one).
    pub cpu_percent: Option<f64>,
    /// Total CPU time used so far, in microseconds.
    pub cpu_usage_us: Option<u64>,
    pub memory_bytes: Option<u64>,
    /// The limit `memory_percent` is of: the cgroup's, or the host's memory.
    pub memory_limit_bytes: Option<u64>,
    /// True when `memory_limit_bytes` is the container's own limit.
    pub memory_limited: bool,
    pub memory_percent: Option<f64>,
    pub pids: Option<u64>,
    pub pids_limit: Option<u64>,
}

/// Reads containers' cgroups again and again, keeping each one's last
/// reading for the CPU %.
pub struct Sampler {
    last: HashMap<String, (Option<u64>, Instant)>,
    host_memory: Option<u64>,
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Sampler {
    pub fn new() -> Sampler {
        Sampler {
            last: HashMap::new(),
            host_memory: host_memory_bytes(),
        }
    }

    /// One reading of each container (one with no cgroup here is left out).
    pub fn read(&mut self, k: &Kernel, records: &[ContainerRecord]) -> Vec<Usage> {
        let mut rows = Vec::new();
        for r in records {
            let Ok(manager) = cgroups::host_manager(&r.id) else {
                continue;
            };
            let stats = manager.stats(k);
            let now = Instant::now();
            let before = self.last.insert(r.id.clone(), (stats.cpu_usage_us, now));
            let cpu_percent = before.and_then(|(used, at)| {
                cpu_percent(used, stats.cpu_usage_us, now.duration_since(at))
            });
            rows.push(usage(r, &stats, cpu_percent, self.host_memory));
        }
        rows
    }
}

/// A row from one reading of `r`'s cgroup.
pub fn usage(
    r: &ContainerRecord,
    stats: &Stats,
    cpu_percent: Option<f64>,
    host_memory: Option<u64>,
) -> Usage {
    let limit = stats.memory_limit_bytes.or(host_memory);
    Usage {
        name: r.name.clone(),
        id: r.id.clone(),
        paused: r.state == ContainerState::Paused,
        cpu_percent,
        cpu_usage_us: stats.cpu_usage_us,
        memory_bytes: stats.memory_bytes,
        memory_limit_bytes: limit,
        memory_limited: stats.memory_limit_bytes.is_some(),
        memory_percent: percent(stats.memory_bytes, limit),
        pids: stats.pids,
        pids_limit: stats.pids_limit,
    }
}

/// CPU time used between two readings over the time between them, in %.
pub fn cpu_percent(
    before_us: Option<u64>,
    after_us: Option<u64>,
    elapsed: Duration,
) -> Option<f64> {
    let used = after_us?.checked_sub(before_us?)?;
    let elapsed = elapsed.as_micros();
    (elapsed > 0).then(|| used as f64 * 100.0 / elapsed as f64)
}

fn percent(part: Option<u64>, whole: Option<u64>) -> Option<f64> {
    let whole = whole.filter(|&w| w > 0)?;
    Some(part? as f64 * 100.0 / whole as f64)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
pub fn host_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo_total(&text)
}

fn meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::record::tests::sample;

    #[test]
    fn cpu_percent_is_time_used_over_time_passed() {
        let s = Duration::from_secs(1);
        assert_eq!(cpu_percent(Some(0), Some(500_000), s), Some(50.0));
        // Two CPUs busy for the whole second: 200 %, as docker shows it.
        assert_eq!(cpu_percent(Some(1_000), Some(2_001_000), s), Some(200.0));
        // Frozen (pause): the counter does not move.
        assert_eq!(cpu_percent(Some(7), Some(7), s), Some(0.0));
        assert_eq!(cpu_percent(None, Some(7), s), None);
        assert_eq!(
            cpu_percent(Some(9), Some(7), s),
            None,
            "a counter never goes back"
        );
        assert_eq!(cpu_percent(Some(0), Some(7), Duration::ZERO), None);
    }

    #[test]
    fn memory_percent_is_of_the_limit_or_of_the_host() {
        let mut r = sample(&"c".repeat(64), "medido");
        r.state = ContainerState::Paused;
        let stats = Stats {
            memory_bytes: Some(16 << 20),
            memory_limit_bytes: Some(64 << 20),
            pids: Some(3),
            pids_limit: Some(10),
            cpu_usage_us: Some(5),
            ..Default::default()
        };
        let u = usage(&r, &stats, Some(1.5), Some(1 << 30));
        assert_eq!(u.memory_percent, Some(25.0));
        assert!(u.memory_limited && u.paused);
        assert_eq!((u.pids, u.pids_limit), (Some(3), Some(10)));
        let unlimited = Stats {
            memory_limit_bytes: None,
            ..stats
        };
        let u = usage(&r, &unlimited, None, Some(1 << 30));
        assert_eq!(u.memory_limit_bytes, Some(1 << 30));
        assert!(!u.memory_limited);
        assert_eq!(u.memory_percent, Some(100.0 * 16.0 / 1024.0));
        assert_eq!(usage(&r, &unlimited, None, None).memory_percent, None);
    }

    #[test]
    fn host_memory_comes_from_meminfo() {
        let text = "MemTotal:       24576000 kB\nMemFree:  1 kB\n";
        assert_eq!(meminfo_total(text), Some(24_576_000 * 1024));
        assert_eq!(meminfo_total("nada"), None);
        assert!(host_memory_bytes().is_some_and(|b| b > 0));
    }
}
