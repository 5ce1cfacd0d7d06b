//! Panel "Build": the image's layer stack growing step by step (SVG), next
//! to the Dockerfile's lines with what became of each.

use std::rc::Rc;

use casulo_trace::replay::{Build, BuildBase, BuildCommit, BuildStep, StepResult, World};
use yew::prelude::*;

use super::panels::scale;
use super::{Action, Loaded, Model};
use crate::format::{bytes, short_digest, short_path};
use crate::markup::{class_list, w, Attr, Esc, C};

#[derive(Properties)]
pub struct BuildProps {
    pub trace: Rc<Loaded>,
    pub world: Rc<World>,
    /// [`crate::state::Model::scene`] (drawn again when it changes).
    pub scene: u64,
    #[prop_or_default]
    pub large: bool,
    /// A click on a Dockerfile line goes to its step.
    pub dispatch: UseReducerDispatcher<Model>,
}

impl PartialEq for BuildProps {
    fn eq(&self, o: &Self) -> bool {
        self.scene == o.scene && Rc::ptr_eq(&self.trace, &o.trace) && self.large == o.large
    }
}

/// `s` cut to `n` characters, with `…` when cut.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!(
            "{}…",
            s.chars().take(n.saturating_sub(1)).collect::<String>()
        )
    }
}

/// What became of a step, in a few words (the Dockerfile list and the
/// diagram's tooltips).
pub fn status_text(s: &BuildStep) -> String {
    match &s.result {
        _ if s.instruction.eq_ignore_ascii_case("FROM") => "imagem base".into(),
        StepResult::Running => "rodando…".into(),
        StepResult::CacheHit {
            diff_id: Some(d), ..
        } => format!("do cache ✓ · camada {}", short_digest(d)),
        StepResult::CacheHit { diff_id: None, .. } => "do cache ✓".into(),
        StepResult::NewLayer { bytes: b, .. } => format!("camada nova · {}", bytes(*b)),
        StepResult::ConfigOnly => "só configuração".into(),
    }
}

fn status_class(s: &BuildStep) -> &'static str {
    match s.result {
        _ if s.instruction.eq_ignore_ascii_case("FROM") => "base",
        StepResult::Running => "rodando",
        StepResult::CacheHit { .. } => "cache",
        StepResult::NewLayer { .. } => "nova",
        StepResult::ConfigOnly => "config",
    }
}

/// One row of the stack, bottom to top.
struct Row {
    class: &'static str,
    /// Thin rows: config-only steps.
    thin: bool,
    title: String,
    detail: Option<String>,
    /// A word beside the colour (cache hits): never colour alone.
    badge: Option<&'static str>,
    /// `COPY --from=X`: the stage (or image) its files came from.
    from: Option<String>,
    current: bool,
    tip: String,
}

/// The rows of one stage's stack: its base's layers (an earlier stage's,
/// for `FROM estágio`), then its steps.
fn rows(b: &Build, base: Option<&BuildBase>) -> Vec<Row> {
    let mut rows = vec![];
    if let Some(base) = base {
        let n = base.diff_ids.len();
        let origin = match &base.from_stage {
            Some(st) => format!("do estágio {st}"),
            None => format!("base {}", base.image),
        };
        for (i, d) in base.diff_ids.iter().enumerate() {
            rows.push(Row {
                class: "base",
                thin: false,
                title: format!("{origin} · camada {} de {n}", i + 1),
                detail: Some(short_digest(d).to_string()),
                badge: None,
                from: None,
                current: false,
                tip: format!("camada {} ({origin}): {d}", i + 1),
            });
        }
    }
    let current = b.current().map(|s| s.at);
    for s in b.stage_steps(base.and_then(|b| b.stage_index)) {
        if s.instruction.eq_ignore_ascii_case("FROM") {
            continue;
        }
        let title = format!("passo {} · {} {}", s.step, s.instruction, s.args);
        let row = match &s.result {
            StepResult::NewLayer {
                diff_id,
                bytes: b,
                files,
                ..
            } => Row {
                class: "nova",
                thin: false,
                title,
                detail: Some(format!(
                    // The same words as the CLI and the narration: the
                    // size is the uncompressed tar, the id its diff_id.
                    "camada nova · tar descomprimido de {} · {files} entradas · {}",
                    bytes(*b),
                    short_digest(diff_id)
                )),
                badge: Some("nova"),
                from: None,
                current: false,
                tip: format!("camada nova, diff_id {diff_id}"),
            },
            StepResult::CacheHit { diff_id, .. } => Row {
                class: "cache",
                thin: diff_id.is_none(),
                detail: diff_id
                    .as_ref()
                    .map(|d| format!("reaproveitada do cache · {}", short_digest(d))),
                title: match diff_id {
                    Some(_) => title,
                    None => format!("{title} · só configuração"),
                },
                badge: Some("cache"),
                from: None,
                current: false,
                tip: "o resultado já estava no cache: nada rodou".into(),
            },
            StepResult::Running if s.creates_layer => Row {
                class: "rodando",
                thin: false,
                title,
                detail: Some("rodando…".into()),
                badge: None,
                from: None,
                current: false,
                tip: "este passo está rodando".into(),
            },
            StepResult::Running | StepResult::ConfigOnly => Row {
                class: "config",
                thin: true,
                title: format!("{title} · só configuração"),
                detail: None,
                badge: None,
                from: None,
                current: false,
                tip: "muda só a configuração da imagem, sem camada".into(),
            },
        };
        let from = s.copy_from.clone();
        let mut tip = match &from {
            Some(f) => format!("{} · os arquivos vêm de {f}, não do contexto", row.tip),
            None => row.tip.clone(),
        };
        for d in &s.downloads {
            tip.push_str(&format!(
                " · baixou {} ({}, {}{})",
                d.url,
                crate::format::bytes(d.bytes),
                crate::format::short_digest(&d.digest),
                if d.pinned {
                    ", conferido pelo --checksum"
                } else {
                    ""
                }
            ));
        }
        rows.push(Row {
            current: Some(s.at) == current,
            from,
            tip,
            ..row
        });
    }
    rows
}

#[function_component(BuildPanel)]
pub fn build_panel(p: &BuildProps) -> Html {
    let w = &p.world;
    let Some(b) = &w.build else {
        return html! {
            <section class="painel build" aria-labelledby="titulo-build">
                <h2 id="titulo-build">{"Build da imagem"}</h2>
                <p class="vazio" id="build-vazio">{"O build ainda não começou: avance até o "}<code>{"build.start"}</code>{"."}</p>
                { dockerfile_list(p, None) }
            </section>
        };
    };
    let k = scale(p.large);
    let summary = summary_text(b);
    if !b.is_multistage() {
        let label = format!("A pilha de camadas da imagem, de baixo para cima. {summary}");
        let svg = stack_svg(b, b.base.as_ref(), true, k, 660.0, "svg-build", &label);
        return html! {
            <section class="painel build" aria-labelledby="titulo-build">
                <h2 id="titulo-build">{"Build da imagem"}</h2>
                <p id="build-resumo">{summary}</p>
                <div class="build-lado-a-lado">
                    { svg }
                    { dockerfile_list(p, Some(b)) }
                </div>
            </section>
        };
    }
    // Multi-stage: one stack per stage, side by side; the image is made
    // of the last stage only.
    let last = b.stages.len().saturating_sub(1);
    let stages = b.stages.iter().enumerate().map(|(n, st)| {
        let label_text = st.stage.clone().unwrap_or_else(|| n.to_string());
        let is_last = n == last;
        let id = format!("svg-estagio-{}", st.stage_index.unwrap_or(n as u32));
        let origin = match &st.from_stage {
            Some(f) => format!("parte do estágio {f}"),
            None => format!("parte de {}", st.image),
        };
        let role = if is_last && b.commit.is_some() {
            "vira a imagem final"
        } else if is_last {
            "o estágio em andamento"
        } else {
            "só ajuda: fica fora da imagem"
        };
        let aria = format!(
            "Estágio {label_text} ({origin}; {role}): a pilha de camadas, de baixo para cima."
        );
        // Narrower stacks: two or three fit side by side, text still readable.
        let svg = stack_svg(b, Some(st), is_last, k, 480.0, &id, &aria);
        html! {
            <figure class={classes!("estagio", is_last.then_some("final"))}
                id={format!("estagio-{}", st.stage_index.unwrap_or(n as u32))}>
                <figcaption>
                    <strong>{format!("Estágio {label_text}")}</strong>
                    {format!(" · {origin} · {role}")}
                </figcaption>
                { svg }
            </figure>
        }
    });
    let stage_note = format!(
        "{} estágios construídos; a imagem final leva só as camadas do último ({}).",
        b.stages.len(),
        b.final_stage()
            .map(|s| b.stage_layers(s).len())
            .unwrap_or_default()
    );
    html! {
        <section class="painel build" aria-labelledby="titulo-build">
            <h2 id="titulo-build">{"Build da imagem"}</h2>
            <p id="build-resumo">{summary}</p>
            <p id="build-estagios-resumo">{stage_note}</p>
            <div class="build-lado-a-lado">
                <div class="estagios" id="estagios">{ for stages }</div>
                { dockerfile_list(p, Some(b)) }
            </div>
        </section>
    }
}

/// Where a stack's rows go: the left edge, the rows' width, the scale.
struct Stack {
    x: f64,
    rw: f64,
    k: f64,
}

impl Stack {
    /// Room for the characters of one line `width` wide, at this size.
    fn chars(&self, width: f64) -> usize {
        ((width - 24.0) / (8.2 * self.k)) as usize
    }

    /// The finished image, on top of the stack.
    fn image(&self, s: &mut String, c: &BuildCommit, image_h: f64) {
        let (x, k) = (self.x, self.k);
        let tag = if c.tag.is_empty() {
            "(sem tag)"
        } else {
            c.tag.as_str()
        };
        w!(
            s,
            r#"<g class="imagem-final" id="imagem-final"><rect x="{}" y="10" width="{}" height="{}" rx="8"/><text x="{}" y="{}" class="titulo-degrau">{}</text><text x="{}" y="{}" class="caminho">id {} · {} camadas</text></g>"#,
            C(x),
            C(self.rw),
            C(image_h - 6.0),
            C(x + 12.0),
            C(10.0 + 19.0 * k),
            Esc(&cut(&format!("imagem pronta: {tag}"), self.chars(self.rw))),
            C(x + 12.0),
            C(10.0 + 38.0 * k),
            Esc(short_digest(&c.image_id)),
            c.layers
        );
    }

    /// One step (or base layer) `h` high at `y`: its title, detail, the
    /// stage its files came from and its badge.
    fn row(&self, s: &mut String, r: &Row, y: f64, h: f64) {
        let (x, rw, k) = (self.x, self.rw, self.k);
        let badge_w = if r.badge.is_some() { 74.0 * k } else { 0.0 };
        // The badge fits thin rows too (a cached ENV is thin and "cache").
        let bh = (22.0 * k).min(h - 4.0 * k);
        let text_w = rw - badge_w;
        // COPY --from: an arrow into the row and the source's name, in
        // words (never the arrow alone).
        let from_w = r
            .from
            .as_ref()
            .map_or(0.0, |f| (f.chars().count() as f64 + 5.0) * 8.2 * k);
        let class = class_list(&[
            "degrau",
            r.class,
            if r.thin { "fino" } else { "" },
            if r.current { "atual" } else { "" },
            if r.from.is_some() {
                "copia-de-estagio"
            } else {
                ""
            },
        ]);
        w!(
            s,
            r#"<g class="{class}"{}><rect x="{}" y="{}" width="{}" height="{}" rx="5"><title>{}</title></rect><text x="{}" y="{}" class="titulo-degrau">{}</text>"#,
            Attr("aria-current", r.current.then_some("step")),
            C(x),
            C(y),
            C(rw),
            C(h),
            Esc(&r.tip),
            C(x + 12.0),
            C(y + if r.thin { 16.0 } else { 19.0 } * k),
            Esc(&cut(&r.title, self.chars(text_w)))
        );
        if let Some(d) = &r.detail {
            w!(
                s,
                r#"<text x="{}" y="{}" class="caminho">{}</text>"#,
                C(x + 12.0),
                C(y + 38.0 * k),
                Esc(&cut(d, self.chars(text_w - from_w)))
            );
        }
        if let Some(f) = &r.from {
            w!(
                s,
                r#"<text x="{}" y="{}" class="de-estagio" text-anchor="end">⟵ de {}</text>"#,
                C(x + text_w - 8.0),
                C(y + 38.0 * k),
                Esc(f)
            );
        }
        if let Some(badge) = r.badge {
            let by = (y + (h - bh) / 2.0).min(y + 6.0 * k);
            w!(
                s,
                r#"<g class="selo {badge}"><rect x="{}" y="{}" width="{}" height="{}" rx="{}"/><text x="{}" y="{}">{}</text></g>"#,
                C(x + rw - badge_w - 4.0),
                C(by),
                C(badge_w - 4.0),
                C(bh),
                C(bh / 2.0),
                C(x + rw - badge_w + 8.0 * k),
                C(by + bh / 2.0 + 4.5 * k),
                if badge == "cache" {
                    "♻ cache"
                } else {
                    "+ nova"
                }
            );
        }
        s.push_str("</g>");
    }
}

/// The SVG of one layer stack (`base` and its steps), with the finished
/// image on top when `with_image` and the build committed; `width` of
/// the drawing's coordinates.
fn stack_svg(
    b: &Build,
    base: Option<&BuildBase>,
    with_image: bool,
    k: f64,
    width: f64,
    id: &str,
    label: &str,
) -> Html {
    let rows = rows(b, base);
    let stack = Stack {
        x: 10.0,
        rw: width - 20.0,
        k,
    };
    let (row_h, thin_h, gap) = (46.0 * k, 22.0 * k, 4.0);
    let commit = b.commit.as_ref().filter(|_| with_image);
    let image_h = if commit.is_some() { 50.0 * k } else { 0.0 };
    let stack_h: f64 = rows
        .iter()
        .map(|r| if r.thin { thin_h } else { row_h } + gap)
        .sum();
    let height = 20.0 + image_h + stack_h + 10.0 + 20.0 * k;
    let mut svg = String::new();
    w!(
        &mut svg,
        r#"<svg viewBox="0 0 {} {}" role="img" id="{}" aria-label="{}">"#,
        C(width),
        C(height),
        Esc(id),
        Esc(label)
    );
    if let Some(c) = commit {
        stack.image(&mut svg, c, image_h);
    }
    // Bottom up: the base at the bottom, each step on top of the last.
    let mut y = height - 10.0 - 20.0 * k;
    for r in &rows {
        let h = if r.thin { thin_h } else { row_h };
        y -= h + gap;
        stack.row(&mut svg, r, y, h);
    }
    w!(
        &mut svg,
        r#"<text x="{}" y="{}" class="rotulo">↑ cada passo empilha sobre o anterior</text></svg>"#,
        C(stack.x),
        C(height - 6.0)
    );
    Html::from_html_unchecked(svg.into())
}

/// One sentence: where the build is.
fn summary_text(b: &Build) -> String {
    let tag = b.tag.as_deref().unwrap_or("(sem tag)");
    let done = b.steps.len();
    let hits = b.cache_hits();
    let cache = match hits {
        0 => String::new(),
        1 => " · 1 passo veio do cache".into(),
        n => format!(" · {n} passos vieram do cache"),
    };
    match &b.commit {
        Some(c) => format!(
            "Build de {tag} concluído: imagem {} com {} camadas{cache}.",
            short_digest(&c.image_id),
            c.layers
        ),
        None => format!(
            "Build de {tag}: passo {done} de {}{cache}.",
            b.total.max(done as u32)
        ),
    }
}

/// The Dockerfile, as far as the whole trace tells, each line with its
/// status at this position (lines not reached yet: "ainda não").
fn dockerfile_list(p: &BuildProps, b: Option<&Build>) -> Html {
    let all = &p.trace.dockerfile;
    if all.is_empty() {
        return html! {};
    }
    let current = b.and_then(|b| b.current()).map(|s| s.at);
    let items = all.iter().map(|line| {
        let seen = b.and_then(|b| b.step(line.step));
        let (class, status) = match seen {
            Some(s) => (status_class(s), status_text(s)),
            None => ("futuro", "ainda não".to_string()),
        };
        let is_current = seen.is_some_and(|s| Some(s.at) == current);
        let d = p.dispatch.clone();
        let at = line.at;
        let onclick = Callback::from(move |_| d.dispatch(Action::Seek(at + 1)));
        html! {
            <li class={classes!("linha-dockerfile", class, is_current.then_some("atual"))}
                aria-current={is_current.then_some("step")}>
                <button type="button" {onclick} title={format!("ir ao passo {}", line.step)}>
                    <span class="num-linha" aria-label={format!("linha {}", line.line)}>{line.line}</span>
                    <code>{format!("{} {}", line.instruction, line.args)}</code>
                    <span class="estado-passo">{status}</span>
                </button>
            </li>
        }
    });
    let name = b
        .filter(|b| !b.dockerfile.is_empty())
        .map(|b| short_path(&b.dockerfile))
        .unwrap_or_else(|| "Dockerfile".into());
    html! {
        <div class="dockerfile" id="dockerfile">
            <h3>{name}</h3>
            <ol aria-label="As instruções do Dockerfile e o que aconteceu com cada uma">{ for items }</ol>
        </div>
    }
}
