//! The trace's data types: one header line, then one [`Event`] per line.
//!
//! Shape of an event line (JSON, one per line):
//!
//! ```json
//! {"seq":7,"t_us":1532,"pid":4242,"kind":"mount.overlay",
//!  "target":"/var/lib/casulo/containers/ab12/merged",
//!  "lowerdirs":["/var/lib/casulo/layers/3f…"],"upperdir":"…/upper","workdir":"…/work",
//!  "op":"mount(\"overlay\", \"…/merged\", \"overlay\", 0, \"lowerdir=…,upperdir=…,workdir=…\")",
//!  "outcome":"ok"}
//! ```
//!
//! Rules every writer keeps and every reader checks (see [`crate::reader`]):
//! - `seq` starts at 0 and has no gaps; `t_us` (microseconds since the header's
//!   start, from a monotonic clock) never goes back.
//! - `pid` is the *host* pid of the process that acted (the container's init
//!   is seen from the host, not as its own PID 1).
//! - `kind` is dotted `area.verb`; its own fields sit beside the common ones.
//! - `op` is the real kernel call or file write, in readable C-like form.
//! - `outcome` is `"ok"` or `{"error":{"errno":2,"name":"ENOENT","message":"…"}}`.
//!
//! Extending: later issues add variants to [`EventBody`] (and to
//! [`crate::KINDS`] and the catalog); readers skip kinds they do not know and
//! fields they do not know, so old readers keep working on new traces.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Name written in every header's `format` field.
pub const FORMAT_NAME: &str = "casulo-trace";
/// Bumped only on incompatible changes (new kinds/fields are compatible).
pub const FORMAT_VERSION: u32 = 1;

/// Line 1 of every trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Version of the `casulo` that wrote the trace.
    pub engine_version: String,
    /// Host kernel release (`uname -r`).
    pub kernel: String,
    /// How the host mounts cgroups: `v1`, `v2`, `hybrid` or `unknown`.
    pub cgroup_mode: String,
    /// The container this trace is about.
    pub container: ContainerInfo,
    /// Wall-clock start, RFC 3339 (UTC). `t_us` of events counts from here.
    pub started_at: String,
    /// Written by a rootless casulo (an ordinary user): it ran as root of
    /// its own user namespace, whose maps follow.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rootless: bool,
    /// Rootless: that namespace's uid map (`0 1000 1`: its root is host uid 1000).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uid_map: Vec<IdRange>,
    /// Rootless: its gid map.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gid_map: Vec<IdRange>,
}

/// Which container a trace describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerInfo {
    /// 64 hex digits, like docker's container ids.
    pub id: String,
    /// Human name (given with `--name` or generated).
    pub name: String,
    /// Image reference as the user wrote it, e.g. `busybox:latest`.
    pub image: String,
    /// Image id (`sha256:` digest of the image config), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// The command that was asked for (entrypoint + cmd, resolved).
    #[serde(default)]
    pub command: Vec<String>,
}

/// One thing the engine asked the kernel to do, and what came of it.
// Read from JSON by hand (`event_from_json`): serde's derive for the
// flattened, tagged body was a sixth of the visualizer's code.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Event {
    /// Position in the trace: 0, 1, 2, … with no gaps.
    pub seq: u64,
    /// Microseconds since the trace started (monotonic clock).
    pub t_us: u64,
    /// Host pid of the process that performed the operation.
    pub pid: i32,
    /// The kind (`kind` field) and its own fields.
    #[serde(flatten)]
    pub body: EventBody,
    /// The real operation, readable: `unshare(CLONE_NEWCGROUP)`, `write /proc/…`.
    pub op: String,
    /// What the kernel answered.
    pub outcome: Outcome,
}

/// Result of the operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The call succeeded.
    Ok,
    /// The call failed with this errno.
    Error(Errno),
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

/// A failed call: errno number, its symbolic name and the C library message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Errno {
    pub errno: i32,
    /// e.g. `ENOENT`.
    pub name: String,
    /// e.g. `No such file or directory`.
    pub message: String,
}

/// The six namespace kinds a container gets (user comes with the security work).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NsKind {
    Pid,
    Mnt,
    Uts,
    Ipc,
    Net,
    Cgroup,
    User,
    Time,
}

impl NsKind {
    /// Every kind, in the order casulo creates them.
    pub const ALL: [NsKind; 8] = [
        NsKind::Pid,
        NsKind::Mnt,
        NsKind::Uts,
        NsKind::Ipc,
        NsKind::Net,
        NsKind::Cgroup,
        NsKind::User,
        NsKind::Time,
    ];

    /// The `CLONE_NEW*` flag name.
    pub fn clone_flag(self) -> &'static str {
        match self {
            NsKind::Pid => "CLONE_NEWPID",
            NsKind::Mnt => "CLONE_NEWNS",
            NsKind::Uts => "CLONE_NEWUTS",
            NsKind::Ipc => "CLONE_NEWIPC",
            NsKind::Net => "CLONE_NEWNET",
            NsKind::Cgroup => "CLONE_NEWCGROUP",
            NsKind::User => "CLONE_NEWUSER",
            NsKind::Time => "CLONE_NEWTIME",
        }
    }

    /// The file name under `/proc/<pid>/ns/`.
    pub fn proc_name(self) -> &'static str {
        match self {
            NsKind::Pid => "pid",
            NsKind::Mnt => "mnt",
            NsKind::Uts => "uts",
            NsKind::Ipc => "ipc",
            NsKind::Net => "net",
            NsKind::Cgroup => "cgroup",
            NsKind::User => "user",
            NsKind::Time => "time",
        }
    }
}

/// How a namespace came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NsVia {
    /// A new child process was born in it (`clone` with `CLONE_NEW*`).
    Clone,
    /// The calling process moved itself into it (`unshare`).
    Unshare,
}

/// How a process got into its cgroup (`cgroup.attach`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttachVia {
    /// Its pid was written to the cgroup's `cgroup.procs` (it existed
    /// before, elsewhere).
    #[default]
    Write,
    /// It was born there: `clone3` with `CLONE_INTO_CGROUP` and the
    /// cgroup's directory (cgroup v2 only).
    Clone3,
    /// It moved itself, one thread: `0` (itself) written to the v1
    /// cgroup's `tasks`. A single-threaded process so moves whole, and the
    /// kernel skips the global lock a `cgroup.procs` write takes (whose
    /// first use waits for an RCU grace period, ~10 ms).
    Tasks,
}

impl AttachVia {
    pub fn is_write(&self) -> bool {
        *self == AttachVia::Write
    }
}

/// What a `process.tty` event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TtyAction {
    /// The pseudo-terminal was opened and became the init's terminal.
    Open,
    /// Its window size changed.
    Resize,
}

/// Why someone left a container's terminal (`terminal.detach`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DetachReason {
    /// The detach keys (Ctrl-P Ctrl-Q, or `--detach-keys`): the container goes on.
    Keys,
    /// The client went away (its terminal closed, it was killed, the
    /// connection dropped): the container goes on.
    Gone,
    /// The container ended: every attacher is let go.
    Ended,
}

/// Mount propagation types (`mount --make-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Propagation {
    Private,
    Slave,
    Shared,
}

/// Kind of device node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceType {
    Char,
    Block,
}

/// One range of an id map: `count` ids from `inside` (as the user
/// namespace sees them) are `outside` onwards on the host. The line
/// `0 100000 65536` of `/proc/PID/uid_map`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// Every event kind with its own fields. The JSON `kind` value is the
/// `rename` of each variant; [`crate::KINDS`] lists them all.
// Read through `Event`; the derived `Deserialize` is only for the test
// that checks the hand-written reader against it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[cfg_attr(test, derive(Deserialize))]
#[serde(tag = "kind")]
pub enum EventBody {
    /// A process was created with `clone`, possibly in new namespaces.
    #[serde(rename = "process.clone")]
    ProcessClone {
        /// Host pid of the new process.
        child_pid: i32,
        /// Flags passed, e.g. `["CLONE_NEWPID", "CLONE_NEWNS", "SIGCHLD"]`.
        flags: Vec<String>,
    },
    /// A namespace was created (one event per kind, after `clone`/`unshare`).
    #[serde(rename = "namespace.create")]
    NamespaceCreate {
        ns: NsKind,
        via: NsVia,
        /// Inode of `/proc/<pid>/ns/<kind>`: the namespace's identity.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inode: Option<u64>,
        /// Inode of the namespace the process was in before (the host's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host_inode: Option<u64>,
    },
    /// A process joined an existing namespace (`setns`): how `casulo exec`
    /// enters a running container.
    #[serde(rename = "namespace.join")]
    NamespaceJoin {
        ns: NsKind,
        /// Host pid whose namespace was joined (the container's init).
        target_pid: i32,
        /// Inode of `/proc/<target_pid>/ns/<kind>`: the namespace joined.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inode: Option<u64>,
    },
    /// One id map of a user namespace was written (`/proc/PID/uid_map` or
    /// `gid_map`): ids inside the namespace become other ids on the host.
    #[serde(rename = "namespace.user")]
    NamespaceUser {
        /// Host pid whose user namespace got the map (the container's init).
        target_pid: i32,
        /// `uid` or `gid`.
        map: String,
        /// The ranges written, one per line of the file.
        ranges: Vec<IdRange>,
    },
    /// A detached copy of a directory's mount (`open_tree(OPEN_TREE_CLONE)`)
    /// made *idmapped* (`mount_setattr(MOUNT_ATTR_IDMAP)`): through it, a
    /// file the host sees as owned by `0` shows as owned by the user
    /// namespace's root (`0 → 100000`), without touching the disk.
    #[serde(rename = "mount.idmap")]
    MountIdmap {
        /// The host directory (an image layer).
        source: String,
        /// Host pid whose user namespace gives the mapping.
        userns_pid: i32,
    },
    /// The container's rootfs: an overlay of read-only image layers and a
    /// read/write upper layer.
    #[serde(rename = "mount.overlay")]
    MountOverlay {
        target: String,
        /// Image layers, top-most first (overlayfs order).
        lowerdirs: Vec<String>,
        upperdir: String,
        workdir: String,
    },
    /// Any other filesystem mount (proc, sysfs, tmpfs, devpts, mqueue, bind…).
    #[serde(rename = "mount.fs")]
    MountFs {
        fstype: String,
        source: String,
        target: String,
        /// Mount flags as names, e.g. `["MS_NOSUID", "MS_RDONLY"]`.
        flags: Vec<String>,
        /// Filesystem-specific options (`mode=755`), empty when none.
        #[serde(default)]
        data: String,
    },
    /// Change of propagation of a mount (and, if recursive, everything under it).
    #[serde(rename = "mount.propagation")]
    MountPropagation {
        target: String,
        propagation: Propagation,
        recursive: bool,
    },
    /// The process's root became `new_root`; the old root went to `put_old`.
    #[serde(rename = "mount.pivot_root")]
    MountPivotRoot { new_root: String, put_old: String },
    /// A mount was removed (`MNT_DETACH`: lazily, once no one uses it).
    #[serde(rename = "mount.umount")]
    MountUmount { target: String, detach: bool },
    /// A device node was created (`mknod`).
    #[serde(rename = "device.create")]
    DeviceCreate {
        path: String,
        #[serde(rename = "type")]
        dev_type: DeviceType,
        major: u64,
        minor: u64,
        mode: u32,
    },
    /// A symbolic link was created inside the container's filesystem.
    #[serde(rename = "fs.symlink")]
    FsSymlink { target: String, link: String },
    /// A value was written into a kernel file under /proc or /sys.
    #[serde(rename = "fs.write")]
    FsWrite { path: String, value: String },
    /// The UTS namespace's hostname was set.
    #[serde(rename = "uts.sethostname")]
    UtsSethostname { hostname: String },
    /// A network interface was brought up (e.g. `lo` in a new net namespace).
    #[serde(rename = "net.link_up")]
    NetLinkUp { ifname: String },
    /// The process changed its working directory.
    #[serde(rename = "process.chdir")]
    ProcessChdir { path: String },
    /// The process changed its root directory (`chroot`).
    #[serde(rename = "process.chroot")]
    ProcessChroot { path: String },
    /// The process dropped root and became the image's user
    /// (`setgroups`, `setgid`, `setuid`, in that order).
    #[serde(rename = "process.user")]
    ProcessUser {
        uid: u32,
        gid: u32,
        /// Supplementary groups set with `setgroups`.
        groups: Vec<u32>,
        /// The name from the image's `/etc/passwd`, when it has one.
        name: Option<String>,
    },
    /// The process cut its capabilities: docker's default 14, changed by
    /// `--cap-add`/`--cap-drop`, or all of them with `--privileged`. Dropped
    /// from the bounding set (`prctl(PR_CAPBSET_DROP)`), the ambient set
    /// cleared, and the effective, permitted and inheritable sets set with
    /// `capset`.
    #[serde(rename = "security.capabilities")]
    SecurityCapabilities {
        /// Capabilities kept, in the kernel's spelling (`CAP_CHOWN`, …).
        kept: Vec<String>,
        /// Capabilities removed from every set.
        dropped: Vec<String>,
        /// The kept set as `/proc/PID/status` shows it in `CapEff` and
        /// `CapBnd` (16 hex digits, e.g. `00000000a80425fb`).
        mask: String,
        /// `--privileged`: every capability kept (and, after this event, no
        /// `security.no_new_privs` and no seccomp filter).
        #[serde(default)]
        privileged: bool,
        /// Kept beyond docker's default because of `--cap-add`.
        #[serde(default)]
        added: Vec<String>,
        /// Taken from docker's default because of `--cap-drop`.
        #[serde(default)]
        removed: Vec<String>,
    },
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: from now on no `execve` can grant
    /// privileges (setuid bits and file capabilities are ignored). Absent
    /// from a `--privileged` container's trace.
    #[serde(rename = "security.no_new_privs")]
    SecurityNoNewPrivs {},
    /// The seccomp profile: a filter (`seccomp(SECCOMP_SET_MODE_FILTER)`,
    /// small BPF programs the kernel runs on every system call of the
    /// process and of its children) compiled from a profile in docker's
    /// format, or none at all (`unconfined`, `--privileged`).
    #[serde(rename = "security.seccomp")]
    SecuritySeccomp {
        /// `filter` (what `/proc/PID/status` shows as `Seccomp: 2`), or
        /// `disabled` (no filter: `Seccomp: 0`).
        mode: String,
        /// Where the profile came from: `padrão` (casulo's, embedded),
        /// `arquivo` (`--security-opt seccomp=ARQUIVO.json`) or `unconfined`.
        #[serde(default)]
        profile: String,
        /// The profile's file, for `arquivo`.
        #[serde(default)]
        path: Option<String>,
        /// What happens to a call no rule names (`errno(EPERM)` for an
        /// allow-list, `allow` for a deny-list).
        default_action: String,
        /// How many system calls the profile's rules name on this machine
        /// (after the conditions on capabilities, architecture and kernel).
        #[serde(default)]
        rule_count: u32,
        /// How many of them are allowed (some only with given arguments).
        #[serde(default)]
        allowed_count: u32,
        /// What happens to the calls in `blocked` (`errno(EPERM)`, …).
        blocked_action: String,
        /// How many system calls have a rule that refuses them (the length
        /// of `blocked`).
        blocked_count: u32,
        /// The calls a rule refuses by name (`clone3`, …; in an allow-list
        /// every call not allowed is refused as well, by `default_action`).
        blocked: Vec<String>,
        /// How many BPF programs were stacked (one per action, and one that
        /// refuses other ABIs).
        #[serde(default)]
        filters: u32,
        /// Names of the profile that are not system calls of this
        /// architecture (another one's, like `_llseek`): left out.
        #[serde(default)]
        ignored: Vec<String>,
    },
    /// `prctl(PR_SET_DUMPABLE, 0)`: the process (casulo's init, before it
    /// becomes the container's program) cannot be ptraced, its `/proc/PID/*`
    /// files (`exe`, `mem`, `fd/`) belong to root and are closed to others,
    /// and it leaves no core dump: nothing of the container can reach the
    /// host's casulo binary through `/proc/PID/exe`.
    #[serde(rename = "security.non_dumpable")]
    SecurityNonDumpable {},
    /// `setsid()`: the process starts a new session (and process group)
    /// and so has no controlling terminal: nothing in the container can
    /// type into the caller's terminal with `ioctl(TIOCSTI)` or take it
    /// over with `TIOCSCTTY` (both need `CAP_SYS_ADMIN` for a terminal that
    /// is not one's own).
    #[serde(rename = "process.setsid")]
    ProcessSetsid {
        /// It had a controlling terminal before (casulo ran from one).
        had_terminal: bool,
    },
    /// `close_range(first, ~0, CLOSE_RANGE_CLOEXEC)`: every file descriptor
    /// from `first` on is closed at the coming `execve`; only 0, 1 and 2
    /// (stdin, stdout, stderr) reach the container's program.
    #[serde(rename = "process.fds_closed")]
    ProcessFdsClosed {
        /// The first descriptor closed (3).
        first: i32,
        /// Descriptors that were open without close-on-exec, inherited
        /// from whoever started casulo: without this call they would have
        /// crossed into the container.
        inherited: Vec<i32>,
    },
    /// A pseudo-terminal for the container (`casulo run -t`). `open`: the
    /// init opened `/dev/ptmx` of the container's own devpts, got the
    /// slave `path` (`/dev/pts/0`), set its window size, made it its
    /// controlling terminal (`ioctl(TIOCSCTTY)`: it leads a session of its
    /// own since `process.setsid`) and its stdin, stdout and stderr, and
    /// sent the master to casulo, which copies it to and from the user's
    /// terminal. `resize`: the user's window changed size and casulo set
    /// the new one on the master (`ioctl(TIOCSWINSZ)`); the kernel then
    /// sends `SIGWINCH` to the terminal's foreground process group.
    #[serde(rename = "process.tty")]
    ProcessTty {
        action: TtyAction,
        /// The slave, as the container sees it (`/dev/pts/0`).
        path: String,
        /// The window size (0 × 0: unknown, casulo's output is not a terminal).
        rows: u16,
        cols: u16,
    },
    /// The process replaced itself with the container's program (`execve`).
    #[serde(rename = "process.exec")]
    ProcessExec {
        path: String,
        argv: Vec<String>,
        /// Environment variable names (values are left out: they may be secrets).
        env_keys: Vec<String>,
    },
    /// A process ended and was reaped by its parent (`wait4`).
    #[serde(rename = "process.exit")]
    ProcessExit {
        /// Host pid of the process that ended.
        exited_pid: i32,
        /// Exit code, when it exited normally.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        /// Signal number, when a signal killed it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
        /// Signal name, e.g. `SIGKILL`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal_name: Option<String>,
    },
    /// casulo sent a signal to a process (e.g. forwarding Ctrl-C).
    #[serde(rename = "process.signal")]
    ProcessSignal {
        target_pid: i32,
        signal: i32,
        signal_name: String,
    },
    /// A client connected to the terminal of a `-it` container that runs in
    /// the background: the supervisor, which holds the pty's master, sends
    /// it what the container writes and takes its keys.
    #[serde(rename = "terminal.attach")]
    TerminalAttach {
        /// Who: `casulo attach`, `docker attach` (the daemon's attach:
        /// also `docker run -it` and `docker start -ai`).
        client: String,
        /// How many clients are attached now, this one included.
        attached: u32,
    },
    /// A client left the container's terminal; the container goes on
    /// (unless `reason` is `ended`).
    #[serde(rename = "terminal.detach")]
    TerminalDetach {
        client: String,
        reason: DetachReason,
        /// How many clients are still attached.
        attached: u32,
    },
    /// The container ended and its supervisor will start it again (its
    /// `--restart` policy), after a pause that doubles each time.
    #[serde(rename = "process.restart")]
    ProcessRestart {
        /// The policy, as typed: `on-failure:3`, `always`…
        policy: String,
        /// Which restart this is (1 for the first).
        attempt: u32,
        /// How the last run ended (its exit code, 128 + signal if killed).
        exit_code: i32,
        /// The pause before the new start, in milliseconds.
        delay_ms: u64,
    },
    /// `casulo daemon` answered a request of docker's API about this
    /// container (its creation): who asked, and how.
    #[serde(rename = "daemon.request")]
    DaemonRequest {
        /// `POST`.
        method: String,
        /// The API path asked, version included: `/v1.43/containers/create`.
        path: String,
        /// The client's `User-Agent` (`curl/7.88.1`, `Docker-Client/28.5.1
        /// (linux)`); empty when it sent none.
        client: String,
    },
    /// An image layer was unpacked into its own directory for the first time.
    #[serde(rename = "layer.unpack")]
    LayerUnpack {
        /// `sha256:` digest of the uncompressed layer (diff_id).
        diff_id: String,
        path: String,
        bytes: u64,
        files: u64,
        duration_us: u64,
    },
    /// An image layer already unpacked was reused as-is.
    #[serde(rename = "layer.reuse")]
    LayerReuse { diff_id: String, path: String },
    /// While unpacking a layer, a path of the layers below was deleted: an
    /// OCI whiteout (`.wh.NAME`) became an overlayfs whiteout (a 0:0 char
    /// device), or an opaque dir (`.wh..wh..opq`) the `trusted.overlay.opaque` xattr.
    #[serde(rename = "layer.whiteout")]
    LayerWhiteout {
        diff_id: String,
        /// Path inside the image, e.g. `/etc/motd`.
        path: String,
        /// True for an opaque directory (everything below it in lower layers hidden).
        opaque: bool,
    },
    /// A volume was created in the state dir for this container: a named
    /// one on first use (`-v nome:/dir`), or an anonymous one (a `VOLUME`
    /// of the image, `-v /dir`). The init mounts it afterwards (`mount.fs`,
    /// a bind) and, being new, fills it with the image's files at `target`.
    #[serde(rename = "volume.create")]
    VolumeCreate {
        name: String,
        /// Its directory on the host (`…/volumes/<nome>/_data`).
        path: String,
        /// Where the container will see it.
        target: String,
        /// A generated name, removed with the container by `rm -v`/`--rm`.
        anonymous: bool,
    },
    /// The container's read/write layer (the overlay's upperdir) after the
    /// process ended: what it added, changed (copy-up) and deleted, as
    /// `casulo diff` shows it.
    #[serde(rename = "layer.upper")]
    LayerUpper {
        upperdir: String,
        added: u64,
        changed: u64,
        deleted: u64,
        /// Bytes of regular files in the upperdir (new files and copies up).
        bytes: u64,
        /// Up to 20 changed paths, e.g. `C /etc/hostname` (the rest in `casulo diff`).
        sample: Vec<String>,
    },
    /// A cgroup (a directory in the cgroup filesystem) was created.
    #[serde(rename = "cgroup.create")]
    CgroupCreate {
        /// Full path, e.g. `/sys/fs/cgroup/memory/casulo/<id>` (v1) or
        /// `/sys/fs/cgroup/casulo/<id>` (v2).
        path: String,
        /// `v1` or `v2`: which hierarchy this directory belongs to.
        version: String,
        /// v1: the controller of this hierarchy (`memory`, `cpu`, `pids`…); v2: empty.
        #[serde(default)]
        controller: String,
    },
    /// A limit was written into a cgroup file.
    #[serde(rename = "cgroup.limit")]
    CgroupLimit {
        /// `memory`, `cpu`, `pids`, …
        controller: String,
        /// Full path of the file written, e.g. `…/memory.max`.
        file: String,
        /// The exact text written, e.g. `67108864`, `50000 100000`, `max`.
        value: String,
    },
    /// The container's device allow-list: which device files (by type and
    /// major:minor number) its processes may open or create. v1 writes it
    /// into the `devices` controller (`devices.deny`, then `devices.allow`);
    /// v2 has no such files and attaches an eBPF program of type
    /// `BPF_PROG_TYPE_CGROUP_DEVICE` to the cgroup instead.
    #[serde(rename = "cgroup.devices")]
    CgroupDevices {
        /// The cgroup the rules apply to (v1: its directory in the `devices`
        /// hierarchy).
        path: String,
        /// `v1` (the `devices` controller's files) or `v2` (an eBPF program).
        version: String,
        /// `--privileged`: every device allowed, nothing refused.
        privileged: bool,
        /// What happens to a device no rule allows: `deny`, or `allow`
        /// under `--privileged`.
        default_action: String,
        /// The allowed devices in the kernel's v1 syntax: `TYPE MAJOR:MINOR
        /// ACCESS`, e.g. `c 1:3 rwm` (`/dev/null`), `c 136:* rwm` (every
        /// pty), `b *:* m` (mknod of any block device, but not its use).
        allowed: Vec<String>,
        /// v2: how many eBPF instructions the program has (absent on v1, and
        /// when no program was attached).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        program_insns: Option<u32>,
    },
    /// A process was put into a cgroup: its pid written to `cgroup.procs`,
    /// or (`via: clone3`) born there by `clone3` with `CLONE_INTO_CGROUP`,
    /// or (`via: tasks`) it wrote itself into the cgroup's `tasks`.
    #[serde(rename = "cgroup.attach")]
    CgroupAttach {
        path: String,
        target_pid: i32,
        /// How: absent (`write`) for a write to `cgroup.procs`.
        #[serde(default, skip_serializing_if = "AttachVia::is_write")]
        via: AttachVia,
    },
    /// Periodic reading of the container's resource usage (absent = not available).
    #[serde(rename = "cgroup.sample")]
    CgroupSample {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        memory_bytes: Option<u64>,
        /// The most memory used at any moment so far (v1
        /// `memory.max_usage_in_bytes`, v2 `memory.peak`): a climb that
        /// happens between two samples still shows here.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        memory_peak_bytes: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        memory_limit_bytes: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pids: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pids_limit: Option<u64>,
        /// Total CPU time used so far, in microseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cpu_usage_us: Option<u64>,
        /// Time the cgroup was throttled by its CPU quota, in microseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cpu_throttled_us: Option<u64>,
    },
    /// The kernel's OOM killer killed a process of the cgroup.
    #[serde(rename = "cgroup.oom")]
    CgroupOom {
        path: String,
        /// OOM kills counted so far in this cgroup.
        oom_kills: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit_bytes: Option<u64>,
        /// The most memory the group used before the kill (the kernel's
        /// `memory.max_usage_in_bytes` / `memory.peak`), when available.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peak_bytes: Option<u64>,
    },
    /// The pids limit was hit: the kernel refused a fork/clone.
    #[serde(rename = "cgroup.pids_max")]
    CgroupPidsMax {
        path: String,
        limit: u64,
        /// Forks refused so far.
        refused: u64,
    },
    /// The cgroup's processes were frozen (`pause`) or thawed (`unpause`)
    /// by the cgroup freezer: v1 writes `FROZEN`/`THAWED` into
    /// `freezer.state`, v2 writes `1`/`0` into `cgroup.freeze`; then casulo
    /// waits until the kernel says every process reached that state.
    #[serde(rename = "cgroup.freeze")]
    CgroupFreeze {
        /// Full path of the file written, e.g. `…/freezer.state` or
        /// `…/cgroup.freeze`.
        file: String,
        /// True when freezing, false when thawing.
        frozen: bool,
    },
    /// A cgroup was removed (`rmdir`).
    #[serde(rename = "cgroup.delete")]
    CgroupDelete { path: String },
    /// A Linux bridge (a virtual switch on the host) is ready for containers:
    /// created now (`RTM_NEWLINK` kind `bridge`, address, up) or found.
    #[serde(rename = "net.bridge")]
    NetBridge {
        /// e.g. `casulo0`.
        name: String,
        /// The bridge's own address with prefix, the containers' gateway:
        /// `10.88.0.1/16`.
        address: String,
        /// False when it already existed (made by an earlier run).
        created: bool,
    },
    /// A veth pair (a virtual cable) was created: one end on the host, the
    /// other born inside the container's network namespace.
    #[serde(rename = "net.veth")]
    NetVeth {
        /// The end that stays on the host, e.g. `veth3f2a9c1d`.
        host_ifname: String,
        /// The end inside the container, e.g. `eth0`.
        container_ifname: String,
        /// Host pid whose network namespace got the container end.
        netns_pid: i32,
    },
    /// An interface was plugged into a bridge (`IFLA_MASTER`).
    #[serde(rename = "net.attach")]
    NetAttach { ifname: String, bridge: String },
    /// An IP address was given to an interface (`RTM_NEWADDR`).
    #[serde(rename = "net.addr")]
    NetAddr {
        ifname: String,
        /// With prefix: `10.88.0.5/16`.
        address: String,
        /// True when done inside the container's network namespace.
        inside: bool,
    },
    /// A route was added (`RTM_NEWROUTE`), e.g. the container's default route.
    #[serde(rename = "net.route")]
    NetRoute {
        /// `default` or a network with prefix.
        destination: String,
        /// Next hop, when the route has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gateway: Option<String>,
        ifname: String,
        inside: bool,
    },
    /// A host port now leads to a port of the container (`-p 8080:80`).
    #[serde(rename = "net.port")]
    NetPort {
        /// `tcp` or `udp`.
        protocol: String,
        host_ip: String,
        host_port: u16,
        container_ip: String,
        container_port: u16,
        /// How: `proxy` (casulo listens on the host port and copies bytes,
        /// like docker-proxy) or `dnat` (an iptables/nftables rule).
        mechanism: String,
    },
    /// A published port was closed: the proxy stopped and its host socket
    /// (bound by `net.port`) was shut down and closed, so the host port is
    /// free again. Comes after the container's `process.exit` (or after the
    /// error that ended the run).
    #[serde(rename = "net.port_close")]
    NetPortClose {
        /// `tcp` or `udp`.
        protocol: String,
        host_ip: String,
        host_port: u16,
    },
    /// Rootless: the container's network namespace was given a user-mode
    /// network by `pasta` (package passt), a process of the user: a tap
    /// interface inside, and the published ports bound on the host by pasta,
    /// which copies each connection's bytes in and out (no bridge, no veth:
    /// those need the host's root). Each port then has its `net.port`
    /// (mechanism `pasta`).
    #[serde(rename = "net.pasta")]
    NetPasta {
        /// The container's init, whose network namespace pasta joined.
        target_pid: i32,
        /// pasta's own pid on the host (0 if it did not start).
        helper_pid: i32,
        /// The published ports as given (`8080:80/tcp`).
        ports: Vec<String>,
    },
    /// A network interface was deleted (`RTM_DELLINK`), e.g. the host end of
    /// a veth when the container ends.
    #[serde(rename = "net.link_delete")]
    NetLinkDelete { ifname: String },
    /// The user network's DNS server opened its socket inside the
    /// container's network namespace (its `/etc/resolv.conf` points there).
    #[serde(rename = "net.dns_listen")]
    NetDnsListen {
        /// `127.0.0.11:53/udp`.
        address: String,
        /// The user network whose names it answers.
        network: String,
        /// Host pid whose network namespace holds the socket.
        netns_pid: i32,
    },
    /// The container asked the network's DNS for a name.
    #[serde(rename = "net.dns")]
    NetDns {
        /// The name asked (`db`, `db.`, `example.com`).
        name: String,
        /// The record type asked (`A`, `AAAA`, …).
        qtype: String,
        /// The addresses answered (empty: no such name, or none of that type).
        answer: Vec<String>,
        /// Who answered: `network` (a container of the same network, by
        /// name or alias), `upstream` (forwarded to the host's resolvers)
        /// or `none` (nobody knew it).
        resolved_by: String,
    },
    /// A firewall rule was added to or deleted from casulo's own nftables
    /// table (`table inet casulo`), or the host's IPv4 forwarding turned on.
    #[serde(rename = "net.rule")]
    NetRule {
        /// `add` or `delete`.
        action: String,
        /// The chain (`forward`, `postrouting`, `prerouting`, `output`), or
        /// `sysctl` for `net.ipv4.ip_forward`.
        chain: String,
        /// The rule as `nft` reads it.
        rule: String,
        /// Why: `isolation` (two networks apart), `masquerade` (the way
        /// out), `dnat` (a published port without the proxy), `forward`
        /// (the host routes between its interfaces) or `table` (casulo's
        /// table and its chains, made or deleted).
        purpose: String,
    },
    /// A build began: the Dockerfile was read and parsed.
    #[serde(rename = "build.start")]
    BuildStart {
        /// The build context directory (what `COPY` can read).
        context: String,
        /// Path of the Dockerfile.
        dockerfile: String,
        /// `-t` given, e.g. `meu-app:1.0`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
        /// Number of steps the build runs: the Dockerfile's instructions
        /// (in a multi-stage build, only those of the stages it builds).
        steps: u32,
    },
    /// The image `FROM` names: the layers every later step stacks on.
    #[serde(rename = "build.base")]
    BuildBase {
        /// As written (`busybox:latest`, or `scratch`).
        image: String,
        /// `sha256:` of the base image's config (absent for `scratch`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image_id: Option<String>,
        /// The base image's layers (diff_ids), bottom-most first.
        diff_ids: Vec<String>,
        /// Multi-stage builds: the name of the stage this FROM starts
        /// (`AS builder`), or its number when it has no name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
        /// Multi-stage builds: the stage's number (0 = the first FROM).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage_index: Option<u32>,
        /// `FROM builder`: the earlier stage this one starts from (then
        /// `diff_ids` are that stage's layers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_stage: Option<String>,
    },
    /// One Dockerfile instruction starts (step `step` of `total`).
    #[serde(rename = "build.step")]
    BuildStep {
        /// 1-based.
        step: u32,
        total: u32,
        /// Line of the Dockerfile where the instruction starts (1-based).
        line: u32,
        /// `FROM`, `RUN`, `COPY`, `ENV`, …
        instruction: String,
        /// The instruction's arguments, as written (continuations joined).
        args: String,
        /// True for instructions that add a filesystem layer (RUN, COPY,
        /// ADD); the others only change the image config.
        creates_layer: bool,
        /// The cache key of the step (`sha256:` of the parent and the
        /// instruction, plus the content of copied files).
        cache_key: String,
        /// Multi-stage builds: the stage the step belongs to (its name, or
        /// its number when it has no name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
        /// Multi-stage builds: the stage's number (0 = the first FROM).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage_index: Option<u32>,
        /// `COPY --from=X`: the stage (name or number) or image the files
        /// come from, instead of the build context.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        copy_from: Option<String>,
    },
    /// `ADD https://…`: a file downloaded for a step. Its sha256 is part of
    /// the step's cache key (so every build downloads it again);
    /// `--checksum` pinned it, or nothing did.
    #[serde(rename = "build.download")]
    BuildDownload {
        step: u32,
        url: String,
        /// The file's name in the layer (the URL's last segment).
        file: String,
        bytes: u64,
        /// `sha256:` of what arrived.
        digest: String,
        /// `--checksum` asked for this digest (and got it).
        pinned: bool,
    },
    /// The step's result was already in the cache: nothing ran.
    #[serde(rename = "build.cache_hit")]
    BuildCacheHit {
        step: u32,
        cache_key: String,
        /// The cached layer, for steps that create one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        diff_id: Option<String>,
    },
    /// A step produced a new layer (the changes of a RUN, the files of a
    /// COPY), now stored in the image store.
    #[serde(rename = "build.layer")]
    BuildLayer {
        step: u32,
        /// `sha256:` of the uncompressed layer tar.
        diff_id: String,
        /// Size of the uncompressed layer tar.
        bytes: u64,
        /// Entries in it (files, directories, links, whiteouts).
        files: u64,
        /// History line, like `docker history` shows: `RUN apk add …`.
        created_by: String,
    },
    /// The build ended: the image was written to the store and tagged.
    #[serde(rename = "build.commit")]
    BuildCommit {
        /// The tag given, or empty when there is none.
        #[serde(default)]
        tag: String,
        /// `sha256:` of the image config.
        image_id: String,
        /// Layers of the final image (base + new).
        layers: u32,
    },
    /// `casulo commit`: the container's read/write layer (the overlay's
    /// upperdir) became a new layer on top of its image, and that a new
    /// image: whiteouts became `.wh.` entries, opaque directories
    /// `.wh..wh..opq`. Recorded in the container's trace.
    #[serde(rename = "image.commit")]
    ImageCommit {
        /// The container's name.
        container: String,
        /// `sha256:` of the layer blob (gzip), as stored.
        digest: String,
        /// `sha256:` of the uncompressed layer tar.
        diff_id: String,
        /// Bytes of the blob as stored (compressed).
        size: u64,
        /// Bytes of the uncompressed tar.
        bytes: u64,
        /// Entries in it (files, directories, links, whiteouts).
        files: u64,
        /// Whiteout entries among them (`.wh.NOME` and `.wh..wh..opq`).
        whiteouts: u64,
        /// `sha256:` of the new image's config.
        image_id: String,
        /// The tag given, or empty when there is none.
        #[serde(default)]
        tag: String,
        /// `--change` instructions applied to the config, as in the history
        /// (`CMD ["cat","/novo"]`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changes: Vec<String>,
    },
    /// `GET /v2/` of `casulo push`/`pull`: is there a registry (OCI
    /// distribution) at this address, and does it ask for credentials?
    #[serde(rename = "registry.ping")]
    RegistryPing {
        /// `host[:port]` as in the reference (`localhost:5000`).
        registry: String,
        /// The URL asked (`http://127.0.0.1:5000/v2/`).
        url: String,
        /// HTTP status of the answer (0: no answer at all).
        status: u16,
        /// The scheme the registry asked for in `WWW-Authenticate`
        /// (`basic`, `bearer`), empty when it asked for none.
        #[serde(default)]
        auth: String,
    },
    /// Casulo authenticated: HTTP basic (the credentials go in every
    /// request) or a bearer token asked from the token server. The
    /// credentials themselves are never recorded.
    #[serde(rename = "registry.auth")]
    RegistryAuth {
        registry: String,
        /// `basic` or `bearer`.
        scheme: String,
        /// The token server (bearer) or the realm's name (basic).
        #[serde(default)]
        realm: String,
        /// What was asked for (`repository:aluno/app:pull,push`).
        #[serde(default)]
        scope: String,
        /// Whether a user and password (from `casulo login`) were sent.
        with_credentials: bool,
        /// HTTP status of the token server (bearer); 0 for basic.
        status: u16,
    },
    /// Does this blob exist? Asked of the registry (`HEAD`, before a push
    /// sends it) or of the local store (before a pull downloads it).
    #[serde(rename = "registry.blob_exists")]
    RegistryBlobExists {
        registry: String,
        repository: String,
        digest: String,
        /// Bytes the descriptor gives.
        size: u64,
        exists: bool,
        /// Asked of the local store (pull), not of the registry.
        #[serde(default)]
        local: bool,
        /// Its place in the image's layers (0 = bottom); none for the config.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<u32>,
        /// HTTP status (0 when asked of the local store).
        status: u16,
    },
    /// A blob sent to the registry: `POST` opens an upload, `PUT
    /// ?digest=` closes it (monolithic: one `PUT` with every byte;
    /// chunked: `PATCH`es first).
    #[serde(rename = "registry.blob_upload")]
    RegistryBlobUpload {
        registry: String,
        repository: String,
        digest: String,
        bytes: u64,
        duration_us: u64,
        /// `PATCH` requests (0: monolithic).
        #[serde(default)]
        chunks: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<u32>,
        status: u16,
    },
    /// A blob fetched from the registry (`GET`), verified (sha256, size)
    /// before it entered the store.
    #[serde(rename = "registry.blob_download")]
    RegistryBlobDownload {
        registry: String,
        repository: String,
        digest: String,
        bytes: u64,
        duration_us: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<u32>,
        status: u16,
    },
    /// Cross-repository mount: `POST ?mount=DIGEST&from=REPO` asks the
    /// registry to link a blob it has in another repository, with no byte
    /// sent. `mounted: false` (202) means it opened an upload instead.
    #[serde(rename = "registry.blob_mount")]
    RegistryBlobMount {
        registry: String,
        repository: String,
        /// The repository the blob already is in.
        from: String,
        digest: String,
        mounted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<u32>,
        status: u16,
    },
    /// `GET /v2/REPO/manifests/REF` with an `Accept` for OCI and Docker
    /// manifests and indexes; for an index, the platform picked.
    #[serde(rename = "registry.manifest_get")]
    RegistryManifestGet {
        registry: String,
        repository: String,
        /// Tag or digest asked for.
        reference: String,
        digest: String,
        media_type: String,
        size: u64,
        /// Layers the manifest lists (0 for an index).
        #[serde(default)]
        layers: u32,
        /// For an index (manifest list): the platform picked (`linux/amd64`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        platform: Option<String>,
        status: u16,
    },
    /// `PUT /v2/REPO/manifests/TAG`: the last step of a push, once every
    /// blob is there (the registry checks that they are).
    #[serde(rename = "registry.manifest_put")]
    RegistryManifestPut {
        registry: String,
        repository: String,
        tag: String,
        digest: String,
        media_type: String,
        size: u64,
        layers: u32,
        status: u16,
    },
}

impl EventBody {
    /// The JSON `kind` string of this body.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::ProcessClone { .. } => "process.clone",
            EventBody::NamespaceCreate { .. } => "namespace.create",
            EventBody::NamespaceJoin { .. } => "namespace.join",
            EventBody::NamespaceUser { .. } => "namespace.user",
            EventBody::MountIdmap { .. } => "mount.idmap",
            EventBody::MountOverlay { .. } => "mount.overlay",
            EventBody::MountFs { .. } => "mount.fs",
            EventBody::MountPropagation { .. } => "mount.propagation",
            EventBody::MountPivotRoot { .. } => "mount.pivot_root",
            EventBody::MountUmount { .. } => "mount.umount",
            EventBody::DeviceCreate { .. } => "device.create",
            EventBody::FsSymlink { .. } => "fs.symlink",
            EventBody::FsWrite { .. } => "fs.write",
            EventBody::UtsSethostname { .. } => "uts.sethostname",
            EventBody::NetLinkUp { .. } => "net.link_up",
            EventBody::ProcessChdir { .. } => "process.chdir",
            EventBody::ProcessChroot { .. } => "process.chroot",
            EventBody::ProcessUser { .. } => "process.user",
            EventBody::SecurityCapabilities { .. } => "security.capabilities",
            EventBody::SecurityNoNewPrivs { .. } => "security.no_new_privs",
            EventBody::SecuritySeccomp { .. } => "security.seccomp",
            EventBody::SecurityNonDumpable { .. } => "security.non_dumpable",
            EventBody::ProcessSetsid { .. } => "process.setsid",
            EventBody::ProcessFdsClosed { .. } => "process.fds_closed",
            EventBody::ProcessTty { .. } => "process.tty",
            EventBody::ProcessExec { .. } => "process.exec",
            EventBody::ProcessExit { .. } => "process.exit",
            EventBody::ProcessSignal { .. } => "process.signal",
            EventBody::ProcessRestart { .. } => "process.restart",
            EventBody::TerminalAttach { .. } => "terminal.attach",
            EventBody::TerminalDetach { .. } => "terminal.detach",
            EventBody::DaemonRequest { .. } => "daemon.request",
            EventBody::LayerUnpack { .. } => "layer.unpack",
            EventBody::LayerReuse { .. } => "layer.reuse",
            EventBody::VolumeCreate { .. } => "volume.create",
            EventBody::LayerWhiteout { .. } => "layer.whiteout",
            EventBody::LayerUpper { .. } => "layer.upper",
            EventBody::CgroupCreate { .. } => "cgroup.create",
            EventBody::CgroupLimit { .. } => "cgroup.limit",
            EventBody::CgroupDevices { .. } => "cgroup.devices",
            EventBody::CgroupAttach { .. } => "cgroup.attach",
            EventBody::CgroupSample { .. } => "cgroup.sample",
            EventBody::CgroupOom { .. } => "cgroup.oom",
            EventBody::CgroupPidsMax { .. } => "cgroup.pids_max",
            EventBody::CgroupFreeze { .. } => "cgroup.freeze",
            EventBody::CgroupDelete { .. } => "cgroup.delete",
            EventBody::NetBridge { .. } => "net.bridge",
            EventBody::NetVeth { .. } => "net.veth",
            EventBody::NetAttach { .. } => "net.attach",
            EventBody::NetAddr { .. } => "net.addr",
            EventBody::NetRoute { .. } => "net.route",
            EventBody::NetPort { .. } => "net.port",
            EventBody::NetPortClose { .. } => "net.port_close",
            EventBody::NetPasta { .. } => "net.pasta",
            EventBody::NetLinkDelete { .. } => "net.link_delete",
            EventBody::NetDnsListen { .. } => "net.dns_listen",
            EventBody::NetDns { .. } => "net.dns",
            EventBody::NetRule { .. } => "net.rule",
            EventBody::BuildStart { .. } => "build.start",
            EventBody::BuildBase { .. } => "build.base",
            EventBody::BuildStep { .. } => "build.step",
            EventBody::BuildDownload { .. } => "build.download",
            EventBody::BuildCacheHit { .. } => "build.cache_hit",
            EventBody::BuildLayer { .. } => "build.layer",
            EventBody::BuildCommit { .. } => "build.commit",
            EventBody::ImageCommit { .. } => "image.commit",
            EventBody::RegistryPing { .. } => "registry.ping",
            EventBody::RegistryAuth { .. } => "registry.auth",
            EventBody::RegistryBlobExists { .. } => "registry.blob_exists",
            EventBody::RegistryBlobUpload { .. } => "registry.blob_upload",
            EventBody::RegistryBlobDownload { .. } => "registry.blob_download",
            EventBody::RegistryBlobMount { .. } => "registry.blob_mount",
            EventBody::RegistryManifestGet { .. } => "registry.manifest_get",
            EventBody::RegistryManifestPut { .. } => "registry.manifest_put",
        }
    }
}

/// Every kind this version knows, in the order of [`EventBody`].
pub const KINDS: &[&str] = &[
    "process.clone",
    "namespace.create",
    "namespace.join",
    "namespace.user",
    "mount.idmap",
    "mount.overlay",
    "mount.fs",
    "mount.propagation",
    "mount.pivot_root",
    "mount.umount",
    "device.create",
    "fs.symlink",
    "fs.write",
    "uts.sethostname",
    "net.link_up",
    "process.chdir",
    "process.chroot",
    "process.user",
    "security.capabilities",
    "security.no_new_privs",
    "security.seccomp",
    "security.non_dumpable",
    "process.setsid",
    "process.fds_closed",
    "process.tty",
    "process.exec",
    "process.exit",
    "process.signal",
    "terminal.attach",
    "terminal.detach",
    "process.restart",
    "daemon.request",
    "layer.unpack",
    "layer.reuse",
    "layer.whiteout",
    "volume.create",
    "layer.upper",
    "cgroup.create",
    "cgroup.limit",
    "cgroup.devices",
    "cgroup.attach",
    "cgroup.sample",
    "cgroup.oom",
    "cgroup.pids_max",
    "cgroup.freeze",
    "cgroup.delete",
    "net.bridge",
    "net.veth",
    "net.attach",
    "net.addr",
    "net.route",
    "net.port",
    "net.port_close",
    "net.pasta",
    "net.link_delete",
    "net.dns_listen",
    "net.dns",
    "net.rule",
    "build.start",
    "build.base",
    "build.step",
    "build.download",
    "build.cache_hit",
    "build.layer",
    "build.commit",
    "image.commit",
    "registry.ping",
    "registry.auth",
    "registry.blob_exists",
    "registry.blob_upload",
    "registry.blob_download",
    "registry.blob_mount",
    "registry.manifest_get",
    "registry.manifest_put",
];
