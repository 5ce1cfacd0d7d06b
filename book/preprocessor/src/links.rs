//! Every internal link of the built book leads somewhere: for each `href`
//! and `src` of each HTML page, the file exists and, with a `#fragment`,
//! the page has that `id`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use regex::Regex;

/// Broken links of the book built in `dir`: "page: link (why)".
pub fn broken(dir: &Path) -> Result<Vec<String>, String> {
    let pages = html_files(dir)?;
    let attr = Regex::new(r#"(?:href|src)="([^"]*)""#).expect("regex");
    let id = Regex::new(r#"\bid="([^"]*)""#).expect("regex");
    let mut ids: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut texts = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).map_err(|e| format!("{}: {e}", page.display()))?;
        ids.insert(
            page.clone(),
            id.captures_iter(&text).map(|c| c[1].to_string()).collect(),
        );
        texts.push((page.clone(), text));
    }
    let mut broken = Vec::new();
    for (page, text) in &texts {
        for c in attr.captures_iter(text) {
            let link = html_unescape(&c[1]);
            if link.is_empty()
                || link.contains("://")
                || link.starts_with("mailto:")
                || link.starts_with("data:")
                || link.starts_with("javascript:")
                || link.starts_with("{{")
            {
                continue;
            }
            let (path, fragment) = match link.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (link.as_str(), None),
            };
            let path = path.split('?').next().unwrap_or("");
            let target = if path.is_empty() {
                page.clone()
            } else {
                normalize(&page.parent().unwrap_or(dir).join(path))
            };
            let shown = page.strip_prefix(dir).unwrap_or(page).display().to_string();
            if !target.exists() {
                broken.push(format!("{shown}: {link} (o arquivo não existe)"));
                continue;
            }
            if let Some(f) = fragment.filter(|f| !f.is_empty() && !f.starts_with("evento=")) {
                if target.extension().is_some_and(|e| e == "html")
                    && !ids.get(&target).is_some_and(|set| set.contains(f))
                {
                    broken.push(format!("{shown}: {link} (a página não tem a âncora #{f})"));
                }
            }
        }
    }
    broken.sort();
    broken.dedup();
    Ok(broken)
}

fn html_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                // The visualizer's own page and mdBook's assets are not the book.
                let name = path.file_name().unwrap_or_default();
                if name != "visualizador" && name != "fonts" && name != "FontAwesome" {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "html") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `a/b/../c` → `a/c`, without touching the disk.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_missing_files_and_anchors() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.html"), r##"<h1 id="topo">A</h1><a href="b.html#meio">b</a><a href="#topo">t</a><a href="c.html">c</a><a href="b.html#nada">x</a><a href="https://x.org">e</a>"##).unwrap();
        std::fs::write(
            d.join("b.html"),
            r#"<h2 id="meio">B</h2><img src="img/x.png">"#,
        )
        .unwrap();
        let got = broken(d).unwrap();
        assert_eq!(
            got,
            [
                "a.html: b.html#nada (a página não tem a âncora #nada)",
                "a.html: c.html (o arquivo não existe)",
                "b.html: img/x.png (o arquivo não existe)",
            ]
        );
    }
}
