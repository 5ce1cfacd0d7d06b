//! Before any step runs: the ARGs before the first FROM, which stages the
//! target needs (the others are skipped, as BuildKit does), the base image
//! of each, and the ONBUILD triggers those bases carry.
//!
//! Everything here is looked up before anything is written, so a typo in
//! a FROM fails the build with nothing left behind.

use std::collections::BTreeMap;

use super::dockerfile::{self, Dockerfile, Instruction, Op};
use super::{expand, step_error, BuildError, BuildObserver};
use crate::image::oci::ConfigFile;
use crate::image::{Image, ImageError, Store};
use crate::state::StateDir;

/// The stages of a build and where each starts from.
pub(super) struct Plan {
    /// The stage whose result is the image.
    pub target: usize,
    /// Each stage's FROM, expanded.
    pub base_refs: Vec<String>,
    /// The earlier stage a FROM names, if it names one.
    pub parents: Vec<Option<usize>>,
    /// The stages the target needs (itself included).
    pub needed: Vec<bool>,
    /// The labels of the others, for the user.
    pub skipped: Vec<String>,
}

impl Plan {
    /// The first stage built (its base is the trace header's image).
    pub fn first(&self) -> usize {
        self.needed
            .iter()
            .position(|n| *n)
            .expect("the target is needed")
    }

    pub fn stages(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.needed.len()).filter(|i| self.needed[*i])
    }
}

/// The ARGs before FROM: only for FROM (and for ARGs that name them
/// again); `--build-arg` wins over their defaults.
pub(super) fn global_args(
    df: &Dockerfile,
    build_args: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, BuildError> {
    let mut global = BTreeMap::new();
    for inst in &df.global_args {
        if let Op::Arg { name, default } = &inst.op {
            let value = match build_args.get(name) {
                Some(v) => v.clone(),
                None => expand(df, inst, default.as_deref().unwrap_or(""), &global)?,
            };
            global.insert(name.clone(), value);
        }
    }
    Ok(global)
}

/// The target (`--target`, default the last stage) and what it needs: its
/// FROM stage, its COPY --from stages, and theirs.
pub(super) fn stages(
    df: &Dockerfile,
    target: Option<&str>,
    global: &BTreeMap<String, String>,
) -> Result<Plan, BuildError> {
    let target = match target {
        Some(t) => df
            .stage_named(t)
            .ok_or_else(|| BuildError::UnknownTarget(t.to_string(), stage_list(df)))?,
        None => df.stages.len() - 1,
    };
    let mut base_refs = Vec::new();
    let mut parents: Vec<Option<usize>> = Vec::new();
    for (i, sdef) in df.stages.iter().enumerate() {
        let from = &df.instructions[sdef.from];
        let Op::From { image, .. } = &from.op else {
            unreachable!("a stage starts at FROM")
        };
        let base_ref = expand(df, from, image, global)?;
        // Like docker, FROM names an earlier stage or else an image: `FROM
        // busybox AS busybox` is the image, and so is `FROM 0`.
        let parent = if base_ref.parse::<usize>().is_ok() {
            None
        } else {
            df.stage_ref(i, &base_ref).ok().flatten()
        };
        base_refs.push(base_ref);
        parents.push(parent);
    }
    let mut needed = vec![false; df.stages.len()];
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut needed[i], true) {
            continue;
        }
        todo.extend(parents[i]);
        for inst in &df.instructions[df.stages[i].from..df.stages[i].end] {
            if let Op::Copy { from: Some(f), .. } = &inst.op {
                if let Ok(Some(j)) = df.stage_ref(i, f) {
                    todo.push(j);
                }
            }
        }
    }
    let skipped = (0..df.stages.len())
        .filter(|i| !needed[*i])
        .map(|i| df.stage_label(i))
        .collect();
    Ok(Plan {
        target,
        base_refs,
        parents,
        needed,
        skipped,
    })
}

/// The stages as `--target` accepts them: `0 (builder), 1`.
pub(super) fn stage_list(df: &Dockerfile) -> String {
    (0..df.stages.len())
        .map(|i| match &df.stages[i].name {
            Some(n) => format!("{i} ({n})"),
            None => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The base image of every needed stage that starts from an image (not
/// from a stage, not from scratch), with its config.
pub(super) fn bases(
    state: &StateDir,
    store: &Store,
    df: &Dockerfile,
    plan: &Plan,
    observer: &mut dyn BuildObserver,
) -> Result<Vec<Option<(Image, ConfigFile)>>, BuildError> {
    let mut bases = Vec::new();
    for (i, base_ref) in plan.base_refs.iter().enumerate() {
        let from = &df.instructions[df.stages[i].from];
        bases.push(
            if !plan.needed[i] || plan.parents[i].is_some() || base_ref == "scratch" {
                None
            } else {
                Some(
                    resolve_or_pull(state, store, base_ref, observer)
                        .map_err(|e| step_error(df, from, e))?,
                )
            },
        );
    }
    Ok(bases)
}

/// The ONBUILD triggers of each base image, parsed: they run right after
/// its FROM, as if written there (docker); the new image does not pass
/// them on (they are taken out of the base's config).
pub(super) fn triggers(
    df: &Dockerfile,
    plan: &Plan,
    bases: &mut [Option<(Image, ConfigFile)>],
) -> Result<Vec<Vec<Instruction>>, BuildError> {
    let mut triggers = Vec::new();
    for (i, base) in bases.iter_mut().enumerate() {
        let from = &df.instructions[df.stages[i].from];
        let texts = base
            .as_mut()
            .and_then(|(_, cfg)| cfg.config.as_mut())
            .and_then(|rc| rc.on_build.take())
            .unwrap_or_default();
        let mut list = Vec::new();
        for text in texts {
            let mut inst = dockerfile::parse_instruction(&text).map_err(|m| {
                step_error(
                    df,
                    from,
                    format!("o ONBUILD {text:?} da imagem {}: {m}", plan.base_refs[i]),
                )
            })?;
            inst.line = from.line;
            list.push(inst);
        }
        triggers.push(list);
    }
    Ok(triggers)
}

/// A base image from the store; one that names a registry
/// (`FROM localhost:5000/base:1`) and is not here yet is pulled first,
/// as `docker build` does. A name without a registry is only looked up
/// locally (no network for `FROM busybox`).
fn resolve_or_pull(
    state: &StateDir,
    store: &Store,
    base_ref: &str,
    observer: &mut dyn BuildObserver,
) -> Result<(Image, ConfigFile), String> {
    match store.resolve_with_config(base_ref) {
        Err(ImageError::NotFound(_)) if names_a_registry(base_ref) => {
            observer.pulling(base_ref);
            crate::registry::pull::pull(state, base_ref, &mut crate::registry::push::Quiet)
                .map_err(|e| format!("FROM {base_ref}: o pull falhou: {e}"))?;
            store
                .resolve_with_config(base_ref)
                .map_err(|e| e.to_string())
        }
        other => other.map_err(|e| e.to_string()),
    }
}

/// `host[:port]/…` or `localhost/…`: the reference says which registry.
fn names_a_registry(reference: &str) -> bool {
    reference.split_once('/').is_some_and(|(first, _)| {
        first.contains('.') || first.contains(':') || first == "localhost"
    })
}
