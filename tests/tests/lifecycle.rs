//! docker's verbs for a container that runs under a `casulo run` in another
//! terminal: `stop`, `kill`, `wait`, `inspect`, `top`, and the ids, short
//! ids and names every verb accepts.

use std::process::Child;
use std::time::{Duration, Instant};

use casulo_tests::{host_casulo_cgroups, unique_name, wait_for_child, Lab};
use serde_json::Value;

/// `casulo run --name NAME busybox ARGS...` in the background (no --rm:
/// the record stays for `wait`/`inspect` after the end).
fn start(lab: &Lab, name: &str, args: &[&str]) -> Child {
    let mut all = vec!["run", "--name", name, "busybox"];
    all.extend_from_slice(args);
    lab.spawn(&all)
}

/// `casulo run OPTIONS --name NAME busybox sh -c "TRAP; sleep 300 & wait"`
/// in the background, once the trap is set (when the shell's child runs:
/// before, PID 1 would ignore the signal); the run and the container's id.
fn shell_with_trap(lab: &Lab, name: &str, options: &[&str], trap: &str) -> (Child, String) {
    let script = format!("{trap}; sleep 300 & wait");
    let mut all = vec!["run"];
    all.extend_from_slice(options);
    all.extend_from_slice(&["--name", name, "busybox", "sh", "-c", &script]);
    let run = lab.spawn(&all);
    let init = wait_for_child(run.id(), "sh");
    wait_for_child(init, "sleep");
    let id = inspect(lab, name)["Id"].as_str().unwrap().to_string();
    (run, id)
}

/// `casulo wait NAME` in the background, its output captured.
fn wait_in_background(lab: &Lab, name: &str) -> Child {
    lab.command(&["wait", name])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn inspect(lab: &Lab, key: &str) -> Value {
    let out = lab.casulo(&["inspect", key]);
    out.assert_ok();
    let all: Value = serde_json::from_str(&out.stdout).expect("inspect prints JSON");
    all[0].clone()
}

/// Nothing of the container is left on the host once it ended.
fn assert_nothing_left(lab: &Lab, id: &str) {
    assert!(lab.mounts().is_empty(), "{:?}", lab.mounts());
    let cgroups: Vec<_> = host_casulo_cgroups()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(id))
        .collect();
    assert!(cgroups.is_empty(), "{cgroups:?}");
}

/// A shell (PID 1) that handles SIGTERM: `stop` ends it with its
/// StopSignal, the run exits 143, `wait` and `inspect` tell the code.
#[test]
fn stop_ends_a_container_with_sigterm_and_wait_prints_the_code() {
    let lab = Lab::shared();
    let name = unique_name("parar");
    let (mut run, id) = shell_with_trap(lab, &name, &[], "trap 'exit 143' TERM");
    let waiter = wait_in_background(lab, &name);

    let began = Instant::now();
    let out = lab.casulo(&["stop", "-t", "10", &name]);
    out.assert_ok();
    assert!(out.stderr.contains("parou com SIGTERM"), "{out}");
    assert!(
        began.elapsed() < Duration::from_secs(9),
        "não esperou o prazo todo"
    );
    assert_eq!(run.wait().unwrap().code(), Some(143));
    let waited = waiter.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&waited.stdout).trim(), "143");

    let after = inspect(lab, &name);
    assert_eq!(after["State"]["Status"], "exited");
    assert_eq!(after["State"]["ExitCode"], 143);
    // `wait` on one that already ended answers at once; `stop` is a no-op.
    let again = lab.casulo(&["wait", &name]);
    again.assert_ok();
    assert_eq!(again.stdout.trim(), "143");
    lab.casulo(&["stop", &name]).assert_ok();
    lab.casulo(&["rm", &name]).assert_ok();
    assert_nothing_left(lab, &id);
}

/// `wait` on a `run --rm` container: its record goes with it as it ends
/// (nothing rewrites it first), and `wait` still prints the code, read from
/// the container's trace, as docker's `wait` answers for an `--rm` one.
#[test]
fn wait_prints_the_code_of_a_run_rm_container_from_its_trace() {
    let lab = Lab::shared();
    let name = unique_name("rm-espera");
    let (mut run, id) = shell_with_trap(lab, &name, &["--rm"], "trap 'exit 7' USR1");
    let waiter = wait_in_background(lab, &name);
    // The waiter holds a pidfd of the init once it found the container:
    // only then may the container end (and its record go).
    let fds = format!("/proc/{}/fd", waiter.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_dir(&fds).unwrap().flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|t| t.to_string_lossy().contains("pidfd"))
    }) {
        assert!(
            Instant::now() < deadline,
            "o `casulo wait` não chegou a esperar"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    lab.casulo(&["kill", "-s", "USR1", &name]).assert_ok();
    assert_eq!(run.wait().unwrap().code(), Some(7));
    let waited = waiter.wait_with_output().unwrap();
    assert!(waited.status.success(), "{waited:?}");
    assert_eq!(String::from_utf8_lossy(&waited.stdout).trim(), "7");
    let all = lab.casulo(&["ps", "-a", "--format", "{{.Names}}"]);
    all.assert_ok();
    assert!(!all.stdout.lines().any(|l| l == name), "{all}");
    assert_nothing_left(lab, &id);
}

/// A PID 1 that ignores SIGTERM: after `-t 1`, SIGKILL (137), and `stop`
/// returns soon after the timeout.
#[test]
fn stop_escalates_to_sigkill_after_the_timeout() {
    let lab = Lab::shared();
    let name = unique_name("teimoso");
    // `; exit 0`: so sh stays PID 1 (a last command would be exec'd in its place).
    let mut run = start(lab, &name, &["sh", "-c", "trap '' TERM; sleep 300; exit 0"]);
    let init = wait_for_child(run.id(), "sh");
    wait_for_child(init, "sleep");
    let id = inspect(lab, &name)["Id"].as_str().unwrap().to_string();

    let began = Instant::now();
    let out = lab.casulo(&["stop", "-t", "1", &name]);
    let took = began.elapsed();
    out.assert_ok();
    assert!(out.stderr.contains("recebeu SIGKILL"), "{out}");
    assert!(took >= Duration::from_secs(1), "esperou o prazo: {took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    // `stop` returns once the run has recorded the end (a `stop && rm` is safe).
    assert_eq!(inspect(lab, &name)["State"]["ExitCode"], 137);
    assert_eq!(run.wait().unwrap().code(), Some(137));
    lab.casulo(&["rm", &name]).assert_ok();
    assert_nothing_left(lab, &id);
}

/// `kill -s INT` reaches a PID 1 that handles it; `kill` alone is SIGKILL;
/// a bad signal is refused in Portuguese.
#[test]
fn kill_sends_the_signal_asked_for() {
    let lab = Lab::shared();
    let name = unique_name("int");
    let mut run = start(
        lab,
        &name,
        &["sh", "-c", "trap 'exit 7' INT; sleep 300 & wait"],
    );
    let init = wait_for_child(run.id(), "sh");
    wait_for_child(init, "sleep");
    let bad = lab.casulo(&["kill", "-s", "NADA", &name]);
    bad.assert_code(125);
    assert!(bad.stderr.contains("sinal inválido: \"NADA\""), "{bad}");
    lab.casulo(&["kill", "-s", "INT", &name]).assert_ok();
    assert_eq!(run.wait().unwrap().code(), Some(7));
    // Not running any more: kill says so.
    let late = lab.casulo(&["kill", &name]);
    late.assert_code(1);
    assert!(late.stderr.contains("não está rodando"), "{late}");
    lab.casulo(&["rm", &name]).assert_ok();

    let name = unique_name("kill9");
    let mut run = start(lab, &name, &["sleep", "300"]);
    wait_for_child(run.id(), "sleep");
    lab.casulo(&["kill", &name]).assert_ok();
    assert_eq!(run.wait().unwrap().code(), Some(137));
    lab.casulo(&["rm", &name]).assert_ok();
}

/// `inspect` and `top` of a running container, by name, full id and a
/// short id; an ambiguous prefix is refused with the matches.
#[test]
fn inspect_and_top_by_name_id_and_prefix() {
    let lab = Lab::shared();
    let name = unique_name("olhar");
    let mut run = start(lab, &name, &["sleep", "300"]);
    let init = wait_for_child(run.id(), "sleep");

    let info = inspect(lab, &name);
    let id = info["Id"].as_str().unwrap().to_string();
    assert_eq!(info["Name"], name.as_str());
    assert_eq!(info["State"]["Status"], "running");
    assert_eq!(info["State"]["Running"], true);
    assert_eq!(info["State"]["Pid"], init);
    assert_eq!(info["Config"]["Cmd"], serde_json::json!(["sleep", "300"]));
    assert_eq!(inspect(lab, &id)["Id"], id.as_str());

    let top = lab.casulo(&["top", &id[..12]]);
    top.assert_ok();
    let line = top
        .stdout
        .lines()
        .find(|l| l.contains("sleep 300"))
        .unwrap_or_else(|| panic!("{top}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols[..3], ["root", &init.to_string(), "1"], "{top}");

    lab.casulo(&["kill", &id[..12]]).assert_ok();
    assert_eq!(run.wait().unwrap().code(), Some(137));
    lab.casulo(&["rm", &id]).assert_ok();
    assert_nothing_left(lab, &id);
}

#[test]
fn an_ambiguous_prefix_is_refused_with_the_matches() {
    let lab = Lab::shared();
    // Short-lived containers until two share their first hex digit (at
    // most 17, by the pigeonhole principle).
    let mut made: Vec<(String, String)> = Vec::new();
    let pair = loop {
        let name = unique_name("prefixo");
        lab.casulo(&["run", "--name", &name, "busybox", "true"])
            .assert_ok();
        let id = inspect(lab, &name)["Id"].as_str().unwrap().to_string();
        if let Some(other) = made.iter().find(|(_, o)| o[..1] == id[..1]) {
            break (other.clone(), (name, id));
        }
        made.push((name, id));
    };
    let (a, b) = pair;
    let prefix = &a.1[..1];
    let out = lab.casulo(&["inspect", prefix]);
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("é o começo do id de mais de um contêiner"),
        "{out}"
    );
    for (name, id) in [&a, &b] {
        assert!(
            out.stderr.contains(&format!("{} ({name})", &id[..12])),
            "{out}"
        );
    }
    // One digit more than they share picks one of them.
    let common =
        a.1.chars()
            .zip(b.1.chars())
            .take_while(|(x, y)| x == y)
            .count();
    let unique = &b.1[..common + 1];
    let mine = lab.casulo(&["wait", unique]);
    if mine.success() {
        assert_eq!(mine.stdout.trim(), "0");
    } else {
        // Another test's container may share those digits too.
        assert!(mine.stderr.contains("mais de um contêiner"), "{mine}");
    }
    let missing = lab.casulo(&["inspect", "nao-existe-esse"]);
    missing.assert_code(1);
    assert!(
        missing.stderr.contains("contêiner não encontrado"),
        "{missing}"
    );
    for (name, _) in made.iter().chain([&b]) {
        lab.casulo(&["rm", name]).assert_ok();
    }
}

/// A record left saying "running" (its `casulo run` was killed) whose pid
/// the host gave to another process: `kill` and `stop` must not signal
/// that innocent process, and `ps` does not call the container running.
#[test]
fn a_stale_pid_in_the_record_is_never_signalled() {
    let lab = Lab::shared();
    let name = unique_name("velho");
    lab.casulo(&["run", "--name", &name, "busybox", "true"])
        .assert_ok();
    let id = inspect(lab, &name)["Id"].as_str().unwrap().to_string();
    let mut innocent = std::process::Command::new("sleep")
        .arg("300")
        .spawn()
        .unwrap();
    let path = lab
        .root()
        .join("containers")
        .join(&id)
        .join("container.json");
    let mut record: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    record["state"] = "running".into();
    record["pid"] = innocent.id().into();
    std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();

    let out = lab.casulo(&["kill", &name]);
    out.assert_code(1);
    assert!(out.stderr.contains("não está rodando"), "{out}");
    lab.casulo(&["stop", "-t", "1", &name]).assert_ok();
    assert_eq!(inspect(lab, &name)["State"]["Status"], "exited");
    assert!(
        innocent.try_wait().unwrap().is_none(),
        "o sleep do host foi morto"
    );
    innocent.kill().unwrap();
    innocent.wait().unwrap();
    lab.casulo(&["rm", &name]).assert_ok();
}
