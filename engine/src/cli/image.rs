//! `casulo image …` (being written).
use super::CliResult;
use crate::state::StateDir;

#[derive(Debug, clap::Subcommand)]
pub enum ImageCmd {
    /// Lista as imagens.
    Ls,
}

pub fn run(_state: &StateDir, _cmd: ImageCmd) -> CliResult {
    Ok(0)
}
