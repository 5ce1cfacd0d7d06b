//! `probe`: a tiny static program that runs *inside* a container and reports
//! what it sees, as one JSON document on stdout.
//!
//! The end-to-end tests (crate `casulo-tests`) copy it into a test image at
//! `/probe` and run it with `casulo run`. It plays the part of youki's
//! `runtimetest` or CodeCrafters' `mypid`: instead of guessing from a shell
//! script, a test asks the probe and reads facts (pid, namespaces, mounts...).
//!
//! Rules that keep it useful in any rootfs:
//! - std and `libc` only: it must build static for `x86_64-unknown-linux-musl`
//!   (`libc` only declares the C library's functions and constants, which
//!   std links anyway);
//! - everything comes from `/proc` and std APIs, except the attacks of
//!   `ataques` ([`attacks`]), which are system calls by nature, and
//!   `kill(2)` for `kill-self` (std has no "send signal N" API);
//! - stdout carries exactly one JSON object (except `alloc`/`fork`/`spin`
//!   progress, which goes to stderr), so `serde_json::from_str` can read it.
//!
//! Exit codes: 0 ok, 1 the operation failed (the JSON says why), 2 usage error.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "\
uso: probe <comando> [args]
  info                 pid, ppid, uid, gid, hostname, cwd, env, namespaces, mounts, ...
  exists CAMINHO...    {\"CAMINHO\": true|false, ...}
  write CAMINHO TEXTO  escreve um arquivo
  read CAMINHO         lê um arquivo
  exit N               termina com o código N
  kill-self SINAL      envia o sinal (número) a si mesmo
  sleep SEGUNDOS       dorme (aceita frações: 0.5)
  alloc TAMANHO        aloca e toca memória página a página (ex.: 200M, 1G, 4096)
  fork N [SEGUNDOS]    tenta criar N filhos que dormem; mantém-nos SEGUNDOS (padrão 0)
  spin SEGUNDOS [FIOS] laço ocupado (CPU) por SEGUNDOS, em FIOS threads (padrão 1)
  ataques [--disco MAJ:MIN] [--pid-host PID] [NOME...]
                       tenta, como root, o que um atacante tentaria contra o host
                       (cada ataque num processo filho; relatório em JSON)
  ataque NOME [...]    um ataque só, neste processo
  tiocsti FD TEXTO     tenta digitar TEXTO no terminal FD com ioctl(TIOCSTI)
  serve-tcp PORTA TEXTO  servidor HTTP/1.0 mínimo: a cada pedido responde TEXTO (uma thread
                       por conexão, fila de listen grande); roda até ser morto
  cronometrar RODADAS NOME PROG ARGS... [,, NOME PROG ARGS...]
                       início→fim de cada programa, em rodadas intercaladas (mediana,
                       p10, p90 e CPU em ms); para onde não há hyperfine (a VM)";

mod attacks;
mod stopwatch;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let code = match args.as_slice() {
        ["info"] => cmd_info(),
        ["exists", paths @ ..] if !paths.is_empty() => cmd_exists(paths),
        ["write", path, text] => cmd_write(path, text),
        ["read", path] => cmd_read(path),
        ["exit", n] => match n.parse::<i32>() {
            Ok(n) => {
                emit(&obj([("exit", Json::Int(n as i64))]));
                n
            }
            Err(_) => usage(),
        },
        ["kill-self", sig] => match sig.parse::<i32>() {
            Ok(sig) => cmd_kill_self(sig),
            Err(_) => usage(),
        },
        ["sleep", secs] => match parse_secs(secs) {
            Some(d) => {
                std::thread::sleep(d);
                emit(&obj([("slept_ms", Json::Int(d.as_millis() as i64))]));
                0
            }
            None => usage(),
        },
        ["alloc", size] => match parse_size(size) {
            Some(bytes) => cmd_alloc(bytes),
            None => usage(),
        },
        ["fork", n] => match n.parse() {
            Ok(n) => cmd_fork(n, Duration::ZERO),
            Err(_) => usage(),
        },
        ["fork", n, secs] => match (n.parse(), parse_secs(secs)) {
            (Ok(n), Some(hold)) => cmd_fork(n, hold),
            _ => usage(),
        },
        ["spin", secs] => match parse_secs(secs) {
            Some(d) => cmd_spin(d, 1),
            None => usage(),
        },
        ["spin", secs, threads] => match (parse_secs(secs), threads.parse()) {
            (Some(d), Ok(n)) if n >= 1 => cmd_spin(d, n),
            _ => usage(),
        },
        ["ataques", rest @ ..] => match attack_args(rest) {
            Some((targets, names)) => attacks::run_all(&targets, &names),
            None => usage(),
        },
        ["ataque", name, rest @ ..] => match attack_args(rest) {
            Some((targets, names)) if names.is_empty() => attacks::run_one(name, &targets),
            _ => usage(),
        },
        ["cronometrar", rounds, spec @ ..] => match rounds.parse() {
            Ok(rounds) => stopwatch::run(rounds, spec),
            Err(_) => usage(),
        },
        ["tiocsti", fd, text] => match fd.parse() {
            Ok(fd) => cmd_tiocsti(fd, text),
            Err(_) => usage(),
        },
        ["serve-tcp", port, text] => match port.parse::<u16>() {
            Ok(port) => cmd_serve_tcp(port, text),
            Err(_) => usage(),
        },
        _ => usage(),
    };
    std::process::exit(code);
}

/// `[--disco MAJ:MIN] [--pid-host PID] [NOME...]`.
fn attack_args<'a>(args: &[&'a str]) -> Option<(attacks::Targets, Vec<&'a str>)> {
    let mut targets = attacks::Targets::default();
    let mut names = vec![];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--disco" => {
                let (ma, mi) = it.next()?.split_once(':')?;
                targets.disk = Some((ma.parse().ok()?, mi.parse().ok()?));
            }
            "--pid-host" => targets.host_pid = Some(it.next()?.parse().ok()?),
            name => names.push(name),
        }
    }
    Some((targets, names))
}

fn usage() -> i32 {
    eprintln!("{USAGE}");
    2
}

// ---------------------------------------------------------------- info

/// `probe info`: the process's view of the world.
fn cmd_info() -> i32 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let env: BTreeMap<String, String> = std::env::vars_os()
        .map(|(k, v)| (k.to_string_lossy().into(), v.to_string_lossy().into()))
        .collect();

    let mut ns = Vec::new();
    for name in ["pid", "mnt", "uts", "ipc", "net", "cgroup", "user", "time"] {
        // stat() follows the magic link to the nsfs inode: its number is the
        // namespace's identity (same number = same namespace).
        let v = match fs::metadata(format!("/proc/self/ns/{name}")) {
            Ok(m) => Json::Int(m.ino() as i64),
            Err(_) => Json::Null,
        };
        ns.push((name.to_string(), v));
    }

    let info = Json::Obj(vec![
        ("pid".into(), Json::Int(std::process::id() as i64)),
        (
            "ppid".into(),
            Json::Int(std::os::unix::process::parent_id() as i64),
        ),
        ("uid".into(), status_id(&status, "Uid:")),
        ("gid".into(), status_id(&status, "Gid:")),
        ("hostname".into(), read_trimmed("/proc/sys/kernel/hostname")),
        (
            "domainname".into(),
            read_trimmed("/proc/sys/kernel/domainname"),
        ),
        (
            "cwd".into(),
            match std::env::current_dir() {
                Ok(p) => Json::Str(p.to_string_lossy().into()),
                Err(_) => Json::Null,
            },
        ),
        ("exe".into(), read_link("/proc/self/exe")),
        (
            "env".into(),
            Json::Obj(env.into_iter().map(|(k, v)| (k, Json::Str(v))).collect()),
        ),
        ("ns".into(), Json::Obj(ns)),
        ("mounts".into(), mounts()),
        ("net_links".into(), net_links()),
        ("visible_pids".into(), visible_pids()),
        ("cgroup".into(), cgroups()),
        (
            "root_inode".into(),
            match fs::metadata("/") {
                Ok(m) => Json::Int(m.ino() as i64),
                Err(_) => Json::Null,
            },
        ),
        ("cap_eff".into(), status_field(&status, "CapEff:")),
        ("no_new_privs".into(), status_field(&status, "NoNewPrivs:")),
        ("seccomp".into(), status_field(&status, "Seccomp:")),
    ]);
    emit(&info);
    0
}

/// Real uid/gid: the first number on the `Uid:`/`Gid:` line of /proc/self/status.
fn status_id(status: &str, key: &str) -> Json {
    match status_field(status, key) {
        Json::Str(s) => s
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .map(Json::Int)
            .unwrap_or(Json::Null),
        other => other,
    }
}

fn status_field(status: &str, key: &str) -> Json {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| Json::Str(v.trim().into()))
        .unwrap_or(Json::Null)
}

fn read_trimmed(path: &str) -> Json {
    match fs::read_to_string(path) {
        Ok(s) => Json::Str(s.trim_end_matches('\n').into()),
        Err(_) => Json::Null,
    }
}

fn read_link(path: &str) -> Json {
    match fs::read_link(path) {
        Ok(p) => Json::Str(p.to_string_lossy().into()),
        Err(_) => Json::Null,
    }
}

/// /proc/self/mountinfo, one object per mount, in mount order.
///
/// Line format (proc(5)): `id parent major:minor root target options
/// [optional fields...] - fstype source super_options`.
fn mounts() -> Json {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let (left, right) = match line.split_once(" - ") {
            Some(lr) => lr,
            None => continue,
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 6 || r.len() < 3 {
            continue;
        }
        out.push(Json::Obj(vec![
            ("target".into(), Json::Str(unescape_octal(l[4]))),
            ("fstype".into(), Json::Str(r[0].into())),
            ("source".into(), Json::Str(unescape_octal(r[1]))),
            ("options".into(), Json::Str(l[5].into())),
            ("super_options".into(), Json::Str(r[2].into())),
            ("root".into(), Json::Str(unescape_octal(l[3]))),
            ("propagation".into(), Json::Str(l[6..].join(" "))),
        ]));
    }
    Json::Arr(out)
}

/// The kernel writes space, tab, newline and backslash in mountinfo as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Interface names from /proc/net/dev (two header lines, then `name: counters`).
fn net_links() -> Json {
    let text = fs::read_to_string("/proc/net/dev").unwrap_or_default();
    Json::Arr(
        text.lines()
            .skip(2)
            .filter_map(|l| l.split_once(':'))
            .map(|(name, _)| Json::Str(name.trim().into()))
            .collect(),
    )
}

/// Numeric entries of /proc: the pids this process can see (sorted).
fn visible_pids() -> Json {
    let mut pids: Vec<i64> = fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    pids.sort_unstable();
    Json::Arr(pids.into_iter().map(Json::Int).collect())
}

/// /proc/self/cgroup, one object per line `id:controllers:path`
/// (v1 has one line per hierarchy, v2 a single `0::/path`).
fn cgroups() -> Json {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    Json::Arr(
        text.lines()
            .filter_map(|l| {
                let mut it = l.splitn(3, ':');
                let (id, ctl, path) = (it.next()?, it.next()?, it.next()?);
                Some(Json::Obj(vec![
                    ("id".into(), Json::Int(id.parse().unwrap_or(-1))),
                    ("controllers".into(), Json::Str(ctl.into())),
                    ("path".into(), Json::Str(path.into())),
                ]))
            })
            .collect(),
    )
}

// ---------------------------------------------------------------- files

/// `probe exists P...`: lstat each path (a dangling symlink exists).
fn cmd_exists(paths: &[&str]) -> i32 {
    let fields = paths
        .iter()
        .map(|p| (p.to_string(), Json::Bool(fs::symlink_metadata(p).is_ok())))
        .collect();
    emit(&Json::Obj(fields));
    0
}

fn cmd_write(path: &str, text: &str) -> i32 {
    match fs::write(path, text) {
        Ok(()) => {
            emit(&obj([
                ("ok", Json::Bool(true)),
                ("path", Json::Str(path.into())),
                ("bytes", Json::Int(text.len() as i64)),
            ]));
            0
        }
        Err(e) => fail(path, &e),
    }
}

fn cmd_read(path: &str) -> i32 {
    match fs::read(path) {
        Ok(bytes) => {
            emit(&obj([
                ("ok", Json::Bool(true)),
                ("path", Json::Str(path.into())),
                ("content", Json::Str(String::from_utf8_lossy(&bytes).into())),
            ]));
            0
        }
        Err(e) => fail(path, &e),
    }
}

/// Error JSON: `{"ok":false,"path":..,"error":..,"errno":..}`, exit 1.
/// `errno` lets a test check e.g. EROFS (30) or EACCES (13) exactly.
fn fail(path: &str, e: &std::io::Error) -> i32 {
    emit(&obj([
        ("ok", Json::Bool(false)),
        ("path", Json::Str(path.into())),
        ("error", Json::Str(e.to_string())),
        (
            "errno",
            e.raw_os_error()
                .map(|n| Json::Int(n as i64))
                .unwrap_or(Json::Null),
        ),
    ]));
    1
}

// ---------------------------------------------------------------- signals

/// `probe kill-self SIG`: send SIG to our own pid.
///
/// If the process dies, nothing is printed (the exit status tells: a shell
/// or engine reports 128+SIG). If it survives, the probe says so and exits 1:
/// this is what happens to a namespace's *init* (pid 1), which the kernel
/// protects from signals it has no handler for, even SIGKILL sent from
/// inside its own namespace — a lesson in itself.
fn cmd_kill_self(sig: i32) -> i32 {
    let pid = std::process::id() as i32;
    let ret = kill(pid, sig);
    // Signals are delivered on return from the syscall; give it a moment.
    std::thread::sleep(Duration::from_millis(100));
    emit(&obj([
        ("signal", Json::Int(sig as i64)),
        ("pid", Json::Int(pid as i64)),
        ("survived", Json::Bool(true)),
        ("kill_result", Json::Int(ret as i64)),
    ]));
    1
}

/// kill(2) as a raw syscall: std has no API to send an arbitrary signal.
/// Returns 0 or -errno.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn kill(pid: i32, sig: i32) -> isize {
    const SYS_KILL: isize = 62;
    let ret: isize;
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") SYS_KILL => ret,
            in("rdi") pid as isize,
            in("rsi") sig as isize,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Other architectures: ask the rootfs's `kill` (busybox has one).
#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn kill(pid: i32, sig: i32) -> isize {
    match Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
    {
        Ok(s) if s.success() => 0,
        _ => -1,
    }
}

// ---------------------------------------------------------------- terminal

/// `probe tiocsti FD TEXT`: push TEXT, byte by byte, into the input of the
/// terminal open at FD, as if typed there (`ioctl(FD, TIOCSTI, &byte)`).
/// Reports the first result: 0, or -errno (-1 EPERM when the terminal is
/// not our controlling one and CAP_SYS_ADMIN is missing). The attack a
/// container must not be able to make on the caller's shell.
fn cmd_tiocsti(fd: i32, text: &str) -> i32 {
    let mut result = 0;
    for byte in text.bytes() {
        result = ioctl_tiocsti(fd, &byte);
        if result != 0 {
            break;
        }
    }
    emit(&obj([("tiocsti", Json::Int(result as i64))]));
    0
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn ioctl_tiocsti(fd: i32, byte: &u8) -> isize {
    const SYS_IOCTL: isize = 16;
    const TIOCSTI: isize = 0x5412;
    let ret: isize;
    // SAFETY: the kernel reads one byte at `byte`, alive for the call.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") SYS_IOCTL => ret,
            in("rdi") fd as isize,
            in("rsi") TIOCSTI,
            in("rdx") byte as *const u8,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn ioctl_tiocsti(_fd: i32, _byte: &u8) -> isize {
    -38 // ENOSYS: only written for x86_64
}

// ---------------------------------------------------------------- resources

/// `probe alloc SIZE`: allocate SIZE bytes in 1 MiB chunks, writing every
/// byte so the kernel really backs each page (an untouched allocation costs
/// nothing). Progress goes to stderr as JSON lines every 16 MiB, so a test
/// can see how far it got before the OOM killer (SIGKILL) stepped in.
fn cmd_alloc(bytes: u64) -> i32 {
    const CHUNK: usize = 1 << 20;
    let start = Instant::now();
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut touched: u64 = 0;
    let mut next_report: u64 = 16 << 20;
    while touched < bytes {
        let n = CHUNK.min((bytes - touched) as usize);
        let mut v: Vec<u8> = Vec::new();
        if let Err(e) = v.try_reserve_exact(n) {
            emit(&obj([
                ("ok", Json::Bool(false)),
                ("requested", Json::Int(bytes as i64)),
                ("touched", Json::Int(touched as i64)),
                ("error", Json::Str(e.to_string())),
            ]));
            return 1;
        }
        v.resize(n, 0xA5); // writes every byte: every page is touched
        chunks.push(std::hint::black_box(v));
        touched += n as u64;
        if touched >= next_report {
            progress(&obj([("touched", Json::Int(touched as i64))]));
            next_report += 16 << 20;
        }
    }
    emit(&obj([
        ("ok", Json::Bool(true)),
        ("requested", Json::Int(bytes as i64)),
        ("touched", Json::Int(touched as i64)),
        ("elapsed_ms", Json::Int(start.elapsed().as_millis() as i64)),
    ]));
    drop(chunks);
    0
}

/// `probe fork N [HOLD]`: start N children (`/proc/self/exe sleep 3600`),
/// counting how many the kernel allowed (a pids cgroup limit makes clone()
/// fail with EAGAIN). Holds them HOLD seconds (so a test can look at
/// pids.current from outside), then kills and reaps them before reporting.
fn cmd_fork(n: u64, hold: Duration) -> i32 {
    let mut children: Vec<Child> = Vec::new();
    let mut errors: Vec<Json> = Vec::new();
    for _ in 0..n {
        match Command::new("/proc/self/exe")
            .args(["sleep", "3600"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
        {
            Ok(c) => children.push(c),
            Err(e) => {
                // Keep the first few distinct messages only.
                let msg = Json::Str(e.to_string());
                if errors.len() < 3 && !errors.contains(&msg) {
                    errors.push(msg);
                }
            }
        }
    }
    let started = children.len();
    progress(&obj([("started", Json::Int(started as i64))]));
    std::thread::sleep(hold);
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    emit(&obj([
        ("requested", Json::Int(n as i64)),
        ("started", Json::Int(started as i64)),
        ("failed", Json::Int(n as i64 - started as i64)),
        ("errors", Json::Arr(errors)),
    ]));
    0
}

/// `probe spin SECS`: burn CPU for SECS of wall time, then report how much
/// CPU time we actually got (a cpu cgroup quota shows as cpu/wall < 1).
fn cmd_spin(d: Duration, threads: usize) -> i32 {
    let cpu0 = cpu_time_ns();
    let start = Instant::now();
    let spin = move || {
        let mut iterations: u64 = 0;
        while start.elapsed() < d {
            for _ in 0..10_000 {
                iterations = std::hint::black_box(iterations.wrapping_add(1));
            }
        }
        iterations
    };
    // More threads than the quota allows make the kernel throttle the
    // cgroup even on a busy machine (one thread may never reach it).
    let others: Vec<_> = (1..threads).map(|_| std::thread::spawn(spin)).collect();
    let mut iterations = spin();
    for t in others {
        iterations = iterations.wrapping_add(t.join().unwrap_or(0));
    }
    let wall = start.elapsed().as_nanos() as i64;
    let cpu = match (cpu0, cpu_time_ns()) {
        (Some(a), Some(b)) => Json::Int((b - a) as i64),
        _ => Json::Null,
    };
    emit(&obj([
        ("wall_ns", Json::Int(wall)),
        ("cpu_ns", cpu),
        ("iterations", Json::Int(iterations as i64)),
    ]));
    0
}

/// CPU time of the whole process (every thread) in ns.
fn cpu_time_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    (r == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

// ---------------------------------------------------------------- parsing

/// "200M", "1G", "512K", "4096" -> bytes (binary units).
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&s[..i], 1 << 20),
        (i, 'g' | 'G') => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

// ---------------------------------------------------------------- serve-tcp

/// `probe serve-tcp PORT TEXT`: answers every request with `TEXT` over
/// HTTP/1.0, one thread per connection, until killed. Unlike busybox
/// `httpd` (a listen backlog of 9), std's listener has a large backlog and
/// accepts at once: hundreds of connections arriving together (the port
/// proxy's tests) are all taken, none left half-open by an overflowing
/// queue. Prints nothing unless it cannot listen (then the usual JSON).
fn cmd_serve_tcp(port: u16, text: &str) -> i32 {
    use std::io::{BufRead, BufReader};
    let listener = match std::net::TcpListener::bind(("0.0.0.0", port)) {
        Ok(l) => l,
        Err(e) => return fail(&format!("0.0.0.0:{port}"), &e),
    };
    let answer = format!("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n{text}\n");
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let answer = answer.clone();
        std::thread::spawn(move || {
            // The request ends at its blank line (or when the client stops
            // sending); then the answer, and the connection closes.
            let mut reader = BufReader::new(&conn);
            let mut line = String::new();
            while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
                if line == "\r\n" || line == "\n" {
                    break;
                }
                line.clear();
            }
            let _ = (&conn).write_all(answer.as_bytes());
        });
    }
    0
}

/// "2", "0.5" -> Duration.
fn parse_secs(s: &str) -> Option<Duration> {
    let f: f64 = s.parse().ok()?;
    if f.is_finite() && f >= 0.0 {
        Some(Duration::from_secs_f64(f))
    } else {
        None
    }
}

// ---------------------------------------------------------------- JSON

/// Just enough JSON to write our reports.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Arr(Vec<Json>),
    /// Keys keep insertion order.
    Obj(Vec<(String, Json)>),
    /// Text that already is JSON (a child's report), written as is.
    Raw(String),
}

fn obj<const N: usize>(fields: [(&str, Json); N]) -> Json {
    Json::Obj(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

impl Json {
    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Str(s) => write_str(s, out),
            Json::Raw(s) => out.push_str(s),
            Json::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write(out);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(k, out);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// A JSON string literal: quotes, backslashes and control characters escaped
/// (RFC 8259 §7); everything else, UTF-8 included, passes through.
fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The report: one JSON object and a newline on stdout.
fn emit(v: &Json) {
    let mut s = String::new();
    v.write(&mut s);
    s.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

/// Progress: one JSON line on stderr, flushed at once (we may be killed next).
fn progress(v: &Json) {
    let mut s = String::new();
    v.write(&mut s);
    s.push('\n');
    let _ = std::io::stderr().write_all(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_string(v: &Json) -> String {
        let mut s = String::new();
        v.write(&mut s);
        s
    }

    #[test]
    fn escapes_strings() {
        let v = obj([("a\"b", Json::Str("x\\y\n\t\u{1}é\u{7f}".into()))]);
        assert_eq!(to_string(&v), r#"{"a\"b":"x\\y\n\t\u0001é\u007f"}"#);
    }

    #[test]
    fn sizes_and_secs() {
        assert_eq!(parse_size("200M"), Some(200 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_secs("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_secs("-1"), None);
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_octal(r"/mnt/a\040b"), "/mnt/a b");
        assert_eq!(unescape_octal(r"/x\134"), r"/x\");
        assert_eq!(unescape_octal(r"/y\04"), r"/y\04");
    }
}
