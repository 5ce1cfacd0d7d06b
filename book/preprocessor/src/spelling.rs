//! What the spelling check reads of a chapter: its prose only. Code
//! blocks, inline code, HTML tags, the course's directives, link targets
//! and URLs are blanked (kept as empty lines, so line numbers stay right).

use regex::Regex;

/// `markdown` with everything but the prose replaced by spaces.
pub fn prose(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut fence: Option<&str> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        match fence {
            Some(f) if trimmed.starts_with(f) => fence = None,
            Some(_) => {}
            None if trimmed.starts_with("```") || trimmed.starts_with("~~~") => {
                fence = Some(&trimmed[..3]);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    let patterns = [
        r"`[^`]*`",           // inline code (may wrap to the next line)
        r"\\?\{\{#[^}]*\}\}", // directives
        r"<[^>]*>",           // HTML tags
        r"\]\([^)]*\)",       // link targets
        r"https?://\S+",      // bare URLs
        r"&[a-z]+;",          // entities
        r"\{#[^}]*\}",        // heading ids
    ];
    for p in patterns {
        let re = Regex::new(p).expect("regex");
        // Blanked, but its line breaks kept: line numbers stay right.
        out = re
            .replace_all(&out, |c: &regex::Captures| {
                c[0].chars()
                    .map(|ch| if ch == '\n' { '\n' } else { ' ' })
                    .collect::<String>()
            })
            .into_owned();
    }
    out
}

/// Words of `dictionary` (one per line, `#` comments) the checker accepts.
pub fn word_list(dictionary: &str) -> std::collections::BTreeSet<String> {
    dictionary
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The 1-based line of `text` where `word` first appears as a word.
pub fn line_of(text: &str, word: &str) -> usize {
    let re = Regex::new(&format!(
        r"(^|[^\p{{L}}]){}($|[^\p{{L}}])",
        regex::escape(word)
    ))
    .expect("escaped");
    text.lines()
        .position(|l| re.is_match(l))
        .map(|i| i + 1)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_prose_is_left() {
        let md = "# Título\n\nUm `unshare\n--pid` e [link](x.md#y).\n\n```console\n# casulo run\n```\n{{#casulo ola}}\n<details><summary>Resposta</summary>sim</details>\n";
        let p = prose(md);
        assert!(p.contains("Título") && p.contains("Um") && p.contains("link"));
        assert!(!p.contains("unshare") && !p.contains("x.md") && !p.contains("casulo"));
        assert!(p.contains("Resposta") && !p.contains("summary"));
        assert_eq!(p.lines().count(), md.lines().count());
    }

    #[test]
    fn words_are_found_by_line() {
        assert_eq!(line_of("a\nos namespaces\n", "namespaces"), 2);
        assert_eq!(line_of("cgroupsx\n", "cgroups"), 0);
    }
}
