//! The reducer on the host: every move checked against a plain fold of
//! the same events (`World::apply` from the start), never against numbers
//! written here.

use std::rc::Rc;

use casulo_trace::replay::{World, CHECKPOINT_EVERY};
use casulo_trace::sample::{sample_events, sample_header};
use casulo_trace::{Event, EventBody, Outcome};

use super::{Action, Loaded, Model};

/// The sample trace (every kind), then `cgroup.sample`s up to `n` events:
/// long enough to cross several checkpoints.
fn events(n: usize) -> Vec<Event> {
    let mut events = sample_events();
    let mut t = events.last().map_or(0, |e| e.t_us);
    while events.len() < n {
        t += 1000;
        let i = events.len() as u64;
        events.push(Event {
            seq: i,
            t_us: t,
            pid: 4242,
            body: EventBody::CgroupSample {
                memory_bytes: Some(i * 4096),
                memory_peak_bytes: None,
                memory_limit_bytes: Some(64 << 20),
                pids: Some(1 + i % 5),
                pids_limit: Some(64),
                cpu_usage_us: Some(i * 10),
                cpu_throttled_us: None,
            },
            op: "read memory.usage_in_bytes".into(),
            outcome: Outcome::Ok,
        });
    }
    events.truncate(n);
    events
}

/// The world after the first `n` events, folded from nothing.
fn fold(events: &[Event], n: usize) -> World {
    let mut w = World::new();
    for e in &events[..n] {
        w.apply(e);
    }
    w
}

fn loaded(events: &[Event]) -> Rc<Loaded> {
    Rc::new(Loaded::new(
        "t.trace.jsonl",
        sample_header(),
        0,
        events.to_vec(),
    ))
}

/// The model with `events` open at the start.
fn opened(events: &[Event]) -> Model {
    Model::default().update(Action::Loaded(loaded(events), None))
}

fn params(pairs: &[(&str, &str)]) -> crate::embed::Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The model's world is the fold of its first `pos` events.
fn assert_world(m: &Model, events: &[Event]) {
    assert_eq!(*m.world, fold(events, m.pos), "world at {}", m.pos);
}

#[test]
fn seek_goes_anywhere_and_clamps_to_the_trace() {
    let ev = events(3 * CHECKPOINT_EVERY + 17);
    let mut m = opened(&ev);
    assert_eq!((m.pos, m.lo, m.hi), (0, 0, ev.len()));
    assert_world(&m, &ev);
    // Far forward (a checkpoint), near forward (applied), back, the ends.
    for n in [700, 701, 705, 300, 1, 0, ev.len(), 2 * CHECKPOINT_EVERY] {
        m = m.update(Action::Seek(n));
        assert_eq!(m.pos, n);
        assert_world(&m, &ev);
    }
    m = m.update(Action::Seek(ev.len() + 50));
    assert_eq!((m.pos, m.wanted), (ev.len(), None));
    // `#evento=N`: the position right after event N.
    m = m.update(Action::SeekSeq(41));
    assert_eq!(m.pos, 42);
    assert_world(&m, &ev);
}

#[test]
fn step_moves_one_event_and_stops_playback() {
    let ev = events(40);
    let mut m = opened(&ev).update(Action::TogglePlay);
    assert!(m.playing);
    m = m.update(Action::Step(1));
    assert_eq!((m.pos, m.playing), (1, false));
    assert_world(&m, &ev);
    m = m.update(Action::Step(-1)).update(Action::Step(-1));
    assert_eq!(m.pos, 0);
    m = m.update(Action::Seek(ev.len())).update(Action::Step(1));
    assert_eq!(m.pos, ev.len());
    assert_world(&m, &ev);
}

#[test]
fn playback_ticks_to_the_end_and_starts_over() {
    let ev = events(5);
    let mut m = opened(&ev).update(Action::TogglePlay);
    for i in 1..=ev.len() {
        m = m.update(Action::Tick);
        assert_eq!(m.pos, i);
        assert!(m.playing);
    }
    m = m.update(Action::Tick);
    assert!(!m.playing, "stops at the last event");
    // Play again from the end: from the start.
    m = m.update(Action::TogglePlay);
    assert_eq!((m.pos, m.playing), (0, true));
    assert_world(&m, &ev);
    // Nothing to play without a trace.
    assert!(!Model::default().update(Action::TogglePlay).playing);
}

#[test]
fn embed_mode_keeps_to_its_range() {
    let ev = events(60);
    let p = params(&[
        ("embed", "1"),
        ("trace", "x.jsonl"),
        ("de", "3"),
        ("ate", "12"),
    ]);
    let m0 = Model::from_params(&p);
    assert!(m0.compact && m0.embed.is_some());
    let mut m = m0.update(Action::Loaded(loaded(&ev), None));
    assert_eq!((m.lo, m.hi, m.pos), (4, 13, 4), "opened at `de`, applied");
    assert_world(&m, &ev);
    m = m.update(Action::Seek(0));
    assert_eq!(m.pos, 4);
    m = m.update(Action::Seek(50));
    assert_eq!(m.pos, 13);
    m = m.update(Action::Seek(12)).update(Action::TogglePlay);
    m = m.update(Action::Tick);
    assert_eq!((m.pos, m.playing), (13, true));
    m = m.update(Action::Tick);
    assert!(!m.playing, "stops at `ate`");
    m = m.update(Action::TogglePlay);
    assert_eq!(m.pos, 4, "played again from `de`");
    // A range outside the trace: the error, no trace.
    let p = params(&[("embed", "1"), ("trace", "x.jsonl"), ("de", "500")]);
    let m = Model::from_params(&p).update(Action::Loaded(loaded(&ev), None));
    assert!(m.trace.is_none());
    assert!(m.error.as_deref().is_some_and(|e| e.contains("500")));
}

#[test]
fn failures_keep_what_was_open_and_loading_clears_them() {
    let ev = events(10);
    let m = opened(&ev).update(Action::Seek(4));
    let m = m.update(Action::Failed("Não consegui abrir «y»: linha 3: …".into()));
    assert!(m.error.is_some() && m.loading.is_none());
    assert_eq!(m.pos, 4, "the trace open stays");
    assert!(m.trace.is_some());
    let m = m.update(Action::Loading("z".into()));
    assert_eq!(
        (m.error.as_deref(), m.loading.as_deref()),
        (None, Some("z"))
    );
}

#[test]
fn live_follows_the_newest_event_until_paused() {
    let ev = events(600);
    let mut m = Model::from_params(&params(&[("ao-vivo", "web1")]));
    let live = m.live.clone().expect("live mode");
    assert!(live.follow && m.loading.is_some());

    // The first events, then more folded onto the same replay.
    let mut t = Loaded::new("ao vivo: web1", sample_header(), 0, ev[..100].to_vec());
    m = m.update(Action::LiveUpdate(Rc::new(t.clone())));
    assert_eq!((m.pos, m.hi), (100, 100));
    assert!(m.loading.is_none());
    t.extend(ev[100..300].to_vec());
    m = m.update(Action::LiveUpdate(Rc::new(t.clone())));
    assert_eq!(m.pos, 300, "following: at the newest");
    assert_world(&m, &ev);

    // The teacher steps back: no longer following; new events keep the place.
    m = m.update(Action::Seek(50));
    assert!(!m.live.as_ref().unwrap().follow);
    t.extend(ev[300..450].to_vec());
    m = m.update(Action::LiveUpdate(Rc::new(t.clone())));
    assert_eq!((m.pos, m.hi), (50, 450));
    assert_world(&m, &ev);

    // "seguir": back to the newest, playback off.
    m = m.update(Action::TogglePlay).update(Action::ToggleFollow);
    assert!(m.live.as_ref().unwrap().follow && !m.playing);
    assert_eq!(m.pos, 450);
    assert_world(&m, &ev);
    // "pausar", and a step: stays paused.
    m = m.update(Action::ToggleFollow).update(Action::Step(-1));
    assert_eq!(m.pos, 449);
    t.extend(ev[450..].to_vec());
    m = m.update(Action::LiveUpdate(Rc::new(t)));
    assert_eq!((m.pos, m.hi), (449, 600));
}

#[test]
fn live_connection_lost_and_ended() {
    let mut m = Model::from_params(&params(&[("ao-vivo", "web1")]));
    m = m.update(Action::LiveLost);
    assert!(m.live.as_ref().unwrap().reconnecting);
    m = m.update(Action::LiveConnected);
    assert!(!m.live.as_ref().unwrap().reconnecting);
    m = m.update(Action::LiveEnded(Some(3)));
    assert_eq!(m.live.as_ref().unwrap().ended, Some(Some(3)));
    // After the end a dropped connection is no reconnection.
    m = m.update(Action::LiveLost);
    assert!(!m.live.as_ref().unwrap().reconnecting);
    // Not live: the live actions change nothing.
    let plain = Model::default().update(Action::LiveEnded(None));
    assert!(plain.live.is_none());
}

#[test]
fn a_trace_read_in_chunks_waits_for_positions_not_read_yet() {
    let ev = events(4 * CHECKPOINT_EVERY + 3);
    let n = ev.len();
    // The lines counted, the first chunk folded.
    let mut t = Loaded::start("big", sample_header(), n, 0, ev[..300].to_vec());
    assert!(t.is_loading());
    assert_eq!(t.seq_bounds(), Some((0, n as u64 - 1)), "the whole trace");
    let mut m = Model::default().update(Action::Loaded(Rc::new(t.clone()), None));
    assert_eq!((m.pos, m.hi), (0, n), "the scrubber spans the whole trace");

    // A scrub past what is read: at the last event read, the rest wanted.
    m = m.update(Action::Seek(n - 5));
    assert_eq!((m.pos, m.wanted), (300, Some(n - 5)));
    assert_world(&m, &ev);
    t.extend(ev[300..700].to_vec());
    m = m.update(Action::More(Rc::new(t.clone())));
    assert_eq!((m.pos, m.wanted), (700, Some(n - 5)));
    assert_world(&m, &ev);
    // A move inside what is read forgets the wish.
    m = m.update(Action::Seek(20));
    assert_eq!((m.pos, m.wanted), (20, None));
    m = m.update(Action::Seek(n));
    t.extend(ev[700..].to_vec());
    t.finish();
    assert!(!t.is_loading());
    m = m.update(Action::More(Rc::new(t.clone())));
    assert_eq!((m.pos, m.wanted), (n, None));
    assert_world(&m, &ev);

    // Read in chunks, the same as read at once.
    let whole = loaded(&ev);
    assert_eq!(t.marks, whole.marks);
    assert_eq!(*t.end, *whole.end);
    assert_eq!(t.max_memory, whole.max_memory);

    // More of another trace (this one was replaced): ignored.
    let other = Model::default().update(Action::Loaded(whole, None));
    let same = other.update(Action::More(Rc::new(t)));
    assert_eq!(same.pos, other.pos);
    assert!(Rc::ptr_eq(
        same.trace.as_ref().unwrap(),
        other.trace.as_ref().unwrap()
    ));
}

#[test]
fn a_link_to_an_event_not_read_yet_opens_there_when_it_is() {
    let ev = events(1000);
    let mut t = Loaded::start("big", sample_header(), ev.len(), 0, ev[..100].to_vec());
    let mut m = Model::default().update(Action::Loaded(Rc::new(t.clone()), Some(800)));
    assert_eq!((m.pos, m.wanted), (100, Some(801)));
    t.extend(ev[100..].to_vec());
    t.finish();
    m = m.update(Action::More(Rc::new(t)));
    assert_eq!((m.pos, m.wanted), (801, None));
    assert_world(&m, &ev);
}

#[test]
fn playback_waits_at_the_last_event_read() {
    let ev = events(50);
    let mut t = Loaded::start("big", sample_header(), ev.len(), 0, ev[..3].to_vec());
    let mut m = Model::default().update(Action::Loaded(Rc::new(t.clone()), None));
    m = m.update(Action::TogglePlay);
    for _ in 0..5 {
        m = m.update(Action::Tick);
    }
    assert_eq!(
        (m.pos, m.playing),
        (3, true),
        "waiting for more, still playing"
    );
    t.extend(ev[3..].to_vec());
    m = m.update(Action::More(Rc::new(t))).update(Action::Tick);
    assert!(m.pos > 3);
    assert_world(&m, &ev);
}

#[test]
fn a_wrong_line_in_a_later_chunk_drops_the_trace() {
    let ev = events(50);
    let t = Loaded::start("big", sample_header(), 500, 0, ev);
    let m = Model::default()
        .update(Action::Loaded(Rc::new(t), None))
        .update(Action::Seek(20))
        .update(Action::Broken(
            "Não consegui abrir «big»: linha 77: …".into(),
        ));
    assert!(m.trace.is_none());
    assert_eq!((m.pos, m.hi, m.wanted), (0, 0, None));
    assert!(m.error.as_deref().is_some_and(|e| e.contains("linha 77")));
    assert_eq!(*m.world, World::new());
}

#[test]
fn a_length_learnt_later_gives_the_same_marks() {
    // Read while downloading: the length is known only at the end.
    let ev = events(2000);
    let mut t = Loaded::start("big", sample_header(), usize::MAX, 0, ev[..500].to_vec());
    assert!(t.marks.is_empty());
    t.extend(ev[500..900].to_vec());
    t.set_total(ev.len());
    assert_eq!(t.total, ev.len());
    let whole = loaded(&ev);
    assert!(!t.marks.is_empty());
    assert_eq!(t.marks[..], whole.marks[..t.marks.len()]);
    t.extend(ev[900..].to_vec());
    t.finish();
    assert_eq!(t.marks, whole.marks);
}

#[test]
fn the_scene_stays_only_while_a_move_crosses_usage_samples() {
    let ev = events(3 * CHECKPOINT_EVERY);
    let first = sample_events().len();
    let mut m = opened(&ev);
    let mut moves = vec![];
    for n in [
        first + 10,
        first + 60,
        first + 400,
        first + 2,
        5,
        first + 1,
        first,
        ev.len(),
        1,
    ] {
        let before = (m.pos, m.scene);
        m = m.update(Action::Seek(n));
        assert_world(&m, &ev);
        moves.push((before, (m.pos, m.scene)));
    }
    for ((a, scene_a), (b, scene_b)) in moves {
        // The same scene: the two worlds differ only in what was counted.
        let (mut wa, wb) = (fold(&ev, a), fold(&ev, b));
        (wa.applied, wa.samples_seen) = (wb.applied, wb.samples_seen);
        let only_samples = ev[a.min(b).saturating_sub(1)..a.max(b)]
            .iter()
            .all(|e| matches!(e.body, EventBody::CgroupSample { .. }));
        assert_eq!(scene_a == scene_b, only_samples, "{a} → {b}");
        if scene_a == scene_b {
            assert_eq!(wa, wb, "{a} → {b}");
        }
    }
    // A new trace: a new scene, even at the same position.
    let scene = m.scene;
    let m = m.update(Action::Loaded(loaded(&ev), None));
    assert_ne!(m.scene, scene);
}
