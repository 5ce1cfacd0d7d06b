//! The files a browser is served on the UI port ([`super::ui`]): the
//! built visualizer, and the built course when there is one. Either from
//! a folder (`casulo daemon --ui`, the repository's `visualizer/dist/`)
//! or from inside the binary (`casulo ui` of a `cargo xtask dist` build,
//! the feature `embutido`; the list is made by `build.rs`).
//!
//! The layout is `cargo xtask demo`'s (`xtask/src/serve.rs`), so the links
//! between the course and the visualizer work the same on both:
//!
//! ```text
//! /                 the visualizer's index.html    /index_bg.wasm …
//! /curso/           the course's index.html        /curso/capitulo.html …
//! /curso/visualizador/…, /curso/exemplos/…         what the replays open
//! ```

use std::borrow::Cow;
use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/site.rs"));
}

/// Where the served files come from.
#[derive(Debug, Clone)]
pub enum Site {
    /// The visualizer's folder (its files at the top, no subfolders).
    Dir(PathBuf),
    /// The course built into the binary, the visualizer in `visualizador/`.
    Embedded,
}

/// One file to send.
pub struct File {
    pub bytes: Cow<'static, [u8]>,
    pub mime: &'static str,
}

/// What a request for `path` gets.
pub enum Found {
    File(File),
    /// `/curso` → `/curso/` (the course's relative links need the slash).
    Redirect(&'static str),
    NotFound,
}

impl Site {
    /// The site built into this binary, if it was built with `embutido`.
    pub fn embedded() -> Option<Site> {
        (!embedded::FILES.is_empty()).then_some(Site::Embedded)
    }

    /// How many files and bytes are built in (0, 0 without `embutido`).
    pub fn embedded_size() -> (usize, usize) {
        let bytes = embedded::FILES.iter().map(|(_, b)| b.len()).sum();
        (embedded::FILES.len(), bytes)
    }

    /// The file for a request's path (already without the query).
    pub fn find(&self, path: &str) -> Found {
        if path == "/curso" {
            return Found::Redirect("/curso/");
        }
        let rel = path.trim_start_matches('/');
        let (in_course, rel) = match rel.strip_prefix("curso/") {
            Some(rest) => (true, rest.trim_end_matches('/')),
            None => (false, rel),
        };
        // No `..`, no hidden names, no empty segments (`a//b`).
        if !rel.is_empty()
            && !rel
                .split('/')
                .all(|seg| !seg.is_empty() && seg != ".." && !seg.starts_with('.'))
        {
            return Found::NotFound;
        }
        let bytes = match (self, in_course) {
            (Site::Dir(dir), false) => {
                // The app is a handful of files at the top.
                let rel = if rel.is_empty() { "index.html" } else { rel };
                if rel.contains('/') {
                    return Found::NotFound;
                }
                read(dir, rel)
            }
            (Site::Dir(_), true) => None,
            (Site::Embedded, false) => {
                let rel = if rel.is_empty() { "index.html" } else { rel };
                embedded_file(&format!("visualizador/{rel}"))
            }
            (Site::Embedded, true) if rel.is_empty() => embedded_file("index.html"),
            (Site::Embedded, true) => {
                embedded_file(rel).or_else(|| embedded_file(&format!("{rel}/index.html")))
            }
        };
        match bytes {
            Some((name, bytes)) => Found::File(File {
                bytes,
                mime: mime(&name),
            }),
            None => Found::NotFound,
        }
    }
}

fn read(dir: &Path, rel: &str) -> Option<(String, Cow<'static, [u8]>)> {
    let bytes = std::fs::read(dir.join(rel)).ok()?;
    Some((rel.to_string(), Cow::Owned(bytes)))
}

fn embedded_file(rel: &str) -> Option<(String, Cow<'static, [u8]>)> {
    embedded::FILES
        .binary_search_by(|(name, _)| (*name).cmp(rel))
        .ok()
        .map(|i| (rel.to_string(), Cow::Borrowed(embedded::FILES[i].1)))
}

/// The content type browsers need (a `.wasm` must be `application/wasm`).
fn mime(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "jsonl" => "application/x-ndjson; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_is_sorted_for_the_binary_search() {
        assert!(embedded::FILES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn a_folder_site_serves_only_the_apps_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "<html>").unwrap();
        std::fs::write(dir.path().join("index_bg.wasm"), "\0asm").unwrap();
        let site = Site::Dir(dir.path().to_path_buf());
        let Found::File(index) = site.find("/") else {
            panic!("/ sem index.html")
        };
        assert_eq!(&*index.bytes, b"<html>");
        let Found::File(wasm) = site.find("/index_bg.wasm") else {
            panic!("sem wasm")
        };
        assert_eq!(wasm.mime, "application/wasm");
        assert!(matches!(site.find("/curso"), Found::Redirect("/curso/")));
        for bad in [
            "/../etc/passwd",
            "/a/b",
            "/.git",
            "/nada.js",
            "/curso/",
            "/x//y",
        ] {
            assert!(matches!(site.find(bad), Found::NotFound), "{bad}");
        }
    }
}
