//! The generated schemas accept real trace lines and reject broken ones
//! (checked with an independent validator, `jsonschema`).

use casulo_trace::sample::{sample_events, sample_header};
use casulo_trace::schema::{event_schema, header_schema, trace_schema};
use serde_json::{json, Value};

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::new(schema).expect("the generated schema is a valid 2020-12 schema")
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn schemas_are_valid_json_schemas() {
    for s in [header_schema(), event_schema(), trace_schema()] {
        assert!(jsonschema::meta::is_valid(&s), "not a valid schema: {s:#}");
        validator(&s);
    }
}

#[test]
fn every_sample_event_is_valid() {
    let ev = validator(&event_schema());
    let all = validator(&trace_schema());
    for event in sample_events() {
        let line = serde_json::to_value(&event).unwrap();
        assert_eq!(errors(&ev, &line), Vec::<String>::new(), "{line}");
        assert!(all.is_valid(&line), "{line}");
    }
    // Optional fields left out are fine too.
    let minimal = json!({"seq":0,"t_us":0,"pid":1,"kind":"namespace.create","ns":"pid",
                         "via":"unshare","op":"unshare(CLONE_NEWPID)","outcome":"ok"});
    assert!(ev.is_valid(&minimal));
    let failed = json!({"seq":0,"t_us":0,"pid":1,"kind":"net.link_up","ifname":"lo","op":"x",
        "outcome":{"error":{"errno":1,"name":"EPERM","message":"Operation not permitted"}}});
    assert!(ev.is_valid(&failed));
}

#[test]
fn header_is_valid() {
    let h = validator(&header_schema());
    let line = serde_json::to_value(sample_header()).unwrap();
    assert_eq!(errors(&h, &line), Vec::<String>::new());
    assert!(validator(&trace_schema()).is_valid(&line));
    // A header is not an event, nor an event a header.
    assert!(!validator(&event_schema()).is_valid(&line));
    let event = serde_json::to_value(&sample_events()[0]).unwrap();
    assert!(!h.is_valid(&event));
}

fn overlay() -> Value {
    serde_json::to_value(
        sample_events()
            .into_iter()
            .find(|e| e.body.kind() == "mount.overlay")
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn wrong_field_types_are_rejected() {
    let ev = validator(&event_schema());
    let all = validator(&trace_schema());
    let cases: Vec<(&str, Value)> = vec![
        // a kind's own field (inside the flattened enum)
        ("lowerdirs", json!("/a:/b")),
        ("target", json!(7)),
        // common fields
        ("seq", json!(-1)),
        ("t_us", json!("0")),
        ("pid", json!(1.5)),
        ("outcome", json!("maybe")),
        (
            "outcome",
            json!({"error": {"errno": "two", "name": "E", "message": "m"}}),
        ),
    ];
    for (field, bad) in cases {
        let mut line = overlay();
        line[field] = bad.clone();
        assert!(!ev.is_valid(&line), "{field} = {bad} should be rejected");
        assert!(!all.is_valid(&line), "{field} = {bad} should be rejected");
    }
    // A missing field of the kind.
    let mut line = overlay();
    line.as_object_mut().unwrap().remove("upperdir");
    assert!(!ev.is_valid(&line));
    // A namespace kind that does not exist.
    let mut ns = serde_json::to_value(
        sample_events()
            .into_iter()
            .find(|e| e.body.kind() == "namespace.create")
            .unwrap(),
    )
    .unwrap();
    ns["ns"] = json!("banana");
    assert!(!ev.is_valid(&ns));
}

#[test]
fn unknown_fields_are_allowed() {
    // Forward compatibility: newer writers may add fields.
    let ev = validator(&event_schema());
    let mut line = overlay();
    line["new_field"] = json!({"anything": [1, 2]});
    assert!(ev.is_valid(&line));
}

#[test]
fn schema_kinds_match_kinds() {
    // The `kind` constants the schema lists are exactly KINDS, in order.
    let schema = event_schema();
    let kinds: Vec<&str> = schema["oneOf"]
        .as_array()
        .expect("event schema has oneOf")
        .iter()
        .map(|v| {
            v["properties"]["kind"]["const"]
                .as_str()
                .expect("kind const")
        })
        .collect();
    assert_eq!(kinds, casulo_trace::KINDS);
}
