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
//!
//! Each area (the `area.` prefix of a kind) has its file: its world types
//! and its part of applying events; [`World::apply`] only dispatches.

mod build;
mod cgroups;
mod daemon;
mod layers;
mod mounts;
mod namespaces;
mod network;
mod process;
mod registry;
mod security;
mod sorted_map;
mod terminal;

pub use build::*;
pub use cgroups::*;
pub use layers::*;
pub use mounts::*;
pub use namespaces::*;
pub use network::*;
pub use process::*;
pub use registry::*;
pub use sorted_map::SortedMap;
pub use terminal::*;

use crate::{Event, EventBody};

/// A copy of the world is kept every this many events.
pub const CHECKPOINT_EVERY: usize = 256;

/// The state of everything after some prefix of the trace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct World {
    /// How many events have been applied (the world is "after event
    /// `applied - 1`").
    pub applied: usize,
    /// By host pid.
    pub processes: SortedMap<i32, Process>,
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
    pub cgroups: SortedMap<String, Cgroup>,
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
    last_child: SortedMap<i32, i32>,
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
        let kind = event.body.kind();
        match kind.split('.').next().unwrap_or(kind) {
            "process" => self.apply_process(event, at),
            "namespace" => self.apply_namespaces(event, at),
            "mount" | "device" | "fs" | "uts" => self.apply_mounts(event, at),
            "security" => self.apply_security(event),
            "terminal" => self.apply_terminal(event),
            "daemon" => self.apply_daemon(event),
            "layer" | "volume" => self.apply_layers(event, at),
            "cgroup" => self.apply_cgroups(event, at),
            "net" => {
                self.apply_net_links(event, at);
                self.apply_net_services(event, at);
            }
            "build" | "image" => {
                self.apply_build_steps(event, at);
                self.apply_build_results(event, at);
            }
            "registry" => self.apply_registry(event, at),
            // Kinds added to the trace after this replay was written: ignored
            // until it learns them (the trace stays readable).
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

    /// The world at position `n` (clamped), from `world` (the world at
    /// some position): forward by applying the events in between when `n`
    /// is near, otherwise from the nearest checkpoint. What a player does
    /// at every move (the visualizer's `seek`, [`Cursor::seek`]).
    pub fn advance(&self, world: &World, n: usize) -> World {
        let n = n.min(self.events.len());
        let here = world.applied;
        if n >= here && n - here < CHECKPOINT_EVERY {
            let mut world = world.clone();
            for e in &self.events[here..n] {
                world.apply(e);
            }
            world
        } else {
            self.world_at(n)
        }
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

    /// Goes to position `n` (clamped), as [`Replay::advance`].
    pub fn seek(&mut self, n: usize) {
        self.world = self.replay.advance(&self.world, n);
    }
}
