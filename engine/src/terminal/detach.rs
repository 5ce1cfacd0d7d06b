//! The detach keys of `casulo attach`: a sequence that, typed, leaves the
//! container running and gives the user their terminal back — docker's
//! Ctrl-P Ctrl-Q by default, any other with `--detach-keys` in docker's
//! format (`ctrl-x,y`: keys separated by commas, each `ctrl-` and a letter
//! or one of `@ [ \ ] ^ _`, or a single character).
//!
//! In raw mode a Ctrl-P is just the byte 0x10: the attach watches the keys
//! on their way to the container. A key that starts the sequence is held
//! back until the next one says whether the sequence goes on; if it does
//! not, the held keys go to the container as they were typed.

/// The sequence, as the bytes the terminal sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachKeys {
    keys: Vec<u8>,
    /// How many of `keys` were typed in a row so far (held back).
    matched: usize,
}

/// docker's default: Ctrl-P Ctrl-Q.
pub const DEFAULT: &str = "ctrl-p,ctrl-q";

impl Default for DetachKeys {
    fn default() -> Self {
        DetachKeys::parse(DEFAULT).expect("the default parses")
    }
}

impl DetachKeys {
    /// docker's format; the error says which key is wrong (pt-BR).
    pub fn parse(text: &str) -> Result<DetachKeys, String> {
        let mut keys = Vec::new();
        for key in text.split(',') {
            let key = key.trim();
            let byte = match key.strip_prefix("ctrl-") {
                Some(rest) if rest.len() == 1 => {
                    let c = rest.as_bytes()[0].to_ascii_uppercase();
                    match c {
                        b'@'..=b'_' => c - b'@',
                        _ => return Err(bad(key)),
                    }
                }
                Some(_) => return Err(bad(key)),
                None if key.len() == 1 && key.is_ascii() => key.as_bytes()[0],
                None => return Err(bad(key)),
            };
            keys.push(byte);
        }
        Ok(DetachKeys { keys, matched: 0 })
    }

    /// Takes the keys just typed: returns those to send on to the
    /// container, and whether the sequence is complete (then the rest
    /// after it is dropped: the user is leaving).
    pub fn feed(&mut self, typed: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(typed.len());
        for &byte in typed {
            if byte == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return (out, true);
                }
                continue;
            }
            // Not the sequence after all: what was held goes, as typed.
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if byte == self.keys[0] {
                self.matched = 1;
                if self.keys.len() == 1 {
                    self.matched = 0;
                    return (out, true);
                }
            } else {
                out.push(byte);
            }
        }
        (out, false)
    }

    /// As the user types them: `Ctrl-P Ctrl-Q`.
    pub fn describe(&self) -> String {
        self.keys
            .iter()
            .map(|&b| match b {
                0..=0x1f => format!("Ctrl-{}", (b + b'@') as char),
                _ => (b as char).to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn bad(key: &str) -> String {
    format!(
        "tecla de saída inválida: {key:?} (use o formato do docker: teclas separadas por \
         vírgula, cada uma ctrl-LETRA, ctrl-@, ctrl-[, ctrl-\\, ctrl-], ctrl-^, ctrl-_ ou \
         um caractere só, como ctrl-p,ctrl-q ou ctrl-x,y)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_s_format_parses_into_the_bytes_a_terminal_sends() {
        let keys = DetachKeys::default();
        assert_eq!(keys.keys, [0x10, 0x11]);
        assert_eq!(keys.describe(), "Ctrl-P Ctrl-Q");
        let custom = DetachKeys::parse("ctrl-x,y").unwrap();
        assert_eq!(custom.keys, [0x18, b'y']);
        assert_eq!(custom.describe(), "Ctrl-X y");
        assert_eq!(DetachKeys::parse("ctrl-@").unwrap().keys, [0]);
        for wrong in ["", "ctrl-", "ctrl-1", "ctrl-pq", "xy", "ctrl-p,,ctrl-q"] {
            let err = DetachKeys::parse(wrong).unwrap_err();
            assert!(err.contains("tecla de saída inválida"), "{wrong}: {err}");
        }
    }

    #[test]
    fn the_sequence_detaches_and_anything_else_goes_through_as_typed() {
        let mut keys = DetachKeys::default();
        assert_eq!(keys.feed(b"ls\r"), (b"ls\r".to_vec(), false));
        // Ctrl-P alone is held back…
        assert_eq!(keys.feed(b"\x10"), (vec![], false));
        // …and sent when the next key is not Ctrl-Q (bash's "previous line").
        assert_eq!(keys.feed(b"a"), (b"\x10a".to_vec(), false));
        assert_eq!(keys.feed(b"\x10\x10"), (b"\x10".to_vec(), false));
        assert_eq!(keys.feed(b"\x11after"), (vec![], true));
        // In one read, after other keys.
        assert_eq!(keys.feed(b"echo\x10\x11"), (b"echo".to_vec(), true));
        let mut one = DetachKeys::parse("ctrl-x").unwrap();
        assert_eq!(one.feed(b"ab\x18c"), (b"ab".to_vec(), true));
    }
}
