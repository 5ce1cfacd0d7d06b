//! Interop with the real OCI tools from Debian (umoci, skopeo, buildah):
//! what they write, casulo loads and runs; what casulo saves, they read.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use casulo_tests::layout::tree;
use casulo_tests::{unique_name, Lab, Output};
use serde_json::Value;

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

fn scratch(hint: &str) -> PathBuf {
    let dir = Lab::shared().dir().join(unique_name(hint));
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// An image made by umoci: busybox in one layer, then a second layer that
/// deletes `/etc/motd` (umoci writes the OCI whiteout) and adds `/novo`.
fn umoci_image(dir: &Path) -> PathBuf {
    let layout = dir.join("umoci-img");
    let bundle = dir.join("bundle");
    tool("umoci", &["init", "--layout", s(&layout)]);
    let image = format!("{}:base", s(&layout));
    tool("umoci", &["new", "--image", &image]);
    tool("umoci", &["unpack", "--image", &image, s(&bundle)]);
    let rootfs = bundle.join("rootfs");
    for d in ["bin", "etc"] {
        fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for applet in ["sh", "ls", "cat"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    fs::write(rootfs.join("etc/motd"), "bem-vindo\n").unwrap();
    fs::write(rootfs.join("etc/hostname"), "umoci\n").unwrap();
    tool("umoci", &["repack", "--image", &image, s(&bundle)]);
    fs::remove_file(rootfs.join("etc/motd")).unwrap();
    fs::write(rootfs.join("novo"), "camada de cima\n").unwrap();
    tool("umoci", &["repack", "--image", &image, s(&bundle)]);
    tool(
        "umoci",
        &[
            "config",
            "--image",
            &image,
            "--config.env=PATH=/bin",
            "--config.cmd=sh",
            "--config.cmd=-c",
            "--config.cmd=ls /etc; cat /novo",
        ],
    );
    layout
}

#[test]
fn images_made_by_umoci_and_copied_by_skopeo_load_and_run() {
    let lab = Lab::shared();
    let dir = scratch("umoci");
    let layout = umoci_image(&dir);
    let out = lab.casulo(&["image", "load", "-i", s(&layout)]);
    out.assert_ok();
    assert!(out.stdout.contains("umoci-img:base"), "{out}");
    let run = lab.casulo(&["run", "--rm", "umoci-img:base"]);
    run.assert_ok();
    assert_eq!(run.stdout, "hostname\ncamada de cima\n", "{run}");

    // skopeo turns it into a docker-archive (uncompressed layers, no manifest).
    let archive = dir.join("docker.tar");
    let name = unique_name("aluno/skopeo");
    tool(
        "skopeo",
        &[
            "copy",
            &format!("oci:{}:base", s(&layout)),
            &format!("docker-archive:{}:{name}:v1", s(&archive)),
        ],
    );
    let out = lab.casulo(&["image", "load", "-i", s(&archive)]);
    out.assert_ok();
    assert!(out.stdout.contains(&format!("{name}:v1")), "{out}");
    let run = lab.casulo(&["run", "--rm", &format!("{name}:v1")]);
    run.assert_ok();
    assert_eq!(run.stdout, "hostname\ncamada de cima\n", "{run}");
    lab.casulo(&["image", "fsck"]).assert_ok();
}

#[test]
fn what_casulo_saves_is_read_by_skopeo_umoci_and_buildah() {
    let lab = Lab::shared();
    let dir = scratch("salvas");
    lab.casulo(&["run", "--rm", "busybox", "true"]).assert_ok();
    let oci = dir.join("busybox-oci.tar");
    lab.casulo(&["image", "save", "-o", s(&oci), "busybox"])
        .assert_ok();
    let docker = dir.join("busybox-docker.tar");
    lab.casulo(&[
        "image",
        "save",
        "--format",
        "docker",
        "-o",
        s(&docker),
        "busybox",
    ])
    .assert_ok();

    // skopeo inspects both and copies the OCI archive to a layout.
    let inspect: Value = tool(
        "skopeo",
        &[
            "inspect",
            &format!("oci-archive:{}:busybox:latest", s(&oci)),
        ],
    )
    .json();
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 1, "{inspect}");
    assert_eq!(inspect["Os"], "linux");
    let docker_inspect: Value = tool(
        "skopeo",
        &["inspect", &format!("docker-archive:{}", s(&docker))],
    )
    .json();
    assert_eq!(docker_inspect["Layers"].as_array().unwrap().len(), 1);
    let copied = dir.join("copiado");
    tool(
        "skopeo",
        &[
            "copy",
            &format!("oci-archive:{}:busybox:latest", s(&oci)),
            &format!("oci:{}:bb", s(&copied)),
        ],
    );

    // umoci unpacks the same tree casulo unpacked.
    let bundle = dir.join("bundle");
    tool(
        "umoci",
        &[
            "unpack",
            "--image",
            &format!("{}:bb", s(&copied)),
            s(&bundle),
        ],
    );
    let index: Value =
        serde_json::from_slice(&fs::read(copied.join("index.json")).unwrap()).unwrap();
    let blob = |d: &Value| {
        copied
            .join("blobs/sha256")
            .join(d.as_str().unwrap().strip_prefix("sha256:").unwrap())
    };
    let manifest: Value =
        serde_json::from_slice(&fs::read(blob(&index["manifests"][0]["digest"])).unwrap()).unwrap();
    let config: Value =
        serde_json::from_slice(&fs::read(blob(&manifest["config"]["digest"])).unwrap()).unwrap();
    let diff_id = config["rootfs"]["diff_ids"][0].as_str().unwrap();
    let ours = lab
        .root()
        .join("layers")
        .join(diff_id.strip_prefix("sha256:").unwrap());
    let (a, b) = (tree(&ours), tree(&bundle.join("rootfs")));
    let differ: Vec<_> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .chain(b.iter().filter(|(k, _)| !a.contains_key(*k)))
        .take(10)
        .collect();
    assert!(differ.is_empty(), "casulo e umoci diferem: {differ:?}");
    assert!(a.len() > 100, "busybox has its applets: {}", a.len());

    // buildah builds containers from both archives (private storage).
    let storage = dir.join("buildah");
    let root = storage.join("root");
    let runroot = storage.join("runroot");
    let buildah = |args: &[&str]| {
        let mut all = vec![
            "--root",
            s(&root),
            "--runroot",
            s(&runroot),
            "--storage-driver",
            "vfs",
        ];
        all.extend_from_slice(args);
        tool("buildah", &all)
    };
    for source in [
        format!("oci-archive:{}:busybox:latest", s(&oci)),
        format!("docker-archive:{}", s(&docker)),
    ] {
        let out = buildah(&["from", "--pull-never", &source]);
        assert!(out.stdout.contains("working-container"), "{out}");
    }
    let images = buildah(&["images", "--format", "{{.ID}}"]);
    assert!(!images.stdout.trim().is_empty(), "{images}");
    buildah(&["rm", "--all"]);
    buildah(&["rmi", "--all", "--force"]);
}
