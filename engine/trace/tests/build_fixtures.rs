//! The two build traces recorded from a real `casulo build` of
//! `tests/fixtures/build-context/` (see the fixtures' README): the first,
//! cold, ran every step; the second found every step in the cache.

use casulo_trace::{read_trace, EventBody};

const COLD: &str = include_str!("fixtures/build-cold.trace.jsonl");
const CACHED: &str = include_str!("fixtures/build-cached.trace.jsonl");

fn bodies(text: &str) -> Vec<EventBody> {
    let t = read_trace(text).unwrap_or_else(|e| panic!("fixture inválido: {e}"));
    assert!(t.skipped.is_empty(), "{:?}", t.skipped);
    assert_eq!(t.header.container.name, "build");
    assert_eq!(t.header.container.image, "busybox:latest");
    assert!(t.header.container.command.is_empty());
    t.events.into_iter().map(|e| e.body).collect()
}

fn image_id(b: &[EventBody]) -> String {
    match b.last() {
        Some(EventBody::BuildCommit {
            image_id, layers, ..
        }) => {
            assert_eq!(*layers, 3, "busybox + COPY + RUN");
            image_id.clone()
        }
        other => panic!("the last event is not build.commit: {other:?}"),
    }
}

#[test]
fn cold_build_runs_every_step_and_the_run_container_is_inside() {
    let b = bodies(COLD);
    assert!(matches!(b[0], EventBody::BuildStart { steps: 6, .. }));
    let steps: Vec<(u32, &str, bool)> = b
        .iter()
        .filter_map(|e| match e {
            EventBody::BuildStep {
                step,
                instruction,
                creates_layer,
                ..
            } => Some((*step, instruction.as_str(), *creates_layer)),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        [
            (1, "FROM", false),
            (2, "ENV", false),
            (3, "WORKDIR", false),
            (4, "COPY", true),
            (5, "RUN", true),
            (6, "CMD", false)
        ]
    );
    assert!(matches!(b[2], EventBody::BuildBase { ref diff_ids, .. } if diff_ids.len() == 1));
    assert!(!b
        .iter()
        .any(|e| matches!(e, EventBody::BuildCacheHit { .. })));
    let layers: Vec<u32> = b
        .iter()
        .filter_map(|e| match e {
            EventBody::BuildLayer { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(layers, [4, 5]);
    // The RUN's container: cloned, exec'd and reaped between step 5 and its layer.
    let pos = |pred: &dyn Fn(&EventBody) -> bool| b.iter().position(pred).unwrap();
    let run_step = pos(&|e| matches!(e, EventBody::BuildStep { step: 5, .. }));
    let clone = pos(&|e| matches!(e, EventBody::ProcessClone { .. }));
    let exit = pos(&|e| matches!(e, EventBody::ProcessExit { code: Some(0), .. }));
    let layer = pos(&|e| matches!(e, EventBody::BuildLayer { step: 5, .. }));
    assert!(run_step < clone && clone < exit && exit < layer);
    // What the RUN changed: /etc/motd written, /etc/hostname deleted.
    assert!(b
        .iter()
        .any(|e| matches!(e, EventBody::LayerUpper { deleted: 1, .. })));
    image_id(&b);
}

#[test]
fn cached_build_hits_every_step_and_gives_the_same_image() {
    let b = bodies(CACHED);
    let hits: Vec<(u32, bool)> = b
        .iter()
        .filter_map(|e| match e {
            EventBody::BuildCacheHit { step, diff_id, .. } => Some((*step, diff_id.is_some())),
            _ => None,
        })
        .collect();
    assert_eq!(
        hits,
        [(2, false), (3, false), (4, true), (5, true), (6, false)]
    );
    assert!(!b.iter().any(|e| matches!(
        e,
        EventBody::BuildLayer { .. } | EventBody::ProcessClone { .. }
    )));
    assert_eq!(image_id(&b), image_id(&bodies(COLD)));
}
