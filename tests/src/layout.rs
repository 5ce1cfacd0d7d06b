//! Building OCI image layouts by hand, for tests: extra layers (also
//! malicious ones, which the `tar` crate would refuse to write) on top of an
//! image saved by casulo.

use std::fs;
use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// `sha256:<hex>` of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A layer tarball under construction; entries are written raw (names and
/// link targets as given, even `../x` or `/abs`).
pub struct LayerTar(tar::Builder<Vec<u8>>);

impl Default for LayerTar {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerTar {
    pub fn new() -> Self {
        LayerTar(tar::Builder::new(Vec::new()))
    }

    pub fn raw(
        &mut self,
        kind: tar::EntryType,
        name: &str,
        link: Option<&str>,
        mode: u32,
        data: &[u8],
    ) -> &mut Self {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_704_067_200);
        header.set_size(data.len() as u64);
        let old = header.as_old_mut();
        old.name = [0; 100];
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            old.linkname = [0; 100];
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_cksum();
        self.0.append(&header, data).unwrap();
        self
    }

    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.raw(tar::EntryType::Directory, name, None, 0o755, b"")
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.raw(tar::EntryType::Regular, name, None, 0o644, data)
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.raw(tar::EntryType::Symlink, name, Some(target), 0o777, b"")
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.raw(tar::EntryType::Link, name, Some(target), 0o644, b"")
    }

    pub fn finish(&mut self) -> Vec<u8> {
        let builder = std::mem::replace(&mut self.0, tar::Builder::new(Vec::new()));
        builder.into_inner().unwrap()
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn put_blob(layout: &Path, bytes: &[u8]) -> (String, u64) {
    let digest = sha256(bytes);
    let path = layout
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap());
    fs::write(path, bytes).unwrap();
    (digest, bytes.len() as u64)
}

/// Copies the OCI layout `base` (with the single image casulo saved there)
/// to `out`, adds `layers` (plain tars) on top, lets `patch` change the
/// config's `config` object, and names it `ref_name` in `index.json`.
pub fn extend(
    base: &Path,
    out: &Path,
    ref_name: &str,
    layers: &[Vec<u8>],
    patch: impl Fn(&mut Value),
) {
    fs::create_dir_all(out.join("blobs/sha256")).unwrap();
    for entry in fs::read_dir(base.join("blobs/sha256")).unwrap().flatten() {
        fs::copy(
            entry.path(),
            out.join("blobs/sha256").join(entry.file_name()),
        )
        .unwrap();
    }
    fs::copy(base.join("oci-layout"), out.join("oci-layout")).unwrap();
    let index = read_json(&base.join("index.json"));
    let desc = &index["manifests"][0];
    let blob = |d: &Value| {
        base.join("blobs/sha256")
            .join(d.as_str().unwrap().strip_prefix("sha256:").unwrap())
    };
    let mut manifest = read_json(&blob(&desc["digest"]));
    let mut config = read_json(&blob(&manifest["config"]["digest"]));
    for layer in layers {
        let (digest, size) = put_blob(out, layer);
        manifest["layers"].as_array_mut().unwrap().push(json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": digest,
            "size": size,
        }));
        config["rootfs"]["diff_ids"]
            .as_array_mut()
            .unwrap()
            .push(json!(digest));
    }
    patch(&mut config["config"]);
    let (digest, size) = put_blob(out, &serde_json::to_vec(&config).unwrap());
    manifest["config"]["digest"] = json!(digest);
    manifest["config"]["size"] = json!(size);
    let (digest, size) = put_blob(out, &serde_json::to_vec(&manifest).unwrap());
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
            "annotations": { "org.opencontainers.image.ref.name": ref_name },
        }],
    });
    fs::write(out.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}
