//! User networks against the real kernel: `casulo network create|ls|
//! inspect|rm|prune`, `run --network NAME`, `--ip`, `--network-alias`, a
//! network in use refused by `rm` with the container's name, and 20
//! containers joining one network at once getting distinct addresses.
//!
//! Each test owns its network (a unique name) and a subnet of
//! 10.89.2xx.0/24 no other test uses; tests run in parallel with others
//! that use casulo0. Traffic stays on the host's bridges.

use std::collections::HashSet;
use std::path::Path;

use casulo_tests::{unique_name, Lab, Output};

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
