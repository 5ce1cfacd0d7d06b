//! Static builds (musl, release): the probe the tests copy into their
//! images, and casulo itself — plain for the cgroup v2 VM (`vm.rs`), with
//! the visualizer and the course built in for `cargo xtask dist`
//! (`dist.rs`). Its own module so that `test.rs`, `vm.rs` and `dist.rs`
//! share it without importing one another.

use std::path::{Path, PathBuf};

use crate::cmd::{self, cargo, step};
use crate::Result;

pub const TARGET: &str = "x86_64-unknown-linux-musl";

/// Builds the static probe and returns its absolute path.
pub fn build_probe() -> Result<PathBuf> {
    step("Compilando a sonda estática (probe, musl, release)");
    cmd::run_timed(cargo().args([
        "build",
        "-p",
        "casulo-probe",
        "--release",
        "--target",
        TARGET,
    ]))?;
    Ok(cmd::target_dir().join(TARGET).join("release/probe"))
}

/// Builds a static casulo and returns its path (in `target/`: the next
/// build overwrites it, so copy it before building another). With
/// `embed`, the feature `embutido` and that folder (the built course,
/// with the visualizer in `visualizador/`) inside the binary.
pub fn build_casulo(embed: Option<&Path>) -> Result<PathBuf> {
    let mut build = cargo();
    build.args(["build", "-p", "casulo", "--release", "--target", TARGET]);
    // The registry client's TLS (rustls + ring) has C code: musl-tools' gcc.
    build.env("CC_x86_64_unknown_linux_musl", "musl-gcc");
    match embed {
        Some(dir) => {
            build
                .args(["--features", "embutido"])
                .env("CASULO_EMBUTIR", dir);
        }
        None => {
            build.env_remove("CASULO_EMBUTIR");
        }
    }
    cmd::run_timed(&mut build)?;
    Ok(cmd::target_dir().join(TARGET).join("release/casulo"))
}
