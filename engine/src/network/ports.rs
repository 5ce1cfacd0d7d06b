//! Published ports (`-p 8080:80`): a userspace proxy, like `docker-proxy`.
//!
//! The container's address (10.88.x.y) is reachable only from this host,
//! through the bridge. To serve on a port of the host, casulo itself
//! listens there and, for each connection, opens another one to the
//! container's port and copies bytes both ways. (docker does the same with
//! `docker-proxy`, and adds iptables DNAT rules on top; casulo never touches
//! the host's firewall, so the proxy is the whole mechanism:
//! `net.port` with `mechanism: "proxy"`.)
//!
//! The host socket is bound *before* the container is cloned, so a busy
//! port fails at once with nothing left behind; the proxy's threads start
//! only after the container's `exec` (casulo must stay single-threaded
//! until the fork-like `clone`). At the end, on every path, the socket is
//! shut down and closed (`net.port_close`): the host port is free again.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::OwnedFd;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::kernel::Kernel;

/// `tcp` or `udp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// One `-p [IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// Where casulo listens on the host: `0.0.0.0` (every address, docker's
    /// default) or one address such as `127.0.0.1`.
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl FromStr for PortSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (ports, protocol) = match s.rsplit_once('/') {
            Some((p, "tcp")) => (p, Protocol::Tcp),
            Some((p, "udp")) => (p, Protocol::Udp),
            Some((_, other)) => {
                return Err(format!("protocolo {other:?} desconhecido (use tcp ou udp)"))
            }
            None => (s, Protocol::Tcp),
        };
        let parts: Vec<&str> = ports.split(':').collect();
        let (ip, host, container) = match parts.as_slice() {
            [host, container] => (None, *host, *container),
            [ip, host, container] => (Some(*ip), *host, *container),
            _ => {
                return Err(
                    "use [IP:]PORTA_DO_HOST:PORTA_DO_CONTÊINER[/tcp|/udp], como 8080:80".into(),
                )
            }
        };
        let host_ip = match ip {
            None | Some("") => Ipv4Addr::UNSPECIFIED,
            Some(ip) => ip
                .parse()
                .map_err(|_| format!("{ip:?} não é um endereço IPv4 (como 127.0.0.1)"))?,
        };
        let port = |p: &str| -> Result<u16, String> {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{p:?} não é uma porta (de 1 a 65535)")),
            }
        };
        Ok(PortSpec {
            host_ip,
            host_port: port(host)?,
            container_port: port(container)?,
            protocol,
        })
    }
}

/// As `docker ps` shows it: `0.0.0.0:8080->80/tcp`.
impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}->{}/{}",
            self.host_ip, self.host_port, self.container_port, self.protocol
        )
    }
}

/// Several ports as `docker ps` lists them: `0.0.0.0:8080->80/tcp, …`.
pub fn list(ports: &[PortSpec]) -> String {
    let each: Vec<String> = ports.iter().map(ToString::to_string).collect();
    each.join(", ")
}

/// A published port whose host socket is bound (and listening, for TCP).
#[derive(Debug)]
pub struct Bound {
    pub spec: PortSpec,
    pub socket: OwnedFd,
}

/// The running proxy: one thread per published port (plus one per TCP
/// connection). [`Proxy::stop`] ends them all and closes the host sockets.
pub struct Proxy {
    stop: Arc<AtomicBool>,
    /// Each port, its host socket (the proxy's own descriptor: the thread
    /// serves a copy) and its thread.
    ports: Vec<(PortSpec, OwnedFd, Option<JoinHandle<()>>)>,
    /// Open TCP connections (both sides), shut down at stop.
    conns: Arc<Conns>,
}

/// The open connections (id, client side, container side) and the last id.
type Conns = Mutex<(Vec<(u64, TcpStream, TcpStream)>, u64)>;

/// How long to wait for the container to accept a proxied connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a UDP port's thread looks at the stop flag.
const UDP_TICK: Duration = Duration::from_millis(200);

impl Proxy {
    /// Starts copying between each bound port and `container_ip`.
    pub fn start(bound: Vec<Bound>, container_ip: Ipv4Addr) -> Proxy {
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Conns> = Arc::default();
        let mut ports = Vec::new();
        for Bound { spec, socket } in bound {
            let target = SocketAddr::V4(SocketAddrV4::new(container_ip, spec.container_port));
            let stop = stop.clone();
            let conns = conns.clone();
            let thread = socket.try_clone().ok().map(|fd| {
                std::thread::spawn(move || match spec.protocol {
                    Protocol::Tcp => serve_tcp(TcpListener::from(fd), target, &stop, &conns),
                    Protocol::Udp => serve_udp(UdpSocket::from(fd), target, &stop),
                })
            });
            ports.push((spec, socket, thread));
        }
        Proxy { stop, ports, conns }
    }

    /// Closes every open connection, then each host socket through the
    /// facade (`net.port_close`, in the order they were published): a TCP
    /// one is shut down first, which wakes its thread's blocked `accept`
    /// (Linux); a UDP thread notices the flag at its next tick. The socket
    /// is closed once its thread ended, so the host port is free when the
    /// event is recorded.
    pub fn stop(self, k: &Kernel) {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(conns) = self.conns.lock() {
            for (_, client, upstream) in &conns.0 {
                let _ = client.shutdown(std::net::Shutdown::Both);
                let _ = upstream.shutdown(std::net::Shutdown::Both);
            }
        }
        for (spec, socket, thread) in self.ports {
            let _ = k.close_port(&spec, socket, || {
                if let Some(t) = thread {
                    let _ = t.join();
                }
            });
        }
    }
}

fn serve_tcp(
    listener: TcpListener,
    target: SocketAddr,
    stop: &Arc<AtomicBool>,
    conns: &Arc<Conns>,
) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let client = listener.accept();
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok((client, _)) = client else {
            continue;
        };
        workers.retain(|w| !w.is_finished());
        let conns = conns.clone();
        workers.push(std::thread::spawn(move || {
            let Ok(upstream) = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) else {
                return; // nobody listens in the container: the client sees the close
            };
            proxy_connection(client, upstream, &conns);
        }));
    }
    for w in workers {
        let _ = w.join();
    }
}

/// Copies both ways until both sides are done. While it runs, a copy of
/// each side is in `conns`, for [`Proxy::stop`] to shut down.
fn proxy_connection(client: TcpStream, upstream: TcpStream, conns: &Conns) {
    let (Ok(client2), Ok(upstream2)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let id = {
        let Ok(mut list) = conns.lock() else { return };
        let (Ok(c), Ok(u)) = (client.try_clone(), upstream.try_clone()) else {
            return;
        };
        list.1 += 1;
        let id = list.1;
        list.0.push((id, c, u));
        id
    };
    let back = std::thread::spawn(move || copy_then_close(upstream2, client2));
    copy_then_close(client, upstream);
    let _ = back.join();
    if let Ok(mut list) = conns.lock() {
        list.0.retain(|(i, _, _)| *i != id);
    }
}

/// Copies `from` into `to`; at the end of `from`, ends the writing side of `to`.
fn copy_then_close(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// UDP: each client gets its own socket towards the container, so the
/// answers can be sent back to the right client.
fn serve_udp(host: UdpSocket, target: SocketAddr, stop: &Arc<AtomicBool>) {
    let _ = host.set_read_timeout(Some(UDP_TICK));
    let mut peers: Vec<(SocketAddr, UdpSocket)> = Vec::new();
    let mut repliers: Vec<JoinHandle<()>> = Vec::new();
    let mut buf = vec![0u8; 65536];
    while !stop.load(Ordering::SeqCst) {
        let Ok((n, client)) = host.recv_from(&mut buf) else {
            continue;
        };
        let known = peers.iter().position(|(c, _)| *c == client);
        let index = match known {
            Some(i) => i,
            None => {
                let Ok(upstream) = UdpSocket::bind("0.0.0.0:0") else {
                    continue;
                };
                if upstream.connect(target).is_err() {
                    continue;
                }
                let _ = upstream.set_read_timeout(Some(UDP_TICK));
                if let (Ok(up), Ok(back)) = (upstream.try_clone(), host.try_clone()) {
                    let stop = stop.clone();
                    repliers.push(std::thread::spawn(move || {
                        let mut buf = vec![0u8; 65536];
                        while !stop.load(Ordering::SeqCst) {
                            if let Ok(n) = up.recv(&mut buf) {
                                let _ = back.send_to(&buf[..n], client);
                            }
                        }
                    }));
                }
                peers.push((client, upstream));
                peers.len() - 1
            }
        };
        let _ = peers[index].1.send(&buf[..n]);
    }
    for r in repliers {
        let _ = r.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LinuxSyscalls;
    use crate::recorder::Recorder;
    use casulo_trace::EventBody;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    #[test]
    fn port_specs_follow_docker() {
        let p: PortSpec = "8080:80".parse().unwrap();
        assert_eq!(p.host_ip, Ipv4Addr::UNSPECIFIED);
        assert_eq!((p.host_port, p.container_port), (8080, 80));
        assert_eq!(p.protocol, Protocol::Tcp);
        assert_eq!(p.to_string(), "0.0.0.0:8080->80/tcp");
        let p: PortSpec = "127.0.0.1:5353:53/udp".parse().unwrap();
        assert_eq!(p.to_string(), "127.0.0.1:5353->53/udp");
        for bad in [
            "80",
            "a:80",
            "0:80",
            "8080:70000",
            "1.2.3:80:80",
            "80:80/sctp",
            "",
        ] {
            assert!(bad.parse::<PortSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_proxy_copies_both_ways_and_stops() {
        // A "container" on loopback that answers with what it got, upper-cased.
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let echo = std::thread::spawn(move || {
            let (mut c, _) = server.accept().unwrap();
            let mut got = String::new();
            c.read_to_string(&mut got).unwrap();
            c.write_all(got.to_uppercase().as_bytes()).unwrap();
        });
        let host = TcpListener::bind("127.0.0.1:0").unwrap();
        let host_port = host.local_addr().unwrap().port();
        let bound = Bound {
            spec: PortSpec {
                host_ip: Ipv4Addr::LOCALHOST,
                host_port,
                container_port: port,
                protocol: Protocol::Tcp,
            },
            socket: OwnedFd::from(host),
        };
        let proxy = Proxy::start(vec![bound], Ipv4Addr::LOCALHOST);
        let mut c = TcpStream::connect(("127.0.0.1", host_port)).unwrap();
        c.write_all(b"ola").unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "OLA");
        echo.join().unwrap();
        let rec = Recorder::in_memory();
        proxy.stop(&Kernel::new(&LinuxSyscalls, &rec));
        assert!(TcpStream::connect(("127.0.0.1", host_port)).is_err());
        // Recorded once closed, and the port is free: it binds again.
        let events = rec.events();
        assert_eq!(events.len(), 1);
        assert!(events[0].outcome.is_ok());
        assert_eq!(
            events[0].body,
            EventBody::NetPortClose {
                protocol: "tcp".into(),
                host_ip: "127.0.0.1".into(),
                host_port,
            }
        );
        assert!(events[0].op.starts_with("shutdown(fd "), "{}", events[0].op);
        assert!(
            events[0]
                .op
                .ends_with(&format!(") 127.0.0.1:{host_port}/tcp")),
            "{}",
            events[0].op
        );
        TcpListener::bind(("127.0.0.1", host_port)).expect("the port is free again");
    }

    #[test]
    fn the_udp_proxy_answers_the_right_client() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let echo = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let (n, from) = server.recv_from(&mut buf).unwrap();
            server
                .send_to(&buf[..n].to_ascii_uppercase(), from)
                .unwrap();
        });
        let host = UdpSocket::bind("127.0.0.1:0").unwrap();
        let host_port = host.local_addr().unwrap().port();
        let fd = host.as_raw_fd();
        let bound = Bound {
            spec: PortSpec {
                host_ip: Ipv4Addr::LOCALHOST,
                host_port,
                container_port: port,
                protocol: Protocol::Udp,
            },
            socket: OwnedFd::from(host),
        };
        let proxy = Proxy::start(vec![bound], Ipv4Addr::LOCALHOST);
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        client.send_to(b"oi", ("127.0.0.1", host_port)).unwrap();
        let mut buf = [0u8; 64];
        let n = client.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"OI");
        echo.join().unwrap();
        let rec = Recorder::in_memory();
        proxy.stop(&Kernel::new(&LinuxSyscalls, &rec));
        let events = rec.events();
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].op,
            format!("close(fd {}) 127.0.0.1:{host_port}/udp", fd)
        );
        UdpSocket::bind(("127.0.0.1", host_port)).expect("the port is free again");
    }
}
