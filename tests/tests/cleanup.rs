//! Nothing left behind: no mount on the host, no container directory with
//! `--rm`, on success, on every kind of failure, and when the command is killed;
//! generated names that never collide; `casulo gc` deleting the bridge
//! `casulo0` once nothing uses it.

use std::path::Path;
use std::time::{Duration, Instant};

use casulo_tests::{host_mountinfo, send_signal, unique_name, Lab, PROBE_IMAGE};

#[test]
fn no_mount_leaks_on_success_failure_or_a_setup_error() {
    let lab = Lab::shared();
    let before = host_mountinfo();
    // success
    lab.casulo(&["run", "--rm", "busybox", "true"]).assert_ok();
    // the command fails
    lab.casulo(&["run", "--rm", "busybox", "sh", "-c", "exit 7"])
        .assert_code(7);
    // the command does not exist (the init exits before exec)
    lab.casulo(&["run", "--rm", "busybox", "nao-existe"])
        .assert_code(127);
    // the kernel refuses a set-up step inside the init: a hostname longer
    // than 64 bytes makes sethostname fail with EINVAL, after the overlay
    // and /proc, /sys, /dev were already mounted.
    let long = "h".repeat(65);
    let out = lab.casulo(&["run", "--rm", "--hostname", &long, "busybox", "true"]);
    out.assert_code(125);
    assert!(
        out.stderr.contains("sethostname") && out.stderr.contains("EINVAL"),
        "{out}"
    );
    let trace = casulo_trace::reader::read_trace_file(out.trace_path().unwrap()).unwrap();
    let failed = trace
        .events
        .iter()
        .find(|e| !e.outcome.is_ok())
        .expect("o erro está no trace");
    assert_eq!(failed.body.kind(), "uts.sethostname");
    assert_eq!(host_mountinfo(), before, "nenhuma montagem sobrou no host");
    assert!(lab.mounts().is_empty());
}

#[test]
fn rm_leaves_no_container_directory_and_no_name_claim() {
    let lab = Lab::shared();
    let name = unique_name("rm");
    lab.casulo(&[
        "run",
        "--rm",
        "--name",
        &name,
        PROBE_IMAGE,
        "/probe",
        "write",
        "/x",
        "y",
    ])
    .assert_ok();
    assert!(!lab.root().join("names").join(&name).exists());
    // The name is free again.
    lab.casulo(&["run", "--rm", "--name", &name, "busybox", "true"])
        .assert_ok();
}

#[test]
fn an_engine_error_removes_the_half_made_container_even_without_rm() {
    let lab = Lab::shared();
    let name = unique_name("half");
    let out = lab.casulo(&["run", "--name", &name, "busybox", "nao-existe"]);
    out.assert_code(127);
    assert!(!lab.root().join("names").join(&name).exists(), "{out}");
    // The trace stays: it tells what went wrong.
    assert!(out.trace_path().unwrap().exists());
}

#[test]
fn killing_casulo_itself_kills_the_container_and_keeps_the_trace_readable() {
    let lab = Lab::shared();
    let before = host_mountinfo();
    let name = unique_name("orphan");
    let mut child = lab.spawn(&["run", "--name", &name, "busybox", "sleep", "300"]);
    let path = lab.wait_for_exec(&name);
    let trace = casulo_trace::reader::read_trace_file(&path).unwrap();
    let init = trace
        .events
        .iter()
        .find_map(|e| match e.body {
            casulo_trace::EventBody::ProcessClone { child_pid, .. } => Some(child_pid),
            _ => None,
        })
        .unwrap();
    child.kill().unwrap(); // SIGKILL to casulo: no cleanup code of ours runs
    child.wait().unwrap();
    // PR_SET_PDEATHSIG: the kernel kills the container's init with its parent.
    let gone = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        !std::path::Path::new(&format!("/proc/{init}")).exists()
    });
    assert!(gone, "o contêiner morreu junto com o casulo");
    // Everything recorded before the crash is there and valid.
    let trace = casulo_trace::reader::read_trace_file(&path).unwrap();
    // (After the exec only the sampler wrote: cgroup.sample events.)
    let last = trace
        .events
        .iter()
        .rfind(|e| e.body.kind() != "cgroup.sample")
        .unwrap();
    assert_eq!(last.body.kind(), "process.exec");
    assert_eq!(host_mountinfo(), before);
    // Its cgroup stayed behind, empty: `casulo gc` removes it once it is
    // old enough (5 s).
    let orphans: Vec<_> = casulo_tests::trace_cgroup_paths(&path)
        .into_iter()
        .filter(|p| !p.ends_with("casulo"))
        .collect();
    for _ in 0..40 {
        lab.casulo(&["gc"]).assert_ok();
        if orphans.iter().all(|p| !p.exists()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert!(orphans.iter().all(|p| !p.exists()), "{orphans:?}");
}

#[test]
fn ps_lists_a_kept_container_and_rm_removes_it() {
    let lab = Lab::shared();
    let name = unique_name("kept");
    lab.casulo(&["run", "--name", &name, "busybox", "sh", "-c", "exit 4"])
        .assert_code(4);
    let ps = lab.casulo(&["ps", "-a"]);
    ps.assert_ok();
    let line = ps
        .stdout
        .lines()
        .find(|l| l.ends_with(&name))
        .unwrap_or_else(|| panic!("{ps}"));
    assert!(
        line.contains("terminou (4)") && line.contains("busybox:latest"),
        "{line}"
    );
    assert!(
        !lab.casulo(&["ps"]).stdout.contains(&name),
        "sem -a, só os que rodam"
    );
    let rm = lab.casulo(&["rm", &name]);
    rm.assert_ok();
    assert!(!lab.casulo(&["ps", "-a"]).stdout.contains(&name));
    assert!(!lab.root().join("names").join(&name).exists());
    let again = lab.casulo(&["rm", &name]);
    assert_ne!(again.code, 0);
    assert!(again.stderr.contains("contêiner não encontrado"), "{again}");
}

#[test]
fn parallel_runs_without_a_name_all_get_distinct_names() {
    let lab = Lab::shared();
    let outs: Vec<_> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..12)
            .map(|_| scope.spawn(|| lab.casulo(&["run", "busybox", "true"])))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut names = Vec::new();
    for out in &outs {
        out.assert_ok();
        let trace = casulo_trace::reader::read_trace_file(out.trace_path().unwrap()).unwrap();
        names.push(trace.header.container.name);
    }
    for name in &names {
        // adjective_animal, both in lowercase ASCII (animals may have '-').
        let (adj, animal) = name.split_once('_').unwrap_or_else(|| panic!("{name}"));
        assert!(adj.bytes().all(|b| b.is_ascii_lowercase()), "{name}");
        assert!(
            animal.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{name}"
        );
        lab.casulo(&["rm", name]).assert_ok();
    }
    let mut distinct = names.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), names.len(), "{names:?}");
}

const BRIDGE: &str = "/sys/class/net/casulo0";
const LEASES: &str = "/run/casulo/net/leases";

/// Leases held by other live casulos (another test binary or run on this
/// host): while one exists, gc must keep the bridge.
fn leases_of_others() -> Vec<String> {
    std::fs::read_dir(LEASES)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .filter(|t| {
                    t.lines()
                        .find_map(|l| l.strip_prefix("pid="))
                        .is_some_and(|pid| Path::new("/proc").join(pid).exists())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn gc_keeps_the_bridge_while_a_container_uses_it_and_deletes_it_after() {
    let lab = Lab::shared();
    let name = unique_name("ponte");
    let (mut child, trace) = lab.spawn_on_bridge(&name);
    let id = casulo_trace::reader::read_trace_file(&trace)
        .unwrap()
        .header
        .container
        .id;
    let veth = format!("/sys/class/net/veth{}", &id[..8]);
    let out = lab.casulo(&["gc"]);
    out.assert_ok();
    assert!(!out.stdout.contains("casulo0"), "{out}");
    assert!(Path::new(BRIDGE).exists(), "a bridge fica enquanto é usada");
    assert!(Path::new(&veth).exists(), "o veth do contêiner vivo fica");
    // Stop it: the first SIGTERM is forwarded (sleep, as PID 1, ignores
    // it), the second becomes SIGKILL.
    send_signal(child.id(), 15);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut again = Some(Instant::now() + Duration::from_millis(300));
    while child.try_wait().unwrap().is_none() {
        if again.is_some_and(|t| Instant::now() > t) {
            send_signal(child.id(), 15);
            again = None;
        }
        assert!(Instant::now() < deadline, "o casulo não terminou");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The run ended; the bridge stays (like docker0) until a gc.
    let out = lab.casulo(&["gc"]);
    out.assert_ok();
    if out.stdout.contains("removido: bridge casulo0") {
        assert!(!Path::new(BRIDGE).exists(), "{out}");
    } else if Path::new(BRIDGE).exists() {
        // (Another test's gc may have deleted it first.) Only another
        // casulo's container on the bridge may keep it.
        let others = leases_of_others();
        assert!(!others.is_empty(), "gc não removeu a casulo0:\n{out}");
        eprintln!("outro casulo usa a rede agora ({others:?}): casulo0 fica");
    }
    // The next bridge run creates it again.
    lab.casulo(&["run", "--rm", "--network", "bridge", "busybox", "true"])
        .assert_ok();
}
