//! `casulo image fsck`: is the store consistent?
//!
//! Checks, without changing anything:
//! - every blob in `blobs/sha256/` has a valid name and its bytes hash to it;
//! - every tag in `index.json` resolves: manifest and config readable and
//!   verified, every layer blob present, and every layer can be unpacked:
//!   streamed through the same checks as `image load` ([`super::verify`]:
//!   digest, size, diff_id, every entry through the extractor's checker),
//!   so an image that `run` would refuse (one loaded by an older casulo) is
//!   named with its layer and the reason;
//! - no leftovers of an interrupted write: temp files in `tmp/` (other than
//!   the lock), half-unpacked `layers/.tmp-*` directories;
//! - every unpacked layer directory is named by a valid diff_id hex.
//!
//! The tests run it after every refused (malicious or corrupt) input, to
//! prove a refusal leaves the store as it was.

use std::collections::BTreeMap;
use std::error::Error;
use std::fs::{self, File};
use std::io::{self, BufReader};

use super::digest::{self, HashReader};
use super::extract::Limits;
use super::{verify, ImageError, Layer, Store};

/// What fsck found.
#[derive(Debug, Default)]
pub struct FsckReport {
    pub blobs: u64,
    pub bytes: u64,
    pub images: u64,
    pub layers: u64,
    /// Each problem, in pt-BR. Empty means the store is consistent.
    pub problems: Vec<String>,
}

impl FsckReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

pub fn fsck(store: &Store) -> Result<FsckReport, ImageError> {
    let mut report = FsckReport::default();
    let blobs = store.dir().join("blobs").join(digest::ALGORITHM);
    if let Ok(entries) = fs::read_dir(&blobs) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let d = format!("{}:{name}", digest::ALGORITHM);
            if digest::hex_of(&d).is_err() {
                report
                    .problems
                    .push(format!("blobs/sha256/{name}: nome que não é um digest"));
                continue;
            }
            let path = entry.path();
            let result = File::open(&path).and_then(|f| {
                let mut r = HashReader::new(BufReader::with_capacity(256 * 1024, f));
                io::copy(&mut r, &mut io::sink())?;
                Ok(r.finish())
            });
            match result {
                Ok((actual, size, _)) => {
                    report.blobs += 1;
                    report.bytes += size;
                    if actual != d {
                        report.problems.push(format!(
                            "blob {d}: o conteúdo tem sha256 {actual} (corrompido)"
                        ));
                    }
                }
                Err(e) => report.problems.push(format!("blob {d}: {e}")),
            }
        }
    }
    let index = store.read_index()?;
    let limits = Limits::from_env();
    // A layer shared by images is streamed once (per role: bottom or not).
    let mut checked: BTreeMap<(String, String, bool), Option<String>> = BTreeMap::new();
    for desc in &index.manifests {
        let Some(name) = desc.ref_name() else {
            continue;
        };
        match store.resolve(name) {
            Ok(image) => {
                report.images += 1;
                let n = image.layers.len();
                for (i, layer) in image.layers.iter().enumerate() {
                    if !store.has_blob(&layer.digest) {
                        report
                            .problems
                            .push(format!("{name}: falta o blob da camada {}", layer.digest));
                        continue;
                    }
                    let key = (layer.digest.clone(), layer.diff_id.clone(), i == 0);
                    let why = checked
                        .entry(key)
                        .or_insert_with(|| unpackable(store, layer, i == 0, limits))
                        .clone();
                    if let Some(why) = why {
                        report.problems.push(format!(
                            "{name}: a camada {} de {n} ({}) não pode ser desempacotada \
                             (`casulo run` a recusaria): {why}",
                            i + 1,
                            layer.digest
                        ));
                    }
                }
            }
            Err(e) => report.problems.push(format!("{name}: {e}")),
        }
    }
    if let Ok(entries) = fs::read_dir(store.state.tmp()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            // A live writer's temp name is a write in progress (another
            // casulo removing a container right now), not a leftover.
            if name != "images.lock"
                && name != "images.writers.lock"
                && !super::leftovers::being_written(&name)
            {
                report
                    .problems
                    .push(format!("tmp/{name}: resto de uma escrita interrompida"));
            }
        }
    }
    if let Ok(entries) = fs::read_dir(store.state.layers()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && !super::leftovers::being_written(&name) {
                report
                    .problems
                    .push(format!("layers/{name}: camada desempacotada pela metade"));
            } else if digest::hex_of(&format!("{}:{name}", digest::ALGORITHM)).is_err() {
                report
                    .problems
                    .push(format!("layers/{name}: nome que não é um diff_id"));
            } else {
                report.layers += 1;
            }
        }
    }
    Ok(report)
}

/// Why `layer` (of the store) could not be unpacked, if it could not: the
/// error and its causes in one line.
fn unpackable(store: &Store, layer: &Layer, bottom: bool, limits: Limits) -> Option<String> {
    let result = store.blob_path(&layer.digest).and_then(|path| {
        let file = File::open(&path).map_err(|e| ImageError::io(&path, e))?;
        verify::verify_layer(file, layer, !bottom, limits)
    });
    let e = result.err()?;
    // The layer is named already: say only what is wrong with it.
    let mut why = match &e {
        ImageError::UnsafeEntry { entry, why, .. } => format!("entrada {entry:?} recusada: {why}"),
        ImageError::BadLayer { what, .. } => what.clone(),
        other => other.to_string(),
    };
    let mut cause = e.source();
    while let Some(c) = cause {
        why.push_str(&format!(": {c}"));
        cause = c.source();
    }
    Some(why)
}
