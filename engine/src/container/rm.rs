//! `rm`: what a container leaves on disk goes away.
//!
//! Its mounts never need unmounting here: they exist only inside its mount
//! namespace, which the kernel destroyed with its last process.

use std::path::Path;

use super::{find, ContainerRecord, ContainerState, RunError};
use crate::state::StateDir;

/// Removes a stopped container (by name, id or id prefix): its read/write
/// layer, its record and its name; with `volumes` (`rm -v`) its anonymous
/// volumes too (named ones always stay). Its trace is kept.
pub fn remove(state: &StateDir, key: &str, volumes: bool) -> Result<ContainerRecord, RunError> {
    let record = find(state, key)?;
    let running = |r: &ContainerRecord| {
        r.state == ContainerState::Restarting
            || r.pid.is_some_and(|pid| super::init_alive(pid, &r.id))
    };
    if record.is_up() && running(&record) {
        return Err(RunError::StillRunning(record.name));
    }
    // It ended a moment ago and its keeper is tearing it down (or has
    // just written its end and flushes its log): waited for, so the
    // directory never goes from under it — unless it starts it again.
    let dir = state.container(&record.id);
    super::keeper::wait_released(&dir, super::kill::KEEPER_LIMIT, || {
        super::record::load(&dir).map_or(true, |r| r.is_up() && running(&r))
    });
    if !dir.exists() {
        // Its keeper removed it meanwhile (--rm): as asked.
        return Ok(record);
    }
    let record = find(state, &record.id)?;
    if record.is_up() {
        return Err(RunError::StillRunning(record.name));
    }
    remove_dir(state, &record.id)
        .map_err(|e| RunError::io("não consegui remover o contêiner", dir, e))?;
    release_name(state, &record.id, &record.name);
    if volumes {
        remove_anonymous_volumes(state, &record);
    }
    Ok(record)
}

/// `rm -f`: a container that is up is killed first (SIGKILL; its
/// `--restart` policy told not to bring it back) and removed once its
/// `casulo run` or supervisor has recorded the end.
pub fn force_remove(
    k: &crate::kernel::Kernel,
    state: &StateDir,
    key: &str,
    volumes: bool,
) -> Result<ContainerRecord, RunError> {
    let record = find(state, key)?;
    if record.is_up() {
        let dir = state.container(&record.id);
        let _ = super::record::update(&dir, |r| r.stopped_by_user = true);
        if let Err(e) = super::kill::kill(k, state, &record, nix::sys::signal::Signal::SIGKILL) {
            if !matches!(e, RunError::NotRunning(_)) {
                return Err(e);
            }
        }
        match super::kill::wait_exit(state, &record) {
            // Removed as it ended (--rm): nothing left to remove.
            Err(RunError::Removed(_)) => return Ok(record),
            _ => super::kill::wait_supervisor_gone(state, &record),
        }
        if !dir.exists() {
            return Ok(record);
        }
    }
    remove(state, &record.id, volumes)
}

/// The anonymous volumes of a container that is gone (`rm -v`, `--rm`, a
/// run that failed to start). Best effort: one another container still
/// mounts stays.
pub fn remove_anonymous_volumes(state: &StateDir, record: &ContainerRecord) {
    if !record.process.mounts.iter().any(|m| m.spec.anonymous) {
        return;
    }
    let _lock = crate::volume::lock(state, true);
    for m in record.process.mounts.iter().filter(|m| m.spec.anonymous) {
        if super::volumes::users(state, &m.spec.source).is_empty() {
            let _ = crate::volume::remove_unchecked(state, &m.spec.source);
        }
    }
}

/// Removes `containers/<id>/` and the name claim (if it still holds this id).
/// Best effort: used on error paths, where the first error is the one to report.
pub fn remove_dirs(state: &StateDir, id: &str, name: &str) {
    let _ = remove_dir(state, id);
    release_name(state, id, name);
}

/// `containers/<id>/` goes in one step, as the other verbs see it: renamed
/// into `tmp/` (`rm-<pid>-<id>`, swept by `gc` if this casulo dies before
/// the end), then removed there. Removed in place, its record could vanish
/// while the rest of it (a big upper layer) is still there.
fn remove_dir(state: &StateDir, id: &str) -> std::io::Result<()> {
    let dir = state.container(id);
    let _ = std::fs::create_dir_all(state.tmp());
    let doomed = state.tmp().join(format!("rm-{}-{id}", std::process::id()));
    match std::fs::rename(&dir, &doomed) {
        Ok(()) => {
            if !remove_known(&doomed) {
                crate::image::extract::remove_tree(&doomed);
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) => std::fs::remove_dir_all(&dir),
    }
}

/// A container's directory as most `--rm` runs leave it, removed name by
/// name, deepest first: its record files and trace counters, `merged/`, an
/// `upper/` the command left empty, and `work/` with what the overlay made
/// in it (`work/work/`, and `incompat/volatile/dirty` under it: the
/// `volatile` mount's mark). ~12 syscalls, where walking the tree takes ~45
/// (open, stat, fcntl and two reads per directory). False if anything else
/// is left (the directory is then not empty): [`remove_tree`] finishes.
///
/// [`remove_tree`]: crate::image::extract::remove_tree
fn remove_known(dir: &Path) -> bool {
    let work = dir.join("work/work");
    let volatile = work.join("incompat/volatile");
    for file in super::record::FILES
        .iter()
        .chain([&crate::recorder::COUNTERS])
        .map(|f| dir.join(f))
        .chain([volatile.join("dirty")])
    {
        let _ = std::fs::remove_file(file);
    }
    let parts = crate::mounts::CONTAINER_DIRS.map(|d| dir.join(d));
    for sub in [volatile.clone(), work.join("incompat"), work]
        .into_iter()
        .chain(parts)
    {
        let _ = std::fs::remove_dir(sub);
    }
    std::fs::remove_dir(dir).is_ok()
}

/// Gives the name `name` back, if its claim still holds `id` (best effort).
pub fn release_name(state: &StateDir, id: &str, name: &str) {
    let claim = state.names().join(name);
    if std::fs::read_to_string(&claim).is_ok_and(|held| held == id) {
        let _ = std::fs::remove_file(claim);
    }
}

/// `casulo gc`'s part for containers: a record left saying `running`,
/// `paused` or `restarting` by a `casulo run` or a supervisor that was
/// killed (SIGKILL: no clean-up ran; the kernel killed the container with
/// it) becomes `exited`, and one made with `--rm` goes. Only records
/// untouched for `min_age`, whose init and supervisor are both gone (one
/// being written right now belongs to a live process). Returns what it did,
/// in words.
pub fn gc_stale(state: &StateDir, min_age: std::time::Duration) -> Vec<String> {
    let mut done = Vec::new();
    let Ok(entries) = std::fs::read_dir(state.containers()) else {
        return done;
    };
    for dir in entries.flatten().map(|e| e.path()) {
        let Ok(record) = super::record::load(&dir) else {
            continue;
        };
        let old = std::fs::metadata(dir.join("container.json"))
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() >= min_age);
        let init_gone = !record
            .pid
            .is_some_and(|pid| super::init_alive(pid, &record.id));
        let supervisor_gone = !record.supervisor.is_some_and(super::supervisor_alive)
            && !super::keeper::is_kept(&dir);
        if !(record.is_up() && old && init_gone && supervisor_gone) {
            continue;
        }
        if record.host.auto_remove {
            remove_dirs(state, &record.id, &record.name);
            remove_anonymous_volumes(state, &record);
            done.push(format!(
                "contêiner {} (--rm, de um casulo morto)",
                record.name
            ));
            continue;
        }
        let fixed = super::record::update(&dir, |r| {
            r.state = super::ContainerState::Exited;
            r.pid = None;
            r.supervisor = None;
        });
        if fixed.is_ok() {
            done.push(format!(
                "registro de {}: dizia {:?}, mas o casulo que cuidava dele morreu; agora: terminou",
                record.name,
                record.state.in_words()
            ));
        }
    }
    done
}

/// `casulo gc`'s part for containers that never got a record: a `casulo
/// run` killed while it made one (most often while the image's layers were
/// unpacked) leaves `containers/<id>/` without `container.json`, and its
/// name claimed. Removed when nobody is making it ([`super::record::being_created`])
/// and it is `min_age` old; so is a name claim whose container is gone.
/// The trace stays: it tells how far it got.
pub fn gc_half_made(state: &StateDir, min_age: std::time::Duration) -> Vec<String> {
    let old = |p: &std::path::Path| {
        std::fs::symlink_metadata(p)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() >= min_age)
    };
    let mut done = Vec::new();
    for dir in read_dir_paths(&state.containers()) {
        if dir.join("container.json").exists() || super::record::being_created(&dir) || !old(&dir) {
            continue;
        }
        crate::image::extract::remove_tree(&dir);
        if let Some(id) = dir.file_name() {
            let id = id.to_string_lossy();
            done.push(format!(
                "contêiner {} feito pela metade (o casulo que o criava morreu)",
                &id[..12.min(id.len())]
            ));
        }
    }
    for claim in read_dir_paths(&state.names()) {
        let id = std::fs::read_to_string(&claim).unwrap_or_default();
        let gone = id.is_empty() || !state.container(id.trim()).exists();
        if gone && old(&claim) && std::fs::remove_file(&claim).is_ok() {
            if let Some(name) = claim.file_name() {
                done.push(format!(
                    "nome {} (de um contêiner que não existe)",
                    name.to_string_lossy()
                ));
            }
        }
    }
    done
}

fn read_dir_paths(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// What a `--rm` run of a command that wrote nothing leaves, the
    /// overlay's work dir (mode 000, as the kernel makes it) included.
    fn container_dir(root: &Path) -> std::path::PathBuf {
        let dir = root.join("c");
        let volatile = dir.join("work/work/incompat/volatile");
        std::fs::create_dir_all(&volatile).unwrap();
        std::fs::create_dir_all(dir.join("upper")).unwrap();
        std::fs::create_dir_all(dir.join("merged")).unwrap();
        std::fs::write(volatile.join("dirty"), "").unwrap();
        for f in [
            "container.json",
            "container.lock",
            crate::recorder::COUNTERS,
        ] {
            std::fs::write(dir.join(f), "x").unwrap();
        }
        let work = dir.join("work/work");
        std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o000)).unwrap();
        dir
    }

    #[test]
    fn the_usual_layout_goes_name_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = container_dir(tmp.path());
        assert!(remove_known(&dir));
        assert!(!dir.exists());
    }

    #[test]
    fn anything_else_is_left_for_the_walk() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = container_dir(tmp.path());
        std::fs::create_dir_all(dir.join("upper/etc")).unwrap();
        std::fs::write(dir.join("upper/etc/hostname"), "c").unwrap();
        std::fs::write(dir.join("container.log"), "saída").unwrap();
        assert!(!remove_known(&dir));
        assert!(dir.join("upper/etc/hostname").exists());
        assert!(dir.join("container.log").exists());
        crate::image::extract::remove_tree(&dir);
        assert!(!dir.exists());
    }
}
