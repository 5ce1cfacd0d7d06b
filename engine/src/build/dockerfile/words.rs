//! Words as docker splits them: shell words (quotes kept for
//! `expand`), JSON arrays, the shell and exec forms,
//! `--flag=value`, `KEY=value` pairs and variable names.

use std::collections::BTreeMap;

use super::expand::expand;
use super::Command;

/// Splits on whitespace outside quotes; quotes and backslashes are kept
/// (for [`expand`]).
pub fn words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                continue;
            }
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (q, '\\') if q != Some('\'') => {
                cur.push('\\');
                if let Some(next) = chars.next() {
                    cur.push(next);
                }
                in_word = true;
                continue;
            }
            _ => {}
        }
        cur.push(c);
        in_word = true;
    }
    if let Some(q) = quote {
        return Err(format!("aspas {q} abertas e não fechadas"));
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Removes quotes and backslash escapes, without expanding variables.
pub(super) fn unquote(word: &str) -> String {
    expand(word, &BTreeMap::new(), false).unwrap_or_else(|_| word.to_string())
}

pub(super) fn split_first_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// Leading `--name=value` (or `--name`) words, and the rest.
pub(super) fn take_flags(words: &[String]) -> (Vec<(String, Option<String>)>, Vec<String>) {
    let mut flags = Vec::new();
    let mut i = 0;
    while i < words.len() && words[i].starts_with("--") && words[i].len() > 2 {
        let body = &words[i][2..];
        match body.split_once('=') {
            Some((name, value)) => flags.push((name.to_string(), Some(unquote(value)))),
            None => flags.push((body.to_string(), None)),
        }
        i += 1;
    }
    (flags, words[i..].to_vec())
}

/// ENV/LABEL: `K=V K2="V 2"` or the old `K V com espaços`.
pub(super) fn pairs(keyword: &str, args: &str) -> Result<Vec<(String, String)>, String> {
    let w = words(args)?;
    let first_is_pair = w[0].contains('=');
    let mut out = Vec::new();
    if !first_is_pair {
        let (key, rest) = split_first_word(args);
        let value = rest.trim();
        if keyword == "ENV" && value.is_empty() {
            return Err(format!(
                "ENV {key} sem valor: use ENV {key}=valor (ou ENV {key} valor)"
            ));
        }
        if keyword == "ENV" {
            check_var_name(keyword, key)?;
        }
        out.push((key.to_string(), value.to_string()));
        return Ok(out);
    }
    for word in w {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!(
                "{keyword}: {word:?} não é CHAVE=valor (todas as palavras devem ter =)"
            ));
        };
        if key.is_empty() {
            return Err(format!("{keyword}: chave vazia em {word:?}"));
        }
        if keyword == "ENV" {
            check_var_name(keyword, key)?;
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

pub(super) fn check_var_name(keyword: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{keyword}: nome de variável inválido {name:?} (use letras, dígitos e _)"
        ))
    }
}

/// RUN/CMD/ENTRYPOINT: JSON array (exec form) or shell form. As docker, a
/// `[` that is not a JSON list of strings (`CMD [not, json]`) is shell form:
/// the shell gets the text as written.
pub(super) fn command(keyword: &str, args: &str) -> Result<Command, String> {
    match serde_json::from_str::<Vec<String>>(args) {
        Ok(argv) if argv.is_empty() => {
            Err(format!("{keyword} com lista vazia: nada para executar"))
        }
        Ok(argv) => Ok(Command::Exec(argv)),
        Err(_) => Ok(Command::Shell(args.to_string())),
    }
}

pub(super) fn json_array(keyword: &str, args: &str) -> Result<Vec<String>, String> {
    serde_json::from_str::<Vec<String>>(args).map_err(|e| {
        format!(
            "JSON inválido em {keyword}: {e} (a forma exec é uma lista de textos entre aspas duplas, como [\"sh\", \"-c\", \"echo oi\"])"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_errors;
    use super::super::*;

    #[test]
    fn words_keep_their_quotes() {
        assert_eq!(words("a \"b c\" 'd e'").unwrap(), ["a", "\"b c\"", "'d e'"]);
    }

    #[test]
    fn exec_form_that_is_not_json_is_shell_form() {
        let df = parse("Dockerfile", "FROM busybox\nCMD [not, json]\n").unwrap();
        assert_eq!(
            df.instructions[1].op,
            Op::Cmd(Command::Shell("[not, json]".into()))
        );
    }

    #[test]
    fn bad_pairs_and_quotes() {
        assert_errors(&[
            ("FROM busybox\nENV X\n", 2, "ENV X sem valor"),
            ("FROM busybox\nENV 1X=a\n", 2, "nome de variável inválido"),
            ("FROM busybox\nLABEL a=\"b\n", 2, "aspas \" abertas"),
        ]);
    }
}
