//! Registry authentication: the `WWW-Authenticate` challenge of a 401, and
//! the credentials `casulo login` keeps.
//!
//! The credentials file has docker's `config.json` shape, so the same
//! knowledge serves both tools:
//!
//! ```json
//! {"auths": {"localhost:5000": {"auth": "<base64 of user:password>"}}}
//! ```
//!
//! It lives in `$CASULO_CONFIG/config.json` (default `~/.casulo/`),
//! directory 0700 and file 0600: base64 is an encoding, not a secret, so
//! only the file's mode protects the password. It is never printed and
//! never goes into a trace.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::PathBuf;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::RegistryError;

/// A user and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // Never the password, not even in a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials {{ user: {:?}, password: *** }}", self.user)
    }
}

impl Credentials {
    /// The value of an `Authorization: Basic …` header.
    pub fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", self.user, self.password))
        )
    }
}

/// How a registry asks to be authenticated (RFC 7235 challenge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `basic` or `bearer` (lowercase).
    pub scheme: String,
    /// `realm`, `service`, `scope`, … (names lowercase).
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// Parses `Bearer realm="https://auth",service="reg",scope="repository:a:pull"`
    /// or `Basic realm="casulo"`.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header
            .split_once(char::is_whitespace)
            .unwrap_or((header, ""));
        if scheme.is_empty() {
            return None;
        }
        let mut params = BTreeMap::new();
        let mut rest = rest.trim();
        while !rest.is_empty() {
            let Some((name, after)) = rest.split_once('=') else {
                break;
            };
            let name = name
                .trim()
                .trim_start_matches(',')
                .trim()
                .to_ascii_lowercase();
            let after = after.trim_start();
            let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
                // A quoted string; `\"` escapes a quote.
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, next)) = chars.next() {
                                value.push(next);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end.min(quoted.len())..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            };
            params.insert(name, value);
            rest = tail.trim_start().trim_start_matches(',').trim_start();
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }

    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }
}

/// The credentials file (`config.json`, docker's shape).
#[derive(Debug, Default, Serialize, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    /// Anything else (docker's other settings), kept as it was.
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AuthEntry {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    auth: String,
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
}

/// `$CASULO_CONFIG/config.json`, or `~/.casulo/config.json`.
pub fn config_path() -> PathBuf {
    let dir = match std::env::var_os("CASULO_CONFIG") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
            .join(".casulo"),
    };
    dir.join("config.json")
}

fn read_config() -> Result<ConfigFile, RegistryError> {
    let path = config_path();
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            RegistryError::Other(format!(
                "{}: JSON inválido ({e}); apague o arquivo e faça `casulo login` de novo",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(RegistryError::Other(format!("{}: {e}", path.display()))),
    }
}

/// Writes the file 0600 (via a temp file + rename) in a 0700 directory.
fn write_config(config: &ConfigFile) -> Result<(), RegistryError> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let path = config_path();
    let io = |e: std::io::Error| RegistryError::Other(format!("{}: {e}", path.display()));
    let dir = path.parent().expect("config.json has a directory");
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io)?;
    let tmp = dir.join(format!(".config.json.{}", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // An older temp file keeps its mode: make sure.
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        let mut json = serde_json::to_vec_pretty(config).expect("config serializes");
        json.push(b'\n');
        file.write_all(&json)?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// The credentials saved for `registry`, if any.
pub fn load(registry: &str) -> Result<Option<Credentials>, RegistryError> {
    let config = read_config()?;
    let Some(entry) = config.auths.get(registry) else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(entry.auth.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    match decoded.as_deref().and_then(|s| s.split_once(':')) {
        Some((user, password)) => Ok(Some(Credentials {
            user: user.to_string(),
            password: password.to_string(),
        })),
        None => Err(RegistryError::Other(format!(
            "{}: a entrada de {registry} não tem um \"auth\" válido (base64 de usuário:senha); \
             faça `casulo login {registry}` de novo",
            config_path().display()
        ))),
    }
}

/// Saves the credentials of `registry` (replacing older ones).
pub fn save(registry: &str, credentials: &Credentials) -> Result<(), RegistryError> {
    let mut config = read_config()?;
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", credentials.user, credentials.password));
    config.auths.entry(registry.to_string()).or_default().auth = auth;
    write_config(&config)
}

/// Forgets the credentials of `registry`; `false` if there were none.
pub fn remove(registry: &str) -> Result<bool, RegistryError> {
    let mut config = read_config()?;
    if config.auths.remove(registry).is_none() {
        return Ok(false);
    }
    write_config(&config)?;
    Ok(true)
}

/// Checks `credentials` with `registry` (`localhost:5000`): a ping that
/// needs them to pass. Returns the registry's name as casulo keeps it.
/// Shared by `casulo login` (which then saves them) and the daemon's
/// `POST /auth` (the docker CLI keeps them itself).
pub fn check(registry: &str, credentials: &Credentials) -> Result<String, RegistryError> {
    let mut remote = super::RemoteRef::parse_with(&format!("{registry}/x"), registry)?;
    remote.repository = String::new();
    // A login writes no trace: the events go nowhere.
    let rec = crate::recorder::Recorder::in_memory();
    let mut client = super::client::Client::new(&remote, &rec)?;
    client.set_credentials(credentials.clone());
    client.ping("pull")?;
    Ok(remote.registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_auth_challenges_parse() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), "https://auth.docker.io/token");
        assert_eq!(c.param("service"), "registry.docker.io");
        assert_eq!(c.param("scope"), "repository:library/busybox:pull");
        let c = Challenge::parse(r#"Basic realm="casulo""#).unwrap();
        assert_eq!((c.scheme.as_str(), c.param("realm")), ("basic", "casulo"));
        let c = Challenge::parse(r#"Bearer realm="a\"b", error="invalid_token""#).unwrap();
        assert_eq!(c.param("realm"), "a\"b");
        assert_eq!(c.param("error"), "invalid_token");
        let c = Challenge::parse("Basic").unwrap();
        assert!(c.params.is_empty());
        assert!(Challenge::parse("  ").is_none());
    }

    #[test]
    fn registry_auth_credentials_never_in_debug() {
        let c = Credentials {
            user: "aluno".into(),
            password: "segredo".into(),
        };
        assert!(!format!("{c:?}").contains("segredo"));
        assert_eq!(c.basic_header(), "Basic YWx1bm86c2VncmVkbw==");
    }
}
