//! The network calls of the facade: rtnetlink requests (bridge, veth,
//! addresses, routes) and the host sockets of published ports. Each one is
//! recorded as a `net.*` event whose `op` is the real message
//! (`RTM_NEWLINK veth3f2a9c1d type veth peer eth0 address 02:ca:0a:58:00:02 netns_pid=4243`); see
//! `network` for the order they come in.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use casulo_trace::EventBody;
use nix::errno::Errno;

use super::netlink::Request;
use super::types::{PortSpec, Protocol};
use super::{Kernel, KernelError};

impl Kernel<'_> {
    /// The index of an interface of the current network namespace, or
    /// `None` if there is none by that name. A lookup: not recorded.
    pub fn link_index(&self, ifname: &str) -> Option<u32> {
        self.sys.if_index(ifname).ok()
    }

    /// The IPv4 address of `ifname`, if it has one. A lookup: not recorded.
    pub fn link_ipv4(&self, ifname: &str) -> Option<Ipv4Addr> {
        self.sys.if_ipv4(ifname).ok().flatten()
    }

    /// Creates the bridge `name` (`net.bridge`, created = true). EEXIST
    /// (another casulo made it first) is an error like any other here: the
    /// caller holds the network lock and looked before.
    pub fn net_bridge_create(&self, name: &str, address: &str) -> Result<(), KernelError> {
        let request = Request::NewBridge {
            name: name.to_string(),
        };
        let body = EventBody::NetBridge {
            name: name.to_string(),
            address: address.to_string(),
            created: true,
        };
        self.send(request, body)
    }

    /// Records that the bridge `name` was found (`net.bridge`, created =
    /// false): it is interface number `index` of the host.
    pub fn net_bridge_found(&self, name: &str, address: &str, index: u32) {
        self.observed(
            EventBody::NetBridge {
                name: name.to_string(),
                address: address.to_string(),
                created: false,
            },
            format!("if_nametoindex({name:?}) = {index}"),
        );
    }

    /// Opens one of the user network's DNS sockets (`address`, UDP or a
    /// TCP listener) inside the network namespace of `netns_pid`
    /// (`net.dns_listen`); see `network::dns`.
    pub fn net_dns_listen(
        &self,
        netns_pid: i32,
        address: SocketAddrV4,
        protocol: Protocol,
        network: &str,
    ) -> Result<OwnedFd, KernelError> {
        let (socket, result) = match protocol {
            Protocol::Udp => (
                format!("socket(AF_INET, SOCK_DGRAM) + bind({address})"),
                self.sys.udp_socket_in_netns(netns_pid, address),
            ),
            Protocol::Tcp => (
                format!("socket(AF_INET, SOCK_STREAM) + bind({address}) + listen"),
                self.sys.tcp_listener_in_netns(netns_pid, address),
            ),
        };
        let op = format!(
            "setns(/proc/{netns_pid}/ns/net) + ioctl(SIOCSIFFLAGS lo IFF_UP) + {socket} + setns(back)"
        );
        let body = EventBody::NetDnsListen {
            address: format!("{address}/{protocol}"),
            network: network.to_string(),
            netns_pid,
        };
        self.done(body, op, result)
    }

    /// Runs `nft ARGS` to read (a listing): not recorded.
    pub fn nft_read(&self, args: &[&str]) -> Result<String, KernelError> {
        self.sys.nft(args, "").map_err(|errno| KernelError {
            op: format!("nft {}", args.join(" ")),
            errno,
        })
    }

    /// Feeds `script` to `nft -f -` (`body`: the `net.rule` it is).
    pub fn net_rule_script(&self, body: EventBody, script: &str) -> Result<(), KernelError> {
        let op = format!("nft -f - <<< {}", script.lines().next().unwrap_or_default());
        let result = self.sys.nft(&["-f", "-"], script).map(|_| ());
        self.done(body, op, result)
    }

    /// `nft add rule inet casulo CHAIN RULE` (`net.rule`, `add`).
    pub fn net_rule_add(&self, chain: &str, rule: &str, purpose: &str) -> Result<(), KernelError> {
        let line = format!("add rule inet casulo {chain} {rule}");
        let op = format!("nft {line}");
        let result = self.sys.nft(&["-f", "-"], &format!("{line}\n")).map(|_| ());
        let body = EventBody::NetRule {
            action: "add".into(),
            chain: chain.into(),
            rule: rule.into(),
            purpose: purpose.into(),
        };
        self.done(body, op, result)
    }

    /// `nft delete rule inet casulo CHAIN handle N` (`net.rule`, `delete`,
    /// with the rule's text as the listing gave it).
    pub fn net_rule_delete(
        &self,
        chain: &str,
        handle: u64,
        rule: &str,
        purpose: &str,
    ) -> Result<(), KernelError> {
        let op = format!("nft delete rule inet casulo {chain} handle {handle}");
        let result = self
            .sys
            .nft(
                &[
                    "delete",
                    "rule",
                    "inet",
                    "casulo",
                    chain,
                    "handle",
                    &handle.to_string(),
                ],
                "",
            )
            .map(|_| ());
        let body = EventBody::NetRule {
            action: "delete".into(),
            chain: chain.into(),
            rule: rule.into(),
            purpose: purpose.into(),
        };
        self.done(body, op, result)
    }

    /// `net.ipv4.ip_forward` = 1 (`net.rule`, chain `sysctl`, `forward`).
    pub fn net_ip_forward(&self, path: &std::path::Path) -> Result<(), KernelError> {
        let op = format!("write {} = 1", path.display());
        let result = self.sys.write_file(path, "1");
        let body = EventBody::NetRule {
            action: "add".into(),
            chain: "sysctl".into(),
            rule: "net.ipv4.ip_forward = 1".into(),
            purpose: "forward".into(),
        };
        self.done(body, op, result)
    }

    /// Creates a veth pair: `host_ifname` here, `peer` (with the MAC
    /// `peer_mac`) born in the network namespace of `netns_pid`.
    pub fn net_veth(
        &self,
        host_ifname: &str,
        peer: &str,
        peer_mac: [u8; 6],
        netns_pid: i32,
    ) -> Result<(), KernelError> {
        let request = Request::NewVeth {
            name: host_ifname.to_string(),
            peer: peer.to_string(),
            netns_pid,
            peer_mac,
        };
        let body = EventBody::NetVeth {
            host_ifname: host_ifname.to_string(),
            container_ifname: peer.to_string(),
            netns_pid,
        };
        self.send(request, body)
    }

    /// Plugs `ifname` into the bridge `bridge` (`IFLA_MASTER`).
    pub fn net_attach(&self, ifname: &str, bridge: &str) -> Result<(), KernelError> {
        let request = Request::SetMaster {
            ifname: ifname.to_string(),
            master: bridge.to_string(),
        };
        let body = EventBody::NetAttach {
            ifname: ifname.to_string(),
            bridge: bridge.to_string(),
        };
        self.send(request, body)
    }

    /// Brings `ifname` up with an rtnetlink message (`net.link_up`).
    pub fn net_link_up(&self, ifname: &str) -> Result<(), KernelError> {
        let request = Request::SetUp {
            ifname: ifname.to_string(),
        };
        let body = EventBody::NetLinkUp {
            ifname: ifname.to_string(),
        };
        self.send(request, body)
    }

    /// Gives `ifname` the address `address/prefix` (`net.addr`); `inside`
    /// says whose network namespace this is (for the trace).
    pub fn net_addr(
        &self,
        ifname: &str,
        address: Ipv4Addr,
        prefix: u8,
        inside: bool,
    ) -> Result<(), KernelError> {
        let request = Request::NewAddr {
            ifname: ifname.to_string(),
            address,
            prefix,
        };
        self.send(request, addr_body(ifname, address, prefix, inside))
    }

    /// Like [`Kernel::net_addr`] for an address other casulos share (the
    /// bridge's), asked for only when a lookup did not find it: if another
    /// one added it meanwhile (EEXIST) nothing happened and nothing is
    /// recorded.
    pub fn net_addr_shared(
        &self,
        ifname: &str,
        address: Ipv4Addr,
        prefix: u8,
    ) -> Result<(), KernelError> {
        let request = Request::NewAddr {
            ifname: ifname.to_string(),
            address,
            prefix,
        };
        match self.sys.netlink(&request) {
            Err(Errno::EEXIST) => Ok(()),
            result => self.done(
                addr_body(ifname, address, prefix, false),
                request.to_string(),
                result,
            ),
        }
    }

    /// Adds the default route via `gateway` through `ifname` (`net.route`).
    pub fn net_default_route(
        &self,
        gateway: Ipv4Addr,
        ifname: &str,
        inside: bool,
    ) -> Result<(), KernelError> {
        let request = Request::NewDefaultRoute {
            gateway,
            ifname: ifname.to_string(),
        };
        let body = EventBody::NetRoute {
            destination: "default".into(),
            gateway: Some(gateway.to_string()),
            ifname: ifname.to_string(),
            inside,
        };
        self.send(request, body)
    }

    /// Deletes the interface `ifname` if it still exists; returns whether
    /// it did. An interface that is already gone (the kernel removes a veth
    /// with the namespace of its other end) is no error and no event.
    pub fn net_link_delete(&self, ifname: &str) -> Result<bool, KernelError> {
        if self.link_index(ifname).is_none() {
            return Ok(false);
        }
        let request = Request::DelLink {
            ifname: ifname.to_string(),
        };
        match self.sys.netlink(&request) {
            Err(Errno::ENODEV) => Ok(false),
            result => {
                let body = EventBody::NetLinkDelete {
                    ifname: ifname.to_string(),
                };
                self.done(body, request.to_string(), result).map(|()| true)
            }
        }
    }

    /// The host socket of a published port, bound before the container
    /// starts (`net.port`): a busy port fails here, with EADDRINUSE.
    pub fn publish_port(
        &self,
        port: &PortSpec,
        container_ip: Ipv4Addr,
        mechanism: &str,
    ) -> Result<OwnedFd, KernelError> {
        let addr = SocketAddrV4::new(port.host_ip, port.host_port);
        let op = match port.protocol {
            Protocol::Tcp => {
                format!("socket(AF_INET, SOCK_STREAM) + bind({addr}) + listen")
            }
            Protocol::Udp => {
                format!("socket(AF_INET, SOCK_DGRAM) + bind({addr})")
            }
        };
        let result = self.sys.bind_port(port.protocol, addr);
        let body = EventBody::NetPort {
            protocol: port.protocol.to_string(),
            host_ip: port.host_ip.to_string(),
            host_port: port.host_port,
            container_ip: container_ip.to_string(),
            container_port: port.container_port,
            mechanism: mechanism.to_string(),
        };
        self.done(body, op, result)
    }

    /// Closes the host socket of a published port (`net.port_close`). For
    /// TCP, `shutdown(SHUT_RDWR)` first: the socket stops listening and the
    /// proxy's thread blocked in its `accept` wakes up. Then `drain` (the
    /// proxy waits for its threads there: they close their copies of the
    /// descriptor), then `close`: the last descriptor gone, the host port is
    /// free again. One event, after the `close`, with the first error.
    pub fn close_port(
        &self,
        port: &PortSpec,
        socket: OwnedFd,
        drain: impl FnOnce(),
    ) -> Result<(), KernelError> {
        let fd = socket.as_raw_fd();
        let addr = SocketAddrV4::new(port.host_ip, port.host_port);
        let (op, shutdown) = match port.protocol {
            Protocol::Tcp => (
                format!("shutdown(fd {fd}, SHUT_RDWR) + close(fd {fd}) {addr}/tcp"),
                self.sys.shutdown_socket(socket.as_fd()),
            ),
            // An unconnected UDP socket has nothing to shut down (ENOTCONN).
            Protocol::Udp => (format!("close(fd {fd}) {addr}/udp"), Ok(())),
        };
        drain();
        let close = self.sys.close_socket(socket);
        let body = EventBody::NetPortClose {
            protocol: port.protocol.to_string(),
            host_ip: port.host_ip.to_string(),
            host_port: port.host_port,
        };
        self.done(body, op, shutdown.and(close))
    }

    /// Sends `request` and records `body` with its outcome.
    fn send(&self, request: Request, body: EventBody) -> Result<(), KernelError> {
        let result = self.sys.netlink(&request);
        self.done(body, request.to_string(), result)
    }
}

fn addr_body(ifname: &str, address: Ipv4Addr, prefix: u8, inside: bool) -> EventBody {
    EventBody::NetAddr {
        ifname: ifname.to_string(),
        address: format!("{address}/{prefix}"),
        inside,
    }
}
