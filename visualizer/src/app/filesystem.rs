//! The filesystem panel: the overlay's layers, upper dir and merged view,
//! the mounts, volumes and commits.

use casulo_trace::replay::{Overlay, World};
use yew::prelude::*;

use super::panels::{scale, WorldProps};
use crate::format::{bytes, short_digest, short_path};
use crate::markup::{class_list, w, Esc, C};

/// `casulo commit`s of the container: its upperdir became a layer of a new image.
fn commit_lines(w: &World) -> Vec<String> {
    w.commits
        .iter()
        .map(|c| {
            let image = if c.tag.is_empty() {
                short_digest(&c.image_id).to_string()
            } else {
                format!("{} ({})", c.tag, short_digest(&c.image_id))
            };
            let changes = if c.changes.is_empty() {
                String::new()
            } else {
                format!(" · --change {}", c.changes.join(", "))
            };
            let count =
                |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
            format!(
                "upperdir → camada {} ({}, {}, {}) → imagem {image}{changes}",
                short_digest(&c.diff_id),
                count(c.files, "entrada", "entradas"),
                count(c.whiteouts, "whiteout", "whiteouts"),
                bytes(c.size)
            )
        })
        .collect()
}

#[function_component(FilesystemPanel)]
pub fn filesystem_panel(p: &WorldProps) -> Html {
    let w = &p.world;
    let commits = commit_lines(w);
    let Some(o) = &w.overlay else {
        return no_overlay_yet(w, &commits);
    };
    let k = scale(p.large);
    let row_w = if p.large { 640.0 } else { 400.0 };
    let mut svg = String::new();
    let stack_h = stack(&mut svg, w, o, row_w, k);
    // Mounts: to the right (normal), or below the stack in two columns (large).
    let (cols, mx0, my0, mw) = if p.large {
        (2, 10.0, stack_h + 6.0, 310.0)
    } else {
        (1, 440.0, 10.0, 210.0)
    };
    let last = w.applied.checked_sub(1);
    let ended = w.init().is_some_and(|i| i.exit.is_some());
    for (i, m) in w.mounts.iter().enumerate() {
        let mx = mx0 + (i % cols) as f64 * (mw + 20.0);
        let my = my0 + (i / cols) as f64 * 30.0 * k;
        w!(
            &mut svg,
            r#"<g class="montagem{}{}"><rect x="{}" y="{}" width="{}" height="{}" rx="4"/><text x="{}" y="{}">{} · {}</text></g>"#,
            if Some(m.at) == last { " novo" } else { "" },
            if ended { " encerrado" } else { "" },
            C(mx),
            C(my),
            C(mw),
            C(24.0 * k),
            C(mx + 10.0),
            C(my + 17.0 * k),
            Esc(&m.inside),
            Esc(&m.fstype)
        );
    }
    let mount_rows = w.mounts.len().div_ceil(cols) as f64;
    let height = if p.large {
        my0 + mount_rows * 30.0 * k + 10.0
    } else {
        stack_h.max(20.0 + mount_rows * 30.0) + 10.0
    };
    let devices: Vec<String> = w.devices.iter().map(|d| d.inside.clone()).collect();
    let volumes = volume_lines(w);

    html! {
        <section class="painel arquivos" aria-labelledby="titulo-fs">
            <h2 id="titulo-fs">{"Sistema de arquivos"}</h2>
            { Html::from_html_unchecked(format!(
                r#"<svg viewBox="0 0 660 {}" role="img" id="svg-fs" aria-label="A pilha do overlay: visão unificada, camada de escrita e camadas da imagem; à direita, as montagens">{svg}</svg>"#,
                C(height)
            ).into()) }
            if !devices.is_empty() {
                <p class="dispositivos"><strong>{"Dispositivos em /dev: "}</strong>{devices.join(", ")}</p>
            }
            if !volumes.is_empty() {
                <p class="volumes" id="fs-volumes"><strong>{"Volumes (fora das camadas, sobrevivem ao contêiner): "}</strong>{volumes.join("; ")}</p>
            }
            if !commits.is_empty() {
                <p class="commit" id="fs-commit"><strong>{"Commit (casulo commit): "}</strong>{commits.join("; ")}</p>
            }
        </section>
    }
}

/// Before the overlay is mounted: the image's layers ready so far (unpacked
/// or reused, with their whiteouts), and any commit.
fn no_overlay_yet(w: &World, commits: &[String]) -> Html {
    let last = w.applied.checked_sub(1);
    let layers = w.layers.iter().map(|l| {
        let how = match &l.unpacked {
            Some(u) => format!(
                "desempacotada agora: {} de conteúdo, {} arquivos",
                bytes(u.bytes),
                u.files
            ),
            None => "reutilizada (já estava desempacotada)".into(),
        };
        html! { <li class={classes!((Some(l.at) == last).then_some("novo"))}>
        <code>{short_digest(&l.diff_id).to_string()}</code>{format!(" · {how}")}
        if !l.whiteouts.is_empty() {
            <ul>{ for l.whiteouts.iter().map(|(path, opaque)| html! {
                <li class="whiteout-item">{format!("✕ apaga {path}{}", if *opaque { " (diretório opaco)" } else { "" })}</li>
            }) }</ul>
        }
        </li> }
    });
    html! {
        <section class="painel arquivos" aria-labelledby="titulo-fs">
            <h2 id="titulo-fs">{"Sistema de arquivos"}</h2>
            <p class="vazio" id="fs-vazio">{"O contêiner ainda não tem sistema de arquivos próprio (falta o mount overlay)."}</p>
            if !w.layers.is_empty() {
                <p>{"Camadas da imagem prontas:"}</p>
                <ul class="camadas-prontas">{ for layers }</ul>
            }
            if !commits.is_empty() {
                <p class="commit" id="fs-commit"><strong>{"Commit (casulo commit): "}</strong>{commits.join("; ")}</p>
            }
        </section>
    }
}

/// The overlay's rows, top to bottom: merged, upper, each lowerdir,
/// written to `s`; returns the stack's height. Large: the stack takes the
/// whole width (the mounts go below it).
fn stack(s: &mut String, w: &World, o: &Overlay, row_w: f64, k: f64) -> f64 {
    let last = w.applied.checked_sub(1);
    let row_h = 54.0 * k;
    let (rw, rh, t1, t2) = (C(row_w), C(row_h - 8.0), 20.0 * k, 38.0 * k);
    // A row's box and its two lines (the second in class `caminho`).
    let row = |s: &mut String, class: &str, y: f64, first: &str, second: &str| {
        w!(
            s,
            r#"<g class="camada {class}"><rect x="10" y="{}" width="{rw}" height="{rh}" rx="6"/><text x="22" y="{}">{}</text><text x="22" y="{}" class="caminho">{}</text>"#,
            C(y),
            C(y + t1),
            Esc(first),
            C(y + t2),
            Esc(second)
        );
    };
    let mut y = 10.0;
    // The overlay lives in the container's mount namespace: when its last
    // process ends, the kernel unmounts it (the upperdir stays on disk).
    let ended = w.init().is_some_and(|i| i.exit.is_some());
    let merged_label = if ended {
        "merged: desmontado (o contêiner terminou)"
    } else if w.pivoted {
        "merged = / do contêiner (depois do pivot_root)"
    } else {
        "merged: a visão unificada"
    };
    let merged_class = class_list(&[
        "merged",
        if Some(o.at) == last { "novo" } else { "" },
        if ended { "encerrado" } else { "" },
    ]);
    row(s, &merged_class, y, merged_label, &short_path(&o.target));
    s.push_str("</g>");
    y += row_h;
    row(
        s,
        "upper",
        y,
        "upperdir: leitura e escrita (só deste contêiner)",
        &short_path(&o.upperdir),
    );
    s.push_str("</g>");
    y += row_h;
    for (i, dir) in o.lowerdirs.iter().enumerate() {
        let layer = w.layer_of_dir(dir);
        let title = match layer {
            Some(l) => format!(
                "camada {} · {}",
                o.lowerdirs.len() - i,
                short_digest(&l.diff_id)
            ),
            None => format!("camada {}", o.lowerdirs.len() - i),
        };
        let info = match layer.and_then(|l| l.unpacked) {
            Some(u) => format!(
                "somente leitura · {} de conteúdo · {} arquivos",
                bytes(u.bytes),
                u.files
            ),
            None => "somente leitura · reutilizada".into(),
        };
        row(s, "lower", y, &title, &info);
        let whiteouts = layer.map_or(&[][..], |l| &l.whiteouts[..]);
        for (i, (path, opaque)) in whiteouts.iter().take(2).enumerate() {
            w!(
                s,
                r#"<text x="{}" y="{}" class="whiteout">✕ {}{}</text>"#,
                C(row_w * 0.6),
                C(y + t1 + 18.0 * k * i as f64),
                Esc(path),
                if *opaque { " (opaco)" } else { "" }
            );
        }
        s.push_str("</g>");
        y += row_h;
    }
    y
}

/// Volumes beside the overlay: data that is not in any layer.
fn volume_lines(w: &World) -> Vec<String> {
    w.volumes
        .iter()
        .map(|v| {
            let name = if v.anonymous {
                format!("anônimo {}", &v.name[..v.name.len().min(12)])
            } else {
                v.name.clone()
            };
            format!("{name} em {} ({})", v.target, short_path(&v.path))
        })
        .collect()
}
