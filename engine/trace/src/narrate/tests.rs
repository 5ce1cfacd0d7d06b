use super::*;
use crate::{sample, text, DeviceType, Errno, EventBody, NsKind, NsVia, Propagation};
use mounts::quote_value;
use words::short_path;

fn event(body: EventBody) -> Event {
    Event {
        seq: 7,
        t_us: 1532,
        pid: 4242,
        body,
        op: "op()".into(),
        outcome: Outcome::Ok,
    }
}

fn failed(body: EventBody) -> Event {
    Event {
        outcome: Outcome::Error(Errno {
            errno: 2,
            name: "ENOENT".into(),
            message: "No such file or directory".into(),
        }),
        ..event(body)
    }
}

/// The OOM tells the peak the kernel kept: what a sample between two
/// reads misses (the visualizer charts it for the samples).
#[test]
fn memory_peak_in_the_oom() {
    let oom = describe(&event(EventBody::CgroupOom {
        path: "/sys/fs/cgroup/memory/casulo/ab".into(),
        oom_kills: 1,
        limit_bytes: Some(64 << 20),
        peak_bytes: Some(64 << 20),
    }));
    assert!(oom.contains("o pico de uso chegou a 64 MiB"), "{oom}");
}

#[test]
fn outcome_rendering() {
    assert_eq!(outcome_text(&Outcome::Ok), "ok");
    let e = failed(EventBody::NetLinkUp {
        ifname: "lo".into(),
    });
    assert_eq!(
        outcome_text(&e.outcome),
        "ERRO ENOENT (2): arquivo ou diretório não existe"
    );
}

#[test]
fn narrate_has_two_lines() {
    let e = event(EventBody::NetLinkUp {
        ifname: "lo".into(),
    });
    assert_eq!(
        narrate(&e),
        "ligou a interface de rede lo (IFF_UP)\n    op() → ok"
    );
    let e = failed(EventBody::NetLinkUp {
        ifname: "lo".into(),
    });
    assert_eq!(
        narrate(&e),
        "não conseguiu ligar a interface de rede lo\n    \
         op() → ERRO ENOENT (2): arquivo ou diretório não existe"
    );
}

#[test]
fn namespace_create() {
    let e = event(EventBody::NamespaceCreate {
        ns: NsKind::Pid,
        via: NsVia::Clone,
        inode: Some(4026532201),
        host_inode: Some(4026531836),
    });
    assert_eq!(
        describe(&e),
        "criou namespace pid (inode 4026532201; o do host era 4026531836)"
    );
    let e = event(EventBody::NamespaceCreate {
        ns: NsKind::Net,
        via: NsVia::Unshare,
        inode: None,
        host_inode: None,
    });
    assert_eq!(describe(&e), "criou namespace net com unshare()");
}

/// Issue 12: the `pivot_root(".", ".")` trick is explained, not
/// "`.` virou / (a raiz antiga ficou em .)".
#[test]
fn pivot_root_dot_dot_and_the_cgroup_view_are_explained() {
    let e = event(EventBody::MountPivotRoot {
        new_root: ".".into(),
        put_old: ".".into(),
    });
    let text = describe(&e);
    assert!(
        text.starts_with("trocou a raiz com pivot_root(\".\", \".\")"),
        "{text}"
    );
    assert!(text.contains("empilhada") && text.contains("umount2(MNT_DETACH)"));
    assert!(!text.contains("ficou em ."), "{text}");
    let e = event(EventBody::MountUmount {
        target: ".".into(),
        detach: true,
    });
    assert!(describe(&e).starts_with("desmontou a raiz antiga do host"));
    let e = event(EventBody::MountFs {
        fstype: "cgroup".into(),
        source: "cgroup".into(),
        target: "/sys/fs/cgroup/memory".into(),
        flags: vec!["MS_RDONLY".into(), "MS_NOSUID".into()],
        data: "memory".into(),
    });
    assert_eq!(
        describe(&e),
        "montou cgroup v1 (memory) em /sys/fs/cgroup/memory, somente leitura: ali o \
         contêiner vê o próprio grupo como raiz"
    );
}

#[test]
fn overlay() {
    let c = "/var/lib/casulo/containers/ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12";
    let e = event(EventBody::MountOverlay {
        target: format!("{c}/merged"),
        lowerdirs: vec!["/var/lib/casulo/layers/aaaa".into()],
        upperdir: format!("{c}/upper"),
        workdir: format!("{c}/work"),
    });
    assert_eq!(
        describe(&e),
        "montou overlay em …/ab12cd34ef56/merged: 1 camada somente-leitura + camada de \
         escrita …/ab12cd34ef56/upper"
    );
}

#[test]
fn exits() {
    let exit = |code, signal, name: Option<&str>| {
        describe(&event(EventBody::ProcessExit {
            exited_pid: 1234,
            code,
            signal,
            signal_name: name.map(String::from),
        }))
    };
    assert_eq!(
        exit(Some(0), None, None),
        "processo 1234 terminou com código 0"
    );
    assert_eq!(
        exit(None, Some(9), Some("SIGKILL")),
        "processo 1234 morto pelo sinal SIGKILL (9) → código 137"
    );
    assert_eq!(
        exit(None, Some(15), None),
        "processo 1234 morto pelo sinal SIGTERM (15) → código 143"
    );
    assert_eq!(shell_exit_code(None, Some(9)), Some(137));
    assert_eq!(shell_exit_code(Some(3), None), Some(3));
    assert_eq!(signal_name(2), Some("SIGINT"));
    assert_eq!(signal_name(0), None);
    assert_eq!(signal_name(64), None);
}

#[test]
fn freeze_and_thaw() {
    let e = event(EventBody::CgroupFreeze {
        file: "/sys/fs/cgroup/freezer/casulo/ab12/freezer.state".into(),
        frozen: true,
    });
    assert_eq!(
        describe(&e),
        "congelou os processos do cgroup /sys/fs/cgroup/freezer/casulo/ab12 \
         (FROZEN em freezer.state)"
    );
    let e = event(EventBody::CgroupFreeze {
        file: "/sys/fs/cgroup/casulo/ab12/cgroup.freeze".into(),
        frozen: false,
    });
    assert_eq!(
        describe(&e),
        "descongelou os processos do cgroup /sys/fs/cgroup/casulo/ab12 (0 em cgroup.freeze)"
    );
}

#[test]
fn mounts_devices_and_more() {
    let e = event(EventBody::MountFs {
        fstype: "tmpfs".into(),
        source: "tmpfs".into(),
        target: "/dev".into(),
        flags: vec!["MS_NOSUID".into()],
        data: "mode=755".into(),
    });
    assert_eq!(describe(&e), "montou tmpfs em /dev (MS_NOSUID, mode=755)");
    let e = event(EventBody::MountFs {
        fstype: "".into(),
        source: "/home/aluno/dados".into(),
        target: "/dados".into(),
        flags: vec!["MS_BIND".into(), "MS_REC".into()],
        data: "".into(),
    });
    assert_eq!(
        describe(&e),
        "montou /home/aluno/dados em /dados (bind mount recursivo)"
    );
    let e = event(EventBody::MountPropagation {
        target: "/".into(),
        propagation: Propagation::Private,
        recursive: true,
    });
    assert_eq!(
        describe(&e),
        "propagação de / agora é private, recursiva (como mount --make-rprivate /)"
    );
    let e = event(EventBody::DeviceCreate {
        path: "/dev/null".into(),
        dev_type: DeviceType::Char,
        major: 1,
        minor: 3,
        mode: 0o20666,
    });
    assert_eq!(
        describe(&e),
        "criou dispositivo de caractere /dev/null (1, 3) com permissões 0666"
    );
    let e = event(EventBody::FsWrite {
        path: "/proc/1/uid_map".into(),
        value: "0 1000 1\n".into(),
    });
    assert_eq!(describe(&e), r#"escreveu "0 1000 1\n" em /proc/1/uid_map"#);
    let e = event(EventBody::ProcessExec {
        path: "/bin/sh".into(),
        argv: vec!["sh".into(), "-c".into(), "echo 'oi'".into()],
        env_keys: vec!["PATH".into()],
    });
    assert_eq!(
        describe(&e),
        r#"executou /bin/sh: sh -c 'echo '\''oi'\''' (1 variável de ambiente: PATH)"#
    );
    let e = event(EventBody::LayerUnpack {
        diff_id: "sha256:3f5a1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
            .into(),
        path: "/var/lib/casulo/layers/3f5a1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8".into(),
        bytes: 2_195_456,
        files: 1234,
        duration_us: 35_120,
    });
    assert_eq!(
        describe(&e),
        "descompactou a camada sha256:3f5a1b2c4d5e em …/layers/3f5a1b2c4d5e: 1.234 arquivos, \
         2,1 MiB de conteúdo, em 35,120 ms"
    );
    let e = event(EventBody::ProcessClone {
        child_pid: 4243,
        flags: vec![
            "CLONE_NEWPID".into(),
            "CLONE_NEWNS".into(),
            "SIGCHLD".into(),
        ],
    });
    assert_eq!(
        describe(&e),
        "clone() criou o processo 4243 em namespaces novos: pid, mnt"
    );
    // cgroup v2: born in its cgroup, by clone3.
    let e = event(EventBody::ProcessClone {
        child_pid: 4243,
        flags: vec![
            "CLONE_NEWPID".into(),
            "CLONE_INTO_CGROUP".into(),
            "SIGCHLD".into(),
        ],
    });
    assert_eq!(
        describe(&e),
        "clone3() criou o processo 4243 em namespaces novos: pid"
    );
    let e = event(EventBody::CgroupAttach {
        path: "/sys/fs/cgroup/casulo/ab12".into(),
        target_pid: 4243,
        via: crate::AttachVia::Clone3,
    });
    assert_eq!(
        describe(&e),
        "o processo 4243 nasceu dentro do cgroup /sys/fs/cgroup/casulo/ab12 (clone3 com CLONE_INTO_CGROUP)"
    );
}

#[test]
fn helpers() {
    assert_eq!(time_text(37), "0,037 ms");
    assert_eq!(time_text(2_104_000), "2,104 s");
    assert_eq!(time_text(3_725_000_000), "3.725,000 s");
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1_234_567), "1.234.567");
    assert_eq!(text::bytes(512), "512 bytes");
    assert_eq!(text::bytes(1536), "1,5 KiB");
    assert_eq!(short_path("/proc"), "/proc");
    assert_eq!(
        short_path("/var/lib/casulo/containers/ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12/merged/proc"),
        "…/merged/proc"
    );
    assert_eq!(
        shell_words(&["a b".into(), "c".into(), "".into()]),
        "'a b' c ''"
    );
    let long = "x".repeat(100);
    assert!(quote_value(&long).ends_with("…\" (100 bytes)"));
}

#[test]
fn every_sample_event_narrates() {
    for e in sample::sample_events() {
        let text = narrate(&e);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!describe(&e).is_empty());
        let failed = Event {
            outcome: Outcome::Error(Errno {
                errno: 1,
                name: "EPERM".into(),
                message: "Operation not permitted".into(),
            }),
            ..e
        };
        assert!(
            describe(&failed).starts_with("não conseguiu "),
            "{}",
            describe(&failed)
        );
    }
}

#[test]
fn header() {
    assert_eq!(
        narrate_header(&sample::sample_header()),
        "trace casulo-trace v1 · casulo 0.1.0 · kernel 6.1.0-28-amd64 · cgroups hybrid · \
         início 2025-11-26T12:00:00.000000Z\n\
         contêiner curioso_tucano (ab12cd34ef56) · imagem busybox:latest \
         (sha256:1c35c4412082) · comando: sh -c 'echo oi'"
    );
}

#[test]
fn every_kind_is_narrated_by_its_area_file() {
    // The sample has every kind; a kind whose area file forgot it would fall
    // back to its bare name.
    for e in sample::sample_events() {
        let kind = e.body.kind();
        assert_ne!(
            describe(&e),
            kind,
            "{kind} não tem narração no arquivo da sua área"
        );
    }
}
