//! A container's output as docker's API sends it (`logs`, `attach`).
//!
//! Without a tty, stdout and stderr travel on one connection in frames:
//! an 8-byte header — the stream (1 stdout, 2 stderr), three zero bytes,
//! the payload's length as a big-endian u32 — then the payload. The docker
//! CLI splits them back (its `stdcopy`). With a tty there is one stream,
//! and its bytes go as they are.

use hyper::body::Bytes;

use crate::container::logs::Entry;

/// One frame of the multiplexed stream.
pub fn frame(stream: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Log entries as the client reads them: framed (no tty) or raw, each line
/// after its time with `timestamps` (docker's `RFC3339Nano` and a space).
pub fn entries(entries: &[Entry], tty: bool, timestamps: bool) -> Bytes {
    let mut out = Vec::new();
    for e in entries {
        let text = if timestamps {
            format!("{} {}", e.time, e.log)
        } else {
            e.log.clone()
        };
        if tty {
            out.extend_from_slice(text.as_bytes());
        } else {
            out.extend(frame(if e.is_stderr() { 2 } else { 1 }, text.as_bytes()));
        }
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_frames_say_stream_and_length() {
        assert_eq!(frame(1, b"ola\n"), b"\x01\0\0\0\0\0\0\x04ola\n");
        let e = |log: &str, stream: &str| Entry {
            log: log.into(),
            stream: stream.into(),
            time: "2026-12-02T18:00:00.000000001Z".into(),
        };
        let both = entries(&[e("a\n", "stdout"), e("b\n", "stderr")], false, false);
        assert_eq!(&both[..], b"\x01\0\0\0\0\0\0\x02a\n\x02\0\0\0\0\0\0\x02b\n");
        let raw = entries(&[e("a\n", "stdout")], true, true);
        assert_eq!(&raw[..], b"2026-12-02T18:00:00.000000001Z a\n");
    }
}
