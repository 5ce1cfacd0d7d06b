//! A real registry for tests and for a class: Debian's `docker-registry`
//! (CNCF distribution v2, installed by `cargo xtask setup`) serving plain
//! HTTP, with its storage in a temp directory and a generated config; with
//! htpasswd (bcrypt, made by `htpasswd` of apache2-utils) when asked.
//!
//! Not a mock: the same server docker and skopeo talk to. It is killed (and
//! its storage removed) when the [`Registry`] is dropped.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server binary of Debian's `docker-registry` package.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A running `docker-registry`.
pub struct Registry {
    child: Option<Child>,
    dir: tempfile::TempDir,
    data: PathBuf,
    /// `127.0.0.1:<port>` (or the address asked for).
    pub addr: String,
    /// `(user, password)` when started with htpasswd auth.
    pub credentials: Option<(String, String)>,
}

impl Registry {
    /// A registry without auth on `127.0.0.1:<free port>`.
    pub fn start() -> Registry {
        Registry::start_with(None, None, None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A registry that asks for `user`/`password` (HTTP basic, htpasswd).
    pub fn start_with_auth(user: &str, password: &str) -> Registry {
        Registry::start_with(None, Some((user, password)), None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A registry on `addr` (`None`: `127.0.0.1:<free port>`), with
    /// htpasswd auth when `auth` is given, keeping its blobs in `storage`
    /// (`None`: a temp directory removed on drop).
    pub fn start_with(
        addr: Option<&str>,
        auth: Option<(&str, &str)>,
        storage: Option<&Path>,
    ) -> Result<Registry, String> {
        if !Path::new(REGISTRY_BIN).is_file() {
            return Err(format!(
                "{REGISTRY_BIN} não existe: instale com `cargo xtask setup` (pacote docker-registry)"
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("casulo-registro-")
            .tempdir()
            .map_err(|e| format!("diretório temporário: {e}"))?;
        let addr = match addr {
            Some(a) => a.to_string(),
            None => free_addr()?,
        };
        let data = match storage {
            Some(s) => s.to_path_buf(),
            None => dir.path().join("dados"),
        };
        fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {addr}\n  secret: casulo-testes\n",
            data.display()
        );
        if let Some((user, password)) = auth {
            let htpasswd = dir.path().join("htpasswd");
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .map_err(|e| format!("htpasswd (pacote apache2-utils): {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "htpasswd falhou: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            fs::write(&htpasswd, &out.stdout).map_err(|e| e.to_string())?;
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: casulo\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let log = fs::File::create(dir.path().join("registro.log")).map_err(|e| e.to_string())?;
        let mut command = Command::new(REGISTRY_BIN);
        // The server dies with whoever started it (a killed test binary, a
        // Ctrl-C'd `cargo xtask registro`): no registry is left behind.
        // SAFETY: prctl is async-signal-safe; nothing else runs in the child.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{REGISTRY_BIN}: {e}"))?;
        let mut registry = Registry {
            child: Some(child),
            dir,
            data,
            addr,
            credentials: auth.map(|(u, p)| (u.to_string(), p.to_string())),
        };
        registry.wait_ready()?;
        Ok(registry)
    }

    /// Waits until `GET /v2/` answers (200, or 401 with auth).
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!(
                    "o docker-registry terminou ({status}) antes de atender:\n{}",
                    self.log()
                ));
            }
            if let Some(code) = http_status(&self.addr, "/v2/") {
                if code == 200 || code == 401 {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "o docker-registry não atendeu em {} em 20 s:\n{}",
            self.addr,
            self.log()
        ))
    }

    /// Where it keeps its blobs and manifests (distribution's layout:
    /// `docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data`).
    pub fn storage(&self) -> PathBuf {
        self.data.clone()
    }

    /// The server's log (errors only).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registro.log")).unwrap_or_default()
    }

    /// Stops the server (kill + wait); the storage stays until drop.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits for the server to end by itself (for `cargo xtask registro`).
    pub fn wait(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `127.0.0.1:<a port nobody listens on now>`.
pub fn free_addr() -> Result<String, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    Ok(format!("127.0.0.1:{port}"))
}

/// The status code of a plain `GET path` (HTTP/1.0), or `None` when
/// nothing answers: enough to know the server is up.
fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
