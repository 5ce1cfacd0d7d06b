//! Small helpers the areas share: "não conseguiu", paths, argv, plurals.

use crate::text::{short_hex, thousands};

/// Past tense when it worked; "não conseguiu" + infinitive when it failed.
pub(super) fn say(ok: bool, done: String, todo: String) -> String {
    if ok {
        done
    } else {
        format!("não conseguiu {todo}")
    }
}

/// Long host paths keep only their last components: `…/merged/proc`.
pub(super) fn short_path(path: &str) -> String {
    const MAX: usize = 40;
    const KEEP: usize = 24;
    if path.chars().count() <= MAX {
        return path.to_string();
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mut kept: Vec<String> = Vec::new();
    let mut len = 0;
    for part in parts.iter().rev() {
        let part = short_hex(part);
        if !kept.is_empty() && (kept.len() == 2 || len + part.chars().count() + 1 > KEEP) {
            break;
        }
        len += part.chars().count() + 1;
        kept.push(part);
    }
    kept.reverse();
    format!("…/{}", kept.join("/"))
}

/// argv as you would type it in a shell.
pub(super) fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `1 camada`, `2 camadas`, `1.234 arquivos`.
pub(super) fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}
