//! `COPY --from`: the filesystem of an earlier stage (or of an image), as
//! one directory COPY can read.
//!
//! A stage's result is a stack of layers, each unpacked in its own
//! directory with overlayfs's marks (a whiteout is a `0/0` character
//! device, an opaque directory has `trusted.overlay.opaque = y`). Here they
//! are merged bottom-to-top into a temporary directory, the way overlayfs
//! would show them, without mounting anything: files are hard links to the
//! unpacked layers (or copies when a hard link is not possible), symlinks
//! are re-created as symlinks and never followed, directories are real
//! directories made by us — so nothing written here can land outside it.
//! COPY then reads that directory with the same `openat2(RESOLVE_BENEATH)`
//! fence as the build context. The directory is removed on drop.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::image::extract::remove_tree;

/// The merged filesystem of a stage; removed on drop.
#[derive(Debug)]
pub struct StageRoot(PathBuf);

impl StageRoot {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for StageRoot {
    fn drop(&mut self) {
        remove_tree(&self.0);
    }
}

/// Merges `lowers` (unpacked layer directories, top-most first) into the
/// new directory `dest`.
pub fn merge(lowers: &[PathBuf], dest: &Path) -> io::Result<StageRoot> {
    remove_tree(dest);
    fs::DirBuilder::new().create(dest)?;
    fs::set_permissions(dest, fs::Permissions::from_mode(0o755))?;
    let root = StageRoot(dest.to_path_buf());
    for lower in lowers.iter().rev() {
        merge_dir(lower, dest)?;
    }
    Ok(root)
}

/// Lays the children of the layer directory `src` over `dest` (a real
/// directory we created).
fn merge_dir(src: &Path, dest: &Path) -> io::Result<()> {
    let mut names: Vec<_> = fs::read_dir(src)?
        .flatten()
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for name in names {
        let from = src.join(&name);
        let to = dest.join(&name);
        let meta = fs::symlink_metadata(&from)?;
        let ft = meta.file_type();
        let existing = fs::symlink_metadata(&to).ok();
        if ft.is_char_device() && meta.rdev() == 0 {
            // A whiteout: the name is deleted from the layers below.
            if existing.is_some() {
                remove_any(&to)?;
            }
            continue;
        }
        if ft.is_dir() {
            let opaque = xattr_is_y(&from);
            match existing {
                Some(m) if m.is_dir() && !opaque => {}
                Some(_) => {
                    // Replaced by this layer's directory (or hidden by opaque).
                    remove_any(&to)?;
                    fs::DirBuilder::new().create(&to)?;
                }
                None => fs::DirBuilder::new().create(&to)?,
            }
            std::os::unix::fs::lchown(&to, Some(meta.uid()), Some(meta.gid()))?;
            fs::set_permissions(&to, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
            merge_dir(&from, &to)?;
            continue;
        }
        if existing.is_some() {
            remove_any(&to)?;
        }
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
            std::os::unix::fs::lchown(&to, Some(meta.uid()), Some(meta.gid()))?;
        } else if ft.is_file() {
            // A hard link shares the file's inode (mode, owner, contents):
            // nothing is copied. Across filesystems, a copy.
            if fs::hard_link(&from, &to).is_err() {
                fs::copy(&from, &to)?;
                std::os::unix::fs::lchown(&to, Some(meta.uid()), Some(meta.gid()))?;
                fs::set_permissions(&to, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
            }
        }
        // Devices, fifos and sockets are not copied by COPY anyway.
    }
    Ok(())
}

fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            remove_tree(path);
            Ok(())
        }
        Ok(_) => fs::remove_file(path),
        Err(_) => Ok(()),
    }
}

/// The opaque mark of the directory at `path` (never following a link).
fn xattr_is_y(path: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(path)
        .is_ok_and(|dir| crate::image::overlay::is_opaque(std::os::fd::AsFd::as_fd(&dir)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_merge_like_overlayfs() {
        let tmp = std::env::temp_dir().join(format!("casulo-stage-root-{}", std::process::id()));
        remove_tree(&tmp);
        let low = tmp.join("low");
        let up = tmp.join("up");
        fs::create_dir_all(low.join("app/sub")).unwrap();
        fs::write(low.join("app/a"), "velho").unwrap();
        fs::write(low.join("app/sub/x"), "x").unwrap();
        fs::write(low.join("apagado"), "!").unwrap();
        std::os::unix::fs::symlink("/etc/shadow", low.join("link")).unwrap();
        fs::create_dir_all(up.join("app")).unwrap();
        fs::write(up.join("app/a"), "novo").unwrap();
        nix::sys::stat::mknod(
            &up.join("apagado"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
            0,
        )
        .unwrap();
        let root = merge(&[up.clone(), low.clone()], &tmp.join("merged")).unwrap();
        let m = root.path();
        assert_eq!(fs::read_to_string(m.join("app/a")).unwrap(), "novo");
        assert_eq!(fs::read_to_string(m.join("app/sub/x")).unwrap(), "x");
        assert!(fs::symlink_metadata(m.join("apagado")).is_err());
        // The symlink is a symlink, not what it points to.
        assert_eq!(
            fs::read_link(m.join("link")).unwrap(),
            Path::new("/etc/shadow")
        );
        let merged = m.to_path_buf();
        drop(root);
        assert!(!merged.exists());
        remove_tree(&tmp);
    }
}
