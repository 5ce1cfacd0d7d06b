//! Two traces side by side: events aligned by kind (longest common
//! subsequence of the kind sequences), so "the same run with and without
//! `--memory`" lines up and what differs stands out.

use casulo_trace::Event;

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
    let ka: Vec<&str> = a.iter().map(|e| e.body.kind()).collect();
    let kb: Vec<&str> = b.iter().map(|e| e.body.kind()).collect();
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

fn lcs(a: &[&str], b: &[&str]) -> Vec<(usize, usize)> {
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
fn greedy(a: &[&str], b: &[&str]) -> Vec<(usize, usize)> {
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

fn similar(a: &Event, b: &Event) -> bool {
    a.outcome.is_ok() == b.outcome.is_ok() && skeleton(&a.op) == skeleton(&b.op)
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
        let ka: Vec<&str> = a.events.iter().map(|e| e.body.kind()).collect();
        let kb: Vec<&str> = b.events.iter().map(|e| e.body.kind()).collect();
        for (i, j) in greedy(&ka, &kb) {
            assert_eq!(ka[i], kb[j]);
        }
    }
}
