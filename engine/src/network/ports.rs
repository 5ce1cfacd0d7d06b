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
//!
//! ## Bounded, because anyone who reaches the port can try to exhaust it
//!
//! A published port listens for the whole network (`0.0.0.0` by default).
//! A proxy that gives every client a thread and sockets for as long as the
//! client wants runs out of descriptors or threads, and then casulo itself
//! (the same process waits for the container) is the one that breaks. So
//! every resource is capped and every flow has an end ([`Limits`]):
//!
//! | what | limit | why this number |
//! |---|---|---|
//! | TCP connections open at once (all ports) | 256 | one thread and two sockets each: at most 257 threads and ~520 descriptors, under the usual soft limit of 1024 descriptors with room for casulo's own |
//! | a TCP connection with no byte either way | closed after 10 min | nginx's `proxy_timeout` for streams; long enough for a slow interactive session, short enough that idle holders give their place back |
//! | UDP flows (one client address:port) per port | 128, the least recently used is evicted | a UDP "client" is just a source address, which anyone can forge: a cap with eviction means a flood of sources costs a table of 128 sockets, never more |
//! | a UDP flow with no datagram either way | forgotten after 90 s | `docker-proxy`'s own UDP timeout (its `UDPConnTrackTimeout`) |
//!
//! At the cap, the acceptor simply stops calling `accept`: new clients
//! wait in the kernel's listen backlog (`listen(…, SOMAXCONN)`), and the
//! kernel refuses them once that is full. Nothing crashes and nothing
//! spins. When `accept` fails for lack of descriptors or memory (`EMFILE`,
//! `ENFILE`, `ENOBUFS`, `ENOMEM`), the pending connection stays in the
//! backlog and calling `accept` again at once would fail again, forever, at
//! 100% CPU: the acceptor sleeps instead, 5 ms doubling up to 1 s (the
//! back-off of Go's `net/http` server, which `docker-proxy` runs on).
//!
//! ## One `poll(2)` per thread, and one pipe that stops them all
//!
//! Each thread waits in `poll(2)` for its sockets *and* for the read end of
//! a pipe whose write end only the [`Proxy`] holds. [`Proxy::stop`] closes
//! the write end: the read end becomes readable (end of file) for every
//! thread at once, and each one returns and closes its sockets. A TCP
//! connection is served by one thread with both sockets non-blocking: it
//! reads from whichever side has bytes and writes to the other as it
//! drains (`tcp.rs`). All UDP flows of a port share the port's single
//! thread (`udp.rs`). (A single event loop for everything, as slirp4netns
//! or a `mio`/`tokio` proxy does, would need no thread per connection at
//! all; a thread per connection, capped, keeps each relay a plain loop that
//! reads top to bottom.)

mod tcp;
mod udp;

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::kernel::Kernel;

/// `tcp`, `udp` and `-p`'s spec live in the facade, which binds the host
/// sockets ([`Kernel::publish_port`]).
pub use crate::kernel::{PortSpec, Protocol};

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

/// How much the proxy may hold, and for how long (see the module docs for
/// why these numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// TCP connections open at once, over all published ports.
    pub max_tcp_connections: usize,
    /// A TCP connection with no byte either way for this long is closed.
    pub tcp_idle: Duration,
    /// UDP flows (one per client address and port) per published port.
    pub max_udp_flows: usize,
    /// A UDP flow with no datagram either way for this long is forgotten.
    pub udp_idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_tcp_connections: 256,
            tcp_idle: Duration::from_secs(10 * 60),
            max_udp_flows: 128,
            udp_idle: Duration::from_secs(90),
        }
    }
}

/// The running proxy: one thread per published port, plus one per open
/// TCP connection (at most [`Limits::max_tcp_connections`]).
/// [`Proxy::stop`] ends them all and closes the host sockets.
pub struct Proxy {
    shared: Option<Arc<Shared>>,
    /// The pipe's write end: closing it tells every thread to stop.
    stop_writer: Option<io::PipeWriter>,
    /// Each port, its host socket (the proxy's own descriptor: the thread
    /// serves a copy) and its thread.
    ports: Vec<(PortSpec, OwnedFd, Option<JoinHandle<()>>)>,
}

/// What every thread of the proxy shares.
struct Shared {
    limits: Limits,
    /// The pipe's read end, in every thread's `poll` set: readable (end of
    /// file) once [`Proxy::stop`] closed the write end.
    stop: io::PipeReader,
    /// TCP connections open now, over all ports; `stopping` is set under
    /// the same lock, so an acceptor waiting for a free place never misses it.
    tcp: Mutex<TcpCount>,
    /// Signalled when a TCP connection ends (a place is free) and at stop.
    tcp_freed: Condvar,
}

#[derive(Default)]
struct TcpCount {
    open: usize,
    stopping: bool,
}

/// How long to wait for the container to accept a proxied connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Stack of each proxy thread: they hold their buffers on the heap and call
/// nothing deep, so 256 KiB instead of the 2 MiB default.
const THREAD_STACK: usize = 256 * 1024;

impl Proxy {
    /// Starts copying between each bound port and `container_ip`, with the
    /// default [`Limits`].
    pub fn start(bound: Vec<Bound>, container_ip: Ipv4Addr) -> Proxy {
        Proxy::start_with(bound, container_ip, Limits::default())
    }

    /// [`Proxy::start`] with other limits (the tests use small ones).
    pub fn start_with(bound: Vec<Bound>, container_ip: Ipv4Addr, limits: Limits) -> Proxy {
        // Without a pipe (no descriptor left) no port is served, but the
        // sockets are still kept, for `stop` to close them.
        let (shared, stop_writer) = match io::pipe() {
            Ok((stop, writer)) => {
                let shared = Arc::new(Shared {
                    limits,
                    stop,
                    tcp: Mutex::default(),
                    tcp_freed: Condvar::new(),
                });
                (Some(shared), Some(writer))
            }
            Err(_) => (None, None),
        };
        let mut ports = Vec::new();
        for Bound { spec, socket } in bound {
            let target = SocketAddr::V4(SocketAddrV4::new(container_ip, spec.container_port));
            let thread = shared.clone().and_then(|shared| {
                let fd = socket.try_clone().ok()?;
                spawn("casulo-porta", move || match spec.protocol {
                    Protocol::Tcp => tcp::serve(TcpListener::from(fd), target, &shared),
                    Protocol::Udp => udp::serve(UdpSocket::from(fd), target, &shared),
                })
            });
            ports.push((spec, socket, thread));
        }
        Proxy {
            shared,
            stop_writer,
            ports,
        }
    }

    /// Tells every thread to stop (the pipe's write end closed; an acceptor
    /// waiting for a free place is woken too), then closes each host socket
    /// through the facade (`net.port_close`, in the order they were
    /// published) once its thread ended, so the host port is free when the
    /// event is recorded. Each connection's thread closes its own sockets.
    pub fn stop(self, k: &Kernel) {
        if let Some(shared) = &self.shared {
            if let Ok(mut count) = shared.tcp.lock() {
                count.stopping = true;
            }
            shared.tcp_freed.notify_all();
        }
        drop(self.stop_writer);
        for (spec, socket, thread) in self.ports {
            let _ = k.close_port(&spec, socket, || {
                if let Some(t) = thread {
                    let _ = t.join();
                }
            });
        }
    }
}

/// A proxy thread, named (it shows in `/proc/<pid>/task/*/comm`) and with a
/// small stack; `None` if the system has no thread to give.
fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Option<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.into())
        .stack_size(THREAD_STACK)
        .spawn(f)
        .ok()
}

/// Waits in `poll(2)` until one of `fds` (each with the events it waits
/// for) is ready, the proxy is stopping, or `timeout` passes. Returns each
/// socket's readiness (any event, errors and hang-ups included: the next
/// read or write tells which), or `None` when stopping.
fn wait(
    shared: &Shared,
    fds: &[(BorrowedFd<'_>, PollFlags)],
    timeout: Duration,
) -> Option<Vec<bool>> {
    let mut set = Vec::with_capacity(fds.len() + 1);
    set.push(PollFd::new(shared.stop.as_fd(), PollFlags::POLLIN));
    set.extend(fds.iter().map(|(fd, events)| PollFd::new(*fd, *events)));
    // poll's timeout is in milliseconds, at most i32::MAX: ~24 days.
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    match poll(
        &mut set,
        PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
    ) {
        Ok(_) | Err(nix::errno::Errno::EINTR) => {}
        // EINVAL/ENOMEM: nothing this thread can wait on any more.
        Err(_) => return None,
    }
    let ready = |p: &PollFd| p.revents().is_some_and(|r| !r.is_empty());
    if ready(&set[0]) {
        return None;
    }
    Some(set[1..].iter().map(ready).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::LinuxSyscalls;
    use crate::recorder::Recorder;
    use casulo_trace::EventBody;
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicUsize, Ordering};

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

    #[test]
    fn the_limits_are_the_documented_ones() {
        // The module docs, the README and tests/tests/network.rs say these
        // numbers: change them together.
        let l = Limits::default();
        assert_eq!(l.max_tcp_connections, 256);
        assert_eq!(l.tcp_idle, Duration::from_secs(600));
        assert_eq!(l.max_udp_flows, 128);
        assert_eq!(l.udp_idle, Duration::from_secs(90));
    }

    /// A TCP "container" on loopback that counts the connections it
    /// accepted and answers each with what it got, upper-cased, at its end.
    fn counting_echo() -> (u16, Arc<AtomicUsize>) {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for c in server.incoming() {
                let Ok(mut c) = c else { return };
                count.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut got = String::new();
                    if c.read_to_string(&mut got).is_ok() {
                        let _ = c.write_all(got.to_uppercase().as_bytes());
                    }
                });
            }
        });
        (port, accepted)
    }

    fn tcp_proxy(container_port: u16, limits: Limits) -> (Proxy, u16) {
        let host = TcpListener::bind("127.0.0.1:0").unwrap();
        let host_port = host.local_addr().unwrap().port();
        let bound = Bound {
            spec: PortSpec {
                host_ip: Ipv4Addr::LOCALHOST,
                host_port,
                container_port,
                protocol: Protocol::Tcp,
            },
            socket: OwnedFd::from(host),
        };
        let proxy = Proxy::start_with(vec![bound], Ipv4Addr::LOCALHOST, limits);
        (proxy, host_port)
    }

    fn ask(port: u16, text: &str) -> String {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(text.as_bytes()).unwrap();
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        answer
    }

    /// Waits (up to 10 s) until `f` holds.
    #[track_caller]
    fn eventually(what: &str, f: impl Fn() -> bool) {
        let end = std::time::Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(std::time::Instant::now() < end, "{what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn past_the_cap_a_connection_waits_in_the_backlog_until_a_place_frees() {
        let (port, accepted) = counting_echo();
        let limits = Limits {
            max_tcp_connections: 2,
            ..Limits::default()
        };
        let (proxy, host_port) = tcp_proxy(port, limits);
        let first = TcpStream::connect(("127.0.0.1", host_port)).unwrap();
        let _second = TcpStream::connect(("127.0.0.1", host_port)).unwrap();
        eventually("as duas primeiras conexões chegam", || {
            accepted.load(Ordering::SeqCst) == 2
        });
        // The third is in the kernel's backlog: the proxy does not take it.
        let third = std::thread::spawn(move || ask(host_port, "terceira"));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "o limite é 2");
        assert!(!third.is_finished());
        // One ends: its place goes to the one waiting.
        drop(first);
        assert_eq!(third.join().unwrap(), "TERCEIRA");
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
        let rec = Recorder::in_memory();
        proxy.stop(&Kernel::new(&LinuxSyscalls, &rec));
    }

    #[test]
    fn an_idle_tcp_connection_is_closed_and_gives_its_place_back() {
        let (port, accepted) = counting_echo();
        let limits = Limits {
            max_tcp_connections: 1,
            tcp_idle: Duration::from_millis(300),
            ..Limits::default()
        };
        let (proxy, host_port) = tcp_proxy(port, limits);
        let mut idle = TcpStream::connect(("127.0.0.1", host_port)).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        // Nothing sent: after 300 ms the proxy closes it (end of file here,
        // not the 10 s read timeout).
        let mut buf = [0u8; 8];
        assert_eq!(idle.read(&mut buf).unwrap(), 0);
        // Its place is free again: the next client is served.
        assert_eq!(ask(host_port, "depois"), "DEPOIS");
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
        let rec = Recorder::in_memory();
        proxy.stop(&Kernel::new(&LinuxSyscalls, &rec));
    }

    #[test]
    fn stop_ends_open_connections() {
        let (port, _) = counting_echo();
        let (proxy, host_port) = tcp_proxy(port, Limits::default());
        let mut open = TcpStream::connect(("127.0.0.1", host_port)).unwrap();
        open.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        open.write_all(b"meio").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let rec = Recorder::in_memory();
        proxy.stop(&Kernel::new(&LinuxSyscalls, &rec));
        // The connection's thread closed it (end of file, not a timeout).
        let mut buf = [0u8; 8];
        assert_eq!(open.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn a_flood_of_udp_sources_evicts_the_quietest_flow_and_a_client_is_still_answered() {
        // The "container" answers each datagram with the port it came from
        // (the proxy's socket for that flow).
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while let Ok((_, from)) = server.recv_from(&mut buf) {
                let _ = server.send_to(from.port().to_string().as_bytes(), from);
            }
        });
        let host = UdpSocket::bind("127.0.0.1:0").unwrap();
        let host_port = host.local_addr().unwrap().port();
        let bound = Bound {
            spec: PortSpec {
                host_ip: Ipv4Addr::LOCALHOST,
                host_port,
                container_port: port,
                protocol: Protocol::Udp,
            },
            socket: OwnedFd::from(host),
        };
        let limits = Limits {
            max_udp_flows: 4,
            udp_idle: Duration::from_millis(400),
            ..Limits::default()
        };
        let proxy = Proxy::start_with(vec![bound], Ipv4Addr::LOCALHOST, limits);
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let flow_port = || -> String {
            client.send_to(b"?", ("127.0.0.1", host_port)).unwrap();
            let mut buf = [0u8; 64];
            let n = client.recv(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        };
        let first = flow_port();
        assert_eq!(flow_port(), first, "the same flow while it lives");
        // 200 forged-looking sources, 4 places: the client's flow is evicted.
        for _ in 0..200 {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.send_to(b"x", ("127.0.0.1", host_port)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
        let second = flow_port();
        assert_ne!(second, first, "evicted: a new flow, still answered");
        // Quiet for longer than udp_idle: forgotten, a new flow again.
        std::thread::sleep(Duration::from_millis(600));
        assert_ne!(flow_port(), second, "forgotten after udp_idle");
        let rec = Recorder::in_memory();
        proxy.stop(&Kernel::new(&LinuxSyscalls, &rec));
    }
}
