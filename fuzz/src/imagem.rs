//! Target `imagem`: the JSON files of an image as `image load` reads them
//! (`oci-layout`, `index.json`, a manifest, a config, docker-archive's
//! `manifest.json`), parsed with the same types (`image/oci.rs`,
//! `image/archive.rs`), then the checks `load` makes with what it read:
//! digests (which become file names), references (which become tags),
//! layer media types. Accepted values must survive being written back.

use casulo::image::archive::{layout_blob, DockerManifestEntry};
use casulo::image::digest::hex_of;
use casulo::image::layer::Compression;
use casulo::image::oci::{ConfigFile, Descriptor, Index, Manifest, OciLayout};
use casulo::image::reference::{normalize, Reference};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;

pub fn fuzz(data: &[u8]) {
    if let Some(index) = parse::<Index>(data) {
        for d in &index.manifests {
            descriptor(d);
            if let Some(name) = d.ref_name() {
                reference(name);
            }
            for name in d.annotations.values() {
                reference(name);
            }
        }
    }
    if let Some(manifest) = parse::<Manifest>(data) {
        descriptor(&manifest.config);
        for l in &manifest.layers {
            descriptor(l);
            let _ = Compression::from_media_type(&l.media_type);
        }
    }
    if let Some(config) = parse::<ConfigFile>(data) {
        for d in &config.rootfs.diff_ids {
            digest(d);
        }
    }
    if let Some(entries) = parse::<Vec<DockerManifestEntry>>(data) {
        for e in &entries {
            for tag in e.repo_tags.iter().flatten() {
                reference(tag);
            }
        }
    }
    let _ = parse::<OciLayout>(data);
}

/// Parses `data` as `T`; what parses must serialize and parse back to the
/// same JSON (nothing lost or invented between `load` and `save`).
fn parse<T: DeserializeOwned + Serialize>(data: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(data).ok()?;
    let once = serde_json::to_value(&value).expect("serializa");
    let back: T = match serde_json::from_value(once.clone()) {
        Ok(v) => v,
        Err(e) => panic!(
            "{} escrito não é lido de volta: {e}: {once}",
            std::any::type_name::<T>()
        ),
    };
    let twice = serde_json::to_value(&back).expect("serializa");
    assert_eq!(
        once,
        twice,
        "{} muda ao ser escrito e lido",
        std::any::type_name::<T>()
    );
    Some(value)
}

fn descriptor(d: &Descriptor) {
    digest(&d.digest);
}

/// A digest that passes becomes `blobs/sha256/<hex>`: never a path out.
fn digest(d: &str) {
    if let Ok(hex) = hex_of(d) {
        assert_eq!(hex.len(), 64);
        let dir = Path::new("/layout");
        let path = layout_blob(dir, d).expect("hex_of aceitou");
        assert_eq!(path, dir.join("blobs/sha256").join(hex), "digest {d:?}");
    }
}

/// A reference that parses is written back as `name:tag` and parses to
/// the same (tags are keys of the store's index).
fn reference(input: &str) {
    if let Ok(r) = Reference::parse(input) {
        let shown = r.to_string();
        let again = Reference::parse(&shown)
            .unwrap_or_else(|e| panic!("{input:?} → {shown:?} não é mais aceito: {e}"));
        assert_eq!(again, r, "{input:?}");
        assert_eq!(normalize(&shown).ok().as_deref(), Some(shown.as_str()));
    }
}
