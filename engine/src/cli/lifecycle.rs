//! `casulo stop`, `kill`, `wait`, `inspect` and `top`: docker's verbs for a
//! container that runs under a `casulo run` in another terminal. Each takes
//! a full id, a unique id prefix or a name ([`container::find`]).

use std::time::Duration;

use super::{CliError, CliResult};
use crate::container::{self, kill::Stopped};
use crate::kernel::{Kernel, LinuxSyscalls};
use crate::recorder::Recorder;
use crate::state::StateDir;

/// Para contêineres: o sinal de parada da imagem (SIGTERM), e SIGKILL depois do prazo.
#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// Segundos de espera antes do SIGKILL.
    #[arg(short = 't', long = "time", value_name = "S", default_value_t = 10)]
    pub time: u64,
    /// Nome, id ou começo do id.
    #[arg(required = true, value_name = "CONTÊINER")]
    pub containers: Vec<String>,
}

/// Manda um sinal ao PID 1 de contêineres (SIGKILL se nenhum for dado).
#[derive(Debug, clap::Args)]
pub struct KillArgs {
    /// O sinal: nome (KILL, SIGINT, term) ou número (9).
    #[arg(
        short = 's',
        long = "signal",
        value_name = "SINAL",
        default_value = "KILL"
    )]
    pub signal: String,
    #[arg(required = true, value_name = "CONTÊINER")]
    pub containers: Vec<String>,
}

/// Espera contêineres terminarem e mostra o código de saída de cada um.
#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    #[arg(required = true, value_name = "CONTÊINER")]
    pub containers: Vec<String>,
}

/// Mostra tudo o que o casulo sabe de um contêiner, em JSON (como `docker inspect`).
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Formato da saída (só `json`, o padrão).
    #[arg(short = 'f', long, default_value = "json", value_parser = ["json"])]
    pub format: String,
    #[arg(required = true, value_name = "CONTÊINER")]
    pub containers: Vec<String>,
}

/// Lista os processos de um contêiner (pid no host e dentro dele).
#[derive(Debug, clap::Args)]
pub struct TopArgs {
    #[arg(value_name = "CONTÊINER")]
    pub container: String,
}

/// Runs `each` for every container named; errors are printed as they
/// come (docker goes on with the next one) and the exit code is 1 if any failed.
fn for_each(
    state: &StateDir,
    keys: &[String],
    mut each: impl FnMut(&container::ContainerRecord) -> Result<(), CliError>,
) -> CliResult {
    let mut failed = false;
    for key in keys {
        let result = container::find(state, key)
            .map_err(CliError::from)
            .and_then(|record| each(&record));
        if let Err(e) = result {
            eprintln!("casulo: erro: {}", e.error);
            failed = true;
        }
    }
    Ok(if failed { 1 } else { 0 })
}

pub fn stop(state: &StateDir, args: StopArgs) -> CliResult {
    let rec = Recorder::in_memory();
    let k = Kernel::new(&LinuxSyscalls, &rec);
    for_each(state, &args.containers, |record| {
        let how = container::kill::stop(&k, state, record, Duration::from_secs(args.time))?;
        match how {
            Stopped::AlreadyStopped => {}
            Stopped::BySignal(signal) => {
                eprintln!("casulo: {} parou com {}", record.name, signal.as_str())
            }
            Stopped::Killed => eprintln!(
                "casulo: {} não parou em {} s: recebeu SIGKILL",
                record.name, args.time
            ),
        }
        println!("{}", record.name);
        Ok(())
    })
}

pub fn kill(state: &StateDir, args: KillArgs) -> CliResult {
    let Some(signal) = container::kill::parse_signal(&args.signal) else {
        return Err(CliError::msg(
            125,
            format!(
                "sinal inválido: {:?} (use um nome como KILL, TERM, INT, HUP, ou um número como 9)",
                args.signal
            ),
        ));
    };
    let rec = Recorder::in_memory();
    let k = Kernel::new(&LinuxSyscalls, &rec);
    for_each(state, &args.containers, |record| {
        container::kill::kill(&k, state, record, signal)?;
        eprintln!(
            "casulo: {} mandado ao PID 1 de {} (pid {} no host)",
            signal.as_str(),
            record.name,
            record.pid.unwrap_or(0)
        );
        println!("{}", record.name);
        Ok(())
    })
}

pub fn wait(state: &StateDir, args: WaitArgs) -> CliResult {
    for_each(state, &args.containers, |record| {
        match container::kill::wait_exit(state, record)? {
            Some(code) => println!("{code}"),
            None => {
                return Err(CliError::msg(
                    125,
                    format!(
                        "o contêiner {} terminou, mas ninguém registrou como \
                         (o `casulo run` dele também foi morto)",
                        record.name
                    ),
                ))
            }
        }
        Ok(())
    })
}

pub fn inspect(state: &StateDir, args: InspectArgs) -> CliResult {
    let mut all = Vec::new();
    let code = for_each(state, &args.containers, |record| {
        all.push(container::inspect::inspect(record));
        Ok(())
    })?;
    println!("{}", serde_json::to_string_pretty(&all).expect("json"));
    Ok(code)
}

pub fn top(state: &StateDir, args: TopArgs) -> CliResult {
    let record = container::find(state, &args.container)?;
    let live = [
        container::ContainerState::Running,
        container::ContainerState::Paused,
    ];
    if !live.contains(&record.state) {
        return Err(container::RunError::NotRunning(record.name).into());
    }
    let rec = Recorder::in_memory();
    let k = Kernel::new(&LinuxSyscalls, &rec);
    let procs = container::top::top(&k, &record)?;
    println!(
        "{:<10}  {:>8}  {:>16}  COMANDO",
        "USUÁRIO", "PID", "PID NO CONTÊINER"
    );
    for p in procs {
        let user = nix::unistd::User::from_uid(p.uid.into())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| p.uid.to_string());
        let inside = p
            .container_pid
            .map(|n| n.to_string())
            .unwrap_or_else(|| "?".into());
        println!("{:<10}  {:>8}  {:>16}  {}", user, p.pid, inside, p.command);
    }
    Ok(0)
}
