//! Volumes against the real kernel: a named volume's data survives `rm`
//! and is seen by the next container; a new one is seeded from the image;
//! a `:ro` bind is read-only all the way down; `--tmpfs` has the size
//! asked; `--read-only` refuses writes outside volumes and tmpfs; a hostile
//! image whose mount target is a symlink to a host path gets its mount
//! inside the container; `volume rm` of a volume in use is refused with the
//! container's name; `rm -v` removes anonymous volumes. No mount is left on
//! the host after any of them.

use std::fs;
use std::path::{Path, PathBuf};

use casulo_tests::{unique_name, Lab, Output};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// No mount of any container (their paths all hold "casulo") on the host.
#[track_caller]
fn no_leaked_mounts() {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let leaked: Vec<&str> = info.lines().filter(|l| l.contains("casulo")).collect();
    assert!(leaked.is_empty(), "montagens sobraram no host: {leaked:#?}");
}

/// `casulo build -t TAG` of a Dockerfile (in a fresh context).
fn build(hint: &str, dockerfile: &str) -> String {
    let lab = Lab::shared();
    let ctx = lab.dir().join(unique_name(hint));
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    let tag = format!("{}:t", unique_name(hint));
    lab.casulo(&["build", "-t", &tag, s(&ctx)]).assert_ok();
    tag
}

fn volume_dir(name: &str) -> PathBuf {
    Lab::shared()
        .root()
        .join("volumes")
        .join(name)
        .join("_data")
}

fn run(args: &[&str]) -> Output {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    Lab::shared().casulo(&all)
}

#[test]
fn a_named_volume_outlives_its_container_and_is_refused_while_in_use() {
    let lab = Lab::shared();
    let vol = unique_name("dados");
    let first = unique_name("escritor");
    let spec = format!("{vol}:/dados");
    run(&[
        "--name",
        &first,
        "-v",
        &spec,
        "busybox",
        "sh",
        "-c",
        "echo persistiu > /dados/arquivo",
    ])
    .assert_ok();
    // The (stopped) container still uses it: refused, with its name.
    let out = lab.casulo(&["volume", "rm", &vol]);
    assert_ne!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains(&first) && out.stderr.contains("em uso"),
        "{out}"
    );
    lab.casulo(&["rm", &first]).assert_ok();
    assert!(volume_dir(&vol).join("arquivo").is_file(), "o volume ficou");
    let out = run(&["--rm", "-v", &spec, "busybox", "cat", "/dados/arquivo"]);
    out.assert_ok();
    assert_eq!(out.stdout.trim(), "persistiu");
    // Private: the volume's own directory (above _data) is 0700.
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(volume_dir(&vol).parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    let inspect = lab.casulo(&["volume", "inspect", &vol]);
    inspect.assert_ok();
    assert!(inspect.stdout.contains("\"Mountpoint\""), "{inspect}");
    lab.casulo(&["volume", "rm", &vol]).assert_ok();
    assert!(!volume_dir(&vol).exists());
    no_leaked_mounts();
}

#[test]
fn a_new_named_volume_is_seeded_with_the_images_files() {
    let tag = build(
        "semente",
        "FROM busybox\n\
         RUN mkdir -p /app/sub && echo da-imagem > /app/conf && echo fundo > /app/sub/g \
             && ln -s conf /app/atalho && chmod 750 /app\n",
    );
    let vol = unique_name("semente");
    let spec = format!("{vol}:/app");
    let out = run(&[
        "--rm",
        "-v",
        &spec,
        &tag,
        "sh",
        "-c",
        "cat /app/conf /app/sub/g /app/atalho; echo novo > /app/conf",
    ]);
    out.assert_ok();
    assert_eq!(out.stdout, "da-imagem\nfundo\nda-imagem\n");
    let data = volume_dir(&vol);
    assert_eq!(
        fs::read_link(data.join("atalho")).unwrap(),
        Path::new("conf")
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&data).unwrap().permissions().mode() & 0o777,
        0o750
    );
    // Not new any more: its data wins over the image's.
    let out = run(&["--rm", "-v", &spec, &tag, "cat", "/app/conf"]);
    assert_eq!(out.stdout.trim(), "novo", "{out}");
    // The trace says it was created (only the first time).
    let out = run(&["--rm", "-v", &format!("{vol}-2:/app"), &tag, "true"]);
    let trace = casulo_trace::reader::read_trace_file(out.trace_path().unwrap()).unwrap();
    assert!(trace.events.iter().any(|e| matches!(
        &e.body,
        casulo_trace::EventBody::VolumeCreate { name, target, anonymous: false, .. }
            if *name == format!("{vol}-2") && target == "/app"
    )));
    Lab::shared()
        .casulo(&["volume", "rm", &vol, &format!("{vol}-2")])
        .assert_ok();
    no_leaked_mounts();
}

#[test]
fn binds_show_host_files_and_ro_is_read_only_all_the_way_down() {
    let host = tempfile::tempdir().unwrap();
    fs::write(host.path().join("do-host.txt"), "oi do host\n").unwrap();
    fs::create_dir(host.path().join("sub")).unwrap();
    // A mount below the bind's source: `:ro` must reach it too.
    let sub = host.path().join("sub");
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs", s(&sub)])
        .status()
        .unwrap();
    assert!(ok.success());
    let spec = format!("{}:/h", s(host.path()));
    let rw = run(&[
        "--rm",
        "-v",
        &spec,
        "busybox",
        "sh",
        "-c",
        "cat /h/do-host.txt; echo w > /h/novo",
    ]);
    let ro = run(&[
        "--rm",
        "-v",
        &format!("{spec}:ro"),
        "busybox",
        "sh",
        "-c",
        "cat /h/do-host.txt; touch /h/x; echo topo=$?; touch /h/sub/y; echo sub=$?",
    ]);
    let _ = std::process::Command::new("umount").arg(&sub).status();
    rw.assert_ok();
    assert_eq!(rw.stdout, "oi do host\n");
    assert_eq!(fs::read_to_string(host.path().join("novo")).unwrap(), "w\n");
    ro.assert_ok();
    assert!(
        ro.stdout.contains("topo=1") && ro.stdout.contains("sub=1"),
        "{ro}"
    );
    assert!(ro.stderr.contains("Read-only file system"), "{ro}");
    assert!(!host.path().join("x").exists());
    // A host path that does not exist, or a relative one: said in Portuguese.
    let out = run(&["--rm", "-v", "/nao/existe/mesmo:/x", "busybox", "true"]);
    out.assert_code(125);
    assert!(out.stderr.contains("não existe no host"), "{out}");
    let out = run(&["--rm", "-v", "relativo/dir:/x", "busybox", "true"]);
    assert_ne!(out.code, 0);
    let out = run(&["--rm", "-v", "./dir:/x", "busybox", "true"]);
    assert!(out.stderr.contains("absoluto"), "{out}");
    no_leaked_mounts();
}

#[test]
fn tmpfs_has_the_size_asked_and_read_only_refuses_other_writes() {
    let out = run(&[
        "--rm",
        "--tmpfs",
        "/rapido:size=2m,mode=1770",
        "busybox",
        "sh",
        "-c",
        "grep ' /rapido ' /proc/self/mountinfo; stat -c %a /rapido",
    ]);
    out.assert_ok();
    assert!(
        out.stdout.contains(" - tmpfs ") && out.stdout.contains("size=2048k"),
        "{out}"
    );
    assert!(out.stdout.contains("noexec"), "{out}");
    assert!(out.stdout.trim_end().ends_with("1770"), "{out}");

    let vol = unique_name("rofs");
    let out = run(&[
        "--rm",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "-v",
        &format!("{vol}:/dados"),
        "busybox",
        "sh",
        "-c",
        "touch /raiz; echo raiz=$?; touch /tmp/a; echo tmp=$?; touch /dados/b; echo dados=$?",
    ]);
    out.assert_ok();
    assert!(
        out.stdout.contains("raiz=1")
            && out.stdout.contains("tmp=0")
            && out.stdout.contains("dados=0"),
        "{out}"
    );
    assert!(out.stderr.contains("Read-only file system"), "{out}");
    Lab::shared().casulo(&["volume", "rm", &vol]).assert_ok();
    no_leaked_mounts();
}

/// CVE-2021-30465 class: the image makes the mount target a symlink to a
/// host path; the mount point must be made (and the new volume seeded)
/// inside the container's rootfs: nothing created in, nothing copied from
/// the host directory.
#[test]
fn a_symlinked_target_in_a_hostile_image_stays_inside_the_container() {
    let host = tempfile::tempdir().unwrap();
    let host_dir = host.path().join("host-dir");
    fs::create_dir(&host_dir).unwrap();
    fs::write(host_dir.join("segredo.txt"), "do host").unwrap();
    let tag = build(
        "hostil",
        &format!(
            "FROM busybox\nRUN ln -s {} /data && ln -s ../../../../../../{} /rel\n",
            s(&host_dir),
            s(&host_dir).trim_start_matches('/')
        ),
    );
    for target in ["/data", "/rel"] {
        let vol = unique_name("hostil");
        let out = run(&[
            "--rm",
            "-v",
            &format!("{vol}:{target}/sub"),
            &tag,
            "sh",
            "-c",
            &format!("echo dentro > {target}/sub/escrito && ls -A {target} {target}/sub"),
        ]);
        let names: Vec<_> = fs::read_dir(&host_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            ["segredo.txt"],
            "nada criado no diretório do host: {out}"
        );
        out.assert_ok();
        assert!(!out.stdout.contains("segredo"), "{out}");
        assert!(out.stdout.contains("escrito"), "{out}");
        assert!(volume_dir(&vol).join("escrito").is_file());
        assert!(!volume_dir(&vol).join("segredo.txt").exists());
        Lab::shared().casulo(&["volume", "rm", &vol]).assert_ok();
    }
    no_leaked_mounts();
}

#[test]
fn anonymous_volumes_go_with_rm_v_and_with_rm() {
    let lab = Lab::shared();
    let tag = build(
        "anonimo",
        "FROM busybox\nRUN mkdir /cache && echo semente > /cache/s\nVOLUME /cache\n",
    );
    let name = unique_name("anon");
    run(&[
        "--name",
        &name,
        &tag,
        "sh",
        "-c",
        "cat /cache/s && echo x > /cache/x",
    ])
    .assert_ok();
    let anon = |container: &str| -> String {
        let out = lab.casulo(&["volume", "ls"]);
        out.stdout
            .lines()
            .find(|l| l.contains("anônimo") && l.trim_end().ends_with(container))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("sem volume anônimo de {container}: {out}"))
            .to_string()
    };
    let vol = anon(&name);
    assert!(volume_dir(&vol).join("x").is_file());
    assert_eq!(
        fs::read_to_string(volume_dir(&vol).join("s")).unwrap(),
        "semente\n"
    );
    lab.casulo(&["rm", "-v", &name]).assert_ok();
    assert!(!volume_dir(&vol).exists(), "rm -v removeu o volume anônimo");

    // Without -v it stays (as docker's); --rm removes it.
    let kept = unique_name("anon");
    run(&["--name", &kept, &tag, "true"]).assert_ok();
    let vol = anon(&kept);
    lab.casulo(&["rm", &kept]).assert_ok();
    assert!(volume_dir(&vol).exists());
    lab.casulo(&["volume", "rm", &vol]).assert_ok();
    let out = run(&[
        "--rm",
        &tag,
        "sh",
        "-c",
        "grep ' /cache ' /proc/self/mountinfo",
    ]);
    out.assert_ok();
    let id = out
        .stdout
        .split("/volumes/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    assert!(
        !volume_dir(&id).exists(),
        "--rm levou o volume anônimo {id}"
    );
    no_leaked_mounts();
}
