//! COPY and ADD: files of the build context become a layer.
//!
//! **The context is a fence.** A source is opened with `openat2(…,
//! RESOLVE_BENEATH)` relative to the context directory: `../x`, an absolute
//! symlink (`senha -> /etc/shadow`) or a relative one that climbs out are
//! refused by the kernel (`EXDEV`) before anything is read. Inside a copied
//! directory, symlinks are copied *as symlinks* (never followed), and files
//! are opened with `O_NOFOLLOW`.
//!
//! **Where files land** (docker's rules): a relative destination is under
//! WORKDIR; the destination is a directory when it ends in `/`, when there
//! are several sources or a wildcard, or when the image already has a
//! directory there; a source directory copies its *contents*. The
//! destination's parents are looked up in the image's layers (following
//! the image's own symlinks, as if its root were `/`, e.g. `/bin ->
//! usr/bin`), so a parent that exists keeps its mode and owner, and one
//! that does not is created `0755 root:root`.
//!
//! **ADD** is COPY plus one thing: a source that is a tar archive (plain or
//! gzip) is unpacked into the destination, by the same checked extractor
//! (`openat2`, no `..`, no escaping links) that unpacks image layers.
//!
//! The layer is written later by [`super::layer_tar`], never onto the host:
//! the store unpacks it with the same checked extractor as any image.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use sha2::{Digest, Sha256};

use super::dockerignore::Ignore;
use super::layer_tar::Entry;

/// The sources of a COPY, resolved inside the context.
#[derive(Debug)]
pub struct Sources {
    /// (name as written, real path, metadata), in the order given.
    items: Vec<(String, PathBuf, fs::Metadata)>,
    wildcard: bool,
    /// The context (canonical) and its `.dockerignore`.
    context: PathBuf,
    ignore: Ignore,
    /// sha256 of the sources as they will be copied (relative paths, types,
    /// modes, contents): part of the step's cache key. Destination and
    /// owner are in the instruction's text, which is also in the key.
    pub hash: String,
}

/// Resolves and hashes `sources` (relative to `context`). Errors are pt-BR
/// messages (the caller adds file and line).
pub fn read_sources(
    context: &Path,
    sources: &[String],
    ignore: &Ignore,
) -> Result<Sources, String> {
    read_sources_in(context, sources, ignore, &Fence::CONTEXT)
}

/// What COPY reads from, as its messages call it: the build context, or
/// the filesystem of an earlier stage (`COPY --from`).
#[derive(Debug, Clone)]
pub struct Fence {
    /// `contexto`, `estágio builder`.
    pub short: String,
    /// `contexto do build`, `estágio builder`.
    pub long: String,
}

impl Fence {
    const CONTEXT: Fence = Fence {
        short: String::new(),
        long: String::new(),
    };

    fn short(&self) -> &str {
        if self.short.is_empty() {
            "contexto"
        } else {
            &self.short
        }
    }

    fn long(&self) -> &str {
        if self.long.is_empty() {
            "contexto do build"
        } else {
            &self.long
        }
    }
}

/// [`read_sources`] beneath `root`, which `fence` names in the messages
/// (the same rules: `openat2` with `RESOLVE_BENEATH`, nothing leaves it).
pub fn read_sources_in(
    context: &Path,
    sources: &[String],
    ignore: &Ignore,
    fence: &Fence,
) -> Result<Sources, String> {
    let ctx = fs::File::open(context).map_err(|e| {
        format!(
            "não consegui abrir o {} {}: {e}",
            fence.short(),
            context.display()
        )
    })?;
    let mut items: Vec<(String, PathBuf, fs::Metadata)> = Vec::new();
    let mut wildcard = false;
    for source in sources {
        let rel = clean_source(source, fence)?;
        if has_wildcard(&rel) {
            wildcard = true;
            let matches = glob(&ctx, &rel, fence)?;
            if matches.is_empty() {
                return Err(format!(
                    "nenhum arquivo do {} casa com {source:?}",
                    fence.short()
                ));
            }
            for m in matches {
                let (path, meta) = open_beneath(&ctx, &m, source, fence)?;
                if !ignored(context, ignore, &path) {
                    items.push((m, path, meta));
                }
            }
        } else {
            let (path, meta) = open_beneath(&ctx, &rel, source, fence)?;
            if ignored(context, ignore, &path) {
                return Err(format!(
                    "a origem {source:?} está excluída pelo .dockerignore do contexto"
                ));
            }
            items.push((rel, path, meta));
        }
    }
    if items.is_empty() {
        return Err(format!(
            "nenhum arquivo do {} casa com {:?} (fora os do .dockerignore)",
            fence.short(),
            sources.join(" ")
        ));
    }
    let skip = |p: &Path, is_dir: bool| skipped(context, ignore, p, is_dir);
    let mut hasher = Sha256::new();
    let mut scratch = BTreeMap::new();
    for (rel, path, meta) in &items {
        hasher.update(format!("source\0{rel}\n"));
        add_tree(
            &mut scratch,
            &mut hasher,
            path,
            meta,
            "",
            Some((0, 0)),
            &skip,
        )?;
        scratch.clear();
    }
    Ok(Sources {
        items,
        wildcard,
        context: context.to_path_buf(),
        ignore: ignore.clone(),
        hash: format!("sha256:{}", hex::encode(hasher.finalize())),
    })
}

/// A directory an ADD archive was extracted into, removed on drop (after
/// the layer that reads its files is written).
#[derive(Debug)]
pub struct Extracted(PathBuf);

impl Drop for Extracted {
    fn drop(&mut self) {
        crate::image::layer::remove_tree(&self.0);
    }
}

/// The layer entries of copying `sources` to `dest` (absolute) as `owner`
/// (`None`: root); `lowers`: the image's unpacked layers so far, top-most
/// first. With `archives_in` (ADD), a source that is a tar archive (plain
/// or gzip) is extracted there — by the same checked extractor as image
/// layers — and its *contents* go into `dest` (keeping the archive's
/// owners unless `owner` is given); the returned guards hold those
/// directories until the layer is written.
pub fn entries(
    sources: &Sources,
    dest: &str,
    owner: Option<(u32, u32)>,
    lowers: &[PathBuf],
    archives_in: Option<&Path>,
) -> Result<(BTreeMap<String, Entry>, Vec<Extracted>), String> {
    let dest_path = Path::new(dest);
    let dest_rel = dest
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string();
    let dest_is_dir = dest.ends_with('/')
        || sources.items.len() > 1
        || sources.wildcard
        || lookup(lowers, &resolve_in_image(lowers, &dest_rel)).is_some_and(|(_, m)| m.is_dir());
    let mut out = BTreeMap::new();
    let mut extracted = Vec::new();
    let mut hasher = Sha256::new();
    let forced = owner.map(|(u, g)| (u as u64, g as u64));
    for (n, (rel, path, meta)) in sources.items.iter().enumerate() {
        if let (Some(tmp), true) = (archives_in, meta.is_file() && is_tar(path)) {
            let dir = tmp.join(format!("add-{}-{n}", std::process::id()));
            crate::image::layer::remove_tree(&dir);
            crate::image::extract::extract_file(
                path,
                &dir,
                crate::image::layer::Limits::from_env(),
                rel,
            )
            .map_err(|e| format!("o arquivo {rel:?} não pôde ser desempacotado: {e}"))?;
            let guard = Extracted(dir);
            let base = resolve_in_image(lowers, &dest_rel);
            add_parents(&mut out, lowers, &join(&base, "x"));
            let mut names: Vec<_> = fs::read_dir(&guard.0)
                .map_err(|e| format!("{}: {e}", guard.0.display()))?
                .flatten()
                .map(|e| e.file_name())
                .collect();
            names.sort();
            for name in names {
                let child = guard.0.join(&name);
                let child_meta = fs::symlink_metadata(&child)
                    .map_err(|e| format!("{}: {e}", child.display()))?;
                let target = join(&base, &name.to_string_lossy());
                add_tree(
                    &mut out,
                    &mut hasher,
                    &child,
                    &child_meta,
                    &target,
                    forced,
                    &|_, _| false,
                )?;
            }
            extracted.push(guard);
            continue;
        }
        let name = Path::new(rel)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = if meta.is_dir() || dest_is_dir {
            let base = resolve_in_image(lowers, &dest_rel);
            if meta.is_dir() {
                base
            } else {
                join(&base, &name)
            }
        } else {
            let parent = dest_path
                .parent()
                .map(|p| p.to_string_lossy().trim_start_matches('/').to_string())
                .unwrap_or_default();
            let file = dest_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            join(&resolve_in_image(lowers, &parent), &file)
        };
        if target.is_empty() && !meta.is_dir() {
            return Err(format!("destino inválido {dest:?} para um arquivo"));
        }
        add_parents(&mut out, lowers, &target);
        add_tree(
            &mut out,
            &mut hasher,
            path,
            meta,
            &target,
            Some(forced.unwrap_or((0, 0))),
            &|p: &Path, is_dir: bool| skipped(&sources.context, &sources.ignore, p, is_dir),
        )?;
    }
    Ok((out, extracted))
}

/// A tar archive, plain or gzip: `ustar` at byte 257 of the (decompressed) start.
fn is_tar(path: &Path) -> bool {
    let Ok(mut file) = fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; 512];
    let Ok(n) = file.read(&mut head) else {
        return false;
    };
    let head = &head[..n];
    let mut block = [0u8; 512];
    let plain = if head.starts_with(&[0x1f, 0x8b]) {
        let Ok(file) = fs::File::open(path) else {
            return false;
        };
        let mut gz = flate2::read::GzDecoder::new(file);
        if gz.read_exact(&mut block).is_err() {
            return false;
        }
        &block[..]
    } else {
        head
    };
    plain.len() >= 262 && &plain[257..262] == b"ustar"
}

/// The source as a clean relative path; `..` that leaves the context is refused.
fn clean_source(source: &str, fence: &Fence) -> Result<String, String> {
    let mut parts: Vec<String> = Vec::new();
    for c in Path::new(source.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            // The guard pops: `a/../b` is `b`; a `..` with nothing to pop leaves.
            Component::ParentDir if parts.pop().is_none() => {
                return Err(format!(
                    "a origem {source:?} sai do {} (não use ../ para ler fora dele)",
                    fence.long()
                ));
            }
            _ => {}
        }
    }
    Ok(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

/// Opens `rel` beneath the context (symlinks followed only while they stay
/// inside); returns the real path of what it names and its metadata.
fn open_beneath(
    ctx: &fs::File,
    rel: &str,
    asked: &str,
    fence: &Fence,
) -> Result<(PathBuf, fs::Metadata), String> {
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = match nix::fcntl::openat2(ctx.as_fd(), rel, how) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::EXDEV) => {
            return Err(format!(
                "a origem {asked:?} aponta para fora do {} (um link simbólico ou ../): recusada",
                fence.long()
            ))
        }
        Err(nix::errno::Errno::ENOENT) => {
            return Err(format!("a origem {asked:?} não existe no {}", fence.long()))
        }
        Err(e) => {
            return Err(format!(
                "não consegui abrir a origem {asked:?}: {}",
                crate::kernel::errno_text(e)
            ))
        }
    };
    let path = fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| format!("não consegui abrir a origem {asked:?}: {e}"))?;
    let meta = fs::metadata(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| format!("não consegui abrir a origem {asked:?}: {e}"))?;
    Ok((path, meta))
}

/// Whether the real path `path` (inside `context`) is in the .dockerignore.
fn ignored(context: &Path, ignore: &Ignore, path: &Path) -> bool {
    path.strip_prefix(context)
        .is_ok_and(|rel| ignore.ignores(&rel.to_string_lossy()))
}

/// Whether the walk of a COPY source skips `path` (see [`Ignore::skips`]).
fn skipped(context: &Path, ignore: &Ignore, path: &Path, is_dir: bool) -> bool {
    path.strip_prefix(context)
        .is_ok_and(|rel| ignore.skips(&rel.to_string_lossy(), is_dir))
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Wildcards (`*`, `?`) in the last component only: `src/*.txt`.
fn glob(ctx: &fs::File, rel: &str, fence: &Fence) -> Result<Vec<String>, String> {
    let (dir, pattern) = match rel.rsplit_once('/') {
        Some((d, p)) => (d.to_string(), p.to_string()),
        None => (".".to_string(), rel.to_string()),
    };
    if has_wildcard(&dir) {
        return Err(format!(
            "curingas só no último nome do caminho ({rel:?}): o casulo não expande diretórios com * "
        ));
    }
    let (real_dir, meta) = open_beneath(ctx, &dir, rel, fence)?;
    if !meta.is_dir() {
        return Ok(vec![]);
    }
    let mut out: Vec<String> = fs::read_dir(&real_dir)
        .map_err(|e| format!("{}: {e}", real_dir.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| wildcard_match(pattern.as_bytes(), n.as_bytes()))
        .map(|n| if dir == "." { n } else { format!("{dir}/{n}") })
        .collect();
    out.sort();
    Ok(out)
}

fn wildcard_match(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            wildcard_match(&p[1..], s) || (!s.is_empty() && wildcard_match(p, &s[1..]))
        }
        (Some(b'?'), Some(_)) => wildcard_match(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => wildcard_match(&p[1..], &s[1..]),
        _ => false,
    }
}

fn join(base: &str, name: &str) -> String {
    match (base.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => base.to_string(),
        _ => format!("{base}/{name}"),
    }
}

/// Looks `rel` up in the layers, top-most first: the first layer that has
/// it answers (a whiteout there means it was deleted). No symlink followed.
fn lookup(lowers: &[PathBuf], rel: &str) -> Option<(PathBuf, fs::Metadata)> {
    if rel.is_empty() {
        return None;
    }
    for lower in lowers {
        let path = lower.join(rel);
        if let Ok(meta) = fs::symlink_metadata(&path) {
            if meta.file_type().is_char_device() && meta.rdev() == 0 {
                return None;
            }
            return Some((path, meta));
        }
    }
    None
}

/// Resolves a directory path of the image, following the image's symlinks
/// as if its root were `/` (never leaving it). Returns it relative.
fn resolve_in_image(lowers: &[PathBuf], rel: &str) -> String {
    let mut todo: Vec<String> = rel
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(String::from)
        .rev()
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = todo.pop() {
        if part == ".." {
            done.pop();
            continue;
        }
        let candidate = join(&done.join("/"), &part);
        match lookup(lowers, &candidate) {
            Some((path, meta)) if meta.file_type().is_symlink() && hops < 40 => {
                hops += 1;
                let Ok(target) = fs::read_link(&path) else {
                    done.push(part);
                    continue;
                };
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    done.clear();
                }
                todo.extend(
                    target
                        .split('/')
                        .filter(|p| !p.is_empty() && *p != ".")
                        .map(String::from)
                        .rev(),
                );
            }
            _ => done.push(part),
        }
    }
    done.join("/")
}

/// Adds the parents of `target` the layer does not have yet, with the mode
/// and owner the image gives them (or `0755 root:root` when new).
fn add_parents(entries: &mut BTreeMap<String, Entry>, lowers: &[PathBuf], target: &str) {
    let mut parent = Path::new(target).parent();
    while let Some(dir) = parent {
        let rel = dir.to_string_lossy().into_owned();
        if rel.is_empty() {
            break;
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = entries.entry(rel) {
            let entry = match lookup(lowers, slot.key()) {
                Some((_, m)) if m.is_dir() => Entry::Dir {
                    mode: m.mode(),
                    uid: m.uid() as u64,
                    gid: m.gid() as u64,
                },
                _ => Entry::Dir {
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                },
            };
            slot.insert(entry);
        }
        parent = dir.parent();
    }
}

/// Adds `path` (and, for a directory, everything in it) at `target`,
/// hashing what is added.
fn add_tree(
    entries: &mut BTreeMap<String, Entry>,
    hasher: &mut Sha256,
    path: &Path,
    meta: &fs::Metadata,
    target: &str,
    owner: Option<(u64, u64)>,
    skip: &dyn Fn(&Path, bool) -> bool,
) -> Result<(), String> {
    let mode = meta.mode() & 0o7777;
    let (uid, gid) = owner.unwrap_or((meta.uid() as u64, meta.gid() as u64));
    let ft = meta.file_type();
    let line =
        |kind: &str, extra: &str| format!("{target}\0{kind}\0{mode:o}\0{uid}:{gid}\0{extra}\n");
    if ft.is_dir() {
        if !target.is_empty() {
            hasher.update(line("dir", ""));
            entries.insert(target.to_string(), Entry::Dir { mode, uid, gid });
        }
        let mut names: Vec<_> = fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        names.sort();
        for name in names {
            let child = path.join(&name);
            let child_meta =
                fs::symlink_metadata(&child).map_err(|e| format!("{}: {e}", child.display()))?;
            let child_target = join(target, &name.to_string_lossy());
            if skip(&child, child_meta.is_dir()) {
                continue;
            }
            add_tree(
                entries,
                hasher,
                &child,
                &child_meta,
                &child_target,
                owner,
                skip,
            )?;
        }
    } else if ft.is_symlink() {
        let link = fs::read_link(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let link = link.to_string_lossy().into_owned();
        hasher.update(line("symlink", &link));
        entries.insert(
            target.to_string(),
            Entry::Symlink {
                target: link,
                uid,
                gid,
            },
        );
    } else if ft.is_file() {
        let content = hash_file(path)?;
        hasher.update(line("file", &content));
        entries.insert(
            target.to_string(),
            Entry::File {
                source: path.to_path_buf(),
                size: meta.len(),
                mode,
                uid,
                gid,
            },
        );
    } else {
        return Err(format!(
            "{} não é arquivo, diretório nem link simbólico: COPY não o copia",
            path.display()
        ));
    }
    Ok(())
}

fn hash_file(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(format!("{size}:{}", hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(
        ctx: &Path,
        sources: &[String],
        dest: &str,
        owner: (u32, u32),
        lowers: &[PathBuf],
    ) -> Result<(BTreeMap<String, Entry>, String), String> {
        let s = read_sources(ctx, sources, &Ignore::default())?;
        Ok((entries(&s, dest, Some(owner), lowers, None)?.0, s.hash))
    }

    fn keys(p: &(BTreeMap<String, Entry>, String)) -> Vec<&str> {
        p.0.keys().map(String::as_str).collect()
    }

    #[test]
    fn copies_files_and_dirs_under_the_rules() {
        let ctx = tempfile::tempdir().unwrap();
        let c = ctx.path();
        fs::write(c.join("a.txt"), "a").unwrap();
        fs::write(c.join("b.txt"), "b").unwrap();
        fs::create_dir_all(c.join("src/sub")).unwrap();
        fs::write(c.join("src/sub/x"), "x").unwrap();
        std::os::unix::fs::symlink("sub/x", c.join("src/ln")).unwrap();
        let image = tempfile::tempdir().unwrap();
        fs::create_dir_all(image.path().join("usr/bin")).unwrap();
        std::os::unix::fs::symlink("usr/bin", image.path().join("bin")).unwrap();
        let lowers = vec![image.path().to_path_buf()];

        let p = plan(c, &["a.txt".into()], "/app/novo.txt", (0, 0), &lowers).unwrap();
        assert_eq!(keys(&p), ["app", "app/novo.txt"]);
        let p = plan(c, &["*.txt".into()], "/app", (0, 0), &lowers).unwrap();
        assert_eq!(keys(&p), ["app", "app/a.txt", "app/b.txt"]);
        let p = plan(c, &["src".into()], "/opt/", (5, 6), &lowers).unwrap();
        assert_eq!(keys(&p), ["opt", "opt/ln", "opt/sub", "opt/sub/x"]);
        assert!(matches!(
            p.0["opt/sub/x"],
            Entry::File { uid: 5, gid: 6, .. }
        ));
        assert!(matches!(&p.0["opt/ln"], Entry::Symlink { target, .. } if target == "sub/x"));
        // /bin is a symlink in the image: the file goes through it.
        let p = plan(c, &["a.txt".into()], "/bin/", (0, 0), &lowers).unwrap();
        assert_eq!(keys(&p), ["usr", "usr/bin", "usr/bin/a.txt"]);
        // Same sources, same hash; a changed byte, another hash.
        let h1 = plan(c, &["src".into()], "/opt/", (0, 0), &lowers)
            .unwrap()
            .1;
        fs::write(c.join("src/sub/x"), "y").unwrap();
        let h2 = plan(c, &["src".into()], "/opt/", (0, 0), &lowers)
            .unwrap()
            .1;
        assert_ne!(h1, h2);
    }

    #[test]
    fn nothing_outside_the_context() {
        let ctx = tempfile::tempdir().unwrap();
        let c = ctx.path().join("ctx");
        fs::create_dir(&c).unwrap();
        fs::write(ctx.path().join("fora"), "segredo").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", c.join("abs")).unwrap();
        std::os::unix::fs::symlink("../fora", c.join("rel")).unwrap();
        for src in ["../fora", "abs", "rel", "x/../../fora"] {
            let e = plan(&c, &[src.into()], "/x", (0, 0), &[]).unwrap_err();
            assert!(
                e.contains("fora do contexto") || e.contains("sai do contexto"),
                "{src}: {e}"
            );
        }
    }
}
