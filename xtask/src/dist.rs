//! `cargo xtask dist`: one file to hand out. A static casulo (musl) with
//! the visualizer and the course inside (feature `embutido`), so a teacher
//! copies `dist/casulo` to the lab machines and `casulo ui` serves both:
//!
//! 1. the course and the visualizer built (`book::build`, into `book/build/`,
//!    the visualizer in `book/build/visualizador/`) — the recorded examples
//!    are the ones in the repository, nothing is recorded here;
//! 2. that folder synced into `target/dist-site/` (only files whose bytes
//!    changed are written: the engine's `build.rs` watches this folder, and
//!    an mdBook run rewrites every file, which would recompile the release
//!    engine — minutes — each time);
//! 3. `musl::build_casulo` with `CASULO_EMBUTIR=target/dist-site`;
//! 4. `dist/casulo` and `dist/casulo.sha256` (the format of `sha256sum`,
//!    so `sha256sum -c casulo.sha256` checks a copy).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cmd::{self, step};
use crate::{book, musl, Result};

/// `dist/` at the root of the repository.
pub fn dist_dir() -> PathBuf {
    cmd::workspace_root().join("dist")
}

/// What `dist/casulo` embeds: `target/dist-site/` (the built course, the
/// visualizer in `visualizador/`).
pub fn site_dir() -> PathBuf {
    cmd::target_dir().join("dist-site")
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
    let built = book::build()?;
    let site = site_dir();
    let written = sync(&built, &site)?;
    println!(
        "  {} ← {} ({written} arquivos mudaram)",
        site.display(),
        built.display()
    );
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

/// Makes `to` hold exactly the files of `from`, writing only those whose
/// bytes differ (the others keep their modification time); returns how
/// many were written or removed.
fn sync(from: &Path, to: &Path) -> Result<usize> {
    let mut changed = 0;
    let mut wanted = std::collections::BTreeSet::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        std::fs::create_dir_all(to.join(&rel))?;
        for entry in std::fs::read_dir(from.join(&rel))? {
            let entry = entry?;
            let rel = rel.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                stack.push(rel);
                continue;
            }
            let bytes = std::fs::read(entry.path())?;
            let dest = to.join(&rel);
            if std::fs::read(&dest).ok().as_deref() != Some(&bytes[..]) {
                std::fs::write(&dest, &bytes)?;
                changed += 1;
            }
            wanted.insert(rel);
        }
    }
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(to.join(&rel))? {
            let entry = entry?;
            let rel = rel.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                if from.join(&rel).is_dir() {
                    stack.push(rel);
                } else {
                    std::fs::remove_dir_all(entry.path())?;
                    changed += 1;
                }
            } else if !wanted.contains(&rel) {
                std::fs::remove_file(entry.path())?;
                changed += 1;
            }
        }
    }
    Ok(changed)
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
