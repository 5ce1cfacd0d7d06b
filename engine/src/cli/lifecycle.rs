//! `casulo start`, `restart`, `stop`, `kill`, `wait`, `logs`, `inspect`,
//! `top` and `rename`: docker's verbs for a container that runs under its supervisor
//! (`-d`) or under a `casulo run` in another terminal. Each takes a full
//! id, a unique id prefix or a name ([`container::find`]).

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
    /// Nome, id ou começo do id.
    #[arg(required = true, value_name = "CONTÊINER")]
    pub containers: Vec<String>,
}

/// Espera contêineres terminarem e mostra o código de saída de cada um.
#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// Nome, id ou começo do id.
    #[arg(required = true, value_name = "CONTÊINER")]
    pub containers: Vec<String>,
}

/// Mostra tudo o que o casulo sabe de um contêiner, em JSON (como `docker inspect`).
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Formato da saída: `json` (o padrão) ou um modelo como o do docker,
    /// um por contêiner: '{{.State.Status}}', '{{.State.Pid}}',
    /// '{{json .Config}}'.
    #[arg(short = 'f', long, value_name = "FORMATO", default_value = "json")]
    pub format: String,
    /// Nome, id ou começo do id.
    #[arg(required = true, value_name = "CONTÊINER")]
    pub containers: Vec<String>,
}

/// Dá um nome novo a um contêiner, rodando ou não.
#[derive(Debug, clap::Args)]
pub struct RenameArgs {
    /// Nome, id ou começo do id.
    #[arg(value_name = "CONTÊINER")]
    pub container: String,
    /// O nome novo.
    #[arg(value_name = "NOME")]
    pub name: String,
}

/// Lista os processos de um contêiner (pid no host e dentro dele).
#[derive(Debug, clap::Args)]
pub struct TopArgs {
    /// Nome, id ou começo do id.
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

/// The container's own trace, reopened (see [`container::record::trace_of`]).
pub(super) fn trace_of(state: &StateDir, record: &container::ContainerRecord) -> Recorder {
    container::record::trace_of(state, record)
}

pub fn stop(state: &StateDir, args: StopArgs) -> CliResult {
    for_each(state, &args.containers, |record| {
        let rec = trace_of(state, record);
        let k = Kernel::new(&LinuxSyscalls, &rec);
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
    for_each(state, &args.containers, |record| {
        let rec = trace_of(state, record);
        let k = Kernel::new(&LinuxSyscalls, &rec);
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
    // A bad template is refused before anything is looked up.
    let template = match args.format.as_str() {
        "json" => None,
        text => Some(super::template::Template::parse(text).map_err(|e| CliError::msg(125, e))?),
    };
    let mut all = Vec::new();
    let code = for_each(state, &args.containers, |record| {
        all.push(container::inspect::inspect(state, record));
        Ok(())
    })?;
    let Some(template) = template else {
        println!("{}", serde_json::to_string_pretty(&all).expect("json"));
        return Ok(code);
    };
    for one in &all {
        let line = template.render(one).map_err(|e| CliError::msg(125, e))?;
        println!("{line}");
    }
    Ok(code)
}

pub fn top(state: &StateDir, args: TopArgs) -> CliResult {
    let record = container::find(state, &args.container)?;
    if !matches!(
        record.state,
        container::ContainerState::Running | container::ContainerState::Paused
    ) {
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

/// Inicia contêineres parados, em segundo plano (como `docker start`).
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Fica ligado ao contêiner até ele terminar, e sai com o código dele: ao
    /// terminal dele, se ele tem um (-t; como `casulo attach`), ou à saída (como
    /// `casulo logs -f`).
    #[arg(short = 'a', long = "attach")]
    pub attach: bool,
    /// Com -a, manda também a sua entrada ao contêiner (criado com -i): sem ele, como
    /// no docker, só a saída vem até você.
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    #[command(flatten)]
    pub keys: super::attach::DetachKeysArg,
    /// Nome, id ou começo do id.
    #[arg(required = true, value_name = "CONTÊINER")]
    pub containers: Vec<String>,
}

/// Para e inicia de novo contêineres (como `docker restart`).
#[derive(Debug, clap::Args)]
pub struct RestartArgs {
    /// Segundos de espera antes do SIGKILL, ao parar.
    #[arg(short = 't', long = "time", value_name = "S", default_value_t = 10)]
    pub time: u64,
    /// Nome, id ou começo do id.
    #[arg(required = true, value_name = "CONTÊINER")]
    pub containers: Vec<String>,
}

/// Mostra o que um contêiner escreveu na saída (como `docker logs`).
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// Continua mostrando o que chegar, até o contêiner terminar (Ctrl-C sai antes).
    #[arg(short = 'f', long = "follow")]
    pub follow: bool,
    /// Só as últimas N linhas (ou all, o padrão).
    #[arg(short = 'n', long = "tail", value_name = "N", default_value = "all",
          value_parser = parse_tail)]
    pub tail: Tail,
    /// Mostra a hora (RFC 3339, UTC) em que cada linha foi escrita.
    #[arg(short = 't', long = "timestamps")]
    pub timestamps: bool,
    /// Nome, id ou começo do id.
    #[arg(value_name = "CONTÊINER")]
    pub container: String,
}

/// `--tail`: the last N lines, or all of them.
#[derive(Debug, Clone, Copy)]
pub struct Tail(Option<usize>);

fn parse_tail(s: &str) -> Result<Tail, String> {
    if s == "all" {
        return Ok(Tail(None));
    }
    s.parse().map(|n| Tail(Some(n))).map_err(|_| {
        format!("{s:?} não é um número de linhas (use, por exemplo, --tail 10, ou all)")
    })
}

pub fn start(state: &StateDir, args: StartArgs) -> CliResult {
    if args.attach && args.containers.len() > 1 {
        return Err(CliError::msg(
            125,
            "start -a liga o terminal a um contêiner só: dê um nome de cada vez",
        ));
    }
    let mut last_code = 0;
    let code = for_each(state, &args.containers, |record| {
        let from = if args.attach {
            container::logs::read_from(&log_of(state, record), 0)
                .map(|(_, end)| end)
                .unwrap_or(0)
        } else {
            0
        };
        container::supervise::start(state, record)?;
        if args.attach && record.host.tty {
            let now = container::find(state, &record.id)?;
            last_code = super::attach::attach_to(
                state,
                &now,
                "casulo start -a",
                args.keys.detach_keys.clone(),
                args.interactive,
            )?;
        } else if args.attach {
            if args.interactive && record.host.interactive {
                super::attach::feed_stdin(state, record)?;
            }
            last_code = follow_until_exit(state, record, from, false)?;
        } else {
            println!("{}", record.name);
        }
        Ok(())
    })?;
    Ok(if args.attach && code == 0 {
        last_code
    } else {
        code
    })
}

pub fn restart(state: &StateDir, args: RestartArgs) -> CliResult {
    for_each(state, &args.containers, |record| {
        let rec = trace_of(state, record);
        let k = Kernel::new(&LinuxSyscalls, &rec);
        container::kill::stop(&k, state, record, Duration::from_secs(args.time))?;
        drop(rec);
        let stopped = container::find(state, &record.id)?;
        container::supervise::start(state, &stopped)?;
        println!("{}", record.name);
        Ok(())
    })
}

fn log_of(state: &StateDir, record: &container::ContainerRecord) -> std::path::PathBuf {
    container::logs::path(&state.container(&record.id))
}

pub fn logs(state: &StateDir, args: LogsArgs) -> CliResult {
    let record = container::find(state, &args.container)?;
    let path = log_of(state, &record);
    if !path.exists() {
        eprintln!(
            "casulo: {} não tem log: o casulo guarda a saída dos contêineres que rodam \
             com um supervisor (run -d, start); um `casulo run` sem -d manda a saída \
             direto para o terminal",
            record.name
        );
        return Ok(0);
    }
    let (entries, end) = container::logs::read_from(&path, 0)?;
    let skip = args.tail.0.map_or(0, |n| entries.len().saturating_sub(n));
    print_entries(&entries[skip..], args.timestamps);
    if args.follow {
        follow_until_exit(state, &record, end, args.timestamps)?;
    }
    Ok(0)
}

fn print_entries(entries: &[container::logs::Entry], timestamps: bool) {
    use std::io::Write;
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    for e in entries {
        let w: &mut dyn Write = if e.is_stderr() { &mut err } else { &mut out };
        let _ = if timestamps {
            write!(w, "{} {}", e.time, e.log)
        } else {
            write!(w, "{}", e.log)
        };
    }
    let _ = out.flush();
}

/// Prints the log from `offset` as it grows, until the container has ended
/// and its supervisor is done with it; returns its exit code.
pub(super) fn follow_until_exit(
    state: &StateDir,
    record: &container::ContainerRecord,
    offset: u64,
    timestamps: bool,
) -> Result<i32, CliError> {
    use container::logs::{self, Followed};
    let mut follower = logs::Follower::open(&state.container(&record.id), offset, false)?;
    let ended = logs::follow(state, &record.id, &mut follower, |entries| {
        print_entries(entries, timestamps);
        true
    })?;
    Ok(match ended {
        Followed::Ended(code) => code.unwrap_or(0),
        Followed::Stopped => 0,
    })
}

pub fn rename(state: &StateDir, args: RenameArgs) -> CliResult {
    let record = container::rename::rename(state, &args.container, &args.name)?;
    println!("{} agora se chama {}", &record.id[..12], record.name);
    Ok(0)
}
