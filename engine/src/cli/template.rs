//! `--format` as docker users type it: the small part of Go's templates
//! that `docker ps --format` and `docker inspect -f` are used with.
//!
//! - `{{.Campo}}` and nested `{{.State.Status}}`: the value of a field of
//!   the JSON that `--format json` prints (strings bare, numbers and
//!   booleans as text, objects and lists as JSON);
//! - `{{json .}}`, `{{json .Campo}}`: the value as JSON;
//! - `table` at the start (only `ps`): a header line, and columns aligned as
//!   docker's tabwriter does;
//! - `\t` and `\n` typed literally become a tab and a new line (docker does
//!   the same before parsing).
//!
//! Anything else (`range`, `if`, functions other than `json`) is refused
//! with a message that says what is supported. Written by hand: the subset
//! is tiny, and a Go template engine in Rust would be a larger dependency
//! than the feature.

use serde_json::Value;

/// A parsed `--format`.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// `table …`: a header line first, columns aligned.
    pub table: bool,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    /// A field path (empty: the whole object), and whether `json` was asked.
    Field {
        path: Vec<String>,
        json: bool,
    },
}

impl Template {
    /// Parses `text`; the error names what is wrong, in Portuguese.
    pub fn parse(text: &str) -> Result<Template, String> {
        let text = text.replace("\\t", "\t").replace("\\n", "\n");
        let (table, text) = match text.trim_start().strip_prefix("table") {
            Some(rest) => (true, rest.trim_start().to_string()),
            None => (false, text),
        };
        let mut parts = Vec::new();
        let mut rest = text.as_str();
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("--format: falta fechar `{{{{` com `}}}}` em {text:?}"))?;
            parts.push(action(after[..close].trim())?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { table, parts })
    }

    /// The line for one object; an unknown field is an error naming it.
    pub fn render(&self, value: &Value) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field { path, json } => {
                    let mut v = value;
                    for (i, key) in path.iter().enumerate() {
                        v = v.get(key).ok_or_else(|| unknown(&path[..=i], value))?;
                    }
                    match (v, json) {
                        (_, true) => out.push_str(&v.to_string()),
                        (Value::String(s), false) => out.push_str(s),
                        (Value::Null, false) => out.push_str("<no value>"),
                        (other, false) => out.push_str(&other.to_string()),
                    }
                }
            }
        }
        Ok(out)
    }

    /// The header of a `table`: each field's name as `header` spells it.
    pub fn header(&self, header: impl Fn(&str) -> String) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Field { path, .. } => header(&path.join(".")),
            })
            .collect()
    }
}

fn action(inner: &str) -> Result<Part, String> {
    let (json, arg) = match inner.strip_prefix("json") {
        Some(rest) if rest.starts_with(char::is_whitespace) => (true, rest.trim()),
        _ => (false, inner),
    };
    let path = match arg {
        "." => Vec::new(),
        _ => match arg.strip_prefix('.') {
            Some(p) if !p.is_empty() && p.split('.').all(valid_name) => {
                p.split('.').map(str::to_string).collect()
            }
            _ => {
                return Err(format!(
                    "--format: não sei fazer `{{{{{inner}}}}}`: o casulo entende \
                     `{{{{.Campo}}}}`, `{{{{.Campo.Outro}}}}`, `{{{{json .}}}}` e \
                     `{{{{json .Campo}}}}` (e `table` no começo, no ps)"
                ))
            }
        },
    };
    Ok(Part::Field { path, json })
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn unknown(path: &[String], value: &Value) -> String {
    let at = &path[..path.len() - 1];
    let mut v = value;
    for key in at {
        v = &v[key];
    }
    let fields = v
        .as_object()
        .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    format!(
        "--format: o campo .{} não existe (os campos{}: {fields})",
        path.join("."),
        if at.is_empty() {
            String::new()
        } else {
            format!(" de .{}", at.join("."))
        }
    )
}

/// Lines of `\t`-separated cells aligned as docker's tabwriter (padding 3).
pub fn align(lines: &[String]) -> String {
    let rows: Vec<Vec<&str>> = lines.iter().map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(old) => *old = (*old).max(w),
                None => widths.push(w),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let last = row.len() - 1;
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths[i] + 3 - cell.chars().count();
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_nested_fields_and_json_render_as_docker_does() {
        let v = json!({"Names": "web", "State": {"Status": "running", "Pid": 42, "Paused": false}});
        let t = Template::parse("{{.Names}} {{ .State.Status }} {{.State.Pid}}").unwrap();
        assert_eq!(t.render(&v).unwrap(), "web running 42");
        let t = Template::parse("{{json .State}}").unwrap();
        assert_eq!(
            t.render(&v).unwrap(),
            r#"{"Paused":false,"Pid":42,"Status":"running"}"#
        );
        assert_eq!(
            Template::parse(r"{{.Names}}\t{{.State.Paused}}")
                .unwrap()
                .render(&v)
                .unwrap(),
            "web\tfalse"
        );
    }

    #[test]
    fn a_table_has_a_header_and_aligned_columns() {
        let t = Template::parse(r"table {{.ID}}\t{{.Names}}").unwrap();
        assert!(t.table);
        let header = t.header(|f| f.to_uppercase());
        let rows = [
            header,
            t.render(&json!({"ID": "abc", "Names": "x"})).unwrap(),
        ];
        assert_eq!(align(&rows), "ID    NAMES\nabc   x\n");
    }

    #[test]
    fn mistakes_are_named() {
        let v = json!({"State": {"Status": "running"}});
        let e = Template::parse("{{.State.Statu}}")
            .unwrap()
            .render(&v)
            .unwrap_err();
        assert!(e.contains(".State.Statu") && e.contains("Status"), "{e}");
        let e = Template::parse("{{range .Mounts}}x{{end}}").unwrap_err();
        assert!(e.contains("range"), "{e}");
        assert!(Template::parse("{{.Names").unwrap_err().contains("fechar"));
    }
}
