//! The UDP side of the proxy. UDP has no connections: a "flow" is every
//! datagram from one client address and port. Each flow gets its own socket
//! towards the container (so the container's answers, arriving on it, can
//! be sent back to that client), and all the flows of a published port are
//! served by the port's one thread, waiting in one `poll(2)`.
//!
//! A client's address is whatever the datagram says, and anyone can forge
//! it: so the flow table is capped at
//! [`Limits::max_udp_flows`](super::Limits), a new client past the cap
//! evicts the flow that was quiet the longest, and a flow quiet for
//! [`Limits::udp_idle`](super::Limits) is forgotten. Forgetting a flow
//! closes its socket; a later datagram from that client starts a new one.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::Instant;

use nix::poll::PollFlags;

use super::{wait, Shared};

/// The largest datagram (IPv4: 65535 minus the IP and UDP headers, 65507;
/// the buffer is rounded up).
const DATAGRAM: usize = 64 * 1024;
/// Datagrams taken from one socket per wake-up, so a flood on one socket
/// cannot starve the others.
const BATCH: usize = 64;

/// One client's flow: its socket towards the container, and when a
/// datagram last went either way.
struct Flow {
    client: SocketAddr,
    upstream: UdpSocket,
    last: Instant,
}

/// Serves one published UDP port until the proxy stops. The flows' sockets
/// are closed on return.
pub(super) fn serve(host: UdpSocket, target: SocketAddr, shared: &Shared) {
    if host.set_nonblocking(true).is_err() {
        return;
    }
    let limits = shared.limits;
    let mut flows: Vec<Flow> = Vec::new();
    let mut buf = vec![0u8; DATAGRAM];
    loop {
        let now = Instant::now();
        flows.retain(|f| now.duration_since(f.last) < limits.udp_idle);
        // Wake up when the quietest flow expires, if nothing comes first.
        let oldest = flows.iter().map(|f| f.last).min().unwrap_or(now);
        let timeout = (oldest + limits.udp_idle).saturating_duration_since(now);
        let mut set = vec![(host.as_fd(), PollFlags::POLLIN)];
        set.extend(
            flows
                .iter()
                .map(|f| (f.upstream.as_fd(), PollFlags::POLLIN)),
        );
        let Some(ready) = wait(shared, &set, timeout) else {
            return; // stopping
        };
        drop(set);
        // The container's answers, each back to its flow's client. A flow
        // whose socket fails (ECONNREFUSED: nobody listens on that port of
        // the container) is dropped.
        let mut failed = vec![false; flows.len()];
        for (i, flow) in flows.iter_mut().enumerate() {
            if !ready[i + 1] {
                continue;
            }
            for _ in 0..BATCH {
                match flow.upstream.recv(&mut buf) {
                    Ok(n) => {
                        let _ = host.send_to(&buf[..n], flow.client);
                        flow.last = Instant::now();
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        failed[i] = true;
                        break;
                    }
                }
            }
        }
        let mut failed = failed.into_iter();
        flows.retain(|_| !failed.next().unwrap_or(false));
        // The clients' datagrams, each into its flow (made if new).
        if ready[0] {
            for _ in 0..BATCH {
                match host.recv_from(&mut buf) {
                    Ok((n, client)) => forward(&mut flows, client, &buf[..n], target, shared),
                    Err(_) => break, // WouldBlock: all taken
                }
            }
        }
    }
}

/// Sends `datagram` from `client` to the container through the client's
/// flow, making the flow if it is new (evicting the quietest one at the
/// cap). With no socket to be had (no descriptor left) the datagram is
/// dropped, as a full network would.
fn forward(
    flows: &mut Vec<Flow>,
    client: SocketAddr,
    datagram: &[u8],
    target: SocketAddr,
    shared: &Shared,
) {
    let index = match flows.iter().position(|f| f.client == client) {
        Some(i) => i,
        None => {
            if flows.len() >= shared.limits.max_udp_flows {
                let quietest = (0..flows.len()).min_by_key(|&i| flows[i].last);
                if let Some(i) = quietest {
                    flows.swap_remove(i);
                }
            }
            let Ok(upstream) = connect(target) else {
                return;
            };
            flows.push(Flow {
                client,
                upstream,
                last: Instant::now(),
            });
            flows.len() - 1
        }
    };
    let flow = &mut flows[index];
    flow.last = Instant::now();
    let _ = flow.upstream.send(datagram);
}

/// A socket of the host towards the container's port (`connect` on UDP
/// only fixes the peer: datagrams from anyone else are not received).
fn connect(target: SocketAddr) -> io::Result<UdpSocket> {
    let upstream = UdpSocket::bind("0.0.0.0:0")?;
    upstream.connect(target)?;
    upstream.set_nonblocking(true)?;
    Ok(upstream)
}
