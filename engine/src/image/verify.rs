//! Verifying a layer without unpacking it: what `image load` checks before
//! an image gets its tag, and what `image fsck` checks again.
//!
//! Before, `load` only hashed the blobs, and a layer that could never be
//! unpacked (`../` entries, a diff_id that is not the tar's, a truncated
//! entry) was tagged anyway; only `casulo run` found out. Docker and umoci
//! refuse such an image when it arrives, and so does casulo now: every
//! layer blob is *streamed* once through
//!
//! ```text
//! blob ─ sha256 + size ─ gunzip ─ limit ─ sha256 (diff_id) ─ tar entries
//!        (the digest)                     (the config's)     (the checker)
//! ```
//!
//! and every entry goes through the same [`EntryChecker`] and [`Budget`]
//! the extractor ([`super::extract`]) uses, its content read to the end
//! (a truncated entry is refused). Nothing is written: streaming costs one
//! read and one gunzip of each layer, where unpacking during `load` would
//! write every file of every layer even for an image that is never run
//! (and a layer with hard links to a lower layer can only be unpacked
//! above its lowers, which `run` does).
//!
//! What only unpacking can find (a hard link to a file a lower layer does
//! not have, a disk that fills up) is still found by `run`, which checks
//! everything again as it writes.

use std::io::{self, BufReader, Read};

use super::digest::HashReader;
use super::extract::Limits;
use super::layer::{Compression, Decoder, EntryChecker};
use super::{ImageError, Layer};

/// A reader that fails once more than `max` bytes went through it.
pub(crate) struct LimitReader<R> {
    pub inner: R,
    pub count: u64,
    pub max: u64,
}

impl<R> LimitReader<R> {
    pub fn new(inner: R, max: u64) -> Self {
        LimitReader {
            inner,
            count: 0,
            max,
        }
    }
}

/// Marks the error of [`LimitReader`] so it can be reported as a bomb.
#[derive(Debug)]
struct TooBig(u64);

impl std::fmt::Display for TooBig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "mais de {} bytes descompactados", self.0)
    }
}

impl std::error::Error for TooBig {}

impl<R: Read> Read for LimitReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.max {
            return Err(io::Error::other(TooBig(self.max)));
        }
        Ok(n)
    }
}

/// The limit, if `e` is [`LimitReader`]'s error.
pub(crate) fn too_big(e: &io::Error) -> Option<u64> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<TooBig>())
        .map(|t| t.0)
}

/// The error for a tar that cannot be read (or inflates past the limit).
pub(crate) fn bad_tar(label: &str, after: &str, e: io::Error) -> ImageError {
    match too_big(&e) {
        Some(max) => ImageError::BadLayer {
            layer: label.to_string(),
            what: format!(
                "o conteúdo descompactado passa de {max} bytes (limite do casulo; \
                 uma \"bomba de descompressão\"?) — recusada depois da entrada {after:?}"
            ),
            source: None,
        },
        None => ImageError::BadLayer {
            layer: label.to_string(),
            what: if after.is_empty() {
                "não parece um arquivo tar (nem tar.gz): inválido logo no início".to_string()
            } else {
                format!("o arquivo tar é inválido depois da entrada {after:?}")
            },
            source: Some(e),
        },
    }
}

/// What the entries of one layer may add up to ([`Limits`]).
///
/// The size an entry *declares* counts, before anything is written: for a
/// GNU sparse file that is its real, expanded size, holes included. The
/// holes never pass through the stream's [`LimitReader`] (the tar reader
/// makes their zeros itself), so without this a layer of a few hundred
/// bytes could declare terabytes.
#[derive(Debug)]
pub(crate) struct Budget {
    limits: Limits,
    entries: u64,
    declared: u64,
}

impl Budget {
    pub fn new(limits: Limits) -> Self {
        Budget {
            limits,
            entries: 0,
            declared: 0,
        }
    }

    /// Counts one entry whose header declares `size` bytes; `Err(why)` in
    /// pt-BR when the layer goes past a limit.
    pub fn admit(&mut self, size: u64) -> Result<(), String> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(format!(
                "o arquivo tem mais de {} entradas (limite do casulo)",
                self.limits.max_entries
            ));
        }
        let max = self.limits.max_bytes;
        if size > max {
            return Err(format!(
                "tamanho absurdo: o cabeçalho declara {size} bytes (limite {max})"
            ));
        }
        self.declared = self.declared.saturating_add(size);
        if self.declared > max {
            return Err(format!(
                "com esta entrada, os arquivos da camada somam {} bytes, mais que o limite \
                 de {max} bytes (o tamanho de um arquivo esparso conta inteiro, buracos \
                 incluídos: uma \"bomba\" de arquivos esparsos?)",
                self.declared
            ));
        }
        Ok(())
    }
}

/// What streaming a layer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `sha256:<hex>` and size of the blob's bytes (as stored).
    pub digest: String,
    pub size: u64,
    /// `sha256:<hex>` of the uncompressed tar.
    pub diff_id: String,
    pub entries: u64,
}

/// Streams a layer blob (its bytes as stored, compressed as `compression`)
/// through the checks of the module docs, writing nothing. `label` names
/// the layer in errors; `lower_links`: the layer sits above others, so a
/// hard link may name a file of a lower layer (see [`super::extract`]).
pub fn verify_stream<R: Read>(
    blob: R,
    compression: Compression,
    lower_links: bool,
    limits: Limits,
    label: &str,
) -> Result<Verified, ImageError> {
    let blob_reader = HashReader::new(BufReader::with_capacity(256 * 1024, blob));
    let limited = LimitReader::new(Decoder::new(blob_reader, compression), limits.max_bytes);
    // A plain tar is its own diff_id: hashed once, as the blob.
    let plain = compression == Compression::None;
    let mut archive = tar::Archive::new(HashReader::hashing_if(limited, !plain));
    let mut checker = if lower_links {
        EntryChecker::allowing_lower_links()
    } else {
        EntryChecker::new()
    };
    let mut budget = Budget::new(limits);
    let mut last = String::new();
    let mut entries = 0;
    for entry in archive.entries().map_err(|e| bad_tar(label, "", e))? {
        let mut entry = entry.map_err(|e| bad_tar(label, &last, e))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let refused = |why: String| ImageError::UnsafeEntry {
            layer: label.to_string(),
            entry: name.clone(),
            why,
        };
        if checker.check(&entry).map_err(refused)?.is_none() {
            continue;
        }
        budget.admit(entry.size()).map_err(refused)?;
        let declared = entry.size();
        let read = io::copy(&mut entry, &mut io::sink()).map_err(|e| bad_tar(label, &name, e))?;
        if read != declared {
            return Err(refused(format!(
                "conteúdo truncado: o cabeçalho declara {declared} bytes, o arquivo tem só {read}"
            )));
        }
        entries += 1;
        last = name;
    }
    // The digests cover the whole stream: read the padding after the
    // end-of-archive marker through both hashers too.
    let mut tar_reader = archive.into_inner();
    tar_reader.drain().map_err(|e| bad_tar(label, &last, e))?;
    let (diff_id, _, limited) = tar_reader.finish();
    let mut blob_reader = limited.inner.into_inner();
    blob_reader.drain().map_err(|e| bad_tar(label, &last, e))?;
    let (digest, size, _) = blob_reader.finish();
    let diff_id = if plain { digest.clone() } else { diff_id };
    Ok(Verified {
        digest,
        size,
        diff_id,
        entries,
    })
}

/// Whether what was streamed is the layer the image describes: blob digest
/// and size as its descriptor says, uncompressed sha256 as the config's
/// `diff_id`. The errors say what differs and do not call the store
/// corrupt: the *image* is wrong.
pub fn matches(found: &Verified, layer: &Layer) -> Result<(), ImageError> {
    matches_descriptor(&found.digest, found.size, layer)?;
    if found.diff_id != layer.diff_id {
        return Err(ImageError::BadLayer {
            layer: layer.digest.clone(),
            what: format!(
                "o tar descompactado tem sha256 {}, mas a config da imagem declara o diff_id {} \
                 (a config não descreve esta camada)",
                found.diff_id, layer.diff_id
            ),
            source: None,
        });
    }
    Ok(())
}

/// Whether a blob's sha256 and size are the ones its descriptor in the
/// manifest says (the diff_id is another matter: see [`matches`]).
pub fn matches_descriptor(digest: &str, size: u64, layer: &Layer) -> Result<(), ImageError> {
    if digest != layer.digest || size != layer.size {
        return Err(ImageError::BadLayer {
            layer: layer.digest.clone(),
            what: format!(
                "o blob tem {size} bytes e sha256 {digest}, mas o descritor do manifest diz {} \
                 bytes e {} (o arquivo não confere com o manifest)",
                layer.size, layer.digest
            ),
            source: None,
        });
    }
    Ok(())
}

/// [`verify_stream`] then [`matches`], for a layer whose media type is known.
pub fn verify_layer<R: Read>(
    blob: R,
    layer: &Layer,
    lower_links: bool,
    limits: Limits,
) -> Result<Verified, ImageError> {
    let compression = Compression::from_media_type(&layer.media_type)?;
    let found = verify_stream(blob, compression, lower_links, limits, &layer.digest)?;
    matches(&found, layer)?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{digest, oci};

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_path(name).unwrap();
            header.set_mode(0o644);
            header.set_size(data.len() as u64);
            header.set_cksum();
            b.append(&header, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn layer_of(tar: &[u8]) -> Layer {
        Layer {
            digest: digest::sha256(tar),
            diff_id: digest::sha256(tar),
            media_type: oci::MEDIA_TYPE_LAYER_TAR.into(),
            size: tar.len() as u64,
        }
    }

    #[test]
    fn image_verify_accepts_a_good_layer_and_names_what_is_wrong() {
        let tar = tar_of(&[("a", b"um"), ("b", b"dois")]);
        let layer = layer_of(&tar);
        let found = verify_layer(&tar[..], &layer, false, Limits::default()).unwrap();
        assert_eq!(
            (found.entries, found.diff_id.as_str()),
            (2, layer.diff_id.as_str())
        );

        // A diff_id that is not the tar's: the image is wrong, the store is not.
        let wrong = Layer {
            diff_id: digest::sha256(b"outra"),
            ..layer.clone()
        };
        let err = verify_layer(&tar[..], &wrong, false, Limits::default()).unwrap_err();
        assert!(matches!(err, ImageError::BadLayer { .. }), "{err}");
        assert!(err.to_string().contains("diff_id"), "{err}");
        assert!(!err.to_string().contains("corrompido"), "{err}");

        // A descriptor that lies about the size.
        let lying = Layer {
            size: layer.size + 1,
            ..layer.clone()
        };
        let err = verify_layer(&tar[..], &lying, false, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("não confere"), "{err}");

        // Truncated in the middle of the second entry's content.
        let cut = &tar[..512 + 512 + 512 + 2];
        let err = verify_stream(cut, Compression::None, false, Limits::default(), "l").unwrap_err();
        assert!(
            matches!(&err, ImageError::UnsafeEntry { entry, why, .. }
                if entry == "b" && why.contains("truncado")),
            "{err}"
        );
    }

    #[test]
    fn image_verify_lower_links_only_above_other_layers() {
        let mut b = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Link);
        header.set_path("copia").unwrap();
        header.set_link_name("bin/sh").unwrap();
        header.set_size(0);
        header.set_cksum();
        b.append(&header, &b""[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let layer = layer_of(&tar);
        // The bottom layer has nothing below: a link to nowhere.
        let err = verify_layer(&tar[..], &layer, false, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("não aparece antes"), "{err}");
        // Above other layers its target may be in one of them (run checks).
        verify_layer(&tar[..], &layer, true, Limits::default()).unwrap();
    }
}
