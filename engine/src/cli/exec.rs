//! `casulo exec`: run a new process inside a running container.

use std::io::IsTerminal;

use nix::sys::wait::WaitStatus;

use super::{CliError, CliResult};
use crate::container::exec::{exec, ExecOptions, ExecOutcome};
use crate::kernel::LinuxSyscalls;
use crate::state::StateDir;

// The help text is `Command::Exec`'s doc comment: the variant's is set
// eagerly (listed by `casulo --help`), these arguments only when parsed.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Volta na hora, com o comando rodando em segundo plano (entrada e saídas em
    /// /dev/null; com -t, um terminal do contêiner cuja saída é descartada, como no docker).
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Mantém a entrada padrão (stdin) aberta para o comando (sem -i, ele lê de /dev/null).
    #[arg(long, short = 'i')]
    pub interactive: bool,
    /// Dá ao comando um terminal próprio (um pseudo-terminal do contêiner, como
    /// /dev/pts/1): com -it, um shell interativo (Ctrl-C vai para ele; o tamanho da
    /// janela acompanha o seu terminal). Com -it a entrada precisa ser um terminal.
    #[arg(long, short = 't')]
    pub tty: bool,
    /// Variável de ambiente CHAVE=valor, além das do contêiner (repita para várias;
    /// CHAVE sozinha copia a do host).
    #[arg(long = "env", short = 'e', value_name = "CHAVE=valor")]
    pub env: Vec<String>,
    /// Diretório de trabalho dentro do contêiner (padrão: o do contêiner; precisa existir).
    #[arg(long = "workdir", short = 'w', value_name = "DIR")]
    pub workdir: Option<String>,
    /// Usuário: NOME, UID, NOME:GRUPO ou UID:GID (do /etc/passwd do contêiner;
    /// padrão: o do contêiner).
    #[arg(long = "user", short = 'u', value_name = "USUÁRIO[:GRUPO]")]
    pub user: Option<String>,
    /// Dá ao comando todas as capabilities; o perfil seccomp do contêiner continua,
    /// mas montado para elas (libera o que o perfil reserva a quem tem
    /// CAP_SYS_ADMIN e outras, como mount e unshare).
    #[arg(long)]
    pub privileged: bool,
    /// O contêiner (nome, id ou começo do id) e, depois dele, o comando e seus
    /// argumentos. Tudo depois do contêiner é do comando, mesmo o que começa com `-`.
    #[arg(
        trailing_var_arg = true,
        required = true,
        num_args = 2..,
        value_names = ["CONTÊINER", "COMANDO"]
    )]
    pub container_and_command: Vec<String>,
}

pub fn cmd(state: &StateDir, args: ExecArgs) -> CliResult {
    // As `run -it`: the keys must come from a terminal.
    if args.tty && args.interactive && !args.detach && !std::io::stdin().is_terminal() {
        return Err(CliError::msg(
            125,
            "a entrada não é um terminal (TTY): exec -it precisa que a entrada do casulo \
             seja um terminal, e ela é um pipe ou um arquivo. Tire o -t para mandar a \
             entrada como ela é (casulo exec -i …)",
        ));
    }
    let (container, command) = args
        .container_and_command
        .split_first()
        .expect("clap requires the container and a command");
    let opts = ExecOptions {
        command: command.to_vec(),
        env: args.env,
        workdir: args.workdir,
        user: args.user,
        privileged: args.privileged,
        detach: args.detach,
        interactive: args.interactive,
        tty: args.tty,
    };
    let mut forwarded = |signal: nix::sys::signal::Signal, escalated: bool| {
        if escalated {
            eprintln!("casulo: segundo sinal: enviando SIGKILL ao processo do exec");
        } else {
            eprintln!(
                "casulo: repassei {} ao processo do exec (repita para forçar com SIGKILL)",
                signal.as_str()
            );
        }
    };
    match exec(state, container, &opts, &LinuxSyscalls, &mut forwarded) {
        Ok(ExecOutcome::Detached { .. }) => Ok(0),
        Ok(ExecOutcome::Exited {
            status, exit_code, ..
        }) => {
            if let WaitStatus::Signaled(_, signal, _) = status {
                eprintln!(
                    "casulo: o processo do exec foi morto pelo sinal {} ({}) → código {exit_code}",
                    signal.as_str(),
                    signal as i32
                );
            }
            Ok(exit_code)
        }
        Err(e) => Err(CliError {
            code: e.exit_code(),
            error: Box::new(e),
            hint: None,
        }),
    }
}
