//! The lab file (`lab.toml`): what a lab asks, as data a teacher writes.
//!
//! ```toml
//! titulo = "Seu primeiro contêiner"
//! capitulo = "01-o-que-e-um-conteiner"
//! resumo = "Rode um contêiner e veja que o comando dele é o PID 1."
//!
//! [[tarefa]]
//! id = "pid1"
//! titulo = "Rode um contêiner: o comando dele é o PID 1"
//! dicas = ["Use `casulo run --rm busybox sh -c 'echo $$'`."]
//!
//!   [[tarefa.confere]]          # every check must hold
//!   trace = "run"
//!   com = [{ evento = "namespace.create", ns = "pid" }]
//!   fatos = { pid_no_conteiner = 1 }
//!
//!   [[tarefa.erro]]             # a recognised mistake: shown when the task fails
//!   texto = "Você rodou sem --hostname."
//!   trace = "run"
//!   sem = [{ evento = "uts.sethostname" }]
//! ```
//!
//! Parsing is strict: an unknown key, a missing one, a wrong type, an
//! unknown event kind or fact is refused with `file:line` and the field,
//! in Portuguese (`labs/README.md` lists the whole vocabulary).

use std::collections::BTreeSet;

use serde::Deserialize;
use toml::Spanned;

pub use super::cmp::{Cmp, CmpOp};
use super::LabError;

/// A whole lab file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabSpec {
    #[serde(rename = "titulo")]
    pub title: String,
    /// The book chapter, by file stem (`02-namespaces`).
    #[serde(rename = "capitulo")]
    pub chapter: String,
    /// One or two sentences: the goal.
    #[serde(rename = "resumo")]
    pub summary: String,
    /// Images the lab starts from (`lab iniciar` says how to get a missing one).
    #[serde(rename = "imagens", default)]
    pub images: Vec<String>,
    /// Made for a student without root: done with a rootless casulo (and
    /// refused to root, whose traces are not the student's). Without it
    /// the lab needs root, and a rootless `lab iniciar` says so.
    #[serde(rename = "sem_root", default)]
    pub rootless: bool,
    #[serde(rename = "tarefa")]
    pub tasks: Vec<Task>,
}

/// One task: a title, the checks that prove it, hints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    pub id: Spanned<String>,
    #[serde(rename = "titulo")]
    pub title: String,
    /// Ids of tasks that must pass first.
    #[serde(rename = "depende", default)]
    pub depends: Vec<Spanned<String>>,
    /// Hints shown one at a time by `casulo lab dica`.
    #[serde(rename = "dicas", default)]
    pub hints: Vec<String>,
    /// All must hold for the task to pass.
    #[serde(rename = "confere", default)]
    pub checks: Vec<Spanned<Check>>,
    /// Recognised mistakes: when the task fails and one of these holds,
    /// its `texto` is shown.
    #[serde(rename = "erro", default)]
    pub mistakes: Vec<Spanned<Check>>,
}

/// One check. Exactly one *subject* key says what is looked at (`trace`,
/// `imagem`, `conteineres`, `saida`, `comando`); the other keys refine it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// What a recognised mistake says (only in `[[tarefa.erro]]`).
    #[serde(rename = "texto")]
    pub text: Option<String>,

    // Subjects.
    /// `run`, `build`, `push`, `pull` or `qualquer`: the student's traces since `lab iniciar`.
    pub trace: Option<Spanned<String>>,
    /// An image of the store, by reference.
    #[serde(rename = "imagem")]
    pub image: Option<String>,
    /// How many kept containers were created since `lab iniciar` (a number
    /// or a comparison such as `">= 3"`).
    #[serde(rename = "conteineres")]
    pub containers: Option<Spanned<toml::Value>>,
    /// A file in the lab's work folder (the output of a command the student
    /// saved, e.g. with `| tee saida.txt`).
    #[serde(rename = "saida")]
    pub output: Option<String>,
    /// A shell command the checker runs (in the work folder) and whose
    /// output it reads.
    #[serde(rename = "comando")]
    pub command: Option<String>,

    // Trace refinements.
    /// Event patterns: each must match some event of the same trace.
    #[serde(rename = "com", default)]
    pub with: Vec<Spanned<toml::Table>>,
    /// Event patterns: none may match.
    #[serde(rename = "sem", default)]
    pub without: Vec<Spanned<toml::Table>>,
    /// Facts of the replay model at the end of the trace.
    #[serde(rename = "fatos")]
    pub facts: Option<Spanned<toml::Table>>,
    /// How many traces must satisfy the check (default `">= 1"`).
    #[serde(rename = "vezes")]
    pub times: Option<Spanned<toml::Value>>,

    // Image / container refinements.
    /// Number of layers of the image.
    #[serde(rename = "camadas")]
    pub layers: Option<Spanned<toml::Value>>,
    /// A path that must exist (in the image, or in each container's
    /// read/write layer).
    #[serde(rename = "arquivo")]
    pub file: Option<String>,
    /// A path that must not exist in the image.
    #[serde(rename = "sem_arquivo")]
    pub no_file: Option<String>,
    /// A path some layer of the image deletes (an OCI whiteout `.wh.NAME`).
    pub whiteout: Option<String>,
    /// Containers: only those of this image.
    #[serde(rename = "da_imagem")]
    pub from_image: Option<String>,
    /// Containers: the contents of `arquivo` differ between them.
    #[serde(rename = "conteudos_distintos")]
    pub distinct: Option<bool>,

    // Text refinements (of `saida`, `comando`, or `arquivo`).
    #[serde(rename = "contem")]
    pub contains: Option<String>,
    #[serde(rename = "nao_contem")]
    pub not_contains: Option<String>,
    pub regex: Option<Spanned<String>>,
    /// `comando`: its exit code.
    #[serde(rename = "codigo")]
    pub code: Option<i32>,
}

/// The subject of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Trace,
    Image,
    Containers,
    Output,
    Command,
}

impl Check {
    /// The subject (validated: exactly one is set).
    pub fn subject(&self) -> Subject {
        self.subjects()[0].1
    }

    fn subjects(&self) -> Vec<(&'static str, Subject)> {
        let mut out = vec![];
        if self.trace.is_some() {
            out.push(("trace", Subject::Trace));
        }
        if self.image.is_some() {
            out.push(("imagem", Subject::Image));
        }
        if self.containers.is_some() {
            out.push(("conteineres", Subject::Containers));
        }
        if self.output.is_some() {
            out.push(("saida", Subject::Output));
        }
        if self.command.is_some() {
            out.push(("comando", Subject::Command));
        }
        out
    }

    /// The refinement keys that are set, by their TOML names.
    fn refinements(&self) -> Vec<&'static str> {
        let mut out = vec![];
        let mut add = |set: bool, name| {
            if set {
                out.push(name)
            }
        };
        add(!self.with.is_empty(), "com");
        add(!self.without.is_empty(), "sem");
        add(self.facts.is_some(), "fatos");
        add(self.times.is_some(), "vezes");
        add(self.layers.is_some(), "camadas");
        add(self.file.is_some(), "arquivo");
        add(self.no_file.is_some(), "sem_arquivo");
        add(self.whiteout.is_some(), "whiteout");
        add(self.from_image.is_some(), "da_imagem");
        add(self.distinct.is_some(), "conteudos_distintos");
        add(self.contains.is_some(), "contem");
        add(self.not_contains.is_some(), "nao_contem");
        add(self.regex.is_some(), "regex");
        add(self.code.is_some(), "codigo");
        out
    }
}

/// Which refinements each subject accepts.
fn allowed(subject: Subject) -> &'static [&'static str] {
    match subject {
        Subject::Trace => &["com", "sem", "fatos", "vezes"],
        Subject::Image => &[
            "camadas",
            "arquivo",
            "sem_arquivo",
            "whiteout",
            "contem",
            "nao_contem",
            "regex",
        ],
        Subject::Containers => &[
            "da_imagem",
            "arquivo",
            "conteudos_distintos",
            "contem",
            "nao_contem",
            "regex",
        ],
        Subject::Output => &["contem", "nao_contem", "regex"],
        Subject::Command => &["contem", "nao_contem", "regex", "codigo"],
    }
}

/// Facts of the replay model a trace check can ask about, with the kind of
/// value each takes (see [`super::facts`]).
pub const FACTS: &[(&str, FactType)] = &[
    ("pid_no_conteiner", FactType::Number),
    ("comando", FactType::Text),
    ("hostname", FactType::Text),
    ("namespaces", FactType::TextList),
    ("codigo_saida", FactType::Number),
    ("sinal", FactType::Text),
    ("oom", FactType::Bool),
    ("limite_memoria", FactType::Number),
    ("rede_bridge", FactType::Bool),
    ("portas", FactType::Number),
    ("camadas", FactType::Number),
    ("whiteouts", FactType::TextList),
    ("upper_adicionados", FactType::Number),
    ("upper_alterados", FactType::Number),
    ("upper_apagados", FactType::Number),
    ("build_passos", FactType::Number),
    ("build_cache", FactType::Number),
    ("build_passos_cache", FactType::NumberList),
    ("build_passos_executados", FactType::NumberList),
    ("build_camadas_novas", FactType::Number),
    ("build_tag", FactType::Text),
    ("registry_camadas", FactType::Number),
    ("camadas_enviadas", FactType::Number),
    ("camadas_baixadas", FactType::Number),
    ("camadas_montadas", FactType::Number),
    ("camadas_ja_estavam", FactType::Number),
    ("rootless", FactType::Bool),
    ("root_e_voce", FactType::Bool),
];

/// The value a fact takes in the lab file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactType {
    /// An integer, or a comparison in a string: `">= 3"`.
    Number,
    Text,
    Bool,
    TextList,
    NumberList,
}

/// Parses and validates a lab file. `file` names it in errors
/// (`labs/01-seu-primeiro-conteiner/lab.toml`).
pub fn parse(file: &str, text: &str) -> Result<LabSpec, LabError> {
    let spec: LabSpec = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        LabError::Spec {
            file: file.to_string(),
            line,
            message: translate(e.message()),
        }
    })?;
    let err = |span: std::ops::Range<usize>, message: String| LabError::Spec {
        file: file.to_string(),
        line: line_of(text, span.start),
        message,
    };
    if spec.tasks.is_empty() {
        return Err(LabError::Spec {
            file: file.to_string(),
            line: 1,
            message: "campo `tarefa`: o laboratório não tem nenhuma [[tarefa]]".into(),
        });
    }
    let mut ids = BTreeSet::new();
    for task in &spec.tasks {
        let id = task.id.get_ref();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(err(
                task.id.span(),
                format!("campo `id`: {id:?} não serve (use letras, dígitos, '-' ou '_')"),
            ));
        }
        for dep in &task.depends {
            if !ids.contains(dep.get_ref()) {
                return Err(err(
                    dep.span(),
                    format!(
                        "campo `depende`: {:?} não é o id de uma tarefa anterior a {id:?}",
                        dep.get_ref()
                    ),
                ));
            }
        }
        if !ids.insert(id.clone()) {
            return Err(err(
                task.id.span(),
                format!("campo `id`: a tarefa {id:?} aparece duas vezes"),
            ));
        }
        if task.checks.is_empty() {
            return Err(err(
                task.id.span(),
                format!("campo `confere`: a tarefa {id:?} não tem nenhum [[tarefa.confere]]"),
            ));
        }
        for check in &task.checks {
            validate(check, false).map_err(|(span, m)| err(span, m))?;
        }
        for check in &task.mistakes {
            validate(check, true).map_err(|(span, m)| err(span, m))?;
        }
    }
    Ok(spec)
}

type Invalid = (std::ops::Range<usize>, String);

fn validate(check: &Spanned<Check>, mistake: bool) -> Result<(), Invalid> {
    let span = check.span();
    let c = check.get_ref();
    let table = if mistake {
        "[[tarefa.erro]]"
    } else {
        "[[tarefa.confere]]"
    };
    match (mistake, &c.text) {
        (true, None) => {
            return Err((
                span,
                format!(
                "campo `texto`: falta em {table} (o que o aluno lê quando o erro é reconhecido)"
            ),
            ))
        }
        (false, Some(_)) => return Err((span, "campo `texto`: só vale em [[tarefa.erro]]".into())),
        _ => {}
    }
    let subjects = c.subjects();
    let subject = match subjects.as_slice() {
        [one] => one.1,
        [] => {
            return Err((
                span,
                format!(
                "{table} precisa de um destes campos: trace, imagem, conteineres, saida, comando"
            ),
            ))
        }
        many => {
            let names: Vec<_> = many.iter().map(|(n, _)| format!("`{n}`")).collect();
            return Err((
                span,
                format!(
                    "{table} tem mais de um assunto ({}): use um por verificação",
                    names.join(", ")
                ),
            ));
        }
    };
    let ok = allowed(subject);
    let subject_name = subjects[0].0;
    if let Some(bad) = c.refinements().into_iter().find(|r| !ok.contains(r)) {
        return Err((
            span,
            format!(
                "campo `{bad}`: não vale com `{subject_name}` (com `{subject_name}` valem: {})",
                ok.join(", ")
            ),
        ));
    }
    if let Some(t) = &c.trace {
        if !["run", "build", "push", "pull", "qualquer"].contains(&t.get_ref().as_str()) {
            return Err((
                t.span(),
                format!(
                    "campo `trace`: {:?} não é run, build, push, pull nem qualquer",
                    t.get_ref()
                ),
            ));
        }
    }
    for (name, value) in [
        ("conteineres", &c.containers),
        ("vezes", &c.times),
        ("camadas", &c.layers),
    ] {
        if let Some(v) = value {
            if Cmp::from_value(v.get_ref()).is_none() {
                return Err((
                    v.span(),
                    format!("campo `{name}`: esperava um número ou uma comparação como \">= 3\""),
                ));
            }
        }
    }
    if let Some(r) = &c.regex {
        if let Err(e) = regex::Regex::new(r.get_ref()) {
            return Err((r.span(), format!("campo `regex`: expressão inválida: {e}")));
        }
    }
    for (name, patterns) in [("com", &c.with), ("sem", &c.without)] {
        for p in patterns {
            validate_pattern(name, p)?;
        }
    }
    if let Some(facts) = &c.facts {
        for (key, value) in facts.get_ref() {
            let Some((_, ty)) = FACTS.iter().find(|(n, _)| n == key) else {
                let names: Vec<_> = FACTS.iter().map(|(n, _)| *n).collect();
                return Err((
                    facts.span(),
                    format!(
                        "campo `fatos`: fato desconhecido `{key}` (os fatos são: {})",
                        names.join(", ")
                    ),
                ));
            };
            if !fact_value_ok(*ty, value) {
                return Err((
                    facts.span(),
                    format!("campo `fatos`: `{key}` espera {}", fact_type_text(*ty)),
                ));
            }
        }
    }
    Ok(())
}

fn validate_pattern(field: &str, p: &Spanned<toml::Table>) -> Result<(), Invalid> {
    let Some(kind) = p.get_ref().get("evento") else {
        return Err((
            p.span(),
            format!("campo `{field}`: cada padrão precisa de `evento` (o tipo, como \"namespace.create\")"),
        ));
    };
    let Some(kind) = kind.as_str() else {
        return Err((
            p.span(),
            format!("campo `{field}`: `evento` deve ser um texto"),
        ));
    };
    if !casulo_trace::KINDS.contains(&kind) {
        return Err((
            p.span(),
            format!(
                "campo `{field}`: evento desconhecido {kind:?} (os tipos de evento estão em labs/README.md)"
            ),
        ));
    }
    Ok(())
}

fn fact_value_ok(ty: FactType, v: &toml::Value) -> bool {
    match ty {
        FactType::Number => Cmp::from_value(v).is_some(),
        FactType::Text => v.is_str(),
        FactType::Bool => v.is_bool(),
        FactType::TextList => v.as_array().is_some_and(|a| a.iter().all(|x| x.is_str())),
        FactType::NumberList => v
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x.is_integer())),
    }
}

fn fact_type_text(ty: FactType) -> &'static str {
    match ty {
        FactType::Number => "um número ou uma comparação como \">= 3\"",
        FactType::Text => "um texto",
        FactType::Bool => "true ou false",
        FactType::TextList => "uma lista de textos",
        FactType::NumberList => "uma lista de números",
    }
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// serde's and toml's English messages, in Portuguese (the common ones).
fn translate(message: &str) -> String {
    let m = message.trim();
    if let Some(rest) = m.strip_prefix("unknown field ") {
        let (field, expected) = rest.split_once(", expected").unwrap_or((rest, ""));
        let expected = expected
            .trim_start_matches(" one of")
            .trim()
            .replace("`", "");
        return if expected.is_empty() {
            format!("campo desconhecido {field}")
        } else {
            format!("campo desconhecido {field} (os campos aqui são: {expected})")
        };
    }
    if let Some(field) = m.strip_prefix("missing field ") {
        return format!("falta o campo {field}");
    }
    if let Some(rest) = m.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        return format!("tipo errado: encontrei {found}, esperava {expected}");
    }
    if let Some(rest) = m.strip_prefix("duplicate key") {
        return format!("chave repetida{rest}");
    }
    format!("TOML inválido: {m}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds of the trace's schema (`oneOf`), each with its own fields.
    fn schema_kinds() -> std::collections::BTreeMap<String, Vec<String>> {
        let schema = casulo_trace::schema::event_schema();
        let mut kinds = std::collections::BTreeMap::new();
        for variant in schema["oneOf"].as_array().expect("oneOf") {
            let props = variant["properties"].as_object().expect("properties");
            let kind = props["kind"]["const"].as_str().expect("kind const");
            let mut fields: Vec<String> = props.keys().filter(|k| *k != "kind").cloned().collect();
            fields.sort();
            kinds.insert(kind.to_string(), fields);
        }
        kinds
    }

    /// The rows of labs/README.md's table of event kinds: the kind and the
    /// fields named in its second cell, outside the parentheses (which
    /// explain values: `map` (`"uid"` ou `"gid"`)).
    fn guide_kinds() -> std::collections::BTreeMap<String, Vec<String>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        let guide = std::fs::read_to_string(root.join("labs/README.md")).unwrap();
        let mut rows = std::collections::BTreeMap::new();
        for line in guide.lines() {
            let cells: Vec<&str> = line.split(" | ").collect();
            let Some(kind) = cells.first().and_then(|c| c.strip_prefix("| `")) else {
                continue;
            };
            let is_kind = |k: &&str| {
                k.contains('.')
                    && k.chars()
                        .all(|c| c.is_ascii_lowercase() || "._".contains(c))
            };
            let Some(kind) = kind.strip_suffix('`').filter(is_kind) else {
                continue;
            };
            let (mut depth, mut outside) = (0, String::new());
            for c in cells.get(1).copied().unwrap_or("").chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ if depth == 0 => outside.push(c),
                    _ => {}
                }
            }
            let mut fields: Vec<String> = outside
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            fields.sort();
            rows.insert(kind.to_string(), fields);
        }
        rows
    }

    /// The checker's "evento desconhecido" points teachers to that table:
    /// it lists every kind of the schema, each with its fields.
    #[test]
    fn the_teachers_guide_lists_every_event_kind_with_its_fields() {
        let (schema, guide) = (schema_kinds(), guide_kinds());
        assert_eq!(schema.len(), casulo_trace::KINDS.len());
        for (kind, fields) in &schema {
            assert_eq!(
                guide.get(kind),
                Some(fields),
                "labs/README.md: a linha de `{kind}` deve listar os campos {fields:?}"
            );
        }
        let extra: Vec<&String> = guide.keys().filter(|k| !schema.contains_key(*k)).collect();
        assert!(
            extra.is_empty(),
            "labs/README.md lista tipos que não existem: {extra:?}"
        );
    }

    fn err_of(text: &str) -> String {
        parse("lab.toml", text).unwrap_err().to_string()
    }

    const OK: &str = r#"titulo = "t"
capitulo = "01-o-que-e-um-conteiner"
resumo = "r"

[[tarefa]]
id = "a"
titulo = "A"

  [[tarefa.confere]]
  trace = "run"
  com = [{ evento = "namespace.create", ns = "pid" }]
  fatos = { pid_no_conteiner = 1, build_cache = ">= 2" }
"#;

    #[test]
    fn a_good_file_parses() {
        let spec = parse("lab.toml", OK).unwrap();
        assert_eq!(spec.tasks.len(), 1);
        assert_eq!(spec.tasks[0].checks[0].get_ref().subject(), Subject::Trace);
    }

    #[test]
    fn unknown_field_names_line_and_field() {
        let e = err_of(&OK.replace("  trace = \"run\"", "  trace = \"run\"\n  tipo = 3"));
        assert!(e.starts_with("lab.toml:11:"), "{e}");
        assert!(
            e.contains("campo desconhecido") && e.contains("tipo"),
            "{e}"
        );
    }

    #[test]
    fn unknown_event_and_fact_are_refused() {
        let e = err_of(&OK.replace("namespace.create", "namespace.criar"));
        assert!(
            e.starts_with("lab.toml:11:") && e.contains("namespace.criar"),
            "{e}"
        );
        let e = err_of(&OK.replace("pid_no_conteiner", "pid_do_conteiner"));
        assert!(
            e.starts_with("lab.toml:12:") && e.contains("pid_do_conteiner"),
            "{e}"
        );
    }
}
