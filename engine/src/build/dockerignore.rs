//! `.dockerignore`: files of the context that COPY and ADD never see.
//!
//! One pattern per line, relative to the context (`#` comments, blank lines
//! skipped): `*` and `?` inside one path component, `**` for any number of
//! components, `!` in front to bring a path back. The last pattern that
//! matches a path decides; a pattern that matches a directory also covers
//! everything in it (docker's rules). An ignored file is not copied and
//! not in the step's cache key: changing it does not invalidate the cache.
//!
//! The file itself is read by [`super`] through the context's fd, like the
//! Dockerfile: a `.dockerignore` that is a symlink out of the context is
//! refused, and one past 16 MiB too.

/// The parsed patterns (empty: nothing ignored).
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    /// (components of the pattern, is an exception `!`).
    patterns: Vec<(Vec<String>, bool)>,
}

impl Ignore {
    pub fn parse(text: &str) -> Ignore {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (exception, pattern) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            let parts: Vec<String> = pattern
                .split('/')
                .filter(|p| !p.is_empty() && *p != ".")
                .map(String::from)
                .collect();
            if !parts.is_empty() {
                patterns.push((parts, exception));
            }
        }
        Ignore { patterns }
    }

    /// Whether `rel` (relative to the context, `/`-separated) is ignored.
    pub fn ignores(&self, rel: &str) -> bool {
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        let mut ignored = false;
        for (pattern, exception) in &self.patterns {
            // The path itself or one of its parent directories.
            let hit = (1..=parts.len()).any(|n| matches(pattern, &parts[..n]));
            if hit {
                ignored = !exception;
            }
        }
        ignored
    }

    /// Whether an exception (`!…`) may bring back something below the
    /// directory `rel`: then an ignored directory is still walked.
    pub fn may_reinclude_under(&self, rel: &str) -> bool {
        let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
        self.patterns
            .iter()
            .any(|(p, exception)| *exception && could_match_below(p, &parts))
    }

    /// Whether the walk skips `rel`: an ignored file, or an ignored
    /// directory no exception reaches into.
    pub fn skips(&self, rel: &str, is_dir: bool) -> bool {
        self.ignores(rel) && !(is_dir && self.may_reinclude_under(rel))
    }
}

/// Whether `pattern` can match some path strictly below `dir`.
fn could_match_below(pattern: &[String], dir: &[&str]) -> bool {
    match pattern.split_first() {
        None => false,
        Some((first, _)) if first == "**" => true,
        Some((first, rest)) => match dir.split_first() {
            None => true,
            Some((name, more)) => {
                component(first.as_bytes(), name.as_bytes()) && could_match_below(rest, more)
            }
        },
    }
}

fn matches(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| matches(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((name, more)) => {
                component(first.as_bytes(), name.as_bytes()) && matches(rest, more)
            }
            None => false,
        },
    }
}

/// `*` and `?` within one component.
fn component(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => component(&p[1..], s) || (!s.is_empty() && component(p, &s[1..])),
        (Some(b'?'), Some(_)) => component(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => component(&p[1..], &s[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_rules() {
        let ig = Ignore::parse(
            "# comentário\n\n*.log\nsegredos/\n**/tmp\n!importante.log\n./build/*.o\n",
        );
        for yes in [
            "a.log",
            "segredos",
            "segredos/chave",
            "x/y/tmp",
            "tmp/z",
            "build/a.o",
        ] {
            assert!(ig.ignores(yes), "{yes}");
        }
        for no in [
            "importante.log",
            "src/a.log",
            "Dockerfile",
            "build/a.c",
            "build",
        ] {
            assert!(!ig.ignores(no), "{no}");
        }
        assert!(!Ignore::default().ignores("qualquer"));
        // An exception inside an ignored directory: the walk goes in.
        let ig = Ignore::parse("segredos\n!segredos/publico.txt\n");
        assert!(ig.ignores("segredos/chave") && !ig.ignores("segredos/publico.txt"));
        assert!(!ig.skips("segredos", true) && ig.skips("segredos/chave", false));
        assert!(ig.skips("outros", false) == ig.ignores("outros"));
    }
}
