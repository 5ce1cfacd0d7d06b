//! `casulo ps` and `casulo rm`: the containers kept on disk.

use super::{CliError, CliResult};
use crate::container::{self, ContainerState};
use crate::state::StateDir;

/// Lista os contêineres (como `docker ps`).
#[derive(Debug, clap::Args)]
pub struct PsArgs {
    /// Mostra também os que já terminaram.
    #[arg(short, long)]
    pub all: bool,
    /// Só os ids.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn ps(state: &StateDir, args: PsArgs) -> CliResult {
    let records: Vec<_> = container::list(state)
        .into_iter()
        .filter(|r| args.all || matches!(r.state, ContainerState::Running | ContainerState::Paused))
        .collect();
    if args.quiet {
        for r in &records {
            println!("{}", &r.id[..12]);
        }
        return Ok(0);
    }
    println!(
        "{:<12}  {:<20}  {:<24}  {:<28}  {:<18}  {:<24}  NOME",
        "ID", "IMAGEM", "COMANDO", "CRIADO", "ESTADO", "PORTAS"
    );
    for r in &records {
        let state = match (r.state, r.exit_code) {
            (ContainerState::Running, _) => format!("rodando (pid {})", r.pid.unwrap_or(0)),
            (ContainerState::Paused, _) => format!("pausado (pid {})", r.pid.unwrap_or(0)),
            (ContainerState::Exited, Some(code)) => format!("terminou ({code})"),
            (ContainerState::Exited, None) => "terminou".to_string(),
            (ContainerState::Created, _) => "criado".to_string(),
        };
        let mut command = r.process.args.join(" ");
        if command.chars().count() > 24 {
            command = command.chars().take(23).collect::<String>() + "…";
        }
        let ports = crate::network::ports::list(&r.ports);
        println!(
            "{:<12}  {:<20}  {:<24}  {:<28}  {:<18}  {:<24}  {}",
            &r.id[..12],
            r.image,
            command,
            r.created,
            state,
            ports,
            r.name
        );
    }
    Ok(0)
}

/// Remove contêineres que já terminaram (a camada de escrita vai junto; o trace fica).
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Nomes ou ids (basta o começo do id).
    #[arg(required = true, value_name = "CONTÊINER")]
    pub containers: Vec<String>,
    /// Remove também os volumes anônimos do contêiner (os com nome ficam).
    #[arg(long = "volumes", short = 'v')]
    pub volumes: bool,
}

pub fn rm(state: &StateDir, args: RmArgs) -> CliResult {
    let mut failed = 0;
    for key in &args.containers {
        match container::rm::remove(state, key, args.volumes) {
            Ok(r) => println!("{}", r.name),
            Err(e) => {
                super::report(&e);
                failed += 1;
            }
        }
    }
    match failed {
        0 => Ok(0),
        n => Err(CliError::msg(
            1,
            format!("{n} contêiner(es) não removido(s)"),
        )),
    }
}
