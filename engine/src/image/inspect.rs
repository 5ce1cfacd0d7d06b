//! `image inspect`: an image docker-like (the fields `docker image inspect`
//! shows), plus casulo's own (manifest digest, where each layer is
//! unpacked). Shared by `casulo image inspect` and the daemon.

use super::{digest, ImageError, Store};

/// `casulo image inspect`: docker-like fields, plus casulo's own
/// (manifest digest, where each layer is unpacked).
pub fn inspect(store: &Store, reference: &str) -> Result<serde_json::Value, ImageError> {
    let image = store.resolve(reference)?;
    let desc = store.descriptor(&image.reference)?;
    let config: serde_json::Value = serde_json::from_slice(&store.read_blob(&image.id, None)?)
        .map_err(|e| ImageError::Corrupt(format!("config {}: {e}", image.id)))?;
    let tags: Vec<String> = store
        .read_index()?
        .manifests
        .iter()
        .filter(|d| d.digest == desc.digest)
        .filter_map(|d| d.ref_name().map(str::to_string))
        .collect();
    let diff_ids: Vec<String> = image.layers.iter().map(|l| l.diff_id.clone()).collect();
    let chain_ids = super::store::chain_ids(&diff_ids);
    let layers: Vec<serde_json::Value> = image
        .layers
        .iter()
        .zip(&chain_ids)
        .map(|(l, chain_id)| {
            // Under its diff_id, or its ChainID when it hard-links a file
            // of a layer below (see `Store::ensure_layer_over`).
            let dir = [&l.diff_id, chain_id]
                .into_iter()
                .filter_map(|d| digest::hex_of(d).ok())
                .map(|hex| store.state.layer(hex))
                .find(|p| p.is_dir());
            serde_json::json!({
                "digest": l.digest,
                "diff_id": l.diff_id,
                "media_type": l.media_type,
                "size": l.size,
                "unpacked": dir.map(|p| p.display().to_string()),
            })
        })
        .collect();
    Ok(serde_json::json!({
        "Id": image.id,
        "RepoTags": tags,
        "ManifestDigest": desc.digest,
        "Created": config["created"],
        "Author": config["author"],
        "Architecture": config["architecture"],
        "Os": config["os"],
        "Config": config["config"],
        "RootFS": config["rootfs"],
        "History": config["history"],
        "Size": image.layers.iter().map(|l| l.size).sum::<u64>(),
        "Layers": layers,
    }))
}

/// `image history`: the config's steps, newest first, each with the layer
/// it made (`None`: a step that changed only the config). An image without
/// history gets one anonymous step per layer.
pub fn history(
    store: &Store,
    reference: &str,
) -> Result<Vec<(super::oci::History, Option<super::Layer>)>, ImageError> {
    let (image, config) = store.resolve_with_config(reference)?;
    let steps = if config.history.is_empty() {
        image
            .layers
            .iter()
            .map(|_| super::oci::History::default())
            .collect()
    } else {
        config.history.clone()
    };
    let mut layers = image.layers.iter();
    let mut rows: Vec<_> = steps
        .into_iter()
        .map(|step| {
            let layer = if step.empty_layer {
                None
            } else {
                layers.next().cloned()
            };
            (step, layer)
        })
        .collect();
    rows.reverse();
    Ok(rows)
}

/// The tags `name` means: itself when it is a tag here, else every tag of
/// the image whose id is `name` (`sha256:…` or a prefix of its hex, as
/// docker accepts ids). Empty when nothing matches.
pub fn tags_of(store: &Store, name: &str) -> Result<Vec<String>, ImageError> {
    if let Ok(image) = store.resolve(name) {
        return Ok(vec![image.reference]);
    }
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(Vec::new());
    }
    let rows = store.list()?;
    let ids: std::collections::BTreeSet<String> = rows
        .iter()
        .map(|r| r.id.clone())
        .filter(|id| id.trim_start_matches("sha256:").starts_with(hex))
        .collect();
    if ids.len() > 1 {
        return Err(ImageError::Other(format!(
            "o prefixo de id {name} serve para mais de uma imagem: use mais dígitos"
        )));
    }
    Ok(rows
        .into_iter()
        .filter(|r| ids.contains(&r.id))
        .map(|r| r.reference)
        .collect())
}
