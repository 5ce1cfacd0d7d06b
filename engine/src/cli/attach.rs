//! `casulo attach`: your terminal connected to a container that runs in
//! the background (as `docker attach`).

use std::io::Write;

use super::{CliError, CliResult};
use crate::container::{self, ContainerRecord, ContainerState};
use crate::state::StateDir;
use crate::terminal::attach::{self, Ended};
use crate::terminal::detach::DetachKeys;

// The help text is `Command::Attach`'s doc comment: the variant's is set
// eagerly (listed by `casulo --help`), these arguments only when parsed.
#[derive(Debug, clap::Args)]
pub struct AttachArgs {
    /// Não manda a sua entrada ao contêiner: só mostra a saída dele.
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    #[command(flatten)]
    pub keys: DetachKeysArg,
    /// Nome, id ou começo do id.
    #[arg(value_name = "CONTÊINER")]
    pub container: String,
}

/// `--detach-keys`, shared by `attach` and `start -a`.
#[derive(Debug, clap::Args)]
pub struct DetachKeysArg {
    /// As teclas que desligam você do contêiner sem pará-lo, no formato do docker:
    /// separadas por vírgula, cada uma ctrl-LETRA ou um caractere (como ctrl-x,y).
    #[arg(long = "detach-keys", value_name = "TECLAS", default_value = crate::terminal::detach::DEFAULT,
          value_parser = DetachKeys::parse)]
    pub detach_keys: DetachKeys,
}

pub fn cmd(state: &StateDir, args: AttachArgs) -> CliResult {
    let record = container::find(state, &args.container)?;
    attach_to(
        state,
        &record,
        "casulo attach",
        args.keys.detach_keys,
        !args.no_stdin,
    )
}

/// Connects to `record`'s terminal (or follows its output, without `-t`,
/// sending it casulo's stdin if it has `-i` and `stdin`) until the detach
/// keys or its end; returns its exit code (0 when the user left it running).
/// `client` names the command in the container's trace.
pub fn attach_to(
    state: &StateDir,
    record: &ContainerRecord,
    client: &str,
    mut keys: DetachKeys,
    stdin: bool,
) -> CliResult {
    if !matches!(
        record.state,
        ContainerState::Running | ContainerState::Paused
    ) {
        return Err(CliError::msg(
            125,
            format!(
                "{} não está rodando: não há terminal a que se ligar (inicie-o antes, \
                 com `casulo start -a {}`)",
                record.name, record.name
            ),
        ));
    }
    if !record.host.tty {
        let feeding = stdin && record.host.interactive;
        eprintln!(
            "casulo: {} não tem terminal (rodou sem -t): mostro o que ele escrever daqui em \
             diante, até ele terminar{}; Ctrl-C sai daqui sem pará-lo",
            record.name,
            if feeding {
                ", e o que você digitar vai para a entrada dele (-i)"
            } else {
                ""
            }
        );
        // Where the output shown starts, taken before any input goes: the
        // answer to what we send must not land before it (it did, now and
        // then, once containers answered fast enough).
        let log = container::logs::path(&state.container(&record.id));
        let from = container::logs::read_from(&log, 0)
            .map(|(_, end)| end)
            .unwrap_or(0);
        if feeding {
            feed_stdin(state, record)?;
        }
        return super::lifecycle::follow_until_exit(state, record, from, false);
    }
    let connection = connect(state, record)?;
    let described = keys.describe();
    let ended = attach::attach(connection, client, &mut keys, stdin)?;
    let mut err = std::io::stderr();
    match ended {
        Ended::Detached => {
            // Written with `let _`: the user's terminal may be gone.
            let _ = writeln!(
                err,
                "\r\ncasulo: você se desligou de {} ({described}); ele continua rodando \
                 (volte com `casulo attach {}`)",
                record.name, record.name
            );
            Ok(0)
        }
        Ended::Left => {
            let _ = writeln!(
                err,
                "\r\ncasulo: saí de {}; ele continua rodando",
                record.name
            );
            Ok(0)
        }
        Ended::Exited(code) => Ok(code),
        Ended::Lost => {
            // The supervisor restarts it (--restart) or died: the record says.
            let now = container::find(state, &record.id).ok();
            let _ = writeln!(
                err,
                "\r\ncasulo: o terminal de {} fechou ({})",
                record.name,
                match now.as_ref().map(|r| r.state) {
                    Some(ContainerState::Restarting) => "ele está sendo reiniciado",
                    Some(ContainerState::Running) => "ele foi reiniciado",
                    _ => "ele terminou",
                }
            );
            Ok(now.and_then(|r| r.exit_code).unwrap_or(0))
        }
    }
}

/// From now on, casulo's stdin goes to the stdin of `record` (a `-di`
/// container), from a thread, while the caller follows its output.
pub(super) fn feed_stdin(state: &StateDir, record: &ContainerRecord) -> Result<(), CliError> {
    let connection = connect(state, record)?;
    std::thread::spawn(move || attach::send_input(connection));
    Ok(())
}

/// The supervisor's `attach.sock` of `record`.
fn connect(state: &StateDir, record: &ContainerRecord) -> Result<std::os::fd::OwnedFd, CliError> {
    attach::connect(&state.container(&record.id)).map_err(|e| {
        CliError::from(e).with_hint(format!(
            "o supervisor de {} não atende: veja `casulo ps -a` e \
             containers/{}/supervisor.log no diretório de estado",
            record.name, record.id
        ))
    })
}
