//! docker's times in filters and queries (`until` of a prune, `since` and
//! `until` of `events` and `logs`), read as its daemon reads them
//! (`GetTimestamp`): a Go duration before now (`10m`, `1h30m`, `1.5h`,
//! `300ms`), unix seconds with an optional fraction (`1733191200.5`, what
//! the docker CLI sends after converting a duration itself), or an RFC 3339
//! date with or without the time and the zone (`2026-12-03`,
//! `2026-12-03T02:05`, `2026-12-03T02:05:01.5Z`, `…+01:00`). A time without a
//! zone is UTC (docker takes the daemon's local zone; casulo's daemon
//! keeps UTC).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `value` as a point in time, durations counted back from `now`; the
/// error names the value and the formats (pt-BR).
pub fn parse(value: &str, now: SystemTime) -> Result<SystemTime, String> {
    let v = value.trim();
    let bad = || {
        format!(
            "{value:?} não é um tempo que o docker entenda: use uma duração antes de agora \
             (10m, 1h30m), segundos unix (1733191200.5) ou uma data RFC 3339 \
             (2026-12-03, 2026-12-03T02:05:01Z)"
        )
    };
    if v.is_empty() {
        return Err(bad());
    }
    if let Some((back, d)) = go_duration(v) {
        return if back {
            now.checked_sub(d).ok_or_else(bad)
        } else {
            now.checked_add(d).ok_or_else(bad)
        };
    }
    if let Some(t) = unix_seconds(v) {
        return Ok(t);
    }
    rfc3339(v).ok_or_else(bad)
}

/// A Go duration (`time.ParseDuration`): `[-+]` then number+unit pairs.
/// (true, d) for a positive one (that long *before* now, as docker counts).
fn go_duration(v: &str) -> Option<(bool, Duration)> {
    let (back, mut rest) = match v.as_bytes().first()? {
        b'-' => (false, &v[1..]),
        b'+' => (true, &v[1..]),
        _ => (true, v),
    };
    if rest == "0" {
        return Some((back, Duration::ZERO));
    }
    let mut total = 0f64;
    let mut any = false;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * seconds;
        any = true;
    }
    any.then(|| (back, Duration::from_secs_f64(total)))
}

/// `1733191200` or `1733191200.123456789`.
fn unix_seconds(v: &str) -> Option<SystemTime> {
    let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let nanos: u32 = format!("{frac:0<9}").parse().ok()?;
    UNIX_EPOCH.checked_add(Duration::new(secs.parse().ok()?, nanos))
}

/// `YYYY-MM-DD[THH[:MM[:SS[.frac]]]][Z|±HH:MM]`.
fn rfc3339(v: &str) -> Option<SystemTime> {
    let (date, time) = v.split_once(['T', 't', ' ']).unwrap_or((v, ""));
    let mut d = date.splitn(3, '-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    if date.len() != 10 || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // The zone: Z, or an offset after the time.
    let (clock, offset_s) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(at) = time.rfind(['+', '-']) {
        let (c, z) = time.split_at(at);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let (hh, mm) = z[1..].split_once(':')?;
        (
            c,
            sign * (hh.parse::<i64>().ok()? * 3600 + mm.parse::<i64>().ok()? * 60),
        )
    } else {
        (time, 0)
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut parts = [0i64; 3];
    if !hms.is_empty() {
        for (i, p) in hms.split(':').enumerate() {
            if i > 2 || p.len() != 2 {
                return None;
            }
            parts[i] = p.parse().ok()?;
        }
    }
    if parts[0] > 23 || parts[1] > 59 || parts[2] > 60 || frac.len() > 9 {
        return None;
    }
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let secs = days * 86_400 + parts[0] * 3600 + parts[1] * 60 + parts[2] - offset_s;
    UNIX_EPOCH.checked_add(Duration::new(u64::try_from(secs).ok()?, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn since_reads_durations_back_from_now() {
        let now = at(10_000);
        assert_eq!(parse("10m", now), Ok(at(9_400)));
        assert_eq!(parse("1h30m", now), Ok(at(4_600)));
        assert_eq!(parse("1.5h", now), Ok(at(4_600)));
        assert_eq!(parse("0", now), Ok(now));
        assert_eq!(parse("-10s", now), Ok(at(10_010)));
        assert_eq!(parse("300ms", now), Ok(now - Duration::from_millis(300)));
    }

    #[test]
    fn since_reads_unix_seconds_and_rfc3339() {
        let now = at(1);
        assert_eq!(parse("1733191200", now), Ok(at(1_733_191_200)));
        assert_eq!(
            parse("1733191200.5", now),
            Ok(at(1_733_191_200) + Duration::from_millis(500))
        );
        assert_eq!(parse("2024-12-03", now), Ok(at(1_733_184_000)));
        assert_eq!(parse("2024-12-03T02:00", now), Ok(at(1_733_191_200)));
        assert_eq!(parse("2024-12-03T02:00:00Z", now), Ok(at(1_733_191_200)));
        assert_eq!(
            parse("2024-12-03T02:00:00.25Z", now),
            Ok(at(1_733_191_200) + Duration::from_millis(250))
        );
        assert_eq!(
            parse("2024-12-03T03:00:00+01:00", now),
            Ok(at(1_733_191_200))
        );
        assert_eq!(
            parse("2024-12-03T01:00:00-01:00", now),
            Ok(at(1_733_191_200))
        );
    }

    #[test]
    fn since_refuses_what_is_not_a_time_and_says_why() {
        for bad in [
            "",
            "ontem",
            "10x",
            "2024-13-01",
            "2024-12-03T25:00",
            "1.2.3",
            "h",
        ] {
            let e = parse(bad, at(1)).unwrap_err();
            assert!(e.contains("não é um tempo"), "{bad}: {e}");
        }
    }
}
