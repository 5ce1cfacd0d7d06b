//! The supervisor: what keeps a `-d` container company after `casulo run`
//! (or `casulo start`) has returned — casulo's `conmon`.
//!
//! A container needs a parent that outlives the command that asked for it:
//! someone must hold its stdout and stderr (or it would die of SIGPIPE, and
//! `casulo logs` would have nothing), reap it and record how it ended, keep
//! its cgroup sampler and its port proxy running, append to its trace, and
//! restart it when its `--restart` policy says so. Docker gives that job to
//! a `containerd-shim` per container (and to the daemon); podman, daemonless
//! like casulo, to `conmon`. Here it is the casulo binary itself, executed
//! again as `casulo __supervisor ID`:
//!
//! 1. [`spawn`] (in the CLI): a new session (`setsid`: no terminal, so a
//!    Ctrl-C or the terminal closing never reaches it), stdio on
//!    `/dev/null`, and a pipe on fd 3 on which the supervisor says
//!    `OK <pid>` once the container's command runs, or `FAIL <code>` and
//!    why. The CLI prints the id and exits; the supervisor is re-parented
//!    to the host's init (or the nearest subreaper).
//! 2. [`main`] (the supervisor): points fds 0, 1 and 2 at the container's
//!    streams (a pipe each for stdout and stderr, read by the log
//!    [`Relay`]; stdin `/dev/null`, or with `-i` a pipe it keeps open and
//!    fills with what `casulo attach` sends ([`crate::terminal::feeder`]); with
//!    `-t` the container's own pty, whose master it keeps and serves to
//!    `casulo attach`, see [`crate::container::terminal_hub`]), runs
//!    the same [`live`] as `casulo run` in a terminal, and loops while the
//!    restart policy asks, with docker's back-off: 100 ms, doubling up to a
//!    minute, back to 100 ms after a run of 10 s or more.
//!
//! The container's init keeps `PR_SET_PDEATHSIG`: if the supervisor is
//! killed, the kernel kills the container too, and `casulo gc` removes what
//! was left (the cgroup, the address, the `running` record).
//!
//! Its own messages (a clean-up that failed, each restart) go to
//! `containers/<id>/supervisor.log`.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::create::Created;
use super::logs::Relay;
use super::run::{live, AtExit, RunObserver, Sampling};
use super::{record, rm, ContainerRecord, ContainerState, RestartPolicy, RunError};
use crate::kernel::LinuxSyscalls;
use crate::mounts::{CgroupView, RootfsPlan};
use crate::state::StateDir;
use crate::terminal::attach::Listener;
use crate::terminal::feeder::Feeder;

/// The hidden subcommand that runs [`main`].
pub const SUBCOMMAND: &str = "__supervisor";
/// Where the supervisor finds the pipe to the CLI that spawned it.
const READY_FD: RawFd = 3;
/// Its own log, beside the container's record.
pub const SUPERVISOR_LOG: &str = "supervisor.log";

/// docker's back-off: the first pause before a restart…
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// …doubled at each restart, up to this…
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// …and back to the first after a run at least this long.
pub const RESET_AFTER: Duration = Duration::from_secs(10);

/// Starts the supervisor of the created (or exited) container `record` and
/// waits until its command runs; returns the host pid of its init.
pub fn spawn(state: &StateDir, record: &ContainerRecord) -> Result<i32, RunError> {
    let (ready_rd, ready_wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| RunError::io("pipe", "supervisor", e.into()))?;
    let mut cmd = std::process::Command::new("/proc/self/exe");
    cmd.arg0("casulo-supervisor")
        .arg("--root")
        .arg(state.root())
        .arg(SUBCOMMAND)
        .arg(&record.id)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let wr = ready_wr.as_raw_fd();
    // SAFETY: between fork and exec only async-signal-safe calls (setsid,
    // dup2: the copy on fd 3 loses close-on-exec, the original keeps it).
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid()?;
            if libc::dup2(wr, READY_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| RunError::io("não consegui iniciar o supervisor", "/proc/self/exe", e))?;
    drop(ready_wr);
    let mut said = String::new();
    let _ = std::fs::File::from(ready_rd).read_to_string(&mut said);
    // Not waited for: it lives on (re-parented to init when the CLI exits).
    drop(child);
    parse_ready(&said)
}

/// `casulo start`: a container that is not up gets a supervisor (as a new
/// `run -d`), its `--restart` count and any earlier `stop` forgotten. One
/// that is up is left as it is (docker's `start` of a running container).
pub fn start(state: &StateDir, record: &ContainerRecord) -> Result<(), RunError> {
    if record.is_up() {
        return Ok(());
    }
    let dir = state.container(&record.id);
    let ready = record::update(&dir, |r| {
        r.stopped_by_user = false;
        r.restart_count = 0;
    })?;
    spawn(state, &ready).map(|_| ())
}

fn parse_ready(said: &str) -> Result<i32, RunError> {
    if let Some(pid) = said.strip_prefix("OK ") {
        if let Ok(pid) = pid.trim().parse() {
            return Ok(pid);
        }
    }
    if let Some(rest) = said.strip_prefix("FAIL ") {
        let (code, message) = super::start::parse_failure(rest);
        return Err(RunError::Init { code, message });
    }
    Err(RunError::Init {
        code: 125,
        message: "o supervisor do contêiner terminou antes de iniciá-lo \
                  (veja containers/<id>/supervisor.log no diretório de estado)"
            .into(),
    })
}

/// The supervisor's life (`casulo __supervisor ID`); returns its exit code.
pub fn main(state: &StateDir, id: &str) -> i32 {
    one_malloc_arena();
    // `ps`/`top` show the kernel's name (`comm`), which `arg0` does not
    // change: without this every supervisor would be called `exe`.
    let _ = nix::sys::prctl::set_name(c"casulo-superv");
    // SAFETY: fd 3 was put there by `spawn`; nobody else owns it. Made
    // close-on-exec so the container does not inherit it.
    let ready = (nix::fcntl::fcntl(
        unsafe { std::os::fd::BorrowedFd::borrow_raw(READY_FD) },
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .is_ok())
    .then(|| unsafe { OwnedFd::from_raw_fd(READY_FD) });
    let mut ready = ready.map(std::fs::File::from);
    let dir = state.container(id);
    let me = std::process::id() as i32;
    let log = open_supervisor_log(&dir);
    // Held until the end: to the other verbs the container is up until
    // its last record is written and --rm is done.
    let (keeper, result) = match super::keeper::hold(&dir) {
        Ok(keeper) => (Some(keeper), supervise(state, &dir, me, &log, &mut ready)),
        Err(e) => (None, Err(e)),
    };
    if let Err(e) = &result {
        if let Some(mut r) = ready.take() {
            let _ = write!(r, "FAIL {}\n{e}", e.exit_code());
        }
        note(&log, &format!("erro: {e}"));
    }
    // The end: no supervisor any more; with --rm, no container either.
    let last = record::update(&dir, |r| {
        if r.supervisor == Some(me) {
            r.supervisor = None;
        }
    });
    if let Ok(r) = last {
        if r.host.auto_remove && r.state == ContainerState::Exited {
            rm::remove_dirs(state, &r.id, &r.name);
            rm::remove_anonymous_volumes(state, &r);
        }
    }
    drop(keeper);
    i32::from(result.is_err())
}

fn supervise(
    state: &StateDir,
    dir: &Path,
    me: i32,
    log: &Option<std::fs::File>,
    ready: &mut Option<std::fs::File>,
) -> Result<(), RunError> {
    let first = record::update(dir, |r| r.supervisor = Some(me))?;
    let recorder = Arc::new(record::reopen_trace(state, &first)?);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let record = record::load(dir)?;
        let mut plan = RootfsPlan::in_dir(dir, record.lowerdirs.clone(), CgroupView::of_host());
        plan.volatile = record.host.auto_remove;
        let created = Created {
            plan,
            dir: dir.to_path_buf(),
            recorder: recorder.clone(),
            record,
        };
        let mut watcher = Watcher::attach(dir, &created.record.host, ready.take())?;
        let began = Instant::now();
        let lived = live(
            &created,
            &LinuxSyscalls,
            &mut watcher,
            Sampling::Detached,
            AtExit::Record,
        );
        let ready_again = watcher.finish();
        let outcome = match lived {
            Ok(outcome) => outcome,
            Err(e) => {
                // Not started: the CLI hears why (first start), and the
                // record says it is not running.
                *ready = ready_again;
                let _ = record::update(dir, |r| {
                    if r.state != ContainerState::Created {
                        r.state = ContainerState::Exited;
                    }
                    r.pid = None;
                });
                return Err(e);
            }
        };
        if let Some(why) = &outcome.cgroup_leftover {
            note(log, &format!("o cgroup não pôde ser removido ({why})"));
        }
        let ran = began.elapsed();
        if ran >= RESET_AFTER {
            backoff = FIRST_BACKOFF;
        }
        let now = record::load(dir)?;
        if !should_restart(&now, outcome.exit_code) {
            return Ok(());
        }
        let restarting = record::update(dir, |r| {
            r.state = ContainerState::Restarting;
            r.restart_count += 1;
        })?;
        recorder.record(
            casulo_trace::EventBody::ProcessRestart {
                policy: restarting.host.restart.to_string(),
                attempt: restarting.restart_count,
                exit_code: outcome.exit_code,
                delay_ms: backoff.as_millis() as u64,
            },
            format!("nanosleep({} ms)", backoff.as_millis()),
            casulo_trace::Outcome::Ok,
        );
        note(
            log,
            &format!(
                "terminou com {} depois de {:.1} s; --restart {}: reinício {} em {} ms",
                outcome.exit_code,
                ran.as_secs_f64(),
                restarting.host.restart,
                restarting.restart_count,
                backoff.as_millis()
            ),
        );
        if !pause_unless_stopped(dir, backoff) {
            let _ = record::update(dir, |r| r.state = ContainerState::Exited);
            return Ok(());
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// What the container's `--restart` policy says after it ended with `code`
/// (never after a `stop`).
pub fn should_restart(record: &ContainerRecord, code: i32) -> bool {
    if record.stopped_by_user {
        return false;
    }
    match record.host.restart {
        RestartPolicy::No => false,
        RestartPolicy::OnFailure { max_retries } => {
            code != 0 && max_retries.is_none_or(|max| record.restart_count < max)
        }
        RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
    }
}

/// Sleeps `pause`, looking at the record every 50 ms; false if a `stop`
/// came meanwhile.
fn pause_unless_stopped(dir: &Path, pause: Duration) -> bool {
    let until = Instant::now() + pause;
    loop {
        if record::load(dir).is_ok_and(|r| r.stopped_by_user) {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

/// One supervisor per container, so its memory is multiplied: `cargo xtask
/// bench densidade` measures it. glibc gives each thread that allocates an
/// arena of its own, which keeps the pages it touched; the sampler and the
/// log relay allocate little and seldom, so they share the main arena (no
/// contention to speak of). Before any thread starts.
fn one_malloc_arena() {
    // SAFETY: mallopt only changes the allocator's parameters.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Gives the kernel back the heap pages that preparing the container
/// allocated and freed: about 240 KiB (measured) that glibc would keep for
/// the container's whole life, since by itself it only trims the top of
/// the heap.
fn trim_heap() {
    // SAFETY: malloc_trim only releases free memory of the allocator.
    #[cfg(target_env = "gnu")]
    unsafe {
        libc::malloc_trim(0);
    }
}

fn open_supervisor_log(dir: &Path) -> Option<std::fs::File> {
    crate::state::private_file_options()
        .append(true)
        .create(true)
        .open(dir.join(SUPERVISOR_LOG))
        .ok()
}

fn note(log: &Option<std::fs::File>, text: &str) {
    if let Some(mut f) = log.as_ref() {
        let _ = writeln!(f, "{} {text}", super::run::now_rfc3339());
    }
}

/// The container's streams while one run lasts: fds 0, 1 and 2 of the
/// supervisor point at them from before the `clone` (the init inherits them)
/// until the command runs; then back at `/dev/null`, and the relay copies
/// stdout and stderr into the log. With `-t` the container's stdio is its
/// terminal: no pipe, no relay thread; the supervisor's main thread serves
/// the terminal ([`crate::container::terminal_hub`]) and logs it.
struct Watcher {
    dir: PathBuf,
    /// Read ends of the container's stdout and stderr, until the relay takes them.
    pipes: Option<(OwnedFd, OwnedFd)>,
    /// With `-i`: the write end of the container's stdin, kept open so
    /// that a shell waits for input instead of reading EOF, and the socket
    /// on which `casulo attach` sends it what to write there; both go to
    /// the [`Feeder`] once the command runs.
    stdin: Option<(OwnedFd, Listener)>,
    feeder: Option<Feeder>,
    relay: Option<Relay>,
    ready: Option<std::fs::File>,
    restored: bool,
    tty: bool,
    /// docker's `StdinOnce`: the feeder closes stdin when its first attacher leaves.
    stdin_once: bool,
}

impl Watcher {
    fn attach(
        dir: &Path,
        host: &super::HostConfig,
        ready: Option<std::fs::File>,
    ) -> Result<Watcher, RunError> {
        if host.tty {
            // fds 0, 1, 2 stay on /dev/null until the init takes its terminal.
            return Ok(Watcher {
                dir: dir.to_path_buf(),
                pipes: None,
                stdin: None,
                feeder: None,
                relay: None,
                ready,
                restored: true,
                tty: true,
                stdin_once: false,
            });
        }
        let interactive = host.interactive;
        let pipe = || {
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                .map_err(|e| RunError::io("pipe", "stdio do contêiner", e.into()))
        };
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let (in_r, stdin) = if interactive {
            let (r, w) = pipe()?;
            let listener = Listener::bind(dir)
                .map_err(|e| RunError::io("não consegui criar", "attach.sock", e))?;
            (r, Some((w, listener)))
        } else {
            let null = std::fs::File::open("/dev/null")
                .map_err(|e| RunError::io("não consegui abrir", "/dev/null", e))?;
            (OwnedFd::from(null), None)
        };
        for (from, to) in [(&in_r, 0), (&out_w, 1), (&err_w, 2)] {
            dup_onto(from.as_raw_fd(), to)?;
        }
        Ok(Watcher {
            dir: dir.to_path_buf(),
            pipes: Some((out_r, err_r)),
            stdin,
            feeder: None,
            relay: None,
            ready,
            restored: false,
            tty: false,
            stdin_once: host.stdin_once,
        })
    }

    /// fds 0, 1, 2 back to `/dev/null`: from now on only the container
    /// holds the write ends, so the relay sees EOF when it is gone.
    fn restore(&mut self) {
        if self.restored {
            return;
        }
        self.restored = true;
        if let Ok(null) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")
        {
            for fd in 0..=2 {
                let _ = dup_onto(null.as_raw_fd(), fd);
            }
        }
    }

    /// After the run: stdio restored (if the start failed), the log complete.
    /// Returns the pipe to the CLI if nobody was told yet.
    fn finish(mut self) -> Option<std::fs::File> {
        self.restore();
        drop(self.stdin.take());
        if let Some(feeder) = self.feeder.take() {
            feeder.finish();
        }
        if let Some(relay) = self.relay.take() {
            relay.finish();
        }
        self.ready.take()
    }
}

impl RunObserver for Watcher {
    fn started(&mut self, record: &ContainerRecord) {
        self.restore();
        if let Some((out, err)) = self.pipes.take() {
            self.relay = Relay::start(&self.dir, out, err).ok();
        }
        if let Some((stdin, listener)) = self.stdin.take() {
            self.feeder = Feeder::start(listener, stdin, self.stdin_once).ok();
        }
        if let Some(mut ready) = self.ready.take() {
            let _ = write!(ready, "OK {}", record.pid.unwrap_or(0));
        }
        // The setup is over: what it allocated is garbage now.
        trim_heap();
    }

    fn serves_terminal(&self) -> bool {
        self.tty
    }
}

fn dup_onto(from: RawFd, to: RawFd) -> Result<(), RunError> {
    // SAFETY: dup2 on descriptors this process owns; `to` is 0, 1 or 2.
    if unsafe { libc::dup2(from, to) } < 0 {
        return Err(RunError::io(
            "dup2",
            "stdio do contêiner",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docker's policies: `no` never, `on-failure` on a non-zero code up to
    /// its limit, `always` and `unless-stopped` every time — and none of
    /// them after a `stop`.
    #[test]
    fn restart_policies_decide_as_dockers() {
        let mut r = record::tests::sample(&"a".repeat(64), "n");
        let decide = |r: &ContainerRecord, code| should_restart(r, code);
        assert!(!decide(&r, 1));
        r.host.restart = RestartPolicy::OnFailure {
            max_retries: Some(2),
        };
        assert!(!decide(&r, 0));
        assert!(decide(&r, 1));
        r.restart_count = 2;
        assert!(!decide(&r, 1), "limite de 2 tentativas");
        r.host.restart = RestartPolicy::OnFailure { max_retries: None };
        assert!(decide(&r, 137));
        r.host.restart = RestartPolicy::Always;
        assert!(decide(&r, 0));
        r.stopped_by_user = true;
        assert!(!decide(&r, 0));
        r.host.restart = RestartPolicy::UnlessStopped;
        assert!(!decide(&r, 1));
    }

    #[test]
    fn the_cli_reads_what_the_supervisor_said() {
        assert_eq!(parse_ready("OK 4242").unwrap(), 4242);
        let err = parse_ready("FAIL 127\nexecutável não encontrado: xyz").unwrap_err();
        assert_eq!(err.exit_code(), 127);
        assert!(err.to_string().contains("xyz"));
        let err = parse_ready("").unwrap_err();
        assert!(err.to_string().contains("supervisor.log"), "{err}");
    }
}
