//! `casulo push`: the blobs the registry lacks, then the manifest.
//!
//! For each layer (bottom first) and the config: `HEAD` — the registry has
//! it, nothing travels; otherwise, if a local tag of the same registry in
//! another repository has that blob, a cross-repository mount is tried
//! (no byte sent); otherwise `POST` + `PUT ?digest=` with the blob file.
//! The manifest goes last, byte for byte as stored (same digest as here) —
//! unless the layers are recompressed for the trip
//! (`--compression-format`, see [`super::recompress`]).

use std::fs::File;

use super::client::Client;
use super::{RegistryError, RemoteRef, Transfer};
use crate::image::layer::Compression;
use crate::image::oci::Manifest;
use crate::image::Store;
use crate::recorder::Recorder;
use crate::state::StateDir;

/// What a push or pull tells the screen, layer by layer.
pub trait Observer: Send {
    /// The trace file was opened.
    fn trace_opened(&mut self, _path: &std::path::Path) {}
    /// Layer `index` (of `total`) starts traveling: `size` bytes.
    fn layer_start(&mut self, _index: usize, _total: usize, _digest: &str, _size: u64) {}
    /// Layer `index` is being compressed again (`--compression-format`).
    fn layer_recompress(&mut self, _index: usize, _total: usize) {}
    /// Bytes of layer `index` done so far.
    fn layer_progress(&mut self, _index: usize, _done: u64) {}
    /// Layer `index` is settled: `já estava aqui`, `enviada`, `montada`, `baixada`.
    fn layer_done(&mut self, _index: usize, _total: usize, _digest: &str, _size: u64, _what: &str) {
    }
}

/// An observer that shows nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// The trace of a push or pull: `traces/<push|pull>-<id8>.trace.jsonl`.
pub fn open_trace(
    state: &StateDir,
    what: &str,
    reference: &str,
) -> Result<(Recorder, std::path::PathBuf), RegistryError> {
    state
        .ensure()
        .map_err(|e| RegistryError::Other(format!("{}: {e}", state.root().display())))?;
    let id = crate::state::new_id();
    let path = state
        .traces()
        .join(format!("{what}-{}.trace.jsonl", &id[..8]));
    let header = crate::recorder::header_for(
        casulo_trace::ContainerInfo {
            id,
            name: what.to_string(),
            image: reference.to_string(),
            image_id: None,
            command: vec![],
        },
        crate::cgroups::host_mode().as_str(),
    );
    let rec = Recorder::create(&path, &header)
        .map_err(|e| RegistryError::Other(format!("trace {}: {e}", path.display())))?;
    Ok((rec, path))
}

/// Pushes the local image `reference` to its registry.
pub fn push(
    state: &StateDir,
    reference: &str,
    observer: &mut dyn Observer,
) -> Result<Transfer, RegistryError> {
    push_as(state, reference, None, observer)
}

/// [`push`], with these credentials instead of the ones `casulo login` saved
/// (the daemon's `X-Registry-Auth`).
pub fn push_as(
    state: &StateDir,
    reference: &str,
    credentials: Option<super::auth::Credentials>,
    observer: &mut dyn Observer,
) -> Result<Transfer, RegistryError> {
    push_with(state, reference, credentials, None, observer)
}

/// [`push_as`], with the layers compressed again with `recompress` for
/// the trip (`casulo push --compression-format`).
pub fn push_with(
    state: &StateDir,
    reference: &str,
    credentials: Option<super::auth::Credentials>,
    recompress: Option<Compression>,
    observer: &mut dyn Observer,
) -> Result<Transfer, RegistryError> {
    let remote = RemoteRef::parse(reference)?;
    if remote.digest.is_some() {
        return Err(RegistryError::Other(format!(
            "{reference}: o push envia uma tag (NOME:TAG); o digest nasce do manifest enviado"
        )));
    }
    let store = Store::open(state)?;
    let local = remote.local.to_string();
    let desc = store.descriptor(&local)?;
    let image = store.resolve(&local)?;
    let manifest_bytes = store.read_blob(&desc.digest, Some(desc.size))?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes).map_err(|e| {
        RegistryError::Other(format!("manifest {}: JSON inválido: {e}", desc.digest))
    })?;
    let media_type = manifest
        .media_type
        .clone()
        .unwrap_or_else(|| desc.media_type.clone());
    let recompressed = match recompress {
        Some(to) => Some(super::recompress::recompress(
            &store,
            &manifest,
            to,
            &state.tmp(),
            &mut |i, total| observer.layer_recompress(i, total),
        )?),
        None => None,
    };
    let (manifest, manifest_bytes, media_type) = match &recompressed {
        Some(r) => (
            r.manifest.clone(),
            r.manifest_bytes.clone(),
            r.media_type.clone(),
        ),
        None => (manifest, manifest_bytes, media_type),
    };

    let (rec, trace) = open_trace(state, "push", &local)?;
    observer.trace_opened(&trace);
    let mut client = Client::new(&remote, &rec)?;
    if let Some(credentials) = credentials {
        client.set_credentials(credentials);
    }
    let sources = mount_sources(&store, &remote);
    for (repository, _) in &sources {
        client.also_pull_from(repository);
    }
    client.ping("pull,push")?;

    let total = manifest.layers.len();
    let mut transfer = Transfer {
        remote: remote.display(),
        layers: total,
        trace: Some(trace),
        ..Transfer::default()
    };
    for (i, layer) in manifest.layers.iter().enumerate() {
        let index = Some(i as u32);
        if client.blob_exists(&layer.digest, layer.size, index)? {
            transfer.present += 1;
            observer.layer_done(i, total, &layer.digest, layer.size, "já estava no registry");
            continue;
        }
        let mut location = None;
        if let Some(from) = sources
            .iter()
            .find(|(_, digests)| digests.contains(&layer.digest))
        {
            match client.mount_blob(&layer.digest, &from.0, index) {
                Ok(None) => {
                    transfer.mounted += 1;
                    observer.layer_done(i, total, &layer.digest, layer.size, "montada");
                    continue;
                }
                Ok(Some(open)) => location = Some(open),
                // No right to read the other repository: the bytes go.
                Err(RegistryError::Denied { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        observer.layer_start(i, total, &layer.digest, layer.size);
        let path = match recompressed.as_ref().and_then(|r| r.blob(&layer.digest)) {
            Some(path) => path.clone(),
            None => store.blob_path(&layer.digest)?,
        };
        let file = File::open(&path).map_err(|e| crate::image::ImageError::io(&path, e))?;
        client.upload_blob(
            &layer.digest,
            layer.size,
            location,
            file,
            index,
            &mut |done| observer.layer_progress(i, done),
        )?;
        transfer.moved += 1;
        transfer.bytes += layer.size;
        observer.layer_done(i, total, &layer.digest, layer.size, "enviada");
    }
    // The config: small, but a blob like the others.
    let config = &manifest.config;
    if !client.blob_exists(&config.digest, config.size, None)? {
        let path = store.blob_path(&config.digest)?;
        let file = File::open(&path).map_err(|e| crate::image::ImageError::io(&path, e))?;
        client.upload_blob(&config.digest, config.size, None, file, None, &mut |_| {})?;
    }
    client.put_manifest(&remote.tag, &manifest_bytes, &media_type, total as u32)?;
    transfer.manifest_digest = match &recompressed {
        Some(_) => crate::image::digest::sha256(&manifest_bytes),
        None => image.manifest_digest,
    };
    Ok(transfer)
}

/// Other repositories of the same registry that local tags came from,
/// with the blobs of their images: candidates for a cross-repository
/// mount (the registry most likely has those blobs there).
fn mount_sources(
    store: &Store,
    remote: &RemoteRef,
) -> Vec<(String, std::collections::BTreeSet<String>)> {
    let mut out: Vec<(String, std::collections::BTreeSet<String>)> = Vec::new();
    let Ok(rows) = store.list() else {
        return out;
    };
    for row in rows {
        let Ok(other) = RemoteRef::parse(&row.reference) else {
            continue;
        };
        if other.registry != remote.registry || other.repository == remote.repository {
            continue;
        }
        let Ok(image) = store.resolve(&row.reference) else {
            continue;
        };
        let digests = image.layers.iter().map(|l| l.digest.clone());
        match out.iter_mut().find(|(repo, _)| *repo == other.repository) {
            Some((_, set)) => set.extend(digests),
            None => out.push((other.repository, digests.collect())),
        }
    }
    out
}
