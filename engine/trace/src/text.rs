//! Numbers, sizes, ids and paths the way a Brazilian student reads them,
//! in one place for the narration, the CLI and the visualizer: a size is
//! written the same in `casulo image ls`, in a memory-limit message and in
//! the cgroups panel.

/// `512 bytes`, `64 MiB`, `2,1 MiB` (binary units, as `--memory 64m`
/// means; a decimal comma, and no `,0` when the size is whole).
pub fn bytes(b: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if b < 1024 {
        return format!("{b} bytes");
    }
    let mut unit = 0;
    let mut size: u64 = 1024;
    while b / size >= 1024 && unit < UNITS.len() - 1 {
        size *= 1024;
        unit += 1;
    }
    if b.is_multiple_of(size) {
        return format!("{} {}", b / size, UNITS[unit]);
    }
    // Tenths of the unit, rounded as `{:.1}` rounds b / size (exact: size
    // is a power of two), ties to even; in integers, so the visualizer's
    // wasm carries no float printing.
    let wide = u128::from(b) * 10;
    let (mut tenths, rest) = (wide / u128::from(size), wide % u128::from(size));
    if rest * 2 > u128::from(size) || (rest * 2 == u128::from(size) && tenths % 2 == 1) {
        tenths += 1;
    }
    // 1023,96 KiB rounds to "1024,0": say it in the next unit.
    if tenths == 10240 && unit < UNITS.len() - 1 {
        return format!("1,0 {}", UNITS[unit + 1]);
    }
    format!("{},{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

/// Thousands grouped the Brazilian way: `1.234.567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .map(|c| std::str::from_utf8(c).expect("ASCII digits"))
        .collect();
    groups.reverse();
    groups.join(".")
}

/// The first 12 hex digits of a digest, without its algorithm: the short
/// id docker shows (`sha256:c6e71bf1ce75…` → `c6e71bf1ce75`).
pub fn short_id(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, hex)| hex);
    hex.get(..12).unwrap_or(hex)
}

/// A digest cut to 12 hex digits, its algorithm kept: `sha256:3f5a1b2c4d5e`
/// (where the algorithm is part of the lesson, as in the narration).
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algo, hex)) => format!("{algo}:{}", short_hex(hex)),
        None => short_hex(digest),
    }
}

/// A long hex id (more than 24 digits) cut to 12, like docker; anything
/// else as it is.
pub fn short_hex(s: &str) -> String {
    if s.len() > 24 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        s[..12].to_string()
    } else {
        s.to_string()
    }
}

/// A path in a sentence: whole when short (≤ 40 characters), else its
/// last components up to 24 characters, long hex ids cut to 12:
/// `…/merged/proc`.
pub fn short_path(path: &str) -> String {
    const MAX: usize = 40;
    const KEEP: usize = 24;
    if path.chars().count() <= MAX {
        return path.to_string();
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mut kept: Vec<String> = Vec::new();
    let mut len = 0;
    for part in parts.iter().rev() {
        let part = short_hex(part);
        if !kept.is_empty() && (kept.len() == 2 || len + part.chars().count() + 1 > KEEP) {
            break;
        }
        len += part.chars().count() + 1;
        kept.push(part);
    }
    kept.reverse();
    format!("…/{}", kept.join("/"))
}

/// A path in a box of fixed width (the visualizer's diagrams): always
/// its last three components, ids over 20 characters cut to 12 and
/// marked: `…/containers/42f3f862ee10…/merged`. (The controller of a
/// cgroup path stays in sight: `…/memory/casulo/42f3f862ee10…`.)
pub fn path_tail(p: &str) -> String {
    let parts: Vec<String> = p
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.len() > 20 && s.is_char_boundary(12) {
                format!("{}…", &s[..12])
            } else {
                s.to_string()
            }
        })
        .collect();
    if parts.len() <= 3 {
        return format!("/{}", parts.join("/"));
    }
    format!("…/{}", parts[parts.len() - 3..].join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_binary_with_a_decimal_comma() {
        assert_eq!(bytes(0), "0 bytes");
        // The tenths in integers write what `{:.1}` of the f64 wrote.
        let by_float = |b: u64| {
            let mut size: u64 = 1024;
            let mut unit = 0;
            while b / size >= 1024 && unit < 3 {
                size *= 1024;
                unit += 1;
            }
            let units = ["KiB", "MiB", "GiB", "TiB"];
            let v = b as f64 / size as f64;
            if format!("{v:.1}") == "1024.0" && unit < 3 {
                return format!("1,0 {}", units[unit + 1]);
            }
            format!("{v:.1} {}", units[unit]).replace('.', ",")
        };
        let mut b: u64 = 1024;
        while b < 1 << 52 {
            for n in [
                b + 1,
                b + b / 20,
                b + b / 19,
                b * 3 / 2 + 7,
                b * 1023 / 1024 + 3,
            ] {
                if !n.is_multiple_of(1024) {
                    assert_eq!(bytes(n), by_float(n), "{n}");
                }
            }
            b = b * 5 / 4 + 1;
        }
        // A tie: 2,25 KiB is written 2,2 (to even), as {:.1} did.
        assert_eq!(bytes(2304), "2,2 KiB");
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(2560), "2,5 KiB");
        assert_eq!(bytes(35_000), "34,2 KiB");
        assert_eq!(bytes(1_982_491), "1,9 MiB");
        assert_eq!(bytes(64 << 20), "64 MiB");
        assert_eq!(bytes(1536 << 10), "1,5 MiB");
        assert_eq!(bytes(1 << 30), "1 GiB");
        assert_eq!(bytes(123_456_789), "117,7 MiB");
        assert_eq!(bytes((1 << 20) - 10), "1,0 MiB");
    }

    #[test]
    fn numbers_and_ids() {
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1.000");
        assert_eq!(thousands(1_234_567), "1.234.567");
        let d = format!("sha256:{}", "c6e71bf1ce75".repeat(6));
        assert_eq!(short_id(&d), "c6e71bf1ce75");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(short_digest(&d), "sha256:c6e71bf1ce75");
        assert_eq!(short_hex("merged"), "merged");
    }
}
