//! `GET /containers/{id}/stats`: what a container uses, in docker's JSON
//! (`docker stats`), from the same reading of the same cgroup files as
//! `casulo stats` ([`crate::container::stats`]) — so both show the same
//! memory, limit and processes.
//!
//! docker's CPU % needs two readings: the client divides the container's
//! CPU time between them (`cpu_stats` − `precpu_stats`, in ns) by the
//! whole machine's (`system_cpu_usage`, from `/proc/stat`) and multiplies
//! by `online_cpus`. `stream=true` (the default) sends one object a second,
//! each with the last as its `precpu_stats`; `stream=false` reads twice, a
//! second apart, and sends one; with `one-shot` it reads once (no CPU %).
//! The memory sent is the cgroup's usage as `casulo stats` shows it, and
//! no `inactive_file` (docker's client would subtract it): the same number.
//! `networks` (docker's `NET I/O`) is every interface of the container's
//! network namespace but `lo` (`eth0`, and one more per named network it
//! joined), keyed by name as docker does, counted from inside: the
//! `/proc/PID/net/dev` of its init; a container without a network
//! (casulo's default, `none`) has only `lo`, so none.

use std::time::{Duration, SystemTime};

use hyper::body::Bytes;
use serde_json::{json, Value};

use super::http::{ApiError, Query, Reply};
use super::Ctx;
use crate::cgroups;
use crate::container::{self, stats, ContainerRecord, ContainerState};
use crate::kernel::{Kernel, LinuxSyscalls};
use crate::recorder::Recorder;

/// Between two readings (docker's collector and `casulo stats` too).
pub const INTERVAL: Duration = Duration::from_secs(1);

/// One reading: the cgroup's numbers, the machine's CPU time and when.
struct Reading {
    cgroup: cgroups::Stats,
    system_ns: Option<u64>,
    at: SystemTime,
}

fn read(r: &ContainerRecord) -> Option<Reading> {
    let rec = Recorder::in_memory();
    let k = Kernel::new(&LinuxSyscalls, &rec);
    let manager = cgroups::host_manager(&r.id).ok()?;
    Some(Reading {
        cgroup: manager.stats(&k),
        system_ns: system_cpu_ns(),
        at: SystemTime::now(),
    })
}

fn live(r: &ContainerRecord) -> bool {
    matches!(r.state, ContainerState::Running | ContainerState::Paused)
}

pub fn stats(ctx: &std::sync::Arc<Ctx>, key: &str, query: &Query) -> Result<Reply, ApiError> {
    let r = container::find(&ctx.state, key)?;
    let stream = query.get("stream").is_none_or(|_| query.flag("stream"));
    let one_shot = query.flag("one-shot");
    if one_shot && stream {
        return Err(ApiError::bad_request(
            "one-shot só vale com stream=false (uma leitura só, sem fluxo)",
        ));
    }
    let ctx = ctx.clone();
    Ok(Reply::Stream {
        length: None,
        content_type: "application/json",
        producer: Box::new(move |tx| {
            let host_memory = stats::host_memory_bytes();
            let send = |body: Value| tx.blocking_send(Bytes::from(format!("{body}\n"))).is_ok();
            let mut last = if live(&r) { read(&r) } else { None };
            if !stream {
                if !one_shot && last.is_some() {
                    std::thread::sleep(INTERVAL);
                    let now = read(&r);
                    let _ = send(body(&r, now.as_ref(), last.as_ref(), host_memory));
                } else {
                    let _ = send(body(&r, last.as_ref(), None, host_memory));
                }
                return;
            }
            // The first has no earlier reading (docker's neither).
            if !send(body(&r, last.as_ref(), None, host_memory)) {
                return;
            }
            loop {
                std::thread::sleep(INTERVAL);
                let Ok(now) = container::find(&ctx.state, &r.id) else {
                    return;
                };
                let reading = if live(&now) { read(&now) } else { None };
                if !send(body(&now, reading.as_ref(), last.as_ref(), host_memory)) {
                    return;
                }
                last = reading;
            }
        }),
    })
}

/// docker's `StatsJSON` (what its client reads of it); a container that is
/// not running has zeros, as docker sends.
fn body(
    r: &ContainerRecord,
    now: Option<&Reading>,
    before: Option<&Reading>,
    host_memory: Option<u64>,
) -> Value {
    let time = |at: Option<&Reading>| {
        at.map_or("0001-01-01T00:00:00Z".to_string(), |a| {
            humantime::format_rfc3339_nanos(a.at).to_string()
        })
    };
    let cpu = |at: Option<&Reading>| match at {
        Some(a) => json!({
            "cpu_usage": {
                "total_usage": a.cgroup.cpu_usage_us.unwrap_or(0) * 1000,
                "usage_in_kernelmode": 0,
                "usage_in_usermode": 0,
            },
            "system_cpu_usage": a.system_ns.unwrap_or(0),
            "online_cpus": online_cpus(),
            "throttling_data": { "periods": 0, "throttled_periods": 0, "throttled_time": a.cgroup.cpu_throttled_us.unwrap_or(0) * 1000 },
        }),
        None => json!({ "cpu_usage": { "total_usage": 0 }, "throttling_data": {} }),
    };
    let networks = now.and_then(|_| networks(r));
    let (memory, pids) = match now {
        Some(a) => {
            let u = stats::usage(r, &a.cgroup, None, host_memory);
            let mut memory = json!({
                "usage": u.memory_bytes.unwrap_or(0),
                "limit": u.memory_limit_bytes.unwrap_or(0),
                "stats": {},
            });
            if let Some(peak) = a.cgroup.memory_peak_bytes {
                memory["max_usage"] = json!(peak);
            }
            let mut pids = json!({ "current": u.pids.unwrap_or(0) });
            if let Some(limit) = u.pids_limit {
                pids["limit"] = json!(limit);
            }
            (memory, pids)
        }
        None => (json!({}), json!({})),
    };
    let mut body = json!({
        "read": time(now),
        "preread": time(before),
        "name": format!("/{}", r.name),
        "id": r.id,
        "pids_stats": pids,
        "blkio_stats": {},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu(now),
        "precpu_stats": cpu(before),
        "memory_stats": memory,
    });
    if let Some(networks) = networks {
        body["networks"] = networks;
    }
    body
}

/// docker's `networks`: every interface of the container's network
/// namespace but `lo`, by name (none when it has no other).
fn networks(r: &ContainerRecord) -> Option<Value> {
    let text = std::fs::read_to_string(format!("/proc/{}/net/dev", r.pid?)).ok()?;
    let networks = net_dev(&text);
    (!networks.is_empty()).then_some(Value::Object(networks))
}

/// `/proc/PID/net/dev` → `{ifname: {rx_bytes, rx_packets, rx_errors,
/// rx_dropped, tx_…}}`, without `lo`. Its columns: after `NAME:`, eight
/// receive counters (bytes packets errs drop fifo frame compressed
/// multicast), then eight transmit ones.
fn net_dev(text: &str) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        let n: Vec<u64> = counters
            .split_whitespace()
            .map(|c| c.parse().unwrap_or(0))
            .collect();
        if name == "lo" || n.len() < 12 {
            continue;
        }
        out.insert(
            name.to_string(),
            json!({
                "rx_bytes": n[0], "rx_packets": n[1], "rx_errors": n[2], "rx_dropped": n[3],
                "tx_bytes": n[8], "tx_packets": n[9], "tx_errors": n[10], "tx_dropped": n[11],
            }),
        );
    }
    out
}

/// The machine's CPU time so far, in ns: the `cpu` line of `/proc/stat`
/// (in clock ticks, `USER_HZ`), as docker reads it.
fn system_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    proc_stat_ns(&text, clock_ticks())
}

fn proc_stat_ns(text: &str, ticks_per_second: u64) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    // user nice system idle iowait irq softirq steal (guest ones are in user).
    let ticks: u64 = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Some(ticks * (1_000_000_000 / ticks_per_second.max(1)))
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

fn online_cpus() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    n.max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_stats_networks_are_every_interface_but_lo() {
        let text = "Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0:    1296      16    1    2    0     0          0         0      726       9    3    4    0     0       0          0
  eth1:      90       1    0    0    0     0          0         0       42       1    0    0    0     0       0          0
";
        let n = net_dev(text);
        assert_eq!(n.keys().collect::<Vec<_>>(), ["eth0", "eth1"]);
        assert_eq!(
            n["eth0"],
            json!({"rx_bytes": 1296, "rx_packets": 16, "rx_errors": 1, "rx_dropped": 2,
                   "tx_bytes": 726, "tx_packets": 9, "tx_errors": 3, "tx_dropped": 4})
        );
        assert!(net_dev(&text.lines().take(3).collect::<Vec<_>>().join("\n")).is_empty());
    }

    #[test]
    fn daemon_stats_system_cpu_comes_from_proc_stat() {
        let text = "cpu  10 0 5 100 1 0 0 0 7 0\ncpu0 1 2 3\n";
        assert_eq!(proc_stat_ns(text, 100), Some(116 * 10_000_000));
        assert_eq!(proc_stat_ns("nada", 100), None);
        assert!(system_cpu_ns().is_some_and(|n| n > 0));
        assert!(online_cpus() >= 1);
    }
}
