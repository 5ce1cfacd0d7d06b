//! `pause`, `unpause` and `stats` on a container that runs under a
//! `casulo run` in the background: the cgroup freezer really stops the
//! container's CPU time, the record and the trace say so, and `stats`
//! reads what `cgroup.sample` reads.

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use casulo_tests::{host_casulo_cgroups, unique_name, wait_for_child, Lab, PROBE_IMAGE};
use casulo_trace::EventBody;
use serde_json::Value;

fn inspect(lab: &Lab, key: &str) -> Value {
    let out = lab.casulo(&["inspect", key]);
    out.assert_ok();
    let all: Value = serde_json::from_str(&out.stdout).expect("inspect prints JSON");
    all[0].clone()
}

fn is_v2() -> bool {
    std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The container's CPU time so far, in ns, read straight from its cgroup
/// (v1 `cpuacct.usage`; v2 `usage_usec` of `cpu.stat`).
fn cpu_ns(id: &str) -> u64 {
    if is_v2() {
        let stat = std::fs::read_to_string(format!("/sys/fs/cgroup/casulo/{id}/cpu.stat")).unwrap();
        let us: u64 = stat
            .lines()
            .find_map(|l| l.strip_prefix("usage_usec "))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        us * 1000
    } else {
        std::fs::read_to_string(format!("/sys/fs/cgroup/cpuacct/casulo/{id}/cpuacct.usage"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

/// What the kernel's freezer says now: frozen or not.
fn frozen(id: &str) -> bool {
    if is_v2() {
        std::fs::read_to_string(format!("/sys/fs/cgroup/casulo/{id}/cgroup.events"))
            .unwrap()
            .contains("frozen 1")
    } else {
        std::fs::read_to_string(format!("/sys/fs/cgroup/freezer/casulo/{id}/freezer.state"))
            .unwrap()
            .trim()
            == "FROZEN"
    }
}

/// CPU time used by the container over `d`.
fn cpu_used_over(id: &str, d: Duration) -> u64 {
    let before = cpu_ns(id);
    std::thread::sleep(d);
    cpu_ns(id) - before
}

/// Starts `casulo run --name NAME EXTRA... IMAGE ARGS...` in the
/// background and waits for the container's init `comm`; returns the run
/// and the container's id.
fn start(lab: &Lab, name: &str, extra: &[&str], args: &[&str], comm: &str) -> (Child, String) {
    let mut all = vec!["run", "--name", name];
    all.extend_from_slice(extra);
    all.extend_from_slice(args);
    let run = lab.spawn(&all);
    wait_for_child(run.id(), comm);
    let id = inspect(lab, name)["Id"].as_str().unwrap().to_string();
    (run, id)
}

/// The run has ended, its record and cgroups are gone.
fn clean_up(lab: &Lab, mut run: Child, name: &str, id: &str) -> Option<i32> {
    let code = run.wait().unwrap().code();
    lab.casulo(&["rm", name]).assert_ok();
    let left: Vec<PathBuf> = host_casulo_cgroups()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(id))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(lab.mounts().is_empty(), "{:?}", lab.mounts());
    code
}

/// A busy loop stops using CPU while paused and goes on after unpause;
/// pausing twice is refused; `stop` ends a paused container; the trace has
/// every freeze and thaw, with no gap in its numbering.
#[test]
fn pause_freezes_the_cpu_and_unpause_lets_it_go_on() {
    let lab = Lab::shared();
    let name = unique_name("gelo");
    let (run, id) = start(
        lab,
        &name,
        &[],
        &[PROBE_IMAGE, "/probe", "spin", "120"],
        "probe",
    );
    let trace = lab.wait_for_exec(&name);
    let tick = Duration::from_millis(500);
    assert!(cpu_used_over(&id, tick) > 50_000_000, "o laço gasta CPU");

    let out = lab.casulo(&["pause", &name]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), name);
    assert!(frozen(&id), "o freezer do kernel diz congelado");
    // Frozen: not a microsecond more of CPU (a little slack for an
    // accounting tick already on its way).
    let used = cpu_used_over(&id, tick);
    assert!(used < 2_000_000, "pausado gastou {used} ns de CPU");
    let state = inspect(lab, &name)["State"].clone();
    assert_eq!(state["Status"], "paused");
    assert_eq!(state["Paused"], true);
    let ps = lab.casulo(&["ps"]);
    let line = ps
        .stdout
        .lines()
        .find(|l| l.contains(&name))
        .expect("ps mostra o pausado");
    assert!(line.contains("pausado"), "{line}");

    let again = lab.casulo(&["pause", &name]);
    again.assert_code(1);
    assert!(again.stderr.contains("já está pausado"), "{again}");

    lab.casulo(&["unpause", &name]).assert_ok();
    assert!(!frozen(&id));
    assert!(cpu_used_over(&id, tick) > 50_000_000, "voltou a gastar CPU");
    assert_eq!(inspect(lab, &name)["State"]["Status"], "running");
    let not = lab.casulo(&["unpause", &name]);
    not.assert_code(1);
    assert!(not.stderr.contains("não está pausado"), "{not}");

    // Stopped while paused: the probe (PID 1) ignores SIGTERM, so SIGKILL
    // after -t 1, which only acts once the container is thawed.
    lab.casulo(&["pause", &name]).assert_ok();
    let began = Instant::now();
    let out = lab.casulo(&["stop", "-t", "1", &name]);
    out.assert_ok();
    assert!(began.elapsed() < Duration::from_secs(8), "{out}");
    assert_eq!(clean_up(lab, run, &name, &id), Some(137));

    // Every freeze and thaw is in the container's trace; the reader
    // refuses a gap or a repeat in seq.
    let trace = casulo_trace::reader::read_trace_file(&trace).expect("trace sem buracos");
    let freezes: Vec<(bool, String)> = trace
        .events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::CgroupFreeze { frozen, file } => Some((*frozen, file.clone())),
            _ => None,
        })
        .collect();
    let order: Vec<bool> = freezes.iter().map(|f| f.0).collect();
    assert_eq!(order, [true, false, true, false], "{freezes:?}");
    let file = if is_v2() {
        "cgroup.freeze"
    } else {
        "freezer.state"
    };
    assert!(freezes
        .iter()
        .all(|(_, f)| f.ends_with(file) && f.contains(&id)));
    let seqs: Vec<u64> = trace.events.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
}

/// `stats --no-stream` shows the container once, with what its cgroup
/// holds: memory under its --memory limit, the processes it runs.
#[test]
fn stats_shows_memory_against_the_limit_and_the_processes() {
    let lab = Lab::shared();
    let name = unique_name("medido");
    let (run, id) = start(
        lab,
        &name,
        &["--memory", "64m", "--pids-limit", "20"],
        &[
            "busybox",
            "sh",
            "-c",
            "sleep 300 & sleep 300 & wait; exit 0",
        ],
        "sh",
    );
    // sh and its two sleeps.
    for _ in 0..100 {
        if lab.casulo(&["top", &name]).stdout.lines().count() == 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    let out = lab.casulo(&["stats", "--no-stream", "--format", "json", &name]);
    out.assert_ok();
    let rows: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("uma linha, um JSON"))
        .collect();
    assert_eq!(rows.len(), 1, "{out}");
    let row = &rows[0];
    assert_eq!(row["name"], name.as_str());
    assert_eq!(row["id"], id.as_str());
    let memory = row["memory_bytes"].as_u64().unwrap();
    assert!(memory > 0 && memory <= 64 << 20, "{row}");
    assert_eq!(row["memory_limit_bytes"], 64u64 << 20);
    assert_eq!(row["memory_limited"], true);
    assert_eq!(row["pids"], 3, "{row}");
    assert_eq!(row["pids_limit"], 20);
    let cpu = row["cpu_percent"].as_f64().expect("CPU % de duas leituras");
    assert!((0.0..50.0).contains(&cpu), "sleep quase não usa CPU: {cpu}");

    let table = lab.casulo(&["stats", "--no-stream", &name]);
    table.assert_ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(
        lines[0].starts_with("NOME") && lines[0].contains("USO / LIMITE"),
        "{table}"
    );
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[1].starts_with(&name) && lines[1].contains(&id[..12]),
        "{table}"
    );
    assert!(lines[1].contains("/ 64 MiB"), "{table}");
    assert!(lines[1].trim_end().ends_with(" 3"), "{table}");

    // Without names: every running container (other tests' too).
    let all = lab.casulo(&["stats", "--no-stream", "--format", "json"]);
    all.assert_ok();
    assert!(all.stdout.lines().any(|l| l.contains(&id)), "{all}");

    let unknown = lab.casulo(&["stats", "--no-stream", "nao-existe-mesmo"]);
    unknown.assert_code(125);
    assert!(unknown.stderr.contains("não encontrado"), "{unknown}");

    let trace = lab.wait_for_exec(&name);
    lab.casulo(&["stop", "-t", "1", &name]).assert_ok();
    clean_up(lab, run, &name, &id);
    // The run's own samples read the same files: same limits, same count.
    let trace = casulo_trace::reader::read_trace_file(&trace).unwrap();
    let sampled = trace.events.iter().rev().find_map(|e| match e.body {
        EventBody::CgroupSample {
            memory_limit_bytes,
            pids_limit,
            pids: Some(3),
            ..
        } => Some((memory_limit_bytes, pids_limit)),
        _ => None,
    });
    assert_eq!(sampled, Some((Some(64 << 20), Some(20))));
}

/// A container that is not running cannot be paused, nor unpaused.
#[test]
fn pause_of_an_ended_container_is_refused() {
    let lab = Lab::shared();
    let name = unique_name("fim");
    lab.casulo(&["run", "--name", &name, "busybox", "true"])
        .assert_ok();
    for verb in ["pause", "unpause"] {
        let out = lab.casulo(&[verb, &name]);
        out.assert_code(1);
        assert!(out.stderr.contains("não está rodando"), "{out}");
    }
    let stats = lab.casulo(&["stats", "--no-stream", &name]);
    stats.assert_code(125);
    assert!(stats.stderr.contains("não está rodando"), "{stats}");
    lab.casulo(&["rm", &name]).assert_ok();
}

/// A `-d` container (its supervisor, not a terminal, waits for it) pauses
/// and unpauses the same way; `kill` of a paused one ends it and its
/// supervisor records the end.
#[test]
fn a_detached_container_pauses_and_a_kill_ends_it_while_paused() {
    let lab = Lab::shared();
    let name = unique_name("gelo-d");
    let out = lab.casulo(&[
        "run",
        "-d",
        "--name",
        &name,
        PROBE_IMAGE,
        "/probe",
        "spin",
        "120",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{out}");
    // Running (the probe's exec is in the trace) before it is paused.
    lab.wait_for_exec(&name);
    lab.casulo(&["pause", &name]).assert_ok();
    assert!(frozen(&id));
    let used = cpu_used_over(&id, Duration::from_millis(500));
    assert!(used < 2_000_000, "pausado gastou {used} ns de CPU");
    let stats = lab.casulo(&["stats", "--no-stream", "--format", "json", &name]);
    stats.assert_ok();
    let row: Value = serde_json::from_str(stats.stdout.trim()).unwrap();
    assert_eq!(row["paused"], true);
    assert_eq!(row["cpu_percent"].as_f64(), Some(0.0), "{row}");
    // SIGKILL acts only once thawed: kill thaws it right after.
    lab.casulo(&["kill", &name]).assert_ok();
    let waited = lab.casulo(&["wait", &name]);
    waited.assert_ok();
    assert_eq!(waited.stdout.trim(), "137");
    assert_eq!(inspect(lab, &name)["State"]["Status"], "exited");
    lab.casulo(&["rm", &name]).assert_ok();
    let left: Vec<PathBuf> = host_casulo_cgroups()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(&id))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
