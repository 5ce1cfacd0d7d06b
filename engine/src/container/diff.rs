//! `casulo diff`: what a container changed in its read/write layer, like
//! `docker diff`.
//!
//! Everything a container writes lands in its overlay *upper* directory
//! (`containers/<id>/upper/`): new files, copies of lower files it modified
//! (the "copy-up"), and overlayfs whiteouts for what it deleted. So the diff
//! is a walk of `upper/`, compared with the image's layers (the lowerdirs,
//! top-most first):
//!
//! - a 0:0 character device is a whiteout: **D** (deleted);
//! - a path that also exists in a lower layer: **C** (changed; directories
//!   show up as changed when something inside them changed);
//! - anything else: **A** (added).
//!
//! An opaque directory (`trusted.overlay.opaque=y`, made when the container
//! removed a directory and created it again) hides everything below it:
//! the lower entries it hid are reported as deleted.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// One line of the diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Change {
    #[serde(rename = "A")]
    Added,
    #[serde(rename = "C")]
    Changed,
    #[serde(rename = "D")]
    Deleted,
}

impl Change {
    pub fn letter(self) -> char {
        match self {
            Change::Added => 'A',
            Change::Changed => 'C',
            Change::Deleted => 'D',
        }
    }
}

fn is_whiteout(meta: &fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn is_opaque(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let name = c"trusted.overlay.opaque";
    let mut value = [0u8; 4];
    // SAFETY: valid C strings and a buffer of value.len() bytes.
    let n = unsafe {
        libc::lgetxattr(
            c_path.as_ptr(),
            name.as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    n == 1 && value[0] == b'y'
}

/// Whether `rel` exists in the image (the lowerdirs, top-most first,
/// honouring their whiteouts).
fn in_lower(lowerdirs: &[PathBuf], rel: &Path) -> bool {
    for lower in lowerdirs {
        if let Ok(meta) = fs::symlink_metadata(lower.join(rel)) {
            return !is_whiteout(&meta);
        }
    }
    false
}

/// Names in directory `rel` of the image.
fn lower_children(lowerdirs: &[PathBuf], rel: &Path) -> BTreeSet<PathBuf> {
    let mut names = BTreeSet::new();
    for lower in lowerdirs {
        if let Ok(entries) = fs::read_dir(lower.join(rel)) {
            for entry in entries.flatten() {
                let child = rel.join(entry.file_name());
                if in_lower(lowerdirs, &child) {
                    names.insert(child);
                }
            }
        }
    }
    names
}

/// The changes of `upper` against `lowerdirs` (top-most first), sorted by
/// path; paths are shown from the container's `/`.
pub fn diff(upper: &Path, lowerdirs: &[PathBuf]) -> io::Result<Vec<(Change, String)>> {
    let mut out = Vec::new();
    walk(upper, Path::new(""), lowerdirs, &mut out)?;
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

fn walk(
    upper: &Path,
    rel: &Path,
    lowerdirs: &[PathBuf],
    out: &mut Vec<(Change, String)>,
) -> io::Result<()> {
    let dir = upper.join(rel);
    let mut present = BTreeSet::new();
    for entry in fs::read_dir(&dir)? {
        let entry = entry?;
        let child = rel.join(entry.file_name());
        present.insert(child.clone());
        let meta = entry.metadata()?;
        let shown = format!("/{}", child.display());
        if is_whiteout(&meta) {
            if in_lower(lowerdirs, &child) {
                out.push((Change::Deleted, shown));
            }
            continue;
        }
        let existed = in_lower(lowerdirs, &child);
        out.push((
            if existed {
                Change::Changed
            } else {
                Change::Added
            },
            shown,
        ));
        if meta.is_dir() {
            walk(upper, &child, lowerdirs, out)?;
        }
    }
    if !rel.as_os_str().is_empty() && is_opaque(&dir) {
        for hidden in lower_children(lowerdirs, rel) {
            if !present.contains(&hidden) {
                out.push((Change::Deleted, format!("/{}", hidden.display())));
            }
        }
    }
    Ok(())
}

/// Bytes of the regular files under `dir` (what the upper layer costs).
fn regular_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => regular_bytes(&e.path()),
            Ok(m) if m.is_file() => m.len(),
            _ => 0,
        })
        .sum()
}

/// Records a `layer.upper` event: the container's read/write layer after
/// its process ended (counts, bytes and the first paths of the diff).
pub fn record_upper(rec: &crate::recorder::Recorder, upper: &Path, lowerdirs: &[PathBuf]) {
    let op = format!("lstat -R {}", upper.display());
    match diff(upper, lowerdirs) {
        Ok(changes) => {
            let count = |c: Change| changes.iter().filter(|(k, _)| *k == c).count() as u64;
            let body = casulo_trace::EventBody::LayerUpper {
                upperdir: upper.display().to_string(),
                added: count(Change::Added),
                changed: count(Change::Changed),
                deleted: count(Change::Deleted),
                bytes: regular_bytes(upper),
                sample: changes
                    .iter()
                    .take(20)
                    .map(|(c, p)| format!("{} {p}", c.letter()))
                    .collect(),
            };
            rec.record(body, op, casulo_trace::Outcome::Ok);
        }
        Err(e) => {
            let errno = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
            let body = casulo_trace::EventBody::LayerUpper {
                upperdir: upper.display().to_string(),
                added: 0,
                changed: 0,
                deleted: 0,
                bytes: 0,
                sample: vec![],
            };
            rec.record(body, op, crate::kernel::outcome_of::<()>(&Err(errno)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_reports_added_changed_deleted() {
        let tmp = tempfile::tempdir().unwrap();
        let lower = tmp.path().join("lower");
        let upper = tmp.path().join("upper");
        fs::create_dir_all(lower.join("etc")).unwrap();
        fs::write(lower.join("etc/motd"), "a").unwrap();
        fs::write(lower.join("etc/hostname"), "a").unwrap();
        fs::create_dir_all(upper.join("etc")).unwrap();
        fs::write(upper.join("etc/hostname"), "b").unwrap();
        fs::create_dir_all(upper.join("novo/sub")).unwrap();
        fs::write(upper.join("novo/sub/x"), "x").unwrap();
        if nix::unistd::geteuid().is_root() {
            nix::sys::stat::mknod(
                &upper.join("etc/motd"),
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::empty(),
                0,
            )
            .unwrap();
        }
        let changes = diff(&upper, &[lower]).unwrap();
        let text: Vec<String> = changes
            .iter()
            .map(|(c, p)| format!("{} {p}", c.letter()))
            .collect();
        let mut expected = vec![
            "C /etc",
            "C /etc/hostname",
            "A /novo",
            "A /novo/sub",
            "A /novo/sub/x",
        ];
        if nix::unistd::geteuid().is_root() {
            expected.insert(2, "D /etc/motd");
        }
        assert_eq!(text, expected);
    }
}
