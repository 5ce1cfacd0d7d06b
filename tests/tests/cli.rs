//! The command line as a newcomer types it (issue 12): docker's habits,
//! help, running without root, and Portuguese everywhere the student reads.

use std::process::Command;

use casulo_tests::{casulo_bin, unique_name, Lab, Output};

/// `casulo run IMAGE --rm echo oi`: like docker, everything after the image
/// is the command, so `--rm` reaches the container (and is not a command
/// there: 127, with a hint that casulo's options go before the image).
#[test]
fn everything_after_the_image_is_the_command() {
    let lab = Lab::shared();
    let out = lab.casulo(&[
        "run", "--rm", "busybox", "echo", "--rm", "-h", "--name", "x",
    ]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "--rm -h --name x", "{out}");

    let name = unique_name("depois");
    let out = lab.casulo(&["run", "--name", &name, "busybox", "--rm", "echo", "oi"]);
    out.assert_code(127);
    assert!(
        out.stderr.contains("\"--rm\" veio depois da imagem")
            && out.stderr.contains("casulo run --rm busybox"),
        "{out}"
    );
    // Not taken as casulo's --rm: nothing ran, nothing kept.
    assert!(!lab.casulo(&["ps", "-a"]).stdout.contains(&name));
}

/// `-h` and `--help` show the help of `run`; `--hostname` is long-only.
#[test]
fn run_dash_h_is_help_and_hostname_is_long_only() {
    let lab = Lab::shared();
    for flag in ["-h", "--help"] {
        let out = lab.casulo(&["run", flag]);
        out.assert_ok();
        assert!(out.stdout.contains("Uso: casulo run"), "{out}");
        assert!(out.stdout.contains("--hostname <NOME>"), "{out}");
        assert!(
            !out.stdout.contains("-h, --hostname"),
            "--hostname não tem forma curta:\n{out}"
        );
    }
    let (info, out) = lab.run_probe_with("hn", &["--hostname", "meu-host"], &["info"]);
    out.assert_ok();
    assert_eq!(info["hostname"], "meu-host", "{out}");
}

/// Without root, casulo is rootless (`tests/tests/rootless.rs`); pointed
/// at root's state dir it says up front (exit 125), before touching
/// anything, that the dir is private (`0700`) and needs sudo; `gc` of the
/// host's leftovers is refused as rootless.
#[test]
fn without_root_casulo_says_it_needs_sudo() {
    let lab = Lab::shared();
    let as_nobody = |args: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(casulo_bin())
            .arg("--root")
            .arg(lab.root())
            .args(args)
            .env_remove("CASULO_ROOT");
        Output::of(&mut cmd)
    };
    for args in [
        &["run", "--rm", "busybox", "true"][..],
        &["build", "."],
        &["image", "bootstrap"],
        &["image", "ls"],
    ] {
        let out = as_nobody(args);
        out.assert_code(125);
        assert!(out.stderr.contains("é privado (modo 0700"), "{out}");
        assert!(
            out.stderr
                .contains("o Casulo precisa de root: rode com sudo"),
            "{out}"
        );
        assert!(!out.stderr.contains("causa:"), "nada foi tentado:\n{out}");
    }
    let out = as_nobody(&["gc"]);
    out.assert_code(125);
    assert!(
        out.stderr.contains("casulo gc não funciona sem root"),
        "{out}"
    );
}

/// Docker's habits are answered: what exists, what is coming, what to do
/// meanwhile; the help named is the subcommand's.
#[test]
fn docker_habits_get_an_answer_and_the_subcommands_help() {
    let lab = Lab::shared();
    let cases: &[(&[&str], &str, &str)] = &[
        (&["search", "alpine"], "não tem busca", "casulo"),
        (&["compose", "up"], "não está nos planos", "casulo"),
        (&["image", "search", "x"], "não tem busca", "casulo image"),
    ];
    for (args, says, help) in cases {
        let out = lab.casulo(args);
        out.assert_code(125);
        assert!(out.stderr.contains("casulo: dica: "), "{out}");
        assert!(out.stderr.contains(says), "{says}:\n{out}");
        assert!(
            out.stderr.contains(&format!("(veja `{help} --help`)")),
            "{help}:\n{out}"
        );
    }
    // A mistake inside a subcommand names that subcommand's help.
    let out = lab.casulo(&["run", "--memory", "1x", "busybox"]);
    out.assert_code(125);
    assert!(out.stderr.contains("(veja `casulo run --help`)"), "{out}");
    assert!(!out.stderr.contains("(veja `casulo --help`)"), "{out}");
    // clap's other complaints, said in Portuguese too (no "error:", no "Usage:").
    let cases: &[(&[&str], &str)] = &[
        (
            &["exec", "x"],
            "faltam valores: <CONTÊINER> <COMANDO>... pede 2, veio 1",
        ),
        (
            &["run", "--memory", "1g", "--memory", "2g", "busybox", "true"],
            "--memory <TAMANHO> só pode aparecer uma vez",
        ),
    ];
    for (args, says) in cases {
        let out = lab.casulo(args);
        out.assert_code(125);
        assert!(out.stderr.contains(says), "{says}:\n{out}");
        assert!(
            !out.stderr.contains("error:") && !out.stderr.contains("Usage"),
            "{out}"
        );
    }
}

/// No English where the student reads: errnos in `causa:`, clap's notes
/// and usage line.
#[test]
fn errnos_and_help_are_in_portuguese() {
    let lab = Lab::shared();
    let out = lab.casulo(&[
        "run",
        "--rm",
        "--trace",
        "/nao/existe/t.jsonl",
        "busybox",
        "true",
    ]);
    out.assert_code(125);
    assert!(
        out.stderr
            .contains("causa: arquivo ou diretório não existe (ENOENT)"),
        "{out}"
    );
    assert!(!out.stderr.contains("os error"), "{out}");
    assert!(!out.stderr.contains("No such file"), "{out}");

    for args in [
        &["diff", "--help"][..],
        &["--help"],
        &["run", "--help"],
        &["image", "save", "-h"],
        // Help asked before a subcommand's name: the root's, still in Portuguese.
        &["--help", "run"],
    ] {
        let out = lab.casulo(args);
        out.assert_ok();
        for english in [
            "Possible values",
            "[default:",
            "[env:",
            "[OPTIONS]",
            "Usage:",
        ] {
            assert!(!out.stdout.contains(english), "{english}:\n{out}");
        }
        assert!(out.stdout.contains("[OPÇÕES]"), "{out}");
    }
    let out = lab.casulo(&["image", "ls", "--help"]);
    assert!(
        out.stdout.contains("--format <FORMATO>")
            && out.stdout.contains("valores: table (uma tabela para ler)")
            && out.stdout.contains("padrão: table"),
        "{out}"
    );
}

/// `trace show` of something that does not exist says so; given a
/// container's name, it finds its trace (even after --rm).
#[test]
fn trace_show_says_what_does_not_exist_and_finds_a_containers_trace() {
    let lab = Lab::shared();
    let out = lab.casulo(&["trace", "show", "arquivo-que-não-existe"]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("arquivo-que-não-existe não existe"),
        "{out}"
    );
    assert!(!out.stderr.contains("trace inválido"), "{out}");

    let name = unique_name("achado");
    lab.casulo(&["run", "--rm", "--name", &name, "busybox", "true"])
        .assert_ok();
    let out = lab.casulo(&["trace", "show", &name]);
    out.assert_ok();
    assert!(
        out.stdout
            .lines()
            .nth(1)
            .unwrap_or("")
            .contains(&format!("contêiner {name} (")),
        "{out}"
    );
    lab.casulo(&["trace", "check", &name]).assert_ok();
}

/// `casulo diff` says what A, C and D mean.
#[test]
fn diff_prints_a_legend() {
    let lab = Lab::shared();
    let name = unique_name("legenda");
    lab.casulo(&[
        "run",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "touch /novo; rm /etc/passwd",
    ])
    .assert_ok();
    let out = lab.casulo(&["diff", &name]);
    out.assert_ok();
    assert!(
        out.stderr.contains("A: adicionado")
            && out.stderr.contains("C: alterado")
            && out.stderr.contains("D: apagado"),
        "{out}"
    );
    assert!(out.stdout.lines().any(|l| l == "A /novo"), "{out}");
    lab.casulo(&["rm", &name]).assert_ok();
}
