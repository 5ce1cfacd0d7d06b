//! Rewrites the header checksums of a mutated tar.
//!
//! The tar reader refuses a header whose checksum is wrong, so almost every
//! random mutation of a header dies there and the extractor behind it is
//! never reached. The `camada` fuzzer's custom mutator calls [`fix`] on most
//! mutated inputs (not all: broken checksums must stay covered too).

/// Walks the 512-byte headers of `tar` (following each entry's size) and
/// sets each header's checksum to the right value.
pub fn fix(tar: &mut [u8]) {
    let mut off = 0usize;
    while off + 512 <= tar.len() {
        let header = &mut tar[off..off + 512];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let sum: u32 = header
            .iter()
            .enumerate()
            .map(|(i, &b)| if (148..156).contains(&i) { b' ' } else { b } as u32)
            .sum();
        let text = format!("{sum:06o}\0 ");
        header[148..156].copy_from_slice(&text.as_bytes()[..8]);
        let size = size_of(&header[124..136]);
        let blocks = size.div_ceil(512);
        match blocks
            .checked_mul(512)
            .and_then(|b| b.checked_add(512))
            .and_then(|b| usize::try_from(b).ok())
            .and_then(|b| off.checked_add(b))
        {
            Some(next) => off = next,
            None => break,
        }
    }
}

/// The size field: octal text, or base-256 when the high bit is set.
fn size_of(field: &[u8]) -> u64 {
    if field[0] & 0x80 != 0 {
        return field[1..]
            .iter()
            .fold(0u64, |n, &b| n.saturating_mul(256).saturating_add(b as u64));
    }
    field
        .iter()
        .skip_while(|&&b| b == b' ')
        .take_while(|&&b| (b'0'..=b'7').contains(&b))
        .fold(0u64, |n, &b| {
            n.saturating_mul(8).saturating_add((b - b'0') as u64)
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_broken_checksum_is_fixed() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "a.txt", &b"abc"[..]).unwrap();
        let mut tar = b.into_inner().unwrap();
        tar[0] = b'b'; // the name: the checksum is now wrong
        let read = |t: &[u8]| {
            let mut a = tar::Archive::new(t);
            let r: Result<Vec<_>, _> = a
                .entries()
                .unwrap()
                .map(|e| e.map(|e| e.path().unwrap().into_owned()))
                .collect();
            r
        };
        assert!(read(&tar).is_err());
        super::fix(&mut tar);
        assert_eq!(read(&tar).unwrap(), vec![std::path::PathBuf::from("b.txt")]);
    }
}
