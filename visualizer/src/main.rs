//! Casulo's visualizer: replays a trace in the browser as diagrams, step by
//! step, in Brazilian Portuguese.
//!
//! The pure parts (the model and its reducer in `state/`, timeline marks,
//! number formats, the diff of two traces, the embed mode's parameters)
//! build and are tested on the host; the Yew
//! app (`app/`) only exists for `wasm32` and is built by `cargo xtask` (see
//! `xtask/src/web.rs`).

// On the host only the pure modules build; the app uses all of them.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code, unused_imports))]

mod capabilities;
mod chart;
mod diff;
mod embed;
mod format;
mod lines;
mod markup;
mod security;
mod state;
mod timeline;

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<app::App>::new().render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    // Keep the pure modules "used" on the host build.
    let _ = (
        diff::align,
        format::bytes,
        timeline::marks,
        embed::parse,
        security::rows,
        security::has_security,
        state::Model::update,
        lines::count_newlines,
        chart::stride,
        state::Listed::from_json,
    );
    println!(
        "casulo-visualizer roda no navegador: `cargo xtask demo` compila e serve \
         (visualizer/dist/); {} tipos de evento conhecidos",
        casulo_trace::KINDS.len()
    );
}
