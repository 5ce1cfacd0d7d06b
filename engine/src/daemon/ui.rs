//! `casulo daemon --ui 127.0.0.1:8000`: a second listener, over TCP, for a
//! browser — the visualizer (the same built app `cargo xtask demo` serves,
//! from `visualizer/dist/`) and casulo's read-only paths (`/casulo/traces`,
//! `/casulo/live/{id}`; `/traces/…` the same, where `cargo xtask serve`
//! has them). Nothing of docker's API: this port has no
//! authentication, and the API on it would give whoever reaches it root on
//! the host. Only loopback unless `--ui-publico` is given.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use super::http::{self, Body};
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
    if addr.ip().is_loopback() || public {
        return Ok(());
    }
    Err(format!(
        "--ui {addr} deixaria qualquer um da rede ver os traces (com os comandos e as \
         variáveis de ambiente de cada contêiner), sem senha: use 127.0.0.1, ou diga \
         --ui-publico se é isso mesmo que você quer (uma sala de aula numa rede fechada)"
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

pub async fn accept(
    listener: tokio::net::TcpListener,
    dir: PathBuf,
    ctx: Arc<Ctx>,
    mut stop: watch::Receiver<bool>,
) {
    let dir = Arc::new(dir);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let (ctx, dir) = (ctx.clone(), dir.clone());
                    tokio::spawn(async move {
                        let service = service_fn(move |req| handle(ctx.clone(), dir.clone(), req));
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
    dir: Arc<PathBuf>,
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
    Ok(static_file(&dir, &path))
}

/// A file of the built visualizer (`/` is `index.html`).
fn static_file(dir: &Path, path: &str) -> Response<Body> {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    // The app is a handful of files at the top: no subdirectories, no hidden names.
    if rel.contains('/') || rel.starts_with('.') {
        return not_found(path);
    }
    let file = dir.join(rel);
    let Ok(bytes) = std::fs::read(&file) else {
        return not_found(path);
    };
    let mime = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    let mut response = Response::new(http::full(bytes));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(mime));
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

    #[test]
    fn daemon_ui_serves_only_the_apps_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<html>").unwrap();
        std::fs::write(dir.path().join("index_bg.wasm"), "\0asm").unwrap();
        assert_eq!(static_file(dir.path(), "/").status(), 200);
        let wasm = static_file(dir.path(), "/index_bg.wasm");
        assert_eq!(wasm.headers()[CONTENT_TYPE], "application/wasm");
        for bad in ["/../etc/passwd", "/a/b", "/.git", "/nada.js"] {
            assert_eq!(static_file(dir.path(), bad).status(), 404, "{bad}");
        }
    }
}
