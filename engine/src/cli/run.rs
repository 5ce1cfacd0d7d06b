//! `casulo run`: create and start a container, wait for it, exit with its code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use super::{CliError, CliResult};
use crate::cgroups::resources::{self, PidsLimit, Swap};
use crate::cgroups::Resources;
use crate::container::run::{run, RunObserver, RunOutcome};
use crate::container::{ContainerRecord, RunOptions};
use crate::kernel::LinuxSyscalls;
use crate::network::ports::PortSpec;
use crate::network::NetworkMode;
use crate::state::StateDir;
use casulo_trace::text::bytes as bytes_text;

/// Executa um comando num contêiner novo (como `docker run`).
///
/// As opções do casulo vêm antes da imagem; tudo o que vem depois dela é o
/// comando, como no docker: em `casulo run busybox ls --rm`, `--rm` é do `ls`.
// `-h` is help here (what users expect); the hostname is long-only
// (`--hostname`), unlike docker's rarely typed `-h`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Nome do contêiner (padrão: um nome gerado, como curioso_tatu ou curiosa_arara).
    #[arg(long, value_name = "NOME")]
    pub name: Option<String>,
    /// Hostname dentro do contêiner (padrão: os 12 primeiros dígitos do id).
    /// Só a forma longa: `-h` é a ajuda (no docker, `-h` é o hostname).
    #[arg(long, value_name = "NOME")]
    pub hostname: Option<String>,
    /// Variável de ambiente CHAVE=valor (repita para várias; CHAVE sozinha copia a do host).
    #[arg(long = "env", short = 'e', value_name = "CHAVE=valor")]
    pub env: Vec<String>,
    /// Diretório de trabalho dentro do contêiner (criado se não existir).
    #[arg(long = "workdir", short = 'w', value_name = "DIR")]
    pub workdir: Option<String>,
    /// Usuário dentro do contêiner: NOME, UID, NOME:GRUPO ou UID:GID (do /etc/passwd da imagem).
    #[arg(long = "user", short = 'u', value_name = "USUÁRIO[:GRUPO]")]
    pub user: Option<String>,
    /// Troca o Entrypoint da imagem (e descarta o Cmd dela); "" tira o Entrypoint.
    #[arg(long, value_name = "COMANDO")]
    pub entrypoint: Option<String>,
    /// Remove o contêiner (sua camada de escrita) quando ele terminar.
    #[arg(long)]
    pub rm: bool,
    /// Onde gravar o trace (padrão: <root>/traces/<nome>-<8 primeiros dígitos do id>.trace.jsonl).
    #[arg(long, value_name = "ARQUIVO")]
    pub trace: Option<PathBuf>,
    /// Limite de memória (cgroup), como 64m ou 1g (unidades b, k, m, g; mínimo 6m).
    #[arg(long, short = 'm', value_name = "TAMANHO", value_parser = resources::parse_memory)]
    pub memory: Option<u64>,
    /// Limite de memória + swap juntos (-1: swap sem limite); exige --memory.
    #[arg(long = "memory-swap", value_name = "TAMANHO", allow_hyphen_values = true,
          value_parser = resources::parse_swap)]
    pub memory_swap: Option<Swap>,
    /// Limite de CPU em CPUs, como 0.5 (meia CPU: 50 ms a cada 100 ms).
    #[arg(long, value_name = "N", value_parser = resources::parse_cpus)]
    pub cpus: Option<u64>,
    /// Peso relativo de CPU na escala do cgroup v1 (2 a 262144; normal 1024).
    // No `-c` (docker has it): `IMAGE -c "…"` must reach the command (sh -c).
    #[arg(long = "cpu-shares", value_name = "N", value_parser = resources::parse_shares)]
    pub cpu_shares: Option<u64>,
    /// Peso relativo de CPU na escala do cgroup v2 (1 a 10000; normal 100).
    #[arg(long = "cpu-weight", value_name = "N", value_parser = resources::parse_weight)]
    pub cpu_weight: Option<u64>,
    /// Número máximo de processos no contêiner (padrão: 1024, contra fork bombs;
    /// 0 ou -1: sem limite; sem root, só com um cgroup delegado).
    #[arg(long = "pids-limit", value_name = "N", allow_hyphen_values = true,
          value_parser = resources::parse_pids)]
    pub pids_limit: Option<PidsLimit>,
    /// Rede: none (o padrão: o contêiner só tem `lo`), bridge (ganha eth0 com um
    /// endereço 10.88.x.y, ligado à bridge casulo0 do host, e sai para o mundo pelo
    /// host, por NAT) ou o nome de uma rede criada
    /// com `casulo network create` (com DNS: os contêineres se acham pelo nome).
    /// Diferente do docker, cuja rede padrão é a bridge: aqui o contêiner começa
    /// isolado, sem rede nenhuma. Sem root, a rede padrão vem do pasta, e bridge e
    /// redes com nome são recusadas.
    #[arg(long = "network", visible_alias = "net", value_name = "REDE",
          value_parser = |s: &str| s.parse::<NetworkMode>())]
    pub network: Option<NetworkMode>,
    /// Mais um nome do contêiner no DNS da rede (repita para vários); só numa rede
    /// criada com `casulo network create`.
    #[arg(long = "network-alias", value_name = "NOME")]
    pub network_alias: Vec<String>,
    /// O endereço do contêiner na rede, como 10.89.1.10 (só numa rede criada com
    /// `casulo network create`; tem de estar na sub-rede dela).
    #[arg(long = "ip", value_name = "IPv4")]
    pub ip: Option<std::net::Ipv4Addr>,
    /// Com --userland-proxy=false, cada -p vira uma regra DNAT do nftables (o kernel
    /// reescreve o destino dos pacotes) em vez do proxy do casulo (que escuta a porta e
    /// copia os bytes). Pelo DNAT, 127.0.0.1 não chega ao contêiner: use um endereço do host.
    #[arg(long = "userland-proxy", value_name = "true|false", default_value_t = true,
          action = clap::ArgAction::Set)]
    pub userland_proxy: bool,
    /// Publica uma porta do contêiner no host, como 8080:80 ou 127.0.0.1:8080:80/tcp
    /// (repita para várias; o IP padrão é 0.0.0.0). Implica --network bridge (sem
    /// root, as portas passam pelo pasta).
    #[arg(long = "publish", short = 'p', value_name = "[IP:]HOST:CONTÊINER[/PROTO]",
          value_parser = |s: &str| s.parse::<PortSpec>())]
    pub publish: Vec<PortSpec>,
    /// Dá ao root do contêiner mais uma capability, além das 14 do docker (repita para
    /// várias): os nomes do docker, com ou sem CAP_, como NET_ADMIN ou SYS_TIME; ALL dá todas.
    #[arg(long = "cap-add", value_name = "CAP", value_parser = crate::security::capabilities::parse_name)]
    pub cap_add: Vec<String>,
    /// Tira uma capability do root do contêiner (repita para várias), como CHOWN;
    /// ALL tira todas (e então só ficam as de --cap-add).
    #[arg(long = "cap-drop", value_name = "CAP", value_parser = crate::security::capabilities::parse_name)]
    pub cap_drop: Vec<String>,
    /// PERIGOSO: desliga as travas de segurança. O root do contêiner fica com todas as
    /// capabilities, sem filtro seccomp e sem no_new_privs: pode montar discos, carregar
    /// módulos no kernel, mexer no relógio do host. Só para experimentos numa máquina sua.
    #[arg(long)]
    pub privileged: bool,
    /// Opção de segurança, como no docker: seccomp=unconfined (sem filtro seccomp) ou
    /// seccomp=ARQUIVO.json (um perfil no formato do docker no lugar do padrão do casulo).
    #[arg(long = "security-opt", value_name = "OPÇÃO", value_parser = parse_security_opt)]
    pub security_opt: Vec<String>,
    /// Namespace de usuário: `--userns` (ou `--userns=auto`) faz o root do contêiner
    /// ser, no host, um usuário sem privilégio nenhum: o intervalo de /etc/subuid e
    /// /etc/subgid do usuário casulo (ou do root), ou o padrão 100000:65536. Lá dentro
    /// ele continua root, mas só manda no que é do contêiner. `--userns=host` (o padrão)
    /// usa os ids do host. Como o `--userns` do podman e o `--userns-remap` do docker.
    /// Com ele, volumes e diretórios do host (-v, --mount) ainda são recusados
    /// (--tmpfs funciona).
    #[arg(long, value_name = "MODO", num_args = 0..=1, require_equals = true,
          default_missing_value = "auto")]
    pub userns: Option<String>,
    /// Monta um volume ou um diretório do host: NOME:/destino (volume com nome,
    /// criado no primeiro uso e preenchido com o que a imagem tem no destino),
    /// /caminho/do/host:/destino (bind) ou só /destino (volume anônimo);
    /// acrescente :ro para somente leitura. Repita para vários.
    #[arg(long = "volume", short = 'v', value_name = "[ORIGEM:]DESTINO[:ro]",
          value_parser = crate::volume::spec::parse_volume)]
    pub volume: Vec<crate::volume::MountSpec>,
    /// Monta um tmpfs (sistema de arquivos na memória, some com o contêiner) em
    /// DESTINO, com opções como size=64m,mode=1777 (padrão: noexec,nosuid,nodev).
    #[arg(long = "tmpfs", value_name = "DESTINO[:OPÇÕES]",
          value_parser = crate::volume::spec::parse_tmpfs)]
    pub tmpfs: Vec<crate::volume::MountSpec>,
    /// Forma longa de -v/--tmpfs: type=bind|volume|tmpfs,source=…,target=…[,readonly]
    /// (e tmpfs-size=, tmpfs-mode=).
    #[arg(long = "mount", value_name = "type=…,source=…,target=…",
          value_parser = crate::volume::spec::parse_mount)]
    pub mount: Vec<crate::volume::MountSpec>,
    /// Monta a raiz do contêiner somente leitura: ele só escreve nos volumes, nos
    /// tmpfs (use --tmpfs /tmp se o programa precisar) e em /dev/shm.
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Roda em segundo plano: um supervisor (o próprio casulo) cuida do contêiner,
    /// guarda a saída dele (veja `casulo logs`) e o casulo run volta na hora,
    /// mostrando o id.
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Mantém a entrada padrão (stdin) aberta para o contêiner: com -t, o que
    /// você digita vai para o terminal dele. Sem -t, o contêiner recebe a entrada
    /// do casulo como ela é (diferente do docker: aqui ela chega mesmo sem -i).
    #[arg(long, short = 'i')]
    pub interactive: bool,
    /// Dá ao contêiner um terminal próprio (um pseudo-terminal, /dev/pts/0 lá
    /// dentro): com -it, um shell interativo com controle de jobs, como em
    /// `casulo run -it busybox sh` (Ctrl-C e Ctrl-Z vão para o shell; o tamanho da
    /// janela acompanha o seu terminal). Com -it a entrada precisa ser um terminal.
    #[arg(long, short = 't')]
    pub tty: bool,
    /// Quando reiniciar o contêiner que terminou (quem reinicia é o supervisor: com
    /// -d, ou depois de `casulo start`; num run em primeiro plano a política só fica
    /// guardada): no (o padrão), on-failure[:N] (só se o código não for 0; no máximo
    /// N vezes), always, unless-stopped.
    #[arg(long, value_name = "POLÍTICA", value_parser = |s: &str| s.parse::<crate::container::RestartPolicy>())]
    pub restart: Option<crate::container::RestartPolicy>,
    /// Intervalo entre duas medições de uso do cgroup no trace (padrão 200ms; com -d,
    /// depois dos primeiros 10 s, no mínimo 5 s).
    #[arg(long = "sample-interval", value_name = "DURAÇÃO", value_parser = parse_interval)]
    pub sample_interval: Option<Duration>,
    /// A imagem (como busybox ou busybox:latest) e, depois dela, o comando e
    /// seus argumentos (padrão: o Cmd da imagem). Tudo depois da imagem é do
    /// comando, mesmo o que começa com `-`.
    // One positional with trailing_var_arg: once the image is read, clap
    // stops looking for casulo's options (docker's rule).
    #[arg(
        trailing_var_arg = true,
        required = true,
        num_args = 1..,
        value_names = ["IMAGEM", "COMANDO"]
    )]
    pub image_and_command: Vec<String>,
}

impl RunArgs {
    /// The image: the first word after casulo's options.
    pub fn image(&self) -> &str {
        &self.image_and_command[0]
    }

    /// The command: everything after the image.
    pub fn command(&self) -> &[String] {
        &self.image_and_command[1..]
    }
}

/// The bar of the layer being unpacked (on a terminal only).
static UNPACK_BAR: std::sync::Mutex<Option<(String, super::image::Progress)>> =
    std::sync::Mutex::new(None);

/// Draws a progress bar while a layer is unpacked (see `RunOptions::unpack_progress`).
fn unpack_progress(digest: &str, done: u64, total: u64) {
    let Ok(mut bar) = UNPACK_BAR.lock() else {
        return;
    };
    if bar.as_ref().is_none_or(|(d, _)| d != digest) {
        let label = format!("desempacotando {}", crate::image::digest::short_id(digest));
        *bar = Some((
            digest.to_string(),
            super::image::Progress::new(&label, false),
        ));
    }
    if let Some((_, progress)) = bar.as_ref() {
        progress.update(done, total);
    }
    if done >= total {
        *bar = None;
    }
}

struct Narrator;

impl RunObserver for Narrator {
    fn created(&mut self, record: &ContainerRecord) {
        // One write: stderr is unbuffered, and `eprintln!` writes each
        // piece of its format apart (14 writes to the terminal, not 1).
        let text = format!(
            "casulo: contêiner {} ({}) da imagem {}\ncasulo: trace: {}\n",
            record.name,
            &record.id[..12],
            record.image,
            record.trace.display()
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
    }

    fn network(
        &mut self,
        network: &crate::network::networks::Network,
        ip: std::net::Ipv4Addr,
        ports: &[PortSpec],
    ) {
        let ports = if ports.is_empty() {
            String::new()
        } else {
            format!("; portas {}", crate::network::ports::list(ports))
        };
        eprintln!(
            "casulo: rede {}: eth0 {ip}/{} (gateway {}, bridge {}){ports}",
            network.name, network.prefix, network.gateway, network.bridge
        );
    }

    fn signal_forwarded(&mut self, signal: Signal, escalated: bool) {
        if escalated {
            eprintln!("casulo: segundo sinal: enviando SIGKILL ao contêiner");
        } else {
            eprintln!(
                "casulo: repassei {} ao PID 1 do contêiner (ele só reage se tratar o sinal; repita para forçar com SIGKILL)",
                signal.as_str()
            );
        }
    }
}

pub fn cmd(state: &StateDir, args: RunArgs) -> CliResult {
    refuse_it_without_terminal(&args)?;
    // Docker's habit `casulo run IMAGE --rm …`: said if the command fails.
    let misplaced = args
        .command()
        .first()
        .filter(|w| w.starts_with('-') && w.len() > 1)
        .cloned();
    let opts = run_options(args)?;
    if opts.detach {
        return detach(state, &opts);
    }
    match run(state, &opts, &LinuxSyscalls, &mut Narrator) {
        Ok(outcome) => Ok(tell_outcome(&outcome)),
        Err(e) => {
            let code = e.exit_code();
            let hint = match (code, &misplaced) {
                (127, Some(word)) => Some(format!(
                    "{word:?} veio depois da imagem, então virou o comando do contêiner \
                     (como no docker); as opções do casulo vão antes da imagem: \
                     casulo run {word} {} … (veja `casulo run --help`)",
                    opts.image
                )),
                _ => None,
            };
            Err(CliError {
                code,
                error: Box::new(e),
                hint,
            })
        }
    }
}

/// docker's "the input device is not a TTY": the keys of -it must come
/// from a terminal (raw mode, Ctrl-C as a byte); -t alone takes any input,
/// and -dit none (the keys come later, from `casulo attach`).
fn refuse_it_without_terminal(args: &RunArgs) -> Result<(), CliError> {
    if args.tty && args.interactive && !args.detach && !std::io::stdin().is_terminal() {
        return Err(CliError::msg(
            125,
            "a entrada não é um terminal (TTY): -it precisa que a entrada do casulo seja \
             um terminal, e ela é um pipe ou um arquivo. Tire o -t para mandar a entrada \
             como ela é (casulo run -i …)",
        ));
    }
    Ok(())
}

/// The network a run gets: -p implies the bridge; with an explicit
/// `--network none` it is a mistake.
fn network_mode(args: &RunArgs) -> Result<NetworkMode, CliError> {
    Ok(match (args.network.clone(), args.publish.is_empty()) {
        (Some(NetworkMode::None), false) => {
            return Err(CliError::msg(
                125,
                "-p/--publish precisa da rede bridge, mas foi pedido --network none \
                 (tire --network none: -p já liga a rede bridge)",
            ))
        }
        (Some(mode), _) => mode,
        (None, true) => NetworkMode::None,
        // Rootless: the ports go through pasta, the container keeps its
        // own network namespace (`crate::rootless::pasta`).
        (None, false) if crate::rootless::active() => NetworkMode::None,
        (None, false) => NetworkMode::Bridge,
    })
}

/// The security options, with the seccomp profile file read now, on the
/// host: a mistake in it stops the run before anything exists (and the
/// init could not read it later).
fn security_options(args: &RunArgs) -> Result<crate::security::SecurityOptions, CliError> {
    let mut security = crate::security::SecurityOptions {
        privileged: args.privileged,
        cap_add: args.cap_add.clone(),
        cap_drop: args.cap_drop.clone(),
        seccomp: args.security_opt.last().cloned(),
        seccomp_profile: None,
        userns: userns_mapping(args.userns.as_deref())?,
    };
    security
        .load_seccomp_profile()
        .map_err(|message| CliError::msg(125, message))?;
    Ok(security)
}

/// The command line as the engine's [`RunOptions`].
fn run_options(args: RunArgs) -> Result<RunOptions, CliError> {
    let network = network_mode(&args)?;
    // Rootless without `--network none`: pasta gives it a way out (and
    // the `-p` ports), as podman does by default.
    let pasta = crate::rootless::active() && args.network.is_none();
    let security = security_options(&args)?;
    Ok(RunOptions {
        image: args.image().to_string(),
        command: args.command().to_vec(),
        name: args.name,
        hostname: args.hostname,
        env: args.env,
        workdir: args.workdir,
        rm: args.rm,
        trace: args.trace,
        entrypoint: args.entrypoint,
        user: args.user,
        resources: Resources {
            memory: args.memory,
            memory_swap: args.memory_swap,
            cpu_quota_us: args.cpus,
            cpu_shares: args.cpu_shares,
            cpu_weight: args.cpu_weight,
            pids: resources::pids_or_default(args.pids_limit),
        },
        sample_interval: args.sample_interval,
        network,
        network_aliases: args.network_alias,
        ip: args.ip,
        publish_dnat: !args.userland_proxy,
        pasta,
        publish: args.publish,
        unpack_progress: Some(unpack_progress),
        security,
        mounts: args
            .volume
            .into_iter()
            .chain(args.tmpfs)
            .chain(args.mount)
            .collect(),
        read_only: args.read_only,
        detach: args.detach,
        tty: args.tty,
        interactive: args.interactive,
        restart: args.restart.unwrap_or_default(),
    })
}

/// What a foreground run ended with, said (an OOM, a signal, a trace that
/// missed events); its exit code.
fn tell_outcome(outcome: &RunOutcome) -> i32 {
    let oom = tell_cgroup(outcome);
    if let (WaitStatus::Signaled(_, signal, _), false) = (outcome.status, oom) {
        eprintln!(
            "casulo: o processo do contêiner foi morto pelo sinal {} ({}) → código {}",
            signal.as_str(),
            signal as i32,
            outcome.exit_code
        );
    }
    if outcome.trace_incomplete {
        eprintln!("casulo: aviso: alguns eventos não puderam ser gravados no trace");
    }
    outcome.exit_code
}

/// `run -d`: create here (the image unpacked with its progress bars), then
/// the supervisor starts it and lives on; the id on stdout, as docker.
fn detach(state: &StateDir, opts: &RunOptions) -> CliResult {
    use crate::container::{create, rm, supervise};
    opts.resources
        .validate()
        .map_err(|m| CliError::msg(125, m))?;
    let created = create::create(state, opts)?;
    let record = created.record.clone();
    drop(created);
    match supervise::spawn(state, &record) {
        Ok(pid) => {
            eprintln!(
                "casulo: {} ({}) roda em segundo plano (pid {pid} no host); \
                 saída: casulo logs {}; parar: casulo stop {}",
                record.name,
                &record.id[..12],
                record.name,
                record.name
            );
            if record.host.tty {
                eprintln!(
                    "casulo: terminal: casulo attach {} (sair dele sem parar o contêiner: \
                     Ctrl-P Ctrl-Q)",
                    record.name
                );
            } else if record.host.interactive {
                eprintln!(
                    "casulo: a entrada dele fica aberta (-i, sem terminal): \
                     `casulo attach {}` escreve nela o que você digitar ou mandar por um pipe",
                    record.name
                );
            }
            eprintln!("casulo: trace: {}", record.trace.display());
            println!("{}", record.id);
            Ok(0)
        }
        Err(e) => {
            // Never started: nothing of it stays (as a failed `run`).
            crate::container::kill::wait_supervisor_gone(state, &record);
            rm::remove_dirs(state, &record.id, &record.name);
            rm::remove_anonymous_volumes(state, &record);
            Err(CliError {
                code: e.exit_code(),
                error: Box::new(e),
                hint: None,
            })
        }
    }
}

/// Tells what the cgroup refused; true when the OOM killer killed the
/// container's main process (that message replaces the signal one).
fn tell_cgroup(outcome: &RunOutcome) -> bool {
    let Some(report) = outcome.cgroup else {
        return false;
    };
    let limit = report
        .memory_limit
        .map(|l| format!("limite de memória de {} atingido", bytes_text(l)))
        .unwrap_or_else(|| "memória esgotada".to_string());
    let main_killed = matches!(outcome.status, WaitStatus::Signaled(_, Signal::SIGKILL, _));
    let oom = report.oom_kills > 0 && main_killed;
    if oom {
        eprintln!(
            "casulo: o kernel matou o processo: {limit} (OOM) → código {}",
            outcome.exit_code
        );
    } else if report.oom_kills > 0 {
        eprintln!(
            "casulo: o kernel matou {} processo(s) do contêiner por falta de memória: {limit}",
            report.oom_kills
        );
    }
    if report.pids_refused > 0 {
        eprintln!(
            "casulo: limite de {} processos atingido: o kernel recusou {} fork(s)",
            report.pids_limit.unwrap_or(0),
            report.pids_refused
        );
    }
    if let Some(why) = &outcome.cgroup_leftover {
        eprintln!("casulo: aviso: o cgroup do contêiner não pôde ser removido ({why}); rode `casulo gc` depois");
    }
    oom
}

/// `--security-opt seccomp=unconfined|ARQUIVO.json` (docker's `seccomp:`
/// too): the value after `seccomp=`.
fn parse_security_opt(s: &str) -> Result<String, String> {
    let value = s
        .strip_prefix("seccomp=")
        .or_else(|| s.strip_prefix("seccomp:"))
        .ok_or_else(|| {
            format!(
                "opção de segurança {s:?} desconhecida: o casulo entende \
                 seccomp=unconfined e seccomp=ARQUIVO.json"
            )
        })?;
    if value.is_empty() {
        return Err(
            "falta o perfil depois de seccomp=: use seccomp=unconfined ou \
                    seccomp=ARQUIVO.json"
                .to_string(),
        );
    }
    Ok(value.to_string())
}

/// `--sample-interval 200ms`, `1s`: between 10 ms and 60 s.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|_| format!("{s:?} não é uma duração (use, por exemplo, 200ms ou 1s)"))?;
    if d < Duration::from_millis(10) || d > Duration::from_secs(60) {
        return Err(format!("{s:?} fora do intervalo: use de 10ms a 60s"));
    }
    Ok(d)
}

/// `--userns[=MODO]`: the range, said on stderr (with where it came from).
fn userns_mapping(
    mode: Option<&str>,
) -> Result<Option<crate::security::userns::IdMapping>, CliError> {
    let Some(mode) = mode else {
        return Ok(None);
    };
    let ids = crate::security::userns::parse_mode(mode, std::path::Path::new("/etc"))
        .map_err(|e| CliError::msg(125, e.to_string()))?;
    if let Some(ids) = &ids {
        eprintln!("casulo: --userns: {}", ids.describe());
    }
    Ok(ids)
}
