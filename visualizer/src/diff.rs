//! Two traces side by side: events aligned by kind (longest common
//! subsequence of the kind sequences), so "the same run with and without
//! `--memory`" lines up and what differs stands out. A build step's result
//! (a new layer or a cache hit) aligns with the same step's result on the
//! other side, so a cold and a cached build differ row by row; and
//! [`summary`] says in words what the two final worlds differ in.

use casulo_trace::replay::{SortedMap, StepResult, World};
use casulo_trace::{Event, EventBody};

use crate::format::{bytes, mib, short_digest};

/// One row of the side-by-side view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// Same kind on both sides; `same` when the operation and outcome match
    /// once host-specific numbers (pids, paths, inodes) are ignored.
    Both {
        a: usize,
        b: usize,
        same: bool,
    },
    OnlyA(usize),
    OnlyB(usize),
}

/// Above this many cells the LCS table is not built: traces are compared
/// greedily by kind instead (fast, less exact).
const MAX_CELLS: usize = 4_000_000;

/// Aligns `a` and `b` by event kind.
pub fn align(a: &[Event], b: &[Event]) -> Vec<Row> {
    let ka: Vec<Key> = a.iter().map(key).collect();
    let kb: Vec<Key> = b.iter().map(key).collect();
    let pairs = if (ka.len() + 1) * (kb.len() + 1) <= MAX_CELLS {
        lcs(&ka, &kb)
    } else {
        greedy(&ka, &kb)
    };
    let mut rows = vec![];
    let (mut i, mut j) = (0, 0);
    for (pi, pj) in pairs {
        rows.extend((i..pi).map(Row::OnlyA));
        rows.extend((j..pj).map(Row::OnlyB));
        rows.push(Row::Both {
            a: pi,
            b: pj,
            same: similar(&a[pi], &b[pj]),
        });
        (i, j) = (pi + 1, pj + 1);
    }
    rows.extend((i..a.len()).map(Row::OnlyA));
    rows.extend((j..b.len()).map(Row::OnlyB));
    rows
}

/// What the alignment compares: the kind, and for build events the step.
type Key = (&'static str, u32);

/// The kind, except that a step's result (new layer or cache hit) is one
/// thing, and build events carry their step number: step N lines up with
/// step N, and "layer here, cache there" is a row marked different.
fn key(e: &Event) -> Key {
    match &e.body {
        EventBody::BuildStep { step, .. } => ("build.step", *step),
        EventBody::BuildLayer { step, .. } | EventBody::BuildCacheHit { step, .. } => {
            ("build.result", *step)
        }
        body => (body.kind(), 0),
    }
}

fn lcs(a: &[Key], b: &[Key]) -> Vec<(usize, usize)> {
    let (n, m) = (a.len(), b.len());
    // table[i][j] = LCS length of a[i..] and b[j..]
    let mut table = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[at(i, j)] = if a[i] == b[j] {
                table[at(i + 1, j + 1)] + 1
            } else {
                table[at(i + 1, j)].max(table[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut pairs = vec![];
    while i < n && j < m {
        if a[i] == b[j] {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if table[at(i + 1, j)] >= table[at(i, j + 1)] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

/// Pairs each event of `a` with the next event of the same kind in `b`
/// within a small window.
fn greedy(a: &[Key], b: &[Key]) -> Vec<(usize, usize)> {
    let mut pairs = vec![];
    let mut j = 0;
    for (i, k) in a.iter().enumerate() {
        if let Some(off) = b[j.min(b.len())..].iter().take(64).position(|x| x == k) {
            pairs.push((i, j + off));
            j += off + 1;
        }
    }
    pairs
}

/// The operation with digits removed: pids, inodes and ids differ between
/// any two runs and say nothing.
fn skeleton(s: &str) -> String {
    s.chars().filter(|c| !c.is_ascii_hexdigit()).collect()
}

/// The numbers of an event that are the point of it (a limit written, an
/// exit code), which [`skeleton`] would otherwise throw away with the pids.
fn meaning(e: &Event) -> Option<String> {
    match &e.body {
        EventBody::CgroupLimit { file, value, .. } => Some(format!(
            "{}={value}",
            file.rsplit('/').next().unwrap_or(file)
        )),
        EventBody::CgroupPidsMax { limit, .. } => Some(limit.to_string()),
        // A freeze and a thaw are not the same step.
        EventBody::CgroupFreeze { frozen, .. } => Some(frozen.to_string()),
        EventBody::CgroupOom { limit_bytes, .. } => Some(format!("{limit_bytes:?}")),
        EventBody::ProcessExit { code, signal, .. } => Some(format!("{code:?} {signal:?}")),
        EventBody::ProcessExec { argv, .. } => Some(argv.join("\0")),
        _ => None,
    }
}

fn similar(a: &Event, b: &Event) -> bool {
    a.body.kind() == b.body.kind()
        && a.outcome.is_ok() == b.outcome.is_ok()
        && skeleton(&a.op) == skeleton(&b.op)
        && meaning(a) == meaning(b)
}

/// A limit's value for people: bytes also in MiB.
fn limit_text(file: &str, value: &str) -> String {
    match value.parse::<u64>() {
        Ok(n) if file.starts_with("memory.") && n >= 1 << 20 => mib(n),
        _ => value.to_string(),
    }
}

/// Every limit written in a world: file name → value.
fn limits(w: &World) -> SortedMap<&str, &str> {
    w.cgroups
        .values()
        .flat_map(|c| c.limits.iter().map(|(f, v)| (f.as_str(), v.as_str())))
        .collect()
}

/// How the container's process ended, in a few words.
fn exit_text(w: &World) -> String {
    match w.init().map(|i| &i.exit) {
        None => "nenhum contêiner".into(),
        Some(None) => "o processo não terminou no trace".into(),
        Some(Some(x)) => match (&x.code, &x.signal_name) {
            (Some(c), _) => format!("terminou com código {c}"),
            (None, Some(s)) => format!("morto por {s}"),
            _ => "terminou".into(),
        },
    }
}

/// Limits, OOM kills and the exit that differ between the two worlds.
fn resources_summary(a: &World, b: &World, out: &mut Vec<String>) {
    let (la, lb) = (limits(a), limits(b));
    let files: SortedMap<&str, ()> = la.keys().chain(lb.keys()).map(|f| (*f, ())).collect();
    for &f in files.keys() {
        let text = |v: Option<&&str>| match v {
            Some(v) => limit_text(f, v),
            None => "sem limite".into(),
        };
        let (va, vb) = (la.get(f), lb.get(f));
        if va != vb {
            out.push(format!("Limite {f}: A {}; B {}.", text(va), text(vb)));
        }
    }
    let ooms = |w: &World| w.cgroups.values().map(|c| c.oom_kills).sum::<u64>();
    let (oa, ob) = (ooms(a), ooms(b));
    if oa != ob {
        let text = |n: u64| match n {
            0 => "nenhum".to_string(),
            1 => "1 processo morto pelo kernel".to_string(),
            n => format!("{n} processos mortos pelo kernel"),
        };
        out.push(format!(
            "Falta de memória (OOM): em A {}; em B {}.",
            text(oa),
            text(ob)
        ));
    }
    let (xa, xb) = (exit_text(a), exit_text(b));
    if xa != xb {
        out.push(format!("Fim do processo: em A {xa}; em B {xb}."));
    }
}

/// What a step's result was, in a few words.
fn result_text(r: &StepResult) -> String {
    match r {
        StepResult::Running => "não terminou".into(),
        StepResult::CacheHit { .. } => "usou o cache".into(),
        StepResult::NewLayer { bytes: b, .. } => format!("fez uma camada nova ({})", bytes(*b)),
        StepResult::ConfigOnly => "só mudou a configuração".into(),
    }
}

/// The network of a world, in a few words.
fn network_text(w: &World) -> String {
    let net = &w.network;
    if !net.is_bridged() {
        return "sem rede bridge (só lo)".into();
    }
    let mut parts = vec![];
    if let Some(b) = net.bridges.last() {
        parts.push(format!("bridge {} {}", b.name, b.address));
    }
    if let Some(v) = net.veth() {
        let addr = net
            .addrs_of(&v.container_ifname, true)
            .last()
            .map(|a| format!(" {}", a.address))
            .unwrap_or_default();
        parts.push(format!("veth até {}{addr}", v.container_ifname));
    }
    for p in &net.ports {
        parts.push(format!("porta {}→{}", p.host_port, p.container_port));
    }
    format!("rede bridge ({})", parts.join(", "))
}

/// What differs between the two traces' final worlds, one sentence a line:
/// each build step whose result differs, the images, the limits, the OOM
/// kills, how the process ended, the network.
pub fn summary(a: &World, b: &World) -> Vec<String> {
    let mut out = vec![];
    match (&a.build, &b.build) {
        (Some(ba), Some(bb)) => {
            for sa in &ba.steps {
                let Some(sb) = bb.step(sa.step) else { continue };
                let (ra, rb) = (result_text(&sa.result), result_text(&sb.result));
                if ra != rb {
                    out.push(format!(
                        "Passo {} ({} {}): em A {ra}; em B {rb}.",
                        sa.step, sa.instruction, sa.args
                    ));
                }
            }
            let (ha, hb) = (ba.cache_hits(), bb.cache_hits());
            if ha != hb {
                out.push(format!("Passos que vieram do cache: {ha} em A, {hb} em B."));
            }
            if let (Some(ca), Some(cb)) = (&ba.commit, &bb.commit) {
                // "The same image" is news only when the steps differed.
                if ca.image_id == cb.image_id && !out.is_empty() {
                    out.push(format!(
                        "Mesmo assim, as duas geraram a mesma imagem ({}).",
                        short_digest(&ca.image_id)
                    ));
                } else if ca.image_id != cb.image_id {
                    out.push(format!(
                        "Imagens diferentes: A {} · B {}.",
                        short_digest(&ca.image_id),
                        short_digest(&cb.image_id)
                    ));
                }
            }
        }
        (Some(_), None) => out.push("Só A é um build.".into()),
        (None, Some(_)) => out.push("Só B é um build.".into()),
        (None, None) => {}
    }
    resources_summary(a, b, &mut out);
    let (na, nb) = (network_text(a), network_text(b));
    if na != nb {
        out.push(format!("Rede: A {na}; B {nb}."));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use casulo_trace::{read_trace, sample};

    #[test]
    fn identical_traces_align_one_to_one() {
        let ev = sample::sample_events();
        let rows = align(&ev, &ev);
        assert_eq!(rows.len(), ev.len());
        assert!(rows
            .iter()
            .all(|r| matches!(r, Row::Both { same: true, .. })));
    }

    #[test]
    fn extra_events_on_one_side() {
        let a = sample::sample_events();
        let mut b = a.clone();
        // b has no cgroup events (a run without --memory).
        b.retain(|e| !e.body.kind().starts_with("cgroup."));
        let rows = align(&a, &b);
        let only_a = rows.iter().filter(|r| matches!(r, Row::OnlyA(_))).count();
        assert_eq!(only_a, a.len() - b.len());
        assert!(!rows.iter().any(|r| matches!(r, Row::OnlyB(_))));
    }

    #[test]
    fn two_real_runs() {
        let echo = include_str!("../../engine/trace/tests/fixtures/run-echo.trace.jsonl");
        let nf = include_str!("../../engine/trace/tests/fixtures/run-not-found.trace.jsonl");
        let (a, b) = (read_trace(echo).unwrap(), read_trace(nf).unwrap());
        let rows = align(&a.events, &b.events);
        // The echo run unpacked the layer, the other reused it; only the
        // echo run got to execve.
        assert!(rows
            .iter()
            .any(|r| matches!(r, Row::OnlyA(i) if a.events[*i].body.kind() == "process.exec")));
        assert!(rows
            .iter()
            .any(|r| matches!(r, Row::OnlyA(i) if a.events[*i].body.kind() == "layer.unpack")));
        // The namespace events line up.
        let both_ns = rows
            .iter()
            .filter(|r| matches!(r, Row::Both { a: i, .. } if a.events[*i].body.kind() == "namespace.create"))
            .count();
        assert_eq!(both_ns, 6);
        // Greedy fallback gives a valid alignment too.
        let ka: Vec<Key> = a.events.iter().map(key).collect();
        let kb: Vec<Key> = b.events.iter().map(key).collect();
        for (i, j) in greedy(&ka, &kb) {
            assert_eq!(ka[i], kb[j]);
        }
    }

    /// A cold build and the same build cached: at step 2 the new layer
    /// faces the cache hit, on one row marked different; the summary says so.
    #[test]
    fn cold_and_cached_builds() {
        use casulo_trace::replay::Replay;
        let builds: Vec<Event> = sample::sample_events()
            .into_iter()
            .filter(|e| e.body.kind().starts_with("build."))
            .collect();
        let cached = builds.clone();
        let cold: Vec<Event> = builds
            .into_iter()
            .map(|mut e| {
                if let EventBody::BuildCacheHit { step, .. } = e.body {
                    e.body = EventBody::BuildLayer {
                        step,
                        diff_id: "sha256:aa".into(),
                        bytes: 2048,
                        files: 2,
                        created_by: "RUN echo oi > /oi.txt".into(),
                    };
                    e.op = "write blob".into();
                }
                e
            })
            .collect();
        let rows = align(&cold, &cached);
        let differ: Vec<_> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Both { a, b, same: false } => {
                    Some((cold[*a].body.kind(), cached[*b].body.kind()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(differ, [("build.layer", "build.cache_hit")]);
        // The build.layer of step 3 (no cache hit on the other side) is only A's.
        assert!(rows.iter().all(|r| !matches!(r, Row::OnlyA(_) | Row::OnlyB(_))
            || matches!(r, Row::OnlyA(i) | Row::OnlyB(i) if cold.get(*i).is_some_and(|e| e.body.kind() == "build.layer"))));

        let end = |ev: Vec<Event>| {
            let r = Replay::new(ev);
            r.world_at(r.len())
        };
        let s = summary(&end(cold), &end(cached));
        assert_eq!(
            s[0],
            "Passo 2 (RUN echo oi > /oi.txt): em A fez uma camada nova (2 KiB); em B usou o cache."
        );
        assert_eq!(s[1], "Passos que vieram do cache: 0 em A, 1 em B.");
        assert!(
            s[2].starts_with("Mesmo assim, as duas geraram a mesma imagem"),
            "{s:?}"
        );
    }

    /// The same run with `--memory 32m` and `64m`: the limit rows differ
    /// (not "equal" because digits are ignored), and the summary says the
    /// two limits, the OOM only in A and how each process ended.
    #[test]
    fn memory_32m_against_64m() {
        use casulo_trace::replay::Replay;
        let oom = include_str!("../../engine/trace/tests/fixtures/run-oom.trace.jsonl");
        let a = read_trace(oom).unwrap().events;
        let b: Vec<Event> = read_trace(&oom.replace("33554432", "67108864"))
            .unwrap()
            .events
            .into_iter()
            .filter(|e| e.body.kind() != "cgroup.oom")
            .map(|mut e| {
                if let EventBody::ProcessExit {
                    code,
                    signal,
                    signal_name,
                    ..
                } = &mut e.body
                {
                    (*code, *signal, *signal_name) = (Some(0), None, None);
                }
                e
            })
            .collect();
        let rows = align(&a, &b);
        let differ: Vec<&str> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Both {
                    a: i, same: false, ..
                } => Some(a[*i].body.kind()),
                _ => None,
            })
            .collect();
        assert!(differ.contains(&"cgroup.limit"), "{differ:?}");
        assert!(differ.contains(&"process.exit"), "{differ:?}");
        let end = |ev: Vec<Event>| {
            let r = Replay::new(ev);
            r.world_at(r.len())
        };
        let s = summary(&end(a), &end(b));
        assert_eq!(
            s,
            [
                "Limite memory.limit_in_bytes: A 32 MiB; B 64 MiB.",
                "Falta de memória (OOM): em A 1 processo morto pelo kernel; em B nenhum.",
                "Fim do processo: em A morto por SIGKILL; em B terminou com código 0.",
            ]
        );
    }

    #[test]
    fn with_and_without_network() {
        use casulo_trace::replay::Replay;
        let with = sample::sample_events();
        let without: Vec<Event> = with
            .iter()
            .filter(|e| !e.body.kind().starts_with("net.") || e.body.kind() == "net.link_up")
            .cloned()
            .collect();
        let rows = align(&with, &without);
        let only_a: Vec<&str> = rows
            .iter()
            .filter_map(|r| match r {
                Row::OnlyA(i) => Some(with[*i].body.kind()),
                _ => None,
            })
            .collect();
        assert_eq!(only_a.len(), 12, "{only_a:?}");
        assert!(only_a.iter().all(|k| k.starts_with("net.")));
        let end = |ev: Vec<Event>| {
            let r = Replay::new(ev);
            r.world_at(r.len())
        };
        let s = summary(&end(with.clone()), &end(without));
        assert_eq!(
            s,
            ["Rede: A rede bridge (bridge casulo0 10.88.0.1/16, veth até eth0 10.88.0.5/16, porta 8080→80); B sem rede bridge (só lo)."]
        );
        assert!(summary(&end(with.clone()), &end(with)).is_empty());
    }
}
