//! User namespaces (`casulo run --userns`): the container's root is not
//! the host's root.
//!
//! A user namespace has its own table of uids and gids. The container's
//! init is cloned in a new one (`CLONE_NEWUSER`, together with the other
//! namespaces, which it then *owns*), and the parent writes its maps
//! (`/proc/PID/uid_map`, `gid_map`): `0 100000 65536` means uids 0–65535
//! inside are 100000–165535 on the host. Inside, the process is root with
//! docker's capabilities — but capabilities *of its namespace*: they work
//! on what the namespace owns (its hostname, its network, its mounts, files
//! owned by mapped ids) and not on what belongs to the host's root (kernel
//! modules, devices, the host's `/proc/sys`, files owned by the host's uid 0).
//!
//! The range comes from `/etc/subuid` and `/etc/subgid` (the entry of a
//! `casulo` user, else root's, as podman does), else [`DEFAULT_RANGE`].
//!
//! **The layers.** The image's files are owned by the host's 0, which does
//! not exist inside: seen from the namespace they would all be `nobody`'s.
//! Docker's old `--userns-remap` made a chowned copy of every layer per
//! range; casulo uses *idmapped mounts* (Linux 5.12; overlayfs on idmapped
//! layers since 5.19; layers given to overlayfs as descriptors since 6.13,
//! detached ones — never attached on the host — since 6.15), which change
//! the owners only as seen through one mount, not on disk.
//! Only the host's root may idmap a host filesystem, so the parent does it
//! (order below) and hands the finished overlay, a *detached* mount, to the
//! init over a unix socket (`SCM_RIGHTS`); a detached mount that was never
//! attached goes away with its last descriptor, so nothing can be left
//! mounted on the host. Where the kernel or the filesystem cannot idmap, the
//! run is refused with the reason (no chowned copy: it costs a full copy of
//! every image per range, and the refusal says what is missing).
//!
//! **What the namespace's root can do.** Checked on this machine's kernel
//! (6.18) as root of such a namespace with *every* capability (what
//! `--privileged --userns` will give; today `--userns` keeps docker's 14
//! and the seccomp filter on top): it may mount a tmpfs or set the hostname
//! (its mount and UTS namespaces are its own), but `mknod` of any device
//! (even `/dev/null`'s 1:3) is refused (`EPERM`), writing the host's
//! `/proc/sys/kernel/*` is refused (`EACCES`: those files belong to the
//! host's 0), and so are reading a host disk (`/dev/vda`) or `/etc/shadow`
//! if it could reach them. Loading a module needs `CAP_SYS_MODULE` of the
//! host's namespace (this kernel has no modules at all: `ENOSYS`). In the
//! e2e tests (`tests/tests/userns.rs`) the same refusals are checked in a
//! real `--userns` container, with the bridge network (binding port 80 is
//! allowed: the network namespace is the container's), the cgroup
//! namespace and the seccomp filter working together.
//!
//! Parent, after `clone`, before the go ([`prepare_parent`]):
//! 1. write `uid_map` and `gid_map` (`namespace.user` each); `setgroups` is
//!    left allowed: the writer is privileged, and images need `setgroups`;
//! 2. give the upper and work directories to the mapped root (`chown`);
//! 3. each layer: `open_tree(OPEN_TREE_CLONE)` + `mount_setattr(MOUNT_ATTR_IDMAP)`
//!    with the init's user namespace (`mount.idmap`);
//! 4. the overlay with `fsopen`/`fsconfig(lowerdir+ = each layer's fd)`/
//!    `fsmount` (`mount.overlay`), sent to the init.
//!
//! Init, in its own namespaces ([`enter_rootfs`]):
//! 1. mounts private; receive the overlay and attach it at `merged`
//!    (`move_mount`), `chdir` into it — still as the host's uid 0, the
//!    owner of the private state directory on the way;
//! 2. become root *of the namespace* (`setgroups([])`, `setgid(0)`,
//!    `setuid(0)`: host 100000); from here every path is relative to the
//!    overlay, since 100000 may not walk the host's `0700` state dir;
//! 3. the rest of the rootfs as usual, but `/dev`'s devices are the host's
//!    bound (`mknod` of a device is never allowed in a user namespace).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use casulo_trace::IdRange;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::kernel::{Kernel, KernelError};
use crate::mounts::{self, RootfsPlan};

/// Podman's and docker's usual range when `/etc/subuid` has none for us.
pub const DEFAULT_RANGE: (u32, u32) = (100_000, 65_536);

/// The ids a `--userns` container gets: `count` ids from 0 inside are
/// `uid`/`gid` onwards on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMapping {
    pub uid: u32,
    pub gid: u32,
    pub count: u32,
    /// Where the range came from, said to the user: `/etc/subuid (casulo)`
    /// or `padrão`.
    pub from: String,
}

impl IdMapping {
    pub fn uid_ranges(&self) -> Vec<IdRange> {
        vec![IdRange {
            inside: 0,
            outside: self.uid,
            count: self.count,
        }]
    }

    pub fn gid_ranges(&self) -> Vec<IdRange> {
        vec![IdRange {
            inside: 0,
            outside: self.gid,
            count: self.count,
        }]
    }

    /// `0 100000 65536 (de /etc/subuid, usuário casulo)`.
    pub fn describe(&self) -> String {
        let gid = if self.gid == self.uid {
            String::new()
        } else {
            format!(", gids a partir de {}", self.gid)
        };
        format!(
            "root do contêiner = uid {} do host ({} ids{gid}; {})",
            self.uid, self.count, self.from
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UserNsError {
    #[error("{file}: a linha {line:?} não tem a forma NOME:INÍCIO:QUANTIDADE")]
    BadLine { file: String, line: String },
    #[error(
        "{file}: o intervalo de {name} começa em 0 — o root do contêiner seria o root do \
         host; use um intervalo acima dos usuários do sistema (ex.: {name}:100000:65536)"
    )]
    StartsAtZero { file: String, name: String },
    #[error(
        "--userns {0:?}: use --userns (ou --userns=auto) para mapear o root do contêiner \
         num intervalo sem privilégios, ou --userns=host (o padrão) para não mapear"
    )]
    BadMode(String),
}

/// Why the parent's part ([`prepare_parent`]) failed. `container` turns it
/// into its `RunError` (the same messages, exit code 125): this module sits
/// below `container` and does not name its error.
#[derive(Debug)]
pub enum PrepareError {
    Kernel(KernelError),
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Idmapped layers could not be made: why, and what to do.
    NoIdmap(String),
}

impl From<KernelError> for PrepareError {
    fn from(e: KernelError) -> Self {
        PrepareError::Kernel(e)
    }
}

impl PrepareError {
    fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PrepareError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// `--userns[=MODE]`: `auto` (or nothing) maps, `host` does not.
pub fn parse_mode(mode: &str, etc: &Path) -> Result<Option<IdMapping>, UserNsError> {
    match mode {
        "" | "auto" => resolve(etc).map(Some),
        "host" => Ok(None),
        other => Err(UserNsError::BadMode(other.to_string())),
    }
}

/// The range for casulo, from `etc/subuid` and `etc/subgid`: the entry
/// of a user `casulo`, else `root`'s (or `0`'s); else [`DEFAULT_RANGE`].
pub fn resolve(etc: &Path) -> Result<IdMapping, UserNsError> {
    let uid = find_range(&etc.join("subuid"))?;
    let gid = find_range(&etc.join("subgid"))?;
    Ok(match (uid, gid) {
        (Some((name, u, uc)), Some((_, g, gc))) => IdMapping {
            uid: u,
            gid: g,
            count: uc.min(gc),
            from: format!("de {}/subuid e subgid, usuário {name}", etc.display()),
        },
        _ => IdMapping {
            uid: DEFAULT_RANGE.0,
            gid: DEFAULT_RANGE.0,
            count: DEFAULT_RANGE.1,
            from: format!(
                "intervalo padrão: {}/subuid e subgid não têm linha para casulo nem root",
                etc.display()
            ),
        },
    })
}

/// `(name, start, count)` of the first line for `casulo`, else for root.
fn find_range(file: &Path) -> Result<Option<(String, u32, u32)>, UserNsError> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Ok(None);
    };
    let mut found: Vec<(String, u32, u32)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || UserNsError::BadLine {
            file: file.display().to_string(),
            line: line.to_string(),
        };
        let mut parts = line.split(':');
        let (Some(name), Some(start), Some(count), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let (Ok(start), Ok(count)) = (start.parse::<u32>(), count.parse::<u32>()) else {
            return Err(bad());
        };
        if count > 0 {
            found.push((name.to_string(), start, count));
        }
    }
    let pick = ["casulo", "root", "0"]
        .iter()
        .find_map(|want| found.iter().find(|(n, _, _)| n == want))
        .cloned();
    match pick {
        Some((name, 0, _)) => Err(UserNsError::StartsAtZero {
            file: file.display().to_string(),
            name,
        }),
        other => Ok(other),
    }
}

/// A socket pair for handing the overlay to the init: (parent's end,
/// init's end).
pub fn channel() -> std::io::Result<(OwnedFd, OwnedFd)> {
    crate::fd_channel::pair()
}

/// Parent steps 1–4 (module doc), for the init `pid` just cloned in a new
/// user namespace; the overlay goes over `channel`.
pub fn prepare_parent(
    k: &Kernel,
    pid: Pid,
    ids: &IdMapping,
    plan: &RootfsPlan,
    channel: &OwnedFd,
) -> Result<(), PrepareError> {
    k.write_id_map(pid, "uid", &ids.uid_ranges())?;
    k.write_id_map(pid, "gid", &ids.gid_ranges())?;
    for dir in [&plan.upperdir, &plan.workdir] {
        std::os::unix::fs::chown(dir, Some(ids.uid), Some(ids.gid)).map_err(|e| {
            PrepareError::io("não consegui dar ao root do contêiner o diretório", dir, e)
        })?;
    }
    let ns_path = format!("/proc/{pid}/ns/user");
    let userns = std::fs::File::open(&ns_path)
        .map_err(|e| PrepareError::io("não consegui abrir o namespace de usuário", &ns_path, e))?;
    let mut layers = Vec::new();
    for dir in &plan.lowerdirs {
        let fd = k
            .idmap_layer(dir, pid, userns.as_fd())
            .map_err(|e| no_idmap(e, dir))?;
        layers.push(fd);
    }
    let names: Vec<String> = plan
        .lowerdirs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let fds: Vec<BorrowedFd> = layers.iter().map(|f| f.as_fd()).collect();
    let overlay = k
        .overlay_detached(&names, &fds, &plan.upperdir, &plan.workdir, &plan.merged)
        .map_err(|e| no_idmap(e, &plan.upperdir))?;
    send_fd(channel, overlay.as_fd()).map_err(|e| {
        PrepareError::io(
            "não consegui entregar o overlay ao init do contêiner",
            "socket",
            e,
        )
    })
}

/// The refusal when idmapped layers cannot be made: why, and what to do.
fn no_idmap(e: KernelError, dir: &Path) -> PrepareError {
    PrepareError::NoIdmap(format!(
        "--userns precisa de montagens idmapped das camadas (Linux 6.13 ou mais novo, \
             num sistema de arquivos que as aceite: ext4, xfs, btrfs, tmpfs…), e aqui não deu \
             para {}: {e}. Rode sem --userns, ou veja `casulo info`",
        dir.display()
    ))
}

/// Init steps 1–3 (module doc): returns the container's root as the init
/// now names it (`.`, the overlay, its working directory).
pub fn enter_rootfs(k: &Kernel, plan: &RootfsPlan, channel: OwnedFd) -> Result<PathBuf, String> {
    let engine = |e: KernelError| format!("falha ao preparar o contêiner: {e}");
    k.set_propagation(Path::new("/"), casulo_trace::Propagation::Private, true)
        .map_err(engine)?;
    let overlay =
        recv_fd(&channel).map_err(|e| format!("não recebi o overlay do casulo (--userns): {e}"))?;
    drop(channel);
    k.attach_mount(overlay.as_fd(), "overlay", &plan.merged)
        .map_err(engine)?;
    k.chdir(&plan.merged).map_err(engine)?;
    drop(overlay);
    let root = crate::kernel::User {
        uid: 0,
        gid: 0,
        groups: vec![],
        name: Some("root".into()),
        home: "/root".into(),
    };
    k.switch_user(&root).map_err(engine)?;
    let here = PathBuf::from(".");
    mounts::populate(k, &here, &plan.cgroup, mounts::DevNodes::BindHost)
        .map_err(|e| format!("falha ao preparar o contêiner: {e}"))?;
    Ok(here)
}

/// Whether `--userns` can work here (for `casulo info`): a throw-away
/// user namespace, an idmapped directory of `dir`'s filesystem (where the
/// layers live) and an overlay on it, both detached, all gone when this
/// returns. `Err` is the kernel's refusal.
pub fn probe(k: &Kernel, dir: &Path, ids: &IdMapping) -> Result<(), String> {
    let tmp = dir.join(format!(".userns-probe-{}", std::process::id()));
    std::fs::create_dir(&tmp).map_err(|e| format!("não consegui criar {}: {e}", tmp.display()))?;
    let result = probe_in(k, &tmp, ids);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn probe_in(k: &Kernel, tmp: &Path, ids: &IdMapping) -> Result<(), String> {
    let (layer, upper, work) = (tmp.join("layer"), tmp.join("upper"), tmp.join("work"));
    for d in [&layer, &upper, &work] {
        std::fs::create_dir(d).map_err(|e| e.to_string())?;
    }
    // A helper that only waits, in a new user namespace, until `go` closes.
    let (wait, go) = nix::unistd::pipe().map_err(|e| e.to_string())?;
    let pid = match k
        .clone_process(&[casulo_trace::NsKind::User])
        .map_err(|e| e.to_string())?
    {
        crate::kernel::Forked::Child => {
            drop(go);
            let mut byte = [0u8; 1];
            let _ = nix::unistd::read(&wait, &mut byte);
            // SAFETY: _exit, no destructors of the parent's copy run.
            unsafe { libc::_exit(0) }
        }
        crate::kernel::Forked::Parent(pid) => pid,
    };
    drop(wait);
    let result = (|| {
        k.write_id_map(pid, "uid", &ids.uid_ranges())?;
        k.write_id_map(pid, "gid", &ids.gid_ranges())?;
        let ns = std::fs::File::open(format!("/proc/{pid}/ns/user")).map_err(|e| KernelError {
            op: format!("open /proc/{pid}/ns/user"),
            errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        })?;
        let fd = k.idmap_layer(&layer, pid, ns.as_fd())?;
        let names = [layer.display().to_string()];
        k.overlay_detached(&names, &[fd.as_fd()], &upper, &work, tmp)
            .map(drop)
    })();
    drop(go);
    let _ = k.wait(pid, true);
    result.map_err(|e| e.to_string())
}

fn send_fd(channel: &OwnedFd, fd: BorrowedFd) -> std::io::Result<()> {
    crate::fd_channel::send(channel.as_fd(), fd, b"o")
}

fn recv_fd(channel: &OwnedFd) -> std::io::Result<OwnedFd> {
    match crate::fd_channel::receive(channel.as_fd(), &mut [0u8; 1])? {
        Some((fd, _)) => Ok(fd),
        None => Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "o casulo fechou o canal sem mandar o overlay",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::double::FakeSyscalls;
    use crate::recorder::Recorder;

    /// The init's side, on the double: the overlay arrives over the
    /// channel and is attached at `merged`, the init becomes the
    /// namespace's root *after* entering it, every later path is relative
    /// to it, and `/dev` binds the host's devices (no `mknod`).
    #[test]
    fn the_init_attaches_the_overlay_becomes_root_then_mounts_relative_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let plan = RootfsPlan::in_dir(
            tmp.path(),
            vec![tmp.path().join("layer")],
            Default::default(),
        );
        let (parent, child) = channel().unwrap();
        let overlay = std::fs::File::open("/dev/null").unwrap();
        send_fd(&parent, overlay.as_fd()).unwrap();
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let root = enter_rootfs(&Kernel::new(&sys, &rec), &plan, child).unwrap();
        assert_eq!(root, Path::new("."));
        let calls = sys.calls();
        let merged = plan.merged.display().to_string();
        assert!(calls[0].starts_with("mount - / -"), "{calls:?}");
        assert_eq!(calls[1], format!("attach_mount {merged}"));
        assert_eq!(calls[2], format!("chdir {merged}"));
        assert_eq!(&calls[3..6], &["setgroups []", "setgid 0", "setuid 0"]);
        assert!(calls[6].starts_with("mount proc ./proc proc"), "{calls:?}");
        assert!(
            calls.iter().any(|c| c == "mount /dev/null ./dev/null - -"),
            "{calls:?}"
        );
        assert!(!calls.iter().any(|c| c.starts_with("mknod")), "{calls:?}");
        let kinds: Vec<&str> = rec.events().iter().map(|e| e.body.kind()).collect();
        assert_eq!(
            &kinds[..4],
            &[
                "mount.propagation",
                "mount.fs",
                "process.chdir",
                "process.user"
            ]
        );
        assert!(!kinds.contains(&"device.create"));
    }

    /// A parent that closes the channel without the overlay (it failed):
    /// the init stops with a message, before mounting anything else.
    #[test]
    fn an_init_without_its_overlay_stops() {
        let tmp = tempfile::tempdir().unwrap();
        let plan = RootfsPlan::in_dir(tmp.path(), vec![], Default::default());
        let (parent, child) = channel().unwrap();
        drop(parent);
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let err = enter_rootfs(&Kernel::new(&sys, &rec), &plan, child).unwrap_err();
        assert!(err.contains("não recebi o overlay"), "{err}");
        assert_eq!(sys.calls().len(), 1, "{:?}", sys.calls());
    }

    #[test]
    fn the_range_comes_from_subuid_for_casulo_then_root_else_the_default() {
        let etc = tempfile::tempdir().unwrap();
        let none = resolve(etc.path()).unwrap();
        assert_eq!((none.uid, none.gid, none.count), (100_000, 100_000, 65_536));
        assert!(none.from.contains("padrão"), "{}", none.from);

        std::fs::write(
            etc.path().join("subuid"),
            "aluno:165536:65536\nroot:231072:65536\n",
        )
        .unwrap();
        std::fs::write(etc.path().join("subgid"), "# x\nroot:300000:70000\n").unwrap();
        let root = resolve(etc.path()).unwrap();
        assert_eq!((root.uid, root.gid, root.count), (231_072, 300_000, 65_536));
        assert!(root.from.contains("root"), "{}", root.from);

        std::fs::write(
            etc.path().join("subuid"),
            "root:231072:65536\ncasulo:400000:65536\n",
        )
        .unwrap();
        std::fs::write(etc.path().join("subgid"), "casulo:400000:65536\n").unwrap();
        let casulo = resolve(etc.path()).unwrap();
        assert_eq!((casulo.uid, casulo.gid), (400_000, 400_000));

        std::fs::write(etc.path().join("subuid"), "casulo:0:65536\n").unwrap();
        let zero = resolve(etc.path()).unwrap_err().to_string();
        assert!(zero.contains("começa em 0"), "{zero}");
        std::fs::write(etc.path().join("subuid"), "casulo:abc\n").unwrap();
        assert!(matches!(
            resolve(etc.path()),
            Err(UserNsError::BadLine { .. })
        ));

        assert!(parse_mode("host", etc.path()).unwrap().is_none());
        assert!(parse_mode("keep-id", etc.path()).is_err());
    }
}
