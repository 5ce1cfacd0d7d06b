//! The trace of a real run: valid against the schema, gapless, and complete
//! (every kernel call strace sees has its event, with the same outcome).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use casulo_tests::{unique_name, Lab, PROBE_IMAGE};
use casulo_trace::{Event, EventBody, Outcome};
use serde_json::Value;

#[test]
fn a_runs_trace_validates_against_the_schema_and_tells_the_story() {
    let lab = Lab::shared();
    let (_, out) = lab.run_probe_with("schema", &["--hostname", "h-schema"], &["exit", "3"]);
    out.assert_code(3);
    let path = out.trace_path().expect("caminho do trace no stderr");
    let text = std::fs::read_to_string(&path).unwrap();

    let header_schema = jsonschema::validator_for(&casulo_trace::schema::header_schema()).unwrap();
    let event_schema = jsonschema::validator_for(&casulo_trace::schema::event_schema()).unwrap();
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert!(header_schema.is_valid(&header), "{header}");
    for (i, line) in lines.enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        if let Err(e) = event_schema.validate(&v) {
            panic!("linha {}: {e}: {line}", i + 2);
        }
        assert_eq!(v["seq"], i as u64, "seq sem buracos");
    }
    // A wrong field type is rejected (the schema is not a blank check).
    let mut broken: Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
    broken["seq"] = Value::String("zero".into());
    assert!(!event_schema.is_valid(&broken));

    let trace = casulo_trace::reader::read_trace_file(&path).unwrap();
    assert!(trace.skipped.is_empty());
    assert_eq!(trace.header.container.image, PROBE_IMAGE);
    assert!(["v1", "v2", "hybrid"].contains(&trace.header.cgroup_mode.as_str()));
    let kinds: Vec<&str> = trace.events.iter().map(|e| e.body.kind()).collect();
    let pos = |k: &str| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("sem {k}: {kinds:?}"))
    };
    // The story, in order: layers, clone, namespaces, rootfs, pivot_root, exec, exit.
    let first_layer = kinds
        .iter()
        .position(|k| k.starts_with("layer."))
        .expect("camadas no trace");
    assert!(first_layer < pos("process.clone"));
    assert!(pos("process.clone") < pos("namespace.create"));
    assert!(pos("mount.overlay") < pos("mount.pivot_root"));
    assert!(pos("uts.sethostname") < pos("process.exec"));
    // Then the cgroup's last reading and its removal.
    assert!(pos("cgroup.create") < pos("process.clone"));
    assert!(pos("process.clone") < pos("cgroup.attach"));
    assert_eq!(*kinds.last().unwrap(), "cgroup.delete");
    let last_process = kinds
        .iter()
        .rfind(|k| !k.starts_with("cgroup.") && !k.starts_with("layer."))
        .unwrap();
    assert_eq!(*last_process, "process.exit");
    // After the exit, the read/write layer is measured (layer.upper).
    assert!(pos("process.exit") < pos("layer.upper"));
    let created: Vec<_> = trace
        .events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::NamespaceCreate {
                ns,
                inode,
                host_inode,
                ..
            } => Some((*ns, *inode, *host_inode)),
            _ => None,
        })
        .collect();
    assert_eq!(created.len(), 6, "seis namespaces: {created:?}");
    for (ns, inode, host) in created {
        assert!(inode.is_some() && inode != host, "{ns:?}");
    }
    let exit = trace
        .events
        .iter()
        .rfind(|e| e.body.kind() == "process.exit")
        .unwrap();
    match &exit.body {
        EventBody::ProcessExit { code, .. } => assert_eq!(*code, Some(3)),
        other => panic!("{other:?}"),
    }
    // Time never goes back and every event succeeded in a good run.
    assert!(trace.events.windows(2).all(|w| w[0].t_us <= w[1].t_us));
    assert!(
        trace.events.iter().all(|e| e.outcome == Outcome::Ok),
        "{kinds:?}"
    );
    // The host pid of the init is in the events it performed.
    let clone_child = trace.events.iter().find_map(|e| match e.body {
        EventBody::ProcessClone { child_pid, .. } => Some(child_pid),
        _ => None,
    });
    let pivot = trace
        .events
        .iter()
        .find(|e| e.body.kind() == "mount.pivot_root")
        .unwrap();
    assert_eq!(Some(pivot.pid), clone_child);
}

#[test]
fn trace_show_narrates_in_portuguese_and_check_accepts() {
    let lab = Lab::shared();
    let (_, out) = lab.run_probe("show", &["exit", "0"]);
    let path = out.trace_path().unwrap();
    let p = path.to_str().unwrap();
    let check = lab.casulo(&["trace", "check", p]);
    check.assert_ok();
    assert!(check.stdout.contains("trace válido"), "{check}");
    let show = lab.casulo(&["trace", "show", "--explain", p]);
    show.assert_ok();
    for needle in ["pivot_root", "overlay", "execve(\"/probe\"", "namespace"] {
        assert!(show.stdout.contains(needle), "{needle}: {show}");
    }
}

#[test]
fn a_trace_can_be_sent_to_a_chosen_file_or_to_dev_null() {
    let lab = Lab::shared();
    let file = lab
        .dir()
        .join(format!("{}.trace.jsonl", unique_name("chosen")));
    let f = file.to_str().unwrap();
    let out = lab.casulo(&["run", "--rm", "--trace", f, "busybox", "true"]);
    out.assert_ok();
    assert_eq!(out.trace_path().as_deref(), Some(file.as_path()));
    casulo_trace::reader::read_trace_file(&file).unwrap();
    lab.casulo(&["run", "--rm", "--trace", "/dev/null", "busybox", "true"])
        .assert_ok();
}

// ---------------------------------------------------------------------------
// Completeness: strace -f vs the trace.

/// One syscall as strace printed it.
#[derive(Debug)]
struct Call {
    pid: i32,
    name: String,
    args: String,
    ok: bool,
    errno: Option<String>,
    ret: i64,
    /// For a `write`: the cgroup file its fd was opened on (see
    /// [`cgroup_files`]).
    file: Option<String>,
}

const TRACED: &str = "unshare,clone,clone3,setns,mount,umount2,pivot_root,sethostname,execve,\
                      mkdir,mkdirat,rmdir,openat,write,close,mknod,mknodat,symlink,chdir,chroot,\
                      kill,fork,vfork,prctl,capset,seccomp,setsid,close_range,ioctl,\
                      setgroups,setgid,setuid,sendto,recvfrom";

/// Names each `write` to a kernel file (under [`CGROUPS`], `/proc/` or
/// `/sys/`) opened for writing by the same process (`openat` → fd, until
/// its `close`).
fn cgroup_files(calls: &mut [Call]) {
    let mut open: HashMap<(i32, i64), String> = HashMap::new();
    for c in calls.iter_mut() {
        let fd = || {
            c.args
                .split(',')
                .next()
                .and_then(|f| f.trim().parse::<i64>().ok())
        };
        match c.name.as_str() {
            "openat" if c.ok && c.args.contains("O_WRONLY") => {
                let path = quoted(&c.args, 0);
                if path.starts_with("/proc/") || path.starts_with("/sys/") {
                    open.insert((c.pid, c.ret), path);
                }
            }
            "close" => {
                if let Some(fd) = fd() {
                    open.remove(&(c.pid, fd));
                }
            }
            "write" => {
                if let Some(fd) = fd() {
                    c.file = open.get(&(c.pid, fd)).cloned();
                }
            }
            _ => {}
        }
    }
}

/// Parses `strace -f` output, joining `<unfinished ...>` / `resumed>` halves.
fn parse_strace(text: &str) -> Vec<Call> {
    let mut pending: HashMap<i32, String> = HashMap::new();
    let mut calls = Vec::new();
    for line in text.lines() {
        let (pid, rest) = line.trim().split_once(' ').unwrap();
        let pid: i32 = pid.parse().unwrap();
        let rest = rest.trim_start();
        let full = if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(pid, head.to_string());
            continue;
        } else if rest.starts_with("<... ") {
            let tail = &rest[rest.find("resumed>").unwrap() + 8..];
            format!("{}{}", pending.remove(&pid).unwrap_or_default(), tail)
        } else {
            rest.to_string()
        };
        if full.starts_with("+++") || full.starts_with("---") {
            continue;
        }
        let Some(open) = full.find('(') else { continue };
        // strace pads short calls: `unshare(CLONE_NEWCGROUP)      = 0`.
        let Some(eq) = full.rfind(" = ") else {
            continue;
        };
        let Some(close) = full[..eq].rfind(')') else {
            continue;
        };
        let name = full[..open].to_string();
        let args = full[open + 1..close].to_string();
        let result = full[eq + 3..].trim();
        let mut parts = result.split_whitespace();
        let ret: i64 = parts.next().unwrap_or("0").parse().unwrap_or(0);
        let errno = if ret < 0 {
            parts.next().map(str::to_string)
        } else {
            None
        };
        calls.push(Call {
            pid,
            name,
            args,
            ok: ret >= 0,
            errno,
            ret,
            file: None,
        });
    }
    cgroup_files(&mut calls);
    netlink_acks(&mut calls);
    calls
}

/// The outcome of a netlink request is not `sendto`'s (the kernel took the
/// bytes) but the `NLMSG_ERROR` the kernel answers with: `error=0` done,
/// `error=-EEXIST` refused. Each request to `AF_NETLINK` takes the answer
/// its process reads next.
fn netlink_acks(calls: &mut [Call]) {
    for i in 0..calls.len() {
        if !(calls[i].name == "sendto" && calls[i].args.contains("sa_family=AF_NETLINK")) {
            continue;
        }
        let pid = calls[i].pid;
        let answer = calls[i + 1..]
            .iter()
            .find(|c| c.pid == pid && c.name == "recvfrom" && c.args.contains("NLMSG_ERROR"))
            .and_then(|c| c.args.split("{error=").nth(1))
            .and_then(|rest| rest.split([',', '}']).next())
            .map(str::to_string);
        if let Some(error) = answer {
            calls[i].ok = error == "0";
            calls[i].errno = error.strip_prefix('-').map(str::to_string);
        }
    }
}

/// The netlink requests that change something (the facade's
/// `network::netlink::Request`s): their `nlmsg_type`, by name. strace
/// names the type only when it can tell the socket's protocol (not for a
/// socket in another network namespace), so the number is read too.
/// Reads (`RTM_GET*`: glibc's `getifaddrs`) are not events.
fn netlink_type(args: &str) -> Option<&'static str> {
    let value = args.split("nlmsg_type=").nth(1)?;
    let value = value.split([',', ' ']).next()?;
    Some(match value {
        "RTM_NEWLINK" | "0x10" => "RTM_NEWLINK",
        "RTM_DELLINK" | "0x11" => "RTM_DELLINK",
        "RTM_NEWADDR" | "0x14" => "RTM_NEWADDR",
        "RTM_NEWROUTE" | "0x18" => "RTM_NEWROUTE",
        _ => return None,
    })
}

/// The first quoted string argument of a call, unescaped enough for paths.
fn quoted(args: &str, n: usize) -> String {
    args.split('"')
        .nth(1 + 2 * n)
        .unwrap_or_default()
        .to_string()
}

fn outcome_matches(call: &Call, event: &Event) -> bool {
    match &event.outcome {
        Outcome::Ok => call.ok,
        Outcome::Error(e) => !call.ok && call.errno.as_deref() == Some(e.name.as_str()),
    }
}

/// A key that must be equal for a syscall and its event; `None` = not traced.
fn call_key(c: &Call) -> Option<String> {
    Some(match c.name.as_str() {
        "clone" | "clone3" if c.args.contains("CLONE_NEW") => format!("clone {}", c.ret),
        "unshare" => format!("unshare {}", c.args.trim()),
        "setns" => "setns".to_string(),
        // mount(source, target, …); a NULL source is not quoted.
        "mount" if c.args.starts_with("NULL") => format!("mount {}", quoted(&c.args, 0)),
        "mount" => format!("mount {}", quoted(&c.args, 1)),
        "umount2" => format!("umount2 {}", quoted(&c.args, 0)),
        "pivot_root" => format!("pivot_root {} {}", quoted(&c.args, 0), quoted(&c.args, 1)),
        "sethostname" => format!("sethostname {}", quoted(&c.args, 0)),
        "execve" => format!("execve {}", quoted(&c.args, 0)),
        // The shared `casulo` parent another container made or still uses
        // meanwhile (EEXIST, EBUSY…): nothing happened, nothing recorded
        // (`Kernel::cgroup_create_shared`, `cgroup_delete_shared`).
        "mkdir" | "mkdirat" | "rmdir"
            if !c.ok
                && quoted(&c.args, 0).ends_with("/casulo")
                && matches!(
                    c.errno.as_deref(),
                    Some("EEXIST" | "EBUSY" | "ENOTEMPTY" | "ENOENT")
                ) =>
        {
            return None
        }
        // A container's cgroup directories (the state dir's are not traced).
        "mkdir" | "rmdir" if quoted(&c.args, 0).starts_with(CGROUPS) => {
            format!("{} {}", c.name, quoted(&c.args, 0))
        }
        "mkdirat" if quoted(&c.args, 0).starts_with(CGROUPS) => {
            format!("mkdir {}", quoted(&c.args, 0))
        }
        // The device rules of v1: one `cgroup.devices` event for the
        // writes in a row into the same cgroup (joined by `joined`).
        "write" if c.file.as_deref().is_some_and(|f| f.contains("/devices.")) => {
            let file = c.file.as_deref().unwrap();
            let (dir, name) = file.rsplit_once('/').unwrap();
            format!(
                "devices {dir}: {} {}",
                name.trim_start_matches("devices."),
                quoted(&c.args, 0)
            )
        }
        // A limit or a pid written to a cgroup's file, or a value to a
        // /proc or /sys file.
        "write" if c.file.is_some() => {
            format!(
                "write {} {}",
                c.file.as_deref().unwrap(),
                quoted(&c.args, 0)
            )
        }
        // The device nodes of /dev (`mknodat(AT_FDCWD, …)` for `mknod`).
        "mknod" | "mknodat" => format!("mknod {} {}", quoted(&c.args, 0), makedev(&c.args)),
        "symlink" => format!("symlink {} {}", quoted(&c.args, 0), quoted(&c.args, 1)),
        "chdir" => format!("chdir {}", quoted(&c.args, 0)),
        "chroot" => format!("chroot {}", quoted(&c.args, 0)),
        "kill" => format!("kill {}", c.args.replace(' ', "")),
        // The capabilities: the bounding set one by one, the ambient set,
        // then `capset` — one `security.capabilities` event.
        "prctl" if c.args.starts_with("PR_CAPBSET_DROP") => {
            format!(
                "capabilities: drop {}",
                c.args.split(", ").nth(1).unwrap_or_default()
            )
        }
        "prctl" if c.args.starts_with("PR_CAP_AMBIENT") => "capabilities: ambient".into(),
        "capset" => "capabilities: capset".into(),
        "prctl" if c.args.starts_with("PR_SET_NO_NEW_PRIVS") => "no_new_privs".into(),
        "prctl" if c.args.starts_with("PR_SET_DUMPABLE") => "non_dumpable".into(),
        // Each filter of the profile; one `security.seccomp` event.
        "seccomp" if c.args.starts_with("SECCOMP_SET_MODE_FILTER") => "seccomp: filter".into(),
        "setsid" => "setsid".into(),
        // The user switch: one `process.user` event.
        "setgroups" | "setgid" | "setuid" => format!("user: {} {}", c.name, c.args),
        "close_range" => format!(
            "close_range {}",
            c.args.split(',').next().unwrap_or_default()
        ),
        "ioctl" if c.args.contains("SIOCSIFFLAGS") => format!("link_up {}", quoted(&c.args, 0)),
        // A network's links, addresses and routes: one `net.*` event per
        // request.
        "sendto" if c.args.contains("sa_family=AF_NETLINK") => {
            format!("netlink {}", netlink_type(&c.args)?)
        }
        _ => return None,
    })
}

/// Where the cgroup directories are.
const CGROUPS: &str = "/sys/fs/cgroup/";

/// `makedev(0x1, 0x3)` → `1:3` (strace prints the numbers in hex).
fn makedev(args: &str) -> String {
    let inside = args
        .split("makedev(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_default();
    let number = |n: &str| {
        let n = n.trim();
        match n.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
            None => n.parse().unwrap(),
        }
    };
    let (major, minor) = inside.split_once(',').unwrap();
    format!("{}:{}", number(major), number(minor))
}

/// Calls in a row that make one event: the v1 device writes into one
/// cgroup, the capability calls, the seccomp filters, the user switch.
const JOINED: [&str; 4] = ["devices ", "capabilities:", "seccomp:", "user:"];

/// The keys of the calls strace saw, each with its call: the calls in a row
/// of one [`JOINED`] group joined into the one key of their event (with
/// the last call: a failed one is the last, the facade does not try the
/// rest).
fn joined(seen: Vec<(String, &Call)>) -> Vec<(String, &Call)> {
    let mut out: Vec<(String, &Call)> = Vec::new();
    for (key, call) in seen {
        let group = JOINED.iter().any(|g| key.starts_with(g));
        if let Some((head, rule)) = key.split_once(": ").filter(|_| group) {
            if let Some(last) = out.last_mut().filter(|(k, _)| k.starts_with(head)) {
                last.0.push_str(&format!("; {rule}"));
                last.1 = call;
                continue;
            }
        }
        out.push((key, call));
    }
    out
}

fn event_key(e: &Event) -> Option<String> {
    // A `net.*` event made by a netlink request: its `op` is the message.
    if let Some(kind) =
        e.op.split_whitespace()
            .next()
            .filter(|w| w.starts_with("RTM_"))
    {
        return Some(format!("netlink {kind}"));
    }
    Some(match &e.body {
        EventBody::ProcessClone { child_pid, .. } => format!("clone {child_pid}"),
        EventBody::NamespaceCreate {
            ns,
            via: casulo_trace::NsVia::Unshare,
            ..
        } => {
            format!("unshare {}", ns.clone_flag())
        }
        EventBody::NamespaceJoin { .. } => "setns".to_string(),
        EventBody::MountOverlay { target, .. }
        | EventBody::MountFs { target, .. }
        | EventBody::MountPropagation { target, .. } => format!("mount {target}"),
        EventBody::MountUmount { target, .. } => format!("umount2 {target}"),
        EventBody::MountPivotRoot { new_root, put_old } => {
            format!("pivot_root {new_root} {put_old}")
        }
        EventBody::UtsSethostname { hostname } => format!("sethostname {hostname}"),
        EventBody::ProcessExec { path, .. } => format!("execve {path}"),
        EventBody::CgroupCreate { path, .. } => format!("mkdir {path}"),
        EventBody::CgroupDelete { path } => format!("rmdir {path}"),
        EventBody::CgroupLimit { file, value, .. } => format!("write {file} {value}"),
        EventBody::CgroupAttach {
            path,
            target_pid,
            via,
        } => match via {
            casulo_trace::AttachVia::Write => format!("write {path}/cgroup.procs {target_pid}"),
            // v1: the init wrote itself into the cgroup's `tasks`.
            casulo_trace::AttachVia::Tasks => format!("write {path}/tasks 0"),
            // v2: part of its clone3 (the v2 VM has no strace).
            casulo_trace::AttachVia::Clone3 => return None,
        },
        EventBody::CgroupDevices {
            path,
            version,
            privileged,
            allowed,
            ..
        } if version == "v1" => {
            if *privileged {
                format!("devices {path}: allow a")
            } else {
                let rules: Vec<String> = allowed.iter().map(|r| format!("allow {r}")).collect();
                format!("devices {path}: deny a; {}", rules.join("; "))
            }
        }
        EventBody::FsWrite { path, value } => format!("write {path} {value}"),
        EventBody::SecurityCapabilities { dropped, .. } => {
            let drops: Vec<String> = dropped.iter().map(|c| format!("drop {c}")).collect();
            format!("capabilities: {}; ambient; capset", drops.join("; "))
        }
        EventBody::SecurityNoNewPrivs {} => "no_new_privs".into(),
        EventBody::SecurityNonDumpable {} => "non_dumpable".into(),
        EventBody::SecuritySeccomp { filters, .. } if *filters > 0 => {
            format!("seccomp: {}", vec!["filter"; *filters as usize].join("; "))
        }
        EventBody::ProcessSetsid { .. } => "setsid".into(),
        EventBody::ProcessUser {
            uid, gid, groups, ..
        } => format!(
            "user: setgroups {}, {groups:?}; setgid {gid}; setuid {uid}",
            groups.len()
        ),
        EventBody::ProcessFdsClosed { first, .. } => format!("close_range {first}"),
        EventBody::NetLinkUp { ifname } => format!("link_up {ifname}"),
        EventBody::DeviceCreate {
            path, major, minor, ..
        } => format!("mknod {path} {major}:{minor}"),
        EventBody::FsSymlink { target, link } => format!("symlink {target} {link}"),
        EventBody::ProcessChdir { path } => format!("chdir {path}"),
        EventBody::ProcessChroot { path } => format!("chroot {path}"),
        EventBody::ProcessSignal {
            target_pid,
            signal_name,
            ..
        } => format!("kill {target_pid},{signal_name}"),
        _ => return None,
    })
}

/// `strace -f` of `casulo run --rm ARGS`, its log and trace in `dir`.
struct Straced {
    log: PathBuf,
    trace: PathBuf,
    cmd: std::process::Command,
}

impl Straced {
    fn calls(&self) -> Vec<Call> {
        parse_strace(&std::fs::read_to_string(&self.log).unwrap())
    }

    fn events(&self) -> Vec<Event> {
        casulo_trace::reader::read_trace_file(&self.trace)
            .unwrap()
            .events
    }
}

fn straced(lab: &Lab, dir: &Path, args: &[&str]) -> Straced {
    let name = unique_name("strace");
    let log = dir.join(format!("{name}.strace"));
    let trace = dir.join(format!("{name}.trace.jsonl"));
    let mut cmd = std::process::Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-s",
        "4096",
        "-e",
        &format!("trace={TRACED}"),
        "-o",
    ])
    .arg(&log)
    .arg(casulo_tests::casulo_bin())
    .arg("--root")
    .arg(lab.root())
    .args(["run", "--rm", "--name", &name, "--trace"])
    .arg(&trace)
    .args(args);
    Straced { log, trace, cmd }
}

fn strace_run(lab: &Lab, dir: &Path, args: &[&str]) -> (Vec<Call>, Vec<Event>, i32) {
    let mut run = straced(lab, dir, args);
    let out = casulo_tests::Output::of(&mut run.cmd);
    (run.calls(), run.events(), out.code)
}

fn assert_complete(calls: &[Call], events: &[Event]) {
    // The first execve is strace starting casulo itself: not the container's.
    let casulo_pid = calls.first().map(|c| c.pid).unwrap();
    // casulo's own processes: casulo and what it (or they) forked before
    // an exec. After the facade's exec a process runs the container's
    // program, and its children (strace shows their fork returning their
    // pid in the container's namespace) are not casulo's: what they call
    // (a shell's own execve) is left out. (A child's first calls may be
    // printed before its parent's fork returns: all forks are read first.)
    let mut exec_at: HashMap<i32, usize> = HashMap::new();
    for (i, c) in calls.iter().enumerate() {
        if c.name == "execve" && c.ok && c.pid != casulo_pid {
            exec_at.entry(c.pid).or_insert(i);
        }
    }
    let mut ours: HashSet<i32> = HashSet::from([casulo_pid]);
    loop {
        let before = ours.len();
        for (i, c) in calls.iter().enumerate() {
            // A program casulo runs as a helper (`nft`, through
            // posix_spawn: a `CLONE_VFORK`) is not the facade's: its exec
            // and what it calls are its own.
            let spawned = c.name == "vfork" || c.args.contains("CLONE_VFORK");
            let forked = matches!(c.name.as_str(), "clone" | "clone3" | "fork") && c.ret > 0;
            let forked = forked && !spawned;
            let before_exec = exec_at.get(&c.pid).is_none_or(|at| i < *at);
            if forked && ours.contains(&c.pid) && before_exec {
                ours.insert(c.ret as i32);
            }
        }
        if ours.len() == before {
            break;
        }
    }
    let casulos: Vec<&Call> = calls
        .iter()
        .enumerate()
        .filter(|(i, c)| ours.contains(&c.pid) && exec_at.get(&c.pid).is_none_or(|at| i <= at))
        .map(|(_, c)| c)
        .collect();
    let seen = joined(
        casulos
            .into_iter()
            .filter(|c| !(c.name == "execve" && c.pid == casulo_pid))
            .filter_map(|c| Some((call_key(c)?, c)))
            .collect(),
    );
    let recorded: Vec<&Event> = events.iter().filter(|e| event_key(e).is_some()).collect();
    let seen_keys: Vec<&String> = seen.iter().map(|(k, _)| k).collect();
    let rec_keys: Vec<String> = recorded.iter().map(|e| event_key(e).unwrap()).collect();
    assert_eq!(
        seen_keys,
        rec_keys.iter().collect::<Vec<_>>(),
        "strace viu ≠ trace gravou"
    );
    for ((_, c), e) in seen.iter().zip(&recorded) {
        assert!(
            outcome_matches(c, e),
            "resultado diferente: strace {c:?} / trace {e:?}"
        );
        // The event names the host pid that made the call (the strace pid).
        if !matches!(e.body, EventBody::ProcessClone { .. }) {
            assert_eq!(e.pid, c.pid, "pid de {c:?}");
        }
    }
}

#[test]
fn every_kernel_call_strace_sees_is_in_the_trace() {
    let lab = Lab::shared();
    let (calls, events, code) = strace_run(lab, lab.dir(), &["busybox", "true"]);
    assert_eq!(code, 0);
    assert!(
        calls.iter().any(|c| c.name == "pivot_root"),
        "strace funcionou: {calls:?}"
    );
    // The container's cgroup directories and what is written to their
    // files are compared too…
    let keys: Vec<String> = calls.iter().filter_map(call_key).collect();
    for call in ["mkdir", "rmdir", "write"] {
        assert!(
            keys.iter()
                .any(|k| k.starts_with(&format!("{call} {CGROUPS}"))),
            "nenhum {call} de cgroup visto: {calls:?}"
        );
    }
    // …and /dev's nodes and links, the working directory, the locks of
    // the security chapter, the loopback brought up and, with a v1 devices
    // controller, the device rules.
    let mut expected = vec![
        "mknod ",
        "symlink ",
        "chdir ",
        "capabilities: drop CAP_SYS_ADMIN",
        "seccomp: filter",
        "no_new_privs",
        "non_dumpable",
        "setsid",
        "close_range 3",
        "link_up lo",
    ];
    if Path::new("/sys/fs/cgroup/devices/devices.allow").exists() {
        expected.push("devices ");
    }
    for prefix in expected {
        assert!(
            keys.iter().any(|k| k.starts_with(prefix)),
            "nenhum {prefix}visto: {keys:?}"
        );
    }
    assert_complete(&calls, &events);
}

/// A bridge run's network: the bridge (when this run makes it), the veth
/// pair, the addresses, the links brought up and the default route are
/// netlink messages, each with its `net.*` event in the same order, from
/// the same process, with the kernel's answer.
#[test]
fn every_netlink_request_of_a_bridge_run_is_in_the_trace() {
    let lab = Lab::shared();
    let (calls, events, code) =
        strace_run(lab, lab.dir(), &["--network", "bridge", "busybox", "true"]);
    assert_eq!(code, 0);
    let keys: Vec<String> = calls.iter().filter_map(call_key).collect();
    // The veth, its master and its link up (host side); eth0's address,
    // link up and route (container side): whatever the bridge did before.
    for (kind, at_least) in [("RTM_NEWLINK", 4), ("RTM_NEWADDR", 1), ("RTM_NEWROUTE", 1)] {
        let n = keys
            .iter()
            .filter(|k| **k == format!("netlink {kind}"))
            .count();
        assert!(n >= at_least, "{n} {kind} vistos pelo strace: {keys:?}");
    }
    assert_complete(&calls, &events);
}

#[test]
fn failed_calls_are_in_the_trace_with_the_same_errno() {
    let lab = Lab::shared();
    // A file with exec permission that is not a program: execve fails with ENOEXEC.
    let out = lab.casulo(&["image", "ls"]);
    out.assert_ok();
    let (calls, events, code) = strace_run(lab, lab.dir(), &[PROBE_IMAGE, "/etc/nao-e-programa"]);
    assert_eq!(code, 126);
    let exec = calls.iter().rfind(|c| c.name == "execve").unwrap();
    assert_eq!(exec.errno.as_deref(), Some("ENOEXEC"), "{exec:?}");
    assert_complete(&calls, &events);
}

/// A signal sent to `casulo run` is forwarded to the container by the
/// facade's `kill`: strace sees the call, the trace has its event.
#[test]
fn a_forwarded_signal_is_in_the_trace() {
    let lab = Lab::shared();
    // (A PID 1 ignores signals it has no handler for: this one traps TERM.)
    let mut run = straced(
        lab,
        lab.dir(),
        &[
            "busybox",
            "sh",
            "-c",
            "trap 'exit 7' TERM; echo pronto; sleep 30 & wait",
        ],
    );
    let mut child = run
        .cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Up, with its trap set: a signal sent before would end the shell
    // with 143, not the trap's 7.
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    std::io::BufRead::read_line(&mut out, &mut ready).unwrap();
    assert_eq!(ready.trim(), "pronto", "o contêiner não subiu");
    // casulo is strace's child.
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id())).unwrap();
    let casulo: i32 = children.split_whitespace().next().unwrap().parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(casulo),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    // The shell got the forwarded SIGTERM: its trap's exit code.
    assert_eq!(status.code(), Some(7));
    let (calls, events) = (run.calls(), run.events());
    assert!(
        calls
            .iter()
            .filter_map(call_key)
            .any(|k| k.starts_with("kill ") && k.ends_with(",SIGTERM")),
        "nenhum kill visto: {calls:?}"
    );
    assert_complete(&calls, &events);
}

/// `--user`: root is dropped with `setgroups`, `setgid` and `setuid`, one
/// `process.user` event (the program's own calls after its exec are not
/// casulo's).
#[test]
fn a_user_switch_is_in_the_trace() {
    let lab = Lab::shared();
    let (calls, events, code) =
        strace_run(lab, lab.dir(), &["--user", "1000:1000", "busybox", "true"]);
    assert_eq!(code, 0);
    assert!(
        calls
            .iter()
            .filter_map(call_key)
            .any(|k| k == "user: setuid 1000"),
        "nenhum setuid visto: {calls:?}"
    );
    assert_complete(&calls, &events);
}
