//! Rootless casulo on the real kernel: an ordinary user, created by the
//! test (`useradd`, removed at the end even on failure), runs casulo with a
//! clean environment (`runuser`, its own `HOME` and `XDG_RUNTIME_DIR`):
//! with sub-ids from `/etc/subuid`/`/etc/subgid` and without them (a
//! single-id map). The container's root is uid 0 inside and the user on
//! the host; a build works and its image runs; `run -d`, `exec`, `stop` and
//! `rm` work across invocations; what rootless cannot do is refused up front
//! with its reason and nothing made; no file in the user's state belongs to
//! the host's root, and nothing goes to `/var/lib/casulo` or `/run/casulo`.

use std::os::unix::fs::MetadataExt;

use casulo_tests::users::TestUser;

#[test]
fn with_sub_ids_the_users_casulo_runs_builds_and_execs() {
    let user = TestUser::new("rl", true);
    let (start, count) = user.subids.unwrap();
    let info = user.casulo(&["info"]);
    info.assert_ok();
    assert!(info.stdout.contains("rootless"), "{info}");
    assert!(info.stdout.contains(&format!("0→{}", user.uid)), "{info}");
    user.casulo(&["image", "bootstrap"]).assert_ok();

    let id = user.casulo(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "id; cat /proc/self/uid_map",
    ]);
    id.assert_ok();
    assert!(id.stdout.contains("uid=0(root) gid=0(root)"), "{id}");
    let map: Vec<Vec<&str>> = id
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let (uid, start_s, count_s) = (user.uid.to_string(), start.to_string(), count.to_string());
    assert_eq!(
        map,
        vec![
            vec!["0", uid.as_str(), "1"],
            vec!["1", start_s.as_str(), count_s.as_str()]
        ],
        "{id}"
    );
    assert!(
        id.stderr.contains("sem cgroup"),
        "diz uma vez que roda sem limites: {id}"
    );
    // The trace: the header says rootless with the maps, a namespace.user
    // per map, and no cgroup was made.
    let path = casulo_tests::trace_path_from(&id.stderr).expect("trace path");
    let trace = casulo_trace::read_trace(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let h = &trace.header;
    assert!(h.rootless, "{h:?}");
    assert_eq!(
        (
            h.uid_map[0].outside,
            h.uid_map[1].outside,
            h.uid_map[1].count
        ),
        (user.uid, start, count),
        "{h:?}"
    );
    let maps: Vec<&str> = trace
        .events
        .iter()
        .filter_map(|e| match &e.body {
            casulo_trace::EventBody::NamespaceUser { map, .. } => Some(map.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(maps, ["uid", "gid"]);
    assert!(!trace
        .events
        .iter()
        .any(|e| e.body.kind().starts_with("cgroup.")));

    // A file written to a bind-mounted dir is the user's on the host; one
    // given to the container's uid 1000 is the user's first sub-id + 999.
    let data = user.home.join("dados");
    std::fs::create_dir(&data).unwrap();
    std::os::unix::fs::chown(&data, Some(user.uid), Some(user.uid)).unwrap();
    let vol = format!("{}:/dados", data.display());
    user.casulo(&[
        "run",
        "--rm",
        "-v",
        &vol,
        "busybox",
        "sh",
        "-c",
        "echo oi > /dados/f; echo x > /dados/g; chown 1000:1000 /dados/g",
    ])
    .assert_ok();
    assert_eq!(std::fs::metadata(data.join("f")).unwrap().uid(), user.uid);
    assert_eq!(
        std::fs::metadata(data.join("g")).unwrap().uid(),
        start + 999
    );

    // A build (RUN that deletes a directory of a lower layer, COPY), and its image runs.
    let ctx = user.home.join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nRUN echo construido > /ola.txt && rm -rf /home && mkdir /home\nCOPY arq.txt /arq.txt\nCMD cat /ola.txt /arq.txt\n").unwrap();
    std::fs::write(ctx.join("arq.txt"), "copiado\n").unwrap();
    for f in [&ctx, &ctx.join("Dockerfile"), &ctx.join("arq.txt")] {
        std::os::unix::fs::chown(f, Some(user.uid), Some(user.uid)).unwrap();
    }
    user.casulo(&["build", "-t", "meu", "ctx"]).assert_ok();
    let built = user.casulo(&["run", "--rm", "meu"]);
    built.assert_ok();
    assert_eq!(built.stdout, "construido\ncopiado\n", "{built}");
    let home = user.casulo(&["run", "--rm", "meu", "ls", "-A", "/home"]);
    home.assert_ok();
    assert_eq!(
        home.stdout, "",
        "o diretório opaco do RUN esconde /home/aluno: {home}"
    );

    // Detached: exec joins it from a later invocation, stop and rm end it.
    user.casulo(&["run", "-d", "--name", "fundo", "busybox", "sleep", "300"])
        .assert_ok();
    let ex = user.casulo(&["exec", "fundo", "sh", "-c", "id -u; cat /proc/1/cmdline"]);
    ex.assert_ok();
    assert_eq!(ex.stdout, "0\nsleep\u{0}300\u{0}", "{ex}");
    user.casulo(&["stop", "-t", "1", "fundo"]).assert_ok();
    user.casulo(&["rm", "fundo"]).assert_ok();
    let ps = user.casulo(&["ps", "-a"]);
    assert!(!ps.stdout.contains("fundo"), "{ps}");

    // -p through pasta (no bridge): answered from the host, pasta gone after stop.
    let addr = casulo_tests::registry::free_addr().unwrap();
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let publish = format!("127.0.0.1:{port}:80");
    user.casulo(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        "echo ola-do-pasta > /www; cd /; httpd -f -p 80 -h /",
    ])
    .assert_ok();
    // `run -d` returns once the command runs, not once httpd listens
    // (pasta, bound before the command started, may answer first with a
    // closed connection): asked again for a while.
    let mut got = String::new();
    for _ in 0..50 {
        got = http_get(port, "/www");
        if got.ends_with("ola-do-pasta\n") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(got.ends_with("ola-do-pasta\n"), "{got}");
    let ip = user.casulo(&["exec", "web", "ip", "-4", "addr", "show", "eth0"]);
    assert!(
        ip.stdout.contains("inet "),
        "o pasta deu um endereço à eth0: {ip}"
    );
    user.casulo(&["stop", "-t", "1", "web"]).assert_ok();
    // The supervisor stops pasta once it saw the container end, just
    // after `stop` returns: give it a moment.
    assert_pastas_gone(&user);
    user.casulo(&["rm", "web"]).assert_ok();

    user.assert_clean();
}

/// `GET path` on 127.0.0.1:port; the whole answer.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    if write!(s, "GET {path} HTTP/1.0\r\n\r\n").is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// Waits (up to 10 s) until none of the user's pastas runs any more, and
/// fails if one still does.
#[track_caller]
fn assert_pastas_gone(user: &TestUser) {
    let mut pastas = pasta_pids(user);
    for _ in 0..100 {
        if pastas.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        pastas = pasta_pids(user);
    }
    assert!(pastas.is_empty(), "o pasta ficou rodando: {pastas:?}");
}

/// The user's `pasta` processes still alive (not zombies).
fn pasta_pids(user: &TestUser) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            // A zombie is dead (this machine's pid 1 may reap it late).
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let zombie = status
                .lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'));
            (comm.starts_with("pasta") || comm.starts_with("passt")) && !zombie
        })
        .filter(|pid| std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| user.owns(m.uid())))
        .collect()
}

#[test]
fn without_sub_ids_the_map_has_a_single_id() {
    let user = TestUser::new("rl", false);
    let boot = user.casulo(&["image", "bootstrap"]);
    boot.assert_ok();
    assert!(
        boot.stderr.contains("um só id"),
        "avisa do mapa de um id: {boot}"
    );
    let out = user.casulo(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; stat -c %u /home/aluno",
    ]);
    out.assert_ok();
    let lines: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let uid = user.uid.to_string();
    // /home/aluno is 1000's in the image: with one id it is extracted as 0.
    assert_eq!(
        lines,
        vec![vec!["0"], vec!["0", uid.as_str(), "1"], vec!["0"]],
        "{out}"
    );
    // The trace says it where the layer was unpacked.
    let path = casulo_tests::trace_path_from(&out.stderr).expect("trace path");
    let trace = std::fs::read_to_string(path).unwrap();
    assert!(
        trace.contains("mapa de um só id:") && trace.contains("ficaram do uid 0"),
        "layer.unpack diz quantos donos viraram 0"
    );
    user.assert_clean();
}

#[test]
fn what_rootless_cannot_do_is_refused_up_front() {
    let user = TestUser::new("rl", true);
    let cases: [(&[&str], &str); 7] = [
        (
            &["run", "--rm", "--memory", "64m", "busybox", "true"],
            "--memory precisa de um cgroup",
        ),
        (
            &["run", "--rm", "--pids-limit", "10", "busybox", "true"],
            "--pids-limit precisa de um cgroup",
        ),
        (
            &["run", "--rm", "--network", "bridge", "busybox", "true"],
            "--network bridge precisa de uma bridge",
        ),
        (
            &["run", "--rm", "--privileged", "busybox", "true"],
            "--privileged não funciona sem root",
        ),
        (&["network", "create", "rede"], "não funciona sem root"),
        (&["daemon"], "casulo daemon não funciona sem root"),
        (
            &["top", "qualquer"],
            "este comando (pause, unpause, stats, top) não funciona sem root",
        ),
    ];
    for (args, message) in cases {
        let out = user.casulo(args);
        out.assert_code(125);
        assert!(out.stderr.contains(message), "esperava {message:?}:\n{out}");
        assert!(!user.state().exists(), "nada criado por {args:?}: {out}");
    }
    user.assert_clean();
}

/// Without `-p` and without `--network none` the container still has a
/// way out, through pasta (podman's default): it reaches a server of the
/// host (listening here, on every address) at its default gateway, which
/// pasta maps to the host. `--network none` keeps it with `lo` only.
/// (busybox's nc does not end when the server closes here: `timeout`.)
#[test]
fn without_p_the_network_goes_out_through_pasta() {
    use std::io::Write;
    let user = TestUser::new("rl", true);
    user.casulo(&["image", "bootstrap"]).assert_ok();
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, from) = listener.accept().unwrap();
        writeln!(conn, "ola-do-host").unwrap();
        from
    });
    let script = format!(
        "gw=$(ip route | sed -n 's/^default via \\([0-9.]*\\).*/\\1/p'); echo gw=$gw; \
         timeout 10 nc $gw {port} </dev/null; true"
    );
    let out = user.casulo(&["run", "--rm", "busybox", "sh", "-c", &script]);
    out.assert_ok();
    assert!(out.stdout.contains("ola-do-host"), "{out}");
    let from = server.join().unwrap();
    println!("o servidor do host atendeu {from}: {}", out.stdout.trim());
    let path = casulo_tests::trace_path_from(&out.stderr).expect("trace path");
    let trace = std::fs::read_to_string(path).unwrap();
    assert!(
        trace.contains("\"kind\":\"net.pasta\""),
        "net.pasta no trace"
    );

    let none = user.casulo(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "ip",
        "-o",
        "link",
    ]);
    none.assert_ok();
    let links: Vec<&str> = none
        .stdout
        .lines()
        .filter_map(|l| l.split(':').nth(1).map(str::trim))
        .collect();
    assert_eq!(links, ["lo"], "{none}");
    user.assert_clean();
}

/// pasta is started while the init waits for its go: the shortest
/// command, run many times, always finds `eth0` with its address (it used
/// to start just after the `exec`, so a quick `ip addr` could miss it).
#[test]
fn a_short_command_always_sees_eth0() {
    let user = TestUser::new("rl", true);
    user.casulo(&["image", "bootstrap"]).assert_ok();
    let addr = casulo_tests::registry::free_addr().unwrap();
    let port = addr.rsplit(':').next().unwrap();
    let publish = format!("127.0.0.1:{port}:80");
    for i in 0..8 {
        let out = user.casulo(&["run", "--rm", "-p", &publish, "busybox", "ip", "-4", "addr"]);
        out.assert_ok();
        assert!(
            out.stdout.contains(": eth0:") && out.stdout.contains("inet "),
            "execução {i}: {out}"
        );
    }
    // Killed at the end of each run; gone a moment later (reaped by init).
    assert_pastas_gone(&user);
    user.assert_clean();
}
