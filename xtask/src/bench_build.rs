//! `cargo xtask bench build`: `casulo build` against `buildah build
//! --layers` on the same context, cold (no cache) and cached, plus the
//! peak memory of `casulo run` and of a cached `casulo build`.
//!
//! The context is written here (the bench's build fixture): a 15-step
//! Dockerfile over busybox — ARG, ENV, WORKDIR, two COPYs of a folder of
//! 200 small files and a script, four RUNs (one writes 8 MiB, the next
//! deletes it: a whiteout), LABEL, USER, EXPOSE, VOLUME, CMD. buildah runs
//! as the differential test runs it (`vfs`, `--isolation chroot`,
//! `--timestamp 0`, docker format), from the same busybox (casulo's, saved
//! and pulled by buildah). Rounds alternate the two.
//!
//! A cached build answers COPY from the file hashes it remembers
//! (`build::file_hashes`), which trust only files older than 1 s when the
//! build starts: the context is written before the bootstrap and buildah's
//! pull, seconds before the first build, so every round's cached build
//! answers from them (as a student's second build would).
//!
//! Output: a table and `bench-results/build.json`.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::bench_tools::{median, time};
use crate::cmd::{self, step};
use crate::{fail, Result};

const DOCKERFILE: &str = r#"FROM busybox
ARG VERSAO=1
ENV APP=/app PATH=/app/bin:$PATH
WORKDIR /app
COPY dados/ dados/
COPY saudacao.sh bin/saudacao
RUN chmod 755 bin/saudacao && mkdir -p var/log
RUN for i in $(seq 200); do echo "linha $i" >> var/log/app.log; done
RUN dd if=/dev/zero of=var/grande bs=1M count=8 2>/dev/null
RUN rm var/grande
LABEL curso=casulo versao=$VERSAO
USER 1000:1000
EXPOSE 8080
VOLUME /app/var
CMD ["saudacao"]
"#;

fn write_context(dir: &Path) -> Result {
    fs::create_dir_all(dir.join("dados"))?;
    fs::write(dir.join("Dockerfile"), DOCKERFILE)?;
    fs::write(dir.join("saudacao.sh"), "#!/bin/sh\necho oi do casulo\n")?;
    for i in 0..200 {
        fs::write(
            dir.join(format!("dados/{i:03}.txt")),
            format!("arquivo {i}\n").repeat(i % 20 + 1),
        )?;
    }
    Ok(())
}

pub fn run(args: &[String]) -> Result {
    let opts = crate::bench_tools::runs_and_size(args, "build", 5, 0)?;
    cmd::require_root("os RUN do build rodam em contêineres de verdade")?;
    let bin = cmd::build_casulo_release()?;
    let work = tempfile::Builder::new()
        .prefix("casulo-bench-build-")
        .tempdir_in(cmd::target_dir())?;
    let state = work.path().join("estado");
    let context = work.path().join("contexto");
    write_context(&context)?;
    let casulo = |args: &[&str]| {
        let mut c = Command::new(&bin);
        c.arg("--root").arg(&state).args(args);
        c
    };
    cmd::run(&mut casulo(&["image", "bootstrap"]))?;
    let storage = work.path().join("buildah");
    let buildah = |args: &[&str]| {
        let mut c = Command::new("buildah");
        c.arg("--root")
            .arg(storage.join("root"))
            .arg("--runroot")
            .arg(storage.join("run"))
            .args(["--storage-driver", "vfs"])
            .args(args);
        c
    };
    busybox_for_buildah(&casulo, &buildah, &work.path().join("busybox.tar"))?;
    let ctx = path(&context)?;
    let buildah_build = |no_cache: bool| {
        let mut c = buildah(&[
            "build",
            "--quiet",
            "--pull-never",
            "--layers",
            "--isolation",
            "chroot",
            "--timestamp",
            "0",
            "--format",
            "docker",
            "-t",
            "bench-build",
        ]);
        if no_cache {
            c.arg("--no-cache");
        }
        c.arg(ctx);
        c
    };

    step(&format!("{} rodadas alternadas", opts.runs));
    let mut s = Samples::default();
    for round in 0..opts.runs {
        s.measure_round(
            round,
            &mut casulo(&["build", "--no-cache", "-t", "bench-build", ctx]),
            &mut casulo(&["build", "-t", "bench-build", ctx]),
            &mut buildah_build(true),
            &mut buildah_build(false),
        )?;
    }

    step("Memória: o pico de RSS (wait4) de `casulo run` e de um build com cache");
    let run_rss = peak_rss_kib(&mut casulo(&["run", "--rm", "busybox", "true"]))?;
    let build_rss = peak_rss_kib(&mut casulo(&["build", "-t", "bench-build", ctx]))?;
    // Nothing of the bench stays: its containers are gone (--rm), its
    // state dir goes with `work` (no `casulo gc`: it would also sweep the
    // host's bridge other runs may be using), buildah's images here.
    let _ = buildah(&["rmi", "--all", "--force"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    report(&s, opts.runs, (run_rss, build_rss))
}

/// buildah builds from the same busybox: casulo's, saved to `tar` and
/// pulled by buildah.
fn busybox_for_buildah(
    casulo: &dyn Fn(&[&str]) -> Command,
    buildah: &dyn Fn(&[&str]) -> Command,
    tar: &Path,
) -> Result {
    step("buildah: a mesma busybox, do casulo");
    cmd::run(&mut casulo(&["image", "save", "busybox", "-o", path(tar)?]))?;
    cmd::run(&mut buildah(&[
        "pull",
        "--quiet",
        &format!("oci-archive:{}", path(tar)?),
    ]))
}

/// The table of medians, the ratios, the verdict on the 20 ms target, and
/// `bench-results/build.json`; `rss`: the peaks of `casulo run` and of a
/// cached build, in KiB.
fn report(s: &Samples, runs: usize, (run_rss, build_rss): (u64, u64)) -> Result {
    let (cc, bc) = (median(&s.casulo_cold), median(&s.buildah_cold));
    let (ck, bk) = (median(&s.casulo_cached), median(&s.buildah_cached));
    let cpu = median(&s.casulo_cached_cpu);
    println!();
    println!("{:<44}{:>12}{:>12}", "mediana (ms)", "casulo", "buildah");
    println!(
        "{:<44}{:>12.0}{:>12.0}",
        "build frio (--no-cache, 15 passos)",
        ms(cc),
        ms(bc)
    );
    println!(
        "{:<44}{:>12.1}{:>12.0}",
        "build com cache (todos os passos do cache)",
        ms(ck),
        ms(bk)
    );
    let cold_ratio = bc.as_secs_f64() / cc.as_secs_f64();
    let cached_ratio = bk.as_secs_f64() / ck.as_secs_f64();
    println!("razão buildah/casulo: frio {cold_ratio:.2}×, com cache {cached_ratio:.0}×");
    println!(
        "build com cache abaixo de 20 ms: {}",
        if ms(ck) < 20.0 { "sim" } else { "NÃO" }
    );
    println!(
        "CPU do build com cache (usuário + sistema, mediana): {:.1} ms",
        ms(cpu)
    );
    println!("pico de RSS: casulo run {run_rss} KiB, casulo build (com cache) {build_rss} KiB");

    let results = cmd::workspace_root().join("bench-results");
    fs::create_dir_all(&results)?;
    let out = results.join("build.json");
    fs::write(
        &out,
        serde_json::to_vec_pretty(&json!({
            "steps": 15,
            "runs": runs,
            "casulo_cold_ms": ms(cc),
            "buildah_cold_ms": ms(bc),
            "cold_ratio": cold_ratio,
            "casulo_cached_ms": ms(ck),
            "casulo_cached_cpu_ms": ms(cpu),
            "buildah_cached_ms": ms(bk),
            "cached_ratio": cached_ratio,
            "casulo_run_peak_rss_kib": run_rss,
            "casulo_build_cached_peak_rss_kib": build_rss,
            "load_average": fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
            "buildah": crate::bench_tools::first_line(Command::new("buildah").arg("--version")),
        }))
        .expect("json"),
    )?;
    println!("resultados em {}", out.display());
    Ok(())
}

#[derive(Default)]
struct Samples {
    casulo_cold: Vec<Duration>,
    casulo_cached: Vec<Duration>,
    /// User + system CPU of the cached builds (the load of a shared
    /// machine stretches their wall time, hardly their CPU).
    casulo_cached_cpu: Vec<Duration>,
    buildah_cold: Vec<Duration>,
    buildah_cached: Vec<Duration>,
}

impl Samples {
    /// One round: casulo cold then cached, buildah cold then cached.
    fn measure_round(
        &mut self,
        round: usize,
        casulo_cold: &mut Command,
        casulo_cached: &mut Command,
        buildah_cold: &mut Command,
        buildah_cached: &mut Command,
    ) -> Result {
        self.casulo_cold.push(time(casulo_cold)?);
        let (wall, cpu) = wall_and_cpu(casulo_cached)?;
        self.casulo_cached.push(wall);
        self.casulo_cached_cpu.push(cpu);
        self.buildah_cold.push(time(buildah_cold)?);
        self.buildah_cached.push(time(buildah_cached)?);
        println!(
            "  rodada {}: frio casulo {:.0} ms, buildah {:.0} ms; com cache casulo {:.1} ms ({:.1} ms de CPU), buildah {:.0} ms",
            round + 1,
            ms(self.casulo_cold[round]),
            ms(self.buildah_cold[round]),
            ms(self.casulo_cached[round]),
            ms(self.casulo_cached_cpu[round]),
            ms(self.buildah_cached[round]),
        );
        Ok(())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn path(p: &Path) -> Result<&str> {
    match p.to_str() {
        Some(s) => Ok(s),
        None => fail!("caminho não é UTF-8: {}", p.display()),
    }
}

/// Runs `cmd` to its end (it must succeed): its wall time, and the user +
/// system CPU that `wait4` reports for it (and the children it waited for).
fn wall_and_cpu(cmd: &mut Command) -> Result<(Duration, Duration)> {
    let started = Instant::now();
    let usage = wait_for(cmd)?;
    let tv = |t: nix::libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok((started.elapsed(), tv(usage.ru_utime) + tv(usage.ru_stime)))
}

/// Runs `cmd` to its end (it must succeed); the peak resident memory of
/// the process in KiB, as `wait4` reports it (`ru_maxrss`: the largest of
/// the process and the children it waited for).
fn peak_rss_kib(cmd: &mut Command) -> Result<u64> {
    Ok(wait_for(cmd)?.ru_maxrss as u64)
}

/// Runs `cmd` to its end (it must succeed; its output is not kept) and
/// returns what `wait4` says it used.
fn wait_for(cmd: &mut Command) -> Result<nix::libc::rusage> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let started = Instant::now();
    let mut status = 0;
    // SAFETY: wait4 on our own child, filling a zeroed rusage.
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { nix::libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    if pid < 0 || !nix::libc::WIFEXITED(status) || nix::libc::WEXITSTATUS(status) != 0 {
        fail!(
            "{} falhou (estado {status}, {:.1} s)",
            cmd::show(cmd),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(usage)
}
