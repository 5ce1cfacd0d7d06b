//! What the container's root may do, asked from inside on the real kernel:
//! docker's default 14 capabilities in every set (ambient empty),
//! `NoNewPrivs: 1`, so `mount`/`umount` are refused while the ordinary
//! work of root (chown, mknod of a char device) still works; a seccomp
//! filter (`Seccomp: 2`) refuses namespace creation even where no
//! capability is needed (`unshare -U`); and a `RUN` of `casulo build` is
//! cut the same way.

use std::fs;

use casulo_tests::{unique_name, Lab, Output};
use casulo_trace::{read_trace, EventBody};

/// Docker's default set, as `/proc/self/status` shows it.
const DOCKER_MASK: &str = "00000000a80425fb";

/// `casulo run --rm --name <unique> busybox sh -c SCRIPT`.
fn sh(hint: &str, script: &str) -> Output {
    let name = unique_name(hint);
    Lab::shared().casulo(&[
        "run", "--rm", "--name", &name, "busybox", "sh", "-c", script,
    ])
}

/// The value of `field` in a `/proc/PID/status` text.
fn status_field<'a>(status: &'a str, field: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in:\n{status}"))
        .trim()
}

#[test]
fn the_container_has_dockers_capabilities_and_no_new_privs() {
    let out = sh("caps", "cat /proc/self/status");
    out.assert_ok();
    for set in ["CapEff", "CapPrm", "CapBnd", "CapInh"] {
        assert_eq!(status_field(&out.stdout, set), DOCKER_MASK, "{set}:\n{out}");
    }
    assert_eq!(status_field(&out.stdout, "CapAmb"), "0000000000000000");
    assert_eq!(status_field(&out.stdout, "NoNewPrivs"), "1", "{out}");
    // The host's root (this test) has more: the cut is the container's.
    let host = fs::read_to_string("/proc/self/status").unwrap();
    assert_ne!(status_field(&host, "CapEff"), DOCKER_MASK);
}

#[test]
fn without_cap_sys_admin_mount_and_umount_are_refused() {
    let out = sh(
        "nomount",
        "umount /proc/sys; echo umount=$?; \
         mount -t tmpfs none /tmp; echo tmpfs=$?; \
         mount -t proc proc /tmp; echo proc=$?",
    );
    out.assert_ok();
    for what in ["umount", "tmpfs", "proc"] {
        let code = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{what}=")))
            .unwrap_or_else(|| panic!("{what}:\n{out}"));
        assert_ne!(code, "0", "{what} deveria ser recusado:\n{out}");
    }
    assert!(
        out.stderr.contains("Operation not permitted") || out.stderr.contains("permission denied"),
        "{out}"
    );
    // /proc/sys is still there, still read-only for the container.
    let out = sh("procsys", "grep ' /proc/sys ' /proc/mounts");
    out.assert_ok();
    assert!(out.stdout.contains("/proc/sys"), "{out}");
}

/// `unshare(CLONE_NEWUSER)` needs no capability at all, so only the
/// seccomp filter refuses it (it succeeds in a container without one).
#[test]
fn the_seccomp_filter_refuses_new_namespaces_and_mount_with_eperm() {
    let out = sh(
        "seccomp",
        "grep Seccomp: /proc/self/status; \
         unshare -U true; echo userns=$?; \
         unshare -n true; echo netns=$?; \
         mount -t proc proc /tmp; echo mount=$?; \
         ps >/dev/null; echo ps=$?",
    );
    out.assert_ok();
    assert_eq!(status_field(&out.stdout, "Seccomp"), "2", "{out}");
    for what in ["userns", "netns", "mount"] {
        let code = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{what}=")))
            .unwrap_or_else(|| panic!("{what}:\n{out}"));
        assert_ne!(code, "0", "{what} deveria ser recusado:\n{out}");
    }
    assert!(out.stdout.contains("ps=0"), "{out}");
    assert!(
        out.stderr
            .contains("unshare(0x10000000): Operation not permitted"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("unshare(0x40000000): Operation not permitted"),
        "{out}"
    );
}

#[test]
fn the_root_of_the_container_still_does_roots_ordinary_work() {
    // CAP_CHOWN, CAP_FOWNER, CAP_MKNOD, CAP_DAC_OVERRIDE are kept.
    let out = sh(
        "rootwork",
        "touch /tmp/f && chown 1000:1000 /tmp/f && chmod 600 /tmp/f && \
         mknod /tmp/null c 1 3 && echo ok > /tmp/null && \
         stat -c '%u:%g %a' /tmp/f",
    );
    out.assert_ok();
    assert!(out.stdout.contains("1000:1000 600"), "{out}");
}

#[test]
fn the_trace_records_the_cut_before_the_exec() {
    let out = sh("captrace", "true");
    out.assert_ok();
    let path = out.trace_path().unwrap_or_else(|| panic!("{out}"));
    let trace = read_trace(&fs::read_to_string(&path).unwrap()).unwrap();
    let kinds: Vec<&str> = trace.events.iter().map(|e| e.body.kind()).collect();
    let at = |k: &str| {
        kinds
            .iter()
            .position(|x| *x == k)
            .unwrap_or_else(|| panic!("{k}: {kinds:?}"))
    };
    assert!(at("mount.pivot_root") < at("security.capabilities"));
    assert!(at("security.capabilities") < at("security.no_new_privs"));
    assert!(at("security.no_new_privs") < at("security.seccomp"));
    assert!(at("security.seccomp") < at("process.exec"));
    let filter = &trace.events[at("security.seccomp")];
    assert!(filter.outcome.is_ok(), "{:?}", filter.outcome);
    let EventBody::SecuritySeccomp {
        mode,
        blocked_count,
        blocked,
        ..
    } = &filter.body
    else {
        unreachable!()
    };
    assert_eq!(mode, "filter");
    assert_eq!(*blocked_count as usize, blocked.len());
    for call in ["mount", "ptrace", "init_module", "kexec_load", "bpf"] {
        assert!(blocked.iter().any(|b| b == call), "{call}: {blocked:?}");
    }
    let cut = &trace.events[at("security.capabilities")];
    assert!(cut.outcome.is_ok(), "{:?}", cut.outcome);
    let EventBody::SecurityCapabilities {
        kept,
        dropped,
        mask,
    } = &cut.body
    else {
        unreachable!()
    };
    assert_eq!(kept.len(), 14, "{kept:?}");
    assert_eq!(mask, DOCKER_MASK);
    assert!(dropped.iter().any(|c| c == "CAP_SYS_ADMIN"), "{dropped:?}");
    assert!(dropped.iter().any(|c| c == "CAP_SYS_MODULE"), "{dropped:?}");
    // Every capability of this kernel is either kept or dropped.
    let last: usize = fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(kept.len() + dropped.len(), last + 1);
}

#[test]
fn a_run_step_of_a_build_is_cut_the_same_way() {
    let lab = Lab::shared();
    let ctx = lab.dir().join(unique_name("capbuild"));
    fs::create_dir_all(&ctx).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        format!(
            "FROM busybox\n\
             RUN grep -q 'CapEff:.*{DOCKER_MASK}' /proc/self/status && \
             grep -q 'NoNewPrivs:.*1' /proc/self/status && \
             grep -q 'Seccomp:.*2' /proc/self/status && echo cortado > /caps\n\
             RUN ! mount -t tmpfs none /tmp && ! unshare -U true\n"
        ),
    )
    .unwrap();
    let tag = format!("{}:1", unique_name("capimg"));
    let out = lab.casulo(&["build", "-t", &tag, ctx.to_str().unwrap()]);
    out.assert_ok();
    let out = lab.casulo(&["run", "--rm", &tag, "cat", "/caps"]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "cortado", "{out}");
    lab.casulo(&["image", "rm", &tag]).assert_ok();
}
