//! The build cache: a step that was already built with the same inputs is
//! not built again.
//!
//! **The key** of a step is a sha256 over:
//!
//! - the state before it: the previous step's key and the layer it made
//!   (so a step re-run with a different result changes every key after
//!   it; the first key starts from the FROM image's id);
//! - the instruction after variable substitution (`COPY app /srv`), plus
//!   the value of an ARG;
//! - for COPY/ADD, the hash of the source files as they will be copied
//!   (paths, types, modes, owners, contents: see [`super::step_copy`]);
//!   a context file's content hash is remembered between builds while
//!   `stat` says it has not changed ([`super::file_hashes`]).
//!
//! A RUN command is *not* looked at: `RUN apt-get update` gives the same
//! key tomorrow, as in docker (`--no-cache` forces a fresh run).
//!
//! **The entry** is `<root>/build-cache/<key hex>.json`: the layer the step
//! made (descriptor, diff_id, size) or nothing for a step that only changes
//! the config. It is written with temp file + rename, so two builds at once
//! see an entry whole or not at all; two builds making the same entry both
//! write the same thing (or the last one wins: equally valid). An entry
//! whose layer blob is gone (`image prune`) is a miss.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::image::digest;
use crate::image::{Layer, Store};
use crate::state::StateDir;

/// What a step produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheEntry {
    /// The instruction, for people reading the directory.
    pub instruction: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<CachedLayer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedLayer {
    pub digest: String,
    pub diff_id: String,
    pub media_type: String,
    pub size: u64,
    /// Uncompressed tar size and entries (for the trace).
    pub bytes: u64,
    pub files: u64,
}

impl CachedLayer {
    pub fn layer(&self) -> Layer {
        Layer {
            digest: self.digest.clone(),
            diff_id: self.diff_id.clone(),
            media_type: self.media_type.clone(),
            size: self.size,
        }
    }
}

/// The key of a step (see the module docs).
pub fn key(parent_key: &str, parent_diff_id: &str, instruction: &str, extra: &str) -> String {
    let text = format!("{parent_key}\n{parent_diff_id}\n{instruction}\n{extra}");
    digest::sha256(text.as_bytes())
}

/// The cache entries' directory.
pub fn dir(state: &StateDir) -> PathBuf {
    state.build_cache()
}

fn path(state: &StateDir, key: &str) -> Option<PathBuf> {
    let hex = digest::hex_of(key).ok()?;
    Some(dir(state).join(format!("{hex}.json")))
}

/// The entry of `key`, if there is one whose layer is still in the store.
pub fn get(state: &StateDir, store: &Store, key: &str) -> Option<CacheEntry> {
    let bytes = fs::read(path(state, key)?).ok()?;
    let entry: CacheEntry = serde_json::from_slice(&bytes).ok()?;
    match &entry.layer {
        Some(l) if !store.has_blob(&l.digest) => None,
        _ => Some(entry),
    }
}

/// Saves the entry of `key` (atomically).
pub fn put(state: &StateDir, key: &str, entry: &CacheEntry) -> std::io::Result<()> {
    let dst = path(state, key).ok_or_else(|| std::io::Error::other("chave de cache inválida"))?;
    let bytes = serde_json::to_vec_pretty(entry).expect("entry serializes");
    replace(state, &dst, &key[7..19.min(key.len())], &bytes, true)
}

/// Puts `bytes` at `dst` (a file of the build cache) in one step: written
/// to the state's `tmp/` (0600 in the same open that creates it: no
/// world-readable moment), `durable`: fsynced, then renamed over `dst`;
/// nothing left behind on an error. `tag` tells the temp files apart.
pub(super) fn replace(
    state: &StateDir,
    dst: &Path,
    tag: &str,
    bytes: &[u8],
    durable: bool,
) -> std::io::Result<()> {
    crate::state::create_private_dir_all(&dir(state))?;
    crate::state::create_private_dir_all(&state.tmp())?;
    let tmp = state
        .tmp()
        .join(format!("cache-{}-{tag}", std::process::id()));
    let result = (|| {
        let mut f = crate::state::private_file_options()
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        fs::rename(&tmp, dst)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_chain_and_entries_round_trip() {
        let a = key("sha256:00", "", "RUN x", "");
        assert_ne!(a, key("sha256:00", "", "RUN y", ""));
        assert_ne!(a, key("sha256:00", "sha256:11", "RUN x", ""));
        assert_ne!(a, key("sha256:00", "", "RUN x", "h"));
        assert_eq!(a, key("sha256:00", "", "RUN x", ""));

        let root = tempfile::tempdir().unwrap();
        let state = StateDir::new(root.path());
        let store = Store::open(&state).unwrap();
        assert!(get(&state, &store, &a).is_none());
        let meta = CacheEntry {
            instruction: "ENV A=1".into(),
            layer: None,
        };
        put(&state, &a, &meta).unwrap();
        assert_eq!(get(&state, &store, &a), Some(meta));
        // A layer whose blob is gone is a miss.
        let gone = CacheEntry {
            instruction: "RUN x".into(),
            layer: Some(CachedLayer {
                digest: digest::sha256(b"nada"),
                diff_id: digest::sha256(b"nada"),
                media_type: "x".into(),
                size: 4,
                bytes: 4,
                files: 1,
            }),
        };
        put(&state, &a, &gone).unwrap();
        assert!(get(&state, &store, &a).is_none());
    }
}
