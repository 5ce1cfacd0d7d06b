//! Looking a path up in an image's unpacked layers, the way overlayfs
//! would show them, without mounting anything.
//!
//! Used where the engine reads an image from the host side: `COPY
//! --chown=nome` reads `/etc/passwd` and `/etc/group`, COPY finds where its
//! destination lands (`/bin -> usr/bin`), `casulo diff` asks whether a
//! path existed in the image.
//!
//! A layer is a directory of the host, and its symlinks mean something
//! *inside the image*: `etc -> /srv/x` names the image's `/srv/x`, never
//! the host's. So no host path is ever built by joining (`layer/etc/passwd`
//! would follow `etc` on the host). Each layer is opened once as an fd and
//! every lookup is an `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` from
//! it ([`super::beneath`]); the image's symlinks are followed by
//! [`Layers::resolve`] by hand, component by component, against the
//! image's root — across layers, which `RESOLVE_IN_ROOT` on one layer
//! could not do (the link may be in one layer and its target in another).

use std::path::Path;

use nix::errno::Errno;

use super::beneath::Node;

/// The unpacked layers of an image, top-most first, each opened once.
#[derive(Debug)]
pub struct Layers {
    roots: Vec<Node>,
}

impl Layers {
    pub fn open(dirs: &[impl AsRef<Path>]) -> std::io::Result<Layers> {
        let roots = dirs
            .iter()
            .map(|d| Node::open_root(d.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Layers { roots })
    }

    pub fn roots(&self) -> &[Node] {
        &self.roots
    }

    /// `rel` as the image shows it, no symlink followed: the first layer
    /// that has it answers (`None` if a whiteout there deleted it). A layer
    /// where a component on the way is a symlink, a file or a whiteout
    /// hides the layers below (as overlayfs stops there).
    pub fn lookup(&self, rel: &str) -> Option<Node> {
        let rel = rel.trim_matches('/');
        if rel.is_empty() {
            return None;
        }
        for root in &self.roots {
            match root.open(Path::new(rel)) {
                Ok(node) if node.is_whiteout() => return None,
                Ok(node) => return Some(node),
                Err(Errno::ENOENT) => continue,
                Err(_) => return None,
            }
        }
        None
    }

    /// Follows the image's symlinks in `rel` as if the image's root were
    /// `/` (an absolute target restarts there, `..` stops at it; at most 40
    /// links, like the kernel). Returns the path relative to that root.
    pub fn resolve(&self, rel: &str) -> String {
        let mut todo: Vec<String> = parts(rel).rev().collect();
        let mut done: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(part) = todo.pop() {
            if part == ".." {
                done.pop();
                continue;
            }
            done.push(part);
            let Some(node) = self.lookup(&done.join("/")) else {
                continue;
            };
            if !node.is_symlink() || hops >= 40 {
                continue;
            }
            let Ok(target) = node.link_target() else {
                continue;
            };
            hops += 1;
            done.pop();
            let target = target.to_string_lossy().into_owned();
            if target.starts_with('/') {
                done.clear();
            }
            todo.extend(parts(&target).rev());
        }
        done.join("/")
    }

    /// The regular file at `path` of the image (its symlinks followed
    /// inside the image), at most `max` bytes; `None` if there is none.
    pub fn read_file(&self, path: &str, max: u64) -> std::io::Result<Option<Vec<u8>>> {
        match self.lookup(&self.resolve(path)) {
            Some(node) if node.is_file() => node
                .read_capped(max, &format!("o {path} da imagem"))
                .map(Some),
            _ => Ok(None),
        }
    }
}

fn parts(path: &str) -> impl DoubleEndedIterator<Item = String> + '_ {
    path.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn image_symlinks_stay_in_the_image() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        // A host directory with a fake passwd, named by the image's /etc.
        let host = t.join("host");
        fs::create_dir_all(&host).unwrap();
        fs::write(host.join("passwd"), "fulano:x:4242:4242::/:/bin/sh\n").unwrap();
        let low = t.join("low");
        let up = t.join("up");
        fs::create_dir_all(low.join("usr/bin")).unwrap();
        fs::create_dir_all(low.join("srv")).unwrap();
        fs::write(low.join("srv/passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
        fs::create_dir_all(&up).unwrap();
        std::os::unix::fs::symlink(&host, up.join("etc")).unwrap();
        std::os::unix::fs::symlink("usr/bin", up.join("bin")).unwrap();
        let layers = Layers::open(&[&up, &low]).unwrap();
        assert_eq!(layers.resolve("bin/x"), "usr/bin/x");
        // /etc -> <host> means the image's <host>: not there.
        assert_eq!(layers.read_file("etc/passwd", 1 << 20).unwrap(), None);
        assert!(layers.lookup("etc/passwd").is_none());
        // A relative link into another layer is followed inside the image.
        fs::remove_file(up.join("etc")).unwrap();
        std::os::unix::fs::symlink("../srv", up.join("etc")).unwrap();
        let layers = Layers::open(&[&up, &low]).unwrap();
        assert_eq!(
            layers.read_file("/etc/passwd", 1 << 20).unwrap().unwrap(),
            b"root:x:0:0::/:/bin/sh\n"
        );
    }
}
