//! The recorder: appends trace events to a `.trace.jsonl` file.
//!
//! - Append-only, one `write(2)` per event on an `O_APPEND` file with no
//!   user-space buffer, so a crash of casulo loses nothing already recorded.
//! - The container's init is a `clone` of casulo: both processes record into
//!   the same file. The sequence counter and the last timestamp live in a
//!   `MAP_SHARED` page that both see, guarded by a tiny spin lock, so `seq`
//!   stays gapless and `t_us` monotonic across the two processes.
//! - Time is `Instant` (CLOCK_MONOTONIC), which is the same clock in parent
//!   and child.
//!
//! Events are built by the kernel facade ([`crate::kernel::Kernel`]) and by
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
}

pub struct Recorder {
    sink: Sink,
    shared: NonNull<SharedCounters>,
    start: Instant,
    /// Host pid written in events; the container init sets it because it
    /// sees itself as pid 1.
    pid: AtomicI32,
    /// Set when a write to the trace file failed (the run goes on; the CLI
    /// tells the user at the end).
    write_failed: AtomicBool,
}

// SAFETY: the shared page is only touched through atomics, and the sinks are
// a `File` (whose writes are single syscalls) or a `Mutex`: a recorder can be
// used from several threads (e.g. the cgroup sampler beside the waiter).
unsafe impl Send for Recorder {}
unsafe impl Sync for Recorder {}

enum Sink {
    File(File),
    /// For unit tests: events kept in memory.
    Memory(Mutex<Vec<Event>>),
}

impl Recorder {
    /// Creates (truncates) `path`, mode `0600`, and writes the header line.
    pub fn create(path: &Path, header: &Header) -> std::io::Result<Recorder> {
        // 0600 from the first moment: the argv and the environment's
        // consequences may hold secrets.
        let mut file = crate::state::private_file_options()
            .create(true)
            .truncate(true)
            .open(path)?;
        let mut line = serde_json::to_vec(header).map_err(std::io::Error::other)?;
        line.push(b'\n');
        file.write_all(&line)?;
        // Reopen in append mode: the parent and the child then share one
        // file description whose offset always moves to the end on write.
        let file = OpenOptions::new().append(true).open(path)?;
        Self::with_sink(Sink::File(file))
    }

    /// A recorder that keeps events in memory (unit tests).
    pub fn in_memory() -> Recorder {
        Self::with_sink(Sink::Memory(Mutex::new(Vec::new()))).expect("mmap of one page")
    }

    fn with_sink(sink: Sink) -> std::io::Result<Recorder> {
        // SAFETY: a fresh anonymous shared mapping of one page, zero-filled,
        // which is a valid SharedCounters (all atomics zero).
        let page = unsafe {
            mmap_anonymous(
                None,
                NonZeroUsize::new(4096).unwrap(),
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }
        .map_err(std::io::Error::from)?;
        Ok(Recorder {
            sink,
            shared: page.cast(),
            start: Instant::now(),
            pid: AtomicI32::new(std::process::id() as i32),
            write_failed: AtomicBool::new(false),
        })
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
        let waiting_since = Instant::now();
        while shared
            .lock
            .compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // The holder can only be the other process, mid-`write`. If it
            // was SIGKILLed right there, the lock would stay taken forever:
            // after a generous wait, take it over.
            if waiting_since.elapsed() > std::time::Duration::from_secs(1) {
                break;
            }
            std::thread::yield_now();
        }
        let seq = shared.next_seq.load(Ordering::Relaxed);
        let now = self.start.elapsed().as_micros() as u64;
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
                let mut line = serde_json::to_vec(&event).expect("events always serialize");
                line.push(b'\n');
                // One write per event; a failure to write the trace must not
                // stop the container: it is remembered and reported at the end.
                if (&*file).write_all(&line).is_err() {
                    self.write_failed.store(true, Ordering::Relaxed);
                }
            }
            Sink::Memory(events) => events.lock().unwrap().push(event),
        }
        shared.next_seq.store(seq + 1, Ordering::Relaxed);
        shared.last_t_us.store(t_us, Ordering::Relaxed);
        shared.lock.store(0, Ordering::Release);
        seq
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

    /// True when some event could not be written to the trace file.
    pub fn write_failed(&self) -> bool {
        self.write_failed.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Line 1 of a trace written now by this casulo on this host: the format,
/// the engine version, the kernel, the cgroup mode and the start time, around
/// what the trace is about (a container, or a build).
pub fn header_for(container: ContainerInfo) -> Header {
    Header {
        format: FORMAT_NAME.to_string(),
        format_version: FORMAT_VERSION,
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        cgroup_mode: crate::cgroups::detect_mode(Path::new(crate::cgroups::DEFAULT_ROOT))
            .as_str()
            .to_string(),
        container,
        started_at: humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casulo_trace::EventBody;

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
