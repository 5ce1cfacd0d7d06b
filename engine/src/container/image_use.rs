//! Which images and layers the kept containers use: an image a container
//! was made from is not removed without `--force`, and the layers its
//! overlay stands on survive a gc. Shared by `casulo image rm/prune` and
//! the daemon's `DELETE /images/…` and `/images/prune`.

use std::collections::BTreeSet;

use crate::image::{ImageError, Store};
use crate::state::StateDir;

/// Diff_id hexes of the layers kept containers use as lowerdirs.
pub fn layers_in_use(state: &StateDir) -> BTreeSet<String> {
    super::list(state)
        .iter()
        .flat_map(|c| &c.lowerdirs)
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect()
}

/// Names of the kept containers made from the tag `reference` (image `id`).
pub fn users(state: &StateDir, reference: &str, id: &str) -> Vec<String> {
    super::list(state)
        .into_iter()
        .filter(|c| c.image_id == id && c.image == reference)
        .map(|c| c.name)
        .collect()
}

/// What removing one tag did.
#[derive(Debug, Clone, Default)]
pub struct Removed {
    /// The tag removed.
    pub untagged: String,
    /// The image id, when no other tag names that image any more.
    pub deleted: Option<String>,
}

/// Removes the tag `reference` (refused while a kept container uses it,
/// unless `force`); blobs and layers nothing uses are swept afterwards by
/// [`sweep`].
pub fn untag(
    state: &StateDir,
    store: &Store,
    reference: &str,
    force: bool,
) -> Result<Removed, UntagError> {
    let image = store.resolve(reference)?;
    let users = users(state, &image.reference, &image.id);
    if !users.is_empty() && !force {
        return Err(UntagError::InUse {
            reference: image.reference,
            containers: users,
        });
    }
    store.untag(&image.reference)?;
    let still = store.list()?.iter().any(|row| row.id == image.id);
    Ok(Removed {
        untagged: image.reference,
        deleted: (!still).then_some(image.id),
    })
}

/// Removes the blobs and unpacked layers no image nor kept container uses:
/// (blobs, layer dirs, bytes freed).
pub fn sweep(state: &StateDir, store: &Store) -> Result<(u64, u64, u64), ImageError> {
    store.gc(&layers_in_use(state))
}

/// Why a tag was not removed.
#[derive(Debug, thiserror::Error)]
pub enum UntagError {
    #[error(
        "a imagem {reference} é usada pelos contêineres {} (remova-os antes, ou force)",
        containers.join(", ")
    )]
    InUse {
        reference: String,
        containers: Vec<String>,
    },
    #[error(transparent)]
    Image(#[from] ImageError),
}
