//! `casulo rename`: a container gets a new name, running or not (as
//! `docker rename`).
//!
//! A name is a claim, `names/<name>` created exclusively and holding the id
//! (see [`super::create`]). Renaming claims the new name first, so two
//! containers can never end up with it, then changes the record under its
//! lock, and only then gives the old name back. What is *not* renamed, as in
//! docker: the hostname inside the container (it was chosen at creation)
//! and the file name of the trace already written.

use super::create::{check_name, claim_name};
use super::{record, ContainerRecord, RunError};
use crate::state::StateDir;

/// Renames the container `key` to `new`; returns the record as written.
pub fn rename(state: &StateDir, key: &str, new: &str) -> Result<ContainerRecord, RunError> {
    check_name(new)?;
    let found = super::find(state, key)?;
    if found.name == new {
        return Err(RunError::SameName(new.to_string()));
    }
    claim_name(state, new, &found.id)?;
    let mut old = String::new();
    let written = record::update(&state.container(&found.id), |r| {
        old = std::mem::replace(&mut r.name, new.to_string());
    });
    match written {
        Ok(record) => {
            super::rm::release_name(state, &found.id, &old);
            Ok(record)
        }
        Err(e) => {
            super::rm::release_name(state, &found.id, new);
            Err(e)
        }
    }
}
