//! Exit codes, signals and bad input: docker's conventions, Portuguese
//! messages that say what was wrong, and nothing left behind.

use casulo_tests::{send_signal, unique_name, wait_for_child, Lab, PROBE_IMAGE};

fn containers_named(lab: &Lab, name: &str) -> usize {
    std::fs::read_dir(lab.root().join("containers"))
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    std::fs::read_to_string(e.path().join("container.json"))
                        .is_ok_and(|j| j.contains(&format!("\"{name}\"")))
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn the_commands_exit_code_becomes_casulos() {
    let lab = Lab::shared();
    for code in [0, 1, 3, 42, 255] {
        let (_, out) = lab.run_probe("exit", &["exit", &code.to_string()]);
        out.assert_code(code);
    }
    lab.casulo(&["run", "--rm", "busybox", "false"])
        .assert_code(1);
    lab.casulo(&["run", "--rm", "busybox", "true"])
        .assert_code(0);
}

#[test]
fn a_signal_death_is_128_plus_the_signal() {
    let lab = Lab::shared();
    // The init of a pid namespace cannot even kill itself: the kernel drops
    // signals to it from inside its namespace, SIGKILL included, unless it
    // has a handler (SIGKILL can have none).
    let (report, out) = lab.run_probe("sig", &["kill-self", "9"]);
    assert_eq!(report["survived"], true, "{out}");
    // From the host it dies: 128 + 9.
    let out = lab.casulo(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "kill -9 $$ 2>/dev/null; echo vivo",
    ]);
    assert_eq!(out.stdout.trim(), "vivo", "{out}");
    // A child of PID 1 dies of SIGTERM normally; the shell reports 128+15.
    let out = lab.casulo(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "sh -c 'kill -TERM $$'; exit $?",
    ]);
    out.assert_code(143);
}

#[test]
fn a_command_killed_from_the_host_ends_the_run_with_137() {
    let lab = Lab::shared();
    let name = unique_name("killed");
    let mut child = lab.spawn(&["run", "--rm", "--name", &name, "busybox", "sleep", "300"]);
    // The container's init: the `sleep 300` whose parent is our casulo.
    let init = wait_for_child(child.id(), "sleep");
    send_signal(init, 9);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(137));
    assert_eq!(containers_named(lab, &name), 0, "--rm removeu o contêiner");
    assert!(lab.mounts().is_empty(), "{:?}", lab.mounts());
}

#[test]
fn an_unknown_image_is_125_with_a_portuguese_message() {
    let lab = Lab::shared();
    let out = lab.casulo(&["run", "--rm", "nao-existe:1.0", "true"]);
    out.assert_code(125);
    assert!(
        out.stderr.contains("imagem não encontrada: nao-existe:1.0"),
        "{out}"
    );
}

#[test]
fn a_missing_command_is_127_and_a_non_executable_one_126() {
    let lab = Lab::shared();
    let name = unique_name("missing");
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--name",
        &name,
        "busybox",
        "nao-tem-esse-comando",
    ]);
    out.assert_code(127);
    assert!(
        out.stderr
            .contains("comando não encontrado no contêiner: \"nao-tem-esse-comando\""),
        "{out}"
    );
    assert_eq!(containers_named(lab, &name), 0, "nada fica pela metade");
    let out = lab.casulo(&["run", "--rm", "busybox", "/nao/existe"]);
    out.assert_code(127);
    let out = lab.casulo(&["run", "--rm", "busybox", "/etc/passwd"]);
    out.assert_code(126);
    assert!(out.stderr.contains("não é um arquivo executável"), "{out}");
    let out = lab.casulo(&["run", "--rm", "busybox", "/etc"]);
    out.assert_code(126);
}

#[test]
fn the_failed_command_still_leaves_a_trace_that_tells_why() {
    let lab = Lab::shared();
    let out = lab.casulo(&["run", "--rm", "busybox", "nao-tem-esse-comando"]);
    out.assert_code(127);
    let path = out.trace_path().expect("o caminho do trace no stderr");
    let trace = casulo_trace::reader::read_trace_file(&path).unwrap();
    // The last events are the cgroup's clean-up; before them, the init's exit.
    let last = trace
        .events
        .iter()
        .rfind(|e| !e.body.kind().starts_with("cgroup."))
        .unwrap();
    assert_eq!(last.body.kind(), "process.exit", "o init saiu com 127");
    assert_eq!(trace.events.last().unwrap().body.kind(), "cgroup.delete");
    assert!(trace.events.iter().all(|e| e.body.kind() != "process.exec"));
}

#[test]
fn bad_env_options_are_refused_before_anything_runs() {
    let lab = Lab::shared();
    for bad in ["=valor", ""] {
        let out = lab.casulo(&["run", "--rm", "-e", bad, "busybox", "true"]);
        out.assert_code(125);
        assert!(out.stderr.contains("opção -e inválida"), "{out}");
        assert!(out.trace_path().is_none(), "nada foi criado: {out}");
    }
}

#[test]
fn a_relative_workdir_and_a_bad_name_are_refused() {
    let lab = Lab::shared();
    let out = lab.casulo(&["run", "--rm", "-w", "relativo", "busybox", "true"]);
    out.assert_code(125);
    assert!(
        out.stderr.contains("diretório de trabalho inválido"),
        "{out}"
    );
    let out = lab.casulo(&["run", "--rm", "--name", "com espaço", "busybox", "true"]);
    out.assert_code(125);
    assert!(out.stderr.contains("nome de contêiner inválido"), "{out}");
}

#[test]
fn a_name_in_use_is_refused() {
    let lab = Lab::shared();
    let name = unique_name("dup");
    lab.casulo(&["run", "--name", &name, "busybox", "true"])
        .assert_ok();
    let out = lab.casulo(&["run", "--rm", "--name", &name, "busybox", "true"]);
    out.assert_code(125);
    assert!(
        out.stderr
            .contains(&format!("já existe um contêiner chamado \"{name}\"")),
        "{out}"
    );
    assert_eq!(containers_named(lab, &name), 1);
}

#[test]
fn a_bad_trace_file_is_refused_naming_the_line() {
    let lab = Lab::shared();
    let (_, out) = lab.run_probe("good", &["exit", "0"]);
    let good = std::fs::read_to_string(out.trace_path().unwrap()).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.remove(3); // a gap in seq at line 4
    let bad = lab
        .dir()
        .join(format!("{}.trace.jsonl", unique_name("bad")));
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let out = lab.casulo(&["trace", "check", bad.to_str().unwrap()]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("trace inválido") && out.stderr.contains("linha 4"),
        "{out}"
    );
    std::fs::write(&bad, "isto não é json\n").unwrap();
    let out = lab.casulo(&["trace", "show", bad.to_str().unwrap()]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("linha 1"), "{out}");
    let out = lab.casulo(&["trace", "check", "/nao/existe.trace.jsonl"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("/nao/existe.trace.jsonl"), "{out}");
}

#[test]
fn stdin_is_passed_through() {
    let lab = Lab::shared();
    use std::io::Write;
    let mut child = lab
        .command(&[
            "run",
            "--rm",
            PROBE_IMAGE,
            "sh",
            "-c",
            "read linha; echo \"recebi: $linha\"",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"ola\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "recebi: ola\n");
}

#[test]
fn ctrl_c_is_forwarded_once_and_the_second_one_kills() {
    let lab = Lab::shared();
    let name = unique_name("ctrlc");
    let child = lab.spawn(&["run", "--rm", "--name", &name, "busybox", "sleep", "300"]);
    let init = wait_for_child(child.id(), "sleep");
    // PID 1 has no handler for SIGINT: the kernel drops it, sleep goes on.
    send_signal(child.id(), 2);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        std::path::Path::new(&format!("/proc/{init}")).exists(),
        "PID 1 ignora SIGINT"
    );
    send_signal(child.id(), 2);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(137));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("repassei SIGINT") && stderr.contains("SIGKILL"),
        "{stderr}"
    );
    let trace =
        casulo_trace::reader::read_trace_file(casulo_tests::trace_path_from(&stderr).unwrap())
            .unwrap();
    let signals: Vec<String> = trace
        .events
        .iter()
        .filter_map(|e| match &e.body {
            casulo_trace::EventBody::ProcessSignal { signal_name, .. } => Some(signal_name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(signals, ["SIGINT", "SIGKILL"]);
    assert_eq!(containers_named(lab, &name), 0);
}
