//! JSON Schema of the trace, generated from the Rust types with `schemars`.
//!
//! Two standalone schemas, one per kind of line:
//! - [`header_schema`]: line 1 of a trace;
//! - [`event_schema`]: every other line.
//!
//! [`trace_schema_json`] renders a combined document (checked in at
//! `engine/trace/schema/trace.schema.json`): a schema that accepts either a
//! header or an event, with every type under `$defs`, so one file documents the
//! whole format. The standalone files `header.schema.json` and
//! `event.schema.json` sit beside it for validators that check one line at a
//! time. A test fails when the checked-in files are stale; regenerate them with
//! `CASULO_BLESS=1 cargo test -p casulo-trace --test schema_fresh`.

use schemars::generate::SchemaSettings;
use schemars::schema_for;
use serde_json::{json, Map, Value};

use crate::{Event, Header, FORMAT_NAME, FORMAT_VERSION, KINDS};

/// Standalone JSON Schema (draft 2020-12) of the header line (line 1).
pub fn header_schema() -> Value {
    schema_for!(Header).to_value()
}

/// Standalone JSON Schema (draft 2020-12) of one event line.
pub fn event_schema() -> Value {
    schema_for!(Event).to_value()
}

/// The combined schema: a line is valid if it is a header or an event.
pub fn trace_schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    let header_ref = generator.subschema_for::<Header>();
    let event_ref = generator.subschema_for::<Event>();
    let defs: Map<String, Value> = generator.take_definitions(true);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "casulo-trace",
        "description": format!(
            "Uma linha de um trace do Casulo (JSON Lines, `.trace.jsonl`, formato `{FORMAT_NAME}` \
             versão {FORMAT_VERSION}). A linha 1 é um `Header`; cada linha seguinte é um `Event`. \
             Para validar linha a linha, use `header.schema.json` na linha 1 e \
             `event.schema.json` nas demais. Gerado a partir dos tipos Rust do crate casulo-trace: \
             não edite à mão."
        ),
        "anyOf": [header_ref.to_value(), event_ref.to_value()],
        "$defs": defs,
        "x-casulo-kinds": KINDS,
    })
}

/// [`trace_schema`] as pretty JSON with a trailing newline (the checked-in file).
pub fn trace_schema_json() -> String {
    pretty(&trace_schema())
}

/// [`header_schema`] as pretty JSON with a trailing newline.
pub fn header_schema_json() -> String {
    pretty(&header_schema())
}

/// [`event_schema`] as pretty JSON with a trailing newline.
pub fn event_schema_json() -> String {
    pretty(&event_schema())
}

/// Every checked-in schema file: (file name under `engine/trace/schema/`, contents).
pub fn schema_files() -> Vec<(&'static str, String)> {
    vec![
        ("trace.schema.json", trace_schema_json()),
        ("header.schema.json", header_schema_json()),
        ("event.schema.json", event_schema_json()),
    ]
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("a JSON value always serializes");
    s.push('\n');
    s
}
