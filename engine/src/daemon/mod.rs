//! # daemon: the Docker Engine API over a unix socket
//!
//! `casulo daemon` answers the HTTP requests the unmodified `docker` CLI
//! makes (`DOCKER_HOST=unix:///run/casulo/casulo.sock docker run …`). It is
//! a thin layer: each endpoint is the library call the matching `casulo`
//! verb makes, on the same state dir — a container made through the API
//! is the same `container.json`, runs under the same per-container
//! supervisor as `casulo run -d` (so it outlives the daemon), and keeps
//! its trace. Docker splits client and daemon; casulo, daemonless, can be
//! driven both ways, and `casulo ps` and `docker ps` agree.
//!
//! **HTTP server**: hyper 1 (HTTP/1.1) on tokio, with hyper-util's glue. A
//! simpler synchronous server (tiny_http) was considered; docker's client
//! needs two things from it — response headers sent before the body
//! exists (`docker run` asks `POST /wait` *before* it starts the container
//! and blocks until the headers come) and the connection hijack of
//! `attach` (`101 UPGRADED`, then raw bytes) — and hyper does both as part
//! of its API (bodies are streams; `hyper::upgrade::on`). The engine is
//! synchronous: every request runs on tokio's blocking pool, and a
//! stream's producer (`logs -f`, `attach`, `wait`) on a thread of its own
//! that sends into a channel (it stops when the client is gone).
//!
//! Modules: [`routes`] (which path is which handler), [`http`] (replies,
//! errors as `{"message": …}`, query strings), [`system`] (`/_ping`,
//! `/version`, `/info`), [`images`], [`containers`], [`create`] (docker's
//! container config → [`crate::container::RunOptions`]), [`attach`] (the
//! client's keys to the container through its supervisor's `attach.sock`,
//! `resize`), [`exec`] (`docker exec`, by a `casulo exec` child process,
//! with a stdin pipe or a pty of the daemon's), [`events`] (told from the
//! records, looked at every 50 ms), [`stats`] (docker's JSON from the same
//! cgroup reading as `casulo stats`), [`prune`], [`stream`] (docker's
//! multiplexed stdout/stderr frames), [`volumes`]; images'
//! `tag`/`history`/`DELETE`/`prune` in [`images`], `save`/`load` in
//! [`archive`], `build` in [`build`] (a `casulo build` child, for the same
//! reason as exec: a RUN step `sigwait`s on SIGTERM/SIGCHLD), pull, push
//! and login in [`registry`], networks in [`networks`], and the tar bodies
//! (load, build) streamed to a file in [`upload`]; casulo's own
//! read-only paths: [`traces`] (`/casulo/traces`), [`live`] (a trace as
//! Server-Sent Events while it is written), [`ui`] (`--ui`: the visualizer
//! and those paths on a TCP port, never docker's API), [`request`] (who
//! asked: the `daemon.request` a create records).
//!
//! The library never prints: what the daemon has to say goes to the
//! `log` callback the CLI gives it (pt-BR, one line per request).
//!
//! **Not offered** (each answers 501 with its name, never a wrong
//! answer): BuildKit (`/session`, `/grpc`, `version=2`: docker's CLI uses
//! the classic builder when buildx is not installed, or with
//! `DOCKER_BUILDKIT=0`); swarm, plugins, secrets and configs; filters
//! casulo cannot apply. `events` and `wait` learn of changes from the
//! records (inotify, and a look every second): a container has no central
//! process to notify them; `events --since` replays what the daemon's
//! [`event_log`] remembers.

pub mod archive;
pub mod attach;
pub mod build;
pub mod containers;
pub mod create;
pub mod event_log;
pub mod events;
pub mod exec;
pub mod http;
pub mod images;
pub mod live;
pub mod networks;
pub mod prune;
pub mod registry;
pub mod request;
pub mod routes;
pub mod since;
pub mod site;
pub mod stats;
pub mod stream;
pub mod system;
pub mod traces;
pub mod ui;
pub mod upload;
pub mod volumes;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, UPGRADE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};

use self::http::{ApiError, Body, ChannelBody, Query, Reply, API_VERSION, MAX_BODY};
use crate::state::StateDir;

/// Where the daemon listens unless told otherwise.
pub const DEFAULT_SOCKET: &str = "/run/casulo/casulo.sock";

/// What the daemon says, line by line (the CLI prints it).
pub type Log = Arc<dyn Fn(String) + Send + Sync>;

/// `casulo daemon`'s options.
#[derive(Debug, Clone)]
pub struct Options {
    pub socket: PathBuf,
    /// Also on TCP (`--tcp 127.0.0.1:2375`): never unless asked.
    pub tcp: Option<SocketAddr>,
    /// `--ui 127.0.0.1:8000`: the visualizer and `/casulo/…` (read-only)
    /// for a browser ([`ui`]); `ui_dir` is the built app, `ui_public`
    /// allows an address other than loopback.
    pub ui: Option<SocketAddr>,
    pub ui_dir: Option<PathBuf>,
    pub ui_public: bool,
}

/// What every request's handler shares.
pub struct Ctx {
    pub state: StateDir,
    pub log: Log,
    /// Supervisors this daemon spawned (it is their parent until they end,
    /// so it must reap them: a daemon lives long, and zombies would pile up).
    children: Mutex<Vec<i32>>,
    /// Containers whose last start through this daemon failed: an attach
    /// or a `next-exit` wait made before it ends instead of waiting on.
    failed: Mutex<std::collections::HashSet<String>>,
    /// `docker exec`'s: created, then started.
    pub execs: exec::Execs,
    /// What `docker events` tells, remembered for `since`: kept by the
    /// daemon ([`serve`]); `casulo ui`, which serves no API, keeps none.
    pub events: Option<Arc<event_log::EventLog>>,
}

impl Ctx {
    /// A context on `state` that has started nothing yet.
    pub fn new(state: StateDir, log: Log) -> Ctx {
        Ctx {
            events: None,
            state,
            log,
            children: Mutex::new(Vec::new()),
            failed: Mutex::new(Default::default()),
            execs: Default::default(),
        }
    }

    pub fn start_failed(&self, id: &str) {
        if let Ok(mut failed) = self.failed.lock() {
            failed.insert(id.to_string());
        }
    }

    pub fn failed_to_start(&self, id: &str) -> bool {
        self.failed.lock().is_ok_and(|f| f.contains(id))
    }

    /// The supervisor of the container `id`, just started by this process:
    /// reaped when it ends.
    pub fn adopt(&self, id: &str) {
        if let Ok(r) = crate::container::record::load(&self.state.container(id)) {
            if let Ok(mut failed) = self.failed.lock() {
                failed.remove(id);
            }
            if let (Some(pid), Ok(mut children)) = (r.supervisor, self.children.lock()) {
                children.push(pid);
            }
        }
    }

    /// `waitpid(WNOHANG)` on each adopted supervisor.
    fn reap(&self) {
        use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
        if let Ok(mut children) = self.children.lock() {
            children.retain(|&pid| {
                matches!(
                    waitpid(nix::unistd::Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)),
                    Ok(WaitStatus::StillAlive)
                )
            });
        }
    }
}

/// Why the daemon could not start (or stopped).
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("já há um daemon escutando em {0} (pare-o antes, ou use outro --socket)")]
    SocketInUse(PathBuf),
    #[error("não consegui escutar em {what}: {source}")]
    Listen {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Ui(String),
    #[error("não consegui iniciar o runtime do daemon: {0}")]
    Runtime(#[source] std::io::Error),
}

/// Serves until SIGINT or SIGTERM; then stops accepting, lets the
/// requests in flight end (1 s at most) and removes its socket. The
/// containers go on under their supervisors.
pub fn serve(state: StateDir, opts: Options, log: Log) -> Result<(), DaemonError> {
    survive_sigpipe();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    let ctx = Arc::new(Ctx {
        events: Some(event_log::EventLog::start(state.clone())),
        ..Ctx::new(state, log)
    });
    let result = runtime.block_on(run(ctx.clone(), opts));
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// casulo runs with SIGPIPE's default action (see `main.rs`): a write to
/// a client that hung up would kill the whole daemon. A handler that does
/// nothing turns it into an `EPIPE` for that one connection — and, unlike
/// `SIG_IGN`, a handler is reset by `exec`, so the supervisors the daemon
/// spawns start with the same default as under `casulo run -d`.
fn survive_sigpipe() {
    extern "C" fn nothing(_: libc::c_int) {}
    // SAFETY: installs a handler that touches nothing (async-signal-safe).
    unsafe {
        libc::signal(libc::SIGPIPE, nothing as *const () as libc::sighandler_t);
    }
}

async fn run(ctx: Arc<Ctx>, opts: Options) -> Result<(), DaemonError> {
    // --ui is checked first: a wrong one starts nothing.
    let ui = match opts.ui {
        Some(addr) => {
            ui::check_addr(addr, opts.ui_public).map_err(DaemonError::Ui)?;
            let dir = opts
                .ui_dir
                .clone()
                .or_else(ui::default_dir)
                .ok_or_else(|| {
                    DaemonError::Ui(
                        "--ui: não achei o visualizador construído (index.html e index_bg.wasm); \
                     construa-o com `cargo xtask serve` (ou `cargo xtask demo`) e, fora do \
                     repositório, diga onde está com --ui-dir"
                            .into(),
                    )
                })?;
            Some((ui::bind(addr).await?, dir))
        }
        None => None,
    };
    let (unix, pending) = bind_unix(&opts.socket)?;
    (ctx.log)(format!(
        "escutando em unix://{} (API {API_VERSION}; estado em {}): \
         DOCKER_HOST=unix://{} docker …",
        opts.socket.display(),
        ctx.state.root().display(),
        opts.socket.display()
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (c, stop) = (ctx.clone(), stop_rx.clone());
    tokio::spawn(async move {
        let unix = &unix;
        accept_loop(
            || async move { unix.accept().await.map(|(s, _)| s) },
            c,
            stop,
        )
        .await
    });
    if let Some(addr) = opts.tcp {
        let tcp = match tokio::net::TcpListener::bind(addr).await {
            Ok(tcp) => tcp,
            Err(source) => {
                return Err(DaemonError::Listen {
                    what: format!("tcp://{addr}"),
                    source,
                });
            }
        };
        if !addr.ip().is_loopback() {
            (ctx.log)(format!(
                "aviso: tcp://{addr} não é só desta máquina: quem alcançar a porta manda \
                 nos contêineres (como root), sem senha"
            ));
        }
        (ctx.log)(format!("escutando também em tcp://{addr}"));
        let (c, stop) = (ctx.clone(), stop_rx.clone());
        tokio::spawn(async move {
            let tcp = &tcp;
            accept_loop(
                || async move { tcp.accept().await.map(|(s, _)| s) },
                c,
                stop,
            )
            .await
        });
    }
    if let Some((listener, dir)) = ui {
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let addr = listener
            .local_addr()
            .map_err(|source| DaemonError::Listen {
                what: "--ui".into(),
                source,
            })?;
        if !addr.ip().is_loopback() {
            (ctx.log)(format!(
                "aviso: --ui em {addr} deixa quem alcançar a porta ler os traces, sem senha"
            ));
        }
        (ctx.log)(format!(
            "visualizador ao vivo em http://{addr}/ (só leitura: traces e /casulo/live; \
             a API do Docker fica só no socket) — arquivos de {}",
            dir.display()
        ));
        tokio::spawn(ui::accept(
            listener,
            site::Site::Dir(dir),
            ctx.clone(),
            stop_rx.clone(),
        ));
    }
    pending.publish(&opts.socket)?;
    let reaper = ctx.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            // WNOHANG never blocks: right here. (On the blocking pool, this
            // wake-up every 500 ms kept its idle threads from ever expiring.)
            reaper.reap();
        }
    });
    let why = until_signal().await;
    (ctx.log)(format!(
        "{why} recebido: paro de atender (os contêineres continuam com seus supervisores)"
    ));
    let _ = stop_tx.send(true);
    // Ours to remove (never another daemon's: see `bind_unix`).
    let _ = std::fs::remove_file(&opts.socket);
    Ok(())
}

async fn until_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        std::future::pending::<()>().await;
        unreachable!()
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

/// The unix socket, `0660`, group `casulo` when that group exists, bound
/// under a temporary name next to `path` (returned with the listener):
/// [`Pending::publish`] gives it its name once the daemon is ready, every
/// listener bound and said in the log, so a client (or a script's `until
/// [ -S … ]`) that sees the socket finds a daemon that has said everything.
/// A socket file left by a daemon that died is replaced; one that answers
/// is not.
fn bind_unix(path: &Path) -> Result<(tokio::net::UnixListener, Pending), DaemonError> {
    use std::os::unix::fs::PermissionsExt;
    let listen_err = |source| DaemonError::Listen {
        what: format!("unix://{}", path.display()),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(listen_err)?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(DaemonError::SocketInUse(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(listen_err)?;
    }
    // Short, so that it fits in `sun_path` wherever `path` does.
    let temp = path.with_file_name(format!(".{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    let listener = tokio::net::UnixListener::bind(&temp).map_err(listen_err)?;
    let pending = Pending(temp);
    std::fs::set_permissions(&pending.0, std::fs::Permissions::from_mode(0o660))
        .map_err(listen_err)?;
    if let Ok(Some(group)) = nix::unistd::Group::from_name("casulo") {
        let _ = nix::unistd::chown(&pending.0, None, Some(group.gid));
    }
    Ok((listener, pending))
}

/// The socket [`bind_unix`] made, under its temporary name: removed if the
/// daemon stops before [`Pending::publish`] (a later listener failed).
struct Pending(PathBuf);

impl Pending {
    /// Renames the socket to `path`, never over another one: a daemon that
    /// started meanwhile on the same path keeps it.
    fn publish(self, path: &Path) -> Result<(), DaemonError> {
        match crate::state::renameat2(&self.0, path, crate::state::RENAME_NOREPLACE) {
            Ok(()) => {
                std::mem::forget(self);
                Ok(())
            }
            Err(nix::errno::Errno::EEXIST) => Err(DaemonError::SocketInUse(path.to_path_buf())),
            Err(errno) => Err(DaemonError::Listen {
                what: format!("unix://{}", path.display()),
                source: errno.into(),
            }),
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Serves every connection `accept` hands over (unix socket or TCP
/// alike) until the daemon stops.
async fn accept_loop<T, F>(
    mut accept: impl FnMut() -> F,
    ctx: Arc<Ctx>,
    mut stop: watch::Receiver<bool>,
) where
    F: std::future::Future<Output = std::io::Result<T>>,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    loop {
        tokio::select! {
            accepted = accept() => match accepted {
                Ok(stream) => connection(TokioIo::new(stream), ctx.clone()),
                Err(e) => (ctx.log)(format!("erro ao aceitar uma conexão: {e}")),
            },
            _ = stop.changed() => return,
        }
    }
}

/// One client connection: HTTP/1.1, keep-alive, upgrades allowed (attach).
fn connection<T>(io: TokioIo<T>, ctx: Arc<Ctx>)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let service = service_fn(move |req| handle(ctx.clone(), req));
        // A client that hangs up mid-request is its business: nothing to say.
        let _ = http1::Builder::new()
            .serve_connection(io, service)
            .with_upgrades()
            .await;
    });
}

async fn handle(ctx: Arc<Ctx>, mut req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let began = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let auth = req
        .headers()
        .get("X-Registry-Auth")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let query = Query::parse(req.uri().query()).with_registry_auth(auth);
    let asked = request::Asked::of(&method, &path, req.headers());
    let upgrade = req
        .headers()
        .get(UPGRADE)
        .is_some()
        .then(|| hyper::upgrade::on(&mut req));
    let reply = if upload::takes_tar(&method, &path, &query) {
        match upload::receive(&ctx, req).await {
            Ok(tar) => {
                let ctx = ctx.clone();
                let path = path.clone();
                off_the_async_threads(move || routes::route_tar(&ctx, &path, &query, tar)).await
            }
            Err(e) => Err(e),
        }
    } else {
        match read_body(req).await {
            Ok(body) => {
                let ctx = ctx.clone();
                let (method, path) = (method.clone(), path.clone());
                off_the_async_threads(move || {
                    request::answering(asked, || routes::route(&ctx, &method, &path, &query, &body))
                })
                .await
            }
            Err(e) => Err(e),
        }
    };
    let status = routes::status_of(&reply);
    let message = match &reply {
        Err(e) => format!(": {}", e.message),
        Ok(_) => String::new(),
    };
    if method != Method::HEAD && !path.ends_with("/_ping") || status.is_client_error() {
        (ctx.log)(format!(
            "{method} {path} → {} ({} ms){message}",
            status.as_u16(),
            began.elapsed().as_millis()
        ));
    }
    Ok(respond(reply, upgrade))
}

/// Runs a handler on tokio's blocking threads (the engine's calls block);
/// a handler that panicked is a 500, the daemon stays up.
async fn off_the_async_threads<F>(handler: F) -> Result<Reply, ApiError>
where
    F: FnOnce() -> Result<Reply, ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(handler)
        .await
        .unwrap_or_else(|e| {
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("o tratamento do pedido falhou: {e}"),
            ))
        })
}

/// The request's body, up to [`MAX_BODY`] (413 beyond it, before reading
/// it all when its length is announced).
async fn read_body(req: Request<Incoming>) -> Result<Bytes, ApiError> {
    let too_big = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "o corpo do pedido passa de {} KiB, o máximo que o casulo daemon lê",
                MAX_BODY / 1024
            ),
        )
    };
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_big());
    }
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_big()),
        Err(e) => Err(ApiError::bad_request(format!(
            "não consegui ler o corpo do pedido: {e}"
        ))),
    }
}

fn respond(
    reply: Result<Reply, ApiError>,
    upgrade: Option<hyper::upgrade::OnUpgrade>,
) -> Response<Body> {
    let mut length = None;
    let (status, content_type, body) = match reply {
        Ok(Reply::Json(status, value)) => (
            status,
            Some("application/json"),
            http::full(format!("{value}\n")),
        ),
        Ok(Reply::Status(status)) => (status, None, http::empty()),
        Ok(Reply::Text(text)) => (
            StatusCode::OK,
            Some("text/plain; charset=utf-8"),
            http::full(text),
        ),
        Ok(Reply::Stream {
            content_type,
            producer,
            length: known,
        }) => {
            length = known;
            (StatusCode::OK, Some(content_type), channel(producer))
        }
        Ok(Reply::Hijack {
            content_type,
            producer,
            input,
        }) => match upgrade {
            Some(upgrade) => return hijack(content_type, producer, input, upgrade),
            // A client that did not ask to upgrade reads the same bytes as a body.
            None => (StatusCode::OK, Some(content_type), channel(producer)),
        },
        Err(e) => (
            e.status,
            Some("application/json"),
            http::full(format!("{}\n", e.body())),
        ),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Some(ct) = content_type {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    if let Some(n) = length {
        response
            .headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(n));
    }
    common_headers(&mut response);
    response
}

fn common_headers(response: &mut Response<Body>) {
    let h = response.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    // The classic builder (`POST /build`), not BuildKit. (docker 28's CLI
    // decides by itself: the classic builder when buildx is not installed
    // or DOCKER_BUILDKIT=0; this header is for clients that ask.)
    h.insert("Builder-Version", HeaderValue::from_static("1"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(
        "Server",
        HeaderValue::from_static(concat!("Casulo/", env!("CARGO_PKG_VERSION"), " (linux)")),
    );
}

/// A body fed by `producer` from a thread of its own.
fn channel(producer: http::Producer) -> Body {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    std::thread::spawn(move || producer(tx));
    BodyExt::boxed(ChannelBody(rx))
}

/// docker's attach: `101 UPGRADED`; then the connection carries the
/// producer's bytes and is closed when it is done; what the client sends
/// goes to `input` (dropped without one).
fn hijack(
    content_type: &'static str,
    producer: http::Producer,
    input: Option<http::Consumer>,
    upgrade: hyper::upgrade::OnUpgrade,
) -> Response<Body> {
    let (tx, mut rx) = mpsc::channel::<Bytes>(64);
    std::thread::spawn(move || producer(tx));
    // Few chunks in flight: a container that does not read its input
    // holds the client back (TCP's own backpressure), as in docker.
    let (in_tx, in_rx) = mpsc::channel::<Bytes>(4);
    if let Some(consumer) = input {
        std::thread::spawn(move || consumer(in_rx));
    }
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let (mut reader, mut writer) = tokio::io::split(TokioIo::new(upgraded));
        let client = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match reader.read(&mut buf).await {
                    // Its input ended (a half-close) or it left: `in_tx`
                    // dropped tells the consumer.
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if in_tx.send(Bytes::copy_from_slice(&buf[..n])).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                // The client is gone: dropping `rx` tells the producer.
                client.abort();
                return;
            }
        }
        let _ = writer.shutdown().await;
        client.abort();
    });
    let mut response = Response::new(http::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("Connection", HeaderValue::from_static("Upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("tcp"));
    common_headers(&mut response);
    response
}
