//! Where an image lives in a registry, from a reference in docker's
//! grammar: `[registro[:porta]/]repo[/...][:tag][@sha256:...]`.
//!
//! As in docker, the first component is a registry when it has a `.` or a
//! `:` or is `localhost`; otherwise the image goes to the default registry:
//! `CASULO_REGISTRY` (e.g. the class's `192.168.0.10:5000`) or, unset,
//! `docker.io` (where a one-component name gets docker's `library/`).
//!
//! Plain HTTP is used for loopback registries (`localhost`, `127.x.x.x`,
//! `[::1]`), as docker does, and for those listed in
//! `CASULO_INSECURE_REGISTRIES` (comma-separated `host[:port]`, like
//! docker's `insecure-registries`); every other registry is HTTPS. A
//! registry with a CA of its own in `certs.d` (see [`ca_file`]) is HTTPS
//! even on loopback, verified against that CA.

use crate::image::{digest, ImageError, Reference};

/// The default registry when `CASULO_REGISTRY` is unset.
pub const DEFAULT_REGISTRY: &str = "docker.io";
/// Docker Hub's API host (`docker.io` is only a name).
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A reference resolved to a registry and a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// `host[:port]` (`localhost:5000`, `docker.io`).
    pub registry: String,
    /// Path in the registry (`aluno/app`, `library/busybox`).
    pub repository: String,
    pub tag: String,
    /// `sha256:…` when the reference names one (pull by digest).
    pub digest: Option<String>,
    /// The local store's name for it: the reference as written, with tag.
    pub local: Reference,
}

impl RemoteRef {
    /// Parses `input`, with the default registry of the environment.
    pub fn parse(input: &str) -> Result<RemoteRef, ImageError> {
        let default = std::env::var("CASULO_REGISTRY")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_REGISTRY.to_string());
        RemoteRef::parse_with(input, &default)
    }

    /// Parses `input`; a name without a registry goes to `default`.
    pub fn parse_with(input: &str, default: &str) -> Result<RemoteRef, ImageError> {
        let (named, digest) = match input.split_once('@') {
            Some((named, d)) => {
                digest::hex_of(d).map_err(|e| ImageError::BadReference {
                    reference: input.to_string(),
                    why: e.to_string(),
                })?;
                (named, Some(d.to_string()))
            }
            None => (input, None),
        };
        let mut local = Reference::parse(named)?;
        // Pulled by digest with no tag: the store keeps it under the tag
        // `sha256-<hex>` (a store entry needs a tag; `latest` would lie).
        let tagged = named
            .rfind(':')
            .is_some_and(|colon| named.rfind('/').is_none_or(|slash| colon > slash));
        if let (Some(d), false) = (&digest, tagged) {
            local = local.with_tag(&d.replace(':', "-"))?;
        }
        let (registry, repository) = match local.name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), rest.to_string())
            }
            _ => {
                let default = default.trim_end_matches('/').to_string();
                let repository = if default == DEFAULT_REGISTRY && !local.name.contains('/') {
                    format!("library/{}", local.name)
                } else {
                    local.name.clone()
                };
                (default, repository)
            }
        };
        Ok(RemoteRef {
            registry,
            repository,
            tag: local.tag.clone(),
            digest,
            local,
        })
    }

    /// What to ask the registry for: the digest if given, else the tag.
    pub fn manifest_reference(&self) -> &str {
        self.digest.as_deref().unwrap_or(&self.tag)
    }

    /// `registro/repo:tag` (or `@digest`), for messages.
    pub fn display(&self) -> String {
        match &self.digest {
            Some(d) => format!("{}/{}@{d}", self.registry, self.repository),
            None => format!("{}/{}:{}", self.registry, self.repository, self.tag),
        }
    }

    /// `http://host:port` or `https://host` for this registry.
    pub fn base_url(&self) -> String {
        let host = if self.registry == DEFAULT_REGISTRY {
            DOCKER_HUB_API
        } else {
            &self.registry
        };
        let scheme = if plain_http(&self.registry) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}")
    }
}

/// Where casulo keeps registries' CAs when `CASULO_CERTS_D` is unset.
pub const CERTS_D: &str = "/etc/casulo/certs.d";
/// Docker's place for them, also read (a class's CA put there serves both).
pub const DOCKER_CERTS_D: &str = "/etc/docker/certs.d";

/// The CA that signs `registry`'s certificate, when there is one:
/// `$CASULO_CERTS_D/HOST:PORT/ca.crt` if that variable is set (and only
/// there); otherwise `/etc/casulo/certs.d/HOST:PORT/ca.crt`, then docker's
/// `/etc/docker/certs.d/HOST:PORT/ca.crt`.
pub fn ca_file(registry: &str) -> Option<std::path::PathBuf> {
    if registry.contains('/') {
        return None;
    }
    let dirs: Vec<std::path::PathBuf> = match std::env::var_os("CASULO_CERTS_D") {
        Some(dir) if !dir.is_empty() => vec![dir.into()],
        _ => vec![CERTS_D.into(), DOCKER_CERTS_D.into()],
    };
    dirs.into_iter()
        .map(|dir| dir.join(registry).join("ca.crt"))
        .find(|file| file.is_file())
}

/// Where the message of an untrusted or plain-HTTP registry tells to put
/// its CA: `$CASULO_CERTS_D` or casulo's default (docker's also read).
pub fn ca_place(registry: &str) -> String {
    match std::env::var("CASULO_CERTS_D") {
        Ok(dir) if !dir.is_empty() => format!("{dir}/{registry}/ca.crt"),
        _ => format!(
            "{CERTS_D}/{registry}/ca.crt (ou em {DOCKER_CERTS_D}/{registry}/ca.crt, \
             o lugar do docker, que o casulo também lê)"
        ),
    }
}

/// Whether `registry` (`host[:port]`) is spoken to in plain HTTP.
pub fn plain_http(registry: &str) -> bool {
    if ca_file(registry).is_some() {
        return false;
    }
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    loopback
        || std::env::var("CASULO_INSECURE_REGISTRIES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .any(|r| !r.is_empty() && (r == registry || r == host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(input: &str) -> RemoteRef {
        RemoteRef::parse_with(input, DEFAULT_REGISTRY).unwrap()
    }

    #[test]
    fn registry_names_in_docker_grammar() {
        let r = p("localhost:5000/aluno/app:v1");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_str()),
            ("localhost:5000", "aluno/app", "v1")
        );
        assert_eq!(r.local.to_string(), "localhost:5000/aluno/app:v1");
        assert_eq!(r.base_url(), "http://localhost:5000");
        let r = p("127.0.0.1:5999/app");
        assert_eq!(
            (r.registry.as_str(), r.tag.as_str()),
            ("127.0.0.1:5999", "latest")
        );
        assert_eq!(r.base_url(), "http://127.0.0.1:5999");
        let r = p("busybox");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/busybox")
        );
        assert_eq!(r.base_url(), "https://registry-1.docker.io");
        let r = p("registry.exemplo.com/x/y:z");
        assert_eq!(r.base_url(), "https://registry.exemplo.com");
        assert_eq!(r.repository, "x/y");
        let r = RemoteRef::parse_with("aluno/app:v2", "10.0.0.5:5000").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("10.0.0.5:5000", "aluno/app")
        );
        assert_eq!(r.display(), "10.0.0.5:5000/aluno/app:v2");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = p(&format!("localhost:5000/app@{d}"));
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r.manifest_reference(), d);
        assert_eq!(
            r.local.to_string(),
            format!("localhost:5000/app:sha256-{}", "a".repeat(64))
        );
        let r = p(&format!("localhost:5000/app:v2@{d}"));
        assert_eq!(r.local.to_string(), "localhost:5000/app:v2");
        assert!(RemoteRef::parse_with("app@sha256:xyz", DEFAULT_REGISTRY).is_err());
        assert!(RemoteRef::parse_with("App", DEFAULT_REGISTRY).is_err());
        assert!(plain_http("[::1]:5000"));
        assert!(!plain_http("10.0.0.5:5000"));
    }
}
