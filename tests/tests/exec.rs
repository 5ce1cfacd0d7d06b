//! `casulo exec` on the real kernel: a new process inside a container that
//! runs under a `casulo run` (spawned here, in the foreground, as a child of
//! the test) sees what the container's init sees — its pids, hostname,
//! files, cgroup, capabilities and seccomp filter — and its trace goes on
//! in the container's own, after the run's events.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use casulo_tests::{host_casulo_cgroups, send_signal, unique_name, wait_for_child, Lab, Output};
use casulo_trace::{AttachVia, EventBody, NsKind};

/// A container running `ARGS...` (busybox) under `casulo run --rm`, and
/// its init's host pid and trace once its command runs.
struct Running {
    name: String,
    run: Child,
    init: u32,
    trace: PathBuf,
}

impl Running {
    fn start(lab: &Lab, hint: &str, run_opts: &[&str], args: &[&str]) -> Running {
        let name = unique_name(hint);
        let mut all = vec!["run", "--rm", "--name", name.as_str()];
        all.extend_from_slice(run_opts);
        all.push("busybox");
        all.extend_from_slice(args);
        let run = lab.spawn(&all);
        let trace = lab.wait_for_exec(&name);
        let comm = args[0];
        let init = wait_for_child(run.id(), comm);
        Running {
            name,
            run,
            init,
            trace,
        }
    }

    fn exec(&self, lab: &Lab, opts: &[&str], command: &[&str]) -> Output {
        let mut all = vec!["exec"];
        all.extend_from_slice(opts);
        all.push(&self.name);
        all.extend_from_slice(command);
        lab.casulo(&all)
    }

    /// Stops the container and checks nothing of it is left: no mount, no
    /// cgroup, no process of its pid namespace, no record (`--rm`).
    fn stop_and_check(mut self, lab: &Lab) {
        let id = container_id(&self.trace);
        lab.casulo(&["kill", &self.name]).assert_ok();
        self.run.wait().unwrap();
        assert!(lab.mounts().is_empty(), "{:?}", lab.mounts());
        let cgroups: Vec<_> = host_casulo_cgroups()
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(&id))
            .collect();
        assert!(cgroups.is_empty(), "{cgroups:?}");
        let ps = lab.casulo(&["ps", "-a"]);
        assert!(!ps.stdout.contains(&self.name), "{ps}");
        assert!(!Path::new(&format!("/proc/{}", self.init)).exists());
    }
}

fn container_id(trace: &Path) -> String {
    casulo_trace::reader::read_trace_file(trace)
        .unwrap()
        .header
        .container
        .id
}

/// `/proc/PID/status` field, as the host reads it.
fn status_field(pid: &str, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap_or_else(|| panic!("{field} não está em /proc/{pid}/status"))
        .trim()
        .to_string()
}

/// `kind:[inode]` of each namespace of `pid`, as `readlink` shows them.
fn host_namespaces(pid: u32) -> BTreeMap<String, String> {
    ["pid", "mnt", "uts", "ipc", "net", "cgroup", "user"]
        .iter()
        .map(|k| {
            let link = std::fs::read_link(format!("/proc/{pid}/ns/{k}")).unwrap();
            (k.to_string(), link.to_string_lossy().into_owned())
        })
        .collect()
}

/// The exec'd process is in every namespace of the container's init (the
/// same inodes as the host sees for the init), sees its pid 1 and its
/// hostname, is in its cgroup (the cgroup namespace shows `/`), and has the
/// init's capabilities and seccomp filter.
#[test]
fn exec_joins_the_namespaces_cgroup_and_security_of_the_container() {
    let lab = Lab::shared();
    let c = Running::start(lab, "exec-ns", &["--hostname", "casa"], &["sleep", "300"]);
    let out = c.exec(
        lab,
        &[],
        &[
            "sh",
            "-c",
            "for n in pid mnt uts ipc net cgroup user; do echo $n=$(readlink /proc/self/ns/$n); done; \
             echo host=$(hostname); echo pid1=$(cat /proc/1/cmdline | tr '\\0' ' '); \
             echo self=$$; grep -E '^(CapEff|Seccomp):' /proc/self/status; cat /proc/self/cgroup",
        ],
    );
    out.assert_ok();
    let said: BTreeMap<&str, &str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .collect();
    for (kind, link) in host_namespaces(c.init) {
        assert_eq!(said[kind.as_str()], link, "namespace {kind}: {out}");
    }
    assert_eq!(said["host"], "casa");
    assert_eq!(said["pid1"].trim(), "sleep 300");
    let own: u32 = said["self"].parse().unwrap();
    assert!(own > 1, "um pid do contêiner, não o do host: {out}");
    let init = c.init.to_string();
    for field in ["CapEff:", "Seccomp:"] {
        let inside = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .unwrap()
            .trim();
        assert_eq!(inside, status_field(&init, field), "{field} {out}");
    }
    assert_eq!(status_field(&init, "Seccomp:"), "2");
    // The cgroup namespace: the container's own cgroup is its `/`.
    let cgroup_lines: Vec<&str> = out.stdout.lines().filter(|l| l.contains(":/")).collect();
    assert!(!cgroup_lines.is_empty(), "{out}");
    assert!(cgroup_lines.iter().all(|l| l.ends_with(":/")), "{out}");
    c.stop_and_check(lab);
}

/// A process left running with `-d` is in the container's cgroup (`top`
/// lists it, with a pid of the container) and shares its files with the
/// main process and with other execs.
#[test]
fn detached_exec_shares_the_cgroup_the_pids_and_the_files() {
    let lab = Lab::shared();
    // The main process waits for a file an exec writes, then prints it.
    let name = unique_name("exec-arq");
    let mut run = lab
        .command(&[
            "run",
            "--rm",
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            "while [ ! -s /tmp/recado ]; do sleep 0.1; done; echo principal leu: $(cat /tmp/recado); sleep 300",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let trace = lab.wait_for_exec(&name);
    let init = wait_for_child(run.id(), "sh");
    let started = std::time::Instant::now();
    let out = lab.casulo(&[
        "exec",
        "-d",
        &name,
        "sh",
        "-c",
        "echo oi do exec > /tmp/recado; exec sleep 300",
    ]);
    out.assert_ok();
    assert!(out.stdout.is_empty(), "-d não mostra nada: {out}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Another exec reads what the first wrote.
    let read = lab.casulo(&["exec", &name, "cat", "/tmp/recado"]);
    read.assert_ok();
    assert_eq!(read.stdout.trim(), "oi do exec");
    // The main process read it too (its stdout is the run's).
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(run.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "principal leu: oi do exec");
    // `top` reads the container's cgroup: the detached sleep is in it, with
    // a pid of the container's namespace.
    let top = lab.casulo(&["top", &name]);
    top.assert_ok();
    let sleeper = top
        .stdout
        .lines()
        .find(|l| l.ends_with("sleep 300") && !l.contains(&format!(" {init} ")))
        .unwrap_or_else(|| panic!("o sleep do exec não está no cgroup: {top}"));
    let cols: Vec<&str> = sleeper.split_whitespace().collect();
    let (host_pid, inside): (u32, u32) = (cols[1].parse().unwrap(), cols[2].parse().unwrap());
    assert!(inside > 1 && inside != host_pid, "{top}");
    // The same cgroups as the init, as the host sees them.
    let cg = |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert_eq!(cg(host_pid), cg(init));
    // A command that is not there fails at once, even with -d.
    let missing = lab.casulo(&["exec", "-d", &name, "nao-existe"]);
    missing.assert_code(127);
    assert!(
        missing.stderr.contains("comando não encontrado"),
        "{missing}"
    );
    let c = Running {
        name,
        run,
        init,
        trace: trace.clone(),
    };
    c.stop_and_check(lab);
    // The container's end took the detached process with it, and the
    // waiter `-d` left on the host recorded how it ended (then went away).
    let gone = |pid: u32| {
        !Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read(format!("/proc/{pid}/cmdline"))
                .unwrap()
                .is_empty()
    };
    assert!(gone(host_pid));
    let events = casulo_trace::reader::read_trace_file(&trace)
        .unwrap()
        .events;
    let exit = events
        .iter()
        .find(|e| {
            matches!(&e.body, EventBody::ProcessExit { exited_pid, .. } if *exited_pid == host_pid as i32)
        })
        .expect("process.exit do processo do -d");
    assert!(
        matches!(&exit.body, EventBody::ProcessExit { signal_name: Some(s), .. } if s == "SIGKILL"),
        "{exit:?}"
    );
    let waiter = exit.pid as u32;
    for _ in 0..100 {
        if gone(waiter) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(gone(waiter), "o processo que esperava o -d terminou");
}

/// `-u`, `-e` and `-w` change the exec'd process only; the exit code
/// passes through; a missing command is 127 and a file that is not a
/// program 126, each with a message in Portuguese.
#[test]
fn user_env_workdir_and_exit_codes_work_like_docker() {
    let lab = Lab::shared();
    let c = Running::start(
        lab,
        "exec-opcoes",
        &["-e", "DO_CONTAINER=sim", "-w", "/tmp"],
        &["sleep", "300"],
    );
    let out = c.exec(
        lab,
        &["-u", "1000:1000", "-e", "NOVA=valor", "-w", "/home"],
        &[
            "sh",
            "-c",
            "id -u; id -g; pwd; echo $NOVA $DO_CONTAINER $HOME",
        ],
    );
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        ["1000", "1000", "/home", "valor sim /home/aluno"],
        "{out}"
    );
    // Without options: the container's own user, workdir and environment.
    let plain = c.exec(
        lab,
        &[],
        &["sh", "-c", "id -u; pwd; echo ${NOVA:-nada} $HOME"],
    );
    plain.assert_ok();
    assert_eq!(
        plain.stdout.lines().collect::<Vec<_>>(),
        ["0", "/tmp", "nada /root"]
    );
    // Stdin is /dev/null without -i, the caller's with it.
    let mut with_i = lab.command(&["exec", "-i", &c.name, "cat"]);
    with_i.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = with_i.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"pela entrada\n")
        .unwrap();
    let got = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&got.stdout), "pela entrada\n");
    assert_eq!(c.exec(lab, &[], &["cat"]).stdout, "", "sem -i: /dev/null");

    c.exec(lab, &[], &["sh", "-c", "exit 7"]).assert_code(7);
    let missing = c.exec(lab, &[], &["nao-existe", "x"]);
    missing.assert_code(127);
    assert!(
        missing
            .stderr
            .contains("comando não encontrado no contêiner: \"nao-existe\""),
        "{missing}"
    );
    let not_program = c.exec(lab, &[], &["/etc/passwd"]);
    not_program.assert_code(126);
    assert!(
        not_program.stderr.contains("não é um arquivo executável"),
        "{not_program}"
    );
    let no_dir = c.exec(lab, &["-w", "/nao/existe"], &["true"]);
    no_dir.assert_code(126);
    assert!(no_dir.stderr.contains("\"/nao/existe\""), "{no_dir}");
    let no_user = c.exec(lab, &["-u", "fantasma"], &["true"]);
    no_user.assert_code(125);
    assert!(no_user.stderr.contains("fantasma"), "{no_user}");
    // --privileged: every capability, the seccomp filter stays.
    let privileged = c.exec(
        lab,
        &["--privileged"],
        &["grep", "-E", "^(CapEff|Seccomp):", "/proc/self/status"],
    );
    privileged.assert_ok();
    assert!(privileged.stdout.contains("Seccomp:\t2"), "{privileged}");
    assert!(
        !privileged
            .stdout
            .contains(&status_field(&c.init.to_string(), "CapEff:")),
        "{privileged}"
    );
    // -t with no terminal around: the command still gets one of the
    // container's (its output comes through it, CRLF endings); -it needs a
    // terminal as input; -dt (as docker's) gives the command a terminal
    // whose output nobody reads, and returns at once.
    let tty = c.exec(lab, &["-t"], &["sh", "-c", "tty; exit 4"]);
    tty.assert_code(4);
    assert!(
        tty.stdout.starts_with("/dev/pts/") && tty.stdout.ends_with("\r\n"),
        "{tty}"
    );
    let it = c.exec(lab, &["-it"], &["sh"]);
    it.assert_code(125);
    assert!(it.stderr.contains("não é um terminal (TTY)"), "{it}");
    let dt = c.exec(
        lab,
        &["-dt"],
        &["sh", "-c", "seq 1 100000; tty > /tmp/dt; sleep 300"],
    );
    dt.assert_ok();
    // 100000 lines (≈ 600 KiB) fit no terminal buffer: they are drained.
    let began = Instant::now();
    let tty = loop {
        let tty = c.exec(lab, &[], &["cat", "/tmp/dt"]);
        if tty.success() || began.elapsed() > Duration::from_secs(20) {
            break tty;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    tty.assert_ok();
    assert!(tty.stdout.starts_with("/dev/pts/"), "{tty}");
    // busybox's ps shows a terminal as major,minor: 136 is a pty's slave.
    let ps = c.exec(lab, &[], &["ps", "-o", "tty,args"]);
    assert!(
        ps.stdout
            .lines()
            .any(|l| l.starts_with("136,") && l.contains("sleep 300")),
        "{ps}"
    );
    c.stop_and_check(lab);
}

/// Ctrl-C (SIGINT) on `casulo exec` reaches the exec'd process: it dies of
/// it and casulo exits 130, like a shell; the container goes on.
#[test]
fn ctrl_c_is_forwarded_to_the_exec_d_process() {
    let lab = Lab::shared();
    let c = Running::start(lab, "exec-sinal", &[], &["sleep", "300"]);
    let exec = lab
        .command(&["exec", &c.name, "sleep", "200"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sleeper = wait_for_child(exec.id(), "sleep");
    send_signal(exec.id(), libc::SIGINT);
    let out = exec.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("repassei SIGINT"), "{stderr}");
    assert!(
        !Path::new(&format!("/proc/{sleeper}/cmdline")).exists()
            || std::fs::read(format!("/proc/{sleeper}/cmdline"))
                .unwrap()
                .is_empty()
    );
    assert!(
        Path::new(&format!("/proc/{}", c.init)).exists(),
        "o contêiner continua"
    );
    c.stop_and_check(lab);
}

/// A stopped, unknown or ambiguous container is refused with a clear message.
#[test]
fn exec_into_a_container_that_is_not_running_is_refused() {
    let lab = Lab::shared();
    let name = unique_name("exec-parado");
    lab.casulo(&["run", "--name", &name, "busybox", "true"])
        .assert_ok();
    let out = lab.casulo(&["exec", &name, "ls"]);
    out.assert_code(125);
    assert!(
        out.stderr
            .contains(&format!("o contêiner \"{name}\" não está rodando")),
        "{out}"
    );
    lab.casulo(&["rm", &name]).assert_ok();
    let unknown = lab.casulo(&["exec", "nao-existe-nenhum", "ls"]);
    unknown.assert_code(125);
    assert!(
        unknown
            .stderr
            .contains("contêiner não encontrado: \"nao-existe-nenhum\""),
        "{unknown}"
    );
    let no_command = lab.casulo(&["exec", &name]);
    no_command.assert_code(125);
}

/// The container's trace goes on: after the run's events, one
/// `namespace.join` per namespace (casulo's for pid, the child's for the
/// rest, with the inodes the host sees for the init), the child in the
/// container's cgroup, its `process.exec` and exit — `seq` without a gap.
#[test]
fn the_trace_gets_the_joins_after_the_run_s_events() {
    let lab = Lab::shared();
    let c = Running::start(lab, "exec-trace", &[], &["sleep", "300"]);
    let before = casulo_trace::reader::read_trace_file(&c.trace)
        .unwrap()
        .events
        .len();
    c.exec(lab, &[], &["true"]).assert_ok();
    let trace = casulo_trace::reader::read_trace_file(&c.trace).unwrap();
    let seqs: Vec<u64> = trace.events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (0..seqs.len() as u64).collect::<Vec<_>>(),
        "seq sem buracos"
    );
    let new = &trace.events[before..];
    let host = host_namespaces(c.init);
    let joins: Vec<_> = new
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::NamespaceJoin {
                ns,
                target_pid,
                inode,
            } => Some((e.pid, *ns, *target_pid, *inode)),
            _ => None,
        })
        .collect();
    let kinds: Vec<NsKind> = joins.iter().map(|j| j.1).collect();
    assert_eq!(
        kinds,
        [
            NsKind::Pid,
            NsKind::Mnt,
            NsKind::Uts,
            NsKind::Ipc,
            NsKind::Net,
            NsKind::Cgroup
        ],
        "sem --userns, o namespace de usuário é o do host"
    );
    for (_, ns, target, inode) in &joins {
        assert_eq!(*target, c.init as i32);
        let link = &host[ns.proc_name()];
        assert_eq!(link, &format!("{}:[{}]", ns.proc_name(), inode.unwrap()));
    }
    // The fork: casulo joins pid, its child joins the rest.
    let child = new
        .iter()
        .find_map(|e| match e.body {
            EventBody::ProcessClone { child_pid, .. } => Some(child_pid),
            _ => None,
        })
        .expect("process.clone");
    assert_ne!(joins[0].0, child);
    assert!(joins[1..].iter().all(|j| j.0 == child));
    // Into the cgroup before the container's mounts hide the host's
    // `/sys/fs/cgroup`: on v1 the child itself (`0` into each `tasks`, no
    // RCU wait), on v2 born there (`clone3`).
    let attaches: Vec<(usize, &casulo_trace::Event)> = new
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            matches!(&e.body, EventBody::CgroupAttach { target_pid, .. } if *target_pid == child)
        })
        .collect();
    assert!(!attaches.is_empty(), "cgroup.attach do filho");
    let enters_mnt = new
        .iter()
        .position(|e| {
            e.pid == child
                && matches!(
                    &e.body,
                    EventBody::NamespaceJoin {
                        ns: NsKind::Mnt,
                        ..
                    }
                )
        })
        .unwrap();
    for (i, e) in &attaches {
        assert!(*i < enters_mnt, "{e:?}");
        match &e.body {
            EventBody::CgroupAttach { via, .. } if *via == AttachVia::Tasks => {
                assert_eq!(e.pid, child, "no v1, o próprio filho escreve em tasks")
            }
            EventBody::CgroupAttach { via, .. } => assert_eq!(*via, AttachVia::Clone3, "{e:?}"),
            _ => unreachable!(),
        }
    }
    assert!(new.iter().any(|e| e.pid == child
        && matches!(&e.body,
        EventBody::ProcessExec { path, .. } if path == "/bin/true")));
    assert!(new.iter().any(|e| matches!(&e.body,
        EventBody::ProcessExit { exited_pid, code: Some(0), .. } if *exited_pid == child)));
    // The replay sees the exec'd process as one of the container's.
    let world = casulo_trace::replay::Replay::new(trace.events.clone());
    let world = world.world_at(world.len());
    let joined: Vec<i32> = world.joined().map(|p| p.host_pid).collect();
    assert_eq!(joined, [child]);
    let path = c.trace.clone();
    c.stop_and_check(lab);
    // The run's own end is recorded after the exec's events, still gapless.
    let done = casulo_trace::reader::read_trace_file(&path);
    assert!(done.is_ok(), "{done:?}");
}

/// With `--userns` the child joins the user namespace first and becomes
/// its root: uid 0 inside, the mapped uid on the host.
#[test]
fn exec_in_a_userns_container_is_root_of_its_namespace() {
    let lab = Lab::shared();
    let c = Running::start(lab, "exec-userns", &["--userns"], &["sleep", "300"]);
    let exec = lab
        .command(&[
            "exec",
            &c.name,
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map; exec sleep 200",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sleeper = wait_for_child(exec.id(), "sleep");
    let uid = |pid: u32| {
        let line = status_field(&pid.to_string(), "Uid:");
        line.split_whitespace().next().unwrap().to_string()
    };
    let host_uid = uid(sleeper);
    assert_eq!(host_uid, uid(c.init), "o mesmo uid do host que o PID 1");
    assert_ne!(host_uid, "0");
    assert_eq!(
        std::fs::read_link(format!("/proc/{sleeper}/ns/user")).unwrap(),
        std::fs::read_link(format!("/proc/{}/ns/user", c.init)).unwrap()
    );
    send_signal(exec.id(), libc::SIGTERM);
    let out = exec.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0"], "{stdout}");
    assert_eq!(lines[1][..2], ["0", host_uid.as_str()], "{stdout}");
    let trace = casulo_trace::reader::read_trace_file(&c.trace).unwrap();
    let first_child_join = trace
        .events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::NamespaceJoin { ns, .. } => Some(ns),
            _ => None,
        })
        .nth(1);
    assert_eq!(first_child_join, Some(NsKind::User));
    c.stop_and_check(lab);
}

/// Every `setns` and `execve` strace sees `casulo exec` (and its child)
/// make is in the container's trace, by the same pid, with the same
/// outcome: nothing the exec does to enter the container goes unrecorded.
#[test]
fn every_setns_strace_sees_is_a_namespace_join_in_the_trace() {
    let lab = Lab::shared();
    let c = Running::start(lab, "exec-strace", &[], &["sleep", "300"]);
    let before = casulo_trace::reader::read_trace_file(&c.trace)
        .unwrap()
        .events
        .len();
    let log = lab.dir().join(format!("{}.strace", c.name));
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=setns,execve", "-o"])
        .arg(&log)
        .arg(casulo_tests::casulo_bin())
        .arg("--root")
        .arg(lab.root())
        .args(["exec", &c.name, "hostname"]);
    Output::of(&mut cmd).assert_ok();
    let text = std::fs::read_to_string(&log).unwrap();
    // "PID setns(3, CLONE_NEWNS) = 0" (strace names the flag).
    let mut setns: Vec<(i32, String)> = text
        .lines()
        .filter(|l| l.contains(" setns(") && l.trim_end().ends_with("= 0"))
        .map(|l| {
            let pid = l.split_whitespace().next().unwrap().parse().unwrap();
            let flag = l.split(", ").nth(1).unwrap().split(')').next().unwrap();
            (pid, flag.to_string())
        })
        .collect();
    let trace = casulo_trace::reader::read_trace_file(&c.trace).unwrap();
    let mut joins: Vec<(i32, String)> = trace.events[before..]
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::NamespaceJoin { ns, .. } => Some((e.pid, ns.clone_flag().to_string())),
            _ => None,
        })
        .collect();
    setns.sort();
    joins.sort();
    assert_eq!(setns.len(), 6, "{text}");
    assert_eq!(setns, joins, "{text}");
    // The command's execve, by the child, is the trace's process.exec.
    let exec = text
        .lines()
        .find(|l| l.contains("execve(\"/bin/hostname\"") && l.trim_end().ends_with("= 0"))
        .unwrap_or_else(|| panic!("{text}"));
    let pid: i32 = exec.split_whitespace().next().unwrap().parse().unwrap();
    assert!(trace.events[before..].iter().any(|e| e.pid == pid
        && matches!(&e.body, EventBody::ProcessExec { path, .. } if path == "/bin/hostname")));
    c.stop_and_check(lab);
}
