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

/// Without root, the commands that need it say so up front (exit 125),
/// before touching anything; reading commands still work.
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
        &["gc"],
    ] {
        let out = as_nobody(args);
        out.assert_code(125);
        assert!(
            out.stderr
                .contains("o Casulo precisa de root (por enquanto): rode com sudo"),
            "{out}"
        );
        assert!(!out.stderr.contains("causa:"), "nada foi tentado:\n{out}");
    }
    as_nobody(&["image", "ls"]).assert_ok();
}
