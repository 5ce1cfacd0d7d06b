//! Panel "Segurança": what the container's root can and cannot do at this
//! point of the trace: a warning in words when it runs `--privileged`, then
//! one row per protection (its user namespace, the capabilities kept and
//! dropped, no_new_privs, the seccomp profile, the device allow-list, the
//! terminal and inherited descriptors, the non-dumpable init). The rows
//! come from `crate::security`; this only draws them. HTML lists, not
//! a diagram: names with a sentence each read better as text (and a
//! screen reader reads them as they are).

use std::rc::Rc;

use casulo_trace::replay::World;
use yew::prelude::*;

use super::Loaded;
use crate::security::{privileged, rows, Group, Row};

#[derive(Properties)]
pub struct SecurityProps {
    pub trace: Rc<Loaded>,
    pub world: Rc<World>,
    /// [`crate::state::Model::scene`] (drawn again when it changes).
    pub scene: u64,
    /// Embed mode: with nothing to show, the panel says so instead of vanishing.
    #[prop_or_default]
    pub compact: bool,
}

impl PartialEq for SecurityProps {
    fn eq(&self, o: &Self) -> bool {
        self.scene == o.scene && Rc::ptr_eq(&self.trace, &o.trace) && self.compact == o.compact
    }
}

#[function_component(SecurityPanel)]
pub fn security_panel(p: &SecurityProps) -> Html {
    let replay = p.trace.replay();
    let events = replay.events();
    // Known since the events were read (not a scan of them all per drawing).
    if !p.trace.has_security {
        if !p.compact {
            return html! {};
        }
        return html! {
            <section class="painel seguranca" aria-labelledby="titulo-seg">
                <h2 id="titulo-seg">{"Segurança"}</h2>
                <p class="vazio" id="seg-vazio">{"Este trace não tem eventos de segurança \
                    (security.*): foi gravado antes de o casulo cortar capabilities e \
                    instalar o seccomp."}</p>
            </section>
        };
    }
    let last = p.world.applied.checked_sub(1);
    html! {
        <section class="painel seguranca" aria-labelledby="titulo-seg">
            <h2 id="titulo-seg">{"Segurança: o que o root do contêiner pode e não pode"}</h2>
            if let Some(warning) = privileged(events) {
                <p class="seg-privilegiado" id="seg-privilegiado" role="alert">
                    <strong>{"PERIGO: "}</strong>{warning}
                </p>
            }
            <ul class="seg-linhas" id="seg-linhas">
                { for rows(events, &p.world).iter().map(|r| row(r, r.at.is_some() && r.at == last)) }
            </ul>
        </section>
    }
}

fn row(r: &Row, fresh: bool) -> Html {
    let state = r.state.class();
    html! {
        <li class={classes!("seg-linha", state, fresh.then_some("novo"))} id={r.id} data-estado={state}>
            <div class="seg-cabeca">
                <strong class="seg-titulo">{r.title}</strong>
                <span class={classes!("seg-estado", state)}>{r.state.word()}</span>
            </div>
            <p class="seg-resumo">{r.summary.clone()}</p>
            { for r.groups.iter().filter(|g| !g.items.is_empty()).map(group) }
        </li>
    }
}

fn group(g: &Group) -> Html {
    // A list of bare names (no meanings) reads as one wrapped line.
    let bare = g.items.iter().all(|(_, what)| what.is_empty());
    html! {
        <details class="seg-grupo" id={g.id} open={g.open}>
            <summary>{g.title.clone()}</summary>
            <ul class={classes!("seg-itens", bare.then_some("nomes"))}>
                { for g.items.iter().map(|(name, what)| html! {
                    <li><code>{name.clone()}</code>
                        if !what.is_empty() { {" — "}{what.clone()} }
                    </li>
                }) }
            </ul>
        </details>
    }
}
