//! The host's `casulo` binary, out of the container's reach.
//!
//! **The attack (CVE-2019-5736, runc).** Until its `execve`, the container's
//! init *is* the host's engine binary: `/proc/PID/exe` of that process is a
//! magic link to `/usr/bin/casulo` on the host, whatever the container's
//! mount namespace. A process of the container that can see the init in its
//! `/proc` (same pid namespace) and open that link for writing rewrites the
//! host's binary — and the next `casulo` run by root is the attacker's
//! program. In runc the door was `runc exec`: it joins a running container,
//! so the container's processes are already there while runc's own binary
//! runs inside.
//!
//! **What runc and crun do.** Before joining the container they re-execute
//! themselves from a *sealed memfd*: a copy of the binary in an anonymous
//! memory file (`memfd_create`, then `F_SEAL_WRITE|F_SEAL_GROW|…`), so
//! `/proc/PID/exe` points at a copy no one can write, never at the file on
//! disk (newer runc prefers an `O_TMPFILE` bind or an overlay of its binary
//! to avoid copying it on every exec). They also make the process
//! non-dumpable, which closes `/proc/PID/{exe,mem,fd}` to anyone without
//! `CAP_SYS_PTRACE` over it.
//!
//! **What casulo does.** For `run`, the init is born in a *new* pid
//! namespace, alone, and nothing of the container runs until it `execve`s
//! the command — which replaces the process's image, so `/proc/1/exe` is
//! then the container's own program. Still, the init calls [`protect`]
//! first thing (`PR_SET_DUMPABLE 0`). `casulo exec`
//! (`container::exec`) is runc's case: its child is born in a pid
//! namespace where the container's processes already run, and is the host's
//! binary until its `execve`. casulo calls [`protect`] *before* the fork,
//! so the child is non-dumpable from its first instruction (the flag is
//! inherited): no race before a `prctl`, and `/proc/PID/exe` is closed to
//! every process of the container without `CAP_SYS_PTRACE` (docker's
//! default capabilities leave it out). What is left, and runc does: a
//! container given `CAP_SYS_PTRACE` (`--cap-add`, `--privileged`) could
//! still open it; re-executing from a sealed memfd before `setns` would
//! close that too.

use crate::kernel::{Kernel, KernelError};

/// `prctl(PR_SET_DUMPABLE, 0)`: the process leaves no core dump and its
/// `/proc/PID/` files (`exe`, `mem`, `fd/`) are closed to every process
/// without `CAP_SYS_PTRACE` — the container's root included, as docker's
/// default capabilities (and casulo's) leave it out. The
/// kernel sets it back to dumpable at `execve` (of a program that is not
/// setuid), so the container's command is an ordinary process again.
pub fn protect(k: &Kernel) -> Result<(), KernelError> {
    k.set_non_dumpable()
}
