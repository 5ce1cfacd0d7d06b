//! `casulo push` / `casulo pull` against the real registry (Debian's
//! `docker-registry`, CNCF distribution, started by
//! [`casulo_tests::registry::Registry`] on a free loopback port): byte for
//! byte round trips, only the missing layers traveling (counted in the
//! trace), cross-repository mounts, skopeo and umoci reading what casulo
//! pushed and casulo running what skopeo pushed, a multi-platform index,
//! htpasswd auth and `casulo login`, a registry that is down, and a
//! tampered blob refused with the store intact (and a re-pull that resumes
//! from the layers that were complete).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use casulo_tests::layout::{self, LayerTar};
use casulo_tests::registry::Registry;
use casulo_tests::{casulo_bin, trace_path_from, unique_name, Lab, Output};
use serde_json::{json, Value};

/// `casulo --root ROOT ARGS...`, with the credentials file in `config`.
fn casulo_at(root: &Path, config: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(casulo_bin());
    cmd.arg("--root")
        .arg(root)
        .args(args)
        .env_remove("CASULO_ROOT")
        .env_remove("CASULO_REGISTRY")
        .env("CASULO_CONFIG", config);
    Output::of(&mut cmd)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A scratch directory for one test, under the lab.
fn scratch(hint: &str) -> PathBuf {
    let dir = Lab::shared().dir().join(unique_name(hint));
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The lab's store, with a credentials dir of the test's own.
fn lab(config: &Path, args: &[&str]) -> Output {
    casulo_at(Lab::shared().root(), config, args)
}

/// `n` small layers, each with a file of its own.
fn layers(tag: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            LayerTar::new()
                .dir("dados/")
                .file(
                    &format!("dados/{tag}-{i}.txt"),
                    format!("camada {i} de {tag}\n").as_bytes(),
                )
                .finish()
        })
        .collect()
}

/// Loads an image made of busybox + `extra` into the lab's store as
/// `local` (saved first as `base`'s layout when given, else busybox's).
fn make_image(dir: &Path, config: &Path, base: &str, local: &str, extra: Vec<Vec<u8>>) {
    let saved = dir.join(unique_name("base"));
    lab(
        config,
        &["image", "save", "-o", &format!("{}/", s(&saved)), base],
    )
    .assert_ok();
    let out = dir.join(unique_name("img"));
    layout::extend(&saved, &out, local, &extra, |_| {});
    lab(config, &["image", "load", "-q", "-i", s(&out)]).assert_ok();
}

/// The descriptor of `reference` in a store's index.json.
fn descriptor(root: &Path, reference: &str) -> Value {
    let index: Value =
        serde_json::from_slice(&fs::read(root.join("images/index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == reference)
        .unwrap_or_else(|| panic!("{reference} não está no index.json de {}", root.display()))
        .clone()
}

fn blob(root: &Path, digest: &str) -> Vec<u8> {
    fs::read(blob_path(root, digest)).unwrap()
}

fn blob_path(root: &Path, digest: &str) -> PathBuf {
    root.join("images/blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap())
}

/// Every blob (manifest, config, layers) of `reference` in a store.
fn image_blobs(root: &Path, reference: &str) -> Vec<(String, Vec<u8>)> {
    let desc = descriptor(root, reference);
    let digest = desc["digest"].as_str().unwrap().to_string();
    let manifest_bytes = blob(root, &digest);
    let manifest: Value = serde_json::from_slice(&manifest_bytes).unwrap();
    let mut out = vec![(digest, manifest_bytes)];
    let config = manifest["config"]["digest"].as_str().unwrap();
    out.push((config.to_string(), blob(root, config)));
    for layer in manifest["layers"].as_array().unwrap() {
        let d = layer["digest"].as_str().unwrap();
        out.push((d.to_string(), blob(root, d)));
    }
    out
}

/// The events of the trace a command printed, as JSON.
fn trace_events(out: &Output) -> Vec<Value> {
    let path = trace_path_from(&out.stderr).unwrap_or_else(|| panic!("sem trace:\n{out}"));
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn count(events: &[Value], kind: &str, pred: impl Fn(&Value) -> bool) -> usize {
    events
        .iter()
        .filter(|e| e["kind"] == kind && pred(e))
        .count()
}

/// Files left in a store's tmp/ besides its lock files.
fn tmp_leftovers(root: &Path) -> Vec<String> {
    fs::read_dir(root.join("tmp"))
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.ends_with(".lock"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn push_then_pull_on_a_clean_store_is_byte_identical_and_a_second_push_sends_nothing() {
    let registry = Registry::start();
    let dir = scratch("ida-volta");
    let config = dir.join("config");
    let remote = format!("{}/aluno/app:v1", registry.addr);
    let local = format!("{}:v1", unique_name("app"));
    make_image(&dir, &config, "busybox", &local, layers("app", 2));
    lab(&config, &["image", "tag", &local, &remote]).assert_ok();

    let out = lab(&config, &["push", &remote]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("3 de 3 camadas enviadas, 0 já estavam no registry"),
        "{out}"
    );
    let events = trace_events(&out);
    assert_eq!(
        count(&events, "registry.blob_upload", |e| e["layer"].is_u64()),
        3
    );
    assert_eq!(count(&events, "registry.manifest_put", |_| true), 1);
    assert_eq!(events[0]["kind"], "registry.ping");

    // Again: the registry has every blob, nothing travels.
    let out = lab(&config, &["push", &remote]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("0 de 3 camadas enviadas, 3 já estavam no registry"),
        "{out}"
    );
    let events = trace_events(&out);
    assert_eq!(
        count(&events, "registry.blob_upload", |_| true),
        0,
        "{events:?}"
    );
    assert_eq!(
        count(&events, "registry.blob_exists", |e| e["exists"] == true),
        4,
        "3 layers and the config"
    );

    // A clean store gets the very same bytes, and runs the image.
    let fresh = dir.join("limpo");
    let out = casulo_at(&fresh, &config, &["pull", &remote]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("3 de 3 camadas baixadas, 0 já estavam aqui"),
        "{out}"
    );
    let pushed = image_blobs(Lab::shared().root(), &remote);
    let pulled = image_blobs(&fresh, &remote);
    assert_eq!(pushed.len(), 5);
    for ((d1, b1), (d2, b2)) in pushed.iter().zip(&pulled) {
        assert_eq!(d1, d2);
        assert!(b1 == b2, "blob {d1} differs");
    }
    assert!(
        out.stdout.contains(&pushed[0].0),
        "the manifest digest: {out}"
    );
    let ls = casulo_at(&fresh, &config, &["image", "ls", "--digests"]);
    assert!(ls.assert_ok().stdout.contains(&pushed[0].0), "{ls}");
    let run = casulo_at(
        &fresh,
        &config,
        &["run", "--rm", &remote, "cat", "/dados/app-1.txt"],
    );
    run.assert_ok();
    assert_eq!(run.stdout, "camada 1 de app\n");
    casulo_at(&fresh, &config, &["image", "fsck"]).assert_ok();
    assert!(
        tmp_leftovers(&fresh).is_empty(),
        "{:?}",
        tmp_leftovers(&fresh)
    );

    // A build whose FROM names the registry pulls the base it lacks.
    let builder = dir.join("construtor");
    let context = dir.join("contexto");
    fs::create_dir_all(&context).unwrap();
    fs::write(
        context.join("Dockerfile"),
        format!("FROM {remote}\nRUN cat /dados/app-0.txt > /copia.txt\n"),
    )
    .unwrap();
    let out = casulo_at(
        &builder,
        &config,
        &["build", "-t", "derivada:1", s(&context)],
    );
    out.assert_ok();
    assert!(out.stdout.contains("baixando do registry"), "{out}");
    let run = casulo_at(
        &builder,
        &config,
        &["run", "--rm", "derivada:1", "cat", "/copia.txt"],
    );
    assert_eq!(run.assert_ok().stdout, "camada 0 de app\n");
    casulo_at(&builder, &config, &["gc"]);
    let _ = fs::remove_dir_all(&builder);

    // By digest: the same image, under the tag sha256-<hex>.
    let by_digest = format!("{}/aluno/app@{}", registry.addr, pushed[0].0);
    let out = casulo_at(&fresh, &config, &["pull", &by_digest]);
    out.assert_ok();
    let tag = format!(
        "{}/aluno/app:{}",
        registry.addr,
        pushed[0].0.replace(':', "-")
    );
    assert_eq!(descriptor(&fresh, &tag)["digest"], pushed[0].0.as_str());

    // Pulling again downloads nothing.
    let out = casulo_at(&fresh, &config, &["pull", &remote]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("0 de 3 camadas baixadas, 3 já estavam aqui"),
        "{out}"
    );
    assert_eq!(
        count(&trace_events(&out), "registry.blob_download", |_| true),
        0
    );
    casulo_at(&fresh, &config, &["gc"]);
    let _ = fs::remove_dir_all(&fresh);
}

#[test]
fn a_ten_layer_image_sharing_seven_downloads_exactly_three_and_mounts_across_repos() {
    let registry = Registry::start();
    let dir = scratch("dez-sete");
    let config = dir.join("config");
    // base: busybox + 6 = 7 layers; app: base + 3 = 10 layers.
    let base_local = format!("{}:v1", unique_name("base"));
    make_image(&dir, &config, "busybox", &base_local, layers("base", 6));
    let app_local = format!("{}:v1", unique_name("app"));
    make_image(&dir, &config, &base_local, &app_local, layers("app", 3));
    let base_remote = format!("{}/base/sete:v1", registry.addr);
    let app_remote = format!("{}/aluno/dez:v1", registry.addr);
    lab(&config, &["image", "tag", &base_local, &base_remote]).assert_ok();
    lab(&config, &["image", "tag", &app_local, &app_remote]).assert_ok();

    lab(&config, &["push", &base_remote]).assert_ok();
    // The 7 shared layers are in the registry under base/sete: mounted,
    // not sent again.
    let out = lab(&config, &["push", &app_remote]);
    out.assert_ok();
    assert!(
        out.stdout.contains(
            "3 de 10 camadas enviadas, 0 já estavam no registry, 7 montadas de outro repositório"
        ),
        "{out}"
    );
    let events = trace_events(&out);
    assert_eq!(
        count(&events, "registry.blob_mount", |e| e["mounted"] == true),
        7
    );
    assert_eq!(
        count(&events, "registry.blob_upload", |e| e["layer"].is_u64()),
        3
    );

    let fresh = dir.join("limpo");
    let out = casulo_at(&fresh, &config, &["pull", &base_remote]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("7 de 7 camadas baixadas, 0 já estavam aqui"),
        "{out}"
    );
    let out = casulo_at(&fresh, &config, &["pull", &app_remote]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("3 de 10 camadas baixadas, 7 já estavam aqui"),
        "{out}"
    );
    let events = trace_events(&out);
    assert_eq!(
        count(&events, "registry.blob_download", |e| e["layer"].is_u64()),
        3
    );
    assert_eq!(
        count(&events, "registry.blob_exists", |e| e["local"] == true
            && e["exists"] == true),
        7
    );
    let replayed = casulo_trace::replay::Replay::new(
        casulo_trace::reader::read_trace_file(trace_path_from(&out.stderr).unwrap())
            .unwrap()
            .events,
    );
    let world = replayed.world_at(replayed.len());
    let transfer = world.registry.as_ref().expect("replay has the pull");
    assert_eq!(transfer.direction, "pull");
    assert_eq!(transfer.layers.len(), 10);
    assert_eq!(transfer.counts(), (3, 7));
    let run = casulo_at(
        &fresh,
        &config,
        &[
            "run",
            "--rm",
            &app_remote,
            "cat",
            "/dados/base-5.txt",
            "/dados/app-2.txt",
        ],
    );
    run.assert_ok();
    assert_eq!(run.stdout, "camada 5 de base\ncamada 2 de app\n");
    casulo_at(&fresh, &config, &["image", "fsck"]).assert_ok();
    casulo_at(&fresh, &config, &["gc"]);
    let _ = fs::remove_dir_all(&fresh);
}

#[test]
fn skopeo_reads_what_casulo_pushed_and_casulo_runs_what_skopeo_pushed() {
    let registry = Registry::start();
    let dir = scratch("skopeo");
    let config = dir.join("config");

    // casulo push → skopeo inspect and copy out → umoci unpacks it.
    let remote = format!("{}/aluno/bb:v1", registry.addr);
    lab(&config, &["image", "tag", "busybox", &remote]).assert_ok();
    let out = lab(&config, &["push", &remote]);
    out.assert_ok();
    let digest = descriptor(Lab::shared().root(), &remote)["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let inspect = Output::of(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{remote}"),
    ]));
    inspect.assert_ok();
    assert_eq!(inspect.json()["Digest"], digest.as_str(), "{inspect}");
    let copied = dir.join("copiado");
    Output::of(Command::new("skopeo").args([
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{remote}"),
        &format!("oci:{}:bb", s(&copied)),
    ]))
    .assert_ok();
    let bundle = dir.join("bundle");
    Output::of(Command::new("umoci").args([
        "unpack",
        "--image",
        &format!("{}:bb", s(&copied)),
        s(&bundle),
    ]))
    .assert_ok();
    assert!(bundle.join("rootfs/bin/busybox").is_file());

    // skopeo copy (OCI manifest; converted to Docker schema 2; its layers
    // recompressed with zstd) → casulo pull runs it.
    let source = format!(
        "oci:{}:busybox:latest",
        s(&Lab::shared().root().join("images"))
    );
    // (skopeo reuses a compressed blob as it is, and one its cache knows
    // the registry already has: the zstd copy starts from a `dir:` copy
    // with the layers decompressed, into a registry of its own.)
    let zstd_registry = Registry::start();
    let plain = dir.join("descomprimida");
    Output::of(Command::new("skopeo").args([
        "copy",
        "--dest-decompress",
        &source,
        &format!("dir:{}", s(&plain)),
    ]))
    .assert_ok();
    let plain = format!("dir:{}", s(&plain));
    for (at, repo, from, extra) in [
        (&registry, "skopeo/oci", &source, None),
        (
            &registry,
            "skopeo/docker",
            &source,
            Some(["--format", "v2s2"]),
        ),
        (
            &zstd_registry,
            "skopeo/zstd",
            &plain,
            Some(["--dest-compress-format", "zstd"]),
        ),
    ] {
        let target = format!("{}/{repo}:v1", at.addr);
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--dest-tls-verify=false"]);
        if let Some(flags) = extra {
            cmd.args(flags);
        }
        cmd.args([from.as_str(), &format!("docker://{target}")]);
        Output::of(&mut cmd).assert_ok();
        let fresh = dir.join(unique_name("limpo"));
        let out = casulo_at(&fresh, &config, &["pull", &target]);
        out.assert_ok();
        let events = trace_events(&out);
        let got = events
            .iter()
            .find(|e| e["kind"] == "registry.manifest_get")
            .unwrap();
        let expected = if repo == "skopeo/docker" {
            "application/vnd.docker.distribution.manifest.v2+json"
        } else {
            "application/vnd.oci.image.manifest.v1+json"
        };
        assert_eq!(got["media_type"], expected, "{got}");
        if repo == "skopeo/zstd" {
            let desc = descriptor(&fresh, &target);
            let manifest: Value =
                serde_json::from_slice(&blob(&fresh, desc["digest"].as_str().unwrap())).unwrap();
            assert_eq!(
                manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd",
                "{manifest}"
            );
        }
        let run = casulo_at(
            &fresh,
            &config,
            &["run", "--rm", &target, "echo", "oi do skopeo"],
        );
        run.assert_ok();
        assert_eq!(run.stdout, "oi do skopeo\n");
        casulo_at(&fresh, &config, &["image", "fsck"]).assert_ok();
        casulo_at(&fresh, &config, &["gc"]);
        let _ = fs::remove_dir_all(&fresh);
    }
}

/// An OCI layout whose tag `multi` is an index of `platforms`, each
/// pointing at busybox's manifest.
fn index_layout(dir: &Path, config: &Path, platforms: &[(&str, &str)]) -> PathBuf {
    let out = dir.join(unique_name("indice"));
    lab(
        config,
        &["image", "save", "-o", &format!("{}/", s(&out)), "busybox"],
    )
    .assert_ok();
    let index: Value = serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap();
    let manifest = &index["manifests"][0];
    let entries: Vec<Value> = platforms
        .iter()
        .map(|(os, arch)| {
            json!({
                "mediaType": manifest["mediaType"],
                "digest": manifest["digest"],
                "size": manifest["size"],
                "platform": {"os": os, "architecture": arch},
            })
        })
        .collect();
    let inner = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    }))
    .unwrap();
    let digest = layout::sha256(&inner);
    fs::write(
        out.join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap()),
        &inner,
    )
    .unwrap();
    let top = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest,
            "size": inner.len(),
            "annotations": {"org.opencontainers.image.ref.name": "multi"},
        }],
    });
    fs::write(out.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    out
}

#[test]
fn a_multi_platform_index_gives_the_hosts_platform_or_says_there_is_none() {
    let registry = Registry::start();
    let dir = scratch("indice");
    let config = dir.join("config");
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let with_host = index_layout(&dir, &config, &[("linux", "s390x"), ("linux", arch)]);
    let target = format!("{}/multi/com:v1", registry.addr);
    Output::of(Command::new("skopeo").args([
        "copy",
        "--all",
        "--dest-tls-verify=false",
        &format!("oci:{}:multi", s(&with_host)),
        &format!("docker://{target}"),
    ]))
    .assert_ok();
    let fresh = dir.join("limpo");
    let out = casulo_at(&fresh, &config, &["pull", &target]);
    out.assert_ok();
    let events = trace_events(&out);
    let gets: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "registry.manifest_get")
        .collect();
    assert_eq!(gets.len(), 2, "the index, then the manifest: {gets:?}");
    assert_eq!(gets[0]["platform"], format!("linux/{arch}"));
    let run = casulo_at(
        &fresh,
        &config,
        &["run", "--rm", &target, "echo", "plataforma certa"],
    );
    run.assert_ok();

    let without = index_layout(&dir, &config, &[("linux", "s390x"), ("linux", "ppc64le")]);
    let target = format!("{}/multi/sem:v1", registry.addr);
    Output::of(Command::new("skopeo").args([
        "copy",
        "--all",
        "--dest-tls-verify=false",
        &format!("oci:{}:multi", s(&without)),
        &format!("docker://{target}"),
    ]))
    .assert_ok();
    let out = casulo_at(&fresh, &config, &["pull", &target]);
    assert_ne!(out.code, 0, "{out}");
    assert!(
        out.stderr
            .contains(&format!("não tem a plataforma linux/{arch}"))
            && out.stderr.contains("linux/s390x, linux/ppc64le"),
        "{out}"
    );
    casulo_at(&fresh, &config, &["gc"]);
    let _ = fs::remove_dir_all(&fresh);
}

#[test]
fn auth_is_asked_a_wrong_password_is_refused_and_login_keeps_a_0600_file() {
    let registry = Registry::start_with_auth("aluno", "segredo-123");
    let dir = scratch("auth");
    let config = dir.join("config");
    let remote = format!("{}/aluno/bb:v1", registry.addr);
    lab(&config, &["image", "tag", "busybox", &remote]).assert_ok();

    let out = lab(&config, &["push", &remote]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("pede usuário e senha")
            && out
                .stderr
                .contains(&format!("casulo login {}", registry.addr)),
        "{out}"
    );

    let out = lab(
        &config,
        &["login", &registry.addr, "-u", "aluno", "-p", "errada"],
    );
    out.assert_code(1);
    assert!(out.stderr.contains("usuário ou senha errados"), "{out}");
    assert!(!config.join("config.json").exists(), "nothing saved");

    let mut cmd = Command::new(casulo_bin());
    cmd.arg("--root")
        .arg(Lab::shared().root())
        .args(["login", &registry.addr, "-u", "aluno", "--password-stdin"])
        .env("CASULO_CONFIG", &config)
        .stdin(std::process::Stdio::piped());
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"segredo-123\n").unwrap();
    let done = child.wait_with_output().unwrap();
    assert!(done.status.success(), "{done:?}");
    let file = config.join("config.json");
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let saved: Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    let auth = saved["auths"][&registry.addr]["auth"].as_str().unwrap();
    assert_eq!(
        auth, "YWx1bm86c2VncmVkby0xMjM=",
        "docker's shape: base64 of user:password"
    );
    assert!(!fs::read_to_string(&file).unwrap().contains("segredo"));

    let out = lab(&config, &["push", &remote]);
    out.assert_ok();
    let trace = fs::read_to_string(trace_path_from(&out.stderr).unwrap()).unwrap();
    assert!(trace.contains("\"registry.auth\""), "{trace}");
    assert!(
        !trace.contains("segredo") && !trace.contains(auth),
        "credentials in the trace"
    );
    let fresh = dir.join("limpo");
    casulo_at(&fresh, &config, &["pull", &remote]).assert_ok();

    lab(&config, &["logout", &registry.addr]).assert_ok();
    let out = casulo_at(&fresh, &config, &["pull", &remote]);
    out.assert_code(1);
    casulo_at(&fresh, &config, &["gc"]);
    let _ = fs::remove_dir_all(&fresh);
}

#[test]
fn a_registry_that_is_down_is_said_so_and_nothing_changes() {
    let mut registry = Registry::start();
    let addr = registry.addr.clone();
    registry.stop();
    let dir = scratch("fora");
    let config = dir.join("config");
    let fresh = dir.join("limpo");
    let out = casulo_at(&fresh, &config, &["pull", &format!("{addr}/aluno/bb:v1")]);
    out.assert_code(125);
    assert!(
        out.stderr
            .contains(&format!("não foi possível falar com o registry {addr}"))
            && out.stderr.contains("conexão recusada"),
        "{out}"
    );
    let events = trace_events(&out);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], "registry.ping");
    assert_eq!(events[0]["outcome"]["error"]["name"], "ECONNREFUSED");
    let ls = casulo_at(&fresh, &config, &["image", "ls", "-q"]);
    assert_eq!(ls.stdout.trim(), "", "{ls}");
    let _ = fs::remove_dir_all(&fresh);
}

#[test]
fn a_tampered_blob_is_refused_with_the_store_intact_and_a_re_pull_resumes() {
    let registry = Registry::start();
    let dir = scratch("adulterado");
    let config = dir.join("config");
    let local = format!("{}:v1", unique_name("alvo"));
    make_image(&dir, &config, "busybox", &local, layers("alvo", 2));
    let remote = format!("{}/aluno/alvo:v1", registry.addr);
    lab(&config, &["image", "tag", &local, &remote]).assert_ok();
    lab(&config, &["push", &remote]).assert_ok();

    // Flip a byte of the top layer in the registry's own storage.
    let blobs = image_blobs(Lab::shared().root(), &remote);
    let (top, _) = blobs.last().unwrap();
    let hex = top.strip_prefix("sha256:").unwrap();
    let data = registry
        .storage()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    let original = fs::read(&data).unwrap();
    let mut bad = original.clone();
    bad[600] ^= 0x20;
    fs::write(&data, &bad).unwrap();

    let fresh = dir.join("limpo");
    let out = casulo_at(&fresh, &config, &["pull", &remote]);
    out.assert_code(1);
    assert!(
        out.stderr.contains(top.as_str())
            && out.stderr.contains(&registry.addr)
            && out.stderr.contains("a camada 3 não confere"),
        "{out}"
    );
    assert!(
        !blob_path(&fresh, top).exists(),
        "the bad layer is not in the store"
    );
    assert!(
        tmp_leftovers(&fresh).is_empty(),
        "{:?}",
        tmp_leftovers(&fresh)
    );
    let ls = casulo_at(&fresh, &config, &["image", "ls", "-q"]);
    assert_eq!(ls.stdout.trim(), "", "no tag: {ls}");
    casulo_at(&fresh, &config, &["image", "fsck"]).assert_ok();
    let events = trace_events(&out);
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "registry.blob_download" && e["outcome"] != "ok")
        .collect();
    assert_eq!(failed.len(), 1, "{events:?}");
    assert_eq!(failed[0]["digest"], top.as_str());

    // Fixed: the two layers that passed are kept, only the third travels.
    fs::write(&data, &original).unwrap();
    let out = casulo_at(&fresh, &config, &["pull", &remote]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("1 de 3 camadas baixada, 2 já estavam aqui"),
        "{out}"
    );
    casulo_at(&fresh, &config, &["image", "fsck"]).assert_ok();
    casulo_at(&fresh, &config, &["gc"]);
    let _ = fs::remove_dir_all(&fresh);
}

#[test]
fn a_chunked_upload_sends_patches_and_the_registry_keeps_the_same_bytes() {
    let registry = Registry::start();
    let dir = scratch("partes");
    let config = dir.join("config");
    let remote = format!("{}/aluno/partes:v1", registry.addr);
    lab(&config, &["image", "tag", "busybox", &remote]).assert_ok();
    let mut cmd = Command::new(casulo_bin());
    cmd.arg("--root")
        .arg(Lab::shared().root())
        .args(["push", &remote])
        .env("CASULO_CONFIG", &config)
        .env("CASULO_REGISTRY_CHUNK", "300000");
    let out = Output::of(&mut cmd);
    out.assert_ok();
    let events = trace_events(&out);
    let layer = events
        .iter()
        .find(|e| e["kind"] == "registry.blob_upload" && e["layer"] == 0)
        .expect("the layer was sent");
    let size = layer["bytes"].as_u64().unwrap();
    assert_eq!(
        layer["chunks"].as_u64().unwrap(),
        size.div_ceil(300_000),
        "{layer}"
    );
    // What the registry assembled is the layer, byte for byte.
    let fresh = dir.join("limpo");
    casulo_at(&fresh, &config, &["pull", &remote]).assert_ok();
    let digest = layer["digest"].as_str().unwrap();
    assert!(blob(&fresh, digest) == blob(Lab::shared().root(), digest));
    casulo_at(&fresh, &config, &["gc"]);
    let _ = fs::remove_dir_all(&fresh);
}

/// `len` bytes that do not compress (xorshift64*, seeded).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Temp blobs a pull is writing in a store's tmp/.
fn temp_blobs(root: &Path) -> usize {
    tmp_leftovers(root)
        .iter()
        .filter(|n| n.contains("blob"))
        .count()
}

#[test]
fn a_pull_cut_off_mid_layer_leaves_nothing_half_made_and_a_re_pull_fetches_only_what_is_missing() {
    // The registry keeps its storage in a directory of the test, so that
    // it can come back on the same address with the same blobs.
    let dir = scratch("interrompido");
    let config = dir.join("config");
    let storage = dir.join("armazem-do-registry");
    let mut registry = Registry::start_with(None, None, Some(&storage)).unwrap();
    let addr = registry.addr.clone();
    // busybox + a small layer + two layers of 24 MiB of noise (far more
    // than the sockets' buffers hold): the pull is cut off while the first
    // big one is on its way.
    let big = 24 << 20;
    let extra = vec![
        LayerTar::new()
            .dir("dados/")
            .file("dados/pequena.txt", b"camada pequena\n")
            .finish(),
        LayerTar::new()
            .dir("dados/")
            .file("dados/grande-1.bin", &noise(1, big))
            .finish(),
        LayerTar::new()
            .dir("dados/")
            .file("dados/grande-2.bin", &noise(2, big))
            .finish(),
    ];
    let local = format!("{}:v1", unique_name("grande"));
    make_image(&dir, &config, "busybox", &local, extra);
    let remote = format!("{addr}/aluno/grande:v1");
    lab(&config, &["image", "tag", &local, &remote]).assert_ok();
    lab(&config, &["push", &remote]).assert_ok();
    let blobs = image_blobs(Lab::shared().root(), &remote);
    let layers: Vec<String> = blobs[2..].iter().map(|(d, _)| d.clone()).collect();
    assert_eq!(layers.len(), 4);
    drop(blobs);

    let fresh = dir.join("limpo");
    let logs = dir.join("pull-interrompido");
    fs::create_dir_all(&logs).unwrap();
    let mut child = Command::new(casulo_bin())
        .arg("--root")
        .arg(&fresh)
        .args(["pull", &remote])
        .env_remove("CASULO_ROOT")
        .env("CASULO_CONFIG", &config)
        .stdout(fs::File::create(logs.join("stdout")).unwrap())
        .stderr(fs::File::create(logs.join("stderr")).unwrap())
        .spawn()
        .unwrap();
    // Layers 1 and 2 (small) are in and a temp file is being written: a big
    // layer's download started. Freeze casulo, kill the registry, let
    // casulo go on.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the pull never reached layer 3"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the pull ended ({status}) before it could be cut off:\n{}",
                fs::read_to_string(logs.join("stderr")).unwrap()
            );
        }
        if blob_path(&fresh, &layers[0]).exists()
            && blob_path(&fresh, &layers[1]).exists()
            && temp_blobs(&fresh) > 0
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    casulo_tests::send_signal(child.id(), libc::SIGSTOP);
    assert!(
        !blob_path(&fresh, &layers[2]).exists(),
        "layer 3 (24 MiB) was already complete when casulo was frozen: the test cut nothing"
    );
    registry.stop();
    casulo_tests::send_signal(child.id(), libc::SIGCONT);
    let status = child.wait().unwrap();
    let out = Output {
        command: format!("casulo pull {remote}"),
        code: status.code().unwrap_or(-1),
        signal: None,
        stdout: fs::read_to_string(logs.join("stdout")).unwrap(),
        stderr: fs::read_to_string(logs.join("stderr")).unwrap(),
    };
    assert_ne!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains(&addr)
            && out.stderr.contains("interrompido")
            && out.stderr.contains(&layers[2])
            && out.stderr.contains("camada 3"),
        "{out}"
    );
    // Nothing half-made: no temp file, no layer 3, no tag, fsck clean;
    // layers 1 and 2 were complete and verified: they stay.
    assert!(
        tmp_leftovers(&fresh).is_empty(),
        "{:?}",
        tmp_leftovers(&fresh)
    );
    assert!(blob_path(&fresh, &layers[0]).exists() && blob_path(&fresh, &layers[1]).exists());
    assert!(!blob_path(&fresh, &layers[2]).exists() && !blob_path(&fresh, &layers[3]).exists());
    let ls = casulo_at(&fresh, &config, &["image", "ls", "-q"]);
    assert_eq!(ls.assert_ok().stdout.trim(), "", "no tag: {ls}");
    casulo_at(&fresh, &config, &["image", "fsck"]).assert_ok();
    let events = trace_events(&out);
    // Layers 3 and 4 travel side by side: both were cut off (or 4 never
    // started), each with fewer bytes than it has.
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "registry.blob_download" && e["outcome"] != "ok")
        .collect();
    assert!(
        failed.iter().any(|e| e["layer"] == 2)
            && failed.iter().all(|e| (e["layer"] == 2 || e["layer"] == 3)
                && e["bytes"].as_u64().unwrap() < big as u64),
        "{failed:?}"
    );

    // The registry comes back on the same storage: only layers 3 and 4 travel.
    let _registry = Registry::start_with(Some(&addr), None, Some(&storage)).unwrap();
    let out = casulo_at(&fresh, &config, &["pull", &remote]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("2 de 4 camadas baixadas, 2 já estavam aqui"),
        "{out}"
    );
    let events = trace_events(&out);
    let mut downloaded: Vec<u64> = events
        .iter()
        .filter(|e| e["kind"] == "registry.blob_download" && e["layer"].is_u64())
        .map(|e| e["layer"].as_u64().unwrap())
        .collect();
    downloaded.sort();
    assert_eq!(downloaded, [2, 3]);
    let run = casulo_at(
        &fresh,
        &config,
        &["run", "--rm", &remote, "wc", "-c", "/dados/grande-1.bin"],
    );
    assert!(run.assert_ok().stdout.contains(&big.to_string()), "{run}");
    casulo_at(&fresh, &config, &["image", "fsck"]).assert_ok();
    casulo_at(&fresh, &config, &["gc"]);
    // The 48 MiB do not stay in the shared lab's store.
    lab(&config, &["image", "rm", &local, &remote]).assert_ok();
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn bearer_tokens_are_fetched_with_the_login_and_a_wrong_password_is_refused() {
    // The real registry with `auth: token`; the token server is the test's
    // (see TokenIssuer: none is packaged in Debian). The registry verifies
    // each JWT's signature, issuer, audience, expiry and scopes for real.
    let issuer = casulo_tests::registry::TokenIssuer::start("aluno", "senha-do-token");
    let registry = Registry::start_with_token(&issuer);
    let dir = scratch("bearer");
    let config = dir.join("config");
    let remote = format!("{}/aluno/bb:v1", registry.addr);
    lab(&config, &["image", "tag", "busybox", &remote]).assert_ok();

    // No credentials: the token server says no, and casulo says what to do.
    let out = lab(&config, &["push", &remote]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("autenticação Bearer")
            && out.stderr.contains(&issuer.realm())
            && out
                .stderr
                .contains(&format!("casulo login {}", registry.addr)),
        "{out}"
    );
    // A wrong password: refused by the token server, nothing saved.
    let out = lab(
        &config,
        &["login", &registry.addr, "-u", "aluno", "-p", "errada"],
    );
    out.assert_code(1);
    assert!(
        out.stderr.contains("usuário ou senha errados")
            && out.stderr.contains("servidor de tokens")
            && out.stderr.contains(&registry.addr),
        "{out}"
    );
    assert!(!config.join("config.json").exists());

    lab(
        &config,
        &[
            "login",
            &registry.addr,
            "-u",
            "aluno",
            "-p",
            "senha-do-token",
        ],
    )
    .assert_ok();
    let out = lab(&config, &["push", &remote]);
    out.assert_ok();
    let events = trace_events(&out);
    let auth: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "registry.auth")
        .collect();
    assert_eq!(auth.len(), 1, "{events:?}");
    assert_eq!(auth[0]["scheme"], "bearer");
    assert_eq!(auth[0]["realm"], issuer.realm().as_str());
    assert_eq!(auth[0]["scope"], "repository:aluno/bb:pull,push");
    assert_eq!(auth[0]["status"], 200);
    let trace = fs::read_to_string(trace_path_from(&out.stderr).unwrap()).unwrap();
    assert!(
        !trace.contains("senha-do-token") && !trace.contains("eyJ"),
        "no secret in the trace"
    );
    // The token server saw the scope asked, with the credentials.
    assert!(
        issuer.requests().iter().any(|(scopes, with, status)| *with
            && *status == 200
            && scopes == &["repository:aluno/bb:pull,push".to_string()]),
        "{:?}",
        issuer.requests()
    );

    // Another repository: the token also asks to read aluno/bb, and the
    // layer is mounted from there.
    let other = format!("{}/turma/bb:v1", registry.addr);
    lab(&config, &["image", "tag", "busybox", &other]).assert_ok();
    let out = lab(&config, &["push", &other]);
    out.assert_ok();
    let events = trace_events(&out);
    assert_eq!(
        count(&events, "registry.blob_mount", |e| e["mounted"] == true),
        1,
        "{events:?}"
    );
    assert!(
        issuer.requests().iter().any(|(scopes, _, _)| scopes
            == &[
                "repository:turma/bb:pull,push".to_string(),
                "repository:aluno/bb:pull".to_string()
            ]),
        "{:?}",
        issuer.requests()
    );

    // Pull on a clean store, with a pull-only token.
    let fresh = dir.join("limpo");
    let out = casulo_at(&fresh, &config, &["pull", &remote]);
    out.assert_ok();
    let events = trace_events(&out);
    let auth = events
        .iter()
        .find(|e| e["kind"] == "registry.auth")
        .unwrap();
    assert_eq!(auth["scope"], "repository:aluno/bb:pull");
    let run = casulo_at(
        &fresh,
        &config,
        &["run", "--rm", &remote, "echo", "token ok"],
    );
    assert_eq!(run.assert_ok().stdout, "token ok\n");
    casulo_at(&fresh, &config, &["gc"]);
    lab(&config, &["image", "rm", "-q", &remote, &other]).assert_ok();
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_registry_with_its_own_ca_is_spoken_to_in_tls_once_its_ca_is_in_certs_d() {
    let dir = scratch("tls");
    let config = dir.join("config");
    let certs_d = dir.join("certs.d");
    let registry = Registry::start_with_tls(&certs_d);
    let remote = format!("{}/aluno/bb:v1", registry.addr);
    lab(&config, &["image", "tag", "busybox", &remote]).assert_ok();
    let with_certs = |root: &Path, certs: &Path, args: &[&str]| {
        let mut cmd = Command::new(casulo_bin());
        cmd.arg("--root")
            .arg(root)
            .args(args)
            .env_remove("CASULO_ROOT")
            .env("CASULO_CONFIG", &config)
            .env("CASULO_CERTS_D", certs);
        Output::of(&mut cmd)
    };

    // A CA that did not sign the registry's certificate: refused, said so.
    let wrong = dir.join("outra-ca");
    let other = Registry::start_with_tls(&wrong);
    fs::create_dir_all(wrong.join(&registry.addr)).unwrap();
    fs::copy(
        wrong.join(&other.addr).join("ca.crt"),
        wrong.join(&registry.addr).join("ca.crt"),
    )
    .unwrap();
    drop(other);
    let out = with_certs(Lab::shared().root(), &wrong, &["push", &remote]);
    out.assert_code(125);
    assert!(
        out.stderr.contains("certificado TLS dele não é confiável")
            && out.stderr.contains(&format!("{}/ca.crt", registry.addr)),
        "{out}"
    );

    // The right CA: push and pull over HTTPS.
    let out = with_certs(Lab::shared().root(), &certs_d, &["push", &remote]);
    out.assert_ok();
    let events = trace_events(&out);
    assert!(
        events[0]["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("https://{}/v2/", registry.addr)),
        "{}",
        events[0]
    );
    let fresh = dir.join("limpo");
    with_certs(&fresh, &certs_d, &["pull", &remote]).assert_ok();
    let run = with_certs(
        &fresh,
        &certs_d,
        &["run", "--rm", &remote, "echo", "tls ok"],
    );
    assert_eq!(run.assert_ok().stdout, "tls ok\n");
    // skopeo trusts the same file (its --cert-dir reads ca.crt too).
    let inspect = Output::of(Command::new("skopeo").args([
        "inspect",
        "--cert-dir",
        s(&certs_d.join(&registry.addr)),
        &format!("docker://{remote}"),
    ]));
    inspect.assert_ok();
    casulo_at(&fresh, &config, &["gc"]);
    lab(&config, &["image", "rm", "-q", &remote]).assert_ok();
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_token_signed_by_a_key_the_registry_does_not_trust_is_refused_by_the_registry() {
    // Same issuer name, same service, right password: only the key differs.
    // The token server says yes; the registry checks the signature and says no.
    let trusted = casulo_tests::registry::TokenIssuer::start("aluno", "senha");
    let impostor = casulo_tests::registry::TokenIssuer::start("aluno", "senha");
    let registry = Registry::start_with_foreign_tokens(&trusted, &impostor);
    let dir = scratch("token-falso");
    let config = dir.join("config");
    let out = lab(
        &config,
        &["login", &registry.addr, "-u", "aluno", "-p", "senha"],
    );
    out.assert_code(1);
    assert!(
        out.stderr.contains("o registry recusou o token") && out.stderr.contains(&impostor.realm()),
        "{out}"
    );
    assert!(
        impostor
            .requests()
            .iter()
            .any(|(_, with, status)| *with && *status == 200),
        "the token was given: {:?}",
        impostor.requests()
    );
    assert!(!config.join("config.json").exists(), "nothing saved");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_pull_only_token_lets_the_image_be_pulled_and_refuses_a_push_clearly() {
    // Two accounts on the token server: "aluno" may push, "leitor" only
    // pull (its tokens carry `pull` whatever it asks). The real registry
    // checks each request against the token's access list.
    let issuer = casulo_tests::registry::TokenIssuer::start_with_reader(
        "aluno",
        "senha-do-token",
        Some(("leitor", "so-leitura")),
    );
    let registry = Registry::start_with_token(&issuer);
    let dir = scratch("so-pull");
    let teacher = dir.join("professor");
    let student = dir.join("aluno");
    let remote = format!("{}/turma/bb:v1", registry.addr);
    lab(&teacher, &["image", "tag", "busybox", &remote]).assert_ok();
    lab(
        &teacher,
        &[
            "login",
            &registry.addr,
            "-u",
            "aluno",
            "-p",
            "senha-do-token",
        ],
    )
    .assert_ok();
    lab(&teacher, &["push", &remote]).assert_ok();

    // The reader logs in (a token for no scope is fine) and pulls.
    lab(
        &student,
        &["login", &registry.addr, "-u", "leitor", "-p", "so-leitura"],
    )
    .assert_ok();
    let fresh = dir.join("limpo");
    casulo_at(&fresh, &student, &["pull", &remote]).assert_ok();
    let run = casulo_at(&fresh, &student, &["run", "--rm", &remote, "echo", "lido"]);
    assert_eq!(run.assert_ok().stdout, "lido\n");

    // Its push: the token server grants only pull, the registry refuses
    // the first write, and casulo says whose token lacked what.
    let mine = format!("{}/turma/meu:v1", registry.addr);
    casulo_at(&fresh, &student, &["image", "tag", &remote, &mine]).assert_ok();
    let out = casulo_at(&fresh, &student, &["push", &mine]);
    out.assert_code(1);
    assert!(
        out.stderr.contains(&registry.addr)
            && out.stderr.contains("\"leitor\"")
            && out.stderr.contains("não permite enviar (push)")
            && out.stderr.contains(&issuer.realm())
            && out.stderr.contains("escopo \"repository:turma/meu:"),
        "{out}"
    );
    assert!(
        issuer.requests().iter().any(|(scopes, with, status)| *with
            && *status == 200
            && scopes.first().map(String::as_str) == Some("repository:turma/meu:pull,push")),
        "{:?}",
        issuer.requests()
    );
    // Nothing reached the registry under that name.
    let inspect = Output::of(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        "--creds",
        "aluno:senha-do-token",
        &format!("docker://{mine}"),
    ]));
    assert_ne!(inspect.code, 0, "{inspect}");
    casulo_at(&fresh, &student, &["gc"]);
    lab(&teacher, &["image", "rm", "-q", &remote]).assert_ok();
    let _ = fs::remove_dir_all(&dir);
}

/// Removes a directory when dropped (one the test made outside its scratch).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn plain_http_to_a_tls_registry_says_where_the_ca_goes_and_dockers_certs_d_is_honoured() {
    let dir = scratch("tls-docker");
    let config = dir.join("config");
    let made = dir.join("certs.d-gerado");
    let registry = Registry::start_with_tls(&made);
    let remote = format!("{}/aluno/bb:v1", registry.addr);
    lab(&config, &["image", "tag", "busybox", &remote]).assert_ok();
    // Where casulo looks by default, with no CASULO_CERTS_D.
    let ours = Path::new("/etc/casulo/certs.d").join(&registry.addr);
    let dockers = Path::new("/etc/docker/certs.d").join(&registry.addr);
    assert!(!ours.exists() && !dockers.exists());

    // No CA anywhere: a loopback registry is spoken to in plain HTTP, the
    // registry answers that it speaks HTTPS, and casulo says what to do.
    let out = lab(&config, &["push", &remote]);
    assert_ne!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains("fala HTTPS")
            && out
                .stderr
                .contains(&format!("/etc/casulo/certs.d/{}/ca.crt", registry.addr))
            && out.stderr.contains("/etc/docker/certs.d"),
        "{out}"
    );

    // The CA in docker's place: casulo trusts it too, and speaks HTTPS.
    // What the test makes in /etc goes away after it, parents it made too.
    let parent = dockers.parent().unwrap();
    let _cleanup = RemoveOnDrop(if parent.exists() {
        dockers.clone()
    } else {
        parent.to_path_buf()
    });
    fs::create_dir_all(&dockers).unwrap();
    fs::copy(
        made.join(&registry.addr).join("ca.crt"),
        dockers.join("ca.crt"),
    )
    .unwrap();
    let out = lab(&config, &["push", &remote]);
    out.assert_ok();
    let events = trace_events(&out);
    assert!(
        events[0]["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("https://{}/v2/", registry.addr)),
        "{}",
        events[0]
    );
    lab(&config, &["image", "rm", "-q", &remote]).assert_ok();
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_layer_whose_diff_id_lies_is_pulled_by_its_digest_and_refused_by_the_first_unpack() {
    // The blobs are what the manifest says (sha256 and size), but the
    // config declares a diff_id that is not the layer's tar. A pull checks
    // the blobs; the diff_id is checked where the tar is read anyway, by
    // the first unpack (as containerd's unpacker), and by image fsck.
    let registry = Registry::start();
    let dir = scratch("diffid-remoto");
    let config = dir.join("config");
    let saved = dir.join("busybox");
    lab(
        &config,
        &["image", "save", "-o", &format!("{}/", s(&saved)), "busybox"],
    )
    .assert_ok();
    let tar = LayerTar::new()
        .dir("dados/")
        .file("dados/a.txt", b"conteudo\n")
        .finish();
    let layer = layout::sha256(&tar);
    let wrong = layout::sha256(b"outra coisa");
    let oci = dir.join("mentira");
    layout::extend_with(&saved, &oci, "mentira:v1", &[tar], |_, config| {
        let ids = config["rootfs"]["diff_ids"].as_array_mut().unwrap();
        *ids.last_mut().unwrap() = json!(wrong);
    });
    let remote = format!("{}/aluno/mentira:v1", registry.addr);
    Output::of(Command::new("skopeo").args([
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &format!("oci:{}:mentira:v1", s(&oci)),
        &format!("docker://{remote}"),
    ]))
    .assert_ok();

    let fresh = dir.join("limpo");
    casulo_at(&fresh, &config, &["pull", &remote]).assert_ok();
    let run = casulo_at(&fresh, &config, &["run", "--rm", &remote, "true"]);
    run.assert_code(125);
    assert!(
        run.stderr.contains(&layer)
            && run.stderr.contains(&wrong)
            && run.stderr.contains("diff_id"),
        "{run}"
    );
    // Nothing half-unpacked; fsck names the image and the diff_id.
    assert!(
        tmp_leftovers(&fresh).is_empty(),
        "{:?}",
        tmp_leftovers(&fresh)
    );
    let fsck = casulo_at(&fresh, &config, &["image", "fsck"]);
    fsck.assert_code(1);
    assert!(
        fsck.stdout.contains("mentira") && fsck.stdout.contains(&wrong),
        "{fsck}"
    );
    let leftovers: Vec<_> = fs::read_dir(fresh.join("layers"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        leftovers
            .iter()
            .all(|n| !n.to_string_lossy().starts_with(".tmp")),
        "{leftovers:?}"
    );
    casulo_at(&fresh, &config, &["gc"]);
    let _ = fs::remove_dir_all(&dir);
}

/// `push --compression-format zstd`: the layers travel recompressed, in an
/// OCI manifest of their own (skopeo reads it: zstd layers whose content is
/// the image's diff_ids), the local image does not change, and a pull of it
/// runs; `gzip` back again; an unknown format is refused before anything.
#[test]
fn push_recompresses_the_layers_with_zstd_and_the_pull_runs_them() {
    let registry = Registry::start();
    let dir = scratch("zstd");
    let config = dir.join("config");
    let remote = format!("{}/aluno/zstd:v1", registry.addr);
    lab(&config, &["image", "tag", "busybox", &remote]).assert_ok();
    let before = descriptor(Lab::shared().root(), &remote);

    let out = lab(&config, &["push", "--compression-format", "zstd", &remote]);
    out.assert_ok();
    assert!(out.stderr.contains("recomprimindo a camada 1/1"), "{out}");
    // The store keeps its image as it was.
    assert_eq!(descriptor(Lab::shared().root(), &remote), before);
    let raw = Output::of(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{remote}"),
    ]));
    raw.assert_ok();
    let manifest = raw.json();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        manifest["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd",
        "{manifest}"
    );
    // skopeo decompresses it: the tar is the image's diff_id.
    let plain = dir.join("descomprimida");
    Output::of(Command::new("skopeo").args([
        "copy",
        "--src-tls-verify=false",
        "--dest-decompress",
        &format!("docker://{remote}"),
        &format!("dir:{}", s(&plain)),
    ]))
    .assert_ok();
    let image: Value = lab(&config, &["image", "inspect", "busybox"]).json();
    let diff_id = image[0]["RootFS"]["diff_ids"][0]
        .as_str()
        .unwrap()
        .to_string();
    let tar = plain.join(diff_id.strip_prefix("sha256:").unwrap());
    let sum = Output::of(Command::new("sha256sum").arg(&tar));
    sum.assert_ok();
    assert!(
        sum.stdout
            .starts_with(diff_id.strip_prefix("sha256:").unwrap()),
        "{sum}"
    );

    let fresh = dir.join(unique_name("limpo"));
    casulo_at(&fresh, &config, &["pull", &remote]).assert_ok();
    let run = casulo_at(
        &fresh,
        &config,
        &["run", "--rm", &remote, "echo", "oi zstd"],
    );
    run.assert_ok();
    assert_eq!(run.stdout, "oi zstd\n");
    casulo_at(&fresh, &config, &["image", "fsck"]).assert_ok();
    // From the zstd image, gzip again: another manifest, the same content.
    let back = format!("{}/aluno/gzip:v1", registry.addr);
    casulo_at(&fresh, &config, &["image", "tag", &remote, &back]).assert_ok();
    casulo_at(
        &fresh,
        &config,
        &["push", "--compression-format", "gzip", &back],
    )
    .assert_ok();
    let raw = Output::of(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{back}"),
    ]));
    assert_eq!(
        raw.json()["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let bad = lab(&config, &["push", "--compression-format", "xz", &remote]);
    assert_eq!(bad.code, 125, "{bad}");
    assert!(bad.stderr.contains("zstd ou gzip"), "{bad}");
    // No recompressed blob left in tmp/ (its locks stay).
    let leftovers: Vec<_> = fs::read_dir(fresh.join("tmp"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("recomprimir-"))
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    casulo_at(&fresh, &config, &["gc"]);
    let _ = fs::remove_dir_all(&fresh);
}
