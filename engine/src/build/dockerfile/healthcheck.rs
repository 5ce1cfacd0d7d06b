//! `HEALTHCHECK [opções] CMD …` or `HEALTHCHECK NONE`, and the Go
//! durations of its options.

use super::words::{command, split_first_word};
use super::Command;

/// A parsed `HEALTHCHECK … CMD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub command: Command,
    /// In nanoseconds; 0: not given.
    pub interval: u64,
    pub timeout: u64,
    pub start_period: u64,
    pub start_interval: u64,
    pub retries: u64,
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [--interval=30s] [--timeout=…]
/// [--start-period=…] [--start-interval=…] [--retries=N] CMD comando`.
pub(super) fn healthcheck(args: &str) -> Result<Option<Health>, String> {
    if args.trim().eq_ignore_ascii_case("NONE") {
        return Ok(None);
    }
    let mut rest = args;
    let mut h = Health {
        command: Command::Shell(String::new()),
        interval: 0,
        timeout: 0,
        start_period: 0,
        start_interval: 0,
        retries: 0,
    };
    loop {
        let (word, after) = split_first_word(rest);
        let Some(flag) = word.strip_prefix("--") else {
            break;
        };
        let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
        let slot = match name {
            "interval" => &mut h.interval,
            "timeout" => &mut h.timeout,
            "start-period" => &mut h.start_period,
            "start-interval" => &mut h.start_interval,
            "retries" => &mut h.retries,
            _ => return Err(format!("HEALTHCHECK: opção --{name} desconhecida")),
        };
        *slot = if name == "retries" {
            value
                .parse()
                .map_err(|_| format!("HEALTHCHECK --retries={value}: espero um número"))?
        } else {
            duration_ns(value).ok_or_else(|| {
                format!(
                    "HEALTHCHECK --{name}={value}: espero uma duração, como 30s, 1m30s ou 500ms"
                )
            })?
        };
        rest = after.trim_start();
    }
    let (word, command) = split_first_word(rest);
    if !word.eq_ignore_ascii_case("CMD") || command.trim().is_empty() {
        return Err(
            "HEALTHCHECK espera CMD e um comando (HEALTHCHECK CMD wget -q -O- \
                    localhost) ou NONE"
                .into(),
        );
    }
    h.command = self::command("HEALTHCHECK", command.trim())?;
    Ok(Some(h))
}

/// A Go duration (`1m30s`, `500ms`, `2h`) in nanoseconds.
pub(super) fn duration_ns(text: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|n| *n > 0)?;
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let per = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total = total.checked_add((number * per) as u64)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_errors;
    use super::super::*;

    #[test]
    fn options_cmd_and_none() {
        let df = parse(
            "Dockerfile",
            "FROM busybox\nHEALTHCHECK --interval=1m30s --retries=3 CMD wget -q localhost\n\
             HEALTHCHECK NONE\n",
        )
        .unwrap();
        let i = &df.instructions;
        let Op::Healthcheck(Some(h)) = &i[1].op else {
            panic!("{:?}", i[1])
        };
        assert_eq!((h.interval, h.retries), (90_000_000_000, 3));
        assert_eq!(h.command, Command::Shell("wget -q localhost".into()));
        assert_eq!(i[2].op, Op::Healthcheck(None));
        assert_errors(&[
            (
                "FROM busybox\nHEALTHCHECK --interval=5x CMD true\n",
                2,
                "duração",
            ),
            ("FROM busybox\nHEALTHCHECK true\n", 2, "espera CMD"),
        ]);
    }
}
