//! rtnetlink by hand: the few messages casulo sends to the kernel's routing
//! subsystem, byte by byte.
//!
//! `ip link add`, `ip addr add` and `ip route add` do not use special system
//! calls: they open a socket of family `AF_NETLINK` (protocol
//! `NETLINK_ROUTE`) and *write messages* to it. Each message is
//!
//! ```text
//! nlmsghdr   (16 bytes)  length, type (RTM_NEWLINK…), flags (NLM_F_REQUEST|NLM_F_ACK…), seq, pid
//! family header          ifinfomsg (links), ifaddrmsg (addresses) or rtmsg (routes)
//! attributes             rtattr: length (u16), type (u16), value, padded to 4 bytes;
//!                        an attribute may hold other attributes (nested)
//! ```
//!
//! and the kernel answers each request that asked for `NLM_F_ACK` with an
//! `NLMSG_ERROR` message carrying `0` (done) or `-errno` (refused).
//!
//! [`Request`] lists the seven messages casulo needs; its `Display` is the
//! `op` of the trace event (`RTM_NEWLINK veth3f2a9c1d type veth peer eth0
//! netns_pid=4243`), and [`Request::encode`] is exactly what goes to the
//! kernel. Interface names are turned into indexes (`if_nametoindex`) in the
//! network namespace of the process that sends.
//!
//! It lives in the facade (not in `network`) because the facade sends these
//! messages ([`super::Syscalls::netlink`]); `network::netlink` re-exports it.

use std::fmt;
use std::net::Ipv4Addr;

use nix::errno::Errno;

// Message types and flags (linux/netlink.h, linux/rtnetlink.h).
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;

// Link attributes (linux/if_link.h, linux/veth.h).
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_PID: u16 = 19;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFF_UP: u32 = 0x1;

// Address and route attributes (linux/if_addr.h, linux/rtnetlink.h).
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RT_TABLE_MAIN: u8 = 254;
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RTN_UNICAST: u8 = 1;

const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;

/// One rtnetlink request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `ip link add NAME type bridge`: a new bridge (fails with EEXIST if
    /// the name is taken: `NLM_F_CREATE|NLM_F_EXCL`).
    NewBridge { name: String },
    /// `ip link add NAME type veth peer name PEER netns PID`: a veth pair
    /// whose peer is born directly in the network namespace of `netns_pid`.
    NewVeth {
        name: String,
        peer: String,
        netns_pid: i32,
        /// The peer's MAC (`network::veth::mac_of`).
        peer_mac: [u8; 6],
    },
    /// `ip link set IFNAME master MASTER`: plug an interface into a bridge.
    SetMaster { ifname: String, master: String },
    /// `ip link set IFNAME up`.
    SetUp { ifname: String },
    /// `ip addr add ADDRESS/PREFIX dev IFNAME`.
    NewAddr {
        ifname: String,
        address: Ipv4Addr,
        prefix: u8,
    },
    /// `ip route add default via GATEWAY dev IFNAME`.
    NewDefaultRoute { gateway: Ipv4Addr, ifname: String },
    /// `ip link del IFNAME` (for a veth, both ends go).
    DelLink { ifname: String },
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::NewBridge { name } => write!(f, "RTM_NEWLINK {name} type bridge"),
            Request::NewVeth {
                name,
                peer,
                netns_pid,
                peer_mac,
            } => write!(
                f,
                "RTM_NEWLINK {name} type veth peer {peer} address {} netns_pid={netns_pid}",
                mac_text(peer_mac)
            ),
            Request::SetMaster { ifname, master } => {
                write!(f, "RTM_NEWLINK {ifname} master {master}")
            }
            Request::SetUp { ifname } => write!(f, "RTM_NEWLINK {ifname} flags=IFF_UP"),
            Request::NewAddr {
                ifname,
                address,
                prefix,
            } => write!(f, "RTM_NEWADDR {ifname} {address}/{prefix}"),
            Request::NewDefaultRoute { gateway, ifname } => {
                write!(f, "RTM_NEWROUTE default via {gateway} dev {ifname}")
            }
            Request::DelLink { ifname } => write!(f, "RTM_DELLINK {ifname}"),
        }
    }
}

/// A message being written: header, family header, attributes.
struct Message {
    buf: Vec<u8>,
}

impl Message {
    fn new(kind: u16, flags: u16, seq: u32) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, set by finish()
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | flags).to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: 0, the kernel fills it
        Message { buf }
    }

    /// `struct ifinfomsg`: family, pad, type, index, flags, change.
    fn ifinfomsg(&mut self, index: u32, flags: u32, change: u32) {
        ifinfomsg(&mut self.buf, index, flags, change);
    }

    /// `struct ifaddrmsg`: family, prefixlen, flags, scope, index.
    fn ifaddrmsg(&mut self, prefix: u8, index: u32) {
        self.buf
            .extend_from_slice(&[AF_INET, prefix, 0, RT_SCOPE_UNIVERSE]);
        self.buf.extend_from_slice(&index.to_ne_bytes());
    }

    /// `struct rtmsg`: family, dst_len, src_len, tos, table, protocol,
    /// scope, type, flags.
    fn rtmsg(&mut self, dst_len: u8) {
        self.buf.extend_from_slice(&[
            AF_INET,
            dst_len,
            0,
            0,
            RT_TABLE_MAIN,
            RTPROT_BOOT,
            RT_SCOPE_UNIVERSE,
            RTN_UNICAST,
        ]);
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
    }

    fn attr(&mut self, kind: u16, value: &[u8]) {
        attr(&mut self.buf, kind, value);
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

fn ifinfomsg(buf: &mut Vec<u8>, index: u32, flags: u32, change: u32) {
    buf.extend_from_slice(&[AF_UNSPEC, 0]);
    buf.extend_from_slice(&0u16.to_ne_bytes()); // ifi_type
    buf.extend_from_slice(&index.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&change.to_ne_bytes());
}

/// One `rtattr`: length (header + value, unpadded), type, value, padding.
fn attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = (4 + value.len()) as u16;
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// An attribute whose value is other attributes, written by `inner`.
fn nested(buf: &mut Vec<u8>, kind: u16, inner: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&kind.to_ne_bytes());
    inner(buf);
    let len = (buf.len() - start) as u16;
    buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
}

/// A C string: the bytes and the terminating NUL.
fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

impl Request {
    /// The bytes of this request; `index_of` turns interface names into
    /// indexes (in the sender's network namespace).
    pub fn encode(
        &self,
        seq: u32,
        index_of: &dyn Fn(&str) -> Result<u32, Errno>,
    ) -> Result<Vec<u8>, Errno> {
        Ok(match self {
            Request::NewBridge { name } => {
                let mut m = Message::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, seq);
                m.ifinfomsg(0, 0, 0);
                m.attr(IFLA_IFNAME, &cstr(name));
                nested(&mut m.buf, IFLA_LINKINFO, |b| {
                    attr(b, IFLA_INFO_KIND, b"bridge")
                });
                m.finish()
            }
            Request::NewVeth {
                name,
                peer,
                netns_pid,
                peer_mac,
            } => {
                let mut m = Message::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, seq);
                m.ifinfomsg(0, 0, 0);
                m.attr(IFLA_IFNAME, &cstr(name));
                nested(&mut m.buf, IFLA_LINKINFO, |b| {
                    attr(b, IFLA_INFO_KIND, b"veth");
                    nested(b, IFLA_INFO_DATA, |b| {
                        // The peer is described like a link of its own: an
                        // ifinfomsg, its name and the namespace it is born in.
                        nested(b, VETH_INFO_PEER, |b| {
                            ifinfomsg(b, 0, 0, 0);
                            attr(b, IFLA_IFNAME, &cstr(peer));
                            attr(b, IFLA_ADDRESS, peer_mac);
                            attr(b, IFLA_NET_NS_PID, &(*netns_pid as u32).to_ne_bytes());
                        })
                    })
                });
                m.finish()
            }
            Request::SetMaster { ifname, master } => {
                let mut m = Message::new(RTM_NEWLINK, 0, seq);
                m.ifinfomsg(index_of(ifname)?, 0, 0);
                m.attr(IFLA_MASTER, &index_of(master)?.to_ne_bytes());
                m.finish()
            }
            Request::SetUp { ifname } => {
                let mut m = Message::new(RTM_NEWLINK, 0, seq);
                m.ifinfomsg(index_of(ifname)?, IFF_UP, IFF_UP);
                m.finish()
            }
            Request::NewAddr {
                ifname,
                address,
                prefix,
            } => {
                let mut m = Message::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, seq);
                m.ifaddrmsg(*prefix, index_of(ifname)?);
                m.attr(IFA_LOCAL, &address.octets());
                m.attr(IFA_ADDRESS, &address.octets());
                m.finish()
            }
            Request::NewDefaultRoute { gateway, ifname } => {
                let mut m = Message::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, seq);
                m.rtmsg(0);
                m.attr(RTA_GATEWAY, &gateway.octets());
                m.attr(RTA_OIF, &index_of(ifname)?.to_ne_bytes());
                m.finish()
            }
            Request::DelLink { ifname } => {
                let mut m = Message::new(RTM_DELLINK, 0, seq);
                m.ifinfomsg(index_of(ifname)?, 0, 0);
                m.finish()
            }
        })
    }
}

/// `02:ca:0a:58:00:02`, as `ip link` shows it (here because the request's
/// `Display` shows the peer's MAC so; `network::veth` re-exports it).
pub fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The index of an interface of the caller's network namespace (ENODEV if
/// there is none by that name).
pub fn index_of(ifname: &str) -> Result<u32, Errno> {
    nix::net::if_::if_nametoindex(ifname).map_err(|e| match e {
        // if_nametoindex answers ENODEV for a name that does not exist.
        Errno::UnknownErrno => Errno::ENODEV,
        e => e,
    })
}

/// Sends `request` on a fresh `NETLINK_ROUTE` socket (so in the caller's
/// network namespace) and waits for the kernel's answer.
pub fn send(request: &Request) -> Result<(), Errno> {
    use nix::sys::socket::{
        recv, sendto, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
        SockType,
    };
    use std::os::fd::AsRawFd;

    const SEQ: u32 = 1;
    let bytes = request.encode(SEQ, &index_of)?;
    let sock = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )?;
    let kernel = NetlinkAddr::new(0, 0);
    sendto(sock.as_raw_fd(), &bytes, &kernel, MsgFlags::empty())?;
    let mut buf = vec![0u8; 8192];
    loop {
        let n = recv(sock.as_raw_fd(), &mut buf, MsgFlags::empty())?;
        if let Some(answer) = ack(&buf[..n], SEQ) {
            return answer;
        }
    }
}

/// The kernel's answer to request `seq` among the messages in `buf`:
/// `Some(Ok)` for an ack, `Some(Err(errno))` for a refusal, `None` if the
/// answer is not there.
fn ack(mut buf: &[u8], seq: u32) -> Option<Result<(), Errno>> {
    let u32_at = |b: &[u8], i: usize| u32::from_ne_bytes(b[i..i + 4].try_into().unwrap());
    while buf.len() >= 16 {
        let len = u32_at(buf, 0) as usize;
        let kind = u16::from_ne_bytes([buf[4], buf[5]]);
        if len < 16 || len > buf.len() {
            return None;
        }
        if kind == NLMSG_ERROR && u32_at(buf, 8) == seq && len >= 20 {
            let error = u32_at(buf, 16) as i32;
            return Some(if error == 0 {
                Ok(())
            } else {
                Err(Errno::from_raw(-error))
            });
        }
        buf = &buf[len.next_multiple_of(4).min(buf.len())..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_index(_: &str) -> Result<u32, Errno> {
        Err(Errno::ENODEV)
    }

    fn index(name: &str) -> Result<u32, Errno> {
        Ok(match name {
            "casulo0" => 7,
            "eth0" => 2,
            _ => 9,
        })
    }

    #[test]
    fn requests_read_like_ip_commands() {
        let veth = Request::NewVeth {
            name: "veth3f2a9c1d".into(),
            peer: "eth0".into(),
            netns_pid: 4243,
            peer_mac: [0x02, 0xca, 10, 88, 0, 2],
        };
        assert_eq!(
            veth.to_string(),
            "RTM_NEWLINK veth3f2a9c1d type veth peer eth0 address 02:ca:0a:58:00:02 netns_pid=4243"
        );
        let route = Request::NewDefaultRoute {
            gateway: Ipv4Addr::new(10, 88, 0, 1),
            ifname: "eth0".into(),
        };
        assert_eq!(
            route.to_string(),
            "RTM_NEWROUTE default via 10.88.0.1 dev eth0"
        );
    }

    #[test]
    fn a_bridge_message_is_header_ifinfomsg_name_and_linkinfo() {
        let bytes = Request::NewBridge {
            name: "casulo0".into(),
        }
        .encode(5, &no_index)
        .unwrap();
        // nlmsghdr: length = whole message, type, flags, seq.
        assert_eq!(
            u32::from_ne_bytes(bytes[0..4].try_into().unwrap()) as usize,
            bytes.len()
        );
        assert_eq!(u16::from_ne_bytes([bytes[4], bytes[5]]), RTM_NEWLINK);
        assert_eq!(
            u16::from_ne_bytes([bytes[6], bytes[7]]),
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
        );
        assert_eq!(u32::from_ne_bytes(bytes[8..12].try_into().unwrap()), 5);
        // ifinfomsg (16 bytes) then IFLA_IFNAME "casulo0\0" (4 + 8 bytes).
        assert_eq!(u16::from_ne_bytes([bytes[32], bytes[33]]), 12);
        assert_eq!(u16::from_ne_bytes([bytes[34], bytes[35]]), IFLA_IFNAME);
        assert_eq!(&bytes[36..44], b"casulo0\0");
        // IFLA_LINKINFO { IFLA_INFO_KIND "bridge" }: 4 + (4 + 6 → 12 padded).
        assert_eq!(u16::from_ne_bytes([bytes[46], bytes[47]]), IFLA_LINKINFO);
        assert_eq!(&bytes[52..58], b"bridge");
        assert_eq!(bytes.len() % 4, 0);
    }

    #[test]
    fn the_veth_peer_is_nested_three_levels_deep_with_its_namespace() {
        let bytes = Request::NewVeth {
            name: "vethab12cd34".into(),
            peer: "eth0".into(),
            netns_pid: 4243,
            peer_mac: [0x02, 0xca, 10, 88, 0, 2],
        }
        .encode(1, &no_index)
        .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains("vethab12cd34\0") && text.contains("veth") && text.contains("eth0\0")
        );
        // The last attribute: IFLA_NET_NS_PID = 4243.
        let n = bytes.len();
        assert_eq!(
            u16::from_ne_bytes([bytes[n - 6], bytes[n - 5]]),
            IFLA_NET_NS_PID
        );
        assert_eq!(u32::from_ne_bytes(bytes[n - 4..].try_into().unwrap()), 4243);
        assert_eq!(
            u32::from_ne_bytes(bytes[0..4].try_into().unwrap()) as usize,
            n
        );
    }

    #[test]
    fn names_become_indexes() {
        let bytes = Request::SetMaster {
            ifname: "vethab12cd34".into(),
            master: "casulo0".into(),
        }
        .encode(1, &index)
        .unwrap();
        assert_eq!(u32::from_ne_bytes(bytes[20..24].try_into().unwrap()), 9);
        assert_eq!(u32::from_ne_bytes(bytes[36..40].try_into().unwrap()), 7);
        let missing = Request::SetUp {
            ifname: "nope".into(),
        }
        .encode(1, &no_index);
        assert_eq!(missing, Err(Errno::ENODEV));
    }

    #[test]
    fn an_address_and_a_route_carry_the_ipv4_bytes() {
        let addr = Request::NewAddr {
            ifname: "eth0".into(),
            address: Ipv4Addr::new(10, 88, 0, 5),
            prefix: 16,
        }
        .encode(1, &index)
        .unwrap();
        assert_eq!(&addr[16..20], &[AF_INET, 16, 0, RT_SCOPE_UNIVERSE]);
        assert_eq!(u32::from_ne_bytes(addr[20..24].try_into().unwrap()), 2);
        assert_eq!(&addr[28..32], &[10, 88, 0, 5]);
        let route = Request::NewDefaultRoute {
            gateway: Ipv4Addr::new(10, 88, 0, 1),
            ifname: "eth0".into(),
        }
        .encode(1, &index)
        .unwrap();
        assert_eq!(route[16], AF_INET);
        assert_eq!(route[17], 0, "default: a destination of length 0");
        assert_eq!(&route[32..36], &[10, 88, 0, 1]);
    }

    #[test]
    fn the_answer_is_found_by_sequence_number() {
        let mut msg = Vec::new();
        msg.extend_from_slice(&36u32.to_ne_bytes());
        msg.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        msg.extend_from_slice(&0u16.to_ne_bytes());
        msg.extend_from_slice(&1u32.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(&(-17i32).to_ne_bytes()); // -EEXIST
        msg.extend_from_slice(&[0u8; 16]); // the request's header, echoed
        assert_eq!(ack(&msg, 1), Some(Err(Errno::EEXIST)));
        assert_eq!(ack(&msg, 2), None);
        msg[16..20].copy_from_slice(&0i32.to_ne_bytes());
        assert_eq!(ack(&msg, 1), Some(Ok(())));
    }
}
