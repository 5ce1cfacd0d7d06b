//! The first corpus of each target, made from the project's own files:
//! the repository's Dockerfiles, the course's recorded traces and the
//! trace crate's sample of every kind, image JSON written by the engine's
//! own types, and layer tars (well-formed and hostile) built here.
//! `cargo xtask fuzz` writes them (bin `semear`) when a corpus folder is
//! empty; libFuzzer then grows and minimises the corpus.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use casulo::image::archive::DockerManifestEntry;
use casulo::image::oci::{self, Descriptor, Index, Manifest, OciLayout};

/// (file name, contents) of the seeds of `target`; `root` is the workspace.
pub fn seeds(target: &str, root: &Path) -> Vec<(String, Vec<u8>)> {
    match target {
        "dockerfile" => dockerfiles(root),
        "dockerignore" => dockerignores(),
        "trace" => traces(root),
        "imagem" => image_json(),
        "camada" => layers(),
        "carregar" => archives(),
        other => panic!("alvo desconhecido: {other}"),
    }
}

fn dockerfiles(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for rel in [
        "engine/trace/tests/fixtures/build-context/Dockerfile",
        "engine/trace/tests/fixtures/build-multistage-context/Dockerfile",
        "labs/04-camadas/arquivos/Dockerfile",
        "labs/06-dockerfile-e-cache/arquivos/Dockerfile",
    ] {
        if let Ok(bytes) = std::fs::read(root.join(rel)) {
            out.push((rel.replace('/', "_"), bytes));
        }
    }
    out.push((
        "todas-as-instrucoes".into(),
        r#"# syntax=docker/dockerfile:1
ARG BASE=busybox
ARG VERSAO
FROM ${BASE}:latest AS base
ENV A=1 B="dois três" \
    C=${A:-x}
LABEL autor="aluno" versao=$VERSAO
WORKDIR /app/$A
COPY --chown=1000:1000 a.txt b/ /app/
ADD arquivo.tar /opt/
RUN echo "oi" > /x && \
    cat /x
RUN ["sh", "-c", "echo ${B:+sim}"]
USER 1000:1000
EXPOSE 80/tcp 53/udp
VOLUME ["/dados"]
STOPSIGNAL SIGQUIT
SHELL ["/bin/sh", "-ec"]
CMD ["sh"]
ENTRYPOINT echo 'aspas simples $A'

FROM base AS segundo
COPY --from=base /x /y
COPY --from=0 /app /app2
FROM busybox
COPY --from=segundo /y /z
"#
        .as_bytes()
        .to_vec(),
    ));
    out
}

fn dockerignores() -> Vec<(String, Vec<u8>)> {
    [
        ("docker", "# comentário\n\n*.log\nsegredos/\n**/tmp\n!importante.log\n./build/*.o\n\0a.log\nimportante.log\nsegredos/chave\nx/y/tmp\nbuild/a.o\n"),
        ("excecao", "segredos\n!segredos/publico.txt\n\0segredos/chave\nsegredos/publico.txt\n"),
        ("estrelas", "**/*.o\n*/a?/**\n**\n!**/b\n\0a/ab/c/d\nx.o\ny/z.o\nb\n"),
        ("git", ".git\nnode_modules/\ntarget\n*.swp\n\0.git/HEAD\ntarget/debug/casulo\n"),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_string(), t.as_bytes().to_vec()))
    .collect()
}

fn traces(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![(
        "amostra-de-cada-tipo".to_string(),
        casulo_trace::sample::sample_jsonl().into_bytes(),
    )];
    let Ok(dir) = std::fs::read_dir(root.join("book/exemplos")) else {
        return out;
    };
    let mut files: Vec<_> = dir
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".trace.jsonl"))
        .collect();
    files.sort();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        // The header and the first events: small seeds, each a valid trace.
        let head: Vec<&str> = text.lines().take(40).collect();
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".trace.jsonl", "");
        out.push((name, (head.join("\n") + "\n").into_bytes()));
    }
    out
}

fn image_json() -> Vec<(String, Vec<u8>)> {
    let layer = Descriptor::new(
        oci::MEDIA_TYPE_LAYER_TAR_GZIP,
        &format!("sha256:{}", "a".repeat(64)),
        1234,
    );
    let config = Descriptor::new(
        oci::MEDIA_TYPE_CONFIG,
        &format!("sha256:{}", "b".repeat(64)),
        567,
    );
    let mut manifest_desc = Descriptor::new(
        oci::MEDIA_TYPE_MANIFEST,
        &format!("sha256:{}", "c".repeat(64)),
        890,
    );
    manifest_desc
        .annotations
        .insert(oci::ANNOTATION_REF_NAME.into(), "busybox:latest".into());
    manifest_desc.annotations.insert(
        "io.containerd.image.name".into(),
        "docker.io/library/busybox:1.36".into(),
    );
    manifest_desc.platform = Some(oci::Platform {
        architecture: "amd64".into(),
        os: "linux".into(),
        extra: BTreeMap::new(),
    });
    let index = Index {
        manifests: vec![manifest_desc],
        ..Index::default()
    };
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(oci::MEDIA_TYPE_MANIFEST.into()),
        config,
        layers: vec![layer],
        annotations: BTreeMap::new(),
    };
    let mut cfg = oci::rootfs_config(
        "2026-01-01T00:00:00Z".into(),
        "amd64".into(),
        "casulo image import".into(),
    );
    cfg.rootfs
        .diff_ids
        .push(format!("sha256:{}", "d".repeat(64)));
    cfg.config = Some(oci::RunConfig {
        user: Some("1000".into()),
        env: Some(vec!["PATH=/bin".into()]),
        cmd: Some(vec!["sh".into()]),
        working_dir: Some("/app".into()),
        exposed_ports: Some([("80/tcp".to_string(), serde_json::json!({}))].into()),
        ..Default::default()
    });
    let docker = vec![DockerManifestEntry {
        config: "config.json".into(),
        repo_tags: Some(vec![
            "aluno/app:v1".into(),
            "localhost:5000/x:latest".into(),
        ]),
        layers: vec!["camada0/layer.tar".into()],
    }];
    let layout = OciLayout {
        image_layout_version: oci::IMAGE_LAYOUT_VERSION.into(),
    };
    vec![
        (
            "index.json".into(),
            serde_json::to_vec_pretty(&index).unwrap(),
        ),
        ("manifest".into(), serde_json::to_vec(&manifest).unwrap()),
        ("config".into(), serde_json::to_vec(&cfg).unwrap()),
        (
            "docker-manifest.json".into(),
            serde_json::to_vec(&docker).unwrap(),
        ),
        ("oci-layout".into(), serde_json::to_vec(&layout).unwrap()),
    ]
}

/// A tar builder that writes any name (also hostile ones) as given.
struct RawTar(Vec<u8>);

impl RawTar {
    fn new() -> Self {
        RawTar(Vec::new())
    }

    fn entry(&mut self, kind: tar::EntryType, name: &str, link: &str, data: &[u8]) -> &mut Self {
        let mut h = tar::Header::new_ustar();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(kind);
        h.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_size(data.len() as u64);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        self.0.extend_from_slice(h.as_bytes());
        self.0.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.0.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(tar::EntryType::Regular, name, "", data)
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.0);
        out.extend(std::iter::repeat_n(0u8, 1024));
        out
    }
}

fn with_flag(flag: u8, tar: Vec<u8>) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend(tar);
    out
}

/// (type, path, link target) of one tar entry.
type Entry<'a> = (tar::EntryType, &'a str, &'a str);

fn layers() -> Vec<(String, Vec<u8>)> {
    use tar::EntryType as T;
    let mut out = Vec::new();
    let ok = RawTar::new()
        .entry(T::Directory, "etc/", "", b"")
        .file("etc/motd", b"bem-vindo\n")
        .entry(T::Symlink, "etc/link", "motd", b"")
        .entry(T::Link, "etc/hard", "etc/motd", b"")
        .entry(T::Fifo, "etc/fila", "", b"")
        .entry(T::Char, "dev-null", "", b"")
        .file("etc/.wh.apagado", b"")
        .entry(T::Directory, "opt/", "", b"")
        .file("opt/.wh..wh..opq", b"")
        .finish();
    out.push(("camada-comum".into(), with_flag(0, ok.clone())));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&ok).unwrap();
    out.push(("camada-gzip".into(), with_flag(0, gz.finish().unwrap())));

    // A pax header with xattrs (security.capability is dropped, trusted.* filtered).
    let mut pax = Vec::new();
    for (k, v) in [
        ("SCHILY.xattr.user.cor", "azul"),
        ("SCHILY.xattr.security.capability", "x"),
        ("SCHILY.xattr.trusted.overlay.opaque", "y"),
    ] {
        let line_len = k.len() + v.len() + 3;
        let mut n = line_len + line_len.to_string().len();
        if n.to_string().len() != line_len.to_string().len() {
            n += 1;
        }
        pax.extend_from_slice(format!("{n} {k}={v}\n").as_bytes());
    }
    let xattrs = RawTar::new()
        .entry(T::XHeader, "PaxHeaders/a", "", &pax)
        .file("a", b"conteudo")
        .finish();
    out.push(("camada-xattrs".into(), with_flag(0, xattrs)));

    // Links to the layer below (flag 1): copied from it.
    let over = RawTar::new()
        .entry(T::Directory, "bin/", "", b"")
        .entry(T::Link, "bin/c", "bin/a", b"")
        .entry(T::Link, "bin/d", "bin/b", b"")
        .file("etc/.wh.motd", b"")
        .finish();
    out.push(("camada-sobre-inferior".into(), with_flag(1, over)));

    // Hostile: each must be refused, and nothing may land outside.
    let hostile: &[(&str, &[Entry])] = &[
        ("hostil-pontos", &[(T::Regular, "../canario/arquivo", "")]),
        ("hostil-absoluto", &[(T::Regular, "/etc/fuzz", "")]),
        (
            "hostil-via-symlink",
            &[
                (T::Symlink, "mal", "../canario"),
                (T::Regular, "mal/novo", ""),
            ],
        ),
        (
            "hostil-symlink-absoluto",
            &[(T::Symlink, "etc", "/etc"), (T::Regular, "etc/passwd", "")],
        ),
        (
            "hostil-hardlink-fora",
            &[(T::Link, "h", "../canario/arquivo")],
        ),
        (
            "hostil-hardlink-inferior-symlink",
            &[(T::Link, "h", "fora/arquivo")],
        ),
        (
            "hostil-hardlink-etc-host",
            &[(T::Link, "h", "etc-host/passwd")],
        ),
    ];
    for (name, entries) in hostile {
        let mut t = RawTar::new();
        for (kind, path, link) in entries.iter() {
            t.entry(*kind, path, link, b"x");
        }
        let tar = t.finish();
        out.push((name.to_string(), with_flag(0, tar.clone())));
        out.push((format!("{name}-sobre"), with_flag(1, tar)));
    }

    out
}

/// Archives for `carregar` (see its docs for the placeholders).
fn archives() -> Vec<(String, Vec<u8>)> {
    let layer = RawTar::new()
        .entry(tar::EntryType::Directory, "bin/", "", b"")
        .file("bin/ola", b"#!/bin/sh\necho ola\n")
        .finish();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&layer).unwrap();
    let gzipped = gz.finish().unwrap();
    let config = r#"{"architecture":"amd64","os":"linux","config":{"Cmd":["sh"],"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["@diff"]},"history":[{"created_by":"fuzz"}]}"#;
    let manifest = |media: &str| {
        format!(
            r##"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"@config","size":"#config"}},"layers":[{{"mediaType":"{media}","digest":"@camada","size":"#camada"}}]}}"##
        )
    };
    let index = r##"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@manifesto","size":"#manifesto","annotations":{"org.opencontainers.image.ref.name":"fuzz:1","io.containerd.image.name":"docker.io/library/fuzz:1"},"platform":{"architecture":"amd64","os":"linux"}}]}"##;
    let docker = r#"[{"Config":"config.json","RepoTags":["fuzz:1","docker.io/aluno/app:latest"],"Layers":["camada.tar"]}]"#;
    let join = |parts: [&[u8]; 4]| parts.join(&0u8);
    vec![
        (
            "oci".into(),
            join([
                index.as_bytes(),
                manifest(oci::MEDIA_TYPE_LAYER_TAR).as_bytes(),
                config.as_bytes(),
                &layer,
            ]),
        ),
        (
            "oci-gzip".into(),
            join([
                index.as_bytes(),
                manifest(oci::MEDIA_TYPE_LAYER_TAR_GZIP).as_bytes(),
                config.as_bytes(),
                &gzipped,
            ]),
        ),
        (
            "docker".into(),
            join([docker.as_bytes(), config.as_bytes(), b"", &layer]),
        ),
    ]
}
