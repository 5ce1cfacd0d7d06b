//! `containers/<id>/container.log`: what a container under a supervisor
//! wrote on its stdout and stderr, for `casulo logs`.
//!
//! The format is docker's `json-file` log driver, line for line: one JSON
//! object per line of output, `{"log":"olá\n","stream":"stdout","time":"…"}`,
//! so a student who opens the file sees what docker keeps under
//! `/var/lib/docker/containers/<id>/<id>-json.log`. The two streams stay
//! apart (each line says which) and in the order the supervisor read them.
//!
//! The supervisor reads the two pipes the container writes to with one
//! thread ([`Relay`]): `poll` on both, a line written as soon as its `\n`
//! arrives, a long line cut every [`MAX_LINE`] bytes (as docker's 16 KiB),
//! and what is left without a newline written when the pipe closes. The file
//! is `0600`: a program's output may hold secrets.

use std::fs::File;
use std::io::{BufRead, Read, Seek, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The log file in a container's directory.
pub const LOG: &str = "container.log";
/// A line longer than this is written in pieces (docker's limit).
pub const MAX_LINE: usize = 16 * 1024;

/// One line of output, as docker's json-file driver writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The text, with its `\n` when it had one (invalid UTF-8 replaced by U+FFFD).
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// RFC 3339 with nanoseconds, UTC: when the supervisor read it.
    pub time: String,
}

impl Entry {
    pub fn is_stderr(&self) -> bool {
        self.stream == "stderr"
    }
}

/// The log of the container whose directory is `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(LOG)
}

/// The thread that copies a container's stdout and stderr into its log.
pub struct Relay {
    thread: std::thread::JoinHandle<()>,
}

impl Relay {
    /// Opens (appends to) the log in `dir` and starts copying; the thread
    /// ends when both pipes are closed (the container and everything it
    /// started are gone).
    pub fn start(dir: &Path, stdout: OwnedFd, stderr: OwnedFd) -> std::io::Result<Relay> {
        let file = crate::state::private_file_options()
            .append(true)
            .create(true)
            .open(path(dir))?;
        let thread = std::thread::Builder::new()
            .name("logs".into())
            // Two 16 KiB buffers and a poll loop: a small stack is plenty
            // (one supervisor per container; see the density bench).
            .stack_size(64 * 1024)
            .spawn(move || copy(file, [(stdout, "stdout"), (stderr, "stderr")]))?;
        Ok(Relay { thread })
    }

    /// Waits until everything the container wrote is in the log.
    pub fn finish(self) {
        let _ = self.thread.join();
    }
}

fn copy(file: File, streams: [(OwnedFd, &'static str); 2]) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut writers = [
        LogWriter::new(file.try_clone().ok(), streams[0].1),
        LogWriter::new(Some(file), streams[1].1),
    ];
    let mut open = [true, true];
    let mut chunk = vec![0u8; MAX_LINE];
    while open.iter().any(|o| *o) {
        let mut fds: Vec<PollFd> = Vec::new();
        let mut which: Vec<usize> = Vec::new();
        for (i, (fd, _)) in streams.iter().enumerate() {
            if open[i] {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                which.push(i);
            }
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
        let ready: Vec<usize> = fds
            .iter()
            .zip(&which)
            .filter(|(fd, _)| fd.revents().is_some_and(|r| !r.is_empty()))
            .map(|(_, i)| *i)
            .collect();
        drop(fds);
        for i in ready {
            let (fd, _) = &streams[i];
            match nix::unistd::read(fd, &mut chunk) {
                Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
                Ok(0) | Err(_) => {
                    // Closed: the rest of a line without `\n` goes too.
                    open[i] = false;
                    writers[i].finish();
                }
                Ok(n) => writers[i].write(&chunk[..n]),
            }
        }
    }
}

/// One stream's lines into the log: whole lines as they complete, pieces
/// of [`MAX_LINE`], the rest at [`LogWriter::finish`]. Also what the
/// supervisor of a `-t` container writes its terminal's output with (one
/// stream, `stdout`, as docker: a terminal has no stderr of its own).
pub struct LogWriter {
    /// `None`: the log could not be opened; the output is dropped.
    file: Option<File>,
    stream: &'static str,
    pending: Vec<u8>,
}

impl LogWriter {
    fn new(file: Option<File>, stream: &'static str) -> LogWriter {
        LogWriter {
            file,
            stream,
            pending: Vec::new(),
        }
    }

    /// Appends to the log in `dir` (made `0600` if new).
    pub fn open(dir: &Path, stream: &'static str) -> LogWriter {
        let file = crate::state::private_file_options()
            .append(true)
            .create(true)
            .open(path(dir))
            .ok();
        LogWriter::new(file, stream)
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        if let Some(file) = &mut self.file {
            flush_lines(file, &mut self.pending, self.stream);
        } else {
            self.pending.clear();
        }
    }

    /// What is left without a `\n`.
    pub fn finish(&mut self) {
        if let (Some(file), false) = (&mut self.file, self.pending.is_empty()) {
            write_entry(file, &self.pending, self.stream);
        }
        self.pending.clear();
    }
}

/// Writes every complete line of `pending` (and pieces of [`MAX_LINE`]).
fn flush_lines(file: &mut File, pending: &mut Vec<u8>, stream: &str) {
    let mut start = 0;
    while let Some(end) = pending[start..]
        .iter()
        .position(|b| *b == b'\n')
        .map(|p| start + p + 1)
        .or_else(|| (pending.len() - start >= MAX_LINE).then_some(start + MAX_LINE))
    {
        write_entry(file, &pending[start..end], stream);
        start = end;
    }
    pending.drain(..start);
}

fn write_entry(file: &mut File, bytes: &[u8], stream: &str) {
    let entry = Entry {
        log: String::from_utf8_lossy(bytes).into_owned(),
        stream: stream.to_string(),
        time: super::run::now_rfc3339(),
    };
    let mut line = serde_json::to_vec(&entry).expect("entries always serialize");
    line.push(b'\n');
    // One write per entry (O_APPEND): a reader never sees half of one.
    let _ = file.write_all(&line);
}

/// Reads the log from byte `offset`: the complete entries after it and the
/// offset just past the last one (a line still being written is left for
/// the next read).
pub fn read_from(path: &Path, offset: u64) -> std::io::Result<(Vec<Entry>, u64)> {
    match File::open(path) {
        Ok(mut f) => read_entries(&mut f, offset),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Vec::new(), offset)),
        Err(e) => Err(e),
    }
}

/// [`read_from`] on a file already open.
fn read_entries(file: &mut File, offset: u64) -> std::io::Result<(Vec<Entry>, u64)> {
    file.seek(std::io::SeekFrom::Start(offset))?;
    let mut reader = std::io::BufReader::new(file.take(u64::MAX));
    let mut entries = Vec::new();
    let mut at = offset;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        at += n as u64;
        if let Ok(entry) = serde_json::from_slice::<Entry>(&line) {
            entries.push(entry);
        }
    }
    Ok((entries, at))
}

/// A reader that follows a container's log as it grows. It holds the file
/// open, so what a `--rm` container wrote can still be read after its
/// supervisor removed its directory (the daemon's `attach` and `logs -f`
/// depend on it: a short container is often gone before the next look).
pub struct Follower {
    path: PathBuf,
    file: Option<File>,
    offset: u64,
}

impl Follower {
    /// The log in `dir`, read from byte `offset`. With `create`, an absent
    /// log is made now (empty, `0600`; the supervisor appends to it), so
    /// that it is held from the first line on.
    pub fn open(dir: &Path, offset: u64, create: bool) -> std::io::Result<Follower> {
        let path = path(dir);
        let mut follower = Follower {
            path,
            file: None,
            offset,
        };
        if create {
            crate::state::private_file_options()
                .append(true)
                .create(true)
                .open(&follower.path)?;
        }
        follower.file = File::open(&follower.path).ok();
        Ok(follower)
    }

    /// Where the next read starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The complete entries written since the last read (a line still
    /// being written is left for the next one).
    pub fn read(&mut self) -> std::io::Result<Vec<Entry>> {
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
        let Some(file) = &mut self.file else {
            return Ok(Vec::new());
        };
        let (entries, end) = read_entries(file, self.offset)?;
        self.offset = end;
        Ok(entries)
    }
}

/// How often [`follow`] looks at the log and the record: what `docker run`
/// through the daemon waits at most, after the container ended, to end too.
pub const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// How a [`follow`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Followed {
    /// The container ended (its exit code, when its record still says it).
    Ended(Option<i32>),
    /// The reader said stop (the client went away).
    Stopped,
}

/// Gives `each` the log's entries as they come, until the container `id`
/// has ended and its supervisor is done with it (then everything it wrote
/// has been read), or until `each` returns false. `each` is called at every
/// look, even with nothing new (a reader learns there whether its client
/// is still there). A container that is only created is waited for
/// (docker's attach before start).
pub fn follow(
    state: &crate::state::StateDir,
    id: &str,
    follower: &mut Follower,
    mut each: impl FnMut(&[Entry]) -> bool,
) -> std::io::Result<Followed> {
    let dir = state.container(id);
    loop {
        // The record first: what was logged before it said "done" is then
        // surely read below.
        let now = super::record::load(&dir).ok();
        let entries = follower.read()?;
        if !each(&entries) {
            return Ok(Followed::Stopped);
        }
        let done = match &now {
            None => true,
            Some(r) => {
                !r.is_up()
                    && r.state != super::ContainerState::Created
                    && !r.supervisor.is_some_and(super::supervisor_alive)
            }
        };
        if done {
            // The last lines, written between the two reads above.
            let rest = follower.read()?;
            if !rest.is_empty() && !each(&rest) {
                return Ok(Followed::Stopped);
            }
            return Ok(Followed::Ended(now.and_then(|r| r.exit_code)));
        }
        std::thread::sleep(FOLLOW_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipe() -> (OwnedFd, OwnedFd) {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap()
    }

    /// Lines from both streams land as docker's json-file entries, each
    /// with its stream; a line without `\n` is written at the end, a long
    /// one in 16 KiB pieces; invalid UTF-8 does not stop the relay.
    #[test]
    fn the_relay_writes_docker_json_file_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let (out_r, out_w) = pipe();
        let (err_r, err_w) = pipe();
        let relay = Relay::start(tmp.path(), out_r, err_r).unwrap();
        let mut out = File::from(out_w);
        let mut err = File::from(err_w);
        // Each write waits until the relay has logged the one before: the
        // order across two pipes is the order the relay read them in.
        let logged = |n: usize| {
            for _ in 0..1000 {
                if read_from(&path(tmp.path()), 0).is_ok_and(|(e, _)| e.len() >= n) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            panic!("o relay não escreveu {n} linha(s) em 5 s");
        };
        out.write_all(b"um\ndois").unwrap();
        out.flush().unwrap();
        logged(1);
        err.write_all(b"erro\n").unwrap();
        logged(2);
        out.write_all(b" e meio\n\xff\n").unwrap();
        out.write_all(&vec![b'x'; MAX_LINE + 10]).unwrap();
        drop(out);
        drop(err);
        relay.finish();
        let (entries, end) = read_from(&path(tmp.path()), 0).unwrap();
        let got: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.stream.as_str(), e.log.as_str()))
            .take(4)
            .collect();
        assert_eq!(
            got,
            vec![
                ("stdout", "um\n"),
                ("stderr", "erro\n"),
                ("stdout", "dois e meio\n"),
                ("stdout", "\u{fffd}\n")
            ]
        );
        assert_eq!(entries.len(), 6);
        assert_eq!(entries[4].log.len(), MAX_LINE);
        assert_eq!(entries[5].log, "x".repeat(10));
        assert!(entries[0].time.ends_with('Z'), "{}", entries[0].time);
        assert_eq!(end, std::fs::metadata(path(tmp.path())).unwrap().len());
        // Reading on from the end finds nothing new.
        assert!(read_from(&path(tmp.path()), end).unwrap().0.is_empty());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path(tmp.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
