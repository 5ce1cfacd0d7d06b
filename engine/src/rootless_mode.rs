//! Is this casulo rootless? (The ground floor of [`crate::rootless`]: the
//! state dir, the recorder and the kernel facade ask it too.) A process is
//! rootless when it is not the host's root: an ordinary user before
//! `rootless::enter`, or any process inside the user namespace it made
//! (there `geteuid()` is 0, but the uid map is not the host's whole
//! identity map) — the supervisor and helpers casulo re-executes included.

use std::sync::OnceLock;

use casulo_trace::IdRange;

/// Is this casulo rootless? True for an ordinary user before `enter`,
/// and inside the namespace after it (there `geteuid()` is 0, but the uid
/// map is not the host's whole identity map) — also for the supervisor
/// and helpers it re-executes, which inherit the namespace.
pub fn active() -> bool {
    static ACTIVE: OnceLock<bool> = OnceLock::new();
    *ACTIVE.get_or_init(|| {
        !nix::unistd::geteuid().is_root() || !is_identity(&read_map("/proc/self/uid_map"))
    })
}

fn read_map(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `0 0 4294967295`: the initial namespace's map.
fn is_identity(map: &str) -> bool {
    let fields: Vec<&str> = map.split_whitespace().collect();
    fields == ["0", "0", "4294967295"]
}

/// The maps of this process's user namespace, as the kernel shows them
/// (for the trace header and `casulo info`).
pub fn current_maps() -> (Vec<IdRange>, Vec<IdRange>) {
    (
        parse_proc_map(&read_map("/proc/self/uid_map")),
        parse_proc_map(&read_map("/proc/self/gid_map")),
    )
}

/// The lines of `/proc/PID/uid_map` as ranges.
pub fn parse_proc_map(text: &str) -> Vec<IdRange> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace().map(str::parse::<u32>);
            Some(IdRange {
                inside: f.next()?.ok()?,
                outside: f.next()?.ok()?,
                count: f.next()?.ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_whole_identity_map_is_the_host() {
        assert!(is_identity("         0          0 4294967295\n"));
        assert!(!is_identity("0 1000 1\n"));
        assert!(!is_identity("0 1000 1\n1 100000 65536\n"));
        assert!(!is_identity(""));
    }
}
