//! A network as `docker network inspect` shows it (in part), with the
//! containers on it now: shared by `casulo network inspect` and the
//! daemon's `/networks`.

use serde_json::json;

use super::networks::Network;
use super::{ipam, NetDir};

/// docker's shape, in part; `Casulo.DNS` says whether names resolve on it.
pub fn inspect(net: &NetDir, n: &Network) -> serde_json::Value {
    let containers: serde_json::Map<String, serde_json::Value> = net
        .leases()
        .list()
        .into_iter()
        .filter(|l| l.network == n.name && ipam::owner_alive(l))
        .map(|l| {
            (
                l.container_id.clone(),
                json!({
                    "Name": l.name,
                    "IPv4Address": format!("{}/{}", l.ip, n.prefix),
                    "Aliases": l.aliases,
                }),
            )
        })
        .collect();
    json!({
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Driver": "bridge",
        "IPAM": { "Config": [{ "Subnet": n.cidr(), "Gateway": n.gateway.to_string() }] },
        "Options": { "com.docker.network.bridge.name": n.bridge },
        "Containers": containers,
        "Casulo": { "DNS": !n.is_default() },
    })
}
