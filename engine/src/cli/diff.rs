//! `casulo diff`: what a kept container changed vs its image.

use super::image::LsFormat;
use super::{CliError, CliResult};
use crate::container::{self, diff};
use crate::state::StateDir;

/// What the letters mean, printed before the list.
pub const LEGEND: &str = "A: adicionado · C: alterado (copy-up de um arquivo da imagem, ou \
     diretório com algo mudado dentro) · D: apagado (whiteout esconde o da imagem)";

/// Mostra o que o contêiner adicionou (A), mudou (C) ou apagou (D) em relação à imagem.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// Nome ou id do contêiner (veja `casulo ps -a`; só os guardados, sem --rm).
    #[arg(value_name = "CONTÊINER")]
    pub container: String,
    /// Formato da saída: `table`, linhas `A|C|D /caminho` como as do docker (a
    /// legenda vai para o stderr); `json`, uma lista JSON.
    #[arg(long, value_enum, value_name = "FORMATO", default_value_t = LsFormat::Table, hide_possible_values = true)]
    pub format: LsFormat,
}

pub fn cmd(state: &StateDir, args: DiffArgs) -> CliResult {
    let record = container::find(state, &args.container)?;
    let upper = crate::mounts::upper_of(&state.container(&record.id));
    let changes = diff::diff(&upper, &record.lowerdirs).map_err(|e| {
        CliError::msg(
            125,
            format!(
                "não consegui ler a camada de escrita {}: {e}",
                upper.display()
            ),
        )
    })?;
    match args.format {
        LsFormat::Json => {
            let list: Vec<_> = changes
                .iter()
                .map(|(c, p)| serde_json::json!({ "kind": c, "path": p }))
                .collect();
            println!("{}", serde_json::to_string_pretty(&list).expect("json"));
        }
        LsFormat::Table => {
            // The legend goes to stderr: stdout stays docker's `X /path` lines.
            if changes.is_empty() {
                eprintln!("casulo: nenhuma mudança em relação à imagem");
            } else {
                eprintln!("{LEGEND}");
            }
            for (change, path) in &changes {
                println!("{} {path}", change.letter());
            }
        }
    }
    Ok(0)
}
