//! How much a live trace costs per batch of events, folded again from the
//! text (what the live view did) or extended (`Reader` + `Replay::extend`,
//! what it does now, plus the copy it hands to the page).
//!
//! `cargo run --release -p casulo-trace --example replay_batches -- N BATCH`
//! prints one JSON object; `cargo xtask bench ao-vivo` runs it for 10k and
//! 100k events in batches of 50 and keeps the figures.

use std::time::Instant;

use casulo_trace::replay::Replay;
use casulo_trace::{read_trace, Event, EventBody, Outcome, Reader};

const ECHO: &str = include_str!("../tests/fixtures/run-echo.trace.jsonl");

/// The echo fixture, then `cgroup.sample`s up to `n` events (like the
/// visualizer bench's big trace), as lines.
fn lines(n: usize) -> (String, Vec<String>) {
    let trace = read_trace(ECHO).expect("fixture");
    let mut events = trace.events;
    let pid = events[0].pid;
    let mut t = events.last().map_or(0, |e| e.t_us);
    while events.len() < n {
        let i = events.len();
        t += 1000;
        events.push(Event {
            seq: i as u64,
            t_us: t,
            pid,
            body: EventBody::CgroupSample {
                memory_bytes: Some((i as u64 * 4096) % (256 << 20)),
                memory_peak_bytes: None,
                memory_limit_bytes: Some(256 << 20),
                pids: Some(1 + (i % 7) as u64),
                pids_limit: Some(64),
                cpu_usage_us: Some(i as u64 * 300),
                cpu_throttled_us: None,
            },
            op: "read /sys/fs/cgroup/memory/casulo/grande/memory.usage_in_bytes".into(),
            outcome: Outcome::Ok,
        });
    }
    let header = serde_json::to_string(&trace.header).expect("header");
    let lines = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("event"))
        .collect();
    (header, lines)
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("N BATCH"))
        .collect();
    let (n, batch) = (
        args.first().copied().unwrap_or(100_000),
        args.get(1).copied().unwrap_or(50),
    );
    let (header, lines) = lines(n);

    // Now: each batch read line by line, folded onto the last, and copied.
    let mut reader = Reader::new(&header).expect("header");
    let mut replay = Replay::default();
    let (mut extend_ms, mut with_copy_ms) = (vec![], vec![]);
    for chunk in lines.chunks(batch) {
        let start = Instant::now();
        for l in chunk {
            reader.line(l).expect("line");
        }
        replay.extend(reader.take_events());
        extend_ms.push(ms(start));
        let copy = Instant::now();
        let page = replay.clone();
        with_copy_ms.push(extend_ms.last().unwrap() + ms(copy));
        drop(page);
    }
    assert_eq!(replay.len(), n);

    // Before: the whole text read and folded again, measured at 20 points
    // along the trace (every batch would take minutes on 100k events).
    let mut text = header.clone() + "\n";
    let mut before = vec![];
    let step = (n / batch / 20).max(1);
    for (b, chunk) in lines.chunks(batch).enumerate() {
        for l in chunk {
            text.push_str(l);
            text.push('\n');
        }
        if (b + 1) % step == 0 || (b + 1) * batch >= n {
            let start = Instant::now();
            let r = Replay::new(read_trace(&text).expect("trace").events);
            before.push((r.len(), ms(start)));
        }
    }
    let at_end_before = before.last().unwrap().1;
    let total_before: f64 = before.iter().map(|b| b.1).sum::<f64>() * step as f64;
    let last = |v: &[f64]| *v.last().unwrap();
    let out = serde_json::json!({
        "events": n,
        "batch": batch,
        "batches": extend_ms.len(),
        "rebuild_ms_at_end": at_end_before,
        "rebuild_ms_total_estimated": total_before,
        "rebuild_ms_along": before,
        "extend_ms_median": quantile(&mut extend_ms.clone(), 0.5),
        "extend_ms_p90": quantile(&mut extend_ms.clone(), 0.9),
        "extend_ms_at_end": last(&extend_ms),
        "extend_ms_total": extend_ms.iter().sum::<f64>(),
        "extend_and_copy_ms_median": quantile(&mut with_copy_ms.clone(), 0.5),
        "extend_and_copy_ms_at_end": last(&with_copy_ms),
        "extend_and_copy_ms_total": with_copy_ms.iter().sum::<f64>(),
    });
    println!("{out}");
}
