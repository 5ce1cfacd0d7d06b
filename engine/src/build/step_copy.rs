//! COPY and ADD: files of the build context become a layer.
//!
//! **The context is a fence.** A source is opened with `openat2(…,
//! RESOLVE_BENEATH)` relative to the context directory: `../x`, an absolute
//! symlink (`senha -> /etc/shadow`) or a relative one that climbs out are
//! refused by the kernel (`EXDEV`) before anything is read. Inside a copied
//! directory, symlinks are copied *as symlinks* (never followed).
//!
//! **Read once, from what was checked.** The context is opened once as a
//! directory fd and every walk goes fd by fd ([`crate::image::beneath`]):
//! a directory swapped for a symlink to `/etc` while we walk changes
//! nothing we read (the CVE-2018-15664 class). Each regular file is opened
//! and hashed for the cache key, and *stays open*: the layer is written
//! from that same open file and its bytes are checked against that hash,
//! so the layer (and the cache) hold exactly what the key says. A file
//! whose hash [`super::file_hashes`] remembers is not read for the key
//! (nor reopened: its `O_PATH` fd waits); a layer written from it checks
//! it against that hash the same way. Past half
//! the open-file limit, files are instead copied (once, while hashed) into
//! an unlinked spool file of the state dir, and the layer reads them there.
//!
//! **Where files land** (docker's rules): a relative destination is under
//! WORKDIR; the destination is a directory when it ends in `/`, when there
//! are several sources or a wildcard, or when the image already has a
//! directory there; a source directory copies its *contents*. The
//! destination's parents are looked up in the image's layers
//! ([`crate::image::layered`]: the image's own symlinks followed inside the
//! image, e.g. `/bin -> usr/bin`, never on the host), so a parent that
//! exists keeps its mode and owner, and one that does not is created
//! `0755 root:root`.
//!
//! **ADD** is COPY plus one thing: a source that is a tar archive (plain or
//! gzip) is unpacked into the destination, by the same checked extractor
//! (`openat2`, no `..`, no escaping links) that unpacks image layers.
//!
//! The layer is written later by [`crate::image::layer_tar`], never onto the host:
//! the store unpacks it with the same checked extractor as any image.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use nix::errno::Errno;
use sha2::{Digest, Sha256};

use super::dockerignore::Ignore;
use super::file_hashes::FileHashes;
use crate::image::beneath::{self, Node};
use crate::image::layer_tar::{Content, Entry};
use crate::image::layered::Layers;

/// The sources of a COPY, read once from the context: what was hashed for
/// the cache key is what goes into the layer (the files stay open).
#[derive(Debug)]
pub struct Sources {
    /// (name as written, what it is), in the order given.
    items: Vec<(String, Tree)>,
    wildcard: bool,
    /// sha256 of the sources as they will be copied (relative paths, types,
    /// modes, contents): part of the step's cache key. Destination and
    /// owner are in the instruction's text, which is also in the key.
    pub hash: String,
}

/// A source as it was read: directories with their children, regular
/// files open (and hashed), symlinks as their text.
#[derive(Debug)]
enum Tree {
    Dir {
        mode: u32,
        uid: u64,
        gid: u64,
        children: Vec<(String, Tree)>,
    },
    File {
        /// The source itself (offset 0), or the spool holding its copy.
        kept: Kept,
        /// `SIZE:SHA256HEX` of the bytes read (or remembered).
        hash: String,
        size: u64,
        mode: u32,
        uid: u64,
        gid: u64,
        /// Its path in the context (for messages).
        name: String,
    },
    Symlink {
        target: String,
        uid: u64,
        gid: u64,
    },
}

/// A source file between its hash and the layer: open (from offset 0, or
/// its copy in the spool), or — when its hash was remembered
/// ([`FileHashes`]) — only its `O_PATH` fd, opened for reading the first
/// time a layer needs it. A cached build then never reopens it: a reopen
/// goes through `/proc/self/fd/N`, a path walk in procfs that was most of
/// a cached build's CPU.
#[derive(Debug)]
struct Kept {
    /// Boxed: a node holds its whole `stat`, and most files are open.
    node: Option<Box<Node>>,
    open: OnceLock<(Arc<fs::File>, u64)>,
}

impl Kept {
    fn open(file: Arc<fs::File>, offset: u64) -> Kept {
        Kept {
            node: None,
            open: OnceLock::from((file, offset)),
        }
    }

    fn unopened(node: Node) -> Kept {
        Kept {
            node: Some(Box::new(node)),
            open: OnceLock::new(),
        }
    }

    /// The file to read and where its bytes start (opened on first need:
    /// the same inode that was checked, [`Node::reopen_file`]).
    fn get(&self) -> std::io::Result<(&Arc<fs::File>, u64)> {
        if self.open.get().is_none() {
            let node = self
                .node
                .as_ref()
                .expect("a kept file has one or the other");
            let _ = self.open.set((Arc::new(node.reopen_file()?), 0));
        }
        let (file, offset) = self.open.get().expect("set above");
        Ok((file, *offset))
    }
}

/// Resolves and hashes `sources` (relative to `context`, the context
/// directory opened once by the build). Errors are pt-BR messages (the
/// caller adds file and line).
///
/// A file whose hash `hashes` remembers (and whose `stat` says it has not
/// changed since) is opened but not read; the others are read and their
/// hashes learned.
pub fn read_sources(
    context: &Node,
    sources: &[String],
    ignore: &Ignore,
    spool_in: &Path,
    hashes: &mut FileHashes,
) -> Result<Sources, String> {
    let mut keeper = Keeper::new(raise_open_files_limit() / 2, spool_in);
    keeper.hashes = Some(hashes);
    read_sources_kept(context, sources, ignore, &Fence::CONTEXT, &mut keeper)
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
///
/// Every source is resolved from the root's fd, and every walk below a
/// source goes fd by fd ([`crate::image::beneath`]).
///
/// Regular files stay open until the layer is written (read from the same
/// fd that was hashed); past half the open-file limit, the next ones are
/// copied once, while hashed, into a spool file in `spool_in` (removed
/// from its directory at once: only our fd reaches it).
pub fn read_sources_in(
    ctx: &Node,
    sources: &[String],
    ignore: &Ignore,
    fence: &Fence,
    spool_in: &Path,
) -> Result<Sources, String> {
    let mut keeper = Keeper::new(raise_open_files_limit() / 2, spool_in);
    read_sources_kept(ctx, sources, ignore, fence, &mut keeper)
}

fn read_sources_kept(
    ctx: &Node,
    sources: &[String],
    ignore: &Ignore,
    fence: &Fence,
    keeper: &mut Keeper,
) -> Result<Sources, String> {
    let ctx_real = ctx
        .real_path()
        .map_err(|e| format!("não consegui abrir o {}: {e}", fence.short()))?;
    // A source's path in the context, from where its fd really is.
    let rel_of = |node: &Node| -> Option<String> {
        let real = node.real_path().ok()?;
        let rel = real.strip_prefix(&ctx_real).ok()?;
        Some(rel.to_string_lossy().into_owned())
    };
    let mut found: Vec<(String, Node, Option<String>)> = Vec::new();
    let mut wildcard = false;
    for source in sources {
        let rel = clean_source(source, fence)?;
        if has_wildcard(&rel) {
            wildcard = true;
            let matches = glob(ctx, &rel, fence)?;
            if matches.is_empty() {
                return Err(format!(
                    "nenhum arquivo do {} casa com {source:?}",
                    fence.short()
                ));
            }
            for m in matches {
                let node = open_source(ctx, &m, source, fence)?;
                let at = rel_of(&node);
                if !at.as_ref().is_some_and(|r| ignore.ignores(r)) {
                    found.push((m, node, at));
                }
            }
        } else {
            let node = open_source(ctx, &rel, source, fence)?;
            let at = rel_of(&node);
            if at.as_ref().is_some_and(|r| ignore.ignores(r)) {
                return Err(format!(
                    "a origem {source:?} está excluída pelo .dockerignore do contexto"
                ));
            }
            found.push((rel, node, at));
        }
    }
    if found.is_empty() {
        return Err(format!(
            "nenhum arquivo do {} casa com {:?} (fora os do .dockerignore)",
            fence.short(),
            sources.join(" ")
        ));
    }
    let mut hasher = Sha256::new();
    let mut items = Vec::new();
    for (rel, node, at) in found {
        hasher.update(format!("source\0{rel}\n"));
        let shown = at.clone().unwrap_or_else(|| rel.clone());
        let tree = read_tree(node, at.as_deref(), &shown, ignore, fence, keeper)?;
        hash_tree(&mut hasher, &tree, "");
        items.push((rel, tree));
    }
    Ok(Sources {
        items,
        wildcard,
        hash: format!("sha256:{}", hex::encode(hasher.finalize())),
    })
}

/// Each regular file of a COPY stays open from the hash to the layer:
/// allow as many as the hard limit lets (docker's containers get 1048576).
/// Returns the limit now in force.
fn raise_open_files_limit() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain data filled and read by the kernel.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
}

/// Where the bytes of a COPY's files wait between the hash and the layer.
struct Keeper<'a> {
    /// How many more source files may stay open.
    open_left: usize,
    spool_in: &'a Path,
    /// The spool (created on first need) and its length.
    spool: Option<(Arc<fs::File>, u64)>,
    /// The context's remembered hashes (none for other sources).
    hashes: Option<&'a mut FileHashes>,
}

impl<'a> Keeper<'a> {
    fn new(open_left: usize, spool_in: &'a Path) -> Keeper<'a> {
        Keeper {
            open_left,
            spool_in,
            spool: None,
            hashes: None,
        }
    }

    /// Keeps the regular file `node` (its `stat`, taken when it was
    /// opened, says what it was before it was read): (the file to read
    /// later, `SIZE:SHA256HEX`).
    fn keep(&mut self, node: Node) -> std::io::Result<(Kept, String)> {
        if self.open_left > 0 {
            self.open_left -= 1;
            // Remembered: neither opened nor read now. A layer written from
            // it checks its bytes against this hash all the same.
            if let Some(hash) = self.hashes.as_mut().and_then(|h| h.get(node.meta())) {
                return Ok((Kept::unopened(node), hash));
            }
            let file = node.reopen_file()?;
            let hash = crate::image::layer_tar::file_hash(&file)?;
            if let Some(h) = self.hashes.as_mut() {
                h.learn(node.meta(), &hash);
            }
            return Ok((Kept::open(Arc::new(file), 0), hash));
        }
        let file = node.reopen_file()?;
        if self.spool.is_none() {
            fs::create_dir_all(self.spool_in)?;
            let path = self.spool_in.join(format!(
                "copy-spool-{}-{}",
                std::process::id(),
                crate::container::new_id()
            ));
            let spool = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?;
            fs::remove_file(&path)?;
            self.spool = Some((Arc::new(spool), 0));
        }
        let (spool, end) = self.spool.as_mut().expect("created above");
        let offset = *end;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = file.read_at(&mut buf, size)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            spool.write_all_at(&buf[..n], offset + size)?;
            size += n as u64;
        }
        *end += size;
        Ok((
            Kept::open(spool.clone(), offset),
            format!("{size}:{}", hex::encode(hasher.finalize())),
        ))
    }
}

/// Reads `node` (at `at` in the context, if known; `shown` in messages):
/// directories are listed from their fd, their children opened from it
/// without following symlinks; files are opened and hashed.
fn read_tree(
    node: Node,
    at: Option<&str>,
    shown: &str,
    ignore: &Ignore,
    fence: &Fence,
    keeper: &mut Keeper,
) -> Result<Tree, String> {
    let meta = node.meta();
    let (mode, uid, gid) = (meta.mode() & 0o7777, meta.uid() as u64, meta.gid() as u64);
    let fail = |e: &dyn std::fmt::Display| format!("{shown:?} do {}: {e}", fence.long());
    if node.is_dir() {
        let mut children = Vec::new();
        for name in node.names().map_err(|e| fail(&e))? {
            let child_shown = beneath::join(shown, &name);
            let child = match node.child(&name) {
                Ok(c) => c,
                // Gone since the listing: as if it had not been there.
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(fail(&crate::kernel::errno_text(e))),
            };
            let child_at = at.map(|a| beneath::join(a, &name));
            if child_at
                .as_ref()
                .is_some_and(|r| ignore.skips(r, child.is_dir()))
            {
                continue;
            }
            let tree = read_tree(
                child,
                child_at.as_deref(),
                &child_shown,
                ignore,
                fence,
                keeper,
            )?;
            children.push((name.to_string_lossy().into_owned(), tree));
        }
        Ok(Tree::Dir {
            mode,
            uid,
            gid,
            children,
        })
    } else if node.is_symlink() {
        let target = node.link_target().map_err(|e| fail(&e))?;
        Ok(Tree::Symlink {
            target: target.to_string_lossy().into_owned(),
            uid,
            gid,
        })
    } else if node.is_file() {
        let (kept, hash) = keeper.keep(node).map_err(|e| fail(&e))?;
        let size = hash
            .split(':')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        Ok(Tree::File {
            kept,
            hash,
            size,
            mode,
            uid,
            gid,
            name: shown.to_string(),
        })
    } else {
        Err(format!(
            "{shown:?} não é arquivo, diretório nem link simbólico: COPY não o copia"
        ))
    }
}

/// The lines of `tree` (at `target`) in the cache key, owners as 0:0 (the
/// owner is in the instruction's text).
fn hash_tree(hasher: &mut Sha256, tree: &Tree, target: &str) {
    let line = |kind: &str, mode: u32, extra: &str| {
        format!("{target}\0{kind}\0{mode:o}\0{}:{}\0{extra}\n", 0, 0)
    };
    match tree {
        Tree::Dir { mode, children, .. } => {
            if !target.is_empty() {
                hasher.update(line("dir", *mode, ""));
            }
            for (name, child) in children {
                hash_tree(hasher, child, &join(target, name));
            }
        }
        Tree::File { hash, mode, .. } => hasher.update(line("file", *mode, hash)),
        Tree::Symlink { target: link, .. } => hasher.update(line("symlink", 0o777, link)),
    }
}

/// A directory an ADD archive was extracted into, removed on drop (after
/// the layer that reads its files is written).
#[derive(Debug)]
pub struct Extracted(pub(crate) PathBuf);

impl Extracted {
    /// A fresh directory `tmp/<what>-<pid>-<random>` of the state dir for
    /// files the build makes itself (an archive's contents, here-documents,
    /// downloads), removed when the guard goes.
    pub fn fresh(state: &crate::state::StateDir, what: &str) -> std::io::Result<Extracted> {
        let dir = state.tmp().join(format!(
            "{what}-{}-{}",
            std::process::id(),
            crate::container::new_id().get(..8).unwrap_or("0")
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Extracted(dir))
    }

    /// `names` of this directory as the sources of a COPY (`what` names the
    /// place in errors), read as a context is read.
    pub fn read(&self, names: &[String], what: &str, spool_in: &Path) -> Result<Sources, String> {
        let root = Node::open_root(&self.0).map_err(|e| format!("{}: {e}", self.0.display()))?;
        read_sources_in(
            &root,
            names,
            &Ignore::default(),
            &Fence {
                short: what.into(),
                long: what.into(),
            },
            spool_in,
        )
    }
}

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
///
/// `chmod` (`--chmod=0750`) is the mode of every file and directory copied
/// (not of an archive's contents, nor of symlinks). The directories the
/// copy creates on the way to `dest` get `owner` (as BuildKit and buildah
/// do: `COPY --chown=1000:1000 f /novo/dir/f` leaves `/novo` to 1000) and
/// mode 0755.
pub fn entries(
    sources: &Sources,
    dest: &str,
    (owner, chmod): (Option<(u32, u32)>, Option<u32>),
    lowers: &[PathBuf],
    archives_in: Option<&Path>,
) -> Result<(BTreeMap<String, Entry>, Vec<Extracted>), String> {
    let layers = Layers::open(lowers).map_err(|e| format!("camadas da imagem: {e}"))?;
    let dest_path = Path::new(dest);
    let dest_rel = dest
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string();
    let dest_is_dir = dest.ends_with('/')
        || sources.items.len() > 1
        || sources.wildcard
        || layers
            .lookup(&layers.resolve(&dest_rel))
            .is_some_and(|n| n.is_dir());
    let mut out = BTreeMap::new();
    let mut extracted = Vec::new();
    let forced = owner.map(|(u, g)| (u as u64, g as u64));
    let new_dirs = forced.unwrap_or((0, 0));
    for (n, (rel, tree)) in sources.items.iter().enumerate() {
        if let (
            Some(tmp),
            Tree::File {
                kept, size, hash, ..
            },
        ) = (archives_in, tree)
        {
            let (file, offset) = kept.get().map_err(|e| format!("{rel:?}: {e}"))?;
            if is_tar(file, offset, *size) {
                let dir = tmp.join(format!("add-{}-{n}", std::process::id()));
                let archive = extract_archive(file, offset, hash, rel, &dir)?;
                let guard = Extracted(dir);
                drop(archive);
                let base = layers.resolve(&dest_rel);
                add_parents(&mut out, &layers, &join(&base, "x"), new_dirs);
                let root = Node::open_root(&guard.0).map_err(|e| format!("{rel:?}: {e}"))?;
                let fence = Fence {
                    short: format!("arquivo {rel}"),
                    long: format!("arquivo {rel}"),
                };
                // Our own directory, written by the extractor: nobody races
                // it, but it is read the same way (and may need the spool).
                let mut keeper = Keeper::new(raise_open_files_limit() / 2, tmp);
                let Tree::Dir { children, .. } =
                    read_tree(root, None, rel, &Ignore::default(), &fence, &mut keeper)?
                else {
                    unreachable!("the extractor made a directory");
                };
                for (name, child) in &children {
                    add_tree(&mut out, child, &join(&base, name), (forced, None))?;
                }
                extracted.push(guard);
                continue;
            }
        }
        let is_dir = matches!(tree, Tree::Dir { .. });
        let name = Path::new(rel)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = if is_dir || dest_is_dir {
            let base = layers.resolve(&dest_rel);
            if is_dir {
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
            join(&layers.resolve(&parent), &file)
        };
        if target.is_empty() && !is_dir {
            return Err(format!("destino inválido {dest:?} para um arquivo"));
        }
        add_parents(&mut out, &layers, &target, new_dirs);
        add_tree(&mut out, tree, &target, (Some(new_dirs), chmod))?;
    }
    Ok((out, extracted))
}

/// Copies the ADD archive from the open `file` into a scratch file while
/// hashing it (refused if it is not what the cache key hashed), then
/// unpacks that copy into `dir` with the checked extractor.
fn extract_archive(
    file: &fs::File,
    offset: u64,
    hash: &str,
    rel: &str,
    dir: &Path,
) -> Result<ScratchFile, String> {
    let size: u64 = hash
        .split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    crate::image::layer::remove_tree(dir);
    let copy = ScratchFile(dir.with_extension("tar"));
    let _ = fs::remove_file(&copy.0);
    let fail = |e: std::io::Error| format!("o arquivo {rel:?} não pôde ser copiado: {e}");
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&copy.0)
        .map_err(fail)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut pos = 0u64;
    let mut hasher = Sha256::new();
    while pos < size {
        let want = buf.len().min((size - pos) as usize);
        let n = file.read_at(&mut buf[..want], offset + pos).map_err(fail)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(fail)?;
        pos += n as u64;
    }
    if format!("{pos}:{}", hex::encode(hasher.finalize())) != hash {
        return Err(format!(
            "o arquivo {rel:?} mudou entre o cálculo da chave do cache e a cópia: \
             rode o build de novo com o contexto parado"
        ));
    }
    crate::image::extract::extract_file(&copy.0, dir, crate::image::layer::Limits::from_env(), rel)
        .map_err(|e| format!("o arquivo {rel:?} não pôde ser desempacotado: {e}"))?;
    Ok(copy)
}

/// A scratch file, removed on drop.
struct ScratchFile(PathBuf);

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// A tar archive, plain or gzip: `ustar` at byte 257 of the (decompressed)
/// start of the `size` bytes at `offset` of `file`.
fn is_tar(file: &fs::File, offset: u64, size: u64) -> bool {
    use std::io::Read;
    let mut head = [0u8; 512];
    let want = head.len().min(size as usize);
    let Ok(n) = file.read_at(&mut head[..want], offset) else {
        return false;
    };
    let head = &head[..n];
    let mut block = [0u8; 512];
    let plain = if head.starts_with(&[0x1f, 0x8b]) {
        let mut all = Vec::new();
        let mut pos = 0u64;
        // The first compressed KiBs are enough for the first 512 bytes.
        let mut chunk = [0u8; 4096];
        while all.len() < 64 * 1024 && pos < size {
            let want = chunk.len().min((size - pos) as usize);
            match file.read_at(&mut chunk[..want], offset + pos) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    all.extend_from_slice(&chunk[..n]);
                    pos += n as u64;
                }
            }
        }
        let mut gz = flate2::read::GzDecoder::new(&all[..]);
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
/// inside, as docker does for a source it is given by name).
fn open_source(ctx: &Node, rel: &str, asked: &str, fence: &Fence) -> Result<Node, String> {
    match ctx.open_following_beneath(Path::new(rel)) {
        Ok(node) => Ok(node),
        Err(Errno::EXDEV) => Err(format!(
            "a origem {asked:?} aponta para fora do {} (um link simbólico ou ../): recusada",
            fence.long()
        )),
        Err(Errno::ENOENT) => Err(format!("a origem {asked:?} não existe no {}", fence.long())),
        Err(e) => Err(format!(
            "não consegui abrir a origem {asked:?}: {}",
            crate::kernel::errno_text(e)
        )),
    }
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Wildcards (`*`, `?`) in the last component only: `src/*.txt`.
fn glob(ctx: &Node, rel: &str, fence: &Fence) -> Result<Vec<String>, String> {
    let (dir, pattern) = match rel.rsplit_once('/') {
        Some((d, p)) => (d.to_string(), p.to_string()),
        None => (".".to_string(), rel.to_string()),
    };
    if has_wildcard(&dir) {
        return Err(format!(
            "curingas só no último nome do caminho ({rel:?}): o casulo não expande diretórios com * "
        ));
    }
    let node = open_source(ctx, &dir, rel, fence)?;
    if !node.is_dir() {
        return Ok(vec![]);
    }
    let names = node
        .names()
        .map_err(|e| format!("{dir:?} do {}: {e}", fence.long()))?;
    let out: Vec<String> = names
        .into_iter()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| wildcard_match(pattern.as_bytes(), n.as_bytes()))
        .map(|n| if dir == "." { n } else { format!("{dir}/{n}") })
        .collect();
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

/// Adds the parents of `target` the layer does not have yet, with the mode
/// and owner the image gives them (or 0755 and `owner` when new).
fn add_parents(
    entries: &mut BTreeMap<String, Entry>,
    layers: &Layers,
    target: &str,
    (uid, gid): (u64, u64),
) {
    let mut parent = Path::new(target).parent();
    while let Some(dir) = parent {
        let rel = dir.to_string_lossy().into_owned();
        if rel.is_empty() {
            break;
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = entries.entry(rel) {
            let entry = match layers.lookup(slot.key()) {
                Some(n) if n.is_dir() => Entry::Dir {
                    mode: n.meta().mode(),
                    uid: n.meta().uid() as u64,
                    gid: n.meta().gid() as u64,
                },
                _ => Entry::Dir {
                    mode: 0o755,
                    uid,
                    gid,
                },
            };
            slot.insert(entry);
        }
        parent = dir.parent();
    }
}

/// Adds `tree` (and, for a directory, everything in it) at `target`;
/// `owner` replaces the owners read and `chmod` the modes of files and
/// directories (`None`: keep them).
fn add_tree(
    entries: &mut BTreeMap<String, Entry>,
    tree: &Tree,
    target: &str,
    (owner, chmod): (Option<(u64, u64)>, Option<u32>),
) -> Result<(), String> {
    match tree {
        Tree::Dir {
            mode,
            uid,
            gid,
            children,
        } => {
            let (uid, gid) = owner.unwrap_or((*uid, *gid));
            if !target.is_empty() {
                entries.insert(
                    target.to_string(),
                    Entry::Dir {
                        mode: chmod.unwrap_or(*mode),
                        uid,
                        gid,
                    },
                );
            }
            for (name, child) in children {
                add_tree(entries, child, &join(target, name), (owner, chmod))?;
            }
        }
        Tree::File {
            kept,
            hash,
            size,
            mode,
            uid,
            gid,
            name,
        } => {
            let (uid, gid) = owner.unwrap_or((*uid, *gid));
            let (file, offset) = kept.get().map_err(|e| format!("{name:?}: {e}"))?;
            entries.insert(
                target.to_string(),
                Entry::File {
                    source: Content::Open {
                        file: file.clone(),
                        offset,
                        hash: hash.clone(),
                        name: name.clone(),
                    },
                    size: *size,
                    mode: chmod.unwrap_or(*mode),
                    uid,
                    gid,
                },
            );
        }
        Tree::Symlink {
            target: link,
            uid,
            gid,
        } => {
            let (uid, gid) = owner.unwrap_or((*uid, *gid));
            entries.insert(
                target.to_string(),
                Entry::Symlink {
                    target: link.clone(),
                    uid,
                    gid,
                },
            );
        }
    }
    Ok(())
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
        let spool = std::env::temp_dir();
        let s = read_sources(
            &Node::open_root(ctx).unwrap(),
            sources,
            &Ignore::default(),
            &spool,
            &mut FileHashes::none(),
        )?;
        Ok((
            entries(&s, dest, (Some(owner), None), lowers, None)?.0,
            s.hash,
        ))
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

    /// A remembered hash: the file is neither read nor even reopened for
    /// the key; the layer's entries open it then, the same inode.
    #[test]
    fn a_remembered_file_is_opened_only_for_the_layer() {
        let ctx = tempfile::tempdir().unwrap();
        let state = crate::state::StateDir::new(ctx.path().join("estado"));
        fs::write(ctx.path().join("a.txt"), "um\n").unwrap();
        let root_meta = fs::metadata(ctx.path()).unwrap();
        let read = |hashes: &mut FileHashes| {
            let root = Node::open_root(ctx.path()).unwrap();
            read_sources(
                &root,
                &["a.txt".into()],
                &Ignore::default(),
                &std::env::temp_dir(),
                hashes,
            )
            .unwrap()
        };
        let mut hashes = FileHashes::open(&state, &root_meta, true).trusting_recent_files();
        let first = read(&mut hashes);
        let opened = |s: &Sources| match &s.items[0].1 {
            Tree::File { kept, .. } => kept.open.get().is_some(),
            other => panic!("{other:?}"),
        };
        assert!(opened(&first));
        hashes.save(&state).unwrap();
        let mut hashes = FileHashes::open(&state, &root_meta, true);
        let again = read(&mut hashes);
        assert_eq!(again.hash, first.hash);
        assert!(!opened(&again));
        let (entries, _) = entries(&again, "/app/", (None, None), &[], None).unwrap();
        assert!(opened(&again));
        assert!(matches!(
            entries.get("app/a.txt"),
            Some(Entry::File {
                source: Content::Open { hash, .. },
                size: 3,
                ..
            }) if hash.starts_with("3:")
        ));
    }

    /// Past the open-file budget, files are copied once into the spool
    /// (while hashed); the layer reads them from there, same bytes.
    #[test]
    fn past_the_open_file_budget_files_go_through_the_spool() {
        let ctx = tempfile::tempdir().unwrap();
        let spool = tempfile::tempdir().unwrap();
        for i in 0..5 {
            fs::write(ctx.path().join(format!("f{i}")), format!("conteudo {i}\n")).unwrap();
        }
        let read = |budget: usize| {
            let root = Node::open_root(ctx.path()).unwrap();
            let mut keeper = Keeper::new(budget, spool.path());
            read_sources_kept(
                &root,
                &[".".into()],
                &Ignore::default(),
                &Fence::CONTEXT,
                &mut keeper,
            )
            .unwrap()
        };
        let (open, spooled) = (read(100), read(2));
        // The same key whichever way the bytes wait.
        assert_eq!(open.hash, spooled.hash);
        // Nothing left by name in the spool directory.
        assert_eq!(fs::read_dir(spool.path()).unwrap().count(), 0);
        let (entries, _) = entries(&spooled, "/app/", (None, None), &[], None).unwrap();
        let offsets: Vec<u64> = entries
            .values()
            .filter_map(|e| match e {
                Entry::File {
                    source: Content::Open { offset, .. },
                    ..
                } => Some(*offset),
                _ => None,
            })
            .collect();
        assert_eq!(offsets, [0, 0, 0, 11, 22]);
        let tar = crate::image::layer_tar::tests_write_tar(&entries);
        for i in 0..5 {
            let line = format!("conteudo {i}\n");
            assert!(tar.windows(line.len()).any(|w| w == line.as_bytes()), "{i}");
        }
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
