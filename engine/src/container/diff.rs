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
use std::io;
use std::path::{Path, PathBuf};

use crate::image::beneath::{self, Node};
use crate::image::layered::Layers;

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

/// Names in directory `rel` of the image (every layer that has it as a
/// directory, honouring whiteouts; no symlink followed).
fn lower_children(layers: &Layers, rel: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for root in layers.roots() {
        let Ok(dir) = root.open(Path::new(rel)) else {
            continue;
        };
        if !dir.is_dir() {
            continue;
        }
        for name in dir.names().unwrap_or_default() {
            let child = beneath::join(rel, &name);
            if layers.lookup(&child).is_some() {
                names.insert(child);
            }
        }
    }
    names
}

/// The changes of `upper` against `lowerdirs` (top-most first), sorted by
/// path; paths are shown from the container's `/`.
///
/// The upper dir belongs to a container that may still be running, and
/// the layers hold the image's symlinks (`/etc -> /srv/x`): both are
/// walked through fds ([`crate::image::beneath`], [`Layers`]), never by
/// joining host paths, so no symlink in them is followed on the host.
pub fn diff(upper: &Path, lowerdirs: &[PathBuf]) -> io::Result<Vec<(Change, String)>> {
    let layers = Layers::open(lowerdirs)?;
    let root = Node::open_root(upper)?;
    let mut out = Vec::new();
    walk(&root, "", &layers, &mut out)?;
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

fn walk(dir: &Node, rel: &str, layers: &Layers, out: &mut Vec<(Change, String)>) -> io::Result<()> {
    let mut present = BTreeSet::new();
    for name in dir.names()? {
        let child_rel = beneath::join(rel, &name);
        let child = match dir.child(&name) {
            Ok(c) => c,
            // Removed by the running container since the listing.
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(e) => return Err(e.into()),
        };
        present.insert(child_rel.clone());
        let shown = format!("/{child_rel}");
        let existed = layers.lookup(&child_rel).is_some();
        if child.is_whiteout() {
            if existed {
                out.push((Change::Deleted, shown));
            }
            continue;
        }
        out.push((
            if existed {
                Change::Changed
            } else {
                Change::Added
            },
            shown,
        ));
        if child.is_dir() {
            walk(&child, &child_rel, layers, out)?;
        }
    }
    if !rel.is_empty() && dir.is_opaque() {
        for hidden in lower_children(layers, rel) {
            if !present.contains(&hidden) {
                out.push((Change::Deleted, format!("/{hidden}")));
            }
        }
    }
    Ok(())
}

/// Bytes of the regular files under `dir` (what the upper layer costs).
fn regular_bytes(dir: &Node) -> u64 {
    let Ok(names) = dir.names() else {
        return 0;
    };
    names
        .iter()
        .filter_map(|name| dir.child(name).ok())
        .map(|child| {
            if child.is_dir() {
                regular_bytes(&child)
            } else if child.is_file() {
                child.meta().len()
            } else {
                0
            }
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
                bytes: Node::open_root(upper).map_or(0, |n| regular_bytes(&n)),
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
    use std::fs;

    /// A lower layer whose `dados` is a symlink to a host directory; the
    /// upper replaced it with an opaque directory. Nothing of the host
    /// directory may show up (the old walk listed it through the symlink).
    #[test]
    fn diff_does_not_follow_lower_symlinks_on_the_host() {
        // trusted.* xattrs need root (the engine's tests run as root).
        let tmp = tempfile::tempdir().unwrap();
        let host = tmp.path().join("host");
        fs::create_dir_all(&host).unwrap();
        fs::write(host.join("MARCADOR"), "x").unwrap();
        fs::write(host.join("novo"), "x").unwrap();
        let lower = tmp.path().join("lower");
        let upper = tmp.path().join("upper");
        fs::create_dir_all(&lower).unwrap();
        std::os::unix::fs::symlink(&host, lower.join("dados")).unwrap();
        fs::create_dir_all(upper.join("dados")).unwrap();
        fs::write(upper.join("dados/novo"), "y").unwrap();
        let c = std::ffi::CString::new(upper.join("dados").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: valid C strings and a one-byte value.
        let rc = unsafe {
            libc::setxattr(
                c.as_ptr(),
                crate::image::overlay::OPAQUE_XATTR.as_ptr(),
                b"y".as_ptr().cast(),
                1,
                0,
            )
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        let text: Vec<String> = diff(&upper, &[lower])
            .unwrap()
            .iter()
            .map(|(c, p)| format!("{} {p}", c.letter()))
            .collect();
        assert_eq!(text, ["C /dados", "A /dados/novo"]);
    }

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
