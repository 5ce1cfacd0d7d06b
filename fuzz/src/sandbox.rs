//! Where the filesystem targets write, and the fence around the fuzzer.
//!
//! Under `cargo xtask fuzz`, the `camada` fuzzer runs with
//! `CASULO_FUZZ_CHROOT=1` and its working directory in a scratch folder
//! holding only its corpus and artifacts. Before the first input, [`enter`]
//! moves the process into its own mount namespace, mounts a small tmpfs on
//! `./tmp` and `chroot`s into the working directory: a bug that wrote
//! through an absolute path (`/etc/…`) would land inside the fence, where
//! the target sees it (a new name at the top), never on the host; the
//! tmpfs makes each run fast, caps the bytes a run can write (a bomb fails
//! with ENOSPC instead of filling the disk) and vanishes with the process.
//!
//! The corpus replay (`cargo xtask test`) runs without the fence, in
//! ordinary temporary directories.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The env var that asks for the fence.
pub const CHROOT_VAR: &str = "CASULO_FUZZ_CHROOT";

/// Size of the tmpfs inside the fence.
const TMPFS_SIZE: &str = "size=256m,mode=0755";

static FENCED: OnceLock<bool> = OnceLock::new();

/// Enters the fence if [`CHROOT_VAR`] is set (once per process; panics if
/// it cannot: a fuzzer outside the fence must not run).
pub fn enter() {
    FENCED.get_or_init(|| {
        if std::env::var_os(CHROOT_VAR).is_none() || merge_outer() {
            return false;
        }
        fence().unwrap_or_else(|e| panic!("não consegui isolar o fuzzer: {e}"));
        true
    });
}

/// Whether this is libFuzzer's outer merge process: it runs no input,
/// it starts the fuzzer again by its host path (so it stays outside); the
/// inner one (`-merge_inner=1`) runs them, inside the fence.
fn merge_outer() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let merging = args
        .iter()
        .any(|a| a == "-merge=1" || a == "-set_cover_merge=1");
    merging && !args.iter().any(|a| a.starts_with("-merge_inner="))
}

/// Whether this process runs inside the fence.
pub fn fenced() -> bool {
    *FENCED.get().unwrap_or(&false)
}

fn fence() -> std::io::Result<()> {
    use nix::mount::{mount, MsFlags};
    use nix::sched::{unshare, CloneFlags};
    unshare(CloneFlags::CLONE_NEWNS)?;
    // Nothing mounted from now on propagates back to the host.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )?;
    std::fs::create_dir_all("tmp")?;
    mount(
        Some("tmpfs"),
        "tmp",
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(TMPFS_SIZE),
    )?;
    nix::unistd::chroot(".")?;
    nix::unistd::chdir("/")?;
    Ok(())
}

/// The folder the targets make their temporary directories in.
pub fn scratch() -> PathBuf {
    if fenced() {
        PathBuf::from("/tmp")
    } else {
        std::env::temp_dir()
    }
}

/// Names at the top of the fence (empty outside it): a write through an
/// absolute path would add one.
pub fn top_names() -> Vec<std::ffi::OsString> {
    if !fenced() {
        return Vec::new();
    }
    let mut names: Vec<_> = std::fs::read_dir(Path::new("/"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.file_name())).collect())
        .unwrap_or_default();
    names.sort();
    names
}
