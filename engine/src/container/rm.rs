//! `rm`: what a container leaves on disk goes away.
//!
//! Its mounts never need unmounting here: they exist only inside its mount
//! namespace, which the kernel destroyed with its last process.

use super::{find, ContainerRecord, ContainerState, RunError};
use crate::state::StateDir;

/// Removes a stopped container (by name, id or id prefix): its read/write
/// layer, its record and its name; with `volumes` (`rm -v`) its anonymous
/// volumes too (named ones always stay). Its trace is kept.
pub fn remove(state: &StateDir, key: &str, volumes: bool) -> Result<ContainerRecord, RunError> {
    let record = find(state, key)?;
    if record.state == ContainerState::Running {
        return Err(RunError::StillRunning(record.name));
    }
    let dir = state.container(&record.id);
    std::fs::remove_dir_all(&dir)
        .map_err(|e| RunError::io("não consegui remover o contêiner", dir, e))?;
    remove_dirs(state, &record.id, &record.name);
    if volumes {
        remove_anonymous_volumes(state, &record);
    }
    Ok(record)
}

/// The anonymous volumes of a container that is gone (`rm -v`, `--rm`, a
/// run that failed to start). Best effort: one another container still
/// mounts stays.
pub fn remove_anonymous_volumes(state: &StateDir, record: &ContainerRecord) {
    if !record.process.mounts.iter().any(|m| m.spec.anonymous) {
        return;
    }
    let _lock = crate::volume::lock(state, true);
    for m in record.process.mounts.iter().filter(|m| m.spec.anonymous) {
        if crate::volume::users(state, &m.spec.source).is_empty() {
            let _ = crate::volume::remove_unchecked(state, &m.spec.source);
        }
    }
}

/// Removes `containers/<id>/` and the name claim (if it still holds this id).
/// Best effort: used on error paths, where the first error is the one to report.
pub fn remove_dirs(state: &StateDir, id: &str, name: &str) {
    let _ = std::fs::remove_dir_all(state.container(id));
    let claim = state.names().join(name);
    if std::fs::read_to_string(&claim).is_ok_and(|held| held == id) {
        let _ = std::fs::remove_file(claim);
    }
}
