//! The Yew app: one reducer ([`Model`]) holds the loaded trace(s), the
//! position and the playback; small function components draw the panels.

mod build;
mod controls;
mod diffview;
mod events;
mod load;
mod network;
mod panels;

use std::rc::Rc;

use casulo_trace::replay::{Replay, World};
use casulo_trace::{read_trace, Header};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::timeline::{self, Mark};

/// How many columns the scrubber's marks have at most.
const TIMELINE_BINS: usize = 800;

/// A trace read, validated and folded.
pub struct Loaded {
    /// File name or URL it came from.
    pub name: String,
    pub header: Header,
    pub replay: Replay,
    /// Lines of kinds this visualizer does not know (skipped).
    pub skipped: usize,
    pub marks: Vec<Mark>,
    /// How long reading and folding took, in ms (shown to the benchmark).
    pub open_ms: f64,
    /// The largest memory figure of all samples (the chart's scale).
    pub max_memory: u64,
    /// The largest pids figure (count or limit) of all samples, 0 when none.
    pub max_pids: u64,
    /// True when the trace has `build.*` events (the Build panel shows).
    pub has_build: bool,
    /// The Dockerfile's instructions the whole trace saw, in order.
    pub dockerfile: Vec<DockerLine>,
    /// The world at the end (the diff's summary compares two of them).
    pub end: Rc<World>,
}

/// One instruction of the Dockerfile, as its `build.step` told.
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
        let marks = timeline::marks(&trace.events, TIMELINE_BINS);
        let replay = Replay::new(trace.events);
        let max_memory = replay
            .samples()
            .iter()
            .flat_map(|s| [s.memory_bytes, s.memory_limit_bytes])
            .flatten()
            .max()
            .unwrap_or(1)
            .max(1);
        let max_pids = replay
            .samples()
            .iter()
            .flat_map(|s| [s.pids, s.pids_limit])
            .flatten()
            .max()
            .unwrap_or(0);
        let has_build = replay
            .events()
            .iter()
            .any(|e| e.body.kind().starts_with("build."));
        let end = replay.world_at(replay.len());
        let dockerfile = end
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
        Ok(Loaded {
            name: name.to_string(),
            header: trace.header,
            skipped: trace.skipped.len(),
            replay,
            marks,
            open_ms: 0.0,
            max_memory,
            max_pids,
            has_build,
            dockerfile,
            end: Rc::new(end),
        })
    }

    pub fn len(&self) -> usize {
        self.replay.len()
    }
}

/// What the main area shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum View {
    Replay,
    Diff,
}

/// The whole state of the page.
#[derive(Clone)]
pub struct Model {
    pub trace: Option<Rc<Loaded>>,
    /// A second trace to compare with the first.
    pub other: Option<Rc<Loaded>>,
    /// Events applied: 0 (before the first) ..= len. The selected event is `pos - 1`.
    pub pos: usize,
    pub world: Rc<World>,
    pub playing: bool,
    /// Events per second while playing.
    pub speed: u32,
    pub error: Option<String>,
    pub loading: Option<String>,
    pub large: bool,
    pub view: View,
}

impl Default for Model {
    fn default() -> Model {
        Model {
            trace: None,
            other: None,
            pos: 0,
            world: Rc::new(World::new()),
            playing: false,
            speed: 4,
            error: None,
            loading: None,
            large: false,
            view: View::Replay,
        }
    }
}

pub enum Action {
    Loading(String),
    /// A trace and, optionally, the position to open it at.
    Loaded(Rc<Loaded>, Option<usize>),
    LoadedOther(Rc<Loaded>),
    Failed(String),
    Seek(usize),
    Step(isize),
    Tick,
    TogglePlay,
    Speed(u32),
    ToggleLarge,
    ShowView(View),
    CloseOther,
}

impl Reducible for Model {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut m = (*self).clone();
        match action {
            Action::Loading(what) => {
                m.loading = Some(what);
                m.error = None;
            }
            Action::Loaded(t, pos) => {
                m.loading = None;
                m.error = None;
                m.playing = false;
                if m.other.is_none() {
                    m.view = View::Replay;
                }
                let pos = pos.unwrap_or(0).min(t.len());
                m.world = Rc::new(t.replay.world_at(pos));
                m.pos = pos;
                m.trace = Some(t);
            }
            Action::LoadedOther(t) => {
                m.loading = None;
                m.error = None;
                m.other = Some(t);
                m.view = View::Diff;
            }
            Action::Failed(msg) => {
                m.loading = None;
                m.error = Some(msg);
            }
            Action::Seek(n) => m.seek(n),
            Action::Step(d) => {
                m.playing = false;
                let n = m.pos.saturating_add_signed(d);
                m.seek(n);
            }
            Action::Tick => {
                let len = m.trace.as_ref().map_or(0, |t| t.len());
                if m.pos >= len {
                    m.playing = false;
                } else {
                    m.seek(m.pos + 1);
                }
            }
            Action::TogglePlay => {
                let len = m.trace.as_ref().map_or(0, |t| t.len());
                m.playing = !m.playing && len > 0;
                if m.playing && m.pos >= len {
                    m.seek(0);
                }
            }
            Action::Speed(s) => m.speed = s.max(1),
            Action::ToggleLarge => m.large = !m.large,
            Action::ShowView(v) => m.view = v,
            Action::CloseOther => {
                m.other = None;
                m.view = View::Replay;
            }
        }
        Rc::new(m)
    }
}

impl Model {
    /// Moves to position `n` (clamped): one `apply` when it is the next
    /// event, the nearest checkpoint otherwise.
    fn seek(&mut self, n: usize) {
        let Some(t) = &self.trace else { return };
        let n = n.min(t.len());
        if n == self.pos {
            return;
        }
        if n == self.pos + 1 {
            let mut w = (*self.world).clone();
            w.apply(&t.replay.events()[self.pos]);
            self.world = Rc::new(w);
        } else {
            self.world = Rc::new(t.replay.world_at(n));
        }
        self.pos = n;
    }
}

/// `#evento=N` (N = seq of the selected event) → position N + 1.
fn position_from_hash() -> Option<usize> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let n: usize = hash.strip_prefix("#evento=")?.parse().ok()?;
    Some(n + 1)
}

/// Keeps the position in the URL, so a teacher can link to a moment.
fn write_hash(pos: usize) {
    let Some(w) = web_sys::window() else { return };
    let Ok(history) = w.history() else { return };
    let url = if pos == 0 {
        let loc = w.location();
        format!(
            "{}{}",
            loc.pathname().unwrap_or_default(),
            loc.search().unwrap_or_default()
        )
    } else {
        format!("#evento={}", pos - 1)
    };
    let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
}

#[function_component(App)]
pub fn app() -> Html {
    let model = use_reducer(Model::default);

    // Start-up: `?trace=URL` (and `&comparar=URL`).
    {
        let dispatch = model.dispatcher();
        use_effect_with((), move |_| {
            let params = load::query_params();
            if let Some(url) = params.get("trace").cloned() {
                load::fetch_trace(url, position_from_hash(), dispatch.clone());
            }
            if let Some(url) = params.get("comparar").cloned() {
                load::fetch_other(url, dispatch);
            }
        });
    }

    // Playback: one step every 1/speed s while playing.
    {
        let dispatch = model.dispatcher();
        use_effect_with((model.playing, model.speed), move |(playing, speed)| {
            let interval = playing.then(|| {
                gloo_timers::callback::Interval::new(1000 / (*speed).max(1), move || {
                    dispatch.dispatch(Action::Tick)
                })
            });
            move || drop(interval)
        });
    }

    // The URL follows the position.
    {
        let has_trace = model.trace.is_some();
        use_effect_with((model.pos, has_trace), |(pos, has)| {
            if *has {
                write_hash(*pos);
            }
        });
    }

    // A link to another moment of the same page (`#evento=N` typed or
    // clicked): go there. Our own `replace_state` does not fire this.
    {
        let dispatch = model.dispatcher();
        use_effect_with((), move |_| {
            let listener = window_listener("hashchange", move |_: web_sys::Event| {
                if let Some(n) = position_from_hash() {
                    dispatch.dispatch(Action::Seek(n));
                }
            });
            move || drop(listener)
        });
    }

    // Keyboard: space plays/pauses, ←/→ step, Home/End go to the ends.
    {
        let dispatch = model.dispatcher();
        let len = model.trace.as_ref().map_or(0, |t| t.len());
        use_effect_with(len, move |len| {
            let len = *len;
            let listener = gloo_events_listener(move |e: web_sys::KeyboardEvent| {
                if typing_in_a_field(&e) {
                    return;
                }
                let action = match e.key().as_str() {
                    " " => Action::TogglePlay,
                    "ArrowRight" => Action::Step(1),
                    "ArrowLeft" => Action::Step(-1),
                    "Home" => Action::Seek(0),
                    "End" => Action::Seek(len),
                    _ => return,
                };
                e.prevent_default();
                dispatch.dispatch(action);
            });
            move || drop(listener)
        });
    }

    let dispatch = model.dispatcher();
    let on_large = {
        let d = dispatch.clone();
        Callback::from(move |_| d.dispatch(Action::ToggleLarge))
    };
    let root_class = classes!("app", model.large.then_some("grande"));

    html! {
        <div class={root_class}>
            <header class="topo">
                <h1>{"Casulo "}<span class="sub">{"· visualizador de traces"}</span></h1>
                <div class="topo-acoes">
                    <button type="button" onclick={on_large} aria-pressed={model.large.to_string()}
                        title="Letras grandes, para projetar em sala">
                        {if model.large { "Letras normais" } else { "Letras grandes" }}
                    </button>
                </div>
            </header>
            <load::Loader dispatch={dispatch.clone()} has_trace={model.trace.is_some()} />
            if let Some(msg) = &model.loading {
                <p class="carregando" role="status">{format!("Carregando {msg}…")}</p>
            }
            if let Some(err) = &model.error {
                <div class="erro" role="alert" id="erro">
                    <strong>{"Erro: "}</strong>{err.clone()}
                </div>
            }
            {
                match &model.trace {
                    None => html! { <Welcome /> },
                    Some(t) => main_view(&model, t, dispatch.clone()),
                }
            }
        </div>
    }
}

fn main_view(model: &Model, t: &Rc<Loaded>, dispatch: UseReducerDispatcher<Model>) -> Html {
    let tabs = model.other.as_ref().map(|_| {
        let d1 = dispatch.clone();
        let d2 = dispatch.clone();
        let d3 = dispatch.clone();
        html! {
            <nav class="abas" aria-label="Modo de exibição">
                <button type="button" aria-pressed={(model.view == View::Replay).to_string()}
                    onclick={Callback::from(move |_| d1.dispatch(Action::ShowView(View::Replay)))}>
                    {"Reprodução"}</button>
                <button type="button" id="aba-comparar" aria-pressed={(model.view == View::Diff).to_string()}
                    onclick={Callback::from(move |_| d2.dispatch(Action::ShowView(View::Diff)))}>
                    {"Comparação"}</button>
                <button type="button" onclick={Callback::from(move |_| d3.dispatch(Action::CloseOther))}>
                    {"Fechar comparação"}</button>
            </nav>
        }
    });
    let body = match (&model.other, model.view) {
        (Some(other), View::Diff) => html! {
            <diffview::DiffView a={t.clone()} b={other.clone()} />
        },
        _ => html! {
            <>
                <controls::Controls trace={t.clone()} pos={model.pos} playing={model.playing}
                    speed={model.speed} dispatch={dispatch.clone()} />
                <main class="paineis">
                    <events::EventsPanel trace={t.clone()} pos={model.pos} dispatch={dispatch.clone()} />
                    // A build's story is its layer stack: right after the events.
                    if t.has_build {
                        <build::BuildPanel trace={t.clone()} world={model.world.clone()} large={model.large}
                            dispatch={dispatch.clone()} />
                    }
                    <panels::NamespacesPanel world={model.world.clone()} large={model.large} />
                    <panels::FilesystemPanel world={model.world.clone()} pos={model.pos} large={model.large} />
                    <panels::CgroupsPanel trace={t.clone()} world={model.world.clone()} large={model.large} />
                    <network::NetworkPanel world={model.world.clone()} large={model.large} />
                </main>
            </>
        },
    };
    html! {
        <>
            <TraceInfo trace={t.clone()} />
            {for tabs}
            {body}
        </>
    }
}

#[derive(Properties, Clone)]
pub struct TraceProps {
    pub trace: Rc<Loaded>,
}

impl PartialEq for TraceProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.trace, &other.trace)
    }
}

#[function_component(TraceInfo)]
fn trace_info(p: &TraceProps) -> Html {
    // When a trace is first drawn, note the time since the page started
    // (`data-desenhado-ms` on <html>): what `cargo xtask bench` reports.
    use_effect_with(Rc::as_ptr(&p.trace) as usize, |_| {
        let drawn = load::now_ms();
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = root.set_attribute("data-desenhado-ms", &format!("{drawn:.1}"));
        }
    });
    let h = &p.trace.header;
    let c = &h.container;
    let command = c.command.join(" ");
    html! {
        <section class="info" aria-label="Sobre este trace" data-abrir-ms={format!("{:.1}", p.trace.open_ms)}>
            <span><strong>{"Trace: "}</strong><span id="nome-trace">{p.trace.name.clone()}</span></span>
            <span><strong>{"Contêiner: "}</strong>{format!("{} ({})", c.name, &c.id[..c.id.len().min(12)])}</span>
            <span><strong>{"Imagem: "}</strong>{c.image.clone()}</span>
            if !command.is_empty() {
                <span><strong>{"Comando: "}</strong><code>{command}</code></span>
            }
            <span><strong>{"Kernel: "}</strong>{format!("{} · cgroups {}", h.kernel, h.cgroup_mode)}</span>
            <span id="total-eventos"><strong>{"Eventos: "}</strong>{crate::format::thousands(p.trace.len())}</span>
            if p.trace.skipped > 0 {
                <span class="aviso">{format!(
                    "{} linha(s) de tipos que este visualizador não conhece foram puladas",
                    p.trace.skipped
                )}</span>
            }
        </section>
    }
}

#[function_component(Welcome)]
fn welcome() -> Html {
    html! {
        <section class="boas-vindas">
            <h2>{"Reveja o que o kernel fez pelo seu contêiner"}</h2>
            <p>{"Abra um arquivo "}<code>{".trace.jsonl"}</code>{" gravado pelo "}<code>{"casulo run"}</code>
               {" (arraste para cá ou use o botão acima) ou escolha um trace da lista. \
                 Depois, avance evento por evento: os diagramas mostram os namespaces, \
                 o sistema de arquivos em camadas, os cgroups, a rede (bridge, cabo veth, \
                 portas publicadas) e, num trace de "}<code>{"casulo build"}</code>{", a pilha de \
                 camadas da imagem crescendo passo a passo."}</p>
            <p>{"Atalhos: "}<kbd>{"espaço"}</kbd>{" reproduz/pausa, "}<kbd>{"←"}</kbd>{" "}<kbd>{"→"}</kbd>
               {" voltam e avançam um evento, "}<kbd>{"Home"}</kbd>{" e "}<kbd>{"End"}</kbd>{" vão ao início e ao fim."}</p>
        </section>
    }
}

/// True when the key goes to a text field or a select (not to the player).
fn typing_in_a_field(e: &web_sys::KeyboardEvent) -> bool {
    let Some(target) = e.target() else {
        return false;
    };
    let Ok(el) = target.dyn_into::<web_sys::Element>() else {
        return false;
    };
    let tag = el.tag_name().to_ascii_uppercase();
    match tag.as_str() {
        "SELECT" | "TEXTAREA" => true,
        // The scrubber (a range input) handles its own arrows.
        "INPUT" => true,
        // A focused button takes space as a click.
        "BUTTON" => e.key() == " ",
        _ => false,
    }
}

/// A `keydown` listener on the document, removed when dropped.
fn gloo_events_listener(f: impl Fn(web_sys::KeyboardEvent) + 'static) -> Option<Listener> {
    let doc: web_sys::EventTarget = web_sys::window()?.document()?.into();
    Listener::new(doc, "keydown", move |e: web_sys::Event| {
        if let Ok(k) = e.dyn_into::<web_sys::KeyboardEvent>() {
            f(k)
        }
    })
}

/// A listener on the window, removed when dropped.
fn window_listener(event: &'static str, f: impl Fn(web_sys::Event) + 'static) -> Option<Listener> {
    Listener::new(web_sys::window()?.into(), event, f)
}

/// An event listener that removes itself when dropped.
struct Listener {
    target: web_sys::EventTarget,
    event: &'static str,
    closure: wasm_bindgen::closure::Closure<dyn Fn(web_sys::Event)>,
}

impl Listener {
    fn new(
        target: web_sys::EventTarget,
        event: &'static str,
        f: impl Fn(web_sys::Event) + 'static,
    ) -> Option<Listener> {
        let closure = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::Event)>::new(f);
        target
            .add_event_listener_with_callback(event, closure.as_ref().unchecked_ref())
            .ok()?;
        Some(Listener {
            target,
            event,
            closure,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.event, self.closure.as_ref().unchecked_ref());
    }
}
