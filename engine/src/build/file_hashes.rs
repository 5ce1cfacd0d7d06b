//! The content hashes of the context's files, remembered between builds by
//! what `stat` says of them — git's index and BuildKit's contenthash cache
//! do the same. A cached build of a COPY of 200 files then opens them
//! (the layer, on a miss, is still written from those fds) but reads none.
//!
//! **The entry** of a regular file is keyed by `(st_dev, st_ino)` and
//! holds its size, `mtime` and `ctime` in nanoseconds and its
//! `SIZE:SHA256HEX`. It answers only while all three are the same.
//!
//! **Why that is safe enough.** Any write to a file, and any `touch -d`,
//! `utimensat` or `chmod`, sets its `ctime` to *now*, and no system call
//! sets `ctime` back: a file whose content changed after we hashed it has
//! a later `ctime` than the one remembered. The exception is git's "racy"
//! case: the clock the kernel stamps with ticks coarsely (a few ms), so a
//! write in the same tick as the one we hashed after keeps the same
//! `ctime`. Hence the rule: a hash is remembered only for files whose
//! `mtime` and `ctime` are at least [`RACY`] older than the moment the
//! build started (before any file was read).
//!
//! **Where it is not safe:** a clock set back by more than that margin; a
//! file system whose `ctime` is not a change time (FAT's is the creation
//! time) or comes from another machine's clock (NFS, some FUSE); an inode
//! freed and reused for another file of the same size with the same times;
//! someone writing the disk under the file system. `--no-cache` reads
//! every file again (and refreshes what is remembered). And on a cache
//! miss nothing wrong reaches a layer: the layer is written from the open
//! file and checked against the hash, so a stale hash fails the build
//! (`mudou entre o cálculo da chave do cache e a escrita da camada`).
//!
//! **The file** is `<root>/build-cache/files-<dev>-<ino>.json`, one per
//! context directory, `0600`, written whole (temp file + rename) only when
//! something new was learned, without `fsync`: losing it costs one read of
//! the files, and a torn or unreadable one is an empty cache.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::state::StateDir;

/// How much older than the build's start a file's `mtime` and `ctime`
/// must be for its hash to be remembered (git's racy-entry rule, with a
/// margin for the kernel's coarse timestamps).
pub const RACY: Duration = Duration::from_secs(1);

/// Past this many entries, only the files of the last build are kept.
const MAX_ENTRIES: usize = 100_000;

/// What `stat` said of a file when its content had `hash`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Known {
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    hash: String,
}

impl Known {
    fn of(meta: &fs::Metadata, hash: String) -> Known {
        Known {
            size: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            hash,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct OnDisk {
    /// `"dev:ino"` → what was known.
    files: HashMap<String, Known>,
}

/// The remembered hashes of one context directory.
#[derive(Debug)]
pub struct FileHashes {
    path: Option<PathBuf>,
    known: OnDisk,
    /// Nanoseconds since the epoch before which a file's times must lie
    /// (the build's start minus [`RACY`]).
    trusted_before: i128,
    /// Whether lookups answer (`--no-cache`: every file is read).
    answer: bool,
    /// Something new to write.
    changed: bool,
    /// Entries looked up or learned by this build.
    seen: Vec<String>,
}

impl FileHashes {
    /// The hashes remembered for the context directory `context` (its
    /// metadata). Call it before reading any file: the racy rule counts
    /// from now. With `answer` false, nothing is trusted, only learned.
    pub fn open(state: &StateDir, context: &fs::Metadata, answer: bool) -> FileHashes {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let path =
            state
                .build_cache()
                .join(format!("files-{}-{}.json", context.dev(), context.ino()));
        let known = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        FileHashes {
            path: Some(path),
            known,
            trusted_before: (now.as_nanos() as i128) - RACY.as_nanos() as i128,
            answer,
            changed: false,
            seen: Vec::new(),
        }
    }

    /// [`FileHashes::open`] for the context at `path` (canonical), unless
    /// it is a copy in the state's `tmp/` (the daemon's extracted
    /// contexts): its inodes go with it, and what was learned of them
    /// would only be a file left in `build-cache/`.
    pub fn for_context(
        state: &StateDir,
        path: &std::path::Path,
        meta: &fs::Metadata,
        answer: bool,
    ) -> FileHashes {
        let tmp = state.tmp();
        let tmp = tmp.canonicalize().unwrap_or(tmp);
        if path.starts_with(&tmp) {
            return FileHashes::none();
        }
        FileHashes::open(state, meta, answer)
    }

    /// Nothing remembered, nothing kept (sources that are not the context:
    /// an earlier stage, here-documents, downloads).
    pub fn none() -> FileHashes {
        FileHashes {
            path: None,
            known: OnDisk::default(),
            trusted_before: 0,
            answer: false,
            changed: false,
            seen: Vec::new(),
        }
    }

    /// For tests: files written just now are trusted too (as if the
    /// build had started a minute later than it did).
    #[cfg(test)]
    pub(crate) fn trusting_recent_files(mut self) -> FileHashes {
        self.trusted_before += 60_000_000_000;
        self
    }

    fn id(meta: &fs::Metadata) -> String {
        format!("{}:{}", meta.dev(), meta.ino())
    }

    /// The `SIZE:SHA256HEX` of the regular file `meta` describes, if it was
    /// hashed before and `stat` still says the same of it.
    pub fn get(&mut self, meta: &fs::Metadata) -> Option<String> {
        if !self.answer || self.path.is_none() {
            return None;
        }
        let id = Self::id(meta);
        let known = self.known.files.get(&id)?;
        if *known != Known::of(meta, known.hash.clone()) {
            return None;
        }
        self.seen.push(id);
        Some(known.hash.clone())
    }

    /// Remembers that the file `meta` describes (as it was before it was
    /// read) has `hash` — unless it changed too recently to tell a later
    /// change by its times (see the module docs).
    pub fn learn(&mut self, meta: &fs::Metadata, hash: &str) {
        if self.path.is_none() {
            return;
        }
        let known = Known::of(meta, hash.to_string());
        let id = Self::id(meta);
        if known.mtime_ns >= self.trusted_before || known.ctime_ns >= self.trusted_before {
            // Racy: not trusted, and what was known of this inode is stale.
            self.changed |= self.known.files.remove(&id).is_some();
            return;
        }
        if self.known.files.get(&id) != Some(&known) {
            self.known.files.insert(id.clone(), known);
            self.changed = true;
        }
        self.seen.push(id);
    }

    /// Writes what was learned (if anything), atomically; a failure only
    /// costs a read of the files next time.
    pub fn save(mut self, state: &StateDir) -> std::io::Result<()> {
        let Some(path) = self.path.take() else {
            return Ok(());
        };
        if !self.changed {
            return Ok(());
        }
        if self.known.files.len() > MAX_ENTRIES {
            let seen: std::collections::HashSet<String> = self.seen.drain(..).collect();
            self.known.files.retain(|id, _| seen.contains(id));
        }
        let bytes = serde_json::to_vec(&self.known).expect("hashes serialize");
        // Not fsynced: a lost file only costs a read of the files.
        let tag = crate::container::new_id();
        super::cache::replace(state, &path, tag.get(..8).unwrap_or("0"), &bytes, false)
    }
}

fn ns(secs: i64, nsec: i64) -> i128 {
    secs as i128 * 1_000_000_000 + nsec as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_answers_while_stat_says_the_same() {
        let root = tempfile::tempdir().unwrap();
        let state = StateDir::new(root.path().join("estado"));
        let ctx = root.path().join("ctx");
        fs::create_dir(&ctx).unwrap();
        let file = ctx.join("a.txt");
        fs::write(&file, "um").unwrap();
        let ctx_meta = fs::metadata(&ctx).unwrap();

        // Just written: its ctime is now, too recent to be trusted.
        let mut hashes = FileHashes::open(&state, &ctx_meta, true);
        hashes.learn(&fs::metadata(&file).unwrap(), "2:aa");
        assert!(!hashes.changed);
        assert_eq!(hashes.get(&fs::metadata(&file).unwrap()), None);

        // A build that starts a while after the write trusts it (the
        // start is moved back instead of waiting: only ctime's age counts).
        let mut hashes = FileHashes::open(&state, &ctx_meta, true).trusting_recent_files();
        let meta = fs::metadata(&file).unwrap();
        hashes.learn(&meta, "2:aa");
        hashes.save(&state).unwrap();
        let saved =
            state
                .build_cache()
                .join(format!("files-{}-{}.json", ctx_meta.dev(), ctx_meta.ino()));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&saved).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let mut again = FileHashes::open(&state, &ctx_meta, true);
        assert_eq!(again.get(&meta).as_deref(), Some("2:aa"));
        // A context copied into the state's tmp/ (the daemon's) is not
        // remembered.
        fs::create_dir_all(state.tmp()).unwrap();
        let copy = state.tmp().join("daemon-build-x");
        fs::create_dir(&copy).unwrap();
        let copy_meta = fs::metadata(&copy).unwrap();
        let mut temporary =
            FileHashes::for_context(&state, &copy.canonicalize().unwrap(), &copy_meta, true)
                .trusting_recent_files();
        temporary.learn(&meta, "2:aa");
        assert!(!temporary.changed && temporary.path.is_none());
        // --no-cache: nothing answers.
        assert_eq!(FileHashes::open(&state, &ctx_meta, false).get(&meta), None);

        // Same size, other bytes, mtime set back to what it was (`touch
        // -d`): only ctime tells, and it moved (past a clock tick).
        std::thread::sleep(Duration::from_millis(50));
        fs::write(&file, "do").unwrap();
        fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(meta.modified().unwrap())
            .unwrap();
        let changed = fs::metadata(&file).unwrap();
        assert_eq!(changed.len(), meta.len());
        assert_eq!(changed.modified().unwrap(), meta.modified().unwrap());
        assert_ne!(
            (changed.ctime(), changed.ctime_nsec()),
            (meta.ctime(), meta.ctime_nsec())
        );
        assert_eq!(again.get(&changed), None);
    }
}
