//! `casulo daemon` driven by the unmodified docker CLI: each test starts a
//! daemon of its own on a socket in the lab (`DOCKER_HOST=unix://…`), over
//! the lab's state dir, and compares what `docker` shows with what `casulo`
//! itself says about the same containers and images.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use casulo_tests::daemon::Daemon;
use casulo_tests::pty::Screen;
use casulo_tests::{unique_name, Lab, Output, RemoveOnDrop};
use serde_json::Value;

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
    let _removed = lab.remove_on_drop(&[&name]);
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
    // BuildKit's session (what buildx dials): named, with the way around.
    for door in ["/session", "/v1.43/grpc"] {
        let (status, body) = d.http("POST", door, b"");
        assert_eq!(status, 501, "{door}: {body}");
        assert!(body.contains("BuildKit"), "{body}");
        assert!(body.contains("DOCKER_BUILDKIT=0"), "{body}");
    }

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
    let _removed = lab.remove_on_drop(&[&name]);
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
    // -dt, as docker: the command has a terminal (its output dropped) and
    // the client returns at once.
    d.docker(&[
        "exec",
        "-dt",
        &name,
        "sh",
        "-c",
        "tty > /tmp/tty; sleep 300",
    ])
    .assert_ok();
    let began = Instant::now();
    let tty = loop {
        let tty = d.docker(&["exec", &name, "cat", "/tmp/tty"]);
        if tty.success() || began.elapsed() > Duration::from_secs(10) {
            break tty;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    tty.assert_ok();
    assert!(tty.stdout.starts_with("/dev/pts/"), "{tty}");
    d.docker(&["rm", "-f", &name]).assert_ok();
}

/// 50 `docker run --rm` at once: each prints its own line and exits 0,
/// none is left, and the daemon holds no more descriptors than before.
#[test]
fn fifty_docker_runs_at_once() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let pid = d.pid();
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
    let _removed = lab.remove_on_drop(&[&name]);
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

/// `docker events --since … --until …` replays the past and then ends by
/// itself: a container `casulo run` made before the daemon started (told
/// from its record, with its exit code) and one run through the daemon
/// and removed (`--rm`), each in its order.
#[test]
fn docker_events_since_replays_the_past_and_until_ends_the_stream() {
    let lab = Lab::shared();
    let unix = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string()
    };
    let began = std::time::SystemTime::now() - Duration::from_secs(2);
    let before = unique_name("antes");
    lab.casulo(&["run", "--name", &before, "busybox", "sh", "-c", "exit 3"])
        .assert_code(3);
    let d = Daemon::start(lab);
    let through = unique_name("pelo-daemon");
    d.docker(&["run", "--rm", "--name", &through, "busybox", "sleep", "0.2"])
        .assert_ok();
    // The removal is seen a moment after `docker run` returns.
    std::thread::sleep(Duration::from_millis(300));
    let until = std::time::SystemTime::now() + Duration::from_secs(1);
    let asked = Instant::now();
    let out = d.docker(&[
        "events",
        "--since",
        &unix(began),
        "--until",
        &unix(until),
        "--filter",
        &format!("container={before}"),
        "--filter",
        &format!("container={through}"),
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}",
    ]);
    out.assert_ok();
    assert!(
        asked.elapsed() < Duration::from_secs(30),
        "until não encerrou"
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    let of = |name: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.split(' ').nth(1) == Some(name))
            .map(|l| l.to_string())
            .collect()
    };
    assert_eq!(
        of(&before),
        [
            format!("create {before} <no value>"),
            format!("start {before} <no value>"),
            format!("die {before} 3"),
        ],
        "{}",
        out.stdout
    );
    assert_eq!(
        of(&through),
        [
            format!("create {through} <no value>"),
            format!("start {through} <no value>"),
            format!("die {through} 0"),
            format!("destroy {through} <no value>"),
        ],
        "{}\n{}",
        out.stdout,
        d.log()
    );
    lab.casulo(&["rm", &before]).assert_ok();
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

/// Volume labels: `docker volume create --label`, seen by `inspect`, by
/// `volume ls --filter` (docker's and casulo's) and by `volume prune
/// --filter`, which removes only the volumes the label picks; a filter
/// casulo cannot apply is refused by name.
#[test]
fn volume_labels_pick_what_ls_shows_and_prune_removes() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let tag = unique_name("turma");
    let (marked, other) = (unique_name("marcado"), unique_name("outro"));
    let label = format!("turma={tag}");
    d.docker(&["volume", "create", "--label", &label, &marked])
        .assert_ok();
    lab.casulo(&["volume", "create", "--label", &label, &other])
        .assert_ok();
    let out = d.docker(&[
        "volume",
        "inspect",
        "--format",
        "{{.Labels.turma}}",
        &marked,
    ]);
    assert_eq!(out.stdout.trim(), tag, "{out}");
    let by_label = format!("label={label}");
    let theirs = d.docker(&["volume", "ls", "-q", "--filter", &by_label]);
    let ours = lab.casulo(&["volume", "ls", "-q", "--filter", &by_label]);
    let mut both = [marked.clone(), other.clone()];
    both.sort();
    assert_eq!(theirs.stdout.lines().collect::<Vec<_>>(), both, "{theirs}");
    assert_eq!(theirs.stdout, ours.stdout);
    let name_filter = format!("name={marked}");
    let out = d.docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &by_label,
        "--filter",
        &name_filter,
    ]);
    assert_eq!(out.stdout.trim(), marked, "{out}");
    // Only `other` goes: `marked` is used by a container.
    let user = unique_name("usa");
    let mount = format!("{marked}:/d");
    d.docker(&["create", "--name", &user, "-v", &mount, "busybox", "true"])
        .assert_ok();
    let out = d.docker(&["volume", "prune", "-f", "--all", "--filter", &by_label]);
    out.assert_ok();
    let left = lab.casulo(&["volume", "ls", "-q", "--filter", &by_label]);
    assert_eq!(left.stdout.trim(), marked, "{out}\n{left}");
    // A label that picks nothing removes nothing, even with --all.
    d.docker(&["rm", &user]).assert_ok();
    let none = format!("label=turma={tag}-nenhuma");
    d.docker(&["volume", "prune", "-f", "--all", "--filter", &none])
        .assert_ok();
    assert_eq!(
        lab.casulo(&["volume", "ls", "-q", "--filter", &by_label])
            .stdout
            .trim(),
        marked
    );
    let out = d.docker(&["volume", "ls", "--filter", "driver=local"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("driver=local"), "{out}");
    let out = lab.casulo(&["volume", "create", "--label", "=x"]);
    assert_eq!(out.code, 2, "{out}");
    lab.casulo(&["volume", "prune", "--all", "--filter", &by_label])
        .assert_ok();
    assert!(lab
        .casulo(&["volume", "ls", "-q", "--filter", &by_label])
        .stdout
        .is_empty());
}

/// A container started through the daemon runs under its own supervisor:
/// it outlives the daemon (stopped with SIGTERM, exit 0, socket removed),
/// and a new daemon finds it.
#[test]
fn containers_outlive_the_daemon() {
    let lab = Lab::shared();
    let mut d = Daemon::start(lab);
    let name = unique_name("sobrevive");
    let _removed = lab.remove_on_drop(&[&name]);
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

// ---- The interactive half: stdin, terminals, resize, stats, prune ----

/// `docker ARGS…` with `input` piped into its stdin.
fn docker_with_input(d: &Daemon, args: &[&str], input: &str) -> Output {
    let mut child = d
        .docker_command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    Output {
        command: format!("docker {args:?} < {:?}", "entrada"),
        code: out.status.code().unwrap_or(-1),
        signal: None,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The docker CLI on a pty of its own (the user's terminal window).
fn docker_screen(d: &Daemon, args: &[&str], rows: u16, cols: u16) -> Screen {
    Screen::spawn(d.docker_command(args), rows, cols)
}

/// The host pid of a container's init (as `casulo inspect` says).
fn init_pid(lab: &Lab, name: &str) -> u32 {
    let info = lab.casulo(&["inspect", name]).json();
    info[0]["State"]["Pid"].as_u64().expect("pid") as u32
}

/// `docker run -it --rm busybox sh` on a terminal: the prompt, what is
/// typed and its answer (UTF-8 too), the window's size and its change,
/// Ctrl-C killing the shell's foreground job and not the shell, `exit 3`
/// as docker's code, and nothing left.
#[test]
fn docker_run_it_drives_a_shell_on_a_terminal() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("it");
    let _removed = lab.remove_on_drop(&[&name]);
    let mut term = docker_screen(
        &d,
        &["run", "-it", "--rm", "--name", &name, "busybox", "sh"],
        30,
        100,
    );
    term.expect("/ # ");
    assert!(
        term.shell("echo olá").starts_with("olá\r\n"),
        "{}",
        term.screen
    );
    assert_eq!(term.shell("tty"), "/dev/pts/0\r\n/ # ");
    term.expect_size(30, 100);
    // The docker CLI watches SIGWINCH only after its own first resizes,
    // sent once `start` has answered; a window change before that is lost
    // by the CLI (Go ignores SIGWINCH until asked for it), and on a loaded
    // machine that moment came even after the shell had answered three
    // commands. So: wait for those resizes, change the window, and if the
    // CLI never asks the daemon for it, change it again (as a user would).
    // The resizes the daemon answered so far.
    let resizes = || d.log().matches("/resize → 200").count();
    let began = Instant::now();
    while resizes() == 0 {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "o docker não mandou o tamanho inicial: {}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // It sends two at first (one a row and a column bigger, then the
    // real size): settled once no new one came for 300 ms.
    let mut initial = resizes();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = resizes();
        if now == initial {
            break;
        }
        initial = now;
    }
    // Done when the shell sees the new size: a late initial resize (seen
    // under load) also counts in the daemon's log, so the log alone does
    // not say the change got through.
    let mut tries = 0;
    let mut seen = Err(String::new());
    while seen.is_err() && tries < 5 {
        tries += 1;
        // A window of another size first, so each try is a change.
        term.resize(40 + tries, 120);
        term.resize(40, 120);
        seen = term.size_becomes(40, 120, 20);
    }
    assert!(
        seen.is_ok() && resizes() > initial,
        "o tamanho novo não chegou ao shell em {tries} mudanças da janela ({seen:?}): {}",
        d.log()
    );
    term.send("sleep 100\r");
    term.expect("sleep 100\r\n");
    casulo_tests::wait_for_child(init_pid(lab, &name), "sleep");
    term.send("\x03");
    term.expect("/ # ");
    assert_eq!(
        casulo_ps(lab, &name, "{{.Status}}").as_deref(),
        Some("Up"),
        "Ctrl-C foi para o sleep, não para o shell"
    );
    term.send("exit 3\r");
    assert_eq!(term.wait(), 3, "{}", term.screen);
    let began = Instant::now();
    while casulo_ps(lab, &name, "{{.Status}}").is_some() {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "--rm não removeu"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let trace = d.log();
    assert!(trace.contains("/resize → 200"), "{trace}");
    // `-t` alone, a command that ends at once: its output still arrives
    // (the hub keeps it for the attach that came first, or the log has it).
    for _ in 0..5 {
        let out = d.docker(&["run", "-t", "--rm", "busybox", "echo", "oi"]);
        out.assert_ok();
        assert_eq!(out.stdout, "oi\r\n");
    }
}

/// `docker run -i` with a pipe: the command reads it to its end (docker's
/// `StdinOnce` closes the container's stdin when the client's input ends),
/// and its code is docker's.
#[test]
fn docker_run_i_reads_piped_stdin() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("cat");
    let out = docker_with_input(
        &d,
        &["run", "-i", "--rm", "--name", &name, "busybox", "cat"],
        "olá\nmundo\n",
    );
    out.assert_ok();
    assert_eq!(out.stdout, "olá\nmundo\n");
    let big: String = (0..5000).map(|i| format!("linha {i}\n")).collect();
    let out = docker_with_input(
        &d,
        &["run", "-i", "--rm", "busybox", "sh", "-c", "wc -l; exit 4"],
        &big,
    );
    out.assert_code(4);
    assert_eq!(out.stdout.trim(), "5000");
    assert_eq!(casulo_ps(lab, &name, "{{.Status}}"), None);
    // Without a terminal, Ctrl-P Ctrl-Q are bytes like any other (as
    // dockerd; only a terminal's keys are watched): a megabyte with them
    // in it arrives whole.
    let bytes: String = (0..1024 * 1024)
        .map(|i| ['\x10', '\x11', 'a', '\n'][i % 4])
        .collect();
    let out = docker_with_input(&d, &["run", "-i", "--rm", "busybox", "wc", "-c"], &bytes);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), (1024 * 1024).to_string());
}

/// `docker attach` to a `-dit` container: the keys reach its shell,
/// Ctrl-P Ctrl-Q leaves it running; a client killed mid-attach leaves the
/// container and the daemon fine, and the next attach works.
#[test]
fn docker_attach_types_into_a_dit_container_and_detaches() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("dit");
    let _removed = lab.remove_on_drop(&[&name]);
    d.docker(&["run", "-dit", "--name", &name, "busybox", "sh"])
        .assert_ok();
    let mut term = docker_screen(&d, &["attach", &name], 24, 80);
    // Nothing is printed on attach: the shell's answer is the sign.
    term.send("echo $((2 + 3))\r");
    term.expect("5\r\n/ # ");
    // docker's CLI sees its detach keys itself, says so and exits 1 (as
    // with dockerd); the daemon watches them too, for other clients.
    term.send("\x10\x11");
    assert_eq!(term.wait(), 1, "{}", term.screen);
    assert!(
        term.screen.contains("read escape sequence"),
        "{}",
        term.screen
    );
    assert_eq!(casulo_ps(lab, &name, "{{.Status}}").as_deref(), Some("Up"));

    // A client that dies mid-attach.
    let mut lost = docker_screen(&d, &["attach", &name], 24, 80);
    lost.send("echo $((3 + 4))\r");
    lost.expect("7\r\n/ # ");
    casulo_tests::send_signal(lost.child.id(), libc::SIGKILL);
    let _ = lost.child.wait();
    drop(lost);
    let (status, body) = d.http("GET", "/_ping", b"");
    assert_eq!((status, body.as_str()), (200, "OK"));
    assert_eq!(casulo_ps(lab, &name, "{{.Status}}").as_deref(), Some("Up"));
    let mut again = docker_screen(&d, &["attach", &name], 24, 80);
    again.send("echo $((4 + 5))\r");
    again.expect("9\r\n/ # ");
    again.send("exit 6\r");
    assert_eq!(again.wait(), 6, "{}", again.screen);
    assert_eq!(
        casulo_ps(lab, &name, "{{.Status}}").as_deref(),
        Some("Exited (6)")
    );
    // The container's trace tells who came and how each left: the daemon
    // introduced itself to the supervisor's hub as `docker attach`.
    let info = lab.casulo(&["inspect", &name]).json();
    let trace = info[0]["Casulo"]["Trace"].as_str().unwrap().to_string();
    let events = casulo_trace::read_trace_file(&trace).unwrap().events;
    let mut reasons = Vec::new();
    let mut attaches = 0;
    for e in &events {
        match &e.body {
            casulo_trace::EventBody::TerminalAttach { client, .. } => {
                assert_eq!(client, "docker attach");
                attaches += 1;
            }
            casulo_trace::EventBody::TerminalDetach {
                client,
                reason,
                attached,
            } => {
                assert_eq!(client, "docker attach");
                reasons.push((format!("{reason:?}"), *attached));
            }
            _ => {}
        }
    }
    assert_eq!(attaches, 3, "{reasons:?}");
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    // docker's CLI may close before the daemon sees the keys: keys or gone.
    assert!(
        ["Keys", "Gone"].contains(&reasons[0].0.as_str()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&("Gone".into(), 0)),
        "o cliente morto: {reasons:?}"
    );
    assert_eq!(reasons[2], ("Ended".into(), 0), "{reasons:?}");
    d.docker(&["rm", &name]).assert_ok();
}

/// `docker exec -it web sh` on a terminal (a pty of its own in the
/// container, the window followed) and `docker exec -i web cat` with a pipe.
#[test]
fn docker_exec_it_and_exec_i() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("web");
    let _removed = lab.remove_on_drop(&[&name]);
    d.docker(&["run", "-d", "--name", &name, "busybox", "sleep", "100"])
        .assert_ok();
    let mut term = docker_screen(&d, &["exec", "-it", &name, "sh"], 25, 90);
    term.expect("/ # ");
    assert!(
        term.shell("echo olá").starts_with("olá\r\n"),
        "{}",
        term.screen
    );
    assert!(
        term.shell("tty").starts_with("/dev/pts/"),
        "{}",
        term.screen
    );
    term.expect_size(25, 90);
    term.resize(33, 101);
    term.expect_size(33, 101);
    term.send("sleep 101\r");
    term.expect("sleep 101\r\n");
    // Ctrl-C once the sleep is the terminal's foreground (before, the
    // shell would take it).
    let began = Instant::now();
    while !lab.casulo(&["top", &name]).stdout.contains("sleep 101") {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "o sleep não começou"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    term.send("\x03");
    term.expect("/ # ");
    term.send("exit 5\r");
    assert_eq!(term.wait(), 5, "{}", term.screen);

    // `-t` alone: the container's terminal's `\r\n`, once (the daemon's
    // own pty is raw).
    let out = d.docker(&["exec", "-t", &name, "sh", "-c", "echo oi; exit 6"]);
    out.assert_code(6);
    assert_eq!(out.stdout, "oi\r\n");
    let out = docker_with_input(&d, &["exec", "-i", &name, "cat"], "pelo cano\n");
    out.assert_ok();
    assert_eq!(out.stdout, "pelo cano\n");
    let out = docker_with_input(
        &d,
        &["exec", "-i", &name, "sh", "-c", "wc -c; exit 2"],
        "12345",
    );
    out.assert_code(2);
    assert_eq!(out.stdout.trim(), "5");
    d.docker(&["rm", "-f", &name]).assert_ok();
}

/// docker's `BytesSize` (what `docker stats` prints: `548KiB`, `64MiB`).
fn docker_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut size = n as f64;
    let mut i = 0;
    while size >= 1024.0 && i + 1 < units.len() {
        size /= 1024.0;
        i += 1;
    }
    // Go's %.4g: 4 significant digits, no trailing zeros.
    let digits = if size >= 1000.0 {
        0
    } else if size >= 100.0 {
        1
    } else if size >= 10.0 {
        2
    } else {
        3
    };
    let text = format!("{size:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{}", units[i])
}

/// `docker stats --no-stream` shows the same limit and processes as
/// `casulo stats --no-stream`, and a memory read from the same cgroup
/// file; the API's `stream=false&one-shot=true` gives docker's JSON.
#[test]
fn docker_stats_agrees_with_casulo_stats() {
    assert_eq!(docker_bytes(561152), "548KiB");
    assert_eq!(docker_bytes(64 << 20), "64MiB");
    assert_eq!(docker_bytes(25275973632), "23.54GiB");
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("medido");
    let _removed = lab.remove_on_drop(&[&name]);
    d.docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "-m",
        "64m",
        "--pids-limit",
        "50",
        "busybox",
        "sh",
        "-c",
        "sleep 100 & sleep 100 & wait",
    ])
    .assert_ok();
    // A container just started still faults its pages in: let it settle,
    // then casulo, docker, casulo — docker's reading is between the two.
    std::thread::sleep(Duration::from_secs(2));
    let casulo_memory = || {
        let out = lab.casulo(&["stats", "--no-stream", "--format", "json", &name]);
        out.assert_ok();
        out.json()["memory_bytes"].as_u64().unwrap() as f64
    };
    let before = casulo_memory();
    let out = d.docker(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}|{{.MemUsage}}|{{.PIDs}}",
        &name,
    ]);
    out.assert_ok();
    let ours = lab.casulo(&["stats", "--no-stream", "--format", "json", &name]);
    ours.assert_ok();
    let ours = ours.json();
    let fields: Vec<&str> = out.stdout.trim().split('|').collect();
    assert_eq!(fields[0], name);
    let (usage, limit) = fields[1].split_once(" / ").unwrap();
    assert_eq!(limit, "64MiB");
    assert_eq!(
        limit,
        docker_bytes(ours["memory_limit_bytes"].as_u64().unwrap())
    );
    assert_eq!(fields[2], "3");
    assert_eq!(fields[2], ours["pids"].to_string());
    // The same cgroup file: between the two readings of casulo, or a few
    // pages apart (docker's text has 4 digits).
    let after = ours["memory_bytes"].as_u64().unwrap() as f64;
    let (low, high) = (before.min(after), before.max(after));
    let (number, unit) = usage.split_at(usage.find(|c: char| c.is_ascii_alphabetic()).unwrap());
    let scale = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        other => panic!("unidade {other}"),
    };
    let theirs = number.parse::<f64>().unwrap() * scale;
    let slack = 64.0 * 1024.0 + high * 0.02;
    assert!(
        theirs >= low - slack && theirs <= high + slack,
        "docker {usage} × casulo {before} e {after}"
    );

    let (status, body) = d.http(
        "GET",
        &format!("/v1.43/containers/{name}/stats?stream=false&one-shot=true"),
        b"",
    );
    assert_eq!(status, 200, "{body}");
    // One object (in a chunk of the chunked body this helper reads raw).
    let json = body.lines().find(|l| l.starts_with('{')).expect(&body);
    let v: Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["name"], format!("/{name}"));
    assert_eq!(v["memory_stats"]["limit"], 64 << 20);
    assert_eq!(v["pids_stats"]["current"], 3);
    assert_eq!(v["pids_stats"]["limit"], 50);
    assert!(v["cpu_stats"]["cpu_usage"]["total_usage"].as_u64().unwrap() > 0);
    assert!(v["cpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0);
    assert!(v.get("networks").is_none(), "sem rede, sem networks: {v}");
    let (status, body) = d.http(
        "GET",
        &format!("/v1.43/containers/{name}/stats?stream=true&one-shot=true"),
        b"",
    );
    assert_eq!(status, 400, "{body}");
    d.docker(&["rm", "-f", &name]).assert_ok();

    // On the bridge: its eth0, counted at the host's end of the veth
    // (turned around: what the host's end sent, the container received).
    let net = unique_name("rede");
    let _removed_too = lab.remove_on_drop(&[&net]);
    let id = d.docker(&[
        "run",
        "-d",
        "--name",
        &net,
        "--network",
        "bridge",
        "busybox",
        "sleep",
        "100",
    ]);
    id.assert_ok();
    let id = id.stdout.trim().to_string();
    let (status, body) = d.http(
        "GET",
        &format!("/v1.43/containers/{net}/stats?stream=false&one-shot=true"),
        b"",
    );
    assert_eq!(status, 200, "{body}");
    let json = body.lines().find(|l| l.starts_with('{')).expect(&body);
    let v: Value = serde_json::from_str(json).unwrap();
    let veth = format!("/sys/class/net/veth{}/statistics", &id[..8]);
    let host_tx: u64 = std::fs::read_to_string(format!("{veth}/tx_packets"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let rx = v["networks"]["eth0"]["rx_packets"].as_u64().expect("eth0");
    assert!(rx <= host_tx, "{rx} > {host_tx}: {v}");
    let out = d.docker(&["stats", "--no-stream", "--format", "{{.NetIO}}", &net]);
    out.assert_ok();
    assert!(out.stdout.contains(" / "), "{out}");
    d.docker(&["rm", "-f", &net]).assert_ok();
}

/// `docker container prune -f` removes the stopped containers and
/// `docker volume prune -f` the unused anonymous volumes (`-a`: every
/// unused one), as `casulo ps -a` and `casulo volume ls` then show; a
/// filter casulo cannot apply removes nothing. On a state dir of its own:
/// a prune takes whatever is stopped.
#[test]
fn docker_prune_removes_the_stopped_and_the_unused() {
    let lab = Lab::shared();
    let (d, root) = Daemon::private(lab);
    let _removed = RemoveOnDrop::in_root(&root, &["vivo"]);
    let casulo = |args: &[&str]| {
        let mut cmd = Command::new(casulo_tests::casulo_bin());
        cmd.arg("--root").arg(&root).args(args);
        Output::of(&mut cmd)
    };
    d.docker(&["run", "--name", "parado", "busybox", "true"])
        .assert_ok();
    casulo(&[
        "run", "--name", "anonimo", "-v", "/dados", "busybox", "true",
    ])
    .assert_ok();
    d.docker(&["run", "-d", "--name", "vivo", "busybox", "sleep", "100"])
        .assert_ok();
    d.docker(&["volume", "create", "guardado"]).assert_ok();
    let volumes = || {
        let out = casulo(&["volume", "ls", "-q"]);
        out.assert_ok();
        let mut v: Vec<String> = out.stdout.lines().map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(volumes().len(), 2, "{:?}", volumes());

    let out = d.docker(&["container", "prune", "-f", "--filter", "exited=0"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("\"exited\""), "{out}");
    let out = d.docker(&["container", "prune", "-f"]);
    out.assert_ok();
    assert_eq!(
        out.stdout.lines().filter(|l| l.len() == 64).count(),
        2,
        "{out}"
    );
    let ps = casulo(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(ps.stdout.trim(), "vivo", "{ps}");

    let out = d.docker(&["volume", "prune", "-f"]);
    out.assert_ok();
    assert_eq!(volumes(), ["guardado"]);
    // A label no volume has removes nothing; a filter casulo cannot apply
    // is refused by name, nothing removed.
    d.docker(&["volume", "prune", "-af", "--filter", "label=x"])
        .assert_ok();
    assert_eq!(volumes(), ["guardado"]);
    let out = d.docker(&["volume", "prune", "-f", "--filter", "until=10m"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("\"until\""), "{out}");
    assert_eq!(volumes(), ["guardado"]);
    let out = d.docker(&["volume", "prune", "-af"]);
    out.assert_ok();
    assert!(out.stdout.contains("guardado"), "{out}");
    assert!(volumes().is_empty());
    d.docker(&["rm", "-f", "vivo"]).assert_ok();
}

/// A client of the raw API (not the docker CLI, which watches its own
/// keys): the daemon watches the `detachKeys` of the attach and closes the
/// connection on them; the container goes on.
#[test]
fn the_daemon_sees_the_detach_keys_of_a_raw_attach() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("cru");
    let _removed = lab.remove_on_drop(&[&name]);
    d.docker(&["run", "-dit", "--name", &name, "busybox", "sh"])
        .assert_ok();
    let mut s = UnixStream::connect(&d.socket).unwrap();
    let head = format!(
        "POST /v1.43/containers/{name}/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=ctrl-x HTTP/1.1\r\n\
         Host: casulo\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut seen = Vec::new();
    let read_until = |s: &mut UnixStream, seen: &mut Vec<u8>, needle: &str| {
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(seen).contains(needle) {
            let n = s.read(&mut buf).expect("a resposta chega em 20 s");
            assert!(n > 0, "a conexão fechou antes de {needle:?}: {seen:?}");
            seen.extend_from_slice(&buf[..n]);
        }
    };
    read_until(&mut s, &mut seen, "\r\n\r\n");
    assert!(
        String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 101"),
        "{seen:?}"
    );
    s.write_all(b"echo $((6 * 7))\r").unwrap();
    read_until(&mut s, &mut seen, "42\r\n");
    // Ctrl-X: the daemon ends the attach (EOF), the shell goes on.
    s.write_all(b"\x18").unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("o daemon fecha a conexão");
    assert_eq!(casulo_ps(lab, &name, "{{.Status}}").as_deref(), Some("Up"));
    let out = d.docker(&["exec", &name, "echo", "vivo"]);
    assert_eq!(out.stdout, "vivo\n", "{out}");
    d.docker(&["rm", "-f", &name]).assert_ok();
}

/// `docker create -it` then `docker start -ai`, twice: the attach comes
/// before each start (the second on a stopped container), sees the
/// prompt, and the shell's code is docker's.
#[test]
fn docker_start_ai_attaches_before_each_start() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("criado");
    let _removed = lab.remove_on_drop(&[&name]);
    d.docker(&["create", "-it", "--name", &name, "busybox", "sh"])
        .assert_ok();
    for code in [4, 5] {
        let mut term = docker_screen(&d, &["start", "-ai", &name], 24, 80);
        term.expect("/ # ");
        assert_eq!(term.shell("echo $((1 + 1))"), "2\r\n/ # ");
        term.send(&format!("exit {code}\r"));
        assert_eq!(term.wait(), code, "{}", term.screen);
    }
    assert_eq!(
        casulo_ps(lab, &name, "{{.Status}}").as_deref(),
        Some("Exited (5)")
    );
    d.docker(&["rm", &name]).assert_ok();
}

/// `GET /` on 127.0.0.1:`port`, retried while the server starts: the
/// whole answer.
fn http_get(port: u16, what: &str) -> String {
    use std::net::TcpStream;
    let began = Instant::now();
    loop {
        let answer = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            Ok(text)
        })();
        match answer {
            Ok(text) if text.contains("\r\n\r\n") => return text,
            other => assert!(
                began.elapsed() < Duration::from_secs(20),
                "127.0.0.1:{port} não respondeu ({what}): {other:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `docker run -d -p` serves a page on the host's port, `docker logs -f`
/// follows a container to its end, and a daemon killed with SIGKILL (no
/// clean-up, its socket left behind) loses nothing: the next one finds
/// the containers, still serving.
#[test]
fn docker_run_p_serves_logs_f_follows_and_a_killed_daemon_loses_nothing() {
    let lab = Lab::shared();
    let mut d = Daemon::start(lab);
    let web = unique_name("web");
    let _removed = lab.remove_on_drop(&[&web]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let publish = format!("127.0.0.1:{port}:80");
    let script = "mkdir -p /www && echo olá do daemon > /www/index.html \
                  && exec httpd -f -p 80 -h /www";
    d.docker(&[
        "run", "-d", "--name", &web, "-p", &publish, "busybox", "sh", "-c", script,
    ])
    .assert_ok();
    let page = http_get(port, &d.log());
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(page.ends_with("olá do daemon\n"), "{page}");

    let talker = unique_name("fala");
    let _removed_too = lab.remove_on_drop(&[&talker]);
    let lines = "for i in 1 2 3; do echo linha $i; sleep 0.3; done";
    d.docker(&["run", "-d", "--name", &talker, "busybox", "sh", "-c", lines])
        .assert_ok();
    let out = d.docker(&["logs", "-f", &talker]);
    out.assert_ok();
    assert_eq!(out.stdout, "linha 1\nlinha 2\nlinha 3\n", "{out}");

    let socket = d.socket.clone();
    d.kill();
    assert!(
        socket.exists(),
        "SIGKILL não deixa o daemon apagar o socket"
    );
    let again = Daemon::on(lab, socket);
    assert_eq!(
        docker_ps(&again, &web, "{{.Status}}").as_deref(),
        Some("Up"),
        "{}",
        again.log()
    );
    assert!(http_get(port, &again.log()).ends_with("olá do daemon\n"));
    again.docker(&["rm", "-f", &web, &talker]).assert_ok();
    assert_eq!(casulo_ps(lab, &web, "{{.Status}}"), None);
    assert_eq!(casulo_ps(lab, &talker, "{{.Status}}"), None);
}

/// `--tcp 127.0.0.1:PORT` is served only when asked for: the docker CLI
/// over TCP gets the answers it gets over the socket, and a daemon started
/// without it says nothing of TCP.
#[test]
fn tcp_is_served_only_when_asked_for() {
    let lab = Lab::shared();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let d = Daemon::start_with(lab, &["--tcp", &addr]);
    let format = [
        "version",
        "--format",
        "{{.Server.Version}} {{.Server.APIVersion}}",
    ];
    let over_socket = d.docker(&format);
    over_socket.assert_ok();
    let over_tcp = Output::of(
        d.docker_command(&format)
            .env("DOCKER_HOST", format!("tcp://{addr}")),
    );
    over_tcp.assert_ok();
    assert!(!over_tcp.stdout.trim().is_empty(), "{over_tcp}");
    assert_eq!(over_tcp.stdout, over_socket.stdout);
    assert!(
        d.log()
            .contains(&format!("escutando também em tcp://{addr}")),
        "{}",
        d.log()
    );
    let plain = Daemon::start(lab);
    plain.docker(&["version"]).assert_ok();
    assert!(!plain.log().contains("tcp://"), "{}", plain.log());
}
