//! `/volumes`: the same named volumes as `casulo volume` (`docker volume
//! create`, `ls`, `inspect`, `rm`).

use hyper::StatusCode;
use serde_json::{json, Value};

use super::http::{chain, ApiError, Query, Reply};
use super::Ctx;
use crate::container::volumes;
use crate::volume::filter::VolumeFilter;
use crate::volume::{self, VolumeError};

impl From<VolumeError> for ApiError {
    fn from(e: VolumeError) -> ApiError {
        let status = match &e {
            VolumeError::NotFound(_) => StatusCode::NOT_FOUND,
            VolumeError::InUse { .. } | VolumeError::Exists(_) => StatusCode::CONFLICT,
            VolumeError::BadName(_) | VolumeError::BindSourceMissing(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, chain(&e))
    }
}

/// `GET /volumes` with docker's `filters` (`label`, `label!`, `name`,
/// `dangling`; any other is refused by name).
pub fn list(ctx: &Ctx, query: &Query) -> Result<Reply, ApiError> {
    let mut pairs = Vec::new();
    for (key, values) in super::http::filters(query.get("filters"))? {
        pairs.extend(values.into_iter().map(|v| (key.clone(), v)));
    }
    let filter = VolumeFilter::parse(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        volume::filter::LS_FILTERS,
    )
    .map_err(|e| ApiError::not_implemented(&e))?;
    let all: Vec<Value> = volume::list(&ctx.state)
        .iter()
        .filter(|v| filter.lets_through(v, || volumes::users(&ctx.state, &v.name).is_empty()))
        .map(|v| volumes::describe(&ctx.state, v))
        .collect();
    Ok(Reply::Json(
        StatusCode::OK,
        json!({ "Volumes": all, "Warnings": [] }),
    ))
}

/// `POST /volumes/create`: `Name` (none: a generated one); only the `local`
/// driver, without options.
pub fn create(ctx: &Ctx, body: &[u8]) -> Result<Reply, ApiError> {
    let config: Value = serde_json::from_slice(if body.is_empty() { b"{}" } else { body })
        .map_err(|e| {
            ApiError::bad_request(format!(
                "o corpo de POST /volumes/create não é JSON válido: {e}"
            ))
        })?;
    let driver = config.get("Driver").and_then(Value::as_str).unwrap_or("");
    if !matches!(driver, "" | "local") {
        return Err(ApiError::not_implemented(&format!(
            "o driver de volume {driver:?} (só local)"
        )));
    }
    if config
        .get("DriverOpts")
        .and_then(Value::as_object)
        .is_some_and(|o| !o.is_empty())
    {
        return Err(ApiError::not_implemented(
            "opções de driver de volume (DriverOpts)",
        ));
    }
    let name = config
        .get("Name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty());
    let labels = match config.get("Labels") {
        None | Some(Value::Null) => Default::default(),
        Some(l) => serde_json::from_value(l.clone()).map_err(|e| {
            ApiError::bad_request(format!(
                "Labels de POST /volumes/create tem de ser um objeto de textos: {e}"
            ))
        })?,
    };
    ctx.state.ensure()?;
    // docker's create of an existing name answers that volume (not an error).
    let (v, _) = volume::create_labeled(&ctx.state, name, false, false, labels)?;
    Ok(Reply::Json(
        StatusCode::CREATED,
        volumes::describe(&ctx.state, &v),
    ))
}

pub fn inspect(ctx: &Ctx, name: &str) -> Result<Reply, ApiError> {
    let v = volume::inspect(&ctx.state, name)?;
    Ok(Reply::Json(
        StatusCode::OK,
        volumes::describe(&ctx.state, &v),
    ))
}

/// `DELETE /volumes/{name}` (`force`: a missing one is no error).
pub fn remove(ctx: &Ctx, name: &str, query: &Query) -> Result<Reply, ApiError> {
    match volumes::remove(&ctx.state, name) {
        Ok(_) => Ok(Reply::Status(StatusCode::NO_CONTENT)),
        Err(VolumeError::NotFound(_)) if query.flag("force") => {
            Ok(Reply::Status(StatusCode::NO_CONTENT))
        }
        Err(e) => Err(e.into()),
    }
}
