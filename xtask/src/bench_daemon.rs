//! `cargo xtask bench daemon`: what the Docker API costs.
//!
//! A real `casulo daemon` (release build) on a private socket and a
//! private state dir (busybox bootstrapped there), measured side by side
//! in one run:
//!
//! - **a container through the API**: `docker run --rm busybox true` (the
//!   unmodified docker CLI, `DOCKER_HOST=unix://…`) against
//!   `casulo run --rm busybox true` on the same state dir, in interleaved
//!   rounds (each round runs both, in a rotating order);
//! - **listing**: with N (50) containers up (`casulo run -d … sleep`),
//!   `GET /containers/json` on the socket, one connection per request as
//!   `docker ps` does (latency median/p90 and requests/s, one after the
//!   other), and the wall time of `docker ps` itself;
//! - **the live view's latency**: a container just started with `run -d`
//!   writes a `cgroup.sample` 5×/s; a client follows `/casulo/live/ID` on
//!   the socket, and for each event compares when it arrived with when the
//!   engine wrote it (the header's `started_at` + the event's `t_us`).
//!
//! Everything is removed at the end (`rm -f` of every container, `gc`),
//! also on failure. Output: a table and `bench-results/daemon.json`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::bench_density::{Casulo, Cleanup};
use crate::bench_tools::{first_line, time};
use crate::cmd::{self, step};
use crate::{fail, Result};

struct Options {
    runs: usize,
    containers: usize,
    requests: usize,
    live_s: u64,
}

fn parse_options(args: &[String]) -> Result<Options> {
    let mut o = Options {
        runs: 20,
        containers: 50,
        requests: 200,
        live_s: 6,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = |what: &str| -> Result<usize> {
            match it.next().and_then(|v| v.parse().ok()) {
                Some(n) if n > 0 => Ok(n),
                _ => fail!("{what} pede um número maior que zero"),
            }
        };
        match a.as_str() {
            "--runs" => o.runs = number("--runs")?,
            "--quantos" => o.containers = number("--quantos")?,
            "--pedidos" => o.requests = number("--pedidos")?,
            other => fail!(
                "opção desconhecida de `bench daemon`: {other} (há --runs N, --quantos N, --pedidos N)"
            ),
        }
    }
    Ok(o)
}

/// The daemon of the bench: SIGTERM when dropped.
struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

pub fn run(args: &[String]) -> Result {
    let opts = parse_options(args)?;
    cmd::require_root("os contêineres medidos criam namespaces e cgroups de verdade")?;
    if first_line(Command::new("docker").arg("--version")).is_none() {
        fail!("o bench do daemon usa o docker CLI de verdade: instale o pacote docker-cli (ou docker.io)");
    }
    let bin = cmd::build_casulo_release()?;
    let work = tempfile::Builder::new()
        .prefix("casulo-bench-daemon-")
        .tempdir()?;
    let casulo = Casulo {
        bin,
        state: work.path().join("estado"),
    };
    let mut cleanup = Cleanup {
        casulo: &casulo,
        armed: true,
    };
    step("Preparando o estado do bench (busybox do host) e o daemon");
    cmd::capture(&mut casulo.command(&["image", "bootstrap"]))?;
    let daemon = Daemon::start(&casulo, work.path())?;
    let docker = Docker {
        socket: &daemon.socket,
        config: work.path().join("docker-config"),
    };
    let load_before = load();

    let (run_docker, run_casulo) = measure_run(&opts, &docker, &casulo)?;
    let listing = measure_list(&opts, &docker, &casulo)?;
    let (events, live_stats) = measure_live(&opts, &daemon.socket, &casulo)?;
    let load_after = load();
    drop(daemon);
    let rm = cleanup.now()?;
    println!("  limpeza: rm -f de todos em {:.1} s, gc", rm.as_secs_f64());
    println!("  carga da máquina (loadavg 1 min): {load_before} antes, {load_after} depois");

    let result = json!({
        "benchmark": "daemon",
        "runs": opts.runs,
        "run_true": {
            "docker_via_daemon": run_docker.json(),
            "casulo_run": run_casulo.json(),
            "api_cost_ms_median": run_docker.median - run_casulo.median,
            "ratio_median": run_docker.median / run_casulo.median,
        },
        "list": {
            "containers": listing.containers,
            "requests": opts.requests,
            "get_containers_json": listing.requests.json(),
            "requests_per_s_sequential": listing.per_s,
            "docker_ps": listing.docker_ps.json(),
        },
        "live": {
            "events": events,
            "write_to_client_ms": live_stats.json(),
            "daemon_looks_every_ms": 100,
        },
        "loadavg_1min": { "before": load_before, "after": load_after },
        "docker": first_line(Command::new("docker").arg("--version")),
        "unix_time": SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    });
    crate::bench_tools::write_results("daemon.json", &result)
}

impl Daemon {
    /// `casulo daemon` on `<work>/docker.sock`, once the socket answers
    /// (its log in `<work>/daemon.log`).
    fn start(casulo: &Casulo, work: &Path) -> Result<Daemon> {
        let socket = work.join("docker.sock");
        let log = work.join("daemon.log");
        let child = casulo
            .command(&["daemon", "--socket", socket.to_str().expect("utf-8")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let daemon = Daemon { child, socket };
        let began = Instant::now();
        while UnixStream::connect(&daemon.socket).is_err() {
            if began.elapsed() > Duration::from_secs(20) {
                fail!(
                    "o daemon não abriu {}:\n{}",
                    daemon.socket.display(),
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(daemon)
    }
}

/// The unmodified docker CLI, pointed at the bench's daemon.
struct Docker<'a> {
    socket: &'a Path,
    config: PathBuf,
}

impl Docker<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("docker");
        c.args(args)
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_CONFIG", &self.config)
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_API_VERSION")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    }
}

/// `docker run --rm busybox true` through the daemon × `casulo run` of the
/// same, in rounds of rotating order (two of warm-up not counted).
fn measure_run(opts: &Options, docker: &Docker, casulo: &Casulo) -> Result<(Stats, Stats)> {
    step(&format!(
        "Um contêiner: docker run pelo daemon × casulo run ({} rodadas alternadas, 2 de aquecimento)",
        opts.runs
    ));
    let (mut via_docker, mut via_casulo) = (vec![], vec![]);
    for round in 0..opts.runs + 2 {
        let mut d = docker.command(&["run", "--rm", "busybox", "true"]);
        let mut c = casulo.command(&["run", "--rm", "busybox", "true"]);
        c.stdout(Stdio::null()).stderr(Stdio::piped());
        let (a, b) = if round % 2 == 0 {
            let a = time(&mut d)?;
            (a, time(&mut c)?)
        } else {
            let b = time(&mut c)?;
            (time(&mut d)?, b)
        };
        if round >= 2 {
            via_docker.push(a);
            via_casulo.push(b);
        }
    }
    let run_docker = Stats::of(&via_docker);
    let run_casulo = Stats::of(&via_casulo);
    println!("  docker run pelo daemon: {run_docker}");
    println!("  casulo run direto:      {run_casulo}");
    Ok((run_docker, run_casulo))
}

/// The listing's figures, with `containers` up.
struct Listing {
    containers: usize,
    requests: Stats,
    per_s: f64,
    docker_ps: Stats,
}

/// `opts.containers` containers up, then `GET /containers/json` one
/// request after the other, and `docker ps`.
fn measure_list(opts: &Options, docker: &Docker, casulo: &Casulo) -> Result<Listing> {
    step(&format!(
        "{} contêineres `sleep` no ar (casulo run -d)",
        opts.containers
    ));
    for i in 0..opts.containers {
        let name = format!("bench-ps-{i}");
        cmd::capture(
            &mut casulo.command(&["run", "-d", "--name", &name, "busybox", "sleep", "3600"]),
        )?;
    }
    let listed = list(docker.socket)?;
    let Some(n) = serde_json::from_str::<Value>(&listed)
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
    else {
        fail!("GET /containers/json não respondeu uma lista JSON: {listed}");
    };
    if n < opts.containers {
        fail!(
            "GET /containers/json listou {n} contêineres, esperava {}",
            opts.containers
        );
    }
    let mut requests = vec![];
    let all = Instant::now();
    for _ in 0..opts.requests {
        let t = Instant::now();
        list(docker.socket)?;
        requests.push(t.elapsed());
    }
    let per_s = opts.requests as f64 / all.elapsed().as_secs_f64();
    let list_stats = Stats::of(&requests);
    let mut ps = vec![];
    for _ in 0..opts.runs {
        ps.push(time(&mut docker.command(&["ps"]))?);
    }
    let ps_stats = Stats::of(&ps);
    println!(
        "  GET /containers/json com {n}: {list_stats}, {per_s:.0} pedidos/s (um após o outro)"
    );
    println!("  docker ps com {n}:            {ps_stats}");
    Ok(Listing {
        containers: n,
        requests: list_stats,
        per_s,
        docker_ps: ps_stats,
    })
}

/// A container started with `run -d`, followed on `/casulo/live`: how
/// many events arrived, and how late.
fn measure_live(opts: &Options, socket: &Path, casulo: &Casulo) -> Result<(usize, Stats)> {
    step(&format!(
        "Ao vivo: do trace escrito ao cliente de /casulo/live ({} s de amostras)",
        opts.live_s
    ));
    cmd::capture(&mut casulo.command(&[
        "run",
        "-d",
        "--name",
        "bench-vivo",
        "busybox",
        "sleep",
        "3600",
    ]))?;
    let latencies = follow_live(socket, "bench-vivo", opts.live_s)?;
    if latencies.len() < 5 {
        fail!(
            "o cliente ao vivo recebeu só {} eventos novos em {} s",
            latencies.len(),
            opts.live_s
        );
    }
    let live_stats = Stats::of(&latencies);
    println!(
        "  {} eventos: {live_stats} (o daemon olha o arquivo a cada 100 ms)",
        latencies.len()
    );
    Ok((latencies.len(), live_stats))
}

/// `GET /containers/json` on a new connection (as the docker CLI does):
/// the body.
fn list(socket: &Path) -> Result<String> {
    let mut s = UnixStream::connect(socket)?;
    s.write_all(b"GET /containers/json HTTP/1.1\r\nHost: casulo\r\nConnection: close\r\n\r\n")?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    let Some((head, body)) = answer.split_once("\r\n\r\n") else {
        fail!("resposta sem cabeçalho: {answer}");
    };
    if !head.starts_with("HTTP/1.1 200") {
        fail!("GET /containers/json: {head}");
    }
    Ok(body.to_string())
}

/// Follows `/casulo/live/KEY` for `secs` seconds: for every event written
/// after the client was there, how long it took to arrive.
fn follow_live(socket: &Path, key: &str, secs: u64) -> Result<Vec<Duration>> {
    let mut s = UnixStream::connect(socket)?;
    // HTTP/1.0: the body comes as it is (no chunk sizes between the lines).
    write!(s, "GET /casulo/live/{key} HTTP/1.0\r\nHost: casulo\r\n\r\n")?;
    s.set_read_timeout(Some(Duration::from_millis(500)))?;
    let connected = unix_us();
    let until = Instant::now() + Duration::from_secs(secs);
    let mut reader = BufReader::new(s);
    let (mut started_us, mut header_next) = (None, false);
    let mut latencies = vec![];
    let mut line = String::new();
    while Instant::now() < until {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e.into()),
        }
        let arrived = unix_us();
        let line = line.trim_end();
        if line == "event: cabecalho" {
            header_next = true;
            continue;
        }
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        if std::mem::take(&mut header_next) {
            let Some(at) = v["started_at"].as_str().and_then(rfc3339_us) else {
                fail!("o cabeçalho ao vivo não tem started_at legível: {data}");
            };
            started_us = Some(at);
        } else if let (Some(start), Some(t)) = (started_us, v["t_us"].as_u64()) {
            let written = start + t as i64;
            // The backlog sent on connecting is not a latency.
            if written > connected {
                latencies.push(Duration::from_micros((arrived - written).max(0) as u64));
            }
        }
    }
    Ok(latencies)
}

fn unix_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// `2026-12-03T02:05:01.123456Z` → µs since the epoch (UTC only, as the
/// recorder writes it).
fn rfc3339_us(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    let frac_us = format!("{frac:0<6}")[..6].parse::<i64>().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000) + frac_us)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

/// Median, p90 and max, in ms.
struct Stats {
    median: f64,
    p90: f64,
    max: f64,
}

impl Stats {
    fn of(samples: &[Duration]) -> Stats {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
        Stats {
            median: at(0.5),
            p90: at(0.9),
            max: at(1.0),
        }
    }

    fn json(&self) -> Value {
        json!({ "median_ms": self.median, "p90_ms": self.p90, "max_ms": self.max })
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "mediana {:.1} ms, p90 {:.1} ms, máx {:.1} ms",
            self.median, self.p90, self.max
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_micros() {
        assert_eq!(rfc3339_us("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_us("2026-12-03T02:05:01.123456Z"),
            Some(1_796_263_501_123_456)
        );
        assert_eq!(
            rfc3339_us("2000-03-01T00:00:00.5Z"),
            Some(951_868_800_500_000)
        );
        assert_eq!(rfc3339_us("ontem"), None);
    }
}
