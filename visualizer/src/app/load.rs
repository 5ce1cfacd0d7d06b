//! Getting a trace into the page: file picker, drag-and-drop, `?trace=URL`,
//! and the list of local traces (`traces/`, served by `cargo xtask demo`).

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use yew::prelude::*;

use super::chunked::{self, Reading};
use super::{Action, Loaded, Model};
pub use crate::state::Listed;

/// `?a=b&c=d` of the page, decoded.
pub fn query_params() -> crate::embed::Params {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            let v = v.replace('+', " ");
            let v = js_sys::decode_uri_component(&v).ok()?.as_string()?;
            Some((k.to_string(), v))
        })
        .collect()
}

/// Milliseconds since the page started (Performance API).
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Notes a moment of the opening in the Performance API's timeline (`cargo
/// xtask bench` reads the marks `casulo:*` to tell where the time went).
pub fn mark(name: &str) {
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark(name);
    }
}

/// The response to `url`: the one `index.html` started while the wasm was
/// still loading (`window.__casuloPrefetch`, for `?trace=`), or a new fetch.
fn start_fetch(window: &web_sys::Window, url: &str) -> js_sys::Promise {
    let key = wasm_bindgen::JsValue::from_str("__casuloPrefetch");
    if let Ok(pre) = js_sys::Reflect::get(window, &key) {
        let same = js_sys::Reflect::get(&pre, &"url".into())
            .ok()
            .and_then(|u| u.as_string())
            .is_some_and(|u| u == url);
        if same {
            if let Ok(promise) = js_sys::Reflect::get(&pre, &"response".into()) {
                // Used once: later loads of the same URL fetch again.
                let _ = js_sys::Reflect::delete_property(window, &key);
                if let Ok(p) = promise.dyn_into::<js_sys::Promise>() {
                    return p;
                }
            }
        }
    }
    window.fetch_with_str(url)
}

pub(super) async fn fetch_text(url: &str) -> Result<String, String> {
    let bytes = fetch_bytes(url).await?.to_vec();
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "o conteúdo não é texto UTF-8 (byte {} inválido)",
            e.utf8_error().valid_up_to()
        )
    })
}

/// The response to `url`, its status checked.
async fn fetch_response(url: &str) -> Result<web_sys::Response, String> {
    let window = web_sys::window().ok_or("sem janela")?;
    let resp = JsFuture::from(start_fetch(&window, url))
        .await
        .map_err(|_| format!("não consegui baixar {url} (o servidor está no ar?)"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "resposta inválida")?;
    if !resp.ok() {
        return Err(format!("o servidor respondeu {} para {url}", resp.status()));
    }
    Ok(resp)
}

/// The body of `url`, whole.
async fn fetch_bytes(url: &str) -> Result<js_sys::Uint8Array, String> {
    let resp = fetch_response(url).await?;
    // Bytes, not text: a copy into wasm memory and a UTF-8 check are much
    // cheaper than JS text (UTF-16) converted back to UTF-8 for a big trace.
    let buf = JsFuture::from(resp.array_buffer().map_err(|_| "resposta sem corpo")?)
        .await
        .map_err(|_| format!("não consegui ler a resposta de {url}"))?;
    Ok(js_sys::Uint8Array::new(&buf))
}

async fn file_text(file: &web_sys::File) -> Result<String, String> {
    let text = JsFuture::from(file.text())
        .await
        .map_err(|_| format!("não consegui ler o arquivo {}", file.name()))?;
    text.as_string()
        .ok_or_else(|| format!("o arquivo {} não é texto", file.name()))
}

/// Parses `text` and tells the model (the trace, or the error naming the
/// line). The trace to replay is read in slices when `chunked` (see
/// [`chunked`](super::chunked)); a trace to compare with, at once.
fn deliver(
    name: String,
    text: Result<String, String>,
    dispatch: &UseReducerDispatcher<Model>,
    other: bool,
    seq: Option<u64>,
    chunked: bool,
) {
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            return dispatch.dispatch(Action::Failed(format!("Não consegui abrir «{name}»: {e}")))
        }
    };
    mark("casulo:texto");
    if chunked && !other {
        let reading = chunked::start(name, seq, dispatch.clone());
        Reading::arrive_bytes(&reading, text.as_bytes());
        return Reading::all_arrived(&reading);
    }
    let start = now_ms();
    match Loaded::parse(&name, &text) {
        Ok(mut t) => {
            mark("casulo:montado");
            t.open_ms = now_ms() - start;
            let t = Rc::new(t);
            dispatch.dispatch(if other {
                Action::LoadedOther(t)
            } else {
                Action::Loaded(t, seq)
            })
        }
        Err(e) => dispatch.dispatch(Action::Failed(e)),
    }
}

/// Loads `url`, opened at the event numbered `seq` when given; in slices
/// when `chunked` (not in a frame of the book: its traces are small, and
/// its range is checked once against the whole trace).
pub fn fetch_trace(
    url: String,
    seq: Option<u64>,
    chunked: bool,
    dispatch: UseReducerDispatcher<Model>,
) {
    dispatch.dispatch(Action::Loading(url.clone()));
    spawn_local(async move {
        if !chunked {
            let text = fetch_text(&url).await;
            return deliver(url, text, &dispatch, false, seq, false);
        }
        let reading = chunked::start(url.clone(), seq, dispatch);
        match stream_into(&url, &reading).await {
            Ok(()) => {
                mark("casulo:baixado");
                Reading::all_arrived(&reading);
            }
            Err(e) => Reading::failed(&reading, format!("Não consegui abrir «{url}»: {e}")),
        }
    });
}

/// The body of `url` into `reading` chunk by chunk as it comes: each is
/// copied into wasm memory and its lines counted while the rest is still
/// downloading, so at the last byte only the first slice is left to read
/// (the body taken whole cost ~50 ms in `arrayBuffer()` and ~25 ms copied
/// and counted after the download, on the first drawing's path).
async fn stream_into(url: &str, reading: &Rc<RefCell<Reading>>) -> Result<(), String> {
    let resp = fetch_response(url).await?;
    let Some(body) = resp.body() else {
        // No stream (an old browser): the body whole.
        let buf = JsFuture::from(resp.array_buffer().map_err(|_| "resposta sem corpo")?)
            .await
            .map_err(|_| format!("não consegui ler a resposta de {url}"))?;
        Reading::arrive(reading, &js_sys::Uint8Array::new(&buf));
        return Ok(());
    };
    // Room for the whole body at once (no copy as the vector grows).
    if let Some(len) = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|l| l.parse::<usize>().ok())
    {
        Reading::expect(reading, len);
    }
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let (done, value) = (JsValue::from_str("done"), JsValue::from_str("value"));
    loop {
        let next = JsFuture::from(reader.read())
            .await
            .map_err(|_| format!("a conexão caiu no meio de {url}"))?;
        if js_sys::Reflect::get(&next, &done).is_ok_and(|d| d.is_truthy()) {
            return Ok(());
        }
        if !reading.borrow().wants_more() {
            let _ = reader.cancel();
            return Ok(());
        }
        if let Ok(chunk) = js_sys::Reflect::get(&next, &value) {
            Reading::arrive(reading, chunk.unchecked_ref());
        }
    }
}

pub fn fetch_other(url: String, dispatch: UseReducerDispatcher<Model>) {
    spawn_local(async move {
        let text = fetch_text(&url).await;
        deliver(url, text, &dispatch, true, None, false);
    });
}

fn open_file(file: web_sys::File, other: bool, dispatch: UseReducerDispatcher<Model>) {
    dispatch.dispatch(Action::Loading(file.name()));
    spawn_local(async move {
        let text = file_text(&file).await;
        deliver(file.name(), text, &dispatch, other, None, true);
    });
}

/// Sets `?trace=URL` in the address bar (keeps links shareable).
fn remember_url(url: &str) {
    let Some(w) = web_sys::window() else { return };
    let Ok(h) = w.history() else { return };
    let enc = js_sys::encode_uri_component(url);
    let _ = h.replace_state_with_url(
        &wasm_bindgen::JsValue::NULL,
        "",
        Some(&format!("?trace={enc}")),
    );
}

/// Adds `&comparar=URL` to the address bar (replacing an earlier one), so
/// the comparison is a link too.
fn remember_comparison(url: &str) {
    let Some(w) = web_sys::window() else { return };
    let Ok(h) = w.history() else { return };
    let search = w.location().search().unwrap_or_default();
    let kept: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("comparar="))
        .collect();
    let enc = js_sys::encode_uri_component(url);
    let mut query = kept.join("&");
    if !query.is_empty() {
        query.push('&');
    }
    let hash = w.location().hash().unwrap_or_default();
    let _ = h.replace_state_with_url(
        &wasm_bindgen::JsValue::NULL,
        "",
        Some(&format!("?{query}comparar={enc}{hash}")),
    );
}

/// Fetches `traces/` (served by `cargo xtask serve`/`demo`), or else
/// `/casulo/traces` (`casulo daemon --ui`), into the model; nothing when
/// there is no such list (a static host).
pub fn fetch_listing(dispatch: UseReducerDispatcher<Model>) {
    spawn_local(async move {
        let text = match fetch_text("traces/").await {
            Ok(text) => text,
            Err(_) => match fetch_text("/casulo/traces").await {
                Ok(text) => text,
                Err(_) => return,
            },
        };
        let Ok(serde_json::Value::Array(items)) = serde_json::from_str(&text) else {
            return;
        };
        let items = items.iter().filter_map(Listed::from_json).collect();
        dispatch.dispatch(Action::Listed(Rc::new(items)));
    });
}

#[derive(Properties, PartialEq)]
pub struct LoaderProps {
    pub dispatch: UseReducerDispatcher<Model>,
    /// The traces of this machine, newest first.
    pub listed: Rc<Vec<Listed>>,
    /// The name (URL) of the trace open, if any.
    pub current: Option<String>,
}

#[function_component(Loader)]
pub fn loader(p: &LoaderProps) -> Html {
    let dragging = use_state(|| false);
    let has_trace = p.current.is_some();
    // The list folds up again whenever another trace opens.
    let folded = use_node_ref();
    {
        let folded = folded.clone();
        use_effect_with(p.current.clone(), move |_| {
            if let Some(el) = folded.cast::<web_sys::Element>() {
                let _ = el.remove_attribute("open");
            }
        });
    }

    let picker = |other: bool| {
        let d = p.dispatch.clone();
        Callback::from(move |e: Event| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                open_file(file, other, d.clone());
            }
            input.set_value("");
        })
    };
    let ondragover = {
        let dragging = dragging.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(true);
        })
    };
    let ondragleave = {
        let dragging = dragging.clone();
        Callback::from(move |_: DragEvent| dragging.set(false))
    };
    let ondrop = {
        let d = p.dispatch.clone();
        let dragging = dragging.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(false);
            let files = e.data_transfer().and_then(|dt| dt.files());
            if let Some(file) = files.and_then(|f| f.get(0)) {
                open_file(file, false, d.clone());
            }
        })
    };
    let compare_from_list = {
        let d = p.dispatch.clone();
        Callback::from(move |e: Event| {
            let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
            let url = select.value();
            if !url.is_empty() {
                remember_comparison(&url);
                d.dispatch(Action::Loading(url.clone()));
                fetch_other(url, d.clone());
            }
            select.set_value("");
        })
    };
    let others: Vec<&Listed> = p
        .listed
        .iter()
        .filter(|l| Some(&l.url) != p.current.as_ref())
        .collect();

    html! {
        <section class={classes!("carregar", dragging.then_some("arrastando"), has_trace.then_some("compacto"))}
            aria-label="Abrir um trace" {ondragover} {ondragleave} {ondrop}>
            <div class="abrir">
                <label class="botao" for="arquivo-trace">{"Abrir trace…"}</label>
                <input id="arquivo-trace" type="file" accept=".jsonl,.trace.jsonl,application/json,text/plain"
                    class="escondido" onchange={picker(false)} />
                if has_trace {
                    <label class="botao secundario" for="arquivo-comparar">{"Comparar com outro trace…"}</label>
                    <input id="arquivo-comparar" type="file" accept=".jsonl,.trace.jsonl,application/json,text/plain"
                        class="escondido" onchange={picker(true)} />
                    if !others.is_empty() {
                        <select id="comparar-lista" aria-label="Comparar com um trace desta máquina" onchange={compare_from_list}>
                            <option value="" selected=true>{"…ou compare com um trace desta máquina"}</option>
                            { for others.iter().map(|l| html! {
                                <option value={l.url.clone()}>{option_text(l)}</option>
                            }) }
                        </select>
                    }
                }
                <span class="dica">{"ou arraste um arquivo .trace.jsonl para cá"}</span>
            </div>
            if !p.listed.is_empty() {
                if has_trace {
                    // Out of the way once a trace is open: one line, opened
                    // on demand.
                    <details class="lista-traces recolhida" id="outros-traces" ref={folded}>
                        <summary>{format!("Outros traces desta máquina ({})", others.len())}</summary>
                        <TraceList listed={p.listed.clone()} current={p.current.clone()} dispatch={p.dispatch.clone()} />
                    </details>
                } else {
                    <div class="lista-traces">
                        <h2 id="titulo-lista">{format!("Traces gravados nesta máquina ({}, os mais novos primeiro)", p.listed.len())}</h2>
                        <TraceList listed={p.listed.clone()} current={None::<String>} dispatch={p.dispatch.clone()} />
                    </div>
                }
            }
        </section>
    }
}

/// One option of the comparison picker: what it was and when.
fn option_text(l: &Listed) -> String {
    match l
        .started_at
        .as_deref()
        .and_then(crate::format::started_text)
    {
        Some(when) => format!("{} — {when}", l.label()),
        None => l.label(),
    }
}

#[derive(Properties, PartialEq)]
struct TraceListProps {
    listed: Rc<Vec<Listed>>,
    current: Option<String>,
    dispatch: UseReducerDispatcher<Model>,
}

/// The machine's traces, newest first, each labelled by what it was; a
/// filter when there are many. A scrolling box: never the whole page.
#[function_component(TraceList)]
fn trace_list(p: &TraceListProps) -> Html {
    let filter = use_state(String::new);
    let on_filter = {
        let filter = filter.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            filter.set(crate::format::fold_case(&input.value()));
        })
    };
    let open_listed = |url: String| {
        let d = p.dispatch.clone();
        Callback::from(move |_| {
            remember_url(&url);
            fetch_trace(url.clone(), None, true, d.clone());
        })
    };
    let shown: Vec<&Listed> = p
        .listed
        .iter()
        .filter(|l| Some(&l.url) != p.current.as_ref())
        .filter(|l| filter.is_empty() || l.haystack().contains(filter.as_str()))
        .collect();
    html! {
        <>
            if p.listed.len() > 8 {
                <input type="search" id="filtro-traces" class="filtro" placeholder="filtrar por nome, imagem, comando ou data"
                    aria-label="Filtrar os traces" value={(*filter).clone()} oninput={on_filter} />
            }
            <ul class="traces" aria-label="Traces gravados">
                { for shown.iter().map(|l| html! {
                    <li>
                        <button type="button" class="link" onclick={open_listed(l.url.clone())}>
                            <span class="rotulo-trace">{l.label()}</span>
                            <span class="arquivo">{l.name.clone()}</span>
                        </button>
                        if let Some(when) = l.started_at.as_deref().and_then(crate::format::started_text) {
                            <span class="quando">{when}</span>
                        }
                        <span class="tamanho">{crate::format::bytes(l.bytes)}</span>
                        if let (true, Some(id)) = (l.running, l.id.as_ref()) {
                            <a class="botao ao-vivo" href={format!("?ao-vivo={id}")}
                                title="Acompanhar este contêiner enquanto ele roda">{"ao vivo"}</a>
                        }
                    </li>
                }) }
            </ul>
            if shown.is_empty() {
                <p class="dica">{"Nenhum trace com esse filtro."}</p>
            }
        </>
    }
}
