//! Reading an [`Event`] from JSON, by hand.
//!
//! serde's derive for the `kind`-tagged [`EventBody`] flattened into
//! [`Event`] buffered every line twice and wrote, for each of the 70-odd
//! kinds, a field-by-field visitor: 170 KB of the visualizer's 1 MB of wasm.
//! Here one visitor reads the line: the common fields (`seq`, `t_us`,
//! `pid`, `op`, `outcome`) straight into their types, `kind` as text and
//! the rest as JSON values; then [`body`] builds the kind's variant, each
//! field through one generic [`Reader`] call per field type (a dozen in
//! all), not one visitor per kind.
//!
//! Errors are serde's own, in serde's order, so the reader's messages (its
//! tests name the event, the line and the field) did not change: a field
//! of the wrong type is reported while reading, before any missing one; a
//! missing field names itself (`missing field `x``); an unknown field is
//! ignored (a newer casulo may add fields). The table in [`body`] lists,
//! for every kind, its required fields, then those that may be absent
//! (`Option`s, `#[serde(default)]`). The compiler checks that every field
//! is listed; a test checks the table against serde's derive. (Two
//! differences: the derive took a number as `kind`, as the index of a
//! variant; this reader wants text, as the trace reader always did. And
//! `outcome` is read through a `Value`, as the kinds' fields are, so its
//! derived reader is in the wasm once instead of twice, 2 KB with gzip: a
//! wrong one fails with the message the trace reader always showed, which
//! checks the common fields as values.)

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::{Event, EventBody, Outcome, KINDS};

/// A field's name, borrowed from the line when it has no escapes.
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

/// The `kind`'s value, the same (serde's message calls it a variant).
struct Kind<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor("a string")).map(Key)
    }
}

impl<'de> Deserialize<'de> for Kind<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(TextVisitor("variant identifier"))
            .map(Kind)
    }
}

/// Text, borrowed when it can be; `.0` is what an error says it expected.
struct TextVisitor(&'static str);

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// The fields of the line besides the common ones.
type Fields<'de> = Vec<(Key<'de>, Value)>;

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
        d.deserialize_map(EventVisitor)
    }
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("struct Event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let (mut seq, mut t_us, mut pid) = (None, None, None);
        let (mut op, mut outcome, mut kind) = (None, None, None);
        let mut fields: Fields<'de> = Vec::with_capacity(8);
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match &*key.0 {
                "seq" => seq = Some(map.next_value::<u64>()?),
                "t_us" => t_us = Some(map.next_value::<u64>()?),
                "pid" => pid = Some(map.next_value::<i32>()?),
                "op" => op = Some(map.next_value::<String>()?),
                // Through a `Value`, as the kind's fields: `Outcome`'s
                // derived reader is then built for one deserializer, not two.
                "outcome" => {
                    let value = map.next_value::<Value>()?;
                    outcome = Some(Outcome::deserialize(value).map_err(de::Error::custom)?);
                }
                "kind" => kind = Some(map.next_value::<Kind<'de>>()?),
                _ => {
                    let value = map.next_value::<Value>()?;
                    fields.push((key, value));
                }
            }
        }
        // The order serde's derive checked them in: the fields in the
        // order of the struct, the body where it was flattened.
        let missing = <A::Error as de::Error>::missing_field;
        let seq = seq.ok_or_else(|| missing("seq"))?;
        let t_us = t_us.ok_or_else(|| missing("t_us"))?;
        let pid = pid.ok_or_else(|| missing("pid"))?;
        let kind = kind.ok_or_else(|| missing("kind"))?;
        let body = body(&kind.0, &mut fields).map_err(de::Error::custom)?;
        Ok(Event {
            seq,
            t_us,
            pid,
            body,
            op: op.ok_or_else(|| missing("op"))?,
            outcome: outcome.ok_or_else(|| missing("outcome"))?,
        })
    }
}

/// A kind's fields read one by one, in the table's order. The first error
/// is kept and every later read gives a placeholder, so a field costs one
/// call and no error path of its own: the early returns, each dropping the
/// fields read before it, were most of this reader's code (52 KB of wasm).
struct Reader<'f, 'de> {
    fields: &'f mut Fields<'de>,
    error: Option<serde_json::Error>,
    /// The first required field absent (serde reports it after every
    /// present field was read).
    missing: Option<&'static str>,
}

impl Reader<'_, '_> {
    /// The field `name`'s JSON value, taken out; `None` when absent or
    /// after an error.
    fn value(&mut self, name: &str) -> Option<Value> {
        if self.error.is_some() {
            return None;
        }
        let i = self.fields.iter().position(|(k, _)| k.0 == name)?;
        Some(self.fields.swap_remove(i).1)
    }

    /// The field `name` read as a `T`: `None` when absent or on an error
    /// (kept).
    fn read<T: de::DeserializeOwned>(&mut self, name: &str) -> Option<T> {
        let value = self.value(name)?;
        T::deserialize(value).map_err(|e| self.error = Some(e)).ok()
    }

    // Not inlined: one copy per field type, a call per field.
    #[inline(never)]
    fn required<T: de::DeserializeOwned + Placeholder>(&mut self, name: &'static str) -> T {
        match self.read(name) {
            Some(v) => v,
            None => {
                if self.missing.is_none() {
                    self.missing = Some(name);
                }
                T::placeholder()
            }
        }
    }

    /// A field that may be absent: its default (`None`, `false`, empty).
    #[inline(never)]
    fn optional<T: de::DeserializeOwned + Default>(&mut self, name: &str) -> T {
        self.read(name).unwrap_or_default()
    }

    /// The body, or the first error, or the first required field absent.
    fn finish(self, body: EventBody) -> Result<EventBody, serde_json::Error> {
        match (self.error, self.missing) {
            (Some(e), _) => Err(e),
            (None, Some(name)) => Err(de::Error::missing_field(name)),
            (None, None) => Ok(body),
        }
    }
}

/// What a required field holds while the body is built after an error or
/// with it absent (the body is then dropped, never returned).
trait Placeholder {
    fn placeholder() -> Self;
}

macro_rules! placeholder {
    ($($t:ty = $v:expr),* $(,)?) => {
        $(impl Placeholder for $t {
            fn placeholder() -> Self {
                $v
            }
        })*
    };
}

placeholder! {
    String = String::new(),
    u64 = 0,
    u32 = 0,
    u16 = 0,
    i32 = 0,
    bool = false,
    crate::NsKind = crate::NsKind::Pid,
    crate::NsVia = crate::NsVia::Clone,
    crate::TtyAction = crate::TtyAction::Open,
    crate::DetachReason = crate::DetachReason::Keys,
    crate::Propagation = crate::Propagation::Private,
    crate::DeviceType = crate::DeviceType::Char,
}

impl<T> Placeholder for Vec<T> {
    fn placeholder() -> Self {
        Vec::new()
    }
}

impl<T> Placeholder for Option<T> {
    fn placeholder() -> Self {
        None
    }
}

/// A field's JSON name: its Rust name, or the one after `as`.
macro_rules! json_name {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident $json:literal) => {
        $json
    };
}

/// `kind → Variant { required fields; fields that may be absent }`; a
/// field named otherwise in JSON is written `field as "json"`.
macro_rules! bodies {
    ($($kind:literal => $variant:ident {
        $($req:ident $(as $req_json:literal)?),*;
        $($opt:ident $(as $opt_json:literal)?),*
    },)*) => {
        /// The body of a `kind` event from its other fields.
        fn body(kind: &str, fields: &mut Fields) -> Result<EventBody, serde_json::Error> {
            #[allow(unused_mut)]
            let mut r = Reader { fields, error: None, missing: None };
            let body = match kind {
                $($kind => {
                    // Struct fields are evaluated in the order written:
                    // required ones first, then the others, as serde did.
                    $(let $req = r.required(json_name!($req $($req_json)?));)*
                    $(let $opt = r.optional(json_name!($opt $($opt_json)?));)*
                    EventBody::$variant {
                        $($req,)*
                        $($opt,)*
                    }
                })*
                other => return Err(de::Error::unknown_variant(other, KINDS)),
            };
            r.finish(body)
        }
    };
}

bodies! {
    "process.clone" => ProcessClone { child_pid, flags; },
    "namespace.create" => NamespaceCreate { ns, via; inode, host_inode },
    "namespace.join" => NamespaceJoin { ns, target_pid; inode },
    "namespace.user" => NamespaceUser { target_pid, map, ranges; },
    "mount.idmap" => MountIdmap { source, userns_pid; },
    "mount.overlay" => MountOverlay { target, lowerdirs, upperdir, workdir; },
    "mount.fs" => MountFs { fstype, source, target, flags; data },
    "mount.propagation" => MountPropagation { target, propagation, recursive; },
    "mount.pivot_root" => MountPivotRoot { new_root, put_old; },
    "mount.umount" => MountUmount { target, detach; },
    "device.create" => DeviceCreate { path, dev_type as "type", major, minor, mode; },
    "fs.symlink" => FsSymlink { target, link; },
    "fs.write" => FsWrite { path, value; },
    "uts.sethostname" => UtsSethostname { hostname; },
    "net.link_up" => NetLinkUp { ifname; },
    "process.chdir" => ProcessChdir { path; },
    "process.chroot" => ProcessChroot { path; },
    "process.user" => ProcessUser { uid, gid, groups; name },
    "security.capabilities" => SecurityCapabilities { kept, dropped, mask; privileged, added, removed },
    "security.no_new_privs" => SecurityNoNewPrivs {; },
    "security.seccomp" => SecuritySeccomp { mode, default_action, blocked_action, blocked_count, blocked; profile, path, rule_count, allowed_count, filters, ignored },
    "security.non_dumpable" => SecurityNonDumpable {; },
    "process.setsid" => ProcessSetsid { had_terminal; },
    "process.fds_closed" => ProcessFdsClosed { first, inherited; },
    "process.tty" => ProcessTty { action, path, rows, cols; },
    "process.exec" => ProcessExec { path, argv, env_keys; },
    "process.exit" => ProcessExit { exited_pid; code, signal, signal_name },
    "process.signal" => ProcessSignal { target_pid, signal, signal_name; },
    "terminal.attach" => TerminalAttach { client, attached; },
    "terminal.detach" => TerminalDetach { client, reason, attached; },
    "process.restart" => ProcessRestart { policy, attempt, exit_code, delay_ms; },
    "daemon.request" => DaemonRequest { method, path, client; },
    "layer.unpack" => LayerUnpack { diff_id, path, bytes, files, duration_us; },
    "layer.reuse" => LayerReuse { diff_id, path; },
    "layer.whiteout" => LayerWhiteout { diff_id, path, opaque; },
    "volume.create" => VolumeCreate { name, path, target, anonymous; },
    "layer.upper" => LayerUpper { upperdir, added, changed, deleted, bytes, sample; },
    "cgroup.create" => CgroupCreate { path, version; controller },
    "cgroup.limit" => CgroupLimit { controller, file, value; },
    "cgroup.devices" => CgroupDevices { path, version, privileged, default_action, allowed; program_insns },
    "cgroup.attach" => CgroupAttach { path, target_pid; via },
    "cgroup.sample" => CgroupSample {; memory_bytes, memory_peak_bytes, memory_limit_bytes, pids, pids_limit, cpu_usage_us, cpu_throttled_us },
    "cgroup.oom" => CgroupOom { path, oom_kills; limit_bytes, peak_bytes },
    "cgroup.pids_max" => CgroupPidsMax { path, limit, refused; },
    "cgroup.freeze" => CgroupFreeze { file, frozen; },
    "cgroup.delete" => CgroupDelete { path; },
    "net.bridge" => NetBridge { name, address, created; },
    "net.veth" => NetVeth { host_ifname, container_ifname, netns_pid; },
    "net.attach" => NetAttach { ifname, bridge; },
    "net.addr" => NetAddr { ifname, address, inside; },
    "net.route" => NetRoute { destination, ifname, inside; gateway },
    "net.port" => NetPort { protocol, host_ip, host_port, container_ip, container_port, mechanism; },
    "net.port_close" => NetPortClose { protocol, host_ip, host_port; },
    "net.pasta" => NetPasta { target_pid, helper_pid, ports; },
    "net.link_delete" => NetLinkDelete { ifname; },
    "net.dns_listen" => NetDnsListen { address, network, netns_pid; },
    "net.dns" => NetDns { name, qtype, answer, resolved_by; },
    "net.rule" => NetRule { action, chain, rule, purpose; },
    "build.start" => BuildStart { context, dockerfile, steps; tag },
    "build.base" => BuildBase { image, diff_ids; image_id, stage, stage_index, from_stage },
    "build.step" => BuildStep { step, total, line, instruction, args, creates_layer, cache_key; stage, stage_index, copy_from },
    "build.download" => BuildDownload { step, url, file, bytes, digest, pinned; },
    "build.cache_hit" => BuildCacheHit { step, cache_key; diff_id },
    "build.layer" => BuildLayer { step, diff_id, bytes, files, created_by; },
    "build.commit" => BuildCommit { image_id, layers; tag },
    "image.commit" => ImageCommit { container, digest, diff_id, size, bytes, files, whiteouts, image_id; tag, changes },
    "registry.ping" => RegistryPing { registry, url, status; auth },
    "registry.auth" => RegistryAuth { registry, scheme, with_credentials, status; realm, scope },
    "registry.blob_exists" => RegistryBlobExists { registry, repository, digest, size, exists, status; local, layer },
    "registry.blob_upload" => RegistryBlobUpload { registry, repository, digest, bytes, duration_us, status; chunks, layer },
    "registry.blob_download" => RegistryBlobDownload { registry, repository, digest, bytes, duration_us, status; layer },
    "registry.blob_mount" => RegistryBlobMount { registry, repository, from, digest, mounted, status; layer },
    "registry.manifest_get" => RegistryManifestGet { registry, repository, reference, digest, media_type, size, status; layers, platform },
    "registry.manifest_put" => RegistryManifestPut { registry, repository, tag, digest, media_type, size, layers, status; },
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::{json, Map, Value};

    use crate::{sample::sample_events, Event, EventBody, Outcome};

    /// How events were read before: serde's derive, the body flattened.
    #[derive(Debug, Deserialize)]
    struct Derived {
        seq: u64,
        t_us: u64,
        pid: i32,
        #[serde(flatten)]
        body: EventBody,
        op: String,
        outcome: Outcome,
    }

    /// serde's message without ` at line L column C`.
    fn message(e: serde_json::Error) -> String {
        let msg = e.to_string();
        match msg.rfind(" at line ") {
            Some(i) => msg[..i].to_string(),
            None => msg,
        }
    }

    /// The hand-written reader and the derive agree on `obj`: the same
    /// event, or the same message.
    fn agree(obj: &Map<String, Value>) {
        let text = Value::Object(obj.clone()).to_string();
        let mine = serde_json::from_str::<Event>(&text).map_err(message);
        let derived = serde_json::from_str::<Derived>(&text).map_err(message);
        match (mine, derived) {
            (Ok(a), Ok(b)) => {
                let b = Event {
                    seq: b.seq,
                    t_us: b.t_us,
                    pid: b.pid,
                    body: b.body,
                    op: b.op,
                    outcome: b.outcome,
                };
                assert_eq!(a, b, "{text}");
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{text}"),
            (a, b) => panic!("{text}\nhand-written: {a:?}\nderive: {b:?}"),
        }
    }

    /// A wrong `outcome`: it is read through a `Value` (as the kinds'
    /// fields are), so it fails with the message of `Outcome` read from
    /// that value, the one the trace reader shows (its check of the common
    /// fields reads them as values) and not the text deserializer's.
    fn outcome_fails_as_from_its_value(obj: &Map<String, Value>) {
        let text = Value::Object(obj.clone()).to_string();
        let from_value = Outcome::deserialize(obj["outcome"].clone()).map_err(message);
        match (
            serde_json::from_str::<Event>(&text).map_err(message),
            from_value,
        ) {
            (Err(a), Err(b)) => assert_eq!(a, b, "{text}"),
            (Ok(_), Ok(_)) => agree(obj),
            (a, b) => panic!("{text}\nhand-written: {a:?}\nfrom the value: {b:?}"),
        }
    }

    #[test]
    fn every_kind_reads_and_fails_as_with_serdes_derive() {
        let wrong = [
            json!("x"),
            json!(-1),
            json!(7),
            json!(1.5),
            json!(true),
            json!(null),
            json!([]),
            json!([1]),
            json!({}),
        ];
        let mut kinds = std::collections::BTreeSet::new();
        for event in sample_events() {
            kinds.insert(event.body.kind());
            let Value::Object(obj) = serde_json::to_value(&event).unwrap() else {
                panic!()
            };
            agree(&obj);
            let mut extra = obj.clone();
            extra.insert("campo_novo".into(), json!({"a": 1}));
            agree(&extra);
            for key in obj.keys() {
                let mut without = obj.clone();
                without.remove(key);
                agree(&without);
                for w in &wrong {
                    if key == "kind" && w.is_u64() {
                        // The derive took a number as the index of a
                        // variant; no writer writes one, and the reader
                        // refuses a `kind` that is not text.
                        continue;
                    }
                    let mut changed = obj.clone();
                    changed.insert(key.clone(), w.clone());
                    if key == "outcome" {
                        outcome_fails_as_from_its_value(&changed);
                    } else {
                        agree(&changed);
                    }
                }
            }
        }
        assert_eq!(kinds.len(), crate::KINDS.len(), "a sample of every kind");
    }
}
