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
//! ```
//!
//! The first free address from 10.88.0.2 up is taken (10.88.0.1 is the
//! bridge, the gateway). The lease is released on every exit path of
//! `casulo run`; if that casulo is killed (SIGKILL: no clean-up runs), its
//! lease stays until `casulo gc` sees that the owner process is gone.
//! `/run` is a tmpfs: after a reboot no lease survives, as no container does.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{NetworkError, GATEWAY, PREFIX};

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
    pub path: PathBuf,
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

    /// Takes the first free address of the subnet for `container_id`.
    pub fn allocate(&self, container_id: &str) -> Result<Lease, NetworkError> {
        let io = |e| NetworkError::Io {
            what: "não consegui registrar o endereço do contêiner",
            path: self.dir.clone(),
            source: e,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let taken: Vec<Ipv4Addr> = self.list().iter().map(|l| l.ip).collect();
        let content = format!(
            "id={container_id}\npid={}\nstart={}\n",
            std::process::id(),
            start_time(std::process::id() as i32).unwrap_or_default()
        );
        for ip in addresses().filter(|ip| !taken.contains(ip)) {
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
                // Another casulo took it a moment ago: the next one.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(e)),
            }
        }
        Err(NetworkError::NoFreeAddress)
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

/// The addresses containers get: 10.88.0.2 … 10.88.255.254.
fn addresses() -> impl Iterator<Item = Ipv4Addr> {
    let base = u32::from(GATEWAY) & !(u32::MAX >> PREFIX);
    let broadcast = base | (u32::MAX >> PREFIX);
    (base + 2..broadcast).map(Ipv4Addr::from)
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
        path,
    }
}

/// Field 22 of `/proc/<pid>/stat`: when the process started.
fn start_time(pid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and ')': count after the last ')'.
    Some(
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(19)?
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_free_address_is_taken_and_given_back() {
        let tmp = tempfile::tempdir().unwrap();
        let leases = Leases::new(tmp.path().join("leases"));
        let a = leases.allocate(&"a".repeat(64)).unwrap();
        let b = leases.allocate(&"b".repeat(64)).unwrap();
        assert_eq!(a.ip, Ipv4Addr::new(10, 88, 0, 2));
        assert_eq!(b.ip, Ipv4Addr::new(10, 88, 0, 3));
        let list = leases.list();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].container_id, "a".repeat(64));
        assert_eq!(list[0].pid, std::process::id() as i32);
        assert!(owner_alive(&list[0]));
        leases.release(&a);
        let c = leases.allocate(&"c".repeat(64)).unwrap();
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

    #[test]
    fn the_subnet_has_no_gateway_and_no_broadcast() {
        let mut all = addresses();
        assert_eq!(all.next(), Some(Ipv4Addr::new(10, 88, 0, 2)));
        assert_eq!(all.last(), Some(Ipv4Addr::new(10, 88, 255, 254)));
    }
}
