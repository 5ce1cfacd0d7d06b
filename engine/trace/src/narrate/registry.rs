//! The `registry.*` kinds: talking to an OCI registry (pull and push).

use super::time_text;
use super::words::{plural, say};
use crate::text::{self, short_digest};
use crate::{Event, EventBody};

/// The narration of this area's kinds; `None` for other kinds.
pub(super) fn describe(event: &Event) -> Option<String> {
    blobs(event).or_else(|| session(event))
}

/// Blobs: asked about, uploaded, downloaded, mounted across repositories.
fn blobs(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
        EventBody::RegistryBlobExists {
            registry,
            digest,
            size,
            exists,
            local,
            layer,
            ..
        } => {
            let what = match layer {
                Some(i) => format!(
                    "a camada {} ({}, {})",
                    i + 1,
                    short_digest(digest),
                    text::bytes(*size)
                ),
                None => format!(
                    "a config ({}, {})",
                    short_digest(digest),
                    text::bytes(*size)
                ),
            };
            let place = if *local {
                "no store local".to_string()
            } else {
                format!("no registry {registry}")
            };
            let answer = if *exists {
                "já estava lá"
            } else {
                "não estava"
            };
            say(
                format!("{what} {place}: {answer}"),
                format!("perguntar se {what} existe {place}"),
            )
        }
        EventBody::RegistryBlobUpload {
            registry,
            digest,
            bytes,
            duration_us,
            layer,
            ..
        } => {
            let what = blob_label(*layer, digest);
            say(
                format!(
                    "{what} enviada ao registry {registry}: {} em {}",
                    text::bytes(*bytes),
                    time_text(*duration_us)
                ),
                format!("enviar {what} ao registry {registry}"),
            )
        }
        EventBody::RegistryBlobDownload {
            registry,
            digest,
            bytes,
            duration_us,
            layer,
            ..
        } => {
            let what = blob_label(*layer, digest);
            say(
                format!(
                    "{what} baixada do registry {registry}: {} em {}, sha256 e tamanho conferidos",
                    text::bytes(*bytes),
                    time_text(*duration_us)
                ),
                format!("baixar {what} do registry {registry}"),
            )
        }
        EventBody::RegistryBlobMount {
            registry,
            repository,
            from,
            digest,
            mounted,
            layer,
            ..
        } => {
            let what = blob_label(*layer, digest);
            let result = if *mounted {
                "montada sem enviar nenhum byte".to_string()
            } else {
                "não pôde ser montada (o registry abriu um upload comum)".to_string()
            };
            say(
                format!("{what} de {from} para {repository} no registry {registry}: {result}"),
                format!("montar {what} de {from} em {repository}"),
            )
        }
        _ => return None,
    })
}

/// The conversation around the blobs: ping, token, manifests.
fn session(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
        EventBody::RegistryPing {
            registry,
            status,
            auth,
            ..
        } => {
            let asks = match auth.as_str() {
                "" => "não pede credenciais".to_string(),
                scheme => format!("pede autenticação {scheme}"),
            };
            say(
                format!("o registry {registry} respondeu a GET /v2/ ({status}) e {asks}"),
                format!("falar com o registry {registry} (GET /v2/)"),
            )
        }
        EventBody::RegistryAuth {
            registry,
            scheme,
            scope,
            with_credentials,
            ..
        } => {
            let who = if *with_credentials {
                "com as credenciais do casulo login"
            } else {
                "sem credenciais (anônimo)"
            };
            let scope = if scope.is_empty() {
                String::new()
            } else {
                format!(" para {scope}")
            };
            say(
                format!("autenticou-se no registry {registry} ({scheme}, {who}){scope}"),
                format!("se autenticar no registry {registry} ({scheme}){scope}"),
            )
        }
        EventBody::RegistryManifestGet {
            repository,
            reference,
            digest,
            layers,
            platform,
            ..
        } => {
            let picked = platform
                .as_ref()
                .map(|p| format!(" (do índice, a plataforma {p})"))
                .unwrap_or_default();
            say(
                format!(
                    "manifest {repository}:{reference} baixado{picked}: {}, {}",
                    short_digest(digest),
                    plural(u64::from(*layers), "camada", "camadas")
                ),
                format!("baixar o manifest {repository}:{reference}"),
            )
        }
        EventBody::RegistryManifestPut {
            registry,
            repository,
            tag,
            digest,
            layers,
            ..
        } => say(
            format!(
                "manifest {} enviado: {registry}/{repository}:{tag} aponta para a imagem ({})",
                short_digest(digest),
                plural(u64::from(*layers), "camada", "camadas")
            ),
            format!("enviar o manifest de {registry}/{repository}:{tag}"),
        ),
        _ => return None,
    })
}

/// "a camada 3 (sha256:ab12…)" or "a config (…)" for registry events.
fn blob_label(layer: Option<u32>, digest: &str) -> String {
    match layer {
        Some(i) => format!("a camada {} ({})", i + 1, short_digest(digest)),
        None => format!("a config ({})", short_digest(digest)),
    }
}
