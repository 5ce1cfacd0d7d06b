//! The extractor: one tar entry at a time into the layer directory, through
//! the fd-relative calls of [`super::at`].

use super::*;

/// The open layer directory and what was done so far.
pub(super) struct Extractor {
    pub(super) root: OwnedFd,
    /// The unpacked layers below this one, top-most first (O_PATH fds).
    pub(super) lowers: Vec<OwnedFd>,
    pub(super) as_root: bool,
    pub(super) stats: UnpackStats,
    pub(super) dirs: Vec<DirMeta>,
    /// The last parent directory opened (entries come grouped by directory).
    pub(super) parent_cache: Option<(PathBuf, OwnedFd)>,
}

impl Extractor {
    /// Opens (creating missing directories, `0755`) the directory `rel`
    /// below the layer root. A symlink or a non-directory on the way is
    /// refused by the kernel (`ELOOP`/`ENOTDIR`), never followed.
    pub(super) fn dir_fd(&mut self, rel: &Path) -> Result<BorrowedFd<'_>, EntryError> {
        let cached = matches!(&self.parent_cache, Some((path, _)) if path == rel);
        if !cached {
            let fd = match open_beneath(self.root.as_fd(), rel, OFlag::O_PATH | OFlag::O_DIRECTORY)
            {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => self.make_dirs(rel)?,
                Err(errno) => return Err(walk_error(rel, errno)),
            };
            self.parent_cache = Some((rel.to_path_buf(), fd));
        }
        Ok(self.parent_cache.as_ref().expect("just set").1.as_fd())
    }

    /// Creates the missing directories of `rel`, one component at a time.
    pub(super) fn make_dirs(&self, rel: &Path) -> Result<OwnedFd, EntryError> {
        let mut current = open_beneath(
            self.root.as_fd(),
            Path::new(""),
            OFlag::O_PATH | OFlag::O_DIRECTORY,
        )?;
        let mut so_far = PathBuf::new();
        for component in rel.components() {
            so_far.push(component);
            let name = cstr(component.as_os_str())?;
            let next = match open_beneath(
                current.as_fd(),
                Path::new(component.as_os_str()),
                OFlag::O_PATH | OFlag::O_DIRECTORY,
            ) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    // SAFETY: valid fd, NUL-terminated name.
                    let rc = unsafe { libc::mkdirat(current.as_raw_fd(), name.as_ptr(), 0o755) };
                    if rc != 0 {
                        let e = io::Error::last_os_error();
                        if e.raw_os_error() != Some(libc::EEXIST) {
                            return Err(e.into());
                        }
                    }
                    open_beneath(
                        current.as_fd(),
                        Path::new(component.as_os_str()),
                        OFlag::O_PATH | OFlag::O_DIRECTORY,
                    )
                    .map_err(|errno| walk_error(&so_far, errno))?
                }
                Err(errno) => return Err(walk_error(&so_far, errno)),
            };
            current = next;
        }
        Ok(current)
    }

    pub(super) fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
        checked: &CheckedEntry,
    ) -> Result<(), EntryError> {
        if let Some(whiteout) = &checked.whiteout {
            return self.whiteout(whiteout);
        }
        let header = entry.header();
        let old = header.as_old();
        let (uid, gid) = (
            numeric(&old.uid, header.uid())?,
            numeric(&old.gid, header.gid())?,
        );
        // Rootless with few ids: owners the namespace cannot hold become 0.
        let (fit_uid, fit_gid) = crate::rootless::fit_owner(uid, gid);
        if (fit_uid, fit_gid) != (uid, gid) {
            self.stats.owners_to_root += 1;
        }
        let meta = Meta {
            mode: numeric(&old.mode, header.mode().map(u64::from))? as u32,
            uid: fit_uid,
            gid: fit_gid,
            mtime: numeric(&old.mtime, header.mtime())?,
        };
        let rel = &checked.path;
        if checked.kind == EntryType::Directory {
            return self.dir(entry, name, rel, meta);
        }
        let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        let file = cstr(rel.file_name().expect("non-empty path"))?;
        match checked.kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let sparse = checked.kind == EntryType::GNUSparse;
                self.file(entry, (&parent, &file), meta, sparse)
            }
            EntryType::Symlink => self.symlink(entry, (&parent, &file), meta),
            EntryType::Link => {
                let target = checked
                    .hardlink_target
                    .as_deref()
                    .ok_or_else(|| EntryError::Unsafe("link físico sem destino".into()))?;
                if !checked.target_in_layer {
                    return self.link_from_lower(&parent, &file, rel, target);
                }
                self.hardlink((&parent, &file), name, target)
            }
            EntryType::Fifo => self.fifo((&parent, &file), meta),
            EntryType::Char | EntryType::Block => {
                self.stats.devices_skipped += 1;
                self.stats.skipped_devices.push(name.to_string());
                Ok(())
            }
            _ => Err(EntryError::Unsafe("tipo de entrada não suportado".into())),
        }
    }

    /// A directory: made now (`0755`), its mode, owner, times and xattrs
    /// applied at the end, deepest first (so writing into it still works).
    fn dir<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
        rel: &Path,
        meta: Meta,
    ) -> Result<(), EntryError> {
        let xattrs = entry_xattrs(entry)?;
        if !rel.as_os_str().is_empty() {
            let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
            let file = cstr(rel.file_name().expect("non-empty path"))?;
            let dir = self.dir_fd(&parent)?;
            match lstat_at(dir, &file)? {
                Some(libc::S_IFDIR) => {}
                Some(_) => {
                    remove_non_dir(dir, &file)?;
                    // SAFETY: valid fd, NUL-terminated name.
                    check(unsafe { libc::mkdirat(dir.as_raw_fd(), file.as_ptr(), 0o755) })?;
                }
                None => {
                    // SAFETY: valid fd, NUL-terminated name.
                    check(unsafe { libc::mkdirat(dir.as_raw_fd(), file.as_ptr(), 0o755) })?;
                }
            }
        }
        self.dirs.push(DirMeta {
            name: name.to_string(),
            rel: rel.to_path_buf(),
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
            mtime: meta.mtime,
            xattrs,
        });
        self.stats.dirs += 1;
        Ok(())
    }

    /// A regular file (GNU sparse ones written sparse): created new, never
    /// through a link, its whole declared size or an error.
    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        (parent, file): (&Path, &CString),
        meta: Meta,
        sparse: bool,
    ) -> Result<(), EntryError> {
        let as_root = self.as_root;
        let xattrs = entry_xattrs(entry)?;
        let size = entry.size();
        let dir = self.dir_fd(parent)?;
        remove_non_dir(dir, file)?;
        let mut out = create_new_at(dir.as_fd(), file)?;
        let copied = if sparse {
            copy_sparse(entry, &mut out)?
        } else {
            io::copy(entry, &mut out)?
        };
        if copied != size {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "conteúdo truncado").into());
        }
        set_owner_mode_fd(out.as_fd(), as_root, meta.uid, meta.gid, meta.mode)?;
        for (key, value) in &xattrs {
            set_xattr_fd(out.as_fd(), key, value)?;
        }
        set_times_fd(out.as_fd(), meta.mtime)?;
        self.stats.files += 1;
        self.stats.bytes += size;
        Ok(())
    }

    /// A symlink, created as it is (never followed).
    fn symlink<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        (parent, file): (&Path, &CString),
        meta: Meta,
    ) -> Result<(), EntryError> {
        let as_root = self.as_root;
        let target = entry
            .link_name_bytes()
            .ok_or_else(|| EntryError::Unsafe("link simbólico sem destino".into()))?;
        let target = CString::new(target.as_ref())
            .map_err(|_| EntryError::Unsafe("NUL no destino do link".into()))?;
        let dir = self.dir_fd(parent)?;
        remove_non_dir(dir, file)?;
        // SAFETY: valid fd and NUL-terminated strings.
        check(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), file.as_ptr()) })?;
        if as_root {
            chown_at(dir, file, meta)?;
        }
        set_times_at(dir, file, meta.mtime)?;
        self.stats.symlinks += 1;
        Ok(())
    }

    /// A hard link to a file written earlier in this layer: a real
    /// `linkat` (same inode), never following the target.
    fn hardlink(
        &mut self,
        (parent, file): (&Path, &CString),
        name: &str,
        target: &Path,
    ) -> Result<(), EntryError> {
        let target_parent = target.parent().unwrap_or(Path::new(""));
        let target_name = cstr(target.file_name().expect("non-empty target"))?;
        let source_dir = open_beneath(
            self.root.as_fd(),
            target_parent,
            OFlag::O_PATH | OFlag::O_DIRECTORY,
        )
        .map_err(|errno| walk_error(target_parent, errno))?;
        match lstat_at(source_dir.as_fd(), &target_name)? {
            Some(libc::S_IFDIR) => {
                return Err(EntryError::Unsafe("link físico para um diretório".into()))
            }
            Some(_) => {}
            // A hard link to a device node that was skipped is skipped too.
            None if self
                .stats
                .skipped_devices
                .iter()
                .any(|d| entry_path(d.as_bytes()).is_ok_and(|p| p == target)) =>
            {
                self.stats.devices_skipped += 1;
                self.stats.skipped_devices.push(name.to_string());
                return Ok(());
            }
            None => return Err(io::Error::from(io::ErrorKind::NotFound).into()),
        }
        let dir = self.dir_fd(parent)?;
        remove_non_dir(dir, file)?;
        // SAFETY: valid fds and names; flags 0 = never follow `source`.
        check(unsafe {
            libc::linkat(
                source_dir.as_raw_fd(),
                target_name.as_ptr(),
                dir.as_raw_fd(),
                file.as_ptr(),
                0,
            )
        })?;
        self.stats.hardlinks += 1;
        Ok(())
    }

    /// A FIFO (`mkfifo`), with its owner and mode.
    fn fifo(&mut self, (parent, file): (&Path, &CString), meta: Meta) -> Result<(), EntryError> {
        let as_root = self.as_root;
        let dir = self.dir_fd(parent)?;
        remove_non_dir(dir, file)?;
        // SAFETY: valid fd and name.
        check(unsafe { libc::mknodat(dir.as_raw_fd(), file.as_ptr(), libc::S_IFIFO | 0o600, 0) })?;
        if as_root {
            chown_at(dir, file, meta)?;
        }
        // SAFETY: valid fd and name (a FIFO we just made, not a link).
        check(unsafe {
            libc::fchmodat(
                dir.as_raw_fd(),
                file.as_ptr(),
                (meta.mode & 0o7777) as libc::mode_t,
                0,
            )
        })?;
        set_times_at(dir, file, meta.mtime)?;
        self.stats.files += 1;
        Ok(())
    }

    /// Turns an OCI whiteout into overlayfs's spelling of it.
    pub(super) fn whiteout(&mut self, whiteout: &Whiteout) -> Result<(), EntryError> {
        match whiteout {
            Whiteout::AufsMeta => Ok(()),
            Whiteout::Opaque(dir) => {
                self.dir_fd(dir)?;
                let fd = open_beneath(self.root.as_fd(), dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
                    .map_err(|errno| walk_error(dir, errno))?;
                set_xattr_fd(
                    fd.as_fd(),
                    crate::image::overlay::opaque_xattr().to_bytes(),
                    b"y",
                )
                .map_err(needs_root)?;
                self.stats.whiteouts.push((shown(dir), true));
                Ok(())
            }
            Whiteout::Remove(path) => {
                let parent = path.parent().unwrap_or(Path::new("")).to_path_buf();
                let file = cstr(path.file_name().expect("validated name"))?;
                let dir = self.dir_fd(&parent)?;
                remove_non_dir(dir, &file)?;
                // SAFETY: valid fd and name; a 0:0 character device is
                // overlayfs's whiteout.
                check(unsafe { libc::mknodat(dir.as_raw_fd(), file.as_ptr(), libc::S_IFCHR, 0) })
                    .map_err(needs_root)?;
                self.stats.whiteouts.push((shown(path), false));
                Ok(())
            }
        }
    }

    pub(super) fn apply_dir_meta(&self, dir: &DirMeta) -> io::Result<()> {
        let fd = open_beneath(
            self.root.as_fd(),
            &dir.rel,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY,
        )?;
        set_owner_mode_fd(fd.as_fd(), self.as_root, dir.uid, dir.gid, dir.mode)?;
        for (name, value) in &dir.xattrs {
            set_xattr_fd(fd.as_fd(), name, value)?;
        }
        set_times_fd(fd.as_fd(), dir.mtime)
    }
}

/// What an entry's header says of its mode, owner and time.
#[derive(Clone, Copy)]
struct Meta {
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
}

/// `fchownat(…, AT_SYMLINK_NOFOLLOW)`: the name itself, never what it
/// points to.
fn chown_at(dir: BorrowedFd<'_>, file: &CString, meta: Meta) -> io::Result<()> {
    // SAFETY: valid fd and name; NOFOLLOW changes the link itself.
    check(unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            file.as_ptr(),
            meta.uid as libc::uid_t,
            meta.gid as libc::gid_t,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
}
