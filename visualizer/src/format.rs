//! Numbers and identifiers the way a Brazilian student reads them.

pub use casulo_trace::text::bytes;

/// Bytes in binary units for cgroup limits (`64 MiB`), as `--memory 64m` means.
pub fn mib(n: u64) -> String {
    let v = n as f64 / (1024.0 * 1024.0);
    if (v - v.round()).abs() < 0.05 {
        format!("{} MiB", v.round() as u64)
    } else {
        format!("{} MiB", fixed(v, 1)).replace('.', ",")
    }
}

/// `x` with `decimals` digits after the point, as `{:.N}` writes it but
/// for the rounding of a tie (here away from zero, on `x · 10^N`): the
/// panels' coordinates and figures. `{:.N}` and `{}` of an `f64` bring
/// core's float printing (Grisu, Dragon and their tables, ~14 KB of wasm);
/// this is an integer's. Not for |x| ≥ 2^53 / 10^N (none here).
pub fn fixed(x: f64, decimals: u32) -> String {
    let scaled = (x * 10f64.powi(decimals as i32)).round();
    let n = scaled.abs() as u64;
    let digits = n.to_string();
    let d = decimals as usize;
    let digits = if digits.len() <= d {
        format!("{}{digits}", "0".repeat(d + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = digits.split_at(digits.len() - d);
    // As `{:.N}`: a negative number that rounds to zero keeps its sign.
    let sign = if x < 0.0 { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// [`fixed`] with 2 decimals and no trailing zeros (`12.5`, `100`): an
/// SVG coordinate.
pub fn coord(x: f64) -> String {
    let s = fixed(x, 2);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" || s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// Ticks of the memory axis: round MiB steps (1, 2, 4, 8… MiB), at most
/// five above zero, up to `max` bytes.
pub fn mib_ticks(max: u64) -> Vec<u64> {
    const MIB: u64 = 1 << 20;
    let mut step = MIB;
    while max / step > 5 {
        step *= 2;
    }
    (0..=max / step).map(|i| i * step).collect()
}

/// What a trace was, from its header: `nome · imagem · comando` (a build
/// has no command). None when the header said nothing.
pub fn trace_label(
    container: Option<&str>,
    image: Option<&str>,
    command: &[String],
) -> Option<String> {
    let mut parts: Vec<String> = [container, image]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if parts.is_empty() {
        return None;
    }
    let cmd = command.join(" ");
    if !cmd.is_empty() {
        parts.push(if cmd.chars().count() > 60 {
            format!("{}…", cmd.chars().take(59).collect::<String>())
        } else {
            cmd
        });
    }
    Some(parts.join(" · "))
}

/// `2026-11-26T15:35:47.05Z` → `26/11/2026 15:35 UTC` (None when it is
/// not such a time).
pub fn started_text(rfc3339: &str) -> Option<String> {
    let (date, time) = rfc3339.split_once('T')?;
    let mut d = date.split('-');
    let (y, m, day) = (d.next()?, d.next()?, d.next()?);
    let hm = time.get(..5)?;
    let ok = [y, m, day]
        .iter()
        .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
        && hm.as_bytes().get(2) == Some(&b':');
    ok.then(|| format!("{day}/{m}/{y} {hm} UTC"))
}

/// `sha256:c6e71bf1ce75…` → `c6e71bf1ce75`.
pub use casulo_trace::text::short_id as short_digest;

/// The last three components of a path (see the trace crate's `text`).
pub use casulo_trace::text::path_tail as short_path;

/// Integer with thousands separated by dots: `100.000`.
pub fn thousands(n: usize) -> String {
    casulo_trace::text::thousands(n as u64)
}

/// `s` in lower case for a filter: ASCII and the Latin-1 capitals (`É`,
/// `Ç`, `Ã`: all of Portuguese), not `str::to_lowercase`, whose Unicode
/// tables are ~15 KB of the wasm (other scripts are compared as written).
pub fn fold_case(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'A'..='Z' | 'À'..='Ö' | 'Ø'..='Þ' => char::from_u32(c as u32 + 32).unwrap_or(c),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_case_lowers_portuguese_as_to_lowercase_does() {
        let s = "AÇÃO Ébano ÚLTIMO Ñ Ø × ÷ ß casulo-Grande_01";
        assert_eq!(fold_case(s), s.to_lowercase());
    }

    #[test]
    fn fixed_writes_as_format_does_but_for_ties() {
        for i in -20_000..20_000 {
            // Values that are not ties at 1, 2 or 3 decimals.
            let x = i as f64 * 0.0137 + 0.00011;
            for d in 0..4 {
                assert_eq!(fixed(x, d), format!("{x:.*}", d as usize), "{x} {d}");
            }
        }
        assert_eq!(fixed(0.0, 1), "0.0");
        assert_eq!(fixed(-0.04, 1), "-0.0");
        assert_eq!(fixed(1e6 / 3.0, 3), "333333.333");
        assert_eq!(coord(12.5), "12.5");
        assert_eq!(coord(100.0), "100");
        assert_eq!(coord(100.0 / 3.0), "33.33");
        assert_eq!(coord(-0.001), "0");
        assert_eq!(coord(-2.25), "-2.25");
    }

    #[test]
    fn formats() {
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(1_982_491), "1,9 MiB");
        assert_eq!(bytes(35_000), "34,2 KiB");
        assert_eq!(mib(67_108_864), "64 MiB");
        assert_eq!(short_digest("sha256:c6e71bf1ce75bed7ca99"), "c6e71bf1ce75");
        assert_eq!(thousands(100_000), "100.000");
        let id = "42f3f862ee10cc0ad7767932ee24feca966f5ee84848a16c687aa5d67dc6d17b";
        assert_eq!(
            short_path(&format!("/sys/fs/cgroup/memory/casulo/{id}")),
            "…/memory/casulo/42f3f862ee10…"
        );
        assert_eq!(
            short_path(&format!("/var/lib/casulo/containers/{id}/merged")),
            "…/containers/42f3f862ee10…/merged"
        );
        assert_eq!(short_path("/a/b"), "/a/b");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1.000");
        let mib = |n: u64| n << 20;
        assert_eq!(mib_ticks(mib(32)), [0, mib(8), mib(16), mib(24), mib(32)]);
        assert_eq!(
            mib_ticks(mib(64) + 5),
            [0, mib(16), mib(32), mib(48), mib(64)]
        );
        assert_eq!(mib_ticks(mib(3)), [0, mib(1), mib(2), mib(3)]);
        assert_eq!(mib_ticks(1000), [0]);
        let cmd = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            trace_label(Some("memoria"), Some("busybox:latest"), &cmd("sh -c echo")).unwrap(),
            "memoria · busybox:latest · sh -c echo"
        );
        assert_eq!(
            trace_label(Some("build"), Some("busybox:latest"), &[]).unwrap(),
            "build · busybox:latest"
        );
        assert_eq!(trace_label(None, None, &cmd("ls")), None);
        assert_eq!(
            started_text("2026-11-26T15:35:47.052845Z").unwrap(),
            "26/11/2026 15:35 UTC"
        );
        assert_eq!(started_text("ontem"), None);
    }
}
