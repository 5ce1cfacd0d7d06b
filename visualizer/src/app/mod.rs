//! The Yew app: one reducer ([`Model`]) holds the loaded trace(s), the
//! position and the playback; small function components draw the panels.

mod build;
mod catalog;
mod cgroups;
mod chunked;
mod controls;
mod diffview;
mod embedded;
mod events;
mod filesystem;
mod live;
mod load;
mod namespaces;
mod network;
mod panels;
mod registry;
mod security;

use std::rc::Rc;

use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::embed::Panel;
pub use crate::state::{Action, Loaded, Model, View, TIMELINE_BINS};

/// The model's reducer is [`Model::update`] (host-tested, `state/`).
impl Reducible for Model {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new(self.update(action))
    }
}

/// Scrolls the trace's information (the player right under it) to the top
/// of the window.
fn show_player() {
    let el = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("section.info").ok().flatten());
    if let Some(el) = el {
        el.scroll_into_view_with_bool(true);
    }
}

/// `#evento=N`: N is the `seq` of the selected event.
fn seq_from_hash() -> Option<u64> {
    let hash = web_sys::window()?.location().hash().ok()?;
    hash.strip_prefix("#evento=")?.parse().ok()
}

/// How long the position stays still before the URL follows it, in ms.
const URL_WAIT_MS: u32 = 120;

/// Keeps the selected event (its `seq`) in the URL, so a teacher can link
/// to a moment.
fn write_hash(seq: Option<u64>) {
    let Some(w) = web_sys::window() else { return };
    let Ok(history) = w.history() else { return };
    let url = match seq {
        None => {
            let loc = w.location();
            format!(
                "{}{}",
                loc.pathname().unwrap_or_default(),
                loc.search().unwrap_or_default()
            )
        }
        Some(n) => format!("#evento={n}"),
    };
    let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
}

#[function_component(App)]
pub fn app() -> Html {
    let model = use_reducer(|| {
        load::mark("casulo:iniciado");
        Model::from_params(&load::query_params())
    });
    let root = use_node_ref();
    use_start_up(&model);
    use_embed_height(&root, model.compact);
    use_live_stream(&model);
    use_player_in_view(&model);
    use_playback(&model);
    use_url_follows(&model);
    use_hash_links(&model);
    use_keyboard(&model);

    let dispatch = model.dispatcher();
    if model.compact {
        return html! {
            <div class="app embutido" ref={root} onmousedown={Callback::from(|_| embedded::take_focus())}>
                { embedded::view(&model, dispatch) }
            </div>
        };
    }
    let on_large = {
        let d = dispatch.clone();
        Callback::from(move |_| d.dispatch(Action::ToggleLarge))
    };
    let root_class = classes!("app", model.large.then_some("grande"));

    html! {
        <div class={root_class} ref={root}>
            <header class="topo">
                <h1>{"Casulo "}<span class="sub">{"· visualizador de traces"}</span></h1>
                <div class="topo-acoes">
                    <button type="button" onclick={on_large} aria-pressed={model.large.to_string()}
                        title="Letras grandes, para projetar em sala">
                        {if model.large { "Letras normais" } else { "Letras grandes" }}
                    </button>
                </div>
            </header>
            <load::Loader dispatch={dispatch.clone()} listed={model.listed.clone()}
                current={model.trace.as_ref().map(|t| t.name.clone())} />
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

/// Start-up: `?trace=URL` (and `&comparar=URL`); in embed mode only the
/// trace, and nothing when its parameters are wrong.
#[hook]
fn use_start_up(model: &UseReducerHandle<Model>) {
    let dispatch = model.dispatcher();
    let (compact, embed_ok) = (model.compact, model.embed.is_some());
    use_effect_with((), move |_| {
        let params = load::query_params();
        if compact && !embed_ok {
            return;
        }
        if !compact {
            load::fetch_listing(dispatch.clone());
        }
        if let Some(url) = params.get("trace").cloned() {
            let seq = if compact { None } else { seq_from_hash() };
            load::fetch_trace(url, seq, !compact, dispatch.clone());
        }
        if let Some(url) = params.get("comparar").cloned().filter(|_| !compact) {
            load::fetch_other(url, dispatch);
        }
    });
}

/// Embed mode: tell the book's page how tall the frame's content is,
/// after every render and whenever the layout changes size.
#[hook]
fn use_embed_height(root: &NodeRef, compact: bool) {
    {
        let root = root.clone();
        use_effect(move || {
            if compact {
                embedded::post_height(&root);
            }
        });
    }
    let root = root.clone();
    use_effect_with(compact, move |compact| {
        let observer = compact
            .then(|| embedded::HeightObserver::new(&root))
            .flatten();
        move || drop(observer)
    });
}

/// Live mode: the stream, open while the page follows it.
#[hook]
fn use_live_stream(model: &UseReducerHandle<Model>) {
    let dispatch = model.dispatcher();
    let key = model.live.as_ref().map(|l| l.key.clone());
    use_effect_with(key, move |key| {
        let connection = key.as_ref().and_then(|k| live::connect(k, dispatch));
        move || drop(connection)
    });
}

/// A trace opened: its information and the player come into view (the
/// page may be scrolled down a long list of traces). Live, only once:
/// each new event is a new trace, and the page must not jump.
#[hook]
fn use_player_in_view(model: &UseReducerHandle<Model>) {
    let opened = match (&model.trace, &model.live) {
        (Some(_), Some(_)) => Some(0),
        (t, None) => t.as_ref().map(|t| t.replay_id()),
        (None, Some(_)) => None,
    };
    let compact = model.compact;
    use_effect_with(opened, move |opened| {
        if opened.is_some() && !compact {
            show_player();
        }
    });
}

/// Playback: one step every 1/speed s while playing.
#[hook]
fn use_playback(model: &UseReducerHandle<Model>) {
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

/// The URL follows the position (not in a frame of the book: its link
/// to the full app carries the position instead), once it stays there
/// for [`URL_WAIT_MS`]: chromium's `replaceState` cost ~3.6 ms a call,
/// a fifth of each move of a drag, and it throttles after 200 calls in
/// 10 s.
#[hook]
fn use_url_follows(model: &UseReducerHandle<Model>) {
    let seq = model.trace.as_ref().map(|t| t.seq_at(model.pos));
    let compact = model.compact;
    use_effect_with(seq, move |seq| {
        let timer = match (*seq, compact) {
            (Some(seq), false) => Some(gloo_timers::callback::Timeout::new(
                URL_WAIT_MS,
                move || write_hash(seq),
            )),
            _ => None,
        };
        move || drop(timer)
    });
}

/// A link to another moment of the same page (`#evento=N` typed or
/// clicked): go there. Our own `replace_state` does not fire this.
#[hook]
fn use_hash_links(model: &UseReducerHandle<Model>) {
    let dispatch = model.dispatcher();
    use_effect_with((), move |_| {
        let listener = window_listener("hashchange", move |_: web_sys::Event| {
            if let Some(seq) = seq_from_hash() {
                dispatch.dispatch(Action::SeekSeq(seq));
            }
        });
        move || drop(listener)
    });
}

/// Keyboard: space plays/pauses, ←/→ step, Home/End go to the ends
/// (of the embed's range: the model keeps every move inside it).
#[hook]
fn use_keyboard(model: &UseReducerHandle<Model>) {
    let dispatch = model.dispatcher();
    // The last position of the whole trace, even while it is read.
    let len = model.trace.as_ref().map_or(0, |t| t.total);
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
                <controls::Controls trace={t.clone()} pos={model.pos} lo={model.lo} hi={model.hi}
                    playing={model.playing} speed={model.speed} dispatch={dispatch.clone()} />
                <main class="paineis">
                    // A build's story is its layer stack: right after the events.
                    { for Panel::defaults(t.has_build, t.has_security, t.has_registry).into_iter().map(|p| panel(p, model, t, &dispatch)) }
                </main>
            </>
        },
    };
    let live = model.live.clone().map(|live| {
        html! { <live::Badge {live} dispatch={dispatch.clone()} /> }
    });
    html! {
        <>
            {for live}
            <TraceInfo trace={t.clone()} />
            {for tabs}
            {body}
        </>
    }
}

/// One panel of the replay at the model's position.
fn panel(p: Panel, model: &Model, t: &Rc<Loaded>, dispatch: &UseReducerDispatcher<Model>) -> Html {
    let (world, scene, large) = (model.world.clone(), model.scene, model.large);
    match p {
        Panel::Events => html! {
            <events::EventsPanel trace={t.clone()} pos={model.pos} lo={model.lo} hi={model.hi}
                compact={model.compact} dispatch={dispatch.clone()} />
        },
        Panel::Build => html! {
            <build::BuildPanel trace={t.clone()} {world} {scene} {large} dispatch={dispatch.clone()} />
        },
        Panel::Namespaces => html! { <namespaces::NamespacesPanel {world} {scene} {large} /> },
        Panel::Files => html! { <filesystem::FilesystemPanel {world} {scene} {large} /> },
        Panel::Cgroups => {
            html! { <cgroups::CgroupsPanel trace={t.clone()} {world} {scene} {large} /> }
        }
        Panel::Network => {
            html! { <network::NetworkPanel {world} {scene} {large} compact={model.compact} /> }
        }
        Panel::Security => html! {
            <security::SecurityPanel trace={t.clone()} {world} {scene} compact={model.compact} />
        },
        Panel::Registry => html! { <registry::RegistryPanel {world} {scene} {large} /> },
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
    // Once per trace: its later chunks (`Action::More`) do not count.
    use_effect_with(p.trace.replay_id(), |_| {
        let drawn = load::now_ms();
        load::mark("casulo:desenhado");
        if let Some(root) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = root.set_attribute("data-desenhado-ms", &crate::format::fixed(drawn, 1));
        }
    });
    let h = &p.trace.header;
    let c = &h.container;
    let command = c.command.join(" ");
    html! {
        <section class="info" aria-label="Sobre este trace" data-abrir-ms={crate::format::fixed(p.trace.open_ms, 1)}>
            <span><strong>{"Trace: "}</strong><span id="nome-trace">{p.trace.name.clone()}</span></span>
            <span><strong>{"Contêiner: "}</strong>{format!("{} ({})", c.name, &c.id[..c.id.len().min(12)])}</span>
            <span><strong>{"Imagem: "}</strong>{c.image.clone()}</span>
            if !command.is_empty() {
                <span><strong>{"Comando: "}</strong><code>{command}</code></span>
            }
            <span><strong>{"Kernel: "}</strong>{format!("{} · cgroups {}", h.kernel, h.cgroup_mode)}</span>
            if h.rootless {
                <span id="rootless" class="rootless"><strong>{"Rootless: "}</strong>{format!(
                    "sem root; uid {}",
                    crate::security::map_text(&h.uid_map)
                )}</span>
            }
            <span id="total-eventos"><strong>{"Eventos: "}</strong>{crate::format::thousands(p.trace.total)}
                // The numbers the player and `casulo trace show` use.
                if let Some((first, last)) = p.trace.seq_bounds() {
                    {format!(" (#{first} a #{last})")}
                }
            </span>
            if p.trace.is_loading() {
                <span id="carregando-eventos" class="carregando-eventos" role="status">{format!(
                    "carregando {} de {}…",
                    crate::format::thousands(p.trace.len()),
                    crate::format::thousands(p.trace.total)
                )}</span>
            }
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
                 portas publicadas), o que o root do contêiner pode e não pode \
                 (capabilities, seccomp) e, num trace de "}<code>{"casulo build"}</code>{", a pilha de \
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
        // A focused button takes space as a click (a summary opens with it).
        "BUTTON" | "SUMMARY" => e.key() == " ",
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
