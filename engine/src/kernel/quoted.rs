//! How op texts quote a path or a string: `"…"`, with Rust's `{:?}`
//! escapes, the way strace shows an argument.
//!
//! Almost every path of a run is plain printable ASCII
//! (`/var/lib/casulo/containers/<64 hex>/merged/proc`): written as it is,
//! in one piece. `Debug` walks it char by char (escape check, printable
//! table), ~7 000 instructions for a path of a container — the biggest
//! share of the user-space CPU a `casulo run` spent on its trace's op texts
//! (callgrind, #19). Anything else (a quote, an apostrophe, a backslash, a
//! control char, non-ASCII, invalid UTF-8) goes through the value's own
//! `Debug`: the text is the same either way.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;

/// See the module docs; made by [`quoted`].
pub struct Quoted<'a, T: ?Sized>(&'a T);

/// `value` as `{:?}` would show it, faster when it is plain ASCII.
pub fn quoted<T: ?Sized + AsRef<OsStr> + fmt::Debug>(value: &T) -> Quoted<'_, T> {
    Quoted(value)
}

impl<T: ?Sized + AsRef<OsStr> + fmt::Debug> fmt::Display for Quoted<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0.as_ref().as_bytes();
        let plain = |b: &u8| matches!(b, b' '..=b'~') && !matches!(b, b'"' | b'\'' | b'\\');
        match std::str::from_utf8(bytes) {
            Ok(text) if bytes.iter().all(plain) => {
                f.write_str("\"")?;
                f.write_str(text)?;
                f.write_str("\"")
            }
            _ => fmt::Debug::fmt(self.0, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The same text as `{:?}`, for `str`, `Path` and `OsStr`, on the plain
    /// path and on every kind of character that needs escaping.
    #[test]
    fn quotes_exactly_as_debug_does() {
        let samples = [
            "/var/lib/casulo/containers/9c8ccb5d397cdbfdd80e90be/merged/proc",
            "",
            "lowerdir=/a:/b,upperdir=/c",
            "aspas \" no meio",
            "d'água",
            "barra \\ invertida",
            "nova\nlinha e\ttab",
            "ação",
            "\u{7f}del",
            "emoji 🦀",
        ];
        for s in samples {
            assert_eq!(quoted(s).to_string(), format!("{s:?}"), "{s}");
            let path = Path::new(s);
            assert_eq!(quoted(path).to_string(), format!("{path:?}"), "{s}");
        }
        let invalid = OsStr::from_bytes(b"/tmp/\xff\xfe");
        assert_eq!(quoted(invalid).to_string(), format!("{invalid:?}"));
    }
}
