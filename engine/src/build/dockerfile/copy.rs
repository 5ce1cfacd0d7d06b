//! `COPY` and `ADD`: sources, destination and their flags (`--from`,
//! `--chown`, `--chmod`, `--link`, `--checksum`); URLs for ADD.

use super::words::{json_array, split_first_word, take_flags, words};
use super::{need_args, Op};

/// `COPY`/`ADD [--from] [--chown] [--chmod] [--link] [--checksum] SRC… DEST`, here-documents too.
pub(super) fn parse_copy(keyword: &str, args: &str) -> Result<Op, String> {
    need_args(keyword, args)?;
    // Flags come first, also before a JSON form: `COPY --chown=1:1 ["a", "b"]`.
    let mut rest = args;
    let mut flag_words = Vec::new();
    loop {
        let (word, after) = split_first_word(rest);
        if !word.starts_with("--") || word.len() <= 2 {
            break;
        }
        flag_words.push(word.to_string());
        rest = after.trim_start();
    }
    let (flags, _) = take_flags(&flag_words);
    let mut paths = if rest.starts_with('[') {
        json_array(keyword, rest)?
    } else {
        words(rest)?
    };
    let mut chown = None;
    let mut chmod = None;
    let mut checksum: Option<String> = None;
    let mut from = None;
    for (flag, value) in flags {
        match (flag.as_str(), value) {
            ("chown", Some(v)) if !v.is_empty() => chown = Some(v),
            ("chmod", Some(v)) => {
                chmod = Some(
                    u32::from_str_radix(&v, 8)
                        .ok()
                        .filter(|m| *m <= 0o7777 && !v.is_empty())
                        .ok_or_else(|| {
                            format!(
                                "--chmod={v}: o modo é um número octal, como --chmod=0755 \
                                 ou --chmod=644"
                            )
                        })?,
                )
            }
            // BuildKit's layer that can be rebased: here every COPY
            // layer is already independent of what is below it.
            ("link", None | Some(_)) => {}
            ("checksum", Some(v)) if keyword == "ADD" => {
                let hex = v.strip_prefix("sha256:").unwrap_or("");
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!(
                        "--checksum={v}: espero sha256: e 64 dígitos hexadecimais"
                    ));
                }
                checksum = Some(v.to_ascii_lowercase());
            }
            ("from", Some(v)) if !v.is_empty() && keyword == "COPY" => from = Some(v),
            ("from", _) if keyword == "COPY" => {
                return Err("COPY --from precisa de um valor: --from=estágio".into())
            }
            ("chown", _) => {
                return Err("--chown precisa de um valor: --chown=UID:GID (números)".into())
            }
            (other, _) => return Err(format!("{keyword}: opção --{other} não é suportada")),
        }
    }
    if paths.len() < 2 {
        return Err(format!(
            "{keyword} precisa de pelo menos uma origem e um destino ({keyword} origem destino)"
        ));
    }
    let dest = paths.pop().expect("two or more");
    let urls = paths.iter().filter(|p| p.contains("://")).count();
    if urls > 0 {
        if keyword == "COPY" {
            return Err("COPY não baixa URLs: use ADD URL destino".into());
        }
        if urls != paths.len() {
            return Err("ADD: misturar URLs com arquivos do contexto ainda não é \
                        suportado pelo casulo: use um ADD para cada"
                .into());
        }
        if let Some(bad) = paths
            .iter()
            .find(|p| !(p.starts_with("http://") || p.starts_with("https://")))
        {
            return Err(format!("ADD {bad}: só URLs http:// e https://"));
        }
    } else if checksum.is_some() {
        return Err(
            "ADD --checksum só vale para URLs (ADD --checksum=sha256:… URL destino)".into(),
        );
    }
    Ok(Op::Copy {
        add: keyword == "ADD",
        sources: paths,
        dest,
        chown,
        chmod,
        from,
        heredocs: Vec::new(),
        checksum,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_errors;
    use super::super::*;

    #[test]
    fn chmod_and_link() {
        let df = parse("Dockerfile", "FROM busybox\nCOPY --link --chmod=750 a /b\n").unwrap();
        let i = &df.instructions;
        assert!(
            matches!(
                &i[1].op,
                Op::Copy {
                    chmod: Some(0o750),
                    ..
                }
            ),
            "{:?}",
            i[1]
        );
    }

    #[test]
    fn bad_copy_and_add() {
        assert_errors(&[
            ("FROM busybox\nCOPY --chmod=9 a b\n", 2, "número octal"),
            (
                "FROM busybox\nCOPY a\n",
                2,
                "pelo menos uma origem e um destino",
            ),
            (
                "FROM busybox\nCOPY http://x/y /\n",
                2,
                "COPY não baixa URLs",
            ),
            ("FROM busybox\nADD http://x/y a /\n", 2, "misturar URLs"),
            ("FROM busybox\nADD ftp://x/y /\n", 2, "só URLs http"),
            (
                "FROM busybox\nADD --checksum=sha256:12 http://x/y /\n",
                2,
                "64 dígitos",
            ),
            (
                "FROM busybox\nADD --checksum=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef a /\n",
                2,
                "só vale para URLs",
            ),
        ]);
    }
}
