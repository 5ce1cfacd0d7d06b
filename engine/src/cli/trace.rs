//! `casulo trace …`: read a trace in the terminal, or validate it.

use std::path::{Path, PathBuf};

use casulo_trace::narrate::{narrate, narrate_header, time_text};
use casulo_trace::reader::read_trace_file;
use casulo_trace::{catalog, Trace};

use super::{CliError, CliResult};
use crate::state::StateDir;

#[derive(Debug, clap::Subcommand)]
pub enum TraceCmd {
    /// Narra um trace em português: cada evento, quando, o que aconteceu e a chamada real.
    Show {
        /// Arquivo .trace.jsonl, ou o nome ou id de um contêiner guardado: o trace
        /// dele; depois de removido, só pelo nome (o trace mais recente com esse nome).
        #[arg(value_name = "ARQUIVO|CONTÊINER")]
        file: PathBuf,
        /// Explica cada tipo de evento na primeira vez que ele aparece.
        #[arg(long)]
        explain: bool,
    },
    /// Valida um trace (cabeçalho, seq sem buracos, tempo que não volta).
    Check {
        /// Arquivo .trace.jsonl, ou o nome ou id de um contêiner guardado (depois
        /// de removido, só pelo nome).
        #[arg(value_name = "ARQUIVO|CONTÊINER")]
        file: PathBuf,
    },
    /// Lista os traces gravados no diretório de estado.
    Ls,
}

pub fn run(state: &StateDir, cmd: TraceCmd) -> CliResult {
    match cmd {
        TraceCmd::Show { file, explain } => {
            let file = locate(state, &file)?;
            let trace = load(&file)?;
            print!("{}", render(&trace, explain));
            Ok(0)
        }
        TraceCmd::Check { file } => {
            let file = locate(state, &file)?;
            let trace = load(&file)?;
            println!(
                "trace válido: {} — {} eventos{}",
                file.display(),
                trace.events.len(),
                match trace.skipped.len() {
                    0 => String::new(),
                    n => format!(" ({n} de tipos desconhecidos ignorados)"),
                }
            );
            Ok(0)
        }
        TraceCmd::Ls => {
            let mut files: Vec<_> = std::fs::read_dir(state.traces())
                .map(|dir| dir.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            files.sort();
            for f in files {
                println!("{}", f.display());
            }
            Ok(0)
        }
    }
}

/// The trace file `arg` names: a file that exists, else the trace of the
/// container with that name or id (kept, or removed with --rm: its trace
/// stays in `<root>/traces/<name>-<id>.trace.jsonl`; the newest wins).
fn locate(state: &StateDir, arg: &Path) -> Result<PathBuf, CliError> {
    if arg.exists() {
        return Ok(arg.to_path_buf());
    }
    let key = arg.to_string_lossy();
    if let Ok(record) = crate::container::find(state, &key) {
        if record.trace.exists() {
            return Ok(record.trace);
        }
    }
    if !key.contains('/') && !key.is_empty() {
        let newest = std::fs::read_dir(state.traces())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.ends_with(".trace.jsonl")
                    && name
                        .strip_prefix(&*key)
                        .and_then(|rest| rest.strip_prefix('-'))
                        .and_then(|rest| rest.strip_suffix(".trace.jsonl"))
                        .is_some_and(|id| id.chars().all(|c| c.is_ascii_hexdigit()))
            })
            .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
        if let Some(entry) = newest {
            return Ok(entry.path());
        }
    }
    Err(CliError::msg(
        1,
        format!(
            "{} não existe: não há arquivo com esse caminho, nem trace de contêiner com esse \
             nome em {}",
            arg.display(),
            state.traces().display()
        ),
    )
    .with_hint("`casulo trace ls` lista os traces gravados; `casulo ps -a`, os contêineres"))
}

fn load(file: &Path) -> Result<Trace, CliError> {
    read_trace_file(file)
        .map_err(|e| CliError::msg(1, format!("trace inválido: {}: {e}", file.display())))
}

/// The whole narration: header, then one block per event.
pub fn render(trace: &Trace, explain: bool) -> String {
    let mut out = narrate_header(&trace.header);
    out.push('\n');
    let mut explained = std::collections::HashSet::new();
    for event in &trace.events {
        let kind = event.body.kind();
        if explain && explained.insert(kind) {
            if let Some(text) = catalog::explain(kind) {
                out.push_str(&format!("\n  ┌ {}\n", catalog::title(kind).unwrap_or(kind)));
                for line in wrap(text, 76) {
                    out.push_str(&format!("  │ {line}\n"));
                }
                out.push_str("  └\n");
            }
        }
        let prefix = format!(
            "#{:<4} {:>10}  pid {:<7} ",
            event.seq,
            time_text(event.t_us),
            event.pid
        );
        let indent = " ".repeat(prefix.chars().count());
        for (i, line) in narrate(event).lines().enumerate() {
            out.push_str(if i == 0 { &prefix } else { &indent });
            out.push_str(line.trim_start());
            out.push('\n');
        }
    }
    out
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().unwrap();
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}
