//! Target `camada`: the layer extractor (`image/extract.rs`) on any blob.
//!
//! Input: one flag byte, then the blob (a tar, or a gzip of one: told by
//! its magic). Flag bit 0 unpacks it *above* a lower layer (hard links to
//! the layers below are then resolved by copying, another path through the
//! code). The digests are computed here so the blob is a valid layer of
//! itself and the whole extractor runs, to the end.
//!
//! Every run unpacks into `camada/` of a folder that also holds a canary
//! folder (files, a directory, symlinks pointing out) and the lower layer,
//! planted once per process. The checks, besides "no panic":
//!
//! - nothing outside the layer directory appears, disappears or changes
//!   (name, type, mode, owner, size, mtime, inode, link count, link target)
//!   — a hard link made to an outside file would bump its link count;
//! - under the fence ([`crate::sandbox`]), no new name at `/` (a write
//!   through an absolute path);
//! - a refused layer leaves no directory behind;
//! - an accepted layer holds no more file bytes than the limit (holes of
//!   sparse files count: a bomb must not get around it);
//! - an accepted layer hands out nothing that is not a regular file,
//!   directory, symlink, FIFO or whiteout device 0:0.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use casulo::image::extract::{remove_tree, unpack, unpack_over, Limits};
use casulo::image::oci::{MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_LAYER_TAR_GZIP};
use casulo::image::Layer;
use sha2::{Digest, Sha256};

use crate::sandbox;

/// Small limits: a real layer is far bigger, but these make a bomb show
/// in milliseconds.
pub const LIMITS: Limits = Limits {
    max_bytes: 4 << 20,
    max_entries: 20_000,
};

/// The folder the runs of this process share: the canaries and the lower
/// layer are planted once (they must never change anyway), and their
/// snapshot is taken once.
struct Place {
    _dir: tempfile::TempDir,
    root: PathBuf,
    lower: PathBuf,
    blob: PathBuf,
    dest: PathBuf,
    clean: BTreeMap<PathBuf, State>,
    top: Vec<std::ffi::OsString>,
}

/// The shared folder, made on first use (and again after [`cleanup`]).
static PLACE: Mutex<Option<Place>> = Mutex::new(None);

fn new_place() -> Place {
    let dir = tempfile::Builder::new()
        .prefix("camada-")
        .tempdir_in(sandbox::scratch())
        .expect("diretório temporário");
    let root = dir.path().to_path_buf();
    let lower = root.join("inferior");
    plant_canaries(&root, &lower);
    let blob = root.join("blob");
    fs::write(&blob, b"").unwrap();
    let dest = root.join("camada");
    let clean = snapshot(&root, &dest, &blob);
    Place {
        _dir: dir,
        root,
        lower,
        blob,
        dest,
        clean,
        top: sandbox::top_names(),
    }
}

pub fn fuzz(data: &[u8]) {
    sandbox::enter();
    let Some((&flags, blob)) = data.split_first() else {
        return;
    };
    let mut guard = PLACE.lock().unwrap_or_else(|e| e.into_inner());
    let place = guard.get_or_insert_with(new_place);
    let Place {
        root,
        lower,
        blob: blob_path,
        dest,
        ..
    } = &*place;
    if dest.exists() {
        // Left by a run that panicked (the replay test goes on after one).
        remove_tree(dest);
    }
    fs::write(blob_path, blob).expect("grava o blob");

    let gzip = blob.starts_with(&[0x1f, 0x8b]);
    let digest = sha256(blob);
    let layer = Layer {
        digest: digest.clone(),
        diff_id: if gzip { gunzip_digest(blob) } else { digest },
        media_type: if gzip {
            MEDIA_TYPE_LAYER_TAR_GZIP
        } else {
            MEDIA_TYPE_LAYER_TAR
        }
        .to_string(),
        size: blob.len() as u64,
    };

    let result = if flags & 1 == 1 {
        unpack_over(
            blob_path,
            &layer,
            dest,
            std::slice::from_ref(lower),
            LIMITS,
            &mut |_| {},
        )
    } else {
        unpack(blob_path, &layer, dest, LIMITS)
    };
    let after = snapshot(root, dest, blob_path);
    if place.clean != after {
        panic!(
            "a camada mexeu fora do seu diretório ({:?}):\n{}",
            result.as_ref().map(|_| "aceita").map_err(|e| e.to_string()),
            diff(&place.clean, &after)
        );
    }
    assert_eq!(
        sandbox::top_names(),
        place.top,
        "a camada escreveu na raiz (um caminho absoluto escapou)"
    );
    match result {
        Ok(stats) => {
            check_layer(dest, stats.bytes);
            remove_tree(dest);
            assert!(!dest.exists(), "remove_tree deixou {}", dest.display());
        }
        Err(e) => assert!(
            !dest.exists(),
            "camada recusada ({e}) deixou {} para trás",
            dest.display()
        ),
    }
}

/// Removes the shared folder (the replay test calls it at the end; the
/// fuzzer's lives in a tmpfs that goes away with it).
pub fn cleanup() {
    let place = PLACE.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(place) = place {
        remove_tree(&place.root);
    }
}

/// What the layer must not touch: a canary folder next to it, and the
/// lower layer (files, a directory, a whiteout, symlinks pointing out).
fn plant_canaries(root: &Path, lower: &Path) {
    let canary = root.join("canario");
    fs::create_dir_all(canary.join("dir")).unwrap();
    fs::write(canary.join("arquivo"), "não me toque\n").unwrap();
    fs::write(canary.join("dir/segredo"), "segredo\n").unwrap();
    std::os::unix::fs::symlink("/", canary.join("raiz")).unwrap();
    fs::create_dir_all(lower.join("bin")).unwrap();
    fs::create_dir_all(lower.join("etc")).unwrap();
    fs::write(lower.join("bin/a"), "conteúdo de a\n").unwrap();
    fs::write(lower.join("etc/motd"), "olá\n").unwrap();
    fs::set_permissions(lower.join("bin/a"), fs::Permissions::from_mode(0o4755)).unwrap();
    std::os::unix::fs::symlink("../canario", lower.join("fora")).unwrap();
    std::os::unix::fs::symlink("/etc", lower.join("etc-host")).unwrap();
    std::os::unix::fs::symlink("a", lower.join("bin/b")).unwrap();
}

/// One path's state, as far as a write through it would change it.
#[derive(Debug, PartialEq, Eq)]
struct State {
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    mtime: (i64, i64),
    ino: u64,
    nlink: u64,
    target: Option<PathBuf>,
}

/// Every path below `root` except `skip` and what is below it, and the
/// blob (rewritten by each run).
fn snapshot(root: &Path, skip: &Path, blob: &Path) -> BTreeMap<PathBuf, State> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path == skip || path == blob {
                continue;
            }
            let Ok(m) = fs::symlink_metadata(&path) else {
                continue;
            };
            if m.is_dir() {
                stack.push(path.clone());
            }
            let state = State {
                mode: m.mode(),
                uid: m.uid(),
                gid: m.gid(),
                size: if m.is_dir() { 0 } else { m.size() },
                // A directory's mtime changes when the layer dir is made.
                mtime: if m.is_dir() {
                    (0, 0)
                } else {
                    (m.mtime(), m.mtime_nsec())
                },
                ino: m.ino(),
                nlink: if m.is_dir() { 0 } else { m.nlink() },
                target: fs::read_link(&path).ok(),
            };
            out.insert(path, state);
        }
    }
    out
}

fn diff(before: &BTreeMap<PathBuf, State>, after: &BTreeMap<PathBuf, State>) -> String {
    let mut lines = Vec::new();
    for (p, s) in before {
        match after.get(p) {
            None => lines.push(format!("  sumiu: {}", p.display())),
            Some(a) if a != s => lines.push(format!("  mudou: {} ({s:?} → {a:?})", p.display())),
            _ => {}
        }
    }
    for p in after.keys().filter(|p| !before.contains_key(*p)) {
        lines.push(format!("  apareceu: {}", p.display()));
    }
    lines.join("\n")
}

/// What an accepted layer directory may hold.
fn check_layer(dest: &Path, stats_bytes: u64) {
    assert!(
        stats_bytes <= LIMITS.max_bytes,
        "a camada escreveu {stats_bytes} bytes (limite {})",
        LIMITS.max_bytes
    );
    let mut seen = BTreeSet::new();
    let mut total = 0u64;
    let mut stack = vec![dest.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let m = fs::symlink_metadata(&path).unwrap();
            let t = m.file_type();
            if t.is_dir() {
                stack.push(path);
            } else if t.is_file() {
                if seen.insert(m.ino()) {
                    total += m.size().max(m.blocks() * 512);
                }
            } else if t.is_char_device() {
                assert_eq!(m.rdev(), 0, "dispositivo {} criado", path.display());
            } else {
                assert!(
                    t.is_symlink() || t.is_fifo(),
                    "tipo inesperado em {}: {t:?}",
                    path.display()
                );
            }
        }
    }
    assert!(
        total <= LIMITS.max_bytes,
        "a camada ocupa {total} bytes de arquivos (limite {}): o limite de bytes foi contornado",
        LIMITS.max_bytes
    );
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The diff_id of a gzip blob (of what inflates within the limit; a blob
/// that does not inflate gets the digest of nothing, and is refused).
fn gunzip_digest(blob: &[u8]) -> String {
    let mut hasher = Sha256::new();
    let mut reader = flate2::read::MultiGzDecoder::new(blob).take(LIMITS.max_bytes + 1);
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => hasher.update(&buf[..n]),
        }
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}
