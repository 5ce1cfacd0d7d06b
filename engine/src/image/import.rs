//! `casulo image import`: a rootfs tarball becomes a one-layer image.
//!
//! Any tarball of a root filesystem works (`tar -C rootfs -c .`, the output
//! of `docker export`, a distribution's "minirootfs"), plain or gzip — told
//! apart by the first bytes of the file (gzip starts with `1f 8b`), not by
//! its name. The file is stored *as is* as the layer blob (gzip stays gzip),
//! so its digest is the sha256 of the file; the diff_id is computed from the
//! uncompressed stream in the same single pass.
//!
//! Every entry is checked while the file is read, with the same rules as
//! unpacking and `image load` (see [`super::verify`]): the size limits,
//! truncated entries, an absolute path, a `..`, a write through
//! a symlink or a hard link out of the tree refuses the whole import, naming
//! the entry, before anything reaches `blobs/` or `index.json`.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::time::SystemTime;

use super::digest::TeeReader;
use super::extract::Limits;
use super::layer::Compression;
use super::{oci, verify};
use super::{Image, ImageError, Layer, Reference, Store};
use crate::state::StateDir;

/// Imports `tar_path` as the image `reference` (e.g. `meu-rootfs:1.0`).
pub fn rootfs_tar(state: &StateDir, tar_path: &Path, reference: &str) -> Result<Image, ImageError> {
    let reference = Reference::parse(reference)?;
    let store = Store::open(state)?;
    let shown = tar_path.display().to_string();

    let mut file = File::open(tar_path).map_err(|e| ImageError::io(tar_path, e))?;
    if file
        .metadata()
        .map_err(|e| ImageError::io(tar_path, e))?
        .is_dir()
    {
        return Err(ImageError::Other(format!(
            "{shown} é um diretório; empacote-o antes: tar -C {shown} -cf rootfs.tar ."
        )));
    }
    let mut head = Vec::with_capacity(8);
    (&mut file)
        .take(8)
        .read_to_end(&mut head)
        .and_then(|_| file.rewind())
        .map_err(|e| ImageError::io(tar_path, e))?;
    let compression =
        Compression::sniff(&head).map_err(|why| ImageError::Other(format!("{shown}: {why}")))?;

    // The blob is unreachable until tagged: keep gc out until then.
    let _writing = store.writing()?;
    // One pass: file → (copy into the blob) → decompress → hash → tar,
    // every entry through the same checks as `image load`.
    let mut blob = store.blob_writer()?;
    let found = verify::verify_stream(
        TeeReader::new(file, &mut blob),
        compression,
        false,
        Limits::from_env(),
        &shown,
    )?;
    // Dropping the blob writer (on any error above) removes its temp file.
    if found.entries == 0 {
        return Err(ImageError::Other(format!(
            "{shown}: o arquivo tar está vazio (nenhuma entrada)"
        )));
    }
    let blob = blob.commit()?;

    let layer = Layer {
        digest: blob.digest,
        diff_id: found.diff_id,
        media_type: compression.media_type().to_string(),
        size: blob.size,
    };
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let config = oci::rootfs_config(
        now,
        oci::host_architecture().into(),
        format!("casulo image import {shown}"),
    );
    store.write_image(&reference, config, &[layer])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::digest;
    use std::fs;
    use std::os::unix::fs::MetadataExt;
    use tar::EntryType;

    /// A small rootfs tar in the style of `tar -C rootfs -c .`.
    fn rootfs_tar_bytes() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |kind: EntryType, name: &str, link: Option<&str>, mode: u32, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(1_600_000_000);
            h.set_size(data.len() as u64);
            match link {
                Some(link) => b.append_link(&mut h, name, link).unwrap(),
                None => b.append_data(&mut h, name, data).unwrap(),
            }
        };
        add(EntryType::Directory, "./", None, 0o755, b"");
        add(EntryType::Directory, "./bin/", None, 0o755, b"");
        add(EntryType::Regular, "./bin/prog", None, 0o755, b"programa");
        add(EntryType::Symlink, "./bin/sh", Some("prog"), 0o777, b"");
        add(EntryType::Directory, "./etc/", None, 0o755, b"");
        add(
            EntryType::Regular,
            "./etc/ação.txt",
            None,
            0o600,
            "sim".as_bytes(),
        );
        add(
            EntryType::Link,
            "./bin/prog2",
            Some("./bin/prog"),
            0o755,
            b"",
        );
        b.into_inner().unwrap()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn image_import_plain_and_gzip() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join("root"));
        let tar = rootfs_tar_bytes();
        let plain = tmp.path().join("rootfs.tar");
        fs::write(&plain, &tar).unwrap();
        // A misleading name (no .gz): detection is by magic bytes.
        let gz_path = tmp.path().join("rootfs-gz.tar");
        fs::write(&gz_path, gzip(&tar)).unwrap();

        let a = rootfs_tar(&state, &plain, "meu-rootfs").unwrap();
        assert_eq!(a.reference, "meu-rootfs:latest");
        assert_eq!(a.layers[0].media_type, oci::MEDIA_TYPE_LAYER_TAR);
        assert_eq!(a.layers[0].digest, digest::sha256(&tar), "stored as is");
        assert_eq!(a.layers[0].diff_id, digest::sha256(&tar));
        assert_eq!(a.config.cmd, ["sh"]);
        assert_eq!(a.config.env, [oci::DEFAULT_PATH_ENV]);

        let b = rootfs_tar(&state, &gz_path, "meu-rootfs:gz").unwrap();
        assert_eq!(b.layers[0].media_type, oci::MEDIA_TYPE_LAYER_TAR_GZIP);
        assert_eq!(
            b.layers[0].digest,
            digest::sha256(&fs::read(&gz_path).unwrap())
        );
        assert_eq!(
            b.layers[0].diff_id, a.layers[0].diff_id,
            "same uncompressed tar"
        );

        let store = Store::open(&state).unwrap();
        let config: serde_json::Value =
            serde_json::from_slice(&store.read_blob(&b.id, None).unwrap()).unwrap();
        let made_by = config["history"][0]["created_by"].as_str().unwrap();
        assert_eq!(
            made_by,
            format!("casulo image import {}", gz_path.display())
        );

        // Both unpack to the same tree (same diff_id, same directory).
        let da = store.ensure_layer(&a.layers[0]).unwrap();
        let db = store.ensure_layer(&b.layers[0]).unwrap();
        assert_eq!(da.path, db.path);
        assert!(db.unpacked.is_none());
        assert_eq!(
            fs::read_to_string(da.path.join("etc/ação.txt")).unwrap(),
            "sim"
        );
        assert_eq!(
            fs::metadata(da.path.join("etc/ação.txt")).unwrap().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::read_link(da.path.join("bin/sh")).unwrap(),
            Path::new("prog")
        );
        assert_eq!(fs::metadata(da.path.join("bin/prog2")).unwrap().nlink(), 2);
        let names: Vec<_> = store
            .list()
            .unwrap()
            .into_iter()
            .map(|r| r.reference)
            .collect();
        assert_eq!(names, ["meu-rootfs:gz", "meu-rootfs:latest"]);
    }

    #[test]
    fn image_import_refuses_unsafe_and_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join("root"));
        // One good image first, to see the index is left alone.
        let good = tmp.path().join("good.tar");
        fs::write(&good, rootfs_tar_bytes()).unwrap();
        rootfs_tar(&state, &good, "bom").unwrap();
        let index_before = fs::read(state.images().join("index.json")).unwrap();
        let blobs = state.images().join("blobs/sha256");
        let blob_count = fs::read_dir(&blobs).unwrap().count();

        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        b.append_link(&mut h, "etc", "/etc").unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(4);
        b.append_data(&mut h, "etc/passwd", &b"pwn\n"[..]).unwrap();
        let evil = tmp.path().join("evil.tar.gz");
        fs::write(&evil, gzip(&b.into_inner().unwrap())).unwrap();

        let err = rootfs_tar(&state, &evil, "mau").unwrap_err();
        match &err {
            ImageError::UnsafeEntry { entry, .. } => assert_eq!(entry, "etc/passwd"),
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains("link simbólico"), "{err}");
        assert_eq!(
            fs::read(state.images().join("index.json")).unwrap(),
            index_before
        );
        assert_eq!(
            fs::read_dir(&blobs).unwrap().count(),
            blob_count,
            "no blob added"
        );
        let leftovers: Vec<_> = fs::read_dir(state.tmp())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n != "images.lock" && n != "images.writers.lock")
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn image_import_errors_name_the_problem() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join("root"));
        let xz = tmp.path().join("rootfs.tar.xz");
        fs::write(&xz, [0xfd, b'7', b'z', b'X', b'Z', 0, 0, 0]).unwrap();
        let err = rootfs_tar(&state, &xz, "x").unwrap_err().to_string();
        assert!(err.contains("xz -d"), "{err}");

        let empty = tmp.path().join("vazio.tar");
        fs::write(&empty, [0u8; 1024]).unwrap();
        let err = rootfs_tar(&state, &empty, "x").unwrap_err().to_string();
        assert!(err.contains("vazio"), "{err}");

        let junk = tmp.path().join("lixo.tar");
        fs::write(&junk, vec![b'a'; 2048]).unwrap();
        assert!(rootfs_tar(&state, &junk, "x").is_err());

        let err = rootfs_tar(&state, &empty, "Maiúsculo").unwrap_err();
        assert!(matches!(err, ImageError::BadReference { .. }), "{err}");

        let err = rootfs_tar(&state, &tmp.path().join("nao-existe.tar"), "x").unwrap_err();
        assert!(err.to_string().contains("nao-existe.tar"), "{err}");
        assert!(Store::open(&state).unwrap().list().unwrap().is_empty());
    }
}
