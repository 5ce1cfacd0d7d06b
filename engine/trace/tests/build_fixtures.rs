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

/// `build-multistage.trace.jsonl`: `build-multistage-context/`, three FROMs;
/// the last stage copies one file from `compilador` and never uses
/// `testes`, which is skipped.
const MULTI: &str = include_str!("fixtures/build-multistage.trace.jsonl");

#[test]
fn multistage_build_replays_its_stages_and_the_image_is_the_last_one() {
    use casulo_trace::replay::{Replay, StepResult};
    let t = read_trace(MULTI).unwrap();
    assert!(t.skipped.is_empty(), "{:?}", t.skipped);
    let replay = Replay::new(t.events);
    let world = replay.world_at(replay.len());
    let b = world.build.as_ref().expect("a build");
    assert!(b.is_multistage());
    // Two stages ran (0 and 2); `testes` (1) was skipped: no FROM of it.
    let stages: Vec<(Option<&str>, Option<u32>, &str)> = b
        .stages
        .iter()
        .map(|s| (s.stage.as_deref(), s.stage_index, s.image.as_str()))
        .collect();
    assert_eq!(
        stages,
        [
            (Some("compilador"), Some(0), "busybox"),
            (Some("2"), Some(2), "busybox")
        ]
    );
    assert!(!b.steps.iter().any(|s| s.args.contains("nunca roda")));
    assert_eq!(b.total, 7);
    // compilador: busybox + COPY + RUN; the last stage: busybox + COPY --from.
    let first = b.stage_layers(&b.stages[0]);
    let last = b.stage_layers(b.final_stage().unwrap());
    assert_eq!(first.len(), 3);
    assert_eq!(last.len(), 2);
    assert_eq!(first[0], last[0], "both start from busybox's layer");
    assert!(!last.contains(&first[1]) && !last.contains(&first[2]));
    // The COPY --from step names its source stage; it made a new layer.
    let copy = b
        .steps
        .iter()
        .find(|s| s.copy_from.is_some())
        .expect("a COPY --from");
    assert_eq!(copy.copy_from.as_deref(), Some("compilador"));
    assert_eq!(copy.stage_index, Some(2));
    assert!(matches!(copy.result, StepResult::NewLayer { .. }));
    // The image: the last stage's layers only.
    assert_eq!(b.new_layers().count(), 1);
    assert_eq!(b.commit.as_ref().unwrap().layers as usize, last.len());
    // Steps are numbered over what ran, each in its stage.
    let per_stage: Vec<(u32, Option<u32>)> =
        b.steps.iter().map(|s| (s.step, s.stage_index)).collect();
    assert_eq!(
        per_stage,
        [
            (1, Some(0)),
            (2, Some(0)),
            (3, Some(0)),
            (4, Some(0)),
            (5, Some(2)),
            (6, Some(2)),
            (7, Some(2))
        ]
    );
    // Old traces (no stage fields) are one-stage builds.
    let old = Replay::new(read_trace(COLD).unwrap().events);
    let old = old.world_at(old.len());
    let ob = old.build.as_ref().unwrap();
    assert!(!ob.is_multistage());
    assert_eq!(ob.stages.len(), 1);
    assert_eq!(ob.new_layers().count(), 2);
}
