//! `casulo daemon --ui 127.0.0.1:8000`: a second listener, over TCP, for a
//! browser — the visualizer (the same built app `cargo xtask demo` serves,
//! from `visualizer/dist/`) and casulo's read-only paths (`/casulo/traces`,
//! `/casulo/live/{id}`; `/traces/…` the same, where `cargo xtask serve`
//! has them). Nothing of docker's API: this port has no
//! authentication, and the API on it would give whoever reaches it root on
//! the host. Only loopback unless `--ui-publico` is given.
//!
//! `casulo ui` is this same listener alone ([`serve_alone`]), serving the
//! visualizer and the course built into the binary ([`super::site`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use super::http::{self, Body};
use super::site::{Found, Site};
use super::{routes, Ctx, DaemonError};

/// Where the built visualizer is looked for when `--ui-dir` is not given:
/// `CASULO_UI_DIR`, then beside the binary (`../share/casulo/visualizador`,
/// an installed casulo), then this source tree's `visualizer/dist/`.
pub fn default_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("CASULO_UI_DIR") {
        candidates.push(PathBuf::from(dir));
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(bin) = exe.parent() {
            candidates.push(bin.join("../share/casulo/visualizador"));
        }
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../visualizer/dist"));
    candidates
        .into_iter()
        .find(|d| d.join("index.html").is_file() && d.join("index_bg.wasm").is_file())
}

/// Why `--ui` cannot listen where it was asked (checked before anything starts).
pub fn check_addr(addr: SocketAddr, public: bool) -> Result<(), String> {
    check_addr_of("--ui", "--ui-publico", addr, public)
}

/// [`check_addr`] for an option `option` that `flag` lets go public.
pub fn check_addr_of(
    option: &str,
    flag: &str,
    addr: SocketAddr,
    public: bool,
) -> Result<(), String> {
    if addr.ip().is_loopback() || public {
        return Ok(());
    }
    Err(format!(
        "{option} {addr} deixaria qualquer um da rede ver os traces (com os comandos e as \
         variáveis de ambiente de cada contêiner), sem senha: use 127.0.0.1, ou diga \
         {flag} se é isso mesmo que você quer (uma sala de aula numa rede fechada)"
    ))
}

/// Binds the listener (before the daemon says it is up).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, DaemonError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| DaemonError::Listen {
            what: format!("http://{addr} (--ui)"),
            source,
        })
}

/// `casulo ui`: only this listener (no docker socket), serving `site`
/// and the traces of `ctx`'s state dir until SIGINT or SIGTERM. `ready`
/// is told the address once it listens.
pub fn serve_alone(
    ctx: Arc<Ctx>,
    addr: SocketAddr,
    public: bool,
    site: Site,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), DaemonError> {
    check_addr_of("--listen", "--publico", addr, public).map_err(DaemonError::Ui)?;
    super::survive_sigpipe();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    runtime.block_on(async move {
        let listener = bind(addr).await?;
        let addr = listener
            .local_addr()
            .map_err(|source| DaemonError::Listen {
                what: format!("http://{addr}"),
                source,
            })?;
        ready(addr);
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(accept(listener, site, ctx.clone(), stop_rx));
        let why = super::until_signal().await;
        (ctx.log)(format!("{why} recebido: paro de servir"));
        let _ = stop_tx.send(true);
        Ok(())
    })?;
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(())
}

pub async fn accept(
    listener: tokio::net::TcpListener,
    site: Site,
    ctx: Arc<Ctx>,
    mut stop: watch::Receiver<bool>,
) {
    let site = Arc::new(site);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let (ctx, site) = (ctx.clone(), site.clone());
                    tokio::spawn(async move {
                        let service = service_fn(move |req| handle(ctx.clone(), site.clone(), req));
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                Err(e) => (ctx.log)(format!("erro ao aceitar uma conexão (--ui): {e}")),
            },
            _ = stop.changed() => return,
        }
    }
}

async fn handle(
    ctx: Arc<Ctx>,
    site: Arc<Site>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let asked = super::request::Asked::of(&method, &path, req.headers());
    // `/traces/…` too: the links `casulo lab verificar` prints
    // (`?trace=traces/ARQUIVO#evento=N`) and the list the visualizer asks
    // `cargo xtask serve` for work on this port as well.
    let casulo_path = path.strip_prefix("/casulo/").map(String::from).or_else(|| {
        let rest = path.strip_prefix("/traces")?;
        Some(format!("traces{}", rest.trim_end_matches('/')))
    });
    if let Some(rest) = casulo_path {
        let parts: Vec<String> = rest.split('/').map(String::from).collect();
        let c = ctx.clone();
        let reply = super::off_the_async_threads(move || {
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            super::request::answering(asked, || routes::casulo(&c, &method, &parts))
        })
        .await;
        if let Err(e) = &reply {
            (ctx.log)(format!(
                "(--ui) GET {path} → {}: {}",
                e.status.as_u16(),
                e.message
            ));
        }
        let mut response = super::respond(reply, None);
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return Ok(response);
    }
    if method != Method::GET && method != Method::HEAD {
        return Ok(plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "esta porta só serve o visualizador e /casulo/ (só leitura); a API do Docker \
             fica no socket unix do daemon\n",
        ));
    }
    Ok(static_file(&site, &path))
}

/// A file of the site (`/` is the visualizer's `index.html`).
fn static_file(site: &Site, path: &str) -> Response<Body> {
    let file = match site.find(path) {
        Found::File(file) => file,
        Found::Redirect(to) => {
            let mut response = plain(StatusCode::MOVED_PERMANENTLY, "");
            response
                .headers_mut()
                .insert(LOCATION, HeaderValue::from_static(to));
            return response;
        }
        Found::NotFound => return not_found(path),
    };
    let bytes = match file.bytes {
        std::borrow::Cow::Borrowed(b) => hyper::body::Bytes::from_static(b),
        std::borrow::Cow::Owned(v) => hyper::body::Bytes::from(v),
    };
    let mut response = Response::new(http::full(bytes));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(file.mime));
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn not_found(path: &str) -> Response<Body> {
    plain(
        StatusCode::NOT_FOUND,
        &format!("não encontrado: {path} (esta porta serve o visualizador e /casulo/)\n"),
    )
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(http::full(text.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_ui_is_loopback_unless_asked() {
        assert!(check_addr("127.0.0.1:8000".parse().unwrap(), false).is_ok());
        assert!(check_addr("[::1]:8000".parse().unwrap(), false).is_ok());
        let e = check_addr("0.0.0.0:8000".parse().unwrap(), false).unwrap_err();
        assert!(e.contains("--ui-publico"), "{e}");
        assert!(check_addr("0.0.0.0:8000".parse().unwrap(), true).is_ok());
    }
}
