//! Stub: the Yew/WASM visualizer arrives with the visualizer issue. Today it
//! only proves the trace crate links into a wasm-ready binary.
fn main() {
    println!(
        "casulo-visualizer: ainda não implementado ({} tipos de evento conhecidos)",
        casulo_trace::KINDS.len()
    );
}
