//! Rootless mode: `casulo` run by an ordinary user, with no root at all.
//!
//! **How.** When `geteuid() != 0`, before anything else (the process is
//! still single-threaded), casulo makes a *user namespace* for itself
//! ([`enter`]): it forks a helper, `unshare(CLONE_NEWUSER|CLONE_NEWNS)`,
//! and the helper — still in the host's namespace, where the setuid
//! `newuidmap`/`newgidmap` work — writes the maps from the user's lines in
//! `/etc/subuid` and `/etc/subgid` ([`maps`]): `0 <uid> 1` (the
//! container's root *is* the user) and `1 <start> <count>` (its other users
//! are the user's sub-ids). Without such lines casulo writes a single-id map
//! `0 <uid> 1` itself (a user may map its own id; `setgroups` is then
//! denied, as the kernel demands). casulo is now root *of that namespace*
//! and the rest of the engine runs as usual: the container's namespaces are
//! created inside it and belong to it, the overlay is mounted in casulo's
//! own mount namespace (overlayfs is allowed in a user namespace since
//! Linux 5.11), and every file it creates is the user's on the host.
//!
//! **One namespace per invocation** (not podman's kept "pause process"):
//! every command makes a new one with the *same* maps, so files written by
//! one invocation have the same owners seen from the next. A detached
//! container (`run -d`) keeps its namespace alive through its supervisor;
//! `stop`/`kill` need no namespace (a signal between processes of the same
//! host uid is allowed); `exec` *joins* the container's user namespace
//! ([`join`]) — the user owns it, so it may — and then the container's
//! other namespaces as root does.
//!
//! **Owners the map cannot hold.** With a single-id map only id 0 exists:
//! a layer file owned by another id is extracted as 0 (root of the
//! container) with one warning, rather than refusing the image as podman
//! does ("potentially insufficient UIDs"): a student's first image must run,
//! and the warning says why ids look changed. Device nodes in layers are
//! skipped (no `mknod` in a user namespace); `/dev` is bound from the host.
//!
//! **Limits** (`--memory`, `--cpus`, `--pids-limit`) need a cgroup: on a
//! pure cgroup v2 host whose systemd delegated a subtree to the user
//! ([`delegation`]), the container's cgroup is made there with the same
//! `cgroups::v2` code as root's (minus the device program: no eBPF without
//! the host's root). Without one the container has no cgroup.
//!
//! **What is refused up front** (never half-done), in [`refusals`]: cgroup
//! limits without a delegated cgroup v2 subtree (this host, hybrid, has none),
//! `--network bridge`/named networks (no bridge without root: `-p` goes
//! through [`pasta`] instead),
//! `network create`, `--privileged`, `--userns` (a nested namespace),
//! the daemon, and `gc` of host-wide leftovers.
//!
//! **State.** `$XDG_DATA_HOME/casulo` (else `~/.local/share/casulo`) holds
//! images, layers and containers; `$XDG_RUNTIME_DIR/casulo` the run state.
//! `--root`/`CASULO_ROOT` still win. Nothing goes under `/var/lib` or `/run`.

pub mod delegation;
pub mod enter;
pub mod maps;
pub mod pasta;
pub mod refusals;

use std::path::PathBuf;
use std::sync::OnceLock;

pub use crate::rootless_mode::{active, current_maps};
pub use enter::{enter, join, RootlessError};
pub use maps::Maps;

/// The owner to give a layer's file: `(uid, gid)` as in the tar when this
/// namespace maps them, else 0 for the one it does not (a single-id map
/// holds only 0; see the module doc). Outside rootless mode, unchanged.
pub fn fit_owner(uid: u64, gid: u64) -> (u64, u64) {
    static MAPS: OnceLock<(Vec<casulo_trace::IdRange>, Vec<casulo_trace::IdRange>)> =
        OnceLock::new();
    if !active() {
        return (uid, gid);
    }
    let (uids, gids) = MAPS.get_or_init(current_maps);
    let held = |ranges: &[casulo_trace::IdRange], id: u64| {
        ranges
            .iter()
            .any(|r| id >= u64::from(r.inside) && id < u64::from(r.inside) + u64::from(r.count))
    };
    (
        if held(uids, uid) { uid } else { 0 },
        if held(gids, gid) { gid } else { 0 },
    )
}

/// Mounts a throw-away overlay (with `userxattr`) in casulo's own mount
/// namespace and takes it down: does overlayfs work in this user
/// namespace? (For `casulo info`; call only inside the namespace.)
pub fn probe_overlay() -> Result<(), String> {
    let base = std::env::temp_dir().join(format!("casulo-overlay-probe-{}", std::process::id()));
    let dirs = ["lower", "upper", "work", "merged"].map(|d| base.join(d));
    let result = (|| {
        for d in &dirs {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let data = format!(
            "lowerdir={},upperdir={},workdir={},userxattr",
            dirs[0].display(),
            dirs[1].display(),
            dirs[2].display()
        );
        nix::mount::mount(
            Some("overlay"),
            &dirs[3],
            Some("overlay"),
            nix::mount::MsFlags::empty(),
            Some(data.as_str()),
        )
        .map_err(|e| format!("mount overlay: {e}"))?;
        nix::mount::umount(&dirs[3]).map_err(|e| format!("umount: {e}"))
    })();
    let _ = std::fs::remove_dir_all(&base);
    result
}

/// Puts this casulo's user namespace in a new trace: one `namespace.user`
/// per map (the writes happened at the start of this invocation, before
/// the trace existed; `pid` is this casulo's). Nothing outside rootless.
pub fn record_maps(rec: &crate::recorder::Recorder) {
    if !active() {
        return;
    }
    let pid = std::process::id() as i32;
    let (uids, gids) = current_maps();
    for (map, ranges) in [("uid", uids), ("gid", gids)] {
        let numbers: Vec<String> = ranges
            .iter()
            .map(|r| format!("{} {} {}", r.inside, r.outside, r.count))
            .collect();
        let op = if ranges.len() > 1 {
            format!("new{map}map {pid} {}", numbers.join(" "))
        } else {
            format!("write /proc/{pid}/{map}_map = {}", numbers.join(""))
        };
        let body = casulo_trace::EventBody::NamespaceUser {
            target_pid: pid,
            map: map.to_string(),
            ranges,
        };
        rec.record(body, op, casulo_trace::Outcome::Ok);
    }
}

/// The default state root without root: `$XDG_DATA_HOME/casulo`, else
/// `~/.local/share/casulo`.
pub fn default_root() -> Result<PathBuf, RootlessError> {
    if let Some(dir) = env_dir("XDG_DATA_HOME") {
        return Ok(dir.join("casulo"));
    }
    match env_dir("HOME") {
        Some(home) => Ok(home.join(".local/share/casulo")),
        None => Err(RootlessError::NoHome),
    }
}

/// The run state without root: `$XDG_RUNTIME_DIR/casulo`.
pub fn runtime_dir() -> Result<PathBuf, RootlessError> {
    env_dir("XDG_RUNTIME_DIR")
        .map(|d| d.join("casulo"))
        .ok_or(RootlessError::NoRuntimeDir)
}

/// An absolute directory from the environment (relative ones are ignored,
/// as the XDG spec says).
fn env_dir(name: &str) -> Option<PathBuf> {
    let value = PathBuf::from(std::env::var_os(name)?);
    value.is_absolute().then_some(value)
}
