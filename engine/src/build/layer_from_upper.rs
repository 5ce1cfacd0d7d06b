//! A RUN step's layer: what the command left in the overlay's upper
//! directory, turned into OCI layer entries.
//!
//! overlayfs records changes in its own way; an OCI layer says the same
//! things with files (see `image-spec/layer.md`):
//!
//! | in `upper/` (overlayfs)                         | in the layer (OCI)          |
//! |-------------------------------------------------|-----------------------------|
//! | new or changed file, dir, symlink, fifo          | the same entry              |
//! | character device 0:0 named `x` (a *whiteout*)    | empty file `.wh.x`          |
//! | dir with xattr `trusted.overlay.opaque=y`        | the dir + `dir/.wh..wh..opq`|
//! | two names of one inode (a hard link)             | a file + a link entry       |
//!
//! The walk is sorted by name, so the same upper gives the same entries.
//! It never follows a symlink (`symlink_metadata`, and links are stored as
//! links); sockets and device nodes are left out (a layer cannot create
//! devices anyway; the container's `/dev` comes from the runtime).

use std::collections::{BTreeMap, HashMap};
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use super::layer_tar::Entry;

/// The OCI entries for the changes in `upper` (keys relative, no leading `/`).
pub fn entries(upper: &Path) -> io::Result<BTreeMap<String, Entry>> {
    let mut out = BTreeMap::new();
    let mut inodes: HashMap<String, (u64, u64)> = HashMap::new();
    walk(upper, "", &mut out, &mut inodes)?;
    // Hard links: in tar order (sorted paths, not the walk's order), the
    // first name of an inode carries the content, the others link to it.
    let mut first: HashMap<(u64, u64), String> = HashMap::new();
    for (path, entry) in out.iter_mut() {
        let Some(key) = inodes.get(path) else {
            continue;
        };
        match first.get(key) {
            Some(target) => {
                *entry = Entry::HardLink {
                    target: target.clone(),
                }
            }
            None => {
                first.insert(*key, path.clone());
            }
        }
    }
    Ok(out)
}

fn walk(
    dir: &Path,
    prefix: &str,
    out: &mut BTreeMap<String, Entry>,
    inodes: &mut HashMap<String, (u64, u64)>,
) -> io::Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()?;
    names.sort();
    for name in names {
        let name_str = name.to_string_lossy().into_owned();
        let path = dir.join(&name);
        let rel = format!("{prefix}{name_str}");
        let meta = fs::symlink_metadata(&path)?;
        let ft = meta.file_type();
        let (mode, uid, gid) = (meta.mode(), meta.uid() as u64, meta.gid() as u64);
        if ft.is_char_device() && meta.rdev() == 0 {
            out.insert(format!("{prefix}.wh.{name_str}"), Entry::Whiteout);
        } else if ft.is_dir() {
            out.insert(rel.clone(), Entry::Dir { mode, uid, gid });
            if is_opaque(&path) {
                out.insert(format!("{rel}/.wh..wh..opq"), Entry::Whiteout);
            }
            walk(&path, &format!("{rel}/"), out, inodes)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(&path)?;
            out.insert(
                rel,
                Entry::Symlink {
                    target: target.to_string_lossy().into_owned(),
                    uid,
                    gid,
                },
            );
        } else if ft.is_file() {
            if meta.nlink() > 1 {
                inodes.insert(rel.clone(), (meta.dev(), meta.ino()));
            }
            out.insert(
                rel,
                Entry::File {
                    source: super::layer_tar::Content::Path(path),
                    size: meta.len(),
                    mode,
                    uid,
                    gid,
                },
            );
        } else if ft.is_fifo() {
            out.insert(rel, Entry::Fifo { mode, uid, gid });
        }
        // Sockets and device nodes: left out (see the module docs).
    }
    Ok(())
}

/// Whether overlayfs marked this directory opaque.
fn is_opaque(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mut value = [0u8; 4];
    // SAFETY: valid C strings and a buffer of value.len() bytes.
    let n = unsafe {
        libc::lgetxattr(
            c_path.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            value.as_mut_ptr().cast(),
            value.len(),
        )
    };
    n == 1 && value[0] == b'y'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_with_whiteouts_and_hard_links() {
        let dir = tempfile::tempdir().unwrap();
        let up = dir.path();
        fs::create_dir_all(up.join("etc")).unwrap();
        fs::write(up.join("etc/b"), "b").unwrap();
        fs::hard_link(up.join("etc/b"), up.join("etc/a-link")).unwrap();
        std::os::unix::fs::symlink("/etc/b", up.join("s")).unwrap();
        let wh = CString::new(up.join("etc/motd").as_os_str().as_bytes()).unwrap();
        // mknod of a 0:0 char device needs CAP_MKNOD: skip that part without it.
        // SAFETY: a valid path.
        let made = unsafe { libc::mknod(wh.as_ptr(), libc::S_IFCHR | 0o600, 0) } == 0;
        let e = entries(up).unwrap();
        let keys: Vec<&str> = e.keys().map(String::as_str).collect();
        let mut want = vec!["etc", "etc/a-link", "etc/b", "s"];
        if made {
            want.insert(1, "etc/.wh.motd");
        }
        assert_eq!(keys, want);
        // The first name in sorted order holds the content; the other links to it.
        assert!(matches!(e["etc/a-link"], Entry::File { size: 1, .. }));
        assert_eq!(
            e["etc/b"],
            Entry::HardLink {
                target: "etc/a-link".into()
            }
        );
        assert!(matches!(&e["s"], Entry::Symlink { target, .. } if target == "/etc/b"));
    }
}
