//! Embeds the labs (`labs/NN-nome/`) in the binary, so `casulo lab` works
//! from any directory: every file of each lab folder except the reference
//! solution (`solucao.sh`) becomes an entry of `$OUT_DIR/labs.rs`.
//!
//! With the feature `embutido` (what `cargo xtask dist` builds), the same
//! for the built site `casulo ui` serves: every file under the folder named
//! by `CASULO_EMBUTIR` (the built course, with the visualizer in
//! `visualizador/`) becomes an entry of `$OUT_DIR/site.rs`; without the
//! feature that list is empty, so an ordinary build needs neither built.
//! `include_bytes!` of each file, as for the labs (a crate such as
//! `include_dir` does the same, but would not notice a file added to the
//! folder; `rerun-if-changed` on a folder does).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let labs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../labs");
    println!("cargo:rerun-if-changed={}", labs.display());
    let mut files = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&labs) {
        let mut dirs: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs.iter().filter(|d| d.is_dir() && is_lab_dir(d)) {
            collect(&labs, dir, &mut files);
        }
    }
    let mut out = String::from(
        "/// (path under `labs/`, contents), sorted.\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (rel, abs) in &files {
        let abs = abs.canonicalize().expect("lab file");
        writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("labs.rs");
    std::fs::write(dest, out).expect("write labs.rs");
    embed_site();
}

/// `$OUT_DIR/site.rs`: the files of `CASULO_EMBUTIR` with `embutido`, none without.
fn embed_site() {
    println!("cargo:rerun-if-env-changed=CASULO_EMBUTIR");
    let mut files = Vec::new();
    if std::env::var_os("CARGO_FEATURE_EMBUTIDO").is_some() {
        let Some(dir) = std::env::var_os("CASULO_EMBUTIR").map(PathBuf::from) else {
            panic!(
                "a feature `embutido` precisa de CASULO_EMBUTIR=<pasta do curso montado, \
                 com visualizador/>: use `cargo xtask dist`, que a monta e a preenche"
            );
        };
        if !dir.join("visualizador/index_bg.wasm").is_file() || !dir.join("index.html").is_file() {
            panic!(
                "CASULO_EMBUTIR={}: não há index.html e visualizador/index_bg.wasm ali \
                 (use `cargo xtask dist`, que monta o curso e o visualizador antes)",
                dir.display()
            );
        }
        println!("cargo:rerun-if-changed={}", dir.display());
        collect(&dir, &dir, &mut files);
        // One sorted list: `casulo ui` finds a file by binary search.
        files.sort();
    }
    let mut out = String::from(
        "/// (path under the built site, contents), sorted.\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (rel, abs) in &files {
        let abs = abs.canonicalize().expect("site file");
        writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("site.rs");
    std::fs::write(dest, out).expect("write site.rs");
}

/// `NN-nome`: two digits, a dash.
fn is_lab_dir(dir: &Path) -> bool {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let b = name.as_bytes();
    b.len() > 3 && b[0].is_ascii_digit() && b[1].is_ascii_digit() && b[2] == b'-'
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(base, &path, out);
        } else if path.is_file() && path.file_name().is_some_and(|n| n != "solucao.sh") {
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((rel, path));
        }
    }
}
