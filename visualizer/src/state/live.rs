//! The live view's state (`?ao-vivo=ID`), as the model keeps it; the
//! stream itself is `app/live.rs`.

/// The state of the live view, in the model.
#[derive(Clone, PartialEq)]
pub struct Live {
    /// The container's id or name, as the URL gave it.
    pub key: String,
    /// The position follows the newest event.
    pub follow: bool,
    /// `fim` arrived: the container ended (with this exit code, when known).
    pub ended: Option<Option<i64>>,
    /// The connection dropped; the browser tries again by itself.
    pub reconnecting: bool,
}

impl Live {
    pub fn new(key: String) -> Live {
        Live {
            key,
            follow: true,
            ended: None,
            reconnecting: false,
        }
    }
}
