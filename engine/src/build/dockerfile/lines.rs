//! Logical lines: `\` (or the `# escape=` character) continues a line,
//! comments and blank lines go, and the parser directives at the top
//! (`# escape=`, `# syntax=`) are read.

use super::heredoc::{read_heredocs, Heredoc};
use super::words::split_first_word;

/// The parser directives (`# escape=`` ` ``, `# syntax=…`): comments of the
/// form `# chave=valor` at the very top, before any blank line, other
/// comment or instruction (after that they are plain comments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// The escape character: `\` (default) or `` ` `` (handy on Windows
    /// paths). It continues lines and escapes in words.
    pub escape: char,
    /// `# syntax=`: for BuildKit, which frontend parses the file; casulo
    /// has its own parser and says it ignores it.
    pub syntax: Option<String>,
}

pub(super) fn directives(text: &str) -> Result<Directives, (u32, String)> {
    let mut d = Directives {
        escape: '\\',
        syntax: None,
    };
    let mut seen = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(body) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = body.split_once('=') else {
            break;
        };
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            break;
        }
        let value = value.trim();
        let line = i as u32 + 1;
        if seen.contains(&key) {
            return Err((line, format!("a diretiva {key} aparece duas vezes")));
        }
        seen.push(key.clone());
        match key.as_str() {
            "escape" => {
                d.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err((
                            line,
                            format!("# escape={value}: o caractere de escape é \\ ou `"),
                        ))
                    }
                }
            }
            "syntax" => d.syntax = Some(value.to_string()),
            // `check` and the ones to come: comments for casulo.
            _ => {}
        }
    }
    Ok(d)
}

/// An instruction as read from the file: where it starts, its text
/// (continuations joined) and its here-documents, in order.
pub(super) struct Logical {
    pub(super) line: u32,
    pub(super) text: String,
    pub(super) heredocs: Vec<Heredoc>,
}

/// Joins continuation lines (ending in `escape`), drops comments and blank
/// lines, and takes the here-documents of RUN, COPY and ADD (the lines
/// after the instruction, up to each delimiter alone on its line). As
/// docker: a comment or a blank line inside a continuation is skipped, it
/// does not end the instruction.
pub(super) fn logical_lines(text: &str, escape: char) -> Result<Vec<Logical>, (u32, String)> {
    let mut out: Vec<Logical> = Vec::new();
    let mut current: Option<(u32, String)> = None;
    let mut lines = text.lines().enumerate();
    while let Some((i, raw)) = lines.next() {
        let number = i as u32 + 1;
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let (content, continues) = match raw.trim_end().strip_suffix(escape) {
            Some(before) => (before, true),
            None => (raw.trim_end(), false),
        };
        match &mut current {
            Some((_, text)) => {
                let piece = content.trim_start();
                if !piece.is_empty() {
                    if !text.is_empty() && !text.ends_with(' ') {
                        text.push(' ');
                    }
                    text.push_str(piece);
                }
            }
            None => current = Some((number, content.trim_start().to_string())),
        }
        if continues {
            continue;
        }
        let Some((line, text)) = current.take() else {
            continue;
        };
        let keyword = split_first_word(&text).0.to_ascii_uppercase();
        let heredocs = if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            read_heredocs(&text, line, &mut lines)?
        } else {
            Vec::new()
        };
        out.push(Logical {
            line,
            text,
            heredocs,
        });
    }
    // A trailing escape on the last line: the instruction ends with the file.
    if let Some((line, text)) = current {
        out.push(Logical {
            line,
            text,
            heredocs: Vec::new(),
        });
    }
    out.retain(|l| !l.text.trim().is_empty());
    Ok(out)
}

/// With `# escape=`` ` ``, the words of an instruction rewritten in the
/// backslash syntax the rest of the parser knows: `` `x `` is `\x` and a
/// backslash is just a backslash (`\\`).
pub(super) fn backslash_syntax(args: &str) -> String {
    let mut out = String::with_capacity(args.len());
    for c in args.chars() {
        match c {
            '`' => out.push('\\'),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_errors, run_op};
    use super::super::*;
    use std::collections::BTreeMap;

    #[test]
    fn comments_and_blank_lines_inside_a_continuation_are_skipped() {
        let df = parse(
            "Dockerfile",
            "FROM busybox\nRUN echo a \\\n# um comentário\n\n    && echo b\n",
        )
        .unwrap();
        assert_eq!(
            df.instructions[1].op,
            run_op(Command::Shell("echo a && echo b".into()))
        );
    }

    #[test]
    fn escape_and_syntax_directives() {
        // `# escape=``: backtick continues lines, backslashes are literal.
        let df = parse(
            "Dockerfile",
            "# escape=`\n# syntax=docker/dockerfile:1\nFROM busybox\nENV P=C:\\dir\\x `\n    Q=`$HOME\nWORKDIR C:\\w\nRUN echo \\n\n",
        )
        .unwrap();
        assert_eq!(df.directives.escape, '`');
        assert_eq!(df.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
        let Op::Env(pairs) = &df.instructions[1].op else {
            panic!("{:?}", df.instructions[1])
        };
        let vars = BTreeMap::from([("HOME".to_string(), "/root".to_string())]);
        let values: Vec<String> = pairs
            .iter()
            .map(|(_, v)| expand(v, &vars, true).unwrap())
            .collect();
        assert_eq!(values, ["C:\\dir\\x", "$HOME"]);
        assert_eq!(
            df.instructions[3].op,
            run_op(Command::Shell("echo \\n".into()))
        );
        // A directive after an instruction is a comment.
        let df = parse("Dockerfile", "FROM busybox\n# escape=`\nRUN a \\\n b\n").unwrap();
        assert_eq!(df.directives.escape, '\\');
        assert_eq!(df.instructions[1].op, run_op(Command::Shell("a b".into())));
    }

    #[test]
    fn bad_directives_name_their_line() {
        assert_errors(&[
            ("# escape=x\nFROM busybox\n", 1, "o caractere de escape"),
            (
                "# escape=`\n# escape=\\\\\nFROM busybox\n",
                2,
                "aparece duas vezes",
            ),
        ]);
    }
}
