//! Event patterns: `{ evento = "namespace.create", ns = "pid" }`.
//!
//! A pattern matches an event when
//!
//! - `evento` is its kind;
//! - `resultado`, if given, is `"ok"`, `"erro"` or an errno name
//!   (`"EPERM"`); without it only events whose call succeeded match;
//! - every other key is a field of the event, and its value matches:
//!   a text equals the field (or, written `"~texto"`, is contained in it);
//!   a number equals it, or a comparison in a string (`">= 3"`) holds;
//!   `true`/`false` equal it; against a list field (`argv`, `flags`), a
//!   single value matches when some element matches, a list when all its
//!   values are elements.

use serde_json::Value as Json;
use toml::Value as Toml;

use super::spec::Cmp;

/// True when `event` (a typed event serialized to JSON) matches `pattern`.
pub fn matches(pattern: &toml::Table, event: &Json) -> bool {
    let Some(obj) = event.as_object() else {
        return false;
    };
    let kind = pattern.get("evento").and_then(Toml::as_str);
    if obj.get("kind").and_then(Json::as_str) != kind {
        return false;
    }
    let outcome = obj.get("outcome");
    let ok = outcome.and_then(Json::as_str) == Some("ok");
    match pattern.get("resultado").and_then(Toml::as_str) {
        None | Some("ok") => {
            if !ok {
                return false;
            }
        }
        Some("erro") => {
            if ok {
                return false;
            }
        }
        Some(errno) => {
            let name = outcome
                .and_then(|o| o.get("error"))
                .and_then(|e| e.get("name"))
                .and_then(Json::as_str);
            if name != Some(errno) {
                return false;
            }
        }
    }
    pattern
        .iter()
        .filter(|(k, _)| *k != "evento" && *k != "resultado")
        .all(|(k, want)| obj.get(k).is_some_and(|have| value_matches(want, have)))
}

/// One expected value against one field.
pub fn value_matches(want: &Toml, have: &Json) -> bool {
    match (want, have) {
        (Toml::Array(wants), Json::Array(haves)) => wants
            .iter()
            .all(|w| haves.iter().any(|h| scalar_matches(w, h))),
        (w, Json::Array(haves)) => haves.iter().any(|h| scalar_matches(w, h)),
        (w, h) => scalar_matches(w, h),
    }
}

fn scalar_matches(want: &Toml, have: &Json) -> bool {
    match (want, have) {
        (Toml::String(w), Json::String(h)) => match w.strip_prefix('~') {
            Some(part) => h.contains(part),
            None => w == h,
        },
        (Toml::String(w), Json::Number(n)) => match (Cmp::parse(w), n.as_i64()) {
            (Some(c), Some(n)) => c.holds(n),
            _ => false,
        },
        (Toml::Integer(w), Json::Number(n)) => n.as_i64() == Some(*w),
        (Toml::Boolean(w), Json::Bool(h)) => w == h,
        _ => false,
    }
}

/// A pattern as the student reads it: `namespace.create com ns = "pid"`.
pub fn describe(pattern: &toml::Table) -> String {
    let kind = pattern.get("evento").and_then(Toml::as_str).unwrap_or("?");
    let rest: Vec<String> = pattern
        .iter()
        .filter(|(k, _)| *k != "evento")
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    if rest.is_empty() {
        format!("um evento {kind}")
    } else {
        format!("um evento {kind} com {}", rest.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> toml::Table {
        toml::from_str(s).unwrap()
    }

    #[test]
    fn kind_fields_lists_and_outcome() {
        let ev = serde_json::json!({"kind": "process.exec", "argv": ["sh", "-c", "echo"], "path": "/bin/sh", "outcome": "ok"});
        assert!(matches(&pat("evento = \"process.exec\""), &ev));
        assert!(matches(
            &pat("evento = \"process.exec\"\nargv = \"sh\""),
            &ev
        ));
        assert!(matches(
            &pat("evento = \"process.exec\"\npath = \"~sh\""),
            &ev
        ));
        assert!(!matches(
            &pat("evento = \"process.exec\"\nargv = \"dd\""),
            &ev
        ));
        assert!(!matches(&pat("evento = \"process.exit\""), &ev));
        assert!(!matches(
            &pat("evento = \"process.exec\"\nresultado = \"erro\""),
            &ev
        ));
        let failed = serde_json::json!({"kind": "mount.fs", "outcome": {"error": {"errno": 1, "name": "EPERM", "message": "x"}}});
        assert!(matches(
            &pat("evento = \"mount.fs\"\nresultado = \"EPERM\""),
            &failed
        ));
        assert!(!matches(&pat("evento = \"mount.fs\""), &failed));
        let n = serde_json::json!({"kind": "cgroup.oom", "oom_kills": 2, "outcome": "ok"});
        assert!(matches(
            &pat("evento = \"cgroup.oom\"\noom_kills = \">= 1\""),
            &n
        ));
    }
}
