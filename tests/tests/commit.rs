//! `casulo commit` against the real kernel: a container's changes (a new
//! file, a file of the image changed, one deleted, a directory made opaque,
//! a symlink) become a layer on top of its image; the committed image runs
//! with them and with the `--change`d CMD; `image history` shows the
//! commit; the store stays `image fsck` clean; umoci and skopeo read the
//! image (umoci applies the whiteouts). A running container is frozen
//! while its layer is read and thawed after (`--pause`, docker's default);
//! one the user paused stays paused. Mistakes (unknown
//! container, a `--change` that is not a config instruction) register
//! nothing.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use casulo_tests::{unique_name, wait_for_child, Lab, Output};
use serde_json::Value;

/// The tests that count blobs hold this while they write to the store.
static STORE: Mutex<()> = Mutex::new(());

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs a tool; panics (showing its output) if it fails.
#[track_caller]
fn tool(program: &str, args: &[&str]) -> Output {
    let out = Output::of(Command::new(program).args(args));
    out.assert_ok();
    out
}

fn blobs() -> BTreeSet<String> {
    fs::read_dir(Lab::shared().root().join("images/blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn index() -> String {
    fs::read_to_string(Lab::shared().root().join("images/index.json")).unwrap()
}

#[track_caller]
fn fsck_clean() {
    let out = Lab::shared().casulo(&["image", "fsck"]);
    out.assert_ok();
    assert!(out.stdout.contains("tudo certo"), "{out}");
}

/// An image whose `/dados` has two files (for the opaque directory).
fn base_image() -> String {
    let lab = Lab::shared();
    let ctx = lab.dir().join(unique_name("commit-ctx"));
    fs::create_dir_all(&ctx).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nRUN mkdir /dados && echo a > /dados/a && echo b > /dados/b\n",
    )
    .unwrap();
    let tag = format!("{}:base", unique_name("commit-base"));
    lab.casulo(&["build", "-t", &tag, s(&ctx)]).assert_ok();
    tag
}

fn scratch(hint: &str) -> PathBuf {
    let dir = Lab::shared().dir().join(unique_name(hint));
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn commit_turns_the_containers_changes_into_an_image() {
    let _store = STORE.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::shared();
    let base = base_image();
    let name = unique_name("mudou");
    lab.casulo(&[
        "run",
        "--name",
        &name,
        &base,
        "sh",
        "-c",
        "echo novo > /novo && echo mudou >> /etc/passwd && rm /etc/group && \
         rm -rf /dados && mkdir /dados && touch /dados/nova && ln -s /etc/passwd /atalho",
    ])
    .assert_ok();
    let tag = format!("{}:v1", unique_name("commitada"));
    let out = lab.casulo(&[
        "commit",
        "-m",
        "meu primeiro commit",
        "-a",
        "Ana <ana@exemplo.com>",
        "--change",
        r#"CMD ["cat","/novo"]"#,
        &name,
        &tag,
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    assert!(
        id.starts_with("sha256:") && id.len() == 71,
        "só o id no stdout: {out}"
    );
    // Two whiteouts: /etc/group and the opaque /dados.
    assert!(out.stderr.contains("2 whiteouts"), "{out}");
    assert!(!out.stderr.contains("está rodando"), "{out}");

    // The new CMD.
    let run = lab.casulo(&["run", "--rm", &tag]);
    run.assert_ok();
    assert_eq!(run.stdout.trim(), "novo");
    // The changes: deleted, changed, opaque directory, symlink as a symlink.
    let run = lab.casulo(&[
        "run",
        "--rm",
        &tag,
        "sh",
        "-c",
        "ls /dados; test -e /etc/group || echo sem-group; tail -n 1 /etc/passwd; readlink /atalho",
    ]);
    run.assert_ok();
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        ["nova", "sem-group", "mudou", "/etc/passwd"],
        "{run}"
    );

    // The history says where the top layer came from.
    let hist = lab.casulo(&["image", "history", "--no-trunc", &tag]);
    hist.assert_ok();
    let top = hist.stdout.lines().nth(1).unwrap_or_default();
    assert!(
        top.contains(&format!("casulo commit {name}")) && top.contains("meu primeiro commit"),
        "{hist}"
    );
    assert!(top.contains(r#"--change 'CMD ["cat","/novo"]'"#), "{hist}");

    // The container's trace has the commit, with the new image's id.
    let trace = lab.root().join("traces");
    let file = fs::read_dir(&trace)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
        })
        .expect("o trace do contêiner");
    let text = fs::read_to_string(&file).unwrap();
    let commit: Value = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["kind"] == "image.commit")
        .expect("image.commit no trace do contêiner");
    assert_eq!(commit["image_id"], id.as_str());
    assert_eq!(commit["whiteouts"], 2);
    assert_eq!(commit["tag"], tag.as_str());
    let check = lab.casulo(&["trace", "check", s(&file)]);
    check.assert_ok();

    fsck_clean();

    // umoci and skopeo read it; umoci applies the whiteouts.
    let dir = scratch("commit-interop");
    let archive = dir.join("img.tar");
    lab.casulo(&["image", "save", "-o", s(&archive), &tag])
        .assert_ok();
    let src = format!("oci-archive:{}:{tag}", s(&archive));
    let inspect = tool("skopeo", &["inspect", &src]).json();
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 3, "{inspect}");
    let config = tool("skopeo", &["inspect", "--config", &src]).json();
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["cat", "/novo"]));
    assert_eq!(config["author"], "Ana <ana@exemplo.com>");
    let last = config["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["comment"], "meu primeiro commit");
    let layout = dir.join("layout");
    tool(
        "skopeo",
        &["copy", &src, &format!("oci:{}:img", s(&layout))],
    );
    let bundle = dir.join("bundle");
    tool(
        "umoci",
        &[
            "unpack",
            "--image",
            &format!("{}:img", s(&layout)),
            s(&bundle),
        ],
    );
    let rootfs = bundle.join("rootfs");
    assert_eq!(fs::read_to_string(rootfs.join("novo")).unwrap(), "novo\n");
    assert!(!rootfs.join("etc/group").exists(), "o whiteout apagou");
    let dados: Vec<String> = fs::read_dir(rootfs.join("dados"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(dados, ["nova"], "o diretório opaco esconde a e b");
    assert_eq!(
        fs::read_link(rootfs.join("atalho")).unwrap(),
        Path::new("/etc/passwd")
    );
    lab.casulo(&["rm", &name]).assert_ok();
}

#[test]
fn commit_without_a_name_prints_the_id_and_tags_nothing() {
    let _store = STORE.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::shared();
    let name = unique_name("semnome");
    lab.casulo(&["run", "--name", &name, "busybox", "touch", "/x"])
        .assert_ok();
    let before = index();
    let out = lab.casulo(&["commit", &name]);
    out.assert_ok();
    assert!(out.stdout.trim().starts_with("sha256:"), "{out}");
    assert_eq!(index(), before, "sem nome, nenhuma etiqueta nova");
    fsck_clean();
    lab.casulo(&["rm", &name]).assert_ok();
}

#[test]
fn mistakes_register_nothing() {
    let _store = STORE.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::shared();
    // Something to commit, for the bad --change.
    let name = unique_name("errado");
    lab.casulo(&["run", "--name", &name, "busybox", "touch", "/x"])
        .assert_ok();
    let (blobs_before, index_before) = (blobs(), index());

    let out = lab.casulo(&["commit", "nao-existe-de-jeito-nenhum", "x:1"]);
    assert_eq!(out.code, 125, "{out}");
    assert!(
        out.stderr
            .contains("contêiner não encontrado: \"nao-existe-de-jeito-nenhum\""),
        "{out}"
    );
    let out = lab.casulo(&["commit", "--change", "RUN rm -rf /", &name, "x:2"]);
    assert_eq!(out.code, 125, "{out}");
    assert!(out.stderr.contains("só aceita CMD"), "{out}");
    let out = lab.casulo(&["commit", "--change", "EXPOSE 0", &name, "x:3"]);
    assert_eq!(out.code, 125, "{out}");
    assert!(out.stderr.contains("porta inválida"), "{out}");
    let out = lab.casulo(&["commit", &name, "Maiúscula:1"]);
    assert_eq!(out.code, 125, "{out}");

    assert_eq!(blobs(), blobs_before, "nenhum blob novo");
    assert_eq!(index(), index_before, "nenhuma etiqueta nova");
    fsck_clean();
    lab.casulo(&["rm", &name]).assert_ok();
}

/// The freezes and thaws (`cgroup.freeze`'s `frozen`) in a trace, in order.
fn freezes(trace: &Path) -> Vec<bool> {
    casulo_trace::read_trace_file(trace)
        .expect("trace válido")
        .events
        .iter()
        .filter_map(|e| match &e.body {
            casulo_trace::EventBody::CgroupFreeze { frozen, .. } => Some(*frozen),
            _ => None,
        })
        .collect()
}

/// A running container is frozen while its layer is read (docker's
/// `--pause`, the default) and runs again after: the freeze and the thaw
/// are in its trace, before the `image.commit`. `--pause=false` reads it
/// running, says so, and freezes nothing.
#[test]
fn a_running_container_is_frozen_for_the_commit_and_thawed() {
    let _store = STORE.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::shared();
    let name = unique_name("rodando");
    let mut child = lab.spawn(&[
        "run",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "echo vivo > /vivo && exec sleep 300",
    ]);
    let init = wait_for_child(child.id(), "sleep");
    assert!(init > 0);
    let trace = lab.wait_for_exec(&name);
    let tag = format!("{}:v1", unique_name("viva"));
    let out = lab.casulo(&["commit", &name, &tag]);
    let state = inspect_status(lab, &name);
    let frozen = freezes(&trace);
    let cold = lab.casulo(&["commit", "--pause=false", &name]);
    let after_cold = freezes(&trace);
    let _ = lab.casulo(&["kill", &name]);
    let _ = child.wait();
    out.assert_ok();
    assert!(out.stderr.contains("congelado"), "{out}");
    assert_eq!(
        state, "running",
        "o contêiner volta a rodar depois do commit"
    );
    assert_eq!(frozen, vec![true, false], "congelou e descongelou uma vez");
    let kinds: Vec<&str> = casulo_trace::read_trace_file(&trace)
        .unwrap()
        .events
        .iter()
        .map(|e| e.body.kind())
        .filter(|k| matches!(*k, "cgroup.freeze" | "image.commit"))
        .collect();
    assert_eq!(
        &kinds[..3],
        ["cgroup.freeze", "cgroup.freeze", "image.commit"],
        "{kinds:?}"
    );
    cold.assert_ok();
    assert!(cold.stderr.contains("--pause=false"), "{cold}");
    assert_eq!(after_cold, frozen, "--pause=false não congela");
    let run = lab.casulo(&["run", "--rm", &tag, "cat", "/vivo"]);
    run.assert_ok();
    assert_eq!(run.stdout.trim(), "vivo");
    fsck_clean();
    lab.casulo(&["rm", &name]).assert_ok();
}

fn inspect_status(lab: &Lab, name: &str) -> String {
    let out = lab.casulo(&["inspect", name]);
    out.assert_ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v[0]["State"]["Status"].as_str().unwrap().to_string()
}

/// With `--userns`, the upper dir holds host ids (the container's root is
/// 100000 on the host): the committed layer has the ids the container saw.
#[test]
fn a_userns_container_is_committed_with_its_own_ids() {
    let _store = STORE.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::shared();
    let name = unique_name("userns");
    lab.casulo(&[
        "run",
        "--userns",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "echo x > /do-root && echo y > /do-5 && chown 5:7 /do-5",
    ])
    .assert_ok();
    let upper_owner = fs::read_dir(lab.root().join("containers"))
        .unwrap()
        .map(|e| e.unwrap().path().join("upper/do-root"))
        .find(|p| p.exists())
        .map(|p| std::os::unix::fs::MetadataExt::uid(&fs::metadata(p).unwrap()));
    assert!(
        upper_owner.is_some_and(|u| u >= 100000),
        "no host o dono é do intervalo: {upper_owner:?}"
    );
    let tag = format!("{}:v1", unique_name("userns-img"));
    lab.casulo(&["commit", &name, &tag]).assert_ok();
    let run = lab.casulo(&[
        "run", "--rm", &tag, "stat", "-c", "%u:%g %n", "/do-root", "/do-5",
    ]);
    run.assert_ok();
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        ["0:0 /do-root", "5:7 /do-5"],
        "{run}"
    );
    fsck_clean();
    lab.casulo(&["rm", &name]).assert_ok();
}

/// Commit writes to the store (root's): without root, it says so up front.
#[test]
fn without_root_commit_says_it_needs_sudo() {
    let lab = Lab::shared();
    let out = Output::of(
        Command::new("setpriv")
            .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(casulo_tests::casulo_bin())
            .arg("--root")
            .arg(lab.root())
            .args(["commit", "qualquer", "x:1"])
            .env_remove("CASULO_ROOT"),
    );
    out.assert_code(125);
    assert!(out.stderr.contains("precisa de root"), "{out}");
}

/// A detached container (`run -d`), paused by the user: the commit leaves
/// it paused; its supervisor keeps appending to the trace while commit
/// appends `image.commit` to it; the trace stays valid
/// (gapless `seq`) and the image has the container's file.
#[test]
fn a_detached_container_is_committed_and_its_trace_stays_valid() {
    let _store = STORE.lock().unwrap_or_else(|e| e.into_inner());
    let lab = Lab::shared();
    let name = unique_name("destacado");
    let out = lab.casulo(&[
        "run",
        "-d",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "echo solto > /solto && exec sleep 300",
    ]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    let trace = lab.wait_for_exec(&name);
    // Wait until the file is in the container's upper dir.
    let written = lab.root().join("containers").join(&id).join("upper/solto");
    let began = std::time::Instant::now();
    while !fs::read_to_string(&written).is_ok_and(|t| t == "solto\n") {
        assert!(
            began.elapsed().as_secs() < 10,
            "{} não apareceu",
            written.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Paused by the user: the commit reads it frozen and leaves it paused.
    lab.casulo(&["pause", &name]).assert_ok();
    let tag = format!("{}:v1", unique_name("destacada"));
    let out = lab.casulo(&["commit", &name, &tag]);
    let state = inspect_status(lab, &name);
    let _ = lab.casulo(&["rm", "-f", &name]);
    out.assert_ok();
    assert_eq!(state, "paused", "{out}");
    assert_eq!(
        freezes(&trace),
        vec![true, false],
        "pause, e o unpause do rm -f"
    );
    lab.casulo(&["trace", "check", s(&trace)]).assert_ok();
    let run = lab.casulo(&["run", "--rm", &tag, "cat", "/solto"]);
    run.assert_ok();
    assert_eq!(run.stdout.trim(), "solto");
    fsck_clean();
}
