//! Reading and validating a trace.
//!
//! [`read_trace`] checks, line by line, the rules every writer keeps:
//!
//! 1. line 1 is a [`Header`] whose `format` is [`FORMAT_NAME`] and whose
//!    `format_version` this reader understands (1 ..= [`FORMAT_VERSION`]);
//! 2. every further line is a JSON object with `seq` (0, 1, 2, … with no
//!    gaps), `t_us` (never going back) and `kind`;
//! 3. a line whose `kind` is not in [`KINDS`] comes from a newer casulo: it is
//!    skipped (and listed in [`Trace::skipped`]) after its `seq`/`t_us` are
//!    checked; unknown *fields* are ignored, so old readers keep working on
//!    new traces;
//! 4. a known kind must have the right fields, with the right types.
//!
//! The first problem stops the reading, with a message in Brazilian
//! Portuguese that names the line (and the field, when it can be found).
//! Blank lines at the end of the file are fine; a blank line in the middle
//! is not.

use serde_json::{Map, Value};

use crate::header_from_json::HeaderIn;
use crate::{Event, Header, FORMAT_NAME, FORMAT_VERSION, KINDS};

/// A trace read and validated.
#[derive(Debug, Clone)]
pub struct Trace {
    pub header: Header,
    /// Known events, in order.
    pub events: Vec<Event>,
    /// Lines skipped because their kind is unknown to this reader: (line number, kind).
    pub skipped: Vec<(usize, String)>,
}

/// The first problem found, with its 1-based line number; message in pt-BR.
///
/// `line` is 0 when the problem is not in any line (the file could not be
/// read at all); [`Display`](std::fmt::Display) then shows only the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    pub line: usize,
    pub message: String,
}

impl TraceError {
    fn new(line: usize, message: impl Into<String>) -> TraceError {
        TraceError {
            line,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "linha {}: {}", self.line, self.message)
        }
    }
}

impl std::error::Error for TraceError {}

/// Reads and validates a whole trace (the contents of a `.trace.jsonl` file).
pub fn read_trace(text: &str) -> Result<Trace, TraceError> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    // Blank lines at the end are fine (the file ends with '\n').
    let last = lines.iter().rposition(|l| !l.trim().is_empty());
    let Some(last) = last else {
        return Err(TraceError::new(
            1,
            "o arquivo está vazio: faltou o cabeçalho (a linha 1 de todo trace)",
        ));
    };
    let lines = &lines[..=last];

    let mut reader = Reader::new(lines[0])?;
    for raw in &lines[1..] {
        reader.line(raw)?;
    }
    Ok(reader.finish())
}

/// Reads a trace one line at a time, as it arrives (the live view gets
/// it from the daemon line by line): the same checks as [`read_trace`],
/// which uses it.
#[derive(Debug, Clone)]
pub struct Reader {
    header: Header,
    /// Lines read so far, the header included.
    lines: usize,
    last_t_us: Option<u64>,
    events: Vec<Event>,
    skipped: Vec<(usize, String)>,
}

impl Reader {
    /// Starts with line 1, the header.
    pub fn new(header_line: &str) -> Result<Reader, TraceError> {
        Ok(Reader {
            header: read_header(header_line)?,
            lines: 1,
            last_t_us: None,
            events: Vec::new(),
            skipped: Vec::new(),
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Lines skipped so far (unknown kinds): (line number, kind).
    pub fn skipped(&self) -> &[(usize, String)] {
        &self.skipped
    }

    /// The events read since the last call (the rest stays counted).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Everything read, as a [`Trace`] (events taken before are not in it).
    pub fn finish(self) -> Trace {
        Trace {
            header: self.header,
            events: self.events,
            skipped: self.skipped,
        }
    }

    /// Reads the next line (without its `\n`).
    pub fn line(&mut self, raw: &str) -> Result<(), TraceError> {
        self.lines += 1;
        let line_no = self.lines;
        // Line 2 holds seq 0.
        let expected_seq = (line_no - 2) as u64;
        let last_t_us = self.last_t_us;
        let err = |msg: String| TraceError::new(line_no, msg);
        if raw.trim().is_empty() {
            return Err(err(
                "linha em branco no meio do trace (cada linha deve ser um evento)".into(),
            ));
        }
        // Fast path: a well-formed event of a known kind, in order, is
        // deserialized straight from the text (a big trace is mostly these).
        // Anything else goes through the checks below, which find and name
        // the problem.
        if let Ok(event) = serde_json::from_str::<Event>(raw) {
            if event.seq == expected_seq && last_t_us.is_none_or(|prev| event.t_us >= prev) {
                self.last_t_us = Some(event.t_us);
                self.events.push(event);
                return Ok(());
            }
        }
        let value: Value = serde_json::from_str(raw)
            .map_err(|e| err(format!("não é JSON válido: {}", json_syntax_error(&e))))?;
        let Value::Object(obj) = value else {
            return Err(err(format!(
                "esperava um objeto JSON ({{…}}) com um evento, encontrei {}",
                describe_value(&value)
            )));
        };

        // seq: present, a non-negative integer, and the next one.
        let seq = required_u64(&obj, "seq").map_err(&err)?;
        if seq != expected_seq {
            let why = if seq > expected_seq {
                if seq - expected_seq == 1 {
                    "falta um evento".to_string()
                } else {
                    format!("faltam {} eventos", seq - expected_seq)
                }
            } else {
                "evento repetido ou fora de ordem".to_string()
            };
            return Err(err(format!(
                "seq esperado {expected_seq}, encontrado {seq} ({why})"
            )));
        }

        // t_us: present, a non-negative integer, never going back.
        let t_us = required_u64(&obj, "t_us").map_err(&err)?;
        if let Some(prev) = last_t_us {
            if t_us < prev {
                return Err(err(format!("t_us voltou no tempo ({t_us} < {prev})")));
            }
        }
        self.last_t_us = Some(t_us);

        // kind: present and a string; unknown kinds are skipped.
        let kind = match obj.get("kind") {
            None => return Err(err("falta o campo `kind` (o tipo do evento)".into())),
            Some(Value::String(k)) => k.clone(),
            Some(other) => {
                return Err(err(format!(
                    "o campo `kind` deveria ser um texto como \"mount.overlay\", encontrei {}",
                    describe_value(other)
                )))
            }
        };
        if !KINDS.contains(&kind.as_str()) {
            self.skipped.push((line_no, kind));
            return Ok(());
        }

        let event = parse_event(obj, &kind).map_err(&err)?;
        self.events.push(event);
        Ok(())
    }
}

/// Reads a trace file from disk and validates it (see [`read_trace`]).
///
/// I/O problems (file missing, not UTF-8, no permission) become a
/// [`TraceError`] with `line` 0.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_trace_file(path: impl AsRef<std::path::Path>) -> Result<Trace, TraceError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| {
        TraceError::new(
            0,
            format!("não consegui ler {}: {}", path.display(), io_error_pt(&e)),
        )
    })?;
    read_trace(&text)
}

#[cfg(not(target_arch = "wasm32"))]
fn io_error_pt(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let pt = match e.kind() {
        ErrorKind::NotFound => "arquivo não encontrado",
        ErrorKind::PermissionDenied => "permissão negada",
        ErrorKind::InvalidData => "o conteúdo não é texto UTF-8",
        ErrorKind::IsADirectory => "é um diretório, não um arquivo",
        _ => return e.to_string(),
    };
    format!("{pt} ({e})")
}

fn read_header(raw: &str) -> Result<Header, TraceError> {
    let bad = |msg: String| TraceError::new(1, format!("cabeçalho ausente ou inválido: {msg}"));
    if raw.trim().is_empty() {
        return Err(bad("a linha 1 está em branco".into()));
    }
    let value: Value = serde_json::from_str(raw)
        .map_err(|e| bad(format!("não é JSON válido: {}", json_syntax_error(&e))))?;
    let Value::Object(obj) = &value else {
        return Err(bad(format!(
            "esperava um objeto JSON ({{…}}), encontrei {}",
            describe_value(&value)
        )));
    };
    match obj.get("format") {
        Some(Value::String(f)) if f == FORMAT_NAME => {}
        Some(other) => {
            return Err(bad(format!(
                "o campo `format` deveria ser \"{FORMAT_NAME}\", encontrei {} \
                 (este arquivo não é um trace do Casulo?)",
                describe_value(other)
            )))
        }
        None if obj.contains_key("seq") || obj.contains_key("kind") => {
            return Err(bad(
                "a linha 1 parece um evento, mas todo trace começa com o cabeçalho \
                 (o arquivo foi cortado no começo?)"
                    .into(),
            ))
        }
        None => {
            return Err(bad(format!(
                "falta o campo `format` (deveria ser \"{FORMAT_NAME}\")"
            )))
        }
    }
    let version = match obj.get("format_version") {
        None => return Err(bad("falta o campo `format_version`".into())),
        Some(v) => v.as_u64().ok_or_else(|| {
            bad(format!(
                "o campo `format_version` deveria ser um número inteiro, encontrei {}",
                describe_value(v)
            ))
        })?,
    };
    if version == 0 || version > u64::from(FORMAT_VERSION) {
        let hint = if version > u64::from(FORMAT_VERSION) {
            " (o trace foi gravado por um casulo mais novo: atualize o leitor)"
        } else {
            ""
        };
        return Err(bad(format!(
            "versão de formato {version} não suportada; este leitor entende de 1 até \
             {FORMAT_VERSION}{hint}"
        )));
    }
    // By hand (`header_from_json`), not serde's derive: less wasm.
    serde_json::from_value::<HeaderIn>(value.clone())
        .map(|h| h.0)
        .map_err(|e| {
            let field = find_bad_field::<HeaderIn>(obj, &e.to_string(), &[]);
            bad(serde_error_pt(&e.to_string(), field.as_deref()))
        })
}

fn required_u64(obj: &Map<String, Value>, field: &str) -> Result<u64, String> {
    match obj.get(field) {
        None => Err(format!("falta o campo `{field}`")),
        Some(v) => v.as_u64().ok_or_else(|| {
            format!(
                "o campo `{field}` deveria ser um número inteiro ≥ 0, encontrei {}",
                describe_value(v)
            )
        }),
    }
}

/// Common fields every event has besides `seq`, `t_us` and `kind`.
const COMMON: &[&str] = &["seq", "t_us", "pid", "kind", "op", "outcome"];

fn parse_event(obj: Map<String, Value>, kind: &str) -> Result<Event, String> {
    // The object is fine after all (its seq or time were checked apart).
    let first_error = match event_from_text(&obj) {
        Ok(event) => return Ok(event),
        Err(e) => e,
    };
    let bad = |msg: String| format!("evento `{kind}` inválido: {msg}");

    // The common fields, one by one (serde does not name the field of an
    // invalid type in a struct with a flattened part).
    check_field::<i32>(&obj, "pid").map_err(bad)?;
    check_field::<String>(&obj, "op").map_err(bad)?;
    check_field::<crate::Outcome>(&obj, "outcome").map_err(bad)?;

    // Then the kind's own fields, read by the same code as the fast path
    // (`from_str::<Event>`): a second deserializer for the 80-odd kinds
    // (`from_value::<EventBody>`) would double their code in the wasm.
    if let Err(msg) = event_from_text(&obj) {
        let field = find_bad_field_by(&obj, &msg, COMMON, &|o| event_from_text(o).map(|_| ()));
        return Err(bad(serde_error_pt(&msg, field.as_deref())));
    }
    Err(bad(serde_error_pt(&first_error, None)))
}

fn check_field<T: serde::de::DeserializeOwned>(
    obj: &Map<String, Value>,
    field: &str,
) -> Result<(), String> {
    let Some(value) = obj.get(field) else {
        return Err(format!("falta o campo obrigatório `{field}`"));
    };
    let Err(e) = serde_json::from_value::<T>(value.clone()) else {
        return Ok(());
    };
    let msg = e.to_string();
    let path = match value {
        Value::Object(inner) if missing_field(&msg).is_none() => {
            match find_bad_field::<T>(inner, &msg, &[]) {
                Some(sub) => format!("{field}.{sub}"),
                None => field.to_string(),
            }
        }
        _ => field.to_string(),
    };
    Err(serde_error_pt(&msg, Some(&path)))
}

/// Serde does not always say which field had the wrong type. Find it by
/// removing one field at a time: serde stops at the first field with a bad
/// value while reading, and only complains about missing fields at the end, so
/// the culprit is the one field whose removal makes the original error go
/// away (it then becomes "missing field", or the value parses). Nested
/// objects are searched the same way; the answer is a dotted path
/// (`container.name`).
fn find_bad_field<T: serde::de::DeserializeOwned>(
    obj: &Map<String, Value>,
    original: &str,
    skip: &[&str],
) -> Option<String> {
    let parse = |probe: &Map<String, Value>| {
        serde_json::from_value::<T>(Value::Object(probe.clone()))
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    find_bad_field_by(obj, original, skip, &parse)
}

/// An event object read as the fast path reads a line (the text, not a
/// `Value`), its error without serde_json's ` at line L column C` (which
/// moves as fields are removed).
fn event_from_text(obj: &Map<String, Value>) -> Result<Event, String> {
    let text = Value::Object(obj.clone()).to_string();
    serde_json::from_str::<crate::Event>(&text).map_err(|e| {
        let msg = e.to_string();
        match msg.rfind(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        }
    })
}

/// Whether a probe object parses, and with which error.
type ParseProbe<'a> = dyn Fn(&Map<String, Value>) -> Result<(), String> + 'a;

/// [`find_bad_field`] with the parser given: `parse` says whether an
/// object parses, and with which error.
fn find_bad_field_by(
    obj: &Map<String, Value>,
    original: &str,
    skip: &[&str],
    parse: &ParseProbe,
) -> Option<String> {
    if let Some(f) = missing_field(original) {
        // Missing at the top level, or somewhere inside: either way, name it.
        return (!obj.contains_key(f)).then(|| f.to_string());
    }
    let differs = |probe: Map<String, Value>| match parse(&probe) {
        Ok(()) => true,
        Err(e) => e != original,
    };
    let key = obj
        .keys()
        .filter(|k| !skip.contains(&k.as_str()))
        .find(|key| {
            let mut probe = obj.clone();
            probe.remove(*key);
            differs(probe)
        })?;
    let mut path = vec![key.clone()];
    // Go down while the culprit is an object.
    loop {
        let mut cursor = obj;
        for seg in &path {
            match cursor.get(seg) {
                Some(Value::Object(inner)) => cursor = inner,
                _ => return Some(path.join(".")),
            }
        }
        let found = cursor.keys().find(|sub| {
            let mut probe = obj.clone();
            remove_at(&mut probe, &path, sub);
            differs(probe)
        });
        match found {
            Some(sub) => path.push(sub.clone()),
            None => return Some(path.join(".")),
        }
    }
}

/// Removes `key` from the object found at `path` inside `root`.
fn remove_at(root: &mut Map<String, Value>, path: &[String], key: &str) {
    let mut cursor = root;
    for seg in path {
        match cursor.get_mut(seg) {
            Some(Value::Object(inner)) => cursor = inner,
            _ => return,
        }
    }
    cursor.remove(key);
}

fn missing_field(msg: &str) -> Option<&str> {
    msg.strip_prefix("missing field `")?.split('`').next()
}

/// Turns serde's English message into Brazilian Portuguese.
fn serde_error_pt(msg: &str, field: Option<&str>) -> String {
    let at = match field {
        Some(f) => format!("no campo `{f}`: "),
        None => String::new(),
    };
    if let Some(f) = missing_field(msg) {
        if field == Some(f) {
            return format!("falta o campo obrigatório `{f}`");
        }
        return format!("{at}falta o campo obrigatório `{f}`");
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        if let Some((got, want)) = rest.split_once(", expected ") {
            return format!(
                "{at}tipo errado: veio {}, esperava {}",
                serde_unexpected_pt(got),
                serde_expected_pt(want)
            );
        }
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ") {
        if let Some((got, want)) = rest.split_once(", expected ") {
            return format!(
                "{at}valor inválido: veio {}, esperava {}",
                serde_unexpected_pt(got),
                serde_expected_pt(want)
            );
        }
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        if let Some((got, want)) = rest.split_once(", expected ") {
            let want = want
                .strip_prefix("one of ")
                .unwrap_or(want)
                .replace(" or ", " ou ");
            return format!("{at}valor desconhecido {got}; os valores aceitos são {want}");
        }
    }
    format!("{at}{msg}")
}

fn serde_unexpected_pt(got: &str) -> String {
    let strip = |p: &str| got.strip_prefix(p).map(str::to_string);
    if let Some(s) = strip("string ") {
        format!("o texto {s}")
    } else if let Some(s) = strip("integer ") {
        format!("o número {}", s.trim_matches('`'))
    } else if let Some(s) = strip("floating point ") {
        format!("o número com casas decimais {}", s.trim_matches('`'))
    } else if let Some(s) = strip("boolean ") {
        format!("o booleano {}", s.trim_matches('`'))
    } else {
        match got {
            "null" => "null".into(),
            "map" => "um objeto {…}".into(),
            "sequence" => "uma lista […]".into(),
            "unit value" => "null".into(),
            other => other.into(),
        }
    }
}

fn serde_expected_pt(want: &str) -> String {
    match want {
        "u64" | "u32" | "u16" | "u8" => format!("um número inteiro ≥ 0 ({want})"),
        "i64" | "i32" | "i16" | "i8" => format!("um número inteiro ({want})"),
        "a string" => "um texto".into(),
        "a boolean" => "um booleano (true ou false)".into(),
        "a sequence" => "uma lista […]".into(),
        "unit" => "null".into(),
        other => {
            if let Some(name) = other.strip_prefix("struct ") {
                format!("um objeto {name}")
            } else if let Some(name) = other.strip_prefix("enum ") {
                format!("um dos valores de {name}")
            } else {
                other.into()
            }
        }
    }
}

fn json_syntax_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Eof => "o texto acabou antes de o JSON fechar (linha cortada?)",
        Category::Syntax => "erro de sintaxe",
        Category::Data | Category::Io => "dado inválido",
    };
    format!("{what} na coluna {} ({e})", e.column())
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("o booleano {b}"),
        Value::Number(n) => format!("o número {n}"),
        Value::String(s) => format!("o texto {s:?}"),
        Value::Array(_) => "uma lista […]".into(),
        Value::Object(_) => "um objeto {…}".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    fn header_line() -> String {
        serde_json::to_string(&sample::sample_header()).unwrap()
    }

    fn ev(seq: u64, t_us: u64, rest: &str) -> String {
        format!(r#"{{"seq":{seq},"t_us":{t_us},"pid":100,{rest},"op":"x","outcome":"ok"}}"#)
    }

    fn host(seq: u64, t_us: u64) -> String {
        ev(seq, t_us, r#""kind":"uts.sethostname","hostname":"casulo""#)
    }

    fn join(lines: &[String]) -> String {
        let mut s = lines.join("\n");
        s.push('\n');
        s
    }

    fn fail(text: &str) -> TraceError {
        read_trace(text).expect_err("should fail")
    }

    #[test]
    fn sample_trace_reads_back() {
        let text = sample::sample_jsonl();
        let t = read_trace(&text).unwrap();
        assert_eq!(t.header, sample::sample_header());
        assert_eq!(t.events, sample::sample_events());
        assert!(t.skipped.is_empty());
    }

    #[test]
    fn header_only_and_trailing_blank_lines_and_crlf() {
        let t = read_trace(&header_line()).unwrap();
        assert!(t.events.is_empty());
        let text = format!("{}\r\n{}\r\n\n\n", header_line(), host(0, 5));
        let t = read_trace(&text).unwrap();
        assert_eq!(t.events.len(), 1);
    }

    #[test]
    fn empty_file_is_error_line_1() {
        for text in ["", "\n", "  \n\n"] {
            let e = fail(text);
            assert_eq!(e.line, 1);
            assert!(e.message.contains("vazio"), "{e}");
        }
    }

    #[test]
    fn header_errors() {
        let e = fail("{not json\n");
        assert_eq!(e.line, 1);
        assert!(
            e.to_string()
                .starts_with("linha 1: cabeçalho ausente ou inválido: não é JSON válido"),
            "{e}"
        );

        let e = fail("[1,2]\n");
        assert!(e.message.contains("esperava um objeto"), "{e}");

        let other = header_line().replace("casulo-trace", "outra-coisa");
        let e = fail(&other);
        assert!(e.message.contains("`format` deveria ser"), "{e}");

        let e = fail(&join(&[host(0, 0)]));
        assert_eq!(e.line, 1);
        assert!(e.message.contains("parece um evento"), "{e}");

        let newer = header_line().replace("\"format_version\":1", "\"format_version\":2");
        let e = fail(&newer);
        assert!(
            e.message.contains("versão de formato 2 não suportada"),
            "{e}"
        );
        assert!(e.message.contains("mais novo"), "{e}");

        let zero = header_line().replace("\"format_version\":1", "\"format_version\":0");
        assert!(fail(&zero).message.contains("versão de formato 0"));

        let no_kernel = header_line().replace("\"kernel\"", "\"kernelx\"");
        let e = fail(&no_kernel);
        assert_eq!(
            e.to_string(),
            "linha 1: cabeçalho ausente ou inválido: falta o campo obrigatório `kernel`"
        );

        let bad_type = header_line().replace("\"cgroup_mode\":\"hybrid\"", "\"cgroup_mode\":2");
        let e = fail(&bad_type);
        assert!(e.message.contains("no campo `cgroup_mode`"), "{e}");

        let nested = header_line().replace("\"name\":\"curioso_tucano\"", "\"name\":5");
        let e = fail(&nested);
        assert!(e.message.contains("no campo `container.name`"), "{e}");
        assert!(e.message.contains("tipo errado"), "{e}");
    }

    #[test]
    fn seq_gap_and_repeat() {
        let text = join(&[
            header_line(),
            host(0, 1),
            host(1, 2),
            host(2, 3),
            host(5, 4),
        ]);
        let e = fail(&text);
        assert_eq!(e.line, 5);
        assert_eq!(
            e.to_string(),
            "linha 5: seq esperado 3, encontrado 5 (faltam 2 eventos)"
        );

        let text = join(&[
            header_line(),
            host(0, 1),
            host(1, 2),
            host(2, 3),
            host(4, 4),
        ]);
        assert_eq!(
            fail(&text).to_string(),
            "linha 5: seq esperado 3, encontrado 4 (falta um evento)"
        );

        let text = join(&[header_line(), host(0, 1), host(0, 2)]);
        let e = fail(&text);
        assert_eq!(e.line, 3);
        assert!(e.message.contains("repetido"), "{e}");

        let text = join(&[header_line(), host(1, 1)]);
        assert_eq!(
            fail(&text).to_string(),
            "linha 2: seq esperado 0, encontrado 1 (falta um evento)"
        );
    }

    #[test]
    fn t_us_going_back() {
        let text = join(&[header_line(), host(0, 1500), host(1, 1500), host(2, 1200)]);
        assert_eq!(
            fail(&text).to_string(),
            "linha 4: t_us voltou no tempo (1200 < 1500)"
        );
    }

    #[test]
    fn not_json_and_not_object() {
        let text = join(&[header_line(), host(0, 1), "{\"seq\": 1,".into()]);
        let e = fail(&text);
        assert_eq!(e.line, 3);
        assert!(
            e.to_string().starts_with("linha 3: não é JSON válido: "),
            "{e}"
        );

        let text = join(&[header_line(), "42".into()]);
        let e = fail(&text);
        assert!(e.message.contains("encontrei o número 42"), "{e}");
    }

    #[test]
    fn blank_line_in_the_middle() {
        let text = join(&[header_line(), host(0, 1), String::new(), host(1, 2)]);
        let e = fail(&text);
        assert_eq!(e.line, 3);
        assert!(e.message.contains("em branco"), "{e}");
    }

    #[test]
    fn missing_or_bad_common_fields() {
        let text = join(&[header_line(), r#"{"t_us":1,"kind":"x"}"#.into()]);
        assert_eq!(fail(&text).to_string(), "linha 2: falta o campo `seq`");

        let text = join(&[header_line(), r#"{"seq":-1,"t_us":1,"kind":"x"}"#.into()]);
        assert!(fail(&text).message.contains("`seq` deveria ser"));

        let text = join(&[header_line(), r#"{"seq":0,"kind":"x"}"#.into()]);
        assert_eq!(fail(&text).to_string(), "linha 2: falta o campo `t_us`");

        let text = join(&[header_line(), r#"{"seq":0,"t_us":0}"#.into()]);
        assert!(fail(&text).message.contains("falta o campo `kind`"));

        let text = join(&[header_line(), r#"{"seq":0,"t_us":0,"kind":7}"#.into()]);
        assert!(fail(&text).message.contains("`kind` deveria ser um texto"));

        // pid missing on a known kind.
        let line =
            r#"{"seq":0,"t_us":0,"kind":"net.link_up","ifname":"lo","op":"x","outcome":"ok"}"#;
        let e = fail(&join(&[header_line(), line.into()]));
        assert_eq!(
            e.to_string(),
            "linha 2: evento `net.link_up` inválido: falta o campo obrigatório `pid`"
        );
    }

    #[test]
    fn known_kind_with_bad_fields_names_the_field() {
        let missing = ev(
            0,
            0,
            r#""kind":"mount.overlay","target":"/m","upperdir":"/u","workdir":"/w""#,
        );
        let e = fail(&join(&[header_line(), missing]));
        assert_eq!(
            e.to_string(),
            "linha 2: evento `mount.overlay` inválido: falta o campo obrigatório `lowerdirs`"
        );

        let wrong_type = ev(
            0,
            0,
            r#""kind":"mount.overlay","target":"/m","lowerdirs":"/l","upperdir":"/u","workdir":"/w""#,
        );
        let e = fail(&join(&[header_line(), wrong_type]));
        assert_eq!(e.line, 2);
        assert!(e.message.contains("no campo `lowerdirs`"), "{e}");
        assert!(e.message.contains("tipo errado"), "{e}");
        assert!(e.message.contains("uma lista"), "{e}");

        let optional_wrong = ev(
            0,
            0,
            r#""kind":"namespace.create","ns":"pid","via":"clone","inode":"abc""#,
        );
        let e = fail(&join(&[header_line(), optional_wrong]));
        assert!(e.message.contains("no campo `inode`"), "{e}");

        let bad_variant = ev(
            0,
            0,
            r#""kind":"namespace.create","ns":"banana","via":"clone""#,
        );
        let e = fail(&join(&[header_line(), bad_variant]));
        assert!(e.message.contains("no campo `ns`"), "{e}");
        assert!(e.message.contains("valor desconhecido `banana`"), "{e}");

        let bad_outcome = r#"{"seq":0,"t_us":0,"pid":1,"kind":"net.link_up","ifname":"lo","op":"x","outcome":{"error":{"errno":"two","name":"ENOENT","message":"m"}}}"#;
        let e = fail(&join(&[header_line(), bad_outcome.into()]));
        assert!(e.message.contains("no campo `outcome.error.errno`"), "{e}");

        let bad_outcome = r#"{"seq":0,"t_us":0,"pid":1,"kind":"net.link_up","ifname":"lo","op":"x","outcome":"maybe"}"#;
        let e = fail(&join(&[header_line(), bad_outcome.into()]));
        assert_eq!(
            e.to_string(),
            "linha 2: evento `net.link_up` inválido: no campo `outcome`: valor desconhecido \
             `maybe`; os valores aceitos são `ok` ou `error`"
        );

        let bad_pid = r#"{"seq":0,"t_us":0,"pid":"p","kind":"net.link_up","ifname":"lo","op":"x","outcome":"ok"}"#;
        let e = fail(&join(&[header_line(), bad_pid.into()]));
        assert!(e.message.contains("no campo `pid`"), "{e}");
    }

    #[test]
    fn unknown_kinds_are_skipped_but_checked() {
        let future = ev(1, 20, r#""kind":"gpu.sample","vram_bytes":123"#);
        let text = join(&[header_line(), host(0, 10), future, host(2, 30)]);
        let t = read_trace(&text).unwrap();
        assert_eq!(t.events.len(), 2);
        assert_eq!(t.events[1].seq, 2);
        assert_eq!(t.skipped, vec![(3, "gpu.sample".to_string())]);

        // Their seq still counts…
        let future = ev(5, 20, r#""kind":"gpu.sample""#);
        let e = fail(&join(&[header_line(), host(0, 10), future]));
        assert_eq!(e.line, 3);
        assert!(e.message.contains("seq esperado 1"), "{e}");

        // …and so does their t_us.
        let future = ev(1, 5, r#""kind":"cgroup.sample""#);
        let e = fail(&join(&[header_line(), host(0, 10), future]));
        assert!(e.message.contains("t_us voltou no tempo (5 < 10)"), "{e}");
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let header = header_line().replacen('{', r#"{"new_header_field":{"a":1},"#, 1);
        let line = ev(
            0,
            0,
            r#""kind":"uts.sethostname","hostname":"c","new_field":[1,2],"uid":"zz""#,
        );
        let t = read_trace(&join(&[header, line])).unwrap();
        assert_eq!(t.events.len(), 1);
        assert_eq!(
            t.events[0].body,
            crate::EventBody::UtsSethostname {
                hostname: "c".into()
            }
        );
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn read_trace_file_maps_io_errors() {
        let e = read_trace_file("/nonexistent/casulo/x.trace.jsonl").unwrap_err();
        assert_eq!(e.line, 0);
        assert!(
            e.message.starts_with(
                "não consegui ler /nonexistent/casulo/x.trace.jsonl: arquivo não encontrado"
            ),
            "{e}"
        );
        assert!(e.to_string().starts_with("não consegui ler"), "{e}");

        let dir = std::env::temp_dir().join(format!("casulo-trace-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ok.trace.jsonl");
        std::fs::write(&path, sample::sample_jsonl()).unwrap();
        let t = read_trace_file(&path).unwrap();
        assert_eq!(t.events.len(), sample::sample_events().len());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
