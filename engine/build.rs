//! One linker option: the static (musl) casulo relocates itself when it
//! starts (`static-pie`), and with packed relative relocations
//! (`-z pack-relative-relocs`, `DT_RELR`, which the musl that Rust links
//! understands) the table it reads is ~4 KB instead of ~350 KB (#19: fewer
//! page faults at every start, which count most in the bench's TCG VM).
//! Not for glibc builds: a binary with `DT_RELR` needs glibc 2.36 or newer.
//!
//! Three things the binary carries ready-made:
//!
//! - the labs (`labs/NN-nome/`), so `casulo lab` works from any directory:
//!   every file of each lab folder except the reference solution
//!   (`solucao.sh`) becomes an entry of `$OUT_DIR/labs.rs`;
//! - with the feature `embutido` (what `cargo xtask dist` builds), the
//!   built site `casulo ui` serves: every file under the folder named by
//!   `CASULO_EMBUTIR` (the built course, with the visualizer in
//!   `visualizador/`) becomes an entry of `$OUT_DIR/site.rs`; without the
//!   feature that list is empty, so an ordinary build needs neither built.
//!   `include_bytes!` of each file, as for the labs (a crate such as
//!   `include_dir` does the same, but would not notice a file added to the
//!   folder; `rerun-if-changed` on a folder does);
//! - the default seccomp filter, compiled here once instead of on every
//!   `casulo run` (parsing the profile and writing the BPF was ~3 % of a
//!   run's CPU): `$OUT_DIR/seccomp_padrao.rs`, read by
//!   `security::seccomp::precompiled`. The engine's own `profile` and
//!   `compile` modules do the work, so the result is the one a run would
//!   compute; a unit test checks that it is.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// The engine's seccomp modules, as they are; `profile` reads capability
// names at `crate::security::capabilities::NAMES`.
#[allow(dead_code)]
#[path = "src/security/capabilities/table.rs"]
mod capability_table;
#[allow(dead_code)]
#[path = "src/security/seccomp/compile.rs"]
mod compile;
#[allow(dead_code)]
#[path = "src/security/seccomp/profile.rs"]
mod profile;
mod security {
    pub mod capabilities {
        pub use crate::capability_table::*;
    }
}

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("musl") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    embed_labs();
    compile_default_seccomp();
}

/// Writes `$OUT_DIR/seccomp_padrao.rs`: the default profile compiled for
/// docker's default capabilities on a kernel at least as new as every
/// `minKernel` it names, and the facts that choice rests on (which
/// capabilities and kernels the profile's rules ask about), so the engine
/// uses it only for a container it fits.
fn compile_default_seccomp() {
    for f in [
        "src/security/perfil-padrao.json",
        "src/security/seccomp/profile.rs",
        "src/security/seccomp/compile.rs",
        "src/security/capabilities/table.rs",
    ] {
        println!("cargo:rerun-if-changed={f}");
    }
    let text = include_str!("src/security/perfil-padrao.json");
    let p = profile::parse(text).expect("perfil-padrao.json");
    let mut caps: Vec<u32> = Vec::new();
    let mut kernels: Vec<profile::KernelVersion> = Vec::new();
    for rule in &p.syscalls {
        for f in [&rule.includes, &rule.excludes] {
            caps.extend(f.caps.iter().map(|c| c.0));
            kernels.extend(f.min_kernel);
        }
    }
    caps.sort();
    caps.dedup();
    kernels.sort();
    kernels.dedup();
    let newest = kernels
        .last()
        .copied()
        .unwrap_or(profile::KernelVersion(0, 0));
    let defaults = security::capabilities::DOCKER_DEFAULT;
    let c = compile::compile(&p, &defaults, Some(newest)).expect("compile the default profile");
    let held: Vec<u32> = caps
        .iter()
        .copied()
        .filter(|c| defaults.contains(c))
        .collect();
    let mut out =
        String::from("// Written by engine/build.rs: the default seccomp profile, compiled.\n");
    let kv = |k: &profile::KernelVersion| format!("KernelVersion({}, {})", k.0, k.1);
    let list = |v: Vec<String>| v.join(", ");
    writeln!(
        out,
        "/// The capabilities some rule of the profile asks about."
    )
    .unwrap();
    writeln!(out, "pub const ASKED_CAPS: &[u32] = &{caps:?};").unwrap();
    writeln!(
        out,
        "/// Of those, the ones the filter below was compiled with."
    )
    .unwrap();
    writeln!(out, "pub const HELD_CAPS: &[u32] = &{held:?};").unwrap();
    writeln!(
        out,
        "/// The `minKernel`s the rules name; the filter assumes all hold."
    )
    .unwrap();
    let ks = list(kernels.iter().map(kv).collect());
    writeln!(out, "pub const MIN_KERNELS: &[KernelVersion] = &[{ks}];").unwrap();
    writeln!(
        out,
        "pub const DEFAULT_ACTION: Action = Action::{:?};",
        c.default_action
    )
    .unwrap();
    writeln!(out, "pub const RULE_COUNT: u32 = {};", c.rule_count).unwrap();
    writeln!(out, "pub const ALLOWED_COUNT: u32 = {};", c.allowed_count).unwrap();
    writeln!(out, "pub const BLOCKED: &[&str] = &{:?};", c.blocked).unwrap();
    writeln!(
        out,
        "pub const BLOCKED_ACTION: &str = {:?};",
        c.blocked_action
    )
    .unwrap();
    writeln!(out, "pub const IGNORED: &[&str] = &{:?};", c.ignored).unwrap();
    writeln!(
        out,
        "/// (code, jt, jf, k) of each instruction, program by program."
    )
    .unwrap();
    writeln!(out, "pub static PROGRAMS: &[&[(u16, u8, u8, u32)]] = &[").unwrap();
    for prog in &c.programs {
        out.push_str("    &[");
        for i in prog {
            write!(out, "({}, {}, {}, {}), ", i.code, i.jt, i.jf, i.k).unwrap();
        }
        out.push_str("],\n");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("seccomp_padrao.rs");
    std::fs::write(dest, out).expect("write seccomp_padrao.rs");
}

/// Writes `$OUT_DIR/labs.rs`.
fn embed_labs() {
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
    write_files("labs.rs", "under `labs/`", &files);
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
    write_files("site.rs", "under the built site", &files);
}

/// `$OUT_DIR/<name>`: `FILES`, each `(path, include_bytes!(file))`, in
/// the order given (sorted by the caller).
fn write_files(name: &str, under: &str, files: &[(String, PathBuf)]) {
    let mut out =
        format!("/// (path {under}, contents), sorted.\npub static FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in files {
        let abs = abs.canonicalize().expect("embedded file");
        writeln!(
            out,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join(name);
    std::fs::write(dest, out).unwrap_or_else(|e| panic!("write {name}: {e}"));
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
