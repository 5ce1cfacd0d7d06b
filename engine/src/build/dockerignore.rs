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

/// Whether `pattern` (components, `**` for any number of them) matches
/// exactly `path`.
///
/// Both matchers are the classic wildcard walk: on a mismatch, go back to
/// the last star only, one element further. Plain recursion (try each
/// split at each star) is exponential in the number of stars, and a
/// `.dockerignore` line such as `*a*a*a*a*a*a*b` hung the build.
fn matches(pattern: &[String], path: &[&str]) -> bool {
    wildcard(
        pattern,
        path,
        |p| p == "**",
        |p, name| component(p.as_bytes(), name.as_bytes()),
    )
}

/// `*` and `?` within one component.
fn component(p: &[u8], s: &[u8]) -> bool {
    wildcard(p, s, |&c| c == b'*', |&c, &b| c == b'?' || c == b)
}

/// Does `pattern` match all of `text`, where a token for which `is_star`
/// holds matches any run of elements and any other token matches one
/// element for which `one` holds? O(pattern × text).
fn wildcard<P, T>(
    pattern: &[P],
    text: &[T],
    is_star: impl Fn(&P) -> bool,
    one: impl Fn(&P, &T) -> bool,
) -> bool {
    #[cfg(test)]
    tests::step();
    let (mut p, mut t) = (0, 0);
    // After the last star seen: (pattern index after it, text index it
    // is matched up to).
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        #[cfg(test)]
        tests::step();
        if p < pattern.len() && is_star(&pattern[p]) {
            star = Some((p + 1, t));
            p += 1;
        } else if p < pattern.len() && one(&pattern[p], &text[t]) {
            p += 1;
            t += 1;
        } else if let Some((after, upto)) = star {
            // The star takes one more element; retry from there.
            star = Some((after, upto + 1));
            p = after;
            t = upto + 1;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(is_star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Calls of the matchers, to see how the work grows.
        static STEPS: Cell<u64> = const { Cell::new(0) };
    }

    pub(super) fn step() {
        STEPS.with(|s| s.set(s.get() + 1));
    }

    fn steps_of(f: impl FnOnce()) -> u64 {
        STEPS.with(|s| s.set(0));
        f();
        STEPS.with(|s| s.get())
    }

    /// Found by the fuzzer (`cargo xtask fuzz dockerignore`, regressions in
    /// fuzz/regressoes/dockerignore/): with backtracking, each `*` in a
    /// component and each `**` in a path multiplied the work, so a
    /// `.dockerignore` line of a few stars hung `casulo build` for hours.
    /// The work must grow with pattern × path, not exponentially.
    #[test]
    fn many_stars_take_polynomial_work() {
        let ig = Ignore::parse("*a*a*a*a*a*a*a*a*b\n");
        let name = "a".repeat(25);
        let n = steps_of(|| assert!(!ig.ignores(&name)));
        assert!(n < 10_000, "{n} passos para um nome de 25 letras");

        let ig = Ignore::parse("**/**/**/**/**/**/**/b\n");
        let path = vec!["a"; 20].join("/");
        let n = steps_of(|| assert!(!ig.ignores(&path)));
        assert!(n < 10_000, "{n} passos para um caminho de 20 partes");
        assert!(ig.ignores("a/a/b") && ig.ignores("b") && ig.ignores("b/c"));
    }

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
