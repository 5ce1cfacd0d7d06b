//! IPAM ("IP address management"): which container has which address.
//!
//! The bridge is one for the whole host, so the addresses must be handed
//! out host-wide too — not per state directory (two `--root`s share one
//! `casulo0`). Each address in use is a *lease*, a file
//!
//! ```text
//! /run/casulo/net/leases/10.88.0.5     created with O_CREAT|O_EXCL: only one casulo wins it
//!   id=<64 hex digits of the container id>
//!   pid=<pid of the casulo that runs it>
//!   start=<that process's start time, field 22 of /proc/<pid>/stat>
//!   network=<the network's name>      (none in older leases: `bridge`)
//!   name=<the container's name>       what the network's DNS answers for
//!   aliases=<a,b>                     (--network-alias) and these too
//!   ifname=<eth1>                     the container's interface (none: eth0)
//! ```
//!
//! A network joined later (`casulo network connect`) is one more lease of
//! the same container, with its own interface (`eth1`, `eth2`…) and the
//! pid of the casulo that runs the container as its owner: it goes with
//! that casulo, as the first one does.
//!
//! Networks never overlap ([`super::networks`]), so one directory holds
//! the leases of all of them. The first free address of the network's
//! subnet is taken (from 10.88.0.2 up on `bridge`: 10.88.0.1 is the
//! gateway), or the one asked with `--ip`. The lease is released on every exit path of
//! `casulo run`; if that casulo is killed (SIGKILL: no clean-up runs), its
//! lease stays until `casulo gc` sees that the owner process is gone.
//! `/run` is a tmpfs: after a reboot no lease survives, as no container does.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::networks::{Network, DEFAULT_NAME};
use super::NetworkError;

/// The lease directory of the host.
pub const LEASES_DIR: &str = "/run/casulo/net/leases";

/// The host's leases (a directory, so tests can use another one).
#[derive(Debug, Clone)]
pub struct Leases {
    dir: PathBuf,
}

/// An address held by a container; give it back with [`Leases::release`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub ip: Ipv4Addr,
    pub path: PathBuf,
}

/// What a lease file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    pub ip: Ipv4Addr,
    pub container_id: String,
    pub pid: i32,
    pub start: String,
    pub network: String,
    pub name: String,
    pub aliases: Vec<String>,
    /// The container's interface on this network (`eth0`, or `eth1`… for
    /// a network joined by `network connect`).
    pub ifname: String,
    pub path: PathBuf,
}

impl LeaseInfo {
    /// The host end of this lease's veth ([`super::veth::host_ifname_for`]).
    pub fn host_ifname(&self) -> String {
        super::veth::host_ifname_for(&self.container_id, &self.ifname)
    }
}

/// Who a lease is for.
#[derive(Debug, Clone, Default)]
pub struct Holder<'a> {
    pub container_id: &'a str,
    pub name: &'a str,
    pub aliases: &'a [String],
    /// `--ip`: this address or none.
    pub ip: Option<Ipv4Addr>,
    /// The container's interface (empty: `eth0`).
    pub ifname: &'a str,
    /// The casulo that runs the container (pid, start time), when it is not
    /// this process (`network connect` writes the lease for it).
    pub owner: Option<(i32, String)>,
}

impl Leases {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Leases { dir: dir.into() }
    }

    /// The host's leases, in [`LEASES_DIR`].
    pub fn host() -> Self {
        Leases::new(LEASES_DIR)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the first free address of `network` (or the one asked) for `who`.
    pub fn allocate(&self, network: &Network, who: &Holder) -> Result<Lease, NetworkError> {
        let io = |e| NetworkError::Io {
            what: "não consegui registrar o endereço do contêiner",
            path: self.dir.clone(),
            source: e,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let taken: Vec<Ipv4Addr> = self.list().iter().map(|l| l.ip).collect();
        let (pid, start) = who.owner.clone().unwrap_or_else(|| {
            let me = std::process::id() as i32;
            (me, start_time(me).unwrap_or_default())
        });
        let ifname = if who.ifname.is_empty() {
            super::veth::CONTAINER_IFNAME
        } else {
            who.ifname
        };
        let content = format!(
            "id={}\npid={pid}\nstart={start}\nnetwork={}\nname={}\naliases={}\nifname={ifname}\n",
            who.container_id,
            network.name,
            who.name,
            who.aliases.join(",")
        );
        if let Some(ip) = who.ip {
            if !network.contains(ip) || network.addresses().all(|a| a != ip) {
                return Err(NetworkError::AddressOutside {
                    ip,
                    subnet: network.cidr(),
                    network: network.name.clone(),
                });
            }
        }
        let wanted: Box<dyn Iterator<Item = Ipv4Addr>> = match who.ip {
            Some(ip) => Box::new(std::iter::once(ip)),
            None => Box::new(network.addresses().filter(|ip| !taken.contains(ip))),
        };
        for ip in wanted {
            let path = self.dir.join(ip.to_string());
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    let lease = Lease { ip, path };
                    if let Err(e) = file.write_all(content.as_bytes()) {
                        self.release(&lease);
                        return Err(io(e));
                    }
                    return Ok(lease);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && who.ip.is_some() => {
                    let holder = self.list().into_iter().find(|l| l.ip == ip);
                    return Err(NetworkError::AddressTaken {
                        ip,
                        by: holder.map(|l| l.name).unwrap_or_default(),
                    });
                }
                // Another casulo took it a moment ago: the next one.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(e)),
            }
        }
        Err(NetworkError::NoFreeAddress(network.cidr()))
    }

    /// Gives the address back (best effort: on error paths too).
    pub fn release(&self, lease: &Lease) {
        let _ = std::fs::remove_file(&lease.path);
    }

    /// Every lease, by address.
    pub fn list(&self) -> Vec<LeaseInfo> {
        let mut leases: Vec<LeaseInfo> = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        let ip = e.file_name().to_str()?.parse().ok()?;
                        Some(parse_lease(
                            ip,
                            e.path(),
                            &std::fs::read_to_string(e.path()).unwrap_or_default(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        leases.sort_by_key(|l| l.ip);
        leases
    }

    /// Leases whose owner process is gone, at least `min_age` old (a
    /// younger one may be a lease being written right now).
    pub fn orphans(&self, min_age: Duration) -> Vec<LeaseInfo> {
        self.list()
            .into_iter()
            .filter(|l| !owner_alive(l))
            .filter(|l| {
                std::fs::metadata(&l.path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age >= min_age)
            })
            .collect()
    }

    /// Removes the lease of `info` (after [`Leases::orphans`] chose it).
    pub fn remove(&self, info: &LeaseInfo) -> std::io::Result<()> {
        std::fs::remove_file(&info.path)
    }
}

/// True while the casulo that wrote the lease still runs (same pid and
/// same start time: a reused pid is another process).
pub fn owner_alive(lease: &LeaseInfo) -> bool {
    lease.pid > 0 && start_time(lease.pid).is_some_and(|s| s == lease.start)
}

fn parse_lease(ip: Ipv4Addr, path: PathBuf, text: &str) -> LeaseInfo {
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .unwrap_or_default()
            .to_string()
    };
    LeaseInfo {
        ip,
        container_id: field("id"),
        pid: field("pid").parse().unwrap_or(0),
        start: field("start"),
        network: Some(field("network"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| DEFAULT_NAME.to_string()),
        name: field("name"),
        aliases: field("aliases")
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
        ifname: Some(field("ifname"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| super::veth::CONTAINER_IFNAME.to_string()),
        path,
    }
}

/// Field 22 of `/proc/<pid>/stat`: when the process started.
fn start_time(pid: i32) -> Option<String> {
    crate::kernel::proc_stat::fields(&pid.to_string())?
        .into_iter()
        .nth(19)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_free_address_is_taken_and_given_back() {
        let tmp = tempfile::tempdir().unwrap();
        let leases = Leases::new(tmp.path().join("leases"));
        let bridge = Network::default_bridge();
        let a = leases.allocate(&bridge, &holder(&"a".repeat(64))).unwrap();
        let b = leases.allocate(&bridge, &holder(&"b".repeat(64))).unwrap();
        assert_eq!(a.ip, Ipv4Addr::new(10, 88, 0, 2));
        assert_eq!(b.ip, Ipv4Addr::new(10, 88, 0, 3));
        let list = leases.list();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].container_id, "a".repeat(64));
        assert_eq!(list[0].pid, std::process::id() as i32);
        assert!(owner_alive(&list[0]));
        leases.release(&a);
        let c = leases.allocate(&bridge, &holder(&"c".repeat(64))).unwrap();
        assert_eq!(c.ip, a.ip, "a released address is reused");
        assert!(leases.orphans(Duration::ZERO).is_empty());
    }

    #[test]
    fn a_lease_whose_owner_is_gone_is_an_orphan() {
        let tmp = tempfile::tempdir().unwrap();
        let leases = Leases::new(tmp.path());
        std::fs::write(
            tmp.path().join("10.88.0.9"),
            "id=abc\npid=999999999\nstart=1\n",
        )
        .unwrap();
        std::fs::write(tmp.path().join("lixo"), "não é um lease").unwrap();
        let orphans = leases.orphans(Duration::ZERO);
        assert_eq!(orphans.len(), 1);
        assert_eq!(orphans[0].ip, Ipv4Addr::new(10, 88, 0, 9));
        assert!(leases.orphans(Duration::from_secs(3600)).is_empty());
        leases.remove(&orphans[0]).unwrap();
        assert!(leases.list().is_empty());
    }

    fn holder(id: &str) -> Holder<'_> {
        Holder {
            container_id: id,
            ..Holder::default()
        }
    }

    #[test]
    fn an_asked_address_is_taken_once_and_named_in_the_lease() {
        let tmp = tempfile::tempdir().unwrap();
        let leases = Leases::new(tmp.path());
        let net = Network {
            name: "app".into(),
            subnet: Ipv4Addr::new(10, 89, 3, 0),
            prefix: 24,
            gateway: Ipv4Addr::new(10, 89, 3, 1),
            ..Network::default_bridge()
        };
        let aliases = vec!["banco".to_string(), "pg".to_string()];
        let ip = Ipv4Addr::new(10, 89, 3, 9);
        let who = Holder {
            container_id: "abcdef0123",
            name: "db",
            aliases: &aliases,
            ip: Some(ip),
            ..Holder::default()
        };
        assert_eq!(leases.allocate(&net, &who).unwrap().ip, ip);
        let info = &leases.list()[0];
        assert_eq!(
            (
                info.network.as_str(),
                info.name.as_str(),
                info.aliases.clone()
            ),
            ("app", "db", aliases.clone())
        );
        let err = leases.allocate(&net, &who).unwrap_err();
        assert_eq!(err.to_string(), "o endereço 10.89.3.9 já é do contêiner db");
        let outside = Holder {
            ip: Some(Ipv4Addr::new(10, 89, 3, 1)),
            ..who.clone()
        };
        assert!(matches!(
            leases.allocate(&net, &outside),
            Err(NetworkError::AddressOutside { .. })
        ));
        assert_eq!(
            leases.allocate(&net, &holder("x")).unwrap().ip,
            Ipv4Addr::new(10, 89, 3, 2)
        );
    }

    /// A network joined later: the lease names its interface and its owner
    /// is the casulo that runs the container, not the one that wrote it.
    #[test]
    fn a_joined_network_s_lease_names_its_interface_and_owner() {
        let tmp = tempfile::tempdir().unwrap();
        let leases = Leases::new(tmp.path());
        let bridge = Network::default_bridge();
        let first = leases.allocate(&bridge, &holder("abcdef0123")).unwrap();
        let who = Holder {
            container_id: "abcdef0123",
            ifname: "eth1",
            owner: Some((999_999_999, "1".into())),
            ..Holder::default()
        };
        let joined = leases.allocate(&bridge, &who).unwrap();
        let list = leases.list();
        let info = |ip| list.iter().find(|l| l.ip == ip).unwrap();
        assert_eq!(info(first.ip).ifname, "eth0");
        assert_eq!(info(first.ip).host_ifname(), "vethabcdef01");
        assert_eq!(info(joined.ip).ifname, "eth1");
        assert_eq!(info(joined.ip).pid, 999_999_999);
        assert!(!owner_alive(info(joined.ip)), "goes with its owner");
    }
}
