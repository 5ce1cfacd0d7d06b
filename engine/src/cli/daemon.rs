//! `casulo daemon`: the Docker Engine API on a unix socket, so the docker
//! CLI drives casulo ([`crate::daemon`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use super::CliResult;
use crate::daemon::{self, DEFAULT_SOCKET};
use crate::state::StateDir;

/// Atende a API do Docker num socket unix: o `docker` de sempre passa a mandar no casulo
/// (DOCKER_HOST=unix:///run/casulo/casulo.sock docker run …). Fica em primeiro plano,
/// conta cada pedido que atende; Ctrl-C (ou SIGTERM) o para, e os contêineres continuam
/// rodando com seus supervisores.
#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    /// O socket unix onde escutar (criado com modo 0660; grupo casulo, se existir).
    #[arg(long, value_name = "CAMINHO", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Escuta também em TCP, como 127.0.0.1:2375 (sem senha nem TLS: quem alcança a
    /// porta manda nos contêineres; por isso, nunca por padrão).
    #[arg(long, value_name = "IP:PORTA")]
    pub tcp: Option<SocketAddr>,
}

pub fn cmd(state: &StateDir, args: DaemonArgs) -> CliResult {
    let log: daemon::Log = std::sync::Arc::new(|line: String| {
        eprintln!("casulo daemon: {line}");
    });
    let opts = daemon::Options {
        socket: args.socket,
        tcp: args.tcp,
    };
    daemon::serve(state.clone(), opts, log)?;
    eprintln!("casulo daemon: parado");
    Ok(0)
}
