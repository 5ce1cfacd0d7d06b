//! Nothing left behind: no mount on the host, no container directory with
//! `--rm`, on success, on every kind of failure, and when the command is killed.

use casulo_tests::{host_mountinfo, unique_name, Lab, PROBE_IMAGE};

#[test]
fn no_mount_leaks_on_success_failure_or_a_setup_error() {
    let lab = Lab::shared();
    let before = host_mountinfo();
    // success
    lab.casulo(&["run", "--rm", "busybox", "true"]).assert_ok();
    // the command fails
    lab.casulo(&["run", "--rm", "busybox", "sh", "-c", "exit 7"])
        .assert_code(7);
    // the command does not exist (the init exits before exec)
    lab.casulo(&["run", "--rm", "busybox", "nao-existe"])
        .assert_code(127);
    // the kernel refuses a set-up step inside the init: a hostname longer
    // than 64 bytes makes sethostname fail with EINVAL, after the overlay
    // and /proc, /sys, /dev were already mounted.
    let long = "h".repeat(65);
    let out = lab.casulo(&["run", "--rm", "--hostname", &long, "busybox", "true"]);
    out.assert_code(125);
    assert!(
        out.stderr.contains("sethostname") && out.stderr.contains("EINVAL"),
        "{out}"
    );
    let trace = casulo_trace::reader::read_trace_file(out.trace_path().unwrap()).unwrap();
    let failed = trace
        .events
        .iter()
        .find(|e| !e.outcome.is_ok())
        .expect("o erro está no trace");
    assert_eq!(failed.body.kind(), "uts.sethostname");
    assert_eq!(host_mountinfo(), before, "nenhuma montagem sobrou no host");
    assert!(lab.mounts().is_empty());
}

#[test]
fn rm_leaves_no_container_directory_and_no_name_claim() {
    let lab = Lab::shared();
    let name = unique_name("rm");
    lab.casulo(&[
        "run",
        "--rm",
        "--name",
        &name,
        PROBE_IMAGE,
        "/probe",
        "write",
        "/x",
        "y",
    ])
    .assert_ok();
    assert!(!lab.root().join("names").join(&name).exists());
    // The name is free again.
    lab.casulo(&["run", "--rm", "--name", &name, "busybox", "true"])
        .assert_ok();
}

#[test]
fn an_engine_error_removes_the_half_made_container_even_without_rm() {
    let lab = Lab::shared();
    let name = unique_name("half");
    let out = lab.casulo(&["run", "--name", &name, "busybox", "nao-existe"]);
    out.assert_code(127);
    assert!(!lab.root().join("names").join(&name).exists(), "{out}");
    // The trace stays: it tells what went wrong.
    assert!(out.trace_path().unwrap().exists());
}

#[test]
fn killing_casulo_itself_kills_the_container_and_keeps_the_trace_readable() {
    let lab = Lab::shared();
    let before = host_mountinfo();
    let name = unique_name("orphan");
    let mut child = lab.spawn(&["run", "--name", &name, "busybox", "sleep", "300"]);
    let path = lab.wait_for_exec(&name);
    let trace = casulo_trace::reader::read_trace_file(&path).unwrap();
    let init = trace
        .events
        .iter()
        .find_map(|e| match e.body {
            casulo_trace::EventBody::ProcessClone { child_pid, .. } => Some(child_pid),
            _ => None,
        })
        .unwrap();
    child.kill().unwrap(); // SIGKILL to casulo: no cleanup code of ours runs
    child.wait().unwrap();
    // PR_SET_PDEATHSIG: the kernel kills the container's init with its parent.
    let gone = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        !std::path::Path::new(&format!("/proc/{init}")).exists()
    });
    assert!(gone, "o contêiner morreu junto com o casulo");
    // Everything recorded before the crash is there and valid.
    let trace = casulo_trace::reader::read_trace_file(&path).unwrap();
    // (After the exec only the sampler wrote: cgroup.sample events.)
    let last = trace
        .events
        .iter()
        .rfind(|e| e.body.kind() != "cgroup.sample")
        .unwrap();
    assert_eq!(last.body.kind(), "process.exec");
    assert_eq!(host_mountinfo(), before);
    // Its cgroup stayed behind, empty: `casulo gc` removes it once it is
    // old enough (5 s).
    let orphans: Vec<_> = casulo_tests::trace_cgroup_paths(&path)
        .into_iter()
        .filter(|p| !p.ends_with("casulo"))
        .collect();
    for _ in 0..40 {
        lab.casulo(&["gc"]).assert_ok();
        if orphans.iter().all(|p| !p.exists()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert!(orphans.iter().all(|p| !p.exists()), "{orphans:?}");
}

#[test]
fn ps_lists_a_kept_container_and_rm_removes_it() {
    let lab = Lab::shared();
    let name = unique_name("kept");
    lab.casulo(&["run", "--name", &name, "busybox", "sh", "-c", "exit 4"])
        .assert_code(4);
    let ps = lab.casulo(&["ps", "-a"]);
    ps.assert_ok();
    let line = ps
        .stdout
        .lines()
        .find(|l| l.ends_with(&name))
        .unwrap_or_else(|| panic!("{ps}"));
    assert!(
        line.contains("terminou (4)") && line.contains("busybox:latest"),
        "{line}"
    );
    assert!(
        !lab.casulo(&["ps"]).stdout.contains(&name),
        "sem -a, só os que rodam"
    );
    let rm = lab.casulo(&["rm", &name]);
    rm.assert_ok();
    assert!(!lab.casulo(&["ps", "-a"]).stdout.contains(&name));
    assert!(!lab.root().join("names").join(&name).exists());
    let again = lab.casulo(&["rm", &name]);
    assert_ne!(again.code, 0);
    assert!(again.stderr.contains("contêiner não encontrado"), "{again}");
}
