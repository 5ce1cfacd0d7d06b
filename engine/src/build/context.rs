//! The build context: the directory opened once, and the two text files a
//! build reads from it before anything else — the Dockerfile (or the one
//! `-f` names) and the `.dockerignore`.
//!
//! Both are read through the context's fd: a symlink is followed only
//! while it stays inside (`openat2(RESOLVE_BENEATH)`), as COPY's sources
//! are, and no file may weigh more than [`MAX_TEXT_FILE`].

use std::path::{Path, PathBuf};

use super::dockerfile::{self, Dockerfile};
use super::dockerignore::Ignore;
use super::{BuildError, BuildOptions};
use crate::image::beneath::Node;

/// The most the Dockerfile, the `.dockerignore` and an image's
/// `/etc/passwd` or `/etc/group` may weigh: 16 MiB, BuildKit's own limit
/// for the Dockerfile and ignore files (its frontend reads at most one
/// gRPC message, containerd's `DefaultMaxRecvMsgSize`). A real Dockerfile
/// has a few KiB; this only stops a file meant to exhaust memory.
pub const MAX_TEXT_FILE: u64 = 16 << 20;

/// What a build starts from.
pub(super) struct Context {
    /// Its real path (the trace's `build.start`, the cache mounts' names).
    pub path: PathBuf,
    /// The directory, opened once (never by name again).
    pub dir: Node,
    /// The Dockerfile's path, as the trace names it.
    pub dockerfile_path: PathBuf,
    pub dockerfile: Dockerfile,
    pub ignore: Ignore,
}

/// Opens the context and reads and parses its Dockerfile and
/// `.dockerignore` (a missing `.dockerignore` ignores nothing).
pub(super) fn open(opts: &BuildOptions) -> Result<Context, BuildError> {
    if !opts.context.is_dir() {
        return Err(BuildError::BadContext(opts.context.clone()));
    }
    let path = opts
        .context
        .canonicalize()
        .map_err(|_| BuildError::BadContext(opts.context.clone()))?;
    let dir = Node::open_root(&path).map_err(|_| BuildError::BadContext(path.clone()))?;
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::ReadDockerfile { path, source }
    };
    let (dockerfile_path, name, text) = match &opts.dockerfile {
        Some(p) => {
            let text = match inside(&opts.context, &path, p) {
                Some(rel) => read_in_context(&dir, &rel, "Dockerfile"),
                // Outside the context (`-f ../outro/Dockerfile`): the user's
                // own file, read as given, with the same size limit.
                None => read_capped_path(p, "Dockerfile"),
            }
            .map_err(read_error(p))?;
            (p.clone(), p.display().to_string(), text)
        }
        None => {
            let file = path.join("Dockerfile");
            let text = read_in_context(&dir, Path::new("Dockerfile"), "Dockerfile")
                .map_err(read_error(&file))?;
            (file, "Dockerfile".to_string(), text)
        }
    };
    let dockerfile = dockerfile::parse(&name, &text)?;
    let ignore = match read_in_context(&dir, Path::new(".dockerignore"), ".dockerignore") {
        Ok(text) => Ignore::parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ignore::default(),
        Err(source) => return Err(read_error(&path.join(".dockerignore"))(source)),
    };
    Ok(Context {
        path,
        dir,
        dockerfile_path,
        dockerfile,
        ignore,
    })
}

/// `file` (given as `-f`) relative to the context, if it is written inside
/// it (`given`: the context as typed; `canonical`: its real path).
fn inside(given: &Path, canonical: &Path, file: &Path) -> Option<PathBuf> {
    let absolute = |p: &Path| std::path::absolute(p).ok().map(|a| normalize(&a));
    let file = absolute(file)?;
    [absolute(given), Some(canonical.to_path_buf())]
        .into_iter()
        .flatten()
        .find_map(|c| file.strip_prefix(&c).ok().map(Path::to_path_buf))
}

/// `a/./b/../c` → `a/c`, without looking at the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// A text file of the context (`what` names it in messages), read through
/// the context's fd: symlinks are followed only while they stay inside
/// (`openat2(RESOLVE_BENEATH)`), and at most [`MAX_TEXT_FILE`] bytes.
fn read_in_context(ctx: &Node, rel: &Path, what: &str) -> std::io::Result<String> {
    let node = ctx.open_following_beneath(rel).map_err(|e| match e {
        nix::errno::Errno::EXDEV => std::io::Error::other(format!(
            "o {what} é (ou passa por) um link simbólico que aponta para fora do contexto do \
             build: recusado, como as origens do COPY"
        )),
        e => std::io::Error::from(e),
    })?;
    if !node.is_file() {
        return Err(std::io::Error::other(format!(
            "o {what} não é um arquivo regular"
        )));
    }
    text(node.read_capped(MAX_TEXT_FILE, &format!("o {what}"))?, what)
}

/// A file outside the context, at most [`MAX_TEXT_FILE`] bytes.
fn read_capped_path(path: &Path, what: &str) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_TEXT_FILE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_TEXT_FILE {
        return Err(std::io::Error::other(crate::image::beneath::too_big(
            &format!("o {what}"),
            MAX_TEXT_FILE,
        )));
    }
    text(bytes, what)
}

fn text(bytes: Vec<u8>, what: &str) -> std::io::Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("o {what} não é texto UTF-8"),
        )
    })
}
