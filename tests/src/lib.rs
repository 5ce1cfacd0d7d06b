//! Harness for Casulo's end-to-end tests (`tests/tests/*.rs`).
//!
//! The tests drive the real `casulo` binary, as root, against the real
//! kernel. This library gives them:
//!
//! - where the binaries are: [`casulo_bin`] and [`probe_bin`] (the static
//!   probe from `tests/probe`, which reports as JSON what a container sees);
//! - a [`Lab`]: one temporary state directory per test binary, prepared once
//!   (`casulo image bootstrap` and a `probe:latest` image), shared by all the
//!   tests of that binary through [`Lab::shared`];
//! - small helpers: [`unique_name`], [`host_mountinfo`], [`mounts_under`],
//!   [`trace_path_from`];
//! - [`RemoveOnDrop`]: the containers a test started, removed even when it fails.
//!
//! Run everything with `cargo xtask test`: it builds the engine and the probe
//! and passes their absolute paths in `CASULO_BIN` and `CASULO_PROBE`.
//!
//! ```no_run
//! use casulo_tests::Lab;
//!
//! let lab = Lab::shared();
//! let (info, out) = lab.run_probe("pid", &["info"]);
//! out.assert_ok();
//! assert_eq!(info["pid"], 1);
//! ```

use std::fs;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use serde_json::Value;

pub mod daemon;
pub mod layout;
pub mod pty;
pub mod registry;
pub mod remove_on_drop;
pub mod subids;
pub mod users;

pub use remove_on_drop::RemoveOnDrop;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` if set, else the directory
/// that holds this test binary (`<target>/debug/deps/<test>`), else
/// `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return workspace_dir().join(dir); // join keeps an absolute path as is
    }
    if let Ok(exe) = std::env::current_exe() {
        if let Some(deps) = exe.parent().filter(|d| d.ends_with("deps")) {
            if let Some(target) = deps.parent().and_then(Path::parent) {
                return target.to_path_buf();
            }
        }
    }
    workspace_dir().join("target")
}

/// Path of the `casulo` binary under test: env `CASULO_BIN`, else
/// `<target>/debug/casulo`.
///
/// Panics, telling to run `cargo xtask test`, if the file does not exist.
pub fn casulo_bin() -> PathBuf {
    let path = std::env::var_os("CASULO_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("debug").join("casulo"));
    require_file(&path, "CASULO_BIN", "o binário casulo")
}

/// Path of the static probe: env `CASULO_PROBE`, else
/// `<target>/x86_64-unknown-linux-musl/release/probe`.
///
/// Panics, telling to run `cargo xtask test`, if the file does not exist.
pub fn probe_bin() -> PathBuf {
    let path = std::env::var_os("CASULO_PROBE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            target_dir()
                .join("x86_64-unknown-linux-musl")
                .join("release")
                .join("probe")
        });
    require_file(&path, "CASULO_PROBE", "a sonda (probe)")
}

fn require_file(path: &Path, var: &str, what: &str) -> PathBuf {
    if !path.is_file() {
        panic!(
            "{what} não foi encontrado em {}.\n\
             Rode os testes com `cargo xtask test`, que compila o motor e a sonda \
             e define {var} (ou defina {var} com o caminho certo).",
            path.display()
        );
    }
    path.to_path_buf()
}

/// The host's static busybox, copied into the test image.
pub const HOST_BUSYBOX: &str = "/bin/busybox";

/// Busybox applets linked in the probe image's `/bin` (all symlinks to
/// `/bin/busybox`). `env` is also linked at `/usr/bin/env` for shebangs.
pub const BUSYBOX_APPLETS: &[&str] = &[
    "sh", "ls", "cat", "echo", "sleep", "env", "pwd", "hostname", "id", "true", "false", "ps",
    "mount", "umount", "ip", "mkdir", "rm", "touch", "grep", "kill", "uname", "wc", "head",
    "readlink", "stat", "test", "[", "printf", "df",
];

/// Name:tag of the test image that [`Lab::shared`] imports.
pub const PROBE_IMAGE: &str = "probe:latest";

/// Fixed mtime of every entry in the probe rootfs tarball, so the same
/// inputs give the same layer digest (2024-01-01T00:00:00Z).
const TAR_MTIME: u64 = 1_704_067_200;

/// One entry of the probe image's rootfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootfsEntry {
    /// A directory with its mode.
    Dir { path: &'static str, mode: u32 },
    /// A regular file copied from the host.
    HostFile {
        path: &'static str,
        from: PathBuf,
        mode: u32,
    },
    /// A regular file with the given content.
    File {
        path: &'static str,
        content: &'static str,
        mode: u32,
    },
    /// A symbolic link `path -> target`.
    Symlink { path: String, target: String },
}

/// The rootfs of `probe:latest`, in tar order (directories first):
///
/// ```text
/// /bin/busybox        copy of `busybox`, plus /bin/<applet> -> busybox (BUSYBOX_APPLETS)
/// /usr/bin/env        -> /bin/busybox
/// /probe              copy of `probe`
/// /etc/passwd         root and nobody
/// /etc/group          root and nogroup
/// /etc/nao-e-programa executable text that is no program (execve: ENOEXEC)
/// /proc /sys /dev /tmp (1777) /root (0700) /etc /usr/bin
/// ```
pub fn probe_rootfs_layout(busybox: &Path, probe: &Path) -> Vec<RootfsEntry> {
    let mut entries = vec![];
    for (path, mode) in [
        ("bin", 0o755),
        ("dev", 0o755),
        ("etc", 0o755),
        ("proc", 0o555),
        ("root", 0o700),
        ("sys", 0o555),
        ("tmp", 0o1777),
        ("usr", 0o755),
        ("usr/bin", 0o755),
    ] {
        entries.push(RootfsEntry::Dir { path, mode });
    }
    entries.push(RootfsEntry::HostFile {
        path: "bin/busybox",
        from: busybox.to_path_buf(),
        mode: 0o755,
    });
    for applet in BUSYBOX_APPLETS {
        entries.push(RootfsEntry::Symlink {
            path: format!("bin/{applet}"),
            target: "busybox".into(),
        });
    }
    entries.push(RootfsEntry::Symlink {
        path: "usr/bin/env".into(),
        target: "/bin/busybox".into(),
    });
    entries.push(RootfsEntry::HostFile {
        path: "probe",
        from: probe.to_path_buf(),
        mode: 0o755,
    });
    entries.push(RootfsEntry::File {
        path: "etc/passwd",
        content: "root:x:0:0:root:/root:/bin/sh\n\
                  nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        mode: 0o644,
    });
    entries.push(RootfsEntry::File {
        path: "etc/group",
        content: "root:x:0:\nnogroup:x:65534:\n",
        mode: 0o644,
    });
    // Executable bits on a file that is no program: execve fails with
    // ENOEXEC (exit 126), for the tests of failed kernel calls.
    entries.push(RootfsEntry::File {
        path: "etc/nao-e-programa",
        content: "isto não é um programa\n",
        mode: 0o755,
    });
    entries
}

/// Writes the probe image's rootfs ([`probe_rootfs_layout`]) as an
/// uncompressed tarball at `out`, owned by root, with fixed mtimes.
pub fn write_probe_rootfs_tar(busybox: &Path, probe: &Path, out: &Path) -> io::Result<()> {
    let file = fs::File::create(out)?;
    let mut tar = tar::Builder::new(io::BufWriter::new(file));
    for entry in probe_rootfs_layout(busybox, probe) {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(TAR_MTIME);
        match entry {
            RootfsEntry::Dir { path, mode } => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(mode);
                h.set_size(0);
                tar.append_data(&mut h, format!("{path}/"), io::empty())?;
            }
            RootfsEntry::HostFile { path, from, mode } => {
                let f = fs::File::open(&from)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", from.display())))?;
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(mode);
                h.set_size(f.metadata()?.len());
                tar.append_data(&mut h, path, f)?;
            }
            RootfsEntry::File {
                path,
                content,
                mode,
            } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(mode);
                h.set_size(content.len() as u64);
                tar.append_data(&mut h, path, content.as_bytes())?;
            }
            RootfsEntry::Symlink { path, target } => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                tar.append_link(&mut h, path, target)?;
            }
        }
    }
    tar.into_inner()?
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()
}

/// What a finished command left: exit code and its output as text.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for messages.
    pub command: String,
    /// Exit code; a process killed by signal N reports `128 + N`, as a shell would.
    pub code: i32,
    /// The signal that killed the process itself, if any (the `casulo`
    /// process, not the container: casulo passes the container's status on
    /// as its own exit code).
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Runs `cmd` to completion (stdin closed) and captures its output.
    ///
    /// Panics if the command cannot be started at all.
    pub fn of(cmd: &mut Command) -> Output {
        let command = format!("{cmd:?}");
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("não foi possível executar {command}: {e}"));
        let signal = out.status.signal();
        Output {
            command,
            code: out
                .status
                .code()
                .unwrap_or_else(|| 128 + signal.unwrap_or(0)),
            signal,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// True if the exit code is 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// Panics with the command, its exit code, stdout and stderr unless it
    /// succeeded; returns `self` for chaining.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        if !self.success() {
            panic!("o comando falhou:\n{self}");
        }
        self
    }

    /// Panics (showing the output) unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        if self.code != code {
            panic!("esperava código de saída {code}:\n{self}");
        }
        self
    }

    /// Stdout parsed as JSON: the whole of it, or else its last line that
    /// parses (in case something printed before the probe). `Value::Null`
    /// if there is no JSON at all (e.g. the probe was killed).
    pub fn json(&self) -> Value {
        if let Ok(v) = serde_json::from_str(self.stdout.trim()) {
            return v;
        }
        self.stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l.trim()).ok())
            .unwrap_or(Value::Null)
    }

    /// The trace path that `casulo run` printed on stderr, if any
    /// (see [`trace_path_from`]).
    pub fn trace_path(&self) -> Option<PathBuf> {
        trace_path_from(&self.stderr)
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        writeln!(f, "código de saída: {}", self.code)?;
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr.trim_end())
    }
}

/// The test lab: a temporary casulo state directory, prepared once per test
/// binary and shared by its tests (which run in parallel threads).
///
/// Layout: `<tmp>/casulo-tests/lab-XXXX/` holds `state/` (passed as
/// `--root`), `probe-rootfs.tar` and `owner` (the pid that made it). The
/// directory is kept after the run for inspection, and removed by the next
/// run once its owner has exited (unless something is still mounted under it).
#[derive(Debug)]
pub struct Lab {
    dir: PathBuf,
    state: PathBuf,
    casulo: PathBuf,
}

static SHARED: OnceLock<Result<Lab, String>> = OnceLock::new();

impl Lab {
    /// The lab of this test binary, set up on first use:
    /// `casulo image bootstrap` (busybox:latest), then `probe:latest` imported
    /// from a rootfs tarball built by [`write_probe_rootfs_tar`].
    ///
    /// Panics if the binaries are missing, if not running as root, or if
    /// the setup failed (every test then fails with the same message; the
    /// setup is not retried).
    pub fn shared() -> &'static Lab {
        match SHARED.get_or_init(Lab::setup) {
            Ok(lab) => lab,
            Err(msg) => panic!("o laboratório de testes não pôde ser preparado:\n{msg}"),
        }
    }

    fn setup() -> Result<Lab, String> {
        if !is_root() {
            return Err("os testes de ponta a ponta criam contêineres de verdade \
                        (namespaces, montagens, cgroups) e precisam rodar como root"
                .into());
        }
        let casulo = casulo_bin();
        let probe = probe_bin();
        let base = std::env::temp_dir().join("casulo-tests");
        fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
        sweep_stale_labs(&base, &casulo);
        let dir = tempfile::Builder::new()
            .prefix("lab-")
            .tempdir_in(&base)
            .map_err(|e| format!("{}: {e}", base.display()))?
            .keep();
        fs::write(
            dir.join("owner"),
            owner_token(std::process::id()).unwrap_or_default(),
        )
        .map_err(|e| e.to_string())?;
        let state = dir.join("state");
        fs::create_dir(&state).map_err(|e| e.to_string())?;
        let lab = Lab { dir, state, casulo };

        let out = lab.casulo(&["image", "bootstrap"]);
        if !out.success() {
            return Err(out.to_string());
        }
        let tarball = lab.dir.join("probe-rootfs.tar");
        write_probe_rootfs_tar(Path::new(HOST_BUSYBOX), &probe, &tarball)
            .map_err(|e| format!("criando {}: {e}", tarball.display()))?;
        let out = lab.casulo(&["image", "import", path_str(&tarball), PROBE_IMAGE]);
        if !out.success() {
            return Err(out.to_string());
        }
        Ok(lab)
    }

    /// The state directory passed as `--root`.
    pub fn root(&self) -> &Path {
        &self.state
    }

    /// The lab directory (parent of [`Lab::root`]), for a test's own scratch files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A `Command` for `casulo --root <lab state> ARGS...`, to customise
    /// (env, stdin...) before running it with [`Output::of`].
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.casulo);
        cmd.arg("--root").arg(&self.state).args(args);
        cmd.env_remove("CASULO_ROOT");
        cmd
    }

    /// Runs `casulo --root <lab state> ARGS...` to completion and returns its
    /// exit code, stdout and stderr.
    pub fn casulo(&self, args: &[&str]) -> Output {
        Output::of(&mut self.command(args))
    }

    /// `casulo run --rm --name <unique> probe:latest /probe PROBE_ARGS...`:
    /// returns the probe's JSON report (`Value::Null` if it printed none, see
    /// [`Output::json`]) and the whole [`Output`].
    pub fn run_probe(&self, name_hint: &str, probe_args: &[&str]) -> (Value, Output) {
        self.run_probe_with(name_hint, &[], probe_args)
    }

    /// Like [`Lab::run_probe`] with extra `casulo run` options placed before
    /// the image, e.g. `&["--hostname", "h1", "-e", "A=1", "-w", "/tmp"]`.
    pub fn run_probe_with(
        &self,
        name_hint: &str,
        run_args: &[&str],
        probe_args: &[&str],
    ) -> (Value, Output) {
        let name = unique_name(name_hint);
        let mut args = vec!["run", "--rm", "--name", &name];
        args.extend_from_slice(run_args);
        args.push(PROBE_IMAGE);
        args.push("/probe");
        args.extend_from_slice(probe_args);
        let out = self.casulo(&args);
        (out.json(), out)
    }

    /// Mount points of the host (this process's mount namespace) that lie
    /// under the lab: after the tests' containers are gone there should be
    /// none (a leak check that ignores the rest of the host).
    pub fn mounts(&self) -> Vec<String> {
        mounts_under(&self.dir)
    }
}

/// A name no other call in this process returns: `<prefix>-<pid>-<n>`.
/// Use it for container names, so parallel tests never collide.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// Mount points listed in this process's `/proc/self/mountinfo`, in order
/// (octal escapes such as `\040` decoded). Compare before/after a test to
/// catch leaked mounts.
pub fn host_mountinfo() -> Vec<String> {
    let text = fs::read_to_string("/proc/self/mountinfo").expect("ler /proc/self/mountinfo");
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(unescape_mountinfo)
        .collect()
}

/// The entries of [`host_mountinfo`] equal to `dir` or below it.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    host_mountinfo()
        .into_iter()
        .filter(|m| Path::new(m).starts_with(dir))
        .collect()
}

/// The trace path from `casulo run`'s stderr: the line
/// `casulo: trace: <path>` (the last one, if several).
pub fn trace_path_from(stderr: &str) -> Option<PathBuf> {
    stderr
        .lines()
        .rev()
        .find_map(|l| l.trim_end().strip_prefix("casulo: trace: "))
        .map(|p| PathBuf::from(p.trim()))
}

/// The cgroup directories a run created: the `path` of every
/// `cgroup.create` event of its trace (the container's and the `casulo`
/// parents). After the run none of them should exist.
pub fn trace_cgroup_paths(trace: &Path) -> Vec<PathBuf> {
    let trace = casulo_trace::reader::read_trace_file(trace).expect("trace legível");
    trace
        .events
        .iter()
        .filter_map(|e| match &e.body {
            casulo_trace::EventBody::CgroupCreate { path, .. } => Some(PathBuf::from(path)),
            _ => None,
        })
        .collect()
}

/// casulo's cgroup parents on the host right now: `/sys/fs/cgroup/casulo`
/// (v2) and `/sys/fs/cgroup/*/casulo` (v1). They stay after the last
/// container, as docker's; `casulo gc` removes the empty ones.
pub fn host_casulo_cgroup_parents() -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let mut parents = vec![root.join("casulo")];
    if let Ok(rd) = fs::read_dir(root) {
        parents.extend(rd.flatten().map(|e| e.path().join("casulo")));
    }
    parents.retain(|p| p.is_dir());
    parents
}

/// The container cgroups in `parent` (its subdirectories).
pub fn containers_in(parent: &Path) -> Vec<PathBuf> {
    fs::read_dir(parent)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// Container cgroups of casulo on the host right now:
/// `/sys/fs/cgroup/casulo/*` (v2) and `/sys/fs/cgroup/*/casulo/*` (v1).
pub fn host_casulo_cgroups() -> Vec<PathBuf> {
    host_casulo_cgroup_parents()
        .iter()
        .flat_map(|p| containers_in(p))
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c));
        if octal {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("caminho do laboratório em UTF-8")
}

/// Effective uid 0, from /proc/self/status (`Uid: real effective ...`).
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// "pid starttime": identifies a process even if its pid is reused later.
fn owner_token(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22 (starttime) counts from after the ")" that closes the name.
    let start = stat.rsplit_once(')')?.1.split_whitespace().nth(19)?;
    Some(format!("{pid} {start}"))
}

/// Removes the labs of earlier runs whose owner process has exited, unless
/// something is still mounted under them (never delete through a mount);
/// their containers that are still up are removed first.
fn sweep_stale_labs(base: &Path, casulo: &Path) {
    let Ok(rd) = fs::read_dir(base) else { return };
    for entry in rd.flatten() {
        let dir = entry.path();
        if !entry.file_name().to_string_lossy().starts_with("lab-") {
            continue;
        }
        let stale = match fs::read_to_string(dir.join("owner")) {
            Ok(owner) => owner
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
                .and_then(owner_token)
                .is_none_or(|now| now != owner.trim()),
            // No owner file: maybe another test binary is creating this lab
            // right now; only an old one is stale.
            Err(_) => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 600),
        };
        if stale && mounts_under(&dir).is_empty() {
            remove_running_containers(casulo, &dir);
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

/// The containers still up in the state dirs of a stale lab (`state/` and
/// the daemons' private ones): a test binary killed from outside (a hung
/// test) ran none of its [`RemoveOnDrop`] guards, and their supervisors
/// would outlive the lab dir, which is all that could find them.
fn remove_running_containers(casulo: &Path, lab: &Path) {
    let Ok(rd) = fs::read_dir(lab) else { return };
    for root in rd.flatten().map(|e| e.path()) {
        if !root.join("containers").is_dir() {
            continue;
        }
        let Ok(out) = Command::new(casulo)
            .arg("--root")
            .arg(&root)
            .args(["ps", "-q"])
            .env_remove("CASULO_ROOT")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
        else {
            continue;
        };
        let ids = String::from_utf8_lossy(&out.stdout).into_owned();
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            drop(RemoveOnDrop::in_root(&root, &ids));
        }
    }
}

/// Self-tests of the harness: they need neither the engine nor root.
impl Lab {
    /// Starts `casulo --root <lab> ARGS...` in the background (stdout to
    /// /dev/null, stderr piped), for tests that act on a running container.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("iniciar o casulo")
    }
}

/// The host pid of a child of `parent` whose command name (`comm`) is
/// `comm`: e.g. the container's init (`sleep`) under a `casulo run`.
/// Polls for up to 10 s; panics if it never appears.
pub fn wait_for_child(parent: u32, comm: &str) -> u32 {
    for _ in 0..200 {
        if let Some(pid) = child_named(parent, comm) {
            return pid;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("nenhum processo {comm:?} filho de {parent} apareceu em 10 s")
}

fn child_named(parent: u32, comm: &str) -> Option<u32> {
    fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // "pid (comm) state ppid …": comm may hold spaces and parentheses.
        let (name, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
        let ppid: u32 = rest.split(' ').nth(1)?.parse().ok()?;
        (ppid == parent && name == comm).then_some(pid)
    })
}

/// Sends signal number `signal` to `pid` (with the `kill` command, so the
/// harness needs no libc); panics if it fails.
pub fn send_signal(pid: u32, signal: i32) {
    let ok = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("rodar kill");
    assert!(ok.success(), "kill -{signal} {pid} falhou");
}

impl Lab {
    /// The trace of the container `name` once its command runs (the trace
    /// holds its `process.exec`). Polls for up to 10 s; panics otherwise.
    pub fn wait_for_exec(&self, name: &str) -> PathBuf {
        let traces = self.state.join("traces");
        let prefix = format!("{name}-");
        for _ in 0..200 {
            std::thread::sleep(std::time::Duration::from_millis(50));
            let found = fs::read_dir(&traces).ok().and_then(|dir| {
                dir.flatten().map(|e| e.path()).find(|p| {
                    p.file_name()
                        .is_some_and(|f| f.to_string_lossy().starts_with(&prefix))
                        && fs::read_to_string(p).is_ok_and(|t| t.contains("process.exec"))
                })
            });
            if let Some(path) = found {
                return path;
            }
        }
        panic!("o contêiner {name} não executou o comando em 10 s")
    }

    /// Starts `casulo run --rm --name NAME --network bridge busybox sleep
    /// 300` in the background and waits until it runs: a container that
    /// holds an address and a veth until the test stops it. Returns the
    /// casulo process and the container's trace.
    pub fn spawn_on_bridge(&self, name: &str) -> (std::process::Child, PathBuf) {
        let child = self.spawn(&[
            "run",
            "--rm",
            "--name",
            name,
            "--network",
            "bridge",
            "busybox",
            "sleep",
            "300",
        ]);
        (child, self.wait_for_exec(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn probe_rootfs_tarball_has_the_expected_entries() {
        let tmp = tempfile::tempdir().unwrap();
        let busybox = tmp.path().join("busybox");
        let probe = tmp.path().join("probe");
        fs::write(&busybox, b"fake busybox").unwrap();
        fs::write(&probe, b"fake probe").unwrap();
        let out = tmp.path().join("rootfs.tar");
        write_probe_rootfs_tar(&busybox, &probe, &out).unwrap();

        let mut archive = tar::Archive::new(fs::File::open(&out).unwrap());
        let mut seen = std::collections::BTreeMap::new();
        for entry in archive.entries().unwrap() {
            let mut e = entry.unwrap();
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let h = e.header().clone();
            assert_eq!(h.uid().unwrap(), 0, "{path}");
            assert_eq!(h.mtime().unwrap(), TAR_MTIME, "{path}");
            let link = e
                .link_name()
                .unwrap()
                .map(|l| l.to_string_lossy().into_owned());
            let mut data = String::new();
            e.read_to_string(&mut data).unwrap();
            seen.insert(path, (h.entry_type(), h.mode().unwrap(), link, data));
        }

        let (ty, mode, _, data) = &seen["probe"];
        assert!(ty.is_file());
        assert_eq!((*mode, data.as_str()), (0o755, "fake probe"));
        assert_eq!(seen["bin/busybox"].3, "fake busybox");
        for applet in BUSYBOX_APPLETS {
            let (ty, _, link, _) = &seen[&format!("bin/{applet}")];
            assert!(ty.is_symlink(), "{applet}");
            assert_eq!(link.as_deref(), Some("busybox"));
        }
        assert_eq!(seen["usr/bin/env"].2.as_deref(), Some("/bin/busybox"));
        for dir in ["proc/", "sys/", "dev/", "etc/", "root/"] {
            assert!(seen[dir].0.is_dir(), "{dir}");
        }
        let tmp_dir = &seen["tmp/"];
        assert!(tmp_dir.0.is_dir());
        assert_eq!(tmp_dir.1, 0o1777);
        assert!(seen["etc/passwd"].3.starts_with("root:x:0:0:"));
        assert!(seen["etc/group"].3.starts_with("root:x:0:"));

        // Directories come before anything inside them.
        let order: Vec<String> = tar::Archive::new(fs::File::open(&out).unwrap())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        let pos = |p: &str| order.iter().position(|x| x == p).unwrap();
        assert!(pos("bin/") < pos("bin/busybox"));
        assert!(pos("usr/bin/") < pos("usr/bin/env"));

        // Same inputs, same bytes (so the same layer digest every run).
        let again = tmp.path().join("again.tar");
        write_probe_rootfs_tar(&busybox, &probe, &again).unwrap();
        assert_eq!(fs::read(&out).unwrap(), fs::read(&again).unwrap());
    }

    #[test]
    fn host_busybox_has_every_applet_we_link() {
        let Ok(out) = Command::new(HOST_BUSYBOX).arg("--list").output() else {
            eprintln!("{HOST_BUSYBOX} ausente: teste ignorado (rode `cargo xtask setup`)");
            return;
        };
        let list = String::from_utf8_lossy(&out.stdout);
        let have: Vec<&str> = list.lines().collect();
        for applet in BUSYBOX_APPLETS {
            assert!(have.contains(applet), "busybox do host não tem {applet}");
        }
    }

    #[test]
    fn finds_the_trace_line() {
        let stderr = "algo\ncasulo: trace: /var/lib/casulo/traces/a-1234.trace.jsonl\n";
        assert_eq!(
            trace_path_from(stderr),
            Some(PathBuf::from("/var/lib/casulo/traces/a-1234.trace.jsonl"))
        );
        assert_eq!(trace_path_from("nada aqui"), None);
    }

    #[test]
    fn unique_names_are_unique() {
        let a = unique_name("t");
        let b = unique_name("t");
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("t-{}-", std::process::id())));
    }

    #[test]
    fn mountinfo_has_root_and_decodes_escapes() {
        assert!(host_mountinfo().iter().any(|m| m == "/"));
        assert!(mounts_under(Path::new("/")).contains(&"/".to_string()));
        assert_eq!(unescape_mountinfo(r"/a\040b\134"), r"/a b\");
    }

    #[test]
    fn output_json_and_exit_codes() {
        let out =
            Output::of(Command::new("sh").args(["-c", "echo ruído; echo '{\"a\":1}'; exit 3"]));
        assert_eq!(out.code, 3);
        assert_eq!(out.json()["a"], 1);
        let out = Output::of(Command::new("sh").args(["-c", "kill -9 $$"]));
        assert_eq!((out.code, out.signal), (137, Some(9)));
        assert_eq!(out.json(), Value::Null);
    }

    /// The probe's JSON must parse with serde_json (the probe must be
    /// built: `cargo xtask test` builds it and sets CASULO_PROBE; without it
    /// `probe_bin` fails saying so).
    #[test]
    fn probe_reports_parse_as_json() {
        let probe = probe_bin();
        let info = Output::of(
            Command::new(&probe)
                .arg("info")
                .env("WEIRD", "a\"b\\c\n\té"),
        );
        info.assert_ok();
        let v = info.json();
        assert_eq!(v["ppid"].as_u64(), Some(u64::from(std::process::id())));
        assert_eq!(v["env"]["WEIRD"], "a\"b\\c\n\té");
        assert!(v["ns"]["pid"].as_u64().unwrap() > 0);
        assert!(v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["target"] == "/"));
        assert!(v["visible_pids"].as_array().unwrap().len() > 1);

        let e = Output::of(Command::new(&probe).args(["exists", "/", "/não/existe"]));
        assert_eq!(
            e.json(),
            serde_json::json!({"/": true, "/não/existe": false})
        );
        let w = Output::of(Command::new(&probe).args(["write", "/proc/version", "x"]));
        assert_eq!(w.code, 1);
        assert_eq!(w.json()["ok"], false);
        let x = Output::of(Command::new(&probe).args(["exit", "7"]));
        assert_eq!((x.code, x.json()["exit"].as_i64()), (7, Some(7)));
        let k = Output::of(Command::new(&probe).args(["kill-self", "15"]));
        assert_eq!((k.code, k.signal), (143, Some(15)));
        let u = Output::of(Command::new(&probe).arg("nonsense"));
        assert_eq!(u.code, 2);
    }
}
