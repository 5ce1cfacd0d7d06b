//! TODO (being written)
use super::*;
use crate::state::StateDir;
pub struct Store {
    pub state: StateDir,
}
impl Store {
    pub fn open(state: &StateDir) -> Result<Store, ImageError> {
        Ok(Store {
            state: state.clone(),
        })
    }
    pub fn resolve(&self, reference: &str) -> Result<Image, ImageError> {
        Err(ImageError::NotFound(reference.into()))
    }
    pub fn list(&self) -> Result<Vec<ImageSummary>, ImageError> {
        Ok(vec![])
    }
    pub fn ensure_layer(&self, _layer: &Layer) -> Result<LayerDir, ImageError> {
        Err(ImageError::Other("todo".into()))
    }
}
