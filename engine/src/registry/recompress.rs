//! `casulo push --compression-format zstd|gzip`: the layers compressed
//! again for the trip, as podman's `--compression-format`. The image in
//! the store stays as it is; what travels is a new manifest (OCI: docker's
//! schema 2 has no zstd type) whose layers point at the recompressed blobs,
//! written to a temp dir of the state dir and gone after the push. The
//! config, and so every `diff_id` and the image id, do not change: the same
//! content, other bytes on the wire, another manifest digest.
//!
//! zstd is written by `ruzstd` (its fastest level, about zstd's level 1,
//! with the frame's checksum); gzip by `flate2`. `ruzstd`'s encoder unwraps
//! its reads and writes, so both go through [`Caught`], which keeps the
//! first error and ends the stream: the error is then reported, never a
//! panic.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use super::RegistryError;
use crate::image::digest::HashWriter;
use crate::image::layer::{Compression, Decoder};
use crate::image::oci::{self, Descriptor, Manifest};
use crate::image::{ImageError, Store};

/// The manifest to send and where each new blob waits.
pub struct Recompressed {
    pub manifest_bytes: Vec<u8>,
    pub media_type: String,
    pub manifest: Manifest,
    /// `(digest, file)` of each layer written anew.
    pub blobs: Vec<(String, PathBuf)>,
    /// Removed (with the blobs) when dropped.
    _dir: Scratch,
}

/// A dir of the state's `tmp/`, removed with what it holds when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Recompressed {
    /// The file of a recompressed blob, if `digest` is one.
    pub fn blob(&self, digest: &str) -> Option<&PathBuf> {
        self.blobs.iter().find(|(d, _)| d == digest).map(|(_, p)| p)
    }
}

/// The names `--compression-format` takes.
pub fn parse(name: &str) -> Result<Compression, String> {
    match name {
        "zstd" => Ok(Compression::Zstd),
        "gzip" => Ok(Compression::Gzip),
        _ => Err("o casulo comprime camadas com zstd ou gzip".to_string()),
    }
}

/// `manifest`'s layers compressed with `to` (those already so are kept);
/// `tmp` holds the new blobs. `progress(index, total)` before each layer.
pub fn recompress(
    store: &Store,
    manifest: &Manifest,
    to: Compression,
    tmp: &std::path::Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Recompressed, RegistryError> {
    // `<prefix>-<pid>-<n>`: `casulo gc` sweeps it if this casulo dies.
    let path = tmp.join(format!(
        "recomprimir-{}-{}",
        std::process::id(),
        &crate::state::new_id()[..12]
    ));
    crate::state::create_private_dir_all(&path).map_err(|e| ImageError::io(&path, e))?;
    let dir = Scratch(path);
    let mut out = manifest.clone();
    let mut blobs = Vec::new();
    let total = manifest.layers.len();
    for (i, layer) in out.layers.iter_mut().enumerate() {
        let from = Compression::from_media_type(&layer.media_type)?;
        if from == to {
            // Same bytes; only docker's name for gzip becomes OCI's.
            layer.media_type = to.media_type().to_string();
            continue;
        }
        progress(i, total);
        let path = dir.0.join(format!("camada-{i}"));
        let (digest, size) = compress_blob(store, layer, from, to, &path)?;
        *layer = Descriptor {
            media_type: to.media_type().to_string(),
            digest: digest.clone(),
            size,
            ..layer.clone()
        };
        blobs.push((digest, path));
    }
    // Docker's schema 2 names no zstd layer: the manifest becomes OCI's,
    // with the same config bytes under OCI's config type.
    out.media_type = Some(oci::MEDIA_TYPE_MANIFEST.to_string());
    out.config.media_type = oci::MEDIA_TYPE_CONFIG.to_string();
    let manifest_bytes = serde_json::to_vec(&out)
        .map_err(|e| RegistryError::Other(format!("manifest recomprimido: {e}")))?;
    Ok(Recompressed {
        manifest_bytes,
        media_type: oci::MEDIA_TYPE_MANIFEST.to_string(),
        manifest: out,
        blobs,
        _dir: dir,
    })
}

/// Writes `layer`'s content, compressed with `to`, to `path`; its digest
/// and size.
fn compress_blob(
    store: &Store,
    layer: &Descriptor,
    from: Compression,
    to: Compression,
    path: &std::path::Path,
) -> Result<(String, u64), RegistryError> {
    let source = store.blob_path(&layer.digest)?;
    let file = File::open(&source).map_err(|e| ImageError::io(&source, e))?;
    let reading = Decoder::new(BufReader::with_capacity(256 * 1024, file), from);
    let target = File::create(path).map_err(|e| ImageError::io(path, e))?;
    let writing = HashWriter::new(BufWriter::with_capacity(256 * 1024, target));
    let mut reader = Caught::new(reading);
    let mut writer = Caught::new(writing);
    match to {
        Compression::Zstd => ruzstd::encoding::compress(
            &mut reader,
            &mut writer,
            ruzstd::encoding::CompressionLevel::Fastest,
        ),
        Compression::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(&mut writer, flate2::Compression::fast());
            let copied = io::copy(&mut reader, &mut gz).and_then(|_| gz.finish().map(drop));
            if let Err(e) = copied {
                writer.error.get_or_insert(e);
            }
        }
        Compression::None => {
            let _ = io::copy(&mut reader, &mut writer);
        }
    }
    if let Some(e) = reader.error {
        return Err(RegistryError::Other(format!(
            "não consegui ler a camada {} para recomprimir: {e}",
            layer.digest
        )));
    }
    if let Some(e) = writer.error {
        return Err(ImageError::io(path, e).into());
    }
    let (digest, size, buffered) = writer.inner.finish();
    buffered
        .into_inner()
        .map_err(|e| ImageError::io(path, e.into_error()))?;
    Ok((digest, size))
}

/// Keeps the first error of a reader or writer and from then on acts as
/// its end (reads give 0, writes swallow the bytes): for an encoder that
/// would panic on an error (`ruzstd`).
struct Caught<T> {
    inner: T,
    error: Option<io::Error>,
}

impl<T> Caught<T> {
    fn new(inner: T) -> Self {
        Caught { inner, error: None }
    }
}

impl<R: Read> Read for Caught<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.error.is_some() {
            return Ok(0);
        }
        loop {
            match self.inner.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    return Ok(0);
                }
            }
        }
    }
}

impl<W: Write> Write for Caught<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.error.is_none() {
            if let Err(e) = self.inner.write_all(buf) {
                self.error = Some(e);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.error.is_none() {
            if let Err(e) = self.inner.flush() {
                self.error = Some(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recompress_names_its_formats_and_catches_errors() {
        assert_eq!(parse("zstd"), Ok(Compression::Zstd));
        assert!(parse("xz").unwrap_err().contains("zstd ou gzip"));
        // A reader that fails: the error is kept, the stream ends.
        struct Fails;
        impl Read for Fails {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disco"))
            }
        }
        let mut r = Caught::new(Fails);
        let mut out = Vec::new();
        ruzstd::encoding::compress(
            &mut r,
            &mut out,
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert_eq!(r.error.unwrap().to_string(), "disco");
    }
}
