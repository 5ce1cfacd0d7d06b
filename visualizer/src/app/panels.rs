//! What the diagrams (SVG) of the world at the current position share:
//! the large-type scale and the props of a panel that draws the world. The
//! panels are one per file: [`super::namespaces`], [`super::filesystem`],
//! [`super::cgroups`], [`super::network`].

use std::rc::Rc;

use casulo_trace::replay::World;
use yew::prelude::*;

use crate::format::coord;

/// How much the diagrams' text, spacing and marks grow in large-type mode:
/// the same factor as `--k` in `style.css` (`.app.grande .painel svg`).
pub const LARGE: f64 = 1.4;

pub fn scale(large: bool) -> f64 {
    if large {
        LARGE
    } else {
        1.0
    }
}

#[derive(Properties)]
pub struct WorldProps {
    pub world: Rc<World>,
    /// [`crate::state::Model::scene`]: the panel is drawn again only when
    /// it changes (a drag across usage samples leaves it).
    pub scene: u64,
    /// Large-type mode (for projecting).
    #[prop_or_default]
    pub large: bool,
    /// Embed mode: a panel with nothing to draw yet says so instead of
    /// vanishing (the book's frame asked for it).
    #[prop_or_default]
    pub compact: bool,
}

impl PartialEq for WorldProps {
    fn eq(&self, o: &Self) -> bool {
        (self.scene, self.large, self.compact) == (o.scene, o.large, o.compact)
    }
}

/// A coordinate as an attribute's value, to the hundredth ([`coord`](crate::format::coord)).
/// One function for the ~150 coordinates of the panels: inlined at each,
/// the formatting and the string's conversion were a fifth of their code.
/// An SVG's `viewBox` of `w` × `h`.
pub fn view_box(w: f64, h: f64) -> String {
    format!("0 0 {} {}", coord(w), coord(h))
}

pub trait Px {
    fn px(self) -> yew::AttrValue;
}

impl Px for f64 {
    #[inline(never)]
    fn px(self) -> yew::AttrValue {
        yew::AttrValue::from(coord(self))
    }
}
