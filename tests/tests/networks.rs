//! User networks against the real kernel: `casulo network create|ls|
//! inspect|rm|prune`, `run --network NAME`, `--ip`, `--network-alias`, a
//! network in use refused by `rm` with the container's name, 20
//! containers joining one network at once getting distinct addresses, and
//! the network's DNS: names and aliases answered (TCP and ping by name),
//! other names forwarded to the host's resolver (a small one this test
//! runs on 127.0.0.1, through `CASULO_DNS_UPSTREAM`), none on the default
//! bridge, and each question a `net.dns` event of the asking container.
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

/// 20 `casulo run` on one network at once: 20 distinct addresses (the
/// leases are taken under the host's network lock, O_EXCL each).
#[test]
fn twenty_containers_joining_at_once_get_distinct_addresses() {
    let lab = Lab::shared();
    let net = TestNet::create(lab, "rede-vinte", "10.89.214.0/24");
    let children: Vec<std::process::Child> = (0..20)
        .map(|_| {
            lab.command(&[
                "run",
                "--rm",
                "--network",
                &net.name,
                "busybox",
                "sh",
                "-c",
                "ip -4 addr show eth0; sleep 1",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let mut seen = HashSet::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ip = stdout
            .split_whitespace()
            .skip_while(|w| *w != "inet")
            .nth(1)
            .unwrap_or_else(|| panic!("sem inet: {stdout}"))
            .to_string();
        assert!(ip.starts_with("10.89.214.") && ip.ends_with("/24"), "{ip}");
        assert!(seen.insert(ip.clone()), "endereço repetido {ip}");
    }
    assert_eq!(seen.len(), 20);
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
