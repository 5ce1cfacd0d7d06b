//! Containers that live on without their `casulo run`: `run -d` and its
//! supervisor, `logs`, `start`, `restart`, `rm -f`, `--restart`, and what
//! `casulo gc` does when a supervisor is killed.

use std::time::{Duration, Instant};

use casulo_tests::{host_casulo_cgroups, send_signal, unique_name, Lab};
use serde_json::Value;

/// `casulo run -d --name NAME [OPTS] busybox ARGS...`: the full id it printed.
fn run_d(lab: &Lab, name: &str, opts: &[&str], args: &[&str]) -> String {
    let mut all = vec!["run", "-d", "--name", name];
    all.extend_from_slice(opts);
    all.push("busybox");
    all.extend_from_slice(args);
    let out = lab.casulo(&all);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "run -d imprime o id inteiro:\n{out}");
    id
}

fn inspect(lab: &Lab, key: &str) -> Value {
    let out = lab.casulo(&["inspect", key]);
    out.assert_ok();
    let all: Value = serde_json::from_str(&out.stdout).expect("inspect prints JSON");
    all[0].clone()
}

/// Polls `inspect` until `ok` holds (at most `limit`).
fn until(lab: &Lab, key: &str, limit: Duration, ok: impl Fn(&Value) -> bool) -> Value {
    let began = Instant::now();
    loop {
        let now = inspect(lab, key);
        if ok(&now) {
            return now;
        }
        assert!(
            began.elapsed() < limit,
            "o contêiner {key} não chegou ao estado esperado: {now:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cgroups_of(id: &str) -> Vec<std::path::PathBuf> {
    host_casulo_cgroups()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(id))
        .collect()
}

fn trace_of(info: &Value) -> casulo_trace::Trace {
    let path = info["Casulo"]["Trace"].as_str().unwrap();
    casulo_trace::read_trace_file(path).expect("trace válido (seq sem buracos)")
}

/// The names of the signals the container's trace says were sent.
fn signals_in(info: &Value) -> Vec<String> {
    trace_of(info)
        .events
        .iter()
        .filter_map(|e| match &e.body {
            casulo_trace::EventBody::ProcessSignal { signal_name, .. } => Some(signal_name.clone()),
            _ => None,
        })
        .collect()
}

/// `rename` works on a running container: the old name is free at once
/// (another container takes it), the new one finds it (also through
/// docker's `--format` templates), a taken, equal or malformed name is
/// refused with exit 125 and changes nothing.
#[test]
fn rename_frees_the_old_name_and_refuses_a_taken_one() {
    let lab = Lab::shared();
    let old = unique_name("velho");
    let new = unique_name("novo");
    let id = run_d(lab, &old, &[], &["sleep", "300"]);
    let out = lab.casulo(&["rename", &old, &new]);
    out.assert_ok();
    assert!(out.stdout.contains(&new), "{out}");
    let info = inspect(lab, &new);
    assert_eq!(info["Id"], id.as_str());
    assert_eq!(info["Name"], new.as_str(), "{info:#}");
    assert_ne!(lab.casulo(&["inspect", &old]).code, 0);
    let ps = lab.casulo(&["ps"]);
    assert!(ps.stdout.lines().any(|l| l.ends_with(&new)), "{ps}");
    // docker's templates: ps --format and inspect -f.
    let ps = lab.casulo(&["ps", "--format", "{{.Names}}={{.State}}"]);
    ps.assert_ok();
    assert!(
        ps.stdout.lines().any(|l| l == format!("{new}=running")),
        "{ps}"
    );
    let table = lab.casulo(&["ps", "--format", r"table {{.ID}}\t{{.Names}}"]);
    assert!(table.stdout.starts_with("CONTAINER ID   NAMES"), "{table}");
    let status = lab.casulo(&["inspect", "-f", "{{.State.Status}} {{.Name}}", &new]);
    assert_eq!(status.stdout.trim(), format!("running {new}"), "{status}");
    let wrong = lab.casulo(&["inspect", "-f", "{{.State.Nada}}", &new]);
    assert_eq!(wrong.code, 125, "{wrong}");
    assert!(wrong.stderr.contains(".State.Nada"), "{wrong}");
    // The old name is free: a second container takes it.
    let other = run_d(lab, &old, &[], &["sleep", "300"]);
    for (key, to) in [
        (&new, &old),
        (&new, &new),
        (&new, &"com espaço".to_string()),
    ] {
        let refused = lab.casulo(&["rename", key, to]);
        assert_eq!(refused.code, 125, "rename {key} {to}:\n{refused}");
        assert!(refused.stderr.contains(to.as_str()), "{refused}");
    }
    assert_eq!(inspect(lab, &new)["Id"], id.as_str());
    assert_eq!(inspect(lab, &old)["Id"], other.as_str());
    lab.casulo(&["rm", "-f", &new, &old]).assert_ok();
}

/// The container outlives the CLI: `run -d` returns at once, the
/// container's init and its supervisor live on outside the CLI's session,
/// `ps` lists it, its output goes to `logs` (stdout and stderr apart, with
/// `--tail` and `-t`), `logs -f` follows until it ends, and the trace goes
/// on from the supervisor with a gapless `seq`.
#[test]
fn a_detached_container_lives_on_and_its_logs_are_kept_and_followed() {
    let lab = Lab::shared();
    let name = unique_name("fundo");
    let id = run_d(
        lab,
        &name,
        &[],
        &[
            "sh",
            "-c",
            "echo saida; echo erro >&2; while [ ! -e /fim ]; do sleep 0.05; done; \
             for i in 1 2 3; do echo linha $i; done; exit 7",
        ],
    );
    let info = until(lab, &name, Duration::from_secs(10), |v| {
        v["State"]["Status"] == "running"
    });
    assert_eq!(info["Id"], id);
    let pid = info["State"]["Pid"].as_u64().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    let supervisor = info["Casulo"]["Supervisor"]
        .as_u64()
        .expect("um supervisor");
    let cmdline = std::fs::read(format!("/proc/{supervisor}/cmdline")).unwrap();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("__supervisor"),
        "{cmdline:?}"
    );
    // Its own session: a Ctrl-C in the terminal of `casulo run` never reaches it.
    let sid = |pid: u64| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(3).unwrap().to_string()
    };
    assert_eq!(sid(supervisor), supervisor.to_string());
    let ps = lab.casulo(&["ps", "--format", "json"]);
    ps.assert_ok();
    let mine: Vec<Value> = ps
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["Names"] == name.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{ps}");
    assert_eq!(mine[0]["State"], "running");

    // The first lines, each on its own stream.
    let began = Instant::now();
    let logs = loop {
        let logs = lab.casulo(&["logs", &name]);
        logs.assert_ok();
        if logs.stderr.contains("erro") || began.elapsed() > Duration::from_secs(10) {
            break logs;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(logs.stdout, "saida\n", "{logs}");
    assert_eq!(logs.stderr, "erro\n", "{logs}");

    // `logs -f` follows until the end: started now, it sees what comes later.
    let follower = lab
        .command(&["logs", "-f", "-t", &name])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(format!("/proc/{pid}/root/fim"), "").unwrap();
    let followed = follower.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&followed.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    for (line, text) in lines.iter().zip(["saida", "linha 1", "linha 2", "linha 3"]) {
        let (time, rest) = line.split_once(' ').unwrap();
        assert!(time.ends_with('Z') && time.contains('T'), "{line}");
        assert_eq!(rest, text);
    }
    let tail = lab.casulo(&["logs", "--tail", "2", &name]);
    assert_eq!(tail.stdout, "linha 2\nlinha 3\n", "{tail}");

    let info = until(lab, &name, Duration::from_secs(10), |v| {
        v["State"]["Status"] == "exited" && v["Casulo"]["Supervisor"].is_null()
    });
    assert_eq!(info["State"]["ExitCode"], 7);
    assert_ne!(info["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
    let wait = lab.casulo(&["wait", &name]);
    assert_eq!(wait.stdout.trim(), "7", "{wait}");
    // The trace: the CLI's events (create, unpack), then the supervisor's
    // (clone, exec, samples, exit), one gapless sequence.
    let trace = trace_of(&info);
    let pids: std::collections::BTreeSet<i32> = trace.events.iter().map(|e| e.pid).collect();
    assert!(pids.contains(&(supervisor as i32)), "{pids:?}");
    assert!(trace
        .events
        .iter()
        .any(|e| matches!(&e.body, casulo_trace::EventBody::ProcessExit { .. })));
    assert!(cgroups_of(&id).is_empty());
    lab.casulo(&["rm", &name]).assert_ok();
}

/// `stop` of a PID 1 that ignores SIGTERM (`sleep`) escalates to SIGKILL
/// after `-t`, and both signals are in the container's trace, sent by the
/// `stop` process; `start` runs the same container again (same id, its
/// files kept, the trace going on), `restart` too; `rm -f` of a running one
/// leaves nothing.
#[test]
fn stop_escalates_start_and_restart_run_it_again_rm_f_removes_a_running_one() {
    let lab = Lab::shared();
    let name = unique_name("ciclo");
    let id = run_d(
        lab,
        &name,
        &[],
        &["sh", "-c", "echo x >> /contagem; exec sleep 300"],
    );
    until(lab, &name, Duration::from_secs(10), |v| {
        v["State"]["Status"] == "running"
    });
    std::thread::sleep(Duration::from_millis(200));
    let began = Instant::now();
    let stop = lab.casulo(&["stop", "-t", "1", &name]);
    stop.assert_ok();
    assert!(stop.stderr.contains("SIGKILL"), "{stop}");
    assert!(began.elapsed() >= Duration::from_secs(1));
    let info = inspect(lab, &name);
    assert_eq!(info["State"]["Status"], "exited", "{info:#}");
    assert_eq!(info["State"]["ExitCode"], 137);
    assert_eq!(signals_in(&info), vec!["SIGTERM", "SIGKILL"]);

    let start = lab.casulo(&["start", &name]);
    start.assert_ok();
    let again = until(lab, &name, Duration::from_secs(10), |v| {
        v["State"]["Status"] == "running"
    });
    assert_eq!(again["Id"], id.as_str());
    lab.casulo(&["restart", "-t", "0", &name]).assert_ok();
    let pid = until(lab, &name, Duration::from_secs(10), |v| {
        v["State"]["Status"] == "running"
    })["State"]["Pid"]
        .as_u64()
        .unwrap();
    // Three runs, one upper layer: the file grew each time.
    let began = Instant::now();
    let count = loop {
        let c = std::fs::read_to_string(format!("/proc/{pid}/root/contagem")).unwrap_or_default();
        if c.lines().count() >= 3 || began.elapsed() > Duration::from_secs(5) {
            break c;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(count, "x\nx\nx\n");

    let rm = lab.casulo(&["rm", &name]);
    assert_ne!(
        rm.code, 0,
        "rm sem -f de um contêiner rodando é recusado:\n{rm}"
    );
    let before = signals_in(&info).len();
    lab.casulo(&["rm", "-f", &name]).assert_ok();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    // The trace outlives the container, and rm -f's SIGKILL is its last signal.
    let signals = signals_in(&info);
    assert!(signals.len() > before, "{signals:?}");
    assert_eq!(signals.last().map(String::as_str), Some("SIGKILL"));
    assert!(lab.casulo(&["inspect", &name]).code != 0);
    assert!(cgroups_of(&id).is_empty());
    assert!(lab.mounts().is_empty(), "{:?}", lab.mounts());
}

/// `--restart on-failure:2`: three runs (the first and two restarts, with
/// docker's back-off), then it stays exited with its code; the trace holds
/// the three starts in one valid sequence and replays to the end.
#[test]
fn on_failure_restarts_up_to_its_limit() {
    let lab = Lab::shared();
    let name = unique_name("reinicia");
    run_d(
        lab,
        &name,
        &["--restart", "on-failure:2"],
        &["sh", "-c", "echo tentativa; exit 3"],
    );
    let info = until(lab, &name, Duration::from_secs(20), |v| {
        v["State"]["Status"] == "exited" && v["Casulo"]["Supervisor"].is_null()
    });
    assert_eq!(info["RestartCount"], 2);
    assert_eq!(info["State"]["ExitCode"], 3);
    assert_eq!(info["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(info["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 2);
    let logs = lab.casulo(&["logs", &name]);
    assert_eq!(logs.stdout, "tentativa\n".repeat(3), "{logs}");
    let trace = trace_of(&info);
    let execs = trace
        .events
        .iter()
        .filter(|e| matches!(&e.body, casulo_trace::EventBody::ProcessExec { .. }))
        .count();
    assert!(execs >= 3, "três execuções no trace, achei {execs}");
    let replay = casulo_trace::replay::Replay::new(trace.events.clone());
    let _ = replay.world_at(replay.len());
    // A bad policy is refused before anything exists.
    let bad = lab.casulo(&["run", "-d", "--restart", "sempre", "busybox", "true"]);
    assert_eq!(bad.code, 125, "{bad}");
    assert!(bad.stderr.contains("no, on-failure[:N], always"), "{bad}");
    lab.casulo(&["rm", &name]).assert_ok();
}

/// A command that does not exist: `run -d` says so (127) and leaves no
/// container behind; `-d --rm` removes the container when it ends.
#[test]
fn a_detached_start_that_fails_leaves_nothing_and_rm_removes_at_the_end() {
    let lab = Lab::shared();
    let name = unique_name("falha");
    let out = lab.casulo(&["run", "-d", "--name", &name, "busybox", "nao-existe-xyz"]);
    out.assert_code(127);
    assert!(out.stderr.contains("nao-existe-xyz"), "{out}");
    assert!(lab.casulo(&["inspect", &name]).code != 0, "nada fica");

    let name = unique_name("efemero");
    let id = run_d(lab, &name, &["--rm"], &["sh", "-c", "sleep 0.2"]);
    let began = Instant::now();
    while lab.casulo(&["inspect", &name]).success() {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "--rm não removeu"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!lab.root().join("containers").join(&id).exists());
}

/// The supervisor killed with SIGKILL: the kernel kills the container with
/// it (PDEATHSIG), and `casulo gc` removes its cgroup and turns the record
/// left saying "running" into "exited".
#[test]
fn gc_cleans_after_a_killed_supervisor() {
    let lab = Lab::shared();
    let name = unique_name("orfao");
    let id = run_d(lab, &name, &[], &["sleep", "300"]);
    let info = until(lab, &name, Duration::from_secs(10), |v| {
        v["State"]["Status"] == "running"
    });
    let supervisor = info["Casulo"]["Supervisor"].as_u64().unwrap() as u32;
    let pid = info["State"]["Pid"].as_u64().unwrap();
    send_signal(supervisor, 9);
    let began = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "o contêiner sobreviveu"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let record = lab
        .root()
        .join("containers")
        .join(&id)
        .join("container.json");
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(on_disk["state"], "running", "ninguém registrou o fim");
    // gc leaves alone what is younger than its minimum age (5 s).
    std::thread::sleep(Duration::from_secs(6));
    let gc = lab.casulo(&["gc"]);
    gc.assert_ok();
    assert!(gc.stdout.contains(&name), "{gc}");
    let on_disk: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(on_disk["state"], "exited");
    assert!(cgroups_of(&id).is_empty(), "{:?}", cgroups_of(&id));
    lab.casulo(&["rm", &name]).assert_ok();
}

/// 20 `run -d` at once from one image: 20 distinct ids and names, all
/// running in `ps`; each writes its own file and sees no one else's (one
/// upper layer each); all gone after `rm -f`.
#[test]
fn twenty_detached_containers_at_once_stay_apart() {
    let lab = Lab::shared();
    let names: Vec<String> = (0..20).map(|i| unique_name(&format!("vinte{i}"))).collect();
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| {
                s.spawn(move || {
                    run_d(
                        lab,
                        name,
                        &[],
                        &["sh", "-c", &format!("echo {name} > /meu; exec sleep 300")],
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 20);
    let ps = lab.casulo(&["ps", "--format", "json"]);
    let listed: Vec<Value> = ps
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| names.iter().any(|n| v["Names"] == n.as_str()))
        .collect();
    assert_eq!(listed.len(), 20, "{ps}");
    assert!(listed.iter().all(|v| v["State"] == "running"), "{ps}");
    for name in &names {
        let pid = until(lab, name, Duration::from_secs(10), |v| {
            v["State"]["Status"] == "running"
        })["State"]["Pid"]
            .as_u64()
            .unwrap();
        let began = Instant::now();
        let mine = loop {
            let m = std::fs::read_to_string(format!("/proc/{pid}/root/meu")).unwrap_or_default();
            if !m.is_empty() || began.elapsed() > Duration::from_secs(5) {
                break m;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(mine.trim(), name.as_str(), "cada um vê só o seu");
    }
    let mut rm = vec!["rm", "-f"];
    rm.extend(names.iter().map(String::as_str));
    lab.casulo(&rm).assert_ok();
    for id in &ids {
        assert!(cgroups_of(id).is_empty());
    }
}

/// `run -di`: the container's stdin is a pipe its supervisor keeps open;
/// each `attach` sends its own stdin there (through `attach.sock`) while it
/// follows the log. One attacher's input ending leaves the container's
/// stdin open for the next (docker's `run -di`); `--no-stdin` only watches;
/// `start -ai` feeds a restarted one; the socket goes with the container.
#[test]
fn attach_writes_to_the_stdin_of_a_di_container() {
    use std::io::Write;
    let lab = Lab::shared();
    let name = unique_name("entrada");
    let script = "while read l; do [ \"$l\" = fim ] && exit 3; echo \"eco: $l\"; done";
    let id = run_d(lab, &name, &["-i"], &["sh", "-c", script]);
    let socket = lab.root().join("containers").join(&id).join("attach.sock");
    assert!(socket.exists(), "o supervisor serve {}", socket.display());

    let attach = |args: &[&str], input: &[u8]| {
        let mut child = lab
            .command(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child
    };
    let logs_have = |line: &str| {
        let began = Instant::now();
        loop {
            let logs = lab.casulo(&["logs", &name]);
            if logs.stdout.lines().any(|l| l == line) {
                return logs.stdout;
            }
            assert!(
                began.elapsed() < Duration::from_secs(10),
                "o log não tem {line:?}:\n{logs}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };

    // The first attacher's input ends after "um": the container goes on.
    let first = attach(&["attach", &name], b"um\n");
    logs_have("eco: um");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(inspect(lab, &name)["State"]["Status"], "running");
    send_signal(first.id(), libc::SIGTERM);
    let first = first.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&first.stdout), "eco: um\n");

    // `--no-stdin` sends nothing: "fim" would end it.
    let mut watcher = attach(&["attach", "--no-stdin", &name], b"fim\n");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(inspect(lab, &name)["State"]["Status"], "running");
    send_signal(watcher.id(), libc::SIGTERM);
    let _ = watcher.wait();

    // The second one writes to the same stdin, and leaves with its code.
    let second = attach(&["attach", &name], b"dois\nfim\n")
        .wait_with_output()
        .unwrap();
    assert_eq!(second.status.code(), Some(3), "{second:?}");
    assert_eq!(String::from_utf8_lossy(&second.stdout), "eco: dois\n");
    let info = until(lab, &name, Duration::from_secs(10), |v| {
        v["State"]["Status"] == "exited" && v["Casulo"]["Supervisor"].is_null()
    });
    assert_eq!(info["State"]["ExitCode"], 3);
    assert!(!socket.exists(), "attach.sock sobrou");

    // `start -ai`: a new pipe, fed by the starter.
    let again = attach(&["start", "-a", "-i", &name], b"tres\nfim\n")
        .wait_with_output()
        .unwrap();
    assert_eq!(again.status.code(), Some(3), "{again:?}");
    assert_eq!(String::from_utf8_lossy(&again.stdout), "eco: tres\n");
    lab.casulo(&["rm", &name]).assert_ok();
}

/// A container that ends at once, removed straight after (N times): `rm`
/// is refused only while its command runs; once it succeeds, the
/// supervisor has finished with it — no cgroup, no directory, and the
/// trace complete (it does not grow any more). And `wait` returns only
/// once the log holds all the container wrote. Today's race: the record
/// was called "exited" as soon as the init was gone, before the
/// supervisor had torn it down.
#[test]
fn rm_and_wait_right_after_a_quick_end_find_the_supervisor_done() {
    let lab = Lab::shared();
    for i in 0..12 {
        let name = unique_name("rapido");
        let out = lab.casulo(&["run", "-d", "--name", &name, "busybox", "true"]);
        out.assert_ok();
        let id = out.stdout.trim().to_string();
        let trace = casulo_tests::trace_path_from(&out.stderr).expect("run -d diz o trace");
        let began = Instant::now();
        loop {
            let out = lab.casulo(&["rm", &name]);
            if out.success() {
                break;
            }
            assert!(out.stderr.contains("ainda está rodando"), "{out}");
            assert!(began.elapsed() < Duration::from_secs(10), "{out}");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            cgroups_of(&id),
            Vec::<std::path::PathBuf>::new(),
            "volta {i}"
        );
        assert!(
            !lab.root().join("containers").join(&id).exists(),
            "volta {i}"
        );
        let size = std::fs::metadata(&trace).unwrap().len();
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(
            std::fs::metadata(&trace).unwrap().len(),
            size,
            "volta {i}: o trace cresceu depois do rm (o supervisor ainda trabalhava)"
        );
        assert!(
            !lab.root().join("containers").join(&id).exists(),
            "volta {i}"
        );
    }
    for i in 0..6 {
        let name = unique_name("seq");
        run_d(lab, &name, &[], &["seq", "1", "3000"]);
        lab.casulo(&["wait", &name]).assert_ok();
        let logs = lab.casulo(&["logs", &name]);
        logs.assert_ok();
        assert_eq!(
            logs.stdout.lines().count(),
            3000,
            "volta {i}: o log ficou pela metade"
        );
        lab.casulo(&["rm", &name]).assert_ok();
    }
}
