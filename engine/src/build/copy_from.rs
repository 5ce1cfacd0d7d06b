//! `COPY --from=X`: the filesystem of the earlier stage X, or of the image
//! X of the store, merged into a temporary directory COPY reads from (and
//! never leaves: its [`step_copy::Fence`] names it in the messages).

use super::dockerfile::{Dockerfile, Instruction};
use super::plan::stage_list;
use super::stage::Stage;
use super::step::StepEnv;
use super::{engine_error, stage_root, step_copy, step_error, unpack_image, BuildError};
use crate::image::{ImageError, Store};
use crate::state::StateDir;

/// What a `COPY --from` reads.
pub(super) struct Source {
    /// The merged filesystem (removed on drop).
    pub root: stage_root::StageRoot,
    pub fence: step_copy::Fence,
    /// Its part of the step's cache key.
    pub key: String,
    /// How the trace names it: the stage's name (or number), or the image.
    pub name: String,
}

pub(super) fn source(
    state: &StateDir,
    store: &Store,
    df: &Dockerfile,
    inst: &Instruction,
    stage: &Stage,
    env: &StepEnv,
    from: &str,
) -> Result<Source, BuildError> {
    let found = df
        .stage_ref(stage.index, from)
        .map_err(|m| step_error(df, inst, format!("COPY --from={from}: {m}")))?;
    let (image, place, key, name) = match found {
        Some(i) => {
            let src = env.stages.get(&i).expect("needed stages are built first");
            let label = df.stage_label(i);
            (
                src.image(vec![]),
                format!("estágio {label}"),
                format!("stage {}", src.key),
                label,
            )
        }
        None => {
            let image = store.resolve(from).map_err(|e| {
                step_error(
                    df,
                    inst,
                    format!(
                        "COPY --from={from}: não é um estágio anterior ({}) nem uma imagem do armazém: {e}",
                        stage_list(df)
                    ),
                )
            })?;
            let key = format!("image {}", image.id);
            (image, format!("imagem {from}"), key, from.to_string())
        }
    };
    let lowers =
        unpack_image(state, &image, &env.trace.rec).map_err(|e| engine_error(df, inst, e))?;
    let dir = state
        .tmp()
        .join(format!("copy-from-{}-{}", &env.build_id[..8], inst.line));
    let root = stage_root::merge(&lowers, &dir)
        .map_err(|e| engine_error(df, inst, ImageError::io(&dir, e)))?;
    Ok(Source {
        root,
        fence: step_copy::Fence {
            short: place.clone(),
            long: place,
        },
        key,
        name,
    })
}
