//! `casulo daemon`: the Docker Engine API on a unix socket, so the docker
//! CLI drives casulo ([`crate::daemon`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use super::CliResult;
use crate::daemon::{self, DEFAULT_SOCKET};
use crate::state::StateDir;

/// `casulo daemon --help`'s text (on the variant: a doc comment on the
/// Args struct is never shown, the variant's wins).
pub const ABOUT: &str = "Atende a API do Docker num socket unix: o `docker` de sempre passa a \
     mandar no casulo (DOCKER_HOST=unix:///run/casulo/casulo.sock docker run …). Fica em \
     primeiro plano, conta cada pedido que atende; Ctrl-C (ou SIGTERM) o para, e os \
     contêineres continuam rodando com seus supervisores.";

/// `casulo daemon`'s arguments (its help: [`ABOUT`]).
#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    /// O socket unix onde escutar (criado com modo 0660; grupo casulo, se existir).
    #[arg(long, value_name = "CAMINHO", default_value = DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Escuta também em TCP, como 127.0.0.1:2375 (sem senha nem TLS: quem alcança a
    /// porta manda nos contêineres; por isso, nunca por padrão).
    #[arg(long, value_name = "IP:PORTA")]
    pub tcp: Option<SocketAddr>,
    /// Serve o visualizador e os traces (só leitura, ao vivo) para o navegador, como
    /// 127.0.0.1:8000; abra http://127.0.0.1:8000/ (nada da API do Docker nesta porta).
    #[arg(long, value_name = "IP:PORTA")]
    pub ui: Option<SocketAddr>,
    /// Onde está o visualizador construído (index.html, index_bg.wasm; padrão:
    /// $CASULO_UI_DIR, senão ../share/casulo/visualizador ao lado do binário, senão o
    /// visualizer/dist deste repositório, feito por `cargo xtask serve`).
    #[arg(long, value_name = "DIR", requires = "ui")]
    pub ui_dir: Option<PathBuf>,
    /// Deixa --ui escutar fora do loopback (como 0.0.0.0:8000): qualquer um na rede lê
    /// os traces, sem senha.
    #[arg(long, requires = "ui")]
    pub ui_publico: bool,
}

pub fn cmd(state: &StateDir, args: DaemonArgs) -> CliResult {
    let log: daemon::Log = std::sync::Arc::new(|line: String| {
        eprintln!("casulo daemon: {line}");
    });
    let opts = daemon::Options {
        socket: args.socket,
        tcp: args.tcp,
        ui: args.ui,
        ui_dir: args.ui_dir,
        ui_public: args.ui_publico,
    };
    daemon::serve(state.clone(), opts, log)?;
    eprintln!("casulo daemon: parado");
    Ok(0)
}
