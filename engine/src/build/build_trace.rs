//! The build's trace: one method per `build.*` event, each with the
//! operation text the visualizer shows beside it. The RUN containers
//! write their own events into the same file through [`BuildTrace::rec`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use casulo_trace::{ContainerInfo, EventBody, Header, Outcome};

use super::dockerfile::Instruction;
use super::{BuildError, BuildOptions};
use crate::image::{Image, ImageError, Layer};
use crate::recorder::Recorder;
use crate::state::StateDir;

pub(super) struct BuildTrace {
    pub rec: Arc<Recorder>,
    pub path: PathBuf,
}

/// Which stage an event is about: named only in multi-stage builds.
#[derive(Clone)]
pub(super) struct StageName {
    pub label: Option<String>,
    pub index: usize,
}

impl StageName {
    fn index(&self) -> Option<u32> {
        self.label.as_ref().map(|_| self.index as u32)
    }
}

impl BuildTrace {
    /// Opens the trace (`--trace`, or `traces/build-<id8>.trace.jsonl`);
    /// its header's "container" is the build itself, its image the first
    /// base.
    pub fn create(
        state: &StateDir,
        opts: &BuildOptions,
        id: &str,
        base_ref: &str,
        base: Option<&Image>,
    ) -> Result<BuildTrace, BuildError> {
        let path = opts.trace.clone().unwrap_or_else(|| {
            state
                .traces()
                .join(format!("build-{}.trace.jsonl", &id[..8]))
        });
        state
            .ensure()
            .map_err(|e| BuildError::Image(ImageError::io(state.root(), e)))?;
        let rec = Recorder::create(&path, &header(id, base_ref, base)).map_err(|source| {
            BuildError::Trace {
                path: path.clone(),
                source,
            }
        })?;
        crate::rootless::record_maps(&rec);
        Ok(BuildTrace {
            rec: Arc::new(rec),
            path,
        })
    }

    pub fn start(&self, context: &Path, dockerfile: &Path, tag: Option<String>, steps: u32) {
        self.rec.record(
            EventBody::BuildStart {
                context: context.display().to_string(),
                dockerfile: dockerfile.display().to_string(),
                tag,
                steps,
            },
            format!("read {}", dockerfile.display()),
            Outcome::Ok,
        );
    }

    /// A step: FROM or any other instruction; `how` says how its key was
    /// made.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &self,
        (step, total): (u32, u32),
        inst: &Instruction,
        creates_layer: bool,
        cache_key: &str,
        stage: &StageName,
        copy_from: Option<String>,
        how: String,
    ) {
        self.rec.record(
            EventBody::BuildStep {
                step,
                total,
                line: inst.line,
                instruction: inst.keyword.clone(),
                args: inst.args.clone(),
                creates_layer,
                cache_key: cache_key.to_string(),
                stage: stage.label.clone(),
                stage_index: stage.index(),
                copy_from,
            },
            how,
            Outcome::Ok,
        );
    }

    /// What a stage starts from: an image's layers, an earlier stage's, or
    /// none (scratch).
    pub fn base(
        &self,
        image: &str,
        image_id: Option<String>,
        layers: &[Layer],
        stage: &StageName,
        from_stage: Option<String>,
        how: String,
    ) {
        self.rec.record(
            EventBody::BuildBase {
                image: image.to_string(),
                image_id,
                diff_ids: layers.iter().map(|l| l.diff_id.clone()).collect(),
                stage: stage.label.clone(),
                stage_index: stage.index(),
                from_stage,
            },
            how,
            Outcome::Ok,
        );
    }

    /// A file an `ADD https://…` downloaded.
    pub fn download(&self, step: u32, d: &super::step_add_url::Downloaded, pinned: bool) {
        self.rec.record(
            EventBody::BuildDownload {
                step,
                url: d.url.clone(),
                file: d.name.clone(),
                bytes: d.bytes,
                digest: d.digest.clone(),
                pinned,
            },
            format!("GET {}", d.url),
            Outcome::Ok,
        );
    }

    pub fn cache_hit(&self, step: u32, cache_key: &str, diff_id: Option<String>, file: &Path) {
        self.rec.record(
            EventBody::BuildCacheHit {
                step,
                cache_key: cache_key.to_string(),
                diff_id,
            },
            format!("read {}", file.display()),
            Outcome::Ok,
        );
    }

    pub fn layer(
        &self,
        step: u32,
        written: &crate::image::layer_tar::Written,
        created_by: &str,
        blob: Option<PathBuf>,
    ) {
        self.rec.record(
            EventBody::BuildLayer {
                step,
                diff_id: written.layer.diff_id.clone(),
                bytes: written.bytes,
                files: written.files,
                created_by: created_by.to_string(),
            },
            format!(
                "write {}",
                blob.map(|p| p.display().to_string()).unwrap_or_default()
            ),
            Outcome::Ok,
        );
    }

    pub fn commit(&self, tag: String, image_id: &str, layers: u32, store_dir: &Path) {
        self.rec.record(
            EventBody::BuildCommit {
                tag,
                image_id: image_id.to_string(),
                layers,
            },
            format!("write {}/index.json", store_dir.display()),
            Outcome::Ok,
        );
    }
}

fn header(id: &str, base_ref: &str, base: Option<&Image>) -> Header {
    crate::recorder::header_for(
        ContainerInfo {
            id: id.to_string(),
            name: "build".into(),
            image: base.map_or(base_ref.to_string(), |b| b.reference.clone()),
            image_id: base.map(|b| b.id.clone()),
            command: vec![],
        },
        crate::cgroups::host_mode().as_str(),
    )
}
