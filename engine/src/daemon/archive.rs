//! `docker save` and `docker load` (`GET /images/get`, `/images/{name}/get`,
//! `POST /images/load`): the docker-archive `casulo image save --format
//! docker` writes, and the loader of `casulo image load` — which checks
//! every entry and digest before anything is tagged, so a bad archive
//! leaves nothing registered.

use hyper::body::Bytes;
use hyper::StatusCode;
use serde_json::json;

use super::http::{ApiError, Query, Reply};
use super::upload::Upload;
use super::Ctx;
use crate::image::{archive, Store};

/// `docker save A B…`: the archive is written to `tmp/` (as `casulo image
/// save` writes it), then streamed and removed.
pub fn save(ctx: &Ctx, names: &[String]) -> Result<Reply, ApiError> {
    if names.is_empty() {
        return Err(ApiError::bad_request(
            "diga quais imagens salvar (?names=NOME)",
        ));
    }
    let store = Store::open(&ctx.state)?;
    let mut references = Vec::new();
    for name in names {
        let tags = crate::image::inspect::tags_of(&store, super::images::familiar(name))?;
        if tags.is_empty() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("imagem não encontrada: {name} (No such image)"),
            ));
        }
        references.extend(tags);
    }
    let tmp = ctx.state.tmp();
    std::fs::create_dir_all(&tmp)?;
    let out = Upload::new(tmp.join(format!(
        "daemon-save-{}-{}.tar",
        std::process::id(),
        crate::container::new_id().get(..12).unwrap_or("0")
    )));
    archive::save(
        &store,
        &references,
        archive::Format::Docker,
        out.path(),
        &mut |_, _| {},
    )?;
    let file = std::fs::File::open(out.path())?;
    Ok(Reply::file("application/x-tar", file, out))
}

/// `docker load`: the tar received, loaded as `casulo image load -i` does;
/// docker's JSON lines say what was loaded (`Loaded image: x:1`).
/// `docker import ARQUIVO [REPO[:TAG]]` (`POST /images/create?fromSrc=-`):
/// the rootfs tar in the body becomes an image of one layer, by the same
/// checked extractor as `casulo image import`. Without a repository the
/// image gets no name (docker leaves it `<none>`); casulo's import needs
/// one, so it is named after its id, `importada:<id12>`.
pub fn import(ctx: &Ctx, query: &Query, tar: Upload) -> Result<Reply, ApiError> {
    if query.get("changes").is_some_and(|c| !c.is_empty())
        || query.get("message").is_some_and(|m| !m.is_empty())
    {
        return Err(ApiError::not_implemented(
            "docker import --change/--message: o casulo importa só o sistema de arquivos",
        ));
    }
    let repo = query.get("repo").filter(|r| !r.is_empty());
    let reference = match (repo, query.get("tag").filter(|t| !t.is_empty())) {
        (Some(r), Some(t)) => format!("{r}:{t}"),
        (Some(r), None) => r.to_string(),
        (None, _) => format!("importada:{}", &crate::container::new_id()[..12]),
    };
    let image =
        crate::image::import::rootfs_tar(&ctx.state, tar.path(), &reference).map_err(|e| {
            let why = super::http::chain(&e).replace(&tar.path().display().to_string(), "enviado");
            ApiError::bad_request(format!(
                "o arquivo enviado não foi importado (nada foi registrado): {why}"
            ))
        })?;
    drop(tar);
    let line = json!({ "status": image.id }).to_string() + "\n";
    Ok(Reply::Stream {
        length: None,
        content_type: "application/json",
        producer: Box::new(move |tx| {
            let _ = tx.blocking_send(Bytes::from(line));
        }),
    })
}

pub fn load(ctx: &Ctx, tar: Upload) -> Result<Reply, ApiError> {
    let store = Store::open(&ctx.state)?;
    let report = archive::load(&store, tar.path(), &mut |_, _| {}).map_err(|e| {
        // Our temp file's name says nothing to the student.
        let why = super::http::chain(&e).replace(&tar.path().display().to_string(), "enviado");
        ApiError::bad_request(format!(
            "o arquivo enviado não foi carregado (nada foi registrado): {why}"
        ))
    })?;
    drop(tar);
    let mut lines = String::new();
    for (reference, _) in &report.tagged {
        lines.push_str(&json!({ "stream": format!("Loaded image: {reference}\n") }).to_string());
        lines.push('\n');
    }
    for manifest in &report.untagged {
        lines.push_str(&json!({ "stream": format!("Loaded image ID: {manifest}\n") }).to_string());
        lines.push('\n');
    }
    Ok(Reply::Stream {
        length: None,
        content_type: "application/json",
        producer: Box::new(move |tx| {
            let _ = tx.blocking_send(Bytes::from(lines));
        }),
    })
}
