//! `cargo xtask bench densidade`: how many idle containers fit on a host?
//!
//! N (default 100) `busybox sleep` containers started one after the other
//! with `casulo run -d` (release build, a private state dir in a temp dir,
//! the default `--network none`). Measured:
//!
//! - **start time**: wall time of the whole sequence, and of each `run -d`
//!   (from spawn until the CLI exits: the supervisor said the command runs);
//! - **overhead per container**, once every sampler is in its slow pace
//!   (a `-d` sampler reads the cgroup 5×/s for its first 10 s, then every 5 s):
//!   - the supervisor's PSS (`/proc/PID/smaps_rollup`): its own pages count
//!     whole, pages shared by the N supervisors (casulo's text, libc) count
//!     1/N each — what each one really adds;
//!   - the container cgroup's memory beyond the process itself: the
//!     cgroup's usage (v1 `memory.usage_in_bytes`, v2 `memory.current`)
//!     minus the `sleep`'s own anonymous memory (`Anonymous` of its
//!     smaps_rollup: what the program would use without a container). What
//!     is left is page cache charged to the cgroup and kernel memory the
//!     container's setup allocated after joining it (page tables, kernel
//!     stack, the mount namespace's overlay, `/proc`, `/dev` objects);
//!   - beside it, not in the sum: the supervisor's kernel memory outside its
//!     PSS, estimated as its page tables (`VmPTE`) plus 16 KiB of kernel
//!     stack per thread;
//! - **the host's `MemAvailable`** before, with all N up, and after removing
//!   them: the all-in figure (kernel objects made by the `clone` before the
//!   child joins its cgroup — the namespaces — are only seen here), noisy
//!   on a shared machine.
//!
//! What dominates the supervisor: its smaps broken down by mapping (casulo's
//! binary, shared libraries, heap, thread stacks, other anonymous mappings
//! such as glibc's per-thread malloc arenas), and its threads.
//!
//! Everything is removed at the end (`rm -f` of every container in the
//! state dir, then `casulo gc`), also when the bench fails or is
//! interrupted with Ctrl-C halfway ([`Cleanup`]).
//! Output: a table on stdout and `bench-results/densidade.json`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bench_tools::first_line;
use crate::cmd::{self, step};
use crate::{fail, Result};

/// The target of issue 14: at most this much overhead per container.
const TARGET_BYTES: u64 = 1 << 20;
/// A `-d` sampler goes slow after 10 s (`DETACHED_FAST_FOR`): wait a bit more
/// before measuring, so what is measured is the steady state.
const SETTLE: Duration = Duration::from_secs(12);
/// A thread's kernel stack on x86_64 (`THREAD_SIZE`).
const KERNEL_STACK: u64 = 16 << 10;
const KIB: f64 = 1024.0;

struct Options {
    count: usize,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options { count: 100 };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quantos" => match it.next().map(|v| v.parse::<usize>()) {
                Some(Ok(n)) if n > 0 => o.count = n,
                _ => fail!("--quantos precisa de um número inteiro maior que zero"),
            },
            other => {
                fail!("opção desconhecida para `bench densidade`: {other} (aceita: --quantos N)")
            }
        }
    }
    Ok(o)
}

/// The release casulo on the bench's private state dir.
pub(crate) struct Casulo {
    pub(crate) bin: PathBuf,
    pub(crate) state: PathBuf,
}

impl Casulo {
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.state).args(args);
        c
    }
}

/// Removes every container of the bench's state dir and runs `casulo gc`
/// when dropped: on success, on an error, on a panic, after Ctrl-C.
pub(crate) struct Cleanup<'a> {
    pub(crate) casulo: &'a Casulo,
    pub(crate) armed: bool,
}

impl Cleanup<'_> {
    /// `rm -f` of all, then `gc`; returns how long the `rm -f` took.
    pub(crate) fn now(&mut self) -> Result<Duration> {
        self.armed = false;
        let listed = cmd::capture(&mut self.casulo.command(&["ps", "-aq"]))?;
        let ids: Vec<&str> = listed.split_whitespace().collect();
        let began = Instant::now();
        for chunk in ids.chunks(50) {
            let mut args = vec!["rm", "-f"];
            args.extend_from_slice(chunk);
            cmd::capture(&mut self.casulo.command(&args))?;
        }
        let took = began.elapsed();
        cmd::capture(&mut self.casulo.command(&["gc"]))?;
        Ok(took)
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if self.armed {
            eprintln!("\n==> Limpando o que o bench deixou (rm -f de todos, gc)");
            if let Err(e) = self.now() {
                eprintln!("  aviso: a limpeza falhou: {e}");
            }
        }
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: std::ffi::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C only raises a flag: the bench stops at the next container and
/// the [`Cleanup`] guard removes what was started.
fn catch_ctrl_c() -> Result {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only stores into an atomic.
    unsafe { sigaction(Signal::SIGINT, &action) }.map_err(|e| format!("sigaction: {e}"))?;
    Ok(())
}

fn check_interrupted() -> Result {
    if INTERRUPTED.load(Ordering::SeqCst) {
        fail!("interrompido (Ctrl-C)");
    }
    Ok(())
}

/// `Key:   123 kB` lines (`/proc/meminfo`, `status`, `smaps_rollup`) as
/// bytes; lines without a `kB` value are skipped.
pub fn parse_kb_fields(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (key, rest) = l.split_once(':')?;
            let mut words = rest.split_whitespace();
            let n: u64 = words.next()?.parse().ok()?;
            (words.next()? == "kB").then(|| (key.trim().to_string(), n * 1024))
        })
        .collect()
}

/// `key value` lines (`memory.stat`).
pub fn parse_flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// One mapping of `/proc/PID/smaps`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    /// The file, `[heap]`, `[stack]`…; empty for an anonymous mapping.
    pub path: String,
    pub fields: BTreeMap<String, u64>,
}

/// `/proc/PID/smaps`: a header line per mapping, then its `Key: N kB` lines.
pub fn parse_smaps(text: &str) -> Vec<Mapping> {
    let mut all: Vec<Mapping> = vec![];
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        let header = first
            .split_once('-')
            .and_then(|(a, b)| {
                Some((
                    u64::from_str_radix(a, 16).ok()?,
                    u64::from_str_radix(b, 16).ok()?,
                ))
            })
            .filter(|_| !first.ends_with(':'));
        match header {
            Some((start, end)) => {
                let words: Vec<&str> = line.split_whitespace().collect();
                all.push(Mapping {
                    start,
                    end,
                    perms: words.get(1).unwrap_or(&"").to_string(),
                    path: words.get(5..).map(|p| p.join(" ")).unwrap_or_default(),
                    fields: BTreeMap::new(),
                });
            }
            None => {
                if let Some(m) = all.last_mut() {
                    m.fields.extend(parse_kb_fields(line));
                }
            }
        }
    }
    all
}

/// The stack pointer of a thread blocked in a syscall, from
/// `/proc/PID/task/TID/syscall` (`nr args… sp pc`).
pub fn parse_syscall_sp(text: &str) -> Option<u64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() < 3 {
        return None;
    }
    let sp = words[words.len() - 2];
    u64::from_str_radix(sp.trim_start_matches("0x"), 16).ok()
}

/// Where a supervisor's memory is, by kind of mapping.
const KINDS: [&str; 6] = [
    "binário do casulo",
    "bibliotecas (libc, ld.so)",
    "heap (arena principal do malloc)",
    "pilhas das threads",
    "outros anônimos (.bss da libc, TLS, arenas por thread)",
    "outros ([vdso], [vvar]…)",
];

fn kind_of(m: &Mapping, casulo: &Path, stacks: &[u64]) -> usize {
    let is_stack = stacks.iter().any(|sp| (m.start..m.end).contains(sp));
    if m.path == "[stack]" || (m.path.is_empty() && is_stack) {
        3
    } else if Path::new(&m.path) == casulo {
        0
    } else if m.path.starts_with('/') {
        1
    } else if m.path == "[heap]" {
        2
    } else if m.path.is_empty() {
        4
    } else {
        5
    }
}

/// Pss, Rss and Private_Dirty per kind of mapping, in bytes.
type Breakdown = [[u64; 3]; KINDS.len()];

fn breakdown(pid: i32, casulo: &Path) -> Breakdown {
    let stacks: Vec<u64> = fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|t| fs::read_to_string(t.path().join("syscall")).ok())
        .filter_map(|s| parse_syscall_sp(&s))
        .collect();
    let smaps = fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let mut out: Breakdown = Default::default();
    for m in parse_smaps(&smaps) {
        let k = kind_of(&m, casulo, &stacks);
        for (i, key) in ["Pss", "Rss", "Private_Dirty"].iter().enumerate() {
            out[k][i] += m.fields.get(*key).copied().unwrap_or(0);
        }
    }
    out
}

/// What one container costs, in bytes.
#[derive(Debug, Default, Clone)]
struct Sample {
    supervisor: BTreeMap<String, u64>,
    supervisor_threads: u64,
    supervisor_pte: u64,
    sleep: BTreeMap<String, u64>,
    cgroup_usage: u64,
    cgroup_anon: u64,
    cgroup_file: u64,
    cgroup_procs: usize,
}

impl Sample {
    fn get(map: &BTreeMap<String, u64>, key: &str) -> u64 {
        map.get(key).copied().unwrap_or(0)
    }
    fn supervisor_pss(&self) -> u64 {
        Self::get(&self.supervisor, "Pss")
    }
    /// The cgroup's usage beyond the sleep's own anonymous memory.
    fn cgroup_extra(&self) -> u64 {
        self.cgroup_usage
            .saturating_sub(Self::get(&self.sleep, "Anonymous"))
    }
    fn overhead(&self) -> u64 {
        self.supervisor_pss() + self.cgroup_extra()
    }
    fn supervisor_kernel(&self) -> u64 {
        self.supervisor_pte + self.supervisor_threads * KERNEL_STACK
    }
}

/// The container's memory cgroup directory on this host.
fn memory_cgroup(id: &str) -> (PathBuf, bool) {
    let root = Path::new("/sys/fs/cgroup");
    if root.join("cgroup.controllers").exists() {
        (root.join("casulo").join(id), true)
    } else {
        (root.join("memory/casulo").join(id), false)
    }
}

fn read(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn measure(id: &str, supervisor: i32, pid: i32) -> Result<Sample> {
    let (cg, v2) = memory_cgroup(id);
    let usage_file = if v2 {
        "memory.current"
    } else {
        "memory.usage_in_bytes"
    };
    let stat = parse_flat_keyed(&read(cg.join("memory.stat"))?);
    let (anon, file) = if v2 {
        ("anon", "file")
    } else {
        ("rss", "cache")
    };
    let status = parse_kb_fields(&read(format!("/proc/{supervisor}/status"))?);
    let threads = read(format!("/proc/{supervisor}/status"))?
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    Ok(Sample {
        supervisor: parse_kb_fields(&read(format!("/proc/{supervisor}/smaps_rollup"))?),
        supervisor_threads: threads,
        supervisor_pte: status.get("VmPTE").copied().unwrap_or(0),
        sleep: parse_kb_fields(&read(format!("/proc/{pid}/smaps_rollup"))?),
        cgroup_usage: read(cg.join(usage_file))?.trim().parse().unwrap_or(0),
        cgroup_anon: stat.get(anon).copied().unwrap_or(0),
        cgroup_file: stat.get(file).copied().unwrap_or(0),
        cgroup_procs: read(cg.join("cgroup.procs"))?.lines().count(),
    })
}

/// `/proc/meminfo`, in bytes (it must have `MemAvailable`).
fn meminfo() -> Result<BTreeMap<String, u64>> {
    let all = parse_kb_fields(&read("/proc/meminfo")?);
    if !all.contains_key("MemAvailable") {
        fail!("/proc/meminfo não tem MemAvailable");
    }
    Ok(all)
}

/// The host's kernel memory in `/proc/meminfo` (slab, kernel stacks, page
/// tables, per-cpu): what namespaces, mounts and tasks cost, wherever they
/// are charged. Host-wide, but less noisy than `MemAvailable` (no page cache).
const KERNEL_FIELDS: [&str; 5] = [
    "SUnreclaim",
    "SReclaimable",
    "KernelStack",
    "PageTables",
    "Percpu",
];

fn kernel_total(info: &BTreeMap<String, u64>) -> u64 {
    KERNEL_FIELDS
        .iter()
        .map(|k| info.get(*k).copied().unwrap_or(0))
        .sum()
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// From three readings of something the containers take (before, with all
/// up, after removing them): what each took, and what each gave back.
fn per_container(readings: [u64; 3], n: usize) -> (i64, i64) {
    let [before, up, after] = readings.map(|v| v as i128);
    let n = n as i128;
    (((before - up) / n) as i64, ((after - up) / n) as i64)
}

fn median_u64(values: &[u64]) -> u64 {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn mean_u64(values: &[u64]) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values.iter().sum::<u64>() / values.len() as u64
}

fn kib(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / KIB)
}

pub fn run(args: &[String]) -> Result {
    let opts = parse(args)?;
    cmd::require_root("os contêineres medidos criam namespaces e cgroups de verdade")?;
    let bin = cmd::build_casulo_release()?;
    let bin = fs::canonicalize(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let work = tempfile::Builder::new()
        .prefix("casulo-bench-densidade-")
        .tempdir()?;
    let casulo = Casulo {
        bin,
        state: work.path().join("state"),
    };
    cmd::run(&mut casulo.command(&["image", "bootstrap"]))?;
    catch_ctrl_c()?;
    let mut cleanup = Cleanup {
        casulo: &casulo,
        armed: true,
    };
    let load_before = loadavg();
    let info_before = meminfo()?;

    let n = opts.count;
    step(&format!(
        "Iniciando {n} contêineres `busybox sleep` com `run -d`, um depois do outro"
    ));
    let mut times: Vec<Duration> = vec![];
    let mut ids: Vec<String> = vec![];
    let all_began = Instant::now();
    for i in 0..n {
        check_interrupted()?;
        let name = format!("densidade-{i}");
        let began = Instant::now();
        let out = cmd::capture(
            &mut casulo.command(&["run", "-d", "--name", &name, "busybox", "sleep", "86400"]),
        )?;
        times.push(began.elapsed());
        ids.push(out.trim().to_string());
        if (i + 1) % 10 == 0 || i + 1 == n {
            println!(
                "  {}/{n} ({:.1} s)",
                i + 1,
                all_began.elapsed().as_secs_f64()
            );
        }
    }
    let all_took = all_began.elapsed();

    step(&format!(
        "Esperando {} s: os amostradores passam ao ritmo lento (uma leitura a cada 5 s)",
        SETTLE.as_secs()
    ));
    let until = Instant::now() + SETTLE;
    while Instant::now() < until {
        check_interrupted()?;
        std::thread::sleep(Duration::from_millis(200));
    }
    let info_up = meminfo()?;

    step("Medindo cada supervisor, cada `sleep` e cada cgroup");
    let mut inspect = vec!["inspect"];
    inspect.extend(ids.iter().map(String::as_str));
    let info: Value = serde_json::from_str(&cmd::capture(&mut casulo.command(&inspect))?)
        .map_err(|e| format!("inspect não devolveu JSON: {e}"))?;
    let mut samples = vec![];
    let mut kinds: Breakdown = Default::default();
    for c in info.as_array().into_iter().flatten() {
        let id = c["Id"].as_str().unwrap_or_default();
        let status = c["State"]["Status"].as_str().unwrap_or_default();
        let pid = c["State"]["Pid"].as_i64().unwrap_or(0) as i32;
        let supervisor = c["Casulo"]["Supervisor"].as_i64().unwrap_or(0) as i32;
        if status != "running" || pid == 0 || supervisor == 0 {
            fail!("o contêiner {id} não está rodando com um supervisor (estado {status})");
        }
        let s = measure(id, supervisor, pid)?;
        for (k, row) in breakdown(supervisor, &casulo.bin).iter().enumerate() {
            for (i, v) in row.iter().enumerate() {
                kinds[k][i] += v;
            }
        }
        samples.push(s);
    }
    if samples.len() != n {
        fail!("inspect listou {} contêineres de {n}", samples.len());
    }
    let load_after = loadavg();

    step("Removendo todos (rm -f) e casulo gc");
    let rm_took = cleanup.now()?;
    std::thread::sleep(Duration::from_secs(2));
    let info_after = meminfo()?;

    let report = Report {
        n,
        times,
        all_took,
        rm_took,
        samples,
        kinds,
        meminfo: [info_before, info_up, info_after],
        load: [load_before, load_after],
        casulo: &casulo.bin,
    };
    report.print();
    report.save()
}

struct Report<'a> {
    n: usize,
    times: Vec<Duration>,
    all_took: Duration,
    rm_took: Duration,
    samples: Vec<Sample>,
    kinds: Breakdown,
    /// MemAvailable before, with all up, after removing them.
    meminfo: [BTreeMap<String, u64>; 3],
    load: [String; 2],
    casulo: &'a Path,
}

impl Report<'_> {
    fn column(&self, f: impl Fn(&Sample) -> u64) -> Vec<u64> {
        self.samples.iter().map(f).collect()
    }

    fn start_ms(&self) -> (f64, f64, f64) {
        let mut ms: Vec<f64> = self.times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        (ms[ms.len() / 2], ms[0], ms[ms.len() - 1])
    }

    fn available(&self) -> [u64; 3] {
        [0, 1, 2].map(|i| self.meminfo[i]["MemAvailable"])
    }

    /// MemAvailable lost per container while they were up, and given back
    /// after removing them (bytes; negative: more memory available).
    fn host_per_container(&self) -> (i64, i64) {
        per_container(self.available(), self.n)
    }

    /// The same for the host's kernel memory ([`KERNEL_FIELDS`]), grown
    /// while they were up and shrunk after removing them.
    fn kernel_per_container(&self) -> (i64, i64) {
        let [before, up, after] = [0, 1, 2].map(|i| kernel_total(&self.meminfo[i]));
        // It grows where MemAvailable shrinks: the same sums, signs swapped.
        let (lost, back) = per_container([before, up, after], self.n);
        (-lost, -back)
    }

    /// The report on the terminal: start times, memory per container,
    /// the host's view, the supervisor's insides, the verdict.
    fn print(&self) {
        self.print_start();
        self.print_memory();
        self.print_host();
        self.print_supervisor_kinds();
        self.print_verdict();
    }

    /// The machine's load and how long starting and removing them took.
    fn print_start(&self) {
        let n = self.n;
        let (med, min, max) = self.start_ms();
        step(&format!(
            "Densidade: {n} contêineres `busybox sleep` parados (run -d, rede none)"
        ));
        println!(
            "máquina: {} núcleos, carga (1, 5, 15 min) {} antes e {} depois — \
             compartilhada, os tempos variam com ela",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            self.load[0],
            self.load[1]
        );
        println!();
        println!("{:<58}{:>14}", "partida", "");
        println!(
            "{:<58}{:>12.1} s",
            format!("todos os {n}, um depois do outro"),
            self.all_took.as_secs_f64()
        );
        println!("{:<58}{:>11.0} ms", "cada `run -d`: mediana", med);
        println!("{:<58}{:>11.0} ms", "cada `run -d`: mínimo", min);
        println!("{:<58}{:>11.0} ms", "cada `run -d`: máximo", max);
        println!(
            "{:<58}{:>12.1} s",
            format!("rm -f dos {n}"),
            self.rm_took.as_secs_f64()
        );
    }

    /// Per container: the supervisor's memory, the cgroup's, the overhead.
    fn print_memory(&self) {
        println!();
        println!(
            "{:<58}{:>9} {:>9} {:>9}",
            "memória por contêiner (KiB)", "média", "mediana", "máximo"
        );
        let row = |label: &str, v: Vec<u64>| {
            println!(
                "{:<58}{:>9} {:>9} {:>9}",
                label,
                kib(mean_u64(&v)),
                kib(median_u64(&v)),
                kib(v.iter().copied().max().unwrap_or(0))
            );
        };
        let g = Sample::get;
        row("supervisor: PSS", self.column(Sample::supervisor_pss));
        row("  RSS", self.column(|s| g(&s.supervisor, "Rss")));
        row(
            "  Private_Dirty",
            self.column(|s| g(&s.supervisor, "Private_Dirty")),
        );
        row(
            "  Private_Clean",
            self.column(|s| g(&s.supervisor, "Private_Clean")),
        );
        row(
            "  Shared_Clean",
            self.column(|s| g(&s.supervisor, "Shared_Clean")),
        );
        row(
            "  Pss_Anon (anônima)",
            self.column(|s| g(&s.supervisor, "Pss_Anon")),
        );
        row(
            "  Pss_File (de arquivos)",
            self.column(|s| g(&s.supervisor, "Pss_File")),
        );
        row("cgroup do contêiner: uso", self.column(|s| s.cgroup_usage));
        row(
            "  anônima (rss/anon do memory.stat)",
            self.column(|s| s.cgroup_anon),
        );
        row(
            "  cache de páginas (cache/file)",
            self.column(|s| s.cgroup_file),
        );
        row(
            "  núcleo e resto (uso − anônima − cache)",
            self.column(|s| s.cgroup_usage.saturating_sub(s.cgroup_anon + s.cgroup_file)),
        );
        row(
            "o `sleep`: anônima (Anonymous; não é sobrecarga)",
            self.column(|s| g(&s.sleep, "Anonymous")),
        );
        row(
            "o `sleep`: PSS (não é sobrecarga)",
            self.column(|s| g(&s.sleep, "Pss")),
        );
        row(
            "cgroup além do processo (uso − anônima do sleep)",
            self.column(Sample::cgroup_extra),
        );
        row(
            "SOBRECARGA = PSS do supervisor + cgroup além do processo",
            self.column(Sample::overhead),
        );
        row(
            "fora da soma: núcleo do supervisor (VmPTE + 16 KiB/thread)",
            self.column(Sample::supervisor_kernel),
        );
    }

    /// What the host lost and got back (MemAvailable, kernel memory).
    fn print_host(&self) {
        let n = self.n;
        let (lost, back) = self.host_per_container();
        println!(
            "{:<58}{:>9}",
            "MemAvailable do host perdido por contêiner",
            format!("{:.0}", lost as f64 / KIB)
        );
        println!(
            "{:<58}{:>9}",
            "  devolvido depois do rm -f (por contêiner)",
            format!("{:.0}", back as f64 / KIB)
        );
        let (grew, shrank) = self.kernel_per_container();
        println!(
            "{:<58}{:>9}",
            "memória do núcleo do host a mais por contêiner",
            format!("{:.0}", grew as f64 / KIB)
        );
        println!(
            "{:<58}{:>9}",
            "  devolvida depois do rm -f (por contêiner)",
            format!("{:.0}", shrank as f64 / KIB)
        );
        println!("  ({} do /proc/meminfo)", KERNEL_FIELDS.join(" + "));
        let [before, up, after] = self.available();
        println!(
            "  MemAvailable: {} MiB antes, {} MiB com os {n}, {} MiB depois",
            before >> 20,
            up >> 20,
            after >> 20
        );
        let threads = self.column(|s| s.supervisor_threads);
        let procs = self.column(|s| s.cgroup_procs as u64);
        println!(
            "threads por supervisor: {}; processos por cgroup: {}",
            median_u64(&threads),
            median_u64(&procs)
        );
    }

    /// The supervisor's mappings by kind (mean per container).
    fn print_supervisor_kinds(&self) {
        let n = self.n;
        println!();
        println!(
            "{:<58}{:>9} {:>9} {:>9}",
            "o supervisor por dentro (KiB, média)", "PSS", "RSS", "Priv_Dirty"
        );
        for (k, name) in KINDS.iter().enumerate() {
            let [pss, rss, dirty] = self.kinds[k].map(|v| v / n as u64);
            println!(
                "{:<58}{:>9} {:>9} {:>9}",
                name,
                kib(pss),
                kib(rss),
                kib(dirty)
            );
        }
    }

    /// The overhead against the target.
    fn print_verdict(&self) {
        let mean = mean_u64(&self.column(Sample::overhead));
        println!();
        println!(
            "meta: ≤ 1024 KiB por contêiner — {:.0} KiB na média: {}",
            mean as f64 / KIB,
            if mean <= TARGET_BYTES {
                "dentro da meta"
            } else {
                "ACIMA da meta"
            }
        );
        println!("(containerd-shim do docker: ~10 MB cada; conmon do podman: ~1–2 MB)");
    }

    fn save(&self) -> Result {
        let stats = |v: Vec<u64>| {
            json!({
                "mean": mean_u64(&v),
                "median": median_u64(&v),
                "max": v.iter().copied().max().unwrap_or(0),
            })
        };
        let g = Sample::get;
        let (med, min, max) = self.start_ms();
        let (lost, back) = self.host_per_container();
        let kinds: Vec<Value> = KINDS
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let [pss, rss, dirty] = self.kinds[k].map(|v| v / self.n as u64);
                json!({"kind": name, "pss": pss, "rss": rss, "private_dirty": dirty})
            })
            .collect();
        let overhead = mean_u64(&self.column(Sample::overhead));
        let result = json!({
            "benchmark": "density",
            "what": "N idle `busybox sleep 86400` containers started one after the other with \
                     `casulo run -d` (release build, --network none); memory measured after the \
                     samplers slowed down",
            "unit": "bytes (memory), ms (times)",
            "count": self.n,
            "overhead_definition": "supervisor PSS (smaps_rollup) + container cgroup usage \
                (v1 memory.usage_in_bytes, v2 memory.current) minus the sleep's own Anonymous",
            "target_bytes": TARGET_BYTES,
            "within_target": overhead <= TARGET_BYTES,
            "start": {
                "all_sequential_ms": self.all_took.as_secs_f64() * 1e3,
                "per_container_median_ms": med,
                "per_container_min_ms": min,
                "per_container_max_ms": max,
                "samples_ms": self.times.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>(),
            },
            "remove_all_ms": self.rm_took.as_secs_f64() * 1e3,
            "per_container": {
                "overhead": stats(self.column(Sample::overhead)),
                "supervisor_pss": stats(self.column(Sample::supervisor_pss)),
                "supervisor_rss": stats(self.column(|s| g(&s.supervisor, "Rss"))),
                "supervisor_private_dirty": stats(self.column(|s| g(&s.supervisor, "Private_Dirty"))),
                "supervisor_pss_anon": stats(self.column(|s| g(&s.supervisor, "Pss_Anon"))),
                "supervisor_pss_file": stats(self.column(|s| g(&s.supervisor, "Pss_File"))),
                "supervisor_kernel_estimate": stats(self.column(Sample::supervisor_kernel)),
                "supervisor_threads": median_u64(&self.column(|s| s.supervisor_threads)),
                "cgroup_usage": stats(self.column(|s| s.cgroup_usage)),
                "cgroup_anon": stats(self.column(|s| s.cgroup_anon)),
                "cgroup_file": stats(self.column(|s| s.cgroup_file)),
                "cgroup_beyond_process": stats(self.column(Sample::cgroup_extra)),
                "sleep_anonymous": stats(self.column(|s| g(&s.sleep, "Anonymous"))),
                "sleep_pss": stats(self.column(|s| g(&s.sleep, "Pss"))),
                "host_memavailable_lost": lost,
                "host_memavailable_back_after_rm": back,
                "host_kernel_memory_grown": self.kernel_per_container().0,
                "host_kernel_memory_back_after_rm": self.kernel_per_container().1,
            },
            "supervisor_breakdown_mean": kinds,
            "host": {
                "kernel": first_line(Command::new("uname").arg("-r")),
                "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                "cgroup": if memory_cgroup("x").1 { "v2" } else { "v1 (memory.usage_in_bytes)" },
                "loadavg_before": self.load[0],
                "loadavg_after": self.load[1],
                "meminfo_before": self.meminfo[0],
                "meminfo_all_up": self.meminfo[1],
                "meminfo_after_rm": self.meminfo[2],
            },
            "versions": {
                "casulo": first_line(Command::new(self.casulo).arg("--version")),
                "git_commit": first_line(
                    Command::new("git")
                        .current_dir(cmd::workspace_root())
                        .args(["rev-parse", "--short", "HEAD"]),
                ),
            },
            "unix_time": std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        });
        crate::bench_tools::write_results("densidade.json", &result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kb_fields_become_bytes() {
        let rollup = "55d0c000-7ffd1000 ---p 00000000 00:00 0    [rollup]\n\
                      Rss:                2048 kB\n\
                      Pss:                 310 kB\n\
                      Pss_Anon:            200 kB\n\
                      Private_Dirty:       204 kB\n";
        let f = parse_kb_fields(rollup);
        assert_eq!(f["Rss"], 2048 * 1024);
        assert_eq!(f["Pss"], 310 * 1024);
        assert_eq!(f["Private_Dirty"], 204 * 1024);
        assert_eq!(f.len(), 4, "a linha de cabeçalho não é um campo: {f:?}");
        let status = "Name:\tcasulo-supervi\nThreads:\t3\nVmPTE:\t      64 kB\n";
        let s = parse_kb_fields(status);
        assert_eq!(s.get("VmPTE"), Some(&(64 * 1024)));
        assert!(!s.contains_key("Threads") && !s.contains_key("Name"));
    }

    #[test]
    fn memory_stat_is_key_value() {
        let s = parse_flat_keyed("cache 135168\nrss 81920\nrss_huge 0\n");
        assert_eq!((s["cache"], s["rss"], s["rss_huge"]), (135168, 81920, 0));
    }

    #[test]
    fn smaps_mappings_and_their_fields() {
        let text = "\
55f1e2a00000-55f1e2b00000 r-xp 00001000 fd:01 123 /work/target/release/casulo
Rss:                 600 kB
Pss:                   6 kB
Private_Dirty:         0 kB
VmFlags: rd ex mr mw me sd
55f1e3000000-55f1e3021000 rw-p 00000000 00:00 0          [heap]
Rss:                  40 kB
Pss:                  40 kB
Private_Dirty:        40 kB
7f0000000000-7f0000010000 rw-p 00000000 00:00 0 
Rss:                   8 kB
Pss:                   8 kB
Private_Dirty:         8 kB
7ffc0000000-7ffc0021000 rw-p 00000000 00:00 0            [stack]
Rss:                  12 kB
";
        let maps = parse_smaps(text);
        assert_eq!(maps.len(), 4);
        assert_eq!(maps[0].path, "/work/target/release/casulo");
        assert_eq!(maps[0].perms, "r-xp");
        assert_eq!(maps[0].fields["Pss"], 6 * 1024);
        assert_eq!(maps[1].path, "[heap]");
        assert_eq!(maps[2].path, "");
        assert_eq!(
            (maps[2].start, maps[2].end),
            (0x7f00_0000_0000, 0x7f00_0001_0000)
        );
        let casulo = Path::new("/work/target/release/casulo");
        let sp = [0x7f00_0000_8000];
        let kinds: Vec<usize> = maps.iter().map(|m| kind_of(m, casulo, &sp)).collect();
        assert_eq!(
            kinds,
            [0, 2, 3, 3],
            "a pilha de uma thread é achada pelo sp"
        );
        assert_eq!(kind_of(&maps[2], casulo, &[]), 4);
    }

    #[test]
    fn the_stack_pointer_of_a_blocked_thread() {
        let text = "7 0x7f3a1c000b70 0x1 0xffffffff 0x0 0x8 0x0 0x7f3a1bffe9f0 0x7f3a1d2e3f4d\n";
        assert_eq!(parse_syscall_sp(text), Some(0x7f3a_1bff_e9f0));
        assert_eq!(parse_syscall_sp("running\n"), None);
    }

    #[test]
    fn per_container_takes_and_gives_back() {
        // 100 containers took 200 KiB each and gave back 150 KiB each.
        let (before, up, after) = (1_000_000_000u64, 1_000_000_000 - 20_480_000, 995_000_000);
        assert_eq!(per_container([before, up, after], 100), (204_800, 154_800));
        let (lost, back) = per_container([5, 10, 4], 1);
        assert_eq!(
            (lost, back),
            (-5, -6),
            "mais memória livre: números negativos"
        );
    }

    #[test]
    fn options() {
        assert_eq!(parse(&[]).unwrap().count, 100);
        assert_eq!(parse(&["--quantos".into(), "7".into()]).unwrap().count, 7);
        assert!(parse(&["--quantos".into(), "0".into()]).is_err());
        assert!(parse(&["--x".into()]).is_err());
    }
}
