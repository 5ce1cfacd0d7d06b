//! What the container's root may do: less than the host's root.
//!
//! Namespaces decide what a process *sees*; this module decides what it
//! *can do* with what it sees. Today, in every container (and every `RUN`
//! of a build), right before the `execve` and after the mounts and
//! `pivot_root` (which still need the full root):
//!
//! 1. [`capabilities`]: root's power is cut to docker's default 14
//!    capabilities (no `CAP_SYS_ADMIN`, so no `mount`/`umount`; no
//!    `CAP_SYS_MODULE`, no `CAP_NET_ADMIN`, …);
//! 2. [`set_no_new_privs`]: `PR_SET_NO_NEW_PRIVS`, so no later `execve`
//!    (a setuid binary, a file with capabilities) can give them back;
//! 3. [`seccomp`]: a filter that refuses dangerous system calls (`mount`,
//!    `ptrace`, `init_module`, `unshare` of a namespace, …) with `EPERM`,
//!    last, because from then on casulo's own calls are filtered too.
//!
//! With `--userns` ([`userns`]) all of this happens inside the container's
//! own user namespace: the capabilities kept are the namespace's, not the
//! host's.
//!
//! Still to come (issue 13): docker's full allow-list profile and
//! `--security-opt seccomp=…`, the device allow-list,
//! `--cap-add`/`--cap-drop`/`--privileged`.

pub mod capabilities;
pub mod seccomp;
pub mod userns;

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
    /// `--userns`: the host ids the container's root and users become
    /// ([`userns`]); `None` is docker's default, the host's own ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userns: Option<userns::IdMapping>,
}

/// Steps 1, 2 and 3 above, in that order (each a trace event).
/// `SecurityOptions` (carried in `ProcessSpec::security`) are not read yet.
pub fn harden(k: &Kernel) -> Result<(), KernelError> {
    capabilities::restrict_to_default(k)?;
    set_no_new_privs(k)?;
    seccomp::install_default(k)
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: a one-way switch, inherited by every
/// child: from here on `execve` never grants privileges.
pub fn set_no_new_privs(k: &Kernel) -> Result<(), KernelError> {
    k.set_no_new_privs()
}
