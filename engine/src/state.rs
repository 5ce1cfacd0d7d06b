//! The state directory: everything casulo keeps on disk, under one root.
//!
//! ```text
//! <root>/                       default /var/lib/casulo (flag --root, env CASULO_ROOT)
//!   images/                     an OCI image layout (the image store)
//!     oci-layout                {"imageLayoutVersion":"1.0.0"}
//!     index.json                one manifest descriptor per tag, with the
//!                               annotation org.opencontainers.image.ref.name = "busybox:latest"
//!     blobs/sha256/<hex>        manifests, configs and layer tarballs, by digest
//!   layers/<hex of diff_id>/    each layer unpacked once, reused by every image
//!                               and container that has it (read-only lowerdirs;
//!                               OCI whiteouts stored as overlayfs ones: 0:0 char
//!                               devices and the trusted.overlay.opaque xattr)
//!   layers/.tmp-<hex>-<pid>-<n>/  a layer being unpacked (renamed into place when
//!                               complete; `image fsck` reports leftovers)
//!   containers/<id>/            one per container; its keeper (`casulo run`, the
//!                               supervisor) holds a flock on the directory itself
//!                               (`containers/` and `layers/` are `chattr +T`:
//!                               see `spread_subdirectories`)
//!     container.json            what was asked (image, command, name, state);
//!                               replaced whole (temp file + exchange) under
//!     container.lock            an exclusive flock on this file (`container::record`)
//!     upper/  work/             the container's read/write layer (overlay upper/work)
//!     merged/                   where the overlay is mounted (inside the
//!                               container's own mount namespace only)
//!   names/<name>                container names, created exclusively (holds the id)
//!   traces/<name>-<id8>.trace.jsonl   one trace per run
//!   traces/build-<id8>.trace.jsonl    one trace per `casulo build` (header
//!                               container = the build: id, name "build",
//!                               image = the FROM image, empty command)
//!   build-cache/<key hex>.json  the build cache: what a Dockerfile step made
//!                               (its layer, or nothing for config-only steps)
//!   build-cache/files-<dev>-<ino>.json  a context directory's file hashes by
//!                               (dev, ino, size, mtime, ctime) (`build::file_hashes`)
//!   labs/<NN-nome>/             one per lab the student started (`casulo lab`):
//!     progresso.json            when it started (only later traces count),
//!                               hints seen, when every task passed
//!     trabalho/                 the work folder: the lab's files, the student's outputs
//!   tmp/                        staging for atomic writes (same filesystem):
//!                               blob-*/write-*/cache-* temp files, load-* (an archive
//!                               being loaded), images.lock (flock for index.json),
//!                               copy-from-<id8>-<line>/ (a build's `COPY --from`
//!                               source stage, its layers merged by hard links;
//!                               removed once the step's layer is written)
//! ```
//!
//! Every function that touches these paths takes a [`StateDir`], never a
//! hard-coded path, so tests run against a temporary root.
//!
//! Modes: the root is `0700` (only root enters), so a setuid binary kept in a
//! layer or an upper dir cannot be reached by a local user, and the files that
//! may hold secrets (`container.json` with the `-e` values, traces with the
//! argv, the build cache) are created `0600` in the same `open` that makes
//! them (never chmod after a world-readable moment). A root found with more
//! than `0700` is fixed on use ([`StateDir::secure_root`]).

use std::fs::{DirBuilder, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of the state root and of the directories casulo creates in it.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the files that may hold secrets (records, traces, cache entries).
pub const FILE_MODE: u32 = 0o600;

/// A new id for a container, a volume or a push trace: 64 hex digits from
/// the kernel's random pool.
pub fn new_id() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("/dev/urandom is always readable on Linux");
    hex::encode(bytes)
}

/// Is the process `pid` still there (not yet reaped)? (The owner of a
/// container, or the writer of a `.tmp-…-<pid>` leftover.)
pub fn pid_alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Creates `dir` and its missing parents with mode `0700` (idempotent).
/// An existing directory is only looked at (one `stat`): every command
/// passes here for the state's ~7 directories, and a `mkdir` that fails
/// with `EEXIST` before the `stat` std does anyway was one path walk more
/// each (#19).
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    if std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Options that create a file `0600` from its first moment (write access).
pub fn private_file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true).mode(FILE_MODE);
    options
}

/// Default root when neither `--root` nor `CASULO_ROOT` is given.
pub const DEFAULT_ROOT: &str = "/var/lib/casulo";

#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn images(&self) -> PathBuf {
        self.root.join("images")
    }

    pub fn layers(&self) -> PathBuf {
        self.root.join("layers")
    }

    /// Directory of one unpacked layer, by its diff_id hex.
    pub fn layer(&self, diff_id_hex: &str) -> PathBuf {
        self.layers().join(diff_id_hex)
    }

    pub fn containers(&self) -> PathBuf {
        self.root.join("containers")
    }

    pub fn container(&self, id: &str) -> PathBuf {
        self.containers().join(id)
    }

    pub fn names(&self) -> PathBuf {
        self.root.join("names")
    }

    pub fn traces(&self) -> PathBuf {
        self.root.join("traces")
    }

    /// The build cache (see `build::cache`).
    pub fn build_cache(&self) -> PathBuf {
        self.root.join("build-cache")
    }

    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Makes the root private: creates it `0700` if missing, and cuts an
    /// existing root's group/other bits. Returns the old mode when it had to
    /// change it (the caller may tell the user; the library never prints).
    pub fn secure_root(&self) -> std::io::Result<Option<u32>> {
        // Before creating anything: the parents must be root's alone.
        check_parents(&self.root)?;
        create_private_dir_all(&self.root)?;
        self.close_root()
    }

    /// Like [`StateDir::secure_root`] for a root that already exists; a
    /// missing root is left missing (`Ok(None)`). A shared directory (sticky
    /// or writable by others, like `/tmp`) or one owned by another user is
    /// never chmod-ed: it is refused (`PermissionDenied`), as it cannot be
    /// made private without taking it from its owners. So is a root (even
    /// `0700`) that belongs to another user, or whose parent directories
    /// another user could change ([`check_parents`]).
    pub fn close_root(&self) -> std::io::Result<Option<u32>> {
        use std::os::unix::fs::MetadataExt;
        check_parents(&self.root)?;
        let meta = match std::fs::metadata(&self.root) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mode = meta.permissions().mode() & 0o7777;
        if meta.uid() != nix::unistd::geteuid().as_raw() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "o diretório de estado {} pertence a outro usuário (uid {}): o dono dele \
                     poderia trocar as camadas e os programas que o casulo roda como root; \
                     use um diretório do root, como {DEFAULT_ROOT}",
                    self.root.display(),
                    meta.uid()
                ),
            ));
        }
        if mode & 0o077 == 0 {
            return Ok(None);
        }
        if mode & 0o1002 != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "o diretório de estado {} é compartilhado (modo {mode:04o}, dono uid {}): \
                     use um diretório só seu, como {DEFAULT_ROOT}",
                    self.root.display(),
                    meta.uid()
                ),
            ));
        }
        std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(mode & 0o7700))?;
        Ok(Some(mode))
    }

    /// Creates the top-level directories (idempotent), the root `0700`.
    pub fn ensure(&self) -> std::io::Result<()> {
        self.secure_root()?;
        for dir in [
            self.images(),
            self.layers(),
            self.containers(),
            self.traces(),
            self.tmp(),
        ] {
            create_private_dir_all(&dir)?;
        }
        spread_subdirectories(&self.containers());
        spread_subdirectories(&self.layers());
        Ok(())
    }
}

/// `renameat2(2)` flag: fail with `EEXIST` rather than replace `to`.
pub const RENAME_NOREPLACE: libc::c_uint = 1;
/// `renameat2(2)` flag: `from` and `to` (both must exist) trade places.
pub const RENAME_EXCHANGE: libc::c_uint = 2;

/// `renameat2(from, to, flags)`, by its number: nix has it for glibc only,
/// and the release build is also linked with musl.
pub fn renameat2(from: &Path, to: &Path, flags: libc::c_uint) -> Result<(), nix::errno::Errno> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes());
    let (Ok(from), Ok(to)) = (c(from), c(to)) else {
        return Err(nix::errno::Errno::EINVAL);
    };
    // SAFETY: two NUL-terminated paths that live across the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            flags,
        )
    };
    nix::errno::Errno::result(r).map(drop)
}

/// `chattr +T` on `dir` (`FS_TOPDIR_FL`), if it is not set yet: for ext4's
/// block allocator (Orlov) its subdirectories are unrelated trees, each put
/// in a block group of its own instead of crowding the parent's — what
/// containers and layers are. On an ext4 without a journal (the CI machine
/// here) a new inode skips, one by one, the inodes of its group deleted in
/// the last seconds (`recently_deleted`). Every container creates and
/// removes ~15 inodes (upper/work/merged, the overlay's own work dirs, the
/// records): with all of them in `containers/`' group, a run spent ~1.7 ms
/// of ~10 ms in that scan (#19; side by side on fresh state dirs: 10.60 →
/// 8.84 and 10.30 → 8.60 ms). A layer of 12 000 files unpacked where another
/// was just removed took 5.7–7.9 s, all of it in the kernel; under a `+T`
/// parent, 0.35 s. Its price: the `mkdir` of each container dir searches
/// the groups (~0.45 ms under strace; the dirs inside it then take ~25 µs),
/// still a win or a tie side by side. On ext4 with a journal it only
/// spreads the trees over the disk. Other filesystems (xfs, btrfs, tmpfs)
/// do not have the flag: nothing happens.
fn spread_subdirectories(dir: &Path) {
    let Ok(file) = std::fs::File::open(dir) else {
        return;
    };
    let Some(flags) = inode_flags(&file) else {
        return;
    };
    if flags & FS_TOPDIR_FL == 0 {
        set_inode_flags(&file, flags | FS_TOPDIR_FL);
    }
}

/// `chattr +T` (from include/uapi/linux/fs.h).
const FS_TOPDIR_FL: libc::c_int = 0x0002_0000;

/// The inode's flags (`lsattr`), when its filesystem has them.
fn inode_flags(file: &std::fs::File) -> Option<libc::c_int> {
    let mut flags: libc::c_int = 0;
    // SAFETY: the kernel writes one int (its "long" is an int for this
    // ioctl) through a valid pointer, on a descriptor we own.
    let done = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    (done == 0).then_some(flags)
}

/// Sets the inode's flags (`chattr`); a filesystem without them refuses,
/// and nothing changes.
fn set_inode_flags(file: &std::fs::File, flags: libc::c_int) {
    // SAFETY: the kernel reads one int through a valid pointer, on a
    // descriptor we own.
    unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) };
}

/// Every directory above `root` (as given, and as it resolves through
/// symlinks) must belong to root (or to whoever runs casulo) and be
/// writable by no one else — unless it is sticky, like `/tmp`, where others
/// cannot rename or remove what is not theirs. Otherwise its owner could
/// swap the whole state dir (for a symlink, for a directory of their own)
/// between two commands, and casulo, as root, would run what they put
/// there. Missing parents are skipped (they will be created `0700`).
pub fn check_parents(root: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    // Once a root passed, it is not checked again by this process (a
    // `casulo run` asked four times: ~45 syscalls, #19): parents that
    // belong to root or to us and that no one else may write can only be
    // made unsafe by root or by us.
    static PASSED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
    let passed = || PASSED.lock().unwrap_or_else(|e| e.into_inner());
    if passed().iter().any(|p| p == root) {
        return Ok(());
    }
    let me = nix::unistd::geteuid().as_raw();
    // Rootless (`crate::rootless`), inside casulo's user namespace: the
    // host's root is not mapped there, and its directories (`/`, `/home`)
    // show the overflow uid. The CLI checked the same parents with the real
    // owners before entering it, so here that uid stands for root's.
    let host_root = if crate::rootless_mode::active() && me == 0 {
        overflow_uid()
    } else {
        0
    };
    let given = std::path::absolute(root)?;
    let resolved = std::fs::canonicalize(root).ok();
    for path in std::iter::once(&given).chain(resolved.as_ref()) {
        for parent in path.ancestors().skip(1) {
            let meta = match std::fs::metadata(parent) {
                Ok(meta) => meta,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let mode = meta.permissions().mode() & 0o7777;
            let why = if meta.uid() != 0 && meta.uid() != me && meta.uid() != host_root {
                format!("pertence ao uid {}", meta.uid())
            } else if mode & 0o022 != 0 && mode & 0o1000 == 0 {
                format!("pode ser alterado por outros usuários (modo {mode:04o})")
            } else {
                continue;
            };
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "o diretório {}, acima do diretório de estado {}, {why}: quem pode mudá-lo \
                     pode trocar o diretório de estado inteiro, e o casulo, que roda como \
                     root, usaria o que ele pusesse lá; use um diretório cujos pais sejam só \
                     do root, como {DEFAULT_ROOT}",
                    parent.display(),
                    root.display()
                ),
            ));
        }
    }
    passed().push(root.to_path_buf());
    Ok(())
}

/// The uid the kernel shows for an owner not mapped in this namespace.
fn overflow_uid() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/overflowuid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65_534)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the filesystem has inode flags (ext4 here), `containers/` and
    /// `layers/` are `+T` after `ensure`, also in a state made before the
    /// flag; where it has none, `ensure` works all the same.
    #[test]
    fn containers_is_marked_the_top_of_unrelated_trees() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join("estado"));
        state.ensure().unwrap();
        let containers = std::fs::File::open(state.containers()).unwrap();
        let Some(flags) = inode_flags(&containers) else {
            let e = std::io::Error::last_os_error().raw_os_error();
            assert!(
                matches!(e, Some(libc::ENOTTY | libc::EOPNOTSUPP | libc::EINVAL)),
                "FS_IOC_GETFLAGS falhou de outro jeito: {e:?}"
            );
            return;
        };
        assert_ne!(flags & FS_TOPDIR_FL, 0, "containers/ sem +T: {flags:#x}");
        let layers = std::fs::File::open(state.layers()).unwrap();
        assert_ne!(
            inode_flags(&layers).unwrap() & FS_TOPDIR_FL,
            0,
            "layers/ sem +T"
        );
        set_inode_flags(&containers, flags & !FS_TOPDIR_FL);
        assert_eq!(inode_flags(&containers).unwrap() & FS_TOPDIR_FL, 0);
        state.ensure().unwrap();
        assert_ne!(inode_flags(&containers).unwrap() & FS_TOPDIR_FL, 0);
    }

    #[test]
    fn a_new_root_is_private_and_an_open_one_is_closed() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join("novo"));
        state.ensure().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(state.root()), 0o700);
        assert_eq!(mode(&state.traces()), 0o700);
        assert_eq!(state.secure_root().unwrap(), None);

        let open = StateDir::new(tmp.path().join("aberto"));
        std::fs::create_dir(open.root()).unwrap();
        std::fs::set_permissions(open.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(open.secure_root().unwrap(), Some(0o755));
        assert_eq!(mode(open.root()), 0o700);

        let shared = StateDir::new(tmp.path().join("compartilhado"));
        std::fs::create_dir(shared.root()).unwrap();
        std::fs::set_permissions(shared.root(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(shared.ensure().is_err(), "um /tmp nunca vira 0700");
        assert_eq!(mode(shared.root()), 0o1777);

        let missing = StateDir::new(tmp.path().join("nao-existe"));
        assert_eq!(missing.close_root().unwrap(), None);
        assert!(!missing.root().exists());
    }

    /// A root that is not root's (even `0700`), or below a directory
    /// others can change, is refused and left as it was.
    #[test]
    fn a_root_of_another_user_or_under_an_open_parent_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let open = tmp.path().join("aberto");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let below = StateDir::new(open.join("estado"));
        let err = below.ensure().unwrap_err().to_string();
        assert!(err.contains("pode ser alterado por outros"), "{err}");
        assert!(!below.root().exists(), "nada criado");
        // Sticky, like /tmp: others cannot move what is not theirs.
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
        below.ensure().unwrap();
        // Through a symlink, the real parents count too.
        let link = tmp.path().join("atalho");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o775)).unwrap();
        assert!(StateDir::new(link.join("estado")).close_root().is_err());
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        StateDir::new(link.join("estado")).close_root().unwrap();

        if nix::unistd::geteuid().is_root() {
            let theirs = StateDir::new(tmp.path().join("alheio"));
            std::fs::create_dir(theirs.root()).unwrap();
            std::fs::set_permissions(theirs.root(), std::fs::Permissions::from_mode(0o700))
                .unwrap();
            std::os::unix::fs::chown(theirs.root(), Some(65534), None).unwrap();
            let err = theirs.close_root().unwrap_err().to_string();
            assert!(
                err.contains("pertence a outro usuário (uid 65534)"),
                "{err}"
            );
            let user_parent = tmp.path().join("do-usuario");
            std::fs::create_dir(&user_parent).unwrap();
            std::os::unix::fs::chown(&user_parent, Some(65534), None).unwrap();
            let err = StateDir::new(user_parent.join("estado"))
                .ensure()
                .unwrap_err()
                .to_string();
            assert!(err.contains("pertence ao uid 65534"), "{err}");
        }
    }

    #[test]
    fn private_files_are_born_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("segredo");
        private_file_options().create_new(true).open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
