//! Networking against the real kernel: `--network none` (only `lo`),
//! `--network bridge` (eth0 on casulo0, default route via 10.88.0.1),
//! containers reaching the host and each other, published ports (`-p`)
//! answering from the host, a busy port refused early, leases and veth
//! ends cleaned on every path (and by `casulo gc` after a SIGKILL), and the
//! order of the `net.*` events in the trace.
//!
//! Every address used is on this host: 127.0.0.1 and the bridge's
//! 10.88.0.0/16, which exists only here (casulo sets up no NAT).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use casulo_tests::{send_signal, unique_name, Lab, Output, PROBE_IMAGE};
use casulo_trace::EventBody;

const LEASES: &str = "/run/casulo/net/leases";

/// A TCP port of 127.0.0.1 nobody listens on right now (the kernel's pick).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The container id that `casulo run` printed
/// (`casulo: contêiner NOME (3f2a9c1d0b4e) da imagem …`): 12 digits.
fn short_id(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("casulo: contêiner "))
        .unwrap_or_else(|| panic!("sem a linha do contêiner em:\n{stderr}"));
    line.split('(').nth(1).unwrap()[..12].to_string()
}

/// The full id from a trace's header.
fn trace_id(trace: &Path) -> String {
    casulo_trace::reader::read_trace_file(trace)
        .unwrap()
        .header
        .container
        .id
}

/// Leases (`/run/casulo/net/leases/<ip>`) that name this container.
fn leases_of(id_prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(LEASES)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    std::fs::read_to_string(p).is_ok_and(|t| t.contains(&format!("id={id_prefix}")))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn veth_exists(id_prefix: &str) -> bool {
    Path::new("/sys/class/net")
        .join(format!("veth{}", &id_prefix[..8]))
        .exists()
}

/// After a run: no lease and no host veth end of that container.
#[track_caller]
fn assert_nothing_left(id_prefix: &str) {
    assert!(
        leases_of(id_prefix).is_empty(),
        "sobrou lease de {id_prefix}: {:?}",
        leases_of(id_prefix)
    );
    assert!(!veth_exists(id_prefix), "sobrou veth{}", &id_prefix[..8]);
}

/// The container's address, from the `net.addr` it recorded inside.
fn container_ip(trace: &Path) -> String {
    let trace = casulo_trace::reader::read_trace_file(trace).unwrap();
    trace
        .events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::NetAddr {
                address,
                inside: true,
                ..
            } => Some(address.split('/').next().unwrap().to_string()),
            _ => None,
        })
        .expect("net.addr de dentro do contêiner no trace")
}

/// Every port the trace bound (`net.port` ok) has its `net.port_close`
/// (ok, same protocol and address) after the container's `process.exit`
/// and before the host veth end's `net.link_delete` (when there is one);
/// and the port is really free: it binds again here. Returns how many.
#[track_caller]
fn assert_ports_closed_after_exit(trace: &Path) -> usize {
    let trace = casulo_trace::reader::read_trace_file(trace).unwrap();
    let ev = &trace.events;
    let exit = ev.iter().position(|e| e.body.kind() == "process.exit");
    let link_delete = ev.iter().position(|e| e.body.kind() == "net.link_delete");
    let mut closed = 0;
    for (i, e) in ev.iter().enumerate() {
        let EventBody::NetPort {
            protocol,
            host_ip,
            host_port,
            ..
        } = &e.body
        else {
            continue;
        };
        if !e.outcome.is_ok() {
            continue;
        }
        let close = ev
            .iter()
            .position(|c| {
                c.body
                    == EventBody::NetPortClose {
                        protocol: protocol.clone(),
                        host_ip: host_ip.clone(),
                        host_port: *host_port,
                    }
            })
            .unwrap_or_else(|| panic!("sem net.port_close de {host_ip}:{host_port}/{protocol}"));
        assert!(ev[close].outcome.is_ok(), "{:?}", ev[close]);
        assert!(close > i);
        assert!(
            ev[close]
                .op
                .ends_with(&format!("{host_ip}:{host_port}/{protocol}")),
            "{}",
            ev[close].op
        );
        if let Some(exit) = exit {
            assert!(close > exit, "net.port_close antes de process.exit");
        }
        if let Some(del) = link_delete {
            assert!(close < del, "net.port_close depois de net.link_delete");
        }
        match protocol.as_str() {
            "tcp" => drop(TcpListener::bind((host_ip.as_str(), *host_port)).expect("porta livre")),
            _ => drop(UdpSocket::bind((host_ip.as_str(), *host_port)).expect("porta livre")),
        }
        closed += 1;
    }
    closed
}

/// Ends a background `casulo run`: SIGTERM (forwarded to PID 1, which may
/// ignore it), then SIGTERM again (SIGKILL to the container); waits.
fn stop(mut child: Child) -> Output {
    let pid = child.id();
    send_signal(pid, 15);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut again = Instant::now() + Duration::from_millis(300);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > again {
            send_signal(pid, 15);
            again = deadline;
        }
        assert!(Instant::now() < deadline, "o casulo {pid} não terminou");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Output {
        command: format!("casulo (pid {pid})"),
        code: out.status.code().unwrap_or(-1),
        signal: None,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A container serving `text` over HTTP on its port 80 (busybox httpd).
fn web_server(lab: &Lab, name: &str, extra: &[&str], text: &str) -> Child {
    let script =
        format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www");
    let mut args = vec!["run", "--rm", "--name", name];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "sh", "-c", &script]);
    lab.spawn(&args)
}

/// `GET /` on `addr` through plain TCP, retried until the server answers
/// (it may still be starting): the body.
fn http_get(addr: &str) -> String {
    try_http_get(addr).unwrap_or_else(|e| panic!("{e}"))
}

/// [`http_get`] that gives up with an error instead of panicking (so the
/// test can still stop its container first).
fn try_http_get(addr: &str) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect(addr)?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            Ok(text)
        })();
        match answer {
            Ok(text) if text.contains("\r\n\r\n") => {
                return Ok(text.split_once("\r\n\r\n").unwrap().1.trim().to_string())
            }
            _ if Instant::now() > deadline => {
                return Err(format!("{addr} não respondeu: {answer:?}"))
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn network_none_is_the_default_and_has_only_lo() {
    let lab = Lab::shared();
    for extra in [&[][..], &["--network", "none"][..]] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["busybox", "cat", "/proc/net/dev"]);
        let out = lab.casulo(&args);
        out.assert_ok();
        let ifaces: Vec<&str> = out
            .stdout
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(str::trim)
            .collect();
        assert_eq!(ifaces, ["lo"], "{out}");
        let trace = out.trace_path().unwrap();
        let kinds = casulo_trace::reader::read_trace_file(&trace).unwrap();
        assert!(
            !kinds
                .events
                .iter()
                .any(|e| e.body.kind().starts_with("net.") && e.body.kind() != "net.link_up"),
            "nenhum evento de rede além do lo"
        );
    }
}

#[test]
fn bridge_gives_eth0_an_address_and_a_default_route() {
    let lab = Lab::shared();
    // `--net` is the short alias, as in docker.
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--net",
        "bridge",
        "busybox",
        "sh",
        "-c",
        "ip -4 addr show eth0; ip route; cat /proc/net/dev",
    ]);
    out.assert_ok();
    let inet = out
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("inet "))
        .unwrap_or_else(|| panic!("sem endereço IPv4 em eth0:\n{out}"));
    assert!(inet.starts_with("10.88.") && inet.contains("/16"), "{out}");
    assert!(
        out.stdout.contains("default via 10.88.0.1 dev eth0"),
        "{out}"
    );
    assert!(out.stdout.contains("eth0:") && out.stdout.contains("lo:"));
    assert_nothing_left(&short_id(&out.stderr));
}

#[test]
fn a_container_reaches_the_host_and_another_container() {
    let lab = Lab::shared();
    let name = unique_name("web");
    let server = web_server(
        lab,
        &name,
        &["--network", "bridge"],
        "ola-de-outro-conteiner",
    );
    let trace = lab.wait_for_exec(&name);
    let ip = container_ip(&trace);
    let id = trace_id(&trace);
    // The host is the bridge's address; the other container its own.
    let script = format!(
        "ping -c 1 -W 5 10.88.0.1 >/dev/null && echo host-ok; \
         for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://{ip}/ && break; sleep 0.3; done"
    );
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--network",
        "bridge",
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    let stopped = stop(server);
    out.assert_ok();
    assert!(out.stdout.contains("host-ok"), "{out}");
    assert!(out.stdout.contains("ola-de-outro-conteiner"), "{out}");
    assert_eq!(stopped.code, 137, "{stopped}");
    assert_nothing_left(&id);
    assert_nothing_left(&short_id(&out.stderr));
}

#[test]
fn a_published_port_answers_from_the_host_and_shows_in_ps() {
    let lab = Lab::shared();
    let name = unique_name("pub");
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let server = web_server(lab, &name, &["-p", &publish], "ola-pela-porta");
    let trace = lab.wait_for_exec(&name);
    let id = trace_id(&trace);
    assert_eq!(http_get(&format!("127.0.0.1:{port}")), "ola-pela-porta");
    let ps = lab.casulo(&["ps"]);
    ps.assert_ok();
    let line = ps
        .stdout
        .lines()
        .find(|l| l.contains(&name))
        .unwrap_or_else(|| panic!("{ps}"));
    assert!(ps.stdout.contains("PORTAS"), "{ps}");
    assert!(line.contains(&format!("127.0.0.1:{port}->80/tcp")), "{ps}");
    assert_eq!(leases_of(&id).len(), 1, "uma lease enquanto roda");
    let stopped = stop(server);
    assert_eq!(stopped.code, 137, "{stopped}");
    assert_nothing_left(&id);
    // The port is free again.
    TcpListener::bind(("127.0.0.1", port)).expect("a porta foi liberada");
}

#[test]
fn a_busy_port_fails_early_and_leaves_nothing() {
    let lab = Lab::shared();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let name = unique_name("busy");
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--name",
        &name,
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "busybox",
        "true",
    ]);
    out.assert_code(125);
    assert!(
        out.stderr
            .contains(&format!("a porta {port} do host já está em uso")),
        "{out}"
    );
    let id = short_id(&out.stderr);
    assert_nothing_left(&id);
    // Nothing ran: the trace has the refused bind, and no clone.
    let trace = casulo_trace::reader::read_trace_file(out.trace_path().unwrap()).unwrap();
    let port_event = trace
        .events
        .iter()
        .find(|e| e.body.kind() == "net.port")
        .expect("net.port no trace");
    match &port_event.outcome {
        casulo_trace::Outcome::Error(e) => assert_eq!(e.name, "EADDRINUSE"),
        other => panic!("esperava EADDRINUSE: {other:?}"),
    }
    assert!(!trace
        .events
        .iter()
        .any(|e| e.body.kind() == "process.clone"));
    assert!(!lab.root().join("names").join(&name).exists());
}

/// The second port is busy: the first one was bound already; it is closed
/// (`net.port_close`) before casulo gives up, and free again.
#[test]
fn a_busy_second_port_closes_the_first() {
    let lab = Lab::shared();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port();
    let first = free_port();
    let out = lab.casulo(&[
        "run",
        "--rm",
        "-p",
        &format!("127.0.0.1:{first}:80"),
        "-p",
        &format!("127.0.0.1:{busy}:81"),
        "busybox",
        "true",
    ]);
    out.assert_code(125);
    assert!(
        out.stderr
            .contains(&format!("a porta {busy} do host já está em uso")),
        "{out}"
    );
    assert_nothing_left(&short_id(&out.stderr));
    let path = out.trace_path().unwrap();
    assert_eq!(assert_ports_closed_after_exit(&path), 1);
    let trace = casulo_trace::reader::read_trace_file(&path).unwrap();
    let kinds: Vec<&str> = trace.events.iter().map(|e| e.body.kind()).collect();
    let ports: Vec<usize> = (0..kinds.len())
        .filter(|&i| kinds[i] == "net.port")
        .collect();
    let close = kinds.iter().position(|k| *k == "net.port_close").unwrap();
    assert_eq!(ports.len(), 2, "{kinds:?}");
    assert!(ports[1] < close, "{kinds:?}");
    assert!(!trace.events[ports[1]].outcome.is_ok());
    assert!(!kinds.contains(&"process.clone"), "{kinds:?}");
}

#[test]
fn publish_with_network_none_is_a_usage_error() {
    let lab = Lab::shared();
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-p",
        "8080:80",
        "busybox",
        "true",
    ]);
    out.assert_code(125);
    assert!(out.stderr.contains("--network none"), "{out}");
    let out = lab.casulo(&["run", "--rm", "--network", "host", "busybox", "true"]);
    out.assert_code(125);
    assert!(
        out.stderr.contains("a rede host não existe no casulo"),
        "{out}"
    );
    let out = lab.casulo(&["run", "--rm", "-p", "80", "busybox", "true"]);
    out.assert_code(125);
    assert!(out.stderr.contains("PORTA_DO_HOST"), "{out}");
}

#[test]
fn two_concurrent_containers_get_different_addresses() {
    let lab = Lab::shared();
    let name = unique_name("par");
    let (first, trace) = lab.spawn_on_bridge(&name);
    let ip_a = container_ip(&trace);
    let id_a = trace_id(&trace);
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--network",
        "bridge",
        "busybox",
        "ip",
        "-4",
        "addr",
        "show",
        "eth0",
    ]);
    out.assert_ok();
    assert!(out.stdout.contains("inet 10.88."), "{out}");
    assert!(
        !out.stdout.contains(&format!("inet {ip_a}/")),
        "mesmo endereço {ip_a} nos dois:\n{out}"
    );
    stop(first);
    assert_nothing_left(&id_a);
}

#[test]
fn gc_frees_the_lease_of_a_killed_casulo() {
    let lab = Lab::shared();
    let name = unique_name("morto");
    let (mut child, trace) = lab.spawn_on_bridge(&name);
    let id = trace_id(&trace);
    let lease = leases_of(&id).pop().expect("a lease do contêiner");
    // SIGKILL: no clean-up code runs; the container dies with casulo
    // (PR_SET_PDEATHSIG) but its lease stays.
    send_signal(child.id(), 9);
    child.wait().unwrap();
    assert!(lease.exists(), "a lease fica depois de um SIGKILL");
    // gc leaves leases younger than 5 s alone (one may be being written).
    let age = || {
        std::fs::metadata(&lease)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .unwrap_or_default()
    };
    while lease.exists() && age() < Duration::from_millis(5500) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = lab.casulo(&["gc"]);
    out.assert_ok();
    let ip = lease.file_name().unwrap().to_string_lossy().into_owned();
    assert!(out.stdout.contains(&ip), "{out}");
    assert_nothing_left(&id);
}

#[test]
fn the_trace_shows_the_network_steps_in_order() {
    let lab = Lab::shared();
    let port = free_port();
    let udp_port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = lab.casulo(&[
        "run",
        "--rm",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "-p",
        &format!("127.0.0.1:{udp_port}:53/udp"),
        "busybox",
        "true",
    ]);
    out.assert_ok();
    let trace = casulo_trace::reader::read_trace_file(out.trace_path().unwrap()).unwrap();
    let kinds: Vec<&str> = trace.events.iter().map(|e| e.body.kind()).collect();
    let pos = |k: &str| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("{k} ausente: {kinds:?}"))
    };
    let init_pid = trace
        .events
        .iter()
        .find_map(|e| match e.body {
            EventBody::ProcessClone { child_pid, .. } => Some(child_pid),
            _ => None,
        })
        .unwrap();
    // Host side before the clone: bridge, then the port's socket.
    assert!(pos("net.bridge") < pos("net.port"));
    assert!(pos("net.port") < pos("process.clone"));
    // Between the clone and the child's first step: the veth, plugged.
    assert!(pos("process.clone") < pos("net.veth"));
    assert!(pos("net.veth") < pos("net.attach"));
    let child_first = trace.events.iter().position(|e| e.pid == init_pid).unwrap();
    assert!(pos("net.attach") < child_first);
    // Inside, before pivot_root: address, up, route; then the exec.
    let addr = trace
        .events
        .iter()
        .position(|e| matches!(e.body, EventBody::NetAddr { inside: true, .. }))
        .unwrap();
    assert_eq!(trace.events[addr].pid, init_pid);
    assert!(addr < pos("net.route"));
    assert!(pos("net.route") < pos("mount.pivot_root"));
    assert!(pos("mount.pivot_root") < pos("process.exec"));
    match &trace.events[pos("net.veth")].body {
        EventBody::NetVeth {
            container_ifname,
            netns_pid,
            ..
        } => assert_eq!((container_ifname.as_str(), *netns_pid), ("eth0", init_pid)),
        _ => unreachable!(),
    }
    match &trace.events[pos("net.port")].body {
        EventBody::NetPort {
            host_port,
            container_port,
            mechanism,
            ..
        } => assert_eq!(
            (*host_port, *container_port, mechanism.as_str()),
            (port, 80, "proxy")
        ),
        _ => unreachable!(),
    }
    // Every step went through; the op is the real rtnetlink message.
    assert!(trace
        .events
        .iter()
        .filter(|e| e.body.kind().starts_with("net."))
        .all(|e| e.outcome.is_ok()));
    assert!(trace.events[pos("net.veth")]
        .op
        .starts_with("RTM_NEWLINK veth"));
    // At the end, each port closed (TCP shut down first), in the order
    // they were published, after the exit; both free again.
    assert_eq!(
        assert_ports_closed_after_exit(&out.trace_path().unwrap()),
        2
    );
    let closes: Vec<&str> = trace
        .events
        .iter()
        .filter(|e| e.body.kind() == "net.port_close")
        .map(|e| e.op.as_str())
        .collect();
    assert_eq!(closes.len(), 2, "{closes:?}");
    assert!(closes[0].starts_with("shutdown(fd "), "{closes:?}");
    assert!(closes[0].ends_with(&format!("127.0.0.1:{port}/tcp")));
    assert!(closes[1].starts_with("close(fd "), "{closes:?}");
    assert!(closes[1].ends_with(&format!("127.0.0.1:{udp_port}/udp")));
    assert_nothing_left(&short_id(&out.stderr));
}

#[test]
fn every_exit_path_gives_the_address_back() {
    let lab = Lab::shared();
    // The command does not exist: the init fails after the veth was made
    // (and after the port was bound: it is closed all the same).
    let out = lab.casulo(&[
        "run",
        "--rm",
        "-p",
        &format!("127.0.0.1:{}:80", free_port()),
        "busybox",
        "nao-existe",
    ]);
    out.assert_code(127);
    assert_nothing_left(&short_id(&out.stderr));
    assert_eq!(
        assert_ports_closed_after_exit(&out.trace_path().unwrap()),
        1
    );
    // The kernel's OOM killer ends the container.
    let (_, out) = lab.run_probe_with(
        "rede-oom",
        &["--network", "bridge", "--memory", "64m"],
        &["alloc", "200M"],
    );
    out.assert_code(137);
    assert_nothing_left(&short_id(&out.stderr));
    // Ctrl-C twice (the shell as PID 1 ignores the first).
    let name = unique_name("ctrl-c");
    let publish = format!("127.0.0.1:{}:80", free_port());
    let child = lab.spawn(&[
        "run", "--rm", "--name", &name, "-p", &publish, "busybox", "sleep", "300",
    ]);
    let trace = lab.wait_for_exec(&name);
    let id = trace_id(&trace);
    let pid = child.id();
    send_signal(pid, 2);
    std::thread::sleep(Duration::from_millis(200));
    send_signal(pid, 2);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(137));
    assert_nothing_left(&id);
    assert_eq!(assert_ports_closed_after_exit(&trace), 1);
}

/// Every rtnetlink message casulo sends (strace sees them as `sendto` on a
/// netlink socket, decoded as `RTM_…`) is a `net.*` event whose `op` names
/// the same message, from the same process, in the same order.
#[test]
fn every_netlink_message_strace_sees_is_in_the_trace() {
    let lab = Lab::shared();
    let name = unique_name("strace-rede");
    let log = lab.dir().join(format!("{name}.strace"));
    let trace = lab.dir().join(format!("{name}.trace.jsonl"));
    let out = Output::of(
        std::process::Command::new("strace")
            .args(["-f", "-qq", "-s", "256", "-e", "trace=sendto,sendmsg", "-o"])
            .arg(&log)
            .arg(casulo_tests::casulo_bin())
            .arg("--root")
            .arg(lab.root())
            .args([
                "run",
                "--rm",
                "--name",
                &name,
                "--network",
                "bridge",
                "--trace",
            ])
            .arg(&trace)
            .args(["busybox", "true"]),
    );
    out.assert_ok();
    let text = std::fs::read_to_string(&log).unwrap();
    // `1234 sendto(5, [{nlmsg_len=40, nlmsg_type=RTM_NEWADDR, …` → (1234,
    // RTM_NEWADDR); a strace that does not decode rtnetlink prints the
    // number (`nlmsg_type=0x14 /* NLMSG_??? */`).
    let name_of = |t: &str| -> Option<String> {
        let t = t.split([',', ' ']).next()?;
        Some(
            match t {
                "0x10" => "RTM_NEWLINK",
                "0x11" => "RTM_DELLINK",
                "0x14" => "RTM_NEWADDR",
                "0x18" => "RTM_NEWROUTE",
                named if named.starts_with("RTM_") => named,
                _ => return None,
            }
            .to_string(),
        )
    };
    let seen: Vec<(i32, String)> = text
        .lines()
        .filter_map(|l| {
            let (pid, rest) = l.trim().split_once(' ')?;
            let kind = name_of(rest.split("nlmsg_type=").nth(1)?)?;
            Some((pid.parse().ok()?, kind))
        })
        .collect();
    let events = casulo_trace::reader::read_trace_file(&trace)
        .unwrap()
        .events;
    let recorded: Vec<(i32, String)> = events
        .iter()
        .filter(|e| e.op.starts_with("RTM_"))
        .map(|e| (e.pid, e.op.split(' ').next().unwrap().to_string()))
        .collect();
    assert!(
        seen.len() >= 7,
        "strace viu as mensagens (veth, attach, up; addr, up, route; dellink): {seen:?}\n{text}"
    );
    // The namespace is held open until casulo deletes the veth itself: the
    // delete is always sent, by casulo (not raced by the kernel's cleanup).
    assert_eq!(seen.last(), Some(&(seen[0].0, "RTM_DELLINK".to_string())));
    assert_eq!(seen, recorded, "strace viu ≠ trace gravou");
}

/// What the proxy (the `casulo run` process) holds right now, from
/// `/proc/<pid>/status` and `/proc/<pid>/fd`.
#[derive(Debug, Clone, Copy)]
struct Usage {
    threads: usize,
    fds: usize,
    rss_kib: u64,
}

fn usage(pid: u32) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} ausente em /proc/{pid}/status"))
    };
    Usage {
        threads: field("Threads:") as usize,
        fds: std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count(),
        rss_kib: field("VmRSS:"),
    }
}

/// The largest thread and fd counts seen in `for_how_long` (sampled every
/// 50 ms): the proxy works in the background, a single look could miss it.
fn peak_usage(pid: u32, for_how_long: Duration) -> Usage {
    let end = Instant::now() + for_how_long;
    let mut peak = usage(pid);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
        let now = usage(pid);
        peak.threads = peak.threads.max(now.threads);
        peak.fds = peak.fds.max(now.fds);
        peak.rss_kib = peak.rss_kib.max(now.rss_kib);
    }
    peak
}

/// The proxy's limits, as `engine/src/network/ports.rs` documents them
/// (`Limits::default()`): at most this many TCP connections at once, and
/// this many UDP flows per published UDP port.
const PROXY_MAX_TCP_CONNECTIONS: usize = 256;
const PROXY_MAX_UDP_FLOWS: usize = 128;

/// Issue 13, item 6: 1000 idle TCP connections and a flood of UDP
/// datagrams from thousands of source ports against `-p`. The proxy's
/// threads and descriptors stay bounded by its documented limits (the
/// connections beyond the cap wait in the listen backlog), a real request
/// is answered during the UDP flood once the idle ones go, everything is
/// given back when the flows end, and nothing is left after the container.
/// (Before the bounded proxy: two threads and six descriptors per TCP
/// connection, one thread and socket per UDP source, forever.)
#[test]
fn the_port_proxy_stays_bounded_under_idle_connections_and_a_udp_flood() {
    let lab = Lab::shared();
    let name = unique_name("cerco");
    let tcp = free_port();
    let udp = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The probe's server, not busybox httpd: httpd listens with a backlog
    // of 9, and hundreds of connections from the proxy at once would leave
    // many half-open in the container's kernel (retried with back-off for
    // minutes), which is httpd's limit, not the proxy's.
    let (publish_tcp, publish_udp) = (
        format!("127.0.0.1:{tcp}:80"),
        format!("127.0.0.1:{udp}:53/udp"),
    );
    let server = lab.spawn(&[
        "run",
        "--rm",
        "--name",
        &name,
        "-p",
        &publish_tcp,
        "-p",
        &publish_udp,
        PROBE_IMAGE,
        "/probe",
        "serve-tcp",
        "80",
        "ainda-respondo",
    ]);
    let proxy = server.id();
    let trace = lab.wait_for_exec(&name);
    let id = trace_id(&trace);
    let addr = format!("127.0.0.1:{tcp}");
    let first = try_http_get(&addr);
    if first.as_deref() != Ok("ainda-respondo") {
        stop(server);
        panic!("o servidor não respondeu antes do teste: {first:?}");
    }
    // The first request's thread is gone (threads: the main one, the
    // cgroup sampler, one per published port).
    std::thread::sleep(Duration::from_millis(500));
    let before = usage(proxy);

    // 1000 connections that never send a byte: they complete the handshake
    // (in the kernel's backlog, if not accepted) and stay open.
    let idle: Vec<std::io::Result<TcpStream>> = (0..1000)
        .map(|_| TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(5)))
        .collect();
    let refused = idle.iter().filter(|c| c.is_err()).count();
    let with_idle = peak_usage(proxy, Duration::from_secs(2));

    // Once the idle connections are gone their threads and sockets are
    // released, after the connections waiting in the backlog went through
    // too (seconds; the deadline is for a loaded machine, not a speed
    // check). Waited for before the flood: a thread that gave its place
    // back is still exiting for a moment, and hundreds ending at once on a
    // busy machine overlapped the flood's count by a dozen.
    drop(idle);
    let drain = Instant::now();
    let deadline = drain + Duration::from_secs(60);
    let mut drained = usage(proxy);
    while drained.threads > before.threads && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        drained = usage(proxy);
    }
    let drain_s = drain.elapsed().as_secs_f64();

    // The flood: 5000 datagrams, each from a new source port, in a
    // background thread; a real request is made while it runs.
    let flood = std::thread::spawn(move || {
        for _ in 0..5000 {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            let _ = s.send_to(b"inundacao", ("127.0.0.1", udp));
        }
    });
    let answer = try_http_get(&addr);
    let during_flood = peak_usage(proxy, Duration::from_millis(500));
    flood.join().unwrap();
    let with_flood = peak_usage(proxy, Duration::from_secs(1));
    let after = usage(proxy);
    eprintln!(
        "proxy (pid {proxy}): antes {before:?}; 1000 conexões ociosas {with_idle:?}; \
         ociosas fechadas {drained:?} (em {drain_s:.1} s); durante a inundação UDP \
         {during_flood:?}, depois dela {with_flood:?}; no fim {after:?}"
    );
    let stopped = stop(server);

    assert_eq!(
        refused, 0,
        "conexões recusadas: o backlog (SOMAXCONN) cabe 1000"
    );
    assert_eq!(answer.as_deref(), Ok("ainda-respondo"));
    for (when, u) in [
        ("com 1000 conexões ociosas", with_idle),
        ("durante a inundação UDP", during_flood),
        ("depois da inundação UDP", with_flood),
    ] {
        assert!(
            u.threads <= before.threads + PROXY_MAX_TCP_CONNECTIONS + 2,
            "threads do proxy {when}: {} (antes: {})",
            u.threads,
            before.threads
        );
        assert!(
            u.fds <= before.fds + 2 * PROXY_MAX_TCP_CONNECTIONS + PROXY_MAX_UDP_FLOWS + 8,
            "descritores do proxy {when}: {} (antes: {})",
            u.fds,
            before.fds
        );
    }
    assert!(
        drained.threads <= before.threads,
        "as threads das conexões encerradas ficaram: {drained:?} (antes: {before:?})"
    );
    assert!(
        after.threads <= before.threads,
        "threads depois da inundação: {after:?} (antes: {before:?})"
    );
    assert!(
        after.fds <= before.fds + PROXY_MAX_UDP_FLOWS + 2,
        "descritores depois que as conexões acabaram: {after:?} (antes: {before:?})"
    );
    assert_eq!(stopped.code, 137, "{stopped}");
    assert!(
        !Path::new(&format!("/proc/{proxy}")).exists(),
        "o casulo terminou"
    );
    assert_eq!(assert_ports_closed_after_exit(&trace), 2);
    assert_nothing_left(&id);
}

/// CPU time (user + system, in clock ticks of 10 ms) a process used so
/// far: fields 14 and 15 of `/proc/<pid>/stat`, after the command name.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): utime is field 14, stime 15.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// The lowest descriptor number `pid` has free: the one its next `open`
/// or `accept` would get.
fn lowest_free_fd(pid: u32) -> usize {
    let open: std::collections::HashSet<usize> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    (0..).find(|n| !open.contains(n)).unwrap()
}

/// Sets the soft descriptor limit (`RLIMIT_NOFILE`) of a running process
/// with util-linux's `prlimit` (the hard one stays: raising it back would
/// need `CAP_SYS_RESOURCE`).
fn set_nofile(pid: u32, limit: usize) {
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--nofile={limit}:")])
        .status()
        .expect("prlimit (util-linux)");
    assert!(status.success(), "prlimit --nofile={limit} falhou");
}

/// Issue 13, item 6: when `accept` fails for lack of descriptors
/// (`EMFILE`), the pending connection stays in the backlog; accepting again
/// at once fails again, forever. The proxy backs off instead of spinning (it
/// burns almost no CPU while stuck), and serves again once descriptors are
/// back.
#[test]
fn the_port_proxy_backs_off_when_out_of_descriptors() {
    let lab = Lab::shared();
    let name = unique_name("semfd");
    let tcp = free_port();
    let server = web_server(
        lab,
        &name,
        &["-p", &format!("127.0.0.1:{tcp}:80")],
        "de-volta",
    );
    let proxy = server.id();
    let trace = lab.wait_for_exec(&name);
    let id = trace_id(&trace);
    let addr = format!("127.0.0.1:{tcp}");
    let first = try_http_get(&addr);
    if first.as_deref() != Ok("de-volta") {
        stop(server);
        panic!("o servidor não respondeu antes do teste: {first:?}");
    }
    let soft_before = std::fs::read_to_string(format!("/proc/{proxy}/limits"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
        .unwrap();
    // The limit is on descriptor *numbers*: set it to the lowest free one
    // (the lowest seen, in case one was open for a moment), and the next
    // `accept` fails with EMFILE.
    let lowest_free = (0..10)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(20));
            lowest_free_fd(proxy)
        })
        .min()
        .unwrap();
    set_nofile(proxy, lowest_free);
    let pending: Vec<std::io::Result<TcpStream>> =
        (0..50).map(|_| TcpStream::connect(&addr)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let start = cpu_ticks(proxy);
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_ticks(proxy) - start;
    eprintln!("proxy sem descritores: {used} ticks de CPU em 3 s");
    // Descriptors back: what waited in the backlog is served.
    set_nofile(proxy, soft_before.parse().unwrap());
    drop(pending);
    let answer = try_http_get(&addr);
    let stopped = stop(server);
    // A spinning accept loop takes a whole core: ~300 ticks in 3 s (even a
    // loaded machine gives it far more than 30).
    assert!(
        used < 30,
        "o proxy girou em accept com EMFILE: {used} ticks de CPU em 3 s"
    );
    assert_eq!(answer.as_deref(), Ok("de-volta"));
    assert_eq!(stopped.code, 137, "{stopped}");
    assert_eq!(assert_ports_closed_after_exit(&trace), 1);
    assert_nothing_left(&id);
}
