//! The one file to hand out (`cargo xtask dist`): `dist/casulo`, copied
//! alone into an empty folder, runs the demo's first container and serves
//! the visualizer and the course it carries inside, byte for byte what was
//! built, to a real HTTP client (curl).
//!
//! Needs the built binary (`CASULO_DIST`, else `dist/casulo`) and the folder
//! it embedded (`CASULO_DIST_SITE`, else `target/dist-site`): `cargo xtask
//! test` builds both first.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use casulo_tests::{unique_name, workspace_dir, Output};

fn dist_bin() -> PathBuf {
    env_file("CASULO_DIST", workspace_dir().join("dist/casulo"))
}

fn dist_site() -> PathBuf {
    let dir = std::env::var_os("CASULO_DIST_SITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| casulo_tests::target_dir().join("dist-site"));
    // The folder must hold the built site (its index), whether it came
    // from CASULO_DIST_SITE or from the default.
    assert!(
        dir.join("index.html").is_file(),
        "{} não tem index.html: rode `cargo xtask dist` (ou `cargo xtask test`, que o faz e define \
         CASULO_DIST_SITE)",
        dir.display()
    );
    dir
}

fn env_file(var: &str, default: PathBuf) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or(default);
    assert!(
        path.is_file(),
        "{} não existe: rode `cargo xtask dist` (ou `cargo xtask test`, que o faz e define {var})",
        path.display()
    );
    path
}

/// An empty folder with only `casulo` in it, and a state dir elsewhere.
struct Alone {
    dir: tempfile::TempDir,
    state: tempfile::TempDir,
}

impl Alone {
    fn new() -> Alone {
        let dir = tempfile::Builder::new()
            .prefix("casulo-dist-")
            .tempdir()
            .unwrap();
        let casulo = dir.path().join("casulo");
        std::fs::copy(dist_bin(), &casulo).unwrap();
        // A test beside this one may fork while the copy is open for
        // writing: its child holds that descriptor until it execs, and
        // exec'ing the copy meanwhile fails with ETXTBSY. Wait it out.
        for _ in 0..200 {
            match Command::new(&casulo).arg("--version").output() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                other => {
                    other.unwrap();
                    break;
                }
            }
        }
        let state = tempfile::Builder::new()
            .prefix("casulo-dist-estado-")
            .tempdir()
            .unwrap();
        Alone { dir, state }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.dir.path().join("casulo"));
        cmd.current_dir(self.dir.path())
            .arg("--root")
            .arg(self.state.path())
            .args(args)
            // Nothing from this repository: only what is inside the binary.
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        cmd
    }

    fn casulo(&self, args: &[&str]) -> Output {
        Output::of(&mut self.command(args))
    }
}

/// `casulo ui` until dropped (SIGTERM, then waited for).
struct Ui {
    child: Child,
    url: String,
}

impl Ui {
    fn start(alone: &Alone) -> Ui {
        Ui::spawn(alone.command(&["ui", "--listen", "127.0.0.1:0"]))
    }

    /// `cmd` is a `casulo ui`: started, and its address read from its log.
    fn spawn(mut cmd: Command) -> Ui {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = String::new();
        let url = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!("casulo ui terminou sem dizer onde escuta:\n{seen}");
            };
            seen.push_str(&line);
            seen.push('\n');
            if let Some(at) = line.find("http://") {
                let url = line[at..].split_whitespace().next().unwrap();
                break url.trim_end_matches('/').to_string();
            }
        };
        // Keep reading its log, so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ui { child, url }
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        // SAFETY: a plain kill(2) of our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// `curl` GET: (status, content type, body).
fn get(url: &str) -> (u16, String, Vec<u8>) {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--path-as-is",
            "-o",
            "-",
            "-w",
            "\n%{http_code} %{content_type}",
            url,
        ])
        .output()
        .expect("curl (Debian: curl)");
    assert!(out.status.success(), "curl {url}: {out:?}");
    let body = out.stdout;
    let cut = body.iter().rposition(|&b| b == b'\n').unwrap();
    let tail = String::from_utf8_lossy(&body[cut + 1..]).into_owned();
    let (status, mime) = tail.split_once(' ').unwrap();
    (
        status.parse().unwrap(),
        mime.to_string(),
        body[..cut].to_vec(),
    )
}

#[track_caller]
fn same_file(ui: &Ui, path: &str, file: &Path, mime: &str) {
    let (status, got_mime, body) = get(&format!("{}{path}", ui.url));
    assert_eq!(status, 200, "GET {path}");
    assert_eq!(got_mime, mime, "GET {path}: Content-Type");
    let want = std::fs::read(file).unwrap();
    assert!(
        body == want,
        "GET {path}: {} bytes, {} tem {} bytes",
        body.len(),
        file.display(),
        want.len()
    );
}

#[test]
fn dist_binary_alone_runs_the_first_container_and_serves_the_course() {
    let alone = Alone::new();
    let entries: Vec<_> = std::fs::read_dir(alone.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(entries, ["casulo"], "a pasta só tem o binário");

    // The demo's first container.
    alone.casulo(&["image", "bootstrap"]).assert_ok();
    let word = unique_name("ola-da-dist");
    let run = alone.casulo(&["run", "--rm", "busybox", "echo", &word]);
    run.assert_ok();
    assert_eq!(run.stdout.trim(), word, "{run}");

    let ui = Ui::start(&alone);
    let site = dist_site();
    let vis = site.join("visualizador");
    // The visualizer at `/`, as `cargo xtask demo` serves it.
    same_file(
        &ui,
        "/",
        &vis.join("index.html"),
        "text/html; charset=utf-8",
    );
    same_file(
        &ui,
        "/index_bg.wasm",
        &vis.join("index_bg.wasm"),
        "application/wasm",
    );
    same_file(
        &ui,
        "/index.js",
        &vis.join("index.js"),
        "text/javascript; charset=utf-8",
    );
    // The course at `/curso/`: its index, a chapter, and what a replay opens.
    same_file(
        &ui,
        "/curso/",
        &site.join("index.html"),
        "text/html; charset=utf-8",
    );
    let chapter = std::fs::read_dir(&site)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".html") && n != "index.html" && n != "print.html")
        .min()
        .expect("o curso tem capítulos");
    same_file(
        &ui,
        &format!("/curso/{chapter}"),
        &site.join(&chapter),
        "text/html; charset=utf-8",
    );
    same_file(
        &ui,
        "/curso/visualizador/index_bg.wasm",
        &vis.join("index_bg.wasm"),
        "application/wasm",
    );
    let example = std::fs::read_dir(site.join("exemplos"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .min()
        .expect("o curso tem exemplos gravados");
    same_file(
        &ui,
        &format!("/curso/exemplos/{example}"),
        &site.join("exemplos").join(&example),
        "application/x-ndjson; charset=utf-8",
    );
    // The trace of the container above, from the state dir, read-only.
    let (status, mime, body) = get(&format!("{}/traces/", ui.url));
    assert_eq!((status, mime.as_str()), (200, "application/json"));
    let list: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|t| t["command"].to_string().contains(&word)),
        "{list}"
    );
    // Nothing outside the site, nothing written through this port.
    for bad in [
        "/../../etc/passwd",
        "/curso/../../etc/passwd",
        "/.git/config",
    ] {
        let (status, _, _) = get(&format!("{}{bad}", ui.url));
        assert_eq!(status, 404, "GET {bad}");
    }
    let post = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .arg(format!("{}/containers/create", ui.url))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&post.stdout), "405");
}

#[test]
fn dist_ui_refuses_a_public_address_unless_asked() {
    let alone = Alone::new();
    let out = alone.casulo(&["ui", "--listen", "0.0.0.0:0"]);
    out.assert_code(125);
    assert!(out.stderr.contains("--publico"), "{out}");
}

/// A student without root opens the visualizer: the one binary, run by an
/// ordinary user (a rootless run made the trace), serves the visualizer and
/// the course and lists that user's traces, read-only — nothing under the
/// host's state dirs.
#[test]
fn without_root_the_dist_binary_serves_the_students_own_traces() {
    let user = casulo_tests::users::TestUser::new("ui", true);
    // Its own copy, in its home (the repository may not be readable).
    let casulo = user.home.join("casulo");
    std::fs::copy(dist_bin(), &casulo).unwrap();
    std::os::unix::fs::chown(&casulo, Some(user.uid), Some(user.uid)).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = user.command_of(&casulo);
        cmd.args(args);
        Output::of(&mut cmd)
    };
    run(&["image", "bootstrap"]).assert_ok();
    run(&["run", "--rm", "--name", "visto", "busybox", "true"]).assert_ok();
    let mut cmd = user.command_of(&casulo);
    cmd.args(["ui", "--listen", "127.0.0.1:0"]);
    let ui = Ui::spawn(cmd);
    let url = ui.url.clone();
    let (status, _, page) = get(&format!("{url}/"));
    let (course, _, _) = get(&format!("{url}/curso/"));
    let (_, _, traces) = get(&format!("{url}/casulo/traces"));
    // (runuser passes the SIGTERM of the drop on.)
    drop(ui);
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&page).contains("<html"),
        "a página do visualizador"
    );
    assert_eq!(course, 200);
    let traces: serde_json::Value = serde_json::from_slice(&traces).unwrap();
    let listed = traces.as_array().unwrap();
    assert!(
        listed.iter().any(|t| t["container"] == "visto"),
        "o trace do aluno: {traces}"
    );
    user.assert_clean();
}
