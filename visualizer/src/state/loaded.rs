//! A trace read, validated and folded — or being folded: a big one arrives
//! in chunks ([`Loaded::extend`]), its length known from the start
//! ([`Loaded::total`]).

use std::cell::{Ref, RefCell};
use std::rc::Rc;

use casulo_trace::replay::{Replay, World};
use casulo_trace::{read_trace, Event, EventBody, Header};

use crate::timeline::{self, Mark};

/// The longest move [`Loaded::only_samples`] looks through (a drag moves
/// far less between two frames).
pub const QUIET_SCAN: usize = 1 << 16;

/// How many columns the scrubber's marks have at most.
pub const TIMELINE_BINS: usize = 800;

/// A trace read, validated and folded (all of it, or its first events).
#[derive(Clone)]
pub struct Loaded {
    /// File name or URL it came from.
    pub name: String,
    pub header: Header,
    /// Shared, not copied, by the copies handed to the model: the live
    /// view and the chunked reading extend it in place (a fold costs the
    /// new events, not a copy of the whole trace). Read through
    /// [`Loaded::replay`].
    replay: Rc<RefCell<Replay>>,
    /// How many events the trace has: its lines counted before any was
    /// read. More than [`Loaded::len`] while chunks are still being read;
    /// the same once they all are (and always, live).
    pub total: usize,
    /// Lines of kinds this visualizer does not know (skipped).
    pub skipped: usize,
    /// The scrubber's marks over `total` positions: the columns whose
    /// events are all read (the rest come with the next chunks).
    pub marks: Vec<Mark>,
    /// How long reading and folding took, in ms (shown to the benchmark).
    pub open_ms: f64,
    /// The largest memory figure of all samples (the chart's scale).
    pub max_memory: u64,
    /// The largest pids figure (count or limit) of all samples, 0 when none.
    pub max_pids: u64,
    /// True when the trace has `build.*` events (the Build panel shows).
    pub has_build: bool,
    /// True when the trace has `security.*` events (the Segurança panel shows).
    pub has_security: bool,
    /// The trace is a `casulo push` or `pull` (`registry.*` events).
    pub has_registry: bool,
    /// The Dockerfile's instructions the whole trace saw, in order.
    pub dockerfile: Vec<DockerLine>,
    /// The world at the end (the diff's summary compares two of them).
    pub end: Rc<World>,
}

/// One instruction of the Dockerfile, as its `build.step` told.
#[derive(Clone)]
pub struct DockerLine {
    pub step: u32,
    pub line: u32,
    pub instruction: String,
    pub args: String,
    /// Index of its `build.step` event (a click on the line goes there).
    pub at: usize,
}

impl Loaded {
    /// Reads `text`; the error is the pt-BR message naming the line.
    pub fn parse(name: &str, text: &str) -> Result<Loaded, String> {
        let trace = read_trace(text).map_err(|e| format!("Não consegui abrir «{name}»: {e}"))?;
        Ok(Loaded::new(
            name,
            trace.header,
            trace.skipped.len(),
            trace.events,
        ))
    }

    /// Folds `events` (already read and checked): the whole trace.
    pub fn new(name: &str, header: Header, skipped: usize, events: Vec<Event>) -> Loaded {
        Loaded::start(name, header, 0, skipped, events)
    }

    /// Folds the first `events` of a trace of `total` events (the rest
    /// come through [`Loaded::extend`]).
    pub fn start(
        name: &str,
        header: Header,
        total: usize,
        skipped: usize,
        events: Vec<Event>,
    ) -> Loaded {
        let mut loaded = Loaded {
            name: name.to_string(),
            header,
            skipped,
            replay: Rc::default(),
            total,
            marks: vec![],
            open_ms: 0.0,
            max_memory: 1,
            max_pids: 0,
            has_build: false,
            has_security: false,
            has_registry: false,
            dockerfile: vec![],
            end: Rc::new(World::new()),
        };
        loaded.extend(events);
        loaded
    }

    /// Appends the events that came after the last one (the next chunk,
    /// or the live view's newest): only they are folded and looked at; the
    /// Dockerfile, which summarises the whole trace, is made again (cheap,
    /// no fold), and the marks of the columns they complete.
    pub fn extend(&mut self, events: Vec<Event>) {
        let mut replay = self.replay.borrow_mut();
        let from = replay.len();
        let first_sample = replay.samples().len();
        replay.extend(events);
        drop(replay);
        let replay = self.replay.borrow();
        let new = &replay.events()[from..];
        let samples = &replay.samples()[first_sample..];
        self.max_memory = samples
            .iter()
            .flat_map(|s| [s.memory_bytes, s.memory_peak_bytes, s.memory_limit_bytes])
            .flatten()
            .fold(self.max_memory, u64::max);
        self.max_pids = samples
            .iter()
            .flat_map(|s| [s.pids, s.pids_limit])
            .flatten()
            .fold(self.max_pids, u64::max);
        self.has_build |= new.iter().any(|e| e.body.kind().starts_with("build."));
        self.has_security |= crate::security::has_security(new);
        self.has_registry |= new.iter().any(|e| e.body.kind().starts_with("registry."));
        // Live, the trace is as long as what came: the columns move.
        let total = self.total.max(replay.len());
        if total != self.total {
            self.total = total;
            self.marks.clear();
        }
        timeline::extend_marks(&mut self.marks, replay.events(), total, TIMELINE_BINS);
        let end = replay.end();
        self.dockerfile = end
            .build
            .iter()
            .flat_map(|b| &b.steps)
            .map(|s| DockerLine {
                step: s.step,
                line: s.line,
                instruction: s.instruction.clone(),
                args: s.args.clone(),
                at: s.at,
            })
            .collect();
        self.end = Rc::new(end.clone());
    }

    /// The trace has `total` events (its lines counted while the first
    /// ones were being read): the marks are made for that length.
    pub fn set_total(&mut self, total: usize) {
        let replay = self.replay.borrow();
        let total = total.max(replay.len());
        if total != self.total {
            self.total = total;
            self.marks.clear();
        }
        timeline::extend_marks(&mut self.marks, replay.events(), total, TIMELINE_BINS);
    }

    /// Every line read: `total` becomes the events folded (lines of kinds
    /// unknown here were counted, then skipped), the marks with it.
    pub fn finish(&mut self) {
        self.set_total(self.len());
    }

    /// Events read and folded so far.
    pub fn len(&self) -> usize {
        self.replay.borrow().len()
    }

    /// Chunks are still being read (`len() < total`).
    pub fn is_loading(&self) -> bool {
        self.len() < self.total
    }

    /// True when both share one replay (the same trace, more of it read).
    pub fn same_trace(&self, other: &Loaded) -> bool {
        Rc::ptr_eq(&self.replay, &other.replay)
    }

    /// Which trace this is, as a number: the same for all the copies
    /// of it (each chunk read makes a new one), another for another trace.
    pub fn replay_id(&self) -> usize {
        Rc::as_ptr(&self.replay) as usize
    }

    /// The folded events (a borrow: let it go before the next fold).
    pub fn replay(&self) -> Ref<'_, Replay> {
        self.replay.borrow()
    }

    /// The position right after the event numbered `seq` (it and all before
    /// it applied): 0 when `seq` comes before the first event, `len` after
    /// the last. Numbers are the trace's `seq`, never list indexes.
    ///
    /// While chunks are read, a `seq` past the last event read is placed
    /// among those still coming (up to `total`; `seq` is gapless).
    pub fn pos_of_seq(&self, seq: u64) -> usize {
        let replay = self.replay();
        let events = replay.events();
        match events.last() {
            Some(last) if seq > last.seq => {
                (events.len() as u64 + (seq - last.seq)).min(self.total as u64) as usize
            }
            _ => events.partition_point(|e| e.seq <= seq),
        }
    }

    /// The `seq` of the event selected at position `pos` (none before the first).
    pub fn seq_at(&self, pos: usize) -> Option<u64> {
        let i = pos.checked_sub(1)?;
        self.replay().events().get(i).map(|e| e.seq)
    }

    /// True when going from position `a` to `b` crosses only usage
    /// samples (`cgroup.sample`, read fine), and each position's selected
    /// event is one too (or there is none): then only the samples counted
    /// differ between the two worlds, and nothing else is new at either.
    /// Far moves (over [`QUIET_SCAN`] events) are not looked at: false.
    pub fn only_samples(&self, a: usize, b: usize) -> bool {
        let (lo, hi) = (a.min(b), a.max(b));
        if hi - lo > QUIET_SCAN {
            return false;
        }
        let replay = self.replay();
        replay
            .events()
            .get(lo.saturating_sub(1)..hi)
            .is_some_and(|span| {
                span.iter()
                    .all(|e| matches!(e.body, EventBody::CgroupSample { .. }) && e.outcome.is_ok())
            })
    }

    /// The first and last `seq` (none for a trace without events); while
    /// chunks are read, the last is the trace's (the reader keeps `seq`
    /// gapless: event `i` is numbered `first + i`).
    pub fn seq_bounds(&self) -> Option<(u64, u64)> {
        let replay = self.replay();
        let events = replay.events();
        let first = events.first()?.seq;
        let last = events.last()?.seq + (self.total - events.len()) as u64;
        Some((first, last))
    }
}
