//! `rm`: what a container leaves on disk goes away.
//!
//! Its mounts never need unmounting here: they exist only inside its mount
//! namespace, which the kernel destroyed with its last process.

use crate::state::StateDir;

/// Removes `containers/<id>/` and the name claim (if it still holds this id).
/// Best effort: used on error paths, where the first error is the one to report.
pub fn remove_dirs(state: &StateDir, id: &str, name: &str) {
    let _ = std::fs::remove_dir_all(state.container(id));
    let claim = state.names().join(name);
    if std::fs::read_to_string(&claim).is_ok_and(|held| held == id) {
        let _ = std::fs::remove_file(claim);
    }
}
