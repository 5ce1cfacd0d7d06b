//! What the container's root may do, asked from inside on the real kernel:
//! docker's default 14 capabilities in every set (ambient empty),
//! `NoNewPrivs: 1`, so `mount`/`umount` are refused while the ordinary
//! work of root (chown, mknod of a char device) still works; a seccomp
//! filter (`Seccomp: 2`) refuses namespace creation even where no
//! capability is needed (`unshare -U`); and a `RUN` of `casulo build` is
//! cut the same way. `--cap-add`/`--cap-drop` change the set,
//! `--privileged` gives everything back (no filter, no `no_new_privs`),
//! `--security-opt seccomp=` swaps the profile, and a wrong flag or
//! profile is refused (125) before anything exists.

use std::fs;

use casulo_tests::{mounts_under, unique_name, Lab, Output};
use casulo_trace::{read_trace, EventBody};

/// Docker's default set, as `/proc/self/status` shows it.
const DOCKER_MASK: &str = "00000000a80425fb";

/// Every capability this test (the host's root) has: what `--privileged`
/// gives (all of the kernel's, unless casulo runs under a parent that took
/// some away).
fn full_mask() -> String {
    let host = fs::read_to_string("/proc/self/status").unwrap();
    status_field(&host, "CapBnd").to_string()
}

/// `casulo run --rm --name <unique> busybox sh -c SCRIPT`.
fn sh(hint: &str, script: &str) -> Output {
    sh_with(hint, &[], script)
}

/// [`sh`] with `casulo run` options before the image.
fn sh_with(hint: &str, opts: &[&str], script: &str) -> Output {
    let name = unique_name(hint);
    let mut args = vec!["run", "--rm", "--name", &name];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    Lab::shared().casulo(&args)
}

/// The `what=CODE` line a script printed.
fn code_of<'a>(out: &'a Output, what: &str) -> &'a str {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{what}=")))
        .unwrap_or_else(|| panic!("{what}:\n{out}"))
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
    assert_eq!(status_field(&out.stdout, "Seccomp"), "2", "{out}");
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
        profile,
        default_action,
        allowed_count,
        blocked_count,
        blocked,
        ..
    } = &filter.body
    else {
        unreachable!()
    };
    // Docker's shape: an allow-list, everything else EPERM.
    assert_eq!(mode, "filter");
    assert_eq!(profile, "padrão");
    assert_eq!(default_action, "errno(EPERM)");
    assert!(*allowed_count > 300, "{allowed_count}");
    assert_eq!(*blocked_count as usize, blocked.len());
    assert_eq!(blocked, &["clone3"]);
    let cut = &trace.events[at("security.capabilities")];
    assert!(cut.outcome.is_ok(), "{:?}", cut.outcome);
    let EventBody::SecurityCapabilities {
        kept,
        dropped,
        mask,
        ..
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

/// The default allow-list still runs what a container runs: a shell and
/// its pipes, `ps` (which reads /proc), the static Rust probe (threads,
/// `clone3` falling back to `clone` on ENOSYS), a fork of a fork.
#[test]
fn the_default_profile_runs_busybox_ps_and_the_probe() {
    let out = sh(
        "allowlist",
        "ps | grep -c . >/dev/null && echo ps=$?; \
         (sh -c 'echo neto') | tr a-z A-Z; date +%Y >/dev/null && echo date=$?; \
         wc -l /etc/passwd >/dev/null && echo wc=$?",
    );
    out.assert_ok();
    assert!(out.stdout.contains("NETO"), "{out}");
    for what in ["ps", "date", "wc"] {
        assert_eq!(code_of(&out, what), "0", "{out}");
    }
    let (report, out) = Lab::shared().run_probe("allowprobe", &["info"]);
    out.assert_ok();
    assert!(report.is_object(), "{out}");
}

#[test]
fn cap_add_net_admin_lets_ip_link_add_work() {
    let script = "ip link add b0 type bridge; echo link=$?";
    let out = sh("nonetadmin", script);
    out.assert_ok();
    assert_ne!(code_of(&out, "link"), "0", "sem CAP_NET_ADMIN:\n{out}");
    let out = sh_with("netadmin", &["--cap-add", "NET_ADMIN"], script);
    out.assert_ok();
    assert_eq!(code_of(&out, "link"), "0", "{out}");
    // docker's spelling with CAP_ and in lower case works too.
    let out = sh_with("netadmin2", &["--cap-add", "cap_net_admin"], script);
    assert_eq!(code_of(&out, "link"), "0", "{out}");
}

#[test]
fn cap_drop_chown_makes_chown_fail_and_the_trace_says_what_was_asked() {
    let out = sh_with(
        "nochown",
        &["--cap-drop", "CHOWN", "--cap-add", "NET_ADMIN"],
        "grep CapEff /proc/self/status; touch /tmp/f; chown 1000 /tmp/f; echo chown=$?",
    );
    out.assert_ok();
    assert_ne!(code_of(&out, "chown"), "0", "{out}");
    assert!(out.stderr.contains("Operation not permitted"), "{out}");
    // a80425fb - CAP_CHOWN (bit 0) + CAP_NET_ADMIN (bit 12)
    assert_eq!(
        status_field(&out.stdout, "CapEff"),
        "00000000a80435fa",
        "{out}"
    );
    let path = out.trace_path().unwrap_or_else(|| panic!("{out}"));
    let trace = read_trace(&fs::read_to_string(&path).unwrap()).unwrap();
    let cut = trace
        .events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::SecurityCapabilities { added, removed, .. } => Some((added, removed)),
            _ => None,
        })
        .expect("security.capabilities");
    assert_eq!(cut.0, &["CAP_NET_ADMIN"]);
    assert_eq!(cut.1, &["CAP_CHOWN"]);
}

#[test]
fn privileged_gives_everything_back_and_the_trace_says_so() {
    let out = sh_with(
        "privileged",
        &["--privileged"],
        "cat /proc/self/status; mount -t tmpfs none /tmp; echo mount=$?; \
         umount /tmp; echo umount=$?",
    );
    out.assert_ok();
    let full = full_mask();
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(status_field(&out.stdout, set), full, "{set}:\n{out}");
    }
    assert_eq!(status_field(&out.stdout, "Seccomp"), "0", "{out}");
    assert_eq!(status_field(&out.stdout, "NoNewPrivs"), "0", "{out}");
    assert_eq!(code_of(&out, "mount"), "0", "{out}");
    assert_eq!(code_of(&out, "umount"), "0", "{out}");
    let path = out.trace_path().unwrap_or_else(|| panic!("{out}"));
    let trace = read_trace(&fs::read_to_string(&path).unwrap()).unwrap();
    let kinds: Vec<&str> = trace.events.iter().map(|e| e.body.kind()).collect();
    assert!(!kinds.contains(&"security.no_new_privs"), "{kinds:?}");
    let seccomp = trace
        .events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::SecuritySeccomp { mode, profile, .. } => Some((mode, profile)),
            _ => None,
        })
        .expect("security.seccomp");
    assert_eq!(
        (seccomp.0.as_str(), seccomp.1.as_str()),
        ("disabled", "unconfined")
    );
    let privileged = trace.events.iter().any(|e| {
        matches!(&e.body, EventBody::SecurityCapabilities { privileged: true, kept, .. }
                 if kept.len() == kinds_len(&full))
    });
    assert!(privileged, "{kinds:?}");
    // The replay agrees: all capabilities, no no_new_privs, no filter.
    let replay = casulo_trace::replay::Replay::new(trace.events.clone());
    let end = replay.world_at(replay.len());
    let init = end.init().expect("init");
    assert!(!init.no_new_privs && !init.seccomp);
    assert_eq!(
        init.capabilities.as_ref().map(Vec::len),
        Some(kinds_len(&full))
    );
}

/// How many capabilities a mask like `000001ffffffffff` holds.
fn kinds_len(mask: &str) -> usize {
    u64::from_str_radix(mask, 16).unwrap().count_ones() as usize
}

#[test]
fn seccomp_unconfined_removes_only_the_filter() {
    let out = sh_with(
        "unconfined",
        &["--security-opt", "seccomp=unconfined"],
        "cat /proc/self/status",
    );
    out.assert_ok();
    assert_eq!(status_field(&out.stdout, "Seccomp"), "0", "{out}");
    assert_eq!(status_field(&out.stdout, "NoNewPrivs"), "1", "{out}");
    assert_eq!(status_field(&out.stdout, "CapEff"), DOCKER_MASK, "{out}");
}

#[test]
fn a_profile_file_that_denies_mkdir_makes_mkdir_fail_with_eperm() {
    let lab = Lab::shared();
    let profile = format!(
        "{}.json",
        lab.dir().join(unique_name("sem-mkdir")).display()
    );
    fs::write(
        &profile,
        r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 }
  ]
}
"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile);
    let out = sh_with(
        "nomkdir",
        &["--security-opt", &opt],
        "grep Seccomp: /proc/self/status; mkdir /tmp/d; echo mkdir=$?; touch /tmp/f; echo touch=$?",
    );
    out.assert_ok();
    assert_eq!(status_field(&out.stdout, "Seccomp"), "2", "{out}");
    assert_ne!(code_of(&out, "mkdir"), "0", "{out}");
    assert_eq!(code_of(&out, "touch"), "0", "{out}");
    assert!(
        out.stderr
            .contains("mkdir: can't create directory '/tmp/d': Operation not permitted"),
        "{out}"
    );
    let path = out.trace_path().unwrap_or_else(|| panic!("{out}"));
    let trace = read_trace(&fs::read_to_string(&path).unwrap()).unwrap();
    let seccomp = trace
        .events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::SecuritySeccomp {
                profile,
                path,
                blocked,
                default_action,
                ..
            } => Some((
                profile.clone(),
                path.clone(),
                blocked.clone(),
                default_action.clone(),
            )),
            _ => None,
        })
        .expect("security.seccomp");
    assert_eq!(seccomp.0, "arquivo");
    assert_eq!(seccomp.1.as_deref(), Some(profile.as_str()));
    assert_eq!(seccomp.2, ["mkdir", "mkdirat"]);
    assert_eq!(seccomp.3, "allow");
    fs::remove_file(&profile).unwrap();
}

/// A wrong flag or profile: 125, a message that says where, and no
/// container, trace, mount or cgroup left behind.
#[test]
fn bad_flags_and_profiles_are_refused_before_anything_exists() {
    let lab = Lab::shared();
    let bad = format!("{}.json", lab.dir().join(unique_name("ruim")).display());
    fs::write(
        &bad,
        "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [\n    \
         { \"names\": [\"read\", \"mkdri\"], \"action\": \"SCMP_ACT_ALLOW\" }\n  ]\n}\n",
    )
    .unwrap();
    let typo = format!("seccomp={bad}");
    let missing = format!("seccomp={}", lab.dir().join("nao-existe.json").display());
    let cases: [(&[&str], &str); 5] = [
        (&["--cap-add", "NET_ADMN"], "você quis dizer NET_ADMIN?"),
        (
            &["--cap-drop", "banana"],
            "capability desconhecida: \"banana\"",
        ),
        (
            &["--security-opt", "apparmor=unconfined"],
            "seccomp=unconfined",
        ),
        (
            &["--security-opt", &typo],
            "linha 4, coluna 25, campo syscalls[0].names[1]: chamada de sistema \
             desconhecida: \"mkdri\" (você quis dizer mkdir?)",
        ),
        (
            &["--security-opt", &missing],
            "não consegui ler o perfil seccomp",
        ),
    ];
    // Other tests run (and remove) containers at the same time: look for
    // this one's name only.
    let traces = |name: &str| {
        fs::read_dir(lab.root().join("traces")).map_or(0, |d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with(name))
            })
            .count()
        })
    };
    for (opts, said) in cases {
        let name = unique_name("recusado");
        let mut args = vec!["run", "--name", &name];
        args.extend_from_slice(opts);
        args.extend_from_slice(&["busybox", "true"]);
        let out = lab.casulo(&args);
        out.assert_code(125);
        assert!(out.stderr.contains(said), "{opts:?}: {said}\n{out}");
        assert_eq!(traces(&name), 0, "{opts:?}");
        let ps = lab.casulo(&["ps", "-a"]);
        assert!(!ps.stdout.contains(&name), "{ps}");
        assert!(mounts_under(lab.root()).iter().all(|m| !m.contains(&name)));
    }
    fs::remove_file(&bad).unwrap();
}

/// The profile is resolved against the container's capabilities, as
/// docker's: with `--cap-add SYS_ADMIN` the calls it governs (`mount`,
/// `unshare`) are in the allow-list, and the filter is still there.
#[test]
fn cap_add_sys_admin_opens_the_calls_the_profile_gates_on_it() {
    let script = "grep Seccomp: /proc/self/status; \
                  mount -t tmpfs none /tmp; echo mount=$?; \
                  unshare -u true; echo unshare=$?";
    let out = sh_with("sysadmin", &["--cap-add", "SYS_ADMIN"], script);
    out.assert_ok();
    assert_eq!(status_field(&out.stdout, "Seccomp"), "2", "{out}");
    assert_eq!(code_of(&out, "mount"), "0", "{out}");
    assert_eq!(code_of(&out, "unshare"), "0", "{out}");
    let out = sh("nosysadmin", script);
    out.assert_ok();
    assert_ne!(code_of(&out, "mount"), "0", "{out}");
    assert_ne!(code_of(&out, "unshare"), "0", "{out}");
}
