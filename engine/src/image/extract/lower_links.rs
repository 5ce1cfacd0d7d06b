//! Hard links whose target lives only in a lower layer: the file found in
//! the image's merged view below is copied (see the module doc of
//! [`super`], "Hard links across layers").

use super::*;

impl Extractor {
    /// A hard link whose target is a file of a lower layer: that file is
    /// found as the image's merged filesystem would show it (top-most layer
    /// first, honouring whiteouts and opaque directories) and *copied* to
    /// the link's path in this layer (see the module docs). Every lookup is
    /// an `openat2` beneath a layer directory without following symlinks.
    pub(super) fn link_from_lower(
        &mut self,
        parent: &Path,
        file: &CString,
        rel: &Path,
        target: &Path,
    ) -> Result<(), EntryError> {
        let (dir, name, st) = self.find_below(target)?;
        let (uid, gid, mode) = (st.st_uid as u64, st.st_gid as u64, st.st_mode);
        let mtime = st.st_mtime.max(0) as u64;
        let as_root = self.as_root;
        let out_dir = self.dir_fd(parent)?;
        remove_non_dir(out_dir, file)?;
        match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => {
                // SAFETY: valid fd and name; O_NOFOLLOW: the file itself.
                let raw = unsafe {
                    libc::openat(
                        dir.as_raw_fd(),
                        name.as_ptr(),
                        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                    )
                };
                if raw < 0 {
                    return Err(io::Error::last_os_error().into());
                }
                // SAFETY: raw is a new fd we own.
                let mut src = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(raw) };
                let mut out = create_new_at(out_dir.as_fd(), file)?;
                let copied = io::copy(&mut src, &mut out)?;
                set_owner_mode_fd(out.as_fd(), as_root, uid, gid, mode)?;
                copy_xattrs(src.as_fd(), out.as_fd())?;
                set_times_fd(out.as_fd(), mtime)?;
                self.stats.files += 1;
                self.stats.bytes += copied;
            }
            libc::S_IFLNK => {
                let link = nix::fcntl::readlinkat(dir.as_fd(), name.as_c_str())?;
                let link = cstr(&link)?;
                // SAFETY: valid fd and NUL-terminated strings.
                check(unsafe {
                    libc::symlinkat(link.as_ptr(), out_dir.as_raw_fd(), file.as_ptr())
                })?;
                if as_root {
                    // SAFETY: valid fd and name; NOFOLLOW changes the link itself.
                    check(unsafe {
                        libc::fchownat(
                            out_dir.as_raw_fd(),
                            file.as_ptr(),
                            uid as libc::uid_t,
                            gid as libc::gid_t,
                            libc::AT_SYMLINK_NOFOLLOW,
                        )
                    })?;
                }
                set_times_at(out_dir, file, mtime)?;
                self.stats.symlinks += 1;
            }
            _ => {
                return Err(EntryError::Unsafe(format!(
                    "link físico para {:?}, de uma camada de baixo, que não é um arquivo \
                     regular nem um link simbólico",
                    shown(target)
                )))
            }
        }
        self.stats.lower_links.push((shown(rel), shown(target)));
        Ok(())
    }

    /// Finds `target` in the layers below, as the merged filesystem shows
    /// it. Returns its parent directory (in the layer that has it), its
    /// name and its `lstat`.
    pub(super) fn find_below(
        &self,
        target: &Path,
    ) -> Result<(OwnedFd, CString, libc::stat), EntryError> {
        let parent = target.parent().unwrap_or(Path::new(""));
        let name = cstr(target.file_name().expect("non-empty target"))?;
        let not_found = || {
            EntryError::Unsafe(format!(
                "link físico para {:?}, que não aparece antes nesta camada nem existe nas \
                 camadas de baixo",
                shown(target)
            ))
        };
        // This layer first: its whiteouts and opaque directories hide the
        // layers below; a file here that the tar did not declare before the
        // link can only be a whiteout of this layer.
        for (i, layer) in std::iter::once(&self.root).chain(&self.lowers).enumerate() {
            let mut dir = open_beneath(
                layer.as_fd(),
                Path::new(""),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY,
            )?;
            let mut opaque = false;
            let mut present = true;
            for component in parent.components() {
                match open_beneath(
                    dir.as_fd(),
                    Path::new(component.as_os_str()),
                    OFlag::O_RDONLY | OFlag::O_DIRECTORY,
                ) {
                    Ok(next) => {
                        opaque |= is_opaque(next.as_fd());
                        dir = next;
                    }
                    Err(Errno::ENOENT) => {
                        present = false;
                        break;
                    }
                    // A whiteout or a file in a higher layer hides the rest.
                    Err(Errno::ENOTDIR) => return Err(not_found()),
                    Err(errno) => return Err(walk_error(parent, errno)),
                }
            }
            if present {
                if let Some(st) = stat_at(dir.as_fd(), &name)? {
                    match st.st_mode & libc::S_IFMT {
                        libc::S_IFDIR => {
                            return Err(EntryError::Unsafe(format!(
                                "link físico para o diretório {:?}",
                                shown(target)
                            )))
                        }
                        _ if i == 0 => {
                            return Err(EntryError::Unsafe(format!(
                                "link físico para {:?}, que esta mesma camada apagou (whiteout)",
                                shown(target)
                            )))
                        }
                        libc::S_IFCHR if st.st_rdev == 0 => return Err(not_found()),
                        _ => return Ok((dir, name, st)),
                    }
                }
            }
            if opaque {
                return Err(not_found());
            }
        }
        Err(not_found())
    }
}
