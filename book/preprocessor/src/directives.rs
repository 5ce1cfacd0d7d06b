//! The course's own directives, expanded in each chapter:
//!
//! - `{{#casulo nome [passos=2|1-3]}}`: the recorded commands and output;
//! - `{{#replay nome [paineis=a,b] [de=N] [ate=M]}}`: the visualizer, in
//!   embed mode, on the example's trace (event numbers are the trace's `seq`);
//! - `{{#medida nome}}`: the table and plot of a measurement;
//! - `{{#laboratorio pasta}}`: a lab's `README.md` (`labs/<pasta>/`, or
//!   `labs/README.md` for `guia`), its links made to work inside the book.
//!
//! `\{{#…}}` is left as written (to show a directive in the text). Errors
//! name the chapter's file and line.

use std::path::Path;

use regex::Regex;

use crate::record;

/// The panels the visualizer's embed mode knows.
pub const PANELS: &[&str] = &[
    "eventos",
    "namespaces",
    "arquivos",
    "cgroups",
    "rede",
    "seguranca",
    "registry",
    "build",
];

/// Where the book's data is.
pub struct Sources<'a> {
    /// `book/exemplos`
    pub examples: &'a Path,
    /// `book/medidas`
    pub measures: &'a Path,
    /// `labs/` (beside `book/`)
    pub labs: &'a Path,
}

/// Expands every directive of `content` (a chapter at `chapter`, relative
/// to `src/`, used for relative links and error messages).
pub fn expand(content: &str, chapter: &Path, src: &Sources) -> Result<String, String> {
    let re = Regex::new(r"(\\?)\{\{#(casulo|replay|medida|laboratorio)((?:\s+[^}\s]+)*)\s*\}\}")
        .expect("regex");
    let mut out = String::with_capacity(content.len());
    let mut last = 0;
    for caps in re.captures_iter(content) {
        let whole = caps.get(0).expect("match");
        out.push_str(&content[last..whole.start()]);
        last = whole.end();
        if !caps[1].is_empty() {
            out.push_str(&whole.as_str()[1..]);
            continue;
        }
        let line = content[..whole.start()].lines().count().max(1)
            + usize::from(content[..whole.start()].ends_with('\n'));
        let at = |e: String| format!("{}:{line}: {e}", Path::new("src").join(chapter).display());
        let args: Vec<&str> = caps[3].split_whitespace().collect();
        let (name, options) = match args.split_first() {
            Some((n, rest)) if !n.contains('=') => (*n, rest),
            _ => {
                return Err(at(format!(
                    "{{{{#{}}}}} precisa do nome do exemplo",
                    &caps[2]
                )))
            }
        };
        let options = parse_options(options).map_err(at)?;
        let depth = chapter.components().count().saturating_sub(1);
        let html = match &caps[2] {
            "casulo" => casulo(name, &options, src),
            "replay" => replay(name, &options, src, depth),
            "laboratorio" => lab(name, &options, src, chapter),
            _ => measure(name, &options, src),
        }
        .map_err(at)?;
        out.push_str(&html);
    }
    out.push_str(&content[last..]);
    Ok(out)
}

type Options<'a> = Vec<(&'a str, &'a str)>;

fn parse_options<'a>(args: &[&'a str]) -> Result<Options<'a>, String> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .ok_or_else(|| format!("opção sem valor: {a:?} (escreva nome=valor)"))
        })
        .collect()
}

fn only<'a>(options: &Options<'a>, allowed: &[&str]) -> Result<(), String> {
    match options.iter().find(|(k, _)| !allowed.contains(k)) {
        Some((k, _)) => Err(format!(
            "opção desconhecida {k:?} (aceitas: {})",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

fn get<'a>(options: &Options<'a>, key: &str) -> Option<&'a str> {
    options.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// `{{#casulo nome}}`: a `console` block, `# comando` then its output.
fn casulo(name: &str, options: &Options, src: &Sources) -> Result<String, String> {
    only(options, &["passos"])?;
    let rec = record::load(src.examples, name)?;
    let n = rec.passos.len();
    let (from, to) = match get(options, "passos") {
        None => (1, n),
        Some(v) => {
            let (a, b) = v.split_once('-').unwrap_or((v, v));
            let parse = |s: &str| {
                s.parse::<usize>()
                    .ok()
                    .filter(|&k| (1..=n).contains(&k))
                    .ok_or_else(|| format!("passos={v}: o exemplo {name} tem os passos 1 a {n}"))
            };
            (parse(a)?, parse(b)?)
        }
    };
    if from > to {
        return Err(format!("passos={from}-{to}: o começo vem depois do fim"));
    }
    let mut text = String::from("```console\n");
    for step in &rec.passos[from - 1..to] {
        for (i, line) in step.comando.lines().enumerate() {
            text.push_str(if i == 0 { "# " } else { "  " });
            text.push_str(line);
            text.push('\n');
        }
        if !step.saida.is_empty() {
            text.push_str(&step.saida);
            text.push('\n');
        }
    }
    text.push_str("```\n");
    Ok(text)
}

/// `{{#replay nome}}`: the visualizer's embed mode in an iframe, plus a
/// link to the full visualizer at the first event.
fn replay(name: &str, options: &Options, src: &Sources, depth: usize) -> Result<String, String> {
    only(options, &["paineis", "de", "ate", "altura"])?;
    let trace = record::load_trace(src.examples, name)?;
    let (first, last) = match (trace.events.first(), trace.events.last()) {
        (Some(a), Some(b)) => (a.seq, b.seq),
        _ => return Err(format!("o trace do exemplo {name} não tem eventos")),
    };
    let number = |key: &str, default: u64| -> Result<u64, String> {
        match get(options, key) {
            None => Ok(default),
            Some(v) => anchor(&trace.events, v).ok_or_else(|| {
                format!(
                    "{key}={v}: o trace do exemplo {name} vai do evento {first} ao {last}, \
                     e um tipo de evento (como namespace.create ou mount.pivot_root#2) precisa existir nele"
                )
            }),
        }
    };
    let (de, ate) = (number("de", first)?, number("ate", last)?);
    if de > ate {
        return Err(format!("de={de} vem depois de ate={ate}"));
    }
    let mut query = format!("trace=../exemplos/{name}.trace.jsonl&embed=1");
    if let Some(panels) = get(options, "paineis") {
        for p in panels.split(',') {
            if !PANELS.contains(&p) {
                return Err(format!(
                    "painel desconhecido {p:?} (os painéis: {})",
                    PANELS.join(", ")
                ));
            }
        }
        query.push_str(&format!("&paineis={panels}"));
    }
    query.push_str(&format!("&de={de}&ate={ate}"));
    let height: u32 = match get(options, "altura") {
        None => 520,
        Some(v) => v
            .parse()
            .map_err(|_| format!("altura={v}: precisa ser um número de pixels"))?,
    };
    let up = "../".repeat(depth);
    let full =
        format!("{up}visualizador/index.html?trace=../exemplos/{name}.trace.jsonl#evento={de}");
    Ok(format!(
        "<figure class=\"casulo-replay\">\n\
         <iframe src=\"{up}visualizador/index.html?{query}\" title=\"Replay do exemplo {name}: eventos {de} a {ate}\" \
         loading=\"lazy\" style=\"height:{height}px\"></iframe>\n\
         <figcaption>Replay do trace gravado (<code>{name}.trace.jsonl</code>), eventos {de} a {ate}: \
         use ◀ ▶ ou as setas do teclado. <a href=\"{full}\" target=\"_blank\">Abrir no visualizador completo ↗</a> · \
         <a href=\"{up}exemplos/{name}.trace.jsonl\" download>baixar o trace</a></figcaption>\n\
         </figure>\n"
    ))
}

/// The `seq` a `de=`/`ate=` value names: a number (`12`), or the first
/// event of a kind (`namespace.create`), or its n-th (`cgroup.limit#2`).
/// Kinds survive a re-recording; numbers shift when, say, another
/// container already made the parent cgroup.
fn anchor(events: &[casulo_trace::Event], value: &str) -> Option<u64> {
    if let Ok(n) = value.parse::<u64>() {
        return events.iter().any(|e| e.seq == n).then_some(n);
    }
    let (kind, nth) = match value.split_once('#') {
        Some((k, n)) => (k, n.parse::<usize>().ok().filter(|&n| n >= 1)?),
        None => (value, 1),
    };
    events
        .iter()
        .filter(|e| e.body.kind() == kind)
        .nth(nth - 1)
        .map(|e| e.seq)
}

/// `{{#laboratorio pasta}}`: the lab's README, with its relative links
/// rewritten: to a chapter (`../../book/src/x.md`) → that chapter, to
/// another lab's README → that lab's page (`laboratorios/<pasta>.md`).
/// Any other relative link would break in the book: an error.
fn lab(name: &str, options: &Options, src: &Sources, chapter: &Path) -> Result<String, String> {
    only(options, &[])?;
    let dir = if name == "guia" {
        src.labs.to_path_buf()
    } else {
        src.labs.join(name)
    };
    let path = dir.join("README.md");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("não consegui ler {} ({e})", path.display()))?;
    // Where the chapter sits, relative to src/ ("" or "../").
    let up = "../".repeat(chapter.components().count().saturating_sub(1));
    let link = Regex::new(r"\]\(([^)\s]+)\)").expect("regex");
    let mut problem = None;
    let out = link.replace_all(&text, |c: &regex::Captures| {
        let target = &c[1];
        if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
            return c[0].to_string();
        }
        let (file, fragment) = match target.split_once('#') {
            Some((f, frag)) => (f, format!("#{frag}")),
            None => (target, String::new()),
        };
        // The target as a path under the repository root (labs/.. = root).
        let mut parts: Vec<&str> = dir
            .strip_prefix(src.labs.parent().unwrap_or(src.labs))
            .unwrap_or(&dir)
            .to_str()
            .unwrap_or("")
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        for seg in file.split('/') {
            match seg {
                ".." => {
                    parts.pop();
                }
                "." | "" => {}
                s => parts.push(s),
            }
        }
        let repo_path = parts.join("/");
        let inside = if let Some(ch) = repo_path.strip_prefix("book/src/") {
            Some(format!("{up}{ch}"))
        } else if repo_path == "labs/README.md" {
            Some(format!("{up}laboratorios/guia.md"))
        } else {
            repo_path
                .strip_prefix("labs/")
                .and_then(|r| r.strip_suffix("/README.md"))
                .map(|lab| format!("{up}laboratorios/{lab}.md"))
        };
        match inside {
            Some(t) => format!("]({t}{fragment})"),
            None => {
                problem.get_or_insert_with(|| {
                    format!(
                        "o link {target:?} de {} não leva a uma página do curso",
                        path.display()
                    )
                });
                c[0].to_string()
            }
        }
    });
    match problem {
        Some(p) => Err(p),
        None => Ok(out.into_owned()),
    }
}

/// `{{#medida nome}}`: `book/medidas/<nome>.json` as a table and a plot.
fn measure(name: &str, options: &Options, src: &Sources) -> Result<String, String> {
    only(options, &[])?;
    let path = src.measures.join(format!("{name}.json"));
    let json = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "não consegui ler a medida {} ({e}); meça com `cargo xtask medir`",
            path.display()
        )
    })?;
    crate::medida::render(name, &json).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Recorded, RecordedStep, Recording};

    fn book() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let examples = dir.path().join("exemplos");
        std::fs::create_dir_all(&examples).unwrap();
        let recorded = Recorded {
            recording: Recording {
                passos: vec![
                    RecordedStep {
                        comando: "casulo run --rm busybox echo oi".into(),
                        saida: "oi".into(),
                        codigo: 0,
                    },
                    RecordedStep {
                        comando: "hostname".into(),
                        saida: "host".into(),
                        codigo: 0,
                    },
                ],
            },
            trace: Some(casulo_trace::sample::sample_jsonl()),
        };
        record::save(&examples, "ola", &recorded).unwrap();
        dir
    }

    fn run(dir: &Path, text: &str, chapter: &str) -> Result<String, String> {
        let (examples, measures, labs) =
            (dir.join("exemplos"), dir.join("medidas"), dir.join("labs"));
        let src = Sources {
            examples: &examples,
            measures: &measures,
            labs: &labs,
        };
        expand(text, Path::new(chapter), &src)
    }

    #[test]
    fn casulo_shows_commands_and_output() {
        let dir = book();
        let out = run(dir.path(), "antes\n{{#casulo ola}}\ndepois", "c.md").unwrap();
        assert!(
            out.contains(
                "```console\n# casulo run --rm busybox echo oi\noi\n# hostname\nhost\n```"
            ),
            "{out}"
        );
        let out = run(dir.path(), "{{#casulo ola passos=2}}", "c.md").unwrap();
        assert!(
            !out.contains("echo oi") && out.contains("# hostname"),
            "{out}"
        );
        let out = run(dir.path(), "\\{{#casulo ola}}", "c.md").unwrap();
        assert_eq!(out, "{{#casulo ola}}");
    }

    #[test]
    fn replay_points_the_embed_at_the_range() {
        let dir = book();
        let out = run(
            dir.path(),
            "{{#replay ola paineis=namespaces,eventos de=2 ate=5}}",
            "sub/c.md",
        )
        .unwrap();
        assert!(out.contains("src=\"../visualizador/index.html?trace=../exemplos/ola.trace.jsonl&embed=1&paineis=namespaces,eventos&de=2&ate=5\""), "{out}");
        assert!(out.contains("#evento=2"), "{out}");
    }

    #[test]
    fn a_lab_page_links_to_the_book() {
        let dir = book();
        let lab = dir.path().join("labs/01-primeiro");
        std::fs::create_dir_all(&lab).unwrap();
        std::fs::write(
            lab.join("README.md"),
            "# Lab 1\n[cap. 1](../../book/src/01-x.md#a) e [o 2](../02-y/README.md), [guia](../README.md), [site](https://x.org)\n",
        )
        .unwrap();
        let out = run(
            dir.path(),
            "{{#laboratorio 01-primeiro}}",
            "laboratorios/01-primeiro.md",
        )
        .unwrap();
        assert!(out.contains("](../01-x.md#a)"), "{out}");
        assert!(out.contains("](../laboratorios/02-y.md)"), "{out}");
        assert!(out.contains("](../laboratorios/guia.md)"), "{out}");
        assert!(out.contains("](https://x.org)"), "{out}");
        std::fs::write(lab.join("README.md"), "[script](solucao.sh)\n").unwrap();
        let e = run(
            dir.path(),
            "{{#laboratorio 01-primeiro}}",
            "laboratorios/01-primeiro.md",
        )
        .unwrap_err();
        assert!(e.contains("solucao.sh") && e.contains("não leva"), "{e}");
    }

    #[test]
    fn ranges_can_name_kinds() {
        let dir = book();
        let events = casulo_trace::read_trace(&casulo_trace::sample::sample_jsonl())
            .unwrap()
            .events;
        let seq_of = |kind: &str, n: usize| {
            events
                .iter()
                .filter(|e| e.body.kind() == kind)
                .nth(n - 1)
                .unwrap()
                .seq
        };
        let out = run(
            dir.path(),
            "{{#replay ola de=namespace.create ate=process.exec}}",
            "c.md",
        )
        .unwrap();
        let want = format!(
            "&de={}&ate={}\"",
            seq_of("namespace.create", 1),
            seq_of("process.exec", 1)
        );
        assert!(out.contains(&want), "{out}");
        let out = run(dir.path(), "{{#replay ola de=namespace.create#2}}", "c.md").unwrap();
        assert!(
            out.contains(&format!("&de={}&", seq_of("namespace.create", 2))),
            "{out}"
        );
        let e = run(dir.path(), "{{#replay ola de=pizza.assada}}", "c.md").unwrap_err();
        assert!(e.contains("de=pizza.assada"), "{e}");
    }

    #[test]
    fn mistakes_name_the_chapter_line() {
        let dir = book();
        let e = run(dir.path(), "a\nb\n{{#casulo nada}}", "c.md").unwrap_err();
        assert!(
            e.starts_with("src/c.md:3: ") && e.contains("cargo xtask book"),
            "{e}"
        );
        let e = run(dir.path(), "{{#replay ola paineis=pizza}}", "c.md").unwrap_err();
        assert!(e.contains("painel desconhecido \"pizza\""), "{e}");
        let e = run(dir.path(), "{{#replay ola ate=99999}}", "c.md").unwrap_err();
        assert!(
            e.contains("ate=99999") && e.contains("vai do evento"),
            "{e}"
        );
        let e = run(dir.path(), "{{#casulo ola passos=3}}", "c.md").unwrap_err();
        assert!(e.contains("passos 1 a 2"), "{e}");
        let e = run(dir.path(), "{{#casulo ola cor=azul}}", "c.md").unwrap_err();
        assert!(e.contains("opção desconhecida \"cor\""), "{e}");
    }
}
