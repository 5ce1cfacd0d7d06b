//! The `daemon.*` kinds: requests the Docker-compatible daemon received.

use super::words::say;
use crate::{Event, EventBody};

/// The narration of this area's kinds; `None` for other kinds.
pub(super) fn describe(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
        EventBody::DaemonRequest {
            method,
            path,
            client,
        } => {
            let who = if client.is_empty() {
                "um cliente sem User-Agent".to_string()
            } else {
                client.clone()
            };
            say(
                format!("o daemon atendeu {method} {path}, pedido por {who}"),
                format!("atender {method} {path} (pedido por {who})"),
            )
        }
        _ => return None,
    })
}
