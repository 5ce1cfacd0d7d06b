//! The state dir is private: its root is `0700`, so a local user can reach
//! neither a setuid binary kept in a layer or an upper dir nor the secrets
//! in `container.json` (the `-e` values), the traces (the argv) and the
//! build cache, which are born `0600`. Driven with the real binary, as
//! root, against a root of its own whose parents any user can traverse
//! (the shared lab's root sits in a `0700` temp dir, which would hide the
//! difference).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use casulo_tests::{casulo_bin, unique_name, Output, HOST_BUSYBOX};

/// These tests create containers and chmod as root.
fn assert_root() {
    use std::os::unix::fs::MetadataExt;
    let uid = fs::metadata("/proc/self").unwrap().uid();
    assert_eq!(uid, 0, "os testes de ponta a ponta rodam como root");
}

/// The permission bits of `path` (without following a symlink).
fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A state root of its own under a `0755` dir, removed on drop.
struct OpenBase {
    base: PathBuf,
}

impl OpenBase {
    fn new() -> OpenBase {
        let parent = std::env::temp_dir().join("casulo-tests");
        fs::create_dir_all(&parent).unwrap();
        let base = tempfile::Builder::new()
            .prefix("privado-")
            .tempdir_in(&parent)
            .unwrap()
            .keep();
        fs::set_permissions(&base, fs::Permissions::from_mode(0o755)).unwrap();
        OpenBase { base }
    }

    fn root(&self) -> PathBuf {
        self.base.join("state")
    }

    fn casulo(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(casulo_bin());
        cmd.arg("--root")
            .arg(self.root())
            .args(args)
            .env_remove("CASULO_ROOT");
        Output::of(&mut cmd)
    }
}

impl Drop for OpenBase {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

/// `program args…` as uid/gid 65534 with no groups.
fn as_nobody(program: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(program)
        .args(args)
        .env_remove("CASULO_ROOT");
    Output::of(&mut cmd)
}

/// `program args…` exec-ed by a shell already running as uid 65534 (setpriv
/// itself may open the program before it drops root, so it is not asked
/// to exec what is being tested).
fn exec_as_nobody(program: &Path, args: &[&str]) -> Output {
    let mut full = vec!["sh", "-c", "exec \"$0\" \"$@\"", program.to_str().unwrap()];
    full.extend_from_slice(args);
    as_nobody(Path::new(HOST_BUSYBOX), &full)
}

/// A setuid-root copy of the host busybox at `path`.
fn plant_setuid(path: &Path) {
    fs::copy(HOST_BUSYBOX, path).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o4755)).unwrap();
}

#[test]
fn the_state_dir_is_private_and_secrets_are_born_0600() {
    assert_root();
    let lab = OpenBase::new();
    // An existing root open to everyone (as every casulo before made it)
    // is closed on first use, with a one-line note.
    fs::create_dir(lab.root()).unwrap();
    fs::set_permissions(lab.root(), fs::Permissions::from_mode(0o755)).unwrap();
    let out = lab.casulo(&["image", "bootstrap"]);
    out.assert_ok();
    assert!(
        out.stderr
            .contains("estava aberto a outros usuários (modo 0755); agora é 0700"),
        "{out}"
    );
    assert_eq!(mode(&lab.root()), 0o700);
    let again = lab.casulo(&["image", "ls"]);
    again.assert_ok();
    assert!(!again.stderr.contains("nota:"), "só uma vez:\n{again}");

    // A run with a secret in -e: its record and its trace are 0600.
    let name = unique_name("senha");
    let out = lab.casulo(&[
        "run",
        "--name",
        &name,
        "-e",
        "SENHA=abacaxi42",
        "busybox",
        "true",
    ]);
    out.assert_ok();
    let trace = out.trace_path().expect("o run diz onde está o trace");
    assert_eq!(mode(&trace), 0o600, "{}", trace.display());
    assert_eq!(mode(trace.parent().unwrap()), 0o700);
    let containers = lab.root().join("containers");
    let dir = fs::read_dir(&containers)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|d| fs::read_to_string(d.join("container.json")).is_ok_and(|j| j.contains(&name)))
        .expect("o diretório do contêiner");
    let record = dir.join("container.json");
    assert!(fs::read_to_string(&record).unwrap().contains("abacaxi42"));
    assert_eq!(mode(&record), 0o600);
    assert_eq!(mode(&dir), 0o700);

    // A build's cache entries are 0600 too.
    let ctx = lab.base.join("contexto");
    fs::create_dir(&ctx).unwrap();
    fs::write(ctx.join("Dockerfile"), "FROM busybox\nRUN echo oi > /oi\n").unwrap();
    lab.casulo(&["build", "-t", "privado:1", ctx.to_str().unwrap()])
        .assert_ok();
    let cache = lab.root().join("build-cache");
    assert_eq!(mode(&cache), 0o700);
    let entries: Vec<PathBuf> = fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!entries.is_empty());
    for entry in &entries {
        assert_eq!(mode(entry), 0o600, "{}", entry.display());
    }

    // Setuid-root binaries planted in a layer and in an upper dir: a local
    // user reaches neither, while the same file outside the root runs (so
    // the refusal is the root's 0700, not setpriv's or the file's).
    let outside = lab.base.join("busybox-fora");
    plant_setuid(&outside);
    exec_as_nobody(&outside, &["true"]).assert_ok();
    let layer = fs::read_dir(lab.root().join("layers"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .expect("uma camada");
    for planted in [
        layer.join("su-plantado"),
        dir.join("upper").join("su-plantado"),
    ] {
        plant_setuid(&planted);
        let out = exec_as_nobody(&planted, &["id"]);
        out.assert_code(126);
        assert!(out.stderr.contains("Permission denied"), "{out}");
        fs::remove_file(&planted).unwrap();
    }

    // Nor read the secrets; and casulo says why, in Portuguese.
    for secret in [&record, &trace, &entries[0]] {
        let out = as_nobody(Path::new("/bin/cat"), &[secret.to_str().unwrap()]);
        assert!(!out.success(), "{}:\n{out}", secret.display());
    }
    for args in [
        &["ps", "-a"][..],
        &["image", "ls"],
        &["trace", "show", &name],
    ] {
        let root = lab.root();
        let mut full = vec!["--root", root.to_str().unwrap()];
        full.extend_from_slice(args);
        let out = as_nobody(&casulo_bin(), &full);
        out.assert_code(125);
        assert!(
            out.stderr.contains("é privado (modo 0700: só o root entra"),
            "{args:?}:\n{out}"
        );
        assert!(out.stderr.contains("sudo casulo"), "{out}");
    }

    lab.casulo(&["rm", &name]).assert_ok();
    lab.casulo(&["image", "rm", "privado:1"]).assert_ok();
}

/// A shared root (sticky, writable by all, like `/tmp`) is refused, never
/// taken private with a chmod.
#[test]
fn a_shared_root_is_refused_not_chmodded() {
    assert_root();
    let lab = OpenBase::new();
    fs::create_dir(lab.root()).unwrap();
    fs::set_permissions(lab.root(), fs::Permissions::from_mode(0o1777)).unwrap();
    let out = lab.casulo(&["image", "ls"]);
    out.assert_code(125);
    assert!(out.stderr.contains("é compartilhado (modo 1777"), "{out}");
    assert_eq!(mode(&lab.root()), 0o1777);
}

/// A layer whose file carries file capabilities (`setcap cap_net_raw+ep`,
/// archived by GNU tar as `SCHILY.xattr.security.capability`) unpacks
/// without them: `getcap` finds nothing in the unpacked layer.
#[test]
fn file_capabilities_do_not_survive_unpacking() {
    assert_root();
    let lab = OpenBase::new();
    let fs_dir = lab.base.join("rootfs");
    fs::create_dir(&fs_dir).unwrap();
    fs::copy(HOST_BUSYBOX, fs_dir.join("ping")).unwrap();
    let run = |program: &str, args: &[&str]| {
        let out = Output::of(Command::new(program).args(args));
        out.assert_ok();
        out
    };
    let ping = fs_dir.join("ping");
    run("setcap", &["cap_net_raw+ep", ping.to_str().unwrap()]);
    assert!(run("getcap", &[ping.to_str().unwrap()])
        .stdout
        .contains("cap_net_raw"));
    let tarball = lab.base.join("camada.tar");
    run(
        "tar",
        &[
            "--xattrs",
            "--xattrs-include=security.capability",
            "-cf",
            tarball.to_str().unwrap(),
            "-C",
            fs_dir.to_str().unwrap(),
            ".",
        ],
    );
    lab.casulo(&["image", "import", tarball.to_str().unwrap(), "capacidade:1"])
        .assert_ok();
    // The first run unpacks the layer (what the command does is beside the point).
    let _ = lab.casulo(&[
        "run",
        "--rm",
        "capacidade:1",
        "/ping",
        "-c",
        "1",
        "127.0.0.1",
    ]);
    let layers = lab.root().join("layers");
    let unpacked: Vec<PathBuf> = fs::read_dir(&layers)
        .unwrap()
        .map(|e| e.unwrap().path().join("ping"))
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(unpacked.len(), 1, "a camada foi desempacotada");
    let out = run("getcap", &[unpacked[0].to_str().unwrap()]);
    assert_eq!(
        out.stdout.trim(),
        "",
        "security.capability sobreviveu:\n{out}"
    );
}
