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
//! The upper dir may belong to a container that is still running (`casulo
//! commit`), so it is walked through file descriptors
//! ([`crate::image::beneath`]), never by joining host paths: a directory
//! swapped for a symlink to `/etc` between the listing and the read is
//! refused, not followed, and file contents are read the same way when
//! the tar is written ([`Content::Beneath`]). Symlinks are stored as
//! links; sockets and device nodes other than whiteouts are left out (a
//! layer cannot create devices anyway; the container's `/dev` comes from
//! the runtime). Modes are kept as they are (setuid included), like every
//! layer the store holds: the state dir is `0700`.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;

use nix::errno::Errno;

use crate::image::beneath::{self, Node};
use crate::image::layer_tar::{Content, Entry};

/// The OCI entries for the changes in `upper` (keys relative, no leading `/`).
pub fn entries(upper: &Path) -> io::Result<BTreeMap<String, Entry>> {
    let root = Arc::new(Node::open_root(upper)?);
    if !root.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
    }
    let mut out = BTreeMap::new();
    let mut inodes: HashMap<String, (u64, u64)> = HashMap::new();
    walk(&root, &root, "", &mut out, &mut inodes)?;
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
    root: &Arc<Node>,
    dir: &Node,
    rel: &str,
    out: &mut BTreeMap<String, Entry>,
    inodes: &mut HashMap<String, (u64, u64)>,
) -> io::Result<()> {
    for name in dir.names()? {
        let child_rel = beneath::join(rel, &name);
        let node = match dir.child(&name) {
            Ok(node) => node,
            // Removed by a running container since the listing.
            Err(Errno::ENOENT) => continue,
            Err(e) => {
                let kind = io::Error::from(e).kind();
                return Err(io::Error::new(kind, format!("/{child_rel}: {e}")));
            }
        };
        let meta = node.meta();
        let ft = meta.file_type();
        let (mode, uid, gid) = (meta.mode(), meta.uid() as u64, meta.gid() as u64);
        if node.is_whiteout() {
            let parent = if rel.is_empty() {
                String::new()
            } else {
                format!("{rel}/")
            };
            let name = name.to_string_lossy();
            out.insert(format!("{parent}.wh.{name}"), Entry::Whiteout);
        } else if ft.is_dir() {
            out.insert(child_rel.clone(), Entry::Dir { mode, uid, gid });
            if node.is_opaque() {
                out.insert(format!("{child_rel}/.wh..wh..opq"), Entry::Whiteout);
            }
            walk(root, &node, &child_rel, out, inodes)?;
        } else if ft.is_symlink() {
            let target = node.link_target()?;
            out.insert(
                child_rel,
                Entry::Symlink {
                    target: target.to_string_lossy().into_owned(),
                    uid,
                    gid,
                },
            );
        } else if ft.is_file() {
            if meta.nlink() > 1 {
                inodes.insert(child_rel.clone(), (meta.dev(), meta.ino()));
            }
            out.insert(
                child_rel.clone(),
                Entry::File {
                    source: Content::Beneath {
                        root: root.clone(),
                        rel: child_rel.into(),
                    },
                    size: meta.len(),
                    mode,
                    uid,
                    gid,
                },
            );
        } else if ft.is_fifo() {
            out.insert(child_rel, Entry::Fifo { mode, uid, gid });
        }
        // Sockets and device nodes: left out (see the module docs).
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::layer_tar::tests_try_write_tar;

    #[test]
    fn walks_sorted_with_whiteouts_and_hard_links() {
        let dir = tempfile::tempdir().unwrap();
        let up = dir.path();
        std::fs::create_dir_all(up.join("etc")).unwrap();
        std::fs::write(up.join("etc/b"), "b").unwrap();
        std::fs::hard_link(up.join("etc/b"), up.join("etc/a-link")).unwrap();
        std::os::unix::fs::symlink("/etc/b", up.join("s")).unwrap();
        let wh = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(
            up.join("etc/motd").as_os_str(),
        ))
        .unwrap();
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

    /// The upper dir of a running container is hostile: a directory swapped
    /// for a symlink to the host, or a file swapped for a FIFO, after the
    /// walk and before the tar reads it, fails the layer; nothing of the
    /// host is read and nothing blocks.
    #[test]
    fn swapped_names_are_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let (up, host) = (dir.path().join("upper"), dir.path().join("host"));
        std::fs::create_dir_all(up.join("d")).unwrap();
        std::fs::create_dir_all(&host).unwrap();
        std::fs::write(up.join("d/f"), "meu").unwrap();
        std::fs::write(up.join("g"), "meu").unwrap();
        std::fs::write(host.join("f"), "SEGREDO").unwrap();
        let e = entries(&up).unwrap();
        let only = |k: &str| BTreeMap::from([(k.to_string(), e[k].clone())]);
        std::fs::rename(up.join("d"), dir.path().join("velho")).unwrap();
        std::os::unix::fs::symlink(&host, up.join("d")).unwrap();
        let err = tests_try_write_tar(&only("d/f")).unwrap_err();
        assert_eq!(err.raw_os_error(), None, "{err}");
        assert!(err.to_string().contains("/d/f"), "{err}");
        assert_eq!(err.kind(), io::Error::from(Errno::ELOOP).kind(), "{err}");
        std::fs::remove_file(up.join("g")).unwrap();
        nix::unistd::mkfifo(
            &up.join("g"),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        let err = tests_try_write_tar(&only("g")).unwrap_err();
        assert!(
            err.to_string().contains("não é um arquivo regular"),
            "{err}"
        );
    }

    /// Device nodes other than 0:0 whiteouts and sockets are left out.
    #[test]
    fn devices_and_sockets_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let up = dir.path();
        let _sock = std::os::unix::net::UnixListener::bind(up.join("sock")).unwrap();
        let null = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(
            up.join("null").as_os_str(),
        ))
        .unwrap();
        // SAFETY: a valid path. Needs CAP_MKNOD: without it, only the socket is checked.
        unsafe { libc::mknod(null.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
        std::fs::write(up.join("ok"), "").unwrap();
        let e = entries(up).unwrap();
        assert_eq!(e.keys().collect::<Vec<_>>(), ["ok"]);
    }
}
