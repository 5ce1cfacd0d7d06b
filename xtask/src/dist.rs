//! `cargo xtask dist`: one file to hand out. A static casulo (musl) with
//! the visualizer and the course inside (feature `embutido`), so a teacher
//! copies `dist/casulo` to the lab machines and `casulo ui` serves both:
//!
//! 1. the course and the visualizer built (`book::build`, into `book/build/`,
//!    the visualizer in `book/build/visualizador/`) — the recorded examples
//!    are the ones in the repository, nothing is recorded here;
//! 2. `musl::build_casulo` with `CASULO_EMBUTIR=book/build`;
//! 3. `dist/casulo` and `dist/casulo.sha256` (the format of `sha256sum`,
//!    so `sha256sum -c casulo.sha256` checks a copy).

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::cmd::{self, step};
use crate::{book, musl, Result};

/// `dist/` at the root of the repository.
pub fn dist_dir() -> PathBuf {
    cmd::workspace_root().join("dist")
}

/// `cargo xtask dist`.
pub fn run() -> Result {
    let binary = build()?;
    println!(
        "\npronto: {} — copie só este arquivo para as máquinas do laboratório e rode \
         `sudo ./casulo ui` (o visualizador e o curso em http://127.0.0.1:8000/)",
        binary.display()
    );
    Ok(())
}

/// Builds `dist/casulo` (+ `.sha256`) and returns its path.
pub fn build() -> Result<PathBuf> {
    let site = book::build()?;
    step("casulo estático (musl, release) com o visualizador e o curso embutidos");
    let built = musl::build_casulo(Some(&site))?;
    let dir = dist_dir();
    std::fs::create_dir_all(&dir)?;
    let out = dir.join("casulo");
    // Through a temporary name: a running dist/casulo (`casulo ui`) is not
    // written over (ETXTBSY), it is replaced.
    let tmp = dir.join(".casulo.novo");
    std::fs::copy(&built, &tmp)?;
    std::fs::rename(&tmp, &out)?;
    let bytes = std::fs::read(&out)?;
    let digest = hex(&Sha256::digest(&bytes));
    std::fs::write(dir.join("casulo.sha256"), format!("{digest}  casulo\n"))?;
    println!(
        "  {}: {:.1} MiB ({} KiB com gzip), sha256 {digest}",
        out.display(),
        bytes.len() as f64 / (1024.0 * 1024.0),
        gzip_len(&bytes)? / 1024,
    );
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn gzip_len(data: &[u8]) -> Result<usize> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data)?;
    Ok(enc.finish()?.len())
}
