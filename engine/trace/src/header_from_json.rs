//! Reading the trace's [`Header`] from JSON, by hand.
//!
//! serde's derive for `Header` and `ContainerInfo` (a field-name visitor
//! for text, bytes and numbers, a sequence visitor, a map visitor) was
//! 8 KB of the visualizer's wasm; the reader only ever gives them a JSON
//! object. Errors are serde's own, in serde's order (a field of the wrong
//! type while reading, then the first missing one in the struct's order),
//! so the reader's messages did not change; a test checks them against
//! the derive. (One difference: the derive also took an array as the
//! struct, its fields by position; no writer writes one.)

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::event_from_json::Key;
use crate::{ContainerInfo, Header};

/// A [`Header`] read by hand (`serde_json::from_value::<HeaderIn>`).
pub(crate) struct HeaderIn(pub(crate) Header);

/// A [`ContainerInfo`] read by hand.
struct ContainerIn(ContainerInfo);

impl<'de> Deserialize<'de> for HeaderIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(HeaderVisitor)
    }
}

impl<'de> Deserialize<'de> for ContainerIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ContainerVisitor)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = HeaderIn;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("struct Header")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderIn, A::Error> {
        let (mut format, mut format_version, mut engine_version) = (None, None, None);
        let (mut kernel, mut cgroup_mode, mut container) = (None, None, None);
        let (mut started_at, mut rootless) = (None, None);
        let (mut uid_map, mut gid_map) = (None, None);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match &*key.0 {
                "format" => format = Some(map.next_value::<String>()?),
                "format_version" => format_version = Some(map.next_value::<u32>()?),
                "engine_version" => engine_version = Some(map.next_value::<String>()?),
                "kernel" => kernel = Some(map.next_value::<String>()?),
                "cgroup_mode" => cgroup_mode = Some(map.next_value::<String>()?),
                "container" => container = Some(map.next_value::<ContainerIn>()?.0),
                "started_at" => started_at = Some(map.next_value::<String>()?),
                "rootless" => rootless = Some(map.next_value::<bool>()?),
                "uid_map" => uid_map = Some(map.next_value()?),
                "gid_map" => gid_map = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = <A::Error as de::Error>::missing_field;
        Ok(HeaderIn(Header {
            format: format.ok_or_else(|| missing("format"))?,
            format_version: format_version.ok_or_else(|| missing("format_version"))?,
            engine_version: engine_version.ok_or_else(|| missing("engine_version"))?,
            kernel: kernel.ok_or_else(|| missing("kernel"))?,
            cgroup_mode: cgroup_mode.ok_or_else(|| missing("cgroup_mode"))?,
            container: container.ok_or_else(|| missing("container"))?,
            started_at: started_at.ok_or_else(|| missing("started_at"))?,
            rootless: rootless.unwrap_or_default(),
            uid_map: uid_map.unwrap_or_default(),
            gid_map: gid_map.unwrap_or_default(),
        }))
    }
}

struct ContainerVisitor;

impl<'de> Visitor<'de> for ContainerVisitor {
    type Value = ContainerIn;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("struct ContainerInfo")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContainerIn, A::Error> {
        let (mut id, mut name, mut image) = (None, None, None);
        let (mut image_id, mut command) = (None, None);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match &*key.0 {
                "id" => id = Some(map.next_value::<String>()?),
                "name" => name = Some(map.next_value::<String>()?),
                "image" => image = Some(map.next_value::<String>()?),
                "image_id" => image_id = Some(map.next_value::<Option<String>>()?),
                "command" => command = Some(map.next_value::<Vec<String>>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = <A::Error as de::Error>::missing_field;
        Ok(ContainerIn(ContainerInfo {
            id: id.ok_or_else(|| missing("id"))?,
            name: name.ok_or_else(|| missing("name"))?,
            image: image.ok_or_else(|| missing("image"))?,
            image_id: image_id.flatten(),
            command: command.unwrap_or_default(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::HeaderIn;
    use crate::sample::sample_header;
    use crate::Header;

    /// The hand-written reader and the derive agree on `v`.
    fn agree(v: &Value) {
        let mine = serde_json::from_value::<HeaderIn>(v.clone()).map(|h| h.0);
        let derived = serde_json::from_value::<Header>(v.clone());
        match (mine, derived) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{v}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{v}"),
            (a, b) => panic!("{v}\nhand-written: {a:?}\nderive: {b:?}"),
        }
    }

    /// `obj` as is, with a new field, without each field, and with each
    /// field of a wrong type; `put` places the object where it goes.
    fn mutations(obj: &Map<String, Value>, put: &dyn Fn(Value) -> Value) {
        let wrong = [
            json!("x"),
            json!(-1),
            json!(7),
            json!(1.5),
            json!(true),
            json!(null),
            json!([1]),
            json!({}),
            json!([{"inside": 0, "outside": 1000, "count": 1}]),
        ];
        agree(&put(Value::Object(obj.clone())));
        let mut extra = obj.clone();
        extra.insert("campo_novo".into(), json!({"a": 1}));
        agree(&put(Value::Object(extra)));
        for key in obj.keys() {
            let mut without = obj.clone();
            without.remove(key);
            agree(&put(Value::Object(without)));
            for w in &wrong {
                if key == "container" && w.is_array() {
                    // The derive took an array as the struct (the
                    // module's one difference).
                    continue;
                }
                let mut changed = obj.clone();
                changed.insert(key.clone(), w.clone());
                agree(&put(Value::Object(changed)));
            }
        }
    }

    #[test]
    fn the_header_reads_and_fails_as_with_serdes_derive() {
        let mut rootless = sample_header();
        rootless.rootless = true;
        rootless.uid_map = vec![crate::IdRange {
            inside: 0,
            outside: 1000,
            count: 1,
        }];
        rootless.container.image_id = Some("sha256:ab".into());
        for header in [sample_header(), rootless] {
            let Value::Object(obj) = serde_json::to_value(&header).unwrap() else {
                panic!()
            };
            mutations(&obj, &|v| v);
            let Value::Object(container) = obj["container"].clone() else {
                panic!()
            };
            mutations(&container, &|c| {
                let mut h = obj.clone();
                h.insert("container".into(), c);
                Value::Object(h)
            });
        }
    }
}
