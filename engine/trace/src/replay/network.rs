//! The network: bridge, veth pair, addresses, routes, published ports, DNS, firewall rules.

use super::World;
use crate::{Event, EventBody};

/// Network, as far as the trace tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    /// Interfaces brought up and not deleted since, in order (`lo`, `eth0`…).
    pub links_up: Vec<String>,
    /// Bridges on the host (`net.bridge`), in order.
    pub bridges: Vec<Bridge>,
    /// veth pairs, in order of creation.
    pub veths: Vec<Veth>,
    /// Addresses given to interfaces, in order.
    pub addrs: Vec<Addr>,
    /// Routes added, in order.
    pub routes: Vec<Route>,
    /// Published ports (`-p`), in order.
    pub ports: Vec<Port>,
    /// Rootless: pasta's pid, when it gave the container its network
    /// (`net.pasta`).
    pub pasta: Option<i32>,
    /// The user network's DNS socket in the container (`net.dns_listen`).
    pub dns_server: Option<DnsServer>,
    /// Questions to that DNS (`net.dns`), in order.
    pub dns: Vec<DnsQuery>,
    /// casulo's firewall rules (`net.rule`), in order; a deleted one stays
    /// with `deleted_at`, so a front-end can show it gone.
    pub rules: Vec<Rule>,
}

/// The network's DNS server, as seen from the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsServer {
    /// `127.0.0.11:53/udp`.
    pub address: String,
    pub network: String,
    pub at: usize,
}

/// One question to the network's DNS and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuery {
    pub name: String,
    pub qtype: String,
    pub answer: Vec<String>,
    /// `network`, `upstream` or `none`.
    pub resolved_by: String,
    pub at: usize,
}

/// A firewall rule of casulo's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub chain: String,
    pub rule: String,
    /// `isolation`, `masquerade`, `dnat` or `forward`.
    pub purpose: String,
    pub at: usize,
    /// Index of the `net.rule` that deleted it, once deleted.
    pub deleted_at: Option<usize>,
}

impl Rule {
    /// True while the rule is in the table.
    pub fn is_active(&self) -> bool {
        self.deleted_at.is_none()
    }
}

/// A Linux bridge on the host (`casulo0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    pub name: String,
    /// With prefix: `10.88.0.1/16` (the containers' gateway).
    pub address: String,
    /// False when an earlier run had made it.
    pub created: bool,
    pub deleted: bool,
    pub at: usize,
}

/// A veth pair: a virtual cable from the host into a container's netns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veth {
    /// The end on the host (`veth3f2a9c1d`).
    pub host_ifname: String,
    /// The end inside the container (`eth0`).
    pub container_ifname: String,
    /// Host pid whose network namespace holds the container end.
    pub netns_pid: i32,
    /// The bridge its host end is plugged into (`net.attach`).
    pub bridge: Option<String>,
    /// True once either end was deleted (the kernel removes both).
    pub deleted: bool,
    pub at: usize,
}

/// An address of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub ifname: String,
    /// With prefix: `10.88.0.5/16`.
    pub address: String,
    /// True inside the container's netns, false on the host.
    pub inside: bool,
    pub at: usize,
}

/// A route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `default` or a network with prefix.
    pub destination: String,
    pub gateway: Option<String>,
    pub ifname: String,
    pub inside: bool,
    pub at: usize,
}

/// A host port leading to a port of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub protocol: String,
    pub host_ip: String,
    pub host_port: u16,
    pub container_ip: String,
    pub container_port: u16,
    /// `proxy` or `dnat`.
    pub mechanism: String,
    pub at: usize,
    /// Index of the `net.port_close` that freed the host port, once closed.
    /// The port stays in the list, so a front-end can show it closed.
    pub closed_at: Option<usize>,
}

impl Port {
    /// True while the host port leads to the container (not closed yet).
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

impl Network {
    /// The bridge named `name`, the latest one with that name.
    pub fn bridge(&self, name: &str) -> Option<&Bridge> {
        self.bridges.iter().rev().find(|b| b.name == name)
    }

    /// The latest veth pair (the one of the latest container).
    pub fn veth(&self) -> Option<&Veth> {
        self.veths.last()
    }

    /// Addresses of `ifname` on one side (inside the container or on the host).
    pub fn addrs_of<'a>(&'a self, ifname: &'a str, inside: bool) -> impl Iterator<Item = &'a Addr> {
        self.addrs
            .iter()
            .filter(move |a| a.ifname == ifname && a.inside == inside)
    }

    /// True when `ifname` was brought up and not deleted since.
    pub fn is_up(&self, ifname: &str) -> bool {
        self.links_up.iter().any(|l| l == ifname)
    }

    /// Published ports whose host socket is still open.
    pub fn open_ports(&self) -> impl Iterator<Item = &Port> {
        self.ports.iter().filter(|p| p.is_open())
    }

    /// True when the trace did anything beyond bringing `lo` up.
    pub fn is_bridged(&self) -> bool {
        !(self.bridges.is_empty() && self.veths.is_empty() && self.ports.is_empty())
    }
}

impl World {
    /// Links, addresses and routes.
    pub(super) fn apply_net_links(&mut self, event: &Event, at: usize) {
        match &event.body {
            // Brought up again (a second container's `lo`): listed once.
            EventBody::NetLinkUp { ifname } if !self.network.is_up(ifname) => {
                self.network.links_up.push(ifname.clone())
            }
            EventBody::NetBridge {
                name,
                address,
                created,
            } => self.network.bridges.push(Bridge {
                name: name.clone(),
                address: address.clone(),
                created: *created,
                deleted: false,
                at,
            }),
            EventBody::NetVeth {
                host_ifname,
                container_ifname,
                netns_pid,
            } => self.network.veths.push(Veth {
                host_ifname: host_ifname.clone(),
                container_ifname: container_ifname.clone(),
                netns_pid: *netns_pid,
                bridge: None,
                deleted: false,
                at,
            }),
            EventBody::NetAttach { ifname, bridge } => {
                if let Some(v) = self
                    .network
                    .veths
                    .iter_mut()
                    .rev()
                    .find(|v| v.host_ifname == *ifname && !v.deleted)
                {
                    v.bridge = Some(bridge.clone());
                }
            }
            EventBody::NetAddr {
                ifname,
                address,
                inside,
            } => self.network.addrs.push(Addr {
                ifname: ifname.clone(),
                address: address.clone(),
                inside: *inside,
                at,
            }),
            EventBody::NetRoute {
                destination,
                gateway,
                ifname,
                inside,
            } => self.network.routes.push(Route {
                destination: destination.clone(),
                gateway: gateway.clone(),
                ifname: ifname.clone(),
                inside: *inside,
                at,
            }),
            EventBody::NetLinkDelete { ifname } => self.delete_link(ifname),
            _ => {}
        }
    }

    /// Published ports, the embedded DNS and the firewall rules.
    pub(super) fn apply_net_services(&mut self, event: &Event, at: usize) {
        match &event.body {
            EventBody::NetPort {
                protocol,
                host_ip,
                host_port,
                container_ip,
                container_port,
                mechanism,
            } => self.network.ports.push(Port {
                protocol: protocol.clone(),
                host_ip: host_ip.clone(),
                host_port: *host_port,
                container_ip: container_ip.clone(),
                container_port: *container_port,
                mechanism: mechanism.clone(),
                at,
                closed_at: None,
            }),
            EventBody::NetPasta { helper_pid, .. } if event.outcome.is_ok() => {
                self.network.pasta = Some(*helper_pid);
            }
            EventBody::NetPortClose {
                protocol,
                host_ip,
                host_port,
            } => {
                // The latest open port with that address: a port can be
                // published again by a later run once it was freed.
                if let Some(p) = self.network.ports.iter_mut().rev().find(|p| {
                    p.is_open()
                        && p.protocol == *protocol
                        && p.host_ip == *host_ip
                        && p.host_port == *host_port
                }) {
                    p.closed_at = Some(at);
                }
            }
            EventBody::NetDnsListen {
                address,
                network,
                netns_pid: _,
            } => {
                // UDP, then TCP on the same address: one server, both
                // protocols ("127.0.0.11:53/udp+tcp").
                if let Some(d) = self.network.dns_server.as_mut().filter(|d| {
                    d.network == *network
                        && d.address.split('/').next() == address.split('/').next()
                }) {
                    if let Some((_, proto)) = address.split_once('/') {
                        d.address = format!("{}+{proto}", d.address);
                    }
                    return;
                }
                self.network.dns_server = Some(DnsServer {
                    address: address.clone(),
                    network: network.clone(),
                    at,
                })
            }
            EventBody::NetDns {
                name,
                qtype,
                answer,
                resolved_by,
            } => self.network.dns.push(DnsQuery {
                name: name.clone(),
                qtype: qtype.clone(),
                answer: answer.clone(),
                resolved_by: resolved_by.clone(),
                at,
            }),
            EventBody::NetRule {
                action,
                chain,
                rule,
                purpose,
            } => {
                if action == "delete" {
                    // The same text, or (as `nft` may print it otherwise) the
                    // same comment: each casulo rule's comment is its own.
                    let tag = |t: &str| t.split_once("comment \"").map(|(_, c)| c.to_string());
                    let rules = &mut self.network.rules;
                    let found = rules
                        .iter()
                        .rposition(|r| r.is_active() && r.chain == *chain && r.rule == *rule)
                        .or_else(|| {
                            let wanted = tag(rule)?;
                            rules.iter().rposition(|r| {
                                r.is_active()
                                    && r.chain == *chain
                                    && tag(&r.rule).as_deref() == Some(wanted.as_str())
                            })
                        });
                    if let Some(i) = found {
                        rules[i].deleted_at = Some(at);
                    }
                } else {
                    self.network.rules.push(Rule {
                        chain: chain.clone(),
                        rule: rule.clone(),
                        purpose: purpose.clone(),
                        at,
                        deleted_at: None,
                    });
                }
            }
            _ => {}
        }
    }

    /// `RTM_DELLINK`: a veth end takes its peer with it; both go down.
    pub(super) fn delete_link(&mut self, ifname: &str) {
        let net = &mut self.network;
        let mut gone = vec![ifname.to_string()];
        if let Some(v) = net
            .veths
            .iter_mut()
            .rev()
            .find(|v| !v.deleted && (v.host_ifname == ifname || v.container_ifname == ifname))
        {
            v.deleted = true;
            gone = vec![v.host_ifname.clone(), v.container_ifname.clone()];
        } else if let Some(b) = net
            .bridges
            .iter_mut()
            .rev()
            .find(|b| !b.deleted && b.name == ifname)
        {
            b.deleted = true;
        }
        net.links_up.retain(|l| !gone.contains(l));
    }
}
