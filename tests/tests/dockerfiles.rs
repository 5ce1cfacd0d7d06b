//! Differential test of `casulo build` against buildah (#18): each
//! Dockerfile of `tests/dockerfiles/` (one rule of the Dockerfile reference
//! each, named in its `# regra:` line) is built by casulo and by `buildah
//! build --layers` (vfs storage, chroot isolation, timestamp 0, docker
//! format so HEALTHCHECK and ONBUILD are kept), and the two images must
//! have the same config and the same root filesystem.
//!
//! Both images leave buildah's storage the same way (casulo's goes in
//! through `casulo image save`): pushed to an OCI layout by buildah and
//! unpacked by umoci, so the trees are compared with one reader. What buildah adds by itself is
//! allowed (the list below, with why); where docker and buildah disagree,
//! casulo follows docker and the case says so in a `# buildah-difere:
//! CAMPO — por quê` line (which must keep being true: a listed difference
//! that does not happen fails too). Syntax buildah 1.28 does not read but
//! that must not change the image (`COPY --link`) is named in a `#
//! buildah-sem: TEXTO` line: buildah builds the Dockerfile without it.
//! Syntax buildah cannot read at all (here-documents) names, in a `#
//! buildah-equivalente: ARQUIVO` line, a Dockerfile beside the case that
//! gets the same result without it: buildah builds that one.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use casulo_tests::layout::tree;
use casulo_tests::{unique_name, workspace_dir, Lab, Output};
use serde_json::Value;

/// Paths buildah leaves in an image that a RUN touched: the mount points
/// of the files it binds into the RUN container (docker leaves none; the
/// rule of #18 lists them).
const BUILDAH_ARTEFACTS: &[&str] = &["etc/hosts", "etc/resolv.conf", "run", "run/.containerenv"];

/// The config fields compared (docker's names).
const CONFIG_FIELDS: &[&str] = &[
    "Env",
    "Cmd",
    "Entrypoint",
    "WorkingDir",
    "User",
    "Labels",
    "ExposedPorts",
    "Volumes",
    "StopSignal",
    "Healthcheck",
    "OnBuild",
];

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Buildah {
    root: PathBuf,
}

impl Buildah {
    fn new(dir: &Path) -> Buildah {
        Buildah {
            root: dir.to_path_buf(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("buildah");
        cmd.arg("--root")
            .arg(self.root.join("root"))
            .arg("--runroot")
            .arg(self.root.join("run"))
            .arg("--storage-driver")
            .arg("vfs")
            .args(args);
        Output::of(&mut cmd)
    }

    /// The root filesystem of image `id`: pushed by buildah to an OCI
    /// layout and unpacked by umoci (`buildah from` would run the image's
    /// ONBUILD triggers).
    fn rootfs(&self, id: &str, scratch: &Path) -> BTreeMap<String, String> {
        let layout = scratch.join("oci");
        let rootfs = scratch.join("rootfs");
        let _ = fs::remove_dir_all(&layout);
        let _ = fs::remove_dir_all(&rootfs);
        self.run(&["push", "--quiet", id, &format!("oci:{}:x", s(&layout))])
            .assert_ok();
        Output::of(Command::new("umoci").args([
            "raw",
            "unpack",
            "--image",
            &format!("{}:x", s(&layout)),
            s(&rootfs),
        ]))
        .assert_ok();
        let found = tree(&rootfs);
        let _ = fs::remove_dir_all(&layout);
        let _ = fs::remove_dir_all(&rootfs);
        found
    }
}

impl Drop for Buildah {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "--all"]);
        let _ = self.run(&["rmi", "--all", "--force"]);
    }
}

/// The compared fields of a docker-style config (absent and empty alike).
fn config_fields(config: &Value) -> BTreeMap<&'static str, Value> {
    CONFIG_FIELDS
        .iter()
        .map(|field| {
            let mut v = config.get(*field).cloned().unwrap_or(Value::Null);
            if let Value::Object(map) = &mut v {
                map.remove("io.buildah.version");
            }
            let empty = match &v {
                Value::Array(a) => a.is_empty(),
                Value::Object(o) => o.is_empty(),
                Value::String(s) => s.is_empty(),
                _ => false,
            };
            (*field, if empty { Value::Null } else { v })
        })
        .collect()
}

/// The differences between two trees: (`/path`, what differs).
fn tree_diff(
    casulo: &BTreeMap<String, String>,
    buildah: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, mine) in casulo {
        match buildah.get(path) {
            Some(theirs) if theirs == mine => {}
            Some(theirs) => out.push((
                format!("/{path}"),
                format!("casulo {mine} × buildah {theirs}"),
            )),
            None => out.push((format!("/{path}"), format!("só no casulo ({mine})"))),
        }
    }
    for (path, theirs) in buildah {
        if !casulo.contains_key(path) && !BUILDAH_ARTEFACTS.contains(&path.as_str()) {
            out.push((format!("/{path}"), format!("só no buildah ({theirs})")));
        }
    }
    out
}

/// The case's `# buildah-difere: CAMPO-OU-/CAMINHO — por quê` lines: where
/// buildah 1.28 is not docker and casulo follows docker.
fn known_differences(dockerfile: &str) -> BTreeMap<String, String> {
    dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("# buildah-difere: "))
        .map(|l| {
            let (key, why) = l.split_once(" — ").unwrap_or((l, ""));
            (key.trim().to_string(), why.trim().to_string())
        })
        .collect()
}

/// The corpus, in order.
fn corpus() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(workspace_dir().join("tests/dockerfiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Dockerfile").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 43, "o corpus encolheu: {cases:?}");
    cases
}

// Two halves, run side by side (each with its own buildah storage): a
// buildah build takes seconds, most of it copying layers (vfs).
#[test]
fn the_odd_dockerfiles_of_the_corpus_build_as_buildah_builds_them() {
    check(corpus().into_iter().step_by(2).collect());
}

#[test]
fn the_even_dockerfiles_of_the_corpus_build_as_buildah_builds_them() {
    check(corpus().into_iter().skip(1).step_by(2).collect());
}

fn check(cases: Vec<PathBuf>) {
    let lab = Lab::shared();

    let dir = lab.dir().join(unique_name("buildah"));
    fs::create_dir_all(&dir).unwrap();
    let buildah = Buildah::new(&dir);
    // The same busybox for both: casulo's, saved and read by buildah.
    let base = dir.join("busybox.tar");
    lab.casulo(&["image", "save", "busybox", "-o", s(&base)])
        .assert_ok();
    buildah
        .run(&["pull", "--quiet", &format!("oci-archive:{}", s(&base))])
        .assert_ok();

    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let dockerfile = fs::read_to_string(case.join("Dockerfile")).unwrap();
        let rule = dockerfile
            .lines()
            .find_map(|l| l.strip_prefix("# regra: "))
            .unwrap_or_else(|| panic!("{name}: falta a linha `# regra:`"))
            .to_string();
        // A copy of the context: git keeps no modes, and both read the same.
        let tag = format!("{}:1", unique_name("corpus"));
        let mine = lab.casulo(&["build", "-t", &tag, s(case)]);
        if !mine.success() {
            failures.push(format!("{name} ({rule}): o casulo não construiu:\n{mine}"));
            continue;
        }
        // `# buildah-sem: TEXTO — por quê`: syntax buildah 1.28 does not
        // read and that must not change the image (docker's `--link`):
        // buildah gets the Dockerfile without it, and the images must agree.
        let mut buildah_dockerfile = dockerfile.clone();
        for line in dockerfile.lines() {
            if let Some(rest) = line.strip_prefix("# buildah-sem: ") {
                let text = rest.split(" — ").next().unwrap_or(rest);
                let instructions = buildah_dockerfile
                    .lines()
                    .map(|l| {
                        if l.starts_with('#') {
                            l.to_string()
                        } else {
                            l.replace(text, "")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                buildah_dockerfile = instructions + "\n";
            }
        }
        // `# buildah-equivalente: ARQUIVO — por quê`: syntax buildah 1.28
        // cannot read at all (BuildKit's here-documents): it builds the same
        // result written without it, kept beside the case, and the images
        // must agree.
        if let Some(rest) = dockerfile
            .lines()
            .find_map(|l| l.strip_prefix("# buildah-equivalente: "))
        {
            let file = rest.split(" — ").next().unwrap_or(rest).trim();
            buildah_dockerfile = fs::read_to_string(case.join(file))
                .unwrap_or_else(|e| panic!("{name}: {file}: {e}"));
        }
        let buildah_file = dir.join(format!("{name}.Dockerfile"));
        fs::write(&buildah_file, &buildah_dockerfile).unwrap();
        let theirs = buildah.run(&[
            "build",
            "-f",
            s(&buildah_file),
            "--quiet",
            "--pull-never",
            "--layers",
            "--isolation",
            "chroot",
            "--timestamp",
            "0",
            "--format",
            "docker",
            "-t",
            &format!("buildah-{name}"),
            s(case),
        ]);
        if !theirs.success() {
            failures.push(format!(
                "{name} ({rule}): o buildah não construiu:\n{theirs}"
            ));
            continue;
        }
        let saved = dir.join(format!("{name}.tar"));
        lab.casulo(&["image", "save", &tag, "-o", s(&saved)])
            .assert_ok();
        let pulled = buildah.run(&["pull", "--quiet", &format!("oci-archive:{}", s(&saved))]);
        pulled.assert_ok();
        let casulo_id = pulled.stdout.trim().to_string();

        let casulo_config = lab.casulo(&["image", "inspect", &tag]).json()[0]["Config"].clone();
        let inspected = buildah.run(&["inspect", "--type", "image", &format!("buildah-{name}")]);
        inspected.assert_ok();
        let buildah_config = inspected.json()["Docker"]["config"].clone();
        let (a, b) = (
            config_fields(&casulo_config),
            config_fields(&buildah_config),
        );
        let mut differences: Vec<(String, String)> = CONFIG_FIELDS
            .iter()
            .filter(|field| a[*field] != b[*field])
            .map(|field| {
                (
                    field.to_string(),
                    format!("casulo {} × buildah {}", a[field], b[field]),
                )
            })
            .collect();
        differences.extend(tree_diff(
            &buildah.rootfs(&casulo_id, &dir),
            &buildah.rootfs(&format!("buildah-{name}"), &dir),
        ));
        let known = known_differences(&dockerfile);
        for (key, what) in &differences {
            if !known.contains_key(key) {
                failures.push(format!("{name} ({rule}): {key}: {what}"));
            }
        }
        for key in known.keys() {
            if !differences.iter().any(|(k, _)| k == key) {
                failures.push(format!(
                    "{name}: a diferença esperada em {key} não aconteceu: tire a linha \
                     `# buildah-difere:` (ou o casulo mudou)"
                ));
            }
        }
        lab.casulo(&["image", "rm", &tag]).assert_ok();
    }
    assert!(
        failures.is_empty(),
        "{} de {} Dockerfiles diferem do buildah:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
