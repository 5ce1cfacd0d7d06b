//! Terminals attached to the container (`casulo attach`).

use super::World;
use crate::{Event, EventBody};

/// The pseudo-terminal of a `run -t` container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    /// The slave, as the container sees it (`/dev/pts/0`).
    pub path: String,
    pub rows: u16,
    pub cols: u16,
    /// How many times the window changed size since it was opened.
    pub resizes: u32,
    /// Clients attached to it now (`terminal.attach`/`detach`, `-dit`).
    pub attached: u32,
}

impl World {
    /// Applies this area's kinds; other kinds are left alone.
    pub(super) fn apply_terminal(&mut self, event: &Event) {
        match &event.body {
            EventBody::TerminalAttach { attached, .. }
            | EventBody::TerminalDetach { attached, .. } => {
                if let Some(t) = self.terminal.as_mut() {
                    t.attached = *attached;
                }
            }
            _ => {}
        }
    }
}
