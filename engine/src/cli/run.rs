//! `casulo run`: create and start a container, wait for it, exit with its code.

use std::path::PathBuf;

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use super::{CliError, CliResult};
use crate::container::run::{run, RunObserver};
use crate::container::{ContainerRecord, RunOptions};
use crate::kernel::LinuxSyscalls;
use crate::state::StateDir;

/// Executa um comando num contêiner novo (como `docker run`).
// `-h` is --hostname here, as in docker, so help is `--help` only.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Mostra esta ajuda.
    #[arg(long = "help", action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Nome do contêiner (padrão: um nome gerado, como curioso_tatu).
    #[arg(long, value_name = "NOME")]
    pub name: Option<String>,
    /// Hostname dentro do contêiner (padrão: os 12 primeiros dígitos do id).
    #[arg(long, short = 'h', value_name = "NOME")]
    pub hostname: Option<String>,
    /// Variável de ambiente CHAVE=valor (repita para várias; CHAVE sozinha copia a do host).
    #[arg(long = "env", short = 'e', value_name = "CHAVE=valor")]
    pub env: Vec<String>,
    /// Diretório de trabalho dentro do contêiner (criado se não existir).
    #[arg(long = "workdir", short = 'w', value_name = "DIR")]
    pub workdir: Option<String>,
    /// Usuário dentro do contêiner: NOME, UID, NOME:GRUPO ou UID:GID (do /etc/passwd da imagem).
    #[arg(long = "user", short = 'u', value_name = "USUÁRIO[:GRUPO]")]
    pub user: Option<String>,
    /// Troca o Entrypoint da imagem (e descarta o Cmd dela); "" tira o Entrypoint.
    #[arg(long, value_name = "COMANDO")]
    pub entrypoint: Option<String>,
    /// Remove o contêiner (sua camada de escrita) quando ele terminar.
    #[arg(long)]
    pub rm: bool,
    /// Onde gravar o trace (padrão: <root>/traces/<nome>-<id>.trace.jsonl).
    #[arg(long, value_name = "ARQUIVO")]
    pub trace: Option<PathBuf>,
    /// Imagem, como busybox ou busybox:latest.
    #[arg(value_name = "IMAGEM")]
    pub image: String,
    /// Comando e argumentos (padrão: o Cmd da imagem).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMANDO"
    )]
    pub command: Vec<String>,
}

struct Narrator;

impl RunObserver for Narrator {
    fn created(&mut self, record: &ContainerRecord) {
        eprintln!(
            "casulo: contêiner {} ({}) da imagem {}",
            record.name,
            &record.id[..12],
            record.image
        );
        eprintln!("casulo: trace: {}", record.trace.display());
    }

    fn signal_forwarded(&mut self, signal: Signal, escalated: bool) {
        if escalated {
            eprintln!("casulo: segundo sinal: enviando SIGKILL ao contêiner");
        } else {
            eprintln!(
                "casulo: repassei {} ao PID 1 do contêiner (ele só reage se tratar o sinal; repita para forçar com SIGKILL)",
                signal.as_str()
            );
        }
    }
}

pub fn cmd(state: &StateDir, args: RunArgs) -> CliResult {
    let opts = RunOptions {
        image: args.image,
        command: args.command,
        name: args.name,
        hostname: args.hostname,
        env: args.env,
        workdir: args.workdir,
        rm: args.rm,
        trace: args.trace,
        entrypoint: args.entrypoint,
        user: args.user,
    };
    match run(state, &opts, &LinuxSyscalls, &mut Narrator) {
        Ok(outcome) => {
            if let WaitStatus::Signaled(_, signal, _) = outcome.status {
                eprintln!(
                    "casulo: o processo do contêiner foi morto pelo sinal {} ({}) → código {}",
                    signal.as_str(),
                    signal as i32,
                    outcome.exit_code
                );
            }
            if outcome.trace_incomplete {
                eprintln!("casulo: aviso: alguns eventos não puderam ser gravados no trace");
            }
            Ok(outcome.exit_code)
        }
        Err(e) => {
            let code = e.exit_code();
            Err(CliError {
                code,
                error: Box::new(e),
            })
        }
    }
}
