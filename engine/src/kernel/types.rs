//! The small value types the facade's calls take, kept here so that
//! `kernel/` imports nothing from the floors above it (ARCHITECTURE.md,
//! "Camadas"). Each is re-exported from the module that gives it meaning:
//!
//! - [`WindowSize`] (`terminal::WindowSize`): [`Kernel::open_terminal`] and
//!   [`Kernel::resize_terminal`] set it on a pty.
//! - [`User`] (`container::user::User`): [`Kernel::switch_user`] drops root
//!   for it; resolving it from `/etc/passwd` stays in `container::user`.
//! - [`Protocol`] and [`PortSpec`] (`network::ports`): [`Kernel::publish_port`]
//!   binds the host socket of a `-p`; the proxy stays in `network::ports`.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use super::Kernel;

/// A terminal's window size in characters (`struct winsize`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowSize {
    pub rows: u16,
    pub cols: u16,
}

impl WindowSize {
    /// 0 × 0: no terminal to take the size from.
    pub fn is_unknown(&self) -> bool {
        self.rows == 0 && self.cols == 0
    }
}

/// A resolved user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (`setgroups`), the primary gid included.
    pub groups: Vec<u32>,
    /// From passwd; `/` when the user has no entry.
    pub home: String,
    /// Name from passwd, if any (for the trace and messages).
    pub name: Option<String>,
}

/// `tcp` or `udp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// One `-p [IP:]HOST_PORT:CONTAINER_PORT[/tcp|/udp]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// Where casulo listens on the host: `0.0.0.0` (every address, docker's
    /// default) or one address such as `127.0.0.1`.
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl FromStr for PortSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (ports, protocol) = match s.rsplit_once('/') {
            Some((p, "tcp")) => (p, Protocol::Tcp),
            Some((p, "udp")) => (p, Protocol::Udp),
            Some((_, other)) => {
                return Err(format!("protocolo {other:?} desconhecido (use tcp ou udp)"))
            }
            None => (s, Protocol::Tcp),
        };
        let parts: Vec<&str> = ports.split(':').collect();
        let (ip, host, container) = match parts.as_slice() {
            [host, container] => (None, *host, *container),
            [ip, host, container] => (Some(*ip), *host, *container),
            _ => {
                return Err(
                    "use [IP:]PORTA_DO_HOST:PORTA_DO_CONTÊINER[/tcp|/udp], como 8080:80".into(),
                )
            }
        };
        let host_ip = match ip {
            None | Some("") => Ipv4Addr::UNSPECIFIED,
            Some(ip) => ip
                .parse()
                .map_err(|_| format!("{ip:?} não é um endereço IPv4 (como 127.0.0.1)"))?,
        };
        let port = |p: &str| -> Result<u16, String> {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{p:?} não é uma porta (de 1 a 65535)")),
            }
        };
        Ok(PortSpec {
            host_ip,
            host_port: port(host)?,
            container_port: port(container)?,
            protocol,
        })
    }
}

/// As `docker ps` shows it: `0.0.0.0:8080->80/tcp`.
impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}->{}/{}",
            self.host_ip, self.host_port, self.container_port, self.protocol
        )
    }
}
