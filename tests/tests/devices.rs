//! The device allow-list on the real kernel (this host is hybrid: the v1
//! `devices` controller; the v2 eBPF program is checked by the engine's
//! unit test on this host's cgroup2 and in the VM, `xtask/src/vm.rs`).
//!
//! The container's root keeps `CAP_MKNOD`, so it can make a device file of
//! the host's disk anywhere; the cgroup must refuse to open it (`EPERM`),
//! while `/dev/null`, `/dev/urandom` and the container's ptys keep working.
//! Every read here is read-only and of one block: nothing is ever written
//! to a disk.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use casulo_tests::{unique_name, Lab, Output};
use casulo_trace::{read_trace, EventBody};

/// `casulo run --rm --name <unique> busybox sh -c SCRIPT`.
fn sh(hint: &str, script: &str) -> Output {
    let name = unique_name(hint);
    Lab::shared().casulo(&[
        "run", "--rm", "--name", &name, "busybox", "sh", "-c", script,
    ])
}

/// `what=N` printed by the script.
fn code(out: &Output, what: &str) -> String {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{what}=")))
        .unwrap_or_else(|| panic!("{what}:\n{out}"))
        .to_string()
}

/// A disk of this host that the host's root can open read-only: its root
/// disk (from `stat /`), or, when even the host's root is refused that one
/// (this lab machine's sandbox refuses `/dev/vda`), the first other disk
/// that opens, loop devices last. Returns its major:minor.
fn host_disk() -> (u64, u64) {
    let tmp = tempfile::tempdir().unwrap();
    let node = tmp.path().join("disco");
    // glibc's major()/minor() of a dev_t.
    let dev = fs::metadata("/").unwrap().dev();
    let root = (
        ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff),
        (dev & 0xff) | ((dev >> 12) & !0xff),
    );
    let mut others: Vec<(u64, u64)> = fs::read_dir("/sys/dev/block")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let (ma, mi) = name.split_once(':')?;
            Some((ma.parse().ok()?, mi.parse().ok()?))
        })
        .collect();
    others.sort_by_key(|&(ma, mi)| (ma == 7, ma, mi));
    for (major, minor) in std::iter::once(root).chain(others) {
        if major == 0 {
            continue;
        }
        let _ = fs::remove_file(&node);
        let made = std::process::Command::new("mknod")
            .args(["-m", "400"])
            .arg(&node)
            .args(["b", &major.to_string(), &minor.to_string()])
            .status()
            .unwrap();
        assert!(made.success(), "mknod {major}:{minor} no host");
        if fs::File::open(&node).is_ok() {
            return (major, minor);
        }
    }
    panic!("nenhum disco deste host abre nem para o root do host");
}

#[test]
fn a_default_container_cannot_open_a_host_disk_it_made_with_mknod() {
    let (major, minor) = host_disk();
    let out = sh(
        "disco",
        &format!(
            "mknod /tmp/disco b {major} {minor}; echo mknod=$?; \
             dd if=/tmp/disco of=/dev/null bs=512 count=1; echo disco=$?; \
             echo urandom=$(head -c 16 /dev/urandom | wc -c); \
             echo oi > /dev/null; echo null=$?; \
             ( exec 3<>/dev/ptmx && exec 4<>/dev/pts/0 ); echo pty=$?"
        ),
    );
    out.assert_ok();
    // docker's `b *:* m`: making the file is allowed, opening it is not.
    assert_eq!(code(&out, "mknod"), "0", "{out}");
    assert_ne!(
        code(&out, "disco"),
        "0",
        "o disco {major}:{minor} abriu:\n{out}"
    );
    assert!(
        out.stderr
            .contains("can't open '/tmp/disco': Operation not permitted"),
        "{out}"
    );
    assert_eq!(code(&out, "urandom"), "16", "{out}");
    assert_eq!(code(&out, "null"), "0", "{out}");
    // The pty pair: the master opens; the slave is reached too and only
    // its driver says no (it is still locked: EIO), not the cgroup (EPERM).
    assert!(
        out.stderr.contains("/dev/pts/0: Input/output error"),
        "{out}"
    );
    assert!(!out.stderr.contains("/dev/pts/0: Operation not permitted"));

    let trace = read_trace(&fs::read_to_string(out.trace_path().unwrap()).unwrap()).unwrap();
    let devices: Vec<_> = trace
        .events
        .iter()
        .filter(|e| e.body.kind() == "cgroup.devices")
        .collect();
    assert_eq!(devices.len(), 1, "{out}");
    assert!(devices[0].outcome.is_ok(), "{:?}", devices[0].outcome);
    let EventBody::CgroupDevices {
        version,
        privileged,
        default_action,
        allowed,
        ..
    } = &devices[0].body
    else {
        unreachable!()
    };
    assert_eq!((version.as_str(), *privileged), ("v1", false));
    assert_eq!(default_action, "deny");
    for rule in [
        "c *:* m",
        "b *:* m",
        "c 1:3 rwm",
        "c 1:9 rwm",
        "c 136:* rwm",
    ] {
        assert!(allowed.iter().any(|r| r == rule), "{rule}: {allowed:?}");
    }
    assert!(
        devices[0].op.contains("devices.deny = a"),
        "{}",
        devices[0].op
    );
}

/// Inside, the container's own `devices.list` (its cgroup view) is the
/// allow-list; after it ends, its `devices` cgroup is gone.
#[test]
fn the_devices_cgroup_holds_the_list_and_is_removed_after() {
    let out = sh("devlist", "cat /sys/fs/cgroup/devices/devices.list");
    out.assert_ok();
    let mut listed: Vec<&str> = out.stdout.lines().collect();
    listed.sort_unstable();
    let mut want = vec![
        "b *:* m",
        "c *:* m",
        "c 1:3 rwm",
        "c 1:5 rwm",
        "c 1:7 rwm",
        "c 1:8 rwm",
        "c 1:9 rwm",
        "c 5:0 rwm",
        "c 5:2 rwm",
        "c 136:* rwm",
    ];
    want.sort_unstable();
    assert_eq!(listed, want, "{out}");

    let trace = read_trace(&fs::read_to_string(out.trace_path().unwrap()).unwrap()).unwrap();
    let dir: PathBuf = trace
        .events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::CgroupDevices { path, .. } => Some(PathBuf::from(path)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("sem cgroup.devices:\n{out}"));
    assert!(dir.starts_with("/sys/fs/cgroup/devices/casulo"), "{dir:?}");
    assert!(!dir.exists(), "o cgroup {dir:?} sobrou");
    let deleted = trace
        .events
        .iter()
        .any(|e| matches!(&e.body, EventBody::CgroupDelete { path } if Path::new(path) == dir));
    assert!(deleted, "{out}");
}
