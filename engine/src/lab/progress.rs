//! A student's progress in one lab, in the state dir:
//!
//! ```text
//! <root>/labs/<NN-nome>/
//!   progresso.json      when it started, hints seen, when it was done
//!   trabalho/           the work folder: the lab's files, the student's outputs
//! ```
//!
//! Only traces recorded after `iniciado_em` count for the lab.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{Lab, LabError};
use crate::state::StateDir;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    /// RFC 3339 (UTC, microseconds).
    #[serde(rename = "iniciado_em")]
    pub started_at: String,
    /// How many of each task's hints `casulo lab dica` has shown.
    #[serde(rename = "dicas_vistas", default)]
    pub hints_seen: std::collections::BTreeMap<String, usize>,
    /// Set the first time every task passed.
    #[serde(rename = "concluido_em", default)]
    pub done_at: Option<String>,
    /// The last `casulo lab verificar`: (tasks passed, tasks).
    #[serde(rename = "ultima_verificacao", default)]
    pub last_check: Option<(usize, usize)>,
}

impl Progress {
    pub fn started(&self) -> SystemTime {
        humantime::parse_rfc3339_weak(&self.started_at).unwrap_or(SystemTime::UNIX_EPOCH)
    }
}

/// `<root>/labs/<slug>/`.
pub fn lab_dir(state: &StateDir, lab: &Lab) -> PathBuf {
    state.root().join("labs").join(&lab.slug)
}

/// The work folder: `<root>/labs/<slug>/trabalho/`.
pub fn work_dir(state: &StateDir, lab: &Lab) -> PathBuf {
    lab_dir(state, lab).join("trabalho")
}

fn file(state: &StateDir, lab: &Lab) -> PathBuf {
    lab_dir(state, lab).join("progresso.json")
}

/// The progress, if the lab was started.
pub fn load(state: &StateDir, lab: &Lab) -> Result<Option<Progress>, LabError> {
    let path = file(state, lab);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            LabError::io(
                "progresso ilegível",
                &path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LabError::io("não consegui ler", &path, e)),
    }
}

/// Writes the progress (temp file + rename).
pub fn save(state: &StateDir, lab: &Lab, progress: &Progress) -> Result<(), LabError> {
    let path = file(state, lab);
    let dir = lab_dir(state, lab);
    std::fs::create_dir_all(&dir).map_err(|e| LabError::io("não consegui criar", &dir, e))?;
    let tmp = dir.join(format!(".progresso-{}.json", std::process::id()));
    let json = serde_json::to_vec_pretty(progress).expect("progress is json");
    std::fs::write(&tmp, json)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| LabError::io("não consegui gravar", &path, e))
}

/// Starts the lab now: a fresh progress and the work folder with the lab's
/// files (an existing work folder is kept: files are written over).
pub fn start(state: &StateDir, lab: &Lab) -> Result<Progress, LabError> {
    // The state dir made as every command makes it (private, `0700`), even
    // when `lab iniciar` is the student's first command.
    state
        .ensure()
        .map_err(|e| LabError::io("não consegui criar", state.root(), e))?;
    let work = work_dir(state, lab);
    std::fs::create_dir_all(&work).map_err(|e| LabError::io("não consegui criar", &work, e))?;
    for (rel, bytes) in &lab.files {
        let dest = work.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| LabError::io("não consegui criar", parent, e))?;
        }
        std::fs::write(&dest, bytes).map_err(|e| LabError::io("não consegui gravar", &dest, e))?;
        if rel.extension().is_some_and(|e| e == "sh") {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755));
        }
    }
    let progress = Progress {
        started_at: humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
        hints_seen: Default::default(),
        done_at: None,
        last_check: None,
    };
    save(state, lab, &progress)?;
    Ok(progress)
}

/// Forgets the lab: its progress and work folder. Refuses if anything is
/// mounted below the folder (never delete through a mount).
pub fn reset(state: &StateDir, lab: &Lab) -> Result<(), LabError> {
    let dir = lab_dir(state, lab);
    if let Some(m) = mount_under(&dir) {
        return Err(LabError::MountedInside(dir, m));
    }
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LabError::io("não consegui apagar", &dir, e)),
    }
}

/// A mount point at or below `dir`, from `/proc/self/mountinfo`.
fn mount_under(dir: &Path) -> Option<String> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .find(|m| Path::new(m).starts_with(&dir))
        .map(String::from)
}
