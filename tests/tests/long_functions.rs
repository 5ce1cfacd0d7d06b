//! No production function over [`LIMIT`] lines without saying why (#20):
//! a function that long holds several ideas, and a newcomer should find
//! each in a small function named after it. One that is long on purpose
//! (a `match` with an arm per kind, a view that is one `html!` tree) says
//! so in its doc comment with the words "long because". Any other fails
//! this test.

use std::fs;
use std::path::Path;

use casulo_tests::workspace_dir;

/// Lines, from the `fn` line to its closing brace.
const LIMIT: usize = 120;

/// The crates whose code ships or runs the project (not the tests).
const ROOTS: &[&str] = &[
    "engine/src",
    "engine/trace/src",
    "visualizer/src",
    "xtask/src",
    "book/preprocessor/src",
];

/// The text with comments, strings and char literals blanked (newlines
/// kept), so braces and `fn` are only the code's own.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let blank = |out: &mut Vec<u8>, c: u8| out.push(if c == b'\n' { b'\n' } else { b' ' });
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                blank(&mut out, b[i]);
                i += 1;
            }
        } else if rest.starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    out.extend_from_slice(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(b, i) {
            // r"…", r#"…"#, br"…": ends at the quote and as many #.
            let open = i + rest.iter().position(|&c| c == b'"').unwrap() + 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let end = b[open..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map(|p| open + p + close.len())
                .unwrap_or(b.len());
            for &c in &b[i..end] {
                blank(&mut out, c);
            }
            i = end;
        } else if b[i] == b'"' {
            blank(&mut out, b[i]);
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    blank(&mut out, b[i]);
                    i += 1;
                }
                blank(&mut out, b[i]);
                i += 1;
            }
            if i < b.len() {
                out.push(b' ');
                i += 1;
            }
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{..}', '{'), or a lifetime ('a).
            let end = if rest.len() > 2 && rest[1] == b'\\' {
                rest[2..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map(|p| i + p + 3)
            } else if rest.len() > 2 && rest[2] == b'\'' {
                Some(i + 3)
            } else {
                None
            };
            let end = end.unwrap_or(i + 1);
            for &c in &b[i..end] {
                blank(&mut out, c);
            }
            i = end;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `r"`, `r#"`, `br##"`… starting at `i` (not inside an identifier): how
/// many `#` close it.
fn raw_string_start(b: &[u8], i: usize) -> Option<usize> {
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
        return None;
    }
    let mut j = i;
    if b.get(j) == Some(&b'b') {
        j += 1;
    }
    if b.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
    (b.get(j + hashes) == Some(&b'"')).then_some(hashes)
}

/// The line of the brace that closes the one at byte `open`.
fn closing(code: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, &c) in code.iter().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    code.len()
}

fn line_of(code: &[u8], at: usize) -> usize {
    code[..at].iter().filter(|&&c| c == b'\n').count()
}

/// The doc comment right above line `line` (attributes skipped), lowercased.
fn doc_above(lines: &[&str], line: usize) -> String {
    let mut doc = Vec::new();
    for l in lines[..line].iter().rev() {
        let t = l.trim();
        if t.starts_with("///") {
            doc.push(t.to_lowercase());
        } else if !(t.starts_with("#[") || t.starts_with("#!") || t.ends_with(")]")) {
            break;
        }
    }
    doc.join(" ")
}

/// `(file::fn, lines, has a reason)` for every production function of one file.
fn functions(rel: &str, text: &str) -> Vec<(String, usize, bool)> {
    let code = code_only(text);
    let bytes = code.as_bytes();
    let lines: Vec<&str> = text.lines().collect();
    // `#[cfg(test)]` items (test modules) are not production.
    let mut skip: Vec<(usize, usize)> = Vec::new();
    for (at, _) in code.match_indices("#[cfg(test)]") {
        if let Some(open) = code[at..].find(['{', ';']).map(|p| at + p) {
            if bytes[open] == b'{' {
                skip.push((at, closing(bytes, open)));
            }
        }
    }
    let mut found = Vec::new();
    for (at, _) in code.match_indices("fn ") {
        let word_start =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        if !word_start || skip.iter().any(|&(s, e)| at > s && at < e) {
            continue;
        }
        let name: String = code[at + 3..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        // The body: the first `{` after the signature, unless a `;` (a
        // declaration) comes first.
        let Some(open) = code[at..].find(['{', ';']).map(|p| at + p) else {
            continue;
        };
        if bytes[open] == b';' {
            continue;
        }
        let first = line_of(bytes, at);
        let last = line_of(bytes, closing(bytes, open));
        let why = doc_above(&lines, first).contains("long because");
        found.push((format!("{rel}::{name}"), last - first + 1, why));
    }
    found
}

fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, usize, bool)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        panic!("{}: não consegui ler a pasta", dir.display());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = fs::read_to_string(&path).unwrap();
            out.extend(functions(&rel, &text));
        }
    }
}

#[test]
fn no_new_function_is_over_the_limit_without_a_reason() {
    let base = workspace_dir();
    let mut all = Vec::new();
    for root in ROOTS {
        walk(&base.join(root), &base, &mut all);
    }
    assert!(all.len() > 500, "poucas funções achadas: {}", all.len());
    let long: Vec<String> = all
        .iter()
        .filter(|(_, n, why)| *n > LIMIT && !why)
        .map(|(f, n, _)| format!("{f} ({n} linhas)"))
        .collect();
    assert!(
        long.is_empty(),
        "funções com mais de {LIMIT} linhas: {long:#?}\n\
         divida-as em funções com nomes do que fazem, ou diga no comentário \
         de documentação por que é longa (\"long because …\")"
    );
}

/// The scanner itself: strings, chars and comments don't open bodies, a
/// test module is skipped, a declaration has no body, and a reason counts.
#[test]
fn the_scanner_counts_what_a_reader_would() {
    let body = "    let x = 1;\n".repeat(130);
    let text = format!(
        "fn short() {{ let s = \"{{\"; let c = '{{'; }}\n\
         /// It is long because each kind has an arm.\n\
         #[allow(dead_code)]\n\
         fn explained() {{\n{body}}}\n\
         fn unexplained<'a>(x: &'a str) {{\n    // }} {{\n    let r = r#\"}}\"#;\n{body}}}\n\
         trait T {{ fn declared(&self); }}\n\
         #[cfg(test)]\nmod tests {{\n    fn in_test() {{\n{body}    }}\n}}\n"
    );
    let found = functions("x.rs", &text);
    let get = |name: &str| found.iter().find(|(f, _, _)| f == &format!("x.rs::{name}"));
    assert_eq!(get("short").unwrap().1, 1);
    let explained = get("explained").unwrap();
    assert!(explained.1 > LIMIT && explained.2, "{explained:?}");
    let unexplained = get("unexplained").unwrap();
    assert_eq!(unexplained.1, 134, "{unexplained:?}");
    assert!(!unexplained.2);
    assert!(get("declared").is_none());
    assert!(get("in_test").is_none());
}
