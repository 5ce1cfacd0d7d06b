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
    /// Speaks HTTPS.
    tls: bool,
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

    /// A registry that wants a Bearer token signed by `issuer` (the
    /// `auth: token` of distribution: it checks the JWT's signature against
    /// the issuer's certificate, its issuer, audience, expiry and access).
    pub fn start_with_token(issuer: &TokenIssuer) -> Registry {
        Registry::start_any(None, Auth::Token(issuer, issuer), None)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A registry that sends clients to `realm_of`'s token server but
    /// trusts only `trusted`'s certificate: every token is refused.
    pub fn start_with_foreign_tokens(trusted: &TokenIssuer, realm_of: &TokenIssuer) -> Registry {
        Registry::start_any(None, Auth::Token(trusted, realm_of), None)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A registry speaking HTTPS with a certificate for 127.0.0.1 signed by
    /// a CA made here (openssl); the CA's certificate is written to
    /// `certs_d/<addr>/ca.crt`, where casulo looks for it
    /// (`CASULO_CERTS_D`, as docker's `/etc/docker/certs.d`).
    pub fn start_with_tls(certs_d: &Path) -> Registry {
        Registry::start_any(None, Auth::Tls(certs_d), None).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A registry on `addr` (`None`: `127.0.0.1:<free port>`), with
    /// htpasswd auth when `auth` is given, keeping its blobs in `storage`
    /// (`None`: a temp directory removed on drop).
    pub fn start_with(
        addr: Option<&str>,
        auth: Option<(&str, &str)>,
        storage: Option<&Path>,
    ) -> Result<Registry, String> {
        Registry::start_any(
            addr,
            match auth {
                Some((user, password)) => Auth::Htpasswd(user, password),
                None => Auth::None,
            },
            storage,
        )
    }

    fn start_any(
        addr: Option<&str>,
        auth: Auth,
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
        if let Auth::Tls(certs_d) = &auth {
            let (cert, key) = make_tls(dir.path(), &addr, certs_d)?;
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if let Auth::Token(issuer, realm_of) = &auth {
            config.push_str(&format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    \
                 rootcertbundle: {}\n",
                realm_of.realm(),
                TokenIssuer::SERVICE,
                TokenIssuer::ISSUER,
                issuer.certificate().display()
            ));
        }
        if let Auth::Htpasswd(user, password) = auth {
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
            credentials: match auth {
                Auth::Htpasswd(u, p) => Some((u.to_string(), p.to_string())),
                Auth::Token(_, issuer) => Some((issuer.user.clone(), issuer.password.clone())),
                Auth::None | Auth::Tls(_) => None,
            },
            tls: matches!(auth, Auth::Tls(_)),
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
                // An HTTPS server answers a plain request with 400.
                if code == 200 || code == 401 || (self.tls && code == 400) {
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

/// How a registry asks to be authenticated.
enum Auth<'a> {
    None,
    /// HTTPS, the CA written under this `certs.d`.
    Tls(&'a Path),
    Htpasswd(&'a str, &'a str),
    /// The token whose certificate it trusts, and the one whose realm it
    /// names (the same, but for a test of a foreign signature).
    Token(&'a TokenIssuer, &'a TokenIssuer),
}

/// A token server for a registry with `auth: token`: it answers
/// `GET /token?service=…&scope=…` with a JWT (RS256, the certificate in
/// its `x5c` header) granting the scopes asked, to whoever sends the right
/// user and password (HTTP basic), as Docker Hub's auth.docker.io does.
///
/// Written here because no real token server is packaged in Debian (the
/// ones in use — docker_auth, Harbor's core, Quay — are not): the registry
/// that checks the token is the real one, and the signature is real (a
/// key and self-signed certificate made by `openssl`, which also signs).
pub struct TokenIssuer {
    dir: tempfile::TempDir,
    addr: String,
    pub user: String,
    pub password: String,
    /// Every request: (scopes asked, whether credentials came, status).
    log: std::sync::Arc<std::sync::Mutex<Vec<TokenRequest>>>,
}

impl TokenIssuer {
    pub const SERVICE: &'static str = "casulo-registro";
    pub const ISSUER: &'static str = "casulo-emissor-de-tokens";

    /// Makes the key and certificate and starts serving on loopback.
    pub fn start(user: &str, password: &str) -> TokenIssuer {
        TokenIssuer::start_with_reader(user, password, None)
    }

    /// As [`TokenIssuer::start`], plus a second account `reader` (user,
    /// password) that may only read: its tokens grant `pull` of what it
    /// asks and never `push`, as a real token server grants the
    /// intersection of the scope asked and the account's rights.
    pub fn start_with_reader(
        user: &str,
        password: &str,
        reader: Option<(&str, &str)>,
    ) -> TokenIssuer {
        let dir = tempfile::Builder::new()
            .prefix("casulo-tokens-")
            .tempdir()
            .unwrap();
        let ok = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=casulo-emissor-de-tokens"])
            .arg("-keyout")
            .arg(dir.path().join("chave.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl (pacote openssl)");
        assert!(ok.success(), "openssl req falhou");
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(dir.path().join("cert.pem"))
            .output()
            .unwrap();
        assert!(der.status.success());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let issuer = TokenIssuer {
            dir,
            addr,
            user: user.to_string(),
            password: password.to_string(),
            log: log.clone(),
        };
        let key = issuer.dir.path().join("chave.pem");
        let x5c = b64(&der.stdout, false);
        let basic = |user: &str, password: &str| {
            format!(
                "Basic {}",
                b64(format!("{user}:{password}").as_bytes(), false)
            )
        };
        let accounts = Accounts {
            writer: basic(user, password),
            reader: reader.map(|(u, p)| basic(u, p)),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve_token(stream, &key, &x5c, &accounts, &log);
            }
        });
        issuer
    }

    /// `http://127.0.0.1:<port>/token`.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// The certificate the registry trusts (`rootcertbundle`).
    pub fn certificate(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The requests so far: (scopes, with credentials, status answered).
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.log.lock().unwrap().clone()
    }
}

/// One request to the token server: (scopes asked, whether credentials
/// came, status answered).
pub type TokenRequest = (Vec<String>, bool, u16);

fn b64(bytes: &[u8], url: bool) -> String {
    use base64::Engine as _;
    if url {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    } else {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

/// The `Authorization` headers the token server accepts: one account with
/// every right, and maybe one that may only pull.
struct Accounts {
    writer: String,
    reader: Option<String>,
}

/// One request to the token server.
fn serve_token(
    mut stream: TcpStream,
    key: &Path,
    x5c: &str,
    accounts: &Accounts,
    log: &std::sync::Mutex<Vec<TokenRequest>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let target = head.split_whitespace().nth(1).unwrap_or("/");
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut scopes = Vec::new();
    let mut service = String::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "scope" => scopes.push(v),
            "service" => service = v,
            _ => {}
        }
    }
    let authorization = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("authorization")
            .then(|| value.trim().to_string())
    });
    let writer = authorization.as_deref() == Some(accounts.writer.as_str());
    let reader = authorization.is_some() && authorization.as_deref() == accounts.reader.as_deref();
    let (status, body) = if !writer && !reader {
        (
            401,
            r#"{"details":"usuário ou senha inválidos"}"#.to_string(),
        )
    } else {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .filter_map(|s| {
                let mut parts = s.splitn(3, ':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                // The reader gets only the `pull` of what it asked.
                let granted: Vec<&str> = actions
                    .split(',')
                    .filter(|a| writer || *a == "pull")
                    .collect();
                Some(serde_json::json!({
                    "type": kind, "name": name, "actions": granted,
                }))
            })
            .collect();
        let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
        let claims = serde_json::json!({
            "iss": TokenIssuer::ISSUER, "sub": if writer { "aluno" } else { "leitor" }, "aud": service,
            "exp": now + 300, "nbf": now - 10, "iat": now,
            "jti": format!("{now}-{}", std::process::id()), "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes(), true),
            b64(claims.to_string().as_bytes(), true)
        );
        let mut openssl = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        openssl
            .stdin
            .take()
            .unwrap()
            .write_all(signing_input.as_bytes())?;
        let signature = openssl.wait_with_output()?.stdout;
        let token = format!("{signing_input}.{}", b64(&signature, true));
        (
            200,
            serde_json::json!({"token": token, "access_token": token, "expires_in": 300})
                .to_string(),
        )
    };
    log.lock()
        .unwrap()
        .push((scopes, authorization.is_some(), status));
    let reason = if status == 200 { "OK" } else { "Unauthorized" };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A CA and a server certificate for `addr`'s IP, made with openssl in
/// `dir`; the CA goes to `certs_d/<addr>/ca.crt`. Returns (cert, key).
fn make_tls(dir: &Path, addr: &str, certs_d: &Path) -> Result<(PathBuf, PathBuf), String> {
    let ip = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .map_err(|e| format!("openssl (pacote openssl): {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=CA da turma (casulo)",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ])?;
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        &format!("/CN={ip}"),
        "-keyout",
        "registro.key",
        "-out",
        "registro.csr",
    ])?;
    fs::write(
        dir.join("ext.cnf"),
        format!(
            "subjectAltName=IP:{ip}{}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            // On loopback also `localhost`, the name the book's examples use.
            if ip.starts_with("127.") {
                ",DNS:localhost"
            } else {
                ""
            }
        ),
    )
    .map_err(|e| e.to_string())?;
    run(&[
        "x509",
        "-req",
        "-in",
        "registro.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "registro.crt",
    ])?;
    let target = certs_d.join(addr);
    fs::create_dir_all(&target).map_err(|e| e.to_string())?;
    fs::copy(dir.join("ca.crt"), target.join("ca.crt")).map_err(|e| e.to_string())?;
    Ok((dir.join("registro.crt"), dir.join("registro.key")))
}
