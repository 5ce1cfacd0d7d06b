//! `casulo network connect` and `disconnect`: one more network for a
//! container that is already running, and back, as `docker network
//! connect|disconnect`.
//!
//! The container keeps its first network (`eth0`) and gains an interface
//! per network joined (`eth1`, `eth2`…, docker's names). For a running
//! container everything is done by the `casulo network connect` that was
//! asked, from the host; at a start, by the casulo that starts it, between
//! the `clone` and the go. Each step is an event in the container's own
//! trace (reopened, as `exec` and `pause` do):
//!
//! | step | what | event |
//! |---|---|---|
//! | 1 | an address of the network, leased for the container ([`super::ipam`]; owner: the casulo that runs it) | — (a file) |
//! | 2 | the network's rules, if it had no container yet ([`super::firewall`]) | `net.rule` |
//! | 3 | a veth pair: the host end `veth` + 8 hex digits, the peer `ethN` born in the container's network namespace | `net.veth` |
//! | 4 | host end plugged into the network's bridge, up | `net.attach`, `net.link_up` |
//! | 5 | casulo steps into the container's network namespace | `namespace.join` |
//! | 6 | `ethN` gets its address and goes up (no route: the default one stays on `eth0`, as in docker) | `net.addr`, `net.link_up` (`inside: true`) |
//! | 7 | casulo steps back into its own | `namespace.join` |
//!
//! The names: the lease carries the container's name and `--alias`es, so
//! the DNS of every container on that network answers for it at once; and
//! the container's own DNS (a thread of the casulo that runs it) answers for
//! the names of every network whose lease that casulo owns
//! ([`super::dns`]). A container that started on the default `bridge` has
//! no DNS of its own (its `/etc/resolv.conf` is the host's): it reaches the
//! new network's containers by address, and they reach it by name.
//!
//! `disconnect` deletes the host end (the kernel deletes the pair, `ethN`
//! vanishes from the container: `net.link_delete`), gives the address back
//! and, if it was the network's last container, deletes its rules. When
//! the container ends, the casulo that runs it does the same for every
//! network joined ([`super::Attachment::release`]); if that casulo is
//! killed, `casulo gc` finds the leases whose owner is gone.
//!
//! A stopped container's networks are only written in its record
//! ([`JoinedNetwork`], by `container::connect`); every start wires
//! them the same way, between the `clone` and the go
//! ([`super::Attachment::plug`]), as docker does.
//!
//! Refused, with nothing made: a container on `--network none`, the
//! network `none`, a network it is already on; and `disconnect` of the
//! network it started with (its `eth0`: the casulo that runs it owns that
//! one to the end) or of one it is not on.

use std::net::Ipv4Addr;
use std::os::fd::AsFd;

use casulo_trace::NsKind;

use super::ipam::{Holder, LeaseInfo};
use super::networks::Network;
use super::{firewall, users, wait_gone, NetDir, NetworkError};
use crate::kernel::{Kernel, KernelError};

/// A network joined with `network connect`, as the container's record
/// keeps it: wired at every start (docker keeps it the same way).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JoinedNetwork {
    pub network: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// The running container to connect or disconnect.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// Host pid of its init (its network namespace is `/proc/PID/ns/net`).
    pub pid: i32,
    /// The network it started with (`None`: `--network none`).
    pub first: Option<&'a str>,
}

/// What `network connect` asked for.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    /// `--ip`.
    pub ip: Option<Ipv4Addr>,
    /// `--alias`.
    pub aliases: &'a [String],
}

/// The network the container joined: its interface and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub network: String,
    pub ifname: String,
    pub ip: Ipv4Addr,
    pub host_ifname: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("o contêiner {0} está na rede none (só tem lo): ele não se liga a outras redes (como no docker, rode-o com --network REDE)")]
    ContainerOnNone(String),
    #[error("a rede none não se conecta: ela é a falta de rede (para tirar o contêiner de uma rede, use `casulo network disconnect`)")]
    NoneNetwork,
    #[error("o contêiner {container} já está na rede {network}")]
    AlreadyConnected { container: String, network: String },
    #[error("o contêiner {container} não está na rede {network}")]
    NotConnected { container: String, network: String },
    #[error("a rede {network} é a rede com que o contêiner {container} começou (a eth0 dele): o casulo só desconecta redes ligadas com `casulo network connect`")]
    FirstNetwork { container: String, network: String },
    #[error("não achei o endereço do contêiner {0} na rede em que ele começou (o casulo que o roda terminou?)")]
    NoOwner(String),
    #[error(transparent)]
    Network(#[from] NetworkError),
}

impl From<KernelError> for ConnectError {
    fn from(e: KernelError) -> Self {
        ConnectError::Network(NetworkError::Kernel(e))
    }
}

/// The leases of container `id` (its first network's and those joined).
fn leases_of(net: &NetDir, id: &str) -> Vec<LeaseInfo> {
    net.leases()
        .list()
        .into_iter()
        .filter(|l| l.container_id == id)
        .collect()
}

/// What can be checked of a connection without the container running
/// (a stopped one's is only recorded): the network (found by name or id),
/// not `none`, not one it is on, `--ip` and `--alias` on a user network
/// only, `--ip` in its subnet.
pub fn check(
    net: &NetDir,
    key: &str,
    container: &str,
    first: Option<&str>,
    joined: &[JoinedNetwork],
    request: &Request,
) -> Result<Network, ConnectError> {
    if key == "none" {
        return Err(ConnectError::NoneNetwork);
    }
    let Some(first) = first else {
        return Err(ConnectError::ContainerOnNone(container.to_string()));
    };
    let network = net.networks().find(key)?;
    if network.name == first || joined.iter().any(|j| j.network == network.name) {
        return Err(ConnectError::AlreadyConnected {
            container: container.to_string(),
            network: network.name,
        });
    }
    if network.is_default() && (request.ip.is_some() || !request.aliases.is_empty()) {
        return Err(NetworkError::UserNetworkOnly.into());
    }
    if let Some(ip) = request.ip {
        if network.addresses().all(|a| a != ip) {
            return Err(NetworkError::AddressOutside {
                ip,
                subnet: network.cidr(),
                network: network.name,
            }
            .into());
        }
    }
    Ok(network)
}

/// `casulo network connect`: `network` (name or id) for the running
/// container `target`. On error nothing is left of it.
pub fn connect(
    k: &Kernel,
    net: &NetDir,
    key: &str,
    target: &Target,
    request: &Request,
) -> Result<Joined, ConnectError> {
    if key == "none" {
        return Err(ConnectError::NoneNetwork);
    }
    let Some(first) = target.first else {
        return Err(ConnectError::ContainerOnNone(target.name.to_string()));
    };
    let _lock = net.lock()?;
    let network = net.networks().find(key)?;
    let mine = leases_of(net, target.id);
    if network.name == first || mine.iter().any(|l| l.network == network.name) {
        return Err(ConnectError::AlreadyConnected {
            container: target.name.to_string(),
            network: network.name,
        });
    }
    if network.is_default() && (request.ip.is_some() || !request.aliases.is_empty()) {
        return Err(NetworkError::UserNetworkOnly.into());
    }
    // The casulo that runs the container owns the new lease too: it goes
    // with that casulo, and its DNS answers for the network's names.
    let owner = mine
        .iter()
        .find(|l| l.network == first)
        .map(|l| (l.pid, l.start.clone()))
        .ok_or_else(|| ConnectError::NoOwner(target.name.to_string()))?;
    let ifname = (1..)
        .map(|n| format!("eth{n}"))
        .find(|name| mine.iter().all(|l| &l.ifname != name))
        .expect("some ethN is free");
    super::bridge::ensure(k, &network)?;
    let who = Holder {
        container_id: target.id,
        name: target.name,
        aliases: request.aliases,
        ip: request.ip,
        ifname: &ifname,
        owner: Some(owner),
    };
    let leases = net.leases();
    let lease = leases.allocate(&network, &who)?;
    let host_ifname = super::veth::host_ifname_for(target.id, &ifname);
    let joined = Joined {
        network: network.name.clone(),
        ifname,
        ip: lease.ip,
        host_ifname,
    };
    let wired = firewall::ensure_network(k, &network)
        .map_err(ConnectError::from)
        .and_then(|()| wire(k, &network, target.pid, &joined).map_err(ConnectError::from));
    if let Err(e) = wired {
        let _ = k.net_link_delete(&joined.host_ifname);
        wait_gone(&joined.host_ifname);
        leases.release(&lease);
        if users(net, &network.name).is_empty() {
            firewall::remove_network(k, &network.name);
        }
        return Err(e);
    }
    Ok(joined)
}

/// Steps 3 to 7: the pair, the bridge, and the address inside.
fn wire(k: &Kernel, network: &Network, pid: i32, joined: &Joined) -> Result<(), KernelError> {
    k.net_veth(
        &joined.host_ifname,
        &joined.ifname,
        super::veth::mac_of(joined.ip),
        pid,
    )?;
    k.net_attach(&joined.host_ifname, &network.bridge)?;
    k.net_link_up(&joined.host_ifname)?;
    // The address is set from inside: an interface moved between network
    // namespaces loses its addresses, so it is given there.
    let open = |path: String| {
        std::fs::File::open(&path).map_err(|e| KernelError {
            op: format!("open({path})"),
            errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        })
    };
    let home = open("/proc/thread-self/ns/net".into())?;
    let there = open(format!("/proc/{pid}/ns/net"))?;
    let inode = |pid: i32| crate::namespaces::inode(pid, NsKind::Net);
    let home_inode = inode(0);
    k.join_namespace(NsKind::Net, pid, there.as_fd(), inode(pid))?;
    let inside = k
        .net_addr(&joined.ifname, joined.ip, network.prefix, true)
        .and_then(|()| k.net_link_up(&joined.ifname));
    // Back home whatever happened: the rest of casulo lives in the host's
    // namespace.
    let me = std::process::id() as i32;
    let back = k.join_namespace(NsKind::Net, me, home.as_fd(), home_inode);
    inside.and(back)
}

/// `casulo network disconnect`: the interface of `network` deleted from
/// the running container `target`, its address given back, and the
/// network's rules if it was its last container.
pub fn disconnect(
    k: &Kernel,
    net: &NetDir,
    key: &str,
    target: &Target,
) -> Result<LeaseInfo, ConnectError> {
    if key == "none" {
        return Err(ConnectError::NoneNetwork);
    }
    let _lock = net.lock()?;
    let network = net.networks().find(key)?;
    if target.first == Some(network.name.as_str()) {
        return Err(ConnectError::FirstNetwork {
            container: target.name.to_string(),
            network: network.name,
        });
    }
    let Some(lease) = leases_of(net, target.id)
        .into_iter()
        .find(|l| l.network == network.name)
    else {
        return Err(ConnectError::NotConnected {
            container: target.name.to_string(),
            network: network.name,
        });
    };
    let host_ifname = lease.host_ifname();
    let deleted = k.net_link_delete(&host_ifname);
    wait_gone(&host_ifname);
    deleted?;
    let _ = net.leases().remove(&lease);
    if users(net, &network.name).is_empty() {
        firewall::remove_network(k, &network.name);
    }
    Ok(lease)
}

/// The networks `id` joined with `network connect` (not its first one),
/// while the casulo that runs it lives: for `inspect`.
pub fn joined(net: &NetDir, id: &str, first: Option<&str>) -> Vec<LeaseInfo> {
    leases_of(net, id)
        .into_iter()
        .filter(|l| Some(l.network.as_str()) != first && super::ipam::owner_alive(l))
        .collect()
}
