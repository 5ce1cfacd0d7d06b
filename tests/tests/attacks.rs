//! The attack suite (`probe ataques`, see `tests/probe/src/attacks.rs`):
//! inside a default container, as its root, every attack on the host is
//! refused, and the host is the same afterwards; the **same suite** under
//! `casulo run --privileged` shows what that root could have done (so these
//! tests can fail: a suite that is refused everywhere would prove nothing).
//!
//! Safe for the host even when the attacks work: the "host disk" is a
//! read-only loop device over a small ext4 image made here (this machine
//! refuses to open its real root disk even to the host's root, which would
//! make the attack prove nothing), files of the host kernel are written
//! with the value they already hold, the kernel module is invalid on
//! purpose, and the mounts happen in the container's mount namespace.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use casulo_tests::{host_mountinfo, probe_bin, unique_name, Lab, Output, PROBE_IMAGE};
use serde_json::Value;

/// Every attack of the suite, in the order it runs.
const ALL: &[&str] = &[
    "umount-proc-sys",
    "core-pattern",
    "sys-kernel",
    "ler-disco",
    "montar-disco",
    "init-module",
    "finit-module",
    "release-agent",
    "socket-raw",
    "keyctl",
    "ptrace-host",
    "userns",
    "tiocsti",
    "montar-proc",
    "kcore",
    "hostname",
];

/// A host block device for the disk attacks: a read-only loop device over
/// an 8 MiB ext4 image holding `segredo-do-host.txt`. Detached on drop.
struct HostDisk {
    loop_dev: String,
    major_minor: String,
}

impl HostDisk {
    fn new() -> HostDisk {
        let dir = Lab::shared().dir().join(unique_name("disco"));
        let content = dir.join("conteudo");
        fs::create_dir_all(&content).unwrap();
        fs::write(content.join("segredo-do-host.txt"), "segredo do host\n").unwrap();
        let image = dir.join("disco.img");
        let image_s = image.to_str().unwrap();
        Output::of(Command::new("truncate").args(["-s", "8M", image_s])).assert_ok();
        Output::of(Command::new("mkfs.ext4").args([
            "-q",
            "-F",
            "-d",
            content.to_str().unwrap(),
            image_s,
        ]))
        .assert_ok();
        // -r: the loop device itself is read-only, whatever the container does.
        let out = Output::of(Command::new("losetup").args(["-f", "--show", "-r", image_s]));
        out.assert_ok();
        let loop_dev = out.stdout.trim().to_string();
        let name = Path::new(&loop_dev).file_name().unwrap().to_str().unwrap();
        let major_minor = fs::read_to_string(format!("/sys/class/block/{name}/dev"))
            .unwrap()
            .trim()
            .to_string();
        HostDisk {
            loop_dev,
            major_minor,
        }
    }
}

impl Drop for HostDisk {
    fn drop(&mut self) {
        let _ = Command::new("losetup")
            .args(["-d", &self.loop_dev])
            .status();
    }
}

/// A host process to `ptrace`: `sleep 300`, killed on drop.
struct HostProcess(Child);

impl HostProcess {
    fn new() -> HostProcess {
        HostProcess(
            Command::new("sleep")
                .arg("300")
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
    fn pid(&self) -> String {
        self.0.id().to_string()
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the attacks could have changed on the host, read from the host.
#[derive(Debug, PartialEq, Eq)]
struct HostState {
    core_pattern: String,
    release_agents: BTreeMap<PathBuf, String>,
    sys_kernel: BTreeMap<PathBuf, String>,
    modules: Option<String>,
    hostname: String,
    attack_mounts: Vec<String>,
}

impl HostState {
    fn read(disk: &HostDisk) -> HostState {
        let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
        let mut release_agents = BTreeMap::new();
        for e in fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            let agent = e.path().join("release_agent");
            if agent.is_file() {
                release_agents.insert(agent.clone(), read(&agent));
            }
        }
        let sys_kernel = ["uevent_helper", "rcu_expedited"]
            .iter()
            .map(|f| Path::new("/sys/kernel").join(f))
            .filter(|p| p.exists())
            .map(|p| (p.clone(), read(&p)))
            .collect();
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
        HostState {
            core_pattern: read(Path::new("/proc/sys/kernel/core_pattern")),
            release_agents,
            sys_kernel,
            modules: fs::read_to_string("/proc/modules").ok(),
            hostname: read(Path::new("/proc/sys/kernel/hostname")),
            // A mount the attacks made, leaked to the host: their
            // directories are all /tmp/casulo-ataque-*, and the disk is ours.
            attack_mounts: host_mountinfo()
                .into_iter()
                .filter(|m| m.contains("casulo-ataque"))
                .chain(
                    mountinfo
                        .lines()
                        .filter(|l| l.contains(&format!(" {} ", disk.major_minor)))
                        .map(String::from),
                )
                .collect(),
        }
    }
}

/// The suite's reports by attack name.
fn by_name(report: &Value, out: &Output) -> BTreeMap<String, Value> {
    let list = report["ataques"]
        .as_array()
        .unwrap_or_else(|| panic!("sem relatório de ataques:\n{out}"));
    list.iter()
        .map(|a| (a["nome"].as_str().unwrap().to_string(), a.clone()))
        .collect()
}

/// `casulo run --rm [RUN_ARGS] probe /probe ataques --disco D --pid-host P [NAMES]`.
fn suite(
    run_args: &[&str],
    disk: &HostDisk,
    host: &HostProcess,
    names: &[&str],
) -> (BTreeMap<String, Value>, Output) {
    let pid = host.pid();
    let mut args = vec!["ataques", "--disco", &disk.major_minor, "--pid-host", &pid];
    args.extend_from_slice(names);
    let (report, out) = Lab::shared().run_probe_with("ataques", run_args, &args);
    out.assert_ok();
    (by_name(&report, &out), out)
}

/// One attack under a pseudo-terminal (`script`), for TIOCSTI: the
/// container inherits the terminal of whoever ran `casulo run`.
fn under_a_terminal(run_args: &[&str], attack: &str) -> (Value, Output) {
    let lab = Lab::shared();
    let name = unique_name("tty");
    let line = format!(
        "{} --root {} run --rm --name {name} {} {PROBE_IMAGE} /probe ataque {attack}",
        casulo_tests::casulo_bin().display(),
        lab.root().display(),
        run_args.join(" "),
    );
    let out = Output::of(Command::new("script").args(["-qec", &line, "/dev/null"]));
    let report = out
        .stdout
        .lines()
        .find_map(|l| {
            let at = l.find("{\"nome\"")?;
            serde_json::from_str(l[at..].trim_end()).ok()
        })
        .unwrap_or_else(|| panic!("sem relatório do ataque {attack}:\n{out}"));
    (report, out)
}

#[track_caller]
fn expect(attacks: &BTreeMap<String, Value>, name: &str, result: &str, errno: Option<&str>) {
    let a = attacks
        .get(name)
        .unwrap_or_else(|| panic!("o ataque {name} não aparece: {attacks:#?}"));
    assert_eq!(a["resultado"], result, "{name}: {a:#}");
    if let Some(errno) = errno {
        assert_eq!(a["errno"], errno, "{name}: {a:#}");
    }
}

fn host_has_kcore() -> bool {
    Path::new("/proc/kcore").exists()
}

fn host_has_modules() -> bool {
    Path::new("/proc/modules").exists()
}

#[test]
fn in_a_default_container_every_attack_is_refused_and_the_host_is_unchanged() {
    let disk = HostDisk::new();
    let host = HostProcess::new();
    let before = HostState::read(&disk);
    let (attacks, out) = suite(&[], &disk, &host, &[]);
    assert_eq!(
        attacks.keys().map(String::as_str).collect::<Vec<_>>(),
        {
            let mut all = ALL.to_vec();
            all.sort();
            all
        },
        "{out}"
    );

    // No CAP_SYS_ADMIN, and mount/umount2 are in the seccomp filter.
    expect(&attacks, "umount-proc-sys", "recusado", Some("EPERM"));
    expect(&attacks, "montar-proc", "recusado", Some("EPERM"));
    expect(&attacks, "montar-disco", "recusado", Some("EPERM"));
    expect(&attacks, "release-agent", "recusado", Some("EPERM"));
    // Read-only mounts the container cannot undo.
    expect(&attacks, "core-pattern", "recusado", Some("EROFS"));
    expect(&attacks, "sys-kernel", "recusado", Some("EROFS"));
    // The seccomp filter, before any capability check.
    expect(&attacks, "init-module", "recusado", Some("EPERM"));
    expect(&attacks, "finit-module", "recusado", Some("EPERM"));
    expect(&attacks, "keyctl", "recusado", Some("EPERM"));
    expect(&attacks, "userns", "recusado", Some("EPERM"));
    expect(&attacks, "hostname", "recusado", Some("EPERM"));
    // docker's profile lets `ptrace` through (kernels >= 4.8 check it
    // against seccomp again): the PID namespace is what stops it, the host
    // pid simply does not exist in there.
    expect(&attacks, "ptrace-host", "falhou", Some("ESRCH"));
    if host_has_kcore() {
        expect(&attacks, "kcore", "recusado", None);
    } else {
        expect(&attacks, "kcore", "inexistente", Some("ENOENT"));
    }
    // Docker's default keeps CAP_NET_RAW (for ping): the raw socket opens,
    // in the container's own network namespace (only its `lo` here).
    expect(&attacks, "socket-raw", "contido", None);
    assert_eq!(
        attacks["socket-raw"]["interfaces"],
        serde_json::json!(["lo"]),
        "{out}"
    );
    // Without a terminal there is nothing to type into (see the pty test).
    expect(&attacks, "tiocsti", "sem-alvo", None);
    // `ler-disco` has its own test below.

    assert_eq!(HostState::read(&disk), before, "o host mudou:\n{out}");
}

/// `mknod` of a block device is allowed (docker keeps CAP_MKNOD), so only a
/// device allow-list (the cgroup `devices` controller) stands between the
/// container's root and the host's disks.
#[test]
fn a_default_container_cannot_read_a_host_block_device() {
    let disk = HostDisk::new();
    let host = HostProcess::new();
    let (attacks, _) = suite(&[], &disk, &host, &["ler-disco", "montar-disco"]);
    expect(&attacks, "ler-disco", "recusado", Some("EPERM"));
    expect(&attacks, "montar-disco", "recusado", Some("EPERM"));
}

/// With the caller's terminal on its stdin, the container must not be able
/// to push characters into it (they would be read by the shell of whoever
/// ran `casulo run`, on the host, once the container exits).
#[test]
fn a_default_container_cannot_type_into_the_callers_terminal() {
    let (report, out) = under_a_terminal(&[], "tiocsti");
    let result = report["resultado"].as_str().unwrap();
    assert!(
        result == "recusado" || result == "sem-alvo",
        "TIOCSTI no terminal de quem rodou o contêiner: {report:#}\n{out}"
    );
}

/// The same suite with `--privileged`: every protection off, so the attacks
/// that reach the host now work — proving the suite can tell. What stays:
/// the namespaces (the host's pids are still invisible, the raw socket and
/// the hostname stay in the container's own namespaces).
#[test]
fn under_privileged_the_same_suite_shows_what_root_could_do() {
    let disk = HostDisk::new();
    let host = HostProcess::new();
    let before = HostState::read(&disk);
    let (attacks, out) = suite(&["--privileged"], &disk, &host, &[]);

    expect(&attacks, "umount-proc-sys", "permitido", None);
    expect(&attacks, "core-pattern", "permitido", None);
    expect(&attacks, "sys-kernel", "permitido", None);
    expect(&attacks, "ler-disco", "permitido", None);
    assert_eq!(attacks["ler-disco"]["bytes"], 4096, "{out}");
    expect(&attacks, "montar-disco", "permitido", None);
    let entries = &attacks["montar-disco"]["entradas"];
    assert!(
        entries
            .as_array()
            .is_some_and(|e| e.iter().any(|n| n == "segredo-do-host.txt")),
        "{out}"
    );
    // The image is invalid on purpose: a kernel with modules answers
    // ENOEXEC/EINVAL after the privilege checks; one without, ENOSYS.
    let module = if host_has_modules() {
        "permitido"
    } else {
        "inexistente"
    };
    expect(&attacks, "init-module", module, None);
    expect(&attacks, "finit-module", module, None);
    if fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .lines()
        .any(|l| !l.starts_with("0::"))
    {
        expect(&attacks, "release-agent", "permitido", None);
    }
    expect(&attacks, "userns", "permitido", None);
    expect(&attacks, "montar-proc", "permitido", None);
    expect(
        &attacks,
        "kcore",
        if host_has_kcore() {
            "permitido"
        } else {
            "inexistente"
        },
        None,
    );

    // The kernel keyring has no namespace: the container's root holds the
    // host root's own user keyring.
    expect(&attacks, "keyctl", "permitido", None);
    let on_host = Output::of(Command::new(probe_bin()).args(["ataque", "keyctl"]));
    on_host.assert_ok();
    assert_eq!(
        attacks["keyctl"]["serial"],
        on_host.json()["serial"],
        "{out}"
    );

    // What --privileged does not take away: the namespaces.
    expect(&attacks, "ptrace-host", "falhou", Some("ESRCH"));
    expect(&attacks, "socket-raw", "contido", None);
    expect(&attacks, "hostname", "contido", None);
    // (TIOCSTI is not asserted here: with CAP_SYS_ADMIN it works on any
    // terminal the container holds, and whether it holds the caller's is
    // the engine's choice, tested above for the default container.)

    assert_eq!(HostState::read(&disk), before, "o host mudou:\n{out}");
}

/// The suite is for containers: run on the host itself (its initial PID
/// namespace) it refuses, except the harmless keyring look-up the tests
/// use to compare.
#[test]
fn the_suite_refuses_to_attack_the_host_from_the_host() {
    let out = Output::of(Command::new(probe_bin()).arg("ataques"));
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("recuso atacar o host"), "{out}");
    assert_eq!(out.stdout, "", "{out}");
    let out = Output::of(Command::new(probe_bin()).args(["ataque", "umount-proc-sys"]));
    assert_eq!(out.code, 2, "{out}");
    let out = Output::of(Command::new(probe_bin()).args(["ataque", "keyctl"]));
    out.assert_ok();
    assert!(out.json()["serial"].as_i64().is_some(), "{out}");
}
