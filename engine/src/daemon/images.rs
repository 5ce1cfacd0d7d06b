//! `/images/json`, `/images/{name}/json`, `tag`, `history`, `DELETE` and
//! `prune`: the same store and calls as `casulo image ls`, `inspect`,
//! `tag`, `history`, `rm` and `prune`, in docker's shapes.

use std::collections::BTreeMap;

use hyper::StatusCode;
use serde_json::{json, Value};

use super::http::{ApiError, Query, Reply};
use super::Ctx;
use crate::container::image_use;
use crate::image::{Reference, Store};
use crate::volume::filter::LabelTest;

/// RFC 3339 → seconds since 1970 (docker's `Created` of a list).
pub fn unix_seconds(rfc3339: &str) -> i64 {
    humantime::parse_rfc3339_weak(rfc3339)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64)
}

/// One entry per image id, with every tag that names it (as docker).
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    let rows = Store::open(&ctx.state)?.list()?;
    let mut out: Vec<Value> = Vec::new();
    for row in rows {
        if let Some(seen) = out.iter_mut().find(|v| v["Id"] == row.id.as_str()) {
            seen["RepoTags"]
                .as_array_mut()
                .expect("made below")
                .push(json!(row.reference));
            continue;
        }
        let name = row.reference.rsplit_once(':').map_or("", |(n, _)| n);
        out.push(json!({
            "Id": row.id,
            "ParentId": "",
            "RepoTags": [row.reference],
            "RepoDigests": [format!("{name}@{}", row.manifest_digest)],
            "Created": unix_seconds(&row.created),
            "Size": row.size,
            "SharedSize": -1,
            "VirtualSize": row.size,
            "Labels": {},
            "Containers": -1,
        }));
    }
    Ok(Reply::Json(StatusCode::OK, Value::Array(out)))
}

/// `image inspect`: casulo's own (shared with the CLI), plus the fields
/// docker's client formats (`Parent`, `Comment`, `GraphDriver`…).
pub fn inspect(ctx: &Ctx, name: &str) -> Result<Reply, ApiError> {
    let store = Store::open(&ctx.state)?;
    let mut v = crate::image::inspect::inspect(&store, name)?;
    v["RepoDigests"] = json!([]);
    v["Parent"] = json!("");
    v["Comment"] = json!("");
    v["DockerVersion"] = json!("");
    v["VirtualSize"] = v["Size"].clone();
    v["GraphDriver"] = json!({ "Name": "overlay", "Data": {} });
    v["Metadata"] = json!({ "LastTagTime": "0001-01-01T00:00:00Z" });
    Ok(Reply::Json(StatusCode::OK, v))
}

/// A name as casulo keeps it: the docker CLI sends Docker Hub's names in
/// full (`docker.io/library/busybox`, `docker.io/aluno/app`); casulo, which
/// has no default registry to hide, keeps them as the student types them
/// (`busybox`, `aluno/app`).
pub fn familiar(name: &str) -> &str {
    for hub in ["docker.io/", "index.docker.io/"] {
        if let Some(rest) = name.strip_prefix(hub) {
            return rest.strip_prefix("library/").unwrap_or(rest);
        }
    }
    name
}

/// The tags a name in a path means (a tag, or an image id and its
/// prefixes); 404 as docker says it when none.
fn tags_of(store: &Store, name: &str) -> Result<Vec<String>, ApiError> {
    let tags = crate::image::inspect::tags_of(store, familiar(name))?;
    if tags.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("imagem não encontrada: {name} (No such image)"),
        ));
    }
    Ok(tags)
}

/// `docker tag SRC repo:tag`: `POST /images/{name}/tag?repo=&tag=` → 201.
pub fn tag(ctx: &Ctx, name: &str, query: &Query) -> Result<Reply, ApiError> {
    let store = Store::open(&ctx.state)?;
    // The source may be untagged and swept meanwhile: gc waits.
    let _writing = store.writing()?;
    let source = tags_of(&store, name)?;
    let desc = store.descriptor(&source[0])?;
    let repo = query
        .get("repo")
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::bad_request("falta o parâmetro repo (o novo nome)"))?;
    let target = match query.get("tag").filter(|t| !t.is_empty()) {
        Some(tag) => format!("{}:{tag}", familiar(repo)),
        None => familiar(repo).to_string(),
    };
    store.tag(&Reference::parse(&target)?, &desc)?;
    Ok(Reply::Status(StatusCode::CREATED))
}

/// `docker history`: the steps of `casulo image history`, newest first;
/// the newest has the image's id and tags, the others docker's
/// `<missing>` (casulo keeps no intermediate images). Sizes are the
/// layers' blobs (as `casulo image history` shows them).
pub fn history(ctx: &Ctx, name: &str) -> Result<Reply, ApiError> {
    let store = Store::open(&ctx.state)?;
    let tags = tags_of(&store, name)?;
    let image = store.resolve(&tags[0])?;
    let all_tags: Vec<String> = store
        .list()?
        .into_iter()
        .filter(|r| r.id == image.id)
        .map(|r| r.reference)
        .collect();
    let rows = crate::image::inspect::history(&store, &tags[0])?;
    let out: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, (step, layer))| {
            json!({
                "Id": if i == 0 { image.id.clone() } else { "<missing>".to_string() },
                "Created": step.created.as_deref().map_or(0, unix_seconds),
                "CreatedBy": step.created_by.clone().unwrap_or_default(),
                "Tags": if i == 0 { json!(all_tags) } else { Value::Null },
                "Size": layer.as_ref().map_or(0, |l| l.size),
                "Comment": step.comment.clone().unwrap_or_default(),
            })
        })
        .collect();
    Ok(Reply::Json(StatusCode::OK, Value::Array(out)))
}

/// `docker rmi`: `DELETE /images/{name}?force=&noprune=`. A tag is
/// untagged; an id untags all its tags (only with `force` when there are
/// several, as docker). Then, unless `noprune`, what nothing uses is swept
/// (as `casulo image rm`). Replies `[{"Untagged":…},{"Deleted":…}]`.
pub fn remove(ctx: &Ctx, name: &str, query: &Query) -> Result<Reply, ApiError> {
    let store = Store::open(&ctx.state)?;
    let force = query.flag("force");
    let by_tag = store.resolve(familiar(name)).is_ok();
    let tags = tags_of(&store, name)?;
    if !by_tag && tags.len() > 1 && !force {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "a imagem {name} tem {} nomes ({}): remova cada nome, ou use -f \
                 (conflict: image is referenced in multiple repositories)",
                tags.len(),
                tags.join(", ")
            ),
        ));
    }
    let mut out = Vec::new();
    for tag in &tags {
        let removed = image_use::untag(&ctx.state, &store, tag, force).map_err(|e| match e {
            image_use::UntagError::Image(e) => ApiError::from(e),
            in_use => ApiError::new(
                StatusCode::CONFLICT,
                format!("{in_use} (conflict: image is being used by a container)"),
            ),
        })?;
        out.push(json!({ "Untagged": removed.untagged }));
        if let Some(id) = removed.deleted {
            out.push(json!({ "Deleted": id }));
        }
    }
    if !query.flag("noprune") {
        image_use::sweep(&ctx.state, &store)?;
    }
    Ok(Reply::Json(StatusCode::OK, Value::Array(out)))
}

/// `docker image prune`: casulo keeps no untagged images (a blob without
/// a tag is garbage, swept as `casulo image prune`), so the default
/// (`dangling=true`) only sweeps; `-a` (`dangling=false`) also untags
/// every image no kept container uses.
pub fn prune(ctx: &Ctx, query: &Query) -> Result<Reply, ApiError> {
    let mut all = false;
    // `until` (docker's time formats): created before; `label`/`label!`:
    // `KEY` or `KEY=VALUE` of the image's config labels.
    let mut until = Vec::new();
    let mut labels: Vec<LabelTest> = Vec::new();
    for (key, values) in super::http::filters(query.get("filters"))? {
        match key.as_str() {
            "dangling" => all = values.iter().any(|v| matches!(v.as_str(), "false" | "0")),
            "until" => {
                for v in values {
                    until.push(
                        super::since::parse(&v, std::time::SystemTime::now()).map_err(|e| {
                            ApiError::bad_request(format!(
                                "o filtro until de POST /images/prune: {e}"
                            ))
                        })?,
                    );
                }
            }
            "label" | "label!" => labels.extend(values.iter().map(|v| LabelTest::parse(&key, v))),
            other => {
                return Err(ApiError::not_implemented(&format!(
                    "o filtro {other} de POST /images/prune"
                )))
            }
        }
    }
    let store = Store::open(&ctx.state)?;
    let lets_go = |row: &crate::image::ImageSummary| -> bool {
        // RFC 3339, with any zone (images come from anywhere).
        let created = super::since::parse(&row.created, std::time::SystemTime::now()).ok();
        if !until.iter().all(|u| created.is_some_and(|c| c < *u)) {
            return false;
        }
        if labels.is_empty() {
            return true;
        }
        let config = crate::image::inspect::inspect(&store, &row.reference).unwrap_or_default();
        let image_labels: BTreeMap<String, String> =
            serde_json::from_value(config["Config"]["Labels"].clone()).unwrap_or_default();
        labels.iter().all(|t| t.holds(&image_labels))
    };
    let mut deleted = Vec::new();
    if all {
        for row in store.list()? {
            if !image_use::users(&ctx.state, &row.reference, &row.id).is_empty() || !lets_go(&row) {
                continue;
            }
            let removed = image_use::untag(&ctx.state, &store, &row.reference, false)
                .map_err(|e| ApiError::new(StatusCode::CONFLICT, e.to_string()))?;
            deleted.push(json!({ "Untagged": removed.untagged }));
            if let Some(id) = removed.deleted {
                deleted.push(json!({ "Deleted": id }));
            }
        }
    }
    let (_, _, bytes) = image_use::sweep(&ctx.state, &store)?;
    Ok(Reply::Json(
        StatusCode::OK,
        json!({ "ImagesDeleted": if deleted.is_empty() { Value::Null } else { json!(deleted) },
                "SpaceReclaimed": bytes }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_docker_hub_names_are_kept_as_typed() {
        assert_eq!(
            familiar("docker.io/library/busybox:latest"),
            "busybox:latest"
        );
        assert_eq!(familiar("docker.io/aluno/app"), "aluno/app");
        assert_eq!(
            familiar("localhost:5000/aluno/app:v1"),
            "localhost:5000/aluno/app:v1"
        );
        assert_eq!(familiar("busybox"), "busybox");
    }
}
