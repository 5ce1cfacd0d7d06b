//! A big trace read after the first drawing.
//!
//! Reading a trace is mostly parsing JSON, one line per event (100 000
//! events: ~200 ms in the browser), then folding it (~50 ms). Done at once
//! it holds the page until the end. Here the bytes' lines are counted as
//! they come in ([`Reading::arrive`]); when the last byte is in
//! ([`Reading::all_arrived`]) the number of events is known (the scrubber
//! spans the whole trace from the start), a short slice is read and the
//! page drawn; the rest follows in slices of [`SLICE_MS`] between the
//! browser's frames, folded onto the same replay ([`Loaded::extend`], as
//! the live view does). The info bar says "carregando N de M" meanwhile; a
//! position not read yet waits ([`Model::wanted`](super::Model::wanted)).
//!
//! The download comes in as a stream ([`load`]'s `stream_into`): each
//! chunk is only copied and its lines counted, no parsing (a stream with a
//! little parsing after each chunk arrived later: the first drawing
//! ~650–1800 ms instead of ~480–800 ms at the same load, once). Copied
//! and counted during the download, the first drawing came 24–116 ms
//! after the last byte (`cargo xtask bench`, load ~3), not 141–236 ms
//! (the body whole, load ~10–30).
//!
//! A wrong line stops the reading with the message that names it: before
//! the first drawing as any wrong trace ([`Action::Failed`]), after it the
//! trace is dropped ([`Action::Broken`]).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use casulo_trace::Reader;
use yew::prelude::*;

use super::{load, Action, Loaded, Model};

/// How long one slice of reading may hold the page, in ms.
const SLICE_MS: f64 = 25.0;
/// The slice right before the first drawing.
const FIRST_SLICE_MS: f64 = 8.0;
/// Lines read between two looks at the clock.
const LINES_PER_LOOK: usize = 64;
/// The model hears of the new events at most this often, in ms (each
/// telling redraws the page).
const TELL_EVERY_MS: f64 = 150.0;

thread_local! {
    /// Bumped by every new reading: an older one still going stops.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// One trace being read: shared by the download and the slices.
pub struct Reading {
    name: String,
    /// The event to open at.
    seq: Option<u64>,
    bytes: Vec<u8>,
    /// Where the next line starts.
    at: usize,
    /// Line number of that line (1: the header).
    line_no: usize,
    /// Up to where the lines are complete: after the last `\n` so far;
    /// once everything arrived, the end of the last non-blank line.
    limit: usize,
    /// `\n` seen in all the bytes so far.
    newlines: usize,
    /// The last byte arrived.
    arrived: bool,
    reader: Option<Reader>,
    loaded: Option<Loaded>,
    /// The model has the trace (`Action::Loaded` dispatched).
    drawn: bool,
    /// Done, failed, or replaced by a newer reading: nothing more to do.
    over: bool,
    /// A slice is waiting for its turn.
    scheduled: bool,
    generation: u64,
    started_ms: f64,
    told_ms: f64,
    dispatch: UseReducerDispatcher<Model>,
}

/// A reading of the trace `name`, bytes to come ([`Reading::arrive`],
/// then [`Reading::all_arrived`]).
pub fn start(
    name: String,
    seq: Option<u64>,
    dispatch: UseReducerDispatcher<Model>,
) -> Rc<RefCell<Reading>> {
    let generation = GENERATION.with(|g| {
        g.set(g.get() + 1);
        g.get()
    });
    let now = load::now_ms();
    Rc::new(RefCell::new(Reading {
        name,
        seq,
        bytes: Vec::new(),
        at: 0,
        line_no: 1,
        limit: 0,
        newlines: 0,
        arrived: false,
        reader: None,
        loaded: None,
        drawn: false,
        over: false,
        scheduled: false,
        generation,
        started_ms: now,
        told_ms: now,
        dispatch,
    }))
}

impl Reading {
    /// False once there is no use in more bytes (failed, or replaced).
    pub fn wants_more(&self) -> bool {
        !self.over && GENERATION.with(Cell::get) == self.generation
    }

    /// The next bytes: their lines counted.
    pub fn arrive(this: &Rc<RefCell<Reading>>, chunk: &js_sys::Uint8Array) {
        Reading::append(this, |bytes| {
            if bytes.capacity() == 0 {
                // The first (often the only) chunk: copied straight into a
                // new vector, not over zeros written first.
                *bytes = chunk.to_vec();
            } else {
                let from = bytes.len();
                bytes.resize(from + chunk.length() as usize, 0);
                chunk.copy_to(&mut bytes[from..]);
            }
        });
    }

    /// `len` bytes are coming (the download's length): room for them now.
    pub fn expect(this: &Rc<RefCell<Reading>>, len: usize) {
        let mut r = this.borrow_mut();
        let more = len.saturating_sub(r.bytes.len());
        r.bytes.reserve_exact(more);
    }

    /// The next bytes, already in wasm memory (a file the student opened).
    pub fn arrive_bytes(this: &Rc<RefCell<Reading>>, more: &[u8]) {
        Reading::append(this, |bytes| bytes.extend_from_slice(more));
    }

    /// Bytes added by `fill`, then their lines counted.
    fn append(this: &Rc<RefCell<Reading>>, fill: impl FnOnce(&mut Vec<u8>)) {
        {
            let mut r = this.borrow_mut();
            if !r.wants_more() {
                return;
            }
            let from = r.bytes.len();
            fill(&mut r.bytes);
            let new = &r.bytes[from..];
            let count = crate::lines::count_newlines(new);
            let last = new.iter().rposition(|b| *b == b'\n');
            r.newlines += count;
            if let Some(i) = last {
                r.limit = from + i + 1;
            }
        }
    }

    /// The whole file arrived: its events are counted, the page drawn
    /// after a short slice, the rest read in slices.
    pub fn all_arrived(this: &Rc<RefCell<Reading>>) {
        {
            let mut r = this.borrow_mut();
            if !r.wants_more() {
                return;
            }
            r.arrived = true;
            // Blank lines at the end are fine (the file ends with '\n').
            let end = r.bytes.trim_ascii_end().len();
            r.limit = end;
            if end == 0 {
                let msg = format!(
                    "Não consegui abrir «{}»: linha 1: o arquivo está vazio: faltou o cabeçalho \
                     (a linha 1 de todo trace)",
                    r.name
                );
                r.over = true;
                let d = r.dispatch.clone();
                drop(r);
                return d.dispatch(Action::Failed(msg));
            }
            let after = r.bytes[end..].iter().filter(|b| **b == b'\n').count();
            // One line per event after the header (those of kinds unknown
            // here are skipped when read: then the count comes down).
            r.newlines -= after;
            load::mark("casulo:contado");
        }
        step(this, FIRST_SLICE_MS);
    }

    /// The download failed: the reading stops with `msg` (naming the file).
    pub fn failed(this: &Rc<RefCell<Reading>>, msg: String) {
        let mut r = this.borrow_mut();
        if !r.wants_more() {
            return;
        }
        r.over = true;
        let action = if r.drawn {
            Action::Broken(msg)
        } else {
            Action::Failed(msg)
        };
        let d = r.dispatch.clone();
        drop(r);
        d.dispatch(action);
    }

    /// Reads complete lines for about `budget_ms` and folds them.
    fn slice(&mut self, budget_ms: f64) -> Result<(), String> {
        let start = load::now_ms();
        let fail = |line: usize, e: &dyn std::fmt::Display| {
            format!("Não consegui abrir «{}»: linha {line}: {e}", self.name)
        };
        'slice: while self.at < self.limit {
            for _ in 0..LINES_PER_LOOK {
                if self.at >= self.limit {
                    break;
                }
                let rest = &self.bytes[self.at..self.limit];
                let len = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
                let raw = &rest[..len];
                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                // A blank line may be one of the end's: wait to know.
                if !self.arrived && raw.trim_ascii().is_empty() {
                    break 'slice;
                }
                let line = std::str::from_utf8(raw).map_err(|e| {
                    fail(
                        self.line_no,
                        &format!("não é texto UTF-8 (byte {} inválido)", e.valid_up_to() + 1),
                    )
                })?;
                match &mut self.reader {
                    Some(reader) => reader.line(line),
                    None => Reader::new(line).map(|r| self.reader = Some(r)),
                }
                .map_err(|e| format!("Não consegui abrir «{}»: {e}", self.name))?;
                self.at += len + 1;
                self.line_no += 1;
            }
            if load::now_ms() - start >= budget_ms {
                break;
            }
        }
        if let Some(reader) = &mut self.reader {
            let events = reader.take_events();
            match &mut self.loaded {
                Some(l) => l.extend(events),
                // Its length is not known yet: no marks until it is.
                None => {
                    let header = reader.header().clone();
                    self.loaded = Some(Loaded::start(&self.name, header, usize::MAX, 0, events));
                }
            }
        }
        Ok(())
    }
}

/// Reads a slice of `budget_ms`; when everything arrived, draws the page
/// (first time) or tells the model of the new events, and goes on in
/// slices until the end.
fn step(this: &Rc<RefCell<Reading>>, budget_ms: f64) {
    let mut r = this.borrow_mut();
    if !r.wants_more() {
        return;
    }
    if let Err(msg) = r.slice(budget_ms) {
        drop(r);
        return Reading::failed(this, msg);
    }
    if !r.arrived {
        return;
    }
    let done = r.at >= r.limit;
    let total = r.newlines;
    let skipped = r.reader.as_ref().map_or(0, |x| x.skipped().len());
    let Some(loaded) = r.loaded.as_mut() else {
        // Cannot be (everything arrived, and a slice reads at least the
        // header), but the page must never wait for nothing.
        drop(r);
        return Reading::failed(this, "o trace não tem cabeçalho".into());
    };
    if done {
        loaded.skipped = skipped;
        loaded.finish();
    } else {
        loaded.set_total(total);
    }
    let now = load::now_ms();
    let action = if !r.drawn {
        load::mark("casulo:primeira-fatia");
        Some(Action::Loaded(Rc::new(loaded_now(&mut r, now)), r.seq))
    } else if done || now - r.told_ms >= TELL_EVERY_MS {
        Some(Action::More(Rc::new(loaded_now(&mut r, now))))
    } else {
        None
    };
    r.drawn = true;
    if done {
        r.over = true;
        r.bytes = Vec::new();
    } else if !r.scheduled {
        r.scheduled = true;
        let this = this.clone();
        gloo_timers::callback::Timeout::new(0, move || {
            this.borrow_mut().scheduled = false;
            step(&this, SLICE_MS);
        })
        .forget();
    }
    let d = r.dispatch.clone();
    drop(r);
    if let Some(action) = action {
        d.dispatch(action);
    }
    if done {
        done_mark();
    }
}

/// A copy of what is folded, for the model (the replay is shared).
fn loaded_now(r: &mut Reading, now: f64) -> Loaded {
    r.told_ms = now;
    let loaded = r.loaded.as_mut().expect("folded");
    loaded.open_ms = now - r.started_ms;
    loaded.clone()
}

/// `data-carregado-ms` on <html>: when the whole trace was read (what
/// `cargo xtask bench` waits for before scrubbing).
fn done_mark() {
    let done = load::now_ms();
    load::mark("casulo:carregado");
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-carregado-ms", &crate::format::fixed(done, 1));
    }
}
