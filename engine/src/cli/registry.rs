//! `casulo push`, `casulo pull`, `casulo login`, `casulo logout`.

use std::io::{BufRead, IsTerminal, Write};

use super::{CliError, CliResult};
use crate::registry::auth::{self, Credentials};
use crate::registry::push::Observer;
use crate::registry::{pull, push, RegistryError, Transfer};
use crate::state::StateDir;

/// The long help of `casulo push` and `casulo image push` (on the enum variants: a
/// variant's one-paragraph doc comment resets the struct's).
pub const PUSH_ABOUT: &str =
    "Envia uma imagem do store a um registry (OCI distribution), como `docker push`. \
     Só viajam as camadas que o registry não tem (ele é perguntado com HEAD). \
     A referência diz o registry: `localhost:5000/aluno/app:v1`; sem registry, \
     vale CASULO_REGISTRY (ou docker.io). Registries em localhost/127.0.0.1 \
     falam HTTP; outros, HTTPS, a não ser que estejam em \
     CASULO_INSECURE_REGISTRIES (separados por vírgula). Um registry com CA \
     própria: o certificado dela em /etc/casulo/certs.d/HOST:PORTA/ca.crt \
     (ou no /etc/docker/certs.d do docker; com CASULO_CERTS_D definida, só em \
     $CASULO_CERTS_D/HOST:PORTA/ca.crt), e ele fala HTTPS verificado por ela.";

/// The long help of `casulo pull` and `casulo image pull` (on the enum variants: a
/// variant's one-paragraph doc comment resets the struct's).
pub const PULL_ABOUT: &str =
    "Baixa uma imagem de um registry (OCI distribution), como `docker pull`. \
     Só viajam as camadas que o store não tem; cada blob é conferido (sha256 e \
     tamanho) antes de entrar no store, e o diff_id e as entradas do tar de \
     cada camada, no primeiro desempacotamento (run). De um índice \
     multiplataforma, escolhe linux/<arquitetura deste computador>. Baixa até 6 \
     camadas ao mesmo tempo; interrompido, o próximo pull baixa só as que \
     não chegaram inteiras.";

/// The long help of `casulo login` (on the enum variants: a
/// variant's one-paragraph doc comment resets the struct's).
pub const LOGIN_ABOUT: &str = "Confere usuário e senha com o registry e os guarda em \
     $CASULO_CONFIG/config.json (padrão ~/.casulo/config.json), no formato do \
     config.json do docker, com modo 0600. A senha nunca aparece na tela nem \
     nos traces.";

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// A imagem, com o registry no nome (ex.: localhost:5000/aluno/app:v1).
    #[arg(value_name = "NOME[:TAG]")]
    pub image: String,
    /// Não mostra o progresso nem o resumo.
    #[arg(short, long)]
    pub quiet: bool,
    /// Recomprime as camadas para a viagem: zstd ou gzip (como o
    /// `--compression-format` do podman). A imagem local não muda; vai um
    /// manifest OCI novo, com outro digest e os mesmos diff_id.
    #[arg(long, value_name = "FORMATO", value_parser = crate::registry::recompress::parse)]
    pub compression_format: Option<crate::image::layer::Compression>,
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// A imagem (ex.: localhost:5000/aluno/app:v1, ou ...@sha256:<digest>).
    #[arg(value_name = "NOME[:TAG|@DIGEST]")]
    pub image: String,
    /// Não mostra o progresso nem o resumo.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// O registry (ex.: localhost:5000).
    #[arg(value_name = "REGISTRY")]
    pub registry: String,
    /// Usuário.
    #[arg(short, long)]
    pub username: String,
    /// Senha (prefira --password-stdin: a senha na linha de comando fica no histórico).
    #[arg(short, long)]
    pub password: Option<String>,
    /// Lê a senha da entrada padrão.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// O registry (ex.: localhost:5000).
    #[arg(value_name = "REGISTRY")]
    pub registry: String,
}

/// A registry error, with its own exit code and a hint where one helps.
fn cli_error(e: RegistryError) -> CliError {
    let code = e.exit_code();
    let hint = match &e {
        RegistryError::Unreachable { .. } => Some(
            "para um registry de teste nesta máquina: `cargo xtask registro` \
             (ou `docker-registry serve`)"
                .to_string(),
        ),
        _ => None,
    };
    let mut err = CliError::msg(code, crate::registry::pull::error_chain(&e));
    err.hint = hint;
    err
}

pub fn push_cmd(state: &StateDir, args: PushArgs) -> CliResult {
    let mut screen = Screen::new(args.quiet, "enviando");
    let transfer = push::push_with(
        state,
        &args.image,
        None,
        args.compression_format,
        &mut screen,
    )
    .map_err(cli_error)?;
    drop(screen);
    if !args.quiet {
        println!("{}", push_summary(&transfer));
        println!("{}: digest {}", transfer.remote, transfer.manifest_digest);
    }
    Ok(0)
}

pub fn pull_cmd(state: &StateDir, args: PullArgs) -> CliResult {
    let mut screen = Screen::new(args.quiet, "baixando");
    let transfer = pull::pull(state, &args.image, &mut screen).map_err(cli_error)?;
    drop(screen);
    if !args.quiet {
        println!("{}", pull_summary(&transfer));
        println!("{}: digest {}", transfer.remote, transfer.manifest_digest);
    }
    Ok(0)
}

/// "2 de 3 camadas enviadas, 1 já estava no registry".
pub fn push_summary(t: &Transfer) -> String {
    let mut text = format!(
        "{}, {} já {} no registry",
        counted(t.moved, t.layers, "enviada", "enviadas"),
        t.present,
        if t.present == 1 { "estava" } else { "estavam" }
    );
    if t.mounted > 0 {
        text.push_str(&format!(
            ", {} {} de outro repositório",
            t.mounted,
            if t.mounted == 1 {
                "montada"
            } else {
                "montadas"
            }
        ));
    }
    text
}

/// "3 de 10 camadas baixadas, 7 já estavam aqui" (the seed's words).
pub fn pull_summary(t: &Transfer) -> String {
    format!(
        "{}, {} já {} aqui",
        counted(t.moved, t.layers, "baixada", "baixadas"),
        t.present,
        if t.present == 1 { "estava" } else { "estavam" }
    )
}

/// "3 de 10 camadas baixadas", "1 de 1 camada baixada".
fn counted(moved: usize, total: usize, one: &str, many: &str) -> String {
    let noun = if total == 1 { "camada" } else { "camadas" };
    let done = if moved == 1 || total == 1 { one } else { many };
    format!("{moved} de {total} {noun} {done}")
}

pub fn login(args: LoginArgs) -> CliResult {
    let password = match (args.password, args.password_stdin) {
        (Some(_), true) => {
            return Err(CliError::msg(
                125,
                "use --password ou --password-stdin, não os dois",
            ))
        }
        (Some(p), false) => p,
        (None, _) => read_password(args.password_stdin)?,
    };
    let password = password.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(CliError::msg(125, "a senha está vazia"));
    }
    let credentials = Credentials {
        user: args.username,
        password,
    };
    let registry = match auth::check(&args.registry, &credentials) {
        Err(RegistryError::Image(e)) => {
            return Err(CliError::msg(
                125,
                format!("registry inválido {:?}: {e}", args.registry),
            ))
        }
        other => other.map_err(cli_error)?,
    };
    auth::save(&registry, &credentials).map_err(cli_error)?;
    println!(
        "login em {} feito: credenciais guardadas em {} (modo 0600)",
        registry,
        auth::config_path().display()
    );
    Ok(0)
}

pub fn logout(args: LogoutArgs) -> CliResult {
    if auth::remove(&args.registry).map_err(cli_error)? {
        println!("credenciais de {} apagadas", args.registry);
    } else {
        println!("não havia credenciais de {}", args.registry);
    }
    Ok(0)
}

/// The password from stdin: a line as is, or typed with the echo off.
fn read_password(from_stdin: bool) -> Result<String, CliError> {
    let stdin = std::io::stdin();
    let typed = !from_stdin && stdin.is_terminal();
    let saved = if typed {
        eprint!("Senha: ");
        let _ = std::io::stderr().flush();
        use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
        tcgetattr(&stdin).ok().inspect(|old| {
            let mut quiet = old.clone();
            quiet.local_flags.remove(LocalFlags::ECHO);
            let _ = tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
        })
    } else {
        None
    };
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(old) = saved {
        let _ = nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &old);
        eprintln!();
    }
    read.map_err(|e| CliError::msg(125, format!("lendo a senha: {e}")))?;
    Ok(line)
}

/// The screen of a push or pull: on a terminal, one indicatif bar per
/// layer that travels; otherwise one line per layer when it is settled,
/// in the image's order (layers download side by side and may settle out
/// of order: a line waits for those of the layers below it).
struct Screen {
    quiet: bool,
    verb: &'static str,
    multi: Option<indicatif::MultiProgress>,
    bars: std::collections::BTreeMap<usize, indicatif::ProgressBar>,
    total: usize,
    /// Lines of settled layers waiting for a layer below (no terminal).
    pending: std::collections::BTreeMap<usize, String>,
    /// The next layer whose line is printed.
    next_line: usize,
}

impl Screen {
    fn new(quiet: bool, verb: &'static str) -> Screen {
        let multi = (!quiet && std::io::stderr().is_terminal()).then(indicatif::MultiProgress::new);
        Screen {
            quiet,
            verb,
            multi,
            bars: Default::default(),
            total: 0,
            pending: Default::default(),
            next_line: 0,
        }
    }

    fn line(&self, index: usize, digest: &str, size: u64, what: &str) -> String {
        let of = if self.total > 0 {
            format!("/{}", self.total)
        } else {
            String::new()
        };
        format!(
            "camada {}{of} {} ({}): {what}",
            index + 1,
            crate::image::digest::short_id(digest),
            casulo_trace::text::bytes(size)
        )
    }
}

impl Observer for Screen {
    fn trace_opened(&mut self, path: &std::path::Path) {
        if !self.quiet {
            eprintln!("casulo: trace: {}", path.display());
        }
    }

    fn layer_start(&mut self, index: usize, total: usize, digest: &str, size: u64) {
        self.total = total;
        if let Some(multi) = &self.multi {
            let bar = multi.add(indicatif::ProgressBar::new(size));
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_message(format!(
                "camada {}/{total} {} {}",
                index + 1,
                crate::image::digest::short_id(digest),
                self.verb
            ));
            self.bars.insert(index, bar);
        }
    }

    fn layer_recompress(&mut self, index: usize, total: usize) {
        if !self.quiet {
            eprintln!("casulo: recomprimindo a camada {}/{total}…", index + 1);
        }
    }

    fn layer_progress(&mut self, index: usize, done: u64) {
        if let Some(bar) = self.bars.get(&index) {
            bar.set_position(done);
        }
    }

    fn layer_done(&mut self, index: usize, total: usize, digest: &str, size: u64, what: &str) {
        self.total = total;
        if self.quiet {
            return;
        }
        let text = self.line(index, digest, size, what);
        match (&self.multi, self.bars.remove(&index)) {
            (Some(_), Some(bar)) => bar.finish_with_message(text),
            (Some(multi), None) => {
                let _ = multi.println(text);
            }
            (None, _) => {
                self.pending.insert(index, text);
                while let Some(line) = self.pending.remove(&self.next_line) {
                    eprintln!("{line}");
                    self.next_line += 1;
                }
            }
        }
    }
}

impl Drop for Screen {
    /// A transfer that stopped halfway: the lines still waiting, in order.
    fn drop(&mut self) {
        for line in std::mem::take(&mut self.pending).into_values() {
            eprintln!("{line}");
        }
    }
}
