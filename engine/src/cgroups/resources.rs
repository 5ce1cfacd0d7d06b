//! What the user asked to limit (`--memory 64m --cpus 0.5 --pids-limit 20`),
//! parsed and checked before anything is created.
//!
//! The units follow `docker run`: sizes are bytes with an optional `b`, `k`,
//! `m`, `g` suffix (powers of 1024); `--cpus` is a fraction of one CPU that
//! becomes a CFS quota per 100 ms period; a pids limit of 0 or less means
//! "no limit".
//!
//! One limit is there even when nothing is asked: [`DEFAULT_PIDS_LIMIT`]
//! processes. Docker sets none, so `:(){ :|:& };:` (a fork bomb) in a
//! docker container fills the host's pid table and the host stops being
//! able to start anything, ssh included; podman sets 2048. Casulo sets
//! 1024: a classroom container runs a shell, a server, a build — tens to a
//! few hundred tasks (threads count too) — and the lab machine is shared by
//! several students, each task of a bomb costing kernel memory (its stack,
//! its `task_struct`) that a v1 memory limit does not always count.
//! `--pids-limit -1` (or 0) takes it away, `--pids-limit N` replaces it.

/// CFS period casulo uses (the kernel's default): 100 ms.
pub const CPU_PERIOD_US: u64 = 100_000;
/// Smallest memory limit accepted (docker's): below it even the container's
/// set-up would not fit.
pub const MIN_MEMORY: u64 = 6 * 1024 * 1024;

/// Processes (and threads) a container may have when `--pids-limit` is not
/// given (see the module doc for why this number).
pub const DEFAULT_PIDS_LIMIT: u64 = 1024;

/// Resource limits of one container; `None` = not limited.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    /// `--memory`: bytes of RAM.
    pub memory: Option<u64>,
    /// `--memory-swap`: RAM + swap together, in bytes; `Unlimited` for `-1`.
    pub memory_swap: Option<Swap>,
    /// `--cpus`: CFS quota in µs per [`CPU_PERIOD_US`].
    pub cpu_quota_us: Option<u64>,
    /// `--cpu-shares` (v1 scale, 2–262144, default 1024).
    pub cpu_shares: Option<u64>,
    /// `--cpu-weight` (v2 scale, 1–10000, default 100).
    pub cpu_weight: Option<u64>,
    /// `--pids-limit`: at most this many processes/threads.
    pub pids: Option<u64>,
}

/// `--memory-swap`: a total, or `-1` for unlimited swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Swap {
    Total(u64),
    Unlimited,
}

impl Resources {
    /// Checks the options that depend on each other (each flag's own value
    /// was checked by its parser). The message is for the student.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(Swap::Total(total)) = self.memory_swap {
            let Some(memory) = self.memory else {
                return Err("--memory-swap só faz sentido junto com --memory".into());
            };
            if total < memory {
                return Err(format!(
                    "--memory-swap ({}) precisa ser maior ou igual a --memory ({}): \
                     ele é o total de memória + swap",
                    casulo_trace::text::bytes(total),
                    casulo_trace::text::bytes(memory)
                ));
            }
        }
        if self.memory_swap == Some(Swap::Unlimited) && self.memory.is_none() {
            return Err("--memory-swap só faz sentido junto com --memory".into());
        }
        if self.cpu_shares.is_some() && self.cpu_weight.is_some() {
            return Err("use --cpu-shares (escala do cgroup v1) ou --cpu-weight \
                 (escala do cgroup v2), não os dois"
                .into());
        }
        Ok(())
    }

    /// True when no limit at all was asked for.
    pub fn is_empty(&self) -> bool {
        *self == Resources::default()
    }

    /// What every container gets when nothing is asked: only the default
    /// pids limit ([`DEFAULT_PIDS_LIMIT`]).
    pub fn defaults() -> Resources {
        Resources {
            pids: Some(DEFAULT_PIDS_LIMIT),
            ..Default::default()
        }
    }

    /// True when nothing beyond [`Resources::defaults`] was asked: a host
    /// without usable cgroups may still run the container (without them).
    pub fn is_default(&self) -> bool {
        self.is_empty() || *self == Resources::defaults()
    }

    /// The v1 `cpu.shares` for what was asked (shares as given, or the
    /// weight converted back; runc's formula).
    pub fn shares(&self) -> Option<u64> {
        self.cpu_shares
            .or_else(|| self.cpu_weight.map(|w| 2 + ((w - 1) * 262_142) / 9_999))
    }

    /// The v2 `cpu.weight` for what was asked (weight as given, or the
    /// shares converted; runc's formula: 2 → 1, 1024 → 39, 262144 → 10000).
    pub fn weight(&self) -> Option<u64> {
        self.cpu_weight
            .or_else(|| self.cpu_shares.map(|s| 1 + ((s - 2) * 9_999) / 262_142))
    }
}

/// `--memory`: `64m`, `1g`, `512k`, `100000000` (bytes).
pub fn parse_memory(s: &str) -> Result<u64, String> {
    let bytes = parse_bytes(s)?;
    if bytes < MIN_MEMORY {
        return Err(format!(
            "{s:?} é pouco demais: o mínimo é 6m (o próprio contêiner precisa de memória para começar)"
        ));
    }
    Ok(bytes)
}

/// `--memory-swap`: a size like `--memory`, or `-1` (swap sem limite).
pub fn parse_swap(s: &str) -> Result<Swap, String> {
    if s.trim() == "-1" {
        return Ok(Swap::Unlimited);
    }
    parse_bytes(s).map(Swap::Total)
}

/// `--cpus 0.5`: half of one CPU → quota 50000 µs per 100000 µs.
pub fn parse_cpus(s: &str) -> Result<u64, String> {
    let cpus: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} não é um número (use, por exemplo, 0.5 ou 2)"))?;
    if !cpus.is_finite() || cpus <= 0.0 || cpus > 1024.0 {
        return Err(format!(
            "{s:?} fora do intervalo: use um número maior que 0"
        ));
    }
    let quota = (cpus * CPU_PERIOD_US as f64).round() as u64;
    if quota < 1_000 {
        return Err(format!(
            "{s:?} é pouco demais: o kernel não aceita uma cota menor que 1 ms a cada 100 ms (0.01)"
        ));
    }
    Ok(quota)
}

/// `--cpu-shares`: 2 to 262144 (1024 is a "normal" share).
pub fn parse_shares(s: &str) -> Result<u64, String> {
    parse_in_range(s, 2, 262_144)
}

/// `--cpu-weight`: 1 to 10000 (100 is a "normal" weight).
pub fn parse_weight(s: &str) -> Result<u64, String> {
    parse_in_range(s, 1, 10_000)
}

/// A parsed `--pids-limit`: `Some(N)`, or `None` for "no limit".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidsLimit(pub Option<u64>);

/// `--pids-limit N`: 0 or negative means no limit, as in docker.
pub fn parse_pids(s: &str) -> Result<PidsLimit, String> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} não é um número inteiro"))?;
    Ok(PidsLimit((n > 0).then_some(n as u64)))
}

/// The pids limit of a container: `--pids-limit` when given (`None` for
/// "no limit"), else [`DEFAULT_PIDS_LIMIT`].
pub fn pids_or_default(asked: Option<PidsLimit>) -> Option<u64> {
    asked.map_or(Some(DEFAULT_PIDS_LIMIT), |p| p.0)
}

fn parse_in_range(s: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} não é um número inteiro"))?;
    if !(min..=max).contains(&n) {
        return Err(format!("{n} fora do intervalo: use de {min} a {max}"));
    }
    Ok(n)
}

/// Bytes with docker's suffixes: `b`, `k`, `m`, `g`, `t` (×1024 each), also
/// written `kb`/`kib`, in any case.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits_end);
    let bad = || {
        format!(
            "{s:?} não é um tamanho: use um número com unidade opcional b, k, m ou g (ex.: 64m)"
        )
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let shift = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(bad()),
    };
    n.checked_mul(1 << shift).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_docker_units() {
        assert_eq!(parse_bytes("64m"), Ok(64 << 20));
        assert_eq!(parse_bytes("64M"), Ok(64 << 20));
        assert_eq!(parse_bytes("64mb"), Ok(64 << 20));
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("1g"), Ok(1 << 30));
        assert_eq!(parse_bytes("512k"), Ok(512 << 10));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("100b"), Ok(100));
        for bad in ["", "m", "-1", "1.5g", "64x", "99999999999999999999"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
        assert!(parse_memory("1m").unwrap_err().contains("mínimo"));
        assert_eq!(parse_memory("6m"), Ok(MIN_MEMORY));
        assert_eq!(parse_swap("-1"), Ok(Swap::Unlimited));
        assert_eq!(parse_swap("128m"), Ok(Swap::Total(128 << 20)));
    }

    #[test]
    fn cpus_become_a_quota_per_100ms() {
        assert_eq!(parse_cpus("0.5"), Ok(50_000));
        assert_eq!(parse_cpus("2"), Ok(200_000));
        assert_eq!(parse_cpus("0.01"), Ok(1_000));
        for bad in ["0", "-1", "abc", "0.001", "NaN", "inf"] {
            assert!(parse_cpus(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shares_weights_and_pids() {
        assert_eq!(parse_shares("512"), Ok(512));
        assert!(parse_shares("1").is_err());
        assert!(parse_weight("10001").is_err());
        assert_eq!(parse_pids("20"), Ok(PidsLimit(Some(20))));
        assert_eq!(parse_pids("0"), Ok(PidsLimit(None)));
        assert_eq!(parse_pids("-1"), Ok(PidsLimit(None)));
        assert!(parse_pids("x").is_err());
        // Not given: the default; given: as asked, -1 and 0 taking it away.
        assert_eq!(pids_or_default(None), Some(DEFAULT_PIDS_LIMIT));
        assert_eq!(pids_or_default(Some(PidsLimit(Some(20)))), Some(20));
        assert_eq!(pids_or_default(Some(PidsLimit(None))), None);
        assert!(Resources::defaults().is_default() && Resources::default().is_default());
        let more = Resources {
            memory: Some(64 << 20),
            ..Resources::defaults()
        };
        assert!(!more.is_default());
        let r = Resources {
            cpu_shares: Some(1024),
            ..Default::default()
        };
        assert_eq!(r.weight(), Some(39));
        assert_eq!(r.shares(), Some(1024));
        let r = Resources {
            cpu_weight: Some(100),
            ..Default::default()
        };
        assert_eq!(r.shares(), Some(2 + 99 * 262_142 / 9_999));
    }

    #[test]
    fn options_that_depend_on_each_other_are_checked() {
        let swap_alone = Resources {
            memory_swap: Some(Swap::Total(1 << 30)),
            ..Default::default()
        };
        assert!(swap_alone.validate().unwrap_err().contains("--memory"));
        let swap_small = Resources {
            memory: Some(64 << 20),
            memory_swap: Some(Swap::Total(32 << 20)),
            ..Default::default()
        };
        assert!(swap_small.validate().unwrap_err().contains("64 MiB"));
        let both = Resources {
            cpu_shares: Some(512),
            cpu_weight: Some(50),
            ..Default::default()
        };
        assert!(both.validate().is_err());
        assert!(Resources::default().validate().is_ok());
        assert!(Resources::default().is_empty());
    }

    #[test]
    fn bytes_are_shown_in_binary_units() {}
}
