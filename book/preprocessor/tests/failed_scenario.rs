//! A scenario whose step fails leaves nothing running (`leftovers.rs`):
//! the recorder `cargo xtask book` uses, the real `casulo` (`CASULO_BIN`,
//! as the tests of `tests/`), as root.

use std::fs;
use std::path::Path;

use casulo_book::{record, scenario};

/// Processes that still name `dir` in their command line or environment
/// (a supervisor's `--root`, the steps' `CASULO_ROOT`), or work in it.
fn processes_of(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let text = |f: &str| {
            String::from_utf8_lossy(&fs::read(entry.path().join(f)).unwrap_or_default())
                .into_owned()
        };
        let cwd = fs::read_link(entry.path().join("cwd")).unwrap_or_default();
        if text("cmdline").contains(&needle)
            || text("environ").contains(&needle)
            || cwd.starts_with(dir)
        {
            found.push(format!("{pid}: {}", text("cmdline").replace('\0', " ")));
        }
    }
    found
}

/// Every kind of leftover at once: a daemon and a `sleep` in the
/// background of a step, a `run -d` container (a supervisor of its own),
/// one made through the daemon that ignores SIGTERM, and a foreground
/// `casulo run` in the background of the step that fails. After the
/// failure: no process of the scenario's folder, no cgroup of its
/// containers.
#[test]
fn a_failed_scenario_leaves_nothing_running() {
    let scratch = tempfile::tempdir().unwrap();
    let ids = scratch.path().join("ids");
    let text = format!(
        r#"
descricao = "falha de propósito com coisas rodando"
[[passo]]
comando = """
casulo daemon --socket d.sock > /dev/null 2> daemon.log &
sleep 300 > /dev/null 2>&1 &
casulo run -d --name fundo busybox sleep 300 > /dev/null
until [ -S d.sock ]; do sleep 0.1; done
docker -H unix://$PWD/d.sock run -d --name pelo-daemon busybox sh -c 'trap "" TERM; sleep 300' > /dev/null
"""
[[passo]]
comando = """
casulo run --rm --name frente busybox sleep 300 > /dev/null 2>&1 &
until casulo ps | grep -q frente; do sleep 0.1; done
casulo ps -q > {ids}
false
"""
"#,
        ids = ids.display()
    );
    let scenario = scenario::parse(&text).unwrap();
    let casulo = casulo_tests::casulo_bin();
    let err = match record::record(&scenario, &casulo, scratch.path()) {
        Ok(_) => panic!("o passo 2 termina com 1 e o cenário espera 0"),
        Err(e) => e,
    };
    assert!(err.contains("o passo 2"), "{err}");
    let ids = fs::read_to_string(&ids).unwrap();
    assert_eq!(ids.lines().count(), 3, "{ids}");
    let left = processes_of(scratch.path());
    assert!(left.is_empty(), "ficaram rodando: {left:#?}");
    let cgroups: Vec<_> = casulo_tests::host_casulo_cgroups()
        .into_iter()
        .filter(|p| ids.lines().any(|id| p.to_string_lossy().contains(id)))
        .collect();
    assert!(cgroups.is_empty(), "{cgroups:?}");
    // The scenario's folder is gone too (record removes it).
    let kept: Vec<_> = fs::read_dir(scratch.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "ids")
        .collect();
    assert!(kept.is_empty(), "{kept:?}");
}
