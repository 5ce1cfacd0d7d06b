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

/// Every path of an unpacked tree: `mode uid:gid what`, where what is
/// `dir`, `-> target` for a symlink, or the content's sha256.
pub fn tree(root: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    use std::os::unix::fs::MetadataExt;
    fn walk(
        base: &std::path::Path,
        dir: &std::path::Path,
        out: &mut std::collections::BTreeMap<String, String>,
    ) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(base).unwrap().display().to_string();
            let what = if meta.is_dir() {
                walk(base, &path, out);
                "dir".to_string()
            } else if meta.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&path).unwrap().display())
            } else {
                sha256(&std::fs::read(&path).unwrap())
            };
            let mode = meta.mode() & 0o7777;
            out.insert(
                rel,
                format!("{mode:o} {}:{} {what}", meta.uid(), meta.gid()),
            );
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
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

    /// A PAX header giving the next entry these extended attributes
    /// (`SCHILY.xattr.<name>` records, as GNU tar and docker write them).
    pub fn xattrs(&mut self, name: &str, xattrs: &[(&str, &[u8])]) -> &mut Self {
        let mut body = Vec::new();
        for (key, value) in xattrs {
            // "<len> SCHILY.xattr.<key>=<value>\n", len counting itself.
            let rest = 1 + "SCHILY.xattr.".len() + key.len() + 1 + value.len() + 1;
            let mut len = rest + 1;
            while rest + len.to_string().len() != len {
                len = rest + len.to_string().len();
            }
            body.extend(format!("{len} SCHILY.xattr.{key}=").into_bytes());
            body.extend_from_slice(value);
            body.push(b'\n');
        }
        self.raw(
            tar::EntryType::XHeader,
            &format!("PaxHeaders/{}", name.trim_end_matches('/')),
            None,
            0o644,
            &body,
        )
    }

    /// A GNU sparse file of `real_size` bytes: 512 bytes of `fill` at each
    /// offset of `blocks` (at most 3), holes everywhere else. The tar holds
    /// only the data blocks and the map, a few hundred bytes whatever the
    /// size.
    pub fn sparse(&mut self, name: &str, real_size: u64, blocks: &[u64], fill: u8) -> &mut Self {
        assert!(blocks.len() < 4, "one GNU header holds 4 map entries");
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::GNUSparse);
        header.set_path(name).unwrap();
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_704_067_200);
        header.set_size(512 * blocks.len() as u64);
        let gnu = header.as_gnu_mut().unwrap();
        for (slot, offset) in gnu.sparse.iter_mut().zip(blocks) {
            slot.set_offset(*offset);
            slot.set_length(512);
        }
        gnu.sparse[blocks.len()].set_offset(real_size);
        gnu.sparse[blocks.len()].set_length(0);
        gnu.set_real_size(real_size);
        header.set_cksum();
        let data = vec![fill; 512 * blocks.len()];
        self.0.append(&header, &data[..]).unwrap();
        self
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
    extend_with(base, out, ref_name, layers, |_, config| {
        patch(&mut config["config"])
    });
}

/// [`extend`], letting `patch` change the whole manifest and config (a
/// layer descriptor's size, a diff_id…) after the layers are added.
pub fn extend_with(
    base: &Path,
    out: &Path,
    ref_name: &str,
    layers: &[Vec<u8>],
    patch: impl Fn(&mut Value, &mut Value),
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
    patch(&mut manifest, &mut config);
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

/// Puts the image of the OCI layout `layout` into the store of the state
/// dir `root` by hand, unchecked, as an older casulo's `image load` did:
/// copies its blobs and adds its index descriptors to the store's
/// index.json. For tests of what `run` and `image fsck` do with an image
/// that should never have been accepted.
pub fn inject(layout: &Path, root: &Path) {
    let store = root.join("images");
    fs::create_dir_all(store.join("blobs/sha256")).unwrap();
    for entry in fs::read_dir(layout.join("blobs/sha256")).unwrap().flatten() {
        fs::copy(
            entry.path(),
            store.join("blobs/sha256").join(entry.file_name()),
        )
        .unwrap();
    }
    let index_path = store.join("index.json");
    let mut index = if index_path.exists() {
        read_json(&index_path)
    } else {
        fs::copy(layout.join("oci-layout"), store.join("oci-layout")).unwrap();
        json!({ "schemaVersion": 2, "manifests": [] })
    };
    let added = read_json(&layout.join("index.json"));
    for desc in added["manifests"].as_array().unwrap() {
        index["manifests"]
            .as_array_mut()
            .unwrap()
            .push(desc.clone());
    }
    fs::write(index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}
