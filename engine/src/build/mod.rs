//! `casulo build`: a Dockerfile and a context directory become an image.
//!
//! The "receita de bolo" made real, one file per concept:
//!
//! - [`dockerfile`]: the text → instructions (with file:line errors);
//!   `context`: the context directory and the two files read from it
//!   (Dockerfile, [`dockerignore`]);
//! - `plan`: which stages the target needs, their bases and ONBUILD
//!   triggers, all looked up before anything is written; `stage`: the
//!   image one stage is building;
//! - `step`: one instruction resolved, keyed, answered by the [`cache`] or
//!   done — [`step_run`]: RUN in a real container ([`cache_mount`] for its
//!   `--mount=type=cache`), [`layer_from_upper`]: what it changed → layer
//!   entries, whiteouts included; [`step_copy`]: COPY/ADD sources → layer
//!   entries, never leaving the context, its files' hashes remembered
//!   between builds by [`file_hashes`] (`copy_from`: `--from` a stage or
//!   image; `heredoc_files`: `COPY <<EOF`; [`step_add_url`]: `ADD
//!   https://…`); [`config_step`]: ENV, CMD, LABEL… (the steps that only
//!   change the config; `casulo commit --change` applies them too);
//! - [`crate::image::layer_tar`]: entries → a reproducible layer blob in the store;
//! - `build_trace`: the `build.*` events;
//! - this file: the stages in order, and the commit (config + manifest +
//!   tag, with the store's APIs);
//! - [`commit`]: `casulo commit`, a container's upper dir made one more
//!   layer with the same pieces (here, not in `container`: a build runs
//!   containers, so `container` must not import `build` back).
//!
//! Every step is in the build's trace (`build.step`, then `build.cache_hit`
//! or the RUN container's own events and `build.layer`), between
//! `build.start` and `build.commit`.
//!
//! **Reproducible.** Layer entries and the image's `created` dates use one
//! fixed time (`SOURCE_DATE_EPOCH`, default 0 = 1970-01-01), so building
//! the same Dockerfile on the same inputs gives the same image id.

mod build_trace;
pub mod cache;
pub mod cache_mount;
pub mod commit;
pub mod config_step;
mod context;
mod copy_from;
pub mod dockerfile;
pub mod dockerignore;
pub mod file_hashes;
mod heredoc_files;
pub mod layer_from_upper;
mod plan;
mod stage;
pub mod stage_root;
mod step;
pub mod step_add_url;
pub mod step_copy;
pub mod step_run;

pub use context::MAX_TEXT_FILE;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use crate::container::RunError;
use crate::image::oci::{self, ConfigFile, History};
use crate::image::{Image, ImageError, Layer, Reference, Store};
use crate::recorder::Recorder;
use crate::state::StateDir;
use build_trace::{BuildTrace, StageName};
use dockerfile::{Dockerfile, Instruction, Op, SyntaxError};
use file_hashes::FileHashes;
use stage::Stage;
use step::StepEnv;

/// What the user asked `casulo build` for.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The context directory (what COPY can read).
    pub context: PathBuf,
    /// The Dockerfile (default `<context>/Dockerfile`).
    pub dockerfile: Option<PathBuf>,
    /// `-t`: tags for the result (`meu-app:1.0`).
    pub tags: Vec<String>,
    /// Ignore the cache (every step runs; the cache is refreshed).
    pub no_cache: bool,
    /// `--build-arg KEY=value`.
    pub build_args: Vec<String>,
    /// Where to write the trace (default `<root>/traces/build-<id8>.trace.jsonl`).
    pub trace: Option<PathBuf>,
    /// `--target`: the stage (name or number) whose result is the image
    /// (default: the last one).
    pub target: Option<String>,
    /// `--label KEY=value`: labels of the result, over the Dockerfile's.
    pub labels: Vec<(String, String)>,
}

/// Hooks for the CLI to tell what is happening (the library never prints).
pub trait BuildObserver {
    fn trace_opened(&mut self, _path: &Path) {}
    /// Step `step` of `total` starts: `text` is the instruction as written.
    fn step(&mut self, _step: u32, _total: u32, _text: &str) {}
    /// The step's result came from the cache.
    fn cached(&mut self, _step: u32) {}
    /// The step made a new layer.
    fn layer(&mut self, _step: u32, _diff_id: &str) {}
    /// Stages not built: `target` does not need them.
    fn skipped(&mut self, _stages: &[String], _target: &str) {}
    /// The base image `reference` is not here: it is being pulled.
    fn pulling(&mut self, _reference: &str) {}
}

/// The result of a build.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// `sha256:` of the image config.
    pub image_id: String,
    pub tags: Vec<String>,
    pub trace: PathBuf,
    /// Steps answered by the cache / steps run.
    pub cache_hits: u32,
    pub steps: u32,
    pub layers: u32,
    /// `--build-arg`s that no ARG of the Dockerfile declares (docker warns).
    pub unused_args: Vec<String>,
    /// Stages not built (the target did not need them).
    pub skipped_stages: Vec<String>,
    /// What the user should know of how the Dockerfile was read
    /// (`Dockerfile:1: # syntax=… ignorado`).
    pub notes: Vec<String>,
}

/// Why a build failed. Step errors start with `Dockerfile:N:`.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    #[error("{file}:{line}: RUN terminou com código {code}")]
    RunFailed { file: String, line: u32, code: i32 },
    #[error("{file}:{line}: {keyword} falhou")]
    Engine {
        file: String,
        line: u32,
        keyword: String,
        #[source]
        source: Box<dyn std::error::Error>,
    },
    #[error("o contexto do build não é um diretório: {0}")]
    BadContext(PathBuf),
    #[error("não consegui ler {path}")]
    ReadDockerfile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--target {0:?}: não há estágio com esse nome no Dockerfile (estágios: {1})")]
    UnknownTarget(String, String),
    #[error("--build-arg inválido {0:?}: use CHAVE=valor")]
    BadBuildArg(String),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("não consegui criar o trace do build: {path}")]
    Trace {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The fixed time of a build: `SOURCE_DATE_EPOCH`, or 0.
pub(crate) fn build_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

pub fn build(
    state: &StateDir,
    opts: &BuildOptions,
    observer: &mut dyn BuildObserver,
) -> Result<BuildOutcome, BuildError> {
    // Everything the user typed is checked, and every base looked up,
    // before anything is written.
    let ctx = context::open(opts)?;
    let df = &ctx.dockerfile;
    let tags: Vec<Reference> = opts
        .tags
        .iter()
        .map(|t| Reference::parse(t))
        .collect::<Result<_, _>>()?;
    let build_args = build_args(&opts.build_args)?;
    let epoch = build_epoch();
    let created =
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(epoch)).to_string();
    let global = plan::global_args(df, &build_args)?;
    let plan = plan::stages(df, opts.target.as_deref(), &global)?;
    let store = Store::open(state)?;
    store.init()?;
    let mut bases = plan::bases(state, &store, df, &plan, observer)?;
    let mut triggers = plan::triggers(df, &plan, &mut bases)?;

    let id = crate::container::new_id();
    let first = plan.first();
    let trace = BuildTrace::create(
        state,
        opts,
        &id,
        &plan.base_refs[first],
        bases[first].as_ref().map(|(img, _)| img),
    )?;
    observer.trace_opened(&trace.path);
    // Blobs written before the tag are reachable from nothing: keep `image
    // prune` away until the end (see Store::writing).
    let _writing = store.writing()?;

    let total: u32 = plan
        .stages()
        .map(|i| (df.stages[i].end - df.stages[i].from + triggers[i].len()) as u32)
        .sum();
    let tag_text = tags.first().map(|t| t.to_string());
    trace.start(&ctx.path, &ctx.dockerfile_path, tag_text.clone(), total);
    if !plan.skipped.is_empty() {
        observer.skipped(&plan.skipped, &df.stage_label(plan.target));
    }
    let multi = df.stages.len() > 1;

    let hashes = FileHashes::for_context(state, &ctx.path, ctx.dir.meta(), !opts.no_cache);
    let file_hashes = RefCell::new(hashes);
    let mut hits = 0;
    let mut step = 0;
    let mut done: BTreeMap<usize, Stage> = BTreeMap::new();
    for i in plan.stages() {
        let env = StepEnv {
            context: &ctx.dir,
            context_path: &ctx.path,
            ignore: &ctx.ignore,
            file_hashes: &file_hashes,
            build_args: &build_args,
            global: &global,
            no_cache: opts.no_cache,
            trace: &trace,
            build_id: &id,
            epoch,
            stages: &done,
            label: multi.then(|| df.stage_label(i)),
        };
        let start = match plan.parents[i] {
            Some(p) => Start::Stage(p, &done[&p]),
            None => Start::Image(bases[i].take()),
        };
        let stage_triggers = std::mem::take(&mut triggers[i]);
        let (stage, cached) = build_stage(
            state,
            &store,
            df,
            (i, &plan.base_refs[i], start),
            &stage_triggers,
            &env,
            (&mut step, total),
            observer,
            &created,
        )?;
        hits += cached;
        done.insert(i, stage);
    }
    let stage = done.remove(&plan.target).expect("the target was built");
    // Not remembered only costs a read of the files next build.
    let _ = file_hashes.into_inner().save(state);

    // Commit: config, manifest, tags.
    let config = final_config(stage.config, stage.history, &opts.labels, created);
    let image_id = commit(&store, config, &stage.layers, &tags)?;
    let layers = stage.layers.len() as u32;
    trace.commit(
        tag_text.unwrap_or_default(),
        &image_id,
        layers,
        &store.dir(),
    );
    Ok(BuildOutcome {
        unused_args: unused_args(df, &build_args),
        image_id,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        trace: trace.path,
        cache_hits: hits,
        steps: total,
        layers,
        skipped_stages: plan.skipped,
        notes: df
            .notes
            .iter()
            .map(|(line, text)| format!("{}:{line}: {text}", df.name))
            .collect(),
    })
}

/// `--build-arg NOME=valor`s as a map (a later one wins, as in docker).
fn build_args(typed: &[String]) -> Result<BTreeMap<String, String>, BuildError> {
    let mut args = BTreeMap::new();
    for a in typed {
        match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                args.insert(k.to_string(), v.to_string());
            }
            _ => return Err(BuildError::BadBuildArg(a.clone())),
        }
    }
    Ok(args)
}

/// The target stage's config as the image's: `--label`s over the
/// Dockerfile's, the build's fixed date, its history.
fn final_config(
    mut config: ConfigFile,
    history: Vec<History>,
    labels: &[(String, String)],
    created: String,
) -> ConfigFile {
    if !labels.is_empty() {
        config
            .config
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(Default::default)
            .extend(labels.iter().cloned());
    }
    config.created = Some(created);
    config.history = history;
    if config.architecture.is_empty() {
        config.architecture = oci::host_architecture().into();
    }
    config
}

/// `--build-arg`s no ARG of the Dockerfile declares (docker warns), the
/// predefined proxy ones apart.
fn unused_args(df: &Dockerfile, build_args: &BTreeMap<String, String>) -> Vec<String> {
    let declared: Vec<&str> = df
        .global_args
        .iter()
        .chain(&df.instructions)
        .filter_map(|i| match &i.op {
            Op::Arg { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    build_args
        .keys()
        .filter(|k| !declared.contains(&k.as_str()) && !is_proxy_arg(k))
        .cloned()
        .collect()
}

/// Where a stage starts: an image of the store (none: `scratch`), or an
/// earlier stage (its number and what it built).
// Built once per stage and moved straight in: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Start<'a> {
    Image(Option<(Image, ConfigFile)>),
    Stage(usize, &'a Stage),
}

/// One stage: its FROM (`build.step` and `build.base`), then the base's
/// ONBUILD triggers and the stage's instructions, each a step; returns the
/// stage built and how many steps the cache answered.
#[allow(clippy::too_many_arguments)]
fn build_stage(
    state: &StateDir,
    store: &Store,
    df: &Dockerfile,
    (i, base_ref, start): (usize, &str, Start<'_>),
    triggers: &[Instruction],
    env: &StepEnv,
    (step, total): (&mut u32, u32),
    observer: &mut dyn BuildObserver,
    created: &str,
) -> Result<(Stage, u32), BuildError> {
    let sdef = &df.stages[i];
    let from = &df.instructions[sdef.from];
    let name = StageName {
        label: env.label.clone(),
        index: i,
    };
    let (mut stage, parent_label) = match start {
        Start::Stage(p, parent) => (Stage::from_stage(i, parent), Some(df.stage_label(p))),
        Start::Image(base) => (Stage::from_image(i, base_ref, base), None),
    };
    *step += 1;
    observer.step(*step, total, &format!("FROM {}", from.args));
    env.trace.step(
        (*step, total),
        from,
        false,
        &stage.key,
        &name,
        None,
        match &parent_label {
            Some(p) => format!("estágio {p} (mesma chave)"),
            None => format!(
                "sha256(\"FROM {}\")",
                stage.base_id.as_deref().unwrap_or("scratch")
            ),
        },
    );
    env.trace.base(
        base_ref,
        stage.base_id.clone(),
        &stage.layers,
        &name,
        parent_label.clone(),
        match (&parent_label, &stage.base_id) {
            (Some(p), _) => format!("estágio {p}: camadas já feitas"),
            (None, Some(_)) => format!("read {}/index.json", store.dir().display()),
            (None, None) => "scratch: nenhuma camada".into(),
        },
    );
    let mut hits = 0;
    for inst in triggers
        .iter()
        .chain(&df.instructions[sdef.from + 1..sdef.end])
    {
        *step += 1;
        observer.step(*step, total, &format!("{} {}", inst.keyword, inst.args));
        let result = step::do_step(state, store, df, inst, *step, total, &mut stage, env)?;
        if result.cached {
            hits += 1;
            observer.cached(*step);
        } else if let Some(l) = &result.layer {
            observer.layer(*step, &l.diff_id);
        }
        stage.push(
            History {
                created: Some(created.to_string()),
                created_by: Some(result.created_by),
                comment: Some("casulo build".into()),
                empty_layer: result.layer.is_none(),
                ..Default::default()
            },
            result.layer,
        );
    }
    Ok((stage, hits))
}

/// Stores config and manifest and points every tag at them; returns the
/// image id. With no tag, nothing points at them (see below). Also the last
/// step of `casulo commit`.
pub(crate) fn commit(
    store: &Store,
    mut config: ConfigFile,
    layers: &[Layer],
    tags: &[Reference],
) -> Result<String, ImageError> {
    match tags.split_first() {
        Some((first, rest)) => {
            let image = store.write_image(first, config, layers)?;
            let desc = store.descriptor(&first.to_string())?;
            for t in rest {
                store.tag(t, &desc)?;
            }
            Ok(image.id)
        }
        None => {
            // No tag: the blobs are stored, reachable by nothing (like
            // docker's dangling images; `image prune` removes them).
            config.rootfs = oci::RootFs {
                kind: "layers".into(),
                diff_ids: layers.iter().map(|l| l.diff_id.clone()).collect(),
            };
            let json = serde_json::to_vec(&config).expect("config serializes");
            let blob = store.put_blob(&json)?;
            let descs = layers
                .iter()
                .map(|l| oci::Descriptor::new(&l.media_type, &l.digest, l.size))
                .collect();
            store.put_manifest(&config, &blob, descs)?;
            Ok(blob.digest)
        }
    }
}

/// docker's predefined ARGs: the proxies, in both cases.
fn is_proxy_arg(name: &str) -> bool {
    matches!(
        name.to_ascii_uppercase().as_str(),
        "HTTP_PROXY" | "HTTPS_PROXY" | "FTP_PROXY" | "NO_PROXY" | "ALL_PROXY"
    )
}

/// An error of the instruction at `inst`: `Dockerfile:N: …`.
fn step_error(df: &Dockerfile, inst: &Instruction, e: impl std::fmt::Display) -> BuildError {
    BuildError::Syntax(df.error(inst.line, e.to_string()))
}

/// An error of the engine under the instruction at `inst`.
fn engine_error(df: &Dockerfile, inst: &Instruction, e: ImageError) -> BuildError {
    BuildError::Engine {
        file: df.name.clone(),
        line: inst.line,
        keyword: inst.keyword.clone(),
        source: Box::new(e),
    }
}

/// `word` with its variables replaced by docker's rules.
fn expand(
    df: &Dockerfile,
    inst: &Instruction,
    word: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String, BuildError> {
    dockerfile::expand(word, vars, true).map_err(|m| step_error(df, inst, m))
}

/// Unpacks (or reuses) the stage's layers, recorded in the trace; returns
/// their directories top-most first.
fn unpack(state: &StateDir, stage: &Stage, rec: &Recorder) -> Result<Vec<PathBuf>, ImageError> {
    unpack_image(state, &stage.image(vec![]), rec)
}

fn unpack_image(
    state: &StateDir,
    image: &Image,
    rec: &Recorder,
) -> Result<Vec<PathBuf>, ImageError> {
    crate::container::create::unpack_layers(state, image, rec, None).map_err(|e| match e {
        RunError::Image(e) => e,
        other => ImageError::Other(other.to_string()),
    })
}

fn json(v: &[String]) -> String {
    serde_json::to_string(v).expect("strings serialize")
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::dockerfile::Command;
    use super::*;

    #[test]
    fn created_by_quotes_only_when_needed() {
        assert_eq!(shell_quote("abc/1.0"), "abc/1.0");
        assert_eq!(shell_quote("a b"), "\"a b\"");
        assert_eq!(shell_quote(""), "\"\"");
    }

    #[test]
    fn commands_become_argv() {
        assert_eq!(
            Command::Shell("echo oi".into()).argv(&dockerfile::default_shell()),
            ["/bin/sh", "-c", "echo oi"]
        );
        let ash = vec![
            "/bin/ash".to_string(),
            "-eo".into(),
            "pipefail".into(),
            "-c".into(),
        ];
        assert_eq!(
            Command::Shell("x".into()).argv(&ash),
            ["/bin/ash", "-eo", "pipefail", "-c", "x"]
        );
        assert_eq!(Command::Exec(vec!["a".into()]).argv(&ash), ["a"]);
    }
}
