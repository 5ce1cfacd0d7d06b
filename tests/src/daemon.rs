//! A `casulo daemon` started by a test on a socket of its own, and the
//! unmodified `docker` CLI pointed at it (`DOCKER_HOST=unix://…`). The
//! same helper for `tests/daemon.rs`, `daemon_images.rs` and
//! `daemon_live.rs` (each a test binary with a lab of its own).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{unique_name, Lab, Output};

/// A `casulo daemon` of this test; stopped with SIGTERM when dropped
/// (SIGKILL if it does not end: [`terminate`]). The containers it started
/// outlive it, as with dockerd: guard them with [`crate::RemoveOnDrop`].
pub struct Daemon {
    child: Option<Child>,
    pub socket: PathBuf,
    log: PathBuf,
}

impl Daemon {
    pub fn start(lab: &Lab) -> Daemon {
        let socket = lab.dir().join(format!("{}.sock", unique_name("docker")));
        Daemon::on(lab, socket)
    }

    /// A daemon with more flags (`--ui …`).
    pub fn start_with(lab: &Lab, extra: &[&str]) -> Daemon {
        let socket = lab.dir().join(format!("{}.sock", unique_name("docker")));
        let mut args = vec!["daemon", "--socket", socket.to_str().unwrap()];
        args.extend_from_slice(extra);
        Daemon::spawn(lab.command(&args), socket)
    }

    pub fn on(lab: &Lab, socket: PathBuf) -> Daemon {
        let cmd = lab.command(&["daemon", "--socket", socket.to_str().unwrap()]);
        Daemon::spawn(cmd, socket)
    }

    /// A daemon over a state dir of its own (busybox bootstrapped there):
    /// for what would touch the other tests' containers (a prune).
    pub fn private(lab: &Lab) -> (Daemon, PathBuf) {
        let root = lab.dir().join(unique_name("estado"));
        let casulo = |args: &[&str]| {
            let mut cmd = Command::new(crate::casulo_bin());
            cmd.arg("--root").arg(&root).args(args);
            cmd.env_remove("CASULO_ROOT");
            cmd
        };
        Output::of(&mut casulo(&["image", "bootstrap"])).assert_ok();
        let socket = lab.dir().join(format!("{}.sock", unique_name("docker")));
        let cmd = casulo(&["daemon", "--socket", socket.to_str().unwrap()]);
        (Daemon::spawn(cmd, socket), root)
    }

    /// Starts `cmd` (a `casulo daemon`) and waits for its socket.
    pub fn spawn(mut cmd: Command, socket: PathBuf) -> Daemon {
        let log = socket.with_extension("log");
        // A test binary killed from outside (a hung test) runs no Drop:
        // the daemon then gets its SIGTERM from the kernel. (Not its
        // containers: the supervisors are its children, and a child does
        // not inherit this.)
        // SAFETY: prctl is async-signal-safe; nothing else runs in the child.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("casulo daemon inicia");
        let began = Instant::now();
        while UnixStream::connect(&socket).is_err() {
            assert!(
                began.elapsed() < Duration::from_secs(20),
                "o daemon não abriu {}:\n{}",
                socket.display(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon {
            child: Some(child),
            socket,
            log,
        }
    }

    /// A `docker ARGS…` command pointed at this daemon, with nothing of
    /// the caller's docker set-up (its context, config, pinned API version).
    pub fn docker_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("docker");
        cmd.args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_CONFIG", self.socket.with_extension("docker-config"))
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_API_VERSION");
        cmd
    }

    /// `docker ARGS…` against this daemon.
    pub fn docker(&self, args: &[&str]) -> Output {
        Output::of(&mut self.docker_command(args))
    }

    /// One raw HTTP/1.1 request on the socket: (status, body).
    pub fn http(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let mut s = UnixStream::connect(&self.socket).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: casulo\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        // A body over the cap is refused before it is all read: the
        // daemon may close while we still write.
        let _ = s.write_all(body);
        answer(s)
    }

    /// A request whose head announces `length` bytes of body but sends
    /// only `body`: (status, body of the answer).
    pub fn http_announcing(
        &self,
        method: &str,
        path: &str,
        length: u64,
        body: &[u8],
    ) -> (u16, String) {
        let mut s = UnixStream::connect(&self.socket).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: casulo\r\nContent-Length: {length}\r\n\
             Connection: close\r\n\r\n"
        );
        s.write_all(head.as_bytes()).unwrap();
        let _ = s.write_all(body);
        answer(s)
    }

    /// The daemon's pid (it names its temp files).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("still running").id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the daemon gets no chance to clean up (its socket stays).
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("still running");
        crate::send_signal(child.id(), libc::SIGKILL);
        let _ = child.wait();
    }

    /// SIGTERM, and its exit code (-1 if it had to be killed: see
    /// [`terminate`]).
    pub fn stop(&mut self) -> i32 {
        let child = self.child.take().expect("still running");
        terminate(child, STOP_GRACE)
            .and_then(|s| s.code())
            .unwrap_or(-1)
    }
}

/// How long a daemon gets to end after SIGTERM before it gets SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// SIGTERM, then SIGKILL if the daemon has not ended in `grace`:
/// a daemon stuck in its shutdown (a connection that never ends) must not
/// hang the test, for a hung test binary is killed from outside and then
/// none of its guards run. Never panics (it runs in `Drop`, maybe while
/// unwinding). `None`: killed, or not waitable.
fn terminate(mut child: Child, grace: Duration) -> Option<std::process::ExitStatus> {
    // SAFETY: a plain kill(2) of our own child, not yet reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let began = Instant::now();
    while began.elapsed() < grace {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The rest of a `Connection: close` answer: (status, body).
fn answer(mut s: UnixStream) -> (u16, String) {
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("resposta sem status: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            terminate(child, STOP_GRACE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    /// A child that ends on SIGTERM gives its status; one that ignores it
    /// (`trap '' TERM` is kept across exec) is killed once the grace is over.
    #[test]
    fn terminate_waits_then_kills() {
        let polite = Command::new("sleep").arg("100").spawn().unwrap();
        let status = terminate(polite, Duration::from_secs(10)).expect("ended on SIGTERM");
        assert_eq!(status.signal(), Some(libc::SIGTERM));

        let stubborn = Command::new("sh")
            .args(["-c", "trap '' TERM; exec sleep 100"])
            .spawn()
            .unwrap();
        let pid = stubborn.id();
        // Give sh the time to set the trap, or SIGTERM would end it.
        std::thread::sleep(Duration::from_millis(300));
        let began = Instant::now();
        assert_eq!(terminate(stubborn, Duration::from_millis(500)), None);
        assert!(began.elapsed() >= Duration::from_millis(500));
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} ficou"
        );
    }
}
