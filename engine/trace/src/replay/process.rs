//! Processes: born by `clone`, their root, directory, user, session and
//! terminal, `execve`, exit, restarts.

use super::namespaces::NsKindKey;
use super::sorted_map::SortedMap;
use super::terminal::Terminal;
use super::World;
use crate::{Event, EventBody};

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
    pub namespaces: SortedMap<NsKindKey, u64>,
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

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub code: Option<i32>,
    pub signal_name: Option<String>,
    /// Index of the `process.exit` event.
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

impl World {
    /// Applies this area's kinds; other kinds are left alone.
    pub(super) fn apply_process(&mut self, event: &Event, at: usize) {
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
            _ => {}
        }
    }

    /// The last process `pid` cloned: the `process.clone` comes just before
    /// its `namespace.create` events.
    pub(super) fn last_child_of(&self, pid: i32) -> Option<i32> {
        self.last_child.get(&pid).copied()
    }

    pub(super) fn process(&mut self, pid: i32) -> &mut Process {
        self.processes.get_or_insert_with(pid, || Process {
            host_pid: pid,
            parent: None,
            container_pid: None,
            namespaces: SortedMap::new(),
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
}
