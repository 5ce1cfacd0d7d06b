//! `rm`: what a container leaves on disk goes away.
//!
//! Its mounts never need unmounting here: they exist only inside its mount
//! namespace, which the kernel destroyed with its last process.

use super::{find, ContainerRecord, ContainerState, RunError};
use crate::state::StateDir;

/// Removes a stopped container (by name, id or id prefix): its read/write
/// layer, its record and its name. Its trace is kept.
pub fn remove(state: &StateDir, key: &str) -> Result<ContainerRecord, RunError> {
    let record = find(state, key)?;
    if record.state == ContainerState::Running {
        return Err(RunError::StillRunning(record.name));
    }
    let dir = state.container(&record.id);
    std::fs::remove_dir_all(&dir)
        .map_err(|e| RunError::io("não consegui remover o contêiner", dir, e))?;
    remove_dirs(state, &record.id, &record.name);
    Ok(record)
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
