//! A layer's blob read and hashed by a thread of its own, its bytes handed
//! on in chunks: while the caller decompresses and writes files, the disk
//! read and the blob's sha256 go on beside it, on the other core. (Before,
//! one thread read, hashed, decompressed, hashed again and wrote; `tar -x`
//! then `sha256sum` is what it is measured against.)

use std::fs::File;
use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use super::digest::ALGORITHM;

const CHUNK: usize = 256 * 1024;
/// Chunks read ahead at most (2 MiB): the reader stays close behind.
const AHEAD: usize = 8;

pub struct HashingReadAhead {
    /// `None` once finished (or dropped): the thread's sends then fail
    /// and it ends.
    chunks: Option<Receiver<io::Result<Vec<u8>>>>,
    current: Vec<u8>,
    at: usize,
    thread: Option<JoinHandle<(String, u64)>>,
}

impl HashingReadAhead {
    pub fn new(mut file: File) -> io::Result<HashingReadAhead> {
        let (tx, rx) = sync_channel(AHEAD);
        let thread = std::thread::Builder::new()
            .name("casulo-leitura".into())
            .spawn(move || {
                let mut hasher = Sha256::new();
                let mut size = 0u64;
                loop {
                    let mut chunk = vec![0u8; CHUNK];
                    let n = match read_full(&mut file, &mut chunk) {
                        Ok(n) => n,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            break;
                        }
                    };
                    if n == 0 {
                        break;
                    }
                    chunk.truncate(n);
                    hasher.update(&chunk);
                    size += n as u64;
                    if tx.send(Ok(chunk)).is_err() {
                        break;
                    }
                }
                let digest = format!("{ALGORITHM}:{}", hex::encode(hasher.finalize()));
                (digest, size)
            })?;
        Ok(HashingReadAhead {
            chunks: Some(rx),
            current: Vec::new(),
            at: 0,
            thread: Some(thread),
        })
    }

    /// Reads whatever is left (so the digest covers the whole file).
    pub fn drain(&mut self) -> io::Result<u64> {
        io::copy(self, &mut io::sink())
    }

    /// `sha256:<hex>` of the whole file and its size (call after [`drain`](Self::drain)).
    pub fn finish(mut self) -> (String, u64) {
        self.chunks = None;
        self.thread
            .take()
            .expect("finished once")
            .join()
            .expect("the reading thread does not panic")
    }
}

impl Read for HashingReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.current.len() {
            let Some(chunks) = &self.chunks else {
                return Ok(0);
            };
            match chunks.recv() {
                Ok(chunk) => {
                    self.current = chunk?;
                    self.at = 0;
                }
                // The thread is done: the end of the file.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for HashingReadAhead {
    fn drop(&mut self) {
        // Not read to the end (an error): the thread's next send fails.
        self.chunks = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Fills `buf` unless the file ends first; the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn read_ahead_gives_every_byte_and_the_files_digest() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..(3 * CHUNK + 17) as u32)
            .map(|i| (i % 253) as u8)
            .collect();
        f.write_all(&data).unwrap();
        use std::io::Seek;
        f.rewind().unwrap();
        let mut r = HashingReadAhead::new(f).unwrap();
        let mut head = vec![0u8; 1000];
        r.read_exact(&mut head).unwrap();
        assert_eq!(head, data[..1000]);
        assert_eq!(r.drain().unwrap(), (data.len() - 1000) as u64);
        let (digest, size) = r.finish();
        assert_eq!(size, data.len() as u64);
        assert_eq!(
            digest,
            format!("sha256:{}", hex::encode(Sha256::digest(&data)))
        );
        // Dropped half-read: the thread ends, nothing hangs.
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&vec![7u8; 20 * CHUNK]).unwrap();
        f.rewind().unwrap();
        let mut r = HashingReadAhead::new(f).unwrap();
        r.read_exact(&mut [0u8; 10]).unwrap();
        drop(r);
    }
}
