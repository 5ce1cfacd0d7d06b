//! `casulo pause` and `casulo unpause`: freeze and thaw a running
//! container's processes (the cgroup freezer; see [`container::pause`]).

use super::{CliError, CliResult};
use crate::container;
use crate::state::StateDir;

/// Congela todos os processos de contêineres que estão rodando.
#[derive(Debug, clap::Args)]
pub struct PauseArgs {
    /// Nome, id ou começo do id.
    #[arg(required = true, value_name = "CONTÊINER")]
    pub containers: Vec<String>,
}

pub fn pause(state: &StateDir, args: PauseArgs) -> CliResult {
    each(state, &args.containers, |record| {
        container::pause::pause(state, record)?;
        Ok(())
    })
}

pub fn unpause(state: &StateDir, args: PauseArgs) -> CliResult {
    each(state, &args.containers, |record| {
        container::pause::unpause(state, record)?;
        Ok(())
    })
}

/// Every container in turn, as docker: an error is said and the next one
/// goes on; the exit code is 1 if any failed. The name goes to stdout.
fn each(
    state: &StateDir,
    keys: &[String],
    mut one: impl FnMut(&container::ContainerRecord) -> Result<(), CliError>,
) -> CliResult {
    let mut failed = false;
    for key in keys {
        let done = container::find(state, key)
            .map_err(CliError::from)
            .and_then(|record| one(&record).map(|()| record));
        match done {
            Ok(record) => println!("{}", record.name),
            Err(e) => {
                super::report(&*e.error);
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}
