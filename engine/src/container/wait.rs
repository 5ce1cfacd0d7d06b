//! `wait`: the parent waits for the container's init, forwarding signals.
//!
//! casulo blocks SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGCHLD before the
//! clone and takes them synchronously with `sigwait` — no signal handlers,
//! no races: a SIGCHLD that arrives between two checks stays pending.
//! The first termination signal is forwarded to the container's PID 1 (which
//! ignores it unless the program handles it: PID 1 has no default actions);
//! the second one becomes SIGKILL, which PID 1 cannot ignore.
//! `SIGWINCH` is blocked too: with `-t` the relay reads it from a
//! `signalfd` ([`crate::container::terminal_wait`]) and passes the window's new
//! size on; without a terminal it is dropped.

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::RunError;
use crate::kernel::Kernel;

const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

/// The signals casulo blocks and takes synchronously while a container runs.
pub fn handled() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    set.add(Signal::SIGWINCH);
    set
}

/// Blocks the signals `wait_for` handles (call before `clone`).
pub fn block_signals() {
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&handled()), None);
}

/// Restores an empty signal mask (the child, just before `exec`).
pub fn unblock_signals() {
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
}

/// Every ignored signal back to its default action (the child, just before
/// `exec`). Handlers are reset by `exec` anyway, but an *ignored* signal
/// stays ignored across it: whatever casulo inherited (`nohup`, a shell's
/// background job) would leak into the container's command. Only the ones
/// `/proc/self/status` lists as ignored are reset: one read instead of 62
/// `rt_sigaction`s (each ~10 µs in the qemu VM of the bench, #19); all of
/// them when it cannot be read.
pub fn reset_dispositions() {
    let ignored = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| ignored_mask(&status))
        .unwrap_or(u64::MAX);
    for signal in 1..=64 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP || ignored & (1 << (signal - 1)) == 0
        {
            continue;
        }
        to_default(signal);
    }
}

/// The `SigIgn:` mask of a `/proc/<pid>/status` (bit n-1 for signal n).
fn ignored_mask(status: &str) -> Option<u64> {
    let hex = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// One signal's action set to SIG_DFL. The raw syscall: glibc's wrappers
/// refuse its reserved signals 32 and 33.
fn to_default(signal: i32) {
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let default = KernelSigaction {
        handler: 0, // SIG_DFL
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: a plain struct of integers, read by the kernel; errors ignored.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            signal,
            &default as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            8usize,
        );
    }
}

/// Waits until `pid` ends; `on_forward(signal, escalated)` is told about
/// every signal passed on.
pub fn wait_for(
    k: &Kernel,
    pid: Pid,
    on_forward: &mut dyn FnMut(Signal, bool),
) -> Result<WaitStatus, RunError> {
    wait_for_then(k, pid, on_forward, None)
}

/// Something to do once if the wait lasts longer than a while.
pub type Later<'a> = (std::time::Duration, &'a mut dyn FnMut());

/// [`wait_for`], and `later`'s function called once if `pid` still runs
/// after `later`'s time (the run's cgroup sampler starts there: a command
/// that ends before its first sample never pays for a thread, #19).
pub fn wait_for_then(
    k: &Kernel,
    pid: Pid,
    on_forward: &mut dyn FnMut(Signal, bool),
    later: Option<Later>,
) -> Result<WaitStatus, RunError> {
    let set = handled();
    // When, and what; None once done.
    let mut later = later.map(|(after, f)| (std::time::Instant::now() + after, f));
    let mut forwarded = 0;
    loop {
        if let Some(status) = k.wait(pid, false)? {
            return Ok(status);
        }
        let signal = match &later {
            Some((deadline, _)) => match timed_wait(
                &set,
                deadline.saturating_duration_since(std::time::Instant::now()),
            ) {
                Some(signal) => signal,
                None => {
                    // The time is up (or a stray interruption: look again).
                    if std::time::Instant::now() >= *deadline {
                        if let Some((_, f)) = later.take() {
                            f();
                        }
                    }
                    continue;
                }
            },
            None => match set.wait() {
                Ok(signal) => signal,
                Err(_) => continue,
            },
        };
        if signal == Signal::SIGCHLD || signal == Signal::SIGWINCH {
            continue;
        }
        forward(k, pid, signal, &mut forwarded, on_forward);
    }
}

/// `sigtimedwait(2)`: a signal of `set`, or None when `left` passed first
/// or the wait was interrupted.
fn timed_wait(set: &SigSet, left: std::time::Duration) -> Option<Signal> {
    let timeout = nix::sys::time::TimeSpec::from_duration(left);
    // SAFETY: a sigset and a timespec we own, no siginfo asked for.
    let signal =
        unsafe { libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), timeout.as_ref()) };
    Signal::try_from(signal).ok()
}

/// Passes a termination `signal` casulo got on to PID 1: the first one as
/// it is, every later one (`forwarded` counts them) as SIGKILL.
pub fn forward(
    k: &Kernel,
    pid: Pid,
    signal: Signal,
    forwarded: &mut u32,
    on_forward: &mut dyn FnMut(Signal, bool),
) {
    *forwarded += 1;
    let escalated = *forwarded > 1;
    let sent = if escalated { Signal::SIGKILL } else { signal };
    on_forward(sent, escalated);
    // ESRCH: it died meanwhile; the next wait reports it.
    let _ = k.kill(pid, sent);
}

/// The shell's convention: the exit code, or 128 + the signal number.
pub fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, signal, _) => 128 + signal as i32,
        _ => 125,
    }
}

#[cfg(test)]
mod tests {
    use super::ignored_mask;

    #[test]
    fn the_ignored_mask_is_read_from_proc_status() {
        let status = "Name:\tsh\nSigPnd:\t0000000000000000\nSigBlk:\t0000000000010000\n\
                      SigIgn:\t0000000400000007\nSigCgt:\t0000000000000000\n";
        // SIGHUP, SIGINT, SIGQUIT (bits 0–2) and SIGRTMIN+? (signal 35, bit 34).
        assert_eq!(ignored_mask(status), Some(0x4_0000_0007));
        assert_eq!(ignored_mask("Name:\tsh\n"), None);
        assert_eq!(ignored_mask("SigIgn:\tzz\n"), None);
    }

    #[test]
    fn this_process_status_has_a_mask() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(ignored_mask(&status).is_some(), "{status}");
    }
}
