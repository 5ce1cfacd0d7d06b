//! `top`: the container's processes, as the host sees them and as the
//! container does.
//!
//! Which processes: the ones in the container's cgroup (`cgroup.procs` of
//! each of its directories — one on v2, one per hierarchy on v1), the same
//! list the kernel uses to apply its limits. For each: its host pid, its pid
//! inside (the last number of `NSpid:` in `/proc/PID/status`, one per pid
//! namespace from the host's down), its user and its command line.

use std::path::Path;

use super::{ContainerRecord, RunError};
use crate::cgroups;
use crate::kernel::Kernel;

/// One process of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopProcess {
    /// As the host sees it.
    pub pid: i32,
    /// As the container sees it (1 is its init).
    pub container_pid: Option<i32>,
    pub uid: u32,
    /// `/proc/PID/cmdline` with spaces, or `[comm]` for a kernel-less argv.
    pub command: String,
}

/// The container's processes, by host pid.
pub fn top(k: &Kernel, record: &ContainerRecord) -> Result<Vec<TopProcess>, RunError> {
    let root = Path::new(cgroups::DEFAULT_ROOT);
    let mode = cgroups::detect_mode(root);
    let manager = cgroups::manager(mode, root, &record.id).ok_or_else(|| {
        RunError::io(
            "este host não tem cgroups que o casulo use: não há onde listar os processos",
            root,
            std::io::Error::from(std::io::ErrorKind::Unsupported),
        )
    })?;
    let mut pids = Vec::new();
    for dir in manager.paths() {
        if let Ok(text) = k.read_file(&dir.join("cgroup.procs")) {
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids.into_iter().filter_map(|pid| process(k, pid)).collect())
}

/// What `/proc/PID` says (None: it ended meanwhile).
fn process(k: &Kernel, pid: i32) -> Option<TopProcess> {
    let proc = Path::new("/proc").join(pid.to_string());
    let status = k.read_file(&proc.join("status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|rest| {
                rest.split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let container_pid = field("NSpid:").last().and_then(|n| n.parse().ok());
    let uid = field("Uid:")
        .first()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let cmdline = std::fs::read(proc.join("cmdline")).unwrap_or_default();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let command = if args.is_empty() {
        format!("[{}]", field("Name:").join(" "))
    } else {
        args.join(" ")
    };
    Some(TopProcess {
        pid,
        container_pid,
        uid,
        command,
    })
}
