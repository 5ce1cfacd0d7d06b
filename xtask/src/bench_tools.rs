//! What the benches share: timing a command, medians, the `--runs/--mb`
//! options, bytes that do not compress, the first line of a version and
//! the `bench-results/*.json` files. (Its own module, so `bench` — which
//! runs the others — and each `bench_*` do not import each other back.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cmd;
use crate::{fail, Result};

/// `bench-results/NAME`, pretty JSON; says where.
pub fn write_results(name: &str, result: &Value) -> Result {
    let dir = cmd::workspace_root().join("bench-results");
    fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    fs::write(
        &path,
        serde_json::to_string_pretty(result).expect("json") + "\n",
    )?;
    println!("\nresultados em {}", path.display());
    Ok(())
}

/// The first line a command prints, if it runs.
pub fn first_line(cmd: &mut Command) -> Option<String> {
    cmd::capture(cmd).ok()?.lines().next().map(str::to_string)
}

/// Drops `path`'s pages from the page cache (written back first), so the
/// next `exec` faults them in again, as a program is read after a reboot.
/// How the pages came in shows in every run: written (by the build, a `cp`,
/// an `apt` install) or read with `read()`, the kernel keeps them in large
/// folios and a run of casulo took ~0.35 ms less than with the small ones
/// an `exec`'s faults bring in (6.87 × 7.27 and 6.84 × 7.13 ms, the same
/// binary, both orders; two byte-identical copies, one fresh, measured
/// 8.34 × 8.92 side by side). Every contender starts from the same state.
pub fn read_anew(path: &Path) -> Result {
    let file = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.sync_all()?;
    nix::fcntl::posix_fadvise(
        &file,
        0,
        0,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    )
    .map_err(|e| format!("posix_fadvise({}): {e}", path.display()))?;
    Ok(())
}

/// The file `program` names in `PATH` (as `execvp` would find it).
pub fn in_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// The name of the startup bench's row for the dynamic glibc casulo
/// (`bench.rs` measures it, `bench_summary.rs` finds it by it).
pub const GLIBC: &str = "casulo glibc (dinâmico)";

/// The startup bench's row for the static casulo with its state dir on a
/// tmpfs: the run without the disk (on this machine's ext4 — no journal,
/// mounted `discard` — the state dir's inodes are ~1.5 ms of a run).
pub const TMPFS: &str = "casulo, estado em tmpfs";

/// `--runs N --mb N` of `bench unpack` and `bench registry`.
pub struct RunsAndSize {
    pub runs: usize,
    pub megabytes: u64,
}

/// Reads `--runs N` (`default_runs` when not given) and `--mb N` (200, at
/// least `min_mb`) for `bench NAME`.
pub fn runs_and_size(
    args: &[String],
    name: &str,
    default_runs: usize,
    min_mb: u64,
) -> Result<RunsAndSize> {
    let mut o = RunsAndSize {
        runs: default_runs,
        megabytes: 200,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = |flag: &str| -> Result<u64> {
            match it.next().map(|v| v.parse::<u64>()) {
                Some(Ok(n)) => Ok(n),
                _ => fail!("{flag} precisa de um número inteiro"),
            }
        };
        match a.as_str() {
            "--runs" => o.runs = number("--runs")?.max(1) as usize,
            "--mb" => o.megabytes = number("--mb")?.max(min_mb),
            other => {
                fail!("opção desconhecida para `bench {name}`: {other} (aceita: --runs N, --mb N)")
            }
        }
    }
    Ok(o)
}

/// Runs `cmd` once and times it; it must succeed (its stderr in the error).
pub fn time(cmd: &mut Command) -> Result<Duration> {
    let started = Instant::now();
    let out = cmd.stdin(Stdio::null()).output()?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        fail!(
            "{} falhou ({}):\n{}",
            cmd::show(cmd),
            cmd::describe(out.status),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(elapsed)
}

/// The median of `samples` (the upper one of an even count).
pub fn median(samples: &[Duration]) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    s[s.len() / 2]
}

/// xorshift64*: deterministic bytes that do not compress, without a dependency.
pub struct Xorshift(pub u64);

impl Xorshift {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.max(1);
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// Fisher–Yates: the order of a bench round. A rotation would keep
    /// who runs right before whom (casulo always after crun, paying the
    /// kernel's deferred cleanup of crun's cgroup); the probe's stopwatch
    /// shuffles its rounds the same way.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }

    /// `len` bytes (rounded up to 8).
    pub fn bytes(mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len.div_ceil(8) * 8];
        self.fill(&mut out);
        out
    }
}

/// User + sys time of every waited-for child so far (`RUSAGE_CHILDREN`
/// counts the whole tree: the container's processes are waited for by casulo).
pub fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { nix::libc::getrusage(nix::libc::RUSAGE_CHILDREN, &mut usage) };
    let tv = |t: nix::libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Wall time from spawn to exit. Stdout is discarded, stderr kept for errors.
pub fn time_once(command: &mut Command) -> Result<Duration> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = command.output();
    let elapsed = start.elapsed();
    match out {
        Ok(out) if out.status.success() => Ok(elapsed),
        Ok(out) => fail!(
            "o comando `{}` falhou ({}):\n{}",
            cmd::show(command),
            cmd::describe(out.status),
            String::from_utf8_lossy(&out.stderr).trim_end()
        ),
        Err(e) => fail!("não foi possível executar `{}`: {e}", cmd::show(command)),
    }
}

/// Quantile `q` of sorted values, interpolating between neighbours.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The quartiles of some values (in any order), in their unit.
pub struct Quartiles {
    pub p25: f64,
    pub median: f64,
    pub p75: f64,
}

/// [`Quartiles`] of `values`; `None` when there are none.
pub fn quartiles(values: &[f64]) -> Option<Quartiles> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(Quartiles {
        p25: quantile(&sorted, 0.25),
        median: quantile(&sorted, 0.5),
        p75: quantile(&sorted, 0.75),
    })
}

/// [`Quartiles`] of `a − b` round by round (paired: both runs of a round
/// saw the same moment of the machine, so less noise than two medians).
pub fn paired(a: &[f64], b: &[f64]) -> Option<Quartiles> {
    let diffs: Vec<f64> = a.iter().zip(b).map(|(a, b)| a - b).collect();
    quartiles(&diffs)
}
