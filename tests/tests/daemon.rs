//! `casulo daemon` driven by the unmodified docker CLI: each test starts a
//! daemon of its own on a socket in the lab (`DOCKER_HOST=unix://…`), over
//! the lab's state dir, and compares what `docker` shows with what `casulo`
//! itself says about the same containers and images.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use casulo_tests::{unique_name, Lab, Output};
use serde_json::Value;

/// A `casulo daemon` of this test; stopped with SIGTERM when dropped.
struct Daemon {
    child: Option<Child>,
    socket: PathBuf,
    log: PathBuf,
}

impl Daemon {
    fn start(lab: &Lab) -> Daemon {
        let socket = lab.dir().join(format!("{}.sock", unique_name("docker")));
        Daemon::on(lab, socket)
    }

    fn on(lab: &Lab, socket: PathBuf) -> Daemon {
        let log = socket.with_extension("log");
        let child = lab
            .command(&["daemon", "--socket", socket.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("casulo daemon inicia");
        let began = Instant::now();
        while UnixStream::connect(&socket).is_err() {
            assert!(
                began.elapsed() < Duration::from_secs(20),
                "o daemon não abriu {}:\n{}",
                socket.display(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon {
            child: Some(child),
            socket,
            log,
        }
    }

    /// `docker ARGS…` against this daemon.
    fn docker(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("docker");
        cmd.args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_CONFIG", self.socket.with_extension("docker-config"))
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_API_VERSION");
        Output::of(&mut cmd)
    }

    /// One raw HTTP/1.1 request on the socket: (status, body).
    fn http(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let mut s = UnixStream::connect(&self.socket).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: casulo\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        // A body over the cap is refused before it is all read: the
        // daemon may close while we still write.
        let _ = s.write_all(body);
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("resposta sem status: {text:?}"));
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        (status, body)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, and its exit code.
    fn stop(&mut self) -> i32 {
        let mut child = self.child.take().expect("still running");
        casulo_tests::send_signal(child.id(), libc::SIGTERM);
        child.wait().unwrap().code().unwrap_or(-1)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.stop();
        }
    }
}

/// The `--format` line `casulo ps -a` gives for `name`.
fn casulo_ps(lab: &Lab, name: &str, format: &str) -> Option<String> {
    let out = lab.casulo(&["ps", "-a", "--format", &format!("{{{{.Names}}}} {format}")]);
    out.assert_ok();
    out.stdout
        .lines()
        .find(|l| l.split(' ').next() == Some(name))
        .map(|l| l[name.len() + 1..].to_string())
}

fn docker_ps(d: &Daemon, name: &str, format: &str) -> Option<String> {
    let out = d.docker(&["ps", "-a", "--format", &format!("{{{{.Names}}}} {format}")]);
    out.assert_ok();
    out.stdout
        .lines()
        .find(|l| l.split(' ').next() == Some(name))
        .map(|l| l[name.len() + 1..].to_string())
}

/// `docker version` shows both sides (the client negotiated down to the
/// daemon's API), and `docker info` counts what casulo has.
#[test]
fn docker_version_and_info_talk_to_the_daemon() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let out = d.docker(&["version"]);
    out.assert_ok();
    assert!(out.stdout.contains("Casulo"), "{out}");
    assert!(out.stdout.contains("1.43 (downgraded from"), "{out}");
    let out = d.docker(&[
        "version",
        "--format",
        "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}}",
    ]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "0.1.0 1.43 linux");
    let out = d.docker(&[
        "info",
        "--format",
        "{{.Images}} {{.Driver}} {{.DockerRootDir}}",
    ]);
    out.assert_ok();
    let images: Value = lab.casulo(&["image", "ls", "--format", "json"]).json();
    assert_eq!(
        out.stdout.trim(),
        format!(
            "{} overlay {}",
            images.as_array().unwrap().len(),
            lab.root().display()
        )
    );
    assert!(d.log().contains("GET /v1.43/info → 200"), "{}", d.log());
}

/// `docker images` and `docker image inspect` read the same store as
/// `casulo image ls` and `casulo image inspect`.
#[test]
fn docker_images_match_casulo_image_ls() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let ours: Value = lab.casulo(&["image", "ls", "--format", "json"]).json();
    let mut expected: Vec<String> = ours
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{} {}",
                i["reference"].as_str().unwrap(),
                i["id"].as_str().unwrap()
            )
        })
        .collect();
    let out = d.docker(&[
        "images",
        "--no-trunc",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.ID}}",
    ]);
    out.assert_ok();
    let mut got: Vec<String> = out.stdout.lines().map(String::from).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    let out = d.docker(&["image", "inspect", "busybox", "--format", "{{.Id}} {{.Os}}"]);
    out.assert_ok();
    let casulo = lab.casulo(&["image", "inspect", "busybox"]).json();
    assert_eq!(
        out.stdout.trim(),
        format!("{} linux", casulo[0]["Id"].as_str().unwrap())
    );
    let out = d.docker(&["image", "inspect", "nao-existe:1"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("imagem não encontrada"), "{out}");
}

/// `docker run` without `-d`: the output comes through the attach, and the
/// exit code is the container's; with `--rm` nothing is left.
#[test]
fn docker_run_prints_the_output_and_exits_with_the_code() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let gone = unique_name("rm");
    let out = d.docker(&["run", "--rm", "--name", &gone, "busybox", "echo", "olá"]);
    out.assert_ok();
    assert_eq!(out.stdout, "olá\n");
    assert_eq!(casulo_ps(lab, &gone, "{{.Status}}"), None, "--rm removeu");

    let three = unique_name("tres");
    let out = d.docker(&[
        "run",
        "--name",
        &three,
        "-e",
        "NOME=casulo",
        "-w",
        "/tmp",
        "busybox",
        "sh",
        "-c",
        "echo $NOME em $(pwd); echo erro >&2; exit 3",
    ]);
    out.assert_code(3);
    assert_eq!(out.stdout, "casulo em /tmp\n");
    assert_eq!(out.stderr, "erro\n");
    let out = d.docker(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
        &three,
    ]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "exited 3");
    assert_eq!(
        casulo_ps(lab, &three, "{{.Status}}").as_deref(),
        Some("Exited (3)")
    );
    assert_eq!(
        docker_ps(&d, &three, "{{.Status}}").as_deref(),
        Some("Exited (3)")
    );
    // Exited ones only with -a, and through the filters.
    let out = d.docker(&["ps", "--format", "{{.Names}}"]);
    assert!(!out.stdout.contains(&three), "{out}");
    let out = d.docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("name={three}"),
        "--filter",
        "status=exited",
        "--format",
        "{{.Names}}",
    ]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), three);
    d.docker(&["rm", &three]).assert_ok();
    assert_eq!(casulo_ps(lab, &three, "{{.Status}}"), None);

    // A command that does not exist: docker's 127.
    let out = d.docker(&["run", "--rm", "busybox", "nao-existe-isto"]);
    out.assert_code(127);
}

/// `docker run -d`: the same supervisor as `casulo run -d`; `docker logs`
/// (both streams, `--tail`, `-t`), `docker stop` and `docker rm`, each
/// agreeing with `casulo`.
#[test]
fn docker_run_d_logs_stop_rm() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("fundo");
    let out = d.docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--memory",
        "64m",
        "--pids-limit",
        "50",
        "busybox",
        "sh",
        "-c",
        "echo um; echo dois >&2; echo tres; sleep 100",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{out}");
    assert_eq!(
        docker_ps(&d, &name, "{{.ID}} {{.Status}}"),
        casulo_ps(lab, &name, "{{.ID}} {{.Status}}")
    );
    assert_eq!(docker_ps(&d, &name, "{{.Status}}").as_deref(), Some("Up"));
    let info = lab.casulo(&["inspect", &name]).json();
    assert_eq!(info[0]["HostConfig"]["Memory"], 64 << 20);
    assert_eq!(info[0]["HostConfig"]["PidsLimit"], 50);
    assert!(
        info[0]["Casulo"]["Supervisor"].as_i64().is_some(),
        "{info:#}"
    );

    let began = Instant::now();
    let logs = loop {
        let out = d.docker(&["logs", &name]);
        out.assert_ok();
        if out.stdout.contains("tres") {
            break out;
        }
        assert!(began.elapsed() < Duration::from_secs(10), "{out}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(logs.stdout, "um\ntres\n");
    assert_eq!(logs.stderr, "dois\n");
    // --tail counts the lines of both streams together, as docker.
    let out = d.docker(&["logs", "--tail", "1", "-t", &name]);
    out.assert_ok();
    let line = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(line.lines().count(), 1, "{out}");
    let (time, text) = line.trim().split_once(' ').unwrap();
    assert!(time.starts_with("20") && time.ends_with('Z'), "{out}");
    assert!(["um", "dois", "tres"].contains(&text), "{out}");

    // top, pause, unpause and rename, as casulo's.
    let out = d.docker(&["top", &name]);
    out.assert_ok();
    assert!(out.stdout.contains("PID NO CONTÊINER"), "{out}");
    assert!(out.stdout.contains("sleep 100"), "{out}");
    d.docker(&["pause", &name]).assert_ok();
    assert_eq!(
        casulo_ps(lab, &name, "{{.Status}}").as_deref(),
        Some("Up (Paused)")
    );
    d.docker(&["unpause", &name]).assert_ok();
    let renamed = unique_name("renomeado");
    d.docker(&["rename", &name, &renamed]).assert_ok();
    assert_eq!(
        casulo_ps(lab, &renamed, "{{.Status}}").as_deref(),
        Some("Up")
    );
    d.docker(&["rename", &renamed, &name]).assert_ok();
    let out = d.docker(&["stop", "-t", "1", &name]);
    out.assert_ok();
    let out = d.docker(&["inspect", "--format", "{{.State.Status}}", &id]);
    assert_eq!(out.stdout.trim(), "exited", "{out}");
    assert_eq!(
        docker_ps(&d, &name, "{{.Status}}"),
        casulo_ps(lab, &name, "{{.Status}}")
    );
    // Stopping a stopped one is no error (304).
    d.docker(&["stop", &name]).assert_ok();
    // start, restart and kill: the same supervisor again, each time.
    d.docker(&["start", &name]).assert_ok();
    assert_eq!(docker_ps(&d, &name, "{{.Status}}").as_deref(), Some("Up"));
    let pid = |lab: &Lab| lab.casulo(&["inspect", &name]).json()[0]["State"]["Pid"].clone();
    let before = pid(lab);
    d.docker(&["restart", "-t", "1", &name]).assert_ok();
    assert_ne!(pid(lab), before, "restart: outro PID 1\n{}", d.log());
    d.docker(&["kill", "--signal", "KILL", &name]).assert_ok();
    let out = d.docker(&["wait", &name]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "137");
    let out = d.docker(&["kill", &name]);
    assert_ne!(out.code, 0, "kill de um parado:\n{out}");
    assert!(out.stderr.contains("não está rodando"), "{out}");
    d.docker(&["rm", &name]).assert_ok();
    assert_eq!(casulo_ps(lab, &name, "{{.Status}}"), None);
    let out = d.docker(&["rm", &name]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("contêiner não encontrado"), "{out}");
}

/// What the daemon does not serve, a body that is not JSON, a body over
/// the cap, an unknown image: each a clear pt-BR error with a status code
/// the docker CLI shows well — and the daemon goes on answering.
#[test]
fn bad_requests_get_clear_errors_and_the_daemon_stays_up() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let (status, body) = d.http("GET", "/v1.43/plugins", b"");
    assert_eq!(status, 501, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("GET /plugins"), "{message}");
    assert!(message.contains("ainda não implementa"), "{message}");

    let (status, body) = d.http("POST", "/v1.43/containers/create", b"{\"Image\": ");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("não é JSON válido"), "{body}");

    let (status, body) = d.http(
        "POST",
        "/v1.43/containers/create",
        br#"{"Image": "busybox", "HostConfig": {"PidMode": "host"}}"#,
    );
    assert_eq!(status, 501, "{body}");
    assert!(body.contains("HostConfig.PidMode"), "{body}");

    let big = vec![b' '; 2 * 1024 * 1024];
    let (status, body) = d.http("POST", "/v1.43/containers/create", &big);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("1024 KiB"), "{body}");

    let (status, body) = d.http("GET", "/v1.99/info", b"");
    assert_eq!(status, 400, "{body}");

    let out = d.docker(&["run", "--rm", "--pull", "never", "nao-existe:9", "true"]);
    assert_eq!(out.code, 125, "{out}");
    assert!(out.stderr.contains("imagem não encontrada"), "{out}");

    // The input is not served yet: refused at create, nothing made.
    let name = unique_name("entrada");
    let out = d.docker(&["run", "-i", "--rm", "--name", &name, "busybox", "cat"]);
    assert_eq!(out.code, 125, "{out}");
    assert!(out.stderr.contains("a entrada (stdin)"), "{out}");
    assert_eq!(casulo_ps(lab, &name, "{{.Status}}"), None);

    let out = d.docker(&["plugin", "ls"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("ainda não implementa"), "{out}");

    // Still there.
    let (status, body) = d.http("GET", "/_ping", b"");
    assert_eq!((status, body.as_str()), (200, "OK"));
    d.docker(&["version"]).assert_ok();
}

/// `docker exec`: output on both streams, the exit code through `GET
/// /exec/{id}/json`, `-e`, `-w`, `-d`; the same answers as `casulo exec`.
#[test]
fn docker_exec_runs_in_the_container() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("exec");
    d.docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--hostname",
        "casa",
        "busybox",
        "sleep",
        "100",
    ])
    .assert_ok();
    let out = d.docker(&["exec", &name, "hostname"]);
    out.assert_ok();
    assert_eq!(out.stdout, "casa\n");
    let ours = lab.casulo(&["exec", &name, "cat", "/etc/hostname"]);
    let theirs = d.docker(&["exec", &name, "cat", "/etc/hostname"]);
    assert_eq!(
        (theirs.code, &theirs.stdout),
        (ours.code, &ours.stdout),
        "{theirs}\n{ours}"
    );
    let out = d.docker(&[
        "exec",
        &name,
        "sh",
        "-c",
        "echo fora; echo erro >&2; exit 4",
    ]);
    out.assert_code(4);
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("fora\n", "erro\n")
    );
    let out = d.docker(&[
        "exec",
        "-e",
        "A=1",
        "-w",
        "/tmp",
        &name,
        "sh",
        "-c",
        "echo $A $(pwd)",
    ]);
    out.assert_ok();
    assert_eq!(out.stdout, "1 /tmp\n");
    d.docker(&["exec", &name, "nao-existe"]).assert_code(127);
    d.docker(&["exec", "-d", &name, "touch", "/tmp/feito"])
        .assert_ok();
    let began = Instant::now();
    while !lab
        .casulo(&["exec", &name, "test", "-e", "/tmp/feito"])
        .success()
    {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "exec -d não rodou"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = d.docker(&["exec", "-it", &name, "sh"]);
    assert_ne!(out.code, 0);
    d.docker(&["rm", "-f", &name]).assert_ok();
}

/// 50 `docker run --rm` at once: each prints its own line and exits 0,
/// none is left, and the daemon holds no more descriptors than before.
#[test]
fn fifty_docker_runs_at_once() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let pid = d.child.as_ref().unwrap().id();
    let fds = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count()
    };
    let before = fds();
    let prefix = unique_name("cinquenta");
    let runs: Vec<_> = (0..50)
        .map(|i| {
            let name = format!("{prefix}-{i}");
            let mut cmd = Command::new("docker");
            cmd.args(["run", "--rm", "--name", &name, "busybox", "echo", &name])
                .env("DOCKER_HOST", format!("unix://{}", d.socket.display()))
                .env("DOCKER_CONFIG", d.socket.with_extension("docker-config"))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            (name, cmd.spawn().unwrap())
        })
        .collect();
    for (name, child) in runs {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(text, format!("{name}\n"));
    }
    let out = lab.casulo(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!out.stdout.contains(&prefix), "sobrou contêiner:\n{out}");
    // The streams are closed as their runs end (give the last a moment).
    let began = Instant::now();
    while fds() > before {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "{} fds, eram {before}",
            fds()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    d.docker(&["version"]).assert_ok();
}

/// `docker events` sees a container's life: create, start, die (with its
/// exit code), destroy — filtered to that container.
#[test]
fn docker_events_see_a_start_and_a_die() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("eventos");
    let mut events = Command::new("docker")
        .args([
            "events",
            "--filter",
            &format!("container={name}"),
            "--format",
            "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}",
        ])
        .env("DOCKER_HOST", format!("unix://{}", d.socket.display()))
        .env("DOCKER_CONFIG", d.socket.with_extension("docker-config"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The stream is open once the daemon logged the request.
    let began = Instant::now();
    while !d.log().contains("GET /v1.43/events") {
        assert!(began.elapsed() < Duration::from_secs(10), "{}", d.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    d.docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "sleep 0.3; exit 2",
    ])
    .assert_ok();
    d.docker(&["wait", &name]).assert_ok();
    d.docker(&["rm", &name]).assert_ok();
    let mut out = events.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut text = String::new();
        let mut buf = [0u8; 256];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            lines = text.lines().map(String::from).collect::<Vec<_>>();
            if text.ends_with('\n') && lines.iter().any(|l| l.starts_with("destroy")) {
                break;
            }
        }
        lines
    });
    let began = Instant::now();
    while !reader.is_finished() && began.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = events.kill();
    let _ = events.wait();
    let lines = reader.join().unwrap();
    assert_eq!(
        lines,
        [
            // docker's templates print a missing key as `<no value>`.
            format!("create {name} <no value>"),
            format!("start {name} <no value>"),
            format!("die {name} 2"),
            format!("destroy {name} <no value>"),
        ],
        "{}",
        d.log()
    );
}

/// `docker volume create/ls/inspect/rm`: the same volumes as `casulo
/// volume`; the data outlives the container that wrote it; a volume in use
/// is kept.
#[test]
fn docker_volumes_are_casulos_volumes() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let vol = unique_name("dados");
    let writer = unique_name("escreve");
    let out = d.docker(&["volume", "create", &vol]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), vol);
    let ours = lab.casulo(&["volume", "ls", "-q"]);
    assert!(ours.stdout.lines().any(|l| l == vol), "{ours}");
    let theirs = d.docker(&["volume", "ls", "-q"]);
    assert_eq!(theirs.stdout, ours.stdout);
    let bind = format!("{vol}:/dados");
    d.docker(&[
        "run",
        "--name",
        &writer,
        "-v",
        &bind,
        "busybox",
        "sh",
        "-c",
        "echo oi > /dados/x",
    ])
    .assert_ok();
    let out = d.docker(&["run", "--rm", "-v", &bind, "busybox", "cat", "/dados/x"]);
    out.assert_ok();
    assert_eq!(out.stdout, "oi\n");
    let out = d.docker(&["volume", "rm", &vol]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("está em uso"), "{out}");
    d.docker(&["rm", &writer]).assert_ok();
    let out = d.docker(&[
        "volume",
        "inspect",
        "--format",
        "{{.Driver}} {{.Mountpoint}}",
        &vol,
    ]);
    out.assert_ok();
    assert_eq!(
        out.stdout.trim(),
        format!(
            "local {}",
            lab.root()
                .join("volumes")
                .join(&vol)
                .join("_data")
                .display()
        )
    );
    d.docker(&["volume", "rm", &vol]).assert_ok();
    let ours = lab.casulo(&["volume", "ls", "-q"]);
    assert!(!ours.stdout.lines().any(|l| l == vol), "{ours}");
}

/// A container started through the daemon runs under its own supervisor:
/// it outlives the daemon (stopped with SIGTERM, exit 0, socket removed),
/// and a new daemon finds it.
#[test]
fn containers_outlive_the_daemon() {
    let lab = Lab::shared();
    let mut d = Daemon::start(lab);
    let name = unique_name("sobrevive");
    d.docker(&["run", "-d", "--name", &name, "busybox", "sleep", "100"])
        .assert_ok();
    let socket = d.socket.clone();
    // A second daemon on a socket that answers is refused (and leaves it be).
    let out = lab.casulo(&["daemon", "--socket", socket.to_str().unwrap()]);
    out.assert_code(125);
    assert!(out.stderr.contains("já há um daemon escutando"), "{out}");
    d.docker(&["version"]).assert_ok();
    assert_eq!(d.stop(), 0, "{}", d.log());
    assert!(d.log().contains("SIGTERM recebido"), "{}", d.log());
    assert!(!socket.exists(), "o socket foi removido");
    assert_eq!(
        casulo_ps(lab, &name, "{{.Status}}").as_deref(),
        Some("Up"),
        "o contêiner continua sem o daemon"
    );
    let again = Daemon::on(lab, socket);
    assert_eq!(
        docker_ps(&again, &name, "{{.Status}}").as_deref(),
        Some("Up")
    );
    again.docker(&["rm", "-f", &name]).assert_ok();
    assert_eq!(casulo_ps(lab, &name, "{{.Status}}"), None);
}
