//! Images, builds, registries and networks through `casulo daemon`, driven
//! by the unmodified docker CLI, each compared with what `casulo` itself
//! says. A test binary of its own (its own lab): these tests tag and
//! remove images, which would race `daemon.rs`'s comparisons of the
//! whole image list.

use std::path::{Path, PathBuf};

use casulo_tests::daemon::Daemon;
use casulo_tests::registry::Registry;
use casulo_tests::{unique_name, workspace_dir, Lab, RemoveOnDrop};
use serde_json::Value;

fn fixture(name: &str) -> String {
    workspace_dir()
        .join("tests/dockerfiles")
        .join(name)
        .display()
        .to_string()
}

/// A context directory in the lab with this Dockerfile.
fn context(lab: &Lab, dockerfile: &str) -> PathBuf {
    let dir = lab.dir().join(unique_name("contexto"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    dir
}

fn casulo_id(lab: &Lab, image: &str) -> Option<String> {
    let out = lab.casulo(&["image", "inspect", image]);
    out.success()
        .then(|| out.json()[0]["Id"].as_str().unwrap().to_string())
}

/// Files of the state's `tmp/` that daemon `d` left, named
/// `<prefix>-<its pid>-…` (other tests' daemons work there at the same time).
fn leftovers(lab: &Lab, d: &Daemon, prefixes: &[&str]) -> Vec<String> {
    let pid = d.pid();
    std::fs::read_dir(lab.root().join("tmp"))
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    prefixes
                        .iter()
                        .any(|p| n.starts_with(&format!("{p}-{pid}-")))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `docker build -t x .` of a project fixture, then `docker run x`: the
/// same image `casulo image inspect` sees. A bad Dockerfile and a failing
/// RUN get the error and leave no image; `-q` prints only the id.
#[test]
fn docker_build_then_run_and_bad_builds_leave_nothing() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("construida");
    let out = d.docker(&[
        "build",
        "--label",
        "curso=casulo",
        "-t",
        &name,
        &fixture("12-varios-estagios"),
    ]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("Passo 4/4 : COPY --from=cozinha /saida /vitrine"),
        "{out}"
    );
    assert!(out.stdout.contains("Successfully built"), "{out}");
    assert!(out.stdout.contains("casulo: trace: "), "{out}");
    let run = d.docker(&["run", "--rm", &name, "cat", "/vitrine/bolo"]);
    run.assert_ok();
    assert_eq!(run.stdout.trim(), "bolo");
    let id = d.docker(&["image", "inspect", "-f", "{{.Id}}", &name]);
    id.assert_ok();
    let id = id.stdout.trim().to_string();
    assert_eq!(Some(id.clone()), casulo_id(lab, &name));
    let label = lab.casulo(&["image", "inspect", &name]).json();
    assert_eq!(label[0]["Config"]["Labels"]["curso"], "casulo", "{label}");
    let quiet = d.docker(&[
        "build",
        "-q",
        "--label",
        "curso=casulo",
        "-t",
        &name,
        &fixture("12-varios-estagios"),
    ]);
    quiet.assert_ok();
    assert_eq!(quiet.stdout.trim(), id, "{quiet}");

    // `docker build - < Dockerfile`: the body is the Dockerfile, no tar.
    let plain = unique_name("sem-contexto");
    let (status, body) = d.http(
        "POST",
        &format!("/v1.43/build?t={plain}"),
        b"FROM busybox\nRUN echo stdin > /de-onde\n",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""aux":{"ID":"sha256:"#), "{body}");
    let run = d.docker(&["run", "--rm", &plain, "cat", "/de-onde"]);
    assert_eq!(run.stdout.trim(), "stdin", "{run}");

    // `-f` outside the context: the CLI adds it to the tar (and sends
    // the tar cut short, without its end blocks).
    let dir = context(lab, "FROM busybox\n");
    std::fs::write(dir.join("a.txt"), "de fora\n").unwrap();
    let outside = lab
        .dir()
        .join(format!("{}.Dockerfile", unique_name("fora")));
    std::fs::write(&outside, "FROM busybox\nCOPY a.txt /a.txt\n").unwrap();
    let fora = unique_name("fora");
    let out = d.docker(&[
        "build",
        "-q",
        "-f",
        outside.to_str().unwrap(),
        "-t",
        &fora,
        dir.to_str().unwrap(),
    ]);
    out.assert_ok();
    let run = d.docker(&["run", "--rm", &fora, "cat", "/a.txt"]);
    assert_eq!(run.stdout.trim(), "de fora", "{run}");

    let bad = unique_name("ruim");
    let dir = context(lab, "FROM busybox\nBOGUS x\n");
    let out = d.docker(&["build", "-t", &bad, dir.to_str().unwrap()]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("Dockerfile:2"), "{out}");
    assert!(out.stderr.contains("BOGUS"), "{out}");
    // Our temp directory is not in the message.
    assert!(!out.stderr.contains("daemon-build"), "{out}");
    assert_eq!(casulo_id(lab, &bad), None);

    let dir = context(lab, "FROM busybox\nRUN echo antes; exit 3\n");
    let out = d.docker(&["build", "-t", &bad, dir.to_str().unwrap()]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stdout.contains("antes"), "{out}");
    assert!(out.stderr.contains("RUN terminou com código 3"), "{out}");
    assert_eq!(casulo_id(lab, &bad), None);
    assert_eq!(
        leftovers(lab, &d, &["daemon-build", "daemon-upload-build"]),
        Vec::<String>::new()
    );
}

/// A tar header for `name` of `kind`, written by hand (the tar crate
/// refuses to write the hostile names these tests need).
fn raw_entry(name: &[u8], kind: tar::EntryType, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    if kind == tar::EntryType::Char {
        h.set_device_major(1).unwrap();
        h.set_device_minor(3).unwrap();
    }
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn tar_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out: Vec<u8> = entries.concat();
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// The build context is untrusted: a device node, or a Dockerfile name
/// that leaves the context, is refused and nothing is left behind.
#[test]
fn hostile_build_contexts_are_refused() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("hostil");
    let dockerfile = raw_entry(b"Dockerfile", tar::EntryType::Regular, b"FROM busybox\n");
    let device = raw_entry(b"null", tar::EntryType::Char, b"");
    let body = tar_of(&[dockerfile.clone(), device]);
    let (status, text) = d.http("POST", &format!("/v1.43/build?t={name}"), &body);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("dispositivos"), "{text}");
    let outside = raw_entry(b"../../fora", tar::EntryType::Regular, b"x");
    let (status, text) = d.http(
        "POST",
        &format!("/v1.43/build?t={name}"),
        &tar_of(&[dockerfile.clone(), outside]),
    );
    assert_eq!(status, 400, "{text}");
    let (status, text) = d.http(
        "POST",
        &format!("/v1.43/build?t={name}&dockerfile=../../etc/passwd"),
        &tar_of(&[dockerfile]),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("dentro do contexto"), "{text}");
    assert_eq!(casulo_id(lab, &name), None);
    assert!(!lab.root().join("fora").exists());
    assert_eq!(
        leftovers(lab, &d, &["daemon-build", "daemon-upload-build"]),
        Vec::<String>::new()
    );
    // A body announced past the cap is refused before it is read, and a
    // client that hangs up mid-upload leaves no file.
    let (status, text) = d.http_announcing("POST", "/v1.43/images/load", 16 << 30, b"");
    assert_eq!(status, 413, "{text}");
    {
        use std::io::Write;
        let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
        s.write_all(
            b"POST /v1.43/images/load HTTP/1.1\r\nHost: casulo\r\n\
              Content-Type: application/x-tar\r\nContent-Length: 10000000\r\n\r\n",
        )
        .unwrap();
        s.write_all(&vec![0u8; 1 << 20]).unwrap();
        // The upload is on its way to a file…
        let began = std::time::Instant::now();
        while leftovers(lab, &d, &["daemon-upload-load"]).is_empty() {
            assert!(
                began.elapsed() < std::time::Duration::from_secs(30),
                "o envio não chegou a tmp/:\n{}",
                d.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    } // …and the client hangs up.
    let began = std::time::Instant::now();
    while !leftovers(lab, &d, &["daemon-upload-load"]).is_empty() {
        assert!(
            began.elapsed() < std::time::Duration::from_secs(30),
            "o envio interrompido ficou em tmp/: {:?}",
            leftovers(lab, &d, &["daemon-upload-load"])
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        d.docker(&["version"]).success(),
        "o daemon caiu:\n{}",
        d.log()
    );
}

/// `docker tag`, `docker history` (the same steps and sizes as `casulo
/// image history`), `docker rmi` (refused while a container uses the
/// image) and `docker image prune -f`.
#[test]
fn docker_tag_history_rmi_and_prune() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = format!("{}:1", unique_name("apelido"));
    d.docker(&["tag", "busybox", &name]).assert_ok();
    assert_eq!(casulo_id(lab, &name), casulo_id(lab, "busybox"));

    let built = unique_name("historia");
    d.docker(&[
        "build",
        "-q",
        "-t",
        &built,
        &fixture("13-workdir-e-variaveis"),
    ])
    .assert_ok();
    let ours: Value = lab
        .casulo(&["image", "history", "--format", "json", &built])
        .json();
    let expected: Vec<String> = ours
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}|{}",
                s["created_by"].as_str().unwrap_or_default(),
                s["size"]
            )
        })
        .collect();
    let out = d.docker(&[
        "history",
        "--no-trunc",
        "--human=false",
        "--format",
        "{{.CreatedBy}}|{{.Size}}",
        &built,
    ]);
    out.assert_ok();
    let got: Vec<String> = out.stdout.lines().map(String::from).collect();
    assert_eq!(got, expected, "{out}");

    let user = unique_name("usuario");
    d.docker(&["create", "--name", &user, &name, "true"])
        .assert_ok();
    let out = d.docker(&["rmi", &name]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains(&user), "{out}");
    d.docker(&["rm", &user]).assert_ok();
    let out = d.docker(&["rmi", &name, &built]);
    out.assert_ok();
    assert!(out.stdout.contains(&format!("Untagged: {name}")), "{out}");
    assert!(out.stdout.contains("Deleted: sha256:"), "{out}");
    assert_eq!(casulo_id(lab, &name), None);
    assert_eq!(casulo_id(lab, &built), None);
    assert!(casulo_id(lab, "busybox").is_some());
    let out = d.docker(&["rmi", "nao-existe:1"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("imagem não encontrada"), "{out}");
    let out = d.docker(&["image", "prune", "-f"]);
    out.assert_ok();
    assert!(out.stdout.contains("Total reclaimed space"), "{out}");
    assert!(casulo_id(lab, "busybox").is_some());

    // `-a` with a label: only the unused images that have it (docker's
    // `label=KEY=VALUE`; another value keeps it).
    let marked = unique_name("marcada");
    lab.casulo(&[
        "build",
        "--label",
        &format!("turma={marked}"),
        "-t",
        &marked,
        &fixture("13-workdir-e-variaveis"),
    ])
    .assert_ok();
    let other = format!("label=turma={marked}-outra");
    d.docker(&["image", "prune", "-a", "-f", "--filter", &other])
        .assert_ok();
    assert!(casulo_id(lab, &marked).is_some());
    let mine = format!("label=turma={marked}");
    let out = d.docker(&["image", "prune", "-a", "-f", "--filter", &mine]);
    out.assert_ok();
    assert!(out.stdout.contains(&format!("untagged: {marked}")), "{out}");
    assert_eq!(casulo_id(lab, &marked), None);
    assert!(casulo_id(lab, "busybox").is_some());
}

/// `docker save` then `docker load`: the same image id back. A hostile
/// archive is refused with nothing registered and nothing left in tmp.
#[test]
fn docker_save_and_load_round_trip_and_a_hostile_tar() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("salva");
    d.docker(&["build", "-q", "-t", &name, &fixture("12-varios-estagios")])
        .assert_ok();
    let id = casulo_id(lab, &name).unwrap();
    let file = lab.dir().join(format!("{name}.tar"));
    d.docker(&["save", "-o", file.to_str().unwrap(), &name])
        .assert_ok();
    assert!(std::fs::metadata(&file).unwrap().len() > 1024);
    d.docker(&["rmi", &name]).assert_ok();
    assert_eq!(casulo_id(lab, &name), None);
    let out = d.docker(&["load", "-i", file.to_str().unwrap()]);
    out.assert_ok();
    assert!(
        out.stdout.contains(&format!("Loaded image: {name}:latest")),
        "{out}"
    );
    assert_eq!(casulo_id(lab, &name), Some(id));

    let hostile_name = unique_name("hostil");
    let manifest = format!(
        r#"[{{"Config":"c.json","RepoTags":["{hostile_name}:1"],"Layers":["l/layer.tar"]}}]"#
    );
    let hostile = lab.dir().join(format!("{hostile_name}.tar"));
    std::fs::write(
        &hostile,
        tar_of(&[
            raw_entry(b"../../fora", tar::EntryType::Regular, b"x"),
            raw_entry(
                b"manifest.json",
                tar::EntryType::Regular,
                manifest.as_bytes(),
            ),
        ]),
    )
    .unwrap();
    let out = d.docker(&["load", "-i", hostile.to_str().unwrap()]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("nada foi registrado"), "{out}");
    assert!(!out.stderr.contains("daemon-upload"), "{out}");
    assert_eq!(casulo_id(lab, &format!("{hostile_name}:1")), None);
    assert!(!lab.root().join("fora").exists());
    assert_eq!(
        leftovers(lab, &d, &["daemon-upload-load", "daemon-save", "load"]),
        Vec::<String>::new()
    );
}

/// `docker login`, `push` and `pull` against a real registry (htpasswd):
/// only the missing layers travel, and the image pulled is the one built.
#[test]
fn docker_push_and_pull_through_a_real_registry() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let registry = Registry::start_with_auth("aluno", "segredo");
    let out = d.docker(&["login", "-u", "aluno", "-p", "errada", &registry.addr]);
    assert_ne!(out.code, 0, "{out}");
    d.docker(&["login", "-u", "aluno", "-p", "segredo", &registry.addr])
        .assert_ok();
    let remote = format!("{}/aluno/{}:v1", registry.addr, unique_name("app"));
    d.docker(&[
        "build",
        "-q",
        "-t",
        &remote,
        &fixture("13-workdir-e-variaveis"),
    ])
    .assert_ok();
    let id = casulo_id(lab, &remote).unwrap();
    let out = d.docker(&["push", &remote]);
    out.assert_ok();
    assert_eq!(out.stdout.matches(": Pushed").count(), 2, "{out}");
    assert!(out.stdout.contains("v1: digest: sha256:"), "{out}");
    let again = d.docker(&["push", &remote]);
    again.assert_ok();
    assert_eq!(
        again.stdout.matches(": Layer already exists").count(),
        2,
        "{again}"
    );
    assert_eq!(again.stdout.matches(": Pushed").count(), 0, "{again}");

    d.docker(&["rmi", &remote]).assert_ok();
    let out = d.docker(&["pull", &remote]);
    out.assert_ok();
    // busybox's layer is here; only the RUN's travels.
    assert_eq!(out.stdout.matches(": Already exists").count(), 1, "{out}");
    assert_eq!(out.stdout.matches(": Pull complete").count(), 1, "{out}");
    assert!(
        out.stdout
            .contains(&format!("Status: Downloaded newer image for {remote}")),
        "{out}"
    );
    assert_eq!(casulo_id(lab, &remote), Some(id));
    let out = d.docker(&["pull", &remote]);
    out.assert_ok();
    assert!(out.stdout.contains("Image is up to date"), "{out}");
    d.docker(&["rmi", &remote]).assert_ok();
}

/// `docker network create/ls/inspect/rm` are `casulo network`'s networks;
/// two containers on one resolve each other by name.
#[test]
fn docker_networks_are_casulos_networks() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let net = unique_name("rede");
    let server = unique_name("servidor");
    let other = unique_name("outra");
    let _removed = lab
        .remove_on_drop(&[&server])
        .with_networks(&[&other, &net]);
    let out = d.docker(&["network", "create", &net]);
    out.assert_ok();
    let id = out.stdout.trim().to_string();
    let ls = d.docker(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    ls.assert_ok();
    for line in [
        format!("{net} bridge"),
        "bridge bridge".into(),
        "none null".into(),
    ] {
        assert!(ls.stdout.lines().any(|l| l == line), "{line}: {ls}");
    }
    let ours = lab.casulo(&["network", "inspect", &net]).json();
    assert_eq!(ours[0]["Id"], id.as_str());
    let subnet = d.docker(&[
        "network",
        "inspect",
        "-f",
        "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
        &net,
    ]);
    subnet.assert_ok();
    assert_eq!(
        subnet.stdout.trim(),
        ours[0]["IPAM"]["Config"][0]["Subnet"].as_str().unwrap()
    );

    d.docker(&[
        "run",
        "-d",
        "--name",
        &server,
        "--network",
        &net,
        "busybox",
        "sleep",
        "60",
    ])
    .assert_ok();
    let ping = d.docker(&[
        "run",
        "--rm",
        "--network",
        &net,
        "busybox",
        "ping",
        "-c",
        "1",
        "-W",
        "5",
        &server,
    ]);
    ping.assert_ok();
    assert!(ping.stdout.contains("1 packets received"), "{ping}");
    let count = d.docker(&["network", "inspect", "-f", "{{len .Containers}}", &net]);
    assert_eq!(count.stdout.trim(), "1", "{count}");
    // connect/disconnect a running container to a second network.
    d.docker(&["network", "create", &other]).assert_ok();
    d.docker(&["network", "connect", &other, &server])
        .assert_ok();
    let on = |n: &str| {
        d.docker(&["network", "inspect", "-f", "{{len .Containers}}", n])
            .stdout
            .trim()
            .to_string()
    };
    assert_eq!(on(&other), "1");
    d.docker(&["network", "disconnect", &other, &server])
        .assert_ok();
    assert_eq!(on(&other), "0");
    // (Not `network prune`: networks are host-wide, and other tests'
    // networks may be idle for a moment.)
    d.docker(&["network", "rm", &other]).assert_ok();
    let out = d.docker(&["network", "rm", &net]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains(&server), "{out}");
    d.docker(&["rm", "-f", &server]).assert_ok();
    d.docker(&["network", "rm", &net]).assert_ok();
    let ls = lab.casulo(&["network", "ls", "-q"]);
    assert!(!ls.stdout.lines().any(|l| l == net), "{ls}");
    let out = d.docker(&["network", "inspect", "host"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("host não existe no casulo"), "{out}");
}

/// `docker inspect` of a container names its trace (label `casulo.trace`),
/// the file `casulo inspect` names too.
#[test]
fn docker_inspect_shows_the_trace() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let name = unique_name("rastreado");
    d.docker(&["run", "--name", &name, "busybox", "true"])
        .assert_ok();
    let out = d.docker(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"casulo.trace\"}}",
        &name,
    ]);
    out.assert_ok();
    let trace = out.stdout.trim().to_string();
    assert!(trace.ends_with(".trace.jsonl"), "{out}");
    assert!(Path::new(&trace).is_file(), "{trace}");
    let ours = lab.casulo(&["inspect", &name]).json();
    assert!(ours.to_string().contains(&trace), "{ours}");
    d.docker(&["rm", &name]).assert_ok();
}

/// `docker container prune`'s filters: `until` in docker's formats (a
/// duration the daemon counts back from now, RFC 3339) and `label` /
/// `label!` (a casulo container's one label is `casulo.trace`) remove only
/// what they let go; a time that is not one is refused, naming it, and
/// removes nothing. On a state dir of its own: a prune takes whatever is
/// stopped.
#[test]
fn docker_container_prune_applies_until_and_label() {
    let lab = Lab::shared();
    let (d, root) = Daemon::private(lab);
    let _removed = RemoveOnDrop::in_root(&root, &["vivo"]);
    let names = || {
        let mut cmd = std::process::Command::new(casulo_tests::casulo_bin());
        cmd.arg("--root")
            .arg(&root)
            .args(["ps", "-a", "--format", "{{.Names}}"]);
        let out = casulo_tests::Output::of(&mut cmd);
        out.assert_ok();
        let mut v: Vec<String> = out.stdout.lines().map(String::from).collect();
        v.sort();
        v
    };
    d.docker(&["run", "--name", "velho", "busybox", "true"])
        .assert_ok();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    d.docker(&["run", "--name", "novo", "busybox", "true"])
        .assert_ok();
    d.docker(&["run", "-d", "--name", "vivo", "busybox", "sleep", "100"])
        .assert_ok();
    assert_eq!(names(), ["novo", "velho", "vivo"]);

    let out = d.docker(&["container", "prune", "-f", "--filter", "until=ontem"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("\"ontem\" não é um tempo"), "{out}");
    for filter in ["until=1h", "label=nao.existe", "label!=casulo.trace"] {
        let out = d.docker(&["container", "prune", "-f", "--filter", filter]);
        out.assert_ok();
        assert_eq!(names(), ["novo", "velho", "vivo"], "{filter}: {out}");
    }
    // Created more than 2 s ago: only the old one.
    let out = d.docker(&["container", "prune", "-f", "--filter", "until=2s"]);
    out.assert_ok();
    assert_eq!(
        out.stdout.lines().filter(|l| l.len() == 64).count(),
        1,
        "{out}"
    );
    assert_eq!(names(), ["novo", "vivo"]);
    let out = d.docker(&[
        "container",
        "prune",
        "-f",
        "--filter",
        "until=2099-01-01T00:00:00Z",
        "--filter",
        "label=casulo.trace",
    ]);
    out.assert_ok();
    assert_eq!(names(), ["vivo"], "{out}");
    d.docker(&["rm", "-f", "vivo"]).assert_ok();
}

/// `docker image prune -a`'s filters: `label` (`KEY=VALUE` of the image's
/// config, as `docker build --label` sets it) and `until` (created before,
/// in docker's formats: the host's busybox says 1970) take only what they
/// let go; a time that is not one is refused, naming it, and removes
/// nothing. On a state dir of its own.
#[test]
fn docker_image_prune_applies_until_and_label() {
    let lab = Lab::shared();
    let (d, _root) = Daemon::private(lab);
    let images = || {
        let out = d.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        out.assert_ok();
        let mut v: Vec<String> = out.stdout.lines().map(String::from).collect();
        v.sort();
        v
    };
    d.docker(&["tag", "busybox", "velha:1"]).assert_ok();
    let ctx = context(lab, "FROM busybox\nENV CURSO=1\n");
    d.docker(&[
        "build",
        "--label",
        "curso=casulo",
        "-t",
        "rotulada:1",
        ctx.to_str().unwrap(),
    ])
    .assert_ok();
    let before = ["busybox:latest", "rotulada:1", "velha:1"];
    assert_eq!(images(), before);

    let out = d.docker(&["image", "prune", "-af", "--filter", "until=ontem"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("\"ontem\" não é um tempo"), "{out}");
    for filter in ["label=curso=outro", "label=nada", "until=1970-01-01"] {
        d.docker(&["image", "prune", "-af", "--filter", filter])
            .assert_ok();
        assert_eq!(images(), before, "{filter}");
    }
    let out = d.docker(&["image", "prune", "-af", "--filter", "label=curso=casulo"]);
    out.assert_ok();
    assert_eq!(images(), ["busybox:latest", "velha:1"], "{out}");
    let out = d.docker(&[
        "image",
        "prune",
        "-af",
        "--filter",
        "until=2000-01-01T00:00:00Z",
    ]);
    out.assert_ok();
    assert!(images().is_empty(), "{out}");
}

/// `docker import ARQUIVO NOME` (`POST /images/create?fromSrc=-`): a rootfs
/// tar becomes a one-layer image that `docker run` and `casulo run`
/// start; a tar that writes outside its layer is refused, registering
/// nothing and leaving nothing outside.
#[test]
fn docker_import_makes_an_image_of_a_rootfs_tar() {
    let lab = Lab::shared();
    let d = Daemon::start(lab);
    let busybox = std::fs::read("/bin/busybox").unwrap();
    let mut rootfs = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_size(busybox.len() as u64);
    h.set_cksum();
    rootfs
        .append_data(&mut h, "bin/busybox", &busybox[..])
        .unwrap();
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_mode(0o777);
    link.set_size(0);
    rootfs.append_link(&mut link, "bin/sh", "busybox").unwrap();
    let file = lab.dir().join(format!("{}.tar", unique_name("rootfs")));
    std::fs::write(&file, rootfs.into_inner().unwrap()).unwrap();

    let name = format!("{}:1", unique_name("importada"));
    let out = d.docker(&["import", file.to_str().unwrap(), &name]);
    out.assert_ok();
    let id = casulo_id(lab, &name).unwrap_or_else(|| panic!("sem imagem {name}: {out}"));
    assert_eq!(out.stdout.trim(), id, "{out}");
    let run = d.docker(&[
        "run",
        "--rm",
        &name,
        "/bin/sh",
        "-c",
        "echo importada e rodando",
    ]);
    run.assert_ok();
    assert_eq!(run.stdout, "importada e rodando\n", "{run}");
    let inspect = lab.casulo(&["image", "inspect", &name]).json();
    assert_eq!(
        inspect[0]["RootFS"]["diff_ids"].as_array().unwrap().len(),
        1
    );

    let hostile_name = format!("{}:1", unique_name("hostil"));
    let hostile = lab.dir().join(format!("{}.tar", unique_name("hostil")));
    std::fs::write(
        &hostile,
        tar_of(&[raw_entry(
            b"../../fora-import",
            tar::EntryType::Regular,
            b"x",
        )]),
    )
    .unwrap();
    let out = d.docker(&["import", hostile.to_str().unwrap(), &hostile_name]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("nada foi registrado"), "{out}");
    assert_eq!(casulo_id(lab, &hostile_name), None);
    assert!(!lab.root().join("fora-import").exists());
    assert!(!lab.dir().join("fora-import").exists());
    assert_eq!(
        leftovers(lab, &d, &["daemon-upload-import"]),
        Vec::<String>::new()
    );
    d.docker(&["rmi", &name]).assert_ok();
}
