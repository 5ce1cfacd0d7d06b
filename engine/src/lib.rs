//! # casulo — the engine
//!
//! A real container engine written to be read. One module per kernel concept:
//!
//! | module | concept |
//! |---|---|
//! | [`kernel`] | the facade every kernel call goes through (and where trace events are born) |
//! | [`recorder`] | appends events to the `.trace.jsonl` file |
//! | [`namespaces`] | which namespaces a container gets, their inodes |
//! | [`mounts`] | the container's filesystem: overlay rootfs, /proc, /sys, /dev, pivot_root |
//! | [`network`] | `--network bridge`: the bridge casulo0, veth pairs, addresses (rtnetlink by hand), published ports |
//! | [`cgroups`] | cgroup v1/v2: mode detection, limits (memory, cpu, pids), usage samples, OOM |
//! | [`image`] | the OCI image store, layers, bootstrap of busybox, import |
//! | [`build`] | `casulo build`: Dockerfile → image, layer cache |
//! | [`lab`] | `casulo lab`: the checker of the labs (lab files, checks over traces, state, output) |
//! | [`rootless`] | `casulo` without root: its own user namespace, state under XDG, what it refuses, `-p` through pasta ([`rootless_mode`]: whether this casulo is rootless) |
//! | [`security`] | what the container's root may do: capabilities cut to docker's default, no_new_privs |
//! | [`container`] | the lifecycle: create, start (the init side in `init`), run, rm |
//! | [`daemon`] | `casulo daemon`: the Docker Engine API over a unix socket, a thin layer over the above |
//! | [`state`] | the on-disk layout under `/var/lib/casulo` |
//! | [`cli`] | the thin `casulo` command line over all of the above |
//!
//! The library never prints; the CLI does. Errors carry pt-BR messages that
//! name what was wrong (the student reads them).

pub mod build;
pub mod cgroups;
pub mod cli;
pub mod container;
pub mod daemon;
pub mod fd_channel;
pub mod image;
pub mod kernel;
pub mod lab;
pub mod mounts;
pub mod namespaces;
pub mod network;
pub mod recorder;
pub mod registry;
pub mod rootless;
pub mod rootless_mode;
pub mod security;
pub mod state;
pub mod terminal;
pub mod volume;
