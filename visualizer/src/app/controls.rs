//! Playback: play/pause, speed, step, and the scrubber with coloured marks.

use std::rc::Rc;

use yew::prelude::*;

use super::{Action, Loaded, Model, TIMELINE_BINS};
use crate::embed::{full_app_link, Embed};
use crate::timeline::{self, Area};

#[derive(Properties)]
pub struct ControlsProps {
    pub trace: Rc<Loaded>,
    pub pos: usize,
    /// The positions the player may reach: the scrubber goes from `lo` to `hi`.
    pub lo: usize,
    pub hi: usize,
    pub playing: bool,
    pub speed: u32,
    /// Embed mode: a slim player, and the link to the full app.
    #[prop_or_default]
    pub embed: Option<Rc<Embed>>,
    pub dispatch: UseReducerDispatcher<Model>,
}

impl PartialEq for ControlsProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.trace, &o.trace)
            && (self.pos, self.lo, self.hi, self.playing, self.speed)
                == (o.pos, o.lo, o.hi, o.playing, o.speed)
            && self.embed.as_ref().map(Rc::as_ptr) == o.embed.as_ref().map(Rc::as_ptr)
    }
}

/// "evento N de M": N the selected event's `seq`, M the last reachable one's
/// (the numbers of `casulo trace show` and of `#evento=N`).
pub fn where_text(t: &Loaded, pos: usize, hi: usize) -> String {
    // The last position may be still unread (a big trace read in chunks).
    let last = if hi >= t.len() {
        t.seq_bounds().map(|(_, last)| last)
    } else {
        t.seq_at(hi)
    };
    match (t.seq_at(pos), last) {
        (Some(n), Some(last)) => format!("evento {n} de {last}"),
        (None, Some(_)) => "antes do primeiro evento".into(),
        _ => "este trace não tem eventos".into(),
    }
}

const SPEEDS: [u32; 6] = [1, 2, 4, 10, 30, 100];

#[function_component(Controls)]
pub fn controls(p: &ControlsProps) -> Html {
    let (lo, hi) = (p.lo, p.hi.max(p.lo));
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
                // The scrubber starts one step before `lo` (see below): the
                // thumb never rests there.
                if n < lo {
                    input.set_value(&lo.to_string());
                }
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
    // The marks cover the events `first..hi`; the cursor (and the thumb,
    // whose range starts at `first` too) sits at the right edge of the
    // selected event's column, as in the whole trace's timeline.
    let first = lo.saturating_sub(1);
    let cursor_pct = if hi == first {
        0.0
    } else {
        p.pos.saturating_sub(first) as f64 / (hi - first) as f64 * 100.0
    };
    let compact = p.embed.is_some();
    let (back, forward) = if compact {
        ("◀", "▶")
    } else {
        ("◀ Voltar", "Avançar ▶")
    };
    let play = match (p.playing, compact) {
        (true, _) => "⏸ Pausar",
        (false, true) => "▷ Reproduzir",
        (false, false) => "▶ Reproduzir",
    };
    // The full app, at this event (its own `trace=` is relative to the
    // same folder as this page's).
    let full_link = p.embed.as_ref().map(|e| {
        let trace = String::from(js_sys::encode_uri_component(&e.trace));
        full_app_link(&trace, p.trace.seq_at(p.pos))
    });

    html! {
        <section class={classes!("controles", compact.then_some("compacto"))} aria-label="Reprodução">
            <div class="botoes">
                <button type="button" id="voltar" onclick={act(|| Action::Step(-1))}
                    disabled={p.pos <= lo} title="Voltar um evento (←)" aria-label={compact.then_some("Voltar um evento")}>{back}</button>
                <button type="button" id="tocar" class="principal" onclick={act(|| Action::TogglePlay)}
                    title="Reproduzir ou pausar (espaço)" aria-pressed={p.playing.to_string()}>
                    {play}</button>
                <button type="button" id="avancar" onclick={act(|| Action::Step(1))}
                    disabled={p.pos >= hi} title="Avançar um evento (→)" aria-label={compact.then_some("Avançar um evento")}>{forward}</button>
                if !compact {
                    <label for="velocidade">{"Velocidade"}</label>
                    <select id="velocidade" onchange={on_speed}>
                        { for SPEEDS.iter().map(|s| html! {
                            <option value={s.to_string()} selected={*s == p.speed}>
                                {format!("{s} evento{}/s", if *s == 1 { "" } else { "s" })}</option>
                        }) }
                    </select>
                }
                <span class="posicao" id="posicao" aria-live="polite">{where_text(&p.trace, p.pos, hi)}</span>
                if let Some(href) = full_link {
                    <a class="completo" id="abrir-completo" {href} target="_blank" rel="noopener"
                        title="Abre este trace, neste evento, no visualizador completo (numa aba nova)">
                        {"abrir no visualizador completo ↗"}</a>
                }
            </div>
            <div class="linha-do-tempo">
                <Marks trace={p.trace.clone()} {lo} {hi} dispatch={p.dispatch.clone()} />
                <div class="cursor-tempo" style={format!("left: calc({}% - 1px)", crate::format::fixed(cursor_pct, 3))}></div>
                <input type="range" id="linha-do-tempo" min={first.to_string()} max={hi.to_string()} value={p.pos.to_string()}
                    aria-label="Posição no trace" oninput={on_scrub} />
            </div>
            if !compact {
                <ul class="legenda" aria-label="Legenda das cores">
                    { for Area::LEGEND.iter().map(|a| html! {
                        <li><span class={classes!("amostra", a.class())}></span>{a.label()}</li>
                    }) }
                </ul>
            }
        </section>
    }
}

#[derive(Properties)]
pub struct MarksProps {
    pub trace: Rc<Loaded>,
    /// The reachable positions: the marks cover events `lo-1 .. hi`.
    pub lo: usize,
    pub hi: usize,
    pub dispatch: UseReducerDispatcher<Model>,
}

impl PartialEq for MarksProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.trace, &o.trace) && (self.lo, self.hi) == (o.lo, o.hi)
    }
}

/// The coloured marks: drawn once per trace and range (not on every move).
#[function_component(Marks)]
fn marks(p: &MarksProps) -> Html {
    // The first event the marks show: the one selected at `lo`.
    let first = p.lo.saturating_sub(1);
    let span = p.hi.saturating_sub(first);
    let whole = first == 0 && p.hi == p.trace.total;
    let marks = {
        let t = p.trace.clone();
        use_memo((Rc::as_ptr(&p.trace) as usize, first, p.hi), move |_| {
            if whole {
                t.marks.clone()
            } else {
                timeline::marks(
                    &t.replay().events()[first..p.hi.min(t.len())],
                    TIMELINE_BINS,
                )
            }
        })
    };
    // The columns of the whole span, drawn or not yet (read in chunks).
    let bins = TIMELINE_BINS.min(span).max(1);
    let onclick = {
        let d = p.dispatch.clone();
        Callback::from(move |e: MouseEvent| {
            let el: web_sys::Element = e.target_unchecked_into();
            let svg = el.closest("svg").ok().flatten().unwrap_or(el);
            let rect = svg.get_bounding_client_rect();
            if rect.width() > 0.0 {
                let f = ((e.client_x() as f64 - rect.left()) / rect.width()).clamp(0.0, 1.0);
                // The model clamps to the reachable range.
                d.dispatch(Action::Seek(first + (f * span as f64).round() as usize));
            }
        })
    };
    html! {
        <svg class="marcas" viewBox={format!("0 0 {bins} 10")} preserveAspectRatio="none"
            role="img" aria-label="Linha do tempo: cada cor é um tipo de evento" {onclick}>
            { for marks.iter().enumerate().map(|(i, m)| html! {
                <rect x={i.to_string()} y="0" width="1" height="10" class={m.area.class()}>
                    <title>{mark_title(&p.trace.replay().events()[first..], m)}</title>
                </rect>
            }) }
        </svg>
    }
}

/// The tooltip of one mark: its event (number, kind, what happened), or for
/// a column of many, their numbers and the most telling one.
fn mark_title(events: &[casulo_trace::Event], m: &timeline::Mark) -> String {
    let Some(span) = events.get(m.start..m.end.min(events.len())) else {
        return String::new();
    };
    let one = |e: &casulo_trace::Event| {
        format!(
            "#{} {}: {}",
            e.seq,
            e.body.kind(),
            casulo_trace::narrate::describe(e)
        )
    };
    match span {
        [] => String::new(),
        [e] => one(e),
        [a, .., b] => {
            let top = span
                .iter()
                .find(|e| timeline::Area::of(e) == m.area)
                .unwrap_or(a);
            format!(
                "#{} a #{} ({} eventos; {}): {}",
                a.seq,
                b.seq,
                span.len(),
                m.area.label(),
                one(top)
            )
        }
    }
}
