//! `POST /containers/create`: docker's container config (`Config` and its
//! `HostConfig`) read into the same [`RunOptions`] `casulo run -d` fills
//! from its flags, then the same [`create`](crate::container::create).
//!
//! Every field casulo cannot honour yet is refused by name when it is set
//! (a silent wrong container is worse than a clear no); the zero values
//! the docker CLI always sends pass.

use hyper::StatusCode;
use serde_json::{json, Value};

use super::http::{ApiError, Query, Reply};
use super::Ctx;
use crate::cgroups::resources::{self, PidsLimit, Swap};
use crate::container::{RestartPolicy, RunOptions};
use crate::network::ports::PortSpec;
use crate::network::NetworkMode;

pub fn create(ctx: &Ctx, query: &Query, body: &[u8]) -> Result<Reply, ApiError> {
    let config: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "o corpo de POST /containers/create não é JSON válido: {e} \
             (linha {}, coluna {})",
            e.line(),
            e.column()
        ))
    })?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "o corpo de POST /containers/create tem de ser um objeto JSON (a configuração do contêiner)",
        ));
    }
    let name = query
        .get("name")
        .filter(|n| !n.is_empty())
        .map(String::from);
    let opts = options(&config, name)?;
    opts.resources
        .validate()
        .map_err(|m| ApiError::bad_request(format!("limites inválidos: {m}")))?;
    let created = crate::container::create::create(&ctx.state, &opts)?;
    // Who asked, in the container's own trace: the lab and the visualizer
    // tell a container made by `curl` from one made by `docker`.
    if let Some(asked) = super::request::current() {
        let (body, op) = super::request::event(&asked);
        created.recorder.record(body, op, casulo_trace::Outcome::Ok);
    }
    let id = created.record.id.clone();
    let (once, size) = (stdin_once(&config), console_size(&config));
    // `docker run` without `-d` attaches before it starts: a terminal's
    // first output (the prompt) is kept for it.
    let flag = |k: &str| config.get(k).and_then(Value::as_bool).unwrap_or(false);
    let before = opts.tty && (flag("AttachStdout") || flag("AttachStderr"));
    if once || size.is_some() || before {
        let dir = ctx.state.container(&id);
        crate::container::record::update(&dir, |r| {
            r.host.stdin_once = once;
            r.host.console_size = size.or(r.host.console_size);
            r.host.attach_before_start = before;
        })?;
    }
    Ok(Reply::Json(
        StatusCode::CREATED,
        json!({ "Id": id, "Warnings": [] }),
    ))
}

/// docker's `StdinOnce` (`docker run -i` without `-d`): the container's
/// stdin closes when the client's input ends.
fn stdin_once(config: &Value) -> bool {
    let flag = |k: &str| config.get(k).and_then(Value::as_bool).unwrap_or(false);
    flag("OpenStdin") && flag("StdinOnce")
}

/// `HostConfig.ConsoleSize` (`[rows, cols]`, the client's window) of a
/// `-t` container: its terminal opens at that size.
fn console_size(config: &Value) -> Option<[u16; 2]> {
    if !config.get("Tty").and_then(Value::as_bool).unwrap_or(false) {
        return None;
    }
    let size = config.get("HostConfig")?.get("ConsoleSize")?.as_array()?;
    let n = |i: usize| size.get(i)?.as_u64().and_then(|v| u16::try_from(v).ok());
    let (rows, cols) = (n(0)?, n(1)?);
    (rows > 0 && cols > 0).then_some([rows, cols])
}

/// A field of the config, checked for its JSON type.
struct Fields<'a> {
    value: &'a Value,
    /// `Config` or `HostConfig`, for messages.
    place: &'static str,
}

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.value.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, what: &str) -> ApiError {
        ApiError::bad_request(format!("{}.{key} tem de ser {what}", self.place))
    }

    fn string(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.wrong(key, "um texto")),
        }
    }

    fn strings(&self, key: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            // docker accepts a lone string for Cmd and Entrypoint.
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| self.wrong(key, "uma lista de textos")),
            Some(_) => Err(self.wrong(key, "uma lista de textos")),
        }
    }

    fn bool(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.wrong(key, "true ou false")),
        }
    }

    fn int(&self, key: &str) -> Result<i64, ApiError> {
        match self.get(key) {
            None => Ok(0),
            Some(v) => v
                .as_i64()
                .ok_or_else(|| self.wrong(key, "um número inteiro")),
        }
    }

    /// A field casulo does not do: refused when set to anything but its zero.
    fn refuse_if_set(&self, key: &str) -> Result<(), ApiError> {
        let set = match self.get(key) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
            Some(Value::Number(n)) => n.as_f64() != Some(0.0),
            Some(Value::Null) => false,
        };
        if set {
            return Err(ApiError::not_implemented(&format!(
                "{}.{key} (a opção do docker que o preenche)",
                self.place
            )));
        }
        Ok(())
    }
}

/// docker's config → casulo's options.
fn options(config: &Value, name: Option<String>) -> Result<RunOptions, ApiError> {
    let c = Fields {
        value: config,
        place: "Config",
    };
    let empty = json!({});
    let h = Fields {
        value: config
            .get("HostConfig")
            .filter(|v| !v.is_null())
            .unwrap_or(&empty),
        place: "HostConfig",
    };
    refuse_what_casulo_lacks(&c, &h)?;
    let image = c
        .string("Image")?
        .ok_or_else(|| ApiError::bad_request("falta Config.Image: de que imagem é o contêiner?"))?;
    // Entrypoint ["a","b"] + Cmd ["c"] = casulo's --entrypoint a, command b c.
    let (entrypoint, mut command) = match c.strings("Entrypoint")? {
        None => (None, Vec::new()),
        Some(e) if e.is_empty() => (Some(String::new()), Vec::new()),
        Some(e) => (Some(e[0].clone()), e[1..].to_vec()),
    };
    command.extend(c.strings("Cmd")?.unwrap_or_default());
    // A bare KEY would read the daemon's own environment: docker's client
    // already resolved it, so one that comes bare has no value to give.
    let env: Vec<String> = c
        .strings("Env")?
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.contains('='))
        .collect();
    let publish = port_bindings(h.get("PortBindings"))?;
    let network = match h.string("NetworkMode")?.as_deref() {
        // docker's default is its bridge; casulo's is no network at all
        // (as `casulo run`), unless ports are published.
        None | Some("default") if publish.is_empty() => NetworkMode::None,
        None | Some("default") => NetworkMode::Bridge,
        Some(mode) => mode
            .parse::<NetworkMode>()
            .map_err(|e| ApiError::bad_request(format!("HostConfig.NetworkMode: {e}")))?,
    };
    let mounts = mounts(&h)?;
    let restart = restart_policy(&h)?;
    let security = security(&h)?;
    Ok(RunOptions {
        image,
        command,
        name,
        hostname: c.string("Hostname")?,
        env,
        workdir: c.string("WorkingDir")?,
        rm: h.bool("AutoRemove")?,
        trace: None,
        entrypoint,
        user: c.string("User")?,
        resources: limits(&h)?,
        sample_interval: None,
        network,
        network_aliases: Vec::new(),
        ip: None,
        publish_dnat: false,
        pasta: false,
        publish,
        unpack_progress: None,
        security,
        mounts,
        read_only: h.bool("ReadonlyRootfs")?,
        detach: true,
        tty: c.bool("Tty")?,
        interactive: c.bool("OpenStdin")?,
        restart,
    })
}

/// What docker can ask and casulo cannot do: refused by name, never ignored.
fn refuse_what_casulo_lacks(c: &Fields, h: &Fields) -> Result<(), ApiError> {
    for key in ["Healthcheck", "OnBuild", "Shell", "MacAddress"] {
        c.refuse_if_set(key)?;
    }
    for key in [
        "Devices",
        "VolumesFrom",
        "Links",
        "Dns",
        "DnsOptions",
        "DnsSearch",
        "ExtraHosts",
        "IpcMode",
        "PidMode",
        "UTSMode",
        "UsernsMode",
        "CgroupParent",
        "CpusetCpus",
        "CpusetMems",
        "BlkioWeight",
        "Ulimits",
        "Sysctls",
        "GroupAdd",
        "DeviceRequests",
        "Init",
        "OomKillDisable",
        "PublishAllPorts",
        "VolumeDriver",
    ] {
        h.refuse_if_set(key)?;
    }
    Ok(())
}

/// `Binds`, `Tmpfs` and `Mounts`, as `-v`, `--tmpfs` and `--mount` read them.
fn mounts(h: &Fields) -> Result<Vec<crate::volume::MountSpec>, ApiError> {
    let mut mounts = Vec::new();
    for bind in h.strings("Binds")?.unwrap_or_default() {
        mounts.push(
            crate::volume::spec::parse_volume(&bind)
                .map_err(|e| ApiError::bad_request(format!("HostConfig.Binds {bind:?}: {e}")))?,
        );
    }
    if let Some(Value::Object(tmpfs)) = h.get("Tmpfs") {
        for (target, opts) in tmpfs {
            let text = match opts.as_str().unwrap_or("") {
                "" => target.clone(),
                o => format!("{target}:{o}"),
            };
            mounts.push(
                crate::volume::spec::parse_tmpfs(&text).map_err(|e| {
                    ApiError::bad_request(format!("HostConfig.Tmpfs {target}: {e}"))
                })?,
            );
        }
    }
    for m in h
        .get("Mounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        mounts.push(mount(m)?);
    }
    Ok(mounts)
}

/// `Memory`, `MemorySwap`, `NanoCpus`, `CpuShares`, `PidsLimit`: the cgroup's limits.
fn limits(h: &Fields) -> Result<crate::cgroups::Resources, ApiError> {
    let memory = match h.int("Memory")? {
        0 => None,
        m if m < 0 => None,
        m => Some(m as u64),
    };
    let memory_swap = match h.int("MemorySwap")? {
        0 => None,
        -1 => Some(Swap::Unlimited),
        s if s > 0 => Some(Swap::Total(s as u64)),
        s => {
            return Err(ApiError::bad_request(format!(
                "HostConfig.MemorySwap {s}: use -1 (sem limite) ou um total em bytes"
            )))
        }
    };
    let cpu_quota_us = match h.int("NanoCpus")? {
        n if n <= 0 => None,
        n => Some((n as u64).saturating_mul(resources::CPU_PERIOD_US) / 1_000_000_000),
    };
    let cpu_shares = match h.int("CpuShares")? {
        n if n <= 0 => None,
        n => Some(n as u64),
    };
    let pids = match h.get("PidsLimit") {
        None => None,
        Some(_) => match h.int("PidsLimit")? {
            0 => None,
            n if n < 0 => Some(PidsLimit(None)),
            n => Some(PidsLimit(Some(n as u64))),
        },
    };
    Ok(crate::cgroups::Resources {
        memory,
        memory_swap,
        cpu_quota_us,
        cpu_shares,
        cpu_weight: None,
        pids: resources::pids_or_default(pids),
    })
}

/// `RestartPolicy`: docker's names, `MaximumRetryCount` for on-failure.
fn restart_policy(h: &Fields) -> Result<RestartPolicy, ApiError> {
    Ok(match h.get("RestartPolicy") {
        None => RestartPolicy::No,
        Some(p) => {
            let name = p.get("Name").and_then(Value::as_str).unwrap_or("");
            let max = p
                .get("MaximumRetryCount")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            match name {
                "" | "no" => RestartPolicy::No,
                "on-failure" => RestartPolicy::OnFailure {
                    max_retries: (max > 0).then_some(max as u32),
                },
                other => other
                    .parse()
                    .map_err(|e| ApiError::bad_request(format!("HostConfig.RestartPolicy: {e}")))?,
            }
        }
    })
}

/// `Privileged`, `CapAdd`/`CapDrop`, `SecurityOpt` (seccomp=…).
fn security(h: &Fields) -> Result<crate::security::SecurityOptions, ApiError> {
    let seccomp = h
        .strings("SecurityOpt")?
        .unwrap_or_default()
        .into_iter()
        .map(|o| {
            o.strip_prefix("seccomp=")
                .or_else(|| o.strip_prefix("seccomp:"))
                .map(String::from)
                .ok_or_else(|| {
                    ApiError::not_implemented(&format!(
                        "HostConfig.SecurityOpt {o:?} (o casulo entende seccomp=…)"
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut security = crate::security::SecurityOptions {
        privileged: h.bool("Privileged")?,
        cap_add: names(h, "CapAdd")?,
        cap_drop: names(h, "CapDrop")?,
        seccomp: seccomp.last().cloned(),
        seccomp_profile: None,
        userns: None,
    };
    security
        .load_seccomp_profile()
        .map_err(ApiError::bad_request)?;
    Ok(security)
}

/// `CapAdd`/`CapDrop`: docker's names, checked as `--cap-add` checks them.
fn names(h: &Fields, key: &str) -> Result<Vec<String>, ApiError> {
    h.strings(key)?
        .unwrap_or_default()
        .iter()
        .map(|n| {
            crate::security::capabilities::parse_name(n)
                .map_err(|e| ApiError::bad_request(format!("HostConfig.{key} {n:?}: {e}")))
        })
        .collect()
}

/// `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}` → `-p 8080:80/tcp`.
fn port_bindings(value: Option<&Value>) -> Result<Vec<PortSpec>, ApiError> {
    let mut out = Vec::new();
    for (port, bindings) in value.and_then(Value::as_object).into_iter().flatten() {
        let (container, proto) = port.split_once('/').unwrap_or((port, "tcp"));
        for b in bindings.as_array().into_iter().flatten() {
            let ip = b.get("HostIp").and_then(Value::as_str).unwrap_or("");
            let host = b.get("HostPort").and_then(Value::as_str).unwrap_or("");
            if host.is_empty() {
                return Err(ApiError::not_implemented(
                    "HostConfig.PortBindings sem HostPort (uma porta do host escolhida pelo daemon)",
                ));
            }
            let text = match ip {
                "" => format!("{host}:{container}/{proto}"),
                ip => format!("{ip}:{host}:{container}/{proto}"),
            };
            out.push(text.parse::<PortSpec>().map_err(|e| {
                ApiError::bad_request(format!("HostConfig.PortBindings {port}: {e}"))
            })?);
        }
    }
    Ok(out)
}

/// One of `HostConfig.Mounts` (`--mount`) as the text `--mount` reads.
fn mount(m: &Value) -> Result<crate::volume::MountSpec, ApiError> {
    let field = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
    let mut text = format!("type={},target={}", field("Type"), field("Target"));
    if !field("Source").is_empty() {
        text.push_str(&format!(",source={}", field("Source")));
    }
    if m.get("ReadOnly").and_then(Value::as_bool) == Some(true) {
        text.push_str(",readonly");
    }
    if let Some(t) = m.get("TmpfsOptions") {
        if let Some(size) = t.get("SizeBytes").and_then(Value::as_u64) {
            text.push_str(&format!(",tmpfs-size={size}"));
        }
        if let Some(mode) = t.get("Mode").and_then(Value::as_u64) {
            text.push_str(&format!(",tmpfs-mode={mode:o}"));
        }
    }
    crate::volume::spec::parse_mount(&text)
        .map_err(|e| ApiError::bad_request(format!("HostConfig.Mounts {text:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_create_reads_dockers_config() {
        let config = json!({
            "Image": "busybox",
            "Entrypoint": ["sh", "-c"],
            "Cmd": ["echo olá"],
            "Env": ["A=1", "SOLTA"],
            "WorkingDir": "/tmp",
            "Tty": false,
            "HostConfig": {
                "Memory": 67108864,
                "PidsLimit": 50,
                "AutoRemove": true,
                "NanoCpus": 500000000,
                "NetworkMode": "default",
                "RestartPolicy": { "Name": "on-failure", "MaximumRetryCount": 3 },
                "Dns": [], "Links": null, "Init": null,
            }
        });
        let o = options(&config, Some("x".into())).unwrap();
        assert_eq!(o.entrypoint.as_deref(), Some("sh"));
        assert_eq!(o.command, ["-c", "echo olá"]);
        assert_eq!(o.env, ["A=1"]);
        assert_eq!(o.workdir.as_deref(), Some("/tmp"));
        assert_eq!(o.resources.memory, Some(64 << 20));
        assert_eq!(o.resources.pids, Some(50));
        assert_eq!(o.resources.cpu_quota_us, Some(50_000));
        assert!(o.rm && o.detach);
        assert_eq!(o.network, NetworkMode::None);
        assert_eq!(o.restart.to_string(), "on-failure:3");
        let refused = options(
            &json!({"Image": "busybox", "HostConfig": {"PidMode": "host"}}),
            None,
        )
        .unwrap_err();
        assert_eq!(refused.status, StatusCode::NOT_IMPLEMENTED);
        assert!(
            refused.message.contains("HostConfig.PidMode"),
            "{}",
            refused.message
        );
        let wrong = options(&json!({"Image": "busybox", "Cmd": 3}), None).unwrap_err();
        assert!(wrong.message.contains("Config.Cmd"), "{}", wrong.message);
    }
}
