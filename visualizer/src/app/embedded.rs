//! Embed mode (`embed=1`): the same app inside a frame of the course book.
//! Compact: a slim player limited to `de..=ate`, the chosen panels, a link
//! to the full app; and the frame's height sent to the book's page.
//!
//! The parameters are read and checked in `crate::embed`.

use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::{controls, panel, Model};
use crate::embed::Panel;

/// The page inside the frame: the error of a wrong parameter, or the player
/// and the panels.
pub fn view(model: &Model, dispatch: UseReducerDispatcher<Model>) -> Html {
    let error = model.error.as_ref().map(|err| {
        html! {
            <div class="erro" role="alert" id="erro">
                <strong>{"Erro: "}</strong>{err.clone()}
            </div>
        }
    });
    let body = match (&model.trace, &model.embed) {
        (Some(t), Some(e)) => {
            let panels = e.panels_for(t.has_build, t.has_security, t.has_registry);
            let has_events = panels.contains(&Panel::Events);
            // The events column goes first (left, or on top when narrow)
            // unless `paineis=` put a diagram before it.
            let events_first = panels.first() == Some(&Panel::Events);
            let diagrams: Vec<Html> = panels
                .iter()
                .filter(|p| **p != Panel::Events)
                .map(|p| panel(*p, model, t, &dispatch))
                .collect();
            let events = has_events.then(|| {
                html! {
                    <div class="coluna-eventos">{ panel(Panel::Events, model, t, &dispatch) }</div>
                }
            });
            let names: Vec<&str> = panels.iter().map(|p| p.name()).collect();
            html! {
                <>
                    <controls::Controls trace={t.clone()} pos={model.pos} lo={model.lo} hi={model.hi}
                        playing={model.playing} speed={model.speed} embed={e.clone()}
                        dispatch={dispatch.clone()} />
                    <main class="paineis-embutidos" data-paineis={names.join(",")}>
                        if events_first { {for events.clone()} }
                        if !diagrams.is_empty() {
                            <div class="coluna-diagramas">{ for diagrams }</div>
                        }
                        if !events_first { {for events} }
                    </main>
                </>
            }
        }
        _ => html! {},
    };
    html! {
        <>
            if let Some(what) = &model.loading {
                <p class="carregando" role="status">{format!("Carregando {what}…")}</p>
            }
            {for error}
            {body}
        </>
    }
}

/// A click anywhere in the frame gives it the keyboard (←, →, space).
pub fn take_focus() {
    if let Some(w) = web_sys::window() {
        let _ = w.focus();
    }
}

/// Sends the content's height to the page around the frame:
/// `{casuloAltura: px, casuloTrace: <the trace parameter>}`.
pub fn post_height(root: &NodeRef) {
    let Some(el) = root.cast::<web_sys::Element>() else {
        return;
    };
    let Some(w) = web_sys::window() else { return };
    let Ok(Some(parent)) = w.parent() else { return };
    let height = el.get_bounding_client_rect().height().ceil();
    let trace = super::load::query_params()
        .remove("trace")
        .unwrap_or_default();
    let msg = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&msg, &"casuloAltura".into(), &height.into());
    let _ = js_sys::Reflect::set(&msg, &"casuloTrace".into(), &trace.into());
    let _ = parent.post_message(&msg, "*");
}

/// Posts the height again whenever the content changes size without a
/// render of ours (the frame made narrower, fonts arriving). Stops when
/// dropped.
pub struct HeightObserver {
    observer: web_sys::ResizeObserver,
    _closure: wasm_bindgen::closure::Closure<dyn Fn()>,
}

impl HeightObserver {
    pub fn new(root: &NodeRef) -> Option<HeightObserver> {
        let el = root.cast::<web_sys::Element>()?;
        let root = root.clone();
        let closure = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || post_height(&root));
        let observer = web_sys::ResizeObserver::new(closure.as_ref().unchecked_ref()).ok()?;
        observer.observe(&el);
        Some(HeightObserver {
            observer,
            _closure: closure,
        })
    }
}

impl Drop for HeightObserver {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}
