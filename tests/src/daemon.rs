//! A `casulo daemon` started by a test on a socket of its own, and the
//! unmodified `docker` CLI pointed at it (`DOCKER_HOST=unix://…`). The
//! same helper as `tests/daemon.rs`'s, for the test binaries that need a
//! lab of their own (`tests/daemon_images.rs` tags and removes images,
//! which would race the list comparisons of `daemon.rs`).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{unique_name, Lab, Output};

/// A `casulo daemon` of this test; stopped with SIGTERM when dropped.
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

    pub fn on(lab: &Lab, socket: PathBuf) -> Daemon {
        let log = socket.with_extension("log");
        let child = lab
            .command(&["daemon", "--socket", socket.to_str().unwrap()])
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

    /// `docker ARGS…` against this daemon.
    pub fn docker(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("docker");
        cmd.args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_CONFIG", self.socket.with_extension("docker-config"))
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_API_VERSION");
        Output::of(&mut cmd)
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

    /// The daemon's pid (it names its temp files).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("still running").id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, and its exit code.
    pub fn stop(&mut self) -> i32 {
        let mut child = self.child.take().expect("still running");
        crate::send_signal(child.id(), libc::SIGTERM);
        child.wait().unwrap().code().unwrap_or(-1)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}
