//! `casulo ui`: the visualizer and the course built into this binary
//! (`cargo xtask dist`, feature `embutido`), served to a browser with the
//! traces of the state dir, read-only — the same server as
//! `casulo daemon --ui` ([`crate::daemon::ui`]), without the docker API.

use std::net::SocketAddr;

use super::{CliError, CliResult};
use crate::daemon::{self, site::Site};
use crate::state::StateDir;

/// `casulo ui --help`'s text (see [`super::daemon::ABOUT`]).
pub const ABOUT: &str = "Serve o visualizador e o curso embutidos neste binário, e os traces \
     gravados (só leitura), para o navegador: abra http://127.0.0.1:8000/ (o curso em \
     /curso/). Fica em primeiro plano até o Ctrl-C. Só existe num casulo feito com \
     `cargo xtask dist`.";

/// `casulo ui`'s arguments (its help: [`ABOUT`]).
#[derive(Debug, clap::Args)]
pub struct UiArgs {
    /// Onde escutar (IP:PORTA; porta 0 = qualquer uma livre).
    #[arg(long, value_name = "IP:PORTA", default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Deixa escutar fora do loopback (como 0.0.0.0:8000): qualquer um na rede lê os
    /// traces, sem senha.
    #[arg(long)]
    pub publico: bool,
}

pub fn cmd(state: &StateDir, args: UiArgs) -> CliResult {
    let Some(site) = Site::embedded() else {
        return Err(CliError::msg(
            125,
            "este casulo foi compilado sem o visualizador e o curso embutidos \
             (a feature `embutido`), então `casulo ui` não tem o que servir",
        )
        .with_hint(
            "gere o binário que leva tudo com `cargo xtask dist` (fica em dist/casulo); \
             no repositório, `cargo xtask serve` serve o visualizador e o curso",
        ));
    };
    // Without root the site is served all the same; only the list of
    // traces stays empty, and this says why.
    let root = state.root();
    if root.exists() && nix::unistd::access(root, nix::unistd::AccessFlags::X_OK).is_err() {
        eprintln!(
            "casulo ui: nota: sem os traces gravados: {}",
            super::private_root_message(root)
        );
    }
    let log: daemon::Log = std::sync::Arc::new(|line: String| eprintln!("casulo ui: {line}"));
    let ctx = std::sync::Arc::new(daemon::Ctx::new(state.clone(), log));
    let (files, bytes) = Site::embedded_size();
    daemon::ui::serve_alone(ctx, args.listen, args.publico, site, |addr| {
        if !addr.ip().is_loopback() {
            eprintln!(
                "casulo ui: aviso: {addr} não é só desta máquina: quem alcançar a porta lê \
                 os traces, sem senha"
            );
        }
        eprintln!(
            "casulo ui: visualizador em http://{addr}/ e o curso em http://{addr}/curso/ \
             ({files} arquivos embutidos, {} KiB; traces de {}, só leitura). Ctrl-C para.",
            bytes / 1024,
            state.traces().display()
        );
    })?;
    Ok(0)
}
