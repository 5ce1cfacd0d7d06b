//! What crosses from the host into a container, and what a container can
//! do back, on the real kernel (issue 13, items 7, 8, 11 and 12):
//!
//! - a descriptor the caller left open without `O_CLOEXEC` never reaches
//!   the container (`close_range(3, …, CLOSE_RANGE_CLOEXEC)`);
//! - under a real terminal (a pty from `script`), the container cannot type
//!   into it with `TIOCSTI` (`setsid`: it is no longer its terminal);
//! - an image whose `/proc` or `/sys` is a symlink to a host directory is
//!   refused, and nothing is created or mounted there;
//! - `--trace` never writes through a symlink; `--root` must be root's;
//! - every container has a default pids limit, and a fork bomb stops there.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use casulo_tests::{mounts_under, trace_path_from, unique_name, Lab, Output, PROBE_IMAGE};
use casulo_trace::reader::read_trace_file;
use casulo_trace::EventBody;

fn events(out: &Output) -> Vec<casulo_trace::Event> {
    let path = trace_path_from(&out.stderr).unwrap_or_else(|| panic!("sem trace:\n{out}"));
    read_trace_file(path).unwrap().events
}

/// Directories of the lab's state named after containers called `name`.
fn containers_named(lab: &Lab, name: &str) -> usize {
    fs::read_dir(lab.root().join("containers"))
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    fs::read_to_string(e.path().join("container.json"))
                        .is_ok_and(|j| j.contains(&format!("\"{name}\"")))
                })
                .count()
        })
        .unwrap_or(0)
}

/// `casulo run` started by `sh` with descriptor 5 open on a host file (as
/// `exec 5>arquivo` in the caller's shell leaves it: no close-on-exec).
#[test]
fn a_descriptor_the_caller_left_open_does_not_reach_the_container() {
    let lab = Lab::shared();
    let secret = lab.dir().join(format!("{}.segredo", unique_name("fd")));
    fs::write(&secret, "do host\n").unwrap();
    let name = unique_name("fd");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("exec \"$0\" --root \"$1\" run --rm --name \"$2\" busybox sh -c 'ls /proc/1/fd; exit 0' 5<\"$3\"")
        .arg(casulo_tests::casulo_bin())
        .arg(lab.root())
        .arg(&name)
        .arg(&secret);
    let out = Output::of(&mut cmd);
    out.assert_ok();
    let fds: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(fds, ["0", "1", "2"], "só a entrada e as saídas:\n{out}");
    let events = events(&out);
    // On the real kernel too: the init hid the host binary and left the
    // caller's session before it touched the image (the overlay), and
    // marked the descriptors last, right before the execve.
    let kinds: Vec<&str> = events.iter().map(|e| e.body.kind()).collect();
    let at = |k: &str| kinds.iter().position(|x| *x == k).unwrap_or(usize::MAX);
    assert!(
        at("security.non_dumpable") < at("process.setsid"),
        "{kinds:?}"
    );
    assert!(at("process.setsid") < at("mount.overlay"), "{kinds:?}");
    assert_eq!(
        at("process.fds_closed") + 1,
        at("process.exec"),
        "{kinds:?}"
    );
    let closed = events
        .into_iter()
        .find_map(|e| match e.body {
            EventBody::ProcessFdsClosed { first, inherited } => Some((first, inherited)),
            _ => None,
        })
        .expect("process.fds_closed no trace");
    assert_eq!(closed.0, 3);
    assert!(closed.1.contains(&5), "o 5 era herdado: {closed:?}");
}

/// Under a real terminal (`script` gives casulo a pty as its controlling
/// terminal), `ioctl(0, TIOCSTI)` from the container would type into the
/// caller's shell. After `setsid` the pty is not the container's terminal,
/// and without `CAP_SYS_ADMIN` the kernel says EPERM.
#[test]
fn the_container_cannot_type_into_the_callers_terminal() {
    let lab = Lab::shared();
    let name = unique_name("tiocsti");
    let trace = lab.dir().join(format!("{name}.trace.jsonl"));
    let command = format!(
        "exec {} --root {} run --rm --name {name} --trace {} {PROBE_IMAGE} /probe tiocsti 0 id",
        casulo_tests::casulo_bin().display(),
        lab.root().display(),
        trace.display()
    );
    let out = Output::of(Command::new("script").args(["-qec", &command, "/dev/null"]));
    out.assert_ok();
    // Not typed: with TIOCSTI working the pty would echo "id" before the report.
    assert!(
        out.stdout.contains("{\"tiocsti\":-1}"),
        "TIOCSTI deveria dar EPERM (-1):\n{out}"
    );
    let events = read_trace_file(&trace).unwrap().events;
    let had_terminal = events.iter().find_map(|e| match e.body {
        EventBody::ProcessSetsid { had_terminal } => Some(had_terminal),
        _ => None,
    });
    assert_eq!(had_terminal, Some(true), "largou o pty do script");
    let _ = fs::remove_file(&trace);
}

/// A Ctrl-C typed on the terminal still stops the container: the terminal
/// signals casulo's process group (the container's is its own session
/// now), casulo forwards SIGINT, and the second one becomes SIGKILL.
#[test]
fn ctrl_c_typed_on_the_terminal_still_reaches_the_container() {
    use std::io::Write;
    let lab = Lab::shared();
    let name = unique_name("ctrlc-pty");
    let command = format!(
        "exec {} --root {} run --rm --name {name} busybox sleep 300",
        casulo_tests::casulo_bin().display(),
        lab.root().display(),
    );
    let mut child = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the container runs (its record says so), then type ^C twice.
    let mut running = false;
    for _ in 0..600 {
        running = fs::read_dir(lab.root().join("containers"))
            .map(|d| {
                d.flatten().any(|e| {
                    fs::read_to_string(e.path().join("container.json")).is_ok_and(|j| {
                        j.contains(&format!("\"{name}\"")) && j.contains("\"running\"")
                    })
                })
            })
            .unwrap_or(false);
        if running {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(running, "o contêiner {name} não chegou a rodar");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("repassei SIGINT") && text.contains("SIGKILL"),
        "{text}"
    );
    assert_eq!(containers_named(lab, &name), 0);
}

/// An image whose `/proc` and `/sys` point at host directories: a `mount`
/// by path before `pivot_root` follows them on the host (the old casulo
/// mounted proc and sysfs there, in its private mount namespace, and ran
/// the container with exit 0). Now: refused, nothing touched there.
#[test]
fn an_image_whose_proc_is_a_symlink_to_the_host_is_refused() {
    let lab = Lab::shared();
    let host = lab.dir().join(unique_name("alvo-no-host"));
    for sub in ["p", "s"] {
        fs::create_dir_all(host.join(sub)).unwrap();
        fs::write(host.join(sub).join("marca"), "").unwrap();
    }
    let tarball = lab.dir().join(format!("{}.tar", unique_name("hostil")));
    {
        let mut b = tar::Builder::new(fs::File::create(&tarball).unwrap());
        let header = || {
            let mut h = tar::Header::new_gnu();
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(1_704_067_200);
            h
        };
        let mut dir = header();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_mode(0o755);
        dir.set_size(0);
        b.append_data(&mut dir, "bin/", std::io::empty()).unwrap();
        let busybox = fs::read(casulo_tests::HOST_BUSYBOX).unwrap();
        let mut file = header();
        file.set_mode(0o755);
        file.set_size(busybox.len() as u64);
        b.append_data(&mut file, "bin/busybox", &busybox[..])
            .unwrap();
        for (link, target) in [
            ("bin/sh", "busybox".to_string()),
            ("proc", host.join("p").display().to_string()),
            ("sys", host.join("s").display().to_string()),
        ] {
            let mut h = header();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_mode(0o777);
            h.set_size(0);
            b.append_link(&mut h, link, &target).unwrap();
        }
        b.finish().unwrap();
    }
    let image = format!("{}:latest", unique_name("hostil"));
    lab.casulo(&["image", "import", tarball.to_str().unwrap(), &image])
        .assert_ok();
    let name = unique_name("hostil");
    let out = lab.casulo(&["run", "--rm", "--name", &name, &image, "sh", "-c", "true"]);
    assert_eq!(out.code, 125, "{out}");
    assert!(
        out.stderr.contains("/proc como link simbólico")
            && out.stderr.contains(&host.join("p").display().to_string()),
        "{out}"
    );
    for sub in ["p", "s"] {
        let left: Vec<_> = fs::read_dir(host.join(sub)).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "nada criado no host: {left:?}");
    }
    assert!(mounts_under(&host).is_empty(), "nada montado no host");
    assert_eq!(containers_named(lab, &name), 0, "nada do contêiner sobrou");
    lab.casulo(&["image", "rm", &image]).assert_ok();
    let _ = fs::remove_file(&tarball);
    let _ = fs::remove_dir_all(&host);
}

/// `--trace LINK` where LINK points at a file of the system: refused before
/// anything is made, the file intact; a new trace is `0600`.
#[test]
fn the_trace_is_never_written_through_a_symlink() {
    let lab = Lab::shared();
    let victim = lab
        .dir()
        .join(format!("{}.importante", unique_name("vitima")));
    fs::write(&victim, "não apague\n").unwrap();
    let link = lab
        .dir()
        .join(format!("{}.trace.jsonl", unique_name("link")));
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let name = unique_name("trace-link");
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--name",
        &name,
        "--trace",
        link.to_str().unwrap(),
        "busybox",
        "true",
    ]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("é um link simbólico"), "{out}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "não apague\n");
    assert_eq!(containers_named(lab, &name), 0, "nada do contêiner sobrou");

    let fresh = lab
        .dir()
        .join(format!("{}.trace.jsonl", unique_name("novo")));
    lab.casulo(&[
        "run",
        "--rm",
        "--trace",
        fresh.to_str().unwrap(),
        "busybox",
        "true",
    ])
    .assert_ok();
    let mode = fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    for f in [&victim, &link, &fresh] {
        let _ = fs::remove_file(f);
    }
}

/// `--root` of another user (even `0700`), or under a directory another
/// user owns: refused, saying why, and nothing is created.
#[test]
fn a_root_that_is_not_roots_is_refused() {
    let lab = Lab::shared();
    let base = lab.dir().join(unique_name("raizes"));
    fs::create_dir(&base).unwrap();
    let theirs = base.join("alheia");
    fs::create_dir(&theirs).unwrap();
    fs::set_permissions(&theirs, fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let run = |root: &Path| {
        Output::of(
            Command::new(casulo_tests::casulo_bin())
                .arg("--root")
                .arg(root)
                .args(["image", "ls"]),
        )
    };
    let out = run(&theirs);
    assert_eq!(out.code, 125, "{out}");
    assert!(
        out.stderr.contains("pertence a outro usuário (uid 65534)"),
        "{out}"
    );
    assert!(
        fs::read_dir(&theirs).unwrap().next().is_none(),
        "nada criado"
    );

    let below = theirs.join("estado");
    let out = run(&below);
    assert_eq!(out.code, 125, "{out}");
    assert!(out.stderr.contains("pertence ao uid 65534"), "{out}");
    assert!(!below.exists());
    fs::remove_dir_all(&base).unwrap();
}

/// Without `--pids-limit`, the container's pids cgroup says 1024; `-1`
/// takes the limit away, `N` replaces it.
#[test]
fn every_container_has_a_default_pids_limit() {
    let lab = Lab::shared();
    let read_max = "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max";
    for (args, expected) in [
        (&[][..], "1024"),
        (&["--pids-limit", "-1"][..], "max"),
        (&["--pids-limit", "50"][..], "50"),
    ] {
        let mut all = vec!["run", "--rm"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["busybox", "sh", "-c", read_max]);
        let out = lab.casulo(&all);
        out.assert_ok();
        assert_eq!(out.stdout.trim(), expected, "{args:?}\n{out}");
        if args.is_empty() {
            let limit = events(&out).into_iter().find_map(|e| match e.body {
                EventBody::CgroupLimit {
                    controller, value, ..
                } if controller == "pids" => Some(value),
                _ => None,
            });
            assert_eq!(limit.as_deref(), Some("1024"));
        }
    }
}

/// The classic `b() { b | b & }; b` in a default container (and, to stay
/// safe, a memory limit): the kernel refuses the forks past the default
/// limit, PID 1 sees it in `pids.events` and exits, which ends the whole
/// pid namespace; the host keeps working (another container runs).
#[test]
fn a_fork_bomb_stops_at_the_default_limit() {
    let lab = Lab::shared();
    // Only builtins after the bomb (read, [, echo): no fork is needed to
    // watch it. The loop is bounded in case the limit were never reached.
    // The bomb goes off in a subshell, forked first: called from PID 1
    // itself, `b | b &` forks twice, and the first child's descendants
    // could fill the limit before the second fork — a fork that fails in
    // PID 1 ends it with code 2 before it reads anything.
    let script = "f=/sys/fs/cgroup/pids/pids.events; [ -e $f ] || f=/sys/fs/cgroup/pids.events
b() { b | b & }
(b 2>/dev/null) &
i=0
while read -r k n < $f; [ \"$n\" = 0 ] && [ $i -lt 200000 ]; do i=$((i+1)); done
echo \"recusados=$n\"";
    let out = lab.casulo(&[
        "run", "--rm", "--memory", "256m", "busybox", "sh", "-c", script,
    ]);
    out.assert_ok();
    let refused: u64 = out
        .stdout
        .trim()
        .strip_prefix("recusados=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(refused > 0, "o kernel recusou forks:\n{out}");
    let pids_max = events(&out).into_iter().find_map(|e| match e.body {
        EventBody::CgroupPidsMax { limit, .. } => Some(limit),
        _ => None,
    });
    assert_eq!(pids_max, Some(1024), "{out}");
    assert!(
        out.stderr.contains("limite de 1024 processos atingido"),
        "{out}"
    );
    // The host (and casulo) still work.
    let out = lab.casulo(&["run", "--rm", "busybox", "echo", "ainda vivo"]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "ainda vivo");
}

/// A `RUN` of `casulo build` is a container too: it runs under the
/// default pids limit (a fork bomb in a Dockerfile stops there).
#[test]
fn a_build_run_step_has_the_default_pids_limit() {
    let lab = Lab::shared();
    let ctx = lab.dir().join(unique_name("ctx-pids"));
    fs::create_dir(&ctx).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN (cat /sys/fs/cgroup/pids/pids.max || cat /sys/fs/cgroup/pids.max) > /limite\n",
    )
    .unwrap();
    let tag = format!("{}:latest", unique_name("pids-build"));
    lab.casulo(&["build", "-t", &tag, ctx.to_str().unwrap()])
        .assert_ok();
    let out = lab.casulo(&["run", "--rm", &tag, "cat", "/limite"]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "1024", "{out}");
    lab.casulo(&["image", "rm", &tag]).assert_ok();
    fs::remove_dir_all(&ctx).unwrap();
}
