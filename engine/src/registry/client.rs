//! The HTTP side of the distribution API: one method per request of the
//! spec, each recorded as a trace event (`registry.*`) with its status
//! and, for blobs, bytes and time. Credentials never reach the trace: the
//! events say which scheme and whether credentials were sent, nothing more.

use std::io::Read;
use std::time::{Duration, Instant};

use casulo_trace::{EventBody, Outcome};
use ureq::http::Response;
use ureq::Body;

use super::auth::{self, Challenge, Credentials};
use super::{RegistryError, RemoteRef};
use crate::image::oci;
use crate::recorder::Recorder;

/// Docker's schema 2 manifest list (its name for an image index).
pub const MEDIA_TYPE_DOCKER_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker's schema 2 config.
pub const MEDIA_TYPE_DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// Manifests bigger than this are refused (they are a few KiB).
const MAX_MANIFEST: u64 = 4 * 1024 * 1024;

/// One registry and one repository, authenticated on first need.
pub struct Client<'r> {
    agent: ureq::Agent,
    pub registry: String,
    pub repository: String,
    base: String,
    credentials: Option<Credentials>,
    /// The `Authorization` header, once authenticated.
    authorization: Option<String>,
    /// More scopes to ask a token server for (a push's mount sources).
    extra_scopes: Vec<String>,
    /// The token server that gave the Bearer token in use, if any.
    token_realm: Option<String>,
    rec: &'r Recorder,
}

/// How a request ended: the response, or no answer at all.
type Answer = Result<Response<Body>, ureq::Error>;

impl<'r> Client<'r> {
    /// A client for `remote`'s registry and repository, with the
    /// credentials `casulo login` saved for that registry, if any.
    pub fn new(remote: &RemoteRef, rec: &'r Recorder) -> Result<Client<'r>, RegistryError> {
        let mut config = ureq::config::Config::builder();
        if let Some(ca) = super::name::ca_file(&remote.registry) {
            config = config.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ca_certs(&remote.registry, &ca)?)
                    .build(),
            );
        }
        let config = config
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(format!("casulo/{}", env!("CARGO_PKG_VERSION")))
            .max_redirects(5)
            .build();
        Ok(Client {
            agent: ureq::Agent::new_with_config(config),
            registry: remote.registry.clone(),
            repository: remote.repository.clone(),
            base: remote.base_url(),
            credentials: auth::load(&remote.registry)?,
            authorization: None,
            extra_scopes: Vec::new(),
            token_realm: None,
            rec,
        })
    }

    /// With Bearer auth, the token also lets this repository be read (a
    /// cross-repository mount takes its blobs from there).
    pub fn also_pull_from(&mut self, repository: &str) {
        self.extra_scopes
            .push(format!("repository:{repository}:pull"));
    }

    /// Uses these credentials instead of the saved ones (`casulo login`
    /// checks them before saving).
    pub fn set_credentials(&mut self, credentials: Credentials) {
        self.credentials = Some(credentials);
    }

    /// `http(s)://host/v2/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/v2/{path}", self.base)
    }

    fn blob_url(&self, digest: &str) -> String {
        self.url(&format!("{}/blobs/{digest}", self.repository))
    }

    fn with_auth<B>(&self, mut req: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        if let Some(value) = &self.authorization {
            req = req.header("Authorization", value);
        }
        req
    }

    /// The error for a request that got no answer, and its trace outcome.
    fn unreachable(&self, url: &str, e: &ureq::Error) -> (RegistryError, Outcome) {
        use nix::errno::Errno;
        let errno = match e {
            ureq::Error::Io(io) => io.raw_os_error().map(Errno::from_raw).unwrap_or(Errno::EIO),
            ureq::Error::ConnectionFailed => Errno::ECONNREFUSED,
            ureq::Error::Timeout(_) => Errno::ETIMEDOUT,
            ureq::Error::HostNotFound => Errno::EHOSTUNREACH,
            _ => Errno::EIO,
        };
        let outcome = crate::kernel::outcome_of::<()>(&Err(errno));
        let why = match e {
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "conexão recusada: ninguém escuta nessa porta".to_string()
            }
            ureq::Error::HostNotFound => "o nome do host não foi encontrado".to_string(),
            ureq::Error::Timeout(_) => "o tempo de espera acabou".to_string(),
            other if is_certificate_error(other) => format!(
                "o certificado TLS dele não é confiável ({other}); se o registry tem uma CA \
                 própria, ponha o ca.crt dela em {}",
                super::name::ca_place(&self.registry)
            ),
            other => other.to_string(),
        };
        (
            RegistryError::Unreachable {
                registry: self.registry.clone(),
                url: url.to_string(),
                why,
            },
            outcome,
        )
    }

    /// `GET /v2/`: the registry is there; authenticates if it asks.
    pub fn ping(&mut self, actions: &str) -> Result<(), RegistryError> {
        let url = self.url("");
        let answer = self.agent.get(&url).call();
        let resp = match answer {
            Ok(resp) => resp,
            Err(e) => {
                let (err, outcome) = self.unreachable(&url, &e);
                self.rec.record(
                    EventBody::RegistryPing {
                        registry: self.registry.clone(),
                        url: url.clone(),
                        status: 0,
                        auth: String::new(),
                    },
                    format!("GET {url}"),
                    outcome,
                );
                return Err(err);
            }
        };
        let status = resp.status().as_u16();
        let challenge = header(&resp, "www-authenticate").and_then(|h| Challenge::parse(&h));
        self.rec.record(
            EventBody::RegistryPing {
                registry: self.registry.clone(),
                url: url.clone(),
                status,
                auth: if status == 401 {
                    challenge
                        .as_ref()
                        .map(|c| c.scheme.clone())
                        .unwrap_or_default()
                } else {
                    String::new()
                },
            },
            format!("GET {url}"),
            Outcome::Ok,
        );
        match status {
            200..=299 => Ok(()),
            401 => {
                let challenge = challenge.ok_or_else(|| RegistryError::Http {
                    registry: self.registry.clone(),
                    request: format!("GET {url}"),
                    status,
                    body: "401 sem cabeçalho WWW-Authenticate".into(),
                })?;
                self.authenticate(&challenge, actions)
            }
            404 => Err(RegistryError::Other(format!(
                "{url} respondeu 404: {} não parece um registry (OCI distribution v2)",
                self.registry
            ))),
            400 if url.starts_with("http://") => {
                // Go's servers (distribution) answer plain HTTP on a TLS
                // port with this 400.
                let err = self.http_error("GET", &url, resp);
                match err {
                    RegistryError::Http { ref body, .. } if body.contains("HTTPS") => {
                        Err(RegistryError::Other(format!(
                            "o registry {} ({url}) fala HTTPS, e o casulo falou HTTP com ele \
                             (um registry em localhost, 127.x ou em CASULO_INSECURE_REGISTRIES \
                             é acessado por HTTP, a não ser que a CA dele esteja no certs.d): \
                             ponha o ca.crt da CA que assinou o certificado dele em {}",
                            self.registry,
                            super::name::ca_place(&self.registry)
                        )))
                    }
                    other => Err(other),
                }
            }
            _ => Err(self.http_error("GET", &url, resp)),
        }
    }

    /// Basic: the credentials go in every request (checked now with a
    /// second `GET /v2/`). Bearer: a token for `repository:REPO:actions`
    /// from the token server.
    fn authenticate(&mut self, challenge: &Challenge, actions: &str) -> Result<(), RegistryError> {
        // `casulo login` names no repository: it asks for no scope.
        let scope = if self.repository.is_empty() {
            String::new()
        } else {
            format!("repository:{}:{actions}", self.repository)
        };
        match challenge.scheme.as_str() {
            "basic" => self.basic(challenge, &scope),
            "bearer" => self.bearer(challenge, &scope),
            other => Err(self.denied(format!(
                "ele pede a autenticação {other:?}, que o casulo não conhece (só basic e bearer)"
            ))),
        }
    }

    /// The registry refused us, and why (pt-BR).
    fn denied(&self, why: String) -> RegistryError {
        RegistryError::Denied {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            why,
        }
    }

    fn login_hint(&self) -> String {
        format!("faça `casulo login {}`", self.registry)
    }

    /// Basic: the saved user and password on every request, checked once
    /// with `GET /v2/`.
    fn basic(&mut self, challenge: &Challenge, scope: &str) -> Result<(), RegistryError> {
        let login_hint = self.login_hint();
        let Some(credentials) = &self.credentials else {
            self.record_auth(challenge, scope, 401, false);
            return Err(self.denied(format!(
                "ele pede usuário e senha (autenticação basic) e não há credenciais \
                 salvas para ele: {login_hint}"
            )));
        };
        self.authorization = Some(credentials.basic_header());
        let url = self.url("");
        let status = match self.with_auth(self.agent.get(&url)).call() {
            Ok(resp) => resp.status().as_u16(),
            Err(e) => return Err(self.unreachable(&url, &e).0),
        };
        self.record_auth(challenge, scope, status, true);
        if status == 401 {
            self.authorization = None;
            return Err(self.denied(format!(
                "usuário ou senha errados (o usuário {:?} foi recusado); {login_hint}",
                credentials.user
            )));
        }
        Ok(())
    }

    /// Bearer: a token from the challenge's `realm` for `scope` (with the
    /// saved user and password, if any), checked by the registry itself.
    fn bearer(&mut self, challenge: &Challenge, scope: &str) -> Result<(), RegistryError> {
        let login_hint = self.login_hint();
        let realm = challenge.param("realm");
        if realm.is_empty() {
            return Err(self.denied("o desafio Bearer não diz o servidor de tokens (realm)".into()));
        }
        let mut req = self.agent.get(realm);
        if !challenge.param("service").is_empty() {
            req = req.query("service", challenge.param("service"));
        }
        if !scope.is_empty() {
            req = req.query("scope", scope);
        }
        for extra in &self.extra_scopes {
            req = req.query("scope", extra);
        }
        if let Some(credentials) = &self.credentials {
            req = req.header("Authorization", credentials.basic_header());
        }
        let mut resp = match req.call() {
            Ok(resp) => resp,
            Err(e) => return Err(self.unreachable(realm, &e).0),
        };
        let status = resp.status().as_u16();
        self.record_auth(challenge, scope, status, self.credentials.is_some());
        if status == 401 || status == 403 {
            return Err(self.denied(match &self.credentials {
                Some(credentials) => format!(
                    "usuário ou senha errados (o servidor de tokens {realm} recusou \
                     o usuário {:?} com {status}); {login_hint}",
                    credentials.user
                ),
                None => format!(
                    "ele pede um token (autenticação Bearer) do servidor {realm}, que \
                     pede usuário e senha, e não há credenciais salvas para ele: \
                     {login_hint}"
                ),
            }));
        }
        if !(200..300).contains(&status) {
            return Err(self.http_error("GET", realm, resp));
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| self.unreachable(realm, &e).0)?;
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&body).map_err(|e| {
            RegistryError::Other(format!("o token de {realm} não é JSON válido: {e}"))
        })?;
        let token = token.token.or(token.access_token).ok_or_else(|| {
            RegistryError::Other(format!("a resposta de {realm} não tem \"token\""))
        })?;
        self.authorization = Some(format!("Bearer {token}"));
        self.token_realm = Some(realm.to_string());
        // The registry has the last word on the token (its
        // signature, issuer, audience): `GET /v2/` with it.
        let url = self.url("");
        let check = match self.with_auth(self.agent.get(&url)).call() {
            Ok(resp) => resp.status().as_u16(),
            Err(e) => return Err(self.unreachable(&url, &e).0),
        };
        if check == 401 {
            self.authorization = None;
            return Err(self.denied(format!(
                "o registry recusou o token que o servidor {realm} deu (assinatura, \
                 emissor ou serviço que ele não reconhece: o registry e o servidor \
                 de tokens estão configurados um para o outro?)"
            )));
        }
        Ok(())
    }

    fn record_auth(&self, challenge: &Challenge, scope: &str, status: u16, with_credentials: bool) {
        self.rec.record(
            EventBody::RegistryAuth {
                registry: self.registry.clone(),
                scheme: challenge.scheme.clone(),
                realm: challenge.param("realm").to_string(),
                scope: scope.to_string(),
                with_credentials,
                status,
            },
            match challenge.scheme.as_str() {
                "bearer" => format!("GET {}?scope={scope}", challenge.param("realm")),
                _ => "Authorization: Basic (credenciais do casulo login)".to_string(),
            },
            if (200..300).contains(&status) {
                Outcome::Ok
            } else {
                crate::kernel::outcome_of::<()>(&Err(nix::errno::Errno::EACCES))
            },
        );
    }

    /// The error for an unexpected status, with the registry's own
    /// message (its JSON `errors`, or the start of the body).
    fn http_error(&self, method: &str, url: &str, mut resp: Response<Body>) -> RegistryError {
        let status = resp.status().as_u16();
        let challenge = header(&resp, "www-authenticate").and_then(|h| Challenge::parse(&h));
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .unwrap_or_default();
        let text = registry_message(&body);
        let request = format!("{method} {url}");
        match status {
            401 | 403
                if challenge
                    .as_ref()
                    .is_some_and(|c| c.param("error") == "insufficient_scope") =>
            {
                // The token is valid but grants less than this request
                // needs: the token server gave only part of the scope.
                let challenge = challenge.expect("checked above");
                let writing = matches!(method, "POST" | "PUT" | "PATCH" | "DELETE");
                let user = self
                    .credentials
                    .as_ref()
                    .map(|c| format!("o usuário {:?}", c.user))
                    .unwrap_or_else(|| "um acesso anônimo".into());
                RegistryError::Denied {
                    registry: self.registry.clone(),
                    repository: self.repository.clone(),
                    why: format!(
                        "o token que o servidor de tokens {} deu para {user} não permite {} \
                         ({request} precisa do escopo {:?}): esse usuário não tem essa \
                         permissão nesse repositório. Peça a permissão a quem cuida do \
                         registry ou faça `casulo login {}` com um usuário que a tenha",
                        self.token_realm
                            .as_deref()
                            .unwrap_or(challenge.param("realm")),
                        if writing {
                            "enviar (push)"
                        } else {
                            "baixar (pull)"
                        },
                        challenge.param("scope"),
                        self.registry,
                    ),
                }
            }
            401 | 403 => RegistryError::Denied {
                registry: self.registry.clone(),
                repository: self.repository.clone(),
                why: format!("{status} em {request}: {text}"),
            },
            _ => RegistryError::Http {
                registry: self.registry.clone(),
                request,
                status,
                body: text,
            },
        }
    }

    /// `HEAD /v2/REPO/blobs/DIGEST`: does the registry have it?
    pub fn blob_exists(
        &self,
        digest: &str,
        size: u64,
        layer: Option<u32>,
    ) -> Result<bool, RegistryError> {
        let url = self.blob_url(digest);
        let answer: Answer = self.with_auth(self.agent.head(&url)).call();
        let resp = answer.map_err(|e| self.unreachable(&url, &e).0)?;
        let status = resp.status().as_u16();
        let exists = status == 200;
        self.rec.record(
            EventBody::RegistryBlobExists {
                registry: self.registry.clone(),
                repository: self.repository.clone(),
                digest: digest.to_string(),
                size,
                exists,
                local: false,
                layer,
                status,
            },
            format!("HEAD {url}"),
            Outcome::Ok,
        );
        match status {
            200 | 404 => Ok(exists),
            _ => Err(self.http_error("HEAD", &url, resp)),
        }
    }

    /// `POST …/blobs/uploads/?mount=DIGEST&from=REPO`: links a blob the
    /// registry has in `from`. `Ok(None)` when mounted; `Ok(Some(location))`
    /// when the registry opened an upload instead.
    pub fn mount_blob(
        &self,
        digest: &str,
        from: &str,
        layer: Option<u32>,
    ) -> Result<Option<String>, RegistryError> {
        let url = self.url(&format!("{}/blobs/uploads/", self.repository));
        let answer = self
            .with_auth(self.agent.post(&url))
            .query("mount", digest)
            .query("from", from)
            .send_empty();
        let resp = answer.map_err(|e| self.unreachable(&url, &e).0)?;
        let status = resp.status().as_u16();
        self.rec.record(
            EventBody::RegistryBlobMount {
                registry: self.registry.clone(),
                repository: self.repository.clone(),
                from: from.to_string(),
                digest: digest.to_string(),
                mounted: status == 201,
                layer,
                status,
            },
            format!("POST {url}?mount={digest}&from={from}"),
            Outcome::Ok,
        );
        match status {
            201 => Ok(None),
            202 => Ok(Some(self.location(&url, &resp)?)),
            _ => Err(self.http_error("POST", &url, resp)),
        }
    }

    /// The `Location` of an upload, made absolute.
    fn location(&self, url: &str, resp: &Response<Body>) -> Result<String, RegistryError> {
        let location = header(resp, "location").ok_or_else(|| RegistryError::Http {
            registry: self.registry.clone(),
            request: format!("POST {url}"),
            status: resp.status().as_u16(),
            body: "a resposta não tem o cabeçalho Location do upload".into(),
        })?;
        Ok(
            if location.starts_with("http://") || location.starts_with("https://") {
                location
            } else {
                format!("{}{location}", self.base)
            },
        )
    }

    /// Sends a blob: `POST` opens an upload (unless `location` is one
    /// already open), `PUT ?digest=` with every byte closes it
    /// (monolithic), or `PATCH`es of [`chunk_size`] bytes and an empty
    /// `PUT ?digest=` (chunked). `progress` gets the bytes sent so far.
    pub fn upload_blob(
        &self,
        digest: &str,
        size: u64,
        location: Option<String>,
        mut blob: impl Read,
        layer: Option<u32>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), RegistryError> {
        let start = Instant::now();
        let location = match location {
            Some(l) => l,
            None => {
                let url = self.url(&format!("{}/blobs/uploads/", self.repository));
                let resp = self
                    .with_auth(self.agent.post(&url))
                    .send_empty()
                    .map_err(|e| self.unreachable(&url, &e).0)?;
                if resp.status().as_u16() != 202 {
                    return Err(self.http_error("POST", &url, resp));
                }
                self.location(&url, &resp)?
            }
        };
        let mut counted = Counting {
            inner: &mut blob,
            done: 0,
            progress,
        };
        let chunk = chunk_size();
        let mut chunks = 0u32;
        let mut location = location;
        let resp = if chunk > 0 && size > chunk {
            // Chunked: one PATCH per piece (Content-Range), each answered
            // with the upload's next Location; then an empty PUT closes it.
            let mut sent = 0u64;
            let mut piece = Vec::with_capacity(chunk as usize);
            while sent < size {
                piece.clear();
                (&mut counted)
                    .take(chunk)
                    .read_to_end(&mut piece)
                    .map_err(|e| RegistryError::Other(format!("lendo o blob {digest}: {e}")))?;
                if piece.is_empty() {
                    return Err(RegistryError::Other(format!(
                        "o blob {digest} acabou em {sent} bytes, mas o store diz {size}"
                    )));
                }
                let end = sent + piece.len() as u64 - 1;
                let resp = self
                    .with_auth(self.agent.patch(&location))
                    .header("Content-Type", "application/octet-stream")
                    .header("Content-Range", format!("{sent}-{end}"))
                    .send(&piece[..])
                    .map_err(|e| self.unreachable(&location, &e).0)?;
                if resp.status().as_u16() != 202 {
                    let shown = location.split('?').next().unwrap_or(&location).to_string();
                    return Err(self.http_error("PATCH", &shown, resp));
                }
                location = self.location(&location, &resp)?;
                sent = end + 1;
                chunks += 1;
            }
            let sep = if location.contains('?') { '&' } else { '?' };
            let put = format!("{location}{sep}digest={digest}");
            self.with_auth(self.agent.put(&put))
                .header("Content-Length", "0")
                .send_empty()
                .map_err(|e| self.unreachable(&put, &e).0)?
        } else {
            let sep = if location.contains('?') { '&' } else { '?' };
            let put = format!("{location}{sep}digest={digest}");
            self.with_auth(self.agent.put(&put))
                .header("Content-Type", "application/octet-stream")
                .header("Content-Length", size.to_string())
                .send(ureq::SendBody::from_reader(&mut counted))
                .map_err(|e| self.unreachable(&put, &e).0)?
        };
        let put = location;
        let status = resp.status().as_u16();
        let shown = put.split('?').next().unwrap_or(&put).to_string();
        self.rec.record(
            EventBody::RegistryBlobUpload {
                registry: self.registry.clone(),
                repository: self.repository.clone(),
                digest: digest.to_string(),
                bytes: size,
                duration_us: start.elapsed().as_micros() as u64,
                chunks,
                layer,
                status,
            },
            format!("PUT {shown}?digest={digest}"),
            if status == 201 {
                Outcome::Ok
            } else {
                crate::kernel::outcome_of::<()>(&Err(nix::errno::Errno::EIO))
            },
        );
        if status != 201 {
            return Err(self.http_error("PUT", &shown, resp));
        }
        Ok(())
    }

    /// `GET /v2/REPO/blobs/DIGEST`: the response, to stream. The caller
    /// verifies and records ([`Client::record_download`]).
    pub fn get_blob(&self, digest: &str) -> Result<Response<Body>, RegistryError> {
        let url = self.blob_url(digest);
        let resp = self
            .with_auth(self.agent.get(&url))
            .call()
            .map_err(|e| self.unreachable(&url, &e).0)?;
        match resp.status().as_u16() {
            200 => Ok(resp),
            404 => Err(RegistryError::NotFound {
                registry: self.registry.clone(),
                what: format!("o blob {digest} de {}", self.repository),
            }),
            _ => Err(self.http_error("GET", &url, resp)),
        }
    }

    pub fn record_download(
        &self,
        digest: &str,
        bytes: u64,
        start: Instant,
        layer: Option<u32>,
        result: Result<(), nix::errno::Errno>,
    ) {
        self.rec.record(
            EventBody::RegistryBlobDownload {
                registry: self.registry.clone(),
                repository: self.repository.clone(),
                digest: digest.to_string(),
                bytes,
                duration_us: start.elapsed().as_micros() as u64,
                layer,
                status: 200,
            },
            format!("GET {}", self.blob_url(digest)),
            crate::kernel::outcome_of(&result),
        );
    }

    /// `GET /v2/REPO/manifests/REF` accepting OCI and Docker manifests and
    /// indexes: (bytes, media type, digest as the registry says or as
    /// computed). The caller checks a digest it asked for.
    pub fn get_manifest(&self, reference: &str) -> Result<(Vec<u8>, String), RegistryError> {
        let url = self.url(&format!("{}/manifests/{reference}", self.repository));
        let accept = [
            oci::MEDIA_TYPE_MANIFEST,
            oci::MEDIA_TYPE_INDEX,
            oci::MEDIA_TYPE_DOCKER_MANIFEST,
            MEDIA_TYPE_DOCKER_LIST,
        ]
        .join(", ");
        let mut resp = self
            .with_auth(self.agent.get(&url))
            .header("Accept", &accept)
            .call()
            .map_err(|e| self.unreachable(&url, &e).0)?;
        match resp.status().as_u16() {
            200 => {}
            404 => {
                return Err(RegistryError::NotFound {
                    registry: self.registry.clone(),
                    what: format!("a imagem {}:{reference}", self.repository),
                })
            }
            _ => return Err(self.http_error("GET", &url, resp)),
        }
        let media_type = header(&resp, "content-type")
            .map(|t| t.split(';').next().unwrap_or_default().trim().to_string())
            .unwrap_or_default();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_MANIFEST)
            .read_to_vec()
            .map_err(|e| self.unreachable(&url, &e).0)?;
        Ok((bytes, media_type))
    }

    /// Records a manifest fetched (after the caller parsed and checked it).
    #[allow(clippy::too_many_arguments)]
    pub fn record_manifest_get(
        &self,
        reference: &str,
        digest: &str,
        media_type: &str,
        size: u64,
        layers: u32,
        platform: Option<String>,
    ) {
        let url = self.url(&format!("{}/manifests/{reference}", self.repository));
        self.rec.record(
            EventBody::RegistryManifestGet {
                registry: self.registry.clone(),
                repository: self.repository.clone(),
                reference: reference.to_string(),
                digest: digest.to_string(),
                media_type: media_type.to_string(),
                size,
                layers,
                platform,
                status: 200,
            },
            format!("GET {url}"),
            Outcome::Ok,
        );
    }

    /// `PUT /v2/REPO/manifests/TAG`.
    pub fn put_manifest(
        &self,
        tag: &str,
        bytes: &[u8],
        media_type: &str,
        layers: u32,
    ) -> Result<(), RegistryError> {
        let url = self.url(&format!("{}/manifests/{tag}", self.repository));
        let resp = self
            .with_auth(self.agent.put(&url))
            .header("Content-Type", media_type)
            .send(bytes)
            .map_err(|e| self.unreachable(&url, &e).0)?;
        let status = resp.status().as_u16();
        self.rec.record(
            EventBody::RegistryManifestPut {
                registry: self.registry.clone(),
                repository: self.repository.clone(),
                tag: tag.to_string(),
                digest: crate::image::digest::sha256(bytes),
                media_type: media_type.to_string(),
                size: bytes.len() as u64,
                layers,
                status,
            },
            format!("PUT {url}"),
            if status == 201 {
                Outcome::Ok
            } else {
                crate::kernel::outcome_of::<()>(&Err(nix::errno::Errno::EIO))
            },
        );
        if status != 201 {
            return Err(self.http_error("PUT", &url, resp));
        }
        Ok(())
    }
}

/// The certificates of a registry's `ca.crt` (PEM, one or more): the only
/// roots its certificate is checked against, as docker does with
/// `/etc/docker/certs.d`.
fn ca_certs(registry: &str, path: &std::path::Path) -> Result<ureq::tls::RootCerts, RegistryError> {
    let bad = |why: String| {
        RegistryError::Other(format!(
            "{}: a CA do registry {registry} não pôde ser lida: {why}",
            path.display()
        ))
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let ureq::tls::PemItem::Certificate(cert) = item.map_err(|e| bad(e.to_string()))? {
            certs.push(cert);
        }
    }
    if certs.is_empty() {
        return Err(bad(
            "nenhum certificado PEM (-----BEGIN CERTIFICATE-----) no arquivo".into(),
        ));
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

/// Bytes per `PATCH` of a chunked upload: `CASULO_REGISTRY_CHUNK` (for a
/// registry behind a proxy that limits the size of a request); unset or 0,
/// uploads are monolithic (one `PUT` with every byte).
fn chunk_size() -> u64 {
    std::env::var("CASULO_REGISTRY_CHUNK")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// A TLS handshake that failed on the server's certificate.
fn is_certificate_error(e: &ureq::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    matches!(
        e,
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Io(_)
    ) && (text.contains("certificate") || text.contains("unknownissuer"))
}

/// A response header as text.
fn header(resp: &Response<Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The registry's error JSON (`{"errors":[{"code":…,"message":…}]}`) as
/// one line, or the start of the body.
fn registry_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(errors) = serde_json::from_slice::<Errors>(body) {
        if !errors.errors.is_empty() {
            return errors
                .errors
                .iter()
                .map(|e| format!("{} ({})", e.message, e.code))
                .collect::<Vec<_>>()
                .join("; ");
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "(resposta vazia)".into()
    } else {
        text.chars().take(300).collect()
    }
}

/// A reader that reports the bytes read so far.
struct Counting<'a, R> {
    inner: R,
    done: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        (self.progress)(self.done);
        Ok(n)
    }
}
