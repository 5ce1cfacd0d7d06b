//! A throw-away ordinary user for tests of casulo without root: created
//! with `useradd` (with or without `/etc/subuid`/`/etc/subgid` lines, see
//! [`crate::subids`]), it runs casulo with a clean environment (`runuser`,
//! its own `HOME` and `XDG_RUNTIME_DIR`); removed at the end — its
//! processes, home, sub-id lines and runtime dir — even when the test
//! fails (`Drop`).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::{casulo_bin, subids, Output};

/// `useradd`/`userdel` and our edits of `/etc/subuid` one at a time.
static ETC: Mutex<()> = Mutex::new(());

/// A throw-away user, with casulo copied where it can run it.
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub home: PathBuf,
    pub runtime: PathBuf,
    /// Holds the copy of casulo (the target dir may be closed to others).
    pub bin: tempfile::TempDir,
    /// The host ids of its sub-ids (`start`, `count`), if it has them.
    pub subids: Option<(u32, u32)>,
}

fn tool(cmd: &mut Command) {
    let out = Output::of(cmd);
    if !out.success() {
        panic!("falta uma ferramenta ou ela falhou (o teste precisa de useradd, userdel e runuser, do pacote passwd/util-linux):\n{out}");
    }
}

impl TestUser {
    /// A new user named `<prefix>-…`, with a range of 65536 sub-ids or none.
    pub fn new(prefix: &str, with_subids: bool) -> TestUser {
        let name = crate::unique_name(prefix);
        let _etc = ETC.lock().unwrap_or_else(|e| e.into_inner());
        tool(Command::new("useradd").args(["-m", "-s", "/bin/sh", &name]));
        let uid = String::from_utf8(
            Command::new("id")
                .args(["-u", &name])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
        .trim()
        .parse()
        .unwrap();
        // useradd gives sub-ids when login.defs says so; make it what the
        // test wants either way.
        let range = |text: &str| (subids::free_start(text), 65536);
        for file in subids::FILES {
            let wanted: Option<subids::Range> = with_subids.then_some(&range);
            subids::set(file, &name, wanted).unwrap();
        }
        let subids = with_subids.then(|| {
            let text = std::fs::read_to_string("/etc/subuid").unwrap();
            let l = text
                .lines()
                .find(|l| l.starts_with(&format!("{name}:")))
                .unwrap();
            let f: Vec<&str> = l.split(':').collect();
            (f[1].parse().unwrap(), f[2].parse().unwrap())
        });
        let home = PathBuf::from(format!("/home/{name}"));
        let runtime = PathBuf::from(format!("/tmp/casulo-rl-run-{name}"));
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&runtime, Some(uid), Some(uid)).unwrap();
        let bin = tempfile::Builder::new()
            .prefix("casulo-rl-bin")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let exe = bin.path().join("casulo");
        std::fs::copy(casulo_bin(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        TestUser {
            name,
            uid,
            home,
            runtime,
            bin,
            subids,
        }
    }

    /// `runuser` as this user with a clean environment (its `HOME`,
    /// `XDG_RUNTIME_DIR`, and the copy of casulo first on `PATH`), in its
    /// home; `program` and its arguments follow.
    /// `program` as this user (its home, runtime dir and `PATH`), args to add.
    pub fn command_of(&self, program: &Path) -> Command {
        let mut cmd = self.command();
        cmd.arg(program);
        cmd
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", &self.name, "--", "env", "-i"])
            .arg(format!("HOME={}", self.home.display()))
            .arg(format!("XDG_RUNTIME_DIR={}", self.runtime.display()))
            .arg(format!(
                "PATH={}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                self.bin.path().display()
            ))
            .current_dir(&self.home);
        cmd
    }

    /// `casulo ARGS` as this user.
    pub fn casulo(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.arg(self.bin.path().join("casulo")).args(args);
        Output::of(&mut cmd)
    }

    /// `sh -c script` as this user, in `dir` (`casulo` on its `PATH`).
    /// The script is passed as text: the user may not read the repository.
    pub fn sh(&self, dir: &Path, script: &str) -> Output {
        let mut cmd = self.command();
        cmd.args(["/bin/sh", "-c", script]).current_dir(dir);
        Output::of(&mut cmd)
    }

    /// Its rootless state dir (`~/.local/share/casulo`).
    pub fn state(&self) -> PathBuf {
        self.home.join(".local/share/casulo")
    }

    /// Is host uid `id` this user's (itself or one of its sub-ids)?
    pub fn owns(&self, id: u32) -> bool {
        id == self.uid
            || self
                .subids
                .is_some_and(|(start, count)| id >= start && id < start + count)
    }

    /// Nothing of this user under the host-wide state dirs, nothing of the
    /// host's root in its state.
    #[track_caller]
    pub fn assert_clean(&self) {
        let roots = owned_by(&self.state(), |u| u == 0);
        assert!(
            roots.is_empty(),
            "arquivos do root do host em {}: {roots:?}",
            self.state().display()
        );
        for host in ["/var/lib/casulo", "/run/casulo"] {
            let mine = owned_by(Path::new(host), |u| self.owns(u));
            assert!(mine.is_empty(), "o usuário criou em {host}: {mine:?}");
        }
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // Its processes (a container left by a failed assertion) first.
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            if entry.metadata().is_ok_and(|m| self.owns(m.uid())) {
                // SAFETY: a signal to a process of the test's own user.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        let _etc = ETC.lock().unwrap_or_else(|e| e.into_inner());
        let _ = Command::new("userdel")
            .args(["-r", "-f", &self.name])
            .output();
        for file in subids::FILES {
            let _ = subids::set(file, &self.name, None);
        }
        let _ = std::fs::remove_dir_all(&self.runtime);
    }
}

/// Every path under `dir` whose owner is `uid` on the host.
pub fn owned_by(dir: &Path, uid: impl Fn(u32) -> bool + Copy) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if uid(meta.uid()) {
            found.push(path.clone());
        }
        if meta.is_dir() {
            found.extend(owned_by(&path, uid));
        }
    }
    found
}
