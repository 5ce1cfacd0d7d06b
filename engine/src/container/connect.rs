//! `network connect|disconnect` for a container, running or not, as
//! docker: its record keeps the networks joined
//! ([`crate::network::connect::JoinedNetwork`]), wired at every start;
//! while it runs they are also wired (or unwired) right away
//! ([`crate::network::connect`]), recorded in its trace.

use super::{init_alive, record, ContainerRecord, ContainerState, RunError};
use crate::kernel::{Kernel, LinuxSyscalls};
use crate::network::connect::{self as net_connect, ConnectError, JoinedNetwork, Request, Target};
use crate::network::NetDir;
use crate::state::StateDir;

/// What `connect` or `disconnect` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Running: wired now (its interface and address), and recorded.
    Now {
        network: String,
        ifname: String,
        ip: std::net::Ipv4Addr,
        host_ifname: String,
    },
    /// Not running: only its record changed (the next start wires it).
    Recorded { network: String },
}

fn running(record: &ContainerRecord) -> bool {
    matches!(
        record.state,
        ContainerState::Running | ContainerState::Paused
    ) && record.pid.is_some_and(|pid| init_alive(pid, &record.id))
}

fn target(record: &ContainerRecord) -> Target<'_> {
    Target {
        id: &record.id,
        name: &record.name,
        pid: record.pid.unwrap_or(0),
        first: record.network.network_name(),
    }
}

/// `casulo network connect [--ip] [--alias] NETWORK CONTAINER`.
pub fn connect(
    state: &StateDir,
    record: &ContainerRecord,
    key: &str,
    request: &Request,
) -> Result<Done, RunError> {
    let net = NetDir::host();
    let first = record.network.network_name();
    let joined = &record.host.networks_joined;
    let network = net_connect::check(&net, key, &record.name, first, joined, request)?;
    let entry = JoinedNetwork {
        network: network.name.clone(),
        ip: request.ip,
        aliases: request.aliases.to_vec(),
    };
    let done = if running(record) {
        let rec = record::reopen_trace(state, record)?;
        let k = Kernel::new(&LinuxSyscalls, &rec);
        let j = net_connect::connect(&k, &net, &network.name, &target(record), request)?;
        Done::Now {
            network: j.network,
            ifname: j.ifname,
            ip: j.ip,
            host_ifname: j.host_ifname,
        }
    } else {
        Done::Recorded {
            network: network.name.clone(),
        }
    };
    record::update(&state.container(&record.id), |r| {
        if r.host
            .networks_joined
            .iter()
            .all(|j| j.network != entry.network)
        {
            r.host.networks_joined.push(entry.clone());
        }
    })?;
    Ok(done)
}

/// `casulo network disconnect NETWORK CONTAINER`.
pub fn disconnect(state: &StateDir, record: &ContainerRecord, key: &str) -> Result<Done, RunError> {
    let net = NetDir::host();
    // A network removed since it was recorded is still named in the record.
    let name = match net.networks().find(key) {
        Ok(n) => n.name,
        Err(_) if record.host.networks_joined.iter().any(|j| j.network == key) => key.to_string(),
        Err(e) => return Err(ConnectError::from(e).into()),
    };
    if record.network.network_name() == Some(name.as_str()) {
        return Err(ConnectError::FirstNetwork {
            container: record.name.clone(),
            network: name,
        }
        .into());
    }
    let recorded = record
        .host
        .networks_joined
        .iter()
        .any(|j| j.network == name);
    let done = if running(record) {
        let rec = record::reopen_trace(state, record)?;
        let k = Kernel::new(&LinuxSyscalls, &rec);
        match net_connect::disconnect(&k, &net, &name, &target(record)) {
            Ok(lease) => Done::Now {
                host_ifname: lease.host_ifname(),
                network: lease.network,
                ifname: lease.ifname,
                ip: lease.ip,
            },
            // Recorded but not wired (its start failed to): the record goes.
            Err(ConnectError::NotConnected { .. }) if recorded => Done::Recorded {
                network: name.clone(),
            },
            Err(e) => return Err(e.into()),
        }
    } else if recorded {
        Done::Recorded {
            network: name.clone(),
        }
    } else {
        return Err(ConnectError::NotConnected {
            container: record.name.clone(),
            network: name,
        }
        .into());
    };
    record::update(&state.container(&record.id), |r| {
        r.host.networks_joined.retain(|j| j.network != name);
    })?;
    Ok(done)
}
