//! The `security.*` kinds: capabilities, no_new_privs, seccomp, non-dumpable.

use super::words::say;
use crate::{Event, EventBody};

/// The narration of this area's kinds; `None` for other kinds.
pub(super) fn describe(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
        EventBody::SecurityCapabilities {
            kept,
            dropped,
            mask,
            privileged,
            added,
            removed,
        } => {
            if *privileged {
                say(
                    format!(
                        "ficou com todas as {} capabilities (--privileged: o root do \
                         contêiner pode tudo o que o root do host pode)",
                        kept.len()
                    ),
                    "ficar com todas as capabilities (--privileged)".to_string(),
                )
            } else {
                let mut asked = Vec::new();
                if !added.is_empty() {
                    asked.push(format!("--cap-add {}", added.join(", ")));
                }
                if !removed.is_empty() {
                    asked.push(format!("--cap-drop {}", removed.join(", ")));
                }
                let base = if asked.is_empty() {
                    "as do docker".to_string()
                } else {
                    format!("as do docker, com {}", asked.join(" e "))
                };
                say(
                    format!(
                        "ficou só com {} capabilities ({base}) e jogou fora {} \
                         (CapEff = {mask})",
                        kept.len(),
                        dropped.len()
                    ),
                    format!("cortar as capabilities para {base}"),
                )
            }
        }
        EventBody::SecurityNoNewPrivs {} => say(
            "ligou no_new_privs: nenhum execve dá mais privilégios".to_string(),
            "ligar no_new_privs".to_string(),
        ),
        EventBody::SecurityNonDumpable {} => say(
            "ficou não-despejável: o /proc/PID/exe do casulo fica fechado ao contêiner".to_string(),
            "ficar não-despejável (PR_SET_DUMPABLE 0)".to_string(),
        ),
        EventBody::SecuritySeccomp {
            mode,
            profile,
            default_action,
            allowed_count,
            blocked_count,
            blocked_action,
            ..
        } => {
            let which = match profile.as_str() {
                "" => String::new(),
                p => format!(" ({p})"),
            };
            if mode != "filter" {
                say(
                    format!(
                        "ficou sem filtro seccomp{which}: toda chamada de sistema chega \
                         ao kernel"
                    ),
                    "ficar sem filtro seccomp".to_string(),
                )
            } else if default_action == "allow" {
                say(
                    format!(
                        "instalou um filtro seccomp{which}: {blocked_count} chamadas de \
                         sistema barradas com {blocked_action}, o resto permitido"
                    ),
                    "instalar o filtro seccomp".to_string(),
                )
            } else {
                say(
                    format!(
                        "instalou um filtro seccomp{which}: {allowed_count} chamadas de \
                         sistema permitidas, todas as outras voltam com {default_action}"
                    ),
                    "instalar o filtro seccomp".to_string(),
                )
            }
        }
        _ => return None,
    })
}
