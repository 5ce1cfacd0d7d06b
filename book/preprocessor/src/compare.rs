//! The course's doctest: a fresh run of a scenario against the recording
//! in the book. What changes by itself from one run to the next (ids,
//! times, dates, host pids, namespace inodes, and what the scenario lists
//! in `ignorar`, and the kernel's release: the course is checked on other
//! machines) is masked on both sides; everything else must be equal.

use regex::Regex;

use crate::record::Recording;
use crate::scenario::Scenario;

/// The masks every scenario gets: (pattern, replacement).
const DEFAULT_MASKS: &[(&str, &str)] = &[
    // Dates and times of day (ISO and `ls -l`/`date` styles).
    (
        r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
        "<data>",
    ),
    (r"\b\d{2}:\d{2}(:\d{2})?\b", "<hora>"),
    // Durations: 12 ms, 0,42 s, 3.1µs.
    (r"\b\d+([.,]\d+)?\s?(ns|µs|us|ms|s|min)\b", "<tempo>"),
    // Host pids, as casulo and ps write them.
    // (3+ digits: a container's own small pids, like PID 1, stay.)
    (r"\b(pid|PID|pid=|processo)\s?\d{3,}", "$1 <pid>"),
    // Namespace inodes: pid:[4026532301], net:[4026531840], or bare (the
    // kernel numbers them from 0xF0000000 = 4026531840 up).
    (r"\[\d{6,}\]", "[<inode>]"),
    (r"\b40265\d{5}\b", "<inode>"),
    // The kernel's release (`uname -r`, `casulo info`): the book's machine
    // and the one that checks it may run different builds of the kernel.
    // (Major 3 to 9 and a suffix: busybox's `1.35.0-4` stays.)
    (r"\b[3-9]\.\d{1,2}\.\d{1,3}-[0-9A-Za-z_.+~-]+", "<kernel>"),
];

/// `text` with the default masks and `extra` applied, runs of spaces as one.
pub fn mask(text: &str, extra: &[Regex]) -> String {
    let mut out = text.to_string();
    for re in extra {
        out = re.replace_all(&out, "<ignorado>").into_owned();
    }
    out = mask_ids(&out);
    for (pattern, with) in DEFAULT_MASKS {
        let re = Regex::new(pattern).expect("default masks compile");
        out = re.replace_all(&out, *with).into_owned();
    }
    // Columns shift when a masked value is wider: spacing is not content.
    let spaces = Regex::new(r"[ \t]+").expect("regex");
    spaces.replace_all(&out, " ").into_owned()
}

/// Ids and digests: runs of 8 or more hex digits (`veth3f2a9c1d`,
/// `(bae68409ed58)`, `sha256:…`). A run of decimal digits only is a
/// number (`memory.max = 67108864`) unless it sits where ids sit: after
/// `-`, `(`, `/`, `:`, glued to letters (`veth12345678`), or 12 of them
/// opening a line (`ps`'s id column) — an id can be all decimal by chance.
fn mask_ids(text: &str) -> String {
    let re = Regex::new(r"[0-9a-f]{8,}").expect("regex");
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in re.find_iter(text) {
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        // Part of a longer word (`a0b1c2d3e4x`) is not an id.
        if after.is_some_and(|c| c.is_alphanumeric()) {
            continue;
        }
        let has_letter = m.as_str().bytes().any(|b| b.is_ascii_alphabetic());
        // A short id (12) opening a line is `ps`'s first column.
        let ps_column = m.len() == 12
            && before.is_none_or(|c| c == '\n')
            && after.is_some_and(char::is_whitespace);
        let id_place = ps_column
            || before.is_some_and(|c| c.is_alphabetic() || matches!(c, '-' | '(' | '/' | ':'));
        if has_letter || id_place {
            out.push_str(&text[last..m.start()]);
            out.push_str("<hex>");
            last = m.end();
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Ok when `fresh` says what `stored` says, up to the masks; otherwise a
/// pt-BR message with the first difference of each step that differs.
pub fn compare(scenario: &Scenario, stored: &Recording, fresh: &Recording) -> Result<(), String> {
    if stored.passos.len() != fresh.passos.len() {
        return Err(format!(
            "o livro tem {} passos gravados, o cenário tem {}: grave de novo",
            stored.passos.len(),
            fresh.passos.len()
        ));
    }
    let mut problems = Vec::new();
    for (i, ((old, new), step)) in stored
        .passos
        .iter()
        .zip(&fresh.passos)
        .zip(&scenario.passo)
        .enumerate()
    {
        let extra: Vec<Regex> = step
            .ignorar
            .iter()
            .map(|r| Regex::new(r).expect("checked when parsed"))
            .collect();
        if mask(&old.comando, &extra) != mask(&new.comando, &extra) {
            problems.push(format!(
                "passo {}: o comando mudou\n  no livro: {}\n  agora:    {}",
                i + 1,
                old.comando,
                new.comando
            ));
            continue;
        }
        if old.codigo != new.codigo {
            problems.push(format!(
                "passo {} (`{}`): código de saída {} no livro, {} agora",
                i + 1,
                new.comando,
                old.codigo,
                new.codigo
            ));
        }
        let (a, b) = (mask(&old.saida, &extra), mask(&new.saida, &extra));
        if a != b {
            problems.push(format!(
                "passo {} (`{}`): a saída mudou\n{}",
                i + 1,
                new.comando,
                first_difference(&a, &b)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// A trace's start-up as the chapters tell it, event by event and by
/// number: the kinds from the first event to the first `process.exec`. The
/// same on every run of one engine on one kind of host: the recorder starts
/// each scenario with a new state and no `casulo` cgroup, and the parent's
/// part comes before its go, the child's after it — unlike what comes after
/// the `exec` (the command's own doing). Empty when nothing was executed
/// (a build served from its cache, a push or pull, whose layers may travel
/// in parallel).
pub fn startup_kinds(trace: &str) -> Vec<String> {
    let mut kinds: Vec<String> = trace
        .lines()
        .skip(1)
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|event| event["kind"].as_str().map(str::to_string))
        .collect();
    match kinds.iter().position(|k| k == "process.exec") {
        Some(exec) => kinds.truncate(exec + 1),
        None => kinds.clear(),
    }
    kinds
}

/// Ok when the book's trace starts its container the way the engine does
/// today (see [`startup_kinds`]): a trace recorded by an older engine would
/// show students a start-up they will not see, and the chapters number its
/// events. Otherwise a pt-BR message with the first event that differs.
pub fn compare_startup(stored: &str, fresh: &str) -> Result<(), String> {
    let (old, new) = (startup_kinds(stored), startup_kinds(fresh));
    if old == new {
        return Ok(());
    }
    let n = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let at = |kinds: &[String]| {
        kinds
            .get(n)
            .map_or("(nada)".to_string(), |k| format!("`{k}`"))
    };
    Err(format!(
        "a partida do trace gravado não é a de hoje (até o primeiro `process.exec`: \
         {} eventos no livro, {} agora); o evento {} é {} no livro e {} agora",
        old.len(),
        new.len(),
        n,
        at(&old),
        at(&new)
    ))
}

/// The first line where `a` (the book) and `b` (now) differ, with its number.
fn first_difference(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    for n in 0..la.len().max(lb.len()) {
        let (x, y) = (la.get(n), lb.get(n));
        if x != y {
            return format!(
                "  linha {}:\n    no livro: {}\n    agora:    {}",
                n + 1,
                x.unwrap_or(&"(nada)"),
                y.unwrap_or(&"(nada)")
            );
        }
    }
    "  (só espaços no fim mudaram)".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordedStep;

    fn rec(out: &str) -> Recording {
        Recording {
            passos: vec![RecordedStep {
                comando: "casulo run busybox ps".into(),
                saida: out.into(),
                codigo: 0,
            }],
        }
    }

    fn scenario(ignorar: &[&str]) -> Scenario {
        let ignorar: Vec<String> = ignorar.iter().map(|r| format!("'{r}'")).collect();
        crate::scenario::parse(&format!(
            "descricao = \"x\"\n[[passo]]\ncomando = \"casulo run busybox ps\"\nignorar = [{}]\n",
            ignorar.join(",")
        ))
        .unwrap()
    }

    fn trace(kinds: &[&str]) -> String {
        let mut text = String::from("{\"format\":\"casulo-trace\"}\n");
        for (seq, kind) in kinds.iter().enumerate() {
            text.push_str(&format!("{{\"seq\":{seq},\"kind\":\"{kind}\"}}\n"));
        }
        text
    }

    #[test]
    fn the_start_up_is_everything_up_to_the_first_exec() {
        let t = trace(&[
            "layer.unpack",
            "cgroup.create",
            "process.clone",
            "mount.overlay",
            "process.exec",
            "cgroup.sample",
            "process.exec",
        ]);
        assert_eq!(
            startup_kinds(&t),
            [
                "layer.unpack",
                "cgroup.create",
                "process.clone",
                "mount.overlay",
                "process.exec"
            ]
        );
        assert!(startup_kinds(&trace(&["build.step", "layer.reuse"])).is_empty());
    }

    #[test]
    fn a_start_up_recorded_by_an_older_engine_is_named() {
        let today = trace(&[
            "process.clone",
            "cgroup.attach",
            "security.non_dumpable",
            "process.exec",
        ]);
        // What comes after the exec is the command's: it may differ.
        let book = trace(&[
            "process.clone",
            "cgroup.attach",
            "security.non_dumpable",
            "process.exec",
            "cgroup.sample",
        ]);
        compare_startup(&book, &today).unwrap();
        let old = trace(&["process.clone", "cgroup.attach", "process.exec"]);
        let e = compare_startup(&old, &today).unwrap_err();
        assert!(e.contains("3 eventos no livro, 4 agora"), "{e}");
        assert!(
            e.contains("o evento 2 é `process.exec` no livro e `security.non_dumpable` agora"),
            "{e}"
        );
    }

    #[test]
    fn what_varies_by_itself_is_masked() {
        let a = rec("casulo: contêiner ola (3f2a9c1d…)\ntrace: /var/lib/casulo/traces/ola-3f2a9c1d.trace.jsonl\npronto em 0,42 s, pid 4242\npid:[4026532301]");
        let b = rec("casulo: contêiner ola (77aa00ff…)\ntrace: /var/lib/casulo/traces/ola-77aa00ff.trace.jsonl\npronto em 1,07 s, pid 977\npid:[4026532999]");
        compare(&scenario(&[]), &a, &b).unwrap();
    }

    #[test]
    fn the_kernel_release_is_masked_busybox_version_is_not() {
        assert_eq!(
            mask(
                "kernel: 6.18.44-fc-v1045\n5.10.0-28-amd64\nv1.35.0 (1:1.35.0-4+deb12u1)",
                &[]
            ),
            "kernel: <kernel>\n<kernel>\nv1.35.0 (1:1.35.0-4+deb12u1)"
        );
    }

    #[test]
    fn ids_are_masked_numbers_are_not() {
        assert_eq!(
            mask_ids("veth3f2a9c1d (bae68409ed58) ola-12345678.trace sha256:0374d92fbf78"),
            "veth<hex> (<hex>) ola-<hex>.trace sha256:<hex>"
        );
        assert_eq!(mask_ids("memory.max = 67108864"), "memory.max = 67108864");
        assert_eq!(mask_ids("veth12345678"), "veth<hex>");
        // ps's first column, even when the id is all decimal by chance.
        assert_eq!(
            mask_ids("ID  NOME\n123456789012  bolo1\n67108864\n"),
            "ID  NOME\n<hex>  bolo1\n67108864\n"
        );
    }

    #[test]
    fn a_real_change_is_reported_with_its_line() {
        let a = rec("sou o PID 1\nlab");
        let b = rec("sou o PID 1\noutro");
        let e = compare(&scenario(&[]), &a, &b).unwrap_err();
        assert!(
            e.contains("linha 2") && e.contains("lab") && e.contains("outro"),
            "{e}"
        );
    }

    #[test]
    fn the_scenario_can_ignore_more() {
        let (a, b) = (rec("usa 1234 bytes"), rec("usa 999 bytes"));
        assert!(compare(&scenario(&[]), &a, &b).is_err());
        compare(&scenario(&[r"\d+ bytes"]), &a, &b).unwrap();
    }
}
