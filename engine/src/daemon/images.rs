//! `/images/json` and `/images/{name}/json`: the same store `casulo image
//! ls` and `casulo image inspect` read, in docker's shapes.

use hyper::StatusCode;
use serde_json::{json, Value};

use super::http::{ApiError, Reply};
use super::Ctx;
use crate::image::Store;

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
