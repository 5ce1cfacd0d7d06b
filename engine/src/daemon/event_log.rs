//! The daemon's memory of events: what `docker events --since` replays.
//!
//! casulo has no central process that sees every change (each `casulo`
//! command and each supervisor writes its own `container.json`), so one
//! thread of the daemon watches the records and keeps the differences it
//! sees in a ring of the last [`KEEP`] events, each with the time it was
//! seen. Every `GET /events` reads that ring: from `since` if asked, then
//! on as new ones come. (dockerd also keeps its events only in memory,
//! 256 of them.)
//!
//! **Watching.** An inotify watch on `containers/` (a container's dir made
//! or removed) and on each container's dir (its record renamed into place:
//! see [`crate::container::record`]) wakes the thread; it then lists the
//! records again and tells the differences. A container whose processes
//! were all killed at once (SIGKILL to its keeper too) writes nothing, so
//! the records are also listed every [`LOOK_ANYWAY`]. An idle daemon costs
//! one wake-up a second, not twenty.
//!
//! **Before the daemon started.** At start the ring is filled from the
//! records themselves: each container's `create` at its `created`, `start`
//! at `started_at`, `die` at `finished_at` — so `docker events --since 1h`
//! tells what `casulo run` did before the daemon was up. A container
//! already removed then left no record: its events are not known.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use super::events::{differences, Seen};
use crate::container::{self, ContainerRecord, ContainerState};
use crate::state::StateDir;

/// How many events are remembered.
pub const KEEP: usize = 1024;

/// The records are listed at least this often, changed or not.
pub const LOOK_ANYWAY: Duration = Duration::from_secs(1);

/// One event: which container, what happened, when it was seen.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Counts up from 1 for the daemon's life: a reader asks for what
    /// came after the last one it sent.
    pub seq: u64,
    pub time: SystemTime,
    pub id: String,
    pub action: &'static str,
    pub seen: Seen,
}

#[derive(Default)]
struct Ring {
    next: u64,
    entries: VecDeque<Entry>,
}

/// The ring and the bell that rings when it grows.
#[derive(Default)]
pub struct EventLog {
    ring: Mutex<Ring>,
    grew: Condvar,
}

impl EventLog {
    /// A log filled with the records' past, and the thread that keeps it.
    pub fn start(state: StateDir) -> Arc<EventLog> {
        let log = Arc::new(EventLog::default());
        let records = container::list(&state);
        log.push_all(history(&records));
        let seen = by_id(&records);
        let keeper = log.clone();
        std::thread::Builder::new()
            .name("eventos".into())
            .spawn(move || keeper.watch(&state, seen))
            .expect("a thread for the events");
        log
    }

    /// Adds events (oldest first) and wakes the readers.
    pub fn push_all(&self, events: Vec<(SystemTime, String, &'static str, Seen)>) {
        if events.is_empty() {
            return;
        }
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        for (time, id, action, seen) in events {
            ring.next += 1;
            let seq = ring.next;
            ring.entries.push_back(Entry {
                seq,
                time,
                id,
                action,
                seen,
            });
            if ring.entries.len() > KEEP {
                ring.entries.pop_front();
            }
        }
        drop(ring);
        self.grew.notify_all();
    }

    /// The newest event's number (0 when there is none yet).
    pub fn last_seq(&self) -> u64 {
        self.ring.lock().unwrap_or_else(|p| p.into_inner()).next
    }

    /// The events after number `after` seen at or after `since`, waiting up
    /// to `wait` for one when there is none yet; and the newest number,
    /// where the next call goes on from.
    pub fn after(
        &self,
        after: u64,
        since: Option<SystemTime>,
        wait: Duration,
    ) -> (Vec<Entry>, u64) {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let (ring, _) = self
            .grew
            .wait_timeout_while(ring, wait, |r| r.next <= after)
            .unwrap_or_else(|p| p.into_inner());
        let entries = ring
            .entries
            .iter()
            .filter(|e| e.seq > after && since.is_none_or(|s| e.time >= s))
            .cloned()
            .collect();
        (entries, ring.next)
    }

    fn watch(&self, state: &StateDir, mut seen: HashMap<String, Seen>) {
        let mut watcher = Watcher::new(&state.containers());
        loop {
            match &watcher {
                Some(w) => w.wait(LOOK_ANYWAY),
                None => std::thread::sleep(super::events::LOOK_EVERY),
            }
            // Watch first, then list: a record renamed in between is in
            // the list, one renamed after wakes the next wait.
            if let Some(w) = &mut watcher {
                w.follow(&state.containers());
            }
            let records = container::list(state);
            let now = by_id(&records);
            let time = SystemTime::now();
            self.push_all(
                differences(&seen, &now)
                    .into_iter()
                    .map(|(id, action, s)| (time, id, action, s))
                    .collect(),
            );
            seen = now;
        }
    }
}

fn by_id(records: &[ContainerRecord]) -> HashMap<String, Seen> {
    records
        .iter()
        .map(|r| (r.id.clone(), Seen::of(r)))
        .collect()
}

/// What the records tell of the past, oldest first.
fn history(records: &[ContainerRecord]) -> Vec<(SystemTime, String, &'static str, Seen)> {
    let at = |t: &str| humantime::parse_rfc3339_weak(t).ok();
    let mut out = Vec::new();
    for r in records {
        let s = Seen::of(r);
        if let Some(t) = at(&r.created) {
            out.push((t, r.id.clone(), "create", s.clone()));
        }
        if let Some(t) = r.started_at.as_deref().and_then(at) {
            out.push((t, r.id.clone(), "start", s.clone()));
        }
        if r.state == ContainerState::Exited {
            if let Some(t) = r.finished_at.as_deref().and_then(at) {
                out.push((t, r.id.clone(), "die", s.clone()));
            }
        }
    }
    // A stable sort: a container's create, start and die stay in that
    // order when they share a second.
    out.sort_by_key(|(t, ..)| *t);
    out
}

/// inotify on `containers/` and on every container's dir.
struct Watcher {
    inotify: Inotify,
    watched: HashSet<String>,
}

impl Watcher {
    /// None when inotify is not there (the caller then looks every 50 ms).
    fn new(containers: &Path) -> Option<Watcher> {
        let _ = std::fs::create_dir_all(containers);
        let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).ok()?;
        inotify
            .add_watch(
                containers,
                AddWatchFlags::IN_CREATE
                    | AddWatchFlags::IN_DELETE
                    | AddWatchFlags::IN_MOVED_TO
                    | AddWatchFlags::IN_MOVED_FROM,
            )
            .ok()?;
        Some(Watcher {
            inotify,
            watched: HashSet::new(),
        })
    }

    /// Until something changes (and a moment more, so that a burst of
    /// changes is one look), or `most` at most.
    fn wait(&self, most: Duration) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let ms = PollTimeout::try_from(most.as_millis() as i32).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.inotify.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, ms).is_ok_and(|n| n > 0) {
            std::thread::sleep(Duration::from_millis(5));
            while self.inotify.read_events().is_ok_and(|e| !e.is_empty()) {}
        }
    }

    /// Watches the dirs of containers not watched yet — every dir, also
    /// one whose first record is not written yet. (A removed dir's watch
    /// goes away by itself.)
    fn follow(&mut self, containers: &Path) {
        let watched = &mut self.watched;
        let dirs: HashSet<String> = std::fs::read_dir(containers)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        watched.retain(|id| dirs.contains(id));
        for id in dirs {
            if !watched.contains(&id)
                && self
                    .inotify
                    .add_watch(&containers.join(&id), AddWatchFlags::IN_MOVED_TO)
                    .is_ok()
            {
                watched.insert(id);
            }
        }
    }
}
