//! The volumes containers use: who uses one (any container that mounts
//! it, stopped ones too, as docker counts), and removing only the unused
//! ones. It lives with the containers because it needs their list; the
//! volumes themselves are [`crate::volume`].

use crate::state::StateDir;
use crate::volume::filter::VolumeFilter;
use crate::volume::{self, MountKind, Volume, VolumeError};

/// The containers (any state: docker counts stopped ones too) that mount `name`.
pub fn users(state: &StateDir, name: &str) -> Vec<String> {
    super::list(state)
        .into_iter()
        .filter(|c| {
            c.process
                .mounts
                .iter()
                .any(|m| m.spec.kind == MountKind::Volume && m.spec.source == name)
        })
        .map(|c| c.name)
        .collect()
}

/// A volume as `docker volume inspect` shows it (and `casulo volume
/// inspect`, and the daemon), with the containers that use it.
pub fn describe(state: &StateDir, v: &Volume) -> serde_json::Value {
    serde_json::json!({
        "Name": v.name,
        "CreatedAt": v.created,
        "Driver": "local",
        "Mountpoint": v.mountpoint,
        "Anonymous": v.anonymous,
        "UsedBy": users(state, &v.name),
        "Scope": "local",
        "Labels": v.labels,
        "Options": {},
    })
}

/// Removes a volume no container uses (`force` only skips "not found").
pub fn remove(state: &StateDir, name: &str) -> Result<Volume, VolumeError> {
    let _lock = volume::lock(state, true)?;
    let volume = volume::inspect(state, name)?;
    if let Some(container) = users(state, name).into_iter().next() {
        return Err(VolumeError::InUse {
            name: name.to_string(),
            container,
        });
    }
    volume::remove_unchecked(state, name)?;
    Ok(volume)
}

/// Removes unused volumes: anonymous ones, or every one with `all` —
/// those `filter` lets through.
pub fn prune(
    state: &StateDir,
    all: bool,
    filter: &VolumeFilter,
) -> Vec<Result<Volume, VolumeError>> {
    let _lock = match volume::lock(state, true) {
        Ok(l) => l,
        Err(e) => return vec![Err(e)],
    };
    volume::list(state)
        .into_iter()
        .filter(|v| all || v.anonymous)
        .filter(|v| {
            users(state, &v.name).is_empty()
                && filter.lets_through(v, || users(state, &v.name).is_empty())
        })
        .map(|v| volume::remove_unchecked(state, &v.name).map(|()| v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// prune takes the anonymous unused volumes (all unused ones with
    /// `all`), only those the filter lets through; remove takes one.
    #[test]
    fn prune_and_remove_take_only_what_is_asked() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join("estado"));
        state.ensure().unwrap();
        volume::create(&state, Some("dados"), false, true).unwrap();
        let labels = [("turma".to_string(), "a".to_string())].into();
        volume::create_labeled(&state, Some("marcado"), false, true, labels).unwrap();
        let (anon, _) = volume::create(&state, None, true, true).unwrap();
        let names = |r: Vec<Result<Volume, VolumeError>>| -> Vec<String> {
            r.into_iter().map(|v| v.unwrap().name).collect()
        };
        assert_eq!(
            names(prune(&state, false, &Default::default())),
            [anon.name]
        );
        let by_label = VolumeFilter::parse([("label", "turma=a")], &["label"]).unwrap();
        assert_eq!(names(prune(&state, true, &by_label)), ["marcado"]);
        assert!(matches!(
            remove(&state, "nenhum"),
            Err(VolumeError::NotFound(_))
        ));
        remove(&state, "dados").unwrap();
        assert!(volume::list(&state).is_empty());
    }
}
