//! The `terminal.*` kinds: attaching to and detaching from a container.

use super::words::say;
use crate::{DetachReason, Event, EventBody};

/// The narration of this area's kinds; `None` for other kinds.
pub(super) fn describe(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
        EventBody::TerminalAttach { client, attached } => say(
            format!("{client} se ligou ao terminal do contêiner ({attached} ligado(s) agora)"),
            format!("ligar {client} ao terminal do contêiner"),
        ),
        EventBody::TerminalDetach {
            client,
            reason,
            attached,
        } => {
            let why = match reason {
                DetachReason::Keys => "com as teclas de saída; o contêiner continua",
                DetachReason::Gone => "porque foi embora; o contêiner continua",
                DetachReason::Ended => "porque o contêiner terminou",
            };
            say(
                format!("{client} se desligou do terminal {why} ({attached} ligado(s) agora)"),
                format!("desligar {client} do terminal"),
            )
        }
        _ => return None,
    })
}
