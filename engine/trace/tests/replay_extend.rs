//! `Replay::extend` (the live view's incremental fold) against
//! `Replay::new` of the same events: whatever the batch sizes, the same
//! checkpoints, samples and end world — on the recorded fixtures and on a
//! synthetic 100k-event trace made of all of them.

use casulo_trace::replay::{Replay, CHECKPOINT_EVERY};
use casulo_trace::{read_trace, sample, Event, Reader};

const FIXTURES: [&str; 10] = [
    include_str!("fixtures/run-echo.trace.jsonl"),
    include_str!("fixtures/run-not-found.trace.jsonl"),
    include_str!("fixtures/run-exit-3.trace.jsonl"),
    include_str!("fixtures/run-oom.trace.jsonl"),
    include_str!("fixtures/run-network.trace.jsonl"),
    include_str!("fixtures/build-cold.trace.jsonl"),
    include_str!("fixtures/build-cached.trace.jsonl"),
    include_str!("fixtures/run-userns.trace.jsonl"),
    include_str!("fixtures/run-exec.trace.jsonl"),
    include_str!("fixtures/run-connect.trace.jsonl"),
];

/// A small deterministic generator (xorshift64*): the batch sizes.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }
}

fn events(text: &str) -> Vec<Event> {
    read_trace(text).expect("fixture").events
}

/// Extends in random batches of 1..=max events.
fn extended(events: &[Event], seed: u64, max: usize) -> Replay {
    let mut rng = Rng(seed);
    let mut r = Replay::default();
    let mut i = 0;
    while i < events.len() {
        let n = (1 + rng.below(max)).min(events.len() - i);
        r.extend(events[i..i + n].iter().cloned());
        i += n;
    }
    r
}

/// Same events, samples, checkpoints (every world `world_at` starts from)
/// and end world; and a few positions in between.
fn assert_same(a: &Replay, b: &Replay, what: &str) {
    assert_eq!(a.events(), b.events(), "{what}: events");
    assert_eq!(a.samples(), b.samples(), "{what}: samples");
    assert_eq!(a.end(), b.end(), "{what}: end");
    assert_eq!(a.world_at(a.len()), *a.end(), "{what}: world_at(len)");
    for n in (0..a.len()).step_by(CHECKPOINT_EVERY) {
        assert_eq!(a.world_at(n), b.world_at(n), "{what}: checkpoint at {n}");
    }
    for n in [1, a.len() / 3, a.len().saturating_sub(1)] {
        assert_eq!(a.world_at(n), b.world_at(n), "{what}: at {n}");
    }
}

#[test]
fn extend_in_random_batches_is_new_on_every_fixture() {
    let mut all: Vec<Vec<Event>> = FIXTURES.iter().map(|t| events(t)).collect();
    all.push(sample::sample_events());
    for (i, evs) in all.iter().enumerate() {
        let whole = Replay::new(evs.clone());
        for seed in 1..=20u64 {
            let max = [1, 3, 50, 300][seed as usize % 4];
            assert_same(
                &extended(evs, seed, max),
                &whole,
                &format!("trace {i}, seed {seed}"),
            );
        }
    }
}

/// All the fixtures one after the other, renumbered, until `n` events: every
/// kind the replay folds, builds and runs mixed, many checkpoints.
fn synthetic(n: usize) -> Vec<Event> {
    let pool: Vec<Event> = FIXTURES.iter().flat_map(|t| events(t)).collect();
    let mut t_us = 0;
    (0..n)
        .map(|i| {
            let mut e = pool[i % pool.len()].clone();
            t_us += 7;
            (e.seq, e.t_us) = (i as u64, t_us);
            e
        })
        .collect()
}

#[test]
fn extend_in_random_batches_is_new_on_100k_events() {
    let evs = synthetic(100_000);
    let whole = Replay::new(evs.clone());
    assert_eq!(whole.len(), 100_000);
    for (seed, max) in [(7u64, 50usize), (8, 1000), (9, 1)] {
        assert_same(
            &extended(&evs, seed, max),
            &whole,
            &format!("100k, seed {seed}"),
        );
    }
}

#[test]
fn reader_line_by_line_is_read_trace() {
    for text in FIXTURES {
        let whole = read_trace(text).unwrap();
        let mut lines = text.lines();
        let mut reader = Reader::new(lines.next().unwrap()).unwrap();
        let mut got = vec![];
        for (i, l) in lines.enumerate() {
            reader.line(l).unwrap();
            if i % 7 == 0 {
                got.extend(reader.take_events());
            }
        }
        got.extend(reader.take_events());
        assert_eq!(got, whole.events);
        assert_eq!(reader.skipped(), whole.skipped.as_slice());
    }
}

#[test]
fn reader_line_names_the_line_of_a_gap() {
    let text = FIXTURES[0];
    let mut lines = text.lines();
    let mut reader = Reader::new(lines.next().unwrap()).unwrap();
    reader.line(lines.next().unwrap()).unwrap();
    lines.next();
    let e = reader.line(lines.next().unwrap()).unwrap_err();
    assert_eq!(e.line, 3);
    assert!(e.message.contains("falta um evento"), "{e}");
}
