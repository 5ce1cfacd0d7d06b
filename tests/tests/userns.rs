//! `casulo run --userns` on the real kernel: the container's root is uid 0
//! inside and an unprivileged uid (the range of `/etc/subuid`, else
//! 100000) on the host; what it writes belongs to that uid on the host;
//! the image's files, owned by the host's 0, are usable through idmapped
//! mounts; the trace has the map writes (`namespace.user`) and the
//! idmapped layers (`mount.idmap`); the network, the cgroup namespace and
//! the seccomp filter still work; a filesystem that cannot idmap is refused
//! with nothing left behind. Without `--userns` nothing changes.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use casulo_tests::{casulo_bin, mounts_under, unique_name, Lab, Output};
use casulo_trace::{read_trace, EventBody, IdRange};

/// The host uid and gid `--userns` must use here: `/etc/subuid` and
/// `/etc/subgid` for `casulo`, else `root`, else 100000 (casulo's default).
fn expected_range() -> (u32, u32, u32) {
    let first = |file: &str| -> Option<(u32, u32)> {
        let text = std::fs::read_to_string(file).ok()?;
        ["casulo", "root", "0"].iter().find_map(|who| {
            text.lines().find_map(|l| {
                let mut p = l.trim().split(':');
                (p.next()? == *who).then_some(())?;
                Some((p.next()?.parse().ok()?, p.next()?.parse().ok()?))
            })
        })
    };
    match (first("/etc/subuid"), first("/etc/subgid")) {
        (Some((u, uc)), Some((g, gc))) => (u, g, uc.min(gc)),
        _ => (100_000, 100_000, 65_536),
    }
}

/// The words of `text`'s line that starts with `key=` (after the `=`).
fn line<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in:\n{text}"))
        .trim()
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// The upper dir of a run, from its trace's `mount.overlay`.
fn upperdir(trace: &Path) -> PathBuf {
    let t = read_trace(&std::fs::read_to_string(trace).unwrap()).unwrap();
    t.events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::MountOverlay { upperdir, .. } => Some(PathBuf::from(upperdir)),
            _ => None,
        })
        .expect("trace without mount.overlay")
}

#[test]
fn the_containers_root_is_root_inside_and_an_unprivileged_uid_on_the_host() {
    let lab = Lab::shared();
    let (uid, gid, count) = expected_range();
    let name = unique_name("userns");
    let out = lab.casulo(&[
        "run",
        "--name",
        &name,
        "--userns",
        "busybox",
        "sh",
        "-c",
        "echo uid_map=$(cat /proc/self/uid_map); echo gid_map=$(cat /proc/self/gid_map); \
         echo id=$(id -u):$(id -g); echo busybox=$(ls -ln /bin/busybox); \
         echo root=$(ls -lnd /); echo oi > /novo; mkdir -p /srv/dados; \
         echo x >> /etc/passwd; echo novo=$(ls -ln /novo)",
    ]);
    out.assert_ok();
    let expect = format!("0 {uid} {count}");
    assert_eq!(words(line(&out.stdout, "uid_map")), words(&expect), "{out}");
    assert_eq!(
        words(line(&out.stdout, "gid_map")),
        words(&format!("0 {gid} {count}")),
        "{out}"
    );
    assert_eq!(line(&out.stdout, "id"), "0:0", "{out}");
    // The image's files (owned by the host's 0) are root's inside, and busybox ran.
    let busybox = words(line(&out.stdout, "busybox"));
    assert_eq!(&busybox[2..4], &["0", "0"], "{out}");
    let root = words(line(&out.stdout, "root"));
    assert_eq!(&root[2..4], &["0", "0"], "{out}");
    assert_eq!(
        &words(line(&out.stdout, "novo"))[2..4],
        &["0", "0"],
        "{out}"
    );
    assert!(out.stderr.contains(&format!("uid {uid} do host")), "{out}");

    // From the host, what the container wrote belongs to the mapped ids:
    // a new file, a new directory, a copied-up file of the image.
    let trace = out.trace_path().unwrap();
    let upper = upperdir(&trace);
    for rel in ["novo", "srv/dados", "etc/passwd", "."] {
        let meta = std::fs::metadata(upper.join(rel)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (uid, gid), "{rel} in {upper:?}");
    }
    // The layers on disk did not change owner (idmapped, not chowned).
    let t = read_trace(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let layer = t
        .events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::MountIdmap { source, .. } => Some(PathBuf::from(source)),
            _ => None,
        })
        .expect("no mount.idmap");
    assert_eq!(
        std::fs::metadata(layer.join("bin/busybox")).unwrap().uid(),
        0
    );

    // The trace: the clone had CLONE_NEWUSER, then the parent wrote both
    // maps for that pid, before the init mounted anything.
    let init = t
        .events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::ProcessClone { child_pid, flags } => {
                assert!(flags.iter().any(|f| f == "CLONE_NEWUSER"), "{flags:?}");
                Some(*child_pid)
            }
            _ => None,
        })
        .unwrap();
    let range = IdRange {
        inside: 0,
        outside: uid,
        count,
    };
    let maps: Vec<(usize, &str, &Vec<IdRange>)> = t
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match &e.body {
            EventBody::NamespaceUser {
                target_pid,
                map,
                ranges,
            } if *target_pid == init => Some((i, map.as_str(), ranges)),
            _ => None,
        })
        .collect();
    assert_eq!(maps.len(), 2, "{maps:?}");
    assert_eq!(maps[0].1, "uid");
    assert_eq!(maps[0].2, &vec![range]);
    assert_eq!(maps[1].1, "gid");
    assert!(t.events.iter().all(|e| e.outcome.is_ok()));
    let first_init_mount = t
        .events
        .iter()
        .position(|e| e.pid == init && e.body.kind().starts_with("mount."))
        .unwrap();
    assert!(maps[1].0 < first_init_mount);

    lab.casulo(&["rm", &name]).assert_ok();
    assert!(!upper.exists());
    assert_eq!(lab.mounts(), Vec::<String>::new());
}

#[test]
fn without_userns_the_container_keeps_the_hosts_ids() {
    let lab = Lab::shared();
    let name = unique_name("nouserns");
    let out = lab.casulo(&[
        "run",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "echo uid_map=$(cat /proc/self/uid_map); echo oi > /novo",
    ]);
    out.assert_ok();
    assert_eq!(
        words(line(&out.stdout, "uid_map")),
        ["0", "0", "4294967295"],
        "{out}"
    );
    let trace = out.trace_path().unwrap();
    let t = read_trace(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    assert!(!t.events.iter().any(|e| matches!(
        e.body,
        EventBody::NamespaceUser { .. } | EventBody::MountIdmap { .. }
    )));
    let meta = std::fs::metadata(upperdir(&trace).join("novo")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
    lab.casulo(&["rm", &name]).assert_ok();
}

/// The rest of the container still works in its user namespace: the
/// bridge network (port 80 is the namespace's to bind), its cgroup
/// namespace, docker's capabilities (of the namespace), the seccomp
/// filter; what belongs to the host's root stays out of reach.
#[test]
fn network_cgroups_and_seccomp_work_with_userns_and_host_things_stay_out_of_reach() {
    let lab = Lab::shared();
    let name = unique_name("userns-net");
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--name",
        &name,
        "--userns",
        "--network",
        "bridge",
        "busybox",
        "sh",
        "-c",
        "ping -c1 -W5 10.88.0.1 >/dev/null; echo ping=$?; \
         nc -l -p 80 & sleep 0.2; echo bind80=$(netstat -ltn | grep -c ':80 '); kill $!; \
         echo cgroup=$(grep -c ':/$' /proc/self/cgroup)/$(wc -l < /proc/self/cgroup); \
         echo seccomp=$(grep Seccomp: /proc/self/status | tr -d '\\t'); \
         echo capeff=$(grep CapEff /proc/self/status | cut -f2); \
         unshare -U true 2>/dev/null; echo unshare=$?; \
         mknod /tmp/sda b 8 0 2>/dev/null; echo mknod_block=$?; \
         mknod /tmp/null c 1 3 2>/dev/null; echo mknod_char=$?; \
         echo 1 > /proc/sys/kernel/panic 2>/dev/null; echo procsys=$?; \
         cat /dev/null; echo null=$?; head -c 4 /dev/urandom | wc -c",
    ]);
    out.assert_ok();
    let v = |k: &str| line(&out.stdout, k).to_string();
    assert_eq!(v("ping"), "0", "{out}");
    assert_eq!(v("bind80"), "1", "{out}");
    // Every hierarchy shows the container's own group as `/`.
    let cg = v("cgroup");
    let (rooted, all) = cg.split_once('/').unwrap();
    assert_eq!(rooted, all, "{out}");
    assert_eq!(v("seccomp"), "Seccomp:2", "{out}");
    assert_eq!(v("capeff"), "00000000a80425fb", "{out}");
    for refused in ["unshare", "mknod_block", "mknod_char", "procsys"] {
        assert_ne!(v(refused), "0", "{refused} should be refused:\n{out}");
    }
    assert_eq!(v("null"), "0", "{out}");
    assert!(out.stdout.trim_end().ends_with('4'), "{out}");
    assert_eq!(lab.mounts(), Vec::<String>::new());
}

/// ramfs cannot idmap: `--userns` is refused before the command runs,
/// with a pt-BR message naming the layer and the kernel's answer, and
/// no container, mount or cgroup is left; `casulo info` says the same.
#[test]
fn a_filesystem_without_idmapped_mounts_is_refused_and_nothing_is_left() {
    let lab = Lab::shared();
    // Beside the lab, not in it: the other tests check the lab for mounts.
    let dir = lab.dir().with_file_name(unique_name("ramfs"));
    std::fs::create_dir(&dir).unwrap();
    let mount = Output::of(std::process::Command::new("mount").args([
        "-t",
        "ramfs",
        "ramfs",
        dir.to_str().unwrap(),
    ]));
    mount.assert_ok();
    let root = dir.join("state");
    let casulo = |args: &[&str]| {
        let mut cmd = std::process::Command::new(casulo_bin());
        cmd.arg("--root")
            .arg(&root)
            .args(args)
            .env_remove("CASULO_ROOT");
        Output::of(&mut cmd)
    };
    let result = std::panic::catch_unwind(|| {
        casulo(&["image", "bootstrap"]).assert_ok();
        let info = casulo(&["info"]);
        info.assert_ok();
        assert!(
            info.stdout.contains("montagens idmapped:  não funcionam"),
            "{info}"
        );
        let out = casulo(&["run", "--userns", "busybox", "echo", "nunca"]);
        out.assert_code(125);
        assert!(!out.stdout.contains("nunca"), "{out}");
        assert!(
            out.stderr
                .contains("--userns precisa de montagens idmapped"),
            "{out}"
        );
        assert!(out.stderr.contains("/layers/"), "{out}");
        let ps = casulo(&["ps", "-a", "-q"]);
        assert_eq!(ps.stdout.trim(), "", "{ps}");
        let containers = std::fs::read_dir(root.join("containers")).unwrap().count();
        assert_eq!(containers, 0);
        assert_eq!(mounts_under(&root), Vec::<String>::new());
        let trace = out.trace_path().unwrap();
        // The container's own cgroups (the shared parent `casulo/` may
        // hold other tests' containers, or be made again by them).
        let id = out
            .stderr
            .split(|c: char| !c.is_ascii_hexdigit())
            .find(|w| w.len() == 12)
            .expect("o id curto do contêiner na mensagem do run")
            .to_string();
        for cg in casulo_tests::trace_cgroup_paths(&trace) {
            let name = cg.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with(&id) {
                assert!(!cg.exists(), "{cg:?} left behind");
            }
        }
    });
    Output::of(std::process::Command::new("umount").arg(&dir)).assert_ok();
    let _ = std::fs::remove_dir(&dir);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn a_userns_mode_casulo_does_not_know_is_refused() {
    let out = Lab::shared().casulo(&["run", "--rm", "--userns=keep-id", "busybox", "true"]);
    out.assert_code(125);
    assert!(out.stderr.contains("--userns=auto"), "{out}");
    // `--userns` alone never swallows the image name.
    let out = Lab::shared().casulo(&["run", "--rm", "--userns", "busybox", "true"]);
    out.assert_ok();
}

/// The trace is complete for `--userns` too: every `open_tree`,
/// `mount_setattr`, `fsmount` and `move_mount` strace sees has its event
/// (`mount.idmap`, `mount.overlay`, the `mount.fs` of the attachment) from
/// the same process, and the maps are written by the parent for the init.
#[test]
fn every_new_mount_api_call_strace_sees_is_in_the_trace() {
    let lab = Lab::shared();
    let name = unique_name("strace-userns");
    let log = lab.dir().join(format!("{name}.strace"));
    let trace = lab.dir().join(format!("{name}.trace.jsonl"));
    let out = Output::of(
        std::process::Command::new("strace")
            .args(["-f", "-qq", "-e"])
            .arg("trace=open_tree,mount_setattr,fsmount,move_mount")
            .arg("-o")
            .arg(&log)
            .arg(casulo_bin())
            .arg("--root")
            .arg(lab.root())
            .args(["run", "--rm", "--name", &name, "--userns", "--trace"])
            .arg(&trace)
            .args(["busybox", "true"]),
    );
    out.assert_ok();
    let text = std::fs::read_to_string(&log).unwrap();
    // `1234 open_tree(AT_FDCWD, "…", …) = 5` → (1234, "open_tree")
    let mut seen: Vec<(i32, String)> = text
        .lines()
        .filter_map(|l| {
            // strace pads short pids: `8970  open_tree(…`.
            let (pid, rest) = l.trim().split_once(' ')?;
            let call = rest.trim_start().split('(').next()?;
            let known = ["open_tree", "mount_setattr", "fsmount", "move_mount"].contains(&call);
            known.then_some((pid.parse().ok()?, call.to_string()))
        })
        .collect();
    let events = casulo_trace::reader::read_trace_file(&trace)
        .unwrap()
        .events;
    let mut recorded: Vec<(i32, String)> = Vec::new();
    for e in &events {
        let calls: &[&str] = match &e.body {
            EventBody::MountIdmap { .. } => &["open_tree", "mount_setattr"],
            EventBody::MountOverlay { .. } => &["fsmount"],
            EventBody::MountFs { flags, .. }
                if flags.iter().any(|f| f == "MOVE_MOUNT_F_EMPTY_PATH") =>
            {
                &["move_mount"]
            }
            _ => &[],
        };
        recorded.extend(calls.iter().map(|c| (e.pid, c.to_string())));
    }
    seen.sort();
    recorded.sort();
    assert!(seen.len() >= 4, "{seen:?}\n{text}");
    assert_eq!(seen, recorded, "strace viu ≠ trace gravou\n{text}");
    let init = events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::ProcessClone { child_pid, .. } => Some(*child_pid),
            _ => None,
        })
        .unwrap();
    let maps = events
        .iter()
        .filter(
            |e| matches!(e.body, EventBody::NamespaceUser { target_pid, .. } if target_pid == init),
        )
        .filter(|e| e.pid != init)
        .count();
    assert_eq!(maps, 2);
}

/// `-u` still works in a user namespace: the image's `nobody` (65534) is
/// uid `start + 65534` on the host, and that is who owns what it writes.
#[test]
fn the_images_user_is_mapped_too() {
    let lab = Lab::shared();
    let (uid, gid, _) = expected_range();
    let name = unique_name("userns-u");
    let out = lab.casulo(&[
        "run",
        "--name",
        &name,
        "--userns",
        "-u",
        "nobody",
        "busybox",
        "sh",
        "-c",
        "echo id=$(id -u):$(id -g); mkdir -p /tmp/meu; echo x > /tmp/meu/arquivo",
    ]);
    out.assert_ok();
    assert_eq!(line(&out.stdout, "id"), "65534:65534", "{out}");
    let upper = upperdir(&out.trace_path().unwrap());
    let meta = std::fs::metadata(upper.join("tmp/meu/arquivo")).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (uid + 65534, gid + 65534),
        "{out}"
    );
    lab.casulo(&["rm", &name]).assert_ok();
}

/// Volumes and host directories are refused with `--userns` before anything
/// exists (the namespace's root cannot reach the private state dir), with a
/// message that says why; a `--tmpfs` still works.
#[test]
fn volumes_and_binds_are_refused_with_userns_and_a_tmpfs_works() {
    let lab = Lab::shared();
    let host = tempfile::tempdir().unwrap();
    let bind = format!("{}:/de-fora", host.path().display());
    let volume = unique_name("vol-userns");
    // (Other tests of this lab run at the same time: count by name, not
    // by how many container directories there are.)
    for mount in [format!("{volume}:/dados"), bind] {
        let name = unique_name("recusado");
        let out = lab.casulo(&[
            "run", "--rm", "--userns", "--name", &name, "-v", &mount, "busybox", "true",
        ]);
        out.assert_code(125);
        assert!(
            out.stderr
                .contains("--userns ainda não funciona com volumes"),
            "{out}"
        );
        assert!(
            !lab.root().join("names").join(&name).exists(),
            "nada criado: {out}"
        );
    }
    assert!(!lab.root().join("volumes").join(&volume).exists());
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--userns",
        "--tmpfs",
        "/rapido",
        "busybox",
        "sh",
        "-c",
        "echo oi > /rapido/f && cat /rapido/f",
    ]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "oi", "{out}");
}
