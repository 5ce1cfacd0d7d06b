//! casulo's own paths on the daemon (`/casulo/…`): the traces, read-only,
//! and a container's trace live (Server-Sent Events), on the unix socket
//! and on the `--ui` port; checked with raw HTTP against a real daemon and
//! real containers started through docker's API by the docker CLI.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use casulo_tests::daemon::Daemon;
use casulo_tests::{unique_name, Lab};
use serde_json::Value;

/// `GET path` on the daemon's socket: (status, content type, body).
fn get_on(d: &Daemon, path: &str) -> (u16, String, String) {
    get(UnixStream::connect(&d.socket).unwrap(), path)
}

/// One `GET` with `Connection: close`, read to the end.
fn get(mut s: impl Read + Write, path: &str) -> (u16, String, String) {
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: casulo\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("resposta sem status: {text:?}"));
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(String::from)
        })
        .unwrap_or_default();
    (status, content_type, dechunk(head, body))
}

/// The body of a `Transfer-Encoding: chunked` answer, put together.
fn dechunk(head: &str, body: &str) -> String {
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

/// The SSE messages of a live stream: (event name, data) each.
fn messages(body: &str) -> Vec<(String, String)> {
    body.split("\n\n")
        .filter(|m| !m.trim().is_empty() && !m.starts_with(':'))
        .map(|m| {
            let mut event = "message".to_string();
            let mut data = String::new();
            for line in m.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = e.to_string();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = d.to_string();
                }
            }
            (event, data)
        })
        .collect()
}

fn trace_path(listing: &Value, name: &str) -> PathBuf {
    let t = listing
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["container"] == name)
        .unwrap_or_else(|| panic!("{name} não está na lista: {listing:#}"));
    PathBuf::from(t["path"].as_str().unwrap())
}

/// `GET /casulo/traces` lists the container's trace (running, then not),
/// `GET /casulo/traces/NAME` gives the file as it is, and `/casulo/live/ID`
/// sends every event and then `fim` once the container ended: the same
/// lines as the file, in order, the cleanup included.
#[test]
fn daemon_serves_traces_and_follows_one_live() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("seguido");
    let _removed = lab.remove_on_drop(&[&name]);
    let out = d.docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3; do touch /tmp/$i; sleep 0.5; done",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();

    let (status, content_type, body) = get_on(&d, "/casulo/traces");
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let listing: Value = serde_json::from_str(&body).unwrap();
    let path = trace_path(&listing, &name);
    let mine = listing
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(mine["running"], true, "{mine:#}");
    assert_eq!(
        mine["url"],
        format!("/casulo/traces/{}", mine["name"].as_str().unwrap())
    );
    assert!(
        path.starts_with(lab.root().join("traces")),
        "{}",
        path.display()
    );

    // Live, from while it runs to its end.
    let (status, content_type, body) = get_on(&d, &format!("/casulo/live/{id}"));
    assert_eq!((status, content_type.as_str()), (200, "text/event-stream"));
    let got = messages(&body);
    let file = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = file.lines().collect();
    assert_eq!(got[0].0, "cabecalho");
    assert_eq!(got[0].1, lines[0]);
    let (last, events) = got[1..].split_last().unwrap();
    assert_eq!(last, &("fim".to_string(), r#"{"exit_code":0}"#.to_string()));
    let sent: Vec<&str> = events.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(sent, lines[1..], "o fluxo ao vivo e o arquivo diferem");
    // Complete: the container's cgroup was removed before `fim`.
    assert!(sent.iter().any(|l| l.contains("\"cgroup.delete\"")));

    // A browser that reconnects says the last event it got: the stream
    // resumes after it, with no header.
    let mut s = UnixStream::connect(&d.socket).unwrap();
    write!(
        s,
        "GET /casulo/live/{id} HTTP/1.1\r\nHost: c\r\nLast-Event-ID: 9\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let resumed = messages(&dechunk(head, body));
    assert_eq!(
        resumed[0].1, lines[11],
        "o primeiro depois do 9 é o 10 (linha 11)"
    );
    assert_eq!(
        resumed.len(),
        lines.len() - 11 + 1,
        "os eventos depois do 9 e o fim"
    );
    assert_eq!(resumed.last().unwrap().0, "fim");

    // The file itself, by name (the newest trace of that name).
    let (status, content_type, body) = get_on(&d, &format!("/casulo/traces/{name}"));
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/x-ndjson")
    );
    assert_eq!(body, file);
    // With its size up front (a browser reads it in one piece), not chunked.
    let mut s = UnixStream::connect(&d.socket).unwrap();
    write!(
        s,
        "GET /casulo/traces/{name} HTTP/1.1\r\nHost: casulo\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    let head = raw.split("\r\n\r\n").next().unwrap();
    assert!(
        head.contains(&format!("content-length: {}", file.len())),
        "{head}"
    );
    assert!(!head.contains("chunked"), "{head}");
    let (_, _, body) = get_on(&d, "/casulo/traces");
    let listing: Value = serde_json::from_str(&body).unwrap();
    let mine = listing
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(mine["running"], false, "{mine:#}");
    d.docker(&["rm", &name]).assert_ok();
}

/// Nothing outside the traces dir: `..`, a symlink put in `traces/`, an
/// unknown name; and only GET. Each a clear pt-BR JSON error.
#[test]
fn daemon_traces_refuse_what_is_not_a_trace_of_the_state_dir() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let outside = lab
        .dir()
        .join(format!("{}.trace.jsonl", unique_name("fora")));
    std::fs::write(&outside, "segredo\n").unwrap();
    let link_name = format!("{}.trace.jsonl", unique_name("atalho"));
    let link = lab.root().join("traces").join(&link_name);
    std::os::unix::fs::symlink(&outside, &link).unwrap();

    for (path, status, words) in [
        (
            "/casulo/traces/..%2F..%2Fetc%2Fpasswd",
            400,
            "não é um nome de trace",
        ),
        ("/casulo/traces/../../etc/passwd", 404, "não existe"),
        ("/casulo/traces/..", 400, "não é um nome de trace"),
        ("/casulo/live/..", 400, "não é um nome de trace"),
        (
            "/casulo/traces/nao-existe-mesmo",
            404,
            "não há trace de \"nao-existe-mesmo\"",
        ),
        ("/casulo/live/nao-existe-mesmo", 404, "não há trace"),
        ("/casulo/nada", 404, "/casulo/traces"),
    ] {
        let (got, _, body) = get_on(&d, path);
        assert_eq!(got, status, "{path}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}"));
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(words), "{path}: {message}");
    }
    let (status, _, body) = get_on(&d, &format!("/casulo/traces/{link_name}"));
    assert_eq!(status, 404, "um symlink em traces/ não é servido: {body}");
    assert!(!body.contains("segredo"));
    let (_, _, body) = get_on(&d, "/casulo/traces");
    assert!(!body.contains(&link_name), "{body}");

    let mut s = UnixStream::connect(&d.socket).unwrap();
    write!(
        s,
        "DELETE /casulo/traces/x HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    std::fs::remove_file(&link).unwrap();
}

/// Clients that leave a live stream of a container that keeps running:
/// the daemon's threads go back to what they were (no follower left behind).
#[test]
fn daemon_live_clients_that_leave_leak_nothing() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("longo");
    let _removed = lab.remove_on_drop(&[&name]);
    d.docker(&["run", "-d", "--name", &name, "busybox", "sleep", "100"])
        .assert_ok();
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut s = UnixStream::connect(&d.socket).unwrap();
        write!(s, "GET /casulo/live/{name} HTTP/1.1\r\nHost: c\r\n\r\n").unwrap();
        // The answer's first line, then the client stays a while.
        let mut first = String::new();
        BufReader::new(&s).read_line(&mut first).unwrap();
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        clients.push(s);
    }
    let began = Instant::now();
    while followers(&d) < 5 {
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "{}",
            followers(&d)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // They hang up while the container still runs.
    drop(clients);
    // Each follower sees its client gone at its next look (100 ms); the
    // blocking pool keeps idle threads for 10 s, so those are not counted.
    let began = Instant::now();
    while followers(&d) > 0 {
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "seguidores ficaram vivos: {} de 5",
            followers(&d)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    d.docker(&["rm", "-f", &name]).assert_ok();
    assert!(d.log().contains("GET /casulo/live/"), "{}", d.log());
}

/// The daemon's threads that follow a trace (named after their job).
fn followers(d: &Daemon) -> usize {
    std::fs::read_dir(format!("/proc/{}/task", d.pid()))
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim() == "casulo-ao-vivo")
        })
        .count()
}

/// `--ui`: the visualizer's files and `/casulo/…` over TCP, never docker's
/// API; 0.0.0.0 refused unless asked, and nothing left behind when refused.
#[test]
fn daemon_ui_serves_the_visualizer_and_only_casulos_paths() {
    let lab = Lab::shared();
    let ui_dir = lab.dir().join(unique_name("visualizador"));
    std::fs::create_dir_all(&ui_dir).unwrap();
    std::fs::write(
        ui_dir.join("index.html"),
        "<!doctype html><title>Casulo</title>",
    )
    .unwrap();
    std::fs::write(ui_dir.join("index_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let dir_arg = ui_dir.to_str().unwrap();

    let socket = lab.dir().join(format!("{}.sock", unique_name("recusado")));
    let out = lab.casulo(&[
        "daemon",
        "--socket",
        socket.to_str().unwrap(),
        "--ui",
        "0.0.0.0:0",
        "--ui-dir",
        dir_arg,
    ]);
    out.assert_code(125);
    assert!(out.stderr.contains("--ui-publico"), "{out}");
    assert!(!socket.exists(), "nada feito quando --ui é recusado");

    let d = Daemon::start_with(lab, &["--ui", "127.0.0.1:0", "--ui-dir", dir_arg]);
    let url = ui_url(&d);
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let tcp = || TcpStream::connect(addr).unwrap();
    let (status, content_type, body) = get(tcp(), "/");
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(body.contains("Casulo"));
    let (status, content_type, _) = get(tcp(), "/index_bg.wasm");
    assert_eq!((status, content_type.as_str()), (200, "application/wasm"));
    let (status, content_type, body) = get(tcp(), "/casulo/traces");
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/json"),
        "{body}"
    );
    assert!(serde_json::from_str::<Value>(&body).unwrap().is_array());
    // The same list where `cargo xtask serve` has it (the lab's links).
    // (Other tests share the state dir: the two lists may differ by a trace.)
    let (status, content_type, again) = get(tcp(), "/traces/");
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert!(serde_json::from_str::<Value>(&again).unwrap().is_array());
    for path in [
        "/v1.43/containers/json",
        "/containers/json",
        "/_ping",
        "/../x",
    ] {
        let (status, _, body) = get(tcp(), path);
        assert_eq!(status, 404, "{path} na porta --ui: {body}");
    }
    let mut s = tcp();
    write!(
        s,
        "POST /v1.43/containers/create HTTP/1.1\r\nHost: c\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
}

/// The URL the daemon printed for `--ui`: already in its log when its
/// socket appears (the daemon names the socket last), so read once.
fn ui_url(d: &Daemon) -> String {
    let log = d.log();
    let rest = log
        .split("visualizador ao vivo em ")
        .nth(1)
        .unwrap_or_else(|| panic!("o socket apareceu antes da URL do --ui no log:\n{log}"));
    rest.split_whitespace().next().unwrap().to_string()
}

/// `docker stats`' `networks` has every interface of the container's
/// network namespace but `lo`, by name: on a named network and connected
/// to a second one, both — the same names the container itself sees in
/// its `/proc/net/dev`.
#[test]
fn daemon_stats_counts_every_network_of_the_container() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let (first, second) = (unique_name("rede-a"), unique_name("rede-b"));
    let name = unique_name("duas-redes");
    let _removed = lab
        .remove_on_drop(&[&name])
        .with_networks(&[&first, &second]);
    d.docker(&["network", "create", &first]).assert_ok();
    d.docker(&["network", "create", &second]).assert_ok();
    d.docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        &first,
        "busybox",
        "sleep",
        "60",
    ])
    .assert_ok();
    d.docker(&["network", "connect", &second, &name])
        .assert_ok();
    let inside = d.docker(&["exec", &name, "cat", "/proc/net/dev"]);
    inside.assert_ok();
    let mut seen: Vec<String> = inside
        .stdout
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim().to_string()))
        .filter(|n| n != "lo")
        .collect();
    seen.sort();
    assert_eq!(seen.len(), 2, "{inside}");
    let (status, _, body) = get_on(
        &d,
        &format!("/v1.43/containers/{name}/stats?stream=false&one-shot=true"),
    );
    assert_eq!(status, 200, "{body}");
    let v: Value =
        serde_json::from_str(body.lines().find(|l| l.starts_with('{')).expect(&body)).unwrap();
    let networks = v["networks"].as_object().expect("networks");
    let mut keys: Vec<String> = networks.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, seen, "{v}");
    for (n, c) in networks {
        assert!(
            c["rx_bytes"].is_u64() && c["tx_packets"].is_u64(),
            "{n}: {c}"
        );
    }
    let out = d.docker(&["stats", "--no-stream", "--format", "{{.NetIO}}", &name]);
    out.assert_ok();
    assert!(out.stdout.contains(" / "), "{out}");
    d.docker(&["rm", "-f", &name]).assert_ok();
    d.docker(&["network", "rm", &first]).assert_ok();
    d.docker(&["network", "rm", &second]).assert_ok();
}

/// `docker logs --since/--until` keep the lines of that window (the CLI
/// sends unix seconds; RFC 3339 and durations too), a time that is not
/// one is refused naming it; `docker events --until` ends when it comes,
/// with what happened before.
#[test]
fn docker_logs_and_events_take_since_and_until() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("janela");
    d.docker(&[
        "run",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "echo um; sleep 2; echo dois",
    ])
    .assert_ok();
    let all = d.docker(&["logs", "--timestamps", &name]);
    all.assert_ok();
    let stamps: Vec<&str> = all
        .stdout
        .lines()
        .map(|l| l.split_once(' ').expect("time and text").0)
        .collect();
    assert_eq!(stamps.len(), 2, "{all}");
    let lines = |args: &[&str]| {
        let mut a = vec!["logs"];
        a.extend_from_slice(args);
        a.push(&name);
        let out = d.docker(&a);
        out.assert_ok();
        out.stdout.lines().map(String::from).collect::<Vec<_>>()
    };
    assert_eq!(lines(&["--since", stamps[1]]), ["dois"]);
    assert_eq!(lines(&["--until", stamps[0]]), ["um"]);
    assert_eq!(lines(&["--since", "1h"]), ["um", "dois"]);
    assert_eq!(
        lines(&["--since", "1h", "--until", "2099-01-01T00:00:00Z"]),
        ["um", "dois"]
    );
    assert!(lines(&["--until", "1h"]).is_empty());
    let (status, _, body) = get_on(
        &d,
        &format!("/v1.43/containers/{name}/logs?stdout=1&since=ontem"),
    );
    assert_eq!(status, 400, "{body}");
    // (in the JSON of the error, the quotes come escaped)
    assert!(body.contains(r#"\"ontem\" não é um tempo"#), "{body}");

    // events: ends by itself at --until, with a container started meanwhile.
    let until = humantime_secs(4);
    let mut events = d.docker_command(&[
        "events",
        "--until",
        &until,
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    let began = Instant::now();
    let child = events
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let other = unique_name("durante");
    d.docker(&["run", "--rm", "--name", &other, "busybox", "sleep", "1"])
        .assert_ok();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        began.elapsed() < Duration::from_secs(30),
        "events não terminou no --until"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("start {other}")), "{text}");
    d.docker(&["rm", "-f", &name]).assert_ok();
}

/// Unix seconds `secs` from now, as the docker CLI accepts them.
fn humantime_secs(secs: u64) -> String {
    let t = std::time::SystemTime::now() + Duration::from_secs(secs);
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}
