//! A build (stages, steps, downloads, cache hits, layers) and images committed from a container.

use super::World;
use crate::{Event, EventBody};

/// A Dockerfile build (`casulo build`), as far as the trace tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Build {
    /// The build context directory.
    pub context: String,
    pub dockerfile: String,
    /// `-t`, when given.
    pub tag: Option<String>,
    /// Instructions in the Dockerfile.
    pub total: u32,
    /// The base of the stage under way (the last FROM so far): with one
    /// stage, the image's base.
    pub base: Option<BuildBase>,
    /// Every stage started, in order (one per FROM; a one-stage build has
    /// one). Stages skipped by the build (not needed) are not here.
    pub stages: Vec<BuildBase>,
    /// Steps started, in order.
    pub steps: Vec<BuildStep>,
    pub commit: Option<BuildCommit>,
    /// Index of the `build.start` event.
    pub at: usize,
}

/// The image `FROM` names: the start of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildBase {
    pub image: String,
    pub image_id: Option<String>,
    /// Its layers (diff_ids), bottom-most first.
    pub diff_ids: Vec<String>,
    /// Multi-stage builds: the stage's name (or number) and number.
    pub stage: Option<String>,
    pub stage_index: Option<u32>,
    /// `FROM builder`: the earlier stage it starts from.
    pub from_stage: Option<String>,
    pub at: usize,
}

/// One Dockerfile instruction and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStep {
    /// 1-based.
    pub step: u32,
    /// Line in the Dockerfile (1-based).
    pub line: u32,
    pub instruction: String,
    pub args: String,
    /// RUN, COPY, ADD: the step makes a filesystem layer.
    pub creates_layer: bool,
    pub cache_key: String,
    /// Multi-stage builds: the stage it belongs to (name or number, and number).
    pub stage: Option<String>,
    pub stage_index: Option<u32>,
    /// `COPY --from=X`: the stage or image the files come from.
    pub copy_from: Option<String>,
    /// `ADD https://…`: what the step downloaded.
    pub downloads: Vec<Download>,
    pub result: StepResult,
    /// Index of its `build.step` event.
    pub at: usize,
}

/// A file an `ADD https://…` downloaded (`build.download`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub url: String,
    pub bytes: u64,
    pub digest: String,
    /// `--checksum` pinned it.
    pub pinned: bool,
}

/// How a build step ended (so far).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepResult {
    /// Started; no result yet.
    Running,
    /// Found in the cache: nothing ran. `diff_id` is the cached layer, for
    /// steps that make one.
    CacheHit { diff_id: Option<String>, at: usize },
    /// Ran and made a new layer.
    NewLayer {
        diff_id: String,
        bytes: u64,
        files: u64,
        created_by: String,
        at: usize,
    },
    /// Only changed the image config (ENV, CMD, WORKDIR…): the next step
    /// (or the commit) began with no layer from it.
    ConfigOnly,
}

impl StepResult {
    /// The layer this step put on the stack, if any.
    pub fn diff_id(&self) -> Option<&str> {
        match self {
            StepResult::CacheHit { diff_id, .. } => diff_id.as_deref(),
            StepResult::NewLayer { diff_id, .. } => Some(diff_id),
            _ => None,
        }
    }
}

/// The image the build wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildCommit {
    /// Empty when no tag was given.
    pub tag: String,
    pub image_id: String,
    pub layers: u32,
    pub at: usize,
}

impl Build {
    /// The step with number `step`, the latest one with it.
    pub fn step(&self, step: u32) -> Option<&BuildStep> {
        self.steps.iter().rev().find(|s| s.step == step)
    }

    /// The step under way: the latest one, until the commit.
    pub fn current(&self) -> Option<&BuildStep> {
        match self.commit {
            Some(_) => None,
            None => self.steps.last(),
        }
    }

    /// Steps that found their result in the cache.
    pub fn cache_hits(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s.result, StepResult::CacheHit { .. }))
            .count()
    }

    /// The steps' own layers so far (cached or new), bottom-most first,
    /// of the stage under way (the last one: the image's, in the end).
    pub fn new_layers(&self) -> impl Iterator<Item = &str> {
        let current = self.base.as_ref().and_then(|b| b.stage_index);
        self.stage_steps(current).filter_map(|s| s.result.diff_id())
    }

    /// More than one stage in the trace.
    pub fn is_multistage(&self) -> bool {
        self.stages.len() > 1 || self.stages.iter().any(|s| s.stage_index.is_some())
    }

    /// The steps of stage `stage_index` (`None`: a one-stage build's).
    pub fn stage_steps(&self, stage_index: Option<u32>) -> impl Iterator<Item = &BuildStep> {
        self.steps
            .iter()
            .filter(move |s| s.stage_index == stage_index)
    }

    /// The layer stack of a stage, bottom-most first: its base's layers
    /// (an earlier stage's, for `FROM builder`) and its steps' own.
    pub fn stage_layers(&self, stage: &BuildBase) -> Vec<String> {
        let mut out = stage.diff_ids.clone();
        out.extend(
            self.stage_steps(stage.stage_index)
                .filter_map(|s| s.result.diff_id().map(String::from)),
        );
        out
    }

    /// The stage the image is made of: the last one built.
    pub fn final_stage(&self) -> Option<&BuildBase> {
        self.stages.last()
    }

    /// The config-only step still `Running` becomes `ConfigOnly` when the
    /// next step or the commit begins.
    fn close_last_step(&mut self) {
        if let Some(s) = self.steps.last_mut() {
            if s.result == StepResult::Running && !s.creates_layer {
                s.result = StepResult::ConfigOnly;
            }
        }
    }

    fn step_mut(&mut self, step: u32) -> Option<&mut BuildStep> {
        self.steps.iter_mut().rev().find(|s| s.step == step)
    }
}

/// A `casulo commit` of the container (`image.commit`): its read/write
/// layer became a layer of a new image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageCommit {
    pub container: String,
    pub diff_id: String,
    /// Blob bytes (compressed) and tar bytes.
    pub size: u64,
    pub bytes: u64,
    pub files: u64,
    pub whiteouts: u64,
    pub image_id: String,
    /// Empty when no tag was given.
    pub tag: String,
    pub changes: Vec<String>,
    pub at: usize,
}

impl World {
    /// The build as it runs: start, base image of each stage, steps, downloads.
    pub(super) fn apply_build_steps(&mut self, event: &Event, at: usize) {
        match &event.body {
            EventBody::BuildStart {
                context,
                dockerfile,
                tag,
                steps,
            } => {
                self.build = Some(Build {
                    context: context.clone(),
                    dockerfile: dockerfile.clone(),
                    tag: tag.clone(),
                    total: *steps,
                    at,
                    ..Build::default()
                })
            }
            EventBody::BuildBase {
                image,
                image_id,
                diff_ids,
                stage,
                stage_index,
                from_stage,
            } => {
                let base = BuildBase {
                    image: image.clone(),
                    image_id: image_id.clone(),
                    diff_ids: diff_ids.clone(),
                    stage: stage.clone(),
                    stage_index: *stage_index,
                    from_stage: from_stage.clone(),
                    at,
                };
                let build = self.build_mut(at);
                build.stages.push(base.clone());
                build.base = Some(base);
            }
            EventBody::BuildStep {
                step,
                total,
                line,
                instruction,
                args,
                creates_layer,
                cache_key,
                stage,
                stage_index,
                copy_from,
            } => {
                let build = self.build_mut(at);
                build.close_last_step();
                build.total = build.total.max(*total);
                build.steps.push(BuildStep {
                    step: *step,
                    line: *line,
                    instruction: instruction.clone(),
                    args: args.clone(),
                    creates_layer: *creates_layer,
                    cache_key: cache_key.clone(),
                    stage: stage.clone(),
                    stage_index: *stage_index,
                    copy_from: copy_from.clone(),
                    downloads: Vec::new(),
                    result: StepResult::Running,
                    at,
                });
            }
            EventBody::BuildDownload {
                step,
                url,
                bytes,
                digest,
                pinned,
                ..
            } => {
                if let Some(s) = self.build_mut(at).step_mut(*step) {
                    s.downloads.push(Download {
                        url: url.clone(),
                        bytes: *bytes,
                        digest: digest.clone(),
                        pinned: *pinned,
                    });
                }
            }
            _ => {}
        }
    }

    /// What the steps leave: cache hits, layers, the image; `casulo commit`'s images.
    pub(super) fn apply_build_results(&mut self, event: &Event, at: usize) {
        match &event.body {
            EventBody::BuildCacheHit { step, diff_id, .. } => {
                if let Some(s) = self.build_mut(at).step_mut(*step) {
                    s.result = StepResult::CacheHit {
                        diff_id: diff_id.clone(),
                        at,
                    };
                }
            }
            EventBody::BuildLayer {
                step,
                diff_id,
                bytes,
                files,
                created_by,
            } => {
                if let Some(s) = self.build_mut(at).step_mut(*step) {
                    s.result = StepResult::NewLayer {
                        diff_id: diff_id.clone(),
                        bytes: *bytes,
                        files: *files,
                        created_by: created_by.clone(),
                        at,
                    };
                }
            }
            EventBody::ImageCommit {
                container,
                diff_id,
                size,
                bytes,
                files,
                whiteouts,
                image_id,
                tag,
                changes,
                ..
            } => self.commits.push(ImageCommit {
                container: container.clone(),
                diff_id: diff_id.clone(),
                size: *size,
                bytes: *bytes,
                files: *files,
                whiteouts: *whiteouts,
                image_id: image_id.clone(),
                tag: tag.clone(),
                changes: changes.clone(),
                at,
            }),
            EventBody::BuildCommit {
                tag,
                image_id,
                layers,
            } => {
                let build = self.build_mut(at);
                build.close_last_step();
                build.commit = Some(BuildCommit {
                    tag: tag.clone(),
                    image_id: image_id.clone(),
                    layers: *layers,
                    at,
                });
            }
            _ => {}
        }
    }

    /// The build, made on the spot when a trace starts mid-build.
    pub(super) fn build_mut(&mut self, at: usize) -> &mut Build {
        self.build.get_or_insert_with(|| Build {
            at,
            ..Build::default()
        })
    }
}
