//! The `casulo` command line: a thin layer over the library.
//!
//! Each subcommand lives in its own file and returns the process exit code.
//! Errors are printed here, once: `casulo: erro: <message>` followed by its
//! cause chain, with exit code 125 (docker's "engine error") unless the
//! error says otherwise.

pub mod attach;
pub mod build;
pub mod commit;
pub mod daemon;
pub mod deferred;
pub mod diff;
pub mod docker;
pub mod exec;
pub mod gc;
pub mod image;
pub mod info;
pub mod lab;
pub mod lifecycle;
pub mod network;
pub mod pause;
pub mod ps;
pub mod registry;
pub mod rm;
pub mod rootless;
pub mod run;
pub mod stats;
pub mod template;
pub mod trace;
pub mod ui;
pub mod volume;

use std::path::PathBuf;

use clap::{Arg, ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::state::{StateDir, DEFAULT_ROOT};
use deferred::{Deferred, DeferredCommands, NoArgs};

/// Casulo — um laboratório de contêineres que mostra o que o kernel faz.
#[derive(Debug, Parser)]
#[command(name = "casulo", version, disable_version_flag = true)]
pub struct Cli {
    /// Mostra a versão.
    #[arg(short = 'V', long, action = ArgAction::Version)]
    version: Option<bool>,

    /// Diretório de estado (imagens, camadas, contêineres, traces) [padrão:
    /// /var/lib/casulo; sem root, $XDG_DATA_HOME/casulo ou ~/.local/share/casulo].
    #[arg(long, global = true, env = "CASULO_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

// Every subcommand is deferred (`deferred`): clap builds the arguments of
// the one typed only. Built for all ~40 they cost every `casulo` ~0.45 M
// instructions: `casulo run`'s parent 2.46 → 2.01 M, `casulo --version`
// 1.45 → 0.89 M (callgrind, #19). A plain variant would not be localized.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Executa um comando num contêiner novo (como `docker run`).
    Run(Deferred<Box<run::RunArgs>>),
    /// Executa um comando novo dentro de um contêiner que está rodando (como `docker exec`).
    ///
    /// O processo entra nos namespaces do contêiner (setns), no cgroup dele e
    /// recebe as mesmas capabilities e o mesmo filtro seccomp do PID 1. As
    /// opções do casulo vêm antes do contêiner; tudo o que vem depois dele é o
    /// comando, como no docker.
    Exec(Deferred<exec::ExecArgs>),
    /// Liga o seu terminal a um contêiner que roda em segundo plano (como `docker attach`).
    ///
    /// Com um contêiner -dit, você passa a ver e usar o terminal dele; Ctrl-C vai para o
    /// programa lá dentro, e Ctrl-P Ctrl-Q desliga você sem parar o contêiner. Um
    /// contêiner sem -t não tem terminal: o attach mostra o que ele escreve (como
    /// `casulo logs -f`, a partir de agora) até ele terminar, e Ctrl-C sai sem pará-lo;
    /// se ele roda com -i (-di), o que você digitar (ou mandar por um pipe) vai para a
    /// entrada dele.
    Attach(Deferred<attach::AttachArgs>),
    /// Lista os contêineres (como `docker ps`).
    Ps(Deferred<ps::PsArgs>),
    /// Remove contêineres que já terminaram (a camada de escrita vai junto; o trace fica).
    Rm(Deferred<rm::RmArgs>),
    /// Mostra o que um contêiner mudou em relação à imagem (como `docker diff`).
    Diff(Deferred<diff::DiffArgs>),
    /// Inicia contêineres parados, em segundo plano, com um supervisor (como `docker start`).
    Start(Deferred<lifecycle::StartArgs>),
    /// Para e inicia de novo contêineres (como `docker restart`).
    Restart(Deferred<lifecycle::RestartArgs>),
    /// Mostra a saída guardada de um contêiner; -f acompanha (como `docker logs`).
    Logs(Deferred<lifecycle::LogsArgs>),
    /// Para contêineres: o sinal de parada da imagem (SIGTERM, se ela não define outro), e SIGKILL depois de -t segundos (como `docker stop`).
    Stop(Deferred<lifecycle::StopArgs>),
    /// Manda um sinal ao PID 1 de contêineres; SIGKILL se nenhum -s for dado (como `docker kill`).
    Kill(Deferred<lifecycle::KillArgs>),
    /// Espera contêineres terminarem e mostra o código de saída de cada um (como `docker wait`).
    Wait(Deferred<lifecycle::WaitArgs>),
    /// Mostra o que o casulo sabe de contêineres, em JSON (como `docker inspect`).
    Inspect(Deferred<lifecycle::InspectArgs>),
    /// Lista os processos de um contêiner, com o pid no host e dentro dele (como `docker top`).
    Top(Deferred<lifecycle::TopArgs>),
    /// Dá um nome novo a um contêiner, rodando ou não (como `docker rename`).
    Rename(Deferred<lifecycle::RenameArgs>),
    /// Congela todos os processos de contêineres com o freezer do cgroup (como `docker pause`).
    Pause(Deferred<pause::PauseArgs>),
    /// Descongela contêineres pausados: os processos continuam de onde pararam (como `docker unpause`).
    Unpause(Deferred<pause::PauseArgs>),
    /// Uso de CPU, memória e processos de contêineres, atualizado a cada segundo até o Ctrl-C (como `docker stats`).
    Stats(Deferred<stats::StatsArgs>),
    /// Constrói uma imagem a partir de um Dockerfile (como `docker build`).
    Build(Deferred<build::BuildArgs>),
    /// Cria uma imagem a partir do que um contêiner mudou (como `docker commit`; prefira o build).
    Commit(Deferred<commit::CommitArgs>),
    /// Envia uma imagem a um registry; só viajam as camadas que ele não tem (como `docker push`).
    #[command(long_about = registry::PUSH_ABOUT)]
    Push(Deferred<registry::PushArgs>),
    /// Baixa uma imagem de um registry; só viajam as camadas que faltam aqui (como `docker pull`).
    #[command(long_about = registry::PULL_ABOUT)]
    Pull(Deferred<registry::PullArgs>),
    /// Guarda usuário e senha de um registry, conferidos com ele (como `docker login`).
    #[command(long_about = registry::LOGIN_ABOUT)]
    Login(Deferred<registry::LoginArgs>),
    /// Apaga as credenciais guardadas de um registry (como `docker logout`).
    Logout(Deferred<registry::LogoutArgs>),
    /// Gerencia imagens (ls, load, save, inspect, history, tag, rm, prune, fsck, bootstrap, import, push, pull).
    Image(DeferredCommands<image::ImageCmd>),
    /// Gerencia volumes: dados que sobrevivem ao contêiner (create, ls, inspect, rm, prune).
    Volume(DeferredCommands<volume::VolumeCmd>),
    /// Gerencia redes com nome: sub-rede, bridge e DNS entre contêineres (create, ls, inspect, rm, prune, connect, disconnect).
    Network(DeferredCommands<network::NetworkCmd>),
    /// Lê (narra em português) ou valida traces.
    Trace(DeferredCommands<trace::TraceCmd>),
    /// Laboratórios: exercícios que o casulo confere a partir dos seus traces (ls, iniciar, verificar, dica, reiniciar).
    Lab(DeferredCommands<lab::LabCmd>),
    /// Atende a API do Docker num socket unix: o `docker` de sempre passa a mandar no casulo.
    #[command(long_about = daemon::ABOUT)]
    Daemon(Deferred<daemon::DaemonArgs>),
    /// Serve o visualizador e o curso embutidos (binário de `cargo xtask dist`) e os traces, para o navegador.
    #[command(long_about = ui::ABOUT)]
    Ui(Deferred<ui::UiArgs>),
    /// Mostra o que o casulo sabe deste host: kernel, modo dos cgroups, diretório de estado.
    Info(Deferred<NoArgs>),
    /// Remove o que um casulo morto deixou (cgroups, endereços, veths, bridges e regras de firewall órfãos; contêineres pela metade e restos do armazém; registros que ficaram "rodando") e a bridge casulo0 sem uso.
    Gc(Deferred<NoArgs>),
    /// O supervisor de um contêiner em segundo plano (o casulo o executa; não é para digitar).
    #[command(name = "__supervisor", hide = true)]
    Supervisor(Deferred<SupervisorArgs>),
}

/// `casulo __supervisor ID`: the container it supervises.
#[derive(Debug, clap::Args)]
pub struct SupervisorArgs {
    id: String,
}

/// An error for the user: message (pt-BR) and exit code.
pub type CliResult = Result<i32, CliError>;

#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub error: Box<dyn std::error::Error>,
    /// What to do about it, printed after the cause chain.
    pub hint: Option<String>,
}

impl<E: std::error::Error + 'static> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError {
            code: 125,
            error: Box::new(e),
            hint: None,
        }
    }
}

impl CliError {
    /// A plain message with a chosen exit code.
    pub fn msg(code: i32, message: impl Into<String>) -> Self {
        CliError {
            code,
            error: message.into().into(),
            hint: None,
        }
    }

    /// Adds what to do about it (printed last, as `dica:`).
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Parses the arguments, runs the command, prints any error; returns the exit code.
pub fn main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut command = deferred::localize_root(Cli::command(), &args[1..]);
    let mut matches = match command.try_get_matches_from_mut(&args) {
        Ok(m) => m,
        Err(e) => usage_error(e),
    };
    // Never dropped: freeing the tree of ~40 subcommands, once, just before
    // the process ends anyway, was ~0.2 M of the 2.7 M instructions a
    // `casulo run` runs in casulo itself (callgrind; #19).
    std::mem::forget(command);
    // `_mut`: the values are moved out; `from_arg_matches` clones all the
    // matches first (~18 K instructions, #19).
    let cli = match Cli::from_arg_matches_mut(&mut matches) {
        Ok(cli) => cli,
        Err(e) => usage_error(e),
    };
    // Without root: rootless mode (`crate::rootless`), its refusals first.
    let rootless = crate::rootless::active();
    if rootless {
        if let Err(why) = rootless::refuse(&cli.command) {
            eprintln!("casulo: erro: {why}");
            return 125;
        }
    }
    let root = match cli.root.clone() {
        Some(root) => root,
        None if rootless => match crate::rootless::default_root() {
            Ok(root) => root,
            Err(e) => {
                eprintln!("casulo: erro: {e}");
                return 125;
            }
        },
        None => PathBuf::from(DEFAULT_ROOT),
    };
    let state = StateDir::new(root);
    if rootless && !nix::unistd::geteuid().is_root() {
        if let Err(code) = closed_to_me(&state, &cli.command) {
            return code;
        }
        if let Err(why) = rootless::enter(&state, &cli.command) {
            eprintln!("casulo: erro: {why}");
            return 125;
        }
    }
    if let Err(code) = private_root(&state) {
        return code;
    }
    let result = match cli.command {
        Command::Run(args) => run::cmd(&state, *args.0),
        Command::Exec(args) => exec::cmd(&state, args.0),
        Command::Attach(args) => attach::cmd(&state, args.0),
        Command::Ps(args) => ps::ps(&state, args.0),
        Command::Rm(args) => rm::rm(&state, args.0),
        Command::Diff(args) => diff::cmd(&state, args.0),
        Command::Start(args) => lifecycle::start(&state, args.0),
        Command::Restart(args) => lifecycle::restart(&state, args.0),
        Command::Logs(args) => lifecycle::logs(&state, args.0),
        Command::Stop(args) => lifecycle::stop(&state, args.0),
        Command::Kill(args) => lifecycle::kill(&state, args.0),
        Command::Wait(args) => lifecycle::wait(&state, args.0),
        Command::Inspect(args) => lifecycle::inspect(&state, args.0),
        Command::Top(args) => lifecycle::top(&state, args.0),
        Command::Rename(args) => lifecycle::rename(&state, args.0),
        Command::Pause(args) => pause::pause(&state, args.0),
        Command::Unpause(args) => pause::unpause(&state, args.0),
        Command::Stats(args) => stats::cmd(&state, args.0),
        Command::Build(args) => build::cmd(&state, args.0),
        Command::Commit(args) => commit::cmd(&state, args.0),
        Command::Image(cmd) => image::run(&state, cmd.0),
        Command::Push(args) => registry::push_cmd(&state, args.0),
        Command::Pull(args) => registry::pull_cmd(&state, args.0),
        Command::Login(args) => registry::login(args.0),
        Command::Logout(args) => registry::logout(args.0),
        Command::Trace(cmd) => trace::run(&state, cmd.0),
        Command::Volume(cmd) => volume::run(&state, cmd.0),
        Command::Network(cmd) => network::run(&state, cmd.0),
        Command::Lab(cmd) => lab::run(&state, cmd.0),
        Command::Daemon(args) => daemon::cmd(&state, args.0),
        Command::Ui(args) => ui::cmd(&state, args.0),
        Command::Info(_) => info::run(&state),
        Command::Gc(_) => gc::run(&state),
        Command::Supervisor(args) => Ok(crate::container::supervise::main(&state, &args.id)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            report(&*e.error);
            if let Some(hint) = &e.hint {
                eprintln!("casulo: dica: {hint}");
            }
            e.code
        }
    }
}

/// The state dir is private (`0700`, see `state`). As root (of the host,
/// or of a rootless casulo's user namespace): an existing root that was
/// open to others is closed, with a one-line note.
fn private_root(state: &StateDir) -> Result<(), i32> {
    match state.close_root() {
        Ok(Some(old)) => {
            eprintln!(
                "casulo: nota: o diretório de estado {} estava aberto a outros usuários \
                     (modo {old:04o}); agora é {:04o}: só o root entra",
                state.root().display(),
                crate::state::DIR_MODE
            );
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => {
            eprintln!("casulo: erro: {e}");
            Err(125)
        }
    }
}

/// Without root, before the user namespace: a command that reads a state
/// dir closed to this user (root's `/var/lib/casulo` given with `--root`)
/// is told up front that it cannot (instead of an EACCES deep inside).
fn closed_to_me(state: &StateDir, command: &Command) -> Result<(), i32> {
    // The parents with their real owners (inside the namespace, others'
    // uids all look alike): root's or this user's, and closed to others.
    if let Err(e) = crate::state::check_parents(state.root()) {
        eprintln!("casulo: erro: {e}");
        return Err(125);
    }
    let reads_state = match command {
        Command::Trace(DeferredCommands(
            trace::TraceCmd::Show { file, .. } | trace::TraceCmd::Check { file },
        )) => !file.is_file(),
        // `ui` serves the visualizer and the course without root; only its
        // list of traces then says the state dir is closed.
        Command::Info(_) | Command::Ui(_) | Command::Login(_) | Command::Logout(_) => false,
        _ => true,
    };
    let root = state.root();
    let denied =
        root.exists() && nix::unistd::access(root, nix::unistd::AccessFlags::X_OK).is_err();
    if reads_state && denied {
        eprintln!("casulo: erro: {}", private_root_message(root));
        return Err(125);
    }
    Ok(())
}

/// What a user without root reads when the state dir is closed to them.
pub fn private_root_message(root: &std::path::Path) -> String {
    format!(
        "o diretório de estado {} é privado (modo 0700: só o root entra, \
         porque guarda camadas com programas setuid e segredos passados com -e): \
         para usá-lo o Casulo precisa de root: rode com sudo, como `sudo casulo …`. \
         Sem root, o casulo usa um diretório seu (sem --root nem CASULO_ROOT: \
         $XDG_DATA_HOME/casulo ou ~/.local/share/casulo)",
        root.display()
    )
}

/// A command-line mistake, said in Portuguese; exit code 125 as docker's.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::{ContextKind, ErrorKind};
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    let ctx = |k| e.get(k).map(|v| v.to_string()).unwrap_or_default();
    let argv: Vec<String> = std::env::args().collect();
    let path = docker::command_path(&mut Cli::command(), &argv);
    let mut hint = None;
    let what = match e.kind() {
        ErrorKind::InvalidSubcommand => {
            let name = ctx(ContextKind::InvalidSubcommand);
            hint = docker::subcommand(&name);
            format!("comando desconhecido: {name}")
        }
        ErrorKind::UnknownArgument => {
            let arg = ctx(ContextKind::InvalidArg);
            let bare = arg.split('=').next().unwrap_or_default();
            if path == "casulo run" {
                hint = docker::run_option(bare);
            }
            format!("opção desconhecida: {arg}")
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
        ErrorKind::WrongNumberOfValues | ErrorKind::TooFewValues => {
            let wanted = match e.kind() {
                ErrorKind::TooFewValues => ctx(ContextKind::MinValues),
                _ => ctx(ContextKind::ExpectedNumValues),
            };
            format!(
                "faltam valores: {} pede {wanted}, veio {}",
                ctx(ContextKind::InvalidArg),
                ctx(ContextKind::ActualNumValues)
            )
        }
        ErrorKind::TooManyValues => format!(
            "valor a mais para {}: {:?}",
            ctx(ContextKind::InvalidArg),
            ctx(ContextKind::InvalidValue)
        ),
        ErrorKind::ArgumentConflict => {
            let (arg, prior) = (ctx(ContextKind::InvalidArg), ctx(ContextKind::PriorArg));
            if prior.is_empty() || prior == arg {
                format!("{arg} só pode aparecer uma vez")
            } else {
                format!("{arg} não pode ser usada junto com {prior}")
            }
        }
        _ => e.to_string().trim().to_string(),
    };
    eprintln!("casulo: erro: {what}");
    if let Some(hint) = hint {
        eprintln!("casulo: dica: {hint}");
    }
    // The help of the command being typed, not only the top one.
    eprintln!("(veja `{path} --help`)");
    std::process::exit(125)
}

/// clap's own words (Usage, Options, help) in Portuguese, for `cmd` — a
/// subcommand of `parent` (`casulo image`; "" for the root) — and for the
/// subcommands on the path `args` names (the words after `cmd`'s name:
/// `image ls` → `image`, then `ls`). The others are never parsed here, and
/// localizing every one — a clone and a usage line each — was ~1 ms of the
/// CPU of every `casulo` started (#19).
fn localize_in(cmd: clap::Command, parent: &str, args: &[std::ffi::OsString]) -> clap::Command {
    let (cmd, path, next) = localize_level(cmd, parent, args);
    match next {
        Some((i, name)) => cmd.mut_subcommand(name, |sub| localize_in(sub, &path, &args[i + 1..])),
        None => cmd,
    }
}

/// One level of [`localize_in`]: `cmd` localized, its path (`casulo
/// image`), and where in `args` the next subcommand's name is, and that name.
fn localize_level(
    cmd: clap::Command,
    parent: &str,
    args: &[std::ffi::OsString],
) -> (clap::Command, String, Option<(usize, String)>) {
    let has_short_h = cmd.get_arguments().any(|a| a.get_short() == Some('h'));
    let mut help = Arg::new("ajuda")
        .long("help")
        .action(ArgAction::Help)
        .help("Mostra esta ajuda")
        .global(false);
    if !has_short_h {
        help = help.short('h');
    }
    // Not `is_disable_help_flag_set`: that setting is global, and a
    // deferred subcommand has it from its parent before it is localized.
    let cmd = if cmd.get_arguments().any(|a| a.get_id() == "ajuda") {
        cmd
    } else {
        cmd.disable_help_flag(true).arg(help)
    };
    let path = if parent.is_empty() {
        cmd.get_name().to_string()
    } else {
        format!("{parent} {}", cmd.get_name())
    };
    let cmd = cmd
        .help_template("{about-with-newline}\nUso: {usage}\n\n{all-args}{after-help}")
        .subcommand_help_heading("Comandos")
        .subcommand_value_name("COMANDO")
        .disable_help_subcommand(true);
    // The first word naming one of its subcommands (an option's value
    // taken for one costs only that subcommand's localization).
    let next = args.iter().enumerate().find_map(|(i, arg)| {
        let word = arg.to_str()?;
        let sub = cmd
            .get_subcommands()
            .find(|s| s.get_name() == word || s.get_all_aliases().any(|a| a == word))?;
        Some((i, sub.get_name().to_string()))
    });
    // The usage line shows only in this level's help, asked for before the
    // next subcommand's name (`-h` may hide among short flags: `-ih`).
    // Rendering it clones the whole level — at the root, every subcommand:
    // half of what starting `casulo run` allocated (#19).
    let own_args = &args[..next.as_ref().map_or(args.len(), |(i, _)| *i)];
    let help_here = own_args
        .iter()
        .filter_map(|a| a.to_str())
        .any(|a| a == "--help" || (a.starts_with('-') && !a.starts_with("--") && a.contains('h')));
    // Headings and notes show only in the help: without it, only what
    // error messages show too (a value's name), and the global arguments,
    // copied into the subcommands later, whose help may show (#19: for
    // `run`'s ~40 arguments, ~50 K instructions).
    // Under a heading of its own, clap lists arguments by display order,
    // then by name: numbered, the positionals keep the usage line's order
    // (`network connect <REDE> <CONTÊINER>` listed CONTÊINER first).
    let mut positionals = 0;
    let cmd = cmd.mut_args(|a| {
        if help_here || a.is_global_set() {
            let a = if a.is_positional() {
                positionals += 1;
                a.help_heading("Argumentos").display_order(positionals)
            } else {
                a.help_heading("Opções")
            };
            localize_arg(a)
        } else {
            name_value(a)
        }
    });
    let cmd = if help_here {
        // clap writes `[OPTIONS]` in the usage line: render it once and
        // say it in Portuguese.
        let usage = cmd.clone().bin_name(&path).render_usage().to_string();
        let usage = usage.trim_start_matches("Usage:").trim();
        // A deferred subcommand is localized as clap builds it, which has
        // named it after argv[0] (`target/debug/casulo` → `casulo run`), and
        // that name wins over `bin_name`: the path, as for the others.
        let usage = match cmd.get_bin_name().and_then(|name| usage.strip_prefix(name)) {
            Some(rest) => format!("{path}{rest}"),
            None => usage.to_string(),
        };
        cmd.override_usage(usage.replace("[OPTIONS]", "[OPÇÕES]"))
    } else {
        cmd
    };
    (cmd, path, next)
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The name of a value in Portuguese where clap's would be English.
fn name_value(a: Arg) -> Arg {
    // The derive names a `ValueEnum` field's value after the field, in
    // English capitals (`--format <FORMAT>`).
    let english = a
        .get_value_names()
        .is_none_or(|names| names.iter().all(|n| n.as_str() == "FORMAT"));
    if a.get_id() == "format" && english {
        a.value_name("FORMATO")
    } else {
        a
    }
}

/// The notes clap appends to an option's help in English (`Possible
/// values:`, `[default: …]`, `[env: …]`) said in Portuguese instead.
fn localize_arg(a: Arg) -> Arg {
    let mut notes: Vec<String> = Vec::new();
    let mut a = a;
    let values: Vec<String> = a
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| match v.get_help() {
            Some(help) => format!("{} ({})", v.get_name(), lower_first(&help.to_string())),
            None => v.get_name().to_string(),
        })
        .collect();
    if !values.is_empty() && !a.is_hide_possible_values_set() && a.get_action().takes_values() {
        notes.push(format!("valores: {}", values.join(", ")));
        a = a.hide_possible_values(true);
    }
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && !a.is_hide_default_value_set() && a.get_action().takes_values() {
        notes.push(format!("padrão: {}", defaults.join(", ")));
        a = a.hide_default_value(true);
    }
    if let Some(env) = a.get_env() {
        if !a.is_hide_env_set() {
            notes.push(format!("ou a variável {}", env.to_string_lossy()));
            a = a.hide_env(true);
        }
    }
    a = name_value(a);
    if notes.is_empty() {
        return a;
    }
    let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
    let help = format!("{} [{}]", help.trim_end_matches('.'), notes.join("; "));
    a.help(help)
}

/// Prints an error and its causes on stderr, in the CLI's pt-BR voice.
/// Errnos are said in pt-BR (`permissão negada (EACCES)`), not as Rust's
/// `Permission denied (os error 13)`.
pub fn report(error: &dyn std::error::Error) {
    use crate::kernel::translate_os_errors as pt;
    let mut said = pt(&error.to_string());
    eprintln!("casulo: erro: {said}");
    let mut cause = error.source();
    while let Some(c) = cause {
        let text = pt(&c.to_string());
        // A message that already ends with its cause: not said twice.
        if !said.ends_with(&text) {
            eprintln!("  causa: {text}");
        }
        said = text;
        cause = c.source();
    }
}
