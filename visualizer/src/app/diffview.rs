//! Two traces side by side, aligned by event kind.

use std::rc::Rc;

use casulo_trace::narrate;
use yew::prelude::*;

use super::Loaded;
use crate::diff::{align, summary, Row};
use crate::markup::{w, Esc};
use crate::timeline::Area;

/// Rows shown at most (a long diff is cut, with a note).
const MAX_ROWS: usize = 2000;

#[derive(Properties)]
pub struct DiffProps {
    pub a: Rc<Loaded>,
    pub b: Rc<Loaded>,
}

impl PartialEq for DiffProps {
    fn eq(&self, o: &Self) -> bool {
        Rc::ptr_eq(&self.a, &o.a) && Rc::ptr_eq(&self.b, &o.b)
    }
}

#[function_component(DiffView)]
pub fn diff_view(p: &DiffProps) -> Html {
    let rows = {
        let (a, b) = (p.a.clone(), p.b.clone());
        use_memo((), move |_| align(a.replay().events(), b.replay().events()))
    };
    let (ra, rb) = (p.a.replay(), p.b.replay());
    let (ea, eb) = (ra.events(), rb.events());
    let changes = summary(&p.a.end, &p.b.end);
    let count = |f: fn(&Row) -> bool| rows.iter().filter(|r| f(r)).count();
    let only_a = count(|r| matches!(r, Row::OnlyA(_)));
    let only_b = count(|r| matches!(r, Row::OnlyB(_)));
    let differ = count(|r| matches!(r, Row::Both { same: false, .. }));
    // The table as markup text (markup.rs): up to 2000 rows, drawn once
    // per pair of traces, no listeners.
    let cell = |t: &mut String, e: &casulo_trace::Event| {
        w!(
            t,
            r#"<td class="seq">{}</td><td><span class="tipo {}">{}</span><span class="resumo">{}</span>"#,
            e.seq,
            Area::of(e).class(),
            e.body.kind(),
            Esc(&narrate::describe(e))
        );
        if !e.outcome.is_ok() {
            w!(
                t,
                r#"<span class="errno">{}</span>"#,
                Esc(&narrate::outcome_text(&e.outcome))
            );
        }
        t.push_str("</td>");
    };
    const ABSENT: &str = r#"<td></td><td class="ausente">—</td>"#;
    let mut table = String::from(
        r#"<table class="tabela-comparacao"><thead><tr><th>#</th><th>A</th><th>#</th><th>B</th><th></th></tr></thead><tbody>"#,
    );
    for r in rows.iter().take(MAX_ROWS) {
        match *r {
            Row::Both { a, b, same } => {
                let (class, mark) = if same {
                    ("igual", "=")
                } else {
                    ("diferente", "≠")
                };
                w!(&mut table, r#"<tr class="{class}">"#);
                cell(&mut table, &ea[a]);
                cell(&mut table, &eb[b]);
                w!(&mut table, r#"<td class="marca">{mark}</td></tr>"#);
            }
            Row::OnlyA(a) => {
                table.push_str(r#"<tr class="so-a">"#);
                cell(&mut table, &ea[a]);
                table.push_str(ABSENT);
                table.push_str(r#"<td class="marca">só A</td></tr>"#);
            }
            Row::OnlyB(b) => {
                table.push_str(r#"<tr class="so-b">"#);
                table.push_str(ABSENT);
                cell(&mut table, &eb[b]);
                table.push_str(r#"<td class="marca">só B</td></tr>"#);
            }
        }
    }
    table.push_str("</tbody></table>");
    html! {
        <section class="painel comparacao" aria-labelledby="titulo-cmp">
            <h2 id="titulo-cmp">{"Comparação de dois traces"}</h2>
            <p id="resumo-comparacao">{format!(
                "A: {} ({} eventos) · B: {} ({} eventos) — {} só em A, {} só em B, {} com a mesma operação alterada.",
                p.a.name, ea.len(), p.b.name, eb.len(), only_a, only_b, differ
            )}</p>
            if !changes.is_empty() {
                <div class="o-que-mudou">
                    <h3>{"O que mudou"}</h3>
                    <ul id="diferencas">{ for changes.iter().map(|c| html! { <li>{c.clone()}</li> }) }</ul>
                </div>
            }
            <p class="dica">{"Os eventos são alinhados pelo tipo (num build, o resultado de cada passo — camada nova ou cache — fica na mesma linha); números que mudam em toda execução (PIDs, inodes, ids) são ignorados na comparação; um limite escrito, um código de saída ou um comando diferentes contam como diferença."}</p>
            { Html::from_html_unchecked(table.into()) }
            if rows.len() > MAX_ROWS {
                <p class="aviso">{format!("Mostrando as primeiras {MAX_ROWS} de {} linhas.", rows.len())}</p>
            }
        </section>
    }
}
