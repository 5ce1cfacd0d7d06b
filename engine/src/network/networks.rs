//! Networks with names: `casulo network create|ls|inspect|rm|prune`.
//!
//! A network is a subnet, its gateway and one bridge on the host. The
//! default one, `bridge`, is `casulo0` on 10.88.0.0/16 and is never a
//! file: it always exists (its bridge is made by the first run that needs
//! it, as before). Each user network is a file, host-wide like the leases
//! (two `--root`s see the same bridges, so they must see the same names):
//!
//! ```text
//! /run/casulo/net/networks/<name>.json   {"name","id","subnet","prefix","gateway","bridge","created"}
//! ```
//!
//! Its bridge is `cas-` + the first 8 hex digits of its id (12
//! characters, within the kernel's 15), made by `network create` and
//! deleted by `network rm`. Subnets never overlap: an address names one
//! container host-wide, so the leases stay one directory for all networks.
//! `/run` is a tmpfs: after a reboot the networks are gone, with their
//! bridges and containers (docker keeps them on disk; here that would
//! leave names whose bridges no longer exist).

use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{NetworkError, BRIDGE, GATEWAY, PREFIX};

/// The name of the default network (`casulo0`), as docker's.
pub const DEFAULT_NAME: &str = "bridge";

/// Names that are modes, not networks.
const RESERVED: &[&str] = &["bridge", "none", "host", "default"];

/// One network: its subnet, gateway and bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    /// 64 hex digits (the default network's is all zeros).
    pub id: String,
    /// The subnet's first address (`10.89.1.0`).
    pub subnet: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    pub bridge: String,
    /// RFC 3339 (empty for the default network).
    #[serde(default)]
    pub created: String,
}

impl Network {
    /// `bridge`: `casulo0`, 10.88.0.0/16, gateway 10.88.0.1.
    pub fn default_bridge() -> Network {
        Network {
            name: DEFAULT_NAME.to_string(),
            id: "0".repeat(64),
            subnet: Ipv4Addr::from(u32::from(GATEWAY) & mask(PREFIX)),
            prefix: PREFIX,
            gateway: GATEWAY,
            bridge: BRIDGE.to_string(),
            created: String::new(),
        }
    }

    /// The default network has no DNS (as docker's default bridge): only
    /// user networks resolve their containers' names.
    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_NAME
    }

    /// `10.89.1.0/24`.
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.subnet, self.prefix)
    }

    /// The bridge's address as the trace shows it: `10.89.1.1/24`.
    pub fn gateway_cidr(&self) -> String {
        format!("{}/{}", self.gateway, self.prefix)
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.subnet)
    }

    /// The addresses containers may get: all but the subnet's own, its
    /// broadcast and the gateway.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        let base = u32::from(self.subnet);
        let broadcast = base | !mask(self.prefix);
        (base + 1..broadcast)
            .map(Ipv4Addr::from)
            .filter(move |ip| *ip != self.gateway)
    }

    fn overlaps(&self, other: &Network) -> bool {
        let p = self.prefix.min(other.prefix);
        u32::from(self.subnet) & mask(p) == u32::from(other.subnet) & mask(p)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

/// Parses `10.89.1.0/24` (the address is brought down to its subnet's
/// first one only if it already is: `10.89.1.7/24` is a mistake, said).
pub fn parse_subnet(text: &str) -> Result<(Ipv4Addr, u8), NetworkError> {
    let bad = |why: &str| NetworkError::BadSubnet(format!("{text:?}: {why}"));
    let (ip, prefix) = text
        .split_once('/')
        .ok_or_else(|| bad("falta o /prefixo, como 10.89.1.0/24"))?;
    let ip: Ipv4Addr = ip.parse().map_err(|_| bad("endereço IPv4 inválido"))?;
    let prefix: u8 = prefix
        .parse()
        .ok()
        .filter(|p| (8..=30).contains(p))
        .ok_or_else(|| bad("o prefixo vai de /8 a /30"))?;
    if u32::from(ip) & !mask(prefix) != 0 {
        return Err(bad(&format!(
            "o endereço não é o início da sub-rede (seria {}/{prefix})",
            Ipv4Addr::from(u32::from(ip) & mask(prefix))
        )));
    }
    Ok((ip, prefix))
}

/// The registry: `<net dir>/networks/`.
#[derive(Debug, Clone)]
pub struct Networks {
    dir: PathBuf,
}

impl Networks {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Networks { dir: dir.into() }
    }

    /// The network called `name` (`bridge` is the default one).
    pub fn load(&self, name: &str) -> Result<Network, NetworkError> {
        if name == DEFAULT_NAME {
            return Ok(Network::default_bridge());
        }
        let path = self.dir.join(format!("{name}.json"));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(self.not_found(name));
            }
            Err(source) => {
                return Err(NetworkError::Io {
                    what: "não consegui ler a rede",
                    path,
                    source,
                })
            }
        };
        serde_json::from_str(&text).map_err(|e| NetworkError::Io {
            what: "a descrição da rede está corrompida",
            path,
            source: e.into(),
        })
    }

    /// By name, id or a unique prefix of the id.
    pub fn find(&self, key: &str) -> Result<Network, NetworkError> {
        if let Ok(n) = self.load(key) {
            return Ok(n);
        }
        let hits: Vec<Network> = self
            .list()
            .into_iter()
            .filter(|n| key.len() >= 3 && n.id.starts_with(key))
            .collect();
        match hits.len() {
            1 => Ok(hits.into_iter().next().unwrap()),
            _ => Err(self.not_found(key)),
        }
    }

    fn not_found(&self, name: &str) -> NetworkError {
        NetworkError::NoSuchNetwork(name.to_string())
    }

    /// Every network, the default one first, then by name.
    pub fn list(&self) -> Vec<Network> {
        let mut user: Vec<Network> = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let name = e.file_name().to_str()?.strip_suffix(".json")?.to_string();
                        self.load(&name).ok()
                    })
                    .collect()
            })
            .unwrap_or_default();
        user.sort_by(|a, b| a.name.cmp(&b.name));
        std::iter::once(Network::default_bridge())
            .chain(user)
            .collect()
    }

    /// Writes a new network (the caller holds the network lock): checks
    /// the name, that it is free and that the subnet overlaps no other;
    /// without `subnet`, the first free 10.89.N.0/24.
    pub fn add(
        &self,
        name: &str,
        subnet: Option<(Ipv4Addr, u8)>,
        gateway: Option<Ipv4Addr>,
        id: &str,
    ) -> Result<Network, NetworkError> {
        check_name(name)?;
        if self.load(name).is_ok() {
            return Err(NetworkError::NetworkExists(name.to_string()));
        }
        let all = self.list();
        let candidate = |subnet: Ipv4Addr, prefix: u8, gateway: Ipv4Addr| Network {
            name: name.to_string(),
            id: id.to_string(),
            subnet,
            prefix,
            gateway,
            bridge: format!("cas-{}", &id[..8]),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        };
        let network = match subnet {
            Some((subnet, prefix)) => {
                let gateway = gateway.unwrap_or(Ipv4Addr::from(u32::from(subnet) + 1));
                let n = candidate(subnet, prefix, gateway);
                if !n.contains(gateway) {
                    return Err(NetworkError::BadSubnet(format!(
                        "o gateway {gateway} não está dentro de {}",
                        n.cidr()
                    )));
                }
                if gateway == n.subnet || u32::from(gateway) == u32::from(n.subnet) | !mask(prefix)
                {
                    return Err(NetworkError::BadSubnet(format!(
                        "o gateway {gateway} é o endereço da própria sub-rede ou o de broadcast de {}",
                        n.cidr()
                    )));
                }
                if let Some(other) = all.iter().find(|o| o.overlaps(&n)) {
                    return Err(NetworkError::SubnetOverlap {
                        subnet: n.cidr(),
                        other: other.name.clone(),
                        other_subnet: other.cidr(),
                    });
                }
                n
            }
            None => {
                if gateway.is_some() {
                    return Err(NetworkError::BadSubnet(
                        "--gateway precisa de --subnet".to_string(),
                    ));
                }
                (0..=255u8)
                    .map(|n| {
                        candidate(Ipv4Addr::new(10, 89, n, 0), 24, Ipv4Addr::new(10, 89, n, 1))
                    })
                    .find(|c| all.iter().all(|o| !o.overlaps(c)))
                    .ok_or_else(|| {
                        NetworkError::BadSubnet(
                            "nenhuma sub-rede 10.89.N.0/24 livre: dê uma com --subnet".to_string(),
                        )
                    })?
            }
        };
        let io = |source| NetworkError::Io {
            what: "não consegui gravar a rede",
            path: self.dir.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let path = self.dir.join(format!("{name}.json"));
        let tmp = self.dir.join(format!(".{name}.json.tmp"));
        let text = serde_json::to_string_pretty(&network).expect("a network serializes");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(network)
    }

    /// Forgets a user network (its bridge is the caller's).
    pub fn remove(&self, name: &str) -> std::io::Result<()> {
        std::fs::remove_file(self.dir.join(format!("{name}.json")))
    }
}

/// Docker's rule for names: a letter or digit, then letters, digits,
/// `_`, `.`, `-`; and not one of the modes.
pub fn check_name(name: &str) -> Result<(), NetworkError> {
    let ok = name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !ok || RESERVED.contains(&name) {
        return Err(NetworkError::BadNetworkName(name.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_network_is_casulo0() {
        let n = Network::default_bridge();
        assert_eq!(n.cidr(), "10.88.0.0/16");
        assert_eq!(n.bridge, "casulo0");
        assert_eq!(n.addresses().next(), Some(Ipv4Addr::new(10, 88, 0, 2)));
        assert_eq!(n.addresses().last(), Some(Ipv4Addr::new(10, 88, 255, 254)));
    }

    #[test]
    fn networks_are_created_without_overlap() {
        let tmp = tempfile::tempdir().unwrap();
        let nets = Networks::new(tmp.path());
        let a = nets.add("web", None, None, &"a1".repeat(32)).unwrap();
        assert_eq!(a.cidr(), "10.89.0.0/24");
        assert_eq!(a.gateway, Ipv4Addr::new(10, 89, 0, 1));
        assert_eq!(a.bridge, "cas-a1a1a1a1");
        let b = nets.add("db", None, None, &"b2".repeat(32)).unwrap();
        assert_eq!(b.cidr(), "10.89.1.0/24");
        let err = nets
            .add(
                "x",
                Some(parse_subnet("10.89.0.0/16").unwrap()),
                None,
                &"c3".repeat(32),
            )
            .unwrap_err();
        assert!(err.to_string().contains("se sobrepõe"), "{err}");
        assert!(matches!(
            nets.add("web", None, None, &"d4".repeat(32)),
            Err(NetworkError::NetworkExists(_))
        ));
        assert!(matches!(
            nets.add("none", None, None, &"d4".repeat(32)),
            Err(NetworkError::BadNetworkName(_))
        ));
        let names: Vec<String> = nets.list().into_iter().map(|n| n.name).collect();
        assert_eq!(names, ["bridge", "db", "web"]);
        assert_eq!(nets.find("b2b2").unwrap().name, "db");
        nets.remove("db").unwrap();
        assert!(matches!(
            nets.load("db"),
            Err(NetworkError::NoSuchNetwork(_))
        ));
    }

    #[test]
    fn subnets_and_gateways_are_checked() {
        assert!(parse_subnet("10.89.7.0/24").is_ok());
        assert!(parse_subnet("10.89.7.3/24").is_err());
        assert!(parse_subnet("10.89.7.0").is_err());
        assert!(parse_subnet("10.89.7.0/31").is_err());
        let tmp = tempfile::tempdir().unwrap();
        let nets = Networks::new(tmp.path());
        let sub = Some(parse_subnet("10.89.7.0/24").unwrap());
        let n = nets
            .add(
                "g",
                sub,
                Some(Ipv4Addr::new(10, 89, 7, 254)),
                &"e5".repeat(32),
            )
            .unwrap();
        assert_eq!(n.addresses().next(), Some(Ipv4Addr::new(10, 89, 7, 1)));
        assert!(n.addresses().all(|a| a != n.gateway));
        assert!(nets
            .add(
                "h",
                Some(parse_subnet("10.90.0.0/24").unwrap()),
                Some(Ipv4Addr::new(10, 91, 0, 1)),
                &"f6".repeat(32)
            )
            .is_err());
    }
}
