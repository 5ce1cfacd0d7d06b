//! Container networking, the way docker's `bridge` networks work.
//!
//! With `--network none` (casulo's default) the container has its own,
//! empty network namespace: only `lo`. With `--network bridge` (or any
//! `-p`) it is wired to the host's default bridge, `casulo0`; with
//! `--network NAME` to the bridge of a user network ([`networks`]: its own
//! subnet and bridge, an embedded DNS ([`dns`]) and firewall rules
//! ([`firewall`]): isolation from other networks, masquerade out, DNAT for
//! `-p` with `--userland-proxy=false`). The default bridge:
//!
//! ```text
//!   host                                          container (its own netns)
//!   casulo0  10.88.0.1/16  (bridge, like docker0)
//!     └── veth3f2a9c1d ══════ veth pair ══════════ eth0  10.88.0.5/16
//!                                                  default via 10.88.0.1
//!   0.0.0.0:8080  (casulo's proxy) ──── connects to ──── 10.88.0.5:80
//! ```
//!
//! In order, each step a trace event (`op` = the real rtnetlink message):
//!
//! | when | who | what | event |
//! |---|---|---|---|
//! | before `clone` | casulo | bridge created or found, up, with its address | `net.bridge` (+ `net.addr`, `net.link_up` when created) |
//! | before `clone` | casulo | an address leased ([`ipam`]) | — (a file, see below) |
//! | | casulo | the network's way out, if its first container: casulo's nftables table, forwarding on, masquerade of the subnet ([`firewall`]) | `net.rule` |
//! | before `clone` | casulo | each `-p` host socket bound | `net.port` |
//! | after `clone`, before the go | casulo | veth pair, peer `eth0` born in the child's netns | `net.veth` |
//! | | casulo | host end plugged into the bridge, up | `net.attach`, `net.link_up` |
//! | before `pivot_root` | the child | `eth0` address, up, default route | `net.addr`, `net.link_up`, `net.route` (`inside: true`) |
//! | after `exec` | casulo | the proxy's threads start copying | — |
//! | at the end (every path) | casulo | proxy stopped, each host socket shut down and closed | `net.port_close` |
//! | | casulo | host end deleted if still there, lease released | `net.link_delete` |
//! | | casulo | the network's rules, if it was its last container | `net.rule` (`delete`) |
//!
//! The way out, as docker's docker0: the default bridge's containers
//! reach the host, each other and, through the host, the world, by one
//! masquerade rule (`ip saddr 10.88.0.0/16 oifname != "casulo0"
//! masquerade`) in casulo's own nftables table, written by the first
//! container on `casulo0` and deleted by the last (with
//! `net.ipv4.ip_forward` turned on if it was off). Nothing else of the
//! host is touched: no other interface, route or table. A user network
//! adds, at its first container, its isolation and its masquerade in the
//! same table ([`firewall`] lists each rule and why). IPv4 only: like
//! docker's default (`--ipv6` is opt-in there), casulo gives no IPv6
//! address, route or rule: inside, `lo` has `::1` and the kernel gives
//! `eth0` its own link-local `fe80::…` (that never leaves the bridge),
//! nothing more.
//!
//! A running container can join more networks, and leave them again
//! ([`connect`]: `eth1`, `eth2`…, one more lease of the same container
//! each, released with its first one by [`Attachment::release`]).
//!
//! Host-wide state, shared by every casulo whatever its `--root`:
//!
//! ```text
//! /run/casulo/net/
//!   lock                  flock held while the bridge is checked/created and
//!                         an address is leased (and by `casulo gc`)
//!   leases/<ip>           one file per address in use (see ipam): id, pid, start,
//!                         network, name, aliases (what the DNS answers)
//!   networks/<name>.json  the user networks (see networks)
//! ```
//!
//! `casulo0` stays while casulo is used, like docker0. `casulo gc`, under
//! the lock every run holds while it finds its bridge and leases an address,
//! frees the leases whose casulo is gone, deletes `veth*` host ends plugged
//! into casulo's bridges that no live lease owns, deletes `casulo0` only if
//! no lease at all is left and nothing is plugged into it (the next
//! `--network bridge` creates it again), never a user network's bridge
//! while the network exists (`network rm` does), and deletes the firewall
//! rules whose owners are gone.

pub mod bridge;
pub mod connect;
pub mod dns;
pub mod firewall;
pub mod inspect;
pub mod ipam;
/// The rtnetlink messages live in the facade, which sends them.
pub use crate::kernel::netlink;
pub mod networks;
pub mod ports;
pub mod veth;

use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::kernel::{Kernel, KernelError};
use ipam::{Holder, Lease, Leases};
use networks::{Network, Networks};
use ports::{Bound, PortSpec};
pub use veth::ContainerNet;

/// The bridge every container of `--network bridge` is plugged into.
pub const BRIDGE: &str = "casulo0";
/// The bridge's address: the containers' gateway.
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 1);
/// 10.88.0.0/16: 65 533 container addresses.
pub const PREFIX: u8 = 16;
/// The host-wide network state.
pub const NET_DIR: &str = "/run/casulo/net";

/// `--network none|bridge|NAME`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum NetworkMode {
    /// Its own network namespace with only `lo` (no way in or out).
    #[default]
    None,
    /// Plugged into `casulo0` by a veth pair, with an address of 10.88.0.0/16.
    Bridge,
    /// Plugged into the bridge of a user network (`casulo network create`).
    Named(String),
}

impl NetworkMode {
    /// On some bridge (any mode but `none`).
    pub fn is_bridged(&self) -> bool {
        !matches!(self, NetworkMode::None)
    }

    /// The network's name, for a bridged mode.
    pub fn network_name(&self) -> Option<&str> {
        match self {
            NetworkMode::None => None,
            NetworkMode::Bridge => Some(networks::DEFAULT_NAME),
            NetworkMode::Named(n) => Some(n),
        }
    }
}

impl FromStr for NetworkMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(NetworkMode::None),
            "bridge" | "default" => Ok(NetworkMode::Bridge),
            "host" => Err("a rede host não existe no casulo (use none, bridge ou uma rede criada com `casulo network create`)".to_string()),
            other => networks::check_name(other)
                .map(|()| NetworkMode::Named(other.to_string()))
                .map_err(|e| e.to_string()),
        }
    }
}

impl From<String> for NetworkMode {
    fn from(s: String) -> Self {
        s.parse().unwrap_or(NetworkMode::Named(s))
    }
}

impl From<NetworkMode> for String {
    fn from(m: NetworkMode) -> String {
        m.to_string()
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetworkMode::None => "none",
            NetworkMode::Bridge => "bridge",
            NetworkMode::Named(n) => n,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("a porta {port} do host já está em uso (escolha outra em -p)")]
    PortInUse {
        port: u16,
        #[source]
        source: KernelError,
    },
    #[error(
        "o endereço {ip} não é deste host (em -p, use 0.0.0.0, 127.0.0.1 ou um endereço do host)"
    )]
    NotHostAddress {
        ip: Ipv4Addr,
        #[source]
        source: KernelError,
    },
    #[error("não há mais endereços livres na rede {0} (rode `casulo gc` se um casulo foi morto)")]
    NoFreeAddress(String),
    #[error("-p/--publish precisa da rede bridge: tire --network none")]
    PublishWithoutBridge,
    #[error(
        "a rede {0:?} não existe (veja `casulo network ls`; crie com `casulo network create {0}`)"
    )]
    NoSuchNetwork(String),
    #[error("já existe uma rede chamada {0:?}")]
    NetworkExists(String),
    #[error("nome de rede inválido {0:?}: use letras, números, _ . - (começando por letra ou número), e não none, bridge, host ou default")]
    BadNetworkName(String),
    #[error("sub-rede inválida {0}")]
    BadSubnet(String),
    #[error("a sub-rede {subnet} se sobrepõe à da rede {other} ({other_subnet}): escolha outra com --subnet")]
    SubnetOverlap {
        subnet: String,
        other: String,
        other_subnet: String,
    },
    #[error("a rede {network} está em uso pelos contêineres {}: pare-os antes (`casulo stop`)", containers.join(", "))]
    NetworkInUse {
        network: String,
        containers: Vec<String>,
    },
    #[error("a rede padrão bridge não pode ser removida")]
    DefaultNetwork,
    #[error("o endereço {ip} já é do contêiner {by}")]
    AddressTaken { ip: Ipv4Addr, by: String },
    #[error("o endereço {ip} não serve na rede {network} ({subnet}): escolha um da sub-rede que não seja o gateway")]
    AddressOutside {
        ip: Ipv4Addr,
        subnet: String,
        network: String,
    },
    #[error("--ip e --network-alias só valem numa rede criada com `casulo network create` (como no docker)")]
    UserNetworkOnly,
    #[error("o casulo precisa do `nft` (pacote nftables: `apt-get install nftables` ou `cargo xtask setup`) para as regras de isolamento, NAT e DNAT das redes")]
    NftMissing,
    #[error("{what}: {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    // The cause in the message itself: a start run by a supervisor reports
    // only the top line.
    #[error("não consegui ligar o contêiner à rede {network}, guardada por `casulo network connect`: {cause} (para partir sem ela: `casulo network disconnect {network} CONTÊINER`)")]
    Joined {
        network: String,
        cause: Box<connect::ConnectError>,
    },
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// `/run/casulo/net` (or another directory, in tests).
#[derive(Debug, Clone)]
pub struct NetDir {
    dir: PathBuf,
}

impl NetDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        NetDir { dir: dir.into() }
    }

    /// The host's, [`NET_DIR`].
    pub fn host() -> Self {
        NetDir::new(NET_DIR)
    }

    pub fn leases(&self) -> Leases {
        Leases::new(self.dir.join("leases"))
    }

    pub fn networks(&self) -> Networks {
        Networks::new(self.dir.join("networks"))
    }

    /// Takes the host's network lock (released when dropped).
    pub fn lock(&self) -> Result<nix::fcntl::Flock<std::fs::File>, NetworkError> {
        let path = self.dir.join("lock");
        let io = |source| NetworkError::Io {
            what: "não consegui travar o estado da rede",
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, errno)| io(errno.into()))
    }
}

/// A container's place on the bridge, from before its `clone` to its end.
#[derive(Debug)]
pub struct Attachment {
    pub network: Network,
    pub lease: Lease,
    leases: Leases,
    /// The veth end on the host: `veth` + 8 hex digits of the id.
    pub host_ifname: String,
    /// The published ports, bound; taken by the proxy after `exec`.
    pub bound: Vec<Bound>,
    /// The network's DNS sockets inside the container (user networks), made
    /// by [`Attachment::plug`]; taken by the DNS thread after `exec`.
    pub dns: std::sync::OnceLock<dns::Sockets>,
    /// Ports published by DNAT rules (`--userland-proxy=false`) instead of
    /// the proxy: their rules go at the end.
    pub dnat: Vec<PortSpec>,
    netdir: NetDir,
    container_id: String,
    container_name: String,
    /// Networks joined with `network connect` (the record's): wired by
    /// [`Attachment::plug`] after the first one.
    pub joined: Vec<connect::JoinedNetwork>,
    /// The container's network namespace, held open from [`Attachment::plug`]
    /// to [`Attachment::release`]: its veths outlive the container's last
    /// process, so casulo deletes them itself, always, and the trace says so
    /// (else the kernel's cleanup of the namespace races casulo's delete).
    netns: std::sync::OnceLock<std::fs::File>,
}

impl Attachment {
    /// Everything before `clone`: the bridge (created or found), an
    /// address for the container and the host sockets of `ports`. On error
    /// nothing is left but the bridge (which stays, like docker0, until
    /// `casulo gc` finds it unused).
    pub fn prepare(
        k: &Kernel,
        net: &NetDir,
        network: &Network,
        who: &Holder,
        ports: &[PortSpec],
        dnat: bool,
    ) -> Result<Attachment, NetworkError> {
        let container_id = who.container_id;
        let leases = net.leases();
        let lease = {
            let _lock = net.lock()?;
            bridge::ensure(k, network)?;
            let lease = leases.allocate(network, who)?;
            // The network's way out (and a user network's isolation),
            // written by its first container ([`firewall`]).
            if let Err(e) = firewall::ensure_network(k, network) {
                leases.release(&lease);
                return Err(e);
            }
            lease
        };
        let mut attachment = Attachment {
            network: network.clone(),
            lease,
            leases,
            host_ifname: veth::host_ifname(container_id),
            bound: Vec::new(),
            dns: std::sync::OnceLock::new(),
            dnat: Vec::new(),
            netdir: net.clone(),
            container_id: container_id.to_string(),
            container_name: who.name.to_string(),
            joined: Vec::new(),
            netns: std::sync::OnceLock::new(),
        };
        if dnat {
            for spec in ports {
                let ip = attachment.lease.ip;
                let rules = firewall::dnat_rules(container_id, spec, ip);
                if let Err(e) = firewall::add(k, &rules) {
                    attachment.release(k);
                    return Err(e);
                }
                k.observed(
                    casulo_trace::EventBody::NetPort {
                        protocol: spec.protocol.to_string(),
                        host_ip: spec.host_ip.to_string(),
                        host_port: spec.host_port,
                        container_ip: ip.to_string(),
                        container_port: spec.container_port,
                        mechanism: "dnat".into(),
                    },
                    format!(
                        "nft add rule inet casulo prerouting … dnat ip to {ip}:{}",
                        spec.container_port
                    ),
                );
                attachment.dnat.push(*spec);
            }
            return Ok(attachment);
        }
        for spec in ports {
            match k.publish_port(spec, attachment.lease.ip, "proxy") {
                Ok(socket) => attachment.bound.push(Bound {
                    spec: *spec,
                    socket,
                }),
                Err(e) => {
                    attachment.release(k);
                    return Err(match e.errno {
                        Errno::EADDRINUSE => NetworkError::PortInUse {
                            port: spec.host_port,
                            source: e,
                        },
                        Errno::EADDRNOTAVAIL => NetworkError::NotHostAddress {
                            ip: spec.host_ip,
                            source: e,
                        },
                        _ => NetworkError::Kernel(e),
                    });
                }
            }
        }
        Ok(attachment)
    }

    /// What the container's first process needs for its `eth0`.
    pub fn container(&self) -> ContainerNet {
        ContainerNet::new(self.lease.ip, &self.network)
    }

    /// After `clone`, before the go: the veth pair into the namespace of
    /// `pid`, plugged into the bridge; on a user network, the DNS sockets
    /// opened inside that namespace ([`dns`]); then each network joined
    /// with `network connect` ([`connect`]: `eth1`, `eth2`…).
    pub fn plug(&self, k: &Kernel, pid: i32) -> Result<(), NetworkError> {
        // Not there (a process already gone, a test's made-up pid): the
        // kernel takes the veths with the namespace, as before.
        if let Ok(netns) = std::fs::File::open(format!("/proc/{pid}/ns/net")) {
            let _ = self.netns.set(netns);
        }
        veth::plug(
            k,
            &self.host_ifname,
            &self.network.bridge,
            self.lease.ip,
            pid,
        )?;
        if !self.network.is_default() {
            let address = std::net::SocketAddrV4::new(dns::ADDRESS, 53);
            let name = &self.network.name;
            let udp = k.net_dns_listen(pid, address, ports::Protocol::Udp, name)?;
            let tcp = k.net_dns_listen(pid, address, ports::Protocol::Tcp, name)?;
            let _ = self.dns.set(dns::Sockets { udp, tcp });
        }
        let target = connect::Target {
            id: &self.container_id,
            name: &self.container_name,
            pid,
            first: Some(&self.network.name),
        };
        for j in &self.joined {
            let request = connect::Request {
                ip: j.ip,
                aliases: &j.aliases,
            };
            // Undone, on error, by `release` (every lease of the container).
            connect::connect(k, &self.netdir, &j.network, &target, &request).map_err(|e| {
                NetworkError::Joined {
                    network: j.network.clone(),
                    cause: Box::new(e),
                }
            })?;
        }
        Ok(())
    }

    /// The end, on every path: closes the host sockets not yet taken by the
    /// proxy (`net.port_close`: an error before `exec`, or a busy port after
    /// the first ones were bound), deletes the host end of the veth (the
    /// namespace held open since `plug` keeps it there; the other end, `eth0`,
    /// goes with it) and gives the address back; then lets the namespace go.
    pub fn release(&mut self, k: &Kernel) {
        let net = &self.netdir.clone();
        for Bound { spec, socket } in self.bound.drain(..) {
            let _ = k.close_port(&spec, socket, || {});
        }
        if !self.dnat.is_empty() {
            firewall::remove_container(k, &self.container_id);
            for spec in self.dnat.drain(..) {
                k.observed(
                    casulo_trace::EventBody::NetPortClose {
                        protocol: spec.protocol.to_string(),
                        host_ip: spec.host_ip.to_string(),
                        host_port: spec.host_port,
                    },
                    format!(
                        "nft delete rule (dnat {}/{})",
                        spec.host_port, spec.protocol
                    ),
                );
            }
        }
        let _ = k.net_link_delete(&self.host_ifname);
        wait_gone(&self.host_ifname);
        self.leases.release(&self.lease);
        // Networks joined later (`network connect`): their veths usually
        // went with the container's network namespace; their leases go now.
        let mut left = vec![self.network.clone()];
        let _lock = net.lock();
        for joined in self
            .leases
            .list()
            .into_iter()
            .filter(|l| l.container_id == self.container_id && l.path != self.lease.path)
        {
            let host_ifname = joined.host_ifname();
            let _ = k.net_link_delete(&host_ifname);
            wait_gone(&host_ifname);
            let _ = self.leases.remove(&joined);
            if let Ok(n) = net.networks().load(&joined.network) {
                left.push(n);
            }
        }
        // Every veth deleted: the namespace may go (its `lo` with it).
        drop(self.netns.take());
        // The last container of a user network takes its rules with it.
        if _lock.is_ok() {
            for n in &left {
                if users(net, &n.name).is_empty() {
                    firewall::remove_network(k, &n.name);
                }
            }
        }
    }
}

/// Waits (up to [`GONE_TIMEOUT`]) until `/sys/class/net/<ifname>` is
/// gone. The kernel removes a veth with the namespace of its other end in
/// the background, and its name leaves the lookup table a moment before
/// the interface is fully gone: casulo ends only when it is.
fn wait_gone(ifname: &str) {
    let path = Path::new("/sys/class/net").join(ifname);
    let start = std::time::Instant::now();
    while path.exists() && start.elapsed() < GONE_TIMEOUT {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How long [`wait_gone`] waits at most.
const GONE_TIMEOUT: Duration = Duration::from_secs(3);

/// `casulo gc`'s part: leases whose casulo is gone (at least `min_age`
/// old), `veth*` ends on the bridge that no live lease owns, and then the
/// bridge itself when nothing uses it any more (no lease, nothing plugged
/// in). Returns what was removed, as lines for the user.
pub fn gc(k: &Kernel, net: &NetDir, min_age: Duration) -> Vec<String> {
    gc_in(k, net, min_age, Path::new("/sys/class/net"))
}

/// [`gc`], reading the bridge's ports under `sys_class_net` (a temp dir in
/// tests).
fn gc_in(k: &Kernel, net: &NetDir, min_age: Duration, sys_class_net: &Path) -> Vec<String> {
    // The same lock `prepare` holds while it finds the bridge and leases an
    // address: a run either has its lease before gc looks (the bridge
    // stays) or finds the bridge gone and creates it again.
    let Ok(_lock) = net.lock() else {
        return Vec::new();
    };
    let leases = net.leases();
    let mut removed = Vec::new();
    for orphan in leases.orphans(min_age) {
        if leases.remove(&orphan).is_ok() {
            let id = orphan
                .container_id
                .get(..12)
                .unwrap_or(&orphan.container_id);
            removed.push(format!(
                "endereço {} (contêiner {id}, casulo {} já terminou)",
                orphan.ip, orphan.pid
            ));
        }
    }
    let live_leases = leases.list();
    let live: Vec<String> = live_leases.iter().map(|l| l.host_ifname()).collect();
    let networks = net.networks().list();
    // casulo0, every user network's bridge, and any `cas-*` bridge whose
    // network is gone (a `network rm` killed half-way).
    let mut bridges: Vec<String> = networks.iter().map(|n| n.bridge.clone()).collect();
    if let Ok(rd) = std::fs::read_dir(sys_class_net) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if is_user_bridge_name(&name) && !bridges.contains(&name) {
                bridges.push(name);
            }
        }
    }
    for bridge in &bridges {
        for ifname in bridge_ports(sys_class_net, bridge) {
            let ours = ifname.len() == 12
                && ifname.starts_with("veth")
                && ifname[4..].bytes().all(|b| b.is_ascii_hexdigit());
            if ours && !live.contains(&ifname) && k.net_link_delete(&ifname).unwrap_or(false) {
                wait_gone(&ifname);
                removed.push(format!("interface {ifname} (sem contêiner)"));
            }
        }
    }
    // A bridge goes only when no live lease is on its network and nothing
    // is plugged into it (a veth being deleted by the kernel, or something
    // the user plugged in, keeps it). A user network's bridge stays while
    // the network exists: `network rm` deletes it.
    for bridge in &bridges {
        let network = networks.iter().find(|n| &n.bridge == bridge);
        let deletable = match network {
            // casulo0 stays while any container anywhere holds an address
            // (the most careful reading: parallel runs come and go).
            Some(n) if n.is_default() => live_leases.is_empty(),
            Some(_) => false,
            None => !live_leases
                .iter()
                .any(|l| networks.iter().all(|n| n.name != l.network)),
        };
        if deletable
            && bridge_ports(sys_class_net, bridge).is_empty()
            && k.net_link_delete(bridge).unwrap_or(false)
        {
            removed.push(match network {
                Some(_) => format!("bridge {bridge} (nenhum contêiner na rede)"),
                None => format!("bridge {bridge} (a rede dela não existe mais)"),
            });
        }
    }
    // Rules of networks with no live container, or of containers gone.
    let live_leases: Vec<_> = live_leases.into_iter().filter(ipam::owner_alive).collect();
    let live_networks: Vec<String> = live_leases.iter().map(|l| l.network.clone()).collect();
    let live_ids: Vec<String> = live_leases.iter().map(|l| l.container_id.clone()).collect();
    removed.extend(firewall::gc(k, &live_networks, &live_ids));
    removed
}

/// `cas-` + 8 hex digits: a user network's bridge.
fn is_user_bridge_name(name: &str) -> bool {
    name.len() == 12 && name.starts_with("cas-") && name[4..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The interfaces plugged into `bridge`, from sysfs
/// (`/sys/class/net/<bridge>/brif/`).
fn bridge_ports(sys_class_net: &Path, bridge: &str) -> Vec<String> {
    std::fs::read_dir(sys_class_net.join(bridge).join("brif"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The containers with a live lease on `network`: (name, address).
pub fn users(net: &NetDir, network: &str) -> Vec<(String, Ipv4Addr)> {
    net.leases()
        .list()
        .into_iter()
        .filter(|l| l.network == network && ipam::owner_alive(l))
        .map(|l| {
            let name = if l.name.is_empty() {
                l.container_id
                    .get(..12)
                    .unwrap_or(&l.container_id)
                    .to_string()
            } else {
                l.name
            };
            (name, l.ip)
        })
        .collect()
}

/// `casulo network create`: the network's file and its bridge (up, with
/// the gateway address), under the host's network lock.
pub fn create(
    k: &Kernel,
    net: &NetDir,
    name: &str,
    subnet: Option<(Ipv4Addr, u8)>,
    gateway: Option<Ipv4Addr>,
    id: &str,
) -> Result<Network, NetworkError> {
    let _lock = net.lock()?;
    let network = net.networks().add(name, subnet, gateway, id)?;
    if let Err(e) = bridge::ensure(k, &network) {
        let _ = k.net_link_delete(&network.bridge);
        let _ = net.networks().remove(name);
        return Err(e);
    }
    Ok(network)
}

/// `casulo network rm`: refused while a container is on it; otherwise its
/// bridge deleted and its file removed, under the host's network lock.
pub fn remove(k: &Kernel, net: &NetDir, key: &str) -> Result<Network, NetworkError> {
    let _lock = net.lock()?;
    let network = net.networks().find(key)?;
    if network.is_default() {
        return Err(NetworkError::DefaultNetwork);
    }
    let users = users(net, &network.name);
    if !users.is_empty() {
        return Err(NetworkError::NetworkInUse {
            network: network.name.clone(),
            containers: users.into_iter().map(|(n, _)| n).collect(),
        });
    }
    // Rules a killed casulo left (gc would find them too).
    firewall::remove_network(k, &network.name);
    k.net_link_delete(&network.bridge)?;
    wait_gone(&network.bridge);
    net.networks()
        .remove(&network.name)
        .map_err(|source| NetworkError::Io {
            what: "não consegui apagar a rede",
            path: PathBuf::from(&network.name),
            source,
        })?;
    Ok(network)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::double::FakeSyscalls;
    use crate::recorder::Recorder;

    fn who(id: &str) -> Holder<'_> {
        Holder {
            container_id: id,
            ..Holder::default()
        }
    }

    #[test]
    fn network_modes_parse() {
        assert_eq!("bridge".parse::<NetworkMode>(), Ok(NetworkMode::Bridge));
        assert_eq!("none".parse::<NetworkMode>(), Ok(NetworkMode::None));
        assert!("host".parse::<NetworkMode>().is_err());
    }

    /// The whole host side against the double: the order of the events is
    /// the lesson (bridge, address, up; ports; then veth, attach, up).
    #[test]
    fn a_new_bridge_then_the_veth_in_the_documented_order() {
        let tmp = tempfile::tempdir().unwrap();
        let net = NetDir::new(tmp.path());
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let id = "3f2a9c1d".repeat(8);
        let port: PortSpec = "127.0.0.1:8080:80".parse().unwrap();
        let mut a = Attachment::prepare(
            &k,
            &net,
            &Network::default_bridge(),
            &who(&id),
            &[port],
            false,
        )
        .unwrap();
        assert_eq!(a.lease.ip, Ipv4Addr::new(10, 88, 0, 2));
        assert_eq!(a.host_ifname, "veth3f2a9c1d");
        a.plug(&k, 4243).unwrap();
        let kinds: Vec<&str> = rec.events().iter().map(|e| e.body.kind()).collect();
        assert_eq!(
            kinds,
            [
                "net.bridge",
                "net.addr",
                "net.link_up",
                "net.rule",
                "net.rule",
                "net.rule",
                "net.port",
                "net.veth",
                "net.attach",
                "net.link_up"
            ]
        );
        let ops: Vec<String> = rec.events().iter().map(|e| e.op.clone()).collect();
        assert_eq!(ops[0], "RTM_NEWLINK casulo0 type bridge");
        // The default bridge's way out: casulo's table, forwarding on, and
        // the masquerade of 10.88.0.0/16, as docker does for docker0.
        assert!(
            ops[3].starts_with("nft -f - <<< table inet casulo"),
            "{}",
            ops[3]
        );
        assert_eq!(ops[4], "write /proc/sys/net/ipv4/ip_forward = 1");
        assert_eq!(
            ops[5],
            "nft add rule inet casulo postrouting ip saddr 10.88.0.0/16 oifname != \"casulo0\" masquerade comment \"casulo:bridge:masquerade\""
        );
        assert_eq!(
            ops[7],
            "RTM_NEWLINK veth3f2a9c1d type veth peer eth0 address 02:ca:0a:58:00:02 netns_pid=4243"
        );
        // Released before the proxy took the socket (an error before
        // `exec`): the port is shut down and closed. The veth is already
        // gone (ENODEV from the lookup): nothing recorded for it, and the
        // lease is given back.
        a.release(&k);
        let events = rec.events();
        assert_eq!(events.len(), 11);
        assert_eq!(
            events[10].body,
            casulo_trace::EventBody::NetPortClose {
                protocol: "tcp".into(),
                host_ip: "127.0.0.1".into(),
                host_port: 8080,
            }
        );
        assert!(
            events[10].op.starts_with("shutdown(fd "),
            "{}",
            events[10].op
        );
        assert!(events[10].op.ends_with(") 127.0.0.1:8080/tcp"));
        let calls = sys.calls();
        let close = calls.iter().position(|c| c.starts_with("close_socket"));
        let shutdown = calls.iter().position(|c| c.starts_with("shutdown_socket"));
        assert!(shutdown.unwrap() < close.unwrap(), "{calls:?}");
        assert!(net.leases().list().is_empty());
    }

    /// gc deletes the bridge only when no lease is left and nothing is
    /// plugged into it; the deletion is a `net.link_delete` event.
    #[test]
    fn gc_deletes_the_bridge_only_when_unused() {
        let tmp = tempfile::tempdir().unwrap();
        let net = NetDir::new(tmp.path().join("net"));
        let sys_net = tmp.path().join("sys-class-net");
        std::fs::create_dir_all(sys_net.join(BRIDGE).join("brif")).unwrap();
        let sys = FakeSyscalls::new();
        sys.set_link(BRIDGE, 7);
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let zero = Duration::ZERO;

        // A live lease (this process owns it): the bridge stays.
        let lease = net
            .leases()
            .allocate(&Network::default_bridge(), &who(&"ab".repeat(32)))
            .unwrap();
        assert!(gc_in(&k, &net, zero, &sys_net).is_empty());
        net.leases().release(&lease);
        // Something plugged in that is not casulo's: it stays too.
        std::fs::write(sys_net.join(BRIDGE).join("brif").join("eth9"), "").unwrap();
        assert!(gc_in(&k, &net, zero, &sys_net).is_empty());
        assert!(rec.events().is_empty());
        std::fs::remove_file(sys_net.join(BRIDGE).join("brif").join("eth9")).unwrap();

        let removed = gc_in(&k, &net, zero, &sys_net);
        assert_eq!(removed, ["bridge casulo0 (nenhum contêiner na rede)"]);
        let events = rec.events();
        assert_eq!(events.len(), 1);
        assert!(matches!(
            &events[0].body,
            casulo_trace::EventBody::NetLinkDelete { ifname } if ifname == BRIDGE
        ));
        assert_eq!(events[0].op, "RTM_DELLINK casulo0");
    }

    #[test]
    fn a_found_bridge_is_reused_and_a_busy_port_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let net = NetDir::new(tmp.path());
        let sys = FakeSyscalls::new();
        sys.set_link(BRIDGE, 7);
        sys.set_file("/sys/class/net/casulo0/flags", "0x1003\n");
        sys.set_addr(BRIDGE, GATEWAY);
        sys.fail_on("bind_port", Errno::EADDRINUSE);
        sys.set_file(firewall::IP_FORWARD, "1\n");
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let id = "ab".repeat(32);
        let err = Attachment::prepare(
            &k,
            &net,
            &Network::default_bridge(),
            &who(&id),
            &["8080:80".parse().unwrap()],
            false,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "a porta 8080 do host já está em uso (escolha outra em -p)"
        );
        let events = rec.events();
        let kinds: Vec<&str> = events.iter().map(|e| e.body.kind()).collect();
        // The masquerade rule (in a new table: the double has none) comes
        // before the ports; forwarding was already on.
        assert_eq!(kinds, ["net.bridge", "net.rule", "net.rule", "net.port"]);
        assert!(matches!(
            events[0].body,
            casulo_trace::EventBody::NetBridge { created: false, .. }
        ));
        assert!(!events[3].outcome.is_ok());
        assert!(net.leases().list().is_empty(), "the lease went back");
    }

    /// The second port is busy: the first one, already bound, is closed
    /// (`net.port_close`) before the error comes back.
    #[test]
    fn a_busy_second_port_closes_the_first() {
        let tmp = tempfile::tempdir().unwrap();
        let net = NetDir::new(tmp.path());
        let sys = FakeSyscalls::new();
        sys.fail_on("bind_port udp 0.0.0.0:5353", Errno::EADDRINUSE);
        sys.set_file(firewall::IP_FORWARD, "1\n");
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let ports: Vec<PortSpec> = vec!["8080:80".parse().unwrap(), "5353:53/udp".parse().unwrap()];
        let id = "cd".repeat(32);
        let err = Attachment::prepare(
            &k,
            &net,
            &Network::default_bridge(),
            &who(&id),
            &ports,
            false,
        )
        .unwrap_err();
        assert!(matches!(err, NetworkError::PortInUse { port: 5353, .. }));
        let events = rec.events();
        let kinds: Vec<&str> = events.iter().map(|e| e.body.kind()).collect();
        assert_eq!(
            kinds,
            [
                "net.bridge",
                "net.addr",
                "net.link_up",
                "net.rule",
                "net.rule",
                "net.port",
                "net.port",
                "net.port_close"
            ]
        );
        assert!(events[5].outcome.is_ok() && !events[6].outcome.is_ok());
        assert!(events[7].outcome.is_ok());
        assert!(
            events[7].op.ends_with(") 0.0.0.0:8080/tcp"),
            "{}",
            events[7].op
        );
        assert!(net.leases().list().is_empty());
    }
}
