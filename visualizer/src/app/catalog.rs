//! The catalog's titles and paragraphs (`casulo_trace::catalog`), fetched
//! from `catalogo.json` beside the page the first time an event is shown
//! (written there by `cargo xtask` from the same catalog).
//!
//! Why not compiled in: the 74 paragraphs were 40 KB of text, 14 KB of the
//! gzipped wasm, and the first drawing of a trace (at its start, no event
//! selected) needs none of them. Until the file arrives the event's kind
//! stands for its title.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

/// The file, relative to the page (the book and the daemon serve the
/// visualizer's folder whole).
const URL: &str = "catalogo.json";

/// kind → (title, paragraph).
pub type Catalog = casulo_trace::replay::SortedMap<String, (String, String)>;

enum State {
    Idle,
    /// Fetching: who redraws when it comes.
    Loading(Vec<Callback<()>>),
    Ready(Rc<Catalog>),
    /// Could not be fetched or read: the message says so once.
    Failed(Rc<str>),
}

thread_local! {
    static STATE: RefCell<State> = const { RefCell::new(State::Idle) };
}

/// What the component gets: the catalog, still coming, or why it never will.
pub enum Got {
    Ready(Rc<Catalog>),
    Coming,
    Failed(Rc<str>),
}

/// The catalog when `wanted` (fetched on the first such call); the
/// component redraws once it arrives.
#[hook]
pub fn use_catalog(wanted: bool) -> Got {
    let update = use_force_update();
    if !wanted {
        return Got::Coming;
    }
    STATE.with(|s| {
        let mut s = s.borrow_mut();
        match &mut *s {
            State::Ready(c) => Got::Ready(c.clone()),
            State::Failed(msg) => Got::Failed(msg.clone()),
            State::Loading(waiting) => {
                waiting.push(Callback::from(move |()| update.force_update()));
                Got::Coming
            }
            State::Idle => {
                *s = State::Loading(vec![Callback::from(move |()| update.force_update())]);
                spawn_local(fetch());
                Got::Coming
            }
        }
    })
}

async fn fetch() {
    let got = super::load::fetch_text(URL)
        .await
        .and_then(|text| parse(&text));
    let next = match got {
        Ok(c) => State::Ready(Rc::new(c)),
        Err(e) => State::Failed(format!("não consegui ler a explicação ({URL}: {e})").into()),
    };
    let waiting = STATE.with(|s| match std::mem::replace(&mut *s.borrow_mut(), next) {
        State::Loading(w) => w,
        _ => vec![],
    });
    for redraw in waiting {
        redraw.emit(());
    }
}

/// `{"kind": ["título", "parágrafo"], …}`.
fn parse(text: &str) -> Result<Catalog, String> {
    let serde_json::Value::Object(map) = serde_json::from_str(text).map_err(|e| e.to_string())?
    else {
        return Err("não é um objeto JSON".into());
    };
    let mut out = Catalog::new();
    for (kind, v) in map {
        let pair = v.as_array().filter(|a| a.len() == 2);
        let text = |i: usize| pair.and_then(|a| a[i].as_str()).map(str::to_string);
        let (Some(title), Some(para)) = (text(0), text(1)) else {
            return Err(format!("«{kind}» deveria ser [título, parágrafo]"));
        };
        out.insert(kind, (title, para));
    }
    Ok(out)
}
