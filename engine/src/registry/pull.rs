//! `casulo pull`: the manifest (from an index, the `linux/<host arch>`
//! one), the config, and only the layers the store does not have.
//!
//! Every blob is verified before it enters the store: streamed into a temp
//! file of the store while its sha256 and size are computed, then renamed
//! into `blobs/sha256/`. A refused blob leaves nothing. A layer's
//! uncompressed sha256 (the config's `diff_id`) and its tar entries are
//! checked where the tar is read anyway, by the first unpack (`run`,
//! [`crate::image::extract`]) and by `image fsck`, as containerd's
//! unpacker does: checking them here too meant a second gunzip of every
//! layer, as much CPU as skopeo's whole pull. Each
//! verified layer enters the store at once, so a pull that was cut off
//! resumes from the layers it completed; the tag comes only at the end,
//! once manifest, config and every layer are there.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use casulo_trace::{EventBody, Outcome};

use super::client::{Client, MEDIA_TYPE_DOCKER_LIST};
use super::push::{open_trace, Observer};
use super::{RegistryError, RemoteRef, Transfer};
use crate::image::digest::{self, HashReader};
use crate::image::oci::{self, ConfigFile, Descriptor, Index, Manifest};
use crate::image::{verify, ImageError, Layer, Store};
use crate::state::StateDir;

/// JSON blobs (configs) bigger than this are refused.
const MAX_CONFIG: u64 = 16 * 1024 * 1024;

/// Pulls `reference` from its registry into the store and tags it.
pub fn pull(
    state: &StateDir,
    reference: &str,
    observer: &mut dyn Observer,
) -> Result<Transfer, RegistryError> {
    pull_as(state, reference, None, observer)
}

/// [`pull`], with these credentials instead of the ones `casulo login` saved
/// (the daemon's `X-Registry-Auth`).
pub fn pull_as(
    state: &StateDir,
    reference: &str,
    credentials: Option<super::auth::Credentials>,
    observer: &mut dyn Observer,
) -> Result<Transfer, RegistryError> {
    let remote = RemoteRef::parse(reference)?;
    let store = Store::open(state)?;
    store.init()?;
    // Blobs written before the tag are reachable from nothing: keep
    // `image prune` away until the end (see Store::writing).
    let _writing = store.writing()?;
    let local = remote.local.to_string();
    let (rec, trace) = open_trace(state, "pull", &local)?;
    observer.trace_opened(&trace);
    let mut client = Client::new(&remote, &rec)?;
    if let Some(credentials) = credentials {
        client.set_credentials(credentials);
    }
    client.ping("pull")?;

    let (bytes, media_type, manifest, manifest_digest) = fetch_manifest(&client, &remote)?;

    // The config: fetched (small) and verified unless the store has it.
    let config_bytes = fetch_config(&client, &store, &manifest.config)?;
    let config: ConfigFile = serde_json::from_slice(&config_bytes).map_err(|e| {
        RegistryError::Other(format!(
            "a config {}: JSON inválido: {e}",
            manifest.config.digest
        ))
    })?;
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        return Err(RegistryError::Other(format!(
            "{}: o manifest lista {} camadas, mas a config tem {} diff_ids",
            remote.display(),
            manifest.layers.len(),
            config.rootfs.diff_ids.len()
        )));
    }

    let total = manifest.layers.len();
    let mut transfer = Transfer {
        remote: remote.display(),
        layers: total,
        trace: Some(trace),
        manifest_digest: manifest_digest.clone(),
        ..Transfer::default()
    };
    let mut missing = Vec::new();
    for (i, (blob, diff_id)) in manifest
        .layers
        .iter()
        .zip(&config.rootfs.diff_ids)
        .enumerate()
    {
        let layer = Layer::of(blob, diff_id)?;
        let here = store.has_blob(&layer.digest)
            && std::fs::metadata(store.blob_path(&layer.digest)?)
                .is_ok_and(|m| m.len() == layer.size);
        rec.record(
            EventBody::RegistryBlobExists {
                registry: remote.registry.clone(),
                repository: remote.repository.clone(),
                digest: layer.digest.clone(),
                size: layer.size,
                exists: here,
                local: true,
                layer: Some(i as u32),
                status: 0,
            },
            format!("stat {}", store.blob_path(&layer.digest)?.display()),
            Outcome::Ok,
        );
        if here {
            transfer.present += 1;
            observer.layer_done(i, total, &layer.digest, layer.size, "já estava aqui");
        } else {
            missing.push((i, layer));
        }
    }

    let (moved, bytes_moved, first_error) =
        download_missing(&client, &store, &missing, total, observer);
    transfer.moved += moved;
    transfer.bytes += bytes_moved;
    if let Some(mut e) = first_error {
        if let RegistryError::Interrupted { complete, .. } = &mut e {
            *complete = manifest
                .layers
                .iter()
                .filter(|l| store.has_blob(&l.digest))
                .count();
        }
        return Err(e);
    }

    // Everything is here and verified: config, manifest (bytes as the
    // registry sent them), and only then the tag.
    store.put_blob(&config_bytes)?;
    let stored = store.put_blob(&bytes)?;
    let mut desc = Descriptor::new(&media_type, &stored.digest, stored.size);
    desc.platform = Some(oci::Platform {
        architecture: config.architecture.clone(),
        os: config.os.clone(),
        extra: Default::default(),
    });
    store.tag(&remote.local, &desc)?;
    store.resolve(&local)?;
    Ok(transfer)
}

/// The image's manifest: asked by tag or digest, an index (or docker
/// manifest list) resolved to this machine's platform, its digest checked
/// when the reference named one. Returns its bytes, media type, parsed
/// manifest and digest.
fn fetch_manifest(
    client: &Client,
    remote: &RemoteRef,
) -> Result<(Vec<u8>, String, Manifest, String), RegistryError> {
    let asked = remote.manifest_reference().to_string();
    let (mut bytes, mut media_type) = client.get_manifest(&asked)?;
    if let Some(expected) = &remote.digest {
        check_digest(client, expected, &bytes, None)?;
    }
    if media_type.is_empty() || media_type == "application/json" {
        media_type = sniff_media_type(&bytes);
    }
    if media_type == oci::MEDIA_TYPE_INDEX || media_type == MEDIA_TYPE_DOCKER_LIST {
        let index: Index = serde_json::from_slice(&bytes).map_err(|e| {
            RegistryError::Other(format!(
                "o índice de {}: JSON inválido: {e}",
                remote.display()
            ))
        })?;
        let picked = pick_platform(&index, remote)?;
        let platform = format!("linux/{}", oci::host_architecture());
        client.record_manifest_get(
            &asked,
            &digest::sha256(&bytes),
            &media_type,
            bytes.len() as u64,
            0,
            Some(platform),
        );
        let (child, child_type) = client.get_manifest(&picked.digest)?;
        check_digest(client, &picked.digest, &child, Some(picked.size))?;
        bytes = child;
        media_type = if child_type.is_empty() || child_type == "application/json" {
            picked.media_type.clone()
        } else {
            child_type
        };
    }
    if media_type != oci::MEDIA_TYPE_MANIFEST && media_type != oci::MEDIA_TYPE_DOCKER_MANIFEST {
        return Err(RegistryError::Other(format!(
            "{}: tipo de manifest {media_type:?} que o casulo não entende (ele entende o \
             manifest OCI, o schema 2 do Docker e os índices de ambos)",
            remote.display()
        )));
    }
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
        RegistryError::Other(format!(
            "o manifest de {}: JSON inválido: {e}",
            remote.display()
        ))
    })?;
    let manifest_digest = digest::sha256(&bytes);
    client.record_manifest_get(
        manifest_reference_shown(&asked, &manifest_digest),
        &manifest_digest,
        &media_type,
        bytes.len() as u64,
        manifest.layers.len() as u32,
        None,
    );

    Ok((bytes, media_type, manifest, manifest_digest))
}

/// The config blob: the store's copy, or fetched (at most [`MAX_CONFIG`])
/// and checked against its descriptor.
fn fetch_config(
    client: &Client,
    store: &Store,
    config_desc: &Descriptor,
) -> Result<Vec<u8>, RegistryError> {
    Ok(if store.has_blob(&config_desc.digest) {
        store.read_blob(&config_desc.digest, Some(config_desc.size))?
    } else {
        let start = Instant::now();
        let resp = client.get_blob(&config_desc.digest)?;
        let mut got = Vec::new();
        resp.into_body()
            .into_reader()
            .take(MAX_CONFIG + 1)
            .read_to_end(&mut got)
            .map_err(|e| unreachable_mid(client, &config_desc.digest, e))?;
        let checked = check_digest(client, &config_desc.digest, &got, Some(config_desc.size));
        client.record_download(
            &config_desc.digest,
            got.len() as u64,
            start,
            None,
            checked
                .as_ref()
                .map(|_| ())
                .map_err(|_| nix::errno::Errno::EBADMSG),
        );
        checked?;
        got
    })
}

/// The missing layers, side by side, PARALLEL_DOWNLOADS at a time (as
/// skopeo): while one is being verified (sha256 costs CPU) and written,
/// the registry is already sending the others. After a failure no new
/// layer starts; those on their way finish, and each one that arrived
/// whole stays in the store for the next pull. Returns how many arrived,
/// their bytes, and the first error in layer order.
fn download_missing(
    client: &Client,
    store: &Store,
    missing: &[(usize, Layer)],
    total: usize,
    observer: &mut dyn Observer,
) -> (usize, u64, Option<RegistryError>) {
    let observer = Mutex::new(observer);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_DOWNLOADS.min(missing.len()) {
            scope.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Some((i, layer)) = missing.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                let result = download_layer(client, store, *i, total, layer, &observer);
                if result.is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((*i, layer.size, result));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _, _)| *i);
    let (mut moved, mut bytes, mut first_error) = (0, 0, None);
    for (_, size, result) in results {
        match result {
            Ok(()) => {
                moved += 1;
                bytes += size;
            }
            Err(e) if first_error.is_none() => first_error = Some(e),
            Err(_) => {}
        }
    }
    (moved, bytes, first_error)
}

/// Layers downloaded at the same time (skopeo's default; docker's is 3).
const PARALLEL_DOWNLOADS: usize = 6;

/// Downloads layer `i`, verifying it on the way into a temp file of the
/// store, which enters `blobs/sha256/` only when it passed.
fn download_layer(
    client: &Client,
    store: &Store,
    i: usize,
    total: usize,
    layer: &Layer,
    observer: &Mutex<&mut dyn Observer>,
) -> Result<(), RegistryError> {
    let screen = || observer.lock().unwrap_or_else(|e| e.into_inner());
    screen().layer_start(i, total, &layer.digest, layer.size);
    let start = Instant::now();
    let resp = client.get_blob(&layer.digest)?;
    // The verifier hashes the stream it tees to the file: the file's own
    // hash would be a third sha256 of the same bytes.
    let mut writer = store.blob_writer_verified_elsewhere()?;
    let arrived = Cell::new(0u64);
    let cut = RefCell::new(None);
    let counted = Progress {
        inner: resp.into_body().into_reader(),
        done: &arrived,
        failed: &cut,
        report: &mut |done| screen().layer_progress(i, done),
    };
    // The blob's sha256 and size, as it arrives; a registry that sends more
    // than the descriptor says is cut at one byte more (and refused). The
    // diff_id and the tar entries are checked by the first unpack, which
    // reads the tar anyway (as containerd's unpacker): a second gunzip
    // here cost as much CPU as skopeo's whole pull.
    let mut hashed = HashReader::new(Read::take(counted, layer.size + 1));
    let verified = std::io::copy(&mut hashed, &mut writer)
        .and_then(|_| writer.flush())
        .map_err(|e| ImageError::io(writer.temp_path(), e))
        .and_then(|_| {
            let (digest, size, _) = hashed.finish();
            verify::matches_descriptor(&digest, size, layer)?;
            Ok((digest, size))
        });
    let cut = cut.into_inner();
    client.record_download(
        &layer.digest,
        arrived.get(),
        start,
        Some(i as u32),
        match (&verified, &cut) {
            (Ok(_), _) => Ok(()),
            // The connection broke: not the blob's fault.
            (Err(_), Some(_)) => Err(nix::errno::Errno::ECONNRESET),
            (Err(_), None) => Err(nix::errno::Errno::EBADMSG),
        },
    );
    let found = match verified {
        Ok(found) => found,
        // The temp file goes with the writer: nothing enters the store.
        Err(e) => {
            return Err(match cut {
                Some(why) => RegistryError::Interrupted {
                    registry: client.registry.clone(),
                    digest: layer.digest.clone(),
                    layer: i + 1,
                    arrived: arrived.get(),
                    size: layer.size,
                    complete: 0,
                    why,
                },
                None => refused(client, &layer.digest, i, e),
            })
        }
    };
    // Checked above against the descriptor.
    writer.commit_verified(&found.0, found.1)?;
    screen().layer_done(i, total, &layer.digest, layer.size, "baixada");
    Ok(())
}

/// A manifest in the index for `linux/<host arch>`, or an error listing
/// the platforms there are.
fn pick_platform(index: &Index, remote: &RemoteRef) -> Result<Descriptor, RegistryError> {
    let arch = oci::host_architecture();
    let found = index.manifests.iter().find(|d| {
        d.platform
            .as_ref()
            .is_some_and(|p| p.os == "linux" && p.architecture == arch)
    });
    match found {
        Some(d) => Ok(d.clone()),
        None => {
            let have: Vec<String> = index
                .manifests
                .iter()
                .filter_map(|d| d.platform.as_ref())
                .map(|p| format!("{}/{}", p.os, p.architecture))
                .collect();
            Err(RegistryError::Other(format!(
                "{} não tem a plataforma linux/{arch} (a deste computador); o índice tem: {}",
                remote.display(),
                if have.is_empty() {
                    "nenhuma plataforma declarada".to_string()
                } else {
                    have.join(", ")
                }
            )))
        }
    }
}

/// What `manifest_get` says was asked: the tag, or the digest itself.
fn manifest_reference_shown<'a>(asked: &'a str, digest: &'a str) -> &'a str {
    if asked.starts_with("sha256:") {
        digest
    } else {
        asked
    }
}

/// The media type a manifest names in its own `mediaType` field.
fn sniff_media_type(bytes: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "mediaType", default)]
        media_type: String,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Typed>(bytes) {
        Ok(t) if !t.media_type.is_empty() => t.media_type,
        Ok(t) if t.manifests.is_some() => oci::MEDIA_TYPE_INDEX.to_string(),
        _ => oci::MEDIA_TYPE_MANIFEST.to_string(),
    }
}

/// Bytes that must be `expected` (and `size` long, when given).
fn check_digest(
    client: &Client,
    expected: &str,
    bytes: &[u8],
    size: Option<u64>,
) -> Result<(), RegistryError> {
    let actual = digest::sha256(bytes);
    let bad = |why: String| RegistryError::BadBlob {
        registry: client.registry.clone(),
        digest: expected.to_string(),
        why,
    };
    if actual != expected {
        return Err(bad(format!(
            "o conteúdo recebido tem sha256 {actual} (alterado no caminho ou no registry)"
        )));
    }
    if let Some(size) = size {
        if size != bytes.len() as u64 {
            return Err(bad(format!(
                "chegaram {} bytes, mas o descritor diz {size}",
                bytes.len()
            )));
        }
    }
    Ok(())
}

/// A layer that failed verification (or whose download broke off).
fn refused(client: &Client, digest: &str, index: usize, e: ImageError) -> RegistryError {
    RegistryError::BadBlob {
        registry: client.registry.clone(),
        digest: digest.to_string(),
        why: format!(
            "a camada {} não confere, nada dela entrou no store: {}",
            index + 1,
            error_chain(&e)
        ),
    }
}

fn unreachable_mid(client: &Client, digest: &str, e: std::io::Error) -> RegistryError {
    RegistryError::BadBlob {
        registry: client.registry.clone(),
        digest: digest.to_string(),
        why: format!("o download foi interrompido: {e}"),
    }
}

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A reader of the network that reports the bytes read so far and keeps
/// the error of a connection that broke (to tell it from a bad blob).
struct Progress<'a, R> {
    inner: R,
    done: &'a Cell<u64>,
    failed: &'a RefCell<Option<String>>,
    report: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.done.set(self.done.get() + n as u64);
                (self.report)(self.done.get());
                Ok(n)
            }
            Err(e) => {
                *self.failed.borrow_mut() = Some(format!("a conexão caiu ({e})"));
                Err(e)
            }
        }
    }
}
