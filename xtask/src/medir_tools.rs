//! What both sides of `cargo xtask medir` share (`medir_containers.rs`,
//! `medir_vms.rs`): a unit's figures, launching N at once and waiting for
//! their marker line, and reading a process tree's memory from `/proc`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStderr, ChildStdout, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cmd;
use crate::{fail, Result};

/// Wait after the last unit is ready before reading memory, so every unit
/// is measured idle, past its start-up.
pub const SETTLE: Duration = Duration::from_secs(2);
/// The line a unit prints when it is up (the rest of the line is ignored).
pub const MARKER: &str = "pronto";

/// What one side measured of one unit.
pub struct Unit {
    pub start_ms: f64,
    /// PSS of the unit's processes, KiB.
    pub pss_kib: u64,
    /// RSS of the unit's processes, KiB (shared pages counted in full).
    pub rss_kib: u64,
    /// Side-specific figures (already in their JSON form).
    pub extra: serde_json::Map<String, Value>,
}

impl Unit {
    pub fn to_json(&self) -> Value {
        let mut o = serde_json::Map::new();
        o.insert("start_ms".into(), json!(round(self.start_ms, 1)));
        o.insert("memory_mib".into(), json!(mib(self.pss_kib)));
        o.insert("rss_mib".into(), json!(mib(self.rss_kib)));
        o.extend(self.extra.clone());
        Value::Object(o)
    }
}

/// What one side hands back: its units and its part of `meta`.
pub struct Side {
    pub units: Vec<Unit>,
    pub meta: Value,
    /// `casulo --version` (containers only).
    pub version: Option<String>,
}

pub fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (x * f).round() / f
}

pub fn mib(kib: u64) -> f64 {
    round(kib as f64 / 1024.0, 2)
}

/// A time the way a person reads it: `45 ms`, `12,3 s` (decimal comma).
pub fn show_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0).replace('.', ",")
    }
}

/// MiB with a decimal comma.
pub fn show_mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0).replace('.', ",")
}

pub fn first_line(cmd: &mut Command) -> Option<String> {
    cmd::capture(cmd).ok()?.lines().next().map(str::to_string)
}

// ---- Shared by both sides: launching, watching for the marker, /proc ----

/// A launched unit: its process, when it was spawned, and the threads
/// draining its stdout (which report the marker) and stderr.
pub struct Launched {
    pub child: Child,
    pub launched: Instant,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

impl Launched {
    /// Everything it printed so far is only known once it ended: stdout
    /// and stderr, for error messages.
    pub fn output(&mut self) -> String {
        let out = self.stdout.take().and_then(|h| h.join().ok());
        let err = self.stderr.take().and_then(|h| h.join().ok());
        format!("{}{}", out.unwrap_or_default(), err.unwrap_or_default())
    }
}

/// What a unit's stdout thread reports: `(unit, when, the marker line)`,
/// or `(unit, when, None)` when its output ended without the marker.
pub type Report = (usize, Instant, Option<String>);

/// Spawns `cmd` (stdout and stderr piped) as unit `index`; a thread sends
/// on `ready` when a line starts with [`MARKER`] (or the output ends first).
pub fn launch(cmd: &mut Command, index: usize, ready: &Sender<Report>) -> Result<Launched> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let launched = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => fail!("não foi possível executar `{}`: {e}", cmd::show(cmd)),
    };
    let stdout: ChildStdout = child.stdout.take().expect("stdout is piped");
    let stderr: ChildStderr = child.stderr.take().expect("stderr is piped");
    let tx = ready.clone();
    let stdout = std::thread::spawn(move || {
        let mut all = String::new();
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let mut seen = false;
        // Lines may end in \r\n (a serial console); read until EOF.
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            let text = line.trim_matches(|c: char| c.is_whitespace() || c == '\0');
            if !seen && (text == MARKER || text.starts_with(&format!("{MARKER} "))) {
                seen = true;
                let _ = tx.send((index, Instant::now(), Some(text.to_string())));
            }
            all.push_str(&line);
            line.clear();
        }
        if !seen {
            let _ = tx.send((index, Instant::now(), None));
        }
        all
    });
    let stderr = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut all);
        all
    });
    Ok(Launched {
        child,
        launched,
        stdout: Some(stdout),
        stderr: Some(stderr),
    })
}

/// Waits until each of the `units` sent its marker, for at most `limit`:
/// `(instant, marker line)` per unit, in launch order. Fails at once, with
/// its output, if a unit ends without it.
pub fn wait_ready(
    ready: &Receiver<Report>,
    units: &mut [Launched],
    limit: Duration,
    what: &str,
) -> Result<Vec<(Instant, String)>> {
    let n = units.len();
    let deadline = Instant::now() + limit;
    let mut got: Vec<Option<(Instant, String)>> = vec![None; n];
    while got.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        match ready.recv_timeout(left) {
            Ok((i, at, Some(line))) => got[i] = Some((at, line)),
            Ok((i, _, None)) => fail!(
                "{what}: a unidade {} terminou sem dizer \"{MARKER}\"; a saída dela:\n{}",
                i + 1,
                units[i].output().trim_end()
            ),
            Err(_) => {
                let missing: Vec<String> = (0..n)
                    .filter(|i| got[*i].is_none())
                    .map(|i| (i + 1).to_string())
                    .collect();
                fail!(
                    "{what} {} não disseram \"{MARKER}\" em {} s",
                    missing.join(", "),
                    limit.as_secs()
                );
            }
        }
    }
    Ok(got.into_iter().map(|g| g.expect("all ready")).collect())
}

/// Every process below `pid` (children, grandchildren, ...), from the
/// parent pid in `/proc/<pid>/stat`.
pub fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|p| Some((p, parent_of(p)?)))
                .collect()
        })
        .unwrap_or_default();
    let mut found = vec![];
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for (child, _) in parents.iter().filter(|(_, parent)| *parent == p) {
            found.push(*child);
            frontier.push(*child);
        }
    }
    found
}

/// Field 4 of `/proc/<pid>/stat` (after the command in parentheses).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.split(' ').nth(1)?.parse().ok()
}

/// `(PSS, RSS)` in KiB summed over `pids`, from `/proc/<pid>/smaps_rollup`.
/// A process that is gone counts 0.
pub fn memory_kib(pids: &[u32]) -> (u64, u64) {
    let mut total = (0, 0);
    for pid in pids {
        let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        total.0 += rollup_field(&text, "Pss:");
        total.1 += rollup_field(&text, "Rss:");
    }
    total
}

pub fn rollup_field(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Is `pid` still a live process (gone or a zombie both count as ended)?
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaps_rollup_fields() {
        let text = "00400000-7ffc [rollup]\nRss:                3120 kB\nPss:                1024 kB\nPss_Anon:            100 kB\n";
        assert_eq!(rollup_field(text, "Pss:"), 1024);
        assert_eq!(rollup_field(text, "Rss:"), 3120);
        assert_eq!(rollup_field(text, "Swap:"), 0);
        // This very process has a PSS.
        assert!(memory_kib(&[std::process::id()]).0 > 0);
    }

    /// The marker is seen with the rest of its line; a unit that ends
    /// without it fails the wait at once, with its output.
    #[test]
    fn waiting_for_the_marker() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut units = vec![launch(
            Command::new("sh").args(["-c", "echo antes; echo 'pronto uptime=1.5'; echo depois"]),
            0,
            &tx,
        )
        .unwrap()];
        let got = wait_ready(&rx, &mut units, Duration::from_secs(10), "testes").unwrap();
        assert_eq!(got[0].1, "pronto uptime=1.5");
        assert!(got[0].0 >= units[0].launched);
        let _ = units[0].child.wait();

        let (tx, rx) = std::sync::mpsc::channel();
        let mut units = vec![launch(
            Command::new("sh").args(["-c", "echo quase; echo ops >&2; exit 3"]),
            0,
            &tx,
        )
        .unwrap()];
        let t0 = Instant::now();
        let e = wait_ready(&rx, &mut units, Duration::from_secs(30), "testes").unwrap_err();
        assert!(t0.elapsed() < Duration::from_secs(10));
        assert!(e.0.contains("a unidade 1 terminou sem dizer"), "{e}");
        assert!(e.0.contains("quase") && e.0.contains("ops"), "{e}");
        let _ = units[0].child.wait();
    }
}
