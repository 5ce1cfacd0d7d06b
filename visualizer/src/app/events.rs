//! The event list around the position, and the selected event explained:
//! what happened, the real operation, the outcome, the catalog's paragraph.

use std::rc::Rc;

use casulo_trace::{narrate, Outcome};
use yew::prelude::*;

use super::catalog::{use_catalog, Got};
use super::{Action, Loaded, Model};
use crate::timeline::Area;

/// Rows shown before and after the selected event (fewer in a frame of
/// the book).
const AROUND: usize = 8;
const AROUND_COMPACT: usize = 3;

#[derive(Properties)]
pub struct EventsProps {
    pub trace: Rc<Loaded>,
    pub pos: usize,
    /// The positions the player may reach (the list keeps to them).
    pub lo: usize,
    pub hi: usize,
    /// Embed mode: a shorter list.
    #[prop_or_default]
    pub compact: bool,
    pub dispatch: UseReducerDispatcher<Model>,
}

impl PartialEq for EventsProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.trace, &o.trace)
            && (self.pos, self.lo, self.hi, self.compact) == (o.pos, o.lo, o.hi, o.compact)
    }
}

#[function_component(EventsPanel)]
pub fn events_panel(p: &EventsProps) -> Html {
    let replay = p.trace.replay();
    let events = replay.events();
    let selected = p.pos.checked_sub(1);
    let center = selected.unwrap_or(0);
    let around = if p.compact { AROUND_COMPACT } else { AROUND };
    // Event i is reachable when position i + 1 is: i in lo-1 ..= hi-1.
    let from = center.saturating_sub(around).max(p.lo.saturating_sub(1));
    let to = (center + around + 1).min(p.hi).min(events.len());

    let rows = (from..to).map(|i| {
        let e = &events[i];
        let d = p.dispatch.clone();
        let onclick = Callback::from(move |_| d.dispatch(Action::Seek(i + 1)));
        let is_sel = Some(i) == selected;
        let ok = e.outcome.is_ok();
        html! {
            <li class={classes!("evento", is_sel.then_some("selecionado"), (!ok).then_some("falhou"), (Some(i) > selected).then_some("futuro"))}
                aria-current={is_sel.then_some("step")}>
                <button type="button" {onclick}>
                    <span class="seq">{format!("#{}", e.seq)}</span>
                    <span class={classes!("tipo", Area::of(e).class())}>{e.body.kind()}</span>
                    <span class="resumo">{narrate::describe(e)}</span>
                </button>
            </li>
        }
    });

    let catalog = use_catalog(selected.is_some());
    let detail = match selected.map(|i| &events[i]) {
        None => html! {
            <p class="vazio">{"Nada aconteceu ainda. Aperte "}<kbd>{"→"}</kbd>{" ou ▶ para ver o primeiro evento."}</p>
        },
        Some(e) => {
            let kind = e.body.kind();
            let entry = match &catalog {
                Got::Ready(c) => c.get(kind),
                _ => None,
            };
            let outcome = match &e.outcome {
                Outcome::Ok => html! { <span class="ok">{"ok"}</span> },
                Outcome::Error(_) => html! {
                    <span class="errno">{narrate::outcome_text(&e.outcome)}</span>
                },
            };
            html! {
                <div class="detalhe" id="detalhe">
                    <h3>{entry.map_or(kind, |en| en.0.as_str())}</h3>
                    <p class="descricao">{narrate::describe(e)}</p>
                    <dl>
                        <dt>{"Evento"}</dt>
                        <dd>{format!("#{} · {} · PID {} no host", e.seq, narrate::time_text(e.t_us), e.pid)}</dd>
                        <dt>{"Operação real"}</dt><dd><code class="op">{e.op.clone()}</code></dd>
                        <dt>{"Resultado"}</dt><dd id="resultado">{outcome}</dd>
                    </dl>
                    if let Some(en) = entry {
                        if p.compact {
                            // In a frame of the book the chapter explains; the
                            // catalog's paragraph is one click away.
                            <details class="explicacao">
                                <summary>{"O que é isso? (explicação)"}</summary>
                                <p>{markdown(&en.1)}</p>
                            </details>
                        } else {
                            <p class="explicacao">{markdown(&en.1)}</p>
                        }
                    } else if let Got::Failed(msg) = &catalog {
                        <p class="explicacao">{msg.to_string()}</p>
                    }
                </div>
            }
        }
    };

    html! {
        <section class="painel eventos" aria-labelledby="titulo-eventos">
            <h2 id="titulo-eventos">{"Eventos"}</h2>
            {detail}
            <ol class="lista-eventos" aria-label="Eventos perto da posição atual"
                start={events.get(from).map_or(0, |e| e.seq).to_string()}>
                { for rows }
            </ol>
        </section>
    }
}

/// The catalog's light Markdown: `código` and *ênfase*.
pub fn markdown(text: &str) -> Html {
    let mut out = vec![];
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            out.push(html! { <code>{part.to_string()}</code> });
            continue;
        }
        for (j, piece) in part.split('*').enumerate() {
            if j % 2 == 1 {
                out.push(html! { <em>{piece.to_string()}</em> });
            } else if !piece.is_empty() {
                out.push(html! { {piece.to_string()} });
            }
        }
    }
    html! { <>{for out}</> }
}
