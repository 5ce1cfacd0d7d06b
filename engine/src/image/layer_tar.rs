//! Writing a layer as a reproducible tarball: the one tar writer of the
//! engine — a build step's layer, a commit's, and (through
//! [`super::layer::LayerBuilder`]) the bootstrap image's.
//!
//! The entries are sorted by path (a parent always comes before what is in
//! it), and the bytes depend only on the content:
//!
//! - every mtime is the build's fixed time (`SOURCE_DATE_EPOCH`, default 0:
//!   1970-01-01), so the same files give the same layer digest;
//! - modes, uid and gid are kept (a RUN `chown` must survive); no user or
//!   group *names*, no xattrs, no atime/ctime;
//! - gzip with no file name and no time in its header.
//!
//! The blob goes through [`Store::blob_writer`] (temp file + rename): a
//! failed step leaves no half blob.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use tar::EntryType;

use crate::image::beneath::Node;
use crate::image::digest::HashWriter;
use crate::image::{oci, ImageError, Layer, Store};

/// What one path of the layer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Dir {
        mode: u32,
        uid: u64,
        gid: u64,
    },
    /// Content read from `source` while the tar is written.
    File {
        source: Content,
        size: u64,
        mode: u32,
        uid: u64,
        gid: u64,
    },
    Symlink {
        target: String,
        uid: u64,
        gid: u64,
    },
    /// A hard link to an earlier path of the same layer.
    HardLink {
        target: String,
    },
    Fifo {
        mode: u32,
        uid: u64,
        gid: u64,
    },
    /// An OCI whiteout marker (`.wh.NAME`, `.wh..wh..opq`): an empty file.
    Whiteout,
}

/// Where a file's bytes come from when the layer is written.
#[derive(Debug, Clone)]
pub enum Content {
    /// `rel` below `root`, a tree another process may still be writing (the
    /// upper dir of a running container for `commit`, of a RUN whose
    /// container has ended): reopened through `root`'s fd with
    /// [`Node::open`], so no symlink on the way is ever followed and a name
    /// swapped for a FIFO or a device is refused instead of read.
    Beneath { root: Arc<Node>, rel: PathBuf },
    /// A file COPY opened and hashed for the cache key: read again from
    /// the same open file (never reopened by name) at `offset`, and
    /// checked against that hash, so the layer holds exactly what the key
    /// says. The file is the source itself (offset 0), or the build's
    /// spool, where sources are copied once the open-file budget is spent.
    Open {
        file: Arc<File>,
        offset: u64,
        /// `SIZE:SHA256HEX` of the bytes when they were hashed.
        hash: String,
        /// The file as the user knows it (for messages).
        name: String,
    },
    /// Bytes already in memory (the bootstrap image's files).
    Bytes(Arc<[u8]>),
}

impl PartialEq for Content {
    fn eq(&self, other: &Content) -> bool {
        match (self, other) {
            (Content::Beneath { root: a, rel: x }, Content::Beneath { root: b, rel: y }) => {
                Arc::ptr_eq(a, b) && x == y
            }
            (
                Content::Open {
                    file: a, offset: x, ..
                },
                Content::Open {
                    file: b, offset: y, ..
                },
            ) => Arc::ptr_eq(a, b) && x == y,
            (Content::Bytes(a), Content::Bytes(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Content {}

/// Reads a file from byte 0 with `pread`, whatever its offset is.
struct ReadAt<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// `SIZE:SHA256HEX` of everything `reader` gives.
pub fn content_hash(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(format!("{size}:{}", hex::encode(hasher.finalize())))
}

/// `SIZE:SHA256HEX` of an open file, read from byte 0.
pub fn file_hash(file: &File) -> io::Result<String> {
    content_hash(ReadAt { file, pos: 0 })
}

/// Counts and hashes what passes through.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// A layer written to the store.
#[derive(Debug, Clone)]
pub struct Written {
    pub layer: Layer,
    /// Size of the uncompressed tar.
    pub bytes: u64,
    /// Number of entries.
    pub files: u64,
}

/// Writes `entries` (paths relative to `/`, no leading slash) as a gzip
/// layer blob; returns its descriptor with diff_id.
pub fn write(
    store: &Store,
    entries: &BTreeMap<String, Entry>,
    mtime: u64,
) -> Result<Written, ImageError> {
    let blob = store.blob_writer()?;
    let tmp = blob.temp_path().to_path_buf();
    // No file name and mtime 0 in GzBuilder's header.
    let gzip = flate2::GzBuilder::new().write(blob, flate2::Compression::fast());
    let hashing = HashWriter::new(gzip);
    let hashing = write_tar(hashing, entries, mtime).map_err(|e| ImageError::io(&tmp, e))?;
    let (diff_id, bytes, gzip) = hashing.finish();
    let blob = gzip.finish().map_err(|e| ImageError::io(&tmp, e))?;
    let info = blob.commit()?;
    Ok(Written {
        layer: Layer {
            digest: info.digest,
            diff_id,
            media_type: oci::MEDIA_TYPE_LAYER_TAR_GZIP.into(),
            size: info.size,
        },
        bytes,
        files: entries.len() as u64,
    })
}

/// The uncompressed tar of `entries` to `out`, every mtime `mtime`.
pub fn write_tar<W: Write>(out: W, entries: &BTreeMap<String, Entry>, mtime: u64) -> io::Result<W> {
    let mut builder = tar::Builder::new(out);
    builder.mode(tar::HeaderMode::Deterministic);
    for (path, entry) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        header.set_size(0);
        let owner = |h: &mut tar::Header, mode: u32, uid: u64, gid: u64| {
            h.set_mode(mode & 0o7777);
            h.set_uid(uid);
            h.set_gid(gid);
        };
        match entry {
            Entry::Dir { mode, uid, gid } => {
                owner(&mut header, *mode, *uid, *gid);
                header.set_entry_type(EntryType::Directory);
                builder.append_data(&mut header, format!("{path}/"), io::empty())?;
            }
            Entry::File {
                source,
                size,
                mode,
                uid,
                gid,
            } => {
                owner(&mut header, *mode, *uid, *gid);
                header.set_entry_type(EntryType::Regular);
                header.set_size(*size);
                match source {
                    Content::Beneath { root, rel } => {
                        // No symlink followed on the way nor at the end; only a
                        // regular file is read (a FIFO put there meanwhile would
                        // block the read forever).
                        let file = root
                            .open(rel)
                            .map_err(io::Error::from)
                            .and_then(|node| node.reopen_file())
                            .map_err(|e| {
                                io::Error::new(e.kind(), format!("/{}: {e}", rel.display()))
                            })?;
                        // Exactly `size` bytes: a file that changed meanwhile fails
                        // the tar instead of corrupting it.
                        let mut reader = io::Read::take(file, *size);
                        builder.append_data(&mut header, path, &mut reader)?;
                        if reader.limit() != 0 {
                            return Err(io::Error::other(format!(
                                "/{} encolheu enquanto era lido",
                                rel.display()
                            )));
                        }
                    }
                    Content::Open {
                        file,
                        offset,
                        hash,
                        name,
                    } => {
                        let mut reader = Hashing {
                            inner: io::Read::take(ReadAt { file, pos: *offset }, *size),
                            hasher: Sha256::new(),
                            size: 0,
                        };
                        builder.append_data(&mut header, path, &mut reader)?;
                        let now =
                            format!("{}:{}", reader.size, hex::encode(reader.hasher.finalize()));
                        if now != *hash {
                            return Err(io::Error::other(format!(
                                "o arquivo {name:?} mudou entre o cálculo da chave do cache e \
                                 a escrita da camada: rode o build de novo com o contexto parado"
                            )));
                        }
                    }
                    Content::Bytes(bytes) => {
                        header.set_size(bytes.len() as u64);
                        builder.append_data(&mut header, path, &bytes[..])?;
                    }
                }
            }
            Entry::Symlink { target, uid, gid } => {
                owner(&mut header, 0o777, *uid, *gid);
                header.set_entry_type(EntryType::Symlink);
                builder.append_link(&mut header, path, target)?;
            }
            Entry::HardLink { target } => {
                owner(&mut header, 0o644, 0, 0);
                header.set_entry_type(EntryType::Link);
                builder.append_link(&mut header, path, target)?;
            }
            Entry::Fifo { mode, uid, gid } => {
                owner(&mut header, *mode, *uid, *gid);
                header.set_entry_type(EntryType::Fifo);
                builder.append_data(&mut header, path, io::empty())?;
            }
            Entry::Whiteout => {
                owner(&mut header, 0o644, 0, 0);
                header.set_entry_type(EntryType::Regular);
                builder.append_data(&mut header, path, io::empty())?;
            }
        }
    }
    builder.into_inner()
}

/// The uncompressed tar of `entries` (for other modules' tests).
#[cfg(test)]
pub(crate) fn tests_write_tar(entries: &BTreeMap<String, Entry>) -> Vec<u8> {
    tests_try_write_tar(entries).unwrap()
}

/// [`tests_write_tar`], or why it failed.
#[cfg(test)]
pub(crate) fn tests_try_write_tar(entries: &BTreeMap<String, Entry>) -> io::Result<Vec<u8>> {
    write_tar(Vec::new(), entries, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_entries_same_bytes_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"oi\n").unwrap();
        let root = Arc::new(Node::open_root(dir.path()).unwrap());
        let mut entries = BTreeMap::new();
        entries.insert(
            "b/f".to_string(),
            Entry::File {
                source: Content::Beneath {
                    root,
                    rel: "f".into(),
                },
                size: 3,
                mode: 0o644,
                uid: 0,
                gid: 0,
            },
        );
        entries.insert(
            "b".to_string(),
            Entry::Dir {
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
        );
        entries.insert("a/.wh.x".to_string(), Entry::Whiteout);
        let one = write_tar(Vec::new(), &entries, 0).unwrap();
        let two = write_tar(Vec::new(), &entries, 0).unwrap();
        assert_eq!(one, two);
        let mut archive = tar::Archive::new(&one[..]);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a/.wh.x", "b/", "b/f"]);
    }

    /// A COPY source is written from the file it hashed, and only if its
    /// bytes are still the ones of the cache key.
    #[test]
    fn open_content_must_match_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"antes\n").unwrap();
        let file = Arc::new(File::open(&f).unwrap());
        let hash = file_hash(&file).unwrap();
        let entry = |file: &Arc<File>| {
            BTreeMap::from([(
                "f".to_string(),
                Entry::File {
                    source: Content::Open {
                        file: file.clone(),
                        offset: 0,
                        hash: hash.clone(),
                        name: "f".into(),
                    },
                    size: 6,
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                },
            )])
        };
        // Renamed away and replaced: the open file is still what is read.
        std::fs::rename(&f, dir.path().join("velho")).unwrap();
        std::fs::write(&f, b"outro\n").unwrap();
        let tar = write_tar(Vec::new(), &entry(&file), 0).unwrap();
        assert!(tar.windows(6).any(|w| w == b"antes\n"));
        // Changed in place after the hash: refused, nothing half-right.
        std::fs::write(dir.path().join("velho"), b"depois").unwrap();
        let e = write_tar(Vec::new(), &entry(&file), 0).unwrap_err();
        assert!(
            e.to_string().contains("mudou entre o cálculo da chave"),
            "{e}"
        );
    }
}
