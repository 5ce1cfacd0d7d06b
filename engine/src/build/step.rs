//! One step of a stage (any instruction but FROM), in three moments:
//!
//! 1. **resolve**: the instruction after variable substitution — its text
//!    (`created_by`, in the key and in the history), what else the key
//!    holds (the hash of COPY's sources, the SHELL of a RUN), and the
//!    [`Work`] a cache miss would do. Config-only instructions (ENV, CMD,
//!    ARG, SHELL…) change the stage's config here and have no work;
//! 2. **key**: the chain of keys goes on; the `build.step` event; the
//!    cache answers (`build.cache_hit`) or not;
//! 3. **work**, on a miss: a RUN container, or COPY's entries, becomes a
//!    layer (`build.layer`); the cache remembers it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::build_trace::{BuildTrace, StageName};
use super::dockerfile::{self, Dockerfile, Instruction, Op, RunFlags};
use super::file_hashes::FileHashes;
use super::stage::Stage;
use super::{
    cache, cache_mount, config_step, copy_from, dockerignore, engine_error, expand, heredoc_files,
    is_proxy_arg, json, shell_quote, stage_root, step_add_url, step_copy, step_error, step_run,
    unpack, BuildError, MAX_TEXT_FILE,
};
use crate::image::beneath::Node;
use crate::image::layer_tar::Written;
use crate::image::{Layer, Store};
use crate::state::StateDir;

/// What every step of a build shares.
pub(super) struct StepEnv<'a> {
    /// The context, opened once when the build started (never by name again).
    pub context: &'a Node,
    /// Its path: only the name of the cache mounts' directories.
    pub context_path: &'a Path,
    pub ignore: &'a dockerignore::Ignore,
    /// The context files' hashes remembered between builds.
    pub file_hashes: &'a RefCell<FileHashes>,
    pub build_args: &'a BTreeMap<String, String>,
    pub global: &'a BTreeMap<String, String>,
    pub no_cache: bool,
    pub trace: &'a BuildTrace,
    pub build_id: &'a str,
    pub epoch: u64,
    /// The stages built so far (for `COPY --from`).
    pub stages: &'a BTreeMap<usize, Stage>,
    /// The stage's name in the trace (multi-stage builds only).
    pub label: Option<String>,
}

pub(super) struct StepDone {
    pub created_by: String,
    pub layer: Option<Layer>,
    pub cached: bool,
}

/// What a cache miss does.
enum Work<'a> {
    /// Nothing more: the step only changed the config (done when resolved).
    Config,
    Run {
        argv: Vec<String>,
        flags: &'a RunFlags,
    },
    Copy(CopyWork),
}

/// A COPY or ADD, its sources already read (and hashed for the key).
struct CopyWork {
    sources: step_copy::Sources,
    /// Absolute (a relative one joined to WORKDIR, its trailing `/` kept).
    dest: String,
    chmod: Option<u32>,
    chown: Option<String>,
    /// ADD of a local archive unpacks it (a download stays as it came).
    unpack_archives: bool,
    /// What the sources were read from, kept until the layer is written:
    /// `COPY --from`'s merged filesystem, here-documents or downloads as
    /// files.
    _held: (Option<stage_root::StageRoot>, Option<step_copy::Extracted>),
}

struct Resolved<'a> {
    created_by: String,
    /// What the key holds besides the chain and `created_by`.
    key_extra: String,
    /// `COPY --from`: how the trace names the source.
    copy_from: Option<String>,
    /// `ADD https://…`: what arrived, and whether `--checksum` pinned it
    /// (in the trace after the step's event, whose key they are part of).
    downloads: (Vec<step_add_url::Downloaded>, bool),
    work: Work<'a>,
}

/// Runs one step: computes its key, asks the cache, does the work on a
/// miss, records the events; changes `stage`'s config.
#[allow(clippy::too_many_arguments)]
pub(super) fn do_step(
    state: &StateDir,
    store: &Store,
    df: &Dockerfile,
    inst: &Instruction,
    step: u32,
    total: u32,
    stage: &mut Stage,
    env: &StepEnv,
) -> Result<StepDone, BuildError> {
    let Resolved {
        created_by,
        key_extra,
        copy_from,
        downloads: (downloads, pinned),
        work,
    } = resolve(state, store, df, inst, stage, env)?;
    let key = cache::key(&stage.key, &stage.last_diff_id, &created_by, &key_extra);
    stage.key = key.clone();
    env.trace.step(
        (step, total),
        inst,
        inst.op.creates_layer(),
        &key,
        &StageName {
            label: env.label.clone(),
            index: stage.index,
        },
        copy_from,
        if key_extra.is_empty() {
            format!("sha256(parent + {created_by:?})")
        } else {
            format!("sha256(parent + {created_by:?} + {key_extra})")
        },
    );
    for d in &downloads {
        env.trace.download(step, d, pinned);
    }
    if !env.no_cache {
        if let Some(entry) = cache::get(state, store, &key) {
            let layer = entry.layer.as_ref().map(|l| l.layer());
            env.trace.cache_hit(
                step,
                &key,
                layer.as_ref().map(|l| l.diff_id.clone()),
                &cache::dir(state).join(format!("{}.json", &key[7..])),
            );
            return Ok(StepDone {
                created_by,
                layer,
                cached: true,
            });
        }
    }
    // A miss: do the work.
    let written = match work {
        Work::Config => None,
        Work::Run { argv, flags } => Some(run_container(
            state, store, df, inst, step, stage, env, argv, flags,
        )?),
        Work::Copy(copy) => Some(copy_layer(state, store, df, inst, stage, env, copy)?),
    };
    if let Some(w) = &written {
        env.trace
            .layer(step, w, &created_by, store.blob_path(&w.layer.digest).ok());
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
        layer: written.map(|w| w.layer),
        cached: false,
    })
}

/// Moment 1: the instruction after substitution, and what a miss does.
fn resolve<'a>(
    state: &StateDir,
    store: &Store,
    df: &Dockerfile,
    inst: &'a Instruction,
    stage: &mut Stage,
    env: &StepEnv,
) -> Result<Resolved<'a>, BuildError> {
    let vars = stage.vars();
    let x = |w: &str| expand(df, inst, w, &vars);
    let config_only = |created_by| Resolved {
        created_by,
        key_extra: String::new(),
        copy_from: None,
        downloads: Default::default(),
        work: Work::Config,
    };
    Ok(match &inst.op {
        Op::Run(cmd, flags) => Resolved {
            created_by: match cmd {
                // Here-documents: the script the shell gets, documents
                // included (the key must change with them).
                dockerfile::Command::Shell(script) if script.contains('\n') => {
                    format!("RUN {}\n{script}", inst.args)
                }
                _ => format!("RUN {}", inst.args),
            },
            // The key must change with the shell that will run it.
            key_extra: if matches!(cmd, dockerfile::Command::Shell(_))
                && stage.shell != dockerfile::default_shell()
            {
                format!("SHELL {}", json(&stage.shell))
            } else {
                String::new()
            },
            copy_from: None,
            downloads: Default::default(),
            work: Work::Run {
                argv: cmd.argv(&stage.shell),
                flags,
            },
        },
        Op::Copy { .. } => resolve_copy(state, store, df, inst, stage, env, &x)?,
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
            config_only(match value {
                Some(v) => format!("ARG {name}={}", shell_quote(&v)),
                None => format!("ARG {name}"),
            })
        }
        Op::Shell(shell) => {
            stage.shell = shell.clone();
            config_only(format!("SHELL {}", json(shell)))
        }
        op => {
            let target = config_step::ConfigTarget {
                config: stage.config.config.get_or_insert_with(Default::default),
                cmd_set: &mut stage.cmd_set,
                shell: &stage.shell,
            };
            match config_step::apply(op, target, &vars) {
                Some(Ok(text)) => config_only(text),
                Some(Err(m)) => return Err(step_error(df, inst, m)),
                // FROM starts a stage; RUN, COPY, ARG, SHELL are handled above.
                None => unreachable!("not a step of its own: {}", inst.keyword),
            }
        }
    })
}

/// COPY and ADD: the sources are read (and hashed) now, from the context,
/// an earlier stage or image (`--from`), here-documents or a URL.
fn resolve_copy<'a>(
    state: &StateDir,
    store: &Store,
    df: &Dockerfile,
    inst: &'a Instruction,
    stage: &Stage,
    env: &StepEnv,
    x: &dyn Fn(&str) -> Result<String, BuildError>,
) -> Result<Resolved<'a>, BuildError> {
    let Op::Copy {
        add,
        sources,
        dest,
        chown,
        chmod,
        from,
        heredocs,
        checksum,
    } = &inst.op
    else {
        unreachable!("resolve_copy is given COPY and ADD")
    };
    let sources: Vec<String> = sources.iter().map(|s| x(s)).collect::<Result<_, _>>()?;
    let dest = x(dest)?;
    let chown = chown.as_deref().map(x).transpose()?;
    let abs = if dest.starts_with('/') {
        dest.clone()
    } else {
        let mut d = join_path(&stage.workdir(), &dest);
        if dest.ends_with('/') || dest == "." {
            d.push('/');
        }
        d
    };
    let tmp = state.tmp();
    let mut held = (None, None);
    let mut from_key = String::new();
    let mut copy_from = None;
    let mut downloads = Vec::new();
    let read = match from {
        None if !heredocs.is_empty() => {
            let dir = heredoc_files::write(state, heredocs, x)?;
            let read = dir.read(&sources, "here-document", &tmp);
            held.1 = Some(dir);
            read
        }
        None if sources.iter().any(|s| s.contains("://")) => {
            step_add_url::download(state, &sources, checksum.as_deref()).and_then(|(dir, got)| {
                let names: Vec<String> = got.iter().map(|d| d.name.clone()).collect();
                downloads = got;
                let read = dir.read(&names, "download", &tmp);
                held.1 = Some(dir);
                read
            })
        }
        None => step_copy::read_sources(
            env.context,
            &sources,
            env.ignore,
            &tmp,
            &mut env.file_hashes.borrow_mut(),
        ),
        Some(from) => {
            let source = copy_from::source(state, store, df, inst, stage, env, from)?;
            let read = Node::open_root(source.root.path())
                .map_err(|e| format!("{}: {e}", source.root.path().display()))
                .and_then(|dir| {
                    step_copy::read_sources_in(
                        &dir,
                        &sources,
                        &dockerignore::Ignore::default(),
                        &source.fence,
                        &tmp,
                    )
                });
            // The key holds what the source stage is (its key chain, or
            // the image id) besides the content hashed below.
            from_key = source.key;
            copy_from = Some(source.name);
            held.0 = Some(source.root);
            read
        }
    }
    .map_err(|m| step_error(df, inst, format!("{}: {m}", inst.keyword)))?;
    let keyword = if *add { "ADD" } else { "COPY" };
    let flag = |name: &str, value: Option<String>| {
        value.map(|v| format!("--{name}={v} ")).unwrap_or_default()
    };
    let created_by = format!(
        "{keyword} {}{}{}{} {dest}",
        flag("from", from.clone()),
        flag("chown", chown.clone()),
        flag("chmod", chmod.map(|m| format!("{m:04o}"))),
        sources.join(" ")
    );
    let key_extra = if from_key.is_empty() {
        read.hash.clone()
    } else {
        format!("{from_key} {}", read.hash)
    };
    Ok(Resolved {
        created_by,
        key_extra,
        copy_from,
        downloads: (downloads, checksum.is_some()),
        work: Work::Copy(CopyWork {
            sources: read,
            dest: abs,
            chmod: *chmod,
            chown,
            unpack_archives: *add && !sources.iter().any(|s| s.contains("://")),
            _held: held,
        }),
    })
}

/// A RUN's work: its command in a real container on the stage's layers;
/// what it changed becomes the layer.
#[allow(clippy::too_many_arguments)]
fn run_container(
    state: &StateDir,
    store: &Store,
    df: &Dockerfile,
    inst: &Instruction,
    step: u32,
    stage: &Stage,
    env: &StepEnv,
    argv: Vec<String>,
    flags: &RunFlags,
) -> Result<Written, BuildError> {
    if stage.layers.is_empty() {
        return Err(step_error(
            df,
            inst,
            "RUN precisa de um sistema de arquivos com um shell: FROM scratch não tem nenhum",
        ));
    }
    let stage_env = stage.env();
    let args_env: Vec<String> = stage
        .args
        .iter()
        .filter(|(k, _)| {
            !stage_env
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
    let (mounts, _held) = cache_mount::prepare(state, env.context_path, &flags.mounts)
        .map_err(|e| step_error(df, inst, format!("RUN --mount: {e}")))?;
    let run = step_run::RunStep {
        mounts,
        network: flags.network,
        image: stage.image(argv),
        env: args_env,
        name: format!("build-{}-passo-{step}", &env.build_id[..8]),
        recorder: env.trace.rec.clone(),
        trace: env.trace.path.clone(),
        mtime: env.epoch,
    };
    step_run::run(state, store, run).map_err(|e| match e {
        step_run::RunStepError::Failed(code) => BuildError::RunFailed {
            file: df.name.clone(),
            line: inst.line,
            code,
        },
        step_run::RunStepError::Run(e) => BuildError::Engine {
            file: df.name.clone(),
            line: inst.line,
            keyword: inst.keyword.clone(),
            source: Box::new(e),
        },
        step_run::RunStepError::Image(e) => engine_error(df, inst, e),
    })
}

/// A COPY's work: its sources as entries over the stage's layers (owner
/// and mode applied, archives unpacked for ADD) → a layer.
fn copy_layer(
    state: &StateDir,
    store: &Store,
    df: &Dockerfile,
    inst: &Instruction,
    stage: &Stage,
    env: &StepEnv,
    copy: CopyWork,
) -> Result<Written, BuildError> {
    let lowers = unpack(state, stage, &env.trace.rec).map_err(|e| engine_error(df, inst, e))?;
    let owner = match &copy.chown {
        Some(c) => Some(chown_ids(c, &lowers).map_err(|m| step_error(df, inst, m))?),
        None => None,
    };
    let tmp = state.tmp();
    let (entries, _extracted) = step_copy::entries(
        &copy.sources,
        &copy.dest,
        (owner, copy.chmod),
        &lowers,
        copy.unpack_archives.then_some(tmp.as_path()),
    )
    .map_err(|m| step_error(df, inst, format!("{}: {m}", inst.keyword)))?;
    crate::image::layer_tar::write(store, &entries, env.epoch)
        .map_err(|e| engine_error(df, inst, e))
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
pub(super) fn join_path(base: &str, path: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_like_workdir() {
        assert_eq!(join_path("/", "app"), "/app");
        assert_eq!(join_path("/app", "sub/../x"), "/app/x");
        assert_eq!(join_path("/app", "/srv"), "/srv");
        assert_eq!(join_path("/a", "../../.."), "/");
    }
}
