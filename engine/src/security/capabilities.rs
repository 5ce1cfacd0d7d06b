//! Linux capabilities: root's power, cut into pieces.
//!
//! Since Linux 2.2 "being root" is not one thing: the kernel checks a
//! *capability* for each privileged action — `CAP_SYS_ADMIN` to mount,
//! `CAP_SYS_MODULE` to load a module, `CAP_NET_ADMIN` to configure the
//! network, `CAP_CHOWN` to give a file away. A process has five sets of
//! them: *bounding* (the ceiling: nothing, not even a setuid binary, gets
//! beyond it), *permitted*, *effective* (what the kernel checks now),
//! *inheritable* and *ambient* (what survives an `execve`).
//!
//! The container's init keeps docker's default 14 ([`DOCKER_DEFAULT`]) in
//! every set but ambient (cleared), and drops everything else; the user
//! changes that set as in docker ([`decide`]): `--cap-add NET_ADMIN`,
//! `--cap-drop CHOWN`, `--cap-drop ALL --cap-add KILL`, or `--privileged`
//! (all of them).
//!
//! Done by hand with `prctl` and the raw `capset` (see
//! `kernel::syscalls::LinuxSyscalls::restrict_capabilities`) rather than
//! with the `caps` crate, because the three calls and their order *are*
//! the lesson: the bounding set must be cut while `CAP_SETPCAP` is still
//! effective, and `capset` comes last.

use std::path::Path;

use crate::kernel::{CapabilityCut, Kernel, KernelError};

mod table;

pub use table::{DOCKER_DEFAULT, NAMES};

/// The name of capability `cap` (`CAP_40`-style for one newer than
/// this table).
pub fn name(cap: u32) -> String {
    NAMES
        .get(cap as usize)
        .map(|n| n.to_string())
        .unwrap_or_else(|| format!("CAP_{cap}"))
}

/// The bit mask of a set, as `/proc/PID/status` shows it (`CapEff`).
pub fn mask(caps: &[u32]) -> u64 {
    caps.iter().fold(0, |m, c| m | (1u64 << c))
}

/// The highest capability this kernel knows
/// (`/proc/sys/kernel/cap_last_cap`); [`NAMES`]'s last when unreadable.
pub fn last_cap(k: &Kernel) -> u32 {
    k.read_file(Path::new("/proc/sys/kernel/cap_last_cap"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(NAMES.len() as u32 - 1)
}

/// A `--cap-add`/`--cap-drop` word in the kernel's spelling: docker's
/// names are accepted with or without `CAP_`, in any case (`net_admin`,
/// `NET_ADMIN`, `CAP_NET_ADMIN`), and `ALL`. An unknown name is refused
/// with the nearest one.
pub fn parse_name(text: &str) -> Result<String, String> {
    let upper = text.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(upper);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    if NAMES.contains(&full.as_str()) {
        return Ok(full);
    }
    let nearest = NAMES
        .iter()
        .map(|n| (strsim::levenshtein(n, &full), n.trim_start_matches("CAP_")))
        .min()
        .filter(|(d, _)| *d <= 4)
        .map(|(_, n)| format!(" (você quis dizer {n}?)"))
        .unwrap_or_default();
    Err(format!(
        "capability desconhecida: {text:?}{nearest}; os nomes são os do docker, como \
         NET_ADMIN ou SYS_TIME, ou ALL (a lista completa: `man 7 capabilities`)"
    ))
}

/// The number of a capability named as [`parse_name`] returns it.
fn number(name: &str) -> Option<u32> {
    NAMES.iter().position(|n| *n == name).map(|i| i as u32)
}

/// What the container keeps, and why: the answer of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Kept, by number, in order.
    pub keep: Vec<u32>,
    /// `--privileged`.
    pub privileged: bool,
    /// Kept but not in docker's default (`--cap-add`).
    pub added: Vec<u32>,
    /// In docker's default but not kept (`--cap-drop`).
    pub removed: Vec<u32>,
}

/// Docker's rule (moby's `TweakCapabilities`), for capabilities up to
/// `last`: `--privileged` keeps all; `--cap-add ALL` keeps all but the
/// dropped ones; `--cap-drop ALL` keeps only the added ones; otherwise the
/// default minus the dropped plus the added (so a name in both is kept).
/// Names are [`parse_name`]'s; an unknown one is ignored here (the CLI
/// refused it already).
pub fn decide(opts: &super::SecurityOptions, last: u32) -> Decision {
    let all: Vec<u32> = (0..=last).collect();
    let set = |names: &[String]| -> Vec<u32> {
        names
            .iter()
            .filter_map(|n| parse_name(n).ok())
            .filter_map(|n| number(&n))
            .filter(|c| *c <= last)
            .collect()
    };
    let has_all = |names: &[String]| names.iter().any(|n| n.eq_ignore_ascii_case("ALL"));
    let (add, drop) = (set(&opts.cap_add), set(&opts.cap_drop));
    let keep: Vec<u32> = if opts.privileged {
        all
    } else if has_all(&opts.cap_add) {
        all.into_iter().filter(|c| !drop.contains(c)).collect()
    } else if has_all(&opts.cap_drop) {
        all.into_iter().filter(|c| add.contains(c)).collect()
    } else {
        all.into_iter()
            .filter(|c| add.contains(c) || (DOCKER_DEFAULT.contains(c) && !drop.contains(c)))
            .collect()
    };
    let added = keep
        .iter()
        .copied()
        .filter(|c| !DOCKER_DEFAULT.contains(c))
        .collect();
    let removed = DOCKER_DEFAULT
        .iter()
        .copied()
        .filter(|c| !keep.contains(c))
        .collect();
    Decision {
        keep,
        privileged: opts.privileged,
        added,
        removed,
    }
}

/// The calling process's bounding set (`CapBnd` of `/proc/self/status`):
/// the most it can keep. `None` when unreadable.
pub fn bounding_set(k: &Kernel) -> Option<u64> {
    let status = k.read_file(Path::new("/proc/self/status")).ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapBnd:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// Keeps only `decision.keep` in the bounding, permitted, effective and
/// inheritable sets and clears the ambient set: one
/// `security.capabilities` event with the kept and the dropped names (and
/// what the user added and removed).
pub fn restrict(k: &Kernel, decision: &Decision, last: u32) -> Result<(), KernelError> {
    let keep_mask = mask(&decision.keep);
    let names = |caps: &[u32]| caps.iter().map(|c| name(*c)).collect::<Vec<_>>();
    let dropped: Vec<u32> = (0..=last).filter(|c| keep_mask & (1 << c) == 0).collect();
    let (added, removed) = if decision.privileged {
        (Vec::new(), Vec::new())
    } else {
        (names(&decision.added), names(&decision.removed))
    };
    k.restrict_capabilities(CapabilityCut {
        keep: keep_mask,
        last_cap: last,
        kept: names(&decision.keep),
        dropped: names(&dropped),
        privileged: decision.privileged,
        added,
        removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::double::FakeSyscalls;
    use crate::recorder::Recorder;
    use casulo_trace::EventBody;

    #[test]
    fn docker_default_is_the_mask_docker_shows() {
        // `docker run --rm busybox grep CapEff /proc/self/status`
        assert_eq!(
            format!("{:016x}", mask(&DOCKER_DEFAULT)),
            "00000000a80425fb"
        );
        assert_eq!(name(21), "CAP_SYS_ADMIN");
        assert_eq!(name(63), "CAP_63");
    }

    fn opts(add: &[&str], drop: &[&str]) -> crate::security::SecurityOptions {
        crate::security::SecurityOptions {
            cap_add: add.iter().map(|s| s.to_string()).collect(),
            cap_drop: drop.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn names_are_dockers_with_or_without_cap_and_typos_get_the_nearest() {
        assert_eq!(parse_name("net_admin").unwrap(), "CAP_NET_ADMIN");
        assert_eq!(parse_name("CAP_SYS_ADMIN").unwrap(), "CAP_SYS_ADMIN");
        assert_eq!(parse_name("all").unwrap(), "ALL");
        let e = parse_name("NET_ADMN").unwrap_err();
        assert!(
            e.contains("\"NET_ADMN\"") && e.contains("NET_ADMIN?"),
            "{e}"
        );
        let e = parse_name("banana").unwrap_err();
        assert!(e.starts_with("capability desconhecida"), "{e}");
    }

    #[test]
    fn decide_follows_dockers_rules() {
        let d = decide(&opts(&[], &[]), 40);
        assert_eq!(d.keep, DOCKER_DEFAULT);
        assert!(d.added.is_empty() && d.removed.is_empty());
        let d = decide(&opts(&["NET_ADMIN"], &["CHOWN"]), 40);
        assert!(d.keep.contains(&12) && !d.keep.contains(&0));
        assert_eq!((d.added, d.removed), (vec![12], vec![0]));
        // Drop ALL, add one: only that one.
        let d = decide(&opts(&["KILL"], &["ALL"]), 40);
        assert_eq!(d.keep, vec![5]);
        // Add ALL, drop one: all but that one.
        let d = decide(&opts(&["ALL"], &["SYS_ADMIN"]), 40);
        assert_eq!(d.keep.len(), 40);
        assert!(!d.keep.contains(&21));
        // In both: docker keeps it (drop first, then add).
        let d = decide(&opts(&["CHOWN"], &["CHOWN"]), 40);
        assert!(d.keep.contains(&0));
        let privileged = crate::security::SecurityOptions {
            privileged: true,
            ..Default::default()
        };
        let d = decide(&privileged, 40);
        assert_eq!(d.keep.len(), 41);
        assert!(d.privileged);
    }

    #[test]
    fn the_cut_is_one_event_with_kept_and_dropped() {
        let sys = FakeSyscalls::new();
        sys.set_file("/proc/sys/kernel/cap_last_cap", "40\n");
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        crate::security::harden(&k, &Default::default()).unwrap();
        let events = rec.events();
        let EventBody::SecurityCapabilities {
            kept,
            dropped,
            mask,
            privileged,
            added,
            removed,
        } = &events[0].body
        else {
            panic!("{:?}", events[0].body);
        };
        assert_eq!(kept.len(), 14);
        assert_eq!(dropped.len(), 41 - 14);
        assert!(dropped.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(kept.contains(&"CAP_NET_RAW".to_string()));
        assert_eq!(mask, "00000000a80425fb");
        assert!(!privileged && added.is_empty() && removed.is_empty());
        assert!(events[0].op.contains("PR_CAPBSET_DROP"), "{}", events[0].op);
        assert!(events[0].op.contains("capset"), "{}", events[0].op);
        assert_eq!(events[1].body.kind(), "security.no_new_privs");
        assert_eq!(events[1].op, "prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)");
        let calls = sys.calls();
        assert_eq!(
            calls[..3],
            [
                "read /proc/sys/kernel/cap_last_cap",
                "restrict_capabilities 00000000a80425fb 40",
                "set_no_new_privs",
            ]
        );
        assert!(calls[3..]
            .iter()
            .all(|c| c.starts_with("install_seccomp") || c.starts_with("read ")));
    }

    #[test]
    fn what_the_user_asked_is_in_the_event() {
        let sys = FakeSyscalls::new();
        sys.set_file("/proc/sys/kernel/cap_last_cap", "40\n");
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        crate::security::harden(&k, &opts(&["net_admin"], &["CAP_CHOWN"])).unwrap();
        let EventBody::SecurityCapabilities {
            kept,
            added,
            removed,
            mask,
            ..
        } = &rec.events()[0].body
        else {
            panic!()
        };
        assert_eq!(added, &["CAP_NET_ADMIN"]);
        assert_eq!(removed, &["CAP_CHOWN"]);
        assert!(kept.contains(&"CAP_NET_ADMIN".to_string()));
        assert_eq!(mask, "00000000a80435fa");

        let sys = FakeSyscalls::new();
        sys.set_file("/proc/sys/kernel/cap_last_cap", "40\n");
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let privileged = crate::security::SecurityOptions {
            privileged: true,
            ..Default::default()
        };
        crate::security::harden(&k, &privileged).unwrap();
        let events = rec.events();
        let EventBody::SecurityCapabilities {
            kept,
            dropped,
            privileged,
            mask,
            ..
        } = &events[0].body
        else {
            panic!()
        };
        assert!(*privileged && dropped.is_empty());
        assert_eq!((kept.len(), mask.as_str()), (41, "000001ffffffffff"));
        let kinds: Vec<_> = events.iter().map(|e| e.body.kind()).collect();
        assert_eq!(kinds, ["security.capabilities", "security.seccomp"]);
    }
}
