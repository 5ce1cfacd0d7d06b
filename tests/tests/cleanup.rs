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
    lab.casulo(&["run", "--rm", "busybox", "sh", "-c", "exit 7"]).assert_code(7);
    // the command does not exist (the init exits before exec)
    lab.casulo(&["run", "--rm", "busybox", "nao-existe"]).assert_code(127);
    // the kernel refuses a set-up step inside the init: a hostname longer
    // than 64 bytes makes sethostname fail with EINVAL, after the overlay
    // and /proc, /sys, /dev were already mounted.
    let long = "h".repeat(65);
    let out = lab.casulo(&["run", "--rm", "--hostname", &long, "busybox", "true"]);
    out.assert_code(125);
    assert!(out.stderr.contains("sethostname") && out.stderr.contains("EINVAL"), "{out}");
    let trace = casulo_trace::reader::read_trace_file(&out.trace_path().unwrap()).unwrap();
    let failed = trace.events.iter().find(|e| !e.outcome.is_ok()).expect("o erro está no trace");
    assert_eq!(failed.body.kind(), "uts.sethostname");
    assert_eq!(host_mountinfo(), before, "nenhuma montagem sobrou no host");
    assert!(lab.mounts().is_empty());
}

#[test]
fn rm_leaves_no_container_directory_and_no_name_claim() {
    let lab = Lab::shared();
    let name = unique_name("rm");
    lab.casulo(&["run", "--rm", "--name", &name, PROBE_IMAGE, "/probe", "write", "/x", "y"]).assert_ok();
    assert!(!lab.root().join("names").join(&name).exists());
    // The name is free again.
    lab.casulo(&["run", "--rm", "--name", &name, "busybox", "true"]).assert_ok();
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
