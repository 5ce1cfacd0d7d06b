//! A small static server for the visualizer (`tiny_http`), on 127.0.0.1:
//!
//! - `/`, `/index.js`, `/index_bg.wasm`, … from `visualizer/dist/`
//!   (`.wasm` as `application/wasm`, which browsers require);
//! - `/traces/` a JSON list of the `*.trace.jsonl` files in the traces dir,
//!   newest first, each with what its header (line 1, the only line read)
//!   says: container name, image, command, start time; the visualizer shows
//!   it as "traces gravados";
//! - `/traces/<name>` one of those files;
//! - `/curso/…` the built course (`book/build`), when given.
//!
//! [`Server::start_site`] returns at once (a thread answers requests), so tests
//! can use it; [`Server::wait`] blocks, for `cargo xtask demo`/`serve`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use serde_json::json;

use crate::Result;

pub struct Server {
    http: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    /// `http://127.0.0.1:PORT/`
    pub url: String,
}

impl Server {
    /// Listens on `127.0.0.1:port` (0: any free port) and answers in a
    /// thread, one request after another; the built course at `/curso/`
    /// when given.
    pub fn start_site(
        dist: &Path,
        traces: &Path,
        book: Option<&Path>,
        port: u16,
    ) -> Result<Server> {
        Server::listen(dist, traces, book, port, false)
    }

    /// Like [`Server::start_site`] (any free port, no course), each
    /// request answered in its own thread, for `cargo xtask bench`:
    /// answered in turn, the bench's 25 MB (or 256 MB) trace, prefetched
    /// by `index.html`, holds back the page's `index.js` and `.wasm` by
    /// its whole download. The tests keep the sequential server: with
    /// this one chromium's first navigation to the course stalled for
    /// 30 s in 2 of 3 runs of the book test (1 of 3 without it).
    pub fn start_concurrent(dist: &Path, traces: &Path) -> Result<Server> {
        Server::listen(dist, traces, None, 0, true)
    }

    fn listen(
        dist: &Path,
        traces: &Path,
        book: Option<&Path>,
        port: u16,
        concurrent: bool,
    ) -> Result<Server> {
        let http = tiny_http::Server::http(("127.0.0.1", port))
            .map_err(|e| format!("não consegui abrir a porta {port} em 127.0.0.1: {e}"))?;
        let port = http.server_addr().to_ip().map(|a| a.port()).unwrap_or(port);
        let http = Arc::new(http);
        let (dist, traces) = (dist.to_path_buf(), traces.to_path_buf());
        let book = book.map(Path::to_path_buf);
        let thread = {
            let http = http.clone();
            std::thread::spawn(move || {
                let site = Arc::new((dist, traces, book));
                for request in http.incoming_requests() {
                    let site = site.clone();
                    let reply = move || {
                        let (dist, traces, book) = &*site;
                        let response = answer(dist, traces, book.as_deref(), request.url());
                        let _ = request.respond(response);
                    };
                    if concurrent {
                        std::thread::spawn(reply);
                    } else {
                        reply();
                    }
                }
            })
        };
        Ok(Server {
            http,
            thread: Some(thread),
            url: format!("http://127.0.0.1:{port}/"),
        })
    }

    /// Serves until the process is interrupted (Ctrl-C).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.http.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Response = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

fn answer(dist: &Path, traces: &Path, book: Option<&Path>, url: &str) -> Response {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let path = percent_decode(path);
    if path == "/traces/" || path == "/traces" {
        return listing(traces);
    }
    if path == "/curso" {
        return with_type(
            tiny_http::Response::from_string("")
                .with_status_code(301)
                .with_header(
                    tiny_http::Header::from_bytes("Location", "/curso/").expect("valid header"),
                ),
            "text/plain; charset=utf-8",
        );
    }
    let in_book = |rest: &str| {
        let book = book?;
        let rel = rest.trim_end_matches('/');
        let file = if rel.is_empty() {
            book.to_path_buf()
        } else {
            safe_join(book, rel)?
        };
        Some(if file.is_dir() {
            file.join("index.html")
        } else {
            file
        })
    };
    let file = match path.strip_prefix("/traces/") {
        Some(name) => safe_join(traces, name),
        None if path.starts_with("/curso/") => in_book(&path["/curso/".len()..]),
        None if path == "/" => Some(dist.join("index.html")),
        None => safe_join(dist, path.trim_start_matches('/')),
    };
    match file.and_then(|f| fs::read(&f).ok().map(|b| (f, b))) {
        // Whole, with Content-Length, as casulo's own server sends a file
        // (tiny_http would chunk anything over 32 KiB).
        Some((f, body)) => with_type(
            tiny_http::Response::from_data(body).with_chunked_threshold(usize::MAX),
            mime(&f),
        ),
        None => with_type(
            tiny_http::Response::from_string(format!("não encontrado: {path}\n"))
                .with_status_code(404),
            "text/plain; charset=utf-8",
        ),
    }
}

fn with_type(r: Response, mime: &str) -> Response {
    r.with_header(tiny_http::Header::from_bytes("Content-Type", mime).expect("valid header"))
        .with_header(
            tiny_http::Header::from_bytes("Cache-Control", "no-cache").expect("valid header"),
        )
}

/// `base/rel` when `rel` has no `..`, no absolute part and no hidden names.
fn safe_join(base: &Path, rel: &str) -> Option<PathBuf> {
    let ok = rel
        .split('/')
        .all(|seg| !seg.is_empty() && seg != ".." && !seg.starts_with('.'));
    ok.then(|| base.join(rel))
}

/// One file of the traces dir, with what its header says.
struct Listed {
    name: String,
    bytes: u64,
    modified: std::time::SystemTime,
    /// The header's fields the list shows (empty when line 1 is not one).
    header: serde_json::Value,
}

impl Listed {
    /// When the run started (RFC 3339, UTC: sorts as text), when known.
    fn started_at(&self) -> Option<&str> {
        self.header["started_at"].as_str()
    }
}

/// Line 1 of a trace (its header), read alone: a few hundred bytes even
/// for a trace of millions of events. Capped, in case it is no trace.
fn first_line(path: &Path) -> Option<serde_json::Value> {
    use std::io::{BufRead, Read};
    let file = fs::File::open(path).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(file.take(64 * 1024))
        .read_line(&mut line)
        .ok()?;
    serde_json::from_str(line.trim_end()).ok()
}

/// The header's fields a list of traces needs to tell them apart.
fn header_fields(h: &serde_json::Value) -> serde_json::Value {
    let c = &h["container"];
    json!({
        "container": c["name"],
        "image": c["image"],
        "command": c["command"],
        "started_at": h["started_at"],
    })
}

/// The traces dir as JSON: `[{"name", "url", "bytes", "container",
/// "image", "command", "started_at"}]`, newest first (by the header's start
/// time; files without one last, by modification time).
fn listing(traces: &Path) -> Response {
    let mut items: Vec<Listed> = fs::read_dir(traces)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let meta = e.metadata().ok()?;
            if !(name.ends_with(".trace.jsonl") && meta.is_file()) {
                return None;
            }
            let header = first_line(&e.path())
                .filter(|h| h["format"] == "casulo-trace")
                .map(|h| header_fields(&h))
                .unwrap_or(serde_json::Value::Null);
            Some(Listed {
                name,
                bytes: meta.len(),
                modified: meta.modified().ok()?,
                header,
            })
        })
        .collect();
    items.sort_by(|a, b| {
        b.started_at()
            .cmp(&a.started_at())
            .then(b.modified.cmp(&a.modified))
            .then(a.name.cmp(&b.name))
    });
    let list: Vec<_> = items
        .iter()
        .map(|l| {
            let mut v =
                json!({"name": l.name, "url": format!("traces/{}", l.name), "bytes": l.bytes});
            if let (Some(v), Some(h)) = (v.as_object_mut(), l.header.as_object()) {
                v.extend(
                    h.iter()
                        .filter(|(_, x)| !x.is_null())
                        .map(|(k, x)| (k.clone(), x.clone())),
                );
            }
            v
        })
        .collect();
    with_type(
        tiny_http::Response::from_string(serde_json::Value::from(list).to_string()),
        "application/json",
    )
}

pub fn mime(path: &Path) -> &'static str {
    let name = path.to_string_lossy();
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "jsonl" if name.ends_with(".trace.jsonl") => "application/x-ndjson; charset=utf-8",
        "jsonl" => "application/x-ndjson; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_types() {
        let base = Path::new("/srv");
        assert_eq!(safe_join(base, "a.js"), Some(PathBuf::from("/srv/a.js")));
        assert_eq!(safe_join(base, "../etc/passwd"), None);
        assert_eq!(safe_join(base, "x/../../y"), None);
        assert_eq!(safe_join(base, ".git/config"), None);
        assert_eq!(mime(Path::new("index_bg.wasm")), "application/wasm");
        assert_eq!(mime(Path::new("index.html")), "text/html; charset=utf-8");
        assert_eq!(
            percent_decode("/traces/a%20b.trace.jsonl"),
            "/traces/a b.trace.jsonl"
        );
        assert_eq!(percent_decode("/x%2"), "/x%2");
    }

    #[test]
    fn serves_files_and_listing() {
        let dir = tempfile::tempdir().unwrap();
        let (dist, traces) = (dir.path().join("dist"), dir.path().join("traces"));
        fs::create_dir_all(&dist).unwrap();
        fs::create_dir_all(&traces).unwrap();
        fs::write(dist.join("index.html"), "<p>oi</p>").unwrap();
        fs::write(dist.join("index_bg.wasm"), b"\0asm").unwrap();
        fs::write(traces.join("a.trace.jsonl"), "{}\n").unwrap();
        // Two real headers: the newer run is listed first, with its fields.
        let header = |name: &str, at: &str| {
            format!(
                "{{\"format\":\"casulo-trace\",\"format_version\":1,\"container\":{{\"id\":\"ab\",\"name\":\"{name}\",\"image\":\"busybox:latest\",\"command\":[\"echo\",\"oi\"]}},\"started_at\":\"{at}\"}}\n{{\"seq\":0}}\n"
            )
        };
        fs::write(
            traces.join("velho.trace.jsonl"),
            header("velho", "2026-11-01T10:00:00Z"),
        )
        .unwrap();
        fs::write(
            traces.join("novo.trace.jsonl"),
            header("novo", "2026-11-02T10:00:00Z"),
        )
        .unwrap();
        fs::write(traces.join("notas.txt"), "x").unwrap();
        let book = dir.path().join("book");
        fs::create_dir_all(book.join("exemplos")).unwrap();
        fs::write(book.join("index.html"), "<p>curso</p>").unwrap();
        fs::write(book.join("exemplos/x.trace.jsonl"), "{}\n").unwrap();
        let server = Server::start_site(&dist, &traces, Some(&book), 0).unwrap();
        let get = |path: &str| -> (String, String) {
            use std::io::{Read, Write};
            let addr = server
                .url
                .trim_start_matches("http://")
                .trim_end_matches('/');
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            let (head, body) = out.split_once("\r\n\r\n").unwrap();
            (head.to_string(), body.to_string())
        };
        let (head, body) = get("/?trace=x");
        assert!(head.contains("text/html"), "{head}");
        assert_eq!(body, "<p>oi</p>");
        let (head, _) = get("/index_bg.wasm");
        assert!(head.contains("Content-Type: application/wasm"), "{head}");
        let (_, body) = get("/traces/");
        let list: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(list.as_array().unwrap().len(), 3);
        assert_eq!(list[0]["url"], "traces/novo.trace.jsonl");
        assert_eq!(list[0]["container"], "novo");
        assert_eq!(list[0]["image"], "busybox:latest");
        assert_eq!(list[0]["command"], json!(["echo", "oi"]));
        assert_eq!(list[0]["started_at"], "2026-11-02T10:00:00Z");
        assert_eq!(list[1]["container"], "velho");
        // No header: listed last, with only its name, url and size.
        assert_eq!(list[2]["url"], "traces/a.trace.jsonl");
        assert_eq!(list[2].get("container"), None);
        let (head, body) = get("/traces/a.trace.jsonl");
        assert!(head.contains("200"), "{head}");
        assert_eq!(body, "{}\n");
        let (head, _) = get("/traces/../dist/index.html");
        assert!(head.contains("404"), "{head}");
        let (head, _) = get("/curso");
        assert!(
            head.contains("301") && head.contains("Location: /curso/"),
            "{head}"
        );
        let (_, body) = get("/curso/");
        assert_eq!(body, "<p>curso</p>");
        let (head, _) = get("/curso/exemplos/x.trace.jsonl");
        assert!(head.contains("application/x-ndjson"), "{head}");
        let (head, _) = get("/curso/../dist/index.html");
        assert!(head.contains("404"), "{head}");
    }
}
