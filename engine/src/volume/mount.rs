//! The container's volumes, binds and tmpfs, mounted by its init inside
//! its own mount namespace: after the overlay, `/proc`, `/sys` and `/dev`
//! ([`crate::mounts::prepare_rootfs`]), before `pivot_root`.
//!
//! For each mount:
//!
//! 1. its target is opened inside the rootfs ([`super::inroot`]), missing
//!    directories created there (a file for a file bind);
//! 2. a new volume is **seeded**: what the image has at the target is
//!    copied into it (through the same fd: never a host path);
//! 3. `mount(origem, "/proc/self/fd/N", …)`: a bind (`MS_BIND|MS_REC`, the
//!    host dir with whatever is mounted below it) or a tmpfs;
//! 4. `:ro`: every mount of the new tree is remounted
//!    `MS_BIND|MS_REMOUNT|MS_RDONLY` — a remount changes one mount only, so
//!    a bind of `/srv` with `/srv/x` mounted below would otherwise leave
//!    `/srv/x` writable (docker ≥ 25 does the same, "recursive read-only").
//!
//! Then, with `--read-only`, the overlay itself is remounted read-only:
//! the container can only write in its volumes, tmpfs and `/dev/shm`.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use serde::{Deserialize, Serialize};

use super::inroot::{open_in_root, Last};
use super::{MountKind, MountSpec};
use crate::kernel::Kernel;

/// One mount as the init makes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountPlan {
    pub spec: MountSpec,
    /// The host path mounted (bind: as given; volume: its `_data`).
    pub host: PathBuf,
    /// A volume created by this run: copy the image's files into it first.
    pub seed: bool,
}

/// Steps 1–4 for every mount, then `--read-only`. `root` is the merged dir.
pub fn mount_all(
    k: &Kernel,
    root: &Path,
    mounts: &[MountPlan],
    read_only: bool,
) -> Result<(), String> {
    for m in mounts {
        mount_one(k, root, m)?;
    }
    if read_only {
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        k.mount("", root, "", flags, "")
            .map_err(|e| format!("não consegui deixar a raiz do contêiner somente leitura: {e}"))?;
    }
    Ok(())
}

fn mount_one(k: &Kernel, root: &Path, m: &MountPlan) -> Result<(), String> {
    let target = &m.spec.target;
    let is_file = m.spec.kind == MountKind::Bind
        && std::fs::metadata(&m.host).is_ok_and(|meta| !meta.is_dir());
    let last = if is_file { Last::File } else { Last::Dir };
    let fd = open_in_root(root, target, last).map_err(|e| {
        format!("não consegui preparar o ponto de montagem {target:?} no contêiner: {e}")
    })?;
    if m.seed && !is_file {
        seed(&fd, &m.host).map_err(|e| {
            format!("não consegui copiar o conteúdo da imagem em {target:?} para o volume: {e}")
        })?;
    }
    let at = proc_fd(&fd);
    let err = |e: crate::kernel::KernelError| format!("não consegui montar {target:?}: {e}");
    match m.spec.kind {
        MountKind::Tmpfs => {
            let (flags, data) = tmpfs_flags(&m.spec.options, m.spec.readonly);
            k.mount("tmpfs", &at, "tmpfs", flags, &data).map_err(err)?;
        }
        MountKind::Bind | MountKind::Volume => {
            let source = m.host.display().to_string();
            k.mount(&source, &at, "", MsFlags::MS_BIND | MsFlags::MS_REC, "")
                .map_err(err)?;
            if m.spec.readonly {
                readonly_tree(k, root, target)
                    .map_err(|e| format!("não consegui deixar {target:?} somente leitura: {e}"))?;
            }
        }
    }
    Ok(())
}

fn proc_fd(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Step 4: the bind just made at `target`, and every mount below it,
/// remounted read-only (keeping each one's nosuid/nodev/noexec).
fn readonly_tree(k: &Kernel, root: &Path, target: &str) -> Result<(), String> {
    // Looked up again: the fd of step 1 is the directory *under* the new
    // mount; a new lookup lands on the mount's root.
    let fd = open_in_root(root, target, Last::Existing).map_err(|e| e.to_string())?;
    let at = proc_fd(&fd);
    let real = std::fs::read_link(&at).map_err(|e| e.to_string())?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| e.to_string())?;
    let base = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    for (point, keep) in mounts_under(&mountinfo, &real) {
        let path = if point == real { at.clone() } else { point };
        k.mount("", &path, "", base | keep, "")
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Mount points at or below `top` in a mountinfo text, with the per-mount
/// flags a remount must keep.
fn mounts_under(mountinfo: &str, top: &Path) -> Vec<(PathBuf, MsFlags)> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let (Some(point), Some(opts)) = (fields.get(4), fields.get(5)) else {
            continue;
        };
        let point = PathBuf::from(unescape(point));
        if !point.starts_with(top) {
            continue;
        }
        let mut keep = MsFlags::empty();
        for opt in opts.split(',') {
            keep |= match opt {
                "nosuid" => MsFlags::MS_NOSUID,
                "nodev" => MsFlags::MS_NODEV,
                "noexec" => MsFlags::MS_NOEXEC,
                _ => MsFlags::empty(),
            };
        }
        if !out.iter().any(|(p, _)| *p == point) {
            out.push((point, keep));
        }
    }
    out
}

/// mountinfo writes space, tab, newline and `\` as `\040`-style octal.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let n = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("0"), 8)
                .unwrap_or(0);
            out.push(n);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// docker's tmpfs defaults: `nosuid,nodev,noexec`, mode 1777 unless asked;
/// `exec`, `suid`, `dev` in the options lift each one.
pub fn tmpfs_flags(options: &str, readonly: bool) -> (MsFlags, String) {
    let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let mut data = Vec::new();
    for opt in options.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "exec" => flags.remove(MsFlags::MS_NOEXEC),
            "suid" => flags.remove(MsFlags::MS_NOSUID),
            "dev" => flags.remove(MsFlags::MS_NODEV),
            "noexec" | "nosuid" | "nodev" => {}
            other => data.push(other.to_string()),
        }
    }
    if !data.iter().any(|d| d.starts_with("mode=")) {
        data.push("mode=1777".into());
    }
    if readonly {
        flags |= MsFlags::MS_RDONLY;
    }
    (flags, data.join(","))
}

/// Step 2: copies the image's tree at `from` (an fd inside the rootfs)
/// into the new, empty volume directory `to`, with modes and owners.
/// Symlinks are copied as symlinks (never followed); devices, sockets and
/// fifos are skipped.
///
/// Both sides through fds: another container may already mount this
/// volume (it was created a moment ago under the same name) and swap a
/// directory we just made for a link to the host; `mkdirat`/`openat` with
/// `O_NOFOLLOW` and `fchown`/`fchmod` on the fd never follow it.
fn seed(from: &OwnedFd, to: &Path) -> std::io::Result<()> {
    use crate::image::beneath::Node;
    let node = Node::open_root(&proc_fd(from))?;
    let dst = nix::fcntl::open(
        to,
        OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    copy_children(&node, &dst)?;
    copy_meta(&node, &dst)
}

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

fn copy_children(dir: &crate::image::beneath::Node, dst: &OwnedFd) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    for name in dir.names()? {
        let child = dir.child(&name)?;
        let name = name.as_os_str();
        if child.is_dir() {
            nix::sys::stat::mkdirat(dst, name, Mode::from_bits_truncate(0o700))?;
            let sub = nix::fcntl::openat(
                dst,
                name,
                OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            copy_children(&child, &sub)?;
            copy_meta(&child, &sub)?;
        } else if child.is_file() {
            let mut src = child.reopen_file()?;
            let out = nix::fcntl::openat(
                dst,
                name,
                OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_WRONLY
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )?;
            let mut file = std::fs::File::from(out);
            std::io::copy(&mut src, &mut file)?;
            let out = OwnedFd::from(file);
            copy_meta(&child, &out)?;
        } else if child.is_symlink() {
            nix::unistd::symlinkat(child.link_target()?.as_path(), dst, name)?;
            let m = child.meta();
            nix::unistd::fchownat(
                dst,
                name,
                Some(m.uid().into()),
                Some(m.gid().into()),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )?;
        }
    }
    Ok(())
}

/// Owner first, then mode (a chown clears setuid bits).
fn copy_meta(node: &crate::image::beneath::Node, fd: &OwnedFd) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let m = node.meta();
    nix::unistd::fchown(fd, Some(m.uid().into()), Some(m.gid().into()))?;
    nix::sys::stat::fchmod(fd, Mode::from_bits_truncate(m.mode() & 0o7777))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_reaches_every_mount_below_the_bind() {
        let info = "\
36 25 0:30 / /m/dados rw,nosuid,relatime shared:1 - ext4 /dev/vda rw
37 36 0:31 / /m/dados/sub rw,nodev,noexec - tmpfs tmpfs rw
38 25 0:32 / /m/dadosx rw - tmpfs tmpfs rw
39 36 0:33 / /m/dados/com\\040espaco rw - tmpfs tmpfs rw
";
        let got = mounts_under(info, Path::new("/m/dados"));
        assert_eq!(
            got,
            vec![
                (PathBuf::from("/m/dados"), MsFlags::MS_NOSUID),
                (
                    PathBuf::from("/m/dados/sub"),
                    MsFlags::MS_NODEV | MsFlags::MS_NOEXEC
                ),
                (PathBuf::from("/m/dados/com espaco"), MsFlags::empty()),
            ]
        );
    }

    #[test]
    fn tmpfs_gets_dockers_defaults() {
        let (flags, data) = tmpfs_flags("size=1m,exec", false);
        assert!(!flags.contains(MsFlags::MS_NOEXEC) && flags.contains(MsFlags::MS_NOSUID));
        assert_eq!(data, "size=1m,mode=1777");
        let (flags, data) = tmpfs_flags("mode=700", true);
        assert!(flags.contains(MsFlags::MS_RDONLY));
        assert_eq!(data, "mode=700");
    }
}
