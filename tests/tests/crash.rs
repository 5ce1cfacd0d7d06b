//! `kill -9` at many moments, then `casulo gc`: nothing is left.
//!
//! A SIGKILL runs none of casulo's clean-up code, so what remains after it
//! is whatever the kernel does not undo by itself: cgroups, veth host ends,
//! address leases, records saying `running`, temp files. This test kills,
//! at moments spread from the first instant of a run to long after its
//! start, (a) a foreground `casulo run` while the image's layers are still
//! being unpacked (a new state dir), (b) a foreground `casulo run --network
//! bridge -p`, (c) the CLI of a `casulo run -d --network bridge -p` and
//! then its supervisor; then runs
//! `casulo gc` once and looks for every trace of those containers on the
//! host. It has its own test binary, so its lab's state dir is its own.

use std::path::Path;
use std::time::{Duration, Instant};

use casulo_tests::{host_casulo_cgroups, host_mountinfo, send_signal, unique_name, Lab};

use serde_json::Value;

/// From "before anything happened" to "well after the start", in ms.
const MOMENTS_MS: [u64; 8] = [0, 3, 8, 15, 30, 60, 120, 300];

fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The id claimed for the name `name`, if it got that far.
fn id_of(lab: &Lab, name: &str) -> Option<String> {
    std::fs::read_to_string(lab.root().join("names").join(name))
        .ok()
        .filter(|id| id.len() == 64)
}

/// The pids of the supervisors of container `id` (by their command line).
fn supervisors_of(id: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let words: Vec<&[u8]> = c.split(|b| *b == 0).collect();
                words.contains(&&b"__supervisor"[..]) && words.contains(&id.as_bytes())
            })
        })
        .collect()
}

/// The record of the container called `name`, if it got that far.
fn record_of(lab: &Lab, name: &str) -> Option<Value> {
    let id = id_of(lab, name)?;
    let json = std::fs::read(
        lab.root()
            .join("containers")
            .join(id)
            .join("container.json"),
    )
    .ok()?;
    serde_json::from_slice(&json).ok()
}

/// Is `pid` still a process in the cgroup of one of `ids`?
fn in_cgroup_of(pid: u64, ids: &[String]) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .is_ok_and(|c| ids.iter().any(|id| c.contains(id.as_str())))
}

/// `casulo ARGS`, SIGKILLed `ms` after it was started.
fn kill_after(lab: &Lab, args: &[&str], ms: u64) {
    let mut child = lab.spawn(args);
    std::thread::sleep(Duration::from_millis(ms));
    child.kill().unwrap();
    child.wait().unwrap();
}

fn run_args<'a>(name: &'a str, port: &'a str, detached: bool) -> Vec<&'a str> {
    let mut args = vec!["run", "--name", name, "--network", "bridge", "-p", port];
    if detached {
        args.push("-d");
    }
    args.extend(["busybox", "sleep", "300"]);
    args
}

#[test]
fn kill_9_of_the_cli_or_the_supervisor_at_any_moment_then_gc_leaves_nothing() {
    let lab = Lab::shared();
    let mounts_before = host_mountinfo();
    let mut names = Vec::new();
    // Cold: the first runs of a new state dir unpack the image's layers
    // (`layers/.tmp-*`) after the container's dir and name exist.
    for (i, ms) in [40, 150, 300].iter().enumerate() {
        let name = unique_name(&format!("frio{i}"));
        kill_after(lab, &["run", "--name", &name, "busybox", "true"], *ms);
        names.push(name);
    }
    // Warm: the layers are there, the kills land in the start itself.
    lab.casulo(&["run", "--rm", "busybox", "true"]).assert_ok();
    for (i, ms) in MOMENTS_MS.iter().enumerate() {
        // (b) The foreground CLI, killed `ms` after it was started.
        let name = unique_name(&format!("frente{i}"));
        let port = format!("{}:80", free_port());
        kill_after(lab, &run_args(&name, &port, false), *ms);
        names.push(name);

        // (c) The CLI of a run -d, then (if it got one going) the supervisor.
        let name = unique_name(&format!("fundo{i}"));
        let port = format!("{}:80", free_port());
        kill_after(lab, &run_args(&name, &port, true), *ms);
        std::thread::sleep(Duration::from_millis(ms * 2));
        if let Some(supervisor) = record_of(lab, &name)
            .and_then(|r| r["supervisor"].as_u64())
            .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
        {
            send_signal(supervisor as u32, 9);
        }
        names.push(name);
    }
    // A supervisor started just before its CLI was killed goes on and
    // starts the container (as docker's daemon would): it is killed too,
    // at whatever moment it has reached, for a second after the loop.
    for _ in 0..10 {
        for id in names.iter().filter_map(|n| id_of(lab, n)) {
            for pid in supervisors_of(&id) {
                send_signal(pid, 9);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let records: Vec<Value> = names.iter().filter_map(|n| record_of(lab, n)).collect();
    let ids: Vec<String> = records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let inits: Vec<u64> = records.iter().filter_map(|r| r["pid"].as_u64()).collect();

    // Every container dies with the process that held it.
    let began = Instant::now();
    while let Some(alive) = inits.iter().find(|pid| in_cgroup_of(**pid, &ids)) {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "o init {alive} sobreviveu ao kill -9 de quem o segurava"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // gc leaves alone what is younger than its minimum age (5 s).
    std::thread::sleep(Duration::from_secs(6));
    let gc = lab.casulo(&["gc"]);
    gc.assert_ok();

    for name in &names {
        if let Some(record) = record_of(lab, name) {
            assert_ne!(record["state"], "running", "{name}: {record:#}\n{gc}");
        }
    }
    let cgroups: Vec<_> = host_casulo_cgroups()
        .into_iter()
        .filter(|p| {
            ids.iter()
                .any(|id| p.to_string_lossy().contains(id.as_str()))
        })
        .collect();
    assert!(cgroups.is_empty(), "cgroups que ficaram: {cgroups:?}\n{gc}");
    for id in &ids {
        let lock = format!("/run/casulo/cgroups/{id}.lock");
        assert!(!Path::new(&lock).exists(), "{lock} ficou\n{gc}");
        let veth = format!("/sys/class/net/veth{}", &id[..8]);
        assert!(!Path::new(&veth).exists(), "{veth} ficou\n{gc}");
    }
    let leases: Vec<String> = std::fs::read_dir("/run/casulo/net/leases")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .filter(|t| ids.iter().any(|id| t.contains(id.as_str())))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        leases.is_empty(),
        "endereços ainda alugados: {leases:?}\n{gc}"
    );
    assert!(lab.mounts().is_empty(), "{:?}", lab.mounts());
    let new_mounts: Vec<String> = host_mountinfo()
        .into_iter()
        .filter(|m| !mounts_before.contains(m) && ids.iter().any(|id| m.contains(&id[..12])))
        .collect();
    assert!(new_mounts.is_empty(), "{new_mounts:?}");
    let tmp: Vec<_> = std::fs::read_dir(lab.root().join("tmp"))
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    // Lock files stay, empty, as flock needs them.
    let tmp: Vec<_> = tmp
        .into_iter()
        .filter(|n| !n.to_string_lossy().ends_with(".lock"))
        .collect();
    assert!(tmp.is_empty(), "temporários que ficaram: {tmp:?}");
    let half_made: Vec<_> = std::fs::read_dir(lab.root().join("layers"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(
        half_made.is_empty(),
        "camadas pela metade: {half_made:?}\n{gc}"
    );
    for dir in std::fs::read_dir(lab.root().join("containers"))
        .unwrap()
        .flatten()
    {
        assert!(
            dir.path().join("container.json").exists(),
            "{} sem registro\n{gc}",
            dir.path().display()
        );
    }
    for claim in std::fs::read_dir(lab.root().join("names"))
        .unwrap()
        .flatten()
    {
        let id = std::fs::read_to_string(claim.path()).unwrap();
        assert!(
            lab.root().join("containers").join(&id).exists(),
            "o nome {:?} aponta para um contêiner que não existe\n{gc}",
            claim.file_name()
        );
    }
    // What was killed can be removed like any stopped container.
    let known: Vec<&str> = names
        .iter()
        .filter(|n| record_of(lab, n).is_some())
        .map(String::as_str)
        .collect();
    if !known.is_empty() {
        let mut rm = vec!["rm"];
        rm.extend(&known);
        lab.casulo(&rm).assert_ok();
    }
    eprintln!(
        "{} execuções mortas, {} chegaram a ter registro; gc:\n{}",
        names.len(),
        known.len(),
        gc.stdout
    );
}
