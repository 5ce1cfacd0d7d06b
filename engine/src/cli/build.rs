//! `casulo build`: a Dockerfile and its context become an image (like
//! `docker build`), step by step, with a layer cache.

use std::path::{Path, PathBuf};

use super::CliResult;
use crate::build::{build, BuildObserver, BuildOptions};
use crate::state::StateDir;

/// Constrói uma imagem a partir de um Dockerfile (como `docker build`).
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Nome:tag da imagem construída, como meu-app:1.0 (repita para várias tags).
    #[arg(short = 't', long = "tag", value_name = "NOME:TAG")]
    pub tags: Vec<String>,
    /// O Dockerfile (padrão: CONTEXTO/Dockerfile).
    #[arg(short = 'f', long = "file", value_name = "ARQUIVO")]
    pub file: Option<PathBuf>,
    /// Ignora o cache: todos os passos rodam de novo.
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Valor de um ARG do Dockerfile: CHAVE=valor (repita para vários).
    #[arg(long = "build-arg", value_name = "CHAVE=valor")]
    pub build_args: Vec<String>,
    /// Onde gravar o trace (padrão: <root>/traces/build-<8 dígitos de um id novo>.trace.jsonl).
    #[arg(long, value_name = "ARQUIVO")]
    pub trace: Option<PathBuf>,
    /// Constrói só até este estágio (FROM … AS NOME, ou seu número) e faz
    /// dele a imagem; estágios de que ele não precisa são pulados.
    #[arg(long, value_name = "ESTÁGIO")]
    pub target: Option<String>,
    /// Um rótulo da imagem: CHAVE=valor (repita para vários), além dos LABEL do Dockerfile.
    #[arg(long = "label", value_name = "CHAVE=valor")]
    pub labels: Vec<String>,
    /// Grava o ID da imagem (sha256:…) neste arquivo, como o `docker build --iidfile`.
    #[arg(long, value_name = "ARQUIVO")]
    pub iidfile: Option<PathBuf>,
    /// O diretório de contexto: os arquivos que COPY e ADD podem ler.
    #[arg(value_name = "CONTEXTO")]
    pub context: PathBuf,
}

/// Prints each step like docker's classic builder, in Portuguese.
struct Narrator;

impl BuildObserver for Narrator {
    fn trace_opened(&mut self, path: &Path) {
        eprintln!("casulo: trace: {}", path.display());
    }

    fn step(&mut self, step: u32, total: u32, text: &str) {
        println!("Passo {step}/{total} : {text}");
    }

    fn cached(&mut self, _step: u32) {
        println!(" ---> cache");
    }

    fn pulling(&mut self, reference: &str) {
        println!("FROM {reference}: a imagem não está aqui; baixando do registry (casulo pull)");
    }

    fn layer(&mut self, _step: u32, diff_id: &str) {
        // The diff_id, as in `image history`, the trace and `layers/`.
        println!(
            " ---> camada {} (diff_id)",
            casulo_trace::text::short_digest(diff_id)
        );
    }

    fn skipped(&mut self, stages: &[String], target: &str) {
        let (noun, verb, them) = if stages.len() == 1 {
            ("Estágio", "pulado", "dele")
        } else {
            ("Estágios", "pulados", "deles")
        };
        println!(
            "{noun} {} {verb}: o estágio {target} não precisa {them}",
            stages.join(", ")
        );
    }
}

pub fn cmd(state: &StateDir, args: BuildArgs) -> CliResult {
    let mut labels = Vec::new();
    for label in &args.labels {
        match label.split_once('=') {
            Some((k, v)) if !k.is_empty() => labels.push((k.to_string(), v.to_string())),
            _ => {
                return Err(super::CliError::msg(
                    2,
                    format!("--label {label:?}: use CHAVE=valor"),
                ))
            }
        }
    }
    let args_iidfile = args.iidfile.clone();
    let opts = BuildOptions {
        labels,
        context: args.context,
        dockerfile: args.file,
        tags: args.tags,
        no_cache: args.no_cache,
        build_args: args.build_args,
        trace: args.trace,
        target: args.target,
    };
    let outcome = build(state, &opts, &mut Narrator)?;
    for note in &outcome.notes {
        eprintln!("casulo: nota: {note}");
    }
    for arg in &outcome.unused_args {
        eprintln!("casulo: aviso: --build-arg {arg} não foi usado: nenhum ARG {arg} no Dockerfile");
    }
    println!(
        "Imagem construída: {} ({} passos, {} do cache, {} camadas)",
        outcome.image_id, outcome.steps, outcome.cache_hits, outcome.layers
    );
    for tag in &outcome.tags {
        println!("Marcada como {tag}");
    }
    if let Some(path) = &args_iidfile {
        std::fs::write(path, &outcome.image_id)
            .map_err(|e| super::CliError::msg(1, format!("--iidfile {}: {e}", path.display())))?;
    }
    if outcome.tags.is_empty() {
        println!("(sem tag: use -t NOME:TAG para poder rodá-la com `casulo run`)");
    }
    Ok(0)
}
