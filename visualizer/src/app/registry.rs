//! The Registry panel: the layers of the image a `casulo push` or `pull`
//! moved, each marked "já estava aqui", "enviada", "montada" or "baixada",
//! with sizes and times, and the seed's summary ("3 de 10 camadas
//! baixadas, 7 já estavam aqui").

use casulo_trace::replay::{LayerTransfer, RegistryTransfer};
use yew::prelude::*;

use super::panels::WorldProps;
use crate::format::{bytes, short_digest};

/// The words for a layer's state, and its CSS class.
pub fn state_text(state: LayerTransfer, direction: &str) -> (&'static str, &'static str) {
    match state {
        LayerTransfer::Missing => ("falta: vai viajar", "falta"),
        LayerTransfer::Present if direction == "push" => ("já estava no registry", "presente"),
        LayerTransfer::Present => ("já estava aqui", "presente"),
        LayerTransfer::Sent => ("enviada", "viajou"),
        LayerTransfer::Mounted => ("montada de outro repositório", "montada"),
        LayerTransfer::Downloaded => ("baixada", "viajou"),
    }
}

/// "3 de 10 camadas baixadas, 7 já estavam aqui".
pub fn summary(r: &RegistryTransfer) -> String {
    let (moved, present) = r.counts();
    let total = r.layers.len();
    if r.direction == "push" {
        format!("{moved} de {total} camadas enviadas ou montadas, {present} já estavam no registry")
    } else {
        format!("{moved} de {total} camadas baixadas, {present} já estavam aqui")
    }
}

#[function_component(RegistryPanel)]
pub fn registry_panel(p: &WorldProps) -> Html {
    let Some(r) = &p.world.registry else {
        return html! {
            <section class="painel registry" aria-labelledby="titulo-registry">
                <h2 id="titulo-registry">{"Registry"}</h2>
                <p class="vazio" id="registry-vazio">{"Nenhum push nem pull até aqui."}</p>
            </section>
        };
    };
    let last = p.world.applied.checked_sub(1);
    let verb = match r.direction.as_str() {
        "push" => "push para",
        "pull" => "pull de",
        _ => "falando com",
    };
    let auth = if r.auth.is_empty() {
        String::new()
    } else {
        format!(" · autenticação {}", r.auth)
    };
    let rows = r.layers.iter().map(|l| {
        let (text, class) = state_text(l.state, &r.direction);
        let time = if l.duration_us > 0 {
            format!(" em {}", casulo_trace::narrate::time_text(l.duration_us))
        } else {
            String::new()
        };
        html! {
            <tr class={classes!(class, (Some(l.at) == last).then_some("novo"))}>
                <td>{l.index + 1}</td>
                <td><code>{short_digest(&l.digest).to_string()}</code></td>
                <td>{bytes(l.size)}</td>
                <td class="estado">{format!("{text}{time}")}</td>
            </tr>
        }
    });
    html! {
        <section class="painel registry" aria-labelledby="titulo-registry">
            <h2 id="titulo-registry">{"Registry"}</h2>
            <p id="registry-quem">{format!("{verb} {} · {}{auth}", r.registry, r.repository)}</p>
            if let Some(platform) = &r.platform {
                <p>{format!("Do índice multiplataforma: {platform}")}</p>
            }
            if !r.layers.is_empty() {
                <p class="resumo" id="registry-resumo"><strong>{summary(r)}</strong>
                    {format!(" · {} viajaram", bytes(r.bytes))}</p>
                <table class="camadas-registry">
                    <thead><tr><th>{"camada"}</th><th>{"digest"}</th><th>{"tamanho"}</th><th>{"o que houve"}</th></tr></thead>
                    <tbody>{ for rows }</tbody>
                </table>
            }
            if let Some(m) = &r.manifest {
                <p>{format!("Manifest {}", short_digest(m))}</p>
            }
        </section>
    }
}
