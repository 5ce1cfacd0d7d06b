//! What the init gave up before `execve`: capabilities, no_new_privs, seccomp, dumpable.

use super::World;
use crate::{Event, EventBody};

impl World {
    /// Applies this area's kinds; other kinds are left alone.
    pub(super) fn apply_security(&mut self, event: &Event) {
        let pid = event.pid;
        match &event.body {
            EventBody::SecurityCapabilities { kept, .. } => {
                self.process(pid).capabilities = Some(kept.clone())
            }
            EventBody::SecurityNoNewPrivs {} => self.process(pid).no_new_privs = true,
            EventBody::SecuritySeccomp { mode, .. } => self.process(pid).seccomp = mode == "filter",
            EventBody::SecurityNonDumpable {} => self.process(pid).non_dumpable = true,
            _ => {}
        }
    }
}
