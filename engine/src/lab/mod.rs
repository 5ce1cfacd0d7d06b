//! `casulo lab`: exercises checked from the student's own work, offline.
//!
//! A lab is data (`labs/NN-nome/`): a `README.md` in Portuguese, a
//! `lab.toml` of tasks ([`spec`]) and, optionally, files the student starts
//! from (`arquivos/`, copied to the work folder); numbers in it may be
//! comparisons ([`cmp`]). The checker reads
//!
//! - the student's traces recorded since `casulo lab iniciar` ([`traces`]),
//!   through the trace crate's reader and replay model: event patterns
//!   ([`pattern`]) and facts of the world at the end of a run ([`facts`]);
//! - the state dir: images, files in an image, kept containers ([`store`]);
//! - the output of commands ([`output`]);
//!
//! and says, per task, ✓ or ✗, where in which trace it looked, and a hint
//! when it recognises a mistake ([`verify`]). Progress lives in
//! `<root>/labs/<NN-nome>/` ([`progress`]) — for a student without root,
//! under the rootless state dir, `$XDG_DATA_HOME/casulo`; a lab is done
//! with root or without it, never both ([`privilege`]). The labs ship inside the binary
//! ([`bundle`]); `--dir` runs one from a folder.

pub mod bundle;
pub mod cmp;
pub mod facts;
pub mod output;
pub mod pattern;
pub mod privilege;
pub mod progress;
pub mod spec;
pub mod store;
pub mod traces;
pub mod verify;

use std::path::PathBuf;

pub use bundle::Lab;
pub use spec::LabSpec;
pub use verify::{verify, Proof, Report, TaskReport, TaskStatus};

/// Where the visualizer served by `cargo xtask serve` listens.
pub const VISUALIZER: &str = "http://127.0.0.1:8000";

/// Why `casulo lab` could not do what was asked (messages in pt-BR).
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The lab file is wrong: where and which field.
    #[error("{file}:{line}: {message}")]
    Spec {
        file: String,
        line: usize,
        message: String,
    },
    #[error("laboratório não encontrado: {0:?} (veja `casulo lab ls`)")]
    NotFound(String),
    #[error("a pasta {0} não tem um lab.toml")]
    NoLabFile(PathBuf),
    #[error("o laboratório {0} ainda não foi iniciado: rode `casulo lab iniciar {0}`")]
    NotStarted(String),
    #[error(
        "o laboratório {lab} precisa de root: os passos de «{title}» usam o que só o root \
         do host faz (cgroups, a bridge, --privileged, o daemon ou unshare no host), e o \
         casulo sem root recusa isso; {instead}. Com sudo, este laboratório roda como os \
         outros: `sudo casulo lab iniciar {lab}`"
    )]
    NeedsRoot {
        lab: u32,
        title: String,
        instead: String,
    },
    #[error(
        "o laboratório {lab} («{title}») é feito sem root: rode `casulo lab iniciar {lab}` \
         como o seu usuário, sem sudo (como root, o casulo não cria o user namespace que \
         o laboratório examina, e os traces e a pasta de trabalho ficariam em /var/lib/casulo, \
         não em ~/.local/share/casulo)"
    )]
    NeedsNoRoot { lab: u32, title: String },
    #[error("não apago {0}: há algo montado lá dentro ({1}); desmonte antes de reiniciar")]
    MountedInside(PathBuf, String),
    #[error("{what}: {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LabError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        LabError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// The served book's page of a chapter (`02-namespaces` →
/// `http://127.0.0.1:8000/curso/02-namespaces.html`).
pub fn chapter_url(chapter: &str) -> String {
    format!("{VISUALIZER}/curso/{chapter}.html")
}

/// The visualizer at event `seq` of a trace of the state dir's `traces/`.
pub fn trace_url(file_name: &str, seq: u64) -> String {
    format!("{VISUALIZER}/?trace=traces/{file_name}#evento={seq}")
}
