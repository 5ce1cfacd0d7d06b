//! The `casulo` command line: a thin layer over the library.
//!
//! Each subcommand lives in its own file and returns the process exit code.
//! Errors are printed here, once: `casulo: erro: <message>` followed by its
//! cause chain, with exit code 125 (docker's "engine error") unless the
//! error says otherwise.

pub mod image;
pub mod info;
pub mod run;
// TEMP until casulo-trace narrate/catalog land: pub mod trace;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::state::{StateDir, DEFAULT_ROOT};

/// Casulo — um laboratório de contêineres que mostra o que o kernel faz.
#[derive(Debug, Parser)]
#[command(name = "casulo", version, about, long_about = None)]
pub struct Cli {
    /// Diretório de estado (imagens, camadas, contêineres, traces).
    #[arg(long, global = true, env = "CASULO_ROOT", default_value = DEFAULT_ROOT)]
    pub root: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Executa um comando num contêiner novo (como `docker run`).
    Run(run::RunArgs),
    /// Gerencia imagens (bootstrap, import, ls).
    #[command(subcommand)]
    Image(image::ImageCmd),
    /// Mostra o que o casulo sabe deste host: kernel, modo dos cgroups, diretório de estado.
    Info,
}

/// An error for the user: message (pt-BR) and exit code.
pub type CliResult = Result<i32, CliError>;

#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub error: Box<dyn std::error::Error>,
}

impl<E: std::error::Error + 'static> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError {
            code: 125,
            error: Box::new(e),
        }
    }
}

impl CliError {
    /// A plain message with a chosen exit code.
    pub fn msg(code: i32, message: impl Into<String>) -> Self {
        CliError {
            code,
            error: message.into().into(),
        }
    }
}

/// Parses the arguments, runs the command, prints any error; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let state = StateDir::new(&cli.root);
    let result = match cli.command {
        Command::Run(args) => run::cmd(&state, args),
        Command::Image(cmd) => image::run(&state, cmd),
        Command::Info => info::run(&state),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            report(&*e.error);
            e.code
        }
    }
}

/// Prints an error and its causes on stderr, in the CLI's pt-BR voice.
pub fn report(error: &dyn std::error::Error) {
    eprintln!("casulo: erro: {error}");
    let mut cause = error.source();
    while let Some(c) = cause {
        eprintln!("  causa: {c}");
        cause = c.source();
    }
}
