//! What a killed writer of the store leaves: `casulo gc`'s part for images.
//!
//! Every write to the store goes through a temp name that carries the
//! writer's pid ([`super::store`]: `tmp/blob-<pid>-<n>`, `tmp/write-<pid>-<n>`;
//! `tmp/load-<pid>-<n>/`, `tmp/cache-<pid>-<key>`; a container being
//! removed, `tmp/rm-<pid>-<id>/`;
//! `layers/.tmp-<hex>-<pid>-<n>/` for a layer being unpacked). A writer that
//! ends, well or badly, removes its own; only a SIGKILL (or a power cut)
//! leaves one. So a temp name whose pid is gone, and that has not changed
//! for `min_age`, is a leftover: nobody will ever finish or rename it. (A
//! pid reused by another process keeps its leftover until that one ends:
//! the safe side.) `image fsck` reports the same names as problems.
//!
//! Not swept here: `tmp/copy-from-<id8>-<line>/`, a build's `COPY --from`
//! stage, whose name has no pid (left by a killed build; `image fsck`
//! reports it).

use std::path::Path;
use std::time::Duration;

use crate::state::StateDir;

/// The temp-file prefixes of `tmp/` that end in `-<pid>-<something>`.
const TMP_PREFIXES: &[&str] = &["blob-", "write-", "load-", "cache-", "rm-", "recomprimir-"];

/// A temp name of `tmp/` (see [`TMP_PREFIXES`]).
fn temp_in_tmp(name: &str) -> bool {
    TMP_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A layer being unpacked, in `layers/`.
fn temp_in_layers(name: &str) -> bool {
    name.starts_with(".tmp-")
}

/// Removes the leftovers of dead writers; returns them, in words.
pub fn gc(state: &StateDir, min_age: Duration) -> Vec<String> {
    let mut done = Vec::new();
    sweep(&state.tmp(), "tmp", min_age, &mut done, temp_in_tmp);
    sweep(
        &state.layers(),
        "layers",
        min_age,
        &mut done,
        temp_in_layers,
    );
    done
}

fn sweep(
    dir: &Path,
    shown: &str,
    min_age: Duration,
    done: &mut Vec<String>,
    is_temp: impl Fn(&str) -> bool,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_temp(&name) || writer_pid(&name).is_none_or(crate::state::pid_alive) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() >= min_age);
        if !old {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            super::extract::remove_tree(&path);
        } else {
            let _ = std::fs::remove_file(&path);
        }
        if std::fs::symlink_metadata(&path).is_err() {
            done.push(format!(
                "{shown}/{name} (escrita pela metade de um casulo que morreu)"
            ));
        }
    }
}

/// Whether `name` (in `tmp/` or `layers/`) is a temp name whose writer
/// still runs: a write in progress (a container being removed, a layer
/// being unpacked), not a leftover — `image fsck` passes over it.
pub fn being_written(name: &str) -> bool {
    (temp_in_tmp(name) || temp_in_layers(name))
        && writer_pid(name).is_some_and(crate::state::pid_alive)
}

/// The pid in `<prefix>-<pid>-<n>`: the next-to-last `-` field.
fn writer_pid(name: &str) -> Option<i32> {
    let mut fields = name.rsplit('-');
    fields.next()?;
    fields.next()?.parse().ok().filter(|pid| *pid > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writers_pid_is_read_from_every_temp_name() {
        assert_eq!(writer_pid("blob-6984-0"), Some(6984));
        assert_eq!(writer_pid("cache-77-abcdef012345"), Some(77));
        assert_eq!(
            writer_pid(&format!(".tmp-{}-123-4", "c6e7".repeat(16))),
            Some(123)
        );
        assert_eq!(writer_pid("images.lock"), None);
        assert_eq!(writer_pid("blob-x-0"), None);
    }

    /// A dead writer's old leftovers go; a live writer's and a young
    /// leftover stay; other names are never touched.
    #[test]
    fn only_old_leftovers_of_dead_writers_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().to_path_buf());
        std::fs::create_dir_all(state.tmp()).unwrap();
        std::fs::create_dir_all(state.layers()).unwrap();
        // A pid that is not running: past pid_max.
        let dead = 1 << 30;
        let me = std::process::id();
        let names = [
            state.tmp().join(format!("blob-{dead}-0")),
            state.tmp().join(format!("blob-{me}-0")),
            state.tmp().join("images.lock"),
        ];
        for n in &names {
            std::fs::write(n, b"x").unwrap();
        }
        let layer = state
            .layers()
            .join(format!(".tmp-{}-{dead}-0", "ab".repeat(32)));
        std::fs::create_dir_all(layer.join("bin")).unwrap();
        assert!(gc(&state, Duration::from_secs(3600)).is_empty(), "young");
        let done = gc(&state, Duration::ZERO);
        assert_eq!(done.len(), 2, "{done:?}");
        assert!(!names[0].exists() && !layer.exists());
        assert!(names[1].exists() && names[2].exists());
    }

    /// A live writer's temp name is a write in progress; a dead one's, or
    /// a name without a pid, is not.
    #[test]
    fn a_live_writers_temp_name_is_being_written() {
        let me = std::process::id();
        let dead = 1 << 30;
        assert!(being_written(&format!("rm-{me}-{}", "ab".repeat(32))));
        assert!(being_written(&format!(".tmp-{}-{me}-0", "cd".repeat(32))));
        assert!(!being_written(&format!("rm-{dead}-x")));
        assert!(!being_written(&format!("copy-from-{me}-3")));
        assert!(!being_written("images.lock"));
    }
}
