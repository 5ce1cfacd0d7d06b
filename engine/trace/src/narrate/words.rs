//! Small helpers the areas share: "não conseguiu", paths, argv, plurals.

pub(super) use crate::text::short_path;
use crate::text::thousands;

/// Past tense when it worked; "não conseguiu" + infinitive when it failed.
pub(super) fn say(ok: bool, done: String, todo: String) -> String {
    if ok {
        done
    } else {
        format!("não conseguiu {todo}")
    }
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
