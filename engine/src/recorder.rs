//! The recorder: appends trace events to a `.trace.jsonl` file.
//!
//! - Append-only, on an `O_APPEND` file: one `write(2)` per event, except
//!   in two windows of a run where events come back to back
//!   ([`Recorder::batch`]): from the cgroup's creation until the init's
//!   `execve` (cgroup, network, `clone`, attach, and the init's ~55 setup
//!   events: mounts, devices, capabilities, seccomp), and the clean-up after
//!   the command ended (network, upper layer, last sample, cgroup removal).
//!   There the events are gathered in a buffer in the shared page below and
//!   written in one `write`: by the init just before its `execve`, by the
//!   parent as soon as the init has exec'd or died ([`Recorder::end_batch`]),
//!   or when the window's guard is dropped (every path out, errors too).
//!   Any process that records meanwhile appends to the same buffer, so the
//!   file keeps `seq` order. A run's trace gets ~7 writes instead of ~60.
//! - What a crash can lose: if the init dies, nothing (the parent writes
//!   its buffer); if every casulo process of the run is killed (`SIGKILL`,
//!   power cut) inside a window, the events gathered since it began, at
//!   most [`BATCH_BYTES`]: for a run with a `trace.counters` file (every
//!   `casulo run`; `--rm` removes it only at the end) they are still in it,
//!   and the next [`Recorder::reopen`] writes them; with an anonymous page
//!   ([`Recorder::create`]) they are gone. Outside the windows, nothing
//!   already recorded is lost (no fsync: the kernel's page cache has it).
//! - The container's init is a `clone` of casulo: both processes record into
//!   the same file. The sequence counter and the last timestamp live in a
//!   `MAP_SHARED` page that both see, guarded by a tiny spin lock, so `seq`
//!   stays gapless and `t_us` monotonic across the two processes.
//! - A container's trace outlives the `casulo run` that opened it: the
//!   supervisor of a `-d` container, an `exec`, a `pause` from another
//!   terminal append to it later. So a container's counters page is a small
//!   file beside its record (`trace.counters`, mapped `MAP_SHARED`), which
//!   [`Recorder::reopen`] maps again: every process that records into the
//!   trace shares one `seq` and one clock.
//! - Time is CLOCK_MONOTONIC, the same clock in every process of the host;
//!   the page keeps the trace's start on it, so `t_us` counts from there.
//!
//! Events are built by the kernel facade (`kernel::Kernel`) and by
//! the engine for non-syscall facts (layer reuse, …); nothing else writes.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::num::NonZeroUsize;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use casulo_trace::{ContainerInfo, Event, EventBody, Header, Outcome, FORMAT_NAME, FORMAT_VERSION};
use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};

/// Shared between the parent and the container's init after `clone`.
#[repr(C)]
struct SharedCounters {
    next_seq: AtomicU64,
    last_t_us: AtomicU64,
    lock: AtomicU32,
    /// CLOCK_MONOTONIC at the trace's start, in nanoseconds.
    start_ns: AtomicU64,
    /// Nonzero while events are gathered in the batch buffer.
    batching: AtomicU32,
    /// Bytes waiting in the batch buffer (right after the first page).
    pending: AtomicU32,
}

/// The counters file beside a container's record (see the module docs).
pub const COUNTERS: &str = "trace.counters";
const PAGE: usize = 4096;
/// The batch buffer, after the counters' page: room for ~150 events.
pub const BATCH_BYTES: usize = 60 * 1024;

pub struct Recorder {
    sink: Sink,
    shared: NonNull<SharedCounters>,
    /// Host pid written in events; the container init sets it because it
    /// sees itself as pid 1.
    pid: AtomicI32,
    /// Set when a write to the trace file failed (the run goes on; the CLI
    /// tells the user at the end).
    write_failed: AtomicBool,
    /// Size of the batch buffer after the counters (0: an old counters
    /// file of one page, no batching).
    batch_cap: usize,
}

// SAFETY: the shared page is only touched through atomics, and the sinks are
// a `File` (whose writes are single syscalls) or a `Mutex`: a recorder can be
// used from several threads (e.g. the cgroup sampler beside the waiter).
unsafe impl Send for Recorder {}
unsafe impl Sync for Recorder {}

/// See [`Recorder::batch`].
pub struct Batch<'a>(&'a Recorder);

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        self.0.end_batch();
    }
}

enum Sink {
    File(File),
    /// For unit tests: events kept in memory.
    Memory(Mutex<Vec<Event>>),
}

impl Recorder {
    /// Creates `path` (or empties an existing trace of ours), mode `0600`,
    /// and writes the header line. See [`open_trace_file`] for what is
    /// refused.
    pub fn create(path: &Path, header: &Header) -> std::io::Result<Recorder> {
        let file = Self::start_trace(path, header)?;
        let (page, cap) = anonymous_counters()?;
        Ok(Self::with(Sink::File(file), page, cap, true))
    }

    /// [`Recorder::create`], with the counters in the file `counters` (made
    /// anew, `0600`) so that [`Recorder::reopen`] can go on later, from
    /// another process.
    pub fn create_shared(
        path: &Path,
        header: &Header,
        counters: &Path,
    ) -> std::io::Result<Recorder> {
        let file = Self::start_trace(path, header)?;
        let (page, cap) = map_counters(counters, true)?;
        Ok(Self::with(Sink::File(file), page, cap, true))
    }

    /// Goes on recording into the trace `path` whose counters are in the
    /// file `counters` (made by [`Recorder::create_shared`]): the next event
    /// gets the next `seq`, and `t_us` keeps counting from the trace's start.
    pub fn reopen(path: &Path, counters: &Path) -> std::io::Result<Recorder> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)?;
        let (page, cap) = map_counters(counters, false)?;
        let recorder = Self::with(Sink::File(file), page, cap, false);
        // Events a killed run gathered and never wrote: in order, now.
        recorder.end_batch();
        Ok(recorder)
    }

    /// A recorder that keeps events in memory (unit tests).
    pub fn in_memory() -> Recorder {
        let (page, cap) = anonymous_counters().expect("mmap of the counters");
        Self::with(Sink::Memory(Mutex::new(Vec::new())), page, cap, true)
    }

    /// The trace file, emptied, with its header line.
    fn start_trace(path: &Path, header: &Header) -> std::io::Result<File> {
        let mut file = open_trace_file(path)?;
        let mut line = serde_json::to_vec(header).map_err(std::io::Error::other)?;
        line.push(b'\n');
        file.write_all(&line)?;
        Ok(file)
    }

    fn with(sink: Sink, shared: NonNull<SharedCounters>, batch_cap: usize, new: bool) -> Recorder {
        let recorder = Recorder {
            sink,
            shared,
            pid: AtomicI32::new(std::process::id() as i32),
            write_failed: AtomicBool::new(false),
            batch_cap,
        };
        if new {
            recorder
                .shared()
                .start_ns
                .store(monotonic_ns(), Ordering::Relaxed);
        }
        recorder
    }

    fn shared(&self) -> &SharedCounters {
        // SAFETY: the page lives as long as the process (never unmapped).
        unsafe { self.shared.as_ref() }
    }

    /// The host pid written into events from now on.
    pub fn set_pid(&self, host_pid: i32) {
        self.pid.store(host_pid, Ordering::Relaxed);
    }

    /// Records one event performed by this process. Returns its `seq`.
    pub fn record(&self, body: EventBody, op: String, outcome: Outcome) -> u64 {
        self.record_as(self.pid.load(Ordering::Relaxed), body, op, outcome)
    }

    /// Records one event performed by `pid` (e.g. the parent recording the
    /// child's successful `execve`, which the child cannot report itself).
    pub fn record_as(&self, pid: i32, body: EventBody, op: String, outcome: Outcome) -> u64 {
        let shared = self.shared();
        self.lock();
        let seq = shared.next_seq.load(Ordering::Relaxed);
        let start = shared.start_ns.load(Ordering::Relaxed);
        let now = monotonic_ns().saturating_sub(start) / 1000;
        let t_us = now.max(shared.last_t_us.load(Ordering::Relaxed));
        let event = Event {
            seq,
            t_us,
            pid,
            body,
            op,
            outcome,
        };
        match &self.sink {
            Sink::File(file) => {
                // Room for a typical event up front: growing a small Vec by
                // doubling was a visible share of the trace's CPU (#19).
                let mut line = Vec::with_capacity(1024);
                serde_json::to_writer(&mut line, &event).expect("events always serialize");
                line.push(b'\n');
                if !self.gather(&line) {
                    self.write_pending(file);
                    self.write(file, &line);
                }
            }
            Sink::Memory(events) => events.lock().unwrap().push(event),
        }
        shared.next_seq.store(seq + 1, Ordering::Relaxed);
        shared.last_t_us.store(t_us, Ordering::Relaxed);
        shared.lock.store(0, Ordering::Release);
        seq
    }

    /// Takes the lock shared with the other processes of the trace.
    fn lock(&self) {
        let shared = self.shared();
        let waiting_since = Instant::now();
        while shared
            .lock
            .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // The holder can only be another process, mid-`write`. If it
            // was SIGKILLed right there, the lock would stay taken forever:
            // after a generous wait, take it over.
            if waiting_since.elapsed() > std::time::Duration::from_secs(1) {
                break;
            }
            std::thread::yield_now();
        }
    }

    /// One write; a failure to write the trace must not stop the
    /// container: it is remembered and reported at the end.
    fn write(&self, file: &File, bytes: &[u8]) {
        if (&*file).write_all(bytes).is_err() {
            self.write_failed.store(true, Ordering::Relaxed);
        }
    }

    /// The batch buffer, after the counters' page.
    fn batch_buffer(&self) -> *mut u8 {
        // SAFETY: the mapping is PAGE + batch_cap bytes long.
        unsafe { self.shared.as_ptr().cast::<u8>().add(PAGE) }
    }

    /// Appends `line` to the batch buffer if batching and there is room
    /// (lock held).
    fn gather(&self, line: &[u8]) -> bool {
        let shared = self.shared();
        let pending = shared.pending.load(Ordering::Relaxed) as usize;
        if shared.batching.load(Ordering::Relaxed) == 0 || pending + line.len() > self.batch_cap {
            return false;
        }
        // SAFETY: pending + len ≤ batch_cap, inside the mapping; the lock
        // keeps every other writer out.
        unsafe {
            std::ptr::copy_nonoverlapping(
                line.as_ptr(),
                self.batch_buffer().add(pending),
                line.len(),
            )
        };
        shared
            .pending
            .store((pending + line.len()) as u32, Ordering::Relaxed);
        true
    }

    /// Writes what the batch buffer holds, in one write (lock held).
    fn write_pending(&self, file: &File) {
        let shared = self.shared();
        let pending = (shared.pending.load(Ordering::Relaxed) as usize).min(self.batch_cap);
        if pending > 0 {
            // SAFETY: the first `pending` bytes of the buffer, written by
            // `gather` under the lock we hold.
            let bytes = unsafe { std::slice::from_raw_parts(self.batch_buffer(), pending) };
            self.write(file, bytes);
            shared.pending.store(0, Ordering::Relaxed);
        }
    }

    /// From now on, every process's events are gathered and written
    /// together (the init, once released, until its `execve`).
    pub fn begin_batch(&self) {
        if self.batch_cap > 0 {
            self.shared().batching.store(1, Ordering::Relaxed);
        }
    }

    /// [`Recorder::begin_batch`] until the returned guard is dropped (or
    /// someone ends the batch first: the init at its `execve`): every path
    /// out of a step, error or not, writes what it gathered.
    pub fn batch(&self) -> Batch<'_> {
        self.begin_batch();
        Batch(self)
    }

    /// Ends the batch: what it gathered is written now, in one write. Cheap
    /// when there is none.
    pub fn end_batch(&self) {
        let shared = self.shared();
        if shared.batching.load(Ordering::Relaxed) == 0
            && shared.pending.load(Ordering::Relaxed) == 0
        {
            return;
        }
        self.lock();
        shared.batching.store(0, Ordering::Relaxed);
        if let Sink::File(file) = &self.sink {
            self.write_pending(file);
        }
        shared.lock.store(0, Ordering::Release);
    }

    /// Events recorded so far (in-memory recorders only; empty otherwise).
    pub fn events(&self) -> Vec<Event> {
        match &self.sink {
            Sink::Memory(events) => events.lock().unwrap().clone(),
            Sink::File(_) => Vec::new(),
        }
    }

    /// Number of events recorded so far (by any process sharing this recorder).
    pub fn len(&self) -> u64 {
        self.shared().next_seq.load(Ordering::Relaxed)
    }

    /// The `op` of each event kept in memory whose call failed (what the
    /// `casulo network` verbs and the daemon say went wrong on the way).
    pub fn failed_ops(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter(|e| !e.outcome.is_ok())
            .map(|e| e.op)
            .collect()
    }

    /// True when some event could not be written to the trace file.
    pub fn write_failed(&self) -> bool {
        self.write_failed.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Recorder {
    /// A batch still open (its init died unseen) is written, not dropped.
    fn drop(&mut self) {
        self.end_batch();
    }
}

/// CLOCK_MONOTONIC now, in nanoseconds (the same clock for every process).
fn monotonic_ns() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .expect("CLOCK_MONOTONIC always exists on Linux");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}

/// Counters (and the batch buffer) shared only with this process's
/// clones (the container's init).
fn anonymous_counters() -> std::io::Result<(NonNull<SharedCounters>, usize)> {
    // SAFETY: a fresh anonymous shared mapping, zero-filled, which is a
    // valid SharedCounters (all atomics zero) and an empty buffer.
    let page = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(PAGE + BATCH_BYTES).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
        )
    }
    .map_err(std::io::Error::from)?;
    Ok((page.cast(), BATCH_BYTES))
}

/// Maps the counters file `path` shared; `new`: creates it (or empties an
/// old one), `0600`, zeros: the counters' page and the batch buffer. An
/// older casulo's file is one page: no batch buffer then. The mapping
/// lives as long as the process (never unmapped: the recorder may be
/// shared with a clone). Returns the buffer's size.
fn map_counters(path: &Path, new: bool) -> std::io::Result<(NonNull<SharedCounters>, usize)> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    options
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW);
    if new {
        options
            .create(true)
            .truncate(true)
            .mode(crate::state::FILE_MODE);
    }
    let file = options.open(path)?;
    let len = if new {
        PAGE + BATCH_BYTES
    } else {
        (file.metadata()?.len() as usize).clamp(PAGE, PAGE + BATCH_BYTES)
    };
    file.set_len(len as u64)?;
    // SAFETY: a shared mapping of a regular file we opened read-write and
    // sized to `len`; zeros (a new file) are a valid SharedCounters, only
    // atomics touch the first page afterwards, and the buffer only under
    // the lock.
    let page = unsafe {
        nix::sys::mman::mmap(
            None,
            NonZeroUsize::new(len).unwrap(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
            &file,
            0,
        )
    }
    .map_err(std::io::Error::from)?;
    Ok((page.cast(), len - PAGE))
}

/// Opens the trace file once, in append mode (the parent and the
/// container's init then share one file description whose offset always
/// moves to the end on write), `0600` from its first moment (the argv and
/// the environment's names may hold secrets).
///
/// `--trace FILE` is a path the user typed, written by root: it must not
/// become a way to overwrite something else. So the open never follows a
/// symlink (`O_NOFOLLOW`: a link in `/tmp` could point at `/etc/shadow`),
/// never blocks on a FIFO (`O_NONBLOCK`), and only then is the file looked
/// at (`fstat` of what was opened, not of the name): anything but a regular
/// file (a device, a FIFO, a socket), a file with other hard links (another
/// name for it may be a system file), or one that belongs to another user
/// (who would then read the trace) is refused before a byte is written.
/// An existing trace of ours is emptied and closed to others (`0600`);
/// `/dev/null` (the device, by its numbers) is accepted as is: no trace.
pub fn open_trace_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    let refuse = |why: String| {
        std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{why}; escolha outro caminho para o --trace"),
        )
    };
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(crate::state::FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refuse(format!(
                "{} é um link simbólico: o casulo não segue links ao gravar um trace \
                 (como root, ele apagaria o arquivo para onde o link aponta)",
                path.display()
            )),
            Some(libc::ENXIO) => refuse(format!(
                "{} é um FIFO ou socket, não um arquivo comum",
                path.display()
            )),
            _ => e,
        })?;
    let meta = file.metadata()?;
    if is_dev_null(&meta) {
        // `--trace /dev/null`: no trace at all, on purpose.
        return Ok(file);
    }
    if !meta.is_file() {
        return Err(refuse(format!(
            "{} não é um arquivo comum (é um dispositivo, um FIFO ou um diretório)",
            path.display()
        )));
    }
    if meta.nlink() > 1 {
        return Err(refuse(format!(
            "{} tem {} nomes (links físicos): um deles pode ser um arquivo do sistema, \
             que o trace apagaria",
            path.display(),
            meta.nlink()
        )));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        return Err(refuse(format!(
            "{} pertence a outro usuário (uid {}): ele poderia ler o trace, que tem os \
             argumentos do contêiner",
            path.display(),
            meta.uid()
        )));
    }
    // Only an old trace is emptied: truncating a new, empty file makes
    // ext4 (`auto_da_alloc`) start writing it out at its `close`.
    if meta.len() > 0 {
        file.set_len(0)?;
    }
    if meta.permissions().mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(crate::state::FILE_MODE))?;
    }
    Ok(file)
}

/// The character device 1:3, whatever its name.
fn is_dev_null(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    meta.file_type().is_char_device() && meta.rdev() == nix::sys::stat::makedev(1, 3)
}

/// Line 1 of a trace written now by this casulo on this host: the format,
/// the engine version, the kernel, the cgroup mode and the start time, around
/// what the trace is about (a container, or a build). The cgroup mode
/// (`v1`, `v2`…) comes from the caller: the recorder sits below `cgroups`.
pub fn header_for(container: ContainerInfo, cgroup_mode: &str) -> Header {
    let rootless = crate::rootless_mode::active();
    let (uid_map, gid_map) = if rootless {
        crate::rootless_mode::current_maps()
    } else {
        Default::default()
    };
    Header {
        format: FORMAT_NAME.to_string(),
        format_version: FORMAT_VERSION,
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        cgroup_mode: cgroup_mode.to_string(),
        container,
        started_at: humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string(),
        rootless,
        uid_map,
        gid_map,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casulo_trace::EventBody;

    /// `--trace` never writes through a symlink, into a device or FIFO, a
    /// file with other names or another user's file; a new one is `0600`,
    /// an old trace of ours is emptied.
    #[test]
    fn the_trace_file_is_never_someone_elses() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("vitima");
        std::fs::write(&victim, "importante").unwrap();
        let link = tmp.path().join("link.trace.jsonl");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let err = open_trace_file(&link).unwrap_err().to_string();
        assert!(err.contains("link simbólico"), "{err}");
        // A dangling link is not followed to create its target either.
        let dangling = tmp.path().join("solto");
        std::os::unix::fs::symlink(tmp.path().join("criado"), &dangling).unwrap();
        assert!(open_trace_file(&dangling).is_err());
        assert!(!tmp.path().join("criado").exists());
        // /dev/null is how a trace is thrown away on purpose.
        open_trace_file(Path::new("/dev/null")).unwrap();
        let err = open_trace_file(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("não é um arquivo comum"), "{err}");
        let fifo = tmp.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(open_trace_file(&fifo).is_err(), "nem bloqueia num FIFO");
        let hard = tmp.path().join("duro");
        std::fs::hard_link(&victim, &hard).unwrap();
        let err = open_trace_file(&hard).unwrap_err().to_string();
        assert!(err.contains("links físicos"), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "importante");
        if nix::unistd::geteuid().is_root() {
            let theirs = tmp.path().join("alheio");
            std::fs::write(&theirs, "").unwrap();
            std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
            let err = open_trace_file(&theirs).unwrap_err().to_string();
            assert!(err.contains("outro usuário"), "{err}");
        }

        let new = tmp.path().join("novo.trace.jsonl");
        open_trace_file(&new).unwrap();
        let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let old = tmp.path().join("velho.trace.jsonl");
        std::fs::write(&old, "x".repeat(100)).unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        open_trace_file(&old).unwrap();
        let meta = std::fs::metadata(&old).unwrap();
        assert_eq!((meta.len(), meta.mode() & 0o777), (0, 0o600));
    }

    /// A trace created with a counters file and reopened later (another
    /// process: the supervisor, an `exec`) goes on with the next `seq`, a
    /// later `t_us`, and after the header and the first events.
    #[test]
    fn a_reopened_trace_goes_on_where_it_stopped() {
        let tmp = tempfile::tempdir().unwrap();
        let (trace, counters) = (tmp.path().join("t.trace.jsonl"), tmp.path().join(COUNTERS));
        let header = header_for(
            ContainerInfo {
                id: "a".repeat(64),
                name: "n".into(),
                image: "busybox".into(),
                image_id: None,
                command: vec![],
            },
            "v2",
        );
        let chdir = |rec: &Recorder, i: u32| {
            rec.record(
                EventBody::ProcessChdir {
                    path: format!("/d{i}"),
                },
                format!("chdir(\"/d{i}\")"),
                Outcome::Ok,
            )
        };
        let first = Recorder::create_shared(&trace, &header, &counters).unwrap();
        assert_eq!((chdir(&first, 0), chdir(&first, 1)), (0, 1));
        std::thread::sleep(std::time::Duration::from_millis(20));
        let later = Recorder::reopen(&trace, &counters).unwrap();
        assert_eq!(chdir(&later, 2), 2);
        assert_eq!(chdir(&first, 3), 3, "os dois continuam a mesma contagem");
        let read = casulo_trace::read_trace_file(&trace).unwrap();
        let seqs: Vec<u64> = read.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![0, 1, 2, 3]);
        assert!(read.events[2].t_us >= 20_000, "{:?}", read.events[2].t_us);
        assert!(read.events.windows(2).all(|w| w[0].t_us <= w[1].t_us));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&counters).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    fn shared_trace(tmp: &Path) -> (std::path::PathBuf, std::path::PathBuf, Recorder) {
        let (trace, counters) = (tmp.join("t.trace.jsonl"), tmp.join(COUNTERS));
        let info = ContainerInfo {
            id: "b".repeat(64),
            name: "n".into(),
            image: "busybox".into(),
            image_id: None,
            command: vec![],
        };
        let rec = Recorder::create_shared(&trace, &header_for(info, "v2"), &counters).unwrap();
        (trace, counters, rec)
    }

    fn chdir(rec: &Recorder, path: &str) -> u64 {
        rec.record(
            EventBody::ProcessChdir { path: path.into() },
            format!("chdir({path:?})"),
            Outcome::Ok,
        )
    }

    fn seqs(trace: &Path) -> Vec<u64> {
        let read = casulo_trace::read_trace_file(trace).unwrap();
        read.events.iter().map(|e| e.seq).collect()
    }

    /// A batch gathers every process's events, in `seq` order, and one
    /// write puts them in the file when it ends, even after the process
    /// that began it died without writing them (as an init that fails).
    #[test]
    fn a_batch_is_written_in_order_when_it_ends_even_if_its_process_died() {
        let tmp = tempfile::tempdir().unwrap();
        let (trace, _, rec) = shared_trace(tmp.path());
        chdir(&rec, "/antes");
        rec.begin_batch();
        // SAFETY: the child only records (no locks held by other threads
        // are needed: the recorder's lock is in the shared page) and _exits.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                chdir(&rec, "/filho1");
                chdir(&rec, "/filho2");
                unsafe { libc::_exit(0) };
            }
            nix::unistd::ForkResult::Parent { child } => {
                nix::sys::wait::waitpid(child, None).unwrap();
            }
        }
        assert_eq!(seqs(&trace), vec![0], "gathered, not yet written");
        assert_eq!(chdir(&rec, "/pai"), 3);
        rec.end_batch();
        assert_eq!(seqs(&trace), vec![0, 1, 2, 3]);
        chdir(&rec, "/depois");
        assert_eq!(seqs(&trace), vec![0, 1, 2, 3, 4], "no batch: at once");
    }

    /// The guard of [`Recorder::batch`] writes what was gathered on every
    /// way out of its scope (here an early error return), and leaves
    /// nothing to write when someone (the init at its `execve`) ended the
    /// batch first.
    #[test]
    fn a_batch_guard_writes_on_every_way_out() {
        let tmp = tempfile::tempdir().unwrap();
        let (trace, _, rec) = shared_trace(tmp.path());
        let step = |fail: bool| -> Result<(), ()> {
            let _batch = rec.batch();
            chdir(&rec, "/um");
            if fail {
                return Err(());
            }
            chdir(&rec, "/dois");
            Ok(())
        };
        assert!(step(true).is_err());
        assert_eq!(seqs(&trace), vec![0], "written when the error left");
        step(false).unwrap();
        assert_eq!(seqs(&trace), vec![0, 1, 2]);
        let batch = rec.batch();
        chdir(&rec, "/tres");
        rec.end_batch();
        assert_eq!(seqs(&trace), vec![0, 1, 2, 3], "ended before the guard");
        drop(batch);
        chdir(&rec, "/depois");
        assert_eq!(seqs(&trace), vec![0, 1, 2, 3, 4], "no batch left open");
    }

    /// A full buffer is written and the batch goes on; a run killed with
    /// a batch open leaves it in the counters file, and the next reopen
    /// writes it.
    #[test]
    fn a_full_batch_is_written_and_a_killed_one_by_the_next_reopen() {
        let tmp = tempfile::tempdir().unwrap();
        let (trace, counters, rec) = shared_trace(tmp.path());
        rec.begin_batch();
        let long = "/x".repeat(200);
        for _ in 0..(2 * BATCH_BYTES / long.len()) {
            chdir(&rec, &long);
        }
        let written = seqs(&trace).len();
        assert!(written > 0, "the buffer filled and was written");
        std::mem::forget(rec); // killed: no end_batch, no drop
        let next = Recorder::reopen(&trace, &counters).unwrap();
        let all = seqs(&trace);
        assert!(all.len() > written);
        assert_eq!(all, (0..all.len() as u64).collect::<Vec<_>>());
        assert_eq!(chdir(&next, "/depois"), all.len() as u64);
    }

    #[test]
    fn seq_is_gapless_and_time_monotonic() {
        let rec = Recorder::in_memory();
        for i in 0..5 {
            rec.record(
                EventBody::ProcessChdir {
                    path: format!("/d{i}"),
                },
                format!("chdir(\"/d{i}\")"),
                Outcome::Ok,
            );
        }
        let events = rec.events();
        assert_eq!(
            events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert!(events.windows(2).all(|w| w[0].t_us <= w[1].t_us));
    }
}
