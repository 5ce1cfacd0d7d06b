//! The container lifecycle, one file per verb (as youki's `libcontainer`):
//!
//! - [`create`]: resolve the image, unpack its layers, make the container's
//!   directories and its trace — nothing runs yet;
//! - [`start`]: `clone` the container's first process into new namespaces
//!   (the parent side) and wait until it has `exec`uted the command;
//! - [`init`]: what that first process does before `exec` (the child side):
//!   cgroup namespace, rootfs, hostname, `lo` (and `eth0`), pivot_root, workdir;
//! - [`wait`]: wait for the command to end, forwarding signals;
//! - [`rm`]: remove what the container left on disk;
//! - [`exec`]: a new process in a running container (`setns` into its
//!   namespaces, its cgroup and its init's security), as `docker exec`;
//! - [`kill`]: `stop`, `kill` and `wait` from another process, for a
//!   container whose `casulo run` waits in another terminal;
//! - [`inspect`], [`top`]: the record docker-like, the processes of its cgroup;
//! - [`pause`]: freeze and thaw its processes (the cgroup freezer);
//! - [`stats`]: its usage now (memory, CPU %, processes), as `cgroup.sample` reads it;
//! - [`record`]: `container.json`, read and updated under a lock;
//! - [`keeper`]: the lock its `casulo run` or supervisor holds while it
//!   looks after it (a container whose init is gone is not "exited" until
//!   its keeper is done tearing it down);
//! - [`find`]: the one resolver of ids, short ids and names every verb uses;
//! - [`run`]: create + start + wait (+ rm with `--rm`), what `casulo run` does;
//! - [`supervise`]: the supervisor of a `-d` container (and of `start`),
//!   which lives on after the CLI; [`logs`]: what it keeps of the
//!   container's output.
//!
//! **PID 1.** The command *replaces* the init process (no tiny init), as in
//! `docker run` without `--init`: the student's program really is PID 1, and
//! the classic PID-1 lessons are visible (it ignores SIGINT/SIGTERM unless
//! it installs a handler; orphans are re-parented to it). casulo forwards the
//! first Ctrl-C/SIGTERM to it and sends SIGKILL on the second.

pub mod connect;
pub mod create;
pub mod diff;
pub mod exec;
pub mod image_use;
pub mod init;
pub mod inspect;
pub mod keeper;
pub mod kill;
pub mod logs;
pub mod names;
pub mod pause;
pub mod record;
pub mod rename;
pub mod rm;
pub mod run;
pub mod start;
pub mod stats;
pub mod supervise;
pub mod terminal_hub;
pub mod terminal_wait;
pub mod top;
pub mod user;
pub mod volumes;
pub mod wait;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Ids and liveness checks serve the whole state dir (volumes, pushes,
/// leftovers), so they live in `state`.
pub use crate::state::{new_id, pid_alive};
pub use names::generated_name;

use crate::image::ImageError;
use crate::kernel::KernelError;

/// Default PATH when the image sets none (docker's).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the user asked `casulo run` for.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub image: String,
    /// Overrides the image's Cmd when not empty.
    pub command: Vec<String>,
    pub name: Option<String>,
    pub hostname: Option<String>,
    /// `KEY=value` (or `KEY` alone: taken from casulo's own environment).
    pub env: Vec<String>,
    pub workdir: Option<String>,
    /// Remove the container's directories when it ends.
    pub rm: bool,
    /// Where to write the trace (default: in the state dir).
    pub trace: Option<PathBuf>,
    /// `--entrypoint`: replaces the image's Entrypoint (and drops its Cmd).
    pub entrypoint: Option<String>,
    /// `-u`/`--user`: `name`, `uid`, `name:group`, `uid:gid`.
    pub user: Option<String>,
    /// cgroup limits (`--memory`, `--cpus`, `--pids-limit`, …).
    pub resources: crate::cgroups::Resources,
    /// How often the cgroup's usage is sampled into the trace
    /// (default [`DEFAULT_SAMPLE_INTERVAL`]).
    pub sample_interval: Option<std::time::Duration>,
    /// `--network`: `none` (only `lo`, the default), `bridge` or a user network.
    pub network: crate::network::NetworkMode,
    /// `--network-alias`: more names for the network's DNS (user networks only).
    pub network_aliases: Vec<String>,
    /// `--ip`: this address on the network (user networks only).
    pub ip: Option<std::net::Ipv4Addr>,
    /// `--userland-proxy=false`: `-p` by DNAT rules instead of the proxy.
    pub publish_dnat: bool,
    /// `-p`: host ports that lead to the container's (needs `bridge`).
    pub publish: Vec<crate::network::ports::PortSpec>,
    /// Rootless: the container's network comes from pasta (outbound, and
    /// the `-p` ports) — the default without `--network none`, as podman's.
    pub pasta: bool,
    /// Called while a layer is unpacked: (layer digest, blob bytes read,
    /// blob size). The CLI draws a progress bar with it; the library never prints.
    pub unpack_progress: Option<fn(&str, u64, u64)>,
    /// `--privileged`, `--cap-add`, `--cap-drop`, `--security-opt`.
    pub security: crate::security::SecurityOptions,
    /// `-v`, `--tmpfs`, `--mount`, in the order given.
    pub mounts: Vec<crate::volume::MountSpec>,
    /// `--read-only`: the container's root (the overlay) mounted read-only.
    pub read_only: bool,
    /// `-d`: runs under its own supervisor, and `casulo run` returns at once.
    pub detach: bool,
    /// `-t`: a pseudo-terminal.
    pub tty: bool,
    /// `-i`: stdin kept open.
    pub interactive: bool,
    /// `--restart`.
    pub restart: RestartPolicy,
}

/// Default interval between two `cgroup.sample` events.
pub const DEFAULT_SAMPLE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(200);

/// What the first process needs to become the container (resolved by create).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessSpec {
    /// argv; `args[0]` is resolved through the container's PATH by init.
    pub args: Vec<String>,
    /// `KEY=value`, final (image env + `-e`).
    pub env: Vec<String>,
    /// Absolute path inside the container.
    pub cwd: String,
    pub hostname: String,
    /// Who to run as (`-u` or the image's `User`); empty: root, unchanged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Paths created (empty) if missing, like the workdir: the image's
    /// volume paths in a build's `RUN` (a run mounts volumes there instead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<String>,
    /// Volumes, binds and tmpfs mounted by the init ([`crate::volume::mount`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<crate::volume::mount::MountPlan>,
    /// `--read-only`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// What the container's root keeps (default: docker's defaults).
    #[serde(default, skip_serializing_if = "is_default")]
    pub security: crate::security::SecurityOptions,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// `containers/<id>/container.json`: what a container is and how it ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub process: ProcessSpec,
    /// Unpacked layers, top-most first.
    pub lowerdirs: Vec<PathBuf>,
    pub trace: PathBuf,
    /// RFC 3339.
    pub created: String,
    pub state: ContainerState,
    /// Host pid of the container's init while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The image's StopSignal, kept for a later `stop` (default SIGTERM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// `none` or `bridge`.
    #[serde(default)]
    pub network: crate::network::NetworkMode,
    /// The container's address on the bridge (while it runs, and after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<std::net::Ipv4Addr>,
    /// Published ports (`-p`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<crate::network::ports::PortSpec>,
    /// `run`'s flags that every later `start` and `restart` use again.
    #[serde(default)]
    pub host: HostConfig,
    /// Host pid of the container's supervisor (`run -d`, `start`) while it
    /// lives; none for a container whose `casulo run` waits in a terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<i32>,
    /// RFC 3339 (with nanoseconds, as docker's `State.StartedAt`): the last start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// RFC 3339: the last exit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Restarts made by the `--restart` policy since the last `start`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub restart_count: u32,
    /// `stop` was asked: the `--restart` policy does not bring it back
    /// (until the next `start`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_by_user: bool,
}

/// How the container runs, each time it starts (docker's `HostConfig`, in part).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostConfig {
    /// cgroup limits.
    #[serde(default, skip_serializing_if = "is_default")]
    pub resources: crate::cgroups::Resources,
    /// `--rm`: removed when it ends.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_remove: bool,
    /// `--restart`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub restart: RestartPolicy,
    /// `-t`: a pseudo-terminal on stdin/stdout/stderr.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
    /// `-i`: stdin kept open.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interactive: bool,
    /// With `-i`: the container's stdin is closed when its first attacher
    /// leaves (docker's `StdinOnce`, set by `docker run -i` without `-d`:
    /// `echo x | docker run -i busybox cat` must see the end of its input).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stdin_once: bool,
    /// With `-t`: a client attaches *before* the start (`docker run`
    /// without `-d`, docker's `AttachStdout` at create), so the terminal's
    /// output from its first byte (the shell's prompt) is kept by the
    /// supervisor's hub until that first attacher comes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attach_before_start: bool,
    /// With `-t`: the window size the terminal starts with, `[rows, cols]`
    /// (docker's `ConsoleSize`): the user's at `run`, so a `-dit`
    /// container's supervisor, which has no terminal around it, opens the
    /// pty at that size; an `attach` sets its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_size: Option<[u16; 2]>,
    /// Interval between two `cgroup.sample` events, in ms (none: the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_interval_ms: Option<u64>,
    /// `--network-alias`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_aliases: Vec<String>,
    /// `--ip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<std::net::Ipv4Addr>,
    /// `--userland-proxy=false`: `-p` by DNAT rules instead of the proxy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub publish_dnat: bool,
    /// Rootless: a network through pasta (see [`RunOptions::pasta`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pasta: bool,
    /// Networks joined with `casulo network connect` (beyond `--network`):
    /// wired at every start, as docker does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks_joined: Vec<crate::network::connect::JoinedNetwork>,
}

/// `--restart`: docker's policies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "name")]
pub enum RestartPolicy {
    /// Never restarted (the default).
    #[default]
    No,
    /// Restarted when it exits with a code other than 0, at most
    /// `max_retries` times (none: no limit).
    OnFailure {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_retries: Option<u32>,
    },
    /// Always restarted, until a `stop`.
    Always,
    /// As `always`, except after a `stop` (also across a reboot of the host).
    UnlessStopped,
}

impl ContainerState {
    /// The state in a word, for messages.
    pub fn in_words(self) -> &'static str {
        match self {
            ContainerState::Created => "criado",
            ContainerState::Running => "rodando",
            ContainerState::Paused => "pausado",
            ContainerState::Restarting => "reiniciando",
            ContainerState::Exited => "terminou",
        }
    }
}

impl ContainerRecord {
    /// docker's word for its state (`docker ps --format '{{.State}}'`).
    pub fn docker_state(&self) -> &'static str {
        match self.state {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Exited => "exited",
        }
    }

    /// docker's `Status` column (`Up`, `Exited (3)`), shared by `casulo ps
    /// --format` and the daemon's `/containers/json`.
    pub fn docker_status(&self) -> String {
        match (self.state, self.exit_code) {
            (ContainerState::Exited, Some(code)) => format!("Exited ({code})"),
            (ContainerState::Exited, None) => "Exited".to_string(),
            (ContainerState::Paused, _) => "Up (Paused)".to_string(),
            (ContainerState::Running, _) => "Up".to_string(),
            (ContainerState::Restarting, _) => {
                format!("Restarting ({})", self.exit_code.unwrap_or(0))
            }
            (ContainerState::Created, _) => "Created".to_string(),
        }
    }

    /// Its state as `casulo ps` (and `docker ps` through the daemon) says
    /// it: `rodando (pid 42)`, `terminou (0)`.
    pub fn status_in_words(&self) -> String {
        match (self.state, self.exit_code) {
            (ContainerState::Running, _) => format!("rodando (pid {})", self.pid.unwrap_or(0)),
            (ContainerState::Paused, _) => format!("pausado (pid {})", self.pid.unwrap_or(0)),
            (ContainerState::Restarting, _) => {
                format!("reiniciando ({}ª vez)", self.restart_count + 1)
            }
            (ContainerState::Exited, Some(code)) => format!("terminou ({code})"),
            (ContainerState::Exited, None) => "terminou".to_string(),
            (ContainerState::Created, _) => "criado".to_string(),
        }
    }

    /// Running, paused or between two runs of its `--restart` policy: not
    /// something `rm` may take away (docker's "up").
    pub fn is_up(&self) -> bool {
        matches!(
            self.state,
            ContainerState::Running | ContainerState::Paused | ContainerState::Restarting
        )
    }
}

impl std::str::FromStr for RestartPolicy {
    type Err = String;

    /// docker's spelling: `no`, `on-failure[:N]`, `always`, `unless-stopped`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            None if s == "no" => Ok(RestartPolicy::No),
            None if s == "always" => Ok(RestartPolicy::Always),
            None if s == "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
            None if s == "on-failure" => Ok(RestartPolicy::OnFailure { max_retries: None }),
            Some(("on-failure", n)) => match n.parse::<u32>() {
                Ok(n) => Ok(RestartPolicy::OnFailure {
                    max_retries: Some(n),
                }),
                Err(_) => Err(format!(
                    "{n:?} não é um número de tentativas (use on-failure:3, por exemplo)"
                )),
            },
            Some((name @ ("no" | "always" | "unless-stopped"), _)) => Err(format!(
                "a política {name} não aceita um número: só on-failure:N tem limite"
            )),
            _ => Err(format!(
                "política de reinício {s:?} desconhecida: use no, on-failure[:N], always \
                 ou unless-stopped"
            )),
        }
    }
}

impl std::fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::OnFailure { max_retries: None } => f.write_str("on-failure"),
            RestartPolicy::OnFailure {
                max_retries: Some(n),
            } => write!(f, "on-failure:{n}"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    /// Frozen by `pause` (the cgroup freezer): its processes exist but never run.
    Paused,
    /// Ended, and its `--restart` policy starts it again after a pause
    /// that doubles each time (docker's back-off).
    Restarting,
    Exited,
}

/// Why a run failed; each maps to docker's exit codes.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("opção -e inválida: {0:?} (use CHAVE=valor, com uma chave não vazia)")]
    BadEnv(String),
    #[error("nome de contêiner inválido: {0:?} (use letras, dígitos, '_', '.' ou '-', começando por letra ou dígito)")]
    BadName(String),
    #[error("já existe um contêiner chamado {0:?} (remova-o ou escolha outro --name)")]
    NameInUse(String),
    #[error("o contêiner já se chama {0:?}: escolha outro nome")]
    SameName(String),
    #[error("diretório de trabalho inválido: {0:?} (precisa ser um caminho absoluto, como /tmp)")]
    BadWorkdir(String),
    #[error("nenhum comando para executar: a imagem {0} não define Cmd nem Entrypoint; passe um comando depois do nome da imagem")]
    NoCommand(String),
    #[error("{what}: {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
    #[error(transparent)]
    Network(#[from] crate::network::NetworkError),
    #[error(transparent)]
    Connect(#[from] crate::network::connect::ConnectError),
    /// Limits that contradict each other (`--memory-swap` without `--memory`…).
    #[error("limites inválidos: {0}")]
    BadLimit(String),
    #[error("contêiner não encontrado: {0:?} (veja `casulo ps -a`)")]
    NoSuchContainer(String),
    #[error("{0:?} é o começo do id de mais de um contêiner: {1}; use mais dígitos ou o nome")]
    AmbiguousId(String, String),
    #[error("o contêiner {0:?} não está rodando")]
    NotRunning(String),
    #[error("o contêiner {0:?} já está pausado (para continuar: `casulo unpause {0}`)")]
    AlreadyPaused(String),
    #[error("o contêiner {0:?} não está pausado (para pausar: `casulo pause {0}`)")]
    NotPaused(String),
    #[error("o contêiner {0:?} foi removido ao terminar (--rm), e o trace dele não diz com que código saiu")]
    Removed(String),
    #[error(transparent)]
    Volume(#[from] crate::volume::VolumeError),
    /// A `-v`/`--tmpfs`/`--mount` that cannot be honoured (source missing…).
    #[error("{0}")]
    BadMount(String),
    #[error("o contêiner {0:?} ainda está rodando (pare-o antes de remover)")]
    StillRunning(String),
    /// A combination casulo does not do yet (the message says which, and what instead).
    #[error("{0}")]
    NotYet(String),
    /// The container's init failed before `exec` (set-up or exec itself).
    #[error("{message}")]
    Init { code: i32, message: String },
}

impl From<crate::security::userns::PrepareError> for RunError {
    fn from(e: crate::security::userns::PrepareError) -> Self {
        use crate::security::userns::PrepareError;
        match e {
            PrepareError::Kernel(e) => RunError::Kernel(e),
            PrepareError::Io { what, path, source } => RunError::Io { what, path, source },
            PrepareError::NoIdmap(message) => RunError::Init { code: 125, message },
        }
    }
}

impl RunError {
    /// docker's conventions: 125 engine error, 126 not executable, 127 not found.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Init { code, .. } => *code,
            _ => 125,
        }
    }

    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RunError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// Every container in the state dir, oldest first. A record that says
/// "running" whose init and keeper are both gone (casulo was killed) is
/// reported as exited; while its keeper still tears it down it is up.
pub fn list(state: &crate::state::StateDir) -> Vec<ContainerRecord> {
    let mut records: Vec<ContainerRecord> = std::fs::read_dir(state.containers())
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| std::fs::read(e.path().join("container.json")).ok())
                .filter_map(|bytes| serde_json::from_slice::<ContainerRecord>(&bytes).ok())
                .collect()
        })
        .unwrap_or_default();
    for r in &mut records {
        let kept = || keeper::is_kept(&state.container(&r.id));
        let gone = match r.state {
            ContainerState::Running | ContainerState::Paused => {
                !r.pid.is_some_and(|pid| init_alive(pid, &r.id)) && !kept()
            }
            // Between two runs only its supervisor is there.
            ContainerState::Restarting => !r.supervisor.is_some_and(supervisor_alive) && !kept(),
            ContainerState::Created | ContainerState::Exited => false,
        };
        if gone {
            r.state = ContainerState::Exited;
        }
    }
    records.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
    records
}

/// The container `key` names, by docker's rule (every verb resolves
/// through here): its full id, then its name, then a prefix of its id of
/// any length that only one container has. An ambiguous prefix is refused
/// with the containers it matches.
pub fn find(state: &crate::state::StateDir, key: &str) -> Result<ContainerRecord, RunError> {
    if key.is_empty() {
        return Err(RunError::NoSuchContainer(String::new()));
    }
    let all = list(state);
    let exact = all.iter().find(|r| r.id == key);
    if let Some(r) = exact.or_else(|| all.iter().find(|r| r.name == key)) {
        return Ok(r.clone());
    }
    let by_prefix: Vec<_> = all.iter().filter(|r| r.id.starts_with(key)).collect();
    match by_prefix.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(RunError::NoSuchContainer(key.to_string())),
        many => Err(RunError::AmbiguousId(
            key.to_string(),
            many.iter()
                .map(|r| format!("{} ({})", &r.id[..12], r.name))
                .collect::<Vec<_>>()
                .join(", "),
        )),
    }
}

/// Is `pid` the init of the container `id`? (`NSpid:` ends in 1 below the
/// host's namespace; its cgroup path holds the id, when there are cgroups.)
pub fn init_alive(pid: i32, id: &str) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let nspid: Vec<&str> = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .map(|rest| rest.split_whitespace().collect())
        .unwrap_or_default();
    let pid_one = nspid.len() >= 2 && nspid.last() == Some(&"1");
    let root = std::path::Path::new(crate::cgroups::DEFAULT_ROOT);
    // Rootless containers have no cgroup: a pid-namespace init owned by
    // this user (only the user's processes are in reach) is taken as it.
    let in_cgroup = crate::cgroups::detect_mode(root) == crate::cgroups::CgroupMode::Unknown
        || crate::rootless::active()
        || std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|c| c.contains(id));
    pid_one && in_cgroup
}

/// Is `pid` a casulo supervisor (and not a host process that got its
/// number after the supervisor died)?
pub fn supervisor_alive(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
        c.split(|b| *b == 0)
            .any(|w| w == supervise::SUBCOMMAND.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docker's spellings of `--restart`, and a clear refusal of the rest.
    #[test]
    fn restart_policies_parse_as_docker_spells_them() {
        for text in [
            "no",
            "always",
            "unless-stopped",
            "on-failure",
            "on-failure:3",
        ] {
            let policy: RestartPolicy = text.parse().unwrap();
            assert_eq!(policy.to_string(), text);
        }
        assert_eq!(
            "on-failure:5".parse::<RestartPolicy>(),
            Ok(RestartPolicy::OnFailure {
                max_retries: Some(5)
            })
        );
        let err = "sempre".parse::<RestartPolicy>().unwrap_err();
        assert!(err.contains("no, on-failure[:N], always"), "{err}");
        assert!("on-failure:x".parse::<RestartPolicy>().is_err());
        assert!("always:2".parse::<RestartPolicy>().is_err());
    }

    /// docker's rule: full id, then name, then a unique prefix of any length.
    #[test]
    fn containers_are_found_by_id_name_or_unique_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let state = crate::state::StateDir::new(tmp.path());
        let ids = [
            format!("ab1{}", "0".repeat(61)),
            format!("ab2{}", "0".repeat(61)),
            format!("d{}", "0".repeat(63)),
        ];
        for (id, name) in ids.iter().zip(["um", "dois", "ab2"]) {
            let dir = state.container(id);
            std::fs::create_dir_all(&dir).unwrap();
            record::save(&dir, &record::tests::sample(id, name)).unwrap();
        }
        let found = |key: &str| find(&state, key).map(|r| r.name);
        assert_eq!(found(&ids[0]).unwrap(), "um");
        assert_eq!(found("dois").unwrap(), "dois");
        assert_eq!(found("d").unwrap(), "ab2", "um dígito basta");
        assert_eq!(found("ab1").unwrap(), "um");
        // A name wins over an id prefix, as in docker.
        assert_eq!(found("ab2").unwrap(), "ab2");
        let err = found("ab").unwrap_err().to_string();
        assert!(err.contains("ab1000000000 (um)"), "{err}");
        assert!(err.contains("ab2000000000 (dois)"), "{err}");
        assert!(matches!(
            find(&state, "e"),
            Err(RunError::NoSuchContainer(_))
        ));
        assert!(matches!(
            find(&state, ""),
            Err(RunError::NoSuchContainer(_))
        ));
    }
}
