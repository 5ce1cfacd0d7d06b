//! `casulo commit`: a container's read/write layer becomes a new image
//! (like `docker commit`).

use super::{CliError, CliResult};
use crate::build::commit::{commit, CommitError, CommitOptions};
use crate::container::RunError;
use crate::state::StateDir;
use casulo_trace::text::short_id;

/// Cria uma imagem nova a partir do que um contêiner mudou (como `docker commit`).
///
/// A camada de escrita do contêiner (o upperdir do overlay) vira uma camada
/// nova sobre a imagem dele: arquivos novos e alterados, e os apagados como
/// whiteouts. Prefira um Dockerfile e `casulo build`: o commit não diz como a
/// imagem foi feita e leva junto o lixo que o contêiner deixou.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exemplo:\n  casulo commit -m \"instalei o app\" --change 'CMD [\"/app\"]' meu-ctr meu-app:1.0"
)]
pub struct CommitArgs {
    /// Mensagem do commit (aparece em `casulo image history`).
    #[arg(short = 'm', long = "message", value_name = "MENSAGEM")]
    pub message: Option<String>,
    /// Autor da imagem, como "Ana <ana@exemplo.com>".
    #[arg(short = 'a', long = "author", value_name = "AUTOR")]
    pub author: Option<String>,
    /// Uma instrução de Dockerfile aplicada à configuração da imagem: CMD,
    /// ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR ou STOPSIGNAL
    /// (repita para várias).
    #[arg(short = 'c', long = "change", value_name = "INSTRUÇÃO")]
    pub changes: Vec<String>,
    /// Congelar o contêiner (freezer do cgroup) enquanto a camada é lida,
    /// como o docker faz por padrão; --pause=false lê com ele rodando.
    #[arg(
        short = 'p',
        long = "pause",
        value_name = "true|false",
        num_args = 0..=1,
        require_equals = true,
        default_value_t = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub pause: bool,
    /// Nome ou id do contêiner (veja `casulo ps -a`).
    #[arg(value_name = "CONTÊINER")]
    pub container: String,
    /// Nome da imagem nova, como meu-app:1.0 (sem ele, a imagem fica sem
    /// nome e só o id é mostrado).
    #[arg(value_name = "NOME[:TAG]")]
    pub reference: Option<String>,
}

pub fn cmd(state: &StateDir, args: CommitArgs) -> CliResult {
    let opts = CommitOptions {
        container: args.container,
        reference: args.reference,
        message: args.message,
        author: args.author,
        changes: args.changes,
        pause: args.pause,
    };
    let done = commit(state, &opts).map_err(|e| match e {
        CommitError::Container(RunError::NoSuchContainer(_)) => CliError::from(e).with_hint(
            "veja os contêineres guardados com `casulo ps -a` (um contêiner com --rm não fica \
             para o commit)",
        ),
        other => CliError::from(other),
    })?;
    if done.paused {
        eprintln!(
            "casulo: {} ficou congelado (pause) enquanto a camada era lida, e voltou a rodar",
            done.container
        );
    } else if done.was_running {
        eprintln!(
            "casulo: nota: {} foi lido rodando (--pause=false): um arquivo que ele escrevia \
             pode ter entrado pela metade",
            done.container
        );
    }
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    eprintln!(
        "casulo: camada nova {} (diff_id): {}, {}, {} de tar ({} comprimidos)",
        short_id(&done.layer.diff_id),
        plural(done.files, "entrada", "entradas"),
        plural(done.whiteouts, "whiteout", "whiteouts"),
        plural(done.bytes, "byte", "bytes"),
        done.layer.size
    );
    if let Some(tag) = &done.tag {
        eprintln!("casulo: imagem {tag}");
    }
    // stdout: only the id, as docker prints it.
    println!("{}", done.image_id);
    Ok(0)
}
