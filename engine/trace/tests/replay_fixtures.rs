//! The replay model against traces recorded from real runs
//! (`tests/fixtures/`, see its README for how to regenerate them) and
//! against hand-made edge cases.

use casulo_trace::replay::{ns_key, Replay, World, CHECKPOINT_EVERY};
use casulo_trace::{read_trace, sample, Event, EventBody, NsKind, Outcome};

const ECHO: &str = include_str!("fixtures/run-echo.trace.jsonl");
const NOT_FOUND: &str = include_str!("fixtures/run-not-found.trace.jsonl");
const EXIT_3: &str = include_str!("fixtures/run-exit-3.trace.jsonl");
const OOM: &str = include_str!("fixtures/run-oom.trace.jsonl");
const NETWORK: &str = include_str!("fixtures/run-network.trace.jsonl");
const BUILD_COLD: &str = include_str!("fixtures/build-cold.trace.jsonl");
const BUILD_CACHED: &str = include_str!("fixtures/build-cached.trace.jsonl");
const USERNS: &str = include_str!("fixtures/run-userns.trace.jsonl");
const EXEC: &str = include_str!("fixtures/run-exec.trace.jsonl");
const CONNECT: &str = include_str!("fixtures/run-connect.trace.jsonl");

fn replay(text: &str) -> Replay {
    let trace = read_trace(text).unwrap_or_else(|e| panic!("fixture inválido: {e}"));
    assert!(trace.skipped.is_empty(), "{:?}", trace.skipped);
    Replay::new(trace.events)
}

/// Index of the first event of `kind` (optionally matching `pred`).
fn first(r: &Replay, kind: &str, pred: impl Fn(&Event) -> bool) -> usize {
    r.events()
        .iter()
        .position(|e| e.body.kind() == kind && pred(e))
        .unwrap_or_else(|| panic!("no {kind} in the trace"))
}

#[test]
fn fixtures_are_valid_traces() {
    for (name, text) in [
        ("run-echo", ECHO),
        ("run-not-found", NOT_FOUND),
        ("run-exit-3", EXIT_3),
        ("run-oom", OOM),
    ] {
        let t = read_trace(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(t.events.len() > 20, "{name}: {} events", t.events.len());
        assert_eq!(t.header.container.image, "busybox:latest", "{name}");
    }
}

#[test]
fn echo_run_namespaces_and_pid_1() {
    let r = replay(ECHO);
    let clone = first(&r, "process.clone", |_| true);
    let EventBody::ProcessClone { child_pid, .. } = r.events()[clone].body else {
        unreachable!()
    };
    let engine_pid = r.events()[clone].pid;

    // Before the clone: nobody is in a container.
    let before = r.world_at(clone);
    assert!(before.init().is_none());
    assert!(before.namespaces.is_empty());

    // Right after the clone: the child exists, seen as PID 1 inside.
    let after = r.world_at(clone + 1);
    let init = after.init().expect("init after clone");
    assert_eq!(init.host_pid, child_pid);
    assert_eq!(init.container_pid, Some(1));
    assert_eq!(init.parent, Some(engine_pid));

    // After the namespace.create for pid: the init is in a new pid
    // namespace whose inode differs from the host's.
    let pid_ns = first(&r, "namespace.create", |e| {
        matches!(
            e.body,
            EventBody::NamespaceCreate {
                ns: NsKind::Pid,
                ..
            }
        )
    });
    let w = r.world_at(pid_ns + 1);
    let ns = &w.namespaces[0];
    assert_eq!((ns.kind, ns.owner), (NsKind::Pid, child_pid));
    assert_ne!(ns.inode, ns.host_inode);
    assert_eq!(
        w.init()
            .unwrap()
            .namespaces
            .get(&ns_key(NsKind::Pid))
            .copied(),
        ns.inode
    );

    // At the end: five namespaces by clone, cgroup by unshare (from the
    // child itself), all owned by the init; the hostname set; exited 0.
    let end = r.world_at(r.len());
    assert_eq!(end.namespaces.len(), 6);
    assert!(end.namespaces.iter().all(|n| n.owner == child_pid));
    assert_eq!(end.init().unwrap().namespaces.len(), 6);
    assert_eq!(end.hostname.as_deref(), Some("casulo-lab"));
    assert_eq!(end.network.links_up, ["lo"]);
    let init = end.init().unwrap();
    assert_eq!(init.exit.as_ref().unwrap().code, Some(0));
    assert_eq!(init.exec.as_ref().unwrap()[0], "sh");
    assert!(end.errors.is_empty());
}

#[test]
fn echo_run_filesystem() {
    let r = replay(ECHO);
    let end = r.world_at(r.len());
    let overlay = end.overlay.as_ref().expect("overlay");
    assert!(overlay.target.ends_with("/merged"), "{}", overlay.target);
    assert_eq!(overlay.lowerdirs.len(), 1);
    // The lowerdir is the layer the run unpacked.
    let layer = end.layer_of_dir(&overlay.lowerdirs[0]).expect("layer");
    assert!(layer.diff_id.starts_with("sha256:"));
    assert!(layer.unpacked.unwrap().bytes > 1_000_000);

    // Mounts as seen from inside.
    let inside: Vec<&str> = end.mounts.iter().map(|m| m.inside.as_str()).collect();
    for m in [
        "/proc",
        "/sys",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
    ] {
        assert!(inside.contains(&m), "{m} not in {inside:?}");
    }
    let devices: Vec<&str> = end.devices.iter().map(|d| d.inside.as_str()).collect();
    assert!(devices.contains(&"/dev/null"), "{devices:?}");
    assert!(end
        .symlinks
        .iter()
        .any(|(l, t)| l == "/dev/fd" && t == "/proc/self/fd"));

    // pivot_root(".", ".") after chdir(merged): the new root is merged.
    let pivot = first(&r, "mount.pivot_root", |_| true);
    assert!(!r.world_at(pivot).pivoted);
    let w = r.world_at(pivot + 1);
    assert!(w.pivoted);
    assert_eq!(
        w.init().unwrap().root.as_deref(),
        Some(overlay.target.as_str())
    );
}

#[test]
fn not_found_and_exit_code_runs() {
    let r = replay(NOT_FOUND);
    let end = r.world_at(r.len());
    let init = end.init().unwrap();
    assert_eq!(init.exit.as_ref().unwrap().code, Some(127));
    assert!(init.exec.is_none(), "nothing was executed");
    // The second run reuses the layer instead of unpacking it.
    assert_eq!(end.layers.len(), 1);
    assert!(end.layers[0].unpacked.is_none());

    let r = replay(EXIT_3);
    let end = r.world_at(r.len());
    assert_eq!(end.init().unwrap().exit.as_ref().unwrap().code, Some(3));
    assert_eq!(end.init().unwrap().cwd.as_deref(), Some("/tmp"));
}

#[test]
fn cursor_and_checkpoints_agree_with_a_plain_fold() {
    // A long trace: the sample's events, then many usage samples.
    let mut events = sample::sample_events();
    let sample_ev = events
        .iter()
        .find(|e| e.body.kind() == "cgroup.sample")
        .unwrap()
        .clone();
    let mut t = events.last().unwrap().t_us;
    for _ in 0..(3 * CHECKPOINT_EVERY + 17) {
        let mut e = sample_ev.clone();
        e.seq = events.len() as u64;
        t += 100;
        e.t_us = t;
        events.push(e);
    }
    let r = Replay::new(events.clone());
    assert_eq!(r.samples().len(), 3 * CHECKPOINT_EVERY + 18);

    let mut plain = World::new();
    let mut cursor = r.cursor();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(cursor.position(), i);
        assert_eq!(*cursor.world(), plain, "cursor at {i}");
        if i % 37 == 0 || i % CHECKPOINT_EVERY == 0 || i % CHECKPOINT_EVERY == 1 {
            assert_eq!(r.world_at(i), plain, "world_at({i})");
        }
        plain.apply(e);
        assert!(cursor.step());
    }
    assert!(!cursor.step());
    assert_eq!(r.world_at(usize::MAX), plain);

    // Seeking back and forth lands on the same worlds.
    for n in [
        events.len(),
        3,
        700,
        699,
        0,
        513,
        512,
        511,
        events.len() - 1,
    ] {
        cursor.seek(n);
        assert_eq!(*cursor.world(), r.world_at(n), "seek({n})");
        assert_eq!(
            cursor.world().samples_seen,
            r.samples().iter().filter(|s| s.index < n).count()
        );
    }
}

#[test]
fn sample_trace_cgroups_layers_and_errors() {
    let r = Replay::new(sample::sample_events());
    let end = r.world_at(r.len());
    let cg = &end.cgroups["/sys/fs/cgroup/memory/casulo/ab12"];
    assert_eq!(cg.limits["memory.limit_in_bytes"], "67108864");
    assert_eq!(cg.procs, [5002]);
    assert_eq!(cg.oom_kills, 1);
    assert!(cg.deleted);
    assert_eq!(
        end.cgroups["/sys/fs/cgroup/pids/casulo/ab12"].pids_refused,
        3
    );
    // The device allow-list lands on its (v1 devices) cgroup.
    let dev = end.cgroups["/sys/fs/cgroup/devices/casulo/ab12"]
        .devices
        .as_ref()
        .unwrap();
    assert_eq!((dev.version.as_str(), dev.privileged), ("v1", false));
    assert_eq!(dev.default_action, "deny");
    assert!(dev.allowed.iter().any(|r| r == "c 1:3 rwm"), "{dev:?}");
    assert_eq!(end.cgroups[&cg.path].devices, None);
    // pause then unpause: the freezer cgroup is frozen between the two.
    let freeze = first(&r, "cgroup.freeze", |_| true);
    let frozen = r.world_at(freeze + 1);
    assert!(frozen.paused);
    assert!(frozen.cgroups["/sys/fs/cgroup/freezer/casulo/ab12"].frozen);
    assert!(
        !frozen.cgroups[&cg.path].frozen,
        "only the freezer's directory"
    );
    let thawed = r.world_at(freeze + 2);
    assert!(!thawed.paused);
    assert!(!thawed.cgroups["/sys/fs/cgroup/freezer/casulo/ab12"].frozen);
    assert!(!r.world_at(freeze).paused);
    // The EROFS write is an error and changes nothing.
    assert_eq!(end.errors.len(), 1);
    assert!(!r.events()[end.errors[0]].outcome.is_ok());
    // Whiteouts attach to their layer; the joined process shares the mnt ns.
    let l2 = end.layers.iter().find(|l| !l.whiteouts.is_empty()).unwrap();
    assert_eq!(l2.whiteouts, [("/etc/motd".to_string(), false)]);
    assert!(l2.unpacked.is_some());
    let init = end.init().unwrap();
    assert_eq!(
        end.processes[&5000].namespaces[&ns_key(NsKind::Mnt)],
        init.namespaces[&ns_key(NsKind::Mnt)]
    );
    assert_eq!(
        end.processes[&5001]
            .exit
            .as_ref()
            .unwrap()
            .signal_name
            .as_deref(),
        Some("SIGINT")
    );
}

#[test]
fn unknown_kinds_are_skipped_by_the_reader_and_the_replay_goes_on() {
    let mut lines: Vec<String> = ECHO.lines().map(String::from).collect();
    // Insert a kind from the future after the header, renumbering seq.
    let future = r#"{"seq":0,"t_us":0,"pid":1,"kind":"gpu.attach","device":"/dev/dri/card0","op":"x","outcome":"ok"}"#;
    lines.insert(1, future.to_string());
    let renumbered: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i < 2 {
                return l.clone();
            }
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["seq"] = (i as u64 - 1).into();
            v.to_string()
        })
        .collect();
    let trace = read_trace(&renumbered.join("\n")).unwrap();
    assert_eq!(trace.skipped, [(2, "gpu.attach".to_string())]);
    let r = Replay::new(trace.events);
    assert_eq!(r.world_at(r.len()), replay(ECHO).world_at(usize::MAX));
}

#[test]
fn truncated_traces() {
    // Cut between two events (casulo was killed): the prefix replays, the
    // container has no exit yet.
    let cut: Vec<&str> = ECHO.lines().take(20).collect();
    let r = replay(&cut.join("\n"));
    assert_eq!(r.len(), 19);
    let end = r.world_at(r.len());
    assert!(end.init().unwrap().exit.is_none());
    assert!(!end.pivoted);

    // Cut in the middle of a line: a pt-BR error that names the line.
    let text = ECHO.lines().take(10).collect::<Vec<_>>().join("\n");
    let text = &text[..text.len() - 15];
    let e = read_trace(text).unwrap_err();
    assert_eq!(e.line, 10);
    assert!(
        e.to_string().starts_with("linha 10: não é JSON válido"),
        "{e}"
    );

    // Only the header: an empty replay, a world with nothing in it.
    let header = ECHO.lines().next().unwrap();
    let r = replay(header);
    assert!(r.is_empty());
    assert_eq!(r.world_at(5), World::new());
    let mut c = r.cursor();
    assert!(!c.step());
}

#[test]
fn failed_clone_makes_no_process() {
    let mut events = sample::sample_events();
    let i = events
        .iter()
        .position(|e| e.body.kind() == "process.clone")
        .unwrap();
    events[i].outcome = Outcome::Error(casulo_trace::Errno {
        errno: 1,
        name: "EPERM".into(),
        message: "Operation not permitted".into(),
    });
    let w = Replay::new(events).world_at(i + 1);
    assert!(w.init().is_none());
    assert_eq!(w.errors, [i]);
}

/// `--memory 32m` on the hybrid host: the memory cgroup (v1) gets its limit,
/// the samples climb towards it, the kernel's OOM killer ends the shell and
/// the engine removes every cgroup it made.
#[test]
fn oom_run_cgroup_limit_samples_oom_and_delete() {
    const LIMIT: u64 = 32 << 20;
    let r = replay(OOM);
    let ev = r.events();
    let limit = first(&r, "cgroup.limit", |_| true);
    let EventBody::CgroupLimit { file, value, .. } = &ev[limit].body else {
        unreachable!()
    };
    let (dir, name) = file.rsplit_once('/').unwrap();
    assert_eq!(
        (name, value.as_str()),
        ("memory.limit_in_bytes", "33554432")
    );

    // The memory cgroup exists before its limit, without one.
    let w = r.world_at(limit);
    let cg = &w.cgroups[dir];
    assert_eq!(
        (cg.version.as_str(), cg.controller.as_str()),
        ("v1", "memory")
    );
    assert!(cg.limits.is_empty(), "{:?}", cg.limits);
    assert!(!cg.deleted);
    // Right after the cgroup.limit it has it.
    let w = r.world_at(limit + 1);
    assert_eq!(
        w.cgroups[dir].limits.get(name).map(String::as_str),
        Some("33554432")
    );

    // The container's init is moved into it before the samples start.
    let attach = first(
        &r,
        "cgroup.attach",
        |e| matches!(&e.body, EventBody::CgroupAttach { path, .. } if path == dir),
    );
    let w = r.world_at(attach + 1);
    let EventBody::CgroupAttach { target_pid, .. } = ev[attach].body else {
        unreachable!()
    };
    assert_eq!(w.cgroups[dir].procs, vec![target_pid]);
    assert_eq!(w.samples_seen, 0);

    // Samples: a history that climbs towards the limit before the OOM.
    let oom = first(&r, "cgroup.oom", |_| true);
    let before_oom = r.world_at(oom);
    assert!(before_oom.cgroups[dir].last_oom.is_none());
    assert_eq!(before_oom.cgroups[dir].oom_kills, 0);
    let history = &r.samples()[..before_oom.samples_seen];
    assert!(history.len() >= 10, "{} amostras", history.len());
    assert!(history.iter().all(|s| s.index < oom));
    assert!(history.iter().all(|s| s.memory_limit_bytes == Some(LIMIT)));
    let mem: Vec<u64> = history.iter().map(|s| s.memory_bytes.unwrap()).collect();
    let peak = *mem.iter().max().unwrap();
    assert!(peak > LIMIT / 2 && peak <= LIMIT, "pico {peak}");
    // Rising: the last third of the run uses more than the first third.
    let third = mem.len() / 3;
    let early = mem[..third].iter().max().unwrap();
    let late = mem[mem.len() - third..].iter().max().unwrap();
    assert!(late > early, "{mem:?}");
    // The kernel's own peak never goes down and reaches the limit.
    let peaks: Vec<u64> = ev[..oom]
        .iter()
        .filter_map(|e| match e.body {
            EventBody::CgroupSample {
                memory_peak_bytes, ..
            } => memory_peak_bytes,
            _ => None,
        })
        .collect();
    assert!(peaks.windows(2).all(|p| p[0] <= p[1]), "{peaks:?}");
    assert_eq!(peaks.last(), Some(&LIMIT));
    // The replay's samples carry it (the chart draws it).
    let folded: Vec<u64> = history.iter().filter_map(|s| s.memory_peak_bytes).collect();
    assert_eq!(folded, peaks);

    // The OOM is marked on the memory cgroup, at its event.
    let w = r.world_at(oom + 1);
    let cg = &w.cgroups[dir];
    assert_eq!((cg.oom_kills, cg.last_oom), (1, Some(oom)));
    assert!(!cg.deleted);
    // ...and the init died of SIGKILL.
    let exit = first(&r, "process.exit", |_| true);
    let init = r.world_at(exit + 1);
    let x = init.init().unwrap().exit.as_ref().unwrap();
    assert_eq!((x.code, x.signal_name.as_deref()), (None, Some("SIGKILL")));

    // After its cgroup.delete, the memory cgroup is gone (kept, marked, so
    // the tree can show it struck out); the OOM stays on record.
    let delete = first(
        &r,
        "cgroup.delete",
        |e| matches!(&e.body, EventBody::CgroupDelete { path } if path == dir),
    );
    assert!(!r.world_at(delete).cgroups[dir].deleted);
    let w = r.world_at(delete + 1);
    assert!(w.cgroups[dir].deleted);
    assert_eq!(w.cgroups[dir].oom_kills, 1);
    // At the end every cgroup the run made (per controller, and their
    // shared `casulo` parents) has been removed.
    let end = r.world_at(r.len());
    assert_eq!(end.cgroups.len(), 8);
    assert!(
        end.cgroups.values().all(|c| c.deleted),
        "{:?}",
        end.cgroups.keys()
    );
    assert!(end.errors.is_empty(), "{:?}", end.errors);
}

/// A successful event at position `seq` (hand-made traces).
fn ev(seq: usize, pid: i32, body: EventBody) -> Event {
    Event {
        seq: seq as u64,
        t_us: seq as u64 * 10,
        pid,
        body,
        op: "x".into(),
        outcome: Outcome::Ok,
    }
}

fn failed(mut e: Event) -> Event {
    e.outcome = Outcome::Error(casulo_trace::Errno {
        errno: 17,
        name: "EEXIST".into(),
        message: "File exists".into(),
    });
    e
}

/// Builds a trace from bodies (pid 100 = the engine).
fn trace_of(bodies: Vec<(i32, EventBody)>) -> Vec<Event> {
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, (pid, b))| ev(i, pid, b))
        .collect()
}

fn step_body(step: u32, instruction: &str, args: &str, creates_layer: bool) -> EventBody {
    EventBody::BuildStep {
        step,
        total: 4,
        line: step * 2 - 1,
        instruction: instruction.into(),
        args: args.into(),
        creates_layer,
        cache_key: format!("sha256:{step:064}"),
        stage: None,
        stage_index: None,
        copy_from: None,
    }
}

fn clone_init(child_pid: i32) -> EventBody {
    EventBody::ProcessClone {
        child_pid,
        flags: vec!["CLONE_NEWPID".into(), "CLONE_NEWNET".into()],
    }
}

#[test]
fn sample_trace_network() {
    use casulo_trace::replay::Veth;
    let r = Replay::new(sample::sample_events());
    let veth = first(&r, "net.veth", |_| true);
    let attach = first(&r, "net.attach", |_| true);
    let del = first(&r, "net.link_delete", |_| true);
    let close = first(&r, "net.port_close", |_| true);

    // Before net.veth: the bridge, no cable.
    let w = r.world_at(veth);
    let b = w.network.bridge("casulo0").expect("bridge");
    assert_eq!((b.address.as_str(), b.created), ("10.88.0.1/16", true));
    assert!(w.network.veth().is_none());
    assert!(w.network.is_bridged());

    // The cable, then plugged into the bridge.
    let w = r.world_at(veth + 1);
    let v = w.network.veth().unwrap();
    assert_eq!(
        (v.host_ifname.as_str(), v.container_ifname.as_str()),
        ("vethab12cd34", "eth0")
    );
    assert_eq!(v.netns_pid, w.init_pid.unwrap());
    assert_eq!(v.bridge, None);
    let w = r.world_at(attach + 1);
    assert_eq!(w.network.veth().unwrap().bridge.as_deref(), Some("casulo0"));

    // Just before the delete: address inside, default route, the port.
    let w = r.world_at(del);
    let eth0: Vec<_> = w.network.addrs_of("eth0", true).collect();
    assert_eq!(eth0.len(), 1);
    assert_eq!(eth0[0].address, "10.88.0.5/16");
    assert_eq!(w.network.addrs_of("eth0", false).count(), 0);
    let route = &w.network.routes[0];
    assert_eq!(
        (
            route.destination.as_str(),
            route.gateway.as_deref(),
            route.inside
        ),
        ("default", Some("10.88.0.1"), true)
    );
    let p = &w.network.ports[0];
    assert_eq!(
        (
            p.host_port,
            p.container_ip.as_str(),
            p.container_port,
            p.mechanism.as_str()
        ),
        (8080, "10.88.0.5", 80, "proxy")
    );
    assert!(w.network.is_up("lo"));

    // The port is open until net.port_close, then closed but still listed.
    let w = r.world_at(close);
    assert!(w.network.ports[0].is_open());
    assert_eq!(w.network.open_ports().count(), 1);
    let w = r.world_at(close + 1);
    assert_eq!(w.network.ports.len(), 1);
    assert_eq!(w.network.ports[0].closed_at, Some(close));
    assert_eq!(w.network.open_ports().count(), 0);

    // After the delete: the pair is gone (both ends), the rest on record.
    let w = r.world_at(del + 1);
    let v: &Veth = w.network.veth().unwrap();
    assert!(v.deleted);
    assert!(!w.network.is_up("vethab12cd34") && !w.network.is_up("eth0"));
    assert!(w.network.is_up("lo"));
    assert_eq!(w.network.ports.len(), 1);
}

#[test]
fn sample_trace_build() {
    use casulo_trace::replay::StepResult;
    let r = Replay::new(sample::sample_events());
    let start = first(&r, "build.start", |_| true);
    let hit = first(&r, "build.cache_hit", |_| true);
    let commit = first(&r, "build.commit", |_| true);
    assert!(r.world_at(start).build.is_none());
    let w = r.world_at(start + 1);
    let b = w.build.as_ref().unwrap();
    assert_eq!((b.tag.as_deref(), b.total), (Some("meu-app:1.0"), 3));
    assert!(b.steps.is_empty() && b.base.is_none());

    // Step 2 runs, then is found in the cache.
    let w = r.world_at(hit);
    let b = w.build.as_ref().unwrap();
    assert_eq!(b.base.as_ref().unwrap().diff_ids.len(), 1);
    assert_eq!(b.current().unwrap().step, 2);
    assert_eq!(b.current().unwrap().result, StepResult::Running);
    let w = r.world_at(hit + 1);
    let b = w.build.as_ref().unwrap();
    assert!(matches!(
        b.step(2).unwrap().result,
        StepResult::CacheHit {
            diff_id: Some(_),
            ..
        }
    ));
    assert_eq!(b.cache_hits(), 1);

    // The sample's build.layer names step 3, which never started: ignored.
    let w = r.world_at(commit);
    assert_eq!(w.build.as_ref().unwrap().steps.len(), 1);
    let w = r.world_at(commit + 1);
    let b = w.build.as_ref().unwrap();
    let c = b.commit.as_ref().unwrap();
    assert_eq!((c.tag.as_str(), c.layers), ("meu-app:1.0", 3));
    assert!(b.current().is_none());
}

/// A hand-made build: FROM, ENV (config only), RUN (a new layer, in a
/// container of its own), COPY (cached), commit; failures change nothing.
#[test]
fn build_steps_layers_cache_and_config_only() {
    use casulo_trace::replay::StepResult;
    let layer = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
    let bodies = vec![
        (
            100,
            EventBody::BuildStart {
                context: "/app".into(),
                dockerfile: "/app/Dockerfile".into(),
                tag: None,
                steps: 4,
            },
        ),
        (100, step_body(1, "FROM", "busybox", false)),
        (
            100,
            EventBody::BuildBase {
                image: "busybox:latest".into(),
                image_id: Some(layer(9)),
                diff_ids: vec![layer(1)],
                stage: None,
                stage_index: None,
                from_stage: None,
            },
        ),
        (100, step_body(2, "ENV", "A=1", false)),
        (100, step_body(3, "RUN", "echo oi > /oi", true)),
        (100, clone_init(200)),
        (
            100,
            EventBody::BuildLayer {
                step: 3,
                diff_id: layer(2),
                bytes: 2048,
                files: 2,
                created_by: "RUN echo oi > /oi".into(),
            },
        ),
        (100, step_body(4, "COPY", "a /a", true)),
        (
            100,
            EventBody::BuildCacheHit {
                step: 4,
                cache_key: format!("sha256:{:064}", 4),
                diff_id: Some(layer(3)),
            },
        ),
        (
            100,
            EventBody::BuildCommit {
                tag: String::new(),
                image_id: layer(7),
                layers: 3,
            },
        ),
    ];
    let mut events = trace_of(bodies);
    // A failed build.layer for step 3 right before the good one: nothing.
    let bad = failed(ev(
        6,
        100,
        EventBody::BuildLayer {
            step: 3,
            diff_id: layer(8),
            bytes: 1,
            files: 1,
            created_by: "x".into(),
        },
    ));
    events.insert(6, bad);
    for (i, e) in events.iter_mut().enumerate() {
        e.seq = i as u64;
    }
    let r = Replay::new(events);

    // FROM is open (Running) until the next step starts; then config only.
    let w = r.world_at(3);
    let b = w.build.as_ref().unwrap();
    assert_eq!(b.step(1).unwrap().result, StepResult::Running);
    assert_eq!(b.base.as_ref().unwrap().diff_ids, [layer(1)]);
    let w = r.world_at(4);
    let b = w.build.as_ref().unwrap();
    assert_eq!(b.step(1).unwrap().result, StepResult::ConfigOnly);
    assert_eq!(b.current().unwrap().instruction, "ENV");
    // ENV closed as config only; the RUN waits for its layer (the failed
    // build.layer changed nothing).
    let w = r.world_at(7);
    let b = w.build.as_ref().unwrap();
    assert_eq!(b.step(2).unwrap().result, StepResult::ConfigOnly);
    assert_eq!(b.step(3).unwrap().result, StepResult::Running);
    assert_eq!(w.errors, [6]);
    assert_eq!(w.init_pid, Some(200));
    let w = r.world_at(8);
    let b = w.build.as_ref().unwrap();
    assert!(matches!(
        &b.step(3).unwrap().result,
        StepResult::NewLayer { diff_id, bytes: 2048, .. } if *diff_id == layer(2)
    ));
    let end = r.world_at(r.len());
    let b = end.build.as_ref().unwrap();
    assert_eq!(b.new_layers().collect::<Vec<_>>(), [layer(2), layer(3)]);
    assert_eq!(b.cache_hits(), 1);
    assert_eq!(b.commit.as_ref().unwrap().tag, "");
    assert!(b.current().is_none());
    // The checkpointed worlds agree with the plain fold.
    let mut plain = World::new();
    for (i, e) in r.events().iter().enumerate() {
        assert_eq!(r.world_at(i), plain);
        plain.apply(e);
    }
}

/// A build runs one container per RUN step: every process and namespace
/// stays on record, the init and the per-container views are the latest.
#[test]
fn several_inits_the_latest_container_is_shown() {
    let overlay = |n: u32| EventBody::MountOverlay {
        target: format!("/c/{n}/merged"),
        lowerdirs: vec!["/l/1".into()],
        upperdir: format!("/c/{n}/upper"),
        workdir: format!("/c/{n}/work"),
    };
    let proc_mount = |n: u32| EventBody::MountFs {
        fstype: "proc".into(),
        source: "proc".into(),
        target: format!("/c/{n}/merged/proc"),
        flags: vec![],
        data: String::new(),
    };
    let ns = |inode| EventBody::NamespaceCreate {
        ns: NsKind::Pid,
        via: casulo_trace::NsVia::Clone,
        inode: Some(inode),
        host_inode: Some(1),
    };
    let exit = |pid| EventBody::ProcessExit {
        exited_pid: pid,
        code: Some(0),
        signal: None,
        signal_name: None,
    };
    let events = trace_of(vec![
        (100, clone_init(201)),
        (100, ns(11)),
        (201, overlay(1)),
        (201, proc_mount(1)),
        (
            201,
            EventBody::NetLinkUp {
                ifname: "lo".into(),
            },
        ),
        (
            201,
            EventBody::UtsSethostname {
                hostname: "um".into(),
            },
        ),
        (100, exit(201)),
        (100, clone_init(202)),
        (100, ns(12)),
        (202, overlay(2)),
        (202, proc_mount(2)),
        (100, exit(202)),
    ]);
    let r = Replay::new(events);
    let first_c = r.world_at(7);
    assert_eq!(first_c.init_pid, Some(201));
    assert_eq!(first_c.mounts.len(), 1);
    assert_eq!(first_c.mounts[0].inside, "/proc");

    // Right after the second clone: the new init, nothing mounted for it yet.
    let w = r.world_at(8);
    assert_eq!((w.init_pid, w.inits), (Some(202), 2));
    assert!(w.overlay.is_none() && w.mounts.is_empty() && w.hostname.is_none());
    assert!(
        !w.network.is_up("lo"),
        "the old container's lo went with it"
    );
    assert_eq!(w.processes.len(), 3);

    let end = r.world_at(r.len());
    assert_eq!(end.overlay.as_ref().unwrap().target, "/c/2/merged");
    assert_eq!(end.mounts.len(), 1);
    assert_eq!(end.mounts[0].inside, "/proc");
    assert_eq!(end.namespaces.len(), 2);
    assert_eq!(end.namespaces[1].owner, 202);
    assert_eq!(end.init().unwrap().namespaces[&ns_key(NsKind::Pid)], 12);
    assert!(end.processes[&201].exit.is_some());
    assert!(end.processes[&202].exit.is_some());
}

/// Failed network operations change nothing; deleting the container end
/// takes the host end too; a second container gets a veth of its own.
#[test]
fn network_edge_cases() {
    let veth = |h: &str, pid| EventBody::NetVeth {
        host_ifname: h.into(),
        container_ifname: "eth0".into(),
        netns_pid: pid,
    };
    let mut events = trace_of(vec![
        (
            100,
            EventBody::NetBridge {
                name: "casulo0".into(),
                address: "10.88.0.1/16".into(),
                created: false,
            },
        ),
        (100, veth("veth1", 201)),
        (
            100,
            EventBody::NetAttach {
                ifname: "veth1".into(),
                bridge: "casulo0".into(),
            },
        ),
        (
            100,
            EventBody::NetLinkUp {
                ifname: "veth1".into(),
            },
        ),
        (
            201,
            EventBody::NetLinkUp {
                ifname: "eth0".into(),
            },
        ),
        (
            100,
            EventBody::NetAddr {
                ifname: "eth0".into(),
                address: "10.88.0.9/16".into(),
                inside: true,
            },
        ),
        (
            100,
            EventBody::NetPort {
                protocol: "tcp".into(),
                host_ip: "0.0.0.0".into(),
                host_port: 80,
                container_ip: "10.88.0.9".into(),
                container_port: 80,
                mechanism: "proxy".into(),
            },
        ),
        (
            100,
            EventBody::NetLinkDelete {
                ifname: "eth0".into(),
            },
        ),
        (100, veth("veth2", 202)),
    ]);
    events[5] = failed(events[5].clone());
    events[6] = failed(events[6].clone());
    let r = Replay::new(events);
    let w = r.world_at(5);
    assert!(!w.network.bridge("casulo0").unwrap().created);
    assert!(w.network.is_up("veth1") && w.network.is_up("eth0"));
    let w = r.world_at(7);
    assert!(w.network.addrs.is_empty() && w.network.ports.is_empty());
    assert_eq!(w.errors, [5, 6]);
    let w = r.world_at(8);
    assert!(w.network.veths[0].deleted);
    assert!(w.network.links_up.is_empty());
    assert!(!w.network.bridge("casulo0").unwrap().deleted);
    let end = r.world_at(9);
    let v = end.network.veth().unwrap();
    assert_eq!(
        (v.host_ifname.as_str(), v.deleted, v.bridge.as_ref()),
        ("veth2", false, None)
    );
}

/// A port is closed by the `net.port_close` of its own address (the latest
/// open one: the same port published again later is a new entry); a close
/// that failed, or of a port never published, changes nothing.
#[test]
fn ports_close_by_address_and_stay_listed() {
    let port = |proto: &str, host_port| EventBody::NetPort {
        protocol: proto.into(),
        host_ip: "0.0.0.0".into(),
        host_port,
        container_ip: "10.88.0.2".into(),
        container_port: 80,
        mechanism: "proxy".into(),
    };
    let close = |proto: &str, host_port| EventBody::NetPortClose {
        protocol: proto.into(),
        host_ip: "0.0.0.0".into(),
        host_port,
    };
    let mut events = trace_of(vec![
        (100, port("tcp", 8080)),  // 0
        (100, port("udp", 8080)),  // 1
        (100, close("udp", 8080)), // 2: failed
        (100, close("tcp", 9999)), // 3: never published
        (100, close("udp", 8080)), // 4
        (100, close("tcp", 8080)), // 5
        (100, port("tcp", 8080)),  // 6: published again
        (100, close("tcp", 8080)), // 7
    ]);
    events[2] = failed(events[2].clone());
    let r = Replay::new(events);
    let w = r.world_at(4);
    assert!(w.network.ports.iter().all(|p| p.is_open()));
    assert_eq!(w.errors, [2]);
    let w = r.world_at(5);
    let closed: Vec<_> = w.network.ports.iter().map(|p| p.closed_at).collect();
    assert_eq!(closed, [None, Some(4)]);
    let w = r.world_at(7);
    let closed: Vec<_> = w.network.ports.iter().map(|p| p.closed_at).collect();
    assert_eq!(closed, [Some(5), Some(4), None]);
    assert_eq!(w.network.open_ports().count(), 1);
    let end = r.world_at(8);
    let closed: Vec<_> = end.network.ports.iter().map(|p| p.closed_at).collect();
    assert_eq!(closed, [Some(5), Some(4), Some(7)]);
    assert!(end.network.is_bridged());
}

/// `--network bridge -p 8080:80` on the real host: the bridge, the veth
/// pair into the init's netns, plugged in, eth0's address and default
/// route from inside, the port, closed after the exit, and the pair deleted
/// at the end (by casulo's `net.link_delete` when the host end outlived
/// the namespace, by the kernel otherwise: a re-recording may lack it).
#[test]
fn network_run_bridge_veth_addresses_route_port() {
    let r = replay(NETWORK);
    let ev = r.events();
    let clone = first(&r, "process.clone", |_| true);
    let EventBody::ProcessClone { child_pid, .. } = ev[clone].body else {
        unreachable!()
    };
    let veth = first(&r, "net.veth", |_| true);
    let exit = first(&r, "process.exit", |_| true);
    let close = first(&r, "net.port_close", |_| true);
    let del = ev.iter().position(|e| e.body.kind() == "net.link_delete");
    assert!(exit < close, "the port closes after the exit");
    if let Some(del) = del {
        assert!(close < del, "and before the veth's host end is deleted");
    }

    let w = r.world_at(veth);
    let bridge = w.network.bridge("casulo0").expect("casulo0");
    assert_eq!(w.network.veth(), None, "no cable before net.veth");
    let gateway = bridge.address.split('/').next().unwrap().to_string();
    assert_eq!(
        w.network.addrs_of("casulo0", false).last().unwrap().address,
        bridge.address
    );
    assert!(w.network.is_up("casulo0"));

    let end_of_setup = r.world_at(close);
    let net = &end_of_setup.network;
    let v = net.veth().unwrap();
    assert_eq!(
        v.netns_pid, child_pid,
        "the container end is in the init's netns"
    );
    assert_eq!(v.container_ifname, "eth0");
    assert_eq!(v.bridge.as_deref(), Some("casulo0"));
    assert!(net.is_up(&v.host_ifname) && net.is_up("eth0") && net.is_up("lo"));
    let eth0 = net.addrs_of("eth0", true).last().unwrap();
    let port = &net.ports[0];
    assert_eq!(
        eth0.address.split('/').next(),
        Some(port.container_ip.as_str())
    );
    assert_eq!(
        (port.host_port, port.container_port, port.mechanism.as_str()),
        (8080, 80, "proxy")
    );
    let route = net.routes.iter().find(|r| r.inside).unwrap();
    assert_eq!(route.destination, "default");
    assert_eq!(route.gateway.as_deref(), Some(gateway.as_str()));
    assert!(port.is_open());

    let end = r.world_at(r.len());
    let port = &end.network.ports[0];
    assert_eq!((port.host_port, port.closed_at), (8080, Some(close)));
    assert_eq!(end.network.open_ports().count(), 0);
    if del.is_some() {
        assert!(end.network.veth().unwrap().deleted);
        assert!(!end.network.is_up("eth0"));
    }
    assert!(end.errors.is_empty());
    assert_eq!(end.init().unwrap().exit.as_ref().unwrap().code, Some(0));
}

/// The real cold build: config-only steps close as such, COPY and RUN make
/// new layers, the RUN ran in a container of its own, the image has the
/// base's layer plus the two new ones.
#[test]
fn cold_build_steps_layers_and_its_run_container() {
    use casulo_trace::replay::StepResult;
    let r = replay(BUILD_COLD);
    let end = r.world_at(r.len());
    let b = end.build.as_ref().expect("build");
    assert_eq!(
        (b.tag.as_deref(), b.total as usize),
        (Some("ola:1.0"), b.steps.len())
    );
    let base = b.base.as_ref().unwrap();
    let kinds: Vec<(&str, &str)> = b
        .steps
        .iter()
        .map(|s| {
            let r = match s.result {
                StepResult::NewLayer { .. } => "nova",
                StepResult::ConfigOnly => "config",
                StepResult::CacheHit { .. } => "cache",
                StepResult::Running => "rodando",
            };
            (s.instruction.as_str(), r)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("FROM", "config"),
            ("ENV", "config"),
            ("WORKDIR", "config"),
            ("COPY", "nova"),
            ("RUN", "nova"),
            ("CMD", "config")
        ]
    );
    assert_eq!(b.cache_hits(), 0);
    let commit = b.commit.as_ref().unwrap();
    assert_eq!(
        commit.layers as usize,
        base.diff_ids.len() + b.new_layers().count()
    );

    // While the RUN runs: it is the current step, its container the init.
    let run_layer = first(
        &r,
        "build.layer",
        |e| matches!(&e.body, EventBody::BuildLayer { created_by, .. } if created_by.starts_with("RUN")),
    );
    let clone = first(&r, "process.clone", |_| true);
    let EventBody::ProcessClone { child_pid, .. } = r.events()[clone].body else {
        unreachable!()
    };
    let w = r.world_at(run_layer);
    let b = w.build.as_ref().unwrap();
    assert_eq!(b.current().unwrap().instruction, "RUN");
    assert_eq!(b.current().unwrap().result, StepResult::Running);
    assert_eq!(w.init_pid, Some(child_pid));
    assert_eq!(w.init().unwrap().exit.as_ref().unwrap().code, Some(0));
    assert!(w.overlay.is_some());
    assert!(end.errors.is_empty());
}

/// The same build again: every step after FROM comes from the cache, no
/// container runs, and the image is the same as the cold build's.
#[test]
fn cached_build_is_all_cache_hits_and_the_same_image() {
    use casulo_trace::replay::StepResult;
    let cold = replay(BUILD_COLD).world_at(usize::MAX);
    let r = replay(BUILD_CACHED);
    let end = r.world_at(r.len());
    let b = end.build.as_ref().unwrap();
    assert!(b.steps[1..]
        .iter()
        .all(|s| matches!(s.result, StepResult::CacheHit { .. })));
    assert_eq!(b.cache_hits(), b.steps.len() - 1);
    let cold_b = cold.build.as_ref().unwrap();
    assert_eq!(
        b.new_layers().collect::<Vec<_>>(),
        cold_b.new_layers().collect::<Vec<_>>()
    );
    assert_eq!(
        b.commit.as_ref().unwrap().image_id,
        cold_b.commit.as_ref().unwrap().image_id
    );
    assert!(end.processes.is_empty() && end.init().is_none());
}

/// `security.capabilities` and `security.no_new_privs` land on the process
/// that made them; a refused cut changes nothing.
#[test]
fn capabilities_and_no_new_privs_fold_into_the_process() {
    let r = Replay::new(sample::sample_events());
    let end = r.world_at(r.len());
    let init = end.init().unwrap();
    let caps = init.capabilities.as_ref().expect("capabilities cut");
    assert_eq!(caps.len(), 14);
    assert!(caps.iter().any(|c| c == "CAP_CHOWN"));
    assert!(!caps.iter().any(|c| c == "CAP_SYS_ADMIN"));
    assert!(init.no_new_privs);
    assert!(init.seccomp);
    // Before the cut, the init has its parent's capabilities (unknown).
    let at = first(&r, "security.capabilities", |_| true);
    let before = r.world_at(at);
    assert!(before.init().unwrap().capabilities.is_none());
    assert!(!before.init().unwrap().no_new_privs);

    let cut = EventBody::SecurityCapabilities {
        kept: vec!["CAP_KILL".into()],
        dropped: vec!["CAP_SYS_ADMIN".into()],
        mask: "0000000000000020".into(),
        privileged: false,
        added: Vec::new(),
        removed: Vec::new(),
    };
    let events = vec![
        failed(ev(0, 7, cut)),
        failed(ev(1, 7, EventBody::SecurityNoNewPrivs {})),
        failed(ev(
            2,
            7,
            EventBody::SecuritySeccomp {
                mode: "filter".into(),
                profile: "padrão".into(),
                path: None,
                default_action: "allow".into(),
                rule_count: 1,
                allowed_count: 0,
                blocked_action: "errno(EPERM)".into(),
                blocked_count: 1,
                blocked: vec!["mount".into()],
                filters: 2,
                ignored: Vec::new(),
            },
        )),
    ];
    let r = Replay::new(events);
    let end = r.world_at(r.len());
    assert_eq!(end.errors.len(), 3);
    assert!(end
        .processes
        .get(&7)
        .is_none_or(|p| p.capabilities.is_none() && !p.no_new_privs && !p.seccomp));
}

/// `--privileged` and `seccomp=unconfined`: the seccomp event says there
/// is no filter, and the process is not folded as filtered.
#[test]
fn an_unconfined_seccomp_event_leaves_the_process_unfiltered() {
    let body = EventBody::SecuritySeccomp {
        mode: "disabled".into(),
        profile: "unconfined".into(),
        path: None,
        default_action: "allow".into(),
        rule_count: 0,
        allowed_count: 0,
        blocked_action: String::new(),
        blocked_count: 0,
        blocked: Vec::new(),
        filters: 0,
        ignored: Vec::new(),
    };
    let r = Replay::new(vec![ev(0, 7, body)]);
    let end = r.world_at(r.len());
    assert!(end.processes.get(&7).is_none_or(|p| !p.seccomp));
}

/// `namespace.user` gives the init its uid and gid maps; `mount.idmap`
/// lists the layer given to the overlay through an idmapped mount.
#[test]
fn user_namespace_maps_and_idmapped_layers_are_replayed() {
    let r = Replay::new(sample::sample_events());
    let end = r.world_at(r.len());
    let init = end.init().unwrap();
    let range = casulo_trace::IdRange {
        inside: 0,
        outside: 100000,
        count: 65536,
    };
    assert_eq!(init.uid_map, vec![range]);
    assert_eq!(init.gid_map, vec![range]);
    assert_eq!(end.idmapped.len(), 1);
    assert!(end.idmapped[0].contains("/layers/"), "{:?}", end.idmapped);
}

/// A `--userns` run: the parent wrote the init's maps and idmapped the
/// layer; the init attached the overlay, went into it (`chdir`), became
/// the namespace's root and mounted by relative paths (`./proc`), which
/// the replay shows from inside (`/proc`); pivot_root(".", ".") after
/// `chdir(".")` still makes `merged` the root.
#[test]
fn userns_run_maps_idmapped_layer_and_relative_mounts() {
    let r = replay(USERNS);
    let end = r.world_at(r.len());
    let init = end.init().unwrap();
    let range = casulo_trace::IdRange {
        inside: 0,
        outside: 100000,
        count: 65536,
    };
    assert_eq!(init.uid_map, vec![range]);
    assert_eq!(init.gid_map, vec![range]);
    assert!(init.namespaces.contains_key(&ns_key(NsKind::User)));
    assert_eq!(init.user, Some((0, 0)));
    let overlay = end.overlay.as_ref().expect("overlay");
    assert_eq!(end.idmapped, overlay.lowerdirs);
    let inside: Vec<&str> = end.mounts.iter().map(|m| m.inside.as_str()).collect();
    for m in [
        "/proc",
        "/sys",
        "/dev",
        "/dev/null",
        "/dev/pts",
        "/sys/fs/cgroup",
    ] {
        assert!(inside.contains(&m), "{m} not in {inside:?}");
    }
    assert!(end.devices.is_empty(), "no mknod in a user namespace");
    let pivot = first(&r, "mount.pivot_root", |_| true);
    let w = r.world_at(pivot + 1);
    assert_eq!(
        w.init().unwrap().root.as_deref(),
        Some(overlay.target.as_str())
    );
}

/// `casulo exec`: casulo joins the init's pid namespace and forks; the
/// child is born in it and joins the rest: in the end it is in every
/// namespace of the init, with its inodes, and the world lists it as a
/// process of the container (not as its init).
#[test]
fn an_exec_d_process_is_a_process_of_the_container() {
    let r = replay(EXEC);
    let joins: Vec<usize> = r
        .events()
        .iter()
        .enumerate()
        .filter(|(_, e)| e.body.kind() == "namespace.join")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(joins.len(), 6);
    let engine = r.events()[joins[0]].pid;
    let before = r.world_at(joins[0]);
    let init = before.init().unwrap().clone();
    assert_eq!(before.joined().count(), 0);
    // casulo itself is in the pid namespace only (for its children).
    let w = r.world_at(joins[0] + 1);
    let casulo = &w.processes[&engine];
    assert_eq!(
        casulo.namespaces.get(&ns_key(NsKind::Pid)),
        init.namespaces.get(&ns_key(NsKind::Pid))
    );
    assert_eq!(w.joined().count(), 0);
    let end = r.world_at(r.len());
    let joined: Vec<_> = end.joined().collect();
    assert_eq!(joined.len(), 1);
    let child = joined[0];
    assert_eq!(child.parent, Some(engine));
    assert_eq!(child.namespaces, init.namespaces);
    assert_eq!(child.exec.as_ref().unwrap()[0], "sh");
    assert_eq!(child.cwd.as_deref(), Some("/tmp"));
    assert!(child.seccomp && child.no_new_privs);
    assert_eq!(child.exit.as_ref().and_then(|x| x.code), Some(0));
    assert_eq!(end.init_pid, Some(init.host_pid), "o exec não vira o init");
    assert_eq!(end.inits, 1);
}

/// `process.tty`: the terminal opened by the init, then resized by casulo
/// (the latest size wins, resizes counted).
#[test]
fn sample_trace_terminal_opened_and_resized() {
    let r = Replay::new(sample::sample_events());
    let kinds: Vec<&str> = r.events().iter().map(|e| e.body.kind()).collect();
    let open = kinds.iter().position(|k| *k == "process.tty").unwrap();
    let opened = r.world_at(open + 1).terminal.unwrap();
    assert_eq!(
        (
            opened.path.as_str(),
            opened.rows,
            opened.cols,
            opened.resizes
        ),
        ("/dev/pts/0", 24, 80, 0)
    );
    assert_eq!(r.world_at(open).terminal, None);
    let end = r.world_at(r.len()).terminal.unwrap();
    assert_eq!((end.rows, end.cols, end.resizes), (40, 120, 1));

    // An `exec -t` opens /dev/pts/1 and resizes it: the container's
    // terminal stays the init's.
    let mut events = sample::sample_events();
    let template = events[open].clone();
    for (rows, cols) in [(30, 90), (31, 91)] {
        let mut e = template.clone();
        e.seq = events.len() as u64;
        if let EventBody::ProcessTty {
            path,
            rows: r,
            cols: c,
            ..
        } = &mut e.body
        {
            *path = "/dev/pts/1".into();
            (*r, *c) = (rows, cols);
        }
        events.push(e);
    }
    let r = Replay::new(events);
    let end = r.world_at(r.len()).terminal.unwrap();
    assert_eq!(
        (end.path.as_str(), end.rows, end.cols, end.resizes),
        ("/dev/pts/0", 40, 120, 1)
    );
}

/// `terminal.attach`/`detach` (sample trace): the terminal counts who is
/// attached, one after the attach, none after the detach.
#[test]
fn sample_trace_terminal_counts_its_attachers() {
    let r = Replay::new(sample::sample_events());
    let kinds: Vec<&str> = r.events().iter().map(|e| e.body.kind()).collect();
    let attach = kinds.iter().position(|k| *k == "terminal.attach").unwrap();
    let detach = kinds.iter().position(|k| *k == "terminal.detach").unwrap();
    let attached = |n: usize| r.world_at(n).terminal.map(|t| t.attached);
    assert_eq!(attached(attach), Some(0));
    assert_eq!(attached(attach + 1), Some(1));
    assert_eq!(attached(detach + 1), Some(0));
}

/// `image.commit` (sample trace): the world lists the image made from the
/// container, with its layer and whiteouts, from that event on.
#[test]
fn image_commit_is_kept_in_the_world() {
    let r = Replay::new(sample::sample_events());
    let at = first(&r, "image.commit", |_| true);
    assert!(r.world_at(at).commits.is_empty());
    let w = r.world_at(at + 1);
    let c = &w.commits[0];
    assert_eq!(c.container, "meu-ctr");
    assert_eq!(c.tag, "meu-ctr:v1");
    assert_eq!((c.files, c.whiteouts), (6, 2));
    assert_eq!(c.changes, [r#"CMD ["cat","/novo"]"#]);
    assert_eq!(c.at, at);
}

/// The DNS's UDP socket and then its TCP listener (two `net.dns_listen`
/// on one address): one server, both protocols. A joined network's veth
/// (`eth1`, from `network connect`) is a second cable; its deletion leaves
/// the first.
#[test]
fn dns_over_udp_and_tcp_and_a_joined_network() {
    let listen = |proto: &str| EventBody::NetDnsListen {
        address: format!("127.0.0.11:53/{proto}"),
        network: "app".into(),
        netns_pid: 201,
    };
    let veth = |h: &str, c: &str| EventBody::NetVeth {
        host_ifname: h.into(),
        container_ifname: c.into(),
        netns_pid: 201,
    };
    let r = Replay::new(trace_of(vec![
        (100, veth("veth1", "eth0")),
        (100, listen("udp")),
        (100, listen("tcp")),
        (300, veth("vethab12cd34", "eth1")),
        (
            300,
            EventBody::NetLinkDelete {
                ifname: "vethab12cd34".into(),
            },
        ),
    ]));
    let w = r.world_at(2);
    assert_eq!(
        w.network.dns_server.as_ref().unwrap().address,
        "127.0.0.11:53/udp"
    );
    let w = r.world_at(3);
    let d = w.network.dns_server.as_ref().unwrap();
    assert_eq!(
        (d.address.as_str(), d.network.as_str()),
        ("127.0.0.11:53/udp+tcp", "app")
    );
    let w = r.world_at(4);
    assert_eq!(w.network.veths.len(), 2);
    assert_eq!(w.network.veths[1].container_ifname, "eth1");
    let end = r.world_at(5);
    assert!(!end.network.veths[0].deleted && end.network.veths[1].deleted);
}

/// `run-connect`: a container of one network joined to another while it
/// runs (`network connect`) and taken out again (`disconnect`), recorded.
#[test]
fn connect_fixture_a_second_cable_in_and_out() {
    let r = replay(CONNECT);
    let second = r
        .events()
        .iter()
        .enumerate()
        .filter(|(_, e)| e.body.kind() == "net.veth")
        .nth(1)
        .map(|(i, _)| i)
        .expect("a second net.veth");
    let addr = first(
        &r,
        "net.addr",
        |e| matches!(&e.body, EventBody::NetAddr { ifname, inside: true, .. } if ifname == "eth1"),
    );
    assert!(addr > second);
    // The connect's casulo stepped into the container's netns to give the address.
    let join = first(&r, "namespace.join", |e| r.events()[second].pid == e.pid);
    assert!(join > second && join < addr);
    let w = r.world_at(addr + 1);
    assert_eq!(w.network.veths.len(), 2);
    let eth1 = &w.network.veths[1];
    assert_eq!(eth1.container_ifname, "eth1");
    assert!(eth1.bridge.is_some() && !eth1.deleted);
    assert_eq!(
        w.network.addrs_of("eth1", true).last().unwrap().address,
        "10.89.241.3/24"
    );
    assert_eq!(
        w.network.dns_server.as_ref().unwrap().address,
        "127.0.0.11:53/udp+tcp"
    );
    let host = eth1.host_ifname.clone();
    let gone = first(
        &r,
        "net.link_delete",
        |e| matches!(&e.body, EventBody::NetLinkDelete { ifname } if *ifname == host),
    );
    let w = r.world_at(gone + 1);
    assert!(w.network.veths[1].deleted && !w.network.veths[0].deleted);
}

/// `ADD https://…`: the download belongs to its step, pinned or not.
#[test]
fn an_add_url_step_keeps_what_it_downloaded() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let events = trace_of(vec![
        (
            100,
            EventBody::BuildStart {
                context: "/app".into(),
                dockerfile: "/app/Dockerfile".into(),
                tag: None,
                steps: 2,
            },
        ),
        (100, step_body(2, "ADD", "http://h/a.sh /a.sh", true)),
        (
            100,
            EventBody::BuildDownload {
                step: 2,
                url: "http://h/a.sh".into(),
                file: "a.sh".into(),
                bytes: 12,
                digest: digest.clone(),
                pinned: false,
            },
        ),
    ]);
    let r = Replay::new(events);
    let w = r.world_at(3);
    let downloads = &w.build.as_ref().unwrap().step(2).unwrap().downloads;
    assert_eq!(downloads.len(), 1);
    assert_eq!(
        (
            downloads[0].url.as_str(),
            downloads[0].bytes,
            &downloads[0].digest,
            downloads[0].pinned
        ),
        ("http://h/a.sh", 12, &digest, false)
    );
}

const ROOTLESS: &str = include_str!("fixtures/run-rootless.trace.jsonl");

/// A rootless run (an ordinary user, `-p` through pasta): the header says
/// rootless with the maps, the casulo process gets them from its two
/// `namespace.user`, the ports are pasta's and close at the end, and there
/// is no cgroup.
#[test]
fn rootless_run_maps_pasta_and_no_cgroup() {
    let trace = read_trace(ROOTLESS).unwrap();
    let h = &trace.header;
    assert!(h.rootless);
    assert_eq!(h.uid_map.len(), 2, "{h:?}");
    assert_eq!((h.uid_map[0].inside, h.uid_map[0].count), (0, 1));
    assert_eq!((h.uid_map[1].inside, h.uid_map[1].count), (1, 65_536));
    let r = replay(ROOTLESS);
    let end = r.world_at(r.events().len());
    let casulo = r.events()[0].pid;
    assert_eq!(end.processes[&casulo].uid_map, h.uid_map);
    assert_eq!(end.processes[&casulo].gid_map, h.gid_map);
    assert!(end.network.pasta.is_some_and(|pid| pid > 0));
    assert_eq!(end.network.ports.len(), 1);
    let port = &end.network.ports[0];
    assert_eq!((port.mechanism.as_str(), port.host_port), ("pasta", 18090));
    assert!(!port.is_open(), "closed at the end");
    assert!(!r
        .events()
        .iter()
        .any(|e| e.body.kind().starts_with("cgroup.")));
}
