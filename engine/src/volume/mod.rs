//! Volumes: data that lives outside the container's layers.
//!
//! An image is immutable and a container's upper dir goes with `casulo rm`;
//! what must survive (a database, uploads) goes in a **volume**, a
//! directory casulo keeps in its state dir and mounts (a bind mount) into
//! any container that asks for it by name:
//!
//! ```text
//! <root>/volumes/<nome>/        0700, like everything in the state dir: a
//!                               setuid file in a volume is out of reach of
//!                               the host's other users
//!   volume.json                 name, created, anonymous
//!   _data/                      what the container sees at the mount point
//! ```
//!
//! - a **named** volume (`-v dados:/dados`) is created on first use, and a
//!   new one is *seeded* with what the image has at that path (docker's
//!   rule: a `postgres` image's `/var/lib/postgresql/data` layout arrives in
//!   the new volume);
//! - an **anonymous** volume gets a generated name: one per `VOLUME` of the
//!   image (or `-v /caminho`), removed with the container by `rm -v`/`--rm`;
//! - a **bind** (`-v /host:/ctr`) mounts a host path as given, and a
//!   **tmpfs** (`--tmpfs /ctr`) a filesystem in memory.
//!
//! [`spec`] reads the flags, [`mount`] makes the mounts inside the
//! container's mount namespace, with targets found by [`inroot`] (never
//! through a symlink out of the rootfs).

pub mod filter;
pub mod inroot;
pub mod mount;
pub mod spec;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

pub use spec::{MountKind, MountSpec};

use crate::state::StateDir;

/// `volumes/<nome>/volume.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub name: String,
    /// RFC 3339.
    pub created: String,
    /// Generated name (an image's `VOLUME`, or `-v /caminho`).
    #[serde(default)]
    pub anonymous: bool,
    /// docker's labels (`volume create --label`), kept for filters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Where its data lives on the host (`…/_data`); filled on read.
    #[serde(skip_deserializing, default)]
    pub mountpoint: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("{0}")]
    BadName(String),
    #[error("volume não encontrado: {0:?} (veja `casulo volume ls`)")]
    NotFound(String),
    #[error("o volume {name:?} está em uso pelo contêiner {container:?} (remova o contêiner antes: `casulo rm {container}`)")]
    InUse { name: String, container: String },
    #[error("já existe um volume chamado {0:?}")]
    Exists(String),
    /// A bind's source is not on the host (the whole message).
    #[error("{0}")]
    BindSourceMissing(String),
    #[error("{what}: {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> VolumeError {
    let path = path.into();
    move |source| VolumeError::Io { what, path, source }
}

/// The volumes' lock (`volumes/.lock`, a `flock`): held shared by a run
/// from the moment it takes a volume until its record (which says it uses
/// it) is written, and exclusive by `volume rm`/`prune` while they check
/// who uses a volume and remove it. So a volume is never removed between a
/// run's "it exists" and its record.
pub fn lock(
    state: &StateDir,
    exclusive: bool,
) -> Result<nix::fcntl::Flock<std::fs::File>, VolumeError> {
    let dir = volumes_dir(state);
    crate::state::create_private_dir_all(&dir).map_err(io("não consegui criar", &dir))?;
    let path = dir.join(".lock");
    let file = crate::state::private_file_options()
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io("não consegui travar os volumes", &path))?;
    let arg = if exclusive {
        nix::fcntl::FlockArg::LockExclusive
    } else {
        nix::fcntl::FlockArg::LockShared
    };
    nix::fcntl::Flock::lock(file, arg)
        .map_err(|(_, errno)| io("não consegui travar os volumes", &path)(errno.into()))
}

pub fn volumes_dir(state: &StateDir) -> PathBuf {
    state.root().join("volumes")
}

/// The host directory a container sees for the volume `name`.
pub fn data_dir(state: &StateDir, name: &str) -> PathBuf {
    volumes_dir(state).join(name).join("_data")
}

/// Creates the volume `name` (or a generated one); `Ok((volume, true))`
/// when it was made now, `(volume, false)` when it existed (and
/// `exclusive` is false: `-v nome:` reuses, `volume create` refuses).
pub fn create(
    state: &StateDir,
    name: Option<&str>,
    anonymous: bool,
    exclusive: bool,
) -> Result<(Volume, bool), VolumeError> {
    create_labeled(state, name, anonymous, exclusive, BTreeMap::new())
}

/// [`create`] with docker's labels (written only by the one that makes it).
pub fn create_labeled(
    state: &StateDir,
    name: Option<&str>,
    anonymous: bool,
    exclusive: bool,
    labels: BTreeMap<String, String>,
) -> Result<(Volume, bool), VolumeError> {
    let name = match name {
        Some(n) => {
            spec::check_volume_name(n).map_err(VolumeError::BadName)?;
            n.to_string()
        }
        None => crate::state::new_id(),
    };
    let all = volumes_dir(state);
    crate::state::create_private_dir_all(&all).map_err(io("não consegui criar", &all))?;
    let dir = all.join(&name);
    // mkdir is the lock: of two creators, one makes it.
    match std::fs::DirBuilder::new()
        .mode(crate::state::DIR_MODE)
        .create(&dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if exclusive {
                return Err(VolumeError::Exists(name));
            }
            return Ok((inspect(state, &name)?, false));
        }
        Err(e) => return Err(io("não consegui criar o volume", &dir)(e)),
    }
    let volume = Volume {
        name: name.clone(),
        created: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        anonymous,
        labels,
        mountpoint: data_dir(state, &name),
    };
    let made = (|| {
        // _data keeps 0755 (the container's view); its parent is 0700.
        std::fs::create_dir(&volume.mountpoint)
            .map_err(io("não consegui criar o volume", &volume.mountpoint))?;
        write_json(&dir.join("volume.json"), &volume)
    })();
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    Ok((volume, true))
}

use std::os::unix::fs::DirBuilderExt;

fn write_json(path: &std::path::Path, volume: &Volume) -> Result<(), VolumeError> {
    use std::io::Write;
    let json = serde_json::to_vec_pretty(volume).expect("volumes always serialize");
    crate::state::private_file_options()
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(&json))
        .map_err(io("não consegui gravar o volume", path))
}

/// What the init will mount, from what was asked: a bind's source must
/// exist (and be absolute: [`spec`] made sure), a volume is created when
/// missing (recorded as `volume.create`; its name pushed to `made`, so the
/// caller can undo) and then seeded by the init.
pub fn plan(
    state: &StateDir,
    wanted: &[MountSpec],
    rec: &crate::recorder::Recorder,
    made: &mut Vec<String>,
) -> Result<Vec<mount::MountPlan>, VolumeError> {
    let mut plans = Vec::new();
    for m in wanted {
        let mut spec = m.clone();
        let (host, seed) = match m.kind {
            MountKind::Bind => {
                let host = PathBuf::from(&m.source);
                if let Err(e) = std::fs::metadata(&host) {
                    return Err(VolumeError::BindSourceMissing(format!(
                        "-v {}:{}: a origem {:?} não existe no host ({}); crie o diretório antes \
                         (o casulo, como o docker com --mount, não cria a origem de um bind)",
                        m.source,
                        m.target,
                        m.source,
                        crate::kernel::translate_os_errors(&e.to_string())
                    )));
                }
                (host, false)
            }
            MountKind::Volume => {
                let name = (!m.source.is_empty()).then_some(m.source.as_str());
                let (volume, new) = create(state, name, m.anonymous, false)?;
                if new {
                    made.push(volume.name.clone());
                    let path = volume.mountpoint.display().to_string();
                    rec.record(
                        casulo_trace::EventBody::VolumeCreate {
                            name: volume.name.clone(),
                            path: path.clone(),
                            anonymous: volume.anonymous,
                            target: m.target.clone(),
                        },
                        format!("mkdir({path:?}, 0755)"),
                        casulo_trace::Outcome::Ok,
                    );
                }
                spec.source = volume.name.clone();
                (volume.mountpoint, new)
            }
            MountKind::Tmpfs => (PathBuf::new(), false),
        };
        plans.push(mount::MountPlan { spec, host, seed });
    }
    Ok(plans)
}

/// The volume `name`, if it exists.
pub fn inspect(state: &StateDir, name: &str) -> Result<Volume, VolumeError> {
    if spec::check_volume_name(name).is_err() {
        return Err(VolumeError::NotFound(name.to_string()));
    }
    let dir = volumes_dir(state).join(name);
    let bytes = match std::fs::read(dir.join("volume.json")) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir.is_dir() => {
            // Being created right now by another casulo (or a crash in
            // between): still a volume by that name.
            return Ok(Volume {
                name: name.to_string(),
                created: String::new(),
                anonymous: false,
                labels: BTreeMap::new(),
                mountpoint: data_dir(state, name),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VolumeError::NotFound(name.to_string()))
        }
        Err(e) => return Err(io("não consegui ler o volume", dir)(e)),
    };
    let mut v: Volume = serde_json::from_slice(&bytes).map_err(|e| {
        io("volume.json inválido", dir.join("volume.json"))(std::io::Error::other(e))
    })?;
    v.mountpoint = data_dir(state, name);
    Ok(v)
}

/// Every volume, by name.
pub fn list(state: &StateDir) -> Vec<Volume> {
    let mut names: Vec<String> = std::fs::read_dir(volumes_dir(state))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .filter_map(|n| inspect(state, n).ok())
        .collect()
}

/// Removes the directory: first renamed away (so a half-removed volume is
/// never seen by its name), then deleted. Whether a container uses it is
/// the caller's to check, under [`lock`]
/// ([`crate::container::volumes::remove`]).
pub fn remove_unchecked(state: &StateDir, name: &str) -> Result<(), VolumeError> {
    let dir = volumes_dir(state).join(name);
    let doomed = volumes_dir(state).join(format!(".rm-{name}-{}", std::process::id()));
    std::fs::rename(&dir, &doomed).map_err(io("não consegui remover o volume", &dir))?;
    std::fs::remove_dir_all(&doomed).map_err(io("não consegui remover o volume", &doomed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn volumes_are_private_unique_and_listed() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join("estado"));
        state.ensure().unwrap();
        let (v, new) = create(&state, Some("dados"), false, true).unwrap();
        assert!(new && v.mountpoint.is_dir());
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&volumes_dir(&state)), 0o700);
        assert_eq!(mode(&volumes_dir(&state).join("dados")), 0o700);
        assert!(matches!(
            create(&state, Some("dados"), false, true),
            Err(VolumeError::Exists(_))
        ));
        assert!(!create(&state, Some("dados"), false, false).unwrap().1);
        let (anon, _) = create(&state, None, true, true).unwrap();
        assert_eq!(anon.name.len(), 64);
        assert_eq!(list(&state).len(), 2);
        remove_unchecked(&state, &anon.name).unwrap();
        assert_eq!(list(&state)[0].name, "dados");
        assert!(matches!(
            inspect(&state, "../x"),
            Err(VolumeError::NotFound(_))
        ));
        remove_unchecked(&state, "dados").unwrap();
        assert!(list(&state).is_empty());
    }
}
