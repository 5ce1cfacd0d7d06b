//! The cgroup v2 subtree delegated to this user, where a rootless casulo
//! puts the cgroups of containers that ask for limits.
//!
//! **What delegation is.** On a pure cgroup v2 host, systemd gives each
//! logged-in user a cgroup of its own (`…/user@UID.service`) and *chowns*
//! it — the directory and its `cgroup.procs`, `cgroup.subtree_control` and
//! `cgroup.threads` — to the user: the user may then make child cgroups,
//! hand them controllers and move its own processes between them, with no
//! root. (Anyone can do the same by hand: mkdir, chown, enable the
//! controllers in the parent's `subtree_control`.)
//!
//! **How casulo finds it** (as crun does with its cgroupfs manager): from
//! `/proc/self/cgroup` (`0::/path`), the highest ancestor of casulo's own
//! cgroup that this user owns and whose `cgroup.procs` and
//! `cgroup.subtree_control` it may write. Ownership is compared with
//! `geteuid()`, which works before and after entering the user namespace:
//! a file of host uid 1000 is seen as uid 0 inside, where casulo is 0.
//!
//! **The "no internal processes" rule.** A v2 cgroup that hands controllers
//! to its children may hold no process itself. The containers go in
//! `<delegated>/casulo/<id>`, so the delegated directory must be empty of
//! processes: when casulo itself sits there it moves itself into a leaf
//! `<delegated>/casulo-cli` first (crun does the same); any other process
//! there (a shell) makes it refuse, saying which.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::cgroups::{detect_mode, CgroupMode, DEFAULT_ROOT};

/// The controllers each limit needs.
pub const NEEDS: [(&str, &str); 6] = [
    ("--memory", "memory"),
    ("--memory-swap", "memory"),
    ("--cpus", "cpu"),
    ("--cpu-shares", "cpu"),
    ("--cpu-weight", "cpu"),
    ("--pids-limit", "pids"),
];

/// The leaf casulo moves itself into when it sits in the delegated cgroup.
pub const SELF_LEAF: &str = "casulo-cli";

/// A delegated cgroup v2 directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// Its directory under `/sys/fs/cgroup`.
    pub dir: PathBuf,
    /// What its parent hands it (`cgroup.controllers`).
    pub controllers: Vec<String>,
}

/// Why there is none (said to the student).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The host is not pure cgroup v2 (this project's Debian is hybrid).
    NotV2(&'static str),
    /// No `0::` line in `/proc/self/cgroup`.
    NoCgroup,
    /// No ancestor of casulo's cgroup is this user's.
    NotOwned(PathBuf),
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::NotV2(mode) => write!(
                f,
                "este host não usa só o cgroup v2 (modo {mode}), e só o cgroup v2 delega uma \
                 subárvore a um usuário comum (o systemd faz isso em user@UID.service)"
            ),
            Missing::NoCgroup => write!(f, "/proc/self/cgroup não tem a linha 0:: do cgroup v2"),
            Missing::NotOwned(dir) => write!(
                f,
                "o seu cgroup ({}) e os de cima não são seus: ninguém delegou uma subárvore ao \
                 seu usuário (o systemd delega user@UID.service, mas um login por ssh ou tty fica \
                 em session-N.scope, fora dele: rode `systemd-run --user --scope casulo …`; \
                 à mão: chown do diretório e de cgroup.procs, cgroup.subtree_control e \
                 cgroup.threads)",
                dir.display()
            ),
        }
    }
}

/// This process's delegated cgroup, or why there is none.
pub fn find() -> Result<Delegation, Missing> {
    let root = Path::new(DEFAULT_ROOT);
    let mode = detect_mode(root);
    if mode != CgroupMode::V2 {
        return Err(Missing::NotV2(mode.as_str()));
    }
    let me = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let path = me
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or(Missing::NoCgroup)?;
    let mine = root.join(path.trim_start_matches('/'));
    let dir = highest_owned(root, &mine, nix::unistd::geteuid().as_raw())
        .ok_or_else(|| Missing::NotOwned(mine.clone()))?;
    let controllers = listed(&dir.join("cgroup.controllers"));
    Ok(Delegation { dir, controllers })
}

/// The highest directory between `root` (excluded) and `mine` owned by
/// `uid` with writable `cgroup.procs` and `cgroup.subtree_control`.
fn highest_owned(root: &Path, mine: &Path, uid: u32) -> Option<PathBuf> {
    let usable = |d: &Path| {
        std::fs::metadata(d).is_ok_and(|m| m.uid() == uid)
            && ["cgroup.procs", "cgroup.subtree_control"]
                .iter()
                .all(|f| nix::unistd::access(&d.join(f), nix::unistd::AccessFlags::W_OK).is_ok())
    };
    let mut found = None;
    let mut dir = mine;
    while dir.starts_with(root) && dir != root {
        if usable(dir) {
            found = Some(dir.to_path_buf());
        } else if found.is_some() {
            break;
        }
        dir = dir.parent()?;
    }
    found
}

fn listed(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

impl Delegation {
    /// The controllers `flags` need that this delegation lacks.
    pub fn lacks(&self, flags: &[&str]) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for (flag, controller) in NEEDS {
            if flags.contains(&flag)
                && !self.controllers.iter().any(|c| c == controller)
                && !out.contains(&controller)
            {
                out.push(controller);
            }
        }
        out
    }

    /// Keeps the "no internal processes" rule before the first container
    /// cgroup is made (see the module doc): moves casulo out of the
    /// delegated directory into [`SELF_LEAF`]; another process left there
    /// is an error naming it.
    pub fn make_room(&self) -> Result<(), String> {
        let procs = self.dir.join("cgroup.procs");
        let me = std::process::id().to_string();
        let inside = std::fs::read_to_string(&procs).unwrap_or_default();
        if inside.lines().any(|p| p == me) {
            let leaf = self.dir.join(SELF_LEAF);
            if !leaf.is_dir() {
                std::fs::create_dir(&leaf).map_err(|e| format!("mkdir {}: {e}", leaf.display()))?;
            }
            let into = leaf.join("cgroup.procs");
            std::fs::write(&into, &me)
                .map_err(|e| format!("write {} = {me}: {e}", into.display()))?;
        }
        let others: Vec<String> = std::fs::read_to_string(&procs)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        Err(format!(
            "o cgroup delegado {} tem processos (pids {}), e no cgroup v2 um cgroup com \
             processos não repassa controladores aos filhos (a regra \"sem processos \
             internos\"): mova-os para uma folha (mkdir {0}/sessao; echo PID > \
             {0}/sessao/cgroup.procs)",
            self.dir.display(),
            others.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_owned_ancestor_is_the_delegation() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let deleg = root.join("user.slice/user-1000.slice/user@1000.service");
        let mine = deleg.join("app.slice/shell");
        std::fs::create_dir_all(&mine).unwrap();
        for d in [&deleg, &deleg.join("app.slice"), &mine] {
            std::fs::write(d.join("cgroup.procs"), "").unwrap();
            std::fs::write(d.join("cgroup.subtree_control"), "").unwrap();
        }
        let uid = nix::unistd::geteuid().as_raw();
        // The temp dir and its upper levels are this user's too, but they
        // have no cgroup files: the delegation starts at user@1000.service.
        assert_eq!(highest_owned(root, &mine, uid), Some(deleg.clone()));
        assert_eq!(highest_owned(root, &mine, uid + 1), None);
    }

    #[test]
    fn lacks_names_each_missing_controller_once() {
        let d = Delegation {
            dir: "/x".into(),
            controllers: vec!["memory".into(), "pids".into()],
        };
        assert!(d.lacks(&["--memory", "--pids-limit"]).is_empty());
        assert_eq!(d.lacks(&["--cpus", "--cpu-shares", "--memory"]), ["cpu"]);
    }
}
