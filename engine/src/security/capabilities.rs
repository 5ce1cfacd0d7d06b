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
//! every set but ambient (cleared), and drops everything else.
//!
//! Done by hand with `prctl` and the raw `capset` (see
//! `kernel::syscalls::LinuxSyscalls::restrict_capabilities`) rather than
//! with the `caps` crate, because the three calls and their order *are*
//! the lesson: the bounding set must be cut while `CAP_SETPCAP` is still
//! effective, and `capset` comes last.

use std::path::Path;

use crate::kernel::{Kernel, KernelError};

/// The kernel's names, indexed by capability number (`linux/capability.h`).
pub const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Docker's default set (moby's `oci/caps/defaults.go`), by number.
pub const DOCKER_DEFAULT: [u32; 14] = [
    0,  // CAP_CHOWN
    1,  // CAP_DAC_OVERRIDE
    3,  // CAP_FOWNER
    4,  // CAP_FSETID
    5,  // CAP_KILL
    6,  // CAP_SETGID
    7,  // CAP_SETUID
    8,  // CAP_SETPCAP
    10, // CAP_NET_BIND_SERVICE
    13, // CAP_NET_RAW
    18, // CAP_SYS_CHROOT
    27, // CAP_MKNOD
    29, // CAP_AUDIT_WRITE
    31, // CAP_SETFCAP
];

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

/// Keeps only `keep` in the bounding, permitted, effective and inheritable
/// sets and clears the ambient set: one `security.capabilities` event
/// with the kept and the dropped names.
pub fn restrict(k: &Kernel, keep: &[u32]) -> Result<(), KernelError> {
    let last = last_cap(k);
    let keep_mask = mask(keep);
    let kept: Vec<String> = (0..=last)
        .filter(|c| keep_mask & (1 << c) != 0)
        .map(name)
        .collect();
    let dropped: Vec<String> = (0..=last)
        .filter(|c| keep_mask & (1 << c) == 0)
        .map(name)
        .collect();
    k.restrict_capabilities(keep_mask, last, kept, dropped)
}

/// [`restrict`] to [`DOCKER_DEFAULT`].
pub fn restrict_to_default(k: &Kernel) -> Result<(), KernelError> {
    restrict(k, &DOCKER_DEFAULT)
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

    #[test]
    fn the_cut_is_one_event_with_kept_and_dropped() {
        let sys = FakeSyscalls::new();
        sys.set_file("/proc/sys/kernel/cap_last_cap", "40\n");
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        crate::security::harden(&k).unwrap();
        let events = rec.events();
        let EventBody::SecurityCapabilities {
            kept,
            dropped,
            mask,
        } = &events[0].body
        else {
            panic!("{:?}", events[0].body);
        };
        assert_eq!(kept.len(), 14);
        assert_eq!(dropped.len(), 41 - 14);
        assert!(dropped.contains(&"CAP_SYS_ADMIN".to_string()));
        assert!(kept.contains(&"CAP_NET_RAW".to_string()));
        assert_eq!(mask, "00000000a80425fb");
        assert!(events[0].op.contains("PR_CAPBSET_DROP"), "{}", events[0].op);
        assert!(events[0].op.contains("capset"), "{}", events[0].op);
        assert_eq!(events[1].body.kind(), "security.no_new_privs");
        assert_eq!(events[1].op, "prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)");
        assert_eq!(
            sys.calls(),
            [
                "read /proc/sys/kernel/cap_last_cap",
                "restrict_capabilities 00000000a80425fb 40",
                "set_no_new_privs",
                &format!(
                    "install_seccomp {}",
                    crate::security::seccomp::program(&crate::security::seccomp::default_rules())
                        .len()
                )
            ]
        );
    }
}
