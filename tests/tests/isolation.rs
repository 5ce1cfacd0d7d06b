//! What a container sees, asked from inside by the probe: real isolation
//! from the host, checked against the host's own view.

use std::os::unix::fs::MetadataExt;

use casulo_tests::{unique_name, Lab, Output, PROBE_IMAGE};
use serde_json::Value;

fn host_ns_inode(kind: &str) -> u64 {
    std::fs::metadata(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .ino()
}

fn host_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn the_command_is_pid_1_and_host_pids_are_invisible() {
    let lab = Lab::shared();
    let (info, out) = lab.run_probe("pid1", &["info"]);
    out.assert_ok();
    assert_eq!(info["pid"], 1, "{out}");
    assert_eq!(
        info["ppid"], 0,
        "o pai do PID 1 está fora do namespace: {out}"
    );
    let visible: Vec<i64> = info["visible_pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(
        visible,
        vec![1],
        "só o próprio processo aparece em /proc: {out}"
    );
    // And the host really has other processes, e.g. this test itself.
    assert!(std::path::Path::new(&format!("/proc/{}", std::process::id())).exists());
}

#[test]
fn all_six_namespaces_differ_from_the_hosts() {
    let lab = Lab::shared();
    let (info, out) = lab.run_probe("ns", &["info"]);
    out.assert_ok();
    for kind in ["pid", "mnt", "uts", "ipc", "net", "cgroup"] {
        let inside = info["ns"][kind]
            .as_u64()
            .unwrap_or_else(|| panic!("{kind}: {out}"));
        assert_ne!(
            inside,
            host_ns_inode(kind),
            "namespace {kind} é o do host: {out}"
        );
    }
    // The user namespace is not (yet) isolated: same as the host's.
    assert_eq!(info["ns"]["user"].as_u64(), Some(host_ns_inode("user")));
}

#[test]
fn two_containers_alive_together_do_not_share_namespaces() {
    // Both must be alive at once: the kernel reuses a freed namespace's inode.
    let lab = Lab::shared();
    let mut first = lab.spawn(&[
        "run",
        "--rm",
        "--name",
        &unique_name("ns-a"),
        PROBE_IMAGE,
        "/probe",
        "sleep",
        "30",
    ]);
    let init = casulo_tests::wait_for_child(first.id(), "probe");
    let (b, out) = lab.run_probe("ns-b", &["info"]);
    out.assert_ok();
    for kind in ["pid", "mnt", "uts", "ipc", "net", "cgroup"] {
        let a = std::fs::metadata(format!("/proc/{init}/ns/{kind}"))
            .unwrap()
            .ino();
        assert_ne!(b["ns"][kind].as_u64(), Some(a), "{kind}");
    }
    // Kill the first one's init (not casulo), so casulo cleans up after it.
    casulo_tests::send_signal(init, 9);
    assert_eq!(first.wait().unwrap().code(), Some(137));
}

#[test]
fn hostname_is_set_inside_and_the_hosts_is_unchanged() {
    let lab = Lab::shared();
    let before = host_hostname();
    let (info, out) = lab.run_probe_with("uts", &["--hostname", "casulo-lab"], &["info"]);
    out.assert_ok();
    assert_eq!(info["hostname"], "casulo-lab");
    assert_eq!(info["env"]["HOSTNAME"], "casulo-lab");
    assert_eq!(host_hostname(), before);
    // Default: the first 12 hex digits of the container id, like docker.
    let (info, _) = lab.run_probe("uts-default", &["info"]);
    let h = info["hostname"].as_str().unwrap();
    assert!(
        h.len() == 12 && h.chars().all(|c| c.is_ascii_hexdigit()),
        "{h}"
    );
}

#[test]
fn a_host_file_is_unreachable_from_inside() {
    let lab = Lab::shared();
    let marker = lab
        .dir()
        .join(format!("marca-do-host-{}", unique_name("m")));
    std::fs::write(&marker, "segredo").unwrap();
    let marker = marker.to_str().unwrap();
    let (seen, out) = lab.run_probe("marker", &["exists", marker, "/probe", "/etc/passwd"]);
    out.assert_ok();
    assert_eq!(seen[marker], false, "{out}");
    assert_eq!(seen["/probe"], true, "{out}");
    // The host's state dir and its images are not visible either.
    let state = lab.root().to_str().unwrap();
    let (seen, _) = lab.run_probe("marker2", &["exists", state]);
    assert_eq!(seen[state], false);
}

#[test]
fn only_loopback_exists_in_the_network_namespace_and_it_is_up() {
    let lab = Lab::shared();
    let (info, out) = lab.run_probe("net", &["info"]);
    out.assert_ok();
    assert_eq!(info["net_links"], serde_json::json!(["lo"]), "{out}");
    let out = lab.casulo(&[
        "run",
        "--rm",
        PROBE_IMAGE,
        "cat",
        "/sys/class/net/lo/operstate",
    ]);
    out.assert_ok();
    assert_eq!(
        out.stdout.trim(),
        "unknown",
        "lo ligado (loopback não tem portadora): {out}"
    );
    let out = lab.casulo(&["run", "--rm", PROBE_IMAGE, "cat", "/sys/class/net/lo/flags"]);
    let flags = u32::from_str_radix(out.stdout.trim().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(flags & 1, 1, "IFF_UP: {out}");
}

#[test]
fn proc_sys_and_dev_are_the_containers_own() {
    let lab = Lab::shared();
    let (info, out) = lab.run_probe("mounts", &["info"]);
    out.assert_ok();
    let mounts = info["mounts"].as_array().unwrap();
    let find = |target: &str| -> &Value {
        mounts
            .iter()
            .find(|m| m["target"] == target)
            .unwrap_or_else(|| panic!("sem montagem em {target}: {out}"))
    };
    assert_eq!(find("/")["fstype"], "overlay");
    assert_eq!(find("/proc")["fstype"], "proc");
    let sys = find("/sys");
    assert_eq!(sys["fstype"], "sysfs");
    assert!(
        sys["options"]
            .as_str()
            .unwrap()
            .split(',')
            .any(|o| o == "ro"),
        "{sys}"
    );
    assert_eq!(find("/dev")["fstype"], "tmpfs");
    assert_eq!(find("/dev/pts")["fstype"], "devpts");
    assert_eq!(find("/dev/shm")["fstype"], "tmpfs");
    // Nothing of the host's mount table leaked in: only ours, plus the
    // masked and read-only kernel files over /proc and /sys/firmware.
    for m in mounts {
        let t = m["target"].as_str().unwrap();
        let ours = [
            "/",
            "/proc",
            "/sys",
            "/dev",
            "/dev/pts",
            "/dev/shm",
            "/dev/mqueue",
        ];
        let masks = t.starts_with("/proc/") || t == "/sys/firmware";
        // The container's own cgroup view, read-only (docker's too).
        let cgroups = (t == "/sys/fs/cgroup" || t.starts_with("/sys/fs/cgroup/"))
            && m["options"]
                .as_str()
                .unwrap_or("")
                .split(',')
                .any(|o| o == "ro");
        assert!(
            ours.contains(&t) || masks || cgroups,
            "montagem inesperada {t}: {out}"
        );
    }
    let (seen, _) = lab.run_probe(
        "dev",
        &[
            "exists",
            "/dev/null",
            "/dev/zero",
            "/dev/full",
            "/dev/random",
            "/dev/urandom",
            "/dev/tty",
            "/dev/ptmx",
            "/dev/sda",
        ],
    );
    for dev in [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
        "/dev/ptmx",
    ] {
        assert_eq!(seen[dev], true, "{dev}");
    }
    assert_eq!(seen["/dev/sda"], false, "nenhum disco do host em /dev");
    let out = lab.casulo(&[
        "run",
        "--rm",
        PROBE_IMAGE,
        "sh",
        "-c",
        "echo x > /dev/null && head -c 4 /dev/zero | wc -c",
    ]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "4");
    let out = lab.casulo(&["run", "--rm", PROBE_IMAGE, "touch", "/sys/x"]);
    assert_ne!(out.code, 0, "/sys é somente leitura: {out}");
}

#[test]
fn the_cgroup_namespace_shows_the_container_at_root() {
    let lab = Lab::shared();
    let (info, out) = lab.run_probe("cgns", &["info"]);
    out.assert_ok();
    for line in info["cgroup"].as_array().unwrap() {
        assert_eq!(line["path"], "/", "{out}");
    }
}

#[test]
fn env_and_workdir_follow_the_options() {
    let lab = Lab::shared();
    let (info, out) = lab.run_probe_with(
        "env",
        &[
            "-e",
            "CURSO=containers",
            "-e",
            "VAZIO=",
            "-e",
            "COM_IGUAL=a=b",
            "-e",
            "ACENTO=ação",
            "-w",
            "/tmp/novo/dir",
        ],
        &["info"],
    );
    out.assert_ok();
    let env = &info["env"];
    assert_eq!(env["CURSO"], "containers");
    assert_eq!(env["VAZIO"], "");
    assert_eq!(env["COM_IGUAL"], "a=b");
    assert_eq!(env["ACENTO"], "ação");
    assert!(
        env["PATH"].as_str().unwrap().contains("/bin"),
        "PATH padrão: {out}"
    );
    assert_eq!(env["HOME"], "/root");
    assert_eq!(info["cwd"], "/tmp/novo/dir", "-w cria o diretório: {out}");
    assert!(
        env.get("CASULO_ROOT").is_none(),
        "o ambiente do host não vaza"
    );
}

#[test]
fn only_a_thrown_away_upper_layer_is_mounted_volatile() {
    let lab = Lab::shared();
    let root_options = |info: &Value| -> String {
        info["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["target"] == "/")
            .map(|m| m["super_options"].as_str().unwrap().to_string())
            .unwrap()
    };
    // Newer kernels show it as `fsync=volatile`.
    let volatile = |options: &str| {
        options
            .split(',')
            .any(|o| o == "volatile" || o == "fsync=volatile")
    };
    // --rm: the upper layer is deleted at the end, so the unmount need not
    // sync it to disk.
    let (info, out) = lab.run_probe("volatil", &["info"]);
    out.assert_ok();
    let options = root_options(&info);
    assert!(
        volatile(&options),
        "--rm monta o overlay volatile: {options}"
    );
    // Kept: what it wrote must survive like any file on the host.
    let name = unique_name("duravel");
    let out = lab.casulo(&["run", "--name", &name, PROBE_IMAGE, "/probe", "info"]);
    out.assert_ok();
    let options = root_options(&out.json());
    assert!(!volatile(&options), "sem --rm, nada de volatile: {options}");
    lab.casulo(&["rm", &name]).assert_ok();
}

#[test]
fn writes_land_in_the_upper_dir_and_the_image_layer_is_unchanged() {
    let lab = Lab::shared();
    let name = unique_name("rw");
    let out = lab.casulo(&[
        "run",
        "--name",
        &name,
        PROBE_IMAGE,
        "sh",
        "-c",
        "echo novo > /arquivo-novo && echo mudado > /etc/passwd && rm /bin/cat",
    ]);
    out.assert_ok();
    let containers = lab.root().join("containers");
    let dir = std::fs::read_dir(&containers)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            std::fs::read_to_string(p.join("container.json"))
                .is_ok_and(|j| j.contains(&format!("\"{name}\"")))
        })
        .expect("diretório do contêiner (sem --rm ele fica)");
    let upper = dir.join("upper");
    assert_eq!(
        std::fs::read_to_string(upper.join("arquivo-novo")).unwrap(),
        "novo\n"
    );
    assert_eq!(
        std::fs::read_to_string(upper.join("etc/passwd")).unwrap(),
        "mudado\n"
    );
    // The deletion is an overlayfs whiteout: a 0:0 character device.
    let wh = std::fs::symlink_metadata(upper.join("bin/cat")).unwrap();
    use std::os::unix::fs::FileTypeExt;
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "whiteout de /bin/cat"
    );
    // The image's layers are untouched.
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("container.json")).unwrap())
            .unwrap();
    let layer = std::path::PathBuf::from(record["lowerdirs"][0].as_str().unwrap());
    assert!(!layer.join("arquivo-novo").exists());
    assert!(layer.join("bin/cat").exists());
    assert_ne!(
        std::fs::read_to_string(layer.join("etc/passwd")).unwrap(),
        "mudado\n"
    );
    // A new container of the same image sees the original filesystem.
    let out = lab.casulo(&[
        "run",
        "--rm",
        PROBE_IMAGE,
        "sh",
        "-c",
        "test -e /arquivo-novo || echo limpo",
    ]);
    assert_eq!(out.stdout.trim(), "limpo", "{out}");
    assert!(
        record["state"] == "exited" && record["exit_code"] == 0,
        "{record}"
    );
}

#[test]
fn dangerous_kernel_files_are_hidden_or_read_only() {
    let lab = Lab::shared();
    // /proc/keys (the host's keyrings) reads empty; /proc/sys can't be written.
    let out = lab.casulo(&[
        "run",
        "--rm",
        PROBE_IMAGE,
        "sh",
        "-c",
        "wc -c < /proc/keys; echo 1 > /proc/sys/vm/drop_caches && echo escreveu",
    ]);
    assert_eq!(out.stdout.trim(), "0", "{out}");
    assert!(out.stderr.contains("Read-only file system"), "{out}");
}

#[test]
fn the_command_starts_with_no_signal_ignored_or_blocked() {
    // casulo (a Rust program) ignores SIGPIPE and blocks the signals it
    // forwards, and it may itself be started with signals ignored (`nohup`,
    // a shell's background job): none of that may leak into the container's
    // command.
    use std::os::unix::process::CommandExt;
    let lab = Lab::shared();
    let mut cmd = lab.command(&[
        "run",
        "--rm",
        "busybox",
        "grep",
        "-E",
        "^Sig(Ign|Blk)",
        "/proc/self/status",
    ]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let rtmin = libc::SIGRTMIN();
            for signal in [
                libc::SIGHUP,
                libc::SIGINT,
                libc::SIGQUIT,
                libc::SIGUSR1,
                rtmin,
            ] {
                libc::signal(signal, libc::SIG_IGN);
            }
            Ok(())
        });
    }
    let out = Output::of(&mut cmd);
    out.assert_ok();
    assert_eq!(
        out.stdout, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n",
        "{out}"
    );
}
