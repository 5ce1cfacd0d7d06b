//! `casulo volume`: named volumes (create, ls, inspect, rm, prune), as `docker volume`.

use super::{CliError, CliResult};
use crate::container::volumes;
use crate::state::StateDir;
use crate::volume;
use crate::volume::filter::{VolumeFilter, LS_FILTERS, PRUNE_FILTERS};

/// Gerencia volumes: dados que sobrevivem ao contêiner (como `docker volume`).
#[derive(Debug, clap::Subcommand)]
pub enum VolumeCmd {
    /// Cria um volume (sem NOME: um nome gerado).
    Create {
        /// O nome do volume.
        #[arg(value_name = "NOME")]
        name: Option<String>,
        /// Um rótulo CHAVE=VALOR (repetível), para achar o volume com --filter.
        #[arg(short, long = "label", value_name = "CHAVE=VALOR")]
        labels: Vec<String>,
    },
    /// Lista os volumes.
    #[command(visible_alias = "list")]
    Ls {
        /// Só os nomes.
        #[arg(short, long)]
        quiet: bool,
        /// Só os que passam: label=CHAVE[=VALOR], label!=…, name=PARTE, dangling=true|false.
        #[arg(short, long = "filter", value_name = "FILTRO")]
        filters: Vec<String>,
    },
    /// Mostra volumes em JSON (uma lista): nome, onde os dados ficam no host, quem o usa.
    Inspect {
        /// O nome do volume.
        #[arg(required = true, value_name = "NOME")]
        names: Vec<String>,
    },
    /// Remove volumes que nenhum contêiner usa (nem parado: remova-o antes).
    #[command(visible_alias = "remove")]
    Rm {
        /// O nome do volume.
        #[arg(required = true, value_name = "NOME")]
        names: Vec<String>,
        /// Não reclama de um volume que não existe.
        #[arg(short, long)]
        force: bool,
    },
    /// Remove os volumes anônimos sem uso (com --all, todos os sem uso).
    Prune {
        /// Também os volumes com nome.
        #[arg(short, long)]
        all: bool,
        /// Sem perguntar (o casulo nunca pergunta; aceito como no docker).
        #[arg(short, long)]
        force: bool,
        /// Só os que passam: label=CHAVE[=VALOR] ou label!=….
        #[arg(long = "filter", value_name = "FILTRO")]
        filters: Vec<String>,
    },
}

impl VolumeCmd {
    /// Reading (`ls`, `inspect`) works without root.
    pub fn changes_state(&self) -> bool {
        matches!(
            self,
            VolumeCmd::Create { .. } | VolumeCmd::Rm { .. } | VolumeCmd::Prune { .. }
        )
    }
}

pub fn run(state: &StateDir, cmd: VolumeCmd) -> CliResult {
    let fail = |e: volume::VolumeError| CliError::msg(1, e.to_string());
    match cmd {
        VolumeCmd::Create { name, labels } => {
            let labels = labels
                .iter()
                .map(|l| match l.split_once('=') {
                    Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
                    None if !l.is_empty() => Ok((l.clone(), String::new())),
                    _ => Err(CliError::msg(
                        2,
                        format!("--label {l:?}: use CHAVE=VALOR (por exemplo projeto=aula)"),
                    )),
                })
                .collect::<Result<_, _>>()?;
            state
                .ensure()
                .map_err(|e| CliError::msg(1, format!("{}: {e}", state.root().display())))?;
            let (v, _) = volume::create_labeled(state, name.as_deref(), false, true, labels)
                .map_err(fail)?;
            println!("{}", v.name);
        }
        VolumeCmd::Ls { quiet, filters } => {
            let filter =
                VolumeFilter::from_flags(&filters, LS_FILTERS).map_err(|e| CliError::msg(2, e))?;
            let all: Vec<_> = volume::list(state)
                .into_iter()
                .filter(|v| filter.lets_through(v, || volumes::users(state, &v.name).is_empty()))
                .collect();
            if quiet {
                for v in &all {
                    println!("{}", v.name);
                }
                return Ok(0);
            }
            let width = all.iter().map(|v| v.name.len()).max().unwrap_or(0).max(4);
            println!("{:<9}  {:<width$}  EM USO POR", "TIPO", "NOME");
            for v in all {
                let users = volumes::users(state, &v.name).join(", ");
                let kind = if v.anonymous { "anônimo" } else { "nomeado" };
                println!("{kind:<9}  {:<width$}  {users}", v.name);
            }
        }
        VolumeCmd::Inspect { names } => {
            let mut out = Vec::new();
            for name in &names {
                let v = volume::inspect(state, name).map_err(fail)?;
                out.push(volumes::describe(state, &v));
            }
            println!("{}", serde_json::to_string_pretty(&out).expect("json"));
        }
        VolumeCmd::Rm { names, force } => {
            let mut failed = 0;
            for name in &names {
                match volumes::remove(state, name) {
                    Ok(v) => println!("{}", v.name),
                    Err(volume::VolumeError::NotFound(_)) if force => {}
                    Err(e) => {
                        super::report(&e);
                        failed += 1;
                    }
                }
            }
            if failed > 0 {
                return Err(CliError::msg(
                    1,
                    format!("{failed} volume(s) não removido(s)"),
                ));
            }
        }
        VolumeCmd::Prune {
            all,
            force: _,
            filters,
        } => {
            let filter = VolumeFilter::from_flags(&filters, PRUNE_FILTERS)
                .map_err(|e| CliError::msg(2, e))?;
            let mut failed = 0;
            for r in volumes::prune(state, all, &filter) {
                match r {
                    Ok(v) => println!("{}", v.name),
                    Err(e) => {
                        super::report(&e);
                        failed += 1;
                    }
                }
            }
            if failed > 0 {
                return Err(CliError::msg(
                    1,
                    format!("{failed} volume(s) não removido(s)"),
                ));
            }
        }
    }
    Ok(0)
}
