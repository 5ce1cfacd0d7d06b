//! Getting a trace into the page: file picker, drag-and-drop, `?trace=URL`,
//! and the list of local traces (`traces/`, served by `cargo xtask demo`).

use std::collections::HashMap;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use yew::prelude::*;

use super::{Action, Loaded, Model};

/// `?a=b&c=d` of the page, decoded.
pub fn query_params() -> HashMap<String, String> {
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

async fn fetch_text(url: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("sem janela")?;
    let resp = JsFuture::from(start_fetch(&window, url))
        .await
        .map_err(|_| format!("não consegui baixar {url} (o servidor está no ar?)"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "resposta inválida")?;
    if !resp.ok() {
        return Err(format!("o servidor respondeu {} para {url}", resp.status()));
    }
    // Bytes, not text: a copy into wasm memory and a UTF-8 check are much
    // cheaper than JS text (UTF-16) converted back to UTF-8 for a big trace.
    let buf = JsFuture::from(resp.array_buffer().map_err(|_| "resposta sem corpo")?)
        .await
        .map_err(|_| format!("não consegui ler a resposta de {url}"))?;
    let bytes = js_sys::Uint8Array::new(&buf).to_vec();
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "o conteúdo não é texto UTF-8 (byte {} inválido)",
            e.utf8_error().valid_up_to()
        )
    })
}

async fn file_text(file: &web_sys::File) -> Result<String, String> {
    let text = JsFuture::from(file.text())
        .await
        .map_err(|_| format!("não consegui ler o arquivo {}", file.name()))?;
    text.as_string()
        .ok_or_else(|| format!("o arquivo {} não é texto", file.name()))
}

/// Parses `text` and tells the model (the trace, or the error naming the line).
fn deliver(
    name: String,
    text: Result<String, String>,
    dispatch: &UseReducerDispatcher<Model>,
    other: bool,
    seq: Option<u64>,
) {
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            return dispatch.dispatch(Action::Failed(format!("Não consegui abrir «{name}»: {e}")))
        }
    };
    let start = now_ms();
    match Loaded::parse(&name, &text) {
        Ok(mut t) => {
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

/// Loads `url`, opened at the event numbered `seq` when given.
pub fn fetch_trace(url: String, seq: Option<u64>, dispatch: UseReducerDispatcher<Model>) {
    dispatch.dispatch(Action::Loading(url.clone()));
    spawn_local(async move {
        let text = fetch_text(&url).await;
        deliver(url, text, &dispatch, false, seq);
    });
}

pub fn fetch_other(url: String, dispatch: UseReducerDispatcher<Model>) {
    spawn_local(async move {
        let text = fetch_text(&url).await;
        deliver(url, text, &dispatch, true, None);
    });
}

fn open_file(file: web_sys::File, other: bool, dispatch: UseReducerDispatcher<Model>) {
    dispatch.dispatch(Action::Loading(file.name()));
    spawn_local(async move {
        let text = file_text(&file).await;
        deliver(file.name(), text, &dispatch, other, None);
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

/// One entry of `traces/` (JSON written by the xtask server).
#[derive(Clone, PartialEq)]
struct Listed {
    name: String,
    url: String,
    bytes: u64,
}

#[derive(Properties, PartialEq)]
pub struct LoaderProps {
    pub dispatch: UseReducerDispatcher<Model>,
    pub has_trace: bool,
}

#[function_component(Loader)]
pub fn loader(p: &LoaderProps) -> Html {
    let listed = use_state(Vec::<Listed>::new);
    let dragging = use_state(|| false);
    {
        let listed = listed.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                let Ok(text) = fetch_text("traces/").await else {
                    return;
                };
                let Ok(serde_json::Value::Array(items)) = serde_json::from_str(&text) else {
                    return;
                };
                let items = items
                    .iter()
                    .filter_map(|v| {
                        Some(Listed {
                            name: v.get("name")?.as_str()?.to_string(),
                            url: v.get("url")?.as_str()?.to_string(),
                            bytes: v.get("bytes").and_then(|b| b.as_u64()).unwrap_or(0),
                        })
                    })
                    .collect();
                listed.set(items);
            });
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
    let open_listed = |url: String| {
        let d = p.dispatch.clone();
        Callback::from(move |_| {
            remember_url(&url);
            fetch_trace(url.clone(), None, d.clone());
        })
    };

    html! {
        <section class={classes!("carregar", dragging.then_some("arrastando"))}
            aria-label="Abrir um trace" {ondragover} {ondragleave} {ondrop}>
            <div class="abrir">
                <label class="botao" for="arquivo-trace">{"Abrir trace…"}</label>
                <input id="arquivo-trace" type="file" accept=".jsonl,.trace.jsonl,application/json,text/plain"
                    class="escondido" onchange={picker(false)} />
                if p.has_trace {
                    <label class="botao secundario" for="arquivo-comparar">{"Comparar com outro trace…"}</label>
                    <input id="arquivo-comparar" type="file" accept=".jsonl,.trace.jsonl,application/json,text/plain"
                        class="escondido" onchange={picker(true)} />
                }
                <span class="dica">{"ou arraste um arquivo .trace.jsonl para cá"}</span>
            </div>
            if !listed.is_empty() {
                <div class="lista-traces">
                    <h2 id="titulo-lista">{"Traces gravados nesta máquina"}</h2>
                    <ul aria-labelledby="titulo-lista">
                        { for listed.iter().map(|l| html! {
                            <li>
                                <button type="button" class="link" onclick={open_listed(l.url.clone())}>
                                    {l.name.clone()}
                                </button>
                                <span class="tamanho">{crate::format::bytes(l.bytes)}</span>
                            </li>
                        }) }
                    </ul>
                </div>
            }
        </section>
    }
}
