//! The embedded DNS of user networks: containers find each other by name.
//!
//! Where it answers: at `127.0.0.11:53`, UDP and TCP, *inside each
//! container's own network namespace*, the address docker uses. Docker needs iptables
//! rules to bring that address to its daemon; casulo needs none: between
//! the `clone` and the go, the casulo that runs the container steps into
//! the child's network namespace (`setns`, on its one thread), brings its
//! `lo` up (a socket bound to 127.0.0.11 while `lo` is down would answer
//! from 127.0.0.1, and resolvers drop that), opens a UDP socket bound to
//! 127.0.0.11:53 and steps back (`net.dns_listen`), and the same for a TCP
//! listener (a second `net.dns_listen`: DNS over TCP, for long answers and
//! the resolvers that use it, as docker's resolver does). A socket stays in the
//! namespace it was made in, so casulo, on the host, keeps a socket that
//! lives inside the container. The container's `/etc/resolv.conf` (written
//! into its upper layer before the start) says `nameserver 127.0.0.11`.
//!
//! Who answers: a thread of that same casulo (the `casulo run` in a
//! terminal, or the supervisor of `run -d`), started after `exec` with the
//! other threads, ended with the container. So each question is a `net.dns`
//! event in the trace of the container that asked, and nothing outlives
//! the container. Why not one server per network (on the gateway
//! address)? It would be a daemon with no container to belong to, no trace
//! to write into, and one more thing for `gc` to find.
//!
//! What it answers: a name (or alias, or 12-digit id) of a container whose
//! lease is on one of the asking container's networks (its first one and
//! any joined later with `casulo network connect`) and whose casulo is alive ([`super::ipam`]
//! is the directory of names); anything else goes, as it came, to the
//! host's first resolver (`nameserver` in the host's `/etc/resolv.conf`;
//! `CASULO_DNS_UPSTREAM=ip:port` overrides it, for tests and labs), from a
//! socket in the host's namespace, and the reply comes back as it was. The
//! default network (`bridge`) has no DNS, like docker's default bridge.
//! Parsing and building messages is `simple-dns`'s job.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use casulo_trace::EventBody;
use simple_dns::rdata::RData;
use simple_dns::{Packet, PacketFlag, ResourceRecord, CLASS, QTYPE, RCODE, TYPE};

use super::NetDir;
use crate::kernel::Kernel;

/// Where the DNS answers, inside the container.
pub const ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
/// The container's `/etc/resolv.conf` on a user network (`ndots:0`: a bare
/// name like `db` is asked as it is, never with a search domain first).
pub const RESOLV_CONF: &str = "# escrito pelo casulo: o DNS da rede, dentro do contêiner\n\
     nameserver 127.0.0.11\noptions ndots:0\n";

/// How long the thread waits for a question before it checks `stop`.
const TICK: Duration = Duration::from_millis(200);
/// How often the TCP side looks for a new connection.
const TCP_POLL: Duration = Duration::from_millis(50);
/// How long a TCP connection may stay quiet before it is closed.
const TCP_IDLE: Duration = Duration::from_secs(2);
/// How long a forwarded question waits for the host's resolver.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);

/// The DNS's two sockets inside the container, made by
/// [`Kernel::net_dns_listen`]: UDP, and a TCP listener for what does not
/// fit in a datagram (and resolvers that ask over TCP).
#[derive(Debug)]
pub struct Sockets {
    pub udp: OwnedFd,
    pub tcp: OwnedFd,
}

/// Serves questions on both sockets until `stop` is set (TCP on a thread
/// of its own): one `net.dns` event each.
pub fn serve(k: &Kernel, sockets: Sockets, network: &str, net: &NetDir, stop: &AtomicBool) {
    let Sockets { udp, tcp } = sockets;
    std::thread::scope(|scope| {
        scope.spawn(|| serve_tcp(k, tcp, network, net, stop));
        serve_udp(k, udp, network, net, stop);
    });
}

/// DNS over TCP (RFC 1035 4.2.2, RFC 7766): each message preceded by its
/// length in two bytes, several questions per connection. Connections are
/// served one at a time (a lab's resolvers ask little); a name that is not
/// the network's goes upstream over UDP, as the UDP side does.
fn serve_tcp(k: &Kernel, listener: OwnedFd, network: &str, net: &NetDir, stop: &AtomicBool) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::from(listener);
    if listener.set_nonblocking(true).is_err() {
        return;
    }
    let upstream = upstream();
    while !stop.load(Ordering::Relaxed) {
        let (mut conn, from) = match listener.accept() {
            Ok(got) => got,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(TCP_POLL);
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        if conn.set_nonblocking(false).is_err() || conn.set_read_timeout(Some(TCP_IDLE)).is_err() {
            continue;
        }
        let mut len = [0u8; 2];
        while !stop.load(Ordering::Relaxed) && conn.read_exact(&mut len).is_ok() {
            let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if conn.read_exact(&mut query).is_err() {
                break;
            }
            let lookup = |name: &str| lookup(net, network, name);
            let forward = |query: &[u8]| upstream.and_then(|u| forward(u, query));
            let Some((reply, body)) = answer(&query, lookup, forward) else {
                break;
            };
            let Ok(n) = u16::try_from(reply.len()) else {
                break;
            };
            let mut framed = n.to_be_bytes().to_vec();
            framed.extend_from_slice(&reply);
            let sent = conn.write_all(&framed);
            let op = format!(
                "accept({ADDRESS}:53/tcp) ← {from} + read + write({} bytes)",
                framed.len()
            );
            match sent {
                Ok(()) => k.observed(body, op),
                Err(e) => {
                    k.observed(body, format!("{op} = {e}"));
                    break;
                }
            }
        }
    }
}

/// The UDP side: one datagram, one question, one answer.
fn serve_udp(k: &Kernel, socket: OwnedFd, network: &str, net: &NetDir, stop: &AtomicBool) {
    let socket = UdpSocket::from(socket);
    if socket.set_read_timeout(Some(TICK)).is_err() {
        return;
    }
    let upstream = upstream();
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(_) => return,
        };
        let lookup = |name: &str| lookup(net, network, name);
        let forward = |query: &[u8]| upstream.and_then(|u| forward(u, query));
        if let Some((reply, body)) = answer(&buf[..n], lookup, forward) {
            let sent = socket.send_to(&reply, from);
            let op = format!(
                "recvfrom({ADDRESS}:53) ← {from} + sendto({from}, {} bytes)",
                reply.len()
            );
            match sent {
                Ok(_) => k.observed(body, op),
                Err(e) => k.observed(body, format!("{op} = {e}")),
            }
        }
    }
}

/// The addresses of `name` on the networks of the container that asks
/// (`network`, and those it joined with `network connect`: the other
/// leases this casulo owns): its neighbours' names, aliases and short ids,
/// from the live leases.
fn lookup(net: &NetDir, network: &str, name: &str) -> Vec<Ipv4Addr> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() {
        return vec![];
    }
    let leases = net.leases().list();
    let me = std::process::id() as i32;
    let mine: Vec<String> = leases
        .iter()
        .filter(|l| l.pid == me)
        .map(|l| l.network.clone())
        .chain([network.to_string()])
        .collect();
    leases
        .into_iter()
        .filter(|l| mine.contains(&l.network) && super::ipam::owner_alive(l))
        .filter(|l| {
            l.name.eq_ignore_ascii_case(&name)
                || l.aliases.iter().any(|a| a.eq_ignore_ascii_case(&name))
                || (name.len() == 12 && l.container_id.starts_with(&name))
        })
        .map(|l| l.ip)
        .collect()
}

/// The host's resolver: `CASULO_DNS_UPSTREAM`, or the first `nameserver`
/// of the host's `/etc/resolv.conf` (port 53).
fn upstream() -> Option<SocketAddr> {
    if let Some(addr) = std::env::var("CASULO_DNS_UPSTREAM")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Some(addr);
    }
    let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    text.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some("nameserver"))
            .then(|| words.next()?.parse::<std::net::IpAddr>().ok())
            .flatten()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

/// Sends `query` as it is to `upstream` and waits for its reply.
fn forward(upstream: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    let bind: SocketAddr = if upstream.is_ipv4() {
        "0.0.0.0:0".parse().ok()?
    } else {
        "[::]:0".parse().ok()?
    };
    let socket = UdpSocket::bind(bind).ok()?;
    socket.set_read_timeout(Some(UPSTREAM_TIMEOUT)).ok()?;
    socket.connect(upstream).ok()?;
    socket.send(query).ok()?;
    let mut buf = vec![0u8; 4096];
    let n = socket.recv(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// The reply to one question and its `net.dns` event; `None` for what is
/// no DNS question (ignored, as a resolver would).
fn answer(
    query: &[u8],
    lookup: impl Fn(&str) -> Vec<Ipv4Addr>,
    forward: impl Fn(&[u8]) -> Option<Vec<u8>>,
) -> Option<(Vec<u8>, EventBody)> {
    let packet = Packet::parse(query).ok()?;
    let question = packet.questions.first()?.clone();
    let name = question.qname.to_string();
    let qtype = match question.qtype {
        QTYPE::TYPE(TYPE::A) => "A".to_string(),
        QTYPE::TYPE(TYPE::AAAA) => "AAAA".to_string(),
        QTYPE::TYPE(t) => format!("{t:?}"),
        other => format!("{other:?}"),
    };
    let event = |answer: Vec<String>, by: &str| EventBody::NetDns {
        name: name.clone(),
        qtype: qtype.clone(),
        answer,
        resolved_by: by.to_string(),
    };
    let mut reply = Packet::new_reply(packet.id());
    reply.set_flags(PacketFlag::RECURSION_AVAILABLE);
    if packet.has_flags(PacketFlag::RECURSION_DESIRED) {
        reply.set_flags(PacketFlag::RECURSION_DESIRED);
    }
    reply.questions.push(question.clone());
    let local = lookup(&name);
    if !local.is_empty() {
        // A container of the network: its address for A; for any other
        // type the name exists but has nothing (no IPv6 here).
        let mut said = vec![];
        if qtype == "A" {
            for ip in &local {
                reply.answers.push(ResourceRecord::new(
                    question.qname.clone(),
                    CLASS::IN,
                    0,
                    RData::A((*ip).into()),
                ));
                said.push(ip.to_string());
            }
        }
        return Some((reply.build_bytes_vec().ok()?, event(said, "network")));
    }
    match forward(query) {
        Some(bytes) => {
            let said = Packet::parse(&bytes)
                .map(|p| {
                    p.answers
                        .iter()
                        .filter_map(|rr| match &rr.rdata {
                            RData::A(a) => Some(Ipv4Addr::from(a.address).to_string()),
                            RData::AAAA(a) => Some(std::net::Ipv6Addr::from(a.address).to_string()),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some((bytes, event(said, "upstream")))
        }
        None => {
            *reply.rcode_mut() = RCODE::ServerFailure;
            Some((reply.build_bytes_vec().ok()?, event(vec![], "none")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::{Name, Question, QCLASS};

    fn query(name: &str, qtype: TYPE) -> Vec<u8> {
        let mut p = Packet::new_query(7);
        p.set_flags(PacketFlag::RECURSION_DESIRED);
        p.questions.push(Question::new(
            Name::new_unchecked(name),
            QTYPE::TYPE(qtype),
            QCLASS::CLASS(CLASS::IN),
            false,
        ));
        p.build_bytes_vec().unwrap()
    }

    fn db(name: &str) -> Vec<Ipv4Addr> {
        match name.trim_end_matches('.') {
            "db" | "banco" => vec![Ipv4Addr::new(10, 89, 1, 3)],
            _ => vec![],
        }
    }

    #[test]
    fn a_name_of_the_network_is_answered_without_asking_upstream() {
        let (reply, body) = answer(&query("db", TYPE::A), db, |_| panic!("não repassa")).unwrap();
        let p = Packet::parse(&reply).unwrap();
        assert_eq!(p.id(), 7);
        assert_eq!(p.rcode(), RCODE::NoError);
        assert_eq!(p.answers.len(), 1);
        assert!(
            matches!(&p.answers[0].rdata, RData::A(a) if Ipv4Addr::from(a.address) == Ipv4Addr::new(10, 89, 1, 3))
        );
        assert_eq!(
            body,
            EventBody::NetDns {
                name: "db".into(),
                qtype: "A".into(),
                answer: vec!["10.89.1.3".into()],
                resolved_by: "network".into(),
            }
        );
        // AAAA of a known name: it exists, with no address of that type.
        let (reply, body) = answer(&query("banco", TYPE::AAAA), db, |_| None).unwrap();
        assert!(Packet::parse(&reply).unwrap().answers.is_empty());
        assert!(matches!(body, EventBody::NetDns { resolved_by, .. } if resolved_by == "network"));
    }

    #[test]
    fn other_names_go_upstream_as_they_came_or_fail() {
        let q = query("example.com", TYPE::A);
        let mut upstream_reply = Packet::new_reply(7);
        upstream_reply.answers.push(ResourceRecord::new(
            Name::new_unchecked("example.com"),
            CLASS::IN,
            60,
            RData::A(Ipv4Addr::new(192, 0, 2, 1).into()),
        ));
        let bytes = upstream_reply.build_bytes_vec().unwrap();
        let (reply, body) = answer(&q, db, |sent| {
            assert_eq!(sent, q.as_slice());
            Some(bytes.clone())
        })
        .unwrap();
        assert_eq!(reply, bytes);
        assert!(
            matches!(&body, EventBody::NetDns { answer, resolved_by, .. }
            if answer == &["192.0.2.1"] && resolved_by == "upstream")
        );
        let (reply, body) = answer(&q, db, |_| None).unwrap();
        assert_eq!(Packet::parse(&reply).unwrap().rcode(), RCODE::ServerFailure);
        assert!(matches!(body, EventBody::NetDns { resolved_by, .. } if resolved_by == "none"));
        assert!(answer(b"lixo", db, |_| None).is_none());
    }
}
