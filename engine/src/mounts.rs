//! The container's filesystem, built inside its own mount namespace.
//!
//! Order (each step one or more trace events, all through [`Kernel`]):
//!
//! 1. `/` becomes recursively **private**: from now on nothing we mount
//!    propagates back to the host (and the host's mounts stop flowing in).
//!    That is why a container leaves no mount behind on the host: when its
//!    last process dies, the kernel tears the whole namespace down.
//! 2. **overlay** on `merged/`: the image layers are read-only lowerdirs, the
//!    container's `upper/` gets every write (copy-up), `work/` is overlayfs'
//!    scratch space.
//! 3. a fresh **/proc** (it shows the new PID namespace), **/sys** read-only,
//!    a minimal **/dev** on tmpfs (null, zero, full, random, urandom, tty,
//!    `pts/`, `shm/`, and the usual symlinks), `/dev/mqueue`; then the
//!    dangerous kernel files of /proc hidden or made read-only.
//! 4. the container's own view of the cgroups at `/sys/fs/cgroup`,
//!    read-only, as docker mounts it ([`CgroupView`]): the init already
//!    entered its cgroup namespace, so each cgroup filesystem mounted now
//!    has the container's own group as its root, and
//!    `/sys/fs/cgroup/memory/memory.limit_in_bytes` (v1) or
//!    `/sys/fs/cgroup/memory.max` (v2) is the container's own limit.
//! 5. **pivot_root** into `merged/` and detach the old root. Not `chroot`:
//!    chroot only changes how paths are resolved for one process and can be
//!    escaped; pivot_root swaps the root *mount* of the namespace, and once
//!    the old root is unmounted there is no path back to the host at all.
//!    We use runc's trick `pivot_root(".", ".")`: the old root ends up
//!    stacked under the new one and `umount2(".", MNT_DETACH)` removes it,
//!    with no extra directory left in the image.
//!
//! **Mount targets come from the image, and the image is hostile until
//! proven otherwise.** `proc`, `sys` and `dev` are looked up in `merged/`
//! *before* `pivot_root`, while casulo still sees the host's `/`: an image
//! whose `/proc` is a symlink to `/some/host/dir` would make a plain
//! `mkdir -p merged/proc` or `mount(…, "merged/proc")` follow it to the
//! host (runc's CVE-2021-30465 was this class). So each of them is opened
//! with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` from the rootfs
//! ([`mount_point`]), created with `mkdirat` when missing, and an image
//! whose target is a symlink or not a directory is refused, naming it
//! ([`MountError::Target`]). runc instead follows the link *inside* the
//! rootfs (`RESOLVE_IN_ROOT`) and mounts onto `/proc/self/fd/N` of what it
//! opened; casulo refuses, which is simpler to read and no real image
//! needs. Between the check and the `mount` by path nothing can swap the
//! directory: nothing of the container runs yet and only root can write
//! the container's upper dir (the state dir is `0700`). Everything mounted
//! below them lands in a filesystem the kernel just made (proc, sysfs, the
//! `/dev` tmpfs), where the image has no say; the working directory and the
//! image's volumes are created after `pivot_root`, when a symlink can only
//! lead somewhere inside the container.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use casulo_trace::{DeviceType, Propagation};
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::mount::MsFlags;

use crate::kernel::{Kernel, KernelError};

/// Why the container's filesystem could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// A mount target of the image is not a plain directory.
    #[error(
        "a imagem traz {path} como {what}: o casulo não monta nada ali, porque o caminho \
         seria seguido no host antes do pivot_root e a montagem poderia cair fora do \
         contêiner (a falha CVE-2021-30465 do runc); na imagem, {path} precisa ser um \
         diretório"
    )]
    Target { path: String, what: String },
}

/// Where the pieces of one container's root filesystem live on the host.
#[derive(Debug, Clone)]
pub struct RootfsPlan {
    /// Unpacked image layers, **top-most first** (overlayfs lowerdir order).
    pub lowerdirs: Vec<PathBuf>,
    pub upperdir: PathBuf,
    pub workdir: PathBuf,
    /// Mount point of the merged view; becomes `/` after pivot_root.
    pub merged: PathBuf,
    /// What to mount at `/sys/fs/cgroup` (empty: nothing).
    pub cgroup: CgroupView,
    /// The upper layer is thrown away when the container ends (`--rm`, a
    /// build's `RUN`): mounted `volatile`, so overlayfs never syncs it to
    /// disk — without it, the unmount at the container's end syncs the
    /// whole host filesystem under `upperdir` (~0.5 ms here, far more on
    /// a busy disk) for files about to be deleted.
    pub volatile: bool,
}

/// A container directory's overlay parts, as [`RootfsPlan::in_dir`] lays
/// them out: upper, work, merged (`create` makes them, `rm` removes them).
pub const CONTAINER_DIRS: [&str; 3] = ["upper", "work", "merged"];

/// The upper layer in a container's directory `dir`: what the container
/// wrote (`diff`, `commit`, a build's `RUN`, the lab's checks).
pub fn upper_of(dir: &Path) -> PathBuf {
    dir.join(CONTAINER_DIRS[0])
}

impl RootfsPlan {
    /// The layout of a container's directory: `upper/`, `work/` and
    /// `merged/` under `dir` ([`CONTAINER_DIRS`]), over `lowerdirs`
    /// (top-most first).
    pub fn in_dir(dir: &Path, lowerdirs: Vec<PathBuf>, cgroup: CgroupView) -> RootfsPlan {
        let [upper, work, merged] = CONTAINER_DIRS.map(|d| dir.join(d));
        RootfsPlan {
            lowerdirs,
            upperdir: upper,
            workdir: work,
            merged,
            cgroup,
            volatile: false,
        }
    }
}

/// The cgroup filesystems a container sees at `/sys/fs/cgroup`: the same
/// ones the host has there, each mounted anew (so rooted at the container's
/// own group, by its cgroup namespace) and read-only.
///
/// - v2: one `cgroup2` at `/sys/fs/cgroup` itself;
/// - v1 and hybrid: a small tmpfs at `/sys/fs/cgroup`, one `cgroup` per v1
///   hierarchy in its directory (`memory/`, `cpu,cpuacct/`, `systemd/` …),
///   the host's symlinks (`cpu -> cpu,cpuacct`), and the hybrid's `unified/`
///   cgroup2; then the tmpfs is made read-only too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupView {
    /// v1/hybrid: a tmpfs holds the hierarchies' directories.
    pub tmpfs: bool,
    /// `(directory under /sys/fs/cgroup, "" for itself; fstype; options)`,
    /// e.g. `("memory", "cgroup", "memory")` or `("", "cgroup2", "")`.
    pub mounts: Vec<(String, String, String)>,
    /// `(name, target)` symlinks in the tmpfs, e.g. `("cpu", "cpu,cpuacct")`.
    pub links: Vec<(String, String)>,
}

impl CgroupView {
    /// The host's `/sys/fs/cgroup`, from `/proc/self/mountinfo` (and its
    /// symlinks): what each container will see again, from its own group.
    pub fn of_host() -> CgroupView {
        // Unified (most machines now): one `statfs` says it all. The
        // mountinfo is a line per mount of the host, each formatted by the
        // kernel (~45 µs here, and 80 000 instructions to read it).
        if crate::cgroups::detect_mode(Path::new(CGROUP_DIR)) == crate::cgroups::CgroupMode::V2 {
            return CgroupView::unified();
        }
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let links = std::fs::read_dir(CGROUP_DIR)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let target = std::fs::read_link(e.path()).ok()?;
                        Some((
                            e.file_name().to_string_lossy().into_owned(),
                            target.to_string_lossy().into_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        CgroupView::from_mountinfo(&mountinfo, links)
    }

    /// v2: one `cgroup2` at `/sys/fs/cgroup` itself.
    fn unified() -> CgroupView {
        CgroupView {
            tmpfs: false,
            mounts: vec![(String::new(), "cgroup2".into(), String::new())],
            links: vec![],
        }
    }

    /// The view from the text of a mountinfo file and the symlinks found
    /// in `/sys/fs/cgroup`.
    pub fn from_mountinfo(mountinfo: &str, mut links: Vec<(String, String)>) -> CgroupView {
        let mut view = CgroupView::default();
        for line in mountinfo.lines() {
            // id parent maj:min root mountpoint opts [optional…] - fstype source superopts
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let Some(point) = left.split(' ').nth(4) else {
                continue;
            };
            let mut r = right.split(' ');
            let (fstype, _source, superopts) = (
                r.next().unwrap_or(""),
                r.next().unwrap_or(""),
                r.next().unwrap_or(""),
            );
            let dir = if point == CGROUP_DIR {
                ""
            } else if let Some(name) = point
                .strip_prefix(CGROUP_DIR)
                .and_then(|rest| rest.strip_prefix('/'))
                .filter(|n| !n.is_empty() && !n.contains('/'))
            {
                name
            } else {
                continue;
            };
            match (dir, fstype) {
                // Unified: the whole view is this one filesystem.
                ("", "cgroup2") => return CgroupView::unified(),
                ("", "tmpfs") => view.tmpfs = true,
                (_, "cgroup") if !dir.is_empty() => {
                    // The hierarchy's controllers (and name=), without rw/ro.
                    let opts: Vec<&str> = superopts
                        .split(',')
                        .filter(|o| *o != "rw" && *o != "ro")
                        .collect();
                    view.mounts
                        .push((dir.to_string(), "cgroup".into(), opts.join(",")));
                }
                (_, "cgroup2") if !dir.is_empty() => {
                    view.mounts
                        .push((dir.to_string(), "cgroup2".into(), String::new()));
                }
                _ => {}
            }
        }
        if !view.tmpfs {
            return CgroupView::default();
        }
        links.sort();
        links.retain(|(name, _)| !view.mounts.iter().any(|(d, _, _)| d == name));
        view.links = links;
        view
    }
}

/// Where the cgroup filesystems live, on the host and in the container.
pub const CGROUP_DIR: &str = "/sys/fs/cgroup";

/// The character devices every container gets: (name, major, minor).
pub const DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// Symlinks every Linux userland expects in /dev: (link, target).
pub const DEV_SYMLINKS: [(&str, &str); 5] = [
    ("ptmx", "pts/ptmx"),
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

const NOSUID_NODEV_NOEXEC: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// Steps 1–4: everything mounted under `plan.merged`, before pivot_root.
pub fn prepare_rootfs(k: &Kernel, plan: &RootfsPlan) -> Result<(), MountError> {
    k.set_propagation(Path::new("/"), Propagation::Private, true)?;
    let lowers: Vec<String> = plan
        .lowerdirs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    k.mount_overlay(
        &lowers,
        &plan.upperdir,
        &plan.workdir,
        &plan.merged,
        plan.volatile,
    )?;
    // Rootless: casulo is root of a user namespace, where no device may be
    // made (`crate::rootless`).
    let nodes = if crate::rootless::active() {
        DevNodes::BindHost
    } else {
        DevNodes::Mknod
    };
    populate(k, &plan.merged, &plan.cgroup, nodes)
}

/// How `/dev`'s device nodes are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevNodes {
    /// `mknod` (the host's root can).
    Mknod,
    /// The host's nodes bound over empty files: in a user namespace
    /// `mknod` of a device is never allowed (`--userns`).
    BindHost,
}

/// Steps 3–4 on the overlay already mounted at `root`.
pub fn populate(
    k: &Kernel,
    root: &Path,
    cgroup: &CgroupView,
    nodes: DevNodes,
) -> Result<(), MountError> {
    let proc = mount_point(root, "proc")?;
    k.mount("proc", &proc, "proc", NOSUID_NODEV_NOEXEC, "")?;
    let sys = mount_point(root, "sys")?;
    k.mount(
        "sysfs",
        &sys,
        "sysfs",
        NOSUID_NODEV_NOEXEC | MsFlags::MS_RDONLY,
        "",
    )?;
    setup_dev(k, root, nodes)?;
    mask_kernel_files(k, root)?;
    Ok(mount_cgroups(k, root, cgroup)?)
}

/// `root/name` (one path component of the image's root) as a directory to
/// mount on: created with `mkdirat` when missing, refused when it is a
/// symlink (even one pointing inside) or not a directory. The lookup is
/// `openat2` from the rootfs with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`:
/// it can neither follow a link nor leave `root`.
pub fn mount_point(root: &Path, name: &str) -> Result<PathBuf, MountError> {
    let shown = format!("/{name}");
    let refuse = |what: String| MountError::Target {
        path: shown.clone(),
        what,
    };
    let kernel = |op: String, errno: Errno| MountError::Kernel(KernelError { op, errno });
    let dir = nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| kernel(format!("open({root:?}, O_PATH|O_DIRECTORY)"), e))?;
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
        .resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS
                | ResolveFlag::RESOLVE_NO_XDEV,
        );
    let mut made = false;
    loop {
        match nix::fcntl::openat2(dir.as_fd(), name, how) {
            Ok(_) => return Ok(root.join(name)),
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            Err(Errno::ENOENT) if !made => {
                // mkdirat does not follow a symlink in its last component
                // (a dangling link gives EEXIST, then ELOOP above).
                made = true;
                let mode = nix::sys::stat::Mode::from_bits_truncate(0o755);
                match nix::sys::stat::mkdirat(dir.as_fd(), name, mode) {
                    Ok(()) | Err(Errno::EEXIST) => continue,
                    Err(e) => return Err(kernel(format!("mkdirat(rootfs, {name:?}, 0755)"), e)),
                }
            }
            // O_PATH|O_NOFOLLOW gives ENOTDIR for a link, RESOLVE_NO_SYMLINKS
            // ELOOP: readlinkat tells which it was.
            Err(Errno::ELOOP | Errno::ENOTDIR) => {
                return Err(refuse(match nix::fcntl::readlinkat(dir.as_fd(), name) {
                    Ok(t) => format!("link simbólico (-> {})", t.to_string_lossy()),
                    Err(_) => "algo que não é um diretório".into(),
                }))
            }
            Err(e) => {
                return Err(kernel(
                    format!("openat2(rootfs, {name:?}, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)"),
                    e,
                ))
            }
        }
    }
}

/// Step 4: the container's `/sys/fs/cgroup` ([`CgroupView`]), read-only.
/// Must run after `unshare(CLONE_NEWCGROUP)` (the init's first step): a
/// cgroup filesystem mounted from inside a cgroup namespace has the
/// namespace's root — the container's own group — as its `/`.
fn mount_cgroups(k: &Kernel, root: &Path, view: &CgroupView) -> Result<(), KernelError> {
    if view.mounts.is_empty() {
        return Ok(());
    }
    let dir = root.join(CGROUP_DIR.trim_start_matches('/'));
    let ro = NOSUID_NODEV_NOEXEC | MsFlags::MS_RDONLY;
    if view.tmpfs {
        k.mount(
            "tmpfs",
            &dir,
            "tmpfs",
            NOSUID_NODEV_NOEXEC,
            "mode=755,size=64k",
        )?;
    }
    for (sub, fstype, data) in &view.mounts {
        let target = if sub.is_empty() {
            dir.clone()
        } else {
            ensure_dir(&dir, sub)
        };
        k.mount("cgroup", &target, fstype, ro, data)?;
    }
    if view.tmpfs {
        for (name, target) in &view.links {
            k.symlink(target, &dir.join(name))?;
        }
        let remount = MsFlags::MS_REMOUNT | ro;
        k.mount("tmpfs", &dir, "tmpfs", remount, "mode=755,size=64k")?;
    }
    Ok(())
}

/// Files of /proc and /sys that would let a root process in the container
/// read the host's memory or secrets: hidden (docker's default list).
pub const MASKED_PATHS: [&str; 10] = [
    "proc/acpi",
    "proc/asound",
    "proc/kcore",
    "proc/keys",
    "proc/latency_stats",
    "proc/timer_list",
    "proc/timer_stats",
    "proc/sched_debug",
    "proc/scsi",
    "sys/firmware",
];

/// Kernel knobs of /proc that would change the host (reboot it through
/// sysrq-trigger, change sysctls): read-only (docker's default list).
pub const READONLY_PATHS: [&str; 5] = [
    "proc/bus",
    "proc/fs",
    "proc/irq",
    "proc/sys",
    "proc/sysrq-trigger",
];

/// Hides [`MASKED_PATHS`] (a file gets `/dev/null` bound over it, a
/// directory an empty read-only tmpfs) and makes [`READONLY_PATHS`]
/// read-only (bind onto itself, then remount read-only). Paths this kernel
/// does not have are skipped. The real protection against a root process in
/// a container comes with capabilities and user namespaces (security work);
/// this is the layer docker also adds.
fn mask_kernel_files(k: &Kernel, root: &Path) -> Result<(), KernelError> {
    for rel in MASKED_PATHS {
        let path = root.join(rel);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                k.mount("tmpfs", &path, "tmpfs", MsFlags::MS_RDONLY, "size=0")?
            }
            Ok(_) => {
                let null = root.join("dev/null").display().to_string();
                k.mount(&null, &path, "", MsFlags::MS_BIND, "")?
            }
            Err(_) => {}
        }
    }
    for rel in READONLY_PATHS {
        let path = root.join(rel);
        if std::fs::symlink_metadata(&path).is_ok() {
            let src = path.display().to_string();
            k.mount(&src, &path, "", MsFlags::MS_BIND | MsFlags::MS_REC, "")?;
            let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
            k.mount(&src, &path, "", ro | NOSUID_NODEV_NOEXEC, "")?;
        }
    }
    Ok(())
}

/// A minimal /dev on a small tmpfs: device nodes made with mknod, a private
/// devpts instance (so the container's ptys are its own), /dev/shm, /dev/mqueue.
fn setup_dev(k: &Kernel, root: &Path, nodes: DevNodes) -> Result<(), MountError> {
    let dev = mount_point(root, "dev")?;
    k.mount(
        "tmpfs",
        &dev,
        "tmpfs",
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        "mode=755,size=65536k",
    )?;
    for (name, major, minor) in DEVICES {
        match nodes {
            DevNodes::Mknod => k.mknod(&dev.join(name), DeviceType::Char, major, minor, 0o666)?,
            DevNodes::BindHost => {
                let target = dev.join(name);
                // The mount point: an empty file (a mount needs one).
                let _ = std::fs::File::create(&target);
                let host = format!("/dev/{name}");
                k.mount(&host, &target, "", MsFlags::MS_BIND, "")?;
            }
        }
    }
    let pts = ensure_dir(&dev, "pts");
    k.mount(
        "devpts",
        &pts,
        "devpts",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620",
    )?;
    let shm = ensure_dir(&dev, "shm");
    k.mount(
        "shm",
        &shm,
        "tmpfs",
        NOSUID_NODEV_NOEXEC,
        "mode=1777,size=65536k",
    )?;
    let mqueue = ensure_dir(&dev, "mqueue");
    k.mount("mqueue", &mqueue, "mqueue", NOSUID_NODEV_NOEXEC, "")?;
    for (link, target) in DEV_SYMLINKS {
        k.symlink(target, &dev.join(link))?;
    }
    Ok(())
}

/// Step 5: `merged` becomes `/`, the host's root is detached.
pub fn pivot_into(k: &Kernel, merged: &Path) -> Result<(), KernelError> {
    k.chdir(merged)?;
    k.pivot_root(Path::new("."), Path::new("."))?;
    k.umount(Path::new("."), true)?;
    k.chdir(Path::new("/"))
}

/// `root/name`, created if missing, for directories of a filesystem the
/// kernel just mounted (the `/dev` tmpfs, the cgroup tmpfs): the image has
/// no say there. Creating a mount point is not a kernel concept worth a
/// trace event.
fn ensure_dir(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    let _ = std::fs::create_dir_all(&dir);
    dir
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::double::FakeSyscalls;
    use crate::recorder::Recorder;
    use nix::errno::Errno;

    fn plan(root: &Path) -> RootfsPlan {
        std::fs::create_dir_all(root.join("merged")).unwrap();
        RootfsPlan::in_dir(
            root,
            vec![root.join("l2"), root.join("l1")],
            CgroupView::default(),
        )
    }

    const HYBRID: &str = "\
24 1 0:22 / /sys rw,nosuid - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
50 40 0:37 /x /sys/fs/cgroup/systemd/x rw - cgroup cgroup rw,name=systemd
";

    #[test]
    fn the_cgroup_view_repeats_the_hosts_hierarchies() {
        let links = vec![
            ("cpuacct".to_string(), "cpu,cpuacct".to_string()),
            ("cpu".to_string(), "cpu,cpuacct".to_string()),
        ];
        let view = CgroupView::from_mountinfo(HYBRID, links);
        assert!(view.tmpfs);
        let m = |d: &str, t: &str, o: &str| (d.to_string(), t.to_string(), o.to_string());
        assert_eq!(
            view.mounts,
            vec![
                m("cpu,cpuacct", "cgroup", "cpu,cpuacct"),
                m("memory", "cgroup", "memory"),
                m("systemd", "cgroup", "xattr,name=systemd"),
                m("unified", "cgroup2", ""),
            ]
        );
        assert_eq!(view.links[0], ("cpu".into(), "cpu,cpuacct".into()));

        let v2 = "30 24 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let view = CgroupView::from_mountinfo(v2, vec![]);
        assert_eq!(view.mounts, vec![m("", "cgroup2", "")]);
        assert!(!view.tmpfs);
        assert_eq!(
            CgroupView::from_mountinfo("", vec![]),
            CgroupView::default()
        );
    }

    /// Read-only cgroup mounts come after everything else of the rootfs
    /// (the init entered its cgroup namespace before): the tmpfs, each
    /// hierarchy, the symlinks, then the tmpfs made read-only.
    #[test]
    fn the_cgroup_view_is_mounted_read_only_last() {
        let tmp = tempfile::tempdir().unwrap();
        let mut p = plan(tmp.path());
        p.cgroup = CgroupView::from_mountinfo(
            HYBRID,
            vec![("cpu".to_string(), "cpu,cpuacct".to_string())],
        );
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        prepare_rootfs(&Kernel::new(&sys, &rec), &p).unwrap();
        let events = rec.events();
        let ops: Vec<&str> = events.iter().map(|e| e.op.as_str()).collect();
        let n = ops.len();
        let cg = tmp
            .path()
            .join("merged/sys/fs/cgroup")
            .display()
            .to_string();
        assert!(
            ops[n - 7].starts_with(&format!("mount(\"tmpfs\", \"{cg}\"")),
            "{ops:?}"
        );
        assert_eq!(
            ops[n - 5],
            format!(
                "mount(\"cgroup\", \"{cg}/memory\", \"cgroup\", \
                 MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC, \"memory\")"
            )
        );
        assert!(ops[n - 3].contains("\"cgroup2\""), "{ops:?}");
        assert!(ops[n - 2].starts_with("symlink(\"cpu,cpuacct\""), "{ops:?}");
        assert!(ops[n - 1].contains("MS_REMOUNT"), "{ops:?}");
        // The host's view is empty or mounts at least one cgroup filesystem.
        let host = CgroupView::of_host();
        assert!(host.mounts.iter().all(|(_, t, _)| t.starts_with("cgroup")));
    }

    #[test]
    fn rootfs_is_made_private_before_anything_is_mounted() {
        let tmp = tempfile::tempdir().unwrap();
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        prepare_rootfs(&Kernel::new(&sys, &rec), &plan(tmp.path())).unwrap();
        let calls = sys.calls();
        assert!(calls[0].starts_with("mount - / -"), "{calls:?}");
        assert!(calls[1].starts_with("mount overlay"), "{calls:?}");
        let l2 = tmp.path().join("l2").display().to_string();
        let l1 = tmp.path().join("l1").display().to_string();
        assert!(
            calls[1].contains(&format!("lowerdir={l2}:{l1},")),
            "{calls:?}"
        );
        let kinds: Vec<_> = rec.events().iter().map(|e| e.body.kind()).collect();
        assert_eq!(
            &kinds[..4],
            &["mount.propagation", "mount.overlay", "mount.fs", "mount.fs"]
        );
        // every device and symlink of the minimal /dev
        assert_eq!(
            kinds.iter().filter(|k| **k == "device.create").count(),
            DEVICES.len()
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == "fs.symlink").count(),
            DEV_SYMLINKS.len()
        );
    }

    #[test]
    fn a_failed_mount_is_recorded_with_its_errno_and_stops_the_setup() {
        let tmp = tempfile::tempdir().unwrap();
        let sys = FakeSyscalls::new();
        sys.fail_on("mount overlay", Errno::EINVAL);
        let rec = Recorder::in_memory();
        let err = prepare_rootfs(&Kernel::new(&sys, &rec), &plan(tmp.path())).unwrap_err();
        assert!(
            matches!(&err, MountError::Kernel(e) if e.errno == Errno::EINVAL),
            "{err}"
        );
        assert!(err.to_string().contains("overlay"), "{err}");
        let events = rec.events();
        assert_eq!(events.len(), 2, "nothing after the failure");
        assert!(!events[1].outcome.is_ok());
    }

    /// `proc`, `sys`, `dev` of the image: made when missing, refused when a
    /// symlink (even a dangling one, even one that stays inside) or not a
    /// directory; nothing is ever created through a link.
    #[test]
    fn mount_points_are_never_followed_out_of_the_rootfs() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("merged");
        std::fs::create_dir(&root).unwrap();
        assert_eq!(mount_point(&root, "proc").unwrap(), root.join("proc"));
        assert!(root.join("proc").is_dir());
        std::fs::create_dir(root.join("sys")).unwrap();
        assert_eq!(mount_point(&root, "sys").unwrap(), root.join("sys"));

        let outside = tmp.path().join("host");
        std::os::unix::fs::symlink(outside.join("a/b"), root.join("dev")).unwrap();
        let err = mount_point(&root, "dev").unwrap_err().to_string();
        assert!(err.contains("/dev como link simbólico"), "{err}");
        assert!(
            err.contains(&format!("-> {}", outside.join("a/b").display())),
            "{err}"
        );
        assert!(!outside.exists(), "nada criado fora");
        std::fs::remove_file(root.join("dev")).unwrap();
        std::os::unix::fs::symlink("sys", root.join("dev")).unwrap();
        assert!(
            mount_point(&root, "dev").is_err(),
            "nem um link que fica dentro"
        );
        std::fs::remove_file(root.join("dev")).unwrap();
        std::fs::write(root.join("dev"), "").unwrap();
        let err = mount_point(&root, "dev").unwrap_err().to_string();
        assert!(err.contains("não é um diretório"), "{err}");
    }

    #[test]
    fn pivot_root_uses_the_dot_dot_trick_and_detaches_the_old_root() {
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        pivot_into(&Kernel::new(&sys, &rec), Path::new("/x/merged")).unwrap();
        assert_eq!(
            sys.calls(),
            vec!["chdir /x/merged", "pivot_root . .", "umount2 .", "chdir /"]
        );
    }
}
