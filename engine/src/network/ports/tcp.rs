//! The TCP side of the proxy: one thread per published port accepts, at
//! most [`Limits::max_tcp_connections`](super::Limits) connections are open
//! at once (over all ports), and each is relayed by its own thread with
//! both sockets non-blocking, waiting in `poll(2)`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::poll::PollFlags;

use super::{spawn, wait, Shared, CONNECT_TIMEOUT};

/// Bytes read from one side and not yet written to the other, per direction.
const BUFFER: usize = 16 * 1024;

/// Accepts until the proxy stops; then waits for its connections' threads.
pub(super) fn serve(listener: TcpListener, target: SocketAddr, shared: &Arc<Shared>) {
    // Non-blocking: a client that resets between `poll` and `accept` must
    // not leave this thread blocked in `accept`.
    if listener.set_nonblocking(true).is_err() {
        return;
    }
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let mut backoff = Backoff::default();
    // A place first: at the cap, this thread waits and new clients wait in
    // the kernel's listen backlog.
    while let Some(place) = Place::take(shared) {
        let ready = [(listener.as_fd(), PollFlags::POLLIN)];
        if wait(shared, &ready, Duration::MAX).is_none() {
            break; // stopping
        }
        match listener.accept() {
            Ok((client, _)) => {
                backoff = Backoff::default();
                workers.retain(|w| !w.is_finished());
                let shared = shared.clone();
                // No thread to be had: the closure is dropped, the client
                // sees its connection closed and the place is given back.
                let worker = spawn("casulo-conexao", move || {
                    relay(client, target, &shared);
                    drop(place);
                });
                workers.extend(worker);
            }
            Err(e) if out_of_resources(&e) => {
                drop(place);
                if !backoff.sleep(shared) {
                    break;
                }
            }
            // The client gave up before we took it (ECONNABORTED), or it was
            // taken already (EAGAIN): nothing to do but accept the next.
            Err(_) => {}
        }
    }
    for w in workers {
        let _ = w.join();
    }
}

/// `accept` failed because the system (or casulo) has no descriptor or
/// memory left: trying again at once would fail again.
fn out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// One of the [`Limits::max_tcp_connections`](super::Limits) places, held
/// while a connection is open; given back (and a waiting acceptor woken)
/// when dropped.
struct Place(Arc<Shared>);

impl Place {
    /// Waits for a free place; `None` once the proxy is stopping.
    fn take(shared: &Arc<Shared>) -> Option<Place> {
        let mut count = shared.tcp.lock().ok()?;
        while count.open >= shared.limits.max_tcp_connections && !count.stopping {
            count = shared.tcp_freed.wait(count).ok()?;
        }
        if count.stopping {
            return None;
        }
        count.open += 1;
        Some(Place(shared.clone()))
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Ok(mut count) = self.0.tcp.lock() {
            count.open -= 1;
        }
        self.0.tcp_freed.notify_one();
    }
}

/// How long the acceptor sleeps after an `accept` that failed for lack of
/// resources: 5 ms, doubling up to 1 s (as Go's `net/http` server does).
struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(Duration::from_millis(5))
    }
}

impl Backoff {
    /// Sleeps (woken early by the stop pipe: then `false`) and doubles.
    fn sleep(&mut self, shared: &Shared) -> bool {
        let waited = wait(shared, &[], self.0).is_some();
        self.0 = (self.0 * 2).min(Duration::from_secs(1));
        waited
    }
}

/// Connects to the container and copies both ways until both directions
/// ended, either side failed, nothing moved for
/// [`Limits::tcp_idle`](super::Limits), or the proxy stops. Both sockets
/// are closed on return.
fn relay(client: TcpStream, target: SocketAddr, shared: &Shared) {
    let Ok(upstream) = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) else {
        return; // nobody listens in the container: the client sees the close
    };
    if client.set_nonblocking(true).is_err() || upstream.set_nonblocking(true).is_err() {
        return;
    }
    let mut to_container = Half::default();
    let mut to_client = Half::default();
    let mut last_moved = Instant::now();
    while !(to_container.done && to_client.done) {
        let idle_left = shared.limits.tcp_idle.saturating_sub(last_moved.elapsed());
        if idle_left.is_zero() {
            return;
        }
        // What each socket is waited for: readable if its direction's
        // buffer is empty, writable if the other direction has bytes for it.
        // A socket waited for nothing stays out of the set (poll would
        // report its hang-up again and again).
        let client_events = to_container.read_events() | to_client.write_events();
        let upstream_events = to_client.read_events() | to_container.write_events();
        let mut set = Vec::with_capacity(2);
        if !client_events.is_empty() {
            set.push((client.as_fd(), client_events));
        }
        if !upstream_events.is_empty() {
            set.push((upstream.as_fd(), upstream_events));
        }
        let Some(ready) = wait(shared, &set, idle_left) else {
            return; // stopping
        };
        let mut ready = ready.into_iter();
        let client_ready = !client_events.is_empty() && ready.next() == Some(true);
        let upstream_ready = !upstream_events.is_empty() && ready.next() == Some(true);
        let moved = to_container.pump(&client, &upstream, client_ready, upstream_ready);
        let moved = moved.and_then(|a| {
            let b = to_client.pump(&upstream, &client, upstream_ready, client_ready)?;
            Ok(a || b)
        });
        match moved {
            Ok(true) => last_moved = Instant::now(),
            Ok(false) => {}
            Err(_) => return, // reset or broken: both sides are closed
        }
    }
}

/// One direction of a connection: what was read from one side and is
/// waiting to be written to the other.
struct Half {
    buf: Box<[u8; BUFFER]>,
    /// `buf[sent..len]` is still to be written.
    sent: usize,
    len: usize,
    /// The reading side ended (read returned 0).
    eof: bool,
    /// Everything was written and the writing side shut down: over.
    done: bool,
}

impl Default for Half {
    fn default() -> Self {
        Half {
            buf: Box::new([0; BUFFER]),
            sent: 0,
            len: 0,
            eof: false,
            done: false,
        }
    }
}

impl Half {
    fn read_events(&self) -> PollFlags {
        if !self.eof && self.sent == self.len {
            PollFlags::POLLIN
        } else {
            PollFlags::empty()
        }
    }

    fn write_events(&self) -> PollFlags {
        if self.sent < self.len {
            PollFlags::POLLOUT
        } else {
            PollFlags::empty()
        }
    }

    /// Writes what is buffered to `to`, or reads more from `from` once the
    /// buffer is empty; at the end of `from` with nothing left, shuts down
    /// the writing side of `to` (the other end sees the end of file and
    /// may still answer). `Ok(true)` if any byte moved.
    fn pump(
        &mut self,
        from: &TcpStream,
        to: &TcpStream,
        from_ready: bool,
        to_ready: bool,
    ) -> io::Result<bool> {
        let mut moved = false;
        if to_ready && self.sent < self.len {
            match (&mut &*to).write(&self.buf[self.sent..self.len]) {
                Ok(n) => {
                    self.sent += n;
                    moved = n > 0;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if from_ready && !self.eof && self.sent == self.len {
            match (&mut &*from).read(&mut self.buf[..]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    (self.sent, self.len) = (0, n);
                    moved = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if self.eof && self.sent == self.len && !self.done {
            // The peer may have closed already (ENOTCONN): then it is over too.
            let _ = to.shutdown(Shutdown::Write);
            self.done = true;
        }
        Ok(moved)
    }
}
