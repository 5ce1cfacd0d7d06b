//! The `net.*` kinds: links, addresses, routes, published ports, DNS and firewall rules.

use super::words::say;
use crate::{Event, EventBody};

/// The narration of this area's kinds; `None` for other kinds.
pub(super) fn describe(event: &Event) -> Option<String> {
    links(event).or_else(|| services(event))
}

/// Interfaces, addresses and routes.
fn links(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
        EventBody::NetLinkUp { ifname } => say(
            format!("ligou a interface de rede {ifname} (IFF_UP)"),
            format!("ligar a interface de rede {ifname}"),
        ),
        EventBody::NetBridge {
            name,
            address,
            created,
        } => {
            if *created {
                say(
                    format!("criou a bridge {name} com o endereço {address}"),
                    format!("criar a bridge {name}"),
                )
            } else {
                say(
                    format!("reaproveitou a bridge {name} ({address}), criada antes"),
                    format!("usar a bridge {name}"),
                )
            }
        }
        EventBody::NetVeth {
            host_ifname,
            container_ifname,
            netns_pid,
        } => say(
            format!(
                "criou o par veth {host_ifname} (host) ↔ {container_ifname} (na rede do processo {netns_pid})"
            ),
            format!("criar o par veth {host_ifname} ↔ {container_ifname}"),
        ),
        EventBody::NetAttach { ifname, bridge } => say(
            format!("ligou {ifname} à bridge {bridge}"),
            format!("ligar {ifname} à bridge {bridge}"),
        ),
        EventBody::NetAddr {
            ifname,
            address,
            inside,
        } => {
            let place = if *inside { "no contêiner" } else { "no host" };
            say(
                format!("deu o endereço {address} a {ifname} ({place})"),
                format!("dar o endereço {address} a {ifname}"),
            )
        }
        EventBody::NetRoute {
            destination,
            gateway,
            ifname,
            inside,
        } => {
            let place = if *inside { "no contêiner" } else { "no host" };
            let via = gateway
                .as_ref()
                .map(|g| format!(" via {g}"))
                .unwrap_or_default();
            say(
                format!("adicionou a rota {destination}{via} por {ifname} ({place})"),
                format!("adicionar a rota {destination}{via}"),
            )
        }
        EventBody::NetLinkDelete { ifname } => say(
            format!("removeu a interface {ifname}"),
            format!("remover a interface {ifname}"),
        ),
        _ => return None,
    })
}

/// Published ports, the embedded DNS and the firewall rules.
fn services(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
        EventBody::NetPort {
            protocol,
            host_ip,
            host_port,
            container_ip,
            container_port,
            mechanism,
        } => say(
            format!(
                "publicou {host_ip}:{host_port} → {container_ip}:{container_port}/{protocol} ({mechanism})"
            ),
            format!("publicar a porta {host_port}/{protocol}"),
        ),
        EventBody::NetPasta {
            target_pid,
            helper_pid,
            ports,
        } => say(
            format!(
                "deu rede sem root ao contêiner (PID {target_pid}) com o pasta (PID {helper_pid}){}",
                if ports.is_empty() {
                    String::new()
                } else {
                    format!(", portas {}", ports.join(", "))
                }
            ),
            "dar rede sem root ao contêiner com o pasta".to_string(),
        ),
        EventBody::NetPortClose {
            protocol,
            host_ip,
            host_port,
        } => say(
            format!("fechou a porta {host_ip}:{host_port}/{protocol} do host"),
            format!("fechar a porta {host_port}/{protocol}"),
        ),
        EventBody::NetDnsListen {
            address,
            network,
            netns_pid: _,
        } => say(
            format!("abriu o DNS da rede {network} em {address}, dentro do contêiner"),
            format!("abrir o DNS da rede {network} em {address}"),
        ),
        EventBody::NetDns {
            name,
            qtype,
            answer,
            resolved_by,
        } => {
            let who = match resolved_by.as_str() {
                "network" => "um contêiner da rede",
                "upstream" => "o DNS do host",
                _ => "ninguém",
            };
            let what = if answer.is_empty() {
                "nenhum endereço".to_string()
            } else {
                answer.join(", ")
            };
            say(
                format!("o contêiner perguntou quem é {name} ({qtype}): {what} (respondeu {who})"),
                format!("responder quem é {name}"),
            )
        }
        EventBody::NetRule {
            action,
            chain,
            rule,
            purpose,
        } => {
            let delete = action == "delete";
            match purpose.as_str() {
                // Not rules: casulo's table itself, and the host's routing.
                "table" => {
                    let (verb, inf) = if delete {
                        ("apagou", "apagar")
                    } else {
                        ("criou", "criar")
                    };
                    say(
                        format!("{verb} a tabela do nftables: {rule}"),
                        format!("{inf} a tabela do nftables"),
                    )
                }
                "forward" => say(
                    format!("ligou o roteamento entre interfaces do host: {rule}"),
                    "ligar o roteamento do host".to_string(),
                ),
                _ => {
                    let (verb, inf) = if delete {
                        ("apagou", "apagar")
                    } else {
                        ("escreveu", "escrever")
                    };
                    say(
                        format!("{verb} a regra de {purpose} em {chain}: {rule}"),
                        format!("{inf} a regra de {purpose} em {chain}"),
                    )
                }
            }
        }
        _ => return None,
    })
}
