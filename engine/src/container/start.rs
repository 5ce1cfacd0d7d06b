//! `start`, the parent side: `clone` the container's first process into new
//! namespaces, let it go, and wait until it has `exec`uted the command.
//!
//! Two pipes make the hand-shake (the pattern of runc's `nsexec`):
//!
//! - **sync** (parent → child): the child waits on it before doing anything,
//!   so the parent can record the clone first, put the child in its
//!   cgroup (on v2 it was born there, on v1 it joins it itself right after
//!   the go: [`cgroups::clone_into`]) and (with
//!   `--network bridge`) create the veth pair whose `eth0`
//!   is born in the child's network namespace. The parent sends the child's *host* pid, which the child
//!   cannot know (inside, it is pid 1) and writes into its trace events.
//! - **report** (child → parent, close-on-exec): just before `execve` the
//!   child writes `EXEC <path>`; if `exec` succeeds the pipe closes by itself
//!   and the parent records the `process.exec` for it. On failure the child
//!   writes `FAIL <code>` and a pt-BR message, and exits with that code.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use nix::fcntl::OFlag;
use nix::unistd::Pid;

use super::create::Created;
use super::{init, RunError};
use crate::cgroups::{self, Born, ContainerCgroup};
use crate::kernel::{Forked, Kernel};
use crate::namespaces;
use crate::network::Attachment;
use crate::terminal::console::{self, Console};
use crate::terminal::WindowSize;

/// Starts the container; returns the host pid of its init once the command
/// runs. With a `cgroup`, the init is moved into it before it may go on, so
/// everything it does (and the command) counts against the limits. With a
/// network attachment, its veth pair is made before the go too (the child
/// configures `eth0` from inside).
pub fn start(
    k: &Kernel,
    created: &Created,
    cgroup: Option<&ContainerCgroup>,
    net: Option<&Attachment>,
) -> Result<Pid, RunError> {
    start_with(k, created, cgroup, net, None, &mut |_| Ok(())).map(|(pid, _)| pid)
}

/// [`start`], and with `terminal` (`-t`: the window size to begin with)
/// the init opens a pseudo-terminal and sends its master back over a
/// console socket ([`crate::terminal::console`]): returned with the pid.
/// `before_go` runs last before the go, with the init's pid (rootless: pasta
/// gives its network namespace `eth0` then, so the command finds it up).
pub fn start_with(
    k: &Kernel,
    created: &Created,
    cgroup: Option<&ContainerCgroup>,
    net: Option<&Attachment>,
    terminal: Option<WindowSize>,
    before_go: &mut dyn FnMut(Pid) -> Result<(), RunError>,
) -> Result<(Pid, Option<Console>), RunError> {
    let pipe = || nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(std::io::Error::from);
    let (sync_rd, sync_wr) = pipe().map_err(|e| RunError::io("pipe", "sync", e))?;
    let (report_rd, report_wr) = pipe().map_err(|e| RunError::io("pipe", "report", e))?;

    // A pidfd of casulo itself, inherited by the child (close-on-exec):
    // after its PR_SET_PDEATHSIG the child polls it to learn whether casulo
    // died before that (and so will never send the signal). `None` on a
    // kernel without pidfd_open (< 5.3).
    let me = pidfd_of_self();
    let userns = created.record.process.security.userns.as_ref();
    let (userns_parent, userns_child) = userns_channel(userns.is_some())?;
    let (console_parent, console_child) = match terminal {
        Some(size) => {
            let (ours, theirs) =
                console::channel().map_err(|e| RunError::io("socketpair", "console", e))?;
            (
                Some((ours, size)),
                Some(console::Request {
                    socket: theirs,
                    size,
                }),
            )
        }
        None => (None, None),
    };

    let kinds = namespaces::cloned(userns.is_some());
    // v1: the init joins its cgroup itself, unless a user namespace keeps
    // it from writing the host's cgroup files (see `Born::JoinsItself`).
    let manager = cgroup.map(|cg| cg.manager());
    let (forked, born) = cgroups::clone_into(k, &kinds, manager, userns.is_none())?;
    match forked {
        Forked::Child => {
            drop(sync_wr);
            drop(report_rd);
            drop(userns_parent);
            drop(console_parent);
            let inside = net.map(Attachment::container);
            init::run(
                k,
                &created.plan,
                &created.record.process,
                inside.as_ref(),
                manager.filter(|_| born == Born::JoinsItself),
                init::Channels {
                    parent: me,
                    sync: sync_rd,
                    report: report_wr,
                    userns: userns_child,
                    console: console_child,
                },
            )
        }
        Forked::Parent(pid) => {
            drop(me);
            drop(sync_rd);
            drop(report_wr);
            drop(userns_child);
            drop(console_child);
            // The child waits on the sync pipe: give it its id maps and
            // rootfs (--userns), attach it (cgroup, veth) before the go.
            let prepared = prepare_userns(k, pid, created, userns_parent.as_ref())
                .and_then(|()| match (cgroup, born) {
                    (Some(cg), Born::Outside) => cg.attach(k, pid).map_err(RunError::from),
                    _ => Ok(()),
                })
                .and_then(|()| {
                    net.map_or(Ok(()), |n| n.plug(k, pid.as_raw()).map_err(RunError::from))
                })
                .and_then(|()| before_go(pid));
            if let Err(e) = prepared {
                // Closing the pipe unsaid makes the child exit (125).
                drop(sync_wr);
                drop(report_rd);
                let _ = k.wait(pid, true);
                return Err(e);
            }
            let p = &created.record.process;
            release(k, pid, (sync_wr, report_rd), (&p.args, &p.env), INIT)?;
            let Some((socket, size)) = console_parent else {
                return Ok((pid, None));
            };
            let what = "não recebi o terminal do contêiner";
            receive_console(k, pid, &socket, size, what).map(|c| (pid, Some(c)))
        }
    }
}

/// The terminal the child `pid` opened and sent on `socket` (before its
/// EXEC line: already waiting there), for the init and for an exec'd
/// process; if it never came, the child is killed and reaped, and `what`
/// says what failed.
pub(super) fn receive_console(
    k: &Kernel,
    pid: Pid,
    socket: &OwnedFd,
    size: crate::terminal::WindowSize,
    what: &'static str,
) -> Result<console::Console, RunError> {
    console::receive(socket, size).map_err(|e| {
        let _ = k.kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = k.wait(pid, true);
        RunError::io(what, "console", e)
    })
}

/// Who [`release`] lets go, as its messages say it: (failed release, died first).
pub(super) type Who = (&'static str, &'static str);
const INIT: Who = (
    "não consegui liberar o init do contêiner",
    "o init do contêiner morreu antes de executar o comando",
);

/// The end of the hand-shake, for the init and for an exec'd process
/// (`who` says which in the messages): sends the child its host pid through
/// `sync` (it then goes on) and reads `report` until the `execve`; records
/// the `process.exec` of `args` and `env`. If the child failed or died
/// first, it is reaped and its reason returned.
pub(super) fn release(
    k: &Kernel,
    pid: Pid,
    (sync, report): (OwnedFd, OwnedFd),
    (args, env): (&[String], &[String]),
    (release_failed, died): Who,
) -> Result<(), RunError> {
    let go = std::fs::File::from(sync)
        .write_all(&pid.as_raw().to_le_bytes())
        .map_err(|e| RunError::io(release_failed, "sync", e));
    let report = read_report(report);
    // The child has exec'd or died: whatever it gathered is written now.
    k.recorder().end_batch();
    match (go, report) {
        (Ok(()), Report::Exec(path)) => {
            k.exec_succeeded(pid, &path, args, env);
            Ok(())
        }
        (go, report) => {
            let _ = k.wait(pid, true);
            go?;
            Err(match report {
                Report::Fail(code, message) => RunError::Init { code, message },
                _ => RunError::Init {
                    code: 125,
                    message: died.into(),
                },
            })
        }
    }
}

/// `pidfd_open(getpid(), 0)` (close-on-exec by the kernel's definition).
pub(super) fn pidfd_of_self() -> Option<OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open with integer arguments; a returned fd is ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, libc::getpid(), 0) };
    // SAFETY: a fresh descriptor nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// With `--userns`, the socket pair the overlay goes through (see
/// [`crate::security::userns`]): (parent's end, child's end).
fn userns_channel(userns: bool) -> Result<(Option<OwnedFd>, Option<OwnedFd>), RunError> {
    if !userns {
        return Ok((None, None));
    }
    let (parent, child) =
        crate::security::userns::channel().map_err(|e| RunError::io("socketpair", "userns", e))?;
    Ok((Some(parent), Some(child)))
}

/// With `--userns`: the id maps, then the idmapped overlay sent to `pid`.
fn prepare_userns(
    k: &Kernel,
    pid: Pid,
    created: &Created,
    channel: Option<&OwnedFd>,
) -> Result<(), RunError> {
    match (&created.record.process.security.userns, channel) {
        (Some(ids), Some(channel)) => {
            crate::security::userns::prepare_parent(k, pid, ids, &created.plan, channel)
                .map_err(RunError::from)
        }
        _ => Ok(()),
    }
}

pub(super) enum Report {
    Exec(String),
    Fail(i32, String),
    Nothing,
}

/// What follows `FAIL ` on a report pipe, `<code>\n<message>` (the init,
/// an `exec -d` waiter and the supervisor all say it so): the exit code
/// (125 if unreadable) and the pt-BR message.
pub(super) fn parse_failure(rest: &str) -> (i32, String) {
    let (code, message) = rest.split_once('\n').unwrap_or((rest, ""));
    (
        code.trim().parse().unwrap_or(125),
        message.trim().to_string(),
    )
}

/// Reads the child's report until the pipe closes (at exec, or at its death).
pub(super) fn read_report(fd: OwnedFd) -> Report {
    let mut text = String::new();
    let _ = std::fs::File::from(fd).read_to_string(&mut text);
    // A FAIL after EXEC means exec itself failed.
    if let Some(pos) = text.find("FAIL ") {
        let (code, message) = parse_failure(&text[pos + 5..]);
        return Report::Fail(code, message);
    }
    match text.strip_prefix("EXEC ") {
        Some(path) => Report::Exec(path.trim_end_matches('\n').to_string()),
        None => Report::Nothing,
    }
}
