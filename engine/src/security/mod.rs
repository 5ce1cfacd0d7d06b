//! What the container's root may do: less than the host's root.
//!
//! Namespaces decide what a process *sees*; this module decides what it
//! *can do* with what it sees. Today, in every container (and every `RUN`
//! of a build), right before the `execve` and after the mounts and
//! `pivot_root` (which still need the full root):
//!
//! 1. [`capabilities`]: root's power is cut to docker's default 14
//!    capabilities (no `CAP_SYS_ADMIN`, so no `mount`/`umount`; no
//!    `CAP_SYS_MODULE`, no `CAP_NET_ADMIN`, …), changed by `--cap-add` and
//!    `--cap-drop`;
//! 2. [`set_no_new_privs`]: `PR_SET_NO_NEW_PRIVS`, so no later `execve`
//!    (a setuid binary, a file with capabilities) can give them back;
//! 3. [`seccomp`]: a filter compiled from a profile in docker's format —
//!    casulo's default is an allow-list like docker's, where every call
//!    not listed (`mount`, `init_module`, `unshare`, `keyctl`, …) fails
//!    with `EPERM` — last, because from then on casulo's own calls are
//!    filtered too.
//!
//! Before all that, first thing in the init, [`host_binary::protect`]
//! makes it non-dumpable, so `/proc/PID/exe` (the host's `casulo` binary
//! until the `execve`) is closed to the container: see that module for the
//! CVE-2019-5736 story and what the coming `casulo exec` must add.
//!
//! `--privileged` keeps every capability and skips 2 and 3: the
//! container's root is the host's root, in a different view of the
//! system. The trace still has a `security.capabilities` (all kept) and a
//! `security.seccomp` (mode `disabled`), and no `security.no_new_privs`.
//!
//! With `--userns` ([`userns`]) all of this happens inside the container's
//! own user namespace: the capabilities kept are the namespace's, not the
//! host's.
//!
//! The device allow-list is the cgroup's ([`crate::cgroups::devices`]).

pub mod capabilities;
pub mod host_binary;
pub mod seccomp;
pub mod userns;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::kernel::{Kernel, KernelError};

/// What the user asked of the container's privileges: docker's
/// `--privileged`, `--cap-add`, `--cap-drop` and `--security-opt seccomp=`.
/// The default (all empty) is docker's default: the 14 capabilities,
/// `no_new_privs`, the seccomp filter, the device allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityOptions {
    /// Everything back: all capabilities, no seccomp, no `no_new_privs`,
    /// every device. As dangerous as it sounds.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// Capability names as docker writes them (`NET_ADMIN`, `CAP_NET_ADMIN`, `ALL`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// `--security-opt seccomp=`: `None` is casulo's default filter;
    /// `unconfined`, or the path of a profile in docker's JSON format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<String>,
    /// The text of `seccomp`'s file, read and checked on the host before
    /// the container exists ([`SecurityOptions::load_seccomp_profile`]):
    /// the init, after `pivot_root`, no longer sees the host's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<String>,
    /// `--userns`: the host ids the container's root and users become
    /// ([`userns`]); `None` is docker's default, the host's own ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns: Option<userns::IdMapping>,
}

impl SecurityOptions {
    /// Reads and checks the profile file `seccomp` names (nothing for the
    /// default or `unconfined`); the message, in Portuguese, says where
    /// it is wrong.
    pub fn load_seccomp_profile(&mut self) -> Result<(), String> {
        match self.seccomp.as_deref() {
            None | Some(seccomp::UNCONFINED) => self.seccomp_profile = None,
            Some(path) => {
                self.seccomp_profile = Some(seccomp::load_profile_file(Path::new(path))?);
            }
        }
        Ok(())
    }
}

/// Steps 1, 2 and 3 above, in that order (each a trace event), as `opts`
/// asks: `--privileged` skips 2 and 3.
pub fn harden(k: &Kernel, opts: &SecurityOptions) -> Result<(), KernelError> {
    let last = capabilities::last_cap(k);
    let mut decision = capabilities::decide(opts, last);
    if opts.privileged || opts.cap_add.iter().any(|c| c.eq_ignore_ascii_case("ALL")) {
        // "All" is all that casulo itself has: under a parent that took
        // some away (casulo inside a container), capset would refuse more.
        if let Some(bounding) = capabilities::bounding_set(k) {
            decision.keep.retain(|c| bounding & (1 << c) != 0);
            decision.added.retain(|c| bounding & (1 << c) != 0);
        }
    }
    capabilities::restrict(k, &decision, last)?;
    if !opts.privileged {
        set_no_new_privs(k)?;
    }
    seccomp::install(k, opts, &decision.keep)
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: a one-way switch, inherited by every
/// child: from here on `execve` never grants privileges.
pub fn set_no_new_privs(k: &Kernel) -> Result<(), KernelError> {
    k.set_no_new_privs()
}
