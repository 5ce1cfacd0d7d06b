//! `casulo push` and `casulo pull`: images to and from a registry, over the
//! OCI distribution spec (the HTTP API docker, skopeo and every registry
//! speak), with only the missing blobs traveling.
//!
//! ```text
//! GET  /v2/                                  is there a registry? (401: which auth)
//! HEAD /v2/REPO/blobs/DIGEST                 does it have this blob?
//! POST /v2/REPO/blobs/uploads/[?mount=&from=] open an upload (or link a blob of another repo)
//! PUT  LOCATION?digest=DIGEST                send the bytes, close the upload
//! GET  /v2/REPO/blobs/DIGEST                 fetch a blob
//! PUT  /v2/REPO/manifests/TAG                publish the image (last: the blobs must be there)
//! GET  /v2/REPO/manifests/TAG                the manifest (or an index: one per platform)
//! ```
//!
//! - [`name`]: references in docker's grammar (`registro:porta/repo:tag`,
//!   `@sha256:`), the default registry, http or https.
//! - [`auth`]: `WWW-Authenticate` (basic, bearer) and the credentials file
//!   of `casulo login` (docker's `config.json` shape, mode 0600).
//! - [`client`]: the HTTP requests (ureq), each one a trace event.
//! - [`push`], [`pull`]: the two directions.
//!
//! Every blob that arrives is verified before it enters the store (sha256
//! and size against its descriptor), in a temp file of the store renamed
//! into place only when it passed; a layer's uncompressed sha256 (the
//! config's `diff_id`) and its entries are checked by the first unpack,
//! which reads the tar anyway (see [`pull`]).

pub mod auth;
pub mod client;
pub mod name;
pub mod pull;
pub mod push;
pub mod recompress;

pub use name::RemoteRef;

use crate::image::ImageError;

/// Registry errors; messages in pt-BR, naming the registry and the blob.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "não foi possível falar com o registry {registry} ({url}): {why} \
         (ele está no ar? o endereço e a porta estão certos?)"
    )]
    Unreachable {
        registry: String,
        url: String,
        why: String,
    },
    #[error("o registry {registry} recusou o acesso a {repository}: {why}")]
    Denied {
        registry: String,
        repository: String,
        why: String,
    },
    #[error("{what} não existe no registry {registry}")]
    NotFound { registry: String, what: String },
    #[error("o registry {registry} respondeu {status} a {request}: {body}")]
    Http {
        registry: String,
        request: String,
        status: u16,
        body: String,
    },
    #[error("o blob {digest} vindo do registry {registry} foi recusado: {why}")]
    BadBlob {
        registry: String,
        digest: String,
        why: String,
    },
    #[error(
        "o download da camada {layer} ({digest}) do registry {registry} foi interrompido \
         depois de {arrived} de {size} bytes: {why}. Nada dela entrou no store; {}",
        if *complete == 0 {
            "rode o pull de novo quando o registry voltar".to_string()
        } else {
            format!("{complete} camada(s) já estava(m) aqui ou chegaram inteiras e ficaram: \
                     rode o pull de novo quando o registry voltar e só o que falta viaja")
        }
    )]
    Interrupted {
        registry: String,
        digest: String,
        /// 1-based, as the screen counts.
        layer: usize,
        arrived: u64,
        size: u64,
        /// Layers of the image in the store (complete, verified).
        complete: usize,
        why: String,
    },
    #[error("{0}")]
    Other(String),
    #[error(transparent)]
    Image(#[from] ImageError),
}

impl RegistryError {
    /// The exit code of `casulo push/pull` for this error: 1 when the
    /// registry said no (denied, not found, bad data), 125 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            RegistryError::Denied { .. }
            | RegistryError::NotFound { .. }
            | RegistryError::BadBlob { .. } => 1,
            _ => 125,
        }
    }
}

/// What a push or pull did, for the summary line and the tests.
#[derive(Debug, Clone, Default)]
pub struct Transfer {
    /// `registro/repo:tag`.
    pub remote: String,
    /// Layers in the image.
    pub layers: usize,
    /// Layers that traveled (sent or downloaded) and their bytes.
    pub moved: usize,
    pub bytes: u64,
    /// Layers linked from another repository (push).
    pub mounted: usize,
    /// Layers already there ("já estavam aqui").
    pub present: usize,
    /// Digest of the manifest.
    pub manifest_digest: String,
    /// The trace written.
    pub trace: Option<std::path::PathBuf>,
}
