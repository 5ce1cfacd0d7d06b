//! `casulo gc`: removes what a killed casulo left behind.
//!
//! A container's cgroup, its network address (lease) and the host end of
//! its veth are removed by the `casulo run` that made them. If that casulo
//! is killed (SIGKILL: no clean-up code runs), the kernel kills the
//! container with it (`PR_SET_PDEATHSIG`) but
//!
//! - the empty cgroup directory stays: `gc` removes every casulo cgroup
//!   with no process left that is at least [`MIN_AGE`] old (a younger empty
//!   one may belong to a container being born right now);
//! - the lease `/run/casulo/net/leases/<ip>` stays: `gc` frees the leases
//!   whose casulo process is gone (also at least [`MIN_AGE`] old), and
//!   deletes `veth*` ends on the bridge that no live lease owns
//!   ([`crate::network::gc`]);
//! - the bridge `casulo0` stays after every run, like docker0: `gc` deletes
//!   it when no lease is left and nothing is plugged into it, holding the
//!   host's network lock so that no run is leasing an address meanwhile
//!   (the next `--network bridge` creates it again).
//!
//! The network objects (`casulo0`, the user networks' bridges, the veths,
//! the `inet casulo` table and its rules) are the host's, not a state
//! dir's: gc judges them by the host-wide leases in `/run/casulo/net`,
//! whatever its `--root`, so the gc of one root (a test running in
//! parallel, another user) never takes them from a live container of
//! another root. Only the records, containers and store leftovers it
//! removes are its own root's.

use std::path::Path;
use std::time::Duration;

use super::CliResult;
use crate::cgroups::{self, detect_mode};
use crate::kernel::{Kernel, LinuxSyscalls};
use crate::network::{self, NetDir};
use crate::recorder::Recorder;

pub const MIN_AGE: Duration = Duration::from_secs(5);

pub fn run(state: &crate::state::StateDir) -> CliResult {
    let root = Path::new(cgroups::DEFAULT_ROOT);
    let mode = detect_mode(root);
    // No trace file for gc: its events stay in memory.
    let rec = Recorder::in_memory();
    let k = Kernel::new(&LinuxSyscalls, &rec);
    let removed = cgroups::gc(&k, mode, root, MIN_AGE);
    for path in &removed {
        println!("removido: {}", path.display());
    }
    let mut net_removed = network::gc(&k, &NetDir::host(), MIN_AGE);
    // Records of this state dir left "running" by a killed casulo or supervisor.
    net_removed.extend(crate::container::rm::gc_stale(state, MIN_AGE));
    // Containers, names and store writes a killed casulo left half-made.
    net_removed.extend(crate::container::rm::gc_half_made(state, MIN_AGE));
    net_removed.extend(crate::image::leftovers::gc(state, MIN_AGE));
    for what in &net_removed {
        println!("removido: {what}");
    }
    let code = super::network::failed(&rec);
    if removed.is_empty() && net_removed.is_empty() && code == 0 {
        println!(
            "nada órfão: nenhum cgroup (cgroups {}), nenhum endereço, veth ou bridge sem uso",
            mode.as_str()
        );
    }
    Ok(code)
}
