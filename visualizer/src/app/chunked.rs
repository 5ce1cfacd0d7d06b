//! A big trace read in slices, so the first drawing comes early.
//!
//! Reading a trace is mostly parsing JSON, one line per event (100 000
//! events: ~200 ms in the browser), then folding it (~50 ms). Done at once
//! it holds the page until the end; here the lines are counted first (the
//! scrubber spans the whole trace from the start), the first slice is read
//! and folded and the page drawn, and the rest follows in slices of
//! [`SLICE_MS`] between the browser's frames, folded onto the same replay
//! ([`Loaded::extend`], as the live view does). The info bar says
//! "carregando N de M" meanwhile; a position not read yet waits
//! ([`Model::wanted`](super::Model::wanted)).
//!
//! A wrong line found in a later slice drops the trace with the message
//! that names it (as a wrong first line would have).

use std::cell::Cell;

use casulo_trace::Reader;
use yew::prelude::*;

use super::{load, Action, Loaded, Model};

/// How long one slice of reading may hold the page, in ms.
const SLICE_MS: f64 = 25.0;
/// The first slice, shorter: the page is drawn right after it.
const FIRST_SLICE_MS: f64 = 8.0;
/// Lines read between two looks at the clock.
const LINES_PER_LOOK: usize = 256;
/// The model hears of the new events at most this often, in ms (each
/// telling redraws the page).
const TELL_EVERY_MS: f64 = 150.0;

thread_local! {
    /// Bumped by every new reading: an older one still in slices stops.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// One trace being read.
struct Reading {
    name: String,
    text: String,
    /// Where the next line starts, and where the last non-blank one ends.
    at: usize,
    end: usize,
    reader: Reader,
    loaded: Loaded,
    generation: u64,
    /// When the text was ready, and when the model last heard.
    started_ms: f64,
    told_ms: f64,
    dispatch: UseReducerDispatcher<Model>,
}

/// Reads `text` (a whole trace): the first slice now, then tells the
/// model (`Action::Loaded`, opened at `seq`), then the rest in slices
/// (`Action::More`; `Action::Broken` if a later line is wrong).
pub fn read(name: String, text: String, seq: Option<u64>, dispatch: UseReducerDispatcher<Model>) {
    let generation = GENERATION.with(|g| {
        g.set(g.get() + 1);
        g.get()
    });
    let started_ms = load::now_ms();
    let fail = |e: &dyn std::fmt::Display| {
        dispatch.dispatch(Action::Failed(format!("Não consegui abrir «{name}»: {e}")))
    };
    // The same lines `read_trace` sees: blank ones at the end are fine.
    let end = text.trim_end().len();
    if end == 0 {
        return fail(
            &"linha 1: o arquivo está vazio: faltou o cabeçalho (a linha 1 de todo trace)",
        );
    }
    let header_end = text[..end].find('\n').unwrap_or(end);
    let reader = match Reader::new(strip_cr(&text[..header_end])) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    // One line per event (those of kinds unknown here are skipped later).
    let total = text[header_end..end].matches('\n').count();
    load::mark("casulo:contado");
    let loaded = Loaded::start(&name, reader.header().clone(), total, 0, vec![]);
    let mut reading = Reading {
        name,
        at: (header_end + 1).min(end),
        end,
        text,
        reader,
        loaded,
        generation,
        started_ms,
        told_ms: started_ms,
        dispatch,
    };
    if let Err(msg) = reading.slice(FIRST_SLICE_MS) {
        return reading.dispatch.dispatch(Action::Failed(msg));
    }
    load::mark("casulo:primeira-fatia");
    let done = reading.at >= reading.end;
    if done {
        reading.finish_loaded();
    }
    reading.loaded.open_ms = load::now_ms() - reading.started_ms;
    reading.dispatch.dispatch(Action::Loaded(
        std::rc::Rc::new(reading.loaded.clone()),
        seq,
    ));
    if done {
        done_mark();
    } else {
        reading.told_ms = load::now_ms();
        next_slice(reading);
    }
}

/// The next slice after the browser drew a frame and took its input.
fn next_slice(mut reading: Reading) {
    gloo_timers::callback::Timeout::new(0, move || {
        if GENERATION.with(Cell::get) != reading.generation {
            return;
        }
        if let Err(msg) = reading.slice(SLICE_MS) {
            return reading.dispatch.dispatch(Action::Broken(msg));
        }
        let done = reading.at >= reading.end;
        let now = load::now_ms();
        if done || now - reading.told_ms >= TELL_EVERY_MS {
            if done {
                reading.finish_loaded();
            }
            reading.loaded.open_ms = now - reading.started_ms;
            reading
                .dispatch
                .dispatch(Action::More(std::rc::Rc::new(reading.loaded.clone())));
            reading.told_ms = load::now_ms();
        }
        if done {
            done_mark();
        } else {
            next_slice(reading);
        }
    })
    .forget();
}

impl Reading {
    /// Reads lines for about `budget_ms` and folds them.
    fn slice(&mut self, budget_ms: f64) -> Result<(), String> {
        let start = load::now_ms();
        while self.at < self.end {
            for _ in 0..LINES_PER_LOOK {
                if self.at >= self.end {
                    break;
                }
                let rest = &self.text[self.at..self.end];
                let len = rest.find('\n').unwrap_or(rest.len());
                self.reader
                    .line(strip_cr(&rest[..len]))
                    .map_err(|e| format!("Não consegui abrir «{}»: {e}", self.name))?;
                self.at += len + 1;
            }
            if load::now_ms() - start >= budget_ms {
                break;
            }
        }
        self.loaded.extend(self.reader.take_events());
        Ok(())
    }

    /// Every line read: the counts become the real ones (lines of
    /// unknown kinds were counted as events), and the text goes.
    fn finish_loaded(&mut self) {
        self.loaded.skipped = self.reader.skipped().len();
        self.loaded.finish();
        self.text = String::new();
    }
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
        let _ = root.set_attribute("data-carregado-ms", &format!("{done:.1}"));
    }
}

fn strip_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}
