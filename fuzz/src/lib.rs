//! Fuzz targets for what Casulo reads from outside.
//!
//! Each target is a plain function `fn(&[u8])` that panics when it finds a
//! bug (a panic of the code under test, or a broken invariant checked here).
//! Two callers share them:
//!
//! - the libFuzzer binaries in `fuzz_targets/` (`cargo xtask fuzz ALVO`),
//!   coverage-guided, built with `--features libfuzzer`;
//! - `tests/corpus.rs` (`cargo xtask test`), which replays every file of
//!   `fuzz/corpus/<alvo>/` and `fuzz/regressoes/<alvo>/` as an ordinary test,
//!   with no fuzzing engine.
//!
//! The targets ("alvos", the names `cargo xtask fuzz` takes):
//!
//! | alvo           | what it feeds                                              |
//! |----------------|------------------------------------------------------------|
//! | `dockerfile`   | `build::dockerfile::parse` and what `build` does with it   |
//! | `dockerignore` | `build::dockerignore::Ignore` (patterns, then paths)       |
//! | `trace`        | `casulo_trace::read_trace` and the replay of what it read  |
//! | `imagem`       | the OCI/docker JSON of an image (index, manifest, config)  |
//! | `camada`       | `image::extract::unpack` of a layer tar, checking that     |
//! |                | nothing appears or changes outside the layer directory     |
//! | `carregar`     | a whole `image load` (OCI layout or docker-archive built   |
//! |                | from the input, digests filled in) into a fresh store      |

pub mod camada;
pub mod carregar;
pub mod dockerfile;
pub mod dockerignore;
pub mod imagem;
pub mod sandbox;
pub mod seeds;
pub mod tar_fix;
pub mod trace;

/// A target: its name (the directory of its corpus) and its function.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
    /// What it fuzzes, in pt-BR (for `cargo xtask fuzz --lista`).
    pub about: &'static str,
}

/// Every target, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "dockerfile",
        run: dockerfile::fuzz,
        about: "o parser de Dockerfile (build/dockerfile/)",
    },
    Target {
        name: "dockerignore",
        run: dockerignore::fuzz,
        about: "os padrões do .dockerignore (build/dockerignore.rs)",
    },
    Target {
        name: "trace",
        run: trace::fuzz,
        about: "o leitor de traces (trace/src/reader.rs) e o replay",
    },
    Target {
        name: "imagem",
        run: imagem::fuzz,
        about: "os JSON de uma imagem: index, manifest, config, manifest.json do docker (image/oci.rs, archive.rs)",
    },
    Target {
        name: "camada",
        run: camada::fuzz,
        about: "o extrator de camadas (image/extract.rs): nada pode aparecer fora do diretório da camada",
    },
    Target {
        name: "carregar",
        run: carregar::fuzz,
        about: "o `image load` inteiro (image/archive.rs) de um layout OCI ou docker-archive montado da entrada",
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
