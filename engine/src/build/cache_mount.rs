//! `RUN --mount=type=cache,target=/root/.cache …`: a directory that lives
//! *beside* the image, not in it. Each build of the same context finds it
//! as the last one left it (a package manager's downloads, a compiler's
//! objects), and nothing written there enters the step's layer: the
//! directory is bind-mounted over the target in the step's container, so
//! the overlay's upper dir never sees those files. The lesson is what a
//! layer is *not*: the cache makes the second build fast without making
//! the image bigger.
//!
//! Kept in `cache-mounts/<sha256(contexto, id)>/` of the state dir (as
//! BuildKit keeps its cache mounts in its own store), created with the
//! mount's `mode`, `uid` and `gid`. `sharing=locked` holds an exclusive
//! `flock` on `<dir>.lock` for the step (a second build waits);
//! `sharing=private` takes a fresh directory when that lock is held
//! elsewhere (removed after the step); `shared`, the default, lets
//! concurrent builds use it together.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::dockerfile::{CacheMount, RunMount};
use crate::state::StateDir;
use crate::volume::{MountKind, MountSpec};

/// What a step's mounts hold while it runs: locks and private dirs.
#[derive(Default)]
pub struct Held {
    /// Released when dropped (the step is over).
    _locks: Vec<nix::fcntl::Flock<std::fs::File>>,
    private: Vec<PathBuf>,
}

impl Drop for Held {
    fn drop(&mut self) {
        for dir in &self.private {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The mounts of a RUN step's container for `mounts`, and what holds them.
pub fn prepare(
    state: &StateDir,
    context: &Path,
    mounts: &[RunMount],
) -> std::io::Result<(Vec<MountSpec>, Held)> {
    let mut held = Held::default();
    let mut specs = Vec::new();
    for m in mounts {
        let spec = match &m.cache {
            None => MountSpec {
                kind: MountKind::Tmpfs,
                source: String::new(),
                target: m.target.clone(),
                readonly: false,
                options: String::new(),
                anonymous: false,
            },
            Some(cache) => {
                let dir = directory(state, context, cache, &mut held)?;
                MountSpec {
                    kind: MountKind::Bind,
                    source: dir.display().to_string(),
                    target: m.target.clone(),
                    readonly: false,
                    options: String::new(),
                    anonymous: false,
                }
            }
        };
        specs.push(spec);
    }
    Ok((specs, held))
}

/// Where the cache `id` of the build context `context` lives.
pub fn path_of(state: &StateDir, context: &Path, id: &str) -> PathBuf {
    let key = crate::image::digest::sha256(format!("{}\0{id}", context.display()).as_bytes());
    let hex = key.trim_start_matches("sha256:");
    state.root().join("cache-mounts").join(&hex[..16])
}

fn directory(
    state: &StateDir,
    context: &Path,
    cache: &CacheMount,
    held: &mut Held,
) -> std::io::Result<PathBuf> {
    let dir = path_of(state, context, &cache.id);
    let parent = dir.parent().expect("cache-mounts/<key>");
    std::fs::create_dir_all(parent)?;
    std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))?;
    let dir = match cache.sharing.as_str() {
        "shared" => dir,
        sharing => {
            let lock = crate::state::private_file_options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(dir.with_extension("lock"))?;
            let got = if sharing == "locked" {
                nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
            } else {
                nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock)
            };
            match got {
                Ok(lock) => {
                    held._locks.push(lock);
                    dir
                }
                Err((_, _)) => {
                    let fresh = dir.with_extension(format!("privado-{}", std::process::id()));
                    held.private.push(fresh.clone());
                    fresh
                }
            }
        }
    };
    if !dir.exists() {
        std::fs::create_dir(&dir)?;
        std::os::unix::fs::chown(&dir, Some(cache.uid), Some(cache.gid))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(cache.mode))?;
    }
    Ok(dir)
}
