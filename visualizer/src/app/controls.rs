//! Playback: play/pause, speed, step, and the scrubber with coloured marks.

use std::rc::Rc;

use yew::prelude::*;

use super::{Action, Loaded, Model};
use crate::timeline::Area;

#[derive(Properties)]
pub struct ControlsProps {
    pub trace: Rc<Loaded>,
    pub pos: usize,
    pub playing: bool,
    pub speed: u32,
    pub dispatch: UseReducerDispatcher<Model>,
}

impl PartialEq for ControlsProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.trace, &o.trace)
            && (self.pos, self.playing, self.speed) == (o.pos, o.playing, o.speed)
    }
}

const SPEEDS: [u32; 6] = [1, 2, 4, 10, 30, 100];

#[function_component(Controls)]
pub fn controls(p: &ControlsProps) -> Html {
    let len = p.trace.len();
    let d = &p.dispatch;
    let act = |a: fn() -> Action| {
        let d = d.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(a()))
    };
    let on_scrub = {
        let d = d.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            if let Ok(n) = input.value().parse::<usize>() {
                d.dispatch(Action::Seek(n));
            }
        })
    };
    let on_speed = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let sel: web_sys::HtmlSelectElement = e.target_unchecked_into();
            if let Ok(s) = sel.value().parse::<u32>() {
                d.dispatch(Action::Speed(s));
            }
        })
    };
    let cursor_pct = if len == 0 {
        0.0
    } else {
        p.pos as f64 / len as f64 * 100.0
    };
    let where_text = if p.pos == 0 {
        format!("antes do primeiro evento (0 de {len})")
    } else {
        format!("evento {} de {len}", p.pos)
    };

    html! {
        <section class="controles" aria-label="Reprodução">
            <div class="botoes">
                <button type="button" id="voltar" onclick={act(|| Action::Step(-1))}
                    disabled={p.pos == 0} title="Voltar um evento (←)">{"◀ Voltar"}</button>
                <button type="button" id="tocar" class="principal" onclick={act(|| Action::TogglePlay)}
                    title="Reproduzir ou pausar (espaço)" aria-pressed={p.playing.to_string()}>
                    {if p.playing { "⏸ Pausar" } else { "▶ Reproduzir" }}</button>
                <button type="button" id="avancar" onclick={act(|| Action::Step(1))}
                    disabled={p.pos >= len} title="Avançar um evento (→)">{"Avançar ▶"}</button>
                <label for="velocidade">{"Velocidade"}</label>
                <select id="velocidade" onchange={on_speed}>
                    { for SPEEDS.iter().map(|s| html! {
                        <option value={s.to_string()} selected={*s == p.speed}>
                            {format!("{s} evento{}/s", if *s == 1 { "" } else { "s" })}</option>
                    }) }
                </select>
                <span class="posicao" id="posicao" aria-live="polite">{where_text}</span>
            </div>
            <div class="linha-do-tempo">
                <Marks trace={p.trace.clone()} dispatch={p.dispatch.clone()} />
                <div class="cursor-tempo" style={format!("left: calc({cursor_pct:.3}% - 1px)")}></div>
                <input type="range" id="linha-do-tempo" min="0" max={len.to_string()} value={p.pos.to_string()}
                    aria-label="Posição no trace" oninput={on_scrub} />
            </div>
            <ul class="legenda" aria-label="Legenda das cores">
                { for Area::LEGEND.iter().map(|a| html! {
                    <li><span class={classes!("amostra", a.class())}></span>{a.label()}</li>
                }) }
            </ul>
        </section>
    }
}

#[derive(Properties)]
pub struct MarksProps {
    pub trace: Rc<Loaded>,
    pub dispatch: UseReducerDispatcher<Model>,
}

impl PartialEq for MarksProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.trace, &o.trace)
    }
}

/// The coloured marks: drawn once per trace (not on every move).
#[function_component(Marks)]
fn marks(p: &MarksProps) -> Html {
    let len = p.trace.len();
    let bins = p.trace.marks.len().max(1);
    let onclick = {
        let d = p.dispatch.clone();
        Callback::from(move |e: MouseEvent| {
            let el: web_sys::Element = e.target_unchecked_into();
            let svg = el.closest("svg").ok().flatten().unwrap_or(el);
            let rect = svg.get_bounding_client_rect();
            if rect.width() > 0.0 {
                let f = ((e.client_x() as f64 - rect.left()) / rect.width()).clamp(0.0, 1.0);
                d.dispatch(Action::Seek((f * len as f64).round() as usize));
            }
        })
    };
    html! {
        <svg class="marcas" viewBox={format!("0 0 {bins} 10")} preserveAspectRatio="none"
            role="img" aria-label="Linha do tempo: cada cor é um tipo de evento" {onclick}>
            { for p.trace.marks.iter().enumerate().map(|(i, m)| html! {
                <rect x={i.to_string()} y="0" width="1" height="10" class={m.area.class()} />
            }) }
        </svg>
    }
}
