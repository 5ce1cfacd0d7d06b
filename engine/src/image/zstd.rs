//! zstd-compressed layers (`application/vnd.oci.image.layer.v1.tar+zstd`),
//! read frame after frame. A zstd stream may hold several frames (`zstd
//! -T`, or two `.zst` files joined) and skippable frames (metadata some
//! tools add, such as a seekable index): all frames are one tar, as gzip's
//! members are (`MultiGzDecoder`). The decoder is `ruzstd`, pure Rust, so
//! the static build needs no C library.

use std::io::{self, BufRead, BufReader, Read};

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

/// The start of every zstd frame (RFC 8878, little-endian `0xFD2FB528`).
pub const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Reads a zstd stream of one or more frames as the bytes they hold.
pub struct ZstdDecoder<R: Read> {
    source: BufReader<R>,
    frame: FrameDecoder,
    /// A frame's header was read and its blocks are not all out yet.
    open: bool,
}

impl<R: Read> ZstdDecoder<R> {
    pub fn new(inner: R) -> Self {
        ZstdDecoder {
            source: BufReader::with_capacity(128 * 1024, inner),
            frame: FrameDecoder::new(),
            open: false,
        }
    }

    /// The compressed reader (what it read ahead is consumed from it).
    pub fn into_inner(self) -> R {
        self.source.into_inner()
    }

    /// Starts the next frame; false at the end of the stream.
    fn next_frame(&mut self) -> io::Result<bool> {
        loop {
            if self.source.fill_buf()?.is_empty() {
                return Ok(false);
            }
            match self.frame.reset(&mut self.source) {
                Ok(()) => return Ok(true),
                // Its header was read: the bytes it says it has are skipped.
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped =
                        io::copy(&mut (&mut self.source).take(length.into()), &mut io::sink())?;
                    if skipped != u64::from(length) {
                        return Err(truncated());
                    }
                }
                Err(e) => return Err(invalid(e)),
            }
        }
    }
}

impl<R: Read> Read for ZstdDecoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.open {
                if !self.next_frame()? {
                    return Ok(0);
                }
                self.open = true;
            }
            // Blocks are decoded until `buf` can be filled or the frame ends
            // (a first block may only fill the decoder's window).
            while self.frame.can_collect() < buf.len() && !self.frame.is_finished() {
                let wanted = buf.len() - self.frame.can_collect();
                self.frame
                    .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBytes(wanted))
                    .map_err(invalid)?;
            }
            let n = self.frame.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if self.frame.is_finished() {
                // This frame is done: the next one (if any) goes on.
                self.open = false;
            }
        }
    }
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("zstd inválido: {e}"))
}

fn truncated() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "o fluxo zstd acaba no meio de um quadro",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruzstd::encoding::{compress_to_vec, CompressionLevel};

    fn unzstd(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        ZstdDecoder::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn zstd_frames_joined_and_skippable_frames_read_as_one_stream() {
        let a: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let b = b"segundo quadro".to_vec();
        let mut joined = compress_to_vec(&a[..], CompressionLevel::Fastest);
        assert_eq!(joined[..4], MAGIC);
        // A skippable frame (magic 0x184D2A50..5F, length, payload) between.
        joined.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
        joined.extend(compress_to_vec(&b[..], CompressionLevel::Fastest));
        let mut expected = a.clone();
        expected.extend(&b);
        assert_eq!(unzstd(&joined).unwrap(), expected);
        assert!(unzstd(&[]).unwrap().is_empty());
    }

    #[test]
    fn zstd_cut_or_garbled_is_an_error() {
        let a: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 13) as u8).collect();
        let z = compress_to_vec(&a[..], CompressionLevel::Fastest);
        assert!(unzstd(&z[..z.len() / 2]).is_err());
        let mut bad = z.clone();
        bad[0] ^= 0xff;
        let err = unzstd(&bad).unwrap_err().to_string();
        assert!(err.contains("zstd inválido"), "{err}");
    }
}
