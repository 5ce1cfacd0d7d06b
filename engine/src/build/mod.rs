//! `casulo build`: a Dockerfile and a context directory become an image.
//!
//! The "receita de bolo" made real, one file per concept:
//!
//! - [`dockerfile`]: the text → instructions (with file:line errors);
//! - [`cache`]: the key of each step, and what the step made last time;
//! - [`step_run`]: RUN in a real container; [`layer_from_upper`]: what it
//!   changed (the overlay's upper dir) → layer entries, whiteouts included;
//! - [`step_copy`]: COPY/ADD, context files → layer entries, never leaving
//!   the context; [`dockerignore`]: the files COPY never sees;
//! - [`config_step`]: ENV, CMD, LABEL… (the steps that only change the
//!   config; `casulo commit --change` applies them too);
//! - [`layer_tar`]: entries → a reproducible layer blob in the store;
//! - this file: the steps in order, the image config, and the commit
//!   (config + manifest + tag, with the store's APIs).
//!
//! Every step is in the build's trace (`build.step`, then `build.cache_hit`
//! or the RUN container's own events and `build.layer`), between
//! `build.start` and `build.commit`.
//!
//! **Reproducible.** Layer entries and the image's `created` dates use one
//! fixed time (`SOURCE_DATE_EPOCH`, default 0 = 1970-01-01), so building
//! the same Dockerfile on the same inputs gives the same image id.

pub mod cache;
pub mod cache_mount;
pub mod config_step;
pub mod dockerfile;
pub mod dockerignore;
pub mod layer_from_upper;
pub mod layer_tar;
pub mod stage_root;
pub mod step_add_url;
pub mod step_copy;
pub mod step_run;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use casulo_trace::{ContainerInfo, EventBody, Header, Outcome};

use crate::container::RunError;
use crate::image::beneath::Node;
use crate::image::oci::{self, ConfigFile, History};
use crate::image::{Image, ImageConfig, ImageError, Layer, Reference, Store};
use crate::recorder::Recorder;
use crate::state::StateDir;
use dockerfile::{Dockerfile, Instruction, Op, SyntaxError};

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

/// The image being built (one stage): its config so far and its layers.
#[derive(Clone)]
struct Stage {
    /// Its number in the Dockerfile (0 = the first FROM).
    index: usize,
    base_ref: String,
    base_id: Option<String>,
    config: ConfigFile,
    layers: Vec<Layer>,
    /// The image's history: the base's, then one line per step.
    history: Vec<History>,
    /// ARG values declared so far (visible to substitution and to RUN).
    args: BTreeMap<String, String>,
    /// CMD was set by this Dockerfile (ENTRYPOINT then keeps it).
    cmd_set: bool,
    /// The shell of shell-form RUN/CMD/ENTRYPOINT (SHELL changes it).
    shell: Vec<String>,
    /// The chain of cache keys: the last key and the last layer.
    key: String,
    last_diff_id: String,
}

impl Stage {
    fn env(&self) -> Vec<String> {
        self.config
            .config
            .as_ref()
            .and_then(|c| c.env.clone())
            .unwrap_or_default()
    }

    /// Variables for substitution: ARGs, overridden by ENV (docker's rule).
    fn vars(&self) -> BTreeMap<String, String> {
        let mut vars = self.args.clone();
        for e in self.env() {
            if let Some((k, v)) = e.split_once('=') {
                vars.insert(k.to_string(), v.to_string());
            }
        }
        vars
    }

    fn workdir(&self) -> String {
        self.config
            .config
            .as_ref()
            .and_then(|c| c.working_dir.clone())
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into())
    }

    /// The image so far, as `casulo run` sees one.
    fn image(&self, cmd: Vec<String>) -> Image {
        let rc = self.config.config.clone().unwrap_or_default();
        Image {
            reference: self.base_ref.clone(),
            id: self.base_id.clone().unwrap_or_default(),
            manifest_digest: String::new(),
            config: ImageConfig {
                env: rc.env.unwrap_or_default(),
                entrypoint: vec![],
                cmd,
                working_dir: rc.working_dir.unwrap_or_default(),
                user: rc.user.unwrap_or_default(),
                volumes: vec![],
                stop_signal: String::new(),
            },
            layers: self.layers.clone(),
        }
    }
}

/// The stages as `--target` accepts them: `0 (builder), 1`.
fn stage_list(df: &Dockerfile) -> String {
    (0..df.stages.len())
        .map(|i| match &df.stages[i].name {
            Some(n) => format!("{i} ({n})"),
            None => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The most the Dockerfile, the `.dockerignore` and an image's
/// `/etc/passwd` or `/etc/group` may weigh: 16 MiB, BuildKit's own limit
/// for the Dockerfile and ignore files (its frontend reads at most one
/// gRPC message, containerd's `DefaultMaxRecvMsgSize`). A real Dockerfile
/// has a few KiB; this only stops a file meant to exhaust memory.
pub const MAX_TEXT_FILE: u64 = 16 << 20;

/// `file` (given as `-f`) relative to the context, if it is written inside
/// it (`given`: the context as typed; `canonical`: its real path).
fn inside(given: &Path, canonical: &Path, file: &Path) -> Option<PathBuf> {
    let absolute = |p: &Path| std::path::absolute(p).ok().map(|a| normalize(&a));
    let file = absolute(file)?;
    [absolute(given), Some(canonical.to_path_buf())]
        .into_iter()
        .flatten()
        .find_map(|c| file.strip_prefix(&c).ok().map(Path::to_path_buf))
}

/// `a/./b/../c` → `a/c`, without looking at the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// A text file of the context (`what` names it in messages), read through
/// the context's fd: symlinks are followed only while they stay inside
/// (`openat2(RESOLVE_BENEATH)`), and at most [`MAX_TEXT_FILE`] bytes.
fn read_in_context(ctx: &Node, rel: &Path, what: &str) -> std::io::Result<String> {
    let node = ctx.open_following_beneath(rel).map_err(|e| match e {
        nix::errno::Errno::EXDEV => std::io::Error::other(format!(
            "o {what} é (ou passa por) um link simbólico que aponta para fora do contexto do \
             build: recusado, como as origens do COPY"
        )),
        e => std::io::Error::from(e),
    })?;
    if !node.is_file() {
        return Err(std::io::Error::other(format!(
            "o {what} não é um arquivo regular"
        )));
    }
    text(node.read_capped(MAX_TEXT_FILE, &format!("o {what}"))?, what)
}

/// A file outside the context, at most [`MAX_TEXT_FILE`] bytes.
fn read_capped_path(path: &Path, what: &str) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_TEXT_FILE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_TEXT_FILE {
        return Err(std::io::Error::other(crate::image::beneath::too_big(
            &format!("o {what}"),
            MAX_TEXT_FILE,
        )));
    }
    text(bytes, what)
}

fn text(bytes: Vec<u8>, what: &str) -> std::io::Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("o {what} não é texto UTF-8"),
        )
    })
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
    // Everything the user typed is checked before anything is written.
    if !opts.context.is_dir() {
        return Err(BuildError::BadContext(opts.context.clone()));
    }
    let context = opts
        .context
        .canonicalize()
        .map_err(|_| BuildError::BadContext(opts.context.clone()))?;
    // The context is opened once; the Dockerfile and the .dockerignore in
    // it are read through that fd (a symlink that leaves it is refused).
    let ctx_dir = Node::open_root(&context).map_err(|_| BuildError::BadContext(context.clone()))?;
    let (df_path, df_name, text) = match &opts.dockerfile {
        Some(p) => {
            let text = match inside(&opts.context, &context, p) {
                Some(rel) => read_in_context(&ctx_dir, &rel, "Dockerfile"),
                // Outside the context (`-f ../outro/Dockerfile`): the user's
                // own file, read as given, with the same size limit.
                None => read_capped_path(p, "Dockerfile"),
            }
            .map_err(|source| BuildError::ReadDockerfile {
                path: p.clone(),
                source,
            })?;
            (p.clone(), p.display().to_string(), text)
        }
        None => {
            let path = context.join("Dockerfile");
            let text = read_in_context(&ctx_dir, Path::new("Dockerfile"), "Dockerfile").map_err(
                |source| BuildError::ReadDockerfile {
                    path: path.clone(),
                    source,
                },
            )?;
            (path, "Dockerfile".to_string(), text)
        }
    };
    let df = dockerfile::parse(&df_name, &text)?;
    let ignore = match read_in_context(&ctx_dir, Path::new(".dockerignore"), ".dockerignore") {
        Ok(text) => dockerignore::Ignore::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => dockerignore::Ignore::default(),
        Err(source) => {
            return Err(BuildError::ReadDockerfile {
                path: context.join(".dockerignore"),
                source,
            })
        }
    };
    let tags: Vec<Reference> = opts
        .tags
        .iter()
        .map(|t| Reference::parse(t))
        .collect::<Result<_, _>>()?;
    let mut build_args = BTreeMap::new();
    for a in &opts.build_args {
        match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                build_args.insert(k.to_string(), v.to_string());
            }
            _ => return Err(BuildError::BadBuildArg(a.clone())),
        }
    }
    let epoch = build_epoch();
    let created =
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(epoch)).to_string();

    // ARGs before FROM: only for FROM (and for ARGs that name them again).
    let mut global = BTreeMap::new();
    for inst in &df.global_args {
        if let Op::Arg { name, default } = &inst.op {
            let value = match build_args.get(name) {
                Some(v) => v.clone(),
                None => expand(&df, inst, default.as_deref().unwrap_or(""), &global)?,
            };
            global.insert(name.clone(), value);
        }
    }
    // The stages to build: the target and what it needs (its FROM stage,
    // its COPY --from stages, and theirs). The others are skipped, like
    // docker's BuildKit does.
    let target = match &opts.target {
        Some(t) => df
            .stage_named(t)
            .ok_or_else(|| BuildError::UnknownTarget(t.clone(), stage_list(&df)))?,
        None => df.stages.len() - 1,
    };
    let mut base_refs = Vec::new();
    let mut parents: Vec<Option<usize>> = Vec::new();
    for (i, sdef) in df.stages.iter().enumerate() {
        let from = &df.instructions[sdef.from];
        let Op::From { image, .. } = &from.op else {
            unreachable!("a stage starts at FROM")
        };
        let base_ref = expand(&df, from, image, &global)?;
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
    let skipped: Vec<String> = (0..df.stages.len())
        .filter(|i| !needed[*i])
        .map(|i| df.stage_label(i))
        .collect();

    let store = Store::open(state)?;
    store.init()?;
    // Every base image is looked up before anything is written.
    let mut bases: Vec<Option<(Image, ConfigFile)>> = Vec::new();
    for (i, base_ref) in base_refs.iter().enumerate() {
        let from = &df.instructions[df.stages[i].from];
        bases.push(
            if !needed[i] || parents[i].is_some() || base_ref == "scratch" {
                None
            } else {
                Some(
                    resolve_or_pull(state, &store, base_ref, observer)
                        .map_err(|e| step_error(&df, from, e))?,
                )
            },
        );
    }
    // The ONBUILD triggers of each base image run right after its FROM,
    // as if written there (docker); the new image does not pass them on.
    let mut triggers: Vec<Vec<Instruction>> = Vec::new();
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
                    &df,
                    from,
                    format!("o ONBUILD {text:?} da imagem {}: {m}", base_refs[i]),
                )
            })?;
            inst.line = from.line;
            list.push(inst);
        }
        triggers.push(list);
    }
    let first = needed
        .iter()
        .position(|n| *n)
        .expect("the target is needed");
    let header_base = bases[first].as_ref().map(|(img, _)| img);

    // The build's trace: the header's "container" is the build itself.
    let id = crate::container::new_id();
    let trace = opts.trace.clone().unwrap_or_else(|| {
        state
            .traces()
            .join(format!("build-{}.trace.jsonl", &id[..8]))
    });
    state
        .ensure()
        .map_err(|e| BuildError::Image(ImageError::io(state.root(), e)))?;
    let recorder = Arc::new(
        Recorder::create(&trace, &header(&id, &base_refs[first], header_base)).map_err(
            |source| BuildError::Trace {
                path: trace.clone(),
                source,
            },
        )?,
    );
    observer.trace_opened(&trace);
    // Blobs written before the tag are reachable from nothing: keep `image
    // prune` away until the end (see Store::writing).
    let _writing = store.writing()?;

    let total: u32 = (0..df.stages.len())
        .filter(|i| needed[*i])
        .map(|i| (df.stages[i].end - df.stages[i].from + triggers[i].len()) as u32)
        .sum();
    let tag_text = tags.first().map(|t| t.to_string());
    recorder.record(
        EventBody::BuildStart {
            context: context.display().to_string(),
            dockerfile: df_path.display().to_string(),
            tag: tag_text.clone(),
            steps: total,
        },
        format!("read {}", df_path.display()),
        Outcome::Ok,
    );
    if !skipped.is_empty() {
        observer.skipped(&skipped, &df.stage_label(target));
    }
    let multi = df.stages.len() > 1;

    let mut hits = 0;
    let mut step = 0;
    let mut done: BTreeMap<usize, Stage> = BTreeMap::new();
    for i in (0..df.stages.len()).filter(|i| needed[*i]) {
        let sdef = &df.stages[i];
        let from = &df.instructions[sdef.from];
        let base_ref = base_refs[i].clone();
        let base = bases[i].take();
        let label = multi.then(|| df.stage_label(i));
        let mut stage = match parents[i] {
            // FROM an earlier stage: its result, key chain and history.
            Some(p) => {
                let parent = &done[&p];
                Stage {
                    index: i,
                    args: BTreeMap::new(),
                    cmd_set: false,
                    ..parent.clone()
                }
            }
            None => {
                let (image, config) = match base {
                    Some((img, cfg)) => (Some(img), Some(cfg)),
                    None => (None, None),
                };
                let base_id = image.as_ref().map(|b| b.id.clone());
                let mut config = config.unwrap_or_else(|| ConfigFile {
                    architecture: oci::host_architecture().into(),
                    os: "linux".into(),
                    ..Default::default()
                });
                let history = std::mem::take(&mut config.history);
                Stage {
                    index: i,
                    base_ref: base_ref.clone(),
                    base_id: base_id.clone(),
                    config,
                    layers: image.as_ref().map(|b| b.layers.clone()).unwrap_or_default(),
                    history,
                    args: BTreeMap::new(),
                    cmd_set: false,
                    shell: dockerfile::default_shell(),
                    key: cache::key(
                        "",
                        "",
                        &format!("FROM {}", base_id.as_deref().unwrap_or("scratch")),
                        "",
                    ),
                    last_diff_id: String::new(),
                }
            }
        };
        // The stage's first step: FROM.
        step += 1;
        observer.step(step, total, &format!("FROM {}", from.args));
        recorder.record(
            EventBody::BuildStep {
                step,
                total,
                line: from.line,
                instruction: "FROM".into(),
                args: from.args.clone(),
                creates_layer: false,
                cache_key: stage.key.clone(),
                stage: label.clone(),
                stage_index: multi.then_some(i as u32),
                copy_from: None,
            },
            match parents[i] {
                Some(p) => format!("estágio {} (mesma chave)", df.stage_label(p)),
                None => format!(
                    "sha256(\"FROM {}\")",
                    stage.base_id.as_deref().unwrap_or("scratch")
                ),
            },
            Outcome::Ok,
        );
        recorder.record(
            EventBody::BuildBase {
                image: base_ref.clone(),
                image_id: stage.base_id.clone(),
                diff_ids: stage.layers.iter().map(|l| l.diff_id.clone()).collect(),
                stage: label.clone(),
                stage_index: multi.then_some(i as u32),
                from_stage: parents[i].map(|p| df.stage_label(p)),
            },
            match (parents[i], &stage.base_id) {
                (Some(p), _) => format!("estágio {}: camadas já feitas", df.stage_label(p)),
                (None, Some(_)) => format!("read {}/index.json", store.dir().display()),
                (None, None) => "scratch: nenhuma camada".into(),
            },
            Outcome::Ok,
        );

        let stage_triggers = std::mem::take(&mut triggers[i]);
        for inst in stage_triggers
            .iter()
            .chain(&df.instructions[sdef.from + 1..sdef.end])
        {
            step += 1;
            observer.step(step, total, &format!("{} {}", inst.keyword, inst.args));
            let result = do_step(
                state,
                &store,
                &df,
                inst,
                step,
                total,
                &mut stage,
                &StepEnv {
                    context: &ctx_dir,
                    context_path: &context,
                    ignore: &ignore,
                    build_args: &build_args,
                    global: &global,
                    no_cache: opts.no_cache,
                    recorder: &recorder,
                    trace: &trace,
                    build_id: &id,
                    epoch,
                    stages: &done,
                    label: label.clone(),
                },
            )?;
            if result.cached {
                hits += 1;
                observer.cached(step);
            } else if let Some(l) = &result.layer {
                observer.layer(step, &l.diff_id);
            }
            stage.history.push(History {
                created: Some(created.clone()),
                created_by: Some(result.created_by),
                comment: Some("casulo build".into()),
                empty_layer: result.layer.is_none(),
                ..Default::default()
            });
            if let Some(layer) = result.layer {
                stage.last_diff_id = layer.diff_id.clone();
                stage.layers.push(layer);
            }
        }
        done.insert(i, stage);
    }
    let stage = done.remove(&target).expect("the target was built");
    let history = stage.history.clone();

    // Commit: config, manifest, tags.
    let mut config = stage.config.clone();
    if !opts.labels.is_empty() {
        config
            .config
            .get_or_insert_with(Default::default)
            .labels
            .get_or_insert_with(Default::default)
            .extend(opts.labels.iter().cloned());
    }
    config.created = Some(created);
    config.history = history;
    config.architecture = if config.architecture.is_empty() {
        oci::host_architecture().into()
    } else {
        config.architecture
    };
    let image_id = commit(&store, config, &stage.layers, &tags)?;
    let layers = stage.layers.len() as u32;
    recorder.record(
        EventBody::BuildCommit {
            tag: tag_text.unwrap_or_default(),
            image_id: image_id.clone(),
            layers,
        },
        format!("write {}/index.json", store.dir().display()),
        Outcome::Ok,
    );
    let declared: Vec<&str> = df
        .global_args
        .iter()
        .chain(&df.instructions)
        .filter_map(|i| match &i.op {
            Op::Arg { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    Ok(BuildOutcome {
        unused_args: build_args
            .keys()
            .filter(|k| !declared.contains(&k.as_str()) && !is_proxy_arg(k))
            .cloned()
            .collect(),
        image_id,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        trace,
        cache_hits: hits,
        steps: total,
        layers,
        skipped_stages: skipped,
        notes: df
            .notes
            .iter()
            .map(|(line, text)| format!("{}:{line}: {text}", df.name))
            .collect(),
    })
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

struct StepEnv<'a> {
    /// The context, opened once when the build started (never by name again).
    context: &'a Node,
    /// Its path: only the name of the cache mounts' directories.
    context_path: &'a Path,
    ignore: &'a dockerignore::Ignore,
    build_args: &'a BTreeMap<String, String>,
    global: &'a BTreeMap<String, String>,
    no_cache: bool,
    recorder: &'a Arc<Recorder>,
    trace: &'a Path,
    build_id: &'a str,
    epoch: u64,
    /// The stages built so far (for `COPY --from`).
    stages: &'a BTreeMap<usize, Stage>,
    /// The stage's name in the trace (multi-stage builds only).
    label: Option<String>,
}

struct StepDone {
    created_by: String,
    layer: Option<Layer>,
    cached: bool,
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

/// The here-documents of a `COPY <<EOF` as files of a fresh directory of
/// `tmp/` (mode 0644, named after their delimiters; an unquoted one with
/// its variables expanded by `x`), removed when the guard goes.
fn inline_files(
    state: &StateDir,
    heredocs: &[dockerfile::Heredoc],
    x: &dyn Fn(&str) -> Result<String, BuildError>,
) -> Result<step_copy::Extracted, BuildError> {
    let guard = step_copy::Extracted::fresh(state, "heredoc")
        .map_err(|e| BuildError::Image(ImageError::io(state.tmp(), e)))?;
    let dir = guard.0.clone();
    let io = |e: std::io::Error| BuildError::Image(ImageError::io(&dir, e));
    for h in heredocs {
        let content = if h.expand {
            // Each line as a word of its own: quotes and backslashes are
            // text here, only `$VAR` is replaced (as BuildKit).
            expand_text(&h.content, x)?
        } else {
            h.content.clone()
        };
        let path = dir.join(&h.name);
        std::fs::write(&path, content).map_err(io)?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .map_err(io)?;
    }
    Ok(guard)
}

/// `$VAR` and `${VAR…}` of `text` replaced through `x`, everything else
/// (quotes, backslashes) left as it is.
fn expand_text(
    text: &str,
    x: &dyn Fn(&str) -> Result<String, BuildError>,
) -> Result<String, BuildError> {
    // Quotes and backslashes escaped so that `x` (docker's word rules)
    // gives them back unchanged.
    let mut word = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '"' | '\'' | '\\') {
            word.push('\\');
        }
        word.push(c);
    }
    x(&word)
}

/// docker's predefined ARGs: the proxies, in both cases.
fn is_proxy_arg(name: &str) -> bool {
    matches!(
        name.to_ascii_uppercase().as_str(),
        "HTTP_PROXY" | "HTTPS_PROXY" | "FTP_PROXY" | "NO_PROXY" | "ALL_PROXY"
    )
}

fn step_error(df: &Dockerfile, inst: &Instruction, e: impl std::fmt::Display) -> BuildError {
    BuildError::Syntax(df.error(inst.line, e.to_string()))
}

fn expand(
    df: &Dockerfile,
    inst: &Instruction,
    word: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String, BuildError> {
    dockerfile::expand(word, vars, true).map_err(|m| step_error(df, inst, m))
}

/// Runs one step (not FROM): computes its key, asks the cache, does the
/// work on a miss, records the events; changes `stage`'s config.
#[allow(clippy::too_many_arguments)]
fn do_step(
    state: &StateDir,
    store: &Store,
    df: &Dockerfile,
    inst: &Instruction,
    step: u32,
    total: u32,
    stage: &mut Stage,
    env: &StepEnv,
) -> Result<StepDone, BuildError> {
    let vars = stage.vars();
    let x = |w: &str| expand(df, inst, w, &vars);
    // Resolve the instruction: its text after substitution (for the key and
    // the history) and what it does.
    let mut copy_sources = None;
    let mut copy_plan: Option<(String, Option<u32>, Option<String>)> = None;
    let mut run_argv = None;
    let mut run_flags: Option<&dockerfile::RunFlags> = None;
    let mut run_extra = String::new();
    // COPY --from: the source's merged filesystem (kept until the layer is
    // written), its key, and how the trace names it.
    let mut from_root: Option<stage_root::StageRoot> = None;
    let mut copy_from_key = String::new();
    let mut copy_from: Option<String> = None;
    // `COPY <<EOF`: the documents as files, until the layer is written.
    let mut inline_dir: Option<step_copy::Extracted> = None;
    let created_by = match &inst.op {
        Op::Run(cmd, flags) => {
            run_argv = Some(cmd.argv(&stage.shell));
            run_flags = Some(flags);
            // The key must change with the shell that will run it.
            if matches!(cmd, dockerfile::Command::Shell(_))
                && stage.shell != dockerfile::default_shell()
            {
                run_extra = format!("SHELL {}", json(&stage.shell));
            }
            match cmd {
                // Here-documents: the script the shell gets, documents
                // included (the key must change with them).
                dockerfile::Command::Shell(script) if script.contains('\n') => {
                    format!("RUN {}\n{script}", inst.args)
                }
                _ => format!("RUN {}", inst.args),
            }
        }
        Op::Copy {
            add,
            sources,
            dest,
            chown,
            chmod,
            from,
            heredocs,
            checksum,
        } => {
            let sources: Vec<String> = sources.iter().map(|s| x(s)).collect::<Result<_, _>>()?;
            let dest = x(dest)?;
            let chown = chown.as_deref().map(&x).transpose()?;
            let abs = if dest.starts_with('/') {
                dest.clone()
            } else {
                let mut d = join_path(&stage.workdir(), &dest);
                if dest.ends_with('/') || dest == "." {
                    d.push('/');
                }
                d
            };
            let read = match from {
                None if !heredocs.is_empty() => {
                    let dir = inline_files(state, heredocs, &x)?;
                    let read = dir.read(&sources, "here-document", &state.tmp());
                    inline_dir = Some(dir);
                    read
                }
                None if sources.iter().any(|s| s.contains("://")) => {
                    step_add_url::download(state, &sources, checksum.as_deref()).and_then(
                        |(dir, names)| {
                            let read = dir.read(&names, "download", &state.tmp());
                            inline_dir = Some(dir);
                            read
                        },
                    )
                }
                None => step_copy::read_sources(env.context, &sources, env.ignore, &state.tmp()),
                Some(from) => {
                    let source = stage_source(state, store, df, inst, stage, env, from)?;
                    let (root, fence, source_key) = (source.root, source.fence, source.key);
                    copy_from = Some(source.name);
                    let read = Node::open_root(root.path())
                        .map_err(|e| format!("{}: {e}", root.path().display()))
                        .and_then(|dir| {
                            step_copy::read_sources_in(
                                &dir,
                                &sources,
                                &dockerignore::Ignore::default(),
                                &fence,
                                &state.tmp(),
                            )
                        });
                    // The key holds what the source stage is (its key chain, or
                    // the image id) besides the content hashed below.
                    copy_from_key = source_key;
                    from_root = Some(root);
                    read
                }
            }
            .map_err(|m| step_error(df, inst, format!("{}: {m}", inst.keyword)))?;
            let keyword = if *add { "ADD" } else { "COPY" };
            let chown_text = chown
                .as_ref()
                .map(|c| format!("--chown={c} "))
                .unwrap_or_default();
            let from_text = from
                .as_ref()
                .map(|f| format!("--from={f} "))
                .unwrap_or_default();
            let chmod_text = chmod
                .map(|m| format!("--chmod={m:04o} "))
                .unwrap_or_default();
            let text = format!(
                "{keyword} {from_text}{chown_text}{chmod_text}{} {dest}",
                sources.join(" ")
            );
            copy_plan = Some((abs, *chmod, chown));
            copy_sources = Some(read);
            text
        }
        Op::Arg { name, default } => {
            let value = match env.build_args.get(name) {
                Some(v) => Some(v.clone()),
                None => match default {
                    Some(d) => Some(x(d)?),
                    None => env.global.get(name).cloned(),
                },
            };
            stage
                .args
                .insert(name.clone(), value.clone().unwrap_or_default());
            match value {
                Some(v) => format!("ARG {name}={}", shell_quote(&v)),
                None => format!("ARG {name}"),
            }
        }
        Op::Shell(shell) => {
            stage.shell = shell.clone();
            format!("SHELL {}", json(shell))
        }
        op => {
            let target = config_step::ConfigTarget {
                config: stage.config.config.get_or_insert_with(Default::default),
                cmd_set: &mut stage.cmd_set,
                shell: &stage.shell,
            };
            match config_step::apply(op, target, &vars) {
                Some(Ok(text)) => text,
                Some(Err(m)) => return Err(step_error(df, inst, m)),
                // FROM starts a stage; RUN, COPY, ARG, SHELL are handled above.
                None => unreachable!("not a step of its own: {}", inst.keyword),
            }
        }
    };

    let extra = copy_sources
        .as_ref()
        .map(|s| s.hash.clone())
        .unwrap_or(run_extra);
    let extra = if copy_from_key.is_empty() {
        extra
    } else {
        format!("{copy_from_key} {extra}")
    };
    let key = cache::key(&stage.key, &stage.last_diff_id, &created_by, &extra);
    stage.key = key.clone();
    let creates_layer = inst.op.creates_layer();
    env.recorder.record(
        EventBody::BuildStep {
            step,
            total,
            line: inst.line,
            instruction: inst.keyword.clone(),
            args: inst.args.clone(),
            creates_layer,
            cache_key: key.clone(),
            stage: env.label.clone(),
            stage_index: env.label.as_ref().map(|_| stage.index as u32),
            copy_from,
        },
        if extra.is_empty() {
            format!("sha256(parent + {created_by:?})")
        } else {
            format!("sha256(parent + {created_by:?} + {extra})")
        },
        Outcome::Ok,
    );
    let cache_file = cache::dir(state).join(format!("{}.json", &key[7..]));
    if !env.no_cache {
        if let Some(entry) = cache::get(state, store, &key) {
            let layer = entry.layer.as_ref().map(|l| l.layer());
            env.recorder.record(
                EventBody::BuildCacheHit {
                    step,
                    cache_key: key.clone(),
                    diff_id: layer.as_ref().map(|l| l.diff_id.clone()),
                },
                format!("read {}", cache_file.display()),
                Outcome::Ok,
            );
            return Ok(StepDone {
                created_by,
                layer,
                cached: true,
            });
        }
    }
    // A miss: do the work.
    let written = if let Some(argv) = run_argv {
        if stage.layers.is_empty() {
            return Err(step_error(
                df,
                inst,
                "RUN precisa de um sistema de arquivos com um shell: FROM scratch não tem nenhum",
            ));
        }
        let args_env: Vec<String> = stage
            .args
            .iter()
            .filter(|(k, _)| {
                !stage
                    .env()
                    .iter()
                    .any(|e| e.split('=').next() == Some(k.as_str()))
            })
            .map(|(k, v)| format!("{k}={v}"))
            // docker's predefined proxy ARGs: given with --build-arg, every
            // RUN sees them without an ARG (and, as in docker, they stay out
            // of the history and of the cache key: a proxy is the
            // machine's, not the image's).
            .chain(
                env.build_args
                    .iter()
                    .filter(|(k, _)| is_proxy_arg(k) && !stage.args.contains_key(*k))
                    .map(|(k, v)| format!("{k}={v}")),
            )
            .collect();
        let flags = run_flags.cloned().unwrap_or_default();
        let (mounts, _held) = cache_mount::prepare(state, env.context_path, &flags.mounts)
            .map_err(|e| step_error(df, inst, format!("RUN --mount: {e}")))?;
        let run = step_run::RunStep {
            mounts,
            network: flags.network,
            image: stage.image(argv),
            env: args_env,
            name: format!("build-{}-passo-{step}", &env.build_id[..8]),
            recorder: env.recorder.clone(),
            trace: env.trace.to_path_buf(),
            mtime: env.epoch,
        };
        match step_run::run(state, store, run) {
            Ok(w) => Some(w),
            Err(step_run::RunStepError::Failed(code)) => {
                return Err(BuildError::RunFailed {
                    file: df.name.clone(),
                    line: inst.line,
                    code,
                })
            }
            Err(step_run::RunStepError::Run(e)) => {
                return Err(BuildError::Engine {
                    file: df.name.clone(),
                    line: inst.line,
                    keyword: inst.keyword.clone(),
                    source: Box::new(e),
                })
            }
            Err(step_run::RunStepError::Image(e)) => return Err(engine_error(df, inst, e)),
        }
    } else if let (Some(sources), Some((dest, chmod, chown))) = (copy_sources, copy_plan) {
        let lowers = unpack(state, stage, env.recorder).map_err(|e| engine_error(df, inst, e))?;
        let owner = match chown {
            Some(c) => Some(chown_ids(&c, &lowers).map_err(|m| step_error(df, inst, m))?),
            None => None,
        };
        // ADD unpacks a local archive; a download stays as it came (docker).
        let is_add = matches!(&inst.op, Op::Copy { add: true, sources, .. }
            if !sources.iter().any(|s| s.contains("://")));
        let tmp = state.tmp();
        let (entries, _extracted) = step_copy::entries(
            &sources,
            &dest,
            (owner, chmod),
            &lowers,
            is_add.then_some(tmp.as_path()),
        )
        .map_err(|m| step_error(df, inst, format!("{}: {m}", inst.keyword)))?;
        Some(layer_tar::write(store, &entries, env.epoch).map_err(|e| engine_error(df, inst, e))?)
    } else {
        None
    };
    let layer = written.as_ref().map(|w| w.layer.clone());
    // The layer is written: the merged source of a COPY --from can go.
    drop(from_root);
    drop(inline_dir);
    if let Some(w) = &written {
        env.recorder.record(
            EventBody::BuildLayer {
                step,
                diff_id: w.layer.diff_id.clone(),
                bytes: w.bytes,
                files: w.files,
                created_by: created_by.clone(),
            },
            format!(
                "write {}",
                store
                    .blob_path(&w.layer.digest)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
            Outcome::Ok,
        );
    }
    let entry = cache::CacheEntry {
        instruction: created_by.clone(),
        layer: written.as_ref().map(|w| cache::CachedLayer {
            digest: w.layer.digest.clone(),
            diff_id: w.layer.diff_id.clone(),
            media_type: w.layer.media_type.clone(),
            size: w.layer.size,
            bytes: w.bytes,
            files: w.files,
        }),
    };
    // A cache that cannot be written only costs time next build.
    let _ = cache::put(state, &key, &entry);
    Ok(StepDone {
        created_by,
        layer,
        cached: false,
    })
}

fn engine_error(df: &Dockerfile, inst: &Instruction, e: ImageError) -> BuildError {
    BuildError::Engine {
        file: df.name.clone(),
        line: inst.line,
        keyword: inst.keyword.clone(),
        source: Box::new(e),
    }
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

/// What a `COPY --from` reads.
struct CopySource {
    /// The merged filesystem (removed on drop).
    root: stage_root::StageRoot,
    fence: step_copy::Fence,
    /// Its part of the step's cache key.
    key: String,
    /// How the trace names it: the stage's name (or number), or the image.
    name: String,
}

/// `COPY --from=X`: the filesystem of the earlier stage X (or of the image
/// X of the store), merged into a temporary directory.
fn stage_source(
    state: &StateDir,
    store: &Store,
    df: &Dockerfile,
    inst: &Instruction,
    stage: &Stage,
    env: &StepEnv,
    from: &str,
) -> Result<CopySource, BuildError> {
    let found = df
        .stage_ref(stage.index, from)
        .map_err(|m| step_error(df, inst, format!("COPY --from={from}: {m}")))?;
    let (image, fence, key, name) = match found {
        Some(i) => {
            let src = env.stages.get(&i).expect("needed stages are built first");
            let label = df.stage_label(i);
            let place = format!("estágio {label}");
            (
                src.image(vec![]),
                step_copy::Fence {
                    short: place.clone(),
                    long: place,
                },
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
            let place = format!("imagem {from}");
            let key = format!("image {}", image.id);
            (
                image,
                step_copy::Fence {
                    short: place.clone(),
                    long: place,
                },
                key,
                from.to_string(),
            )
        }
    };
    let lowers =
        unpack_image(state, &image, env.recorder).map_err(|e| engine_error(df, inst, e))?;
    let dir = state
        .tmp()
        .join(format!("copy-from-{}-{}", &env.build_id[..8], inst.line));
    let root = stage_root::merge(&lowers, &dir)
        .map_err(|e| engine_error(df, inst, ImageError::io(&dir, e)))?;
    Ok(CopySource {
        root,
        fence,
        key,
        name,
    })
}

/// `--chown=uid:gid`, numbers or names of the image's /etc/passwd and
/// /etc/group — looked up *in the image* ([`crate::image::layered`]): an
/// image whose `/etc` is a symlink to `/srv/x` means its own `/srv/x`,
/// never the host's.
fn chown_ids(spec: &str, lowers: &[PathBuf]) -> Result<(u32, u32), String> {
    let layers = crate::image::layered::Layers::open(lowers)
        .map_err(|e| format!("--chown={spec}: camadas da imagem: {e}"))?;
    let read = |path: &str| -> Result<String, String> {
        let bytes = layers
            .read_file(path, MAX_TEXT_FILE)
            .map_err(|e| format!("--chown={spec}: {e}"))?
            .unwrap_or_default();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    let user = crate::container::user::resolve(spec, &read("/etc/passwd")?, &read("/etc/group")?)
        .map_err(|m| format!("--chown={spec}: {m}"))?;
    Ok((user.uid, user.gid))
}

/// `base` + `path` (absolute paths replace), normalized.
fn join_path(base: &str, path: &str) -> String {
    let full = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{base}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in full.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
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

fn header(id: &str, base_ref: &str, base: Option<&Image>) -> Header {
    crate::recorder::header_for(ContainerInfo {
        id: id.to_string(),
        name: "build".into(),
        image: base.map_or(base_ref.to_string(), |b| b.reference.clone()),
        image_id: base.map(|b| b.id.clone()),
        command: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::dockerfile::Command;
    use super::*;

    #[test]
    fn paths_join_like_workdir() {
        assert_eq!(join_path("/", "app"), "/app");
        assert_eq!(join_path("/app", "sub/../x"), "/app/x");
        assert_eq!(join_path("/app", "/srv"), "/srv");
        assert_eq!(join_path("/a", "../../.."), "/");
    }

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
