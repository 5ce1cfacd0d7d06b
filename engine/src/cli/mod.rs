//! The `casulo` command line: a thin layer over the library.
//!
//! Each subcommand lives in its own file and returns the process exit code.
//! Errors are printed here, once: `casulo: erro: <message>` followed by its
//! cause chain, with exit code 125 (docker's "engine error") unless the
//! error says otherwise.

pub mod build;
pub mod diff;
pub mod gc;
pub mod image;
pub mod info;
pub mod lab;
pub mod ps;
pub mod run;
pub mod trace;

use std::path::PathBuf;

use clap::{Arg, ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::state::{StateDir, DEFAULT_ROOT};

/// Casulo — um laboratório de contêineres que mostra o que o kernel faz.
#[derive(Debug, Parser)]
#[command(name = "casulo", version, disable_version_flag = true)]
pub struct Cli {
    /// Mostra a versão.
    #[arg(short = 'V', long, action = ArgAction::Version)]
    version: Option<bool>,

    /// Diretório de estado (imagens, camadas, contêineres, traces).
    #[arg(long, global = true, env = "CASULO_ROOT", default_value = DEFAULT_ROOT, value_name = "DIR")]
    pub root: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Executa um comando num contêiner novo (como `docker run`).
    Run(Box<run::RunArgs>),
    /// Lista os contêineres (como `docker ps`).
    Ps(ps::PsArgs),
    /// Remove contêineres que já terminaram.
    Rm(ps::RmArgs),
    /// Mostra o que um contêiner mudou em relação à imagem (como `docker diff`).
    Diff(diff::DiffArgs),
    /// Constrói uma imagem a partir de um Dockerfile (como `docker build`).
    Build(build::BuildArgs),
    /// Gerencia imagens (ls, load, save, inspect, history, tag, rm, prune, fsck, bootstrap, import).
    #[command(subcommand)]
    Image(image::ImageCmd),
    /// Lê (narra em português) ou valida traces.
    #[command(subcommand)]
    Trace(trace::TraceCmd),
    /// Laboratórios: exercícios que o casulo confere a partir dos seus traces (ls, iniciar, verificar, dica, reiniciar).
    #[command(subcommand)]
    Lab(lab::LabCmd),
    /// Mostra o que o casulo sabe deste host: kernel, modo dos cgroups, diretório de estado.
    Info,
    /// Remove o que um casulo morto deixou (cgroups, endereços de rede, veths órfãos) e a bridge casulo0 sem uso.
    Gc,
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
    let matches = match localize(Cli::command()).try_get_matches() {
        Ok(m) => m,
        Err(e) => usage_error(e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => usage_error(e),
    };
    let state = StateDir::new(&cli.root);
    let result = match cli.command {
        Command::Run(args) => run::cmd(&state, *args),
        Command::Ps(args) => ps::ps(&state, args),
        Command::Rm(args) => ps::rm(&state, args),
        Command::Diff(args) => diff::cmd(&state, args),
        Command::Build(args) => build::cmd(&state, args),
        Command::Image(cmd) => image::run(&state, cmd),
        Command::Trace(cmd) => trace::run(&state, cmd),
        Command::Lab(cmd) => lab::run(&state, cmd),
        Command::Info => info::run(&state),
        Command::Gc => gc::run(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            report(&*e.error);
            e.code
        }
    }
}

/// A command-line mistake, said in Portuguese; exit code 125 as docker's.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::{ContextKind, ErrorKind};
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    let ctx = |k| e.get(k).map(|v| v.to_string()).unwrap_or_default();
    let what = match e.kind() {
        ErrorKind::InvalidSubcommand => format!(
            "comando desconhecido: {}",
            ctx(ContextKind::InvalidSubcommand)
        ),
        ErrorKind::UnknownArgument => {
            format!("opção desconhecida: {}", ctx(ContextKind::InvalidArg))
        }
        ErrorKind::MissingRequiredArgument => {
            format!(
                "falta um argumento obrigatório: {}",
                ctx(ContextKind::InvalidArg)
            )
        }
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "falta o comando".to_string()
        }
        ErrorKind::InvalidValue => format!(
            "valor inválido {:?} para {}",
            ctx(ContextKind::InvalidValue),
            ctx(ContextKind::InvalidArg)
        ),
        // Our own parsers say why (in Portuguese): keep it.
        ErrorKind::ValueValidation => {
            use std::error::Error;
            let why = e.source().map(|s| format!(": {s}")).unwrap_or_default();
            format!(
                "valor inválido {:?} para {}{why}",
                ctx(ContextKind::InvalidValue),
                ctx(ContextKind::InvalidArg)
            )
        }
        ErrorKind::NoEquals => format!("{} precisa de um valor", ctx(ContextKind::InvalidArg)),
        _ => e.to_string().trim().to_string(),
    };
    eprintln!("casulo: erro: {what}\n(veja `casulo --help`)");
    std::process::exit(125)
}

/// clap's own words (Usage, Options, help) in Portuguese, for every subcommand.
fn localize(cmd: clap::Command) -> clap::Command {
    let has_short_h = cmd.get_arguments().any(|a| a.get_short() == Some('h'));
    let mut help = Arg::new("ajuda")
        .long("help")
        .action(ArgAction::Help)
        .help("Mostra esta ajuda")
        .global(false);
    if !has_short_h {
        help = help.short('h');
    }
    let cmd = if cmd.is_disable_help_flag_set() {
        cmd
    } else {
        cmd.disable_help_flag(true).arg(help)
    };
    cmd.help_template("{about-with-newline}\nUso: {usage}\n\n{all-args}{after-help}")
        .subcommand_help_heading("Comandos")
        .subcommand_value_name("COMANDO")
        .disable_help_subcommand(true)
        .mut_args(|a| {
            let heading = if a.is_positional() {
                "Argumentos"
            } else {
                "Opções"
            };
            a.help_heading(heading)
        })
        .mut_subcommands(localize)
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
