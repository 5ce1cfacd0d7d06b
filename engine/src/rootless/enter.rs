//! Entering the rootless user namespace (a new one, or a container's).
//! See the module doc of [`super`] for the order and why.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use nix::unistd::{ForkResult, Gid, Pid, Uid};

use super::Maps;

#[derive(Debug, thiserror::Error)]
pub enum RootlessError {
    #[error(
        "sem root, o casulo guarda o estado em $XDG_DATA_HOME/casulo ou ~/.local/share/casulo, \
         mas nem XDG_DATA_HOME nem HOME estão definidos (use --root DIR)"
    )]
    NoHome,
    #[error(
        "sem root, o casulo guarda o estado de execução em $XDG_RUNTIME_DIR/casulo, mas \
         XDG_RUNTIME_DIR não está definido (numa sessão de login o systemd o define; \
         senão crie um diretório 0700 seu e exporte XDG_RUNTIME_DIR)"
    )]
    NoRuntimeDir,
    #[error(
        "não consegui criar um user namespace ({op}): {errno}. O kernel precisa permitir \
         user namespaces a usuários comuns (sysctl kernel.unprivileged_userns_clone=1 no \
         Debian, user.max_user_namespaces > 0)"
    )]
    Unshare { op: &'static str, errno: nix::Error },
    #[error(
        "{tool} não conseguiu escrever o mapa do user namespace ({why}); confira a linha \
         do seu usuário em /etc/subuid e /etc/subgid (NOME:INÍCIO:QUANTIDADE) e se \
         {tool} está instalado (pacote uidmap)"
    )]
    Helper { tool: &'static str, why: String },
    #[error("não consegui escrever {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("não consegui entrar no user namespace do contêiner (pid {pid}): {why}")]
    Join { pid: i32, why: String },
}

/// Makes this process root of a new user namespace (with its own mount
/// namespace) mapped as [`Maps::for_user`] says. Must be called while the
/// process is single-threaded. Returns the maps written.
pub fn enter() -> Result<Maps, RootlessError> {
    let (uid, gid) = (Uid::current().as_raw(), Gid::current().as_raw());
    let name = nix::unistd::User::from_uid(Uid::current())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default();
    let maps = Maps::for_user(Path::new("/etc"), &name, uid, gid);
    let flags = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS;
    if maps.subids {
        with_helper(&maps, flags)?;
        // setgroups is allowed (newgidmap left it so): drop the host's
        // supplementary groups, which the namespace does not map.
        nix::unistd::setgroups(&[]).map_err(|errno| RootlessError::Unshare {
            op: "setgroups([])",
            errno,
        })?;
    } else {
        nix::sched::unshare(flags).map_err(|errno| RootlessError::Unshare {
            op: "unshare(CLONE_NEWUSER|CLONE_NEWNS)",
            errno,
        })?;
        // A user may map only its own id, and only after denying setgroups.
        write("/proc/self/setgroups", "deny")?;
        write("/proc/self/gid_map", &lines(&maps.gid))?;
        write("/proc/self/uid_map", &lines(&maps.uid))?;
    }
    private_mounts()?;
    Ok(maps)
}

/// Joins the user namespace of the container whose init is `pid` (its
/// owner is this user, so the kernel allows it and gives this process every
/// capability there). For `exec`: the container's other namespaces belong
/// to that one.
pub fn join(pid: i32) -> Result<(), RootlessError> {
    let path = format!("/proc/{pid}/ns/user");
    let why = |e: String| RootlessError::Join { pid, why: e };
    let ns = std::fs::File::open(&path).map_err(|e| why(format!("{path}: {e}")))?;
    nix::sched::setns(&ns, CloneFlags::CLONE_NEWUSER)
        .map_err(|e| why(format!("setns({path}, CLONE_NEWUSER): {e}")))?;
    Ok(())
}

/// The maps are written by `newuidmap`/`newgidmap` (setuid root, allowed
/// to map the sub-ids the files grant), run by a helper forked *before*
/// the `unshare`: from inside the new namespace a setuid binary owned by
/// the (unmapped) host root would not be setuid.
fn with_helper(maps: &Maps, flags: CloneFlags) -> Result<(), RootlessError> {
    let me = Pid::this().as_raw().to_string();
    let uid_args = args(&me, &maps.uid);
    let gid_args = args(&me, &maps.gid);
    let (go_rd, go_wr) = std::io::pipe().map_err(|e| io_err("pipe", e))?;
    let (err_rd, err_wr) = std::io::pipe().map_err(|e| io_err("pipe", e))?;
    // SAFETY: casulo is single-threaded here (enter's contract).
    let helper = match unsafe { nix::unistd::fork() } {
        Err(errno) => return Err(RootlessError::Unshare { op: "fork", errno }),
        Ok(ForkResult::Child) => {
            drop(go_wr);
            drop(err_rd);
            let mut go = [0u8; 1];
            let mut go_rd = go_rd;
            if !matches!(go_rd.read(&mut go), Ok(1)) {
                // SAFETY: ends the helper without the parent's destructors.
                unsafe { libc::_exit(2) }
            }
            let code = helper_main(&uid_args, &gid_args, err_wr);
            // SAFETY: as above.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => child,
    };
    drop(go_rd);
    drop(err_wr);
    let unshared = nix::sched::unshare(flags);
    let mut go_wr = go_wr;
    if unshared.is_ok() {
        let _ = go_wr.write_all(b"g");
    }
    drop(go_wr);
    let mut said = String::new();
    let mut err_rd = err_rd;
    let _ = err_rd.read_to_string(&mut said);
    let status = nix::sys::wait::waitpid(helper, None);
    unshared.map_err(|errno| RootlessError::Unshare {
        op: "unshare(CLONE_NEWUSER|CLONE_NEWNS)",
        errno,
    })?;
    match status {
        Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
        _ => {
            let (tool, why) = said.split_once('\n').unwrap_or(("newuidmap", &said));
            let tool = if tool == "newgidmap" {
                "newgidmap"
            } else {
                "newuidmap"
            };
            Err(RootlessError::Helper {
                tool,
                why: why.trim().to_string(),
            })
        }
    }
}

/// The helper: runs both tools; on a failure, writes the tool's name and
/// its stderr to `err` and returns 1.
fn helper_main(uid_args: &[String], gid_args: &[String], mut err: std::io::PipeWriter) -> i32 {
    for (tool, args) in [("newuidmap", uid_args), ("newgidmap", gid_args)] {
        let failed = match std::process::Command::new(tool).args(args).output() {
            Ok(out) if out.status.success() => None,
            Ok(out) => Some(format!(
                "{}; {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Some(e.to_string()),
        };
        if let Some(why) = failed {
            let _ = write!(err, "{tool}\n{why}");
            return 1;
        }
    }
    0
}

/// `PID inside outside count …` for newuidmap.
fn args(pid: &str, ranges: &[casulo_trace::IdRange]) -> Vec<String> {
    let mut out = vec![pid.to_string()];
    for r in ranges {
        out.extend([r.inside, r.outside, r.count].map(|n| n.to_string()));
    }
    out
}

/// The map file's text: one `inside outside count` line per range.
fn lines(ranges: &[casulo_trace::IdRange]) -> String {
    ranges
        .iter()
        .map(|r| format!("{} {} {}\n", r.inside, r.outside, r.count))
        .collect()
}

fn write(path: &str, value: &str) -> Result<(), RootlessError> {
    std::fs::write(path, value).map_err(|source| RootlessError::Write {
        path: path.into(),
        source,
    })
}

fn io_err(what: &str, e: std::io::Error) -> RootlessError {
    RootlessError::Write {
        path: what.into(),
        source: e,
    }
}

/// casulo's mounts (overlays of builds and containers) stay in its own
/// mount namespace: nothing propagates back to the host's.
fn private_mounts() -> Result<(), RootlessError> {
    use nix::mount::MsFlags;
    nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|errno| RootlessError::Unshare {
        op: "mount(/, MS_REC|MS_PRIVATE)",
        errno,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use casulo_trace::IdRange;

    #[test]
    fn map_lines_and_helper_arguments() {
        let r = [
            IdRange {
                inside: 0,
                outside: 1000,
                count: 1,
            },
            IdRange {
                inside: 1,
                outside: 100_000,
                count: 65_536,
            },
        ];
        assert_eq!(lines(&r), "0 1000 1\n1 100000 65536\n");
        assert_eq!(
            args("42", &r),
            ["42", "0", "1000", "1", "1", "100000", "65536"]
        );
    }
}
