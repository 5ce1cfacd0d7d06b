//! The veth pair: a virtual cable with one end on the host (plugged into
//! the bridge) and the other end, `eth0`, inside the container.
//!
//! The parent creates it between the `clone` and the go it gives the
//! child, with the peer born directly in the child's network namespace
//! (`IFLA_NET_NS_PID` = the child's pid). The child then configures its
//! end from inside ([`configure_inside`]): the address, up, and the
//! default route via the bridge.

use std::net::Ipv4Addr;

use super::networks::Network;
use crate::kernel::{Kernel, KernelError};

/// The container's end, as docker names it.
pub const CONTAINER_IFNAME: &str = "eth0";

/// The host's end: `veth` + the first 8 hex digits of the container id
/// (12 characters, within the kernel's 15).
pub fn host_ifname(container_id: &str) -> String {
    format!("veth{}", &container_id[..8])
}

/// The host end of the container's interface `ifname`: [`host_ifname`]
/// for `eth0`; for `eth1`, `eth2`… (networks joined by `network connect`)
/// `veth` + 8 hex digits of a hash (FNV-1a) of the id and the interface,
/// so `casulo gc` can tell every live end from its lease.
pub fn host_ifname_for(container_id: &str, ifname: &str) -> String {
    if ifname == CONTAINER_IFNAME {
        return host_ifname(&format!("{container_id:0<8}"));
    }
    let mut hash: u32 = 0x811c_9dc5;
    for b in container_id.bytes().chain([b':']).chain(ifname.bytes()) {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    format!("veth{hash:08x}")
}

/// What the container's first process needs to set up its `eth0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerNet {
    pub ip: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    pub ifname: String,
}

impl ContainerNet {
    pub fn new(ip: Ipv4Addr, network: &Network) -> Self {
        ContainerNet {
            ip,
            prefix: network.prefix,
            gateway: network.gateway,
            ifname: CONTAINER_IFNAME.to_string(),
        }
    }
}

/// The MAC of the container's end with address `ip`: `02:ca` (a locally
/// administered address, `ca` for casulo) and the four bytes of the IP, as
/// docker did with `02:42`. Addresses are given back and given again in
/// seconds; with a random MAC the host's ARP cache would keep sending a new
/// container's packets to the MAC of the old one that had its address,
/// for as long as the entry lives (tens of seconds of "connection
/// refused"). The same address, the same MAC: the cache stays right.
pub fn mac_of(ip: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = ip.octets();
    [0x02, 0xca, a, b, c, d]
}

/// `02:ca:0a:58:00:02`, as `ip link` shows it (the facade's netlink needs it).
pub use crate::kernel::netlink::mac_text;

/// The parent's part: the pair (peer in the namespace of `pid`, its MAC
/// from its address `ip`), the host end plugged into `bridge` and up.
pub fn plug(
    k: &Kernel,
    host_ifname: &str,
    bridge: &str,
    ip: Ipv4Addr,
    pid: i32,
) -> Result<(), KernelError> {
    k.net_veth(host_ifname, CONTAINER_IFNAME, mac_of(ip), pid)?;
    k.net_attach(host_ifname, bridge)?;
    k.net_link_up(host_ifname)
}

/// The child's part, in its own network namespace (before `pivot_root`):
/// its address, up, and the default route via the bridge.
pub fn configure_inside(k: &Kernel, net: &ContainerNet) -> Result<(), KernelError> {
    k.net_addr(&net.ifname, net.ip, net.prefix, true)?;
    k.net_link_up(&net.ifname)?;
    k.net_default_route(net.gateway, &net.ifname, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `eth0`'s end is the id's; a joined network's end is a hash of the id
    /// and the interface: stable (gc computes it again from the lease) and
    /// different per interface.
    #[test]
    fn host_ends_are_named_from_the_id_and_the_interface() {
        let id = "3f2a9c1d".repeat(8);
        assert_eq!(host_ifname_for(&id, "eth0"), "veth3f2a9c1d");
        let eth1 = host_ifname_for(&id, "eth1");
        assert_eq!(eth1, host_ifname_for(&id, "eth1"));
        assert_ne!(eth1, host_ifname_for(&id, "eth2"));
        assert_ne!(eth1, "veth3f2a9c1d");
        assert_eq!(eth1.len(), 12);
        assert!(eth1.starts_with("veth") && eth1[4..].bytes().all(|b| b.is_ascii_hexdigit()));
    }

    /// The MAC follows the address: locally administered, unicast, and the
    /// same for the same IP.
    #[test]
    fn the_mac_is_made_of_the_address() {
        let mac = mac_of(Ipv4Addr::new(10, 88, 0, 7));
        assert_eq!(mac_text(&mac), "02:ca:0a:58:00:07");
        assert_eq!(mac[0] & 0b11, 0b10, "local, unicast");
        assert_ne!(mac, mac_of(Ipv4Addr::new(10, 88, 0, 8)));
    }
}
