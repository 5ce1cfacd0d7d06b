//! casulo's firewall rules: isolation between user networks, the way out
//! (masquerade) and published ports by DNAT (`--userland-proxy=false`).
//!
//! Through the `nft` tool (Debian's `nftables`), in casulo's *own* table,
//! `table inet casulo`: nftables tables are independent (each with its own
//! hooks), so nothing of the host's firewall (its other tables, iptables'
//! rules, docker's) is read, changed or flushed. Why `nft` and not a
//! crate: the rule text the student reads in the trace (`net.rule`) is
//! exactly what `nft` was given, and `sudo nft list table inet casulo`
//! shows the same. Why not iptables: its rules live in shared chains
//! (`FORWARD`, `POSTROUTING`) that other programs also edit.
//!
//! ```text
//! table inet casulo
//!   chain forward      filter hook forward  (policy accept: only our drops)
//!   chain postrouting  nat hook postrouting (masquerade)
//!   chain prerouting   nat hook prerouting  (DNAT of -p, traffic from outside)
//!   chain output       nat hook output      (DNAT of -p, traffic from the host itself)
//! ```
//!
//! Every rule has a comment naming its owner, so it can be found again
//! (`nft -a list table inet casulo` gives the handles) and removed:
//!
//! | rule | chain | comment | why |
//! |---|---|---|---|
//! | `iifname "B" oifname "cas-*" oifname != "B" drop` | forward | `casulo:N:isola-redes` | nothing from network N reaches another user network |
//! | `iifname "B" oifname "casulo0" drop` | forward | `casulo:N:isola-da-bridge` | nor the default bridge |
//! | `iifname "casulo0" oifname "B" drop` | forward | `casulo:N:isola-para-bridge` | nor the other way |
//! | `ip saddr S oifname != "B" masquerade` | postrouting | `casulo:N:masquerade` | leaving the host, N's packets take the host's address (NAT); also for the default bridge (N = `bridge`, B = `casulo0`, S = 10.88.0.0/16), as docker0 |
//! | `fib daddr type local tcp dport P dnat ip to C:Q` | prerouting | `casulo:ctr:ID:P/tcp` | `-p P:Q` without the proxy |
//! | same, `ip daddr != 127.0.0.0/8` | output | `casulo:ctr:ID:P/tcp:local` | the same from the host's own programs |
//!
//! (B: the network's bridge, S: its subnet, ID: 12 digits of the
//! container's id.) A user network's rules are written by the first
//! container that joins it and deleted when the last one leaves (under the
//! host's network lock); a container's DNAT rules live as long as it runs.
//! The default network `bridge` gets only its masquerade (its isolation
//! from user networks is in their rules). A container joined to a
//! network by `network connect` is on that network's bridge itself (its
//! `eth1`), so these same rules apply to it, by interface, unchanged. Forwarding between interfaces must be on for
//! masquerade and DNAT from outside: if `net.ipv4.ip_forward` is 0, casulo
//! sets it to 1 (a `net.rule` too) and leaves it so — as docker does; the
//! README says it. `casulo gc` deletes the rules whose owners are gone, and
//! the table when nothing is left in it.

use std::net::Ipv4Addr;
use std::path::Path;

use casulo_trace::EventBody;
use nix::errno::Errno;

use super::networks::Network;
use super::ports::PortSpec;
use super::{NetworkError, BRIDGE};
use crate::kernel::{Kernel, KernelError};

/// `inet casulo`.
pub const TABLE: &str = "inet casulo";

const TABLE_SCRIPT: &str = "table inet casulo {\n\
     \tchain forward { type filter hook forward priority filter; policy accept; }\n\
     \tchain postrouting { type nat hook postrouting priority srcnat; policy accept; }\n\
     \tchain prerouting { type nat hook prerouting priority dstnat; policy accept; }\n\
     \tchain output { type nat hook output priority -100; policy accept; }\n\
     }\n";

pub(crate) const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

/// One rule to write: its chain, its text (with its comment) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub chain: &'static str,
    pub text: String,
    pub purpose: &'static str,
}

/// A rule found in the table, with its handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub chain: String,
    pub handle: u64,
    pub text: String,
    /// Its comment (`casulo:app:masquerade`).
    pub tag: String,
}

/// The tag prefix of a network's rules.
fn network_tag(name: &str) -> String {
    format!("casulo:{name}:")
}

/// The tag prefix of a container's rules.
fn container_tag(id: &str) -> String {
    format!("casulo:ctr:{}:", id.get(..12).unwrap_or(id))
}

/// A network's rules: the default one's way out (masquerade only: nothing
/// to isolate it from but the user networks, whose own rules do that);
/// a user network's isolation and way out.
pub fn network_rules(n: &Network) -> Vec<Rule> {
    let (b, name) = (&n.bridge, &n.name);
    let masquerade = Rule {
        chain: "postrouting",
        text: format!(
            "ip saddr {} oifname != \"{b}\" masquerade comment \"casulo:{name}:masquerade\"",
            n.cidr()
        ),
        purpose: "masquerade",
    };
    if n.is_default() {
        return vec![masquerade];
    }
    vec![
        Rule {
            chain: "forward",
            text: format!(
                "iifname \"{b}\" oifname \"cas-*\" oifname != \"{b}\" drop comment \"casulo:{name}:isola-redes\""
            ),
            purpose: "isolation",
        },
        Rule {
            chain: "forward",
            text: format!(
                "iifname \"{b}\" oifname \"{BRIDGE}\" drop comment \"casulo:{name}:isola-da-bridge\""
            ),
            purpose: "isolation",
        },
        Rule {
            chain: "forward",
            text: format!(
                "iifname \"{BRIDGE}\" oifname \"{b}\" drop comment \"casulo:{name}:isola-para-bridge\""
            ),
            purpose: "isolation",
        },
        masquerade,
    ]
}

/// The DNAT rules of a published port (`--userland-proxy=false`).
pub fn dnat_rules(container_id: &str, spec: &PortSpec, container_ip: Ipv4Addr) -> Vec<Rule> {
    let tag = format!(
        "{}{}/{}",
        container_tag(container_id),
        spec.host_port,
        spec.protocol
    );
    let to = format!(
        "{} dport {} dnat ip to {container_ip}:{}",
        spec.protocol, spec.host_port, spec.container_port
    );
    let dest = if spec.host_ip.is_unspecified() {
        "fib daddr type local".to_string()
    } else {
        format!("ip daddr {}", spec.host_ip)
    };
    vec![
        Rule {
            chain: "prerouting",
            text: format!("{dest} {to} comment \"{tag}\""),
            purpose: "dnat",
        },
        // 127.0.0.1 cannot be DNATed to another host's address (the kernel
        // drops packets from 127.0.0.1 leaving `lo`): the proxy serves it.
        Rule {
            chain: "output",
            text: format!("{dest} ip daddr != 127.0.0.0/8 {to} comment \"{tag}:local\""),
            purpose: "dnat",
        },
    ]
}

/// Every casulo rule of the table, with handles; empty when there is no
/// table (or no `nft`). A lookup: not recorded.
pub fn list(k: &Kernel) -> Vec<Listed> {
    // A listing taken while another casulo changes the ruleset can be
    // refused (the kernel interrupts the dump): asked again before it
    // counts as "no table".
    for attempt in 0..3 {
        if let Ok(text) = k.nft_read(&["-a", "list", "table", "inet", "casulo"]) {
            return parse_listing(&text);
        }
        if attempt < 2 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    vec![]
}

fn parse_listing(text: &str) -> Vec<Listed> {
    let mut chain = String::new();
    let mut out = vec![];
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("chain ") {
            chain = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            continue;
        }
        let Some((rule, handle)) = line.rsplit_once(" # handle ") else {
            continue;
        };
        let Some(tag) = rule
            .split_once("comment \"")
            .and_then(|(_, t)| t.split('"').next())
        else {
            continue;
        };
        if let Ok(handle) = handle.trim().parse() {
            out.push(Listed {
                chain: chain.clone(),
                handle,
                text: rule.to_string(),
                tag: tag.to_string(),
            });
        }
    }
    out
}

/// The table and its chains, if missing (`net.rule`, purpose `table`).
fn ensure_table(k: &Kernel) -> Result<(), KernelError> {
    if k.nft_read(&["list", "table", "inet", "casulo"]).is_ok() {
        return Ok(());
    }
    k.net_rule_script(
        EventBody::NetRule {
            action: "add".into(),
            chain: "-".into(),
            rule: "table inet casulo (chains forward, postrouting, prerouting, output)".into(),
            purpose: "table".into(),
        },
        TABLE_SCRIPT,
    )
}

/// `net.ipv4.ip_forward` = 1 if it is 0 (`net.rule`, purpose `forward`).
fn ensure_forwarding(k: &Kernel) -> Result<(), KernelError> {
    let on = k
        .read_file(Path::new(IP_FORWARD))
        .map(|v| v.trim() == "1")
        .unwrap_or(false);
    if on {
        return Ok(());
    }
    k.net_ip_forward(Path::new(IP_FORWARD))
}

/// Writes `rules` (after the table, and forwarding on). On an error, what
/// was written of them is deleted again.
pub fn add(k: &Kernel, rules: &[Rule]) -> Result<(), NetworkError> {
    if rules.is_empty() {
        return Ok(());
    }
    let missing = |e: KernelError| {
        if e.errno == Errno::ENOENT {
            NetworkError::NftMissing
        } else {
            NetworkError::Kernel(e)
        }
    };
    ensure_table(k).map_err(missing)?;
    ensure_forwarding(k)?;
    for (i, rule) in rules.iter().enumerate() {
        if let Err(e) = k.net_rule_add(rule.chain, &rule.text, rule.purpose) {
            let tags: Vec<String> = rules[..i].iter().map(|r| tag_of(&r.text)).collect();
            delete_where(k, |l| tags.contains(&l.tag));
            return Err(missing(e));
        }
    }
    Ok(())
}

fn tag_of(text: &str) -> String {
    text.split_once("comment \"")
        .and_then(|(_, t)| t.split('"').next())
        .unwrap_or_default()
        .to_string()
}

/// Deletes the listed rules that `which` picks (`net.rule`, `delete`);
/// returns their tags.
pub fn delete_where(k: &Kernel, which: impl Fn(&Listed) -> bool) -> Vec<String> {
    let mut gone = vec![];
    for l in list(k).into_iter().filter(|l| which(l)) {
        let purpose = purpose_of(&l.tag);
        if k.net_rule_delete(&l.chain, l.handle, &l.text, purpose)
            .is_ok()
        {
            gone.push(l.tag);
        }
    }
    gone
}

fn purpose_of(tag: &str) -> &'static str {
    if tag.starts_with("casulo:ctr:") {
        "dnat"
    } else if tag.ends_with(":masquerade") {
        "masquerade"
    } else {
        "isolation"
    }
}

/// A network's rules, written if they are not there yet (the caller holds
/// the network lock).
pub fn ensure_network(k: &Kernel, n: &Network) -> Result<(), NetworkError> {
    let rules = network_rules(n);
    if rules.is_empty() {
        return Ok(());
    }
    let present: Vec<String> = list(k).into_iter().map(|l| l.tag).collect();
    let missing: Vec<Rule> = rules
        .into_iter()
        .filter(|r| !present.contains(&tag_of(&r.text)))
        .collect();
    add(k, &missing)
}

/// Deletes a network's rules (the caller holds the network lock and saw
/// that no container is left on it).
pub fn remove_network(k: &Kernel, name: &str) -> Vec<String> {
    let prefix = network_tag(name);
    delete_where(k, |l| {
        l.tag.starts_with(&prefix) && !l.tag.starts_with("casulo:ctr:")
    })
}

/// Deletes a container's DNAT rules.
pub fn remove_container(k: &Kernel, container_id: &str) -> Vec<String> {
    let prefix = container_tag(container_id);
    delete_where(k, |l| l.tag.starts_with(&prefix))
}

/// `casulo gc`'s part (under the network lock): the rules whose network
/// has no live container or whose container is gone; then the table, if
/// empty. `live_networks`: names with a live lease; `live_ids`: the live
/// leases' container ids.
pub fn gc(k: &Kernel, live_networks: &[String], live_ids: &[String]) -> Vec<String> {
    let mut removed = vec![];
    for tag in delete_where(k, |l| {
        if let Some(rest) = l.tag.strip_prefix("casulo:ctr:") {
            let id = rest.split(':').next().unwrap_or_default();
            !live_ids.iter().any(|i| i.starts_with(id))
        } else if let Some(rest) = l.tag.strip_prefix("casulo:") {
            let net = rest.rsplit_once(':').map(|(n, _)| n).unwrap_or(rest);
            !live_networks.iter().any(|n| n == net)
        } else {
            false
        }
    }) {
        removed.push(format!("regra do firewall {tag} (sem contêiner)"));
    }
    let table_left = k.nft_read(&["list", "table", "inet", "casulo"]).is_ok();
    if table_left && list(k).is_empty() && live_ids.is_empty() {
        let ok = k
            .net_rule_script(
                EventBody::NetRule {
                    action: "delete".into(),
                    chain: "-".into(),
                    rule: "table inet casulo (chains forward, postrouting, prerouting, output)"
                        .into(),
                    purpose: "table".into(),
                },
                "delete table inet casulo\n",
            )
            .is_ok();
        if ok {
            removed.push("tabela inet casulo do nftables (vazia)".into());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_gives_chains_handles_and_tags() {
        let text = r#"table inet casulo { # handle 7
	chain forward { # handle 1
		type filter hook forward priority filter; policy accept;
		iifname "cas-1234abcd" oifname "cas-*" oifname != "cas-1234abcd" drop comment "casulo:app:isola-redes" # handle 5
	}
	chain postrouting { # handle 2
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.89.1.0/24 oifname != "cas-1234abcd" masquerade comment "casulo:app:masquerade" # handle 6
	}
}"#;
        let l = parse_listing(text);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].chain, "forward");
        assert_eq!(l[0].handle, 5);
        assert_eq!(l[0].tag, "casulo:app:isola-redes");
        assert_eq!(l[1].chain, "postrouting");
        assert_eq!(
            l[1].text,
            r#"ip saddr 10.89.1.0/24 oifname != "cas-1234abcd" masquerade comment "casulo:app:masquerade""#
        );
    }

    #[test]
    fn rules_name_their_owner() {
        let n = Network {
            name: "app".into(),
            bridge: "cas-1234abcd".into(),
            subnet: Ipv4Addr::new(10, 89, 1, 0),
            prefix: 24,
            gateway: Ipv4Addr::new(10, 89, 1, 1),
            ..Network::default_bridge()
        };
        let rules = network_rules(&n);
        assert_eq!(rules.len(), 4);
        assert!(rules
            .iter()
            .all(|r| tag_of(&r.text).starts_with("casulo:app:")));
        let default = network_rules(&Network::default_bridge());
        assert_eq!(
            default,
            [Rule {
                chain: "postrouting",
                text: "ip saddr 10.88.0.0/16 oifname != \"casulo0\" masquerade comment \"casulo:bridge:masquerade\"".into(),
                purpose: "masquerade",
            }]
        );
        let spec: PortSpec = "8080:80".parse().unwrap();
        let d = dnat_rules(&"ab".repeat(32), &spec, Ipv4Addr::new(10, 89, 1, 2));
        assert_eq!(
            d[0].text,
            "fib daddr type local tcp dport 8080 dnat ip to 10.89.1.2:80 comment \"casulo:ctr:abababababab:8080/tcp\""
        );
        assert_eq!(purpose_of(&tag_of(&d[1].text)), "dnat");
        assert_eq!(purpose_of("casulo:app:masquerade"), "masquerade");
    }
}
