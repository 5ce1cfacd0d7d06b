//! `casulo rm`: containers removed (their read/write layer too; the trace
//! stays), with `-f` a running one killed first.

use super::{CliError, CliResult};
use crate::container;
use crate::state::StateDir;

/// `casulo rm`'s arguments (its help is the variant's, in `cli/mod.rs`).
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Nomes ou ids (basta o começo do id).
    #[arg(required = true, value_name = "CONTÊINER")]
    pub containers: Vec<String>,
    /// Remove também os volumes anônimos do contêiner (os com nome ficam).
    #[arg(long = "volumes", short = 'v')]
    pub volumes: bool,
    /// Remove mesmo se estiver rodando: ele recebe SIGKILL antes.
    #[arg(long = "force", short = 'f')]
    pub force: bool,
}

pub fn rm(state: &StateDir, args: RmArgs) -> CliResult {
    let mut failed = 0;
    for key in &args.containers {
        let removed = if args.force {
            // The SIGKILL goes into the container's own trace, like stop's and kill's.
            container::find(state, key).and_then(|record| {
                let rec = super::lifecycle::trace_of(state, &record);
                let k = crate::kernel::Kernel::new(&crate::kernel::LinuxSyscalls, &rec);
                container::rm::force_remove(&k, state, &record.id, args.volumes)
            })
        } else {
            container::rm::remove(state, key, args.volumes)
        };
        match removed {
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
