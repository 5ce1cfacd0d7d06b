//! Here-documents (`RUN <<EOF`, `COPY <<EOF /f`, `<<-`, `<<"EOF"`), as
//! BuildKit reads them: the markers in an instruction, the bodies after
//! it, and where each goes (RUN's shell, COPY's files).

use super::{Command, Op};

/// A here-document (`<<EOF` … `EOF`) of RUN, COPY or ADD, as BuildKit
/// reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter (`EOF`); a COPY names the file after it.
    pub name: String,
    /// The lines between, each ending in `\n` (`<<-`: leading tabs gone).
    pub content: String,
    /// Unquoted delimiter: `$VAR` in the content is expanded (by the shell
    /// for RUN, by the build for COPY); `<<"EOF"` or `<<'EOF'`: as written.
    pub expand: bool,
    /// As written in the instruction (`<<-"EOF"`), for RUN's shell.
    marker: String,
}

/// The here-document markers of an instruction's text, in order:
/// (as written, `-`, quoted, delimiter).
pub(super) fn heredoc_markers(text: &str) -> Vec<(String, bool, bool, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("<<") {
        let after = &rest[at + 2..];
        let (dash, after) = match after.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, after),
        };
        let quote = after.chars().next().filter(|c| *c == '"' || *c == '\'');
        let body = &after[quote.map_or(0, |_| 1)..];
        let len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = &body[..len];
        let closed = quote.is_none_or(|q| body[len..].starts_with(q));
        let first_ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        if name.is_empty() || !closed || !first_ok {
            rest = &rest[at + 2..];
            continue;
        }
        let used = 2 + usize::from(dash) + quote.map_or(0, |_| 2) + len;
        out.push((
            rest[at..at + used].to_string(),
            dash,
            quote.is_some(),
            name.to_string(),
        ));
        rest = &rest[at + used..];
    }
    out
}

/// The bodies of the here-documents `text` opens, read from the `lines`
/// that follow the instruction (which starts at `line`): each runs up to
/// its delimiter alone on a line (`<<-`: after leading tabs).
pub(super) fn read_heredocs<'a>(
    text: &str,
    line: u32,
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
) -> Result<Vec<Heredoc>, (u32, String)> {
    let mut heredocs = Vec::new();
    for (marker, dash, quoted, name) in heredoc_markers(text) {
        let mut content = String::new();
        let mut closed = false;
        for (_, body) in lines.by_ref() {
            let body = if dash {
                body.trim_start_matches('\t')
            } else {
                body
            };
            if body == name {
                closed = true;
                break;
            }
            content.push_str(body);
            content.push('\n');
        }
        if !closed {
            return Err((
                line,
                format!("o here-document {marker} não termina: falta uma linha só com {name}"),
            ));
        }
        heredocs.push(Heredoc {
            name,
            content,
            expand: !quoted,
            marker,
        });
    }
    Ok(heredocs)
}

/// Puts an instruction's here-documents where they go. RUN (shell form):
/// the shell gets them back, as a script — the text then the documents,
/// each ended by its delimiter — so `cat <<EOF > /f`, `<<-` and a quoted
/// delimiter mean what they mean in `sh`; a RUN that is only `<<EOF` runs
/// the document itself. COPY/ADD: each `<<NOME` source is a file made of
/// its document.
pub(super) fn with_heredocs(op: Op, heredocs: Vec<Heredoc>) -> Result<Op, String> {
    if heredocs.is_empty() {
        return Ok(op);
    }
    match op {
        Op::Run(Command::Shell(text), flags) => {
            if heredocs.len() == 1 && text.trim() == heredocs[0].marker {
                return Ok(Op::Run(Command::Shell(heredocs[0].content.clone()), flags));
            }
            let mut script = text;
            for h in &heredocs {
                script.push('\n');
                script.push_str(&h.content);
                script.push_str(&h.name);
            }
            Ok(Op::Run(Command::Shell(script), flags))
        }
        Op::Run(Command::Exec(_), _) => {
            Err("RUN na forma exec não tem here-documents (use a forma shell: RUN <<EOF)".into())
        }
        Op::Copy {
            add,
            sources,
            dest,
            chown,
            chmod,
            from,
            checksum,
            ..
        } => {
            let mut inline = Vec::new();
            for source in &sources {
                match heredocs.iter().find(|h| &h.marker == source) {
                    Some(h) => inline.push(h.clone()),
                    None => {
                        return Err(format!(
                            "{}: misturar here-documents com arquivos do contexto ({source}) \
                             ainda não é suportado pelo casulo: use um {} para cada",
                            if add { "ADD" } else { "COPY" },
                            if add { "ADD" } else { "COPY" }
                        ))
                    }
                }
            }
            Ok(Op::Copy {
                add,
                sources: inline.iter().map(|h| h.name.clone()).collect(),
                dest,
                chown,
                chmod,
                from,
                heredocs: inline,
                checksum,
            })
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::run_op;
    use super::super::*;

    #[test]
    fn here_documents_as_buildkit_reads_them() {
        let df = parse(
            "Dockerfile",
            "FROM busybox\nRUN <<EOF\necho um\n# não é comentário aqui\nEOF\n\
             RUN cat <<-'FIM' > /f && cat /f\n\tsem $X\n\tFIM\n\
             COPY <<A <<\"B\" /dir/\nprimeiro $X\nA\nsegundo\nB\nCMD x\n",
        )
        .unwrap();
        let i = &df.instructions;
        // Only a document: the document is the script.
        assert_eq!(
            i[1].op,
            run_op(Command::Shell("echo um\n# não é comentário aqui\n".into()))
        );
        // Part of a command: the shell gets it back, delimiter included.
        assert_eq!(
            i[2].op,
            run_op(Command::Shell(
                "cat <<-'FIM' > /f && cat /f\nsem $X\nFIM".into()
            ))
        );
        let Op::Copy {
            sources, heredocs, ..
        } = &i[3].op
        else {
            panic!("{:?}", i[3])
        };
        assert_eq!(sources, &["A", "B"]);
        assert_eq!(heredocs[0].content, "primeiro $X\n");
        assert!(heredocs[0].expand && !heredocs[1].expand);
        assert_eq!(i[4].line, 14);
        let e = parse("Dockerfile", "FROM a\nRUN <<EOF\necho\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("falta uma linha só com EOF"), "{e}");
        let e = parse("Dockerfile", "FROM a\nCOPY <<EOF x /d/\noi\nEOF\n").unwrap_err();
        assert!(e.message.contains("misturar"), "{e}");
    }
}
