//! `docker pull` (`POST /images/create?fromImage=&tag=`) and `docker push`
//! (`POST /images/{name}/push?tag=`): casulo's registry client, the same
//! calls as `casulo pull`/`push` (only missing layers travel, each blob
//! checked), with docker's JSON progress lines. The credentials come in
//! `X-Registry-Auth` (base64 of docker's JSON `username`/`password`/
//! `serveraddress`); without them, those of `casulo login`.

use base64::Engine;
use casulo_trace::text::short_id;
use hyper::body::Bytes;
use hyper::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::http::{ApiError, Query, Reply};
use super::images::familiar;
use super::Ctx;
use crate::registry::auth::Credentials;
use crate::registry::push::Observer;
use crate::registry::{pull, push, RegistryError};

/// docker's credentials header → casulo's; `{}` (the CLI's "no login")
/// and a missing one → `None`.
fn credentials(query: &Query) -> Result<Option<Credentials>, ApiError> {
    let Some(header) = query.registry_auth().filter(|h| !h.is_empty()) else {
        return Ok(None);
    };
    let engines = [
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    let bytes = engines
        .iter()
        .find_map(|e| e.decode(header.trim()).ok())
        .ok_or_else(|| ApiError::bad_request("X-Registry-Auth não é base64"))?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("X-Registry-Auth não é JSON: {e}")))?;
    let user = v["username"].as_str().unwrap_or_default();
    let password = v["password"].as_str().unwrap_or_default();
    if user.is_empty() && password.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials {
        user: user.into(),
        password: password.into(),
    }))
}

/// docker's progress lines, one per event, as the transfer goes.
struct Progress {
    tx: mpsc::Sender<Bytes>,
    pushing: bool,
    sizes: Vec<u64>,
    shown: Vec<u64>,
}

impl Progress {
    /// Nothing shown yet; `pushing` picks docker's words ("Pushed" or
    /// "Pull complete").
    fn new(tx: mpsc::Sender<Bytes>, pushing: bool) -> Progress {
        Progress {
            tx,
            pushing,
            sizes: Vec::new(),
            shown: Vec::new(),
        }
    }

    fn send(&self, v: Value) {
        let _ = self.tx.blocking_send(Bytes::from(format!("{v}\n")));
    }

    fn layer(&self, digest: &str, status: &str) {
        self.send(json!({ "status": status, "progressDetail": {}, "id": short_id(digest) }));
    }
}

impl Observer for Progress {
    fn layer_start(&mut self, index: usize, total: usize, digest: &str, size: u64) {
        if self.sizes.len() < total {
            self.sizes.resize(total, 0);
            self.shown.resize(total, 0);
        }
        self.sizes[index] = size;
        self.layer(
            digest,
            if self.pushing {
                "Preparing"
            } else {
                "Pulling fs layer"
            },
        );
    }

    fn layer_progress(&mut self, index: usize, done: u64) {
        let total = self.sizes.get(index).copied().unwrap_or(0);
        // One line per 10% or so: the CLI redraws, the socket need not flood.
        let last = self.shown.get(index).copied().unwrap_or(0);
        if total == 0 || (done - last.min(done)) * 10 < total && done < total {
            return;
        }
        if let Some(s) = self.shown.get_mut(index) {
            *s = done;
        }
        self.send(json!({
            "status": if self.pushing { "Pushing" } else { "Downloading" },
            "progressDetail": { "current": done, "total": total },
            "id": format!("{index}"),
        }));
    }

    fn layer_done(&mut self, _index: usize, _total: usize, digest: &str, _size: u64, what: &str) {
        let status = match what {
            "já estava aqui" => "Already exists".to_string(),
            "já estava no registry" => "Layer already exists".to_string(),
            "montada" => "Mounted from another repository".to_string(),
            "enviada" => "Pushed".to_string(),
            "baixada" => {
                self.layer(digest, "Download complete");
                "Pull complete".to_string()
            }
            other => other.to_string(),
        };
        self.layer(digest, &status);
    }
}

fn error_line(e: &RegistryError) -> Value {
    let message = crate::registry::pull::error_chain(e);
    json!({ "errorDetail": { "message": message }, "error": message })
}

/// `docker pull NAME[:TAG]`.
pub fn pull(ctx: &Ctx, query: &Query) -> Result<Reply, ApiError> {
    if query.get("fromSrc").is_some_and(|s| !s.is_empty()) {
        // `-` (the body) is imported by archive::import; a URL is not.
        return Err(ApiError::not_implemented(
            "docker import de uma URL (fromSrc=URL): baixe o arquivo e use `docker import ARQUIVO` \
             ou `casulo image import`",
        ));
    }
    let from = query
        .get("fromImage")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::bad_request("falta fromImage (a imagem a baixar)"))?;
    let from = familiar(from).to_string();
    let reference = match query.get("tag").filter(|t| !t.is_empty()) {
        Some(t) if t.starts_with("sha256:") => format!("{from}@{t}"),
        Some(t) => format!("{from}:{t}"),
        None => from.clone(),
    };
    let credentials = credentials(query)?;
    let state = ctx.state.clone();
    Ok(Reply::Stream {
        length: None,
        content_type: "application/json",
        producer: Box::new(move |tx| {
            let mut p = Progress::new(tx, false);
            let tag = reference
                .rsplit_once([':', '@'])
                .map_or("latest", |(_, t)| t)
                .to_string();
            p.send(json!({ "status": format!("Pulling from {from}"), "id": tag }));
            match pull::pull_as(&state, &reference, credentials, &mut p) {
                Ok(t) => {
                    p.send(json!({ "status": format!("Digest: {}", t.manifest_digest) }));
                    let news = if t.moved > 0 {
                        "Downloaded newer image for"
                    } else {
                        "Image is up to date for"
                    };
                    p.send(json!({ "status": format!("Status: {news} {reference}") }));
                }
                Err(e) => p.send(error_line(&e)),
            }
        }),
    })
}

/// `docker push NAME[:TAG]`.
pub fn push(ctx: &Ctx, name: &str, query: &Query) -> Result<Reply, ApiError> {
    let name = familiar(name).to_string();
    let reference = match query.get("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{name}:{t}"),
        None => name.clone(),
    };
    let store = crate::image::Store::open(&ctx.state)?;
    if store.resolve(&reference).is_err() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("imagem não encontrada: {reference} (No such image)"),
        ));
    }
    let credentials = credentials(query)?;
    let state = ctx.state.clone();
    Ok(Reply::Stream {
        length: None,
        content_type: "application/json",
        producer: Box::new(move |tx| {
            let mut p = Progress::new(tx, true);
            p.send(json!({ "status": format!("The push refers to repository [{name}]") }));
            match push::push_as(&state, &reference, credentials, &mut p) {
                Ok(t) => {
                    let tag = reference.rsplit_once(':').map_or("latest", |(_, t)| t);
                    p.send(json!({
                        "status": format!("{tag}: digest: {}", t.manifest_digest),
                    }));
                    p.send(json!({
                        "progressDetail": {},
                        "aux": { "Tag": tag, "Digest": t.manifest_digest },
                    }));
                }
                Err(e) => p.send(error_line(&e)),
            }
        }),
    })
}

/// `docker login`: `POST /auth` with `username`/`password`/`serveraddress`,
/// checked with the registry as `casulo login` does; nothing is saved (the
/// docker CLI keeps the credentials and sends them in `X-Registry-Auth`).
pub fn login(_ctx: &Ctx, body: &[u8]) -> Result<Reply, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("o corpo não é JSON: {e}")))?;
    let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let server = field("serveraddress");
    let server = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_string();
    if server.is_empty() || server.contains("docker.io") {
        return Err(ApiError::bad_request(
            "diga o registry: docker login HOST:PORTA (o casulo não tem um registry padrão)",
        ));
    }
    let credentials = Credentials {
        user: field("username"),
        password: field("password"),
    };
    match crate::registry::auth::check(&server, &credentials) {
        Ok(_) => Ok(Reply::Json(
            StatusCode::OK,
            json!({ "Status": "Login Succeeded", "IdentityToken": "" }),
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            crate::registry::pull::error_chain(&e),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_registry_auth_header_is_docker_base64_json() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE.encode(s);
        let with = |h: &str| Query::parse(None).with_registry_auth(Some(h.to_string()));
        let c = credentials(&with(&b64(
            r#"{"username":"aluno","password":"segredo","serveraddress":"localhost:5000"}"#,
        )))
        .unwrap()
        .unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("aluno", "segredo"));
        // The CLI's "no login": `{}`.
        assert!(credentials(&with(&b64("{}"))).unwrap().is_none());
        assert!(credentials(&Query::parse(None)).unwrap().is_none());
        assert!(credentials(&with("%%%")).is_err());
    }
}
