//! The client whose request to `casulo daemon` made the container.

use super::World;
use crate::{Event, EventBody};

impl World {
    /// Applies this area's kinds; other kinds are left alone.
    pub(super) fn apply_daemon(&mut self, event: &Event) {
        if let EventBody::DaemonRequest { client, .. } = &event.body {
            self.api_client = Some(client.clone());
        }
    }
}
