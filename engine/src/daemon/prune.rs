//! `POST /containers/prune` and `POST /volumes/prune`: docker's prunes,
//! by the same library calls as `casulo rm` and `casulo volume prune`.
//!
//! Containers: every one that is not running (`exited`, `created`), as
//! docker; volumes: the anonymous ones no container uses (docker's default
//! since API 1.42), every unused one with the filter `all=true`. Each
//! answers what it removed and the bytes it freed (measured before).
//! Containers take docker's `until` (created before that time, in any of
//! docker's formats: [`super::since`]) and `label` / `label!` (`KEY` or
//! `KEY=VALUE`; a casulo container's only label is `casulo.trace`, as
//! `docker inspect` shows it). A filter casulo has no way to apply is
//! refused by name, never ignored: a prune that removes more than asked is
//! the worst kind of wrong answer.

use std::path::Path;

use hyper::StatusCode;
use serde_json::json;

use super::http::{ApiError, Query, Reply};
use super::Ctx;
use crate::container::{self, rm};
use crate::volume;
use crate::volume::filter::{LabelTest, VolumeFilter};

/// docker's `filters` of a prune: the keys in `known` and their values;
/// any other key is refused by name (501).
fn filters(query: &Query, known: &[&str]) -> Result<Vec<(String, Vec<String>)>, ApiError> {
    let all = super::http::filters(query.get("filters"))?;
    if let Some((key, _)) = all.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(ApiError::not_implemented(&format!(
            "o filtro {key:?} do prune (o casulo não tem como aplicá-lo: nada foi removido)"
        )));
    }
    Ok(all)
}

/// What a container prune keeps out: every filter must let it go.
struct ContainerFilter {
    /// Created before this.
    until: Vec<std::time::SystemTime>,
    labels: Vec<LabelTest>,
}

impl ContainerFilter {
    fn of(query: &Query) -> Result<ContainerFilter, ApiError> {
        let now = std::time::SystemTime::now();
        let mut f = ContainerFilter {
            until: vec![],
            labels: vec![],
        };
        for (key, values) in filters(query, &["until", "label", "label!"])? {
            for v in values {
                if key == "until" {
                    let t = super::since::parse(&v, now).map_err(|e| {
                        ApiError::bad_request(format!("o filtro until do prune: {e}"))
                    })?;
                    f.until.push(t);
                } else {
                    f.labels.push(LabelTest::parse(&key, &v));
                }
            }
        }
        Ok(f)
    }

    fn lets_go(&self, r: &container::ContainerRecord) -> bool {
        let created = humantime::parse_rfc3339_weak(&r.created).ok();
        let old_enough = self
            .until
            .iter()
            .all(|until| created.is_some_and(|c| c < *until));
        let labels = std::collections::BTreeMap::from([(
            "casulo.trace".to_string(),
            r.trace.to_string_lossy().into_owned(),
        )]);
        old_enough && self.labels.iter().all(|t| t.holds(&labels))
    }
}

/// `POST /containers/prune`: the stopped containers go (those the filters
/// let go).
pub fn containers(ctx: &Ctx, query: &Query) -> Result<Reply, ApiError> {
    let filter = ContainerFilter::of(query)?;
    let mut deleted = Vec::new();
    let mut reclaimed = 0u64;
    for r in container::list(&ctx.state)
        .into_iter()
        .filter(|r| !r.is_up() && filter.lets_go(r))
    {
        let size = disk_usage(&ctx.state.container(&r.id));
        // One started meanwhile refuses (StillRunning): it stays, as in docker.
        if rm::remove(&ctx.state, &r.id, false).is_ok() {
            deleted.push(r.id);
            reclaimed += size;
        }
    }
    Ok(Reply::Json(
        StatusCode::OK,
        json!({ "ContainersDeleted": deleted, "SpaceReclaimed": reclaimed }),
    ))
}

/// `POST /volumes/prune`: the unused anonymous volumes; all unused ones with
/// `filters={"all":["true"]}`; `label`/`label!` as [`VolumeFilter`] reads them.
pub fn volumes(ctx: &Ctx, query: &Query) -> Result<Reply, ApiError> {
    let mut all = false;
    let mut labels = Vec::new();
    for (key, values) in filters(query, &["all", "label", "label!"])? {
        if key != "all" {
            labels.extend(values.into_iter().map(|v| (key.clone(), v)));
            continue;
        }
        for v in values {
            all = match v.as_str() {
                "1" | "true" | "True" => true,
                "0" | "false" | "False" => false,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "o filtro all={other:?} do prune tem de ser true ou false"
                    )))
                }
            };
        }
    }
    let filter = VolumeFilter::parse(
        labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        volume::filter::PRUNE_FILTERS,
    )
    .map_err(ApiError::bad_request)?;
    let sizes: std::collections::HashMap<String, u64> = volume::list(&ctx.state)
        .into_iter()
        .map(|v| (v.name.clone(), disk_usage(&v.mountpoint)))
        .collect();
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    for r in container::volumes::prune(&ctx.state, all, &filter) {
        match r {
            Ok(v) => deleted.push(v.name),
            Err(e) => failed.push(super::http::chain(&e)),
        }
    }
    if !failed.is_empty() {
        return Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "{} volume(s) removido(s), {} não: {}",
                deleted.len(),
                failed.len(),
                failed.join("; ")
            ),
        ));
    }
    let reclaimed: u64 = deleted.iter().filter_map(|n| sizes.get(n)).sum();
    Ok(Reply::Json(
        StatusCode::OK,
        json!({ "VolumesDeleted": deleted, "SpaceReclaimed": reclaimed }),
    ))
}

/// The bytes of the files under `dir` (not following links; a tree that
/// cannot be read counts what could).
fn disk_usage(dir: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| disk_usage(&e.path()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_prune_filters_are_known_or_refused() {
        let q = Query::parse(Some("filters=%7B%22all%22%3A%5B%22true%22%5D%7D"));
        assert_eq!(filters(&q, &["all"]).unwrap()[0].1, ["true"]);
        let e = filters(&q, &[]).unwrap_err();
        assert_eq!(e.status, StatusCode::NOT_IMPLEMENTED);
        assert!(e.message.contains("\"all\""), "{}", e.message);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), [0u8; 100]).unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/b"), [0u8; 23]).unwrap();
        assert_eq!(disk_usage(dir.path()), 123);
    }
}
