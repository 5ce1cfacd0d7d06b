//! User networks against the real kernel: `casulo network create|ls|
//! inspect|rm|prune`, `run --network NAME`, `--ip`, `--network-alias`, a
//! network in use refused by `rm` with the container's name, 20
//! containers joining one network at once getting distinct addresses, and
//! the network's DNS: names and aliases answered (TCP and ping by name),
//! other names forwarded to the host's resolver (a small one this test
//! runs on 127.0.0.1, through `CASULO_DNS_UPSTREAM`), none on the default
//! bridge, and each question a `net.dns` event of the asking container;
//! casulo's nftables rules: a container of another network cannot reach
//! them (dropped by rule) while it reaches its own neighbours, a container
//! reaches "the world" (a veth peer in a network namespace this test
//! makes, 10.89.250.0/30) through masquerade and the world sees the host's
//! address, `-p` by DNAT (`--userland-proxy=false`) and by the proxy both
//! serve a page, and every rule goes when the containers end, and by
//! `casulo gc` after a `kill -9`.
//!
//! Each test owns its network (a unique name) and a subnet of
//! 10.89.2xx.0/24 no other test uses; tests run in parallel with others
//! that use casulo0. Traffic stays on the host's bridges.

use std::collections::HashSet;
use std::net::UdpSocket;
use std::path::Path;

use casulo_tests::{unique_name, Lab, Output, PROBE_IMAGE};
use casulo_trace::EventBody;

/// A network made for one test, removed when the test ends (also on panic).
struct TestNet<'a> {
    lab: &'a Lab,
    name: String,
    bridge: String,
}

impl<'a> TestNet<'a> {
    fn create(lab: &'a Lab, hint: &str, subnet: &str) -> TestNet<'a> {
        let name = unique_name(hint);
        let out = lab.casulo(&["network", "create", "--subnet", subnet, &name]);
        out.assert_ok();
        let id = out.stdout.trim().to_string();
        assert_eq!(id.len(), 64, "{out}");
        TestNet {
            lab,
            name,
            bridge: format!("cas-{}", &id[..8]),
        }
    }
}

impl Drop for TestNet<'_> {
    fn drop(&mut self) {
        let _ = self.lab.casulo(&["network", "rm", &self.name]);
    }
}

fn detached(lab: &Lab, name: &str, net: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run", "-d", "--name", name, "--network", net];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "sleep", "120"]);
    let out = lab.casulo(&args);
    out.assert_ok();
    out
}

fn kill(lab: &Lab, name: &str) {
    let _ = lab.casulo(&["kill", name]);
    let _ = lab.casulo(&["wait", name]);
    let _ = lab.casulo(&["rm", name]);
}

#[test]
fn a_network_is_created_used_refused_while_in_use_and_removed() {
    let lab = Lab::shared();
    let net = TestNet::create(lab, "rede-vida", "10.89.211.0/24");
    assert!(Path::new("/sys/class/net").join(&net.bridge).exists());
    let ls = lab.casulo(&["network", "ls"]);
    ls.assert_ok();
    let line = ls
        .stdout
        .lines()
        .find(|l| l.contains(&net.name))
        .unwrap_or_else(|| panic!("{ls}"));
    assert!(
        line.contains("10.89.211.0/24") && line.contains(&net.bridge),
        "{line}"
    );
    assert!(ls.stdout.contains("casulo0"), "a rede padrão aparece: {ls}");

    let a = unique_name("rede-a");
    detached(lab, &a, &net.name, &["--network-alias", "alfa"]);
    let inspect = lab.casulo(&["network", "inspect", &net.name]);
    inspect.assert_ok();
    let json = inspect.json();
    let containers = json[0]["Containers"].as_object().unwrap();
    let (_, c) = containers.iter().next().expect("um contêiner na rede");
    assert_eq!(c["Name"], a.as_str());
    assert_eq!(c["IPv4Address"], "10.89.211.2/24");
    assert_eq!(c["Aliases"][0], "alfa");
    assert_eq!(json[0]["IPAM"]["Config"][0]["Gateway"], "10.89.211.1");

    // A second one with a chosen address reaches the first by its address.
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--network",
        &net.name,
        "--ip",
        "10.89.211.77",
        "busybox",
        "sh",
        "-c",
        "ip -4 addr show eth0 && ping -c 1 -W 2 10.89.211.2",
    ]);
    out.assert_ok();
    assert!(out.stdout.contains("inet 10.89.211.77/24"), "{out}");
    assert!(out.stdout.contains("1 packets received"), "{out}");
    // The address asked again while it is held: refused, naming who has it.
    let b = unique_name("rede-b");
    detached(lab, &b, &net.name, &["--ip", "10.89.211.30"]);
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--network",
        &net.name,
        "--ip",
        "10.89.211.30",
        "busybox",
        "true",
    ]);
    assert!(!out.success(), "{out}");
    assert!(
        out.stderr
            .contains(&format!("o endereço 10.89.211.30 já é do contêiner {b}")),
        "{out}"
    );

    // In use: refused, with the containers' names; nothing removed.
    let rm = lab.casulo(&["network", "rm", &net.name]);
    rm.assert_code(1);
    assert!(rm.stderr.contains("está em uso"), "{rm}");
    assert!(rm.stderr.contains(&a) && rm.stderr.contains(&b), "{rm}");
    assert!(Path::new("/sys/class/net").join(&net.bridge).exists());
    kill(lab, &a);
    kill(lab, &b);

    let rm = lab.casulo(&["network", "rm", &net.name]);
    rm.assert_ok();
    assert!(!Path::new("/sys/class/net").join(&net.bridge).exists());
    let out = lab.casulo(&["run", "--rm", "--network", &net.name, "busybox", "true"]);
    assert!(!out.success());
    assert!(out.stderr.contains("não existe"), "{out}");
}

#[test]
fn mistakes_are_said_before_anything_is_made() {
    let lab = Lab::shared();
    let net = TestNet::create(lab, "rede-erros", "10.89.212.0/24");
    let cases: &[(&[&str], &str)] = &[
        (
            &["network", "create", "--subnet", "10.89.212.0/25", "outra"],
            "se sobrepõe à da rede",
        ),
        (
            &["network", "create", "--subnet", "10.89.213.5/24", "outra"],
            "não é o início da sub-rede",
        ),
        (&["network", "create", "none"], "nome de rede inválido"),
        (&["network", "rm", "bridge"], "não pode ser removida"),
        (
            &[
                "run",
                "--rm",
                "--network",
                "bridge",
                "--ip",
                "10.88.9.9",
                "busybox",
                "true",
            ],
            "só valem numa rede criada",
        ),
        (
            &[
                "run",
                "--rm",
                "--network",
                &net.name,
                "--ip",
                "10.89.99.9",
                "busybox",
                "true",
            ],
            "não serve na rede",
        ),
        (
            &[
                "run",
                "--rm",
                "--network",
                "nao-existe-rede",
                "busybox",
                "true",
            ],
            "não existe",
        ),
    ];
    for (args, says) in cases {
        let out = lab.casulo(args);
        assert!(!out.success(), "{args:?}: {out}");
        assert!(out.stderr.contains(says), "{says}: {out}");
    }
}

/// 20 `casulo run -d` on one network at once: 20 distinct addresses,
/// all held at the same time (the leases are taken under the host's
/// network lock, O_EXCL each).
#[test]
fn twenty_containers_joining_at_once_get_distinct_addresses() {
    let lab = Lab::shared();
    let net = TestNet::create(lab, "rede-vinte", "10.89.214.0/24");
    let names: Vec<String> = (0..20).map(|_| unique_name("vinte")).collect();
    let children: Vec<std::process::Child> = names
        .iter()
        .map(|name| {
            lab.command(&[
                "run",
                "-d",
                "--name",
                name,
                "--network",
                &net.name,
                "busybox",
                "sleep",
                "120",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let started: Vec<std::process::Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let inspect = lab.casulo(&["network", "inspect", &net.name]);
    for name in &names {
        kill(lab, name);
    }
    for out in &started {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    inspect.assert_ok();
    let json = inspect.json();
    let containers = json[0]["Containers"].as_object().unwrap();
    let ips: HashSet<String> = containers
        .values()
        .map(|c| c["IPv4Address"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(containers.len(), 20, "{json}");
    assert_eq!(ips.len(), 20, "endereços repetidos: {json}");
    assert!(ips.iter().all(|ip| ip.starts_with("10.89.214.")));
}

/// The `net.dns` events of a trace: (name, qtype, answer, resolved_by).
fn dns_events(trace: &Path) -> Vec<(String, String, Vec<String>, String)> {
    casulo_trace::reader::read_trace_file(trace)
        .unwrap()
        .events
        .into_iter()
        .filter_map(|e| match e.body {
            EventBody::NetDns {
                name,
                qtype,
                answer,
                resolved_by,
            } => Some((name, qtype, answer, resolved_by)),
            _ => None,
        })
        .collect()
}

/// A resolver playing "the host's": answers every A question with
/// 192.0.2.77 (built by hand: the question back, one answer), in a thread,
/// until the test ends. Its address goes in `CASULO_DNS_UPSTREAM`.
fn fake_upstream() -> String {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let mut reply = buf[..n].to_vec();
            reply[2] = 0x81;
            reply[3] = 0x80;
            reply[7] = 1; // one answer
            reply[10] = 0;
            reply[11] = 0; // no additional records (EDNS dropped)
                           // Up to the end of the question (name, type, class).
            let mut end = 12;
            while end < n && buf[end] != 0 {
                end += 1 + buf[end] as usize;
            }
            reply.truncate(end + 5);
            reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 77]);
            let _ = socket.send_to(&reply, from);
        }
    });
    addr
}

#[test]
fn containers_find_each_other_by_name_and_alias_and_other_names_go_upstream() {
    let lab = Lab::shared();
    let net = TestNet::create(lab, "rede-dns", "10.89.215.0/24");
    let web = unique_name("web");
    let out = lab.casulo(&[
        "run",
        "-d",
        "--name",
        &web,
        "--network",
        &net.name,
        "--network-alias",
        "site",
        PROBE_IMAGE,
        "/probe",
        "serve-tcp",
        "80",
        "ola-pelo-nome",
    ]);
    out.assert_ok();
    let client = unique_name("cliente");
    let trace = lab.dir().join(format!("{client}.trace.jsonl"));
    let script = format!(
        "cat /etc/resolv.conf; ping -c 1 -W 2 {web} && ping -c 1 -W 2 site && \
         for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://site/ && break; sleep 0.3; done; \
         echo; nslookup exemplo.teste"
    );
    let out = Output::of(
        lab.command(&[
            "run",
            "--rm",
            "--name",
            &client,
            "--network",
            &net.name,
            "--trace",
            trace.to_str().unwrap(),
            "busybox",
            "sh",
            "-c",
            &script,
        ])
        .env("CASULO_DNS_UPSTREAM", fake_upstream()),
    );
    kill(lab, &web);
    out.assert_ok();
    assert!(out.stdout.contains("nameserver 127.0.0.11"), "{out}");
    assert!(
        out.stdout.contains(&format!("PING {web} (10.89.215.2)")),
        "{out}"
    );
    assert!(out.stdout.contains("PING site (10.89.215.2)"), "{out}");
    assert!(
        out.stdout.contains("ola-pelo-nome"),
        "TCP pelo apelido: {out}"
    );
    assert!(
        out.stdout.contains("192.0.2.77"),
        "repassado ao DNS do host: {out}"
    );
    let events = dns_events(&trace);
    let by_network = |name: &str| {
        events
            .iter()
            .any(|(n, t, a, by)| n == name && t == "A" && a == &["10.89.215.2"] && by == "network")
    };
    assert!(by_network(&web) && by_network("site"), "{events:?}");
    assert!(
        events.iter().any(|(n, t, a, by)| n == "exemplo.teste"
            && t == "A"
            && a == &["192.0.2.77"]
            && by == "upstream"),
        "{events:?}"
    );
    let trace_text = std::fs::read_to_string(&trace).unwrap();
    assert!(trace_text.contains(r#""kind":"net.dns_listen","address":"127.0.0.11:53/udp""#));
}

/// The default bridge has no DNS, like docker's: a name of a container
/// on it resolves to nothing, and casulo writes no resolv.conf.
#[test]
fn the_default_bridge_has_no_name_resolution() {
    let lab = Lab::shared();
    let name = unique_name("sem-dns");
    let (child, _) = lab.spawn_on_bridge(&name);
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--network",
        "bridge",
        "busybox",
        "sh",
        "-c",
        &format!("cat /etc/resolv.conf; ping -c 1 -W 1 {name}"),
    ]);
    let _ = lab.casulo(&["kill", &name]);
    let _ = child.wait_with_output();
    assert!(!out.success(), "{out}");
    assert!(!out.stdout.contains("127.0.0.11"), "{out}");
    assert!(out.stderr.contains("bad address"), "{out}");
    let trace = std::fs::read_to_string(out.trace_path().unwrap()).unwrap();
    assert!(!trace.contains("net.dns"), "nenhum DNS na bridge padrão");
}

/// Runs a command of the host (`ip`, `nft`) that must work.
fn host(cmd: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// casulo's rules (their comments) whose comment contains `what`.
fn rules_with(what: &str) -> Vec<String> {
    let out = std::process::Command::new("nft")
        .args(["list", "table", "inet", "casulo"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("comment") && l.contains(what))
        .map(|l| l.trim().to_string())
        .collect()
}

/// "The world": a network namespace with a veth whose host end is
/// 10.89.`octet`.1/30 and whose world end is 10.89.`octet`.2/30. Only one
/// test uses each subnet (250: a user network's, 251: the default
/// bridge's); deleted when dropped.
struct World {
    ns: String,
    host_if: String,
    /// The world's own address (`.2`); the host's is `.1`.
    addr: String,
}

impl World {
    fn new(octet: u8) -> World {
        let n = std::process::id();
        let (ns, host_if) = (
            format!("casulo-mundo-{octet}-{n}"),
            format!("cm{octet}-{}", n % 100_000),
        );
        let (host_cidr, world_cidr) =
            (format!("10.89.{octet}.1/30"), format!("10.89.{octet}.2/30"));
        host("ip", &["netns", "add", &ns]);
        let world = World {
            ns,
            host_if,
            addr: format!("10.89.{octet}.2"),
        };
        host(
            "ip",
            &[
                "link",
                "add",
                &world.host_if,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                &world.ns,
            ],
        );
        host("ip", &["addr", "add", &host_cidr, "dev", &world.host_if]);
        host("ip", &["link", "set", &world.host_if, "up"]);
        for args in [
            &["addr", "add", &world_cidr, "dev", "eth0"][..],
            &["link", "set", "eth0", "up"],
            &["link", "set", "lo", "up"],
        ] {
            let mut all = vec!["-n", &world.ns];
            all.extend_from_slice(args);
            host("ip", &all);
        }
        world
    }

    /// `cmd` inside the world's namespace.
    fn command(&self, cmd: &[&str]) -> std::process::Command {
        let mut c = std::process::Command::new("ip");
        c.args(["netns", "exec", &self.ns]).args(cmd);
        c
    }

    /// A server at the world's address, port 9000, that says who
    /// connected and what it said (one connection); returned once it
    /// listens.
    fn listen(&self) -> Server {
        use std::io::BufRead;
        let script = format!(
            "import socket; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); \
             s.bind(('{}', 9000)); s.listen(1); print('pronto', flush=True); s.settimeout(30); \
             c, a = s.accept(); print(a[0], c.recv(100).decode(), flush=True)",
            self.addr
        );
        let mut child = self
            .command(&["python3", "-c", &script])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut ready = String::new();
        out.read_line(&mut ready).unwrap();
        assert_eq!(ready.trim(), "pronto", "o servidor do mundo não subiu");
        Server { child, out }
    }
}

/// The world's server ([`World::listen`]).
struct Server {
    child: std::process::Child,
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl Server {
    /// What it saw: "ADDRESS MESSAGE" (empty if nobody came in 30 s).
    fn seen(mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        let _ = self.out.read_line(&mut line);
        let _ = self.child.kill();
        let _ = self.child.wait();
        line.trim().to_string()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.ns])
            .output();
    }
}

/// A container of another network is dropped by rule; one of the same
/// network gets through; the rules are in casulo's table while containers
/// are there and gone after.
#[test]
fn networks_are_isolated_by_rule_and_the_rules_go_with_the_last_container() {
    let lab = Lab::shared();
    let a = TestNet::create(lab, "rede-iso-a", "10.89.216.0/24");
    let b = TestNet::create(lab, "rede-iso-b", "10.89.217.0/24");
    let alvo = unique_name("alvo");
    detached(lab, &alvo, &a.name, &[]);
    let tag = format!("casulo:{}:", a.name);
    assert_eq!(rules_with(&tag).len(), 4, "{:?}", rules_with(&tag));
    let vizinho = lab.casulo(&[
        "run",
        "--rm",
        "--network",
        &a.name,
        "busybox",
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        "10.89.216.2",
    ]);
    let de_fora = lab.casulo(&[
        "run",
        "--rm",
        "--network",
        &b.name,
        "busybox",
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        "10.89.216.2",
    ]);
    // Its own gateway (the host) it still reaches: the drop is between
    // networks, not of the network.
    let gateway = lab.casulo(&[
        "run",
        "--rm",
        "--network",
        &b.name,
        "busybox",
        "ping",
        "-c",
        "1",
        "-W",
        "2",
        "10.89.217.1",
    ]);
    let trace = std::fs::read_to_string(de_fora.trace_path().unwrap()).unwrap();
    kill(lab, &alvo);
    vizinho.assert_ok();
    assert!(vizinho.stdout.contains("1 packets received"), "{vizinho}");
    assert!(!de_fora.success(), "outra rede alcançou: {de_fora}");
    assert!(de_fora.stdout.contains("0 packets received"), "{de_fora}");
    gateway.assert_ok();
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .unwrap()
            .trim(),
        "1",
        "o isolamento é por regra, com o roteamento ligado"
    );
    // B's rules were written by its container and deleted when it ended.
    let b_tag = format!("casulo:{}:isola-redes", b.name);
    assert!(
        trace.contains(r#""action":"add","chain":"forward""#),
        "{trace}"
    );
    assert!(trace.contains(&b_tag) && trace.contains(r#""action":"delete""#));
    assert!(rules_with(&format!("casulo:{}:", b.name)).is_empty());
    assert!(rules_with(&tag).is_empty(), "{:?}", rules_with(&tag));
}

/// The way out: the world sees the host's address (masquerade); the way
/// in: `-p` by DNAT and by the proxy both serve a page.
#[test]
fn a_container_reaches_the_world_through_masquerade_and_dnat_and_proxy_serve() {
    let lab = Lab::shared();
    let net = TestNet::create(lab, "rede-nat", "10.89.218.0/24");
    let world = World::new(250);
    // The world's server says who connected.
    let server = world.listen();
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--network",
        &net.name,
        "busybox",
        "sh",
        "-c",
        "echo ola-mundo | nc -w 5 10.89.250.2 9000",
    ]);
    let seen = server.seen();
    out.assert_ok();
    assert_eq!(
        seen, "10.89.250.1 ola-mundo",
        "o mundo vê o endereço do host, não o do contêiner"
    );

    // -p by DNAT and by the proxy, one container each.
    let (dnat_port, proxy_port) = (
        18000 + std::process::id() % 1000,
        19000 + std::process::id() % 1000,
    );
    let web_dnat = unique_name("web-dnat");
    let web_proxy = unique_name("web-proxy");
    for (name, publish, proxy) in [
        (&web_dnat, format!("{dnat_port}:80"), "false"),
        (&web_proxy, format!("{proxy_port}:80"), "true"),
    ] {
        let out = lab.casulo(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            &net.name,
            "-p",
            &publish,
            &format!("--userland-proxy={proxy}"),
            PROBE_IMAGE,
            "/probe",
            "serve-tcp",
            "80",
            &format!("pagina-{proxy}"),
        ]);
        out.assert_ok();
    }
    let fetch = |port: u32| {
        // From the world, to the host's address on its side.
        let mut last = String::new();
        for _ in 0..20 {
            // Python's client: busybox's wget crashes under `ip netns exec`.
            let url = format!("http://10.89.250.1:{port}/");
            let script = format!(
                "import urllib.request, sys; \
                 sys.stdout.write(urllib.request.urlopen('{url}', timeout=3).read().decode())"
            );
            let out = world.command(&["python3", "-c", &script]).output().unwrap();
            last = String::from_utf8_lossy(&out.stdout).into_owned();
            if out.status.success() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        last.trim().to_string()
    };
    let by_dnat = fetch(dnat_port);
    let by_proxy = fetch(proxy_port);
    let dnat_rules = rules_with(&format!("dport {dnat_port} dnat ip to"));
    kill(lab, &web_dnat);
    kill(lab, &web_proxy);
    assert_eq!(by_dnat, "pagina-false", "DNAT");
    assert_eq!(by_proxy, "pagina-true", "proxy");
    assert_eq!(dnat_rules.len(), 2, "prerouting e output: {dnat_rules:?}");
    assert!(rules_with(&format!("dport {dnat_port} dnat")).is_empty());
    assert!(rules_with(&format!("casulo:{}:", net.name)).is_empty());
}

/// The default bridge's way out, as docker's docker0: while a container
/// of `--network bridge` runs, casulo's table holds the masquerade of
/// 10.88.0.0/16 (`casulo:bridge:masquerade`); another one reaches "the
/// world" (10.89.251.2, a namespace this test makes, with no route back
/// to 10.88.0.0/16) and the world sees the host's address. Without the
/// rule the world would get 10.88.x.x as source and its answer would have
/// nowhere to go.
#[test]
fn a_default_bridge_container_reaches_the_world_through_masquerade() {
    let lab = Lab::shared();
    let world = World::new(251);
    let vigia = unique_name("vigia-bridge");
    detached(lab, &vigia, "bridge", &[]);
    let rules = rules_with("casulo:bridge:masquerade");
    let server = world.listen();
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--network",
        "bridge",
        "busybox",
        "sh",
        "-c",
        "ip -4 -o addr show eth0; echo ola-da-bridge | nc -w 5 10.89.251.2 9000",
    ]);
    let seen = server.seen();
    kill(lab, &vigia);
    out.assert_ok();
    assert!(out.stdout.contains("inet 10.88."), "{out}");
    assert_eq!(
        seen, "10.89.251.1 ola-da-bridge",
        "o mundo vê o endereço do host, não o 10.88.x.x do contêiner"
    );
    assert_eq!(
        rules,
        [
            r#"ip saddr 10.88.0.0/16 oifname != "casulo0" masquerade comment "casulo:bridge:masquerade""#
        ],
        "uma regra só, a da bridge padrão"
    );
}

/// `casulo gc` of another state dir (another `--root`: another user, a
/// test running in parallel) spares what a live container of this one
/// uses: the network objects are host-wide (`/run/casulo/net/leases` is
/// the truth, whatever the root), so its `casulo0`, its veth on the bridge,
/// its network's bridge and every rule of theirs stay, and the containers
/// still reach their gateways.
#[test]
fn gc_of_another_root_spares_the_bridges_and_rules_in_use() {
    let lab = Lab::shared();
    let net = TestNet::create(lab, "rede-duas-raizes", "10.89.226.0/24");
    let na_bridge = unique_name("raiz-a-bridge");
    let na_rede = unique_name("raiz-a-rede");
    let id_bridge = detached(lab, &na_bridge, "bridge", &[]).stdout;
    let id_rede = detached(lab, &na_rede, &net.name, &[]).stdout;
    let veth = |id: &str| format!("veth{}", &id.trim()[..8]);
    let (veth_bridge, veth_rede) = (veth(&id_bridge), veth(&id_rede));

    let other = tempfile::Builder::new()
        .prefix("outra-raiz-")
        .tempdir_in(lab.dir())
        .unwrap();
    let gc = Output::of(
        std::process::Command::new(casulo_tests::casulo_bin())
            .arg("--root")
            .arg(other.path())
            .arg("gc")
            .env_remove("CASULO_ROOT"),
    );
    let plugged = |bridge: &str, ifname: &str| {
        Path::new("/sys/class/net")
            .join(bridge)
            .join("brif")
            .join(ifname)
            .exists()
    };
    let bridge_ok = plugged("casulo0", &veth_bridge);
    let rede_ok = plugged(&net.bridge, &veth_rede);
    let masquerade = rules_with("casulo:bridge:masquerade");
    let net_rules = rules_with(&format!("casulo:{}:", net.name));
    let ping = |name: &str, gateway: &str| {
        lab.casulo(&["exec", name, "ping", "-c", "1", "-W", "2", gateway])
    };
    let ping_bridge = ping(&na_bridge, "10.88.0.1");
    let ping_rede = ping(&na_rede, "10.89.226.1");
    kill(lab, &na_bridge);
    kill(lab, &na_rede);
    gc.assert_ok();
    for mine in [&veth_bridge, &veth_rede, &net.bridge] {
        assert!(!gc.stdout.contains(mine.as_str()), "{gc}");
    }
    assert!(!gc.stdout.contains("bridge casulo0"), "{gc}");
    assert!(!gc.stdout.contains("casulo:bridge:"), "{gc}");
    assert!(
        !gc.stdout.contains(&format!("casulo:{}:", net.name)),
        "{gc}"
    );
    assert!(bridge_ok, "{veth_bridge} saiu da casulo0:\n{gc}");
    assert!(rede_ok, "{veth_rede} saiu de {}:\n{gc}", net.bridge);
    assert_eq!(masquerade.len(), 1, "{masquerade:?}\n{gc}");
    assert_eq!(net_rules.len(), 4, "{net_rules:?}\n{gc}");
    ping_bridge.assert_ok();
    ping_rede.assert_ok();
}

/// After `kill -9` of the casulo that runs a container, its rules and the
/// network's stay (no clean-up ran) until `casulo gc`, which deletes them.
#[test]
fn gc_after_kill_9_removes_the_rules_left_behind() {
    let lab = Lab::shared();
    let net = TestNet::create(lab, "rede-gc", "10.89.219.0/24");
    let name = unique_name("morto");
    let port = 17000 + std::process::id() % 1000;
    let mut child = lab.spawn(&[
        "run",
        "--rm",
        "--name",
        &name,
        "--network",
        &net.name,
        "-p",
        &format!("{port}:80"),
        "--userland-proxy=false",
        "busybox",
        "sleep",
        "300",
    ]);
    lab.wait_for_exec(&name);
    let tag = format!("casulo:{}:", net.name);
    assert_eq!(rules_with(&tag).len(), 4);
    assert_eq!(rules_with(&format!("dport {port} dnat")).len(), 2);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(rules_with(&tag).len(), 4, "ninguém limpou ainda");
    // gc frees leases at least 5 s old.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let gc = lab.casulo(&["gc"]);
    gc.assert_ok();
    // Which gc says it does not matter: the other kill -9 test of this
    // file (or any casulo of the host) may run its own at the same moment.
    assert!(rules_with(&tag).is_empty(), "{gc}\n{:?}", rules_with(&tag));
    assert!(rules_with(&format!("dport {port} dnat")).is_empty());
}

/// The host end named in `network connect`'s line ("no host: vethXXXXXXXX").
fn host_end(connect: &Output) -> String {
    connect
        .stderr
        .split("no host: ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("sem a ponta do host: {connect}"))
        .to_string()
}

/// The addresses leased to `container` (by its name), per network.
fn leases_of(lab: &Lab, net: &str) -> Vec<String> {
    let inspect = lab.casulo(&["network", "inspect", net]);
    inspect.assert_ok();
    inspect.json()[0]["Containers"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["Name"].as_str().unwrap().to_string())
        .collect()
}

/// `network connect`: a container of A joins B while it runs (an `eth1`
/// with an address of B), reaches B's containers by name and alias (ping
/// and TCP) and still reaches A's; B's containers find it by its name and
/// `--alias`; `inspect` shows both networks. `disconnect`: `eth1` gone, B
/// unreachable (by rule) and its names unknown, the lease and the host end
/// gone. Connected again, the end of the container takes it all too.
/// Every step is in the container's own trace.
#[test]
fn a_running_container_joins_another_network_and_leaves_it() {
    let lab = Lab::shared();
    let a = TestNet::create(lab, "rede-con-a", "10.89.221.0/24");
    let b = TestNet::create(lab, "rede-con-b", "10.89.222.0/24");
    let web = unique_name("web-b");
    lab.casulo(&[
        "run",
        "-d",
        "--name",
        &web,
        "--network",
        &b.name,
        "--network-alias",
        "site-b",
        PROBE_IMAGE,
        "/probe",
        "serve-tcp",
        "80",
        "pagina-de-b",
    ])
    .assert_ok();
    let vizinho = unique_name("vizinho-a");
    detached(lab, &vizinho, &a.name, &[]);
    let cliente = unique_name("cliente");
    detached(lab, &cliente, &a.name, &[]);
    let exec = |who: &str, script: &str| lab.casulo(&["exec", who, "sh", "-c", script]);

    // Before: B is out of reach, by name and by address.
    let before = exec(&cliente, &format!("ping -c 1 -W 1 {web}"));
    assert!(
        !before.success() && before.stderr.contains("bad address"),
        "{before}"
    );

    let connect = lab.casulo(&[
        "network", "connect", "--alias", "apelido", &b.name, &cliente,
    ]);
    connect.assert_ok();
    assert!(connect.stderr.contains("eth1 10.89.222.3"), "{connect}");
    let veth = host_end(&connect);
    assert!(Path::new("/sys/class/net").join(&veth).exists());
    let brif = Path::new("/sys/class/net").join(&b.bridge).join("brif");
    assert!(brif.join(&veth).exists(), "plugada na bridge de B");

    let script = format!(
        "ip -4 addr show eth1 && ping -c 1 -W 2 {web} && ping -c 1 -W 2 site-b && \
         for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://site-b/ && break; sleep 0.3; done; \
         echo; ping -c 1 -W 2 {vizinho}"
    );
    let out = exec(&cliente, &script);
    out.assert_ok();
    assert!(out.stdout.contains("inet 10.89.222.3/24"), "{out}");
    assert!(
        out.stdout.contains(&format!("PING {web} (10.89.222.2)")),
        "{out}"
    );
    assert!(
        out.stdout.contains("pagina-de-b"),
        "TCP pelo apelido: {out}"
    );
    assert!(
        out.stdout
            .contains(&format!("PING {vizinho} (10.89.221.2)")),
        "ainda alcança A: {out}"
    );
    // B's side: the newcomer by its name and its alias, at its B address.
    let out = exec(
        &web,
        &format!("ping -c 1 -W 2 {cliente} && ping -c 1 -W 2 apelido"),
    );
    out.assert_ok();
    assert!(
        out.stdout
            .contains(&format!("PING {cliente} (10.89.222.3)")),
        "{out}"
    );
    assert!(out.stdout.contains("PING apelido (10.89.222.3)"), "{out}");

    let inspect = lab.casulo(&["inspect", &cliente]);
    inspect.assert_ok();
    let nets = inspect.json()[0]["NetworkSettings"]["Networks"].clone();
    assert_eq!(nets[&a.name]["IPAddress"], "10.89.221.3", "{nets}");
    assert_eq!(nets[&b.name]["IPAddress"], "10.89.222.3", "{nets}");
    assert_eq!(nets[&b.name]["Casulo"]["Interface"], "eth1", "{nets}");
    assert_eq!(nets[&b.name]["Aliases"][0], "apelido", "{nets}");
    assert!(leases_of(lab, &b.name).contains(&cliente));

    // Mistakes: said, exit 125, nothing made.
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["connect", &b.name, &cliente],
            format!("já está na rede {}", b.name),
        ),
        (
            vec!["disconnect", &a.name, &cliente],
            "a rede com que o contêiner".into(),
        ),
        (
            vec!["connect", "none", &cliente],
            "a rede none não se conecta".into(),
        ),
        (
            vec!["connect", "nao-existe-rede", &cliente],
            "não existe".into(),
        ),
        (
            vec!["connect", &b.name, "nao-existe-ctr"],
            "contêiner não encontrado".into(),
        ),
        (
            vec!["connect", "--ip", "10.89.222.3", &b.name, &vizinho],
            "já é do contêiner".into(),
        ),
        (
            vec!["disconnect", &b.name, &vizinho],
            "não está na rede".into(),
        ),
    ];
    for (args, says) in &cases {
        let mut all = vec!["network"];
        all.extend_from_slice(args);
        let out = lab.casulo(&all);
        out.assert_code(125);
        assert!(out.stderr.contains(says.as_str()), "{says}: {out}");
    }
    assert!(
        !leases_of(lab, &b.name).contains(&vizinho),
        "nada ficou do erro"
    );
    // B in use by the connected one: refused, naming it.
    let rm = lab.casulo(&["network", "rm", &b.name]);
    assert!(!rm.success() && rm.stderr.contains(&cliente), "{rm}");

    let disconnect = lab.casulo(&["network", "disconnect", &b.name, &cliente]);
    disconnect.assert_ok();
    assert!(!Path::new("/sys/class/net").join(&veth).exists());
    assert!(!leases_of(lab, &b.name).contains(&cliente));
    let after = exec(
        &cliente,
        &format!("ip link show eth1; ping -c 1 -W 1 {web}; ping -c 1 -W 1 10.89.222.2; ping -c 1 -W 2 {vizinho}"),
    );
    assert!(
        after.stderr.contains("bad address"),
        "o nome de B sumiu: {after}"
    );
    assert!(
        after.stdout.contains("0 packets received"),
        "B inalcançável: {after}"
    );
    assert!(
        after.stdout.contains("1 packets received"),
        "A continua: {after}"
    );
    assert!(!after.stdout.contains("eth1"), "{after}");
    let out = exec(&web, &format!("ping -c 1 -W 1 {cliente}"));
    assert!(out.stderr.contains("bad address"), "{out}");

    // Connected again, then the container ends: eth1's lease and end go too.
    let again = lab.casulo(&["network", "connect", &b.name, &cliente]);
    again.assert_ok();
    let veth = host_end(&again);
    let trace_path = lab.casulo(&["inspect", &cliente]).json()[0]["Casulo"]["Trace"]
        .as_str()
        .unwrap()
        .to_string();
    kill(lab, &cliente);
    assert!(!Path::new("/sys/class/net").join(&veth).exists());
    assert!(!leases_of(lab, &b.name).contains(&cliente));
    kill(lab, &web);
    kill(lab, &vizinho);
    assert!(rules_with(&format!("casulo:{}:", b.name)).is_empty());

    let trace = std::fs::read_to_string(&trace_path).unwrap();
    for wanted in [
        r#""kind":"net.veth","host_ifname":""#,
        r#""container_ifname":"eth1""#,
        r#""kind":"net.addr","ifname":"eth1","address":"10.89.222.3/24","inside":true"#,
        r#""kind":"namespace.join","ns":"net""#,
        &format!(
            r#""kind":"net.attach","ifname":"{veth}","bridge":"{}""#,
            b.bridge
        ),
        r#""kind":"net.link_delete""#,
    ] {
        assert!(trace.contains(wanted), "{wanted} no trace");
    }
}

/// `kill -9` of the casulo that runs a connected container: its lease on
/// the joined network, that veth's host end and the network's rules stay
/// until `casulo gc`, which removes them all.
#[test]
fn gc_after_kill_9_removes_what_connect_made() {
    let lab = Lab::shared();
    let a = TestNet::create(lab, "rede-con-gc-a", "10.89.223.0/24");
    let b = TestNet::create(lab, "rede-con-gc-b", "10.89.224.0/24");
    let name = unique_name("morto-con");
    let mut child = lab.spawn(&[
        "run",
        "--rm",
        "--name",
        &name,
        "--network",
        &a.name,
        "busybox",
        "sleep",
        "300",
    ]);
    lab.wait_for_exec(&name);
    let connect = lab.casulo(&["network", "connect", &b.name, &name]);
    connect.assert_ok();
    let veth = host_end(&connect);
    let b_tag = format!("casulo:{}:", b.name);
    assert_eq!(rules_with(&b_tag).len(), 4);
    child.kill().unwrap();
    child.wait().unwrap();
    let lease = Path::new("/run/casulo/net/leases/10.89.224.2");
    assert!(lease.exists(), "ninguém limpou ainda");
    std::thread::sleep(std::time::Duration::from_secs(6));
    let gc = lab.casulo(&["gc"]);
    gc.assert_ok();
    // As above: another gc may be the one that removes them.
    assert!(!lease.exists(), "{gc}");
    assert!(!Path::new("/sys/class/net").join(&veth).exists(), "{gc}");
    assert!(rules_with(&b_tag).is_empty(), "{:?}", rules_with(&b_tag));
    let leases = std::fs::read_dir("/run/casulo/net/leases").unwrap();
    assert!(
        leases.flatten().all(|e| e.file_name() != "10.89.224.2"),
        "o endereço de B foi liberado"
    );
}

/// A DNS client over TCP (RFC 7766: each message after its length in two
/// bytes), asking for each name of argv on one connection; prints "name,
/// number of answers, last address". Run with the host's python3 inside a
/// container's network namespace (busybox's nslookup asks over UDP only).
const TCP_DNS_CLIENT: &str = r#"
import socket, struct, sys
s = socket.create_connection(('127.0.0.11', 53), timeout=5)
def read(n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise SystemExit('a conexão fechou')
        b += c
    return b
for qid, name in enumerate(sys.argv[1:], 1):
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    q += b''.join(bytes([len(p)]) + p.encode() for p in name.split('.')) + b'\0'
    q += struct.pack('>HH', 1, 1)
    s.sendall(struct.pack('>H', len(q)) + q)
    (n,) = struct.unpack('>H', read(2))
    r = read(n)
    rid, _, _, an = struct.unpack('>HHHH', r[:8])
    assert rid == qid, (rid, qid)
    print(name, an, '.'.join(str(x) for x in r[-4:]) if an else '-', flush=True)
"#;

/// The network's DNS answers over TCP too, at the same 127.0.0.11:53 inside
/// the container: names and aliases, several questions on one connection,
/// each a `net.dns` event (its `op` says tcp) after a second
/// `net.dns_listen` (`/tcp`).
#[test]
fn the_network_dns_answers_over_tcp_too() {
    let lab = Lab::shared();
    let net = TestNet::create(lab, "rede-dns-tcp", "10.89.225.0/24");
    let db = unique_name("db-tcp");
    detached(lab, &db, &net.name, &["--network-alias", "banco"]);
    let inspect = lab.casulo(&["inspect", "-f", "{{.State.Pid}}", &db]);
    inspect.assert_ok();
    let pid = inspect.stdout.trim().to_string();
    let trace_path = lab.casulo(&["inspect", &db]).json()[0]["Casulo"]["Trace"]
        .as_str()
        .unwrap()
        .to_string();
    let out = Output::of(std::process::Command::new("nsenter").args([
        &format!("--net=/proc/{pid}/ns/net"),
        "python3",
        "-c",
        TCP_DNS_CLIENT,
        "banco",
        &db,
        "ninguem-aqui",
    ]));
    kill(lab, &db);
    out.assert_ok();
    assert!(out.stdout.contains("banco 1 10.89.225.2"), "{out}");
    assert!(out.stdout.contains(&format!("{db} 1 10.89.225.2")), "{out}");
    let trace = std::fs::read_to_string(&trace_path).unwrap();
    assert!(
        trace.contains(r#""kind":"net.dns_listen","address":"127.0.0.11:53/tcp""#),
        "{trace}"
    );
    let over_tcp: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains(r#""kind":"net.dns""#) && l.contains("53/tcp"))
        .collect();
    assert_eq!(over_tcp.len(), 3, "{over_tcp:?}");
    assert!(over_tcp[0].contains(
        r#""name":"banco","qtype":"A","answer":["10.89.225.2"],"resolved_by":"network""#
    ));
}

/// A stopped container's `network connect` is kept in its record (as
/// docker does): the next `start` wires it (`eth1`, the asked address, the
/// alias in B's DNS); `disconnect` of a stopped one takes it out of the
/// record, and the start after that has no `eth1`.
#[test]
fn a_stopped_container_joins_at_its_next_start() {
    let lab = Lab::shared();
    let a = TestNet::create(lab, "rede-parado-a", "10.89.226.0/24");
    let b = TestNet::create(lab, "rede-parado-b", "10.89.227.0/24");
    let vizinho = unique_name("vizinho-b");
    detached(lab, &vizinho, &b.name, &[]);
    let parado = unique_name("parado");
    detached(lab, &parado, &a.name, &[]);
    let _ = lab.casulo(&["kill", &parado]);
    let _ = lab.casulo(&["wait", &parado]);

    let connect = lab.casulo(&[
        "network",
        "connect",
        "--ip",
        "10.89.227.40",
        "--alias",
        "depois",
        &b.name,
        &parado,
    ]);
    connect.assert_ok();
    assert!(connect.stderr.contains("na próxima partida"), "{connect}");
    assert!(
        !leases_of(lab, &b.name).contains(&parado),
        "nada ligado ainda"
    );
    let again = lab.casulo(&["network", "connect", &b.name, &parado]);
    again.assert_code(125);
    assert!(again.stderr.contains("já está na rede"), "{again}");

    lab.casulo(&["start", &parado]).assert_ok();
    let out = lab.casulo(&["exec", &parado, "ip", "-4", "addr", "show", "eth1"]);
    out.assert_ok();
    assert!(out.stdout.contains("inet 10.89.227.40/24"), "{out}");
    let out = lab.casulo(&["exec", &vizinho, "ping", "-c", "1", "-W", "2", "depois"]);
    out.assert_ok();
    assert!(out.stdout.contains("PING depois (10.89.227.40)"), "{out}");
    let nets = lab.casulo(&["inspect", &parado]).json()[0]["NetworkSettings"]["Networks"].clone();
    assert_eq!(nets[&b.name]["IPAddress"], "10.89.227.40", "{nets}");

    let _ = lab.casulo(&["kill", &parado]);
    let _ = lab.casulo(&["wait", &parado]);
    assert!(
        !leases_of(lab, &b.name).contains(&parado),
        "o fim leva a eth1"
    );
    let out = lab.casulo(&["network", "disconnect", &b.name, &parado]);
    out.assert_ok();
    assert!(out.stderr.contains("não entra mais na rede"), "{out}");
    let out = lab.casulo(&["network", "disconnect", &b.name, &parado]);
    out.assert_code(125);
    assert!(out.stderr.contains("não está na rede"), "{out}");
    lab.casulo(&["start", &parado]).assert_ok();
    let out = lab.casulo(&["exec", &parado, "ip", "link", "show", "eth1"]);
    assert!(!out.success(), "sem eth1 depois do disconnect: {out}");
    kill(lab, &parado);
    kill(lab, &vizinho);
}
