//! Target `trace`: any text through the trace reader (the visualizer and
//! `casulo trace` open files students pass around), and what is read
//! through everything that consumes it: the replay (the visualizer's
//! world), the narration and the catalog. A trace that was accepted must
//! also survive being written back and read again, unchanged.

use casulo_trace::narrate::{describe, narrate, narrate_header};
use casulo_trace::replay::Replay;
use casulo_trace::{catalog, read_trace};

pub fn fuzz(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(trace) = read_trace(text) else {
        return;
    };
    let _ = narrate_header(&trace.header);
    for e in &trace.events {
        let _ = narrate(e);
        let _ = describe(e);
        let kind = e.body.kind();
        assert!(
            catalog::title(kind).is_some(),
            "tipo {kind} sem título no catálogo"
        );
    }

    // Written back the way the recorder writes it, read again: the same
    // (not when lines of unknown kinds were skipped: their seqs are gaps).
    if trace.skipped.is_empty() {
        roundtrip(&trace);
    }

    let n = trace.events.len();
    let replay = Replay::new(trace.events);
    let _ = replay.world_at(n);
    let _ = replay.world_at(n / 2);
    let _ = replay.samples();
}

fn roundtrip(trace: &casulo_trace::Trace) {
    let mut out = serde_json::to_string(&trace.header).expect("header serializa");
    out.push('\n');
    for e in &trace.events {
        out.push_str(&serde_json::to_string(e).expect("evento serializa"));
        out.push('\n');
    }
    let again = match read_trace(&out) {
        Ok(t) => t,
        Err(e) => panic!("o trace lido, escrito de novo, não é mais aceito: {e}\n{out}"),
    };
    assert_eq!(again.header, trace.header);
    assert_eq!(again.events, trace.events);
}
