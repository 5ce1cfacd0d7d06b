//! The page's state without the page: the trace open ([`Loaded`]), the
//! model and its reducer ([`Model`], [`Action`]), the live view's and the
//! listing's data. Plain Rust over the trace crate (no web-sys), so it
//! builds and is unit-tested on the host (`cargo test -p
//! casulo-visualizer`); the Yew app (`app/`) draws it and dispatches the
//! actions.

mod listed;
mod live;
mod loaded;
mod model;
#[cfg(test)]
mod tests;

pub use listed::Listed;
pub use live::Live;
pub use loaded::{Loaded, TIMELINE_BINS};
pub use model::{Action, Model, View};
