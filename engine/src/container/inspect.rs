//! `inspect`: the container record in the shape of `docker inspect`
//! (the fields casulo has, under docker's names), plus where its trace is.
//!
//! As docker, the environment is shown whole, `-e` values included: the
//! state dir is root's alone and the record `0600` (see [`crate::state`]).

use serde_json::{json, Value};

use super::{init_alive, ContainerRecord, ContainerState};

/// One container, docker-like.
pub fn inspect(record: &ContainerRecord) -> Value {
    // A paused container still runs, as docker says it (`Paused` too).
    let paused = record.state == ContainerState::Paused;
    let running = (record.state == ContainerState::Running || paused)
        && record.pid.is_some_and(|pid| init_alive(pid, &record.id));
    let status = match (record.state, running) {
        (ContainerState::Running, true) => "running",
        (ContainerState::Paused, true) => "paused",
        (ContainerState::Created, _) => "created",
        _ => "exited",
    };
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
            "Paused": paused && running,
            "Pid": if running { record.pid.unwrap_or(0) } else { 0 },
            "ExitCode": record.exit_code.unwrap_or(0),
        },
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
        },
        "NetworkSettings": {
            "IPAddress": record.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            "Ports": ports,
        },
        "GraphDriver": {
            "Name": "overlay",
            "Data": { "LowerDir": record.lowerdirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(":") },
        },
        "Casulo": { "Trace": record.trace },
    })
}
