//! `inspect`: the container record in the shape of `docker inspect`
//! (the fields casulo has, under docker's names), plus where its trace is.
//!
//! As docker, the environment is shown whole, `-e` values included: the
//! state dir is root's alone and the record `0600` (see [`crate::state`]).

use serde_json::{json, Value};

use super::{init_alive, ContainerRecord, ContainerState, RestartPolicy};

/// docker's "never": `0001-01-01T00:00:00Z`.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// One container, docker-like.
pub fn inspect(state: &crate::state::StateDir, record: &ContainerRecord) -> Value {
    let log = super::logs::path(&state.container(&record.id));
    let alive = record.pid.is_some_and(|pid| init_alive(pid, &record.id));
    let status = match (record.state, alive) {
        (ContainerState::Running, true) => "running",
        (ContainerState::Paused, true) => "paused",
        (ContainerState::Restarting, _) => "restarting",
        (ContainerState::Created, _) => "created",
        _ => "exited",
    };
    let running = matches!(status, "running" | "paused");
    let (policy, retries) = match record.host.restart {
        RestartPolicy::No => ("no", 0),
        RestartPolicy::OnFailure { max_retries } => ("on-failure", max_retries.unwrap_or(0)),
        RestartPolicy::Always => ("always", 0),
        RestartPolicy::UnlessStopped => ("unless-stopped", 0),
    };
    let r = &record.host.resources;
    let p = &record.process;
    let ports: serde_json::Map<String, Value> = record
        .ports
        .iter()
        .map(|spec| {
            (
                format!("{}/{}", spec.container_port, spec.protocol),
                json!([{ "HostIp": spec.host_ip.to_string(), "HostPort": spec.host_port.to_string() }]),
            )
        })
        .collect();
    json!({
        "Id": record.id,
        "Name": record.name,
        "Created": record.created,
        "Path": p.args.first().cloned().unwrap_or_default(),
        "Args": p.args.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": status,
            "Running": running,
            "Pid": if running { record.pid.unwrap_or(0) } else { 0 },
            "Paused": status == "paused",
            "Restarting": status == "restarting",
            "ExitCode": record.exit_code.unwrap_or(0),
            "StartedAt": record.started_at.clone().unwrap_or_else(|| ZERO_TIME.into()),
            "FinishedAt": record.finished_at.clone().unwrap_or_else(|| ZERO_TIME.into()),
        },
        "RestartCount": record.restart_count,
        "LogPath": if log.exists() { log.display().to_string() } else { String::new() },
        "Image": record.image_id,
        "Config": {
            "Hostname": p.hostname,
            "User": p.user,
            "Env": p.env,
            "Cmd": p.args,
            "Image": record.image,
            "WorkingDir": p.cwd,
            "Volumes": p.volumes.iter().map(|v| (v.clone(), json!({}))).collect::<serde_json::Map<_, _>>(),
            "StopSignal": record.stop_signal.clone().unwrap_or_else(|| "SIGTERM".into()),
        },
        "HostConfig": {
            "NetworkMode": record.network,
            "Privileged": p.security.privileged,
            "CapAdd": p.security.cap_add,
            "CapDrop": p.security.cap_drop,
            "AutoRemove": record.host.auto_remove,
            "RestartPolicy": { "Name": policy, "MaximumRetryCount": retries },
            "Memory": r.memory.unwrap_or(0),
            "NanoCpus": r.cpu_quota_us.map(|q| q * 1_000_000_000 / crate::cgroups::resources::CPU_PERIOD_US).unwrap_or(0),
            "PidsLimit": r.pids.unwrap_or(0),
            "Tty": record.host.tty,
            "OpenStdin": record.host.interactive,
        },
        "NetworkSettings": {
            "IPAddress": record.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            "Ports": ports,
            "Networks": networks(record, running),
        },
        "GraphDriver": {
            "Name": "overlay",
            "Data": { "LowerDir": record.lowerdirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(":") },
        },
        "Casulo": { "Trace": record.trace, "Supervisor": record.supervisor },
    })
}

/// `NetworkSettings.Networks`: the one it started with and those joined
/// with `casulo network connect` (its record's), with their addresses and
/// interfaces while it runs (from their leases).
fn networks(record: &ContainerRecord, running: bool) -> Value {
    let first = record.network.network_name();
    let mut all = serde_json::Map::new();
    if let Some(name) = first {
        all.insert(
            name.to_string(),
            json!({
                "IPAddress": record.ip.map(|ip| ip.to_string()).unwrap_or_default(),
                "Aliases": record.host.network_aliases,
                "Casulo": { "Interface": crate::network::veth::CONTAINER_IFNAME },
            }),
        );
    }
    let leases = if running {
        crate::network::connect::joined(&crate::network::NetDir::host(), &record.id, first)
    } else {
        vec![]
    };
    for j in &record.host.networks_joined {
        let lease = leases.iter().find(|l| l.network == j.network);
        let mut one = json!({
            "IPAddress": lease.map(|l| l.ip.to_string()).unwrap_or_default(),
            "Aliases": j.aliases,
            "Casulo": { "Interface": lease.map(|l| l.ifname.clone()).unwrap_or_default() },
        });
        if let Some(ip) = j.ip {
            one["IPAMConfig"] = json!({ "IPv4Address": ip.to_string() });
        }
        all.insert(j.network.clone(), one);
    }
    Value::Object(all)
}
