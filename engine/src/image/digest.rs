//! Content addressing: `sha256:<hex>` digests, computed while bytes stream by.
//!
//! Everything in the store is named by the sha256 of its bytes, so a blob can
//! be checked at any time: hash it again and compare with its name.

use std::io::{self, Read, Write};

use sha2::{Digest as _, Sha256};

use super::ImageError;

/// The only algorithm casulo writes (and the one every registry uses).
pub const ALGORITHM: &str = "sha256";

/// `sha256:<hex>` of a byte slice.
pub fn sha256(bytes: &[u8]) -> String {
    format!("{ALGORITHM}:{}", hex::encode(Sha256::digest(bytes)))
}

/// The hex part of a `sha256:<64 lowercase hex>` digest, validated.
///
/// Validation matters: the hex becomes a file name (`blobs/sha256/<hex>`,
/// `layers/<hex>`), so a manifest with a digest like `sha256:../../x` must
/// never reach the filesystem.
pub fn hex_of(digest: &str) -> Result<&str, ImageError> {
    let bad = |why: &str| ImageError::Corrupt(format!("digest inválido {digest:?}: {why}"));
    let Some(hex) = digest.strip_prefix("sha256:") else {
        return Err(bad(
            "casulo só entende digests sha256 (\"sha256:<64 hex>\")",
        ));
    };
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(bad(
            "esperava 64 dígitos hexadecimais minúsculos depois de \"sha256:\"",
        ));
    }
    Ok(hex)
}

/// The short id docker shows (one rule for the engine, CLI and visualizer).
pub use casulo_trace::text::short_id;

/// A reader that hashes (and counts) every byte read through it.
pub struct HashReader<R> {
    inner: R,
    /// `None`: only counting (the bytes are hashed elsewhere already).
    hasher: Option<Sha256>,
    count: u64,
}

impl<R: Read> HashReader<R> {
    pub fn new(inner: R) -> Self {
        HashReader {
            inner,
            hasher: Some(Sha256::new()),
            count: 0,
        }
    }

    /// Hashes only if `hash`: a plain tar's diff_id is its blob's digest,
    /// so the same bytes are not hashed twice ([`HashReader::finish`]
    /// then gives no digest).
    pub fn hashing_if(inner: R, hash: bool) -> Self {
        HashReader {
            inner,
            hasher: hash.then(Sha256::new),
            count: 0,
        }
    }

    /// Reads whatever is left (so the digest covers the whole stream).
    pub fn drain(&mut self) -> io::Result<u64> {
        io::copy(self, &mut io::sink())
    }

    /// Bytes read so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// `sha256:<hex>` of the bytes read so far (empty if it only
    /// counted), their count, and the inner reader.
    pub fn finish(self) -> (String, u64, R) {
        let digest = self
            .hasher
            .map(|h| format!("{ALGORITHM}:{}", hex::encode(h.finalize())))
            .unwrap_or_default();
        (digest, self.count, self.inner)
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

/// A writer that hashes (and counts) every byte written through it.
pub struct HashWriter<W> {
    inner: W,
    /// `None`: only counting (the bytes are hashed elsewhere already).
    hasher: Option<Sha256>,
    count: u64,
}

impl<W: Write> HashWriter<W> {
    pub fn new(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: Some(Sha256::new()),
            count: 0,
        }
    }

    /// A writer that counts but does not hash: for bytes whose sha256 the
    /// reader they come from computes (a pull's verified stream).
    pub fn counting(inner: W) -> Self {
        HashWriter {
            inner,
            hasher: None,
            count: 0,
        }
    }

    /// `sha256:<hex>` of the bytes written (empty when only counting),
    /// their count, and the inner writer.
    pub fn finish(self) -> (String, u64, W) {
        let digest = self
            .hasher
            .map(|h| format!("{ALGORITHM}:{}", hex::encode(h.finalize())))
            .unwrap_or_default();
        (digest, self.count, self.inner)
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that copies every byte read into a writer (like `tee`).
pub struct TeeReader<R, W> {
    inner: R,
    copy: W,
}

impl<R: Read, W: Write> TeeReader<R, W> {
    pub fn new(inner: R, copy: W) -> Self {
        TeeReader { inner, copy }
    }

    /// Reads whatever is left, copying it too.
    pub fn drain(&mut self) -> io::Result<u64> {
        io::copy(self, &mut io::sink())
    }

    pub fn into_parts(self) -> (R, W) {
        (self.inner, self.copy)
    }
}

impl<R: Read, W: Write> Read for TeeReader<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_digest_of_empty_and_validation() {
        let empty = sha256(b"");
        assert_eq!(
            empty,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(hex_of(&empty).unwrap().len(), 64);
        assert_eq!(short_id(&empty), "e3b0c44298fc");
        assert!(hex_of("sha256:../../etc/passwd").is_err());
        assert!(hex_of("md5:abcd").is_err());
        assert!(hex_of(&empty.to_uppercase()).is_err());

        let mut r = HashReader::new(&b"abc"[..]);
        r.drain().unwrap();
        let (d, n, _) = r.finish();
        assert_eq!((d, n), (sha256(b"abc"), 3));
    }
}
