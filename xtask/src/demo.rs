//! `cargo xtask demo`: a real container, start to finish, and the trace it
//! left behind — checked, narrated, and replayed in the browser by the
//! visualizer, served on 127.0.0.1 until Ctrl-C. Before serving: a
//! `casulo build` (twice, the second from the cache) and a run with
//! `--network bridge -p` (the host asks the container's web server for a
//! page through the published port); their traces are served too. Then the
//! course: its examples that have no recording yet are recorded, the book
//! is built, and it is served at `/curso/` on the same address.
//!
//! It installs only what it uses (`setup::run_demo`: a static busybox and
//! `nft`, and the wasm32 target); on a system without apt-get it says
//! what to install with dnf, pacman or zypper. The test tools (buildah,
//! chromium, qemu, …) stay with `cargo xtask test`.
//!
//! State dir: `/var/lib/casulo`, or `CASULO_ROOT` if set.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{self, step};
use crate::serve::Server;
use crate::{fail, setup, web, Result};

/// What the demo container runs (through busybox's sh).
const SCRIPT: &str = r#"echo "Olá do contêiner!"; hostname; echo "PID: $$"; ps; ls /"#;

pub fn run() -> Result {
    setup::run_demo()?;

    let casulo = cmd::build_casulo_release()?;
    let root = std::env::var_os("CASULO_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/casulo"));
    let casulo_cmd = |args: &[&str]| {
        let mut c = Command::new(&casulo);
        c.arg("--root").arg(&root).args(args);
        c
    };

    step(&format!(
        "Imagem base busybox:latest (estado em {})",
        root.display()
    ));
    let Some(busybox) = setup::busybox() else {
        fail!("não achei a busybox estática (/bin/busybox ou no PATH)");
    };
    cmd::run(&mut casulo_cmd(&[
        "image",
        "bootstrap",
        "--busybox",
        path_str(&busybox)?,
    ]))?;

    step("Um contêiner de verdade: novos namespaces, overlayfs, pivot_root");
    let mut run = casulo_cmd(&[
        "run",
        "--rm",
        "--name",
        "demo",
        "--hostname",
        "casulo-demo",
        "busybox",
        "sh",
        "-c",
        SCRIPT,
    ]);
    let (status, stderr) = cmd::run_tee_stderr(&mut run)?;
    cmd::check(&run, status)?;
    let Some(trace) = trace_path(&stderr) else {
        fail!(
            "o casulo não informou o trace (esperava a linha `casulo: trace: <caminho>` no stderr)"
        );
    };

    step("O trace é válido? (casulo trace check)");
    cmd::run(&mut casulo_cmd(&["trace", "check", path_str(&trace)?]))?;

    step("O que o kernel fez, passo a passo (casulo trace show)");
    cmd::run(&mut casulo_cmd(&["trace", "show", path_str(&trace)?]))?;

    let build_trace = demo_build(&casulo_cmd)?;
    let network_trace = network_run(&casulo_cmd)?;

    println!(
        "\nO trace desta execução está em:\n  {}\no do build em:\n  {}\ne o da execução com rede em:\n  {}",
        trace.display(),
        build_trace.display(),
        network_trace.display()
    );
    crate::book::record_examples(&casulo, None)?;
    serve(&trace, &network_trace)
}

/// What the network demo container runs: a web server in the background
/// (busybox httpd), what its network looks like, and a moment for the host
/// to ask it something through the published port.
const NETWORK_SCRIPT: &str = r#"mkdir -p /www; echo "Olá da rede do contêiner!" > /www/index.html; httpd -p 80 -h /www; ip addr show eth0; ip route; sleep 2"#;

/// A second run, with `--network bridge` and a published port (`-p`): the
/// host asks the container's web server for a page through it. Returns
/// the trace of that run.
fn network_run(casulo_cmd: &dyn Fn(&[&str]) -> Command) -> Result<PathBuf> {
    step("Rede: bridge casulo0, par veth, endereço 10.88.x.y e uma porta publicada (-p)");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let publish = format!("127.0.0.1:{port}:80");
    let mut run = casulo_cmd(&[
        "run",
        "--rm",
        "--name",
        "demo-rede",
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        NETWORK_SCRIPT,
    ]);
    // While the container runs, the host asks it for a page (retrying until
    // its httpd listens).
    let asker = std::thread::spawn(move || http_get(port));
    let (status, stderr) = cmd::run_tee_stderr(&mut run)?;
    cmd::check(&run, status)?;
    match asker.join() {
        Ok(Some(page)) => println!(
            "O host pediu http://127.0.0.1:{port}/ (a porta publicada) e o contêiner respondeu: {page}"
        ),
        _ => println!("(o host não conseguiu falar com o contêiner pela porta {port})"),
    }
    let Some(trace) = trace_path(&stderr) else {
        fail!("o casulo não informou o trace da execução com rede");
    };
    cmd::run(&mut casulo_cmd(&["trace", "check", path_str(&trace)?]))?;
    Ok(trace)
}

/// `GET /` on 127.0.0.1:`port`, retried for up to 5 s: the body.
fn http_get(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        let answer = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.set_read_timeout(Some(std::time::Duration::from_secs(2)))?;
            s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            Ok(text)
        });
        if let Ok(text) = answer {
            if let Some((_, body)) = text.split_once("\r\n\r\n") {
                return Some(body.trim().to_string());
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    None
}

/// `casulo build` of the fixtures' small context, twice (the second from
/// the cache), then of the multi-stage one; returns the trace of the first.
fn demo_build(casulo_cmd: &dyn Fn(&[&str]) -> Command) -> Result<PathBuf> {
    let context = cmd::workspace_root().join("engine/trace/tests/fixtures/build-context");
    let mut first = None;
    for title in [
        "Um build de verdade: Dockerfile → imagem (cada RUN num contêiner)",
        "O mesmo build de novo: todos os passos vêm do cache",
    ] {
        step(title);
        let mut build = casulo_cmd(&["build", "-t", "demo-build:latest", path_str(&context)?]);
        let (status, stderr) = cmd::run_tee_stderr(&mut build)?;
        cmd::check(&build, status)?;
        first = first.or_else(|| trace_path(&stderr));
    }
    // Multi-stage: its trace is listed with the others in the visualizer.
    let stages = cmd::workspace_root().join("engine/trace/tests/fixtures/build-multistage-context");
    step("Um build em estágios: compilar num, levar só o resultado para a imagem");
    let mut build = casulo_cmd(&["build", "-t", "demo-estagios:latest", path_str(&stages)?]);
    let (status, _) = cmd::run_tee_stderr(&mut build)?;
    cmd::check(&build, status)?;
    match first {
        Some(t) => Ok(t),
        None => fail!("o casulo build não informou o trace (linha `casulo: trace: <caminho>`)"),
    }
}

/// Port the demo tries first (any free port if it is taken).
pub const DEFAULT_PORT: u16 = 8000;

/// Builds the visualizer and serves it with the traces of this state dir,
/// opened at this run's trace (and a link to the network run's), until Ctrl-C.
fn serve(trace: &Path, network_trace: &Path) -> Result {
    let book = crate::book::build()?;
    let dist = web::dist_dir();
    let traces = trace.parent().unwrap_or(Path::new("."));
    let server = start_server(&dist, traces, Some(&book), DEFAULT_PORT)?;
    let file_name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let (name, network) = (file_name(trace), file_name(network_trace));
    step("Visualizador no navegador");
    println!(
        "O curso (capítulos com os exemplos gravados e os replays):\n\n  {url}curso/\n\n\
         O trace deste contêiner no visualizador (Ctrl-C para parar o servidor):\n\n  {url}?trace=traces/{name}\n\n\
         A execução com rede (bridge, veth, porta publicada):\n\n  {url}?trace=traces/{network}\n\n\
         Lá estão também os outros traces de {}.",
        traces.display(),
        url = server.url,
    );
    server.wait();
    Ok(())
}

/// The server on `port`, or on any free port when that one is taken.
pub fn start_server(dist: &Path, traces: &Path, book: Option<&Path>, port: u16) -> Result<Server> {
    match Server::start_site(dist, traces, book, port) {
        Ok(s) => Ok(s),
        Err(e) if port != 0 => {
            println!("  ({e}; usando outra porta)");
            Server::start_site(dist, traces, book, 0)
        }
        Err(e) => Err(e),
    }
}

/// `cargo xtask serve [--porta N] [--traces DIR]`: the visualizer and a
/// traces dir, without running a container.
pub fn serve_only(args: &[String]) -> Result {
    let mut port = DEFAULT_PORT;
    let mut traces = std::env::var_os("CASULO_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/lib/casulo"))
        .join("traces");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match (a.as_str(), it.next()) {
            ("--porta", Some(n)) => match n.parse() {
                Ok(n) => port = n,
                Err(_) => fail!("--porta precisa de um número (0 = qualquer porta livre)"),
            },
            ("--traces", Some(d)) => traces = PathBuf::from(d),
            _ => fail!("uso: cargo xtask serve [--porta N] [--traces DIR]"),
        }
    }
    let dist = web::build_visualizer()?;
    // The course, if it was built (cargo xtask book or demo).
    let book = crate::book::book_dir().join("build");
    let book = book.join("index.html").is_file().then_some(book);
    let server = start_server(&dist, &traces, book.as_deref(), port)?;
    step("Visualizador no navegador");
    println!(
        "Servindo {} e os traces de {} em\n\n  {}\n\n{}(Ctrl-C para parar)",
        dist.display(),
        traces.display(),
        server.url,
        match &book {
            Some(_) => format!("e o curso em\n\n  {}curso/\n\n", server.url),
            None => "(o curso não está montado: cargo xtask book)\n".to_string(),
        }
    );
    server.wait();
    Ok(())
}

/// The path in the `casulo: trace: <path>` line of `casulo run`'s stderr.
fn trace_path(stderr: &str) -> Option<PathBuf> {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.trim_end().strip_prefix("casulo: trace: "))
        .map(|p| PathBuf::from(p.trim()))
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| crate::Error(format!("caminho não é UTF-8: {}", p.display())))
}
