//! RUN: the command runs in a real container, and what it changed becomes
//! a layer.
//!
//! The container is made exactly as `casulo run` makes one (namespaces,
//! overlay rootfs, cgroup, pivot_root; network `none`: the namespace has only `lo`),
//! on the layers built so far (stored as blobs, not tagged), with the
//! image's config so far (ENV, WORKDIR, USER). Its events go into the
//! build's trace. When it ends, its overlay upper directory holds exactly
//! what the command added, changed or deleted: that is the layer
//! ([`super::layer_from_upper`]). Then the container is removed.

use std::path::PathBuf;
use std::sync::Arc;

use crate::container::create::Prepared;
use crate::container::run::{run_with, RunObserver};
use crate::container::{rm, RunError, RunOptions};
use crate::image::{Image, ImageError, Store};
use crate::kernel::LinuxSyscalls;
use crate::recorder::Recorder;
use crate::state::StateDir;

use super::layer_from_upper;
use crate::image::layer_tar::{self, Written};

/// Why a RUN step did not give a layer.
#[derive(Debug)]
pub enum RunStepError {
    /// The command ended with this exit code (not 0).
    Failed(i32),
    /// The container could not run the command.
    Run(RunError),
    /// The layer could not be written.
    Image(ImageError),
}

/// What a RUN step runs, and where.
pub struct RunStep {
    /// The image so far (layers in the store, config with env/workdir/user,
    /// `cmd` = the argv to run).
    pub image: Image,
    /// Build arguments visible to the command as environment (`KEY=value`).
    pub env: Vec<String>,
    /// Container name (`build-<id8>-passo-<n>`).
    pub name: String,
    pub recorder: Arc<Recorder>,
    pub trace: PathBuf,
    /// Fixed mtime of the layer entries.
    pub mtime: u64,
    /// `RUN --mount`: cache directories and tmpfs, outside the layer.
    pub mounts: Vec<crate::volume::MountSpec>,
    /// `RUN --network=default`: on the default bridge, not `none`.
    pub network: bool,
}

/// The empty directories the step's container made only to mount a
/// `RUN --mount` on (as BuildKit, they are not part of the layer; one the
/// command filled, or the image had, stays).
fn remove_mount_stubs(upper: &std::path::Path, targets: &[String]) {
    for target in targets {
        let stub = upper.join(target.trim_start_matches('/'));
        if std::fs::read_dir(&stub).is_ok_and(|mut d| d.next().is_none()) {
            let _ = std::fs::remove_dir(&stub);
        }
    }
}

struct Quiet;
impl RunObserver for Quiet {}

/// Runs the step; on success returns the layer it made (already stored).
pub fn run(state: &StateDir, store: &Store, step: RunStep) -> Result<Written, RunStepError> {
    let mount_targets: Vec<String> = step.mounts.iter().map(|m| m.target.clone()).collect();
    let opts = RunOptions {
        image: step.image.reference.clone(),
        name: Some(step.name.clone()),
        env: step.env,
        // Like `docker build --network none`: a step cannot reach anything,
        // unless it asks (`RUN --network=default`).
        network: if step.network {
            crate::network::NetworkMode::Bridge
        } else {
            crate::network::NetworkMode::None
        },
        mounts: step.mounts,
        network_aliases: Vec::new(),
        ip: None,
        publish_dnat: false,
        pasta: false,
        // A step is a container like any other: a fork bomb in a RUN is
        // stopped at the default pids limit too.
        resources: crate::cgroups::Resources::defaults(),
        ..Default::default()
    };
    let prepared = Prepared {
        image: step.image,
        recorder: step.recorder,
        trace: step.trace,
    };
    let outcome = run_with(state, &opts, Some(prepared), &LinuxSyscalls, &mut Quiet)
        .map_err(RunStepError::Run)?;
    let (id, name) = (outcome.record.id.clone(), outcome.record.name.clone());
    let result = if outcome.exit_code != 0 {
        Err(RunStepError::Failed(outcome.exit_code))
    } else {
        let upper = crate::mounts::upper_of(&state.container(&id));
        remove_mount_stubs(&upper, &mount_targets);
        layer_from_upper::entries(&upper)
            .map_err(|e| RunStepError::Image(ImageError::io(&upper, e)))
            .and_then(|entries| {
                layer_tar::write(store, &entries, step.mtime).map_err(RunStepError::Image)
            })
    };
    rm::remove_dirs(state, &id, &name);
    // `run` blocked SIGINT/SIGTERM to forward them to the container; the
    // build goes on without one, so a Ctrl-C now stops casulo again (a
    // pending one does so right here, between two steps).
    crate::container::wait::unblock_signals();
    result
}
