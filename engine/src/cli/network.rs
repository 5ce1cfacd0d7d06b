//! `casulo network`: networks with names (create, ls, inspect, rm, prune,
//! connect, disconnect), as `docker network`. The networks are host-wide
//! ([`crate::network::networks`]); connect and disconnect act on a running
//! container ([`crate::network::connect`]), recorded in its trace.

use std::net::Ipv4Addr;

use super::{CliError, CliResult};
use crate::container::{self, connect::Done};
use crate::kernel::{Kernel, LinuxSyscalls};
use crate::network::connect as joining;
use crate::network::{self, networks, NetDir, NetworkError};
use crate::recorder::Recorder;
use crate::state::StateDir;

/// Gerencia redes: cada uma com sua sub-rede, sua bridge e DNS entre os contêineres.
#[derive(Debug, clap::Subcommand)]
pub enum NetworkCmd {
    /// Cria uma rede (uma bridge nova no host, `cas-` + 8 dígitos do id).
    Create {
        /// O nome da rede nova.
        #[arg(value_name = "NOME")]
        name: String,
        /// A sub-rede, como 10.89.5.0/24 (padrão: a primeira 10.89.N.0/24 livre).
        #[arg(long, value_name = "CIDR")]
        subnet: Option<String>,
        /// O endereço da bridge, gateway dos contêineres (só com --subnet; padrão: o
        /// primeiro da sub-rede).
        #[arg(long, value_name = "IPv4")]
        gateway: Option<Ipv4Addr>,
        /// Driver (só bridge existe; aceito como no docker).
        #[arg(short, long, default_value = "bridge", value_parser = ["bridge"])]
        driver: String,
    },
    /// Lista as redes.
    #[command(visible_alias = "list")]
    Ls {
        /// Só os nomes.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Mostra redes em JSON: sub-rede, gateway, bridge e os contêineres ligados.
    Inspect {
        /// Nome ou id da rede.
        #[arg(required = true, value_name = "REDE")]
        names: Vec<String>,
    },
    /// Remove redes (recusa uma em uso, dizendo por quem).
    #[command(visible_alias = "remove")]
    Rm {
        /// Nome ou id da rede.
        #[arg(required = true, value_name = "REDE")]
        names: Vec<String>,
    },
    /// Remove as redes sem nenhum contêiner.
    Prune {
        /// Sem perguntar (o casulo nunca pergunta; aceito como no docker).
        #[arg(short, long)]
        force: bool,
    },
    /// Liga um contêiner a mais uma rede (rodando, ganha uma interface nova: eth1, eth2…; parado, na próxima partida).
    // The arguments first: the help lists its headings in the order the
    // fields come ("Argumentos" before "Opções", as in every other command).
    Connect {
        /// A rede (nome ou id).
        #[arg(value_name = "REDE")]
        network: String,
        /// O contêiner (nome, id ou começo do id).
        #[arg(value_name = "CONTÊINER")]
        container: String,
        /// O endereço do contêiner nessa rede (tem de estar na sub-rede dela; só em
        /// redes criadas com `network create`).
        #[arg(long, value_name = "IPv4")]
        ip: Option<Ipv4Addr>,
        /// Mais um nome do contêiner no DNS dessa rede (repita para vários; só em
        /// redes criadas com `network create`).
        #[arg(long = "alias", value_name = "NOME")]
        aliases: Vec<String>,
    },
    /// Desliga um contêiner de uma rede ligada com `network connect` (rodando, a interface some).
    Disconnect {
        /// A rede (nome ou id).
        #[arg(value_name = "REDE")]
        network: String,
        /// O contêiner (nome, id ou começo do id).
        #[arg(value_name = "CONTÊINER")]
        container: String,
        /// Aceito como no docker (o casulo desliga do mesmo jeito).
        #[arg(short, long)]
        force: bool,
    },
}

impl NetworkCmd {
    /// Reading (`ls`, `inspect`) works without root.
    pub fn changes_state(&self) -> bool {
        !matches!(self, NetworkCmd::Ls { .. } | NetworkCmd::Inspect { .. })
    }
}

pub fn run(state: &StateDir, cmd: NetworkCmd) -> CliResult {
    let net = NetDir::host();
    let fail = |e: NetworkError| CliError::msg(1, e.to_string());
    // No container: the bridge's events stay in memory, failures are said.
    let rec = Recorder::in_memory();
    let k = Kernel::new(&LinuxSyscalls, &rec);
    match cmd {
        NetworkCmd::Create {
            name,
            subnet,
            gateway,
            driver: _,
        } => {
            let subnet = subnet
                .as_deref()
                .map(networks::parse_subnet)
                .transpose()
                .map_err(fail)?;
            let id = crate::container::new_id();
            let n = network::create(&k, &net, &name, subnet, gateway, &id).map_err(fail)?;
            eprintln!(
                "casulo: rede {}: sub-rede {}, gateway {}, bridge {} (com DNS em 127.0.0.11 nos contêineres)",
                n.name,
                n.cidr(),
                n.gateway,
                n.bridge
            );
            println!("{}", n.id);
        }
        NetworkCmd::Ls { quiet } => list(&net, quiet),
        NetworkCmd::Inspect { names } => return Ok(inspect(&net, names)),
        NetworkCmd::Rm { names } => {
            let mut code = 0;
            for name in names {
                match network::remove(&k, &net, &name) {
                    Ok(n) => println!("{}", n.name),
                    Err(e) => {
                        eprintln!("casulo: erro: {e}");
                        code = 1;
                    }
                }
            }
            return Ok(code.max(failed(&rec)));
        }
        NetworkCmd::Connect {
            ip,
            aliases,
            network: key,
            container: who,
        } => return connect(state, &key, &who, ip, &aliases),
        NetworkCmd::Disconnect {
            force: _,
            network: key,
            container: who,
        } => return disconnect(state, &key, &who),
        NetworkCmd::Prune { force: _ } => {
            for n in net.networks().list() {
                if n.is_default() || !network::users(&net, &n.name).is_empty() {
                    continue;
                }
                if network::remove(&k, &net, &n.name).is_ok() {
                    println!("removida: {}", n.name);
                }
            }
        }
    }
    Ok(failed(&rec))
}

/// `network ls`: a table, or only the names.
fn list(net: &NetDir, quiet: bool) {
    let all = net.networks().list();
    if quiet {
        for n in &all {
            println!("{}", n.name);
        }
        return;
    }
    let width = all.iter().map(|n| n.name.len()).max().unwrap_or(0).max(4);
    println!(
        "{:<12}  {:<width$}  {:<12}  {:<16}  {:<15}  CONTÊINERES",
        "ID", "NOME", "BRIDGE", "SUB-REDE", "GATEWAY"
    );
    for n in all {
        let users = network::users(net, &n.name);
        println!(
            "{:<12}  {:<width$}  {:<12}  {:<16}  {:<15}  {}",
            &n.id[..12],
            n.name,
            n.bridge,
            n.cidr(),
            n.gateway.to_string(),
            users.len()
        );
    }
}

/// `network inspect`: the JSON of each network found; 1 when one is not.
fn inspect(net: &NetDir, names: Vec<String>) -> i32 {
    let mut out = Vec::new();
    let mut code = 0;
    for name in names {
        match net.networks().find(&name) {
            Ok(n) => out.push(network::inspect::inspect(net, &n)),
            Err(e) => {
                eprintln!("casulo: erro: {e}");
                code = 1;
            }
        }
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&out).expect("json serializes")
    );
    code
}

/// `network connect`: now when the container runs, at its next start when not.
fn connect(
    state: &StateDir,
    key: &str,
    who: &str,
    ip: Option<std::net::Ipv4Addr>,
    aliases: &[String],
) -> CliResult {
    for alias in aliases {
        check_alias(alias)?;
    }
    let record = container::find(state, who)?;
    let request = joining::Request { ip, aliases };
    match container::connect::connect(state, &record, key, &request)? {
        Done::Now {
            network,
            ifname,
            ip,
            host_ifname,
        } => eprintln!(
            "casulo: {} ligado à rede {network}: {ifname} {ip} (no host: {host_ifname})",
            record.name
        ),
        Done::Recorded { network } => eprintln!(
            "casulo: {} não está rodando: entra na rede {network} na próxima partida",
            record.name
        ),
    }
    Ok(0)
}

/// `network disconnect`: now, or recorded for the next start.
fn disconnect(state: &StateDir, key: &str, who: &str) -> CliResult {
    let record = container::find(state, who)?;
    match container::connect::disconnect(state, &record, key)? {
        Done::Now {
            network,
            ifname,
            ip,
            ..
        } => eprintln!(
            "casulo: {} desligado da rede {network}: {ifname} {ip} apagada",
            record.name
        ),
        Done::Recorded { network } => eprintln!(
            "casulo: {} não entra mais na rede {network} ao partir",
            record.name
        ),
    }
    Ok(0)
}

/// An alias is a DNS name: letters, digits, `.`, `-`, `_`.
fn check_alias(alias: &str) -> Result<(), CliError> {
    let ok = !alias.is_empty()
        && alias.len() <= 63
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(CliError::msg(
            125,
            format!("apelido inválido {alias:?} em --alias: use letras, números, . - _ (até 63)"),
        ))
    }
}

/// Kernel operations that failed (said on stderr): exit code 1 if any.
pub(super) fn failed(rec: &Recorder) -> i32 {
    let failed = rec.failed_ops();
    for op in &failed {
        eprintln!("casulo: não consegui: {op}");
    }
    i32::from(!failed.is_empty())
}
