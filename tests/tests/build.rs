//! `casulo build` against the real kernel: a Dockerfile becomes an image that
//! `casulo run` runs and umoci/skopeo read; the cache answers a second
//! build; a changed file invalidates its step and the ones after; a failing
//! RUN, a syntax error or a COPY out of the context fail with `Dockerfile:N`
//! and leave nothing behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use casulo_tests::{trace_cgroup_paths, unique_name, Lab, Output};
use casulo_trace::{read_trace, EventBody};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A fresh context directory with these files (path, content).
fn context(hint: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Lab::shared().dir().join(unique_name(hint));
    fs::create_dir_all(&dir).unwrap();
    for (path, content) in files {
        let p = dir.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    dir
}

/// `casulo build -t TAG [EXTRA...] CONTEXT`.
fn build(ctx: &Path, tag: &str, extra: &[&str]) -> Output {
    let mut args = vec!["build", "-t", tag];
    args.extend_from_slice(extra);
    args.push(s(ctx));
    Lab::shared().casulo(&args)
}

/// The image id printed at the end of a build.
fn image_id(out: &Output) -> String {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("Imagem construída: "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no image id in the output:\n{out}"))
        .to_string()
}

/// The events of the build's trace (its path is printed on stderr).
fn events(out: &Output) -> Vec<EventBody> {
    let path = out
        .trace_path()
        .unwrap_or_else(|| panic!("no trace path:\n{out}"));
    let text = fs::read_to_string(&path).unwrap();
    let trace = read_trace(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(trace.header.container.name, "build");
    trace.events.into_iter().map(|e| e.body).collect()
}

fn cache_hits(ev: &[EventBody]) -> Vec<u32> {
    ev.iter()
        .filter_map(|e| match e {
            EventBody::BuildCacheHit { step, .. } => Some(*step),
            _ => None,
        })
        .collect()
}

fn new_layers(ev: &[EventBody]) -> Vec<u32> {
    ev.iter()
        .filter_map(|e| match e {
            EventBody::BuildLayer { step, .. } => Some(*step),
            _ => None,
        })
        .collect()
}

/// `casulo run --rm --name <unique> TAG [CMD...]` (a unique name: two
/// generated names may collide between parallel tests).
fn run_image(tag: &str, cmd: &[&str]) -> Output {
    let name = unique_name("rodar");
    let mut args = vec!["run", "--rm", "--name", &name, tag];
    args.extend_from_slice(cmd);
    Lab::shared().casulo(&args)
}

fn tagged(tag: &str) -> bool {
    Lab::shared()
        .casulo(&["image", "ls"])
        .assert_ok()
        .stdout
        .contains(tag.split(':').next().unwrap())
}

/// Blob path of the top layer of `tag` in the lab's store.
fn top_layer_blob(tag: &str) -> PathBuf {
    let images = Lab::shared().root().join("images");
    let read = |p: PathBuf| -> serde_json::Value {
        serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
    };
    let blob = |d: &serde_json::Value| {
        images
            .join("blobs/sha256")
            .join(d.as_str().unwrap().strip_prefix("sha256:").unwrap())
    };
    let index = read(images.join("index.json"));
    let desc = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("{tag} not in index.json"))
        .clone();
    let manifest = read(blob(&desc["digest"]));
    let layers = manifest["layers"].as_array().unwrap();
    blob(&layers.last().unwrap()["digest"])
}

#[test]
fn dockerfile_builds_an_image_that_runs_then_the_cache_answers() {
    let marca = unique_name("marca");
    let dockerfile = format!(
        "# comentário\n\
         FROM busybox\n\
         ARG SAUDACAO=oi\n\
         ENV MARCA={marca} \\\n    OUTRA=\"com espaço\"\n\
         WORKDIR /app\n\
         COPY dados.txt ./\n\
         RUN echo \"feito $SAUDACAO\" > run.txt && rm /etc/hostname\n\
         CMD [\"sh\", \"-c\", \"pwd; cat dados.txt run.txt; echo $MARCA $OUTRA; ls /etc/hostname || echo sem-hostname\"]\n"
    );
    let ctx = context(
        "ctx-ok",
        &[("Dockerfile", &dockerfile), ("dados.txt", "versão 1\n")],
    );
    let tag = format!("{}:1.0", unique_name("construida"));

    // Cold: every step runs; COPY (5) and RUN (6) make layers.
    let cold = build(&ctx, &tag, &["--build-arg", "SAUDACAO=ola"]);
    cold.assert_ok();
    assert!(cold.stdout.contains("Passo 6/7 : RUN echo"), "{cold}");
    let ev = events(&cold);
    assert!(cache_hits(&ev).is_empty(), "{ev:?}");
    assert_eq!(new_layers(&ev), [5, 6]);
    assert!(ev
        .iter()
        .any(|e| matches!(e, EventBody::ProcessClone { .. })));
    assert!(matches!(
        ev.last(),
        Some(EventBody::BuildCommit { layers: 3, .. })
    ));
    let id = image_id(&cold);

    // The image runs: files, env, workdir, cmd, and the deleted file is gone.
    let run = run_image(&tag, &[]);
    run.assert_ok();
    for want in [
        "/app",
        "versão 1",
        "feito ola",
        &format!("{marca} com espaço"),
        "sem-hostname",
    ] {
        assert!(run.stdout.contains(want), "missing {want:?}:\n{run}");
    }
    // The RUN layer says "deleted" the OCI way: a whiteout entry.
    let blob = top_layer_blob(&tag);
    let list = Output::of(Command::new("tar").args(["-tzf", s(&blob)]));
    list.assert_ok();
    assert!(
        list.stdout.lines().any(|l| l == "etc/.wh.hostname"),
        "{list}"
    );
    assert!(list.stdout.lines().any(|l| l == "app/run.txt"), "{list}");

    // Warm: every step after FROM from the cache, nothing runs, same image.
    let warm = build(&ctx, &tag, &["--build-arg", "SAUDACAO=ola"]);
    warm.assert_ok();
    let ev = events(&warm);
    assert_eq!(cache_hits(&ev), [2, 3, 4, 5, 6, 7]);
    assert!(new_layers(&ev).is_empty());
    assert!(!ev
        .iter()
        .any(|e| matches!(e, EventBody::ProcessClone { .. })));
    assert_eq!(image_id(&warm), id);

    // A changed copied file: the COPY and everything after it run again.
    fs::write(ctx.join("dados.txt"), "versão 2\n").unwrap();
    let changed = build(&ctx, &tag, &["--build-arg", "SAUDACAO=ola"]);
    changed.assert_ok();
    let ev = events(&changed);
    assert_eq!(cache_hits(&ev), [2, 3, 4]);
    assert_eq!(new_layers(&ev), [5, 6]);
    assert_ne!(image_id(&changed), id);
    let run = run_image(&tag, &[]);
    assert!(run.stdout.contains("versão 2"), "{run}");

    // --no-cache: nothing from the cache.
    let fresh = build(&ctx, &tag, &["--no-cache", "--build-arg", "SAUDACAO=ola"]);
    fresh.assert_ok();
    let ev = events(&fresh);
    assert!(cache_hits(&ev).is_empty());
    assert_eq!(new_layers(&ev), [5, 6]);

    // A different build arg changes the ARG step's key, so the RUN reruns.
    let other = build(&ctx, &tag, &["--build-arg", "SAUDACAO=tchau"]);
    other.assert_ok();
    let ev = events(&other);
    assert_eq!(cache_hits(&ev), [] as [u32; 0]);
    let run = run_image(&tag, &[]);
    assert!(run.stdout.contains("feito tchau"), "{run}");
}

#[test]
fn a_failing_run_fails_the_build_and_leaves_nothing() {
    let lab = Lab::shared();
    let ctx = context(
        "ctx-falha",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo antes > /antes\nRUN echo vai falhar; exit 3\nCMD [\"true\"]\n",
        )],
    );
    let tag = format!("{}:1", unique_name("falha"));
    let out = build(&ctx, &tag, &["--no-cache"]);
    assert_eq!(out.code, 125, "{out}");
    assert!(
        out.stderr
            .contains("Dockerfile:3: RUN terminou com código 3"),
        "{out}"
    );
    assert!(out.stdout.contains("vai falhar"), "{out}");
    assert!(!tagged(&tag), "the tag exists after a failed build");
    // The steps' containers are gone: no record, no name, no mounts, no
    // cgroup. They are named `build-<id8>-passo-N`, id8 from the trace's name.
    let trace = out.trace_path().unwrap();
    let id8 = trace.file_name().unwrap().to_string_lossy()[6..14].to_string();
    let prefix = format!("build-{id8}-passo-");
    let names: Vec<String> = fs::read_dir(lab.root().join("names"))
        .unwrap()
        .flatten()
        .map(|n| n.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    assert!(names.is_empty(), "{names:?}");
    for c in fs::read_dir(lab.root().join("containers"))
        .unwrap()
        .flatten()
    {
        let record = fs::read_to_string(c.path().join("container.json")).unwrap_or_default();
        assert!(!record.contains(&prefix), "{} was left", c.path().display());
    }
    assert!(lab.mounts().is_empty(), "{:?}", lab.mounts());
    let cgroups: Vec<PathBuf> = trace_cgroup_paths(&trace)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.len() == 64))
        .collect();
    assert!(!cgroups.is_empty(), "the RUNs had cgroups");
    for cg in &cgroups {
        assert!(!cg.exists(), "{} was left", cg.display());
    }
    let ev = events(&out);
    assert!(ev
        .iter()
        .any(|e| matches!(e, EventBody::ProcessExit { code: Some(3), .. })));
    assert!(!ev
        .iter()
        .any(|e| matches!(e, EventBody::BuildCommit { .. })));
}

#[test]
fn syntax_errors_say_file_and_line() {
    let lab = Lab::shared();
    let cases: [(&str, &str); 6] = [
        (
            "FROM busybox\n\nRUNN echo\n",
            "Dockerfile:3: instrução desconhecida \"RUNN\"",
        ),
        (
            "# só um comentário\nRUN echo\n",
            "Dockerfile:2: a primeira instrução deve ser FROM",
        ),
        (
            "FROM busybox\nSHELL [\"sh\", \"-c\"\n",
            "Dockerfile:2: JSON inválido em SHELL",
        ),
        (
            "FROM busybox\nCOPY sozinho\n",
            "Dockerfile:2: COPY precisa de pelo menos uma origem e um destino",
        ),
        (
            "FROM busybox\nEXPOSE http\n",
            "Dockerfile:2: EXPOSE: porta inválida \"http\"",
        ),
        (
            "FROM imagem-que-nao-existe\n",
            "Dockerfile:1: imagem não encontrada",
        ),
    ];
    for (text, want) in cases {
        let ctx = context("ctx-sintaxe", &[("Dockerfile", text)]);
        let tag = format!("{}:1", unique_name("sintaxe"));
        let out = build(&ctx, &tag, &[]);
        assert_eq!(out.code, 125, "{out}");
        assert!(out.stderr.contains(want), "want {want:?}:\n{out}");
        assert!(!tagged(&tag));
    }
    // -f: the message names the file as given.
    let ctx = context("ctx-f", &[("outro/Receita", "FROM busybox\nWORKDIR\n")]);
    let file = ctx.join("outro/Receita");
    let out = lab.casulo(&["build", "-f", s(&file), s(&ctx)]);
    assert_eq!(out.code, 125, "{out}");
    assert!(
        out.stderr.contains(&format!(
            "{}:2: WORKDIR precisa de argumentos",
            file.display()
        )),
        "{out}"
    );
}

#[test]
fn copy_never_reads_outside_the_context() {
    let lab = Lab::shared();
    let marker = unique_name("segredo-do-host");
    let outside = context("fora", &[("segredo.txt", &marker)]);
    let secret = outside.join("segredo.txt");
    for (hint, source) in [
        ("pontos", "../segredo.txt"),
        ("abs", "senha"),
        ("rel", "rel"),
    ] {
        let ctx = context(
            &format!("ctx-{hint}"),
            &[("Dockerfile", &format!("FROM busybox\nCOPY {source} /x\n"))],
        );
        std::os::unix::fs::symlink("/etc/shadow", ctx.join("senha")).unwrap();
        std::os::unix::fs::symlink("../segredo.txt", ctx.join("rel")).unwrap();
        // What `../segredo.txt` names, seen from the context.
        fs::copy(&secret, ctx.parent().unwrap().join("segredo.txt")).unwrap();
        let tag = format!("{}:1", unique_name("fuga"));
        let out = build(&ctx, &tag, &["--no-cache"]);
        assert_eq!(out.code, 125, "{source}: {out}");
        assert!(out.stderr.contains("Dockerfile:2: COPY:"), "{out}");
        assert!(
            out.stderr.contains("fora do contexto") || out.stderr.contains("sai do contexto"),
            "{out}"
        );
        assert!(!tagged(&tag));
    }
    // No blob of the store holds the secret (nothing was read into a layer).
    for blob in fs::read_dir(lab.root().join("images/blobs/sha256"))
        .unwrap()
        .flatten()
    {
        let bytes = fs::read(blob.path()).unwrap();
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            Output::of(Command::new("gzip").args(["-dc", s(&blob.path())])).stdout
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        assert!(
            !text.contains(&marker),
            "{} has the secret",
            blob.path().display()
        );
    }
}

#[test]
fn umoci_and_skopeo_read_the_built_image() {
    let lab = Lab::shared();
    let ctx = context(
        "ctx-interop",
        &[
            (
                "Dockerfile",
                "FROM busybox\nLABEL curso=casulo\nEXPOSE 8080\nCOPY app /app\nRUN rm /etc/hostname && ln -s /app/ola /ola\nUSER 65534\nCMD [\"cat\", \"/app/ola\"]\n",
            ),
            ("app/ola", "olá, umoci\n"),
        ],
    );
    let name = unique_name("interop");
    let tag = format!("{name}:1");
    build(&ctx, &tag, &[]).assert_ok();
    let run = run_image(&tag, &[]);
    run.assert_ok();
    assert!(run.stdout.contains("olá, umoci"), "{run}");

    let layout = format!("{}:{tag}", s(&lab.root().join("images")));
    let inspect = Output::of(Command::new("skopeo").args(["inspect", &format!("oci:{layout}")]));
    inspect.assert_ok();
    let v: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    assert_eq!(v["Labels"]["curso"], "casulo", "{v}");
    assert_eq!(v["Layers"].as_array().unwrap().len(), 3, "{v}");
    let config =
        Output::of(Command::new("skopeo").args(["inspect", "--config", &format!("oci:{layout}")]));
    config.assert_ok();
    let c: serde_json::Value = serde_json::from_str(&config.stdout).unwrap();
    assert_eq!(c["config"]["User"], "65534");
    assert!(c["config"]["ExposedPorts"]["8080/tcp"].is_object(), "{c}");
    let history = c["history"].as_array().unwrap();
    assert!(
        history
            .iter()
            .any(|h| h["empty_layer"] == true && h["created_by"] == "USER 65534"),
        "{c}"
    );

    let bundle = lab.dir().join(unique_name("bundle"));
    let unpack = Output::of(Command::new("umoci").args(["unpack", "--image", &layout, s(&bundle)]));
    unpack.assert_ok();
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        fs::read_to_string(rootfs.join("app/ola")).unwrap(),
        "olá, umoci\n"
    );
    assert!(rootfs.join("etc/passwd").exists());
    assert!(
        !rootfs.join("etc/hostname").exists(),
        "the whiteout was not applied"
    );
    assert_eq!(
        fs::read_link(rootfs.join("ola")).unwrap(),
        Path::new("/app/ola")
    );
    fs::remove_dir_all(&bundle).unwrap();
}

#[test]
fn two_builds_at_once_share_the_store_and_agree() {
    let marca = unique_name("paralelo");
    let ctx = context(
        "ctx-paralelo",
        &[
            (
                "Dockerfile",
                &format!("FROM busybox\nENV MARCA={marca}\nCOPY a /a\nRUN cat /a > /b\n"),
            ),
            ("a", &marca),
        ],
    );
    let tags = [
        format!("{}:1", unique_name("par-a")),
        format!("{}:1", unique_name("par-b")),
    ];
    let outs: Vec<Output> = std::thread::scope(|scope| {
        let handles: Vec<_> = tags
            .iter()
            .map(|t| scope.spawn(|| build(&ctx, t, &[])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for out in &outs {
        out.assert_ok();
    }
    // Both ran or raced on the same cache keys; either way the layers are
    // the same bytes (reproducible), so the image is the same.
    assert_eq!(image_id(&outs[0]), image_id(&outs[1]));
    for t in &tags {
        let run = run_image(t, &["cat", "/b"]);
        run.assert_ok();
        assert_eq!(run.stdout.trim(), marca);
    }
}

#[test]
fn add_unpacks_local_tar_archives_with_the_checked_extractor() {
    use casulo_tests::layout::LayerTar;
    let tarball = LayerTar::new()
        .dir("pacote/")
        .file("pacote/leia.txt", b"de dentro do tar\n")
        .finish();
    let ctx = context(
        "ctx-add",
        &[
            (
                "Dockerfile",
                "FROM busybox\nADD pacote.tar /opt/\nADD pacote.tar.gz /gz/\nADD nota.txt /nota.txt\nCOPY pacote.tar /copiado.tar\n",
            ),
            ("nota.txt", "só um arquivo\n"),
        ],
    );
    fs::write(ctx.join("pacote.tar"), &tarball).unwrap();
    fs::write(ctx.join("p.tar"), &tarball).unwrap();
    Output::of(Command::new("gzip").arg(s(&ctx.join("p.tar")))).assert_ok();
    fs::rename(ctx.join("p.tar.gz"), ctx.join("pacote.tar.gz")).unwrap();
    let tag = format!("{}:1", unique_name("add"));
    build(&ctx, &tag, &[]).assert_ok();
    let run = run_image(
        &tag,
        &[
            "sh",
            "-c",
            "cat /opt/pacote/leia.txt /gz/pacote/leia.txt /nota.txt; ls /copiado.tar",
        ],
    );
    run.assert_ok();
    assert_eq!(
        run.stdout, "de dentro do tar\nde dentro do tar\nsó um arquivo\n/copiado.tar\n",
        "{run}"
    );

    // An archive with `../` is refused, naming the step; nothing lands outside.
    let evil = LayerTar::new().file("../../fugiu.txt", b"escapei").finish();
    let ctx = context(
        "ctx-add-mau",
        &[("Dockerfile", "FROM busybox\nADD mau.tar /\n")],
    );
    fs::write(ctx.join("mau.tar"), &evil).unwrap();
    let out = build(&ctx, &format!("{}:1", unique_name("add-mau")), &[]);
    assert_eq!(out.code, 125, "{out}");
    assert!(out.stderr.contains("Dockerfile:2: ADD:"), "{out}");
    assert!(out.stderr.contains("não pôde ser desempacotado"), "{out}");
    let lab = Lab::shared();
    for dir in [
        lab.dir().to_path_buf(),
        lab.root().to_path_buf(),
        lab.root().join("tmp"),
    ] {
        assert!(!dir.join("fugiu.txt").exists(), "{}", dir.display());
    }
    let leftovers: Vec<_> = fs::read_dir(lab.root().join("tmp"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("add-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn dockerignore_hides_files_from_copy_and_from_the_cache_key() {
    let ctx = context(
        "ctx-ignore",
        &[
            ("Dockerfile", "FROM busybox\nCOPY . /ctx/\n"),
            (
                ".dockerignore",
                "# fora da imagem\n*.log\nsegredos\n!segredos/publico.txt\n",
            ),
            ("app.txt", "app\n"),
            ("debug.log", "log 1\n"),
            ("segredos/chave", "não copie\n"),
            ("segredos/publico.txt", "pode\n"),
        ],
    );
    let tag = format!("{}:1", unique_name("ignore"));
    let first = build(&ctx, &tag, &[]);
    first.assert_ok();
    let run = run_image(&tag, &["find", "/ctx"]);
    run.assert_ok();
    let mut found: Vec<&str> = run.stdout.lines().collect();
    found.sort();
    assert_eq!(
        found,
        [
            "/ctx",
            "/ctx/.dockerignore",
            "/ctx/Dockerfile",
            "/ctx/app.txt",
            "/ctx/segredos",
            "/ctx/segredos/publico.txt"
        ]
    );
    // An ignored file changed: the COPY is still a cache hit.
    fs::write(ctx.join("debug.log"), "log 2\n").unwrap();
    let again = build(&ctx, &tag, &[]);
    again.assert_ok();
    assert_eq!(cache_hits(&events(&again)), [2]);
    assert_eq!(image_id(&again), image_id(&first));
    // Asking for an ignored file by name is an error, with the line.
    fs::write(ctx.join("Dockerfile"), "FROM busybox\nCOPY debug.log /\n").unwrap();
    let out = build(&ctx, &tag, &[]);
    assert_eq!(out.code, 125, "{out}");
    assert!(
        out.stderr.contains(
            "Dockerfile:2: COPY: a origem \"debug.log\" está excluída pelo .dockerignore"
        ),
        "{out}"
    );
}

/// Steps (number, stage index, copy_from) of a multi-stage build's trace.
fn stage_steps(ev: &[EventBody]) -> Vec<(u32, Option<u32>, Option<String>)> {
    ev.iter()
        .filter_map(|e| match e {
            EventBody::BuildStep {
                step,
                stage_index,
                copy_from,
                ..
            } => Some((*step, *stage_index, copy_from.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn multi_stage_copies_only_what_it_names_and_target_stops_early() {
    let marca = unique_name("compilado");
    // Stage 0 makes a file and leaves junk; stage 1 (unused by the last)
    // must be skipped; the last copies only the file.
    let dockerfile = format!(
        "ARG BASE=busybox\n\
         FROM $BASE AS construtor\n\
         WORKDIR /src\n\
         COPY fonte.txt .\n\
         RUN cat fonte.txt > /src/programa && echo {marca} >> /src/programa && echo lixo > /src/sobra\n\
         FROM busybox AS inutil\n\
         RUN echo nunca-roda\n\
         FROM ${{BASE}}\n\
         COPY --from=construtor /src/programa /app/programa\n\
         CMD [\"sh\", \"-c\", \"cat /app/programa; ls /src/sobra /app/sobra || echo sem-sobra\"]\n"
    );
    let ctx = context(
        "ctx-estagios",
        &[("Dockerfile", &dockerfile), ("fonte.txt", "fonte v1\n")],
    );
    let tag = format!("{}:1", unique_name("estagios"));

    let cold = build(&ctx, &tag, &["--no-cache"]);
    cold.assert_ok();
    assert!(
        cold.stdout
            .contains("Estágio inutil pulado: o estágio 2 não precisa dele"),
        "{cold}"
    );
    assert!(!cold.stdout.contains("nunca-roda"), "{cold}");
    let ev = events(&cold);
    // Steps are numbered over what runs: 4 of stage 0, 3 of stage 2.
    assert_eq!(
        stage_steps(&ev),
        [
            (1, Some(0), None),
            (2, Some(0), None),
            (3, Some(0), None),
            (4, Some(0), None),
            (5, Some(2), None),
            (6, Some(2), Some("construtor".to_string())),
            (7, Some(2), None),
        ]
    );
    assert_eq!(new_layers(&ev), [3, 4, 6]);
    let bases: Vec<Option<String>> = ev
        .iter()
        .filter_map(|e| match e {
            EventBody::BuildBase { stage, .. } => Some(stage.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(bases, [Some("construtor".into()), Some("2".into())]);
    // The image is the last stage only: busybox + the COPY layer.
    assert!(matches!(
        ev.last(),
        Some(EventBody::BuildCommit { layers: 2, .. })
    ));
    let id = image_id(&cold);
    let run = run_image(&tag, &[]);
    run.assert_ok();
    assert!(run.stdout.contains("fonte v1"), "{run}");
    assert!(run.stdout.contains(&marca), "{run}");
    assert!(run.stdout.contains("sem-sobra"), "{run}");
    let list = Output::of(Command::new("tar").args(["-tzf", s(&top_layer_blob(&tag))]));
    list.assert_ok();
    assert_eq!(
        list.stdout.lines().collect::<Vec<_>>(),
        ["app/", "app/programa"],
        "{list}"
    );
    // History: busybox's, then the last stage's steps (no RUN of stage 0).
    let history = Lab::shared().casulo(&["image", "history", "--no-trunc", &tag]);
    history.assert_ok();
    assert!(!history.stdout.contains("lixo"), "{history}");
    assert!(
        history.stdout.contains("COPY --from=construtor"),
        "{history}"
    );

    // Warm: all from the cache, including the COPY --from; same image.
    let warm = build(&ctx, &tag, &[]);
    warm.assert_ok();
    let ev = events(&warm);
    assert_eq!(cache_hits(&ev), [2, 3, 4, 6, 7]);
    assert!(new_layers(&ev).is_empty());
    assert_eq!(image_id(&warm), id);

    // A change in stage 0's input: its RUN and the COPY --from run again.
    fs::write(ctx.join("fonte.txt"), "fonte v2\n").unwrap();
    let changed = build(&ctx, &tag, &[]);
    changed.assert_ok();
    let ev = events(&changed);
    assert_eq!(new_layers(&ev), [3, 4, 6]);
    assert!(run_image(&tag, &[]).stdout.contains("fonte v2"));

    // --target: only the first stage, which has the junk.
    let first = format!("{}:1", unique_name("alvo"));
    let out = build(&ctx, &first, &["--target", "construtor"]);
    out.assert_ok();
    assert!(
        out.stdout
            .contains("Estágios inutil, 2 pulados: o estágio construtor não precisa deles"),
        "{out}"
    );
    let ev = events(&out);
    assert_eq!(stage_steps(&ev).len(), 4);
    let run = run_image(&first, &["ls", "/src"]);
    run.assert_ok();
    assert!(run.stdout.contains("sobra"), "{run}");
    let bad = build(&ctx, &first, &["--target", "nenhum"]);
    assert_eq!(bad.code, 125, "{bad}");
    assert!(
        bad.stderr.contains("--target \"nenhum\": não há estágio"),
        "{bad}"
    );
}

#[test]
fn multi_stage_errors_say_file_and_line_and_copy_from_stays_inside() {
    let cases: [(&str, &str); 5] = [
        (
            "FROM busybox AS a\nFROM busybox AS A\n",
            "Dockerfile:2: o nome de estágio \"a\" já foi usado na linha 1",
        ),
        (
            "FROM busybox AS a\nCOPY --from=a /bin/sh /x\n",
            "Dockerfile:2: COPY --from=a: o estágio 0 (a) não pode copiar de si mesmo",
        ),
        (
            "FROM busybox\nCOPY --from=depois /x /x\nFROM busybox AS depois\n",
            "Dockerfile:2: COPY --from=depois: o estágio 1 (depois) vem depois deste",
        ),
        (
            "FROM busybox\nCOPY --from=nao-existe-nem-imagem /x /x\n",
            "Dockerfile:2: COPY --from=nao-existe-nem-imagem: não é um estágio anterior",
        ),
        (
            "FROM busybox AS a\nRUN mkdir -p /a && ln -s ../../../../etc/passwd /a/senha\nFROM busybox\nCOPY --from=a /a/senha /x\n",
            "Dockerfile:4: COPY: a origem \"/a/senha\" aponta para fora do estágio a",
        ),
    ];
    let mut ids = Vec::new();
    for (text, want) in cases {
        let ctx = context("ctx-estagio-erro", &[("Dockerfile", text)]);
        let tag = format!("{}:1", unique_name("estagio-erro"));
        let out = build(&ctx, &tag, &[]);
        assert_eq!(out.code, 125, "{out}");
        assert!(out.stderr.contains(want), "want {want:?}:\n{out}");
        assert!(!tagged(&tag));
        if let Some(trace) = out.trace_path() {
            ids.push(trace.file_name().unwrap().to_string_lossy()[6..14].to_string());
        }
    }
    // Nothing of the merged stage filesystems of these builds is left
    // (they are named `copy-from-<id8>-<line>`, id8 from the trace's name).
    assert!(!ids.is_empty());
    let left: Vec<String> = fs::read_dir(Lab::shared().root().join("tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            ids.iter()
                .any(|id| n.starts_with(&format!("copy-from-{id}-")))
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn copy_from_an_image_of_the_store() {
    let ctx = context(
        "ctx-from-imagem",
        &[(
            "Dockerfile",
            "FROM scratch\nCOPY --from=busybox /bin/busybox /busybox\n",
        )],
    );
    let tag = format!("{}:1", unique_name("from-imagem"));
    let out = build(&ctx, &tag, &[]);
    out.assert_ok();
    let ev = events(&out);
    assert_eq!(stage_steps(&ev)[1].2.as_deref(), Some("busybox"));
    let list = Output::of(Command::new("tar").args(["-tzf", s(&top_layer_blob(&tag))]));
    assert_eq!(
        list.stdout.lines().collect::<Vec<_>>(),
        ["busybox"],
        "{list}"
    );
}

#[test]
fn from_an_earlier_stage_keeps_its_layers_and_busybox_as_busybox_is_the_image() {
    let ctx = context(
        "ctx-from-estagio",
        &[(
            "Dockerfile",
            "FROM busybox AS busybox\nRUN echo base > /base.txt\nFROM busybox AS filho\nRUN cat /base.txt > /filho.txt\nCMD [\"cat\", \"/filho.txt\"]\n",
        )],
    );
    let tag = format!("{}:1", unique_name("from-estagio"));
    let out = build(&ctx, &tag, &[]);
    out.assert_ok();
    let ev = events(&out);
    // Stage 0's FROM is the busybox image; stage 1 starts from stage 0.
    let bases: Vec<(Option<String>, usize)> = ev
        .iter()
        .filter_map(|e| match e {
            EventBody::BuildBase {
                from_stage,
                diff_ids,
                ..
            } => Some((from_stage.clone(), diff_ids.len())),
            _ => None,
        })
        .collect();
    assert_eq!(bases, [(None, 1), (Some("busybox".into()), 2)]);
    assert!(matches!(
        ev.last(),
        Some(EventBody::BuildCommit { layers: 3, .. })
    ));
    let run = run_image(&tag, &[]);
    run.assert_ok();
    assert_eq!(run.stdout.trim(), "base");
}

/// Issue 12: one layer, one name. `build`, `image history` and the trace
/// name a layer by its diff_id (`image inspect` has both digests), and each
/// size says what it measures (compressed blob, uncompressed tar, content).
#[test]
fn a_layer_has_the_same_id_everywhere_and_labelled_sizes() {
    let lab = Lab::shared();
    let ctx = context(
        "ids",
        &[
            ("Dockerfile", "FROM busybox\nCOPY oi.txt /oi.txt\n"),
            ("oi.txt", "olá, uma camada só com este texto\n"),
        ],
    );
    let tag = format!("{}:1", unique_name("ids"));
    let out = build(&ctx, &tag, &[]);
    out.assert_ok();
    let printed = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(" ---> camada "))
        .unwrap_or_else(|| panic!("a camada do COPY:\n{out}"))
        .to_string();
    assert!(printed.ends_with(" (diff_id)"), "{out}");
    let short = printed.trim_end_matches(" (diff_id)");
    let diff_id = events(&out)
        .iter()
        .find_map(|e| match e {
            EventBody::BuildLayer { diff_id, .. } => Some(diff_id.clone()),
            _ => None,
        })
        .expect("build.layer");
    assert!(diff_id.starts_with(short), "{short} vs {diff_id}");

    let history = lab.casulo(&["image", "history", &tag]);
    history.assert_ok();
    assert!(
        history.stdout.starts_with("CAMADA (diff_id)") && history.stdout.contains("COMPRIMIDA"),
        "{history}"
    );
    let top = history.stdout.lines().nth(1).unwrap();
    assert!(top.starts_with(short), "o mesmo id do build:\n{history}");

    let inspect = lab.casulo(&["image", "inspect", &tag]).json();
    let layer = &inspect[0]["Layers"][1];
    assert_eq!(layer["diff_id"], diff_id.as_str());
    assert!(layer["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_ne!(layer["digest"], layer["diff_id"]);

    // The narration says what each size measures.
    let shown = lab.casulo(&["trace", "show", out.trace_path().unwrap().to_str().unwrap()]);
    assert!(shown.stdout.contains("tar descomprimido de"), "{shown}");
    let ls = lab.casulo(&["image", "ls"]);
    assert!(
        ls.stdout.lines().next().unwrap().ends_with("COMPRIMIDA"),
        "{ls}"
    );
    lab.casulo(&["image", "rm", &tag]).assert_ok();
}

/// Two `RUN`s that change nothing make the same empty layer twice: the
/// image still runs (overlayfs would refuse one directory twice, ELOOP).
#[test]
fn an_empty_layer_twice_still_runs() {
    let ctx = context(
        "vazias",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN true\nRUN true\nRUN echo oi > /oi.txt\nRUN true\n",
        )],
    );
    let tag = format!("{}:1", unique_name("vazias"));
    build(&ctx, &tag, &[]).assert_ok();
    let out = run_image(&tag, &["cat", "/oi.txt"]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "oi", "{out}");
}

/// The blobs of `root`'s store not in `seen` (added to it) whose
/// (gunzipped) bytes contain `needle`.
fn blobs_with(root: &Path, seen: &mut std::collections::BTreeSet<PathBuf>, needle: &str) -> usize {
    let Ok(entries) = fs::read_dir(root.join("images/blobs/sha256")) else {
        return 0;
    };
    let mut found = 0;
    for blob in entries.flatten() {
        if !seen.insert(blob.path()) {
            continue;
        }
        let bytes = fs::read(blob.path()).unwrap();
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            Output::of(Command::new("gzip").args(["-dc", s(&blob.path())])).stdout
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        if text.contains(needle) {
            found += 1;
        }
    }
    found
}

/// CVE-2018-15664's class: while `casulo build` copies a directory, a
/// helper thread keeps swapping it for a symlink to a host directory (same
/// file names, same sizes, plus a marker). A walk that checks a path and
/// then reopens it by name follows the swapped symlink and puts host files
/// in the layer (and in the cache). The walk must hold what it checked
/// (directory fds, files read from the fd that was hashed): no host byte
/// may ever reach a blob. A build may fail (a file vanished mid-walk);
/// it may never succeed with host content.
#[test]
fn copy_racing_a_symlink_swap_never_reads_host_files() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let lab = Lab::shared();
    let base = lab.dir().join(unique_name("corrida"));
    let root = base.join("state");
    let host = base.join("host");
    let ctx = base.join("ctx");
    let files = 150;
    fs::create_dir_all(&host).unwrap();
    fs::create_dir_all(ctx.join("src/d")).unwrap();
    for i in 0..files {
        // Same names and sizes on both sides: a reopen by name succeeds.
        fs::write(
            host.join(format!("f{i:03}")),
            format!("MARCADOR-HOST-{i:03}\n"),
        )
        .unwrap();
        fs::write(
            ctx.join(format!("src/d/f{i:03}")),
            format!("conteudo-ctx--{i:03}\n"),
        )
        .unwrap();
    }
    let mut dockerfile = String::from("FROM scratch\n");
    for n in 0..12 {
        dockerfile.push_str(&format!("COPY src /c{n}/\n"));
    }
    fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    // `src/d` (the directory) and `src/outro` (a symlink to the host
    // directory) trade places atomically, again and again: both names
    // always exist, one of them is the host.
    std::os::unix::fs::symlink(&host, ctx.join("src/outro")).unwrap();
    let swapper = {
        let stop = stop.clone();
        let d = std::ffi::CString::new(s(&ctx.join("src/d"))).unwrap();
        let other = std::ffi::CString::new(s(&ctx.join("src/outro"))).unwrap();
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: two valid NUL-terminated paths.
                let rc = unsafe {
                    libc::renameat2(
                        libc::AT_FDCWD,
                        d.as_ptr(),
                        libc::AT_FDCWD,
                        other.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
                assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
                swaps += 1;
            }
            swaps
        })
    };
    let builds = 8;
    let (mut ok, mut poisoned, mut leaked) = (0, 0, 0);
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..builds {
        let out = Output::of(
            Command::new(casulo_tests::casulo_bin())
                .arg("--root")
                .arg(&root)
                .args([
                    "build",
                    "--no-cache",
                    "-t",
                    &format!("corrida:{i}"),
                    s(&ctx),
                ]),
        );
        if out.success() {
            ok += 1;
        } else if std::env::var_os("CORRIDA_VERBOSA").is_some() {
            eprintln!("{}", out.stderr.lines().last().unwrap_or_default());
        }
        let new = blobs_with(&root, &mut seen, "MARCADOR-HOST");
        if new > 0 {
            poisoned += 1;
            leaked += new;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().unwrap();
    eprintln!(
        "corrida: {builds} builds ({ok} ok), {swaps} trocas, \
         {poisoned} builds puseram bytes do host no armazém"
    );
    fs::remove_dir_all(&base).unwrap();
    assert_eq!(leaked, 0, "{leaked} blobs do armazém têm bytes do host");
}

/// A host directory outside every context, with these files.
fn host_dir(hint: &str, files: &[(&str, &str)]) -> PathBuf {
    context(hint, files)
}

/// `COPY --chown=nome` looks the name up in the image's /etc/passwd. An
/// image whose `/etc` is a symlink to an absolute path means *its own*
/// path: the host's file of that name (here a fake passwd with `fulano`)
/// must never answer.
#[test]
fn chown_names_come_from_the_image_never_through_a_host_symlink() {
    let host = host_dir(
        "passwd-do-host",
        &[
            ("passwd", "fulano:x:4242:4242::/:/bin/sh\n"),
            ("group", "fulano:x:4242:\n"),
        ],
    );
    let ctx = context(
        "chown-etc-link",
        &[
            (
                "Dockerfile",
                "FROM scratch\nCOPY raiz/ /\nCOPY --chown=fulano a.txt /a.txt\n",
            ),
            ("a.txt", "a\n"),
            ("raiz/.keep", ""),
        ],
    );
    std::os::unix::fs::symlink(&host, ctx.join("raiz/etc")).unwrap();
    let tag = format!("{}:1", unique_name("chown-link"));
    let out = build(&ctx, &tag, &["--no-cache"]);
    assert_eq!(out.code, 125, "{out}");
    assert!(out.stderr.contains("Dockerfile:3:"), "{out}");
    assert!(out.stderr.contains("--chown=fulano"), "{out}");
    assert!(!tagged(&tag));
    // The same file *inside* the image answers (a relative link stays in it).
    fs::remove_file(ctx.join("raiz/etc")).unwrap();
    fs::create_dir_all(ctx.join("raiz/srv")).unwrap();
    fs::copy(host.join("passwd"), ctx.join("raiz/srv/passwd")).unwrap();
    fs::copy(host.join("group"), ctx.join("raiz/srv/group")).unwrap();
    std::os::unix::fs::symlink("srv", ctx.join("raiz/etc")).unwrap();
    build(&ctx, &tag, &["--no-cache"]).assert_ok();
}

/// The Dockerfile and the .dockerignore are read through the context: a
/// symlink that leaves it is refused (it would read any host file).
#[test]
fn dockerfile_and_dockerignore_symlinks_stay_in_the_context() {
    let host = host_dir(
        "df-do-host",
        &[
            ("Dockerfile", "FROM scratch\nCOPY a.txt /\n"),
            ("ignorar", "a.txt\n"),
        ],
    );
    for (name, target) in [("Dockerfile", "Dockerfile"), (".dockerignore", "ignorar")] {
        let ctx = context(
            "df-link",
            &[
                ("Dockerfile", "FROM scratch\nCOPY a.txt /\n"),
                ("a.txt", "a\n"),
            ],
        );
        let _ = fs::remove_file(ctx.join(name));
        std::os::unix::fs::symlink(host.join(target), ctx.join(name)).unwrap();
        let tag = format!("{}:1", unique_name("df-link"));
        let out = build(&ctx, &tag, &["--no-cache"]);
        assert_eq!(out.code, 125, "{name}: {out}");
        assert!(
            out.stderr.contains(name) && out.stderr.contains("fora do contexto"),
            "{name}: {out}"
        );
        assert!(!tagged(&tag));
        if name == "Dockerfile" {
            // Named with -f inside the context: read through it all the same.
            let f = ctx.join("Dockerfile");
            let out = build(&ctx, &tag, &["--no-cache", "-f", s(&f)]);
            assert_eq!(out.code, 125, "-f: {out}");
            assert!(out.stderr.contains("fora do contexto"), "-f: {out}");
        }
    }
    // A symlink that stays inside is fine (docker follows it too).
    let ctx = context(
        "df-link-dentro",
        &[
            ("sub/Dockerfile.real", "FROM scratch\nCOPY a.txt /\n"),
            ("a.txt", "a\n"),
        ],
    );
    std::os::unix::fs::symlink("sub/Dockerfile.real", ctx.join("Dockerfile")).unwrap();
    build(&ctx, &format!("{}:1", unique_name("df-dentro")), &[]).assert_ok();
}

/// A Dockerfile past 16 MiB (BuildKit's limit) is refused before it is
/// parsed, naming the file and the limit, with or without `-f`.
#[test]
fn a_huge_dockerfile_is_refused() {
    // 17 MiB of comments: refused before parsing, naming file and limit.
    let mut huge = String::from("FROM scratch\n");
    let line = format!("# {}\n", "x".repeat(1020));
    while huge.len() < 17 << 20 {
        huge.push_str(&line);
    }
    let ctx = context("df-enorme", &[("Dockerfile", &huge)]);
    let other = host_dir("df-enorme-fora", &[("Dockerfile", &huge)]);
    for extra in [vec![], vec!["-f", s(&other.join("Dockerfile"))]] {
        let tag = format!("{}:1", unique_name("df-enorme"));
        let out = build(&ctx, &tag, &extra);
        assert_eq!(out.code, 125, "{out}");
        assert!(
            out.stderr.contains("Dockerfile") && out.stderr.contains("limite de 16 MiB"),
            "{out}"
        );
        assert!(!tagged(&tag));
    }
}

/// `casulo diff` compares the upper dir with the image's layers. An image
/// whose `/dados` is a symlink to a host path, replaced in the container by
/// a real directory: the diff must describe the image, never list the
/// host directory the symlink names on the host.
#[test]
fn diff_never_follows_an_image_symlink_on_the_host() {
    let lab = Lab::shared();
    let host = host_dir(
        "diff-host",
        &[("MARCADOR-DIFF-HOST", "x"), ("novo", "do host")],
    );
    let ctx = context(
        "diff-link",
        &[
            ("Dockerfile", "FROM busybox\nCOPY raiz/ /\n"),
            ("raiz/.keep", ""),
        ],
    );
    std::os::unix::fs::symlink(&host, ctx.join("raiz/dados")).unwrap();
    let tag = format!("{}:1", unique_name("diff-link"));
    build(&ctx, &tag, &[]).assert_ok();
    let name = unique_name("diff-link");
    lab.casulo(&[
        "run",
        "--name",
        &name,
        &tag,
        "sh",
        "-c",
        "rm /dados && mkdir /dados && echo x > /dados/novo",
    ])
    .assert_ok();
    let out = lab.casulo(&["diff", &name]);
    out.assert_ok();
    assert!(!out.stdout.contains("MARCADOR"), "{out}");
    for line in ["C /dados", "A /dados/novo"] {
        assert!(out.stdout.lines().any(|l| l == line), "{line}: {out}");
    }
    lab.casulo(&["rm", &name]).assert_ok();
}

/// Dockerfiles as people write them (#18): what docker accepts, built and
/// run for real — comments and blank lines inside a continuation, `#
/// syntax=` (a note), a CMD that is not JSON (shell form, and a note),
/// `--chmod`, `--link`, the owner of the directories a `COPY --chown`
/// creates, ENV order, FROM `--platform` of this machine, HEALTHCHECK in
/// the config, and ONBUILD run by the build that uses the image.
#[test]
fn dockerfiles_as_people_write_them_build_as_docker_builds_them() {
    let lab = Lab::shared();
    let ctx = context(
        "ctx-fiel",
        &[
            ("a.txt", "olá\n"),
            (
                "Dockerfile",
                "# syntax=docker/dockerfile:1\n\
                 FROM --platform=$BUILDPLATFORM busybox\n\
                 ENV A=1 B=2\n\
                 RUN echo um \\\n\
                 # um comentário no meio\n\
                 \n\
                 \x20   && echo dois > /r.txt\n\
                 COPY --chown=1000:1001 --chmod=0750 a.txt /novo/dir/a.txt\n\
                 COPY --link a.txt /b.txt\n\
                 ENV A=10\n\
                 HEALTHCHECK --interval=30s --retries=2 CMD cat /r.txt\n\
                 ONBUILD RUN echo gatilho > /gatilho\n\
                 CMD [echo, nao-e-json]\n",
            ),
        ],
    );
    let tag = format!("{}:1", unique_name("fiel"));
    let out = build(&ctx, &tag, &[]);
    out.assert_ok();
    assert!(
        out.stderr
            .contains("Dockerfile:1: # syntax=docker/dockerfile:1 ignorado"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("Dockerfile:13: CMD começa com [ mas não é uma lista JSON"),
        "{out}"
    );
    let config = &lab.casulo(&["image", "inspect", &tag]).json()[0]["Config"];
    let env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(&env[1..], ["A=10", "B=2"], "A stays where it was: {config}");
    assert_eq!(
        config["Cmd"],
        serde_json::json!(["/bin/sh", "-c", "[echo, nao-e-json]"])
    );
    assert_eq!(
        config["Healthcheck"],
        serde_json::json!({"Test": ["CMD-SHELL", "cat /r.txt"], "Interval": 30_000_000_000u64, "Retries": 2})
    );
    assert_eq!(
        config["OnBuild"],
        serde_json::json!(["RUN echo gatilho > /gatilho"])
    );
    let run = lab.casulo(&[
        "run",
        "--rm",
        &tag,
        "sh",
        "-c",
        "cat /r.txt; stat -c '%n %a %u:%g' /novo /novo/dir /novo/dir/a.txt /b.txt",
    ]);
    run.assert_ok();
    assert_eq!(
        run.stdout,
        "dois\n/novo 755 1000:1001\n/novo/dir 755 1000:1001\n/novo/dir/a.txt 750 1000:1001\n/b.txt 644 0:0\n",
        "{run}"
    );

    // A build FROM it runs the trigger right after its FROM, and the new
    // image does not pass it on.
    let child = context(
        "ctx-fiel-filho",
        &[("Dockerfile", &format!("FROM {tag}\nRUN cat /gatilho\n"))],
    );
    let child_tag = format!("{}:1", unique_name("fiel-filho"));
    let out = build(&child, &child_tag, &[]);
    out.assert_ok();
    assert!(out.stdout.contains("Passo 2/3 : RUN echo gatilho"), "{out}");
    assert!(out.stdout.contains("gatilho\n"), "{out}");
    let config = &lab.casulo(&["image", "inspect", &child_tag]).json()[0]["Config"];
    assert!(config.get("OnBuild").is_none(), "{config}");
    lab.casulo(&["image", "rm", &child_tag, &tag]).assert_ok();
}

/// Here-documents (BuildKit's, which buildah 1.28 lacks): a RUN that is
/// only a document runs it as a script; one in a command goes back to the
/// shell (`<<-`, quoted delimiter: no expansion); `COPY <<EOF` makes a
/// file (unquoted: `$VAR` expanded by the build), `--chmod` included; the
/// cache follows the documents' contents.
#[test]
fn here_documents_run_and_copy_as_buildkit_does() {
    let lab = Lab::shared();
    let dockerfile = "FROM busybox\n\
        ARG NOME=mundo\n\
        RUN <<EOF\n\
        echo \"um $NOME\" > /um\n\
        echo dois >> /um\n\
        EOF\n\
        RUN cat <<-'FIM' > /dois\n\
        \tsem $NOME aqui\n\
        \tFIM\n\
        COPY <<EOF /etc/ola.txt\n\
        olá, $NOME \"aspas\" \\barra\n\
        EOF\n\
        COPY --chmod=0755 <<'SCRIPT' /usr/local/bin/oi\n\
        #!/bin/sh\n\
        echo oi $1\n\
        SCRIPT\n\
        CMD [\"oi\", \"você\"]\n";
    let ctx = context("ctx-heredoc", &[("Dockerfile", dockerfile)]);
    let tag = format!("{}:1", unique_name("heredoc"));
    build(&ctx, &tag, &[]).assert_ok();
    let run = lab.casulo(&["run", "--rm", &tag]);
    assert_eq!(run.stdout, "oi você\n", "{run}");
    let run = lab.casulo(&[
        "run",
        "--rm",
        &tag,
        "sh",
        "-c",
        "cat /um /dois /etc/ola.txt; stat -c '%a' /usr/local/bin/oi",
    ]);
    assert_eq!(
        run.stdout, "um mundo\ndois\nsem $NOME aqui\nolá, mundo \"aspas\" \\barra\n755\n",
        "{run}"
    );
    // Another document, another key: that RUN runs again.
    fs::write(
        ctx.join("Dockerfile"),
        dockerfile.replace("echo dois", "echo três"),
    )
    .unwrap();
    let again = build(&ctx, &tag, &[]);
    again.assert_ok();
    assert_eq!(cache_hits(&events(&again)), vec![2], "{again}");
    assert!(
        fs::read_dir(lab.root().join("tmp")).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("heredoc-")),
        "o diretório dos here-documents sobrou"
    );
    lab.casulo(&["image", "rm", &tag]).assert_ok();
}

/// `RUN --mount=type=cache`: a directory kept beside the image between
/// builds of the context, never in a layer (nor its mount point);
/// `type=tmpfs` too; `--network=default` puts the step on the bridge (by
/// default a step has only `lo`); other types and networks are refused.
#[test]
fn run_mounts_keep_a_cache_outside_the_layers_and_network_is_asked_for() {
    let lab = Lab::shared();
    let ctx = context(
        "ctx-cache-mount",
        &[(
            "Dockerfile",
            "FROM busybox\n\
             RUN --mount=type=cache,target=/var/cache/app,sharing=locked \
                 --mount=type=tmpfs,target=/rascunho \
                 echo rodada >> /var/cache/app/rodadas && echo x > /rascunho/x && \
                 wc -l < /var/cache/app/rodadas > /rodadas-vistas\n\
             RUN --network=default ip -4 addr show eth0 | grep -o 'inet 10\\.88\\.[0-9.]*' > /rede\n\
             RUN ip -o link | cut -d: -f2 | tr -d ' ' > /sem-rede\n",
        )],
    );
    let tag = format!("{}:1", unique_name("cache-mount"));
    build(&ctx, &tag, &[]).assert_ok();
    build(&ctx, &tag, &["--no-cache"]).assert_ok();
    let run = lab.casulo(&[
        "run",
        "--rm",
        &tag,
        "sh",
        "-c",
        "cat /rodadas-vistas /sem-rede; grep -c inet /rede; ls -d /var/cache/app /rascunho 2>&1",
    ]);
    assert_eq!(
        run.stdout,
        "2\nlo\n1\nls: /var/cache/app: No such file or directory\nls: /rascunho: No such file or directory\n",
        "the second build saw the first's cache; none of it is in the image:\n{run}"
    );
    let bad = context(
        "ctx-cache-mount-ruim",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN --mount=type=secret,id=x cat /run/secrets/x\n",
        )],
    );
    let out = build(&bad, &format!("{}:1", unique_name("ruim")), &[]);
    assert!(
        !out.success()
            && out.stderr.contains(
                "Dockerfile:2: RUN --mount=type=secret,id=x: type=secret ainda não é suportado"
            ),
        "{out}"
    );
    lab.casulo(&["image", "rm", &tag]).assert_ok();
}

/// A tiny HTTP/1.0 server on loopback for `ADD URL`: the files given, 404
/// for the rest; the port it listens on.
fn http_server(files: Vec<(&'static str, Vec<u8>)>) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            // The headers, up to the blank line.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = line.split(' ').nth(1).unwrap_or("");
            let mut out = &stream;
            match files.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => {
                    let _ = write!(
                        out,
                        "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = out.write_all(body);
                }
                None => {
                    let _ = out.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                }
            }
        }
    });
    port
}

/// `ADD URL`: downloaded at build time, named after the URL, mode 0600,
/// an archive not unpacked; `--checksum` pins the content (a mismatch is
/// refused and nothing is built); a 404 is said with the URL.
#[test]
fn add_downloads_a_url_and_checksum_pins_it() {
    let lab = Lab::shared();
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(3);
    header.set_mode(0o644);
    header.set_cksum();
    archive
        .append_data(&mut header, "dentro.txt", &b"oi\n"[..])
        .unwrap();
    let archive = archive.into_inner().unwrap();
    let port = http_server(vec![
        ("/dados/arquivo.txt", b"baixado\n".to_vec()),
        ("/pacote.tar", archive.clone()),
    ]);
    let sum = casulo_tests::layout::sha256(b"baixado\n");
    let ctx = context(
        "ctx-add-url",
        &[(
            "Dockerfile",
            &format!(
                "FROM busybox\n\
                 ADD --checksum={sum} http://127.0.0.1:{port}/dados/arquivo.txt /baixados/\n\
                 ADD http://127.0.0.1:{port}/pacote.tar /pacote/\n"
            ),
        )],
    );
    let tag = format!("{}:1", unique_name("add-url"));
    let built = build(&ctx, &tag, &[]);
    built.assert_ok();
    // Each download is in the trace, after its step, with what arrived.
    let downloads: Vec<(u32, String, u64, String, bool)> = events(&built)
        .into_iter()
        .filter_map(|e| match e {
            EventBody::BuildDownload {
                step,
                file,
                bytes,
                digest,
                pinned,
                ..
            } => Some((step, file, bytes, digest, pinned)),
            _ => None,
        })
        .collect();
    assert_eq!(
        downloads,
        [
            (2, "arquivo.txt".to_string(), 8, sum.clone(), true),
            (
                3,
                "pacote.tar".to_string(),
                archive.len() as u64,
                casulo_tests::layout::sha256(&archive),
                false
            )
        ],
        "{built}"
    );
    let run = lab.casulo(&[
        "run",
        "--rm",
        &tag,
        "sh",
        "-c",
        "stat -c '%n %a %u' /baixados/arquivo.txt /pacote/pacote.tar; cat /baixados/arquivo.txt",
    ]);
    assert_eq!(
        run.stdout, "/baixados/arquivo.txt 600 0\n/pacote/pacote.tar 600 0\nbaixado\n",
        "{run}"
    );
    lab.casulo(&["image", "rm", &tag]).assert_ok();

    let wrong = casulo_tests::layout::sha256(b"outro");
    for (dockerfile, says) in [
        (
            format!("FROM busybox\nADD --checksum={wrong} http://127.0.0.1:{port}/dados/arquivo.txt /x\n"),
            format!("Dockerfile:2: ADD: http://127.0.0.1:{port}/dados/arquivo.txt: o arquivo baixado tem {sum}, mas o --checksum pede {wrong}"),
        ),
        (
            format!("FROM busybox\nADD http://127.0.0.1:{port}/nao-tem /x\n"),
            format!("não consegui baixar http://127.0.0.1:{port}/nao-tem"),
        ),
    ] {
        let ctx = context("ctx-add-url-ruim", &[("Dockerfile", &dockerfile)]);
        let tag = format!("{}:1", unique_name("add-url-ruim"));
        let out = build(&ctx, &tag, &[]);
        assert!(!out.success() && out.stderr.contains(&says), "{says}\n{out}");
        assert!(!lab.casulo(&["image", "inspect", &tag]).success());
    }
    assert!(
        fs::read_dir(lab.root().join("tmp")).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("add-url-")),
        "o diretório dos downloads sobrou"
    );
}

/// docker's predefined proxy ARGs: a RUN sees `--build-arg HTTP_PROXY`
/// without an ARG, no "not used" warning, and it stays out of the history.
#[test]
fn proxy_build_args_reach_run_without_an_arg() {
    let lab = Lab::shared();
    let ctx = context(
        "ctx-proxy",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo \"[$HTTP_PROXY][$no_proxy]\" > /proxy\n",
        )],
    );
    let tag = format!("{}:1", unique_name("proxy"));
    let out = build(
        &ctx,
        &tag,
        &[
            "--build-arg",
            "HTTP_PROXY=http://proxy.escola:3128",
            "--build-arg",
            "no_proxy=localhost",
        ],
    );
    out.assert_ok();
    assert!(!out.stderr.contains("não foi usado"), "{out}");
    let run = lab.casulo(&["run", "--rm", &tag, "cat", "/proxy"]);
    assert_eq!(
        run.stdout, "[http://proxy.escola:3128][localhost]\n",
        "{run}"
    );
    let history = lab.casulo(&["image", "history", "--no-trunc", &tag]);
    assert!(!history.stdout.contains("proxy.escola"), "{history}");
    lab.casulo(&["image", "rm", &tag]).assert_ok();
}

/// The hashes of the context's files remembered between builds
/// (`build-cache/files-<dev>-<ino>.json`, keyed by the file's dev:ino).
fn remembered(ctx: &Path) -> serde_json::Value {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(ctx).unwrap();
    let path = Lab::shared().root().join("build-cache").join(format!(
        "files-{}-{}.json",
        meta.dev(),
        meta.ino()
    ));
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["files"].clone(),
        Err(_) => serde_json::Value::Null,
    }
}

fn inode(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(path).unwrap();
    format!("{}:{}", meta.dev(), meta.ino())
}

#[test]
fn a_file_changed_with_its_size_and_mtime_kept_still_misses_the_cache() {
    let ctx = context(
        "ctx-stat",
        &[
            (
                "Dockerfile",
                "FROM busybox\nCOPY dados.txt /\nCMD [\"cat\", \"/dados.txt\"]\n",
            ),
            ("dados.txt", "versão 1\n"),
        ],
    );
    let file = ctx.join("dados.txt");
    let tag = format!("{}:1", unique_name("stat"));

    // A file is remembered once it is older than the racy margin (1 s;
    // a just-written one is not: the unit test of `file_hashes`), and the
    // next build answers from what is remembered.
    build(&ctx, &tag, &[]).assert_ok();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    build(&ctx, &tag, &[]).assert_ok();
    let known = remembered(&ctx)[inode(&file)].clone();
    assert!(
        known["hash"].as_str().is_some_and(|h| h.starts_with("10:")),
        "{known}"
    );
    let warm = build(&ctx, &tag, &[]);
    warm.assert_ok();
    assert_eq!(cache_hits(&events(&warm)), [2, 3]);

    // Same size, other bytes, mtime put back exactly (`touch -d`): only
    // ctime tells, and the COPY runs again.
    let mtime = {
        use std::os::unix::fs::MetadataExt;
        let m = fs::metadata(&file).unwrap();
        format!("@{}.{:09}", m.mtime(), m.mtime_nsec())
    };
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&file, "versão 9\n").unwrap();
    Output::of(Command::new("touch").args(["-m", "-d", &mtime, s(&file)])).assert_ok();
    let m = fs::metadata(&file).unwrap();
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(format!("@{}.{:09}", m.mtime(), m.mtime_nsec()), mtime);
    }
    assert_eq!(m.len(), 10);
    let changed = build(&ctx, &tag, &[]);
    changed.assert_ok();
    let ev = events(&changed);
    assert_eq!(cache_hits(&ev), [] as [u32; 0]);
    assert_eq!(new_layers(&ev), [2]);
    let run = run_image(&tag, &[]);
    assert!(run.stdout.contains("versão 9"), "{run}");
}
