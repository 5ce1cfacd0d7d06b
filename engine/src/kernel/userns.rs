//! The user-namespace calls of the facade: the id maps the parent writes
//! for the container's init (`namespace.user`), the idmapped layers
//! (`mount.idmap`), the overlay made of them and its attachment in the
//! container's mount namespace. See `security::userns` for the
//! order they come in.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use casulo_trace::{EventBody, IdRange};
use nix::unistd::Pid;

use super::{path_str, Kernel, KernelError};

impl Kernel<'_> {
    /// Writes `/proc/PID/{map}_map` (`map` is `uid` or `gid`) with
    /// `ranges`, one line each. Only once per namespace, and only by a
    /// process with `CAP_SETUID`/`CAP_SETGID` in the parent namespace.
    pub fn write_id_map(&self, pid: Pid, map: &str, ranges: &[IdRange]) -> Result<(), KernelError> {
        let path = format!("/proc/{pid}/{map}_map");
        let value: Vec<String> = ranges
            .iter()
            .map(|r| format!("{} {} {}", r.inside, r.outside, r.count))
            .collect();
        let value = value.join("\n");
        let op = format!("write {path} = {value}");
        let result = self.sys.write_file(Path::new(&path), &value);
        let body = EventBody::NamespaceUser {
            target_pid: pid.as_raw(),
            map: map.to_string(),
            ranges: ranges.to_vec(),
        };
        self.done(body, op, result)
    }

    /// A detached, idmapped copy of the mount of `source` (an image
    /// layer), seen through the user namespace of `userns_pid` (`userns`
    /// is its `/proc/PID/ns/user`).
    pub fn idmap_layer(
        &self,
        source: &Path,
        userns_pid: Pid,
        userns: BorrowedFd,
    ) -> Result<OwnedFd, KernelError> {
        let op = format!(
            "fd = open_tree(AT_FDCWD, {source:?}, OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC); \
             mount_setattr(fd, \"\", AT_EMPTY_PATH, {{attr_set=MOUNT_ATTR_IDMAP, \
             userns_fd=open(\"/proc/{userns_pid}/ns/user\")}})"
        );
        let result = self.sys.idmapped_tree(source, userns);
        let body = EventBody::MountIdmap {
            source: path_str(source),
            userns_pid: userns_pid.as_raw(),
        };
        self.done(body, op, result)
    }

    /// An overlay whose lower layers are the mounts `lowers` (their host
    /// paths in `lowerdirs`, for the trace; top-most first), made detached
    /// (`fsopen`/`fsconfig`/`fsmount`) to be attached at `target` by the
    /// container's init. Recorded as the `mount.overlay` of the container.
    pub fn overlay_detached(
        &self,
        lowerdirs: &[String],
        lowers: &[BorrowedFd],
        upperdir: &Path,
        workdir: &Path,
        target: &Path,
    ) -> Result<OwnedFd, KernelError> {
        let fds: Vec<String> = lowers
            .iter()
            .map(|fd| {
                format!(
                    "fsconfig(ctx, FSCONFIG_SET_FD, \"lowerdir+\", NULL, {})",
                    fd.as_raw_fd()
                )
            })
            .collect();
        let op = format!(
            "ctx = fsopen(\"overlay\", FSOPEN_CLOEXEC); {}; \
             fsconfig(ctx, FSCONFIG_SET_STRING, \"upperdir\", {upperdir:?}, 0); \
             fsconfig(ctx, FSCONFIG_SET_STRING, \"workdir\", {workdir:?}, 0); \
             fsconfig(ctx, FSCONFIG_CMD_CREATE, NULL, NULL, 0); \
             fsmount(ctx, FSMOUNT_CLOEXEC, 0) /* for {target:?} */",
            fds.join("; ")
        );
        let result = self.sys.overlay_from_fds(lowers, upperdir, workdir);
        let body = EventBody::MountOverlay {
            target: path_str(target),
            lowerdirs: lowerdirs.to_vec(),
            upperdir: path_str(upperdir),
            workdir: path_str(workdir),
        };
        self.done(body, op, result)
    }

    /// Attaches the detached mount `fd` (of filesystem `fstype`) at
    /// `target`, in the caller's mount namespace (`move_mount`).
    pub fn attach_mount(
        &self,
        fd: BorrowedFd,
        fstype: &str,
        target: &Path,
    ) -> Result<(), KernelError> {
        let op = format!(
            "move_mount({}, \"\", AT_FDCWD, {target:?}, MOVE_MOUNT_F_EMPTY_PATH)",
            fd.as_raw_fd()
        );
        let result = self.sys.attach_mount(fd, target);
        let body = EventBody::MountFs {
            fstype: fstype.to_string(),
            source: format!("fd {}", fd.as_raw_fd()),
            target: path_str(target),
            flags: vec!["MOVE_MOUNT_F_EMPTY_PATH".to_string()],
            data: String::new(),
        };
        self.done(body, op, result)
    }
}
