//! The replay model: the state of the world after the first `n` events.
//!
//! A trace says what the engine *asked* the kernel; [`World`] is what those
//! requests built: processes (host pid and the pid seen inside), namespaces
//! (which process is in which, by kind and inode), the container's mounts
//! (the overlay stack, `/proc`, `/dev`, binds), the cgroup tree with its
//! limits, the image layers, the network interfaces, the build steps.
//!
//! It is a *pure fold*: [`World::apply`] takes one event and changes the
//! world, nothing else; the same events always give the same world. Failed
//! operations (`outcome` is an error) change nothing but are counted.
//!
//! [`Replay`] keeps the events and a copy of the world every
//! [`CHECKPOINT_EVERY`] events, so going to any position costs at most that
//! many `apply` calls ([`Replay::world_at`]); a [`Cursor`] steps forward one
//! event at a time (O(1) amortized) and falls back to a checkpoint to go
//! back or to jump far.
//!
//! Usage samples (`cgroup.sample`) are not copied into each world (a long run
//! has thousands): the world only counts how many it has seen, and
//! [`Replay::samples`] holds them all, so a chart shows
//! `&replay.samples()[..world.samples_seen]`.
//!
//! A build trace holds several containers (one per `RUN` step): the
//! namespaces and processes of all of them are kept, while the
//! per-container views (overlay, mounts, devices, hostname, upper layer)
//! start afresh with each new init, so they always show the latest one.
//!
//! Kinds added to the trace later are ignored until the replay learns them.

use std::collections::BTreeMap;

use crate::{Event, EventBody, NsKind, NsVia};

/// A copy of the world is kept every this many events.
pub const CHECKPOINT_EVERY: usize = 256;

/// One process the trace has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// Pid as the host sees it.
    pub host_pid: i32,
    /// Pid of the process that cloned it, when the trace saw the clone.
    pub parent: Option<i32>,
    /// Pid as seen inside its own pid namespace (1 for the container's
    /// init), when it was born in a new pid namespace.
    pub container_pid: Option<i32>,
    /// Namespaces it is in that differ from the host's (kind → inode, 0
    /// when the inode is unknown).
    pub namespaces: BTreeMap<NsKindKey, u64>,
    /// Program it runs, after `execve`.
    pub exec: Option<Vec<String>>,
    /// Root directory, after `chroot`/`pivot_root`.
    pub root: Option<String>,
    /// Working directory, after `chdir`.
    pub cwd: Option<String>,
    /// `(uid, gid)` after it dropped root (`process.user`).
    pub user: Option<(u32, u32)>,
    /// The capabilities it kept, after `security.capabilities` (`None`:
    /// never cut, it has whatever its parent had).
    pub capabilities: Option<Vec<String>>,
    /// `PR_SET_NO_NEW_PRIVS` is on (`security.no_new_privs`).
    pub no_new_privs: bool,
    /// A seccomp filter is installed (`security.seccomp` in mode `filter`;
    /// `unconfined` and `--privileged` leave it off).
    pub seccomp: bool,
    /// Made non-dumpable (`security.non_dumpable`): its `/proc/PID/exe`
    /// and memory are closed to the processes of the container.
    pub non_dumpable: bool,
    /// Leads its own session, with no controlling terminal
    /// (`process.setsid`).
    pub own_session: bool,
    /// Descriptors from this one on close at `execve`
    /// (`process.fds_closed`), and those it had inherited.
    pub fds_closed: Option<(i32, Vec<i32>)>,
    /// Its user namespace's uid and gid maps (`namespace.user`), empty
    /// when none was written (ids are the host's).
    pub uid_map: Vec<crate::IdRange>,
    pub gid_map: Vec<crate::IdRange>,
    /// How it ended, once reaped.
    pub exit: Option<Exit>,
}

/// [`NsKind`] ordered (for maps), in the order casulo creates namespaces.
pub type NsKindKey = u8;

/// The map key of a namespace kind.
pub fn ns_key(kind: NsKind) -> NsKindKey {
    NsKind::ALL.iter().position(|k| *k == kind).unwrap_or(0) as u8
}

/// The namespace kind of a map key.
pub fn ns_kind(key: NsKindKey) -> NsKind {
    NsKind::ALL[usize::from(key) % NsKind::ALL.len()]
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub code: Option<i32>,
    pub signal_name: Option<String>,
    /// Index of the `process.exit` event.
    pub at: usize,
}

/// A namespace created by the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub kind: NsKind,
    /// Its inode (identity), when known.
    pub inode: Option<u64>,
    /// The inode of the namespace it replaced (the host's), when known.
    pub host_inode: Option<u64>,
    /// Host pid of the process born in it (clone) or that moved into it (unshare).
    pub owner: i32,
    pub via: NsVia,
    /// Index of the event that created it.
    pub at: usize,
}

/// The overlay that became the container's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    /// Where it was mounted (the `merged` directory), as seen from the host.
    pub target: String,
    /// Layers, top-most first.
    pub lowerdirs: Vec<String>,
    pub upperdir: String,
    pub workdir: String,
    pub at: usize,
}

/// Any other mount of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub fstype: String,
    pub source: String,
    /// As written in the trace (host path before `pivot_root`).
    pub target: String,
    /// The same place as seen from inside the container (`/proc`).
    pub inside: String,
    pub flags: Vec<String>,
    pub data: String,
    pub at: usize,
}

/// A restart by the container's `--restart` policy (`process.restart`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restart {
    pub policy: String,
    pub attempt: u32,
    pub exit_code: i32,
    pub delay_ms: u64,
    pub at: usize,
}

/// A volume created for the container (`volume.create`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    /// Its directory on the host.
    pub path: String,
    /// Where the container sees it.
    pub target: String,
    pub anonymous: bool,
    pub at: usize,
}

/// An image layer the run used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub diff_id: String,
    pub path: String,
    /// Unpacked now (with its size), or reused from an earlier run.
    pub unpacked: Option<Unpacked>,
    /// Paths deleted by this layer (whiteouts), with `true` for opaque dirs.
    pub whiteouts: Vec<(String, bool)>,
    pub at: usize,
}

/// Numbers of a fresh unpack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unpacked {
    pub bytes: u64,
    pub files: u64,
    pub duration_us: u64,
}

/// One cgroup directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    pub path: String,
    pub version: String,
    pub controller: String,
    /// File name (`memory.max`) → value written.
    pub limits: BTreeMap<String, String>,
    /// Host pids moved into it.
    pub procs: Vec<i32>,
    /// OOM kills seen (`cgroup.oom`), and the event where the last happened.
    pub oom_kills: u64,
    pub last_oom: Option<usize>,
    /// Forks refused by `pids.max`.
    pub pids_refused: u64,
    /// The device allow-list applied to it (`cgroup.devices`).
    pub devices: Option<DeviceRules>,
    /// Its processes are frozen (`cgroup.freeze`: `pause` until `unpause`).
    pub frozen: bool,
    pub deleted: bool,
    pub at: usize,
}

/// The devices a cgroup's processes may open or create (`cgroup.devices`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRules {
    /// `v1` (`devices.allow` lines) or `v2` (an eBPF program).
    pub version: String,
    /// `--privileged`: everything allowed.
    pub privileged: bool,
    /// `deny` or `allow`: for a device no rule names.
    pub default_action: String,
    /// `c 1:3 rwm`, `c 136:* rwm`, …
    pub allowed: Vec<String>,
    /// v2: the program's length in instructions.
    pub program_insns: Option<u32>,
    /// The event that applied them.
    pub at: usize,
}

/// One `cgroup.sample`, with where it is in the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sample {
    pub index: usize,
    pub t_us: u64,
    pub memory_bytes: Option<u64>,
    /// The most memory used so far, as the kernel counts it (a climb
    /// between two samples shows here, not in `memory_bytes`).
    pub memory_peak_bytes: Option<u64>,
    pub memory_limit_bytes: Option<u64>,
    pub pids: Option<u64>,
    pub pids_limit: Option<u64>,
    pub cpu_usage_us: Option<u64>,
    pub cpu_throttled_us: Option<u64>,
}

/// A device node created in the container's `/dev`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Path inside the container (`/dev/null`).
    pub inside: String,
    pub major: u64,
    pub minor: u64,
}

/// Network, as far as the trace tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    /// Interfaces brought up and not deleted since, in order (`lo`, `eth0`…).
    pub links_up: Vec<String>,
    /// Bridges on the host (`net.bridge`), in order.
    pub bridges: Vec<Bridge>,
    /// veth pairs, in order of creation.
    pub veths: Vec<Veth>,
    /// Addresses given to interfaces, in order.
    pub addrs: Vec<Addr>,
    /// Routes added, in order.
    pub routes: Vec<Route>,
    /// Published ports (`-p`), in order.
    pub ports: Vec<Port>,
    /// The user network's DNS socket in the container (`net.dns_listen`).
    pub dns_server: Option<DnsServer>,
    /// Questions to that DNS (`net.dns`), in order.
    pub dns: Vec<DnsQuery>,
    /// casulo's firewall rules (`net.rule`), in order; a deleted one stays
    /// with `deleted_at`, so a front-end can show it gone.
    pub rules: Vec<Rule>,
}

/// The network's DNS server, as seen from the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsServer {
    /// `127.0.0.11:53/udp`.
    pub address: String,
    pub network: String,
    pub at: usize,
}

/// One question to the network's DNS and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuery {
    pub name: String,
    pub qtype: String,
    pub answer: Vec<String>,
    /// `network`, `upstream` or `none`.
    pub resolved_by: String,
    pub at: usize,
}

/// A firewall rule of casulo's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub chain: String,
    pub rule: String,
    /// `isolation`, `masquerade`, `dnat` or `forward`.
    pub purpose: String,
    pub at: usize,
    /// Index of the `net.rule` that deleted it, once deleted.
    pub deleted_at: Option<usize>,
}

impl Rule {
    /// True while the rule is in the table.
    pub fn is_active(&self) -> bool {
        self.deleted_at.is_none()
    }
}

/// A Linux bridge on the host (`casulo0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bridge {
    pub name: String,
    /// With prefix: `10.88.0.1/16` (the containers' gateway).
    pub address: String,
    /// False when an earlier run had made it.
    pub created: bool,
    pub deleted: bool,
    pub at: usize,
}

/// A veth pair: a virtual cable from the host into a container's netns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veth {
    /// The end on the host (`veth3f2a9c1d`).
    pub host_ifname: String,
    /// The end inside the container (`eth0`).
    pub container_ifname: String,
    /// Host pid whose network namespace holds the container end.
    pub netns_pid: i32,
    /// The bridge its host end is plugged into (`net.attach`).
    pub bridge: Option<String>,
    /// True once either end was deleted (the kernel removes both).
    pub deleted: bool,
    pub at: usize,
}

/// An address of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub ifname: String,
    /// With prefix: `10.88.0.5/16`.
    pub address: String,
    /// True inside the container's netns, false on the host.
    pub inside: bool,
    pub at: usize,
}

/// A route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `default` or a network with prefix.
    pub destination: String,
    pub gateway: Option<String>,
    pub ifname: String,
    pub inside: bool,
    pub at: usize,
}

/// A host port leading to a port of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub protocol: String,
    pub host_ip: String,
    pub host_port: u16,
    pub container_ip: String,
    pub container_port: u16,
    /// `proxy` or `dnat`.
    pub mechanism: String,
    pub at: usize,
    /// Index of the `net.port_close` that freed the host port, once closed.
    /// The port stays in the list, so a front-end can show it closed.
    pub closed_at: Option<usize>,
}

impl Port {
    /// True while the host port leads to the container (not closed yet).
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

impl Network {
    /// The bridge named `name`, the latest one with that name.
    pub fn bridge(&self, name: &str) -> Option<&Bridge> {
        self.bridges.iter().rev().find(|b| b.name == name)
    }

    /// The latest veth pair (the one of the latest container).
    pub fn veth(&self) -> Option<&Veth> {
        self.veths.last()
    }

    /// Addresses of `ifname` on one side (inside the container or on the host).
    pub fn addrs_of<'a>(&'a self, ifname: &'a str, inside: bool) -> impl Iterator<Item = &'a Addr> {
        self.addrs
            .iter()
            .filter(move |a| a.ifname == ifname && a.inside == inside)
    }

    /// True when `ifname` was brought up and not deleted since.
    pub fn is_up(&self, ifname: &str) -> bool {
        self.links_up.iter().any(|l| l == ifname)
    }

    /// Published ports whose host socket is still open.
    pub fn open_ports(&self) -> impl Iterator<Item = &Port> {
        self.ports.iter().filter(|p| p.is_open())
    }

    /// True when the trace did anything beyond bringing `lo` up.
    pub fn is_bridged(&self) -> bool {
        !(self.bridges.is_empty() && self.veths.is_empty() && self.ports.is_empty())
    }
}

/// A Dockerfile build (`casulo build`), as far as the trace tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Build {
    /// The build context directory.
    pub context: String,
    pub dockerfile: String,
    /// `-t`, when given.
    pub tag: Option<String>,
    /// Instructions in the Dockerfile.
    pub total: u32,
    /// The base of the stage under way (the last FROM so far): with one
    /// stage, the image's base.
    pub base: Option<BuildBase>,
    /// Every stage started, in order (one per FROM; a one-stage build has
    /// one). Stages skipped by the build (not needed) are not here.
    pub stages: Vec<BuildBase>,
    /// Steps started, in order.
    pub steps: Vec<BuildStep>,
    pub commit: Option<BuildCommit>,
    /// Index of the `build.start` event.
    pub at: usize,
}

/// The image `FROM` names: the start of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildBase {
    pub image: String,
    pub image_id: Option<String>,
    /// Its layers (diff_ids), bottom-most first.
    pub diff_ids: Vec<String>,
    /// Multi-stage builds: the stage's name (or number) and number.
    pub stage: Option<String>,
    pub stage_index: Option<u32>,
    /// `FROM builder`: the earlier stage it starts from.
    pub from_stage: Option<String>,
    pub at: usize,
}

/// One Dockerfile instruction and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStep {
    /// 1-based.
    pub step: u32,
    /// Line in the Dockerfile (1-based).
    pub line: u32,
    pub instruction: String,
    pub args: String,
    /// RUN, COPY, ADD: the step makes a filesystem layer.
    pub creates_layer: bool,
    pub cache_key: String,
    /// Multi-stage builds: the stage it belongs to (name or number, and number).
    pub stage: Option<String>,
    pub stage_index: Option<u32>,
    /// `COPY --from=X`: the stage or image the files come from.
    pub copy_from: Option<String>,
    /// `ADD https://…`: what the step downloaded.
    pub downloads: Vec<Download>,
    pub result: StepResult,
    /// Index of its `build.step` event.
    pub at: usize,
}

/// A file an `ADD https://…` downloaded (`build.download`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    pub url: String,
    pub bytes: u64,
    pub digest: String,
    /// `--checksum` pinned it.
    pub pinned: bool,
}

/// How a build step ended (so far).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepResult {
    /// Started; no result yet.
    Running,
    /// Found in the cache: nothing ran. `diff_id` is the cached layer, for
    /// steps that make one.
    CacheHit { diff_id: Option<String>, at: usize },
    /// Ran and made a new layer.
    NewLayer {
        diff_id: String,
        bytes: u64,
        files: u64,
        created_by: String,
        at: usize,
    },
    /// Only changed the image config (ENV, CMD, WORKDIR…): the next step
    /// (or the commit) began with no layer from it.
    ConfigOnly,
}

impl StepResult {
    /// The layer this step put on the stack, if any.
    pub fn diff_id(&self) -> Option<&str> {
        match self {
            StepResult::CacheHit { diff_id, .. } => diff_id.as_deref(),
            StepResult::NewLayer { diff_id, .. } => Some(diff_id),
            _ => None,
        }
    }
}

/// The image the build wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildCommit {
    /// Empty when no tag was given.
    pub tag: String,
    pub image_id: String,
    pub layers: u32,
    pub at: usize,
}

impl Build {
    /// The step with number `step`, the latest one with it.
    pub fn step(&self, step: u32) -> Option<&BuildStep> {
        self.steps.iter().rev().find(|s| s.step == step)
    }

    /// The step under way: the latest one, until the commit.
    pub fn current(&self) -> Option<&BuildStep> {
        match self.commit {
            Some(_) => None,
            None => self.steps.last(),
        }
    }

    /// Steps that found their result in the cache.
    pub fn cache_hits(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s.result, StepResult::CacheHit { .. }))
            .count()
    }

    /// The steps' own layers so far (cached or new), bottom-most first,
    /// of the stage under way (the last one: the image's, in the end).
    pub fn new_layers(&self) -> impl Iterator<Item = &str> {
        let current = self.base.as_ref().and_then(|b| b.stage_index);
        self.stage_steps(current).filter_map(|s| s.result.diff_id())
    }

    /// More than one stage in the trace.
    pub fn is_multistage(&self) -> bool {
        self.stages.len() > 1 || self.stages.iter().any(|s| s.stage_index.is_some())
    }

    /// The steps of stage `stage_index` (`None`: a one-stage build's).
    pub fn stage_steps(&self, stage_index: Option<u32>) -> impl Iterator<Item = &BuildStep> {
        self.steps
            .iter()
            .filter(move |s| s.stage_index == stage_index)
    }

    /// The layer stack of a stage, bottom-most first: its base's layers
    /// (an earlier stage's, for `FROM builder`) and its steps' own.
    pub fn stage_layers(&self, stage: &BuildBase) -> Vec<String> {
        let mut out = stage.diff_ids.clone();
        out.extend(
            self.stage_steps(stage.stage_index)
                .filter_map(|s| s.result.diff_id().map(String::from)),
        );
        out
    }

    /// The stage the image is made of: the last one built.
    pub fn final_stage(&self) -> Option<&BuildBase> {
        self.stages.last()
    }

    /// The config-only step still `Running` becomes `ConfigOnly` when the
    /// next step or the commit begins.
    fn close_last_step(&mut self) {
        if let Some(s) = self.steps.last_mut() {
            if s.result == StepResult::Running && !s.creates_layer {
                s.result = StepResult::ConfigOnly;
            }
        }
    }

    fn step_mut(&mut self, step: u32) -> Option<&mut BuildStep> {
        self.steps.iter_mut().rev().find(|s| s.step == step)
    }
}

/// A `casulo commit` of the container (`image.commit`): its read/write
/// layer became a layer of a new image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageCommit {
    pub container: String,
    pub diff_id: String,
    /// Blob bytes (compressed) and tar bytes.
    pub size: u64,
    pub bytes: u64,
    pub files: u64,
    pub whiteouts: u64,
    pub image_id: String,
    /// Empty when no tag was given.
    pub tag: String,
    pub changes: Vec<String>,
    pub at: usize,
}

/// What happened to one layer in a `push` or `pull` (`registry.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerTransfer {
    /// Asked about, and missing: about to travel.
    Missing,
    /// Already there ("já estava aqui"): nothing traveled.
    Present,
    /// Sent to the registry (push).
    Sent,
    /// Linked from another repository of the registry, no byte sent.
    Mounted,
    /// Downloaded and verified (pull).
    Downloaded,
}

/// One layer of the image a `push` or `pull` moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryLayer {
    /// 0 = bottom.
    pub index: u32,
    pub digest: String,
    /// Blob bytes.
    pub size: u64,
    pub state: LayerTransfer,
    /// Microseconds the transfer took (0 when nothing traveled).
    pub duration_us: u64,
    /// Index of the event that last changed it.
    pub at: usize,
}

/// A `casulo push` or `pull`, from its `registry.*` events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryTransfer {
    /// `host[:port]`.
    pub registry: String,
    pub repository: String,
    /// `push` or `pull` (empty until an upload/manifest event says which).
    pub direction: String,
    /// The authentication scheme used (`basic`, `bearer`), empty if none.
    pub auth: String,
    /// The image's layers, by index.
    pub layers: Vec<RegistryLayer>,
    /// Digest of the manifest sent or fetched.
    pub manifest: Option<String>,
    /// Platform picked from an index (pull).
    pub platform: Option<String>,
    /// Bytes that traveled (blobs only).
    pub bytes: u64,
}

impl RegistryTransfer {
    fn layer_mut(&mut self, index: u32, digest: &str, size: u64, at: usize) -> &mut RegistryLayer {
        let pos = match self.layers.iter().position(|l| l.index == index) {
            Some(pos) => pos,
            None => {
                self.layers.push(RegistryLayer {
                    index,
                    digest: digest.to_string(),
                    size,
                    state: LayerTransfer::Missing,
                    duration_us: 0,
                    at,
                });
                self.layers.sort_by_key(|l| l.index);
                self.layers
                    .iter()
                    .position(|l| l.index == index)
                    .expect("just added")
            }
        };
        let layer = &mut self.layers[pos];
        layer.at = at;
        if size > 0 {
            layer.size = size;
        }
        layer
    }

    /// Layers that traveled (sent, mounted or downloaded) and those that
    /// were already there.
    pub fn counts(&self) -> (usize, usize) {
        let moved = self
            .layers
            .iter()
            .filter(|l| {
                matches!(
                    l.state,
                    LayerTransfer::Sent | LayerTransfer::Mounted | LayerTransfer::Downloaded
                )
            })
            .count();
        let present = self
            .layers
            .iter()
            .filter(|l| l.state == LayerTransfer::Present)
            .count();
        (moved, present)
    }
}

/// What the container wrote, from `layer.upper`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpperLayer {
    pub upperdir: String,
    pub added: u64,
    pub changed: u64,
    pub deleted: u64,
    pub bytes: u64,
    pub sample: Vec<String>,
}

/// The pseudo-terminal of a `run -t` container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    /// The slave, as the container sees it (`/dev/pts/0`).
    pub path: String,
    pub rows: u16,
    pub cols: u16,
    /// How many times the window changed size since it was opened.
    pub resizes: u32,
    /// Clients attached to it now (`terminal.attach`/`detach`, `-dit`).
    pub attached: u32,
}

/// The state of everything after some prefix of the trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct World {
    /// How many events have been applied (the world is "after event
    /// `applied - 1`").
    pub applied: usize,
    /// By host pid.
    pub processes: BTreeMap<i32, Process>,
    /// In order of creation.
    pub namespaces: Vec<Namespace>,
    pub overlay: Option<Overlay>,
    /// Image layers given to the overlay through idmapped mounts
    /// (`mount.idmap`, with `--userns`), by host path.
    pub idmapped: Vec<String>,
    /// Other mounts, in order (unmounted ones removed).
    pub mounts: Vec<Mount>,
    /// True once the container's root moved to the overlay (`pivot_root`).
    pub pivoted: bool,
    pub devices: Vec<Device>,
    /// (link, target) as seen from inside.
    pub symlinks: Vec<(String, String)>,
    pub hostname: Option<String>,
    pub layers: Vec<Layer>,
    /// Volumes created for the container, in order.
    pub volumes: Vec<Volume>,
    /// Restarts by its `--restart` policy, in order.
    pub restarts: Vec<Restart>,
    /// The client whose request to `casulo daemon` created the container
    /// (`daemon.request`'s `User-Agent`): none for a `casulo run`.
    pub api_client: Option<String>,
    /// The container's read/write layer, once measured (`layer.upper`).
    pub upper: Option<UpperLayer>,
    /// Images made from this container by `casulo commit`, in order.
    pub commits: Vec<ImageCommit>,
    /// The `push` or `pull` this trace records (`registry.*`).
    pub registry: Option<RegistryTransfer>,
    /// By path.
    pub cgroups: BTreeMap<String, Cgroup>,
    /// How many `cgroup.sample` events have been applied: the chart shows
    /// `replay.samples()[..samples_seen]`.
    pub samples_seen: usize,
    pub network: Network,
    /// The build, once `build.start` was seen.
    pub build: Option<Build>,
    /// Events whose outcome was an error, by index.
    pub errors: Vec<usize>,
    /// The host pid of the container's init: the latest process born in a
    /// new pid namespace (a build runs one container per `RUN` step).
    pub init_pid: Option<i32>,
    /// How many inits (containers) the trace has started so far.
    pub inits: usize,
    /// The container's pseudo-terminal (`process.tty`, with `run -t`),
    /// with its latest window size.
    pub terminal: Option<Terminal>,
    /// The container is paused: its cgroup frozen (`cgroup.freeze`), its
    /// processes there but never scheduled, until it is thawed.
    pub paused: bool,
    /// Parent host pid → the last child it cloned.
    last_child: BTreeMap<i32, i32>,
}

impl World {
    /// The empty world, before the first event.
    pub fn new() -> World {
        World::default()
    }

    /// The container's init process, once it exists.
    pub fn init(&self) -> Option<&Process> {
        self.processes.get(&self.init_pid?)
    }

    /// The other processes of the container: those in every namespace of
    /// its init (same kinds, same inodes) — a `casulo exec` joined them
    /// with `setns` — by host pid.
    pub fn joined(&self) -> impl Iterator<Item = &Process> {
        let init = self.init().filter(|i| !i.namespaces.is_empty());
        self.processes.values().filter(move |p| {
            init.is_some_and(|i| {
                p.host_pid != i.host_pid
                    && i.namespaces
                        .iter()
                        .all(|(kind, inode)| p.namespaces.get(kind) == Some(inode))
            })
        })
    }

    /// Applies one event (the next one: `event` is at index `self.applied`).
    pub fn apply(&mut self, event: &Event) {
        let at = self.applied;
        self.applied += 1;
        if let EventBody::CgroupSample { .. } = event.body {
            // Counted even when the reading failed: its index is in the list.
            self.samples_seen += 1;
        }
        if !event.outcome.is_ok() {
            self.errors.push(at);
            return;
        }
        let pid = event.pid;
        match &event.body {
            EventBody::ProcessClone { child_pid, flags } => {
                self.process(pid);
                let new_pid_ns = flags.iter().any(|f| f == "CLONE_NEWPID");
                self.last_child.insert(pid, *child_pid);
                // A child starts in its parent's namespaces (the ones its
                // `namespace.create` events replace come next): the child of
                // a `casulo exec` that joined a container's pid namespace is
                // born in it.
                let inherited = self.process(pid).namespaces.clone();
                let child = self.process(*child_pid);
                child.parent = Some(pid);
                child.namespaces.extend(inherited);
                if new_pid_ns {
                    child.container_pid = Some(1);
                    self.new_init(*child_pid);
                }
            }
            EventBody::NamespaceCreate {
                ns,
                via,
                inode,
                host_inode,
            } => {
                // With clone, the new namespace is the child's: the last
                // process this pid cloned. With unshare, the caller's own.
                let owner = match via {
                    NsVia::Clone => self.last_child_of(pid).unwrap_or(pid),
                    NsVia::Unshare => pid,
                };
                self.process(owner)
                    .namespaces
                    .insert(ns_key(*ns), inode.unwrap_or(0));
                self.namespaces.push(Namespace {
                    kind: *ns,
                    inode: *inode,
                    host_inode: *host_inode,
                    owner,
                    via: *via,
                    at,
                });
            }
            EventBody::NamespaceJoin {
                ns,
                target_pid,
                inode,
            } => {
                let known = || {
                    self.processes
                        .get(target_pid)
                        .and_then(|p| p.namespaces.get(&ns_key(*ns)).copied())
                };
                let inode = inode.or_else(known).unwrap_or(0);
                self.process(pid).namespaces.insert(ns_key(*ns), inode);
            }
            EventBody::NamespaceUser {
                target_pid,
                map,
                ranges,
            } => {
                let p = self.process(*target_pid);
                match map.as_str() {
                    "gid" => p.gid_map = ranges.clone(),
                    _ => p.uid_map = ranges.clone(),
                }
            }
            EventBody::MountIdmap { source, .. } => self.idmapped.push(source.clone()),
            EventBody::MountOverlay {
                target,
                lowerdirs,
                upperdir,
                workdir,
            } => {
                self.overlay = Some(Overlay {
                    target: target.clone(),
                    lowerdirs: lowerdirs.clone(),
                    upperdir: upperdir.clone(),
                    workdir: workdir.clone(),
                    at,
                });
            }
            EventBody::MountFs {
                fstype,
                source,
                target,
                flags,
                data,
            } => {
                let inside = self.inside(target);
                // A bind mount has no filesystem type of its own.
                let fstype = if fstype.is_empty() && flags.iter().any(|f| f == "MS_BIND") {
                    "bind".to_string()
                } else {
                    fstype.clone()
                };
                self.mounts.push(Mount {
                    fstype,
                    source: source.clone(),
                    target: target.clone(),
                    inside,
                    flags: flags.clone(),
                    data: data.clone(),
                    at,
                });
            }
            EventBody::MountPropagation { .. } => {}
            EventBody::MountPivotRoot { new_root, .. } => {
                self.pivoted = true;
                // `pivot_root(".", ".")` is relative to the working directory.
                let proc = self.process(pid);
                let root = match (new_root.starts_with('/'), &proc.cwd) {
                    (false, Some(cwd)) => cwd.clone(),
                    _ => new_root.clone(),
                };
                proc.root = Some(root);
            }
            EventBody::MountUmount { target, .. } => {
                let inside = self.inside(target);
                if let Some(i) = self
                    .mounts
                    .iter()
                    .rposition(|m| m.target == *target || m.inside == inside)
                {
                    self.mounts.remove(i);
                }
            }
            EventBody::DeviceCreate {
                path, major, minor, ..
            } => {
                let inside = self.inside(path);
                self.devices.push(Device {
                    inside,
                    major: *major,
                    minor: *minor,
                });
            }
            EventBody::FsSymlink { target, link } => {
                let link = self.inside(link);
                self.symlinks.push((link, target.clone()));
            }
            EventBody::FsWrite { .. } => {}
            EventBody::UtsSethostname { hostname } => self.hostname = Some(hostname.clone()),
            // Brought up again (a second container's `lo`): listed once.
            EventBody::NetLinkUp { ifname } if !self.network.is_up(ifname) => {
                self.network.links_up.push(ifname.clone())
            }
            EventBody::NetBridge {
                name,
                address,
                created,
            } => self.network.bridges.push(Bridge {
                name: name.clone(),
                address: address.clone(),
                created: *created,
                deleted: false,
                at,
            }),
            EventBody::NetVeth {
                host_ifname,
                container_ifname,
                netns_pid,
            } => self.network.veths.push(Veth {
                host_ifname: host_ifname.clone(),
                container_ifname: container_ifname.clone(),
                netns_pid: *netns_pid,
                bridge: None,
                deleted: false,
                at,
            }),
            EventBody::NetAttach { ifname, bridge } => {
                if let Some(v) = self
                    .network
                    .veths
                    .iter_mut()
                    .rev()
                    .find(|v| v.host_ifname == *ifname && !v.deleted)
                {
                    v.bridge = Some(bridge.clone());
                }
            }
            EventBody::NetAddr {
                ifname,
                address,
                inside,
            } => self.network.addrs.push(Addr {
                ifname: ifname.clone(),
                address: address.clone(),
                inside: *inside,
                at,
            }),
            EventBody::NetRoute {
                destination,
                gateway,
                ifname,
                inside,
            } => self.network.routes.push(Route {
                destination: destination.clone(),
                gateway: gateway.clone(),
                ifname: ifname.clone(),
                inside: *inside,
                at,
            }),
            EventBody::NetPort {
                protocol,
                host_ip,
                host_port,
                container_ip,
                container_port,
                mechanism,
            } => self.network.ports.push(Port {
                protocol: protocol.clone(),
                host_ip: host_ip.clone(),
                host_port: *host_port,
                container_ip: container_ip.clone(),
                container_port: *container_port,
                mechanism: mechanism.clone(),
                at,
                closed_at: None,
            }),
            EventBody::NetPortClose {
                protocol,
                host_ip,
                host_port,
            } => {
                // The latest open port with that address: a port can be
                // published again by a later run once it was freed.
                if let Some(p) = self.network.ports.iter_mut().rev().find(|p| {
                    p.is_open()
                        && p.protocol == *protocol
                        && p.host_ip == *host_ip
                        && p.host_port == *host_port
                }) {
                    p.closed_at = Some(at);
                }
            }
            EventBody::NetLinkDelete { ifname } => self.delete_link(ifname),
            EventBody::NetDnsListen {
                address,
                network,
                netns_pid: _,
            } => {
                // UDP, then TCP on the same address: one server, both
                // protocols ("127.0.0.11:53/udp+tcp").
                if let Some(d) = self.network.dns_server.as_mut().filter(|d| {
                    d.network == *network
                        && d.address.split('/').next() == address.split('/').next()
                }) {
                    if let Some((_, proto)) = address.split_once('/') {
                        d.address = format!("{}+{proto}", d.address);
                    }
                    return;
                }
                self.network.dns_server = Some(DnsServer {
                    address: address.clone(),
                    network: network.clone(),
                    at,
                })
            }
            EventBody::NetDns {
                name,
                qtype,
                answer,
                resolved_by,
            } => self.network.dns.push(DnsQuery {
                name: name.clone(),
                qtype: qtype.clone(),
                answer: answer.clone(),
                resolved_by: resolved_by.clone(),
                at,
            }),
            EventBody::NetRule {
                action,
                chain,
                rule,
                purpose,
            } => {
                if action == "delete" {
                    // The same text, or (as `nft` may print it otherwise) the
                    // same comment: each casulo rule's comment is its own.
                    let tag = |t: &str| t.split_once("comment \"").map(|(_, c)| c.to_string());
                    let rules = &mut self.network.rules;
                    let found = rules
                        .iter()
                        .rposition(|r| r.is_active() && r.chain == *chain && r.rule == *rule)
                        .or_else(|| {
                            let wanted = tag(rule)?;
                            rules.iter().rposition(|r| {
                                r.is_active()
                                    && r.chain == *chain
                                    && tag(&r.rule).as_deref() == Some(wanted.as_str())
                            })
                        });
                    if let Some(i) = found {
                        rules[i].deleted_at = Some(at);
                    }
                } else {
                    self.network.rules.push(Rule {
                        chain: chain.clone(),
                        rule: rule.clone(),
                        purpose: purpose.clone(),
                        at,
                        deleted_at: None,
                    });
                }
            }
            EventBody::BuildStart {
                context,
                dockerfile,
                tag,
                steps,
            } => {
                self.build = Some(Build {
                    context: context.clone(),
                    dockerfile: dockerfile.clone(),
                    tag: tag.clone(),
                    total: *steps,
                    at,
                    ..Build::default()
                })
            }
            EventBody::BuildBase {
                image,
                image_id,
                diff_ids,
                stage,
                stage_index,
                from_stage,
            } => {
                let base = BuildBase {
                    image: image.clone(),
                    image_id: image_id.clone(),
                    diff_ids: diff_ids.clone(),
                    stage: stage.clone(),
                    stage_index: *stage_index,
                    from_stage: from_stage.clone(),
                    at,
                };
                let build = self.build_mut(at);
                build.stages.push(base.clone());
                build.base = Some(base);
            }
            EventBody::BuildStep {
                step,
                total,
                line,
                instruction,
                args,
                creates_layer,
                cache_key,
                stage,
                stage_index,
                copy_from,
            } => {
                let build = self.build_mut(at);
                build.close_last_step();
                build.total = build.total.max(*total);
                build.steps.push(BuildStep {
                    step: *step,
                    line: *line,
                    instruction: instruction.clone(),
                    args: args.clone(),
                    creates_layer: *creates_layer,
                    cache_key: cache_key.clone(),
                    stage: stage.clone(),
                    stage_index: *stage_index,
                    copy_from: copy_from.clone(),
                    downloads: Vec::new(),
                    result: StepResult::Running,
                    at,
                });
            }
            EventBody::BuildDownload {
                step,
                url,
                bytes,
                digest,
                pinned,
                ..
            } => {
                if let Some(s) = self.build_mut(at).step_mut(*step) {
                    s.downloads.push(Download {
                        url: url.clone(),
                        bytes: *bytes,
                        digest: digest.clone(),
                        pinned: *pinned,
                    });
                }
            }
            EventBody::BuildCacheHit { step, diff_id, .. } => {
                if let Some(s) = self.build_mut(at).step_mut(*step) {
                    s.result = StepResult::CacheHit {
                        diff_id: diff_id.clone(),
                        at,
                    };
                }
            }
            EventBody::BuildLayer {
                step,
                diff_id,
                bytes,
                files,
                created_by,
            } => {
                if let Some(s) = self.build_mut(at).step_mut(*step) {
                    s.result = StepResult::NewLayer {
                        diff_id: diff_id.clone(),
                        bytes: *bytes,
                        files: *files,
                        created_by: created_by.clone(),
                        at,
                    };
                }
            }
            EventBody::ImageCommit {
                container,
                diff_id,
                size,
                bytes,
                files,
                whiteouts,
                image_id,
                tag,
                changes,
                ..
            } => self.commits.push(ImageCommit {
                container: container.clone(),
                diff_id: diff_id.clone(),
                size: *size,
                bytes: *bytes,
                files: *files,
                whiteouts: *whiteouts,
                image_id: image_id.clone(),
                tag: tag.clone(),
                changes: changes.clone(),
                at,
            }),
            EventBody::RegistryPing { registry, .. } => {
                self.registry_mut(registry).registry = registry.clone();
            }
            EventBody::RegistryAuth {
                registry, scheme, ..
            } => self.registry_mut(registry).auth = scheme.clone(),
            EventBody::RegistryBlobExists {
                registry,
                repository,
                digest,
                size,
                exists,
                layer: Some(index),
                ..
            } => {
                let reg = self.registry_mut(registry);
                reg.repository = repository.clone();
                let layer = reg.layer_mut(*index, digest, *size, at);
                layer.state = if *exists {
                    LayerTransfer::Present
                } else {
                    LayerTransfer::Missing
                };
            }
            EventBody::RegistryBlobUpload {
                registry,
                repository,
                digest,
                bytes,
                duration_us,
                layer,
                ..
            } => {
                let reg = self.registry_mut(registry);
                reg.repository = repository.clone();
                reg.direction = "push".into();
                reg.bytes += bytes;
                if let Some(index) = layer {
                    let layer = reg.layer_mut(*index, digest, *bytes, at);
                    layer.state = LayerTransfer::Sent;
                    layer.duration_us = *duration_us;
                }
            }
            EventBody::RegistryBlobMount {
                registry,
                repository,
                digest,
                mounted: true,
                layer: Some(index),
                ..
            } => {
                let reg = self.registry_mut(registry);
                reg.repository = repository.clone();
                reg.direction = "push".into();
                reg.layer_mut(*index, digest, 0, at).state = LayerTransfer::Mounted;
            }
            EventBody::RegistryBlobDownload {
                registry,
                repository,
                digest,
                bytes,
                duration_us,
                layer,
                ..
            } => {
                let reg = self.registry_mut(registry);
                reg.repository = repository.clone();
                reg.direction = "pull".into();
                reg.bytes += bytes;
                if let Some(index) = layer {
                    let layer = reg.layer_mut(*index, digest, *bytes, at);
                    layer.state = LayerTransfer::Downloaded;
                    layer.duration_us = *duration_us;
                }
            }
            EventBody::RegistryManifestGet {
                registry,
                repository,
                digest,
                platform,
                ..
            } => {
                let reg = self.registry_mut(registry);
                reg.repository = repository.clone();
                reg.direction = "pull".into();
                reg.manifest = Some(digest.clone());
                if platform.is_some() {
                    reg.platform = platform.clone();
                }
            }
            EventBody::RegistryManifestPut {
                registry,
                repository,
                digest,
                ..
            } => {
                let reg = self.registry_mut(registry);
                reg.repository = repository.clone();
                reg.direction = "push".into();
                reg.manifest = Some(digest.clone());
            }
            EventBody::RegistryBlobExists { .. } | EventBody::RegistryBlobMount { .. } => {}
            EventBody::BuildCommit {
                tag,
                image_id,
                layers,
            } => {
                let build = self.build_mut(at);
                build.close_last_step();
                build.commit = Some(BuildCommit {
                    tag: tag.clone(),
                    image_id: image_id.clone(),
                    layers: *layers,
                    at,
                });
            }
            EventBody::ProcessChdir { path } => {
                // A relative path (`chdir(".")` with `--userns`) is from
                // the working directory the process already had.
                let proc = self.process(pid);
                let cwd = match (path.starts_with('/'), &proc.cwd) {
                    (false, Some(cwd)) if path == "." => cwd.clone(),
                    (false, Some(cwd)) => format!(
                        "{}/{}",
                        cwd.trim_end_matches('/'),
                        path.trim_start_matches("./")
                    ),
                    _ => path.clone(),
                };
                proc.cwd = Some(cwd);
            }
            EventBody::ProcessChroot { path } => self.process(pid).root = Some(path.clone()),
            EventBody::ProcessUser { uid, gid, .. } => self.process(pid).user = Some((*uid, *gid)),
            EventBody::SecurityCapabilities { kept, .. } => {
                self.process(pid).capabilities = Some(kept.clone())
            }
            EventBody::SecurityNoNewPrivs {} => self.process(pid).no_new_privs = true,
            EventBody::SecuritySeccomp { mode, .. } => self.process(pid).seccomp = mode == "filter",
            EventBody::SecurityNonDumpable {} => self.process(pid).non_dumpable = true,
            EventBody::ProcessSetsid { .. } => self.process(pid).own_session = true,
            EventBody::ProcessFdsClosed { first, inherited } => {
                self.process(pid).fds_closed = Some((*first, inherited.clone()))
            }
            // The container's own terminal (the init's); the terminal of an
            // `exec -t` is another pty of its devpts and leaves it as it is.
            EventBody::ProcessTty { path, .. }
                if self.terminal.as_ref().is_some_and(|t| t.path != *path) => {}
            EventBody::ProcessTty {
                action,
                path,
                rows,
                cols,
            } => {
                let resizes = match (action, &self.terminal) {
                    (crate::TtyAction::Resize, Some(t)) => t.resizes + 1,
                    _ => 0,
                };
                let attached = self.terminal.as_ref().map_or(0, |t| t.attached);
                self.terminal = Some(Terminal {
                    path: path.clone(),
                    rows: *rows,
                    cols: *cols,
                    resizes,
                    attached,
                });
            }
            EventBody::TerminalAttach { attached, .. }
            | EventBody::TerminalDetach { attached, .. } => {
                if let Some(t) = self.terminal.as_mut() {
                    t.attached = *attached;
                }
            }
            EventBody::ProcessExec { argv, path, .. } => {
                let argv = if argv.is_empty() {
                    vec![path.clone()]
                } else {
                    argv.clone()
                };
                self.process(pid).exec = Some(argv);
            }
            EventBody::ProcessExit {
                exited_pid,
                code,
                signal_name,
                signal,
            } => {
                let signal_name = signal_name.clone().or_else(|| {
                    signal.and_then(|s| crate::narrate::signal_name(s).map(String::from))
                });
                self.process(*exited_pid).exit = Some(Exit {
                    code: *code,
                    signal_name,
                    at,
                });
            }
            EventBody::ProcessSignal { .. } => {}
            EventBody::LayerUnpack {
                diff_id,
                path,
                bytes,
                files,
                duration_us,
            } => {
                let unpacked = Some(Unpacked {
                    bytes: *bytes,
                    files: *files,
                    duration_us: *duration_us,
                });
                self.layer(diff_id, path, at).unpacked = unpacked;
            }
            EventBody::LayerReuse { diff_id, path } => {
                self.layer(diff_id, path, at);
            }
            EventBody::LayerUpper {
                upperdir,
                added,
                changed,
                deleted,
                bytes,
                sample,
            } => {
                self.upper = Some(UpperLayer {
                    upperdir: upperdir.clone(),
                    added: *added,
                    changed: *changed,
                    deleted: *deleted,
                    bytes: *bytes,
                    sample: sample.clone(),
                })
            }
            EventBody::DaemonRequest { client, .. } => {
                self.api_client = Some(client.clone());
            }
            EventBody::ProcessRestart {
                policy,
                attempt,
                exit_code,
                delay_ms,
            } => self.restarts.push(Restart {
                policy: policy.clone(),
                attempt: *attempt,
                exit_code: *exit_code,
                delay_ms: *delay_ms,
                at,
            }),
            EventBody::VolumeCreate {
                name,
                path,
                target,
                anonymous,
            } => self.volumes.push(Volume {
                name: name.clone(),
                path: path.clone(),
                target: target.clone(),
                anonymous: *anonymous,
                at,
            }),
            EventBody::LayerWhiteout {
                diff_id,
                path,
                opaque,
            } => {
                self.layer(diff_id, "", at)
                    .whiteouts
                    .push((path.clone(), *opaque));
            }
            EventBody::CgroupCreate {
                path,
                version,
                controller,
            } => {
                let cg = self.cgroup(path, at);
                cg.version = version.clone();
                cg.controller = controller.clone();
                cg.deleted = false;
            }
            EventBody::CgroupLimit {
                controller,
                file,
                value,
                ..
            } => {
                let (dir, name) = match file.rsplit_once('/') {
                    Some((dir, name)) => (dir.to_string(), name.to_string()),
                    None => (String::new(), file.clone()),
                };
                let cg = self.cgroup(&dir, at);
                if cg.controller.is_empty() && cg.version != "v2" {
                    cg.controller = controller.clone();
                }
                cg.limits.insert(name, value.clone());
            }
            EventBody::CgroupDevices {
                path,
                version,
                privileged,
                default_action,
                allowed,
                program_insns,
            } => {
                self.cgroup(path, at).devices = Some(DeviceRules {
                    version: version.clone(),
                    privileged: *privileged,
                    default_action: default_action.clone(),
                    allowed: allowed.clone(),
                    program_insns: *program_insns,
                    at,
                });
            }
            EventBody::CgroupAttach { path, target_pid } => {
                let cg = self.cgroup(path, at);
                if !cg.procs.contains(target_pid) {
                    cg.procs.push(*target_pid);
                }
            }
            EventBody::CgroupSample { .. } => {}
            EventBody::CgroupOom {
                path, oom_kills, ..
            } => {
                let cg = self.cgroup(path, at);
                cg.oom_kills = *oom_kills;
                cg.last_oom = Some(at);
            }
            EventBody::CgroupPidsMax { path, refused, .. } => {
                self.cgroup(path, at).pids_refused = *refused;
            }
            EventBody::CgroupFreeze { file, frozen } => {
                let dir = file.rsplit_once('/').map_or("", |(dir, _)| dir);
                self.cgroup(dir, at).frozen = *frozen;
                self.paused = *frozen;
            }
            EventBody::CgroupDelete { path } => {
                if let Some(cg) = self.cgroups.get_mut(path) {
                    cg.deleted = true;
                    cg.frozen = false;
                }
            }
            // Kinds added to the trace after this replay was written: ignored
            // until it learns them (the trace stays readable).
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    /// A new container's init was born: it becomes *the* init, and the
    /// per-container views start empty (the last container's are gone with
    /// it; its processes and namespaces stay on record).
    fn new_init(&mut self, pid: i32) {
        if self.init_pid.is_some() {
            self.overlay = None;
            self.idmapped.clear();
            self.mounts.clear();
            self.pivoted = false;
            self.devices.clear();
            self.symlinks.clear();
            self.hostname = None;
            self.upper = None;
            // The old container's `lo`/`eth0` went with its netns; the
            // host's bridge and live veth ends stay up.
            let net = &mut self.network;
            let (bridges, veths) = (&net.bridges, &net.veths);
            net.links_up.retain(|l| {
                bridges.iter().any(|b| b.name == *l)
                    || veths.iter().any(|v| !v.deleted && v.host_ifname == *l)
            });
        }
        self.init_pid = Some(pid);
        self.inits += 1;
        self.paused = false;
    }

    /// `RTM_DELLINK`: a veth end takes its peer with it; both go down.
    fn delete_link(&mut self, ifname: &str) {
        let net = &mut self.network;
        let mut gone = vec![ifname.to_string()];
        if let Some(v) = net
            .veths
            .iter_mut()
            .rev()
            .find(|v| !v.deleted && (v.host_ifname == ifname || v.container_ifname == ifname))
        {
            v.deleted = true;
            gone = vec![v.host_ifname.clone(), v.container_ifname.clone()];
        } else if let Some(b) = net
            .bridges
            .iter_mut()
            .rev()
            .find(|b| !b.deleted && b.name == ifname)
        {
            b.deleted = true;
        }
        net.links_up.retain(|l| !gone.contains(l));
    }

    /// The build, made on the spot when a trace starts mid-build.
    fn build_mut(&mut self, at: usize) -> &mut Build {
        self.build.get_or_insert_with(|| Build {
            at,
            ..Build::default()
        })
    }

    /// The push or pull, made on its first `registry.*` event.
    fn registry_mut(&mut self, registry: &str) -> &mut RegistryTransfer {
        self.registry.get_or_insert_with(|| RegistryTransfer {
            registry: registry.to_string(),
            ..RegistryTransfer::default()
        })
    }

    /// The last process `pid` cloned: the `process.clone` comes just before
    /// its `namespace.create` events.
    fn last_child_of(&self, pid: i32) -> Option<i32> {
        self.last_child.get(&pid).copied()
    }

    fn process(&mut self, pid: i32) -> &mut Process {
        self.processes.entry(pid).or_insert_with(|| Process {
            host_pid: pid,
            parent: None,
            container_pid: None,
            namespaces: BTreeMap::new(),
            exec: None,
            root: None,
            cwd: None,
            user: None,
            capabilities: None,
            no_new_privs: false,
            seccomp: false,
            non_dumpable: false,
            own_session: false,
            fds_closed: None,
            uid_map: Vec::new(),
            gid_map: Vec::new(),
            exit: None,
        })
    }

    fn layer(&mut self, diff_id: &str, path: &str, at: usize) -> &mut Layer {
        let i = match self.layers.iter().position(|l| l.diff_id == diff_id) {
            Some(i) => i,
            None => {
                self.layers.push(Layer {
                    diff_id: diff_id.to_string(),
                    path: path.to_string(),
                    unpacked: None,
                    whiteouts: vec![],
                    at,
                });
                self.layers.len() - 1
            }
        };
        let layer = &mut self.layers[i];
        if layer.path.is_empty() {
            layer.path = path.to_string();
        }
        layer
    }

    fn cgroup(&mut self, path: &str, at: usize) -> &mut Cgroup {
        self.cgroups
            .entry(path.to_string())
            .or_insert_with(|| Cgroup {
                path: path.to_string(),
                version: String::new(),
                controller: String::new(),
                limits: BTreeMap::new(),
                procs: vec![],
                oom_kills: 0,
                last_oom: None,
                pids_refused: 0,
                devices: None,
                frozen: false,
                deleted: false,
                at,
            })
    }

    /// A path as the container sees it: host paths under the overlay's
    /// target lose that prefix; paths written after `pivot_root` already
    /// are inside.
    pub fn inside(&self, path: &str) -> String {
        if let Some(o) = &self.overlay {
            if let Some(rest) = path.strip_prefix(o.target.as_str()) {
                if rest.is_empty() {
                    return "/".into();
                }
                if rest.starts_with('/') {
                    return rest.to_string();
                }
            }
            // With `--userns` the init mounts relative to the overlay (its
            // working directory): `./proc` is the container's `/proc`.
            if let Some(rest) = path.strip_prefix("./") {
                return format!("/{rest}");
            }
        }
        path.to_string()
    }

    /// Layer of a lowerdir path, if the trace unpacked or reused it.
    pub fn layer_of_dir(&self, dir: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.path == dir)
    }
}

/// A trace's events with checkpoints, ready to be replayed at any position.
///
/// It grows: [`Replay::extend`] folds only the new events (a live trace
/// arriving in batches costs each batch its own size, not the whole trace
/// again), and gives the same checkpoints as [`Replay::new`] of all of them.
#[derive(Debug, Clone)]
pub struct Replay {
    events: Vec<Event>,
    /// `checkpoints[i]` is the world after `i * CHECKPOINT_EVERY` events.
    checkpoints: Vec<World>,
    samples: Vec<Sample>,
    /// The world after every event (where the next `extend` goes on from).
    end: World,
}

impl Default for Replay {
    fn default() -> Replay {
        Replay {
            events: vec![],
            checkpoints: vec![World::new()],
            samples: vec![],
            end: World::new(),
        }
    }
}

impl Replay {
    /// Folds the whole trace once, keeping a checkpoint every
    /// [`CHECKPOINT_EVERY`] events and every usage sample.
    pub fn new(events: Vec<Event>) -> Replay {
        let mut replay = Replay::default();
        replay.extend(events);
        replay
    }

    /// Appends `more` (the events right after the last one) and folds
    /// only them.
    pub fn extend(&mut self, more: impl IntoIterator<Item = Event>) {
        for e in more {
            let i = self.events.len();
            if let EventBody::CgroupSample {
                memory_bytes,
                memory_peak_bytes,
                memory_limit_bytes,
                pids,
                pids_limit,
                cpu_usage_us,
                cpu_throttled_us,
            } = &e.body
            {
                self.samples.push(Sample {
                    index: i,
                    t_us: e.t_us,
                    memory_bytes: *memory_bytes,
                    memory_peak_bytes: *memory_peak_bytes,
                    memory_limit_bytes: *memory_limit_bytes,
                    pids: *pids,
                    pids_limit: *pids_limit,
                    cpu_usage_us: *cpu_usage_us,
                    cpu_throttled_us: *cpu_throttled_us,
                });
            }
            self.end.apply(&e);
            self.events.push(e);
            if (i + 1).is_multiple_of(CHECKPOINT_EVERY) {
                self.checkpoints.push(self.end.clone());
            }
        }
    }

    /// The world after every event (what `world_at(len())` gives, without
    /// folding anything).
    pub fn end(&self) -> &World {
        &self.end
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Every usage sample of the trace, in order.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// The world after the first `n` events (`n` is clamped to the length):
    /// the nearest checkpoint, then at most [`CHECKPOINT_EVERY`] - 1 events.
    pub fn world_at(&self, n: usize) -> World {
        let n = n.min(self.events.len());
        if n == self.events.len() {
            return self.end.clone();
        }
        let mut world = self.checkpoints[n / CHECKPOINT_EVERY].clone();
        for e in &self.events[world.applied..n] {
            world.apply(e);
        }
        world
    }

    /// A cursor at position 0.
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor {
            replay: self,
            world: World::new(),
        }
    }
}

/// A position in a [`Replay`], with its world; moves cheaply forward.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    replay: &'a Replay,
    world: World,
}

impl Cursor<'_> {
    /// Events applied so far.
    pub fn position(&self) -> usize {
        self.world.applied
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    /// Applies the next event; false at the end.
    pub fn step(&mut self) -> bool {
        match self.replay.events.get(self.world.applied) {
            Some(e) => {
                self.world.apply(e);
                true
            }
            None => false,
        }
    }

    /// Goes to position `n` (clamped): forward by stepping when it is near,
    /// otherwise from the nearest checkpoint.
    pub fn seek(&mut self, n: usize) {
        let n = n.min(self.replay.len());
        let here = self.world.applied;
        if n >= here && n - here < CHECKPOINT_EVERY {
            while self.world.applied < n {
                self.step();
            }
        } else {
            self.world = self.replay.world_at(n);
        }
    }
}
