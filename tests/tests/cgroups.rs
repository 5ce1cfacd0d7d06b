//! cgroups on the real kernel of this host (hybrid here: the v1
//! controllers): limits really limit, usage is sampled into the trace, the
//! OOM kill is told in Portuguese with exit 137, nothing is left behind.
//! (The v2 code runs the same checks in a VM: `xtask/src/vm.rs`.)

use std::path::PathBuf;
use std::time::Duration;

use casulo_tests::{host_casulo_cgroups, trace_cgroup_paths, unique_name, Lab, Output};
use casulo_trace::{Event, EventBody};

fn events(out: &Output) -> Vec<Event> {
    let path = out.trace_path().expect("caminho do trace no stderr");
    casulo_trace::reader::read_trace_file(path).unwrap().events
}

/// Every cgroup the run created is gone.
#[track_caller]
fn assert_no_cgroup_left(out: &Output) {
    let made = trace_cgroup_paths(&out.trace_path().unwrap());
    assert!(!made.is_empty(), "o run criou cgroups:\n{out}");
    let left: Vec<&PathBuf> = made.iter().filter(|p| p.exists()).collect();
    // A `casulo` parent may stay while another test's container runs.
    let left: Vec<_> = left
        .into_iter()
        .filter(|p| !p.ends_with("casulo"))
        .collect();
    assert!(left.is_empty(), "cgroups que sobraram: {left:?}\n{out}");
}

fn samples(events: &[Event]) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.body.kind() == "cgroup.sample")
        .collect()
}

#[test]
fn the_memory_limit_oom_kills_a_process_that_allocates_past_it() {
    let lab = Lab::shared();
    let (_, out) = lab.run_probe_with(
        "oom",
        &["--memory", "64m", "--sample-interval", "20ms"],
        &["alloc", "200M"],
    );
    out.assert_code(137);
    assert!(
        out.stderr
            .contains("o kernel matou o processo: limite de memória de 64 MiB atingido"),
        "{out}"
    );
    let ev = events(&out);
    let limit = ev
        .iter()
        .find_map(|e| match &e.body {
            EventBody::CgroupLimit { file, value, .. } if file.contains("memory.") => {
                Some((file.clone(), value.clone(), e.op.clone()))
            }
            _ => None,
        })
        .expect("cgroup.limit de memória");
    assert_eq!(limit.1, "67108864");
    assert!(
        limit.2.starts_with("write ") && limit.2.ends_with(" = 67108864"),
        "{limit:?}"
    );
    let oom = ev
        .iter()
        .find(|e| e.body.kind() == "cgroup.oom")
        .expect("cgroup.oom no trace");
    match &oom.body {
        EventBody::CgroupOom {
            oom_kills,
            limit_bytes,
            peak_bytes,
            ..
        } => {
            assert!(*oom_kills >= 1);
            assert_eq!(*limit_bytes, Some(64 << 20));
            // The kernel's peak, told with the kill: the 200M allocation
            // happened between two samples, and this is where it shows.
            assert!(
                peak_bytes.is_some_and(|p| p > 32 << 20 && p <= 64 << 20),
                "pico no cgroup.oom: {peak_bytes:?}"
            );
        }
        _ => unreachable!(),
    }
    let exit = ev.iter().find(|e| e.body.kind() == "process.exit").unwrap();
    assert!(matches!(
        exit.body,
        EventBody::ProcessExit {
            signal: Some(9),
            ..
        }
    ));
    // The peak reached the limit, never passed it.
    let peak = samples(&ev)
        .iter()
        .filter_map(|e| match e.body {
            EventBody::CgroupSample {
                memory_peak_bytes, ..
            } => memory_peak_bytes,
            _ => None,
        })
        .max()
        .expect("amostras com o pico de memória");
    assert!(peak > 32 << 20 && peak <= 64 << 20, "pico {peak}");
    // The narration tells the story.
    let show = lab.casulo(&["trace", "show", out.trace_path().unwrap().to_str().unwrap()]);
    show.assert_ok();
    for needle in [
        "memory.limit_in_bytes = 67108864",
        "uso medido: memória",
        "por falta de memória (OOM)",
        "o pico de uso chegou a",
        "SIGKILL",
    ] {
        assert!(
            show.stdout.contains(needle)
                || show
                    .stdout
                    .contains(&needle.replace("limit_in_bytes", "max")),
            "falta {needle:?} em:\n{}",
            show.stdout
        );
    }
    assert_no_cgroup_left(&out);
}

#[test]
fn below_the_memory_limit_the_allocation_succeeds() {
    let lab = Lab::shared();
    let (report, out) = lab.run_probe_with("mem-ok", &["--memory", "128m"], &["alloc", "32M"]);
    out.assert_ok();
    assert_eq!(report["ok"], true, "{out}");
    assert!(!ev_kinds(&out).contains(&"cgroup.oom".to_string()));
    assert_no_cgroup_left(&out);
}

fn ev_kinds(out: &Output) -> Vec<String> {
    events(out)
        .iter()
        .map(|e| e.body.kind().to_string())
        .collect()
}

#[test]
fn the_pids_limit_refuses_the_fork_past_it() {
    let lab = Lab::shared();
    // 5 processes in all: the probe (PID 1) and 4 children.
    let (report, out) = lab.run_probe_with("pids", &["--pids-limit", "5"], &["fork", "10"]);
    out.assert_ok();
    assert_eq!(report["started"], 4, "{out}");
    assert_eq!(report["failed"], 6, "{out}");
    let refused = events(&out)
        .iter()
        .find_map(|e| match e.body {
            EventBody::CgroupPidsMax { limit, refused, .. } => Some((limit, refused)),
            _ => None,
        })
        .expect("cgroup.pids_max no trace");
    assert_eq!(refused.0, 5);
    assert!(refused.1 >= 1, "{refused:?}");
    assert!(
        out.stderr.contains("limite de 5 processos atingido"),
        "{out}"
    );
    assert_no_cgroup_left(&out);
}

#[test]
fn the_cpu_quota_caps_a_busy_loop_near_the_quota() {
    let lab = Lab::shared();
    // Two spinning threads ask for 2 CPUs against a quota of 0.5: the kernel
    // throttles the cgroup even when a busy machine gives one thread less
    // than its quota.
    let (report, out) = lab.run_probe_with("cpu", &["--cpus", "0.5"], &["spin", "2", "2"]);
    out.assert_ok();
    let (cpu, wall) = (
        report["cpu_ns"].as_f64().unwrap(),
        report["wall_ns"].as_f64().unwrap(),
    );
    let ratio = cpu / wall;
    // Generous band around 0.5 (a loaded 2-core machine may give less).
    assert!((0.2..=0.7).contains(&ratio), "cpu/wall = {ratio:.2}\n{out}");
    let ev = events(&out);
    let last = samples(&ev)
        .iter()
        .filter_map(|e| match e.body {
            EventBody::CgroupSample {
                cpu_usage_us,
                cpu_throttled_us,
                ..
            } => Some((cpu_usage_us?, cpu_throttled_us)),
            _ => None,
        })
        .next_back()
        .expect("amostras com uso de CPU");
    // The cgroup's own count agrees: about 1 s of CPU in 2 s.
    let usage_s = last.0 as f64 / 1e6;
    assert!((0.4..=1.5).contains(&usage_s), "uso {usage_s:.2} s\n{out}");
    assert!(
        last.1.unwrap_or(0) > 0,
        "o kernel segurou (throttled) a CPU"
    );
    assert_no_cgroup_left(&out);
}

#[test]
fn usage_is_sampled_into_the_trace_while_the_container_runs() {
    let lab = Lab::shared();
    let (_, out) = lab.run_probe_with(
        "samples",
        &[
            "--sample-interval",
            "50ms",
            "--memory",
            "100m",
            "--pids-limit",
            "50",
        ],
        &["spin", "1"],
    );
    out.assert_ok();
    let ev = events(&out);
    let s = samples(&ev);
    assert!(s.len() >= 5, "{} amostras", s.len());
    let exec = ev
        .iter()
        .position(|e| e.body.kind() == "process.exec")
        .unwrap();
    assert!(
        ev.iter()
            .position(|e| e.body.kind() == "cgroup.sample")
            .unwrap()
            > exec
    );
    match &s[0].body {
        EventBody::CgroupSample {
            memory_bytes,
            memory_limit_bytes,
            pids,
            pids_limit,
            cpu_usage_us,
            ..
        } => {
            assert!(memory_bytes.unwrap() > 0);
            assert_eq!(*memory_limit_bytes, Some(100 << 20));
            assert_eq!(*pids, Some(1));
            assert_eq!(*pids_limit, Some(50));
            assert!(cpu_usage_us.is_some());
        }
        _ => unreachable!(),
    }
    // The order of the story: create, limits, clone, attach, …, delete.
    let kinds: Vec<&str> = ev.iter().map(|e| e.body.kind()).collect();
    let first = |k: &str| kinds.iter().position(|x| *x == k).unwrap();
    assert!(first("cgroup.create") < first("cgroup.limit"));
    assert!(first("cgroup.limit") < first("process.clone"));
    assert!(first("process.clone") < first("cgroup.attach"));
    assert!(first("cgroup.attach") < first("mount.overlay"));
    assert_eq!(*kinds.last().unwrap(), "cgroup.delete");
    assert_no_cgroup_left(&out);
}

#[test]
fn the_container_sees_its_own_cgroup_as_the_root() {
    let lab = Lab::shared();
    let (info, out) = lab.run_probe_with("cgns", &["--memory", "64m"], &["info"]);
    out.assert_ok();
    for line in info["cgroup"].as_array().unwrap() {
        assert_eq!(line["path"], "/", "{line}");
    }
}

#[test]
fn bad_limit_values_are_refused_naming_the_flag() {
    let lab = Lab::shared();
    for (flag, value, says) in [
        ("--memory", "muito", "não é um tamanho"),
        ("--memory", "1m", "mínimo"),
        ("--cpus", "0", "maior que 0"),
        ("--cpus", "meia", "não é um número"),
        ("--pids-limit", "x", "inteiro"),
        ("--cpu-shares", "1", "de 2 a 262144"),
        ("--sample-interval", "1ms", "de 10ms a 60s"),
    ] {
        let out = lab.casulo(&["run", "--rm", flag, value, "busybox", "true"]);
        out.assert_code(125);
        assert!(
            out.stderr.contains(flag) && out.stderr.contains(says),
            "{flag} {value}: {out}"
        );
    }
    let out = lab.casulo(&["run", "--rm", "--memory-swap", "1g", "busybox", "true"]);
    out.assert_code(125);
    assert!(out.stderr.contains("--memory-swap"), "{out}");
}

#[test]
fn an_orphan_cgroup_of_a_killed_casulo_is_removed_by_gc() {
    let lab = Lab::shared();
    let name = unique_name("gc");
    let mut child = lab
        .command(&[
            "run", "--name", &name, "--memory", "64m", "busybox", "sleep", "300",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let trace = lab.wait_for_exec(&name);
    child.kill().unwrap(); // SIGKILL: casulo cannot clean up
    child.wait().unwrap();
    let mine: Vec<PathBuf> = trace_cgroup_paths(&trace)
        .into_iter()
        .filter(|p| !p.ends_with("casulo"))
        .collect();
    assert!(mine.iter().all(|p| p.exists()), "o cgroup ficou órfão");
    // gc leaves cgroups younger than 5 s alone: retry until it is old enough.
    let mut gone = false;
    for _ in 0..40 {
        let out = lab.casulo(&["gc"]);
        out.assert_ok();
        if mine.iter().all(|p| !p.exists()) {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(gone, "gc removeu {mine:?}");
    assert!(host_casulo_cgroups().iter().all(|p| !mine.contains(p)));
    lab.casulo(&["rm", &name]).assert_ok();
}

/// Issue 12: inside, `/sys/fs/cgroup` is the container's own cgroup view
/// (mounted after it entered its cgroup namespace, read-only, as docker
/// does): the limit set with --memory is there, and cannot be changed.
#[test]
fn the_container_reads_its_own_memory_limit_in_sys_fs_cgroup() {
    let lab = Lab::shared();
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let file = if v2 {
        "/sys/fs/cgroup/memory.max"
    } else {
        "/sys/fs/cgroup/memory/memory.limit_in_bytes"
    };
    let script = format!(
        "cat {file}; cat /proc/self/cgroup; \
         if echo 100000000 > {file}; then echo escreveu; else echo recusou; fi"
    );
    let name = unique_name("cgview");
    let out = lab.casulo(&[
        "run", "--rm", "--name", &name, "--memory", "48m", "busybox", "sh", "-c", &script,
    ]);
    out.assert_ok();
    let mut lines = out.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("50331648"),
        "o limite do próprio contêiner:\n{out}"
    );
    // Its cgroup namespace: every group it is in is its own root, `/`.
    let groups: Vec<&str> = out.stdout.lines().filter(|l| l.contains(':')).collect();
    assert!(!groups.is_empty(), "{out}");
    assert!(
        groups
            .iter()
            .filter(|l| l.contains("memory") || l.starts_with("0::"))
            .all(|l| l.ends_with(":/")),
        "{out}"
    );
    assert!(
        out.stdout.trim_end().ends_with("recusou"),
        "somente leitura:\n{out}"
    );
    assert!(out.stderr.contains("Read-only file system"), "{out}");
    // Each mount is an event of the trace, read-only.
    let ev = events(&out);
    let cgroup_mounts: Vec<_> = ev
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::MountFs {
                fstype,
                target,
                flags,
                ..
            } if fstype.starts_with("cgroup") => Some((target.clone(), flags.clone())),
            _ => None,
        })
        .collect();
    assert!(!cgroup_mounts.is_empty(), "{out}");
    assert!(cgroup_mounts
        .iter()
        .all(|(t, f)| t.contains("/merged/sys/fs/cgroup") && f.iter().any(|f| f == "MS_RDONLY")));
    assert_no_cgroup_left(&out);
}
