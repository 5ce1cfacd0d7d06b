//! `cargo xtask <comando>`: everything around the code, in Rust, with no
//! global tools to install by hand.
//!
//! - `setup`  installs what the project needs (Debian packages, rustup targets)
//! - `test`   the whole check: fmt, builds, tests, wasm build, clippy (CI runs this)
//! - `demo`   a real container, its trace checked, narrated and served in the visualizer
//! - `serve`  the visualizer and the recorded traces, without a container
//! - `bench`  container start-up time against runc, crun and a bare `unshare`;
//!   `bench unpack` (a big layer), `bench densidade` (100 idle `run -d` containers)
//! - `medir`  N containers vs N VMs (start time, memory) for the course's chapter 1
//! - `fuzz`   the coverage-guided fuzzers of `fuzz/` (libFuzzer), corpus kept in the repo
//! - `registro` a real registry (docker-registry) for a class, until Ctrl-C
//!
//! Messages are in Brazilian Portuguese (students read them); code and
//! comments in English, as in the rest of the project.

mod bench;
mod bench_ab;
mod bench_build;
mod bench_daemon;
mod bench_density;
mod bench_phases;
mod bench_registry;
mod bench_summary;
mod bench_tools;
mod bench_unpack;
mod bench_vm;
mod bench_web;
mod book;
mod browser;
mod cmd;
mod demo;
mod dist;
mod fuzz;
#[cfg(test)]
mod imports;
mod medir;
mod medir_containers;
mod medir_tools;
mod medir_vms;
mod musl;
mod registro;
mod serve;
mod setup;
mod test;
mod vm;
mod web;

use std::process::ExitCode;

/// Every step returns this: the error is a ready-to-print pt-BR message.
pub type Result<T = ()> = std::result::Result<T, Error>;

/// An error for the person running xtask: what failed, in pt-BR.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(e.to_string())
    }
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error(s.to_string())
    }
}

/// `Err(Error(format!(...)))` in one go.
#[macro_export]
macro_rules! fail {
    ($($t:tt)*) => { return Err($crate::Error(format!($($t)*))) };
}

const USAGE: &str = "\
uso: cargo xtask <comando> [opções]

comandos:
  setup              instala o que o projeto precisa (pacotes Debian, alvos do rustup); requer root
  test [opções]      verificação completa: fmt, compilação, testes, VM cgroup v2, build wasm, navegador, clippy
      --sem-vm         pula os testes de cgroup v2 na VM (qemu)
      --sem-clippy     pula o clippy
      --so-navegador   só o visualizador e os testes no navegador
  vm                 só a VM (qemu) com um kernel só cgroup v2: os limites e o caminho do demo
                     (build, rede com -p, -d/exec/stop/rm, volume, docker) com o dist/casulo
  book [opções]      grava os exemplos do curso que faltam e monta o curso em book/build
      --regravar [NOME...]  grava de novo (todos, ou os citados)
      --verificar      e depois as verificações do curso (doctest, ortografia, links)
  dist               o casulo estático (musl) com o visualizador e o curso embutidos, em dist/casulo:
                     um arquivo só para copiar às máquinas do laboratório (`casulo ui` os serve)
  demo               roda um contêiner de verdade, mostra o trace e o serve no visualizador
  serve [opções]     só o visualizador e os traces gravados, em http://127.0.0.1 (Ctrl-C para)
      --porta N        porta (padrão 8000; 0 = qualquer porta livre)
      --traces DIR     pasta dos traces (padrão /var/lib/casulo/traces)
  bench [opções]     mede a partida do casulo estático (o do `dist`; ao lado, o glibc e o estático
                     com o estado num tmpfs) contra runc, crun e `unshare`, depois `bench unpack`,
                     `bench build` e o visualizador, e mostra uma tabela com cada número e a meta
      --runs N         rodadas medidas (padrão 100)
      --warmup N       rodadas de aquecimento, não medidas (padrão 5)
      --sem-casulo     mede só as referências (runc, crun, piso)
      --so-visualizador  só os orçamentos do visualizador (wasm, abrir 100 mil eventos, quadros/s)
  bench unpack [opções]  desempacotar+verificar uma camada grande contra `tar -x` + `sha256sum`
      --mb N           tamanho da camada gerada em MB (padrão 200)
      --runs N         rodadas (padrão 5)
  bench build [--runs N]  `casulo build` contra `buildah build --layers` num Dockerfile de 15
                     passos, sem cache e com cache, e o pico de RSS do `run` e do `build`
                     (bench-results/build.json; padrão 5 rodadas)
  bench registry [opções]  push e pull de uma imagem de ~200 MB pelo loopback, casulo contra
                     `skopeo copy`, frio e morno, no registry de verdade (bench-results/registry.json)
      --mb N           tamanho das camadas geradas em MB (padrão 200)
      --runs N         rodadas (padrão 5)
  bench daemon [opções]  a API do Docker: `docker run --rm busybox true` pelo `casulo daemon`
                     contra `casulo run`, `GET /containers/json` e `docker ps` com N contêineres,
                     e a latência do ao vivo (trace escrito → cliente), em bench-results/daemon.json
      --runs N         rodadas de cada lado (padrão 20)
      --quantos N      contêineres no ar para a listagem (padrão 50)
      --pedidos N      pedidos de listagem (padrão 200)
  bench lado-a-lado [--runs N] NOME=BINÁRIO…  dois ou mais binários do casulo lado a lado
                     (`run --rm busybox true`), as pastas de estado em rodízio entre eles, com a
                     diferença ao primeiro rodada a rodada: se uma mudança deixou a partida mais
                     rápida (padrão 200 rodadas)
  bench vm [--runs N]  início→fim na VM só cgroup v2 (qemu): o piso (`unshare`), `crun run` e
                     `casulo run`, com as razões, em bench-results/vm.json (padrão 5 rodadas)
  bench densidade [opções]  N contêineres `busybox sleep` com `run -d`: partida e memória
                     por contêiner (supervisor + cgroup), em bench-results/densidade.json
      --quantos N      quantos contêineres (padrão 100)
  medir [opções]     N contêineres contra N VMs (qemu, sem KVM): tempo de partida e memória,
                     em book/medidas/conteineres-vms.json (capítulo 1 do curso)
      --n N            quantos de cada lado (padrão 5; o todo leva cerca de meio minuto)
  fuzz [ALVO...] [opções]  fuzzing guiado por cobertura (libFuzzer) dos leitores de entrada
                     hostil: dockerfile, dockerignore, trace, imagem, camada, carregar
                     (padrão: todos);
                     o corpus fica em fuzz/corpus/ALVO (e `test` o repete)
      --tempo S        segundos por alvo (padrão 60)
      --execucoes N    para depois de N execuções (além do tempo)
  registro [opções]  um registry de verdade (docker-registry) para a turma, até o Ctrl-C;
                     mostra o que os alunos digitam (CASULO_REGISTRY, push, pull)
      --porta N        porta (padrão 5000)
      --endereco IP    onde escutar (padrão 0.0.0.0: a rede da sala)
      --dados DIR      onde guardar os blobs (padrão target/registro)
      --usuario U --senha S  pede login (htpasswd)
  help               esta mensagem";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let result = match command.as_str() {
        "setup" => setup::run(),
        "test" => test::run(rest),
        "demo" => demo::run(),
        "dist" => dist::run(),
        "book" => book::run(rest),
        "serve" => demo::serve_only(rest),
        "vm" => setup::run().and_then(|()| vm::run(None, None)),
        "bench" => bench::run(rest),
        "medir" => medir::run(rest),
        "fuzz" => fuzz::run(rest),
        "registro" => registro::run(rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("xtask: comando desconhecido: {other}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask {command}: erro: {e}");
            ExitCode::FAILURE
        }
    }
}
