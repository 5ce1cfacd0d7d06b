//! "Ao vivo": `?ao-vivo=ID` follows a running container's trace as the
//! engine writes it, from `casulo daemon --ui` (`/casulo/live/ID`, Server-
//! Sent Events: `cabecalho`, one message per event, `fim`).
//!
//! Each line is read as it comes, with the same checks as a file (the trace
//! crate's [`Reader`]); a few times a second, when new events came, only
//! they are folded onto what was folded before ([`Loaded::extend`]: the
//! trace crate's replay, no second model), less often when that gets
//! expensive ([`FOLD_COST_SHARE`]). The model then keeps the position at
//! the newest event while "seguir" is on (the teacher can pause it and step
//! back).

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use yew::prelude::*;

use casulo_trace::Reader;

use super::{load, Action, Listener, Loaded, Model};
pub use crate::state::Live;

/// How often new lines are looked for.
const FOLD_EVERY_MS: u32 = 250;
/// A fold costs the new events (the replay is shared with the model, not
/// copied) plus a look over the whole for the timeline's marks: after one
/// that took `d` ms, the next waits at least `FOLD_COST_SHARE × d` (a long
/// run's big trace costs the projector's laptop at most a tenth of its
/// time, not all of it).
const FOLD_COST_SHARE: f64 = 10.0;

/// Where the stream of `key` is (same origin: the daemon's `--ui` port).
pub fn url(key: &str) -> String {
    format!("/casulo/live/{}", js_sys::encode_uri_component(key))
}

/// The open stream: closed when dropped (the page left live mode).
pub struct Connection {
    source: web_sys::EventSource,
    _listeners: Vec<Listener>,
    _fold: gloo_timers::callback::Interval,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.source.close();
    }
}

/// The lines read so far (the events not yet folded wait in the reader),
/// what is folded, the first problem, whether something came since the
/// last fold, and when the next fold may be (ms, [`load::now_ms`]).
#[derive(Default)]
struct Received {
    reader: Option<Reader>,
    folded: Option<Loaded>,
    error: Option<String>,
    changed: bool,
    next_fold_ms: f64,
}

impl Received {
    /// Line 1: everything starts over.
    fn header(&mut self, line: &str, name: &str) {
        *self = Received {
            next_fold_ms: self.next_fold_ms,
            changed: true,
            ..Received::default()
        };
        match Reader::new(line) {
            Ok(r) => self.reader = Some(r),
            Err(e) => self.error = Some(format!("Não consegui abrir «{name}»: {e}")),
        }
    }

    fn line(&mut self, line: &str, name: &str) {
        let (Some(reader), None) = (&mut self.reader, &self.error) else {
            return;
        };
        if let Err(e) = reader.line(line) {
            self.error = Some(format!("Não consegui abrir «{name}»: {e}"));
        }
        self.changed = true;
    }
}

/// Opens `/casulo/live/KEY` and feeds the model.
pub fn connect(key: &str, dispatch: UseReducerDispatcher<Model>) -> Option<Connection> {
    let source = match web_sys::EventSource::new(&url(key)) {
        Ok(s) => s,
        Err(_) => {
            dispatch.dispatch(Action::Failed(format!(
                "Não consegui abrir a conexão ao vivo de «{key}»"
            )));
            return None;
        }
    };
    let received = Rc::new(RefCell::new(Received::default()));
    let name = format!("ao vivo: {key}");
    let data = |e: &web_sys::Event| {
        e.dyn_ref::<web_sys::MessageEvent>()
            .and_then(|m| m.data().as_string())
    };
    let target: web_sys::EventTarget = source.clone().into();
    let mut listeners = Vec::new();
    {
        // Line 1; sent again after a reconnection (the stream starts over).
        let (received, name) = (received.clone(), name.clone());
        let d = dispatch.clone();
        listeners.extend(Listener::new(target.clone(), "cabecalho", move |e| {
            if let Some(line) = data(&e) {
                received.borrow_mut().header(&line, &name);
                d.dispatch(Action::LiveConnected);
            }
        }));
    }
    {
        // Connected again: the daemon resumes after the last event the
        // browser got (`Last-Event-ID`), with no new header.
        let d = dispatch.clone();
        listeners.extend(Listener::new(target.clone(), "open", move |_| {
            d.dispatch(Action::LiveConnected)
        }));
    }
    {
        let (received, name) = (received.clone(), name.clone());
        listeners.extend(Listener::new(target.clone(), "message", move |e| {
            if let Some(line) = data(&e) {
                received.borrow_mut().line(&line, &name);
            }
        }));
    }
    {
        let received = received.clone();
        let (d, name, source2) = (dispatch.clone(), name.clone(), source.clone());
        listeners.extend(Listener::new(target.clone(), "fim", move |e| {
            // No reconnection after the end: the trace is complete.
            source2.close();
            fold(&received, &name, &d);
            let code = data(&e)
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["exit_code"].as_i64());
            d.dispatch(Action::LiveEnded(code));
        }));
    }
    {
        let (d, source2, key) = (dispatch.clone(), source.clone(), key.to_string());
        listeners.extend(Listener::new(target, "error", move |_| {
            // Closed for good (an answer that is not the stream, like the
            // daemon's 404): the browser will not try again.
            if source2.ready_state() == web_sys::EventSource::CLOSED {
                d.dispatch(Action::Failed(format!(
                    "O daemon recusou a conexão ao vivo de «{key}»: ele não tem trace com \
                     esse nome ou id (a lista está em /casulo/traces), ou esta página não \
                     veio de um `casulo daemon --ui`."
                )));
            } else {
                d.dispatch(Action::LiveLost)
            }
        }));
    }
    let fold_timer = {
        let received = received.clone();
        gloo_timers::callback::Interval::new(FOLD_EVERY_MS, move || {
            if load::now_ms() >= received.borrow().next_fold_ms {
                fold(&received, &name, &dispatch)
            }
        })
    };
    Some(Connection {
        source,
        _listeners: listeners,
        _fold: fold_timer,
    })
}

/// Folds the events read since the last fold, when some came, and hands
/// the model a new `Loaded` sharing the same replay.
fn fold(received: &RefCell<Received>, name: &str, dispatch: &UseReducerDispatcher<Model>) {
    let start = load::now_ms();
    let update = {
        let mut r = received.borrow_mut();
        if !r.changed {
            return;
        }
        r.changed = false;
        if let Some(e) = &r.error {
            Err(e.clone())
        } else if let Some(reader) = &mut r.reader {
            let (events, skipped) = (reader.take_events(), reader.skipped().len());
            let header = reader.header().clone();
            let mut folded = match r.folded.take() {
                Some(mut l) => {
                    l.extend(events);
                    l
                }
                None => Loaded::new(name, header, 0, events),
            };
            folded.skipped = skipped;
            r.folded = Some(folded);
            Ok(r.folded.clone())
        } else {
            Ok(None)
        }
    };
    let took = load::now_ms() - start;
    received.borrow_mut().next_fold_ms = start + took * (1.0 + FOLD_COST_SHARE);
    match update {
        Ok(Some(mut t)) => {
            t.open_ms = took;
            dispatch.dispatch(Action::LiveUpdate(Rc::new(t)));
        }
        Ok(None) => {}
        Err(e) => dispatch.dispatch(Action::Failed(e)),
    }
}

#[derive(Properties, PartialEq)]
pub struct BadgeProps {
    pub live: Live,
    pub dispatch: UseReducerDispatcher<Model>,
}

/// "AO VIVO" (or "terminou"), and the teacher's "pausar"/"seguir".
#[function_component(Badge)]
pub fn badge(p: &BadgeProps) -> Html {
    let toggle = {
        let d = p.dispatch.clone();
        Callback::from(move |_| d.dispatch(Action::ToggleFollow))
    };
    let l = &p.live;
    html! {
        <div class="ao-vivo-barra" aria-live="polite">
            {match l.ended {
                None if l.reconnecting => html! {
                    <span class="selo-vivo reconectando" id="selo-vivo">{"AO VIVO · reconectando…"}</span>
                },
                None => html! {
                    <span class="selo-vivo" id="selo-vivo" title={format!("seguindo {} enquanto roda", l.key)}>{"AO VIVO"}</span>
                },
                Some(code) => html! {
                    <span class="selo-vivo terminou" id="selo-vivo">
                        {match code {
                            Some(c) => format!("terminou (código {c})"),
                            None => "terminou".to_string(),
                        }}
                    </span>
                },
            }}
            <button type="button" id="seguir" onclick={toggle} aria-pressed={l.follow.to_string()}
                title="Seguindo: a linha do tempo vai ao evento mais novo. Pausado: fica onde está.">
                {if l.follow { "pausar" } else { "seguir" }}
            </button>
        </div>
    }
}
