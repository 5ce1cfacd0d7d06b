//! `cargo xtask bench`: how long does a container take from start to exit?
//!
//! Contenders, all running `true` in the same busybox rootfs:
//! - `casulo run --rm busybox true`, with the static casulo (musl) that
//!   `cargo xtask dist` hands out and the VM bench runs: no dynamic loader,
//!   ~0.6–1.2 ms less per run here than the glibc build
//! - the same with `--trace /dev/null` (the cost of writing the trace)
//! - the dynamic glibc build (`target/release`, what the demo puts on the
//!   PATH), with a state dir of its own so its traces stay out of the phases
//! - the static one again with its state dir on a tmpfs (mounted in the
//!   bench's own mount namespace): what a run costs without the disk. The
//!   root filesystem here is an ext4 without a journal, mounted `discard`:
//!   every directory removed waits for a discard of its block, and every
//!   inode created skips, one by one, those of its group deleted in the
//!   last 30 s — a state dir churns ~15 of each per run
//! - `runc run` and `crun run` on an OCI bundle (`runc spec`) whose rootfs
//!   is a copy of casulo's unpacked busybox layer
//! - the floor: `unshare -fpmnuiC --mount-proc true` (namespaces and a
//!   fork, no image, no cgroups)
//!
//! Same conditions for all: xtask first moves itself into a private mount
//! namespace and, on a hybrid cgroup host (v1 controllers plus a cgroup2 at
//! /sys/fs/cgroup/unified), unmounts that cgroup2 there — crun refuses the
//! hybrid layout otherwise. Every contender is spawned from that namespace.
//! Rounds are interleaved (each round runs every contender once, in its
//! own shuffled order) so a slow moment of the machine hits them all alike.
//!
//! Output: a table on stdout and `bench-results/startup.json`, with the
//! peak RSS (VmHWM) of a `run -d` container's supervisor, read from
//! `/proc/PID/status` while its container still runs.
//! `cargo xtask bench startup` measures only this.
//!
//! Then, in the same run, start→exit in the pure cgroup v2 VM
//! (`bench_vm.rs`), the unpack (`bench_unpack.rs`) and build
//! (`bench_build.rs`) benches, the visualizer's budgets (wasm size, opening
//! 100k events, scrubbing fps: `bench_web.rs`, alone: `--so-visualizador`)
//! and one table of every figure beside its target (`bench_summary.rs`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::bench_tools::{
    children_cpu, first_line, in_path, paired, quantile, read_anew, time_once, write_results,
    Quartiles, GLIBC, TMPFS,
};
use crate::cmd::{self, step};
use crate::{fail, setup, Result};

const UNIFIED: &str = "/sys/fs/cgroup/unified";

struct Options {
    runs: usize,
    warmup: usize,
    with_casulo: bool,
    /// Only the visualizer's budgets (`--so-visualizador`).
    only_visualizer: bool,
    /// Only start→exit (`bench startup`).
    only_startup: bool,
}

fn parse_options(args: &[String]) -> Result<Options> {
    let mut o = Options {
        runs: 100,
        warmup: 5,
        with_casulo: true,
        only_visualizer: false,
        only_startup: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = |name: &str| -> Result<usize> {
            match it.next().map(|v| v.parse::<usize>()) {
                Some(Ok(n)) => Ok(n),
                _ => fail!("{name} precisa de um número inteiro"),
            }
        };
        match a.as_str() {
            "--runs" => o.runs = number("--runs")?.max(1),
            "--warmup" => o.warmup = number("--warmup")?,
            "--sem-casulo" => o.with_casulo = false,
            "--so-visualizador" => o.only_visualizer = true,
            other => fail!(
                "opção desconhecida para `bench`: {other} (aceita: --runs N, --warmup N, \
                 --sem-casulo, --so-visualizador)"
            ),
        }
    }
    Ok(o)
}

/// One thing being timed.
struct Contender {
    name: &'static str,
    /// Builds the command for run number `i` (ids must be unique per run).
    command: Box<dyn Fn(usize) -> Command>,
    /// Called after each run (e.g. delete a container left behind).
    cleanup: Option<Box<dyn Fn(usize)>>,
    samples: Vec<Duration>,
    /// CPU time (user + sys) of the whole process tree of each run.
    cpu: Vec<Duration>,
    /// Wall clock at each measured run's spawn and exit (to time what
    /// casulo does before its trace starts and after it ends).
    spans: Vec<crate::bench_phases::Span>,
}

pub fn run(args: &[String]) -> Result {
    if let Some(result) = subcommand(args) {
        return result;
    }
    let mut opts = match args.first().map(String::as_str) {
        Some("startup") => parse_options(&args[1..])?,
        _ => parse_options(args)?,
    };
    opts.only_startup = args.first().map(String::as_str) == Some("startup");
    if opts.only_visualizer {
        return crate::bench_web::run();
    }
    cmd::require_root("os contêineres medidos criam namespaces e cgroups de verdade")?;
    setup::run()?;

    let work = tempfile::Builder::new().prefix("casulo-bench-").tempdir()?;
    let state = work.path().join("state");
    let bundle = work.path().join("bundle");
    let builds = release_casulo(&opts, work.path(), &state)?;
    let casulo = builds.as_ref().map(|b| b.static_bin.clone());

    step("Mesmas condições para todos: namespace de montagem próprio");
    enter_bench_namespace()?;
    // Unmounted when dropped, before `work` is removed (declared after it).
    let _tmpfs = builds.as_ref().map(state_on_tmpfs).transpose()?;
    if let Some(bin) = &casulo {
        // One run before looking for the layer: a store may unpack lazily.
        let mut first = Command::new(bin);
        first
            .arg("--root")
            .arg(&state)
            .args(["run", "--rm", "busybox", "true"]);
        run_once(&mut first)?;
    }
    step("Bundle OCI para runc e crun");
    make_bundle(&bundle, casulo.is_some().then_some(state.as_path()))?;

    let mut contenders = contenders(&bundle, builds.as_ref(), &state);
    // What a build or the tests just wrote goes to the disk first, not in
    // the background beside the runs that create files: the trace's share
    // was 3.9–4.4 % in the two benches run right after `cargo xtask test`,
    // 0.8–2.0 % in those after; with 2 GB left dirty and this sync, 1.2 %.
    cmd::run(&mut Command::new("sync"))?;
    // Every program measured faulted in anew, as after a reboot: the build
    // has just written casulo, apt may have written crun (`read_anew`).
    let programs = ["unshare", "crun", "runc"].into_iter().filter_map(in_path);
    let casulos = builds
        .iter()
        .flat_map(|b| [b.static_bin.clone(), b.glibc_bin.clone()]);
    for bin in programs.chain(casulos) {
        read_anew(&bin)?;
    }
    measure(&mut contenders, &opts)?;
    let phases = match &casulo {
        Some(_) => {
            let runs: Vec<_> = contenders.iter().flat_map(|c| c.spans.clone()).collect();
            Some(crate::bench_phases::report_dir(
                &state.join("traces"),
                &runs,
            )?)
        }
        None => None,
    };
    let supervisor = match &casulo {
        Some(bin) => Some(supervisor_peak_rss_kib(bin, &state)?),
        None => None,
    };
    report(&contenders, &opts, casulo.as_deref(), phases, supervisor)?;
    if opts.only_startup {
        return Ok(());
    }
    // The other figures of #19 in the same run, then one table of them all.
    if casulo.is_some() {
        // 40 rounds: in the one-CPU TCG VM a run's p10–p90 spans 50–190 ms,
        // and 20 rounds moved the median 60 → 80 ms from one bench to the next.
        crate::bench_vm::run(&["--runs".into(), "40".into()])?;
        crate::bench_unpack::run(&[])?;
        crate::bench_build::run(&[])?;
    }
    // (A budget the visualizer misses fails the bench, after the table.)
    let web = crate::bench_web::run();
    crate::bench_summary::print()?;
    web
}

/// `bench unpack|build|registry|densidade|daemon|vm|lado-a-lado …`: a bench of its own.
fn subcommand(args: &[String]) -> Option<Result> {
    let rest = args.get(1..).unwrap_or(&[]);
    Some(match args.first().map(String::as_str)? {
        "unpack" => crate::bench_unpack::run(rest),
        "build" => crate::bench_build::run(rest),
        "registry" => crate::bench_registry::run(rest),
        "densidade" => crate::bench_density::run(rest),
        "daemon" => crate::bench_daemon::run(rest),
        "vm" => crate::bench_vm::run(rest),
        "lado-a-lado" => crate::bench_ab::run(rest),
        _ => return None,
    })
}

/// The two builds of casulo measured, each with busybox bootstrapped.
struct Builds {
    /// The static one (musl, a copy: the VM bench builds it again).
    static_bin: PathBuf,
    /// The dynamic glibc one.
    glibc_bin: PathBuf,
    /// Its own state dir.
    glibc_state: PathBuf,
    /// The static one's state dir on a tmpfs ([`state_on_tmpfs`]).
    tmpfs_state: PathBuf,
}

/// Both release builds of casulo ([`Builds`]), busybox bootstrapped in
/// `state` (the static one) and in `work/state-glibc`, unless
/// `--sem-casulo` measures only the references.
fn release_casulo(opts: &Options, work: &Path, state: &Path) -> Result<Option<Builds>> {
    if !opts.with_casulo {
        return Ok(None);
    }
    let glibc = cmd::build_casulo_release()?;
    require_casulo_run(&glibc)?;
    step("Compilando o casulo estático (musl, release), o de `cargo xtask dist`");
    let static_bin = work.join("casulo-estatico");
    fs::copy(crate::musl::build_casulo(None)?, &static_bin)?;
    let glibc_state = work.join("state-glibc");
    for (bin, state) in [(&static_bin, state), (&glibc, &glibc_state)] {
        cmd::run(
            Command::new(bin)
                .arg("--root")
                .arg(state)
                .args(["image", "bootstrap"]),
        )?;
    }
    Ok(Some(Builds {
        static_bin,
        glibc_bin: glibc,
        glibc_state,
        tmpfs_state: work.join("state-tmpfs"),
    }))
}

/// A tmpfs mounted at `tmpfs_state` (in the bench's mount namespace),
/// unmounted when dropped, so the bench's temporary folder can go.
struct TmpfsState(PathBuf);

impl Drop for TmpfsState {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// The tmpfs of `tmpfs_state`, busybox bootstrapped there by the static casulo.
fn state_on_tmpfs(builds: &Builds) -> Result<TmpfsState> {
    use nix::mount::{mount, MsFlags};
    let dir = &builds.tmpfs_state;
    fs::create_dir_all(dir)?;
    mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::empty(),
        Some("mode=0700"),
    )
    .map_err(|e| format!("mount tmpfs em {}: {e}", dir.display()))?;
    let mounted = TmpfsState(dir.clone());
    cmd::run(
        Command::new(&builds.static_bin)
            .arg("--root")
            .arg(dir)
            .args(["image", "bootstrap"]),
    )?;
    Ok(mounted)
}

/// The floor, crun and runc on `bundle`, and casulo with and without its trace.
fn contenders(bundle: &Path, casulo: Option<&Builds>, state: &Path) -> Vec<Contender> {
    let tag = std::process::id();
    let mut contenders: Vec<Contender> = vec![];
    contenders.push(Contender {
        name: "piso (unshare)",
        command: Box::new(|_| {
            let mut c = Command::new("unshare");
            c.args(["-fpmnuiC", "--mount-proc", "true"]);
            c
        }),
        cleanup: None,
        samples: vec![],
        cpu: vec![],
        spans: vec![],
    });
    for runtime in ["crun", "runc"] {
        let b = bundle.to_path_buf();
        contenders.push(Contender {
            name: runtime,
            command: Box::new(move |i| {
                let mut c = Command::new(runtime);
                c.args(["run", "--bundle"])
                    .arg(&b)
                    .arg(format!("bench-{runtime}-{tag}-{i}"));
                c
            }),
            cleanup: Some(Box::new(move |i| {
                delete_leftover(runtime, &format!("bench-{runtime}-{tag}-{i}"))
            })),
            samples: vec![],
            cpu: vec![],
            spans: vec![],
        });
    }
    if let Some(builds) = casulo {
        let glibc = (builds.glibc_bin.as_path(), builds.glibc_state.as_path());
        for (name, (bin, state), extra) in [
            ("casulo", (builds.static_bin.as_path(), state), &[][..]),
            (
                "casulo --trace /dev/null",
                (builds.static_bin.as_path(), state),
                &["--trace", "/dev/null"][..],
            ),
            (GLIBC, glibc, &[][..]),
            (
                TMPFS,
                (builds.static_bin.as_path(), builds.tmpfs_state.as_path()),
                &[][..],
            ),
        ] {
            let (bin, state) = (bin.to_path_buf(), state.to_path_buf());
            contenders.push(Contender {
                name,
                command: Box::new(move |_| {
                    let mut c = Command::new(&bin);
                    c.arg("--root")
                        .arg(&state)
                        .args(["run", "--rm"])
                        .args(extra)
                        .args(["busybox", "true"]);
                    c
                }),
                cleanup: None,
                samples: vec![],
                cpu: vec![],
                spans: vec![],
            });
        }
    }
    contenders
}

/// The rounds, interleaved, each in a shuffled order (fixed seed); the
/// warm-up ones not kept.
fn measure(contenders: &mut [Contender], opts: &Options) -> Result {
    step(&format!(
        "Medindo: {} rodadas de aquecimento + {} medidas, {} concorrentes intercalados",
        opts.warmup,
        opts.runs,
        contenders.len()
    ));
    let n = contenders.len();
    let total = opts.warmup + opts.runs;
    let mut order: Vec<usize> = (0..n).collect();
    let mut seed = crate::bench_tools::Xorshift(0x9e37_79b9_7f4a_7c15);
    for round in 0..total {
        seed.shuffle(&mut order);
        for (k, &i) in order.iter().enumerate() {
            let c = &mut contenders[i];
            let id = round * n + k;
            let mut command = (c.command)(id);
            let cpu_before = children_cpu();
            let spawned = std::time::SystemTime::now();
            let elapsed = time_once(&mut command)?;
            let exited = std::time::SystemTime::now();
            let cpu = children_cpu().saturating_sub(cpu_before);
            if let Some(cleanup) = &c.cleanup {
                cleanup(id);
            }
            if round >= opts.warmup {
                c.samples.push(elapsed);
                c.cpu.push(cpu);
                c.spans.push((spawned, exited));
            }
        }
        if (round + 1) % 10 == 0 || round + 1 == total {
            println!("  rodada {}/{}", round + 1, total);
        }
    }
    Ok(())
}

/// Fails clearly if this casulo binary has no `run` yet.
fn require_casulo_run(bin: &Path) -> Result {
    let ok = Command::new(bin)
        .args(["run", "--help"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        fail!(
            "este casulo ({}) ainda não tem o comando `run`, então não há o que medir.\n\
             Para medir só as referências (runc, crun e o piso): cargo xtask bench --sem-casulo",
            bin.display()
        );
    }
    Ok(())
}

/// unshare(CLONE_NEWNS) for this process (xtask is single-threaded, so the
/// whole process moves), make every mount private so nothing leaks back to
/// the host, and detach the hybrid host's cgroup2 mount.
fn enter_bench_namespace() -> Result {
    use nix::mount::{mount, umount2, MntFlags, MsFlags};
    use nix::sched::{unshare, CloneFlags};

    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
    println!("  unshare(CLONE_NEWNS)");
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("mount(/, MS_REC|MS_PRIVATE): {e}"))?;
    println!("  mount(\"/\", MS_REC|MS_PRIVATE)");
    if is_mount_point(UNIFIED) {
        umount2(UNIFIED, MntFlags::MNT_DETACH).map_err(|e| format!("umount2({UNIFIED}): {e}"))?;
        println!("  umount2(\"{UNIFIED}\", MNT_DETACH)  (crun recusa o modo híbrido)");
    } else {
        println!("  {UNIFIED} não está montado: nada a desmontar");
    }
    Ok(())
}

fn is_mount_point(path: &str) -> bool {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(path))
}

/// Writes `<bundle>/config.json` (from `runc spec`, running `true`, no
/// terminal) and `<bundle>/rootfs`: a copy of casulo's unpacked busybox
/// layer, or (with `--sem-casulo`) the host's busybox with its applet links.
fn make_bundle(bundle: &Path, casulo_state: Option<&Path>) -> Result {
    let rootfs = bundle.join("rootfs");
    fs::create_dir_all(bundle)?;
    match casulo_state.map(busybox_layer).transpose()? {
        Some(layer) => {
            println!("  rootfs: cópia da camada {}", layer.display());
            // cp -a keeps symlinks, modes and owners; the layer stays untouched.
            cmd::run(Command::new("cp").arg("-a").arg(&layer).arg(&rootfs))?;
        }
        None => {
            println!("  rootfs: /bin/busybox do host e seus applets");
            busybox_rootfs(&rootfs)?;
        }
    }
    for dir in ["proc", "sys", "dev", "tmp"] {
        fs::create_dir_all(rootfs.join(dir))?;
    }
    cmd::run(Command::new("runc").args(["spec", "--bundle"]).arg(bundle))?;
    let path = bundle.join("config.json");
    let mut spec: Value = serde_json::from_str(&fs::read_to_string(&path)?)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    spec["process"]["terminal"] = json!(false);
    spec["process"]["args"] = json!(["true"]);
    spec["root"]["path"] = json!("rootfs");
    fs::write(&path, serde_json::to_string_pretty(&spec).expect("json"))?;
    println!("  config.json: args [\"true\"], terminal false");
    Ok(())
}

/// The one unpacked layer holding `bin/busybox` in a fresh state dir that
/// has only busybox:latest (staging dirs, named `.something`, are skipped).
fn busybox_layer(state: &Path) -> Result<PathBuf> {
    let layers = state.join("layers");
    let dirs: Vec<PathBuf> = fs::read_dir(&layers)
        .map_err(|e| format!("{}: {e}", layers.display()))?
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| p.join("bin/busybox").is_file())
        .collect();
    match dirs.as_slice() {
        [one] => Ok(one.clone()),
        _ => fail!(
            "esperava exatamente uma camada com bin/busybox em {} (achei {})",
            layers.display(),
            dirs.len()
        ),
    }
}

/// bin/busybox plus a symlink per applet, as `casulo image bootstrap` does.
fn busybox_rootfs(rootfs: &Path) -> Result {
    let bin = rootfs.join("bin");
    fs::create_dir_all(&bin)?;
    fs::copy("/bin/busybox", bin.join("busybox"))
        .map_err(|e| format!("copiando /bin/busybox: {e}"))?;
    let list = cmd::capture(Command::new("/bin/busybox").arg("--list"))?;
    for applet in list.lines().filter(|a| !a.is_empty() && *a != "busybox") {
        std::os::unix::fs::symlink("busybox", bin.join(applet))?;
    }
    Ok(())
}

/// The peak RSS (`VmHWM`, KiB) of the supervisor of a `run -d` container
/// running `sleep`, read from `/proc/PID/status` after its first samples
/// and before it is stopped; the container is removed after.
fn supervisor_peak_rss_kib(bin: &Path, state: &Path) -> Result<u64> {
    let name = format!("bench-supervisor-{}", std::process::id());
    let casulo = |args: &[&str]| {
        let mut c = Command::new(bin);
        c.arg("--root").arg(state).args(args);
        c
    };
    run_once(&mut casulo(&[
        "run", "-d", "--name", &name, "busybox", "sleep", "30",
    ]))?;
    // A few samples of its cgroup, as a watched container has.
    std::thread::sleep(Duration::from_millis(600));
    let peak = (|| -> Result<u64> {
        let pid = supervisor_pid(state, &name)?;
        let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
        match status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        {
            Some(kib) => Ok(kib),
            None => fail!("sem VmHWM em /proc/{pid}/status"),
        }
    })();
    run_once(&mut casulo(&["rm", "-f", &name]))?;
    let kib = peak?;
    println!(
        "
pico de RSS do supervisor de um `run -d` (VmHWM): {:.1} MiB",
        kib as f64 / 1024.0
    );
    Ok(kib)
}

/// The `supervisor` pid in the record of the container named `name`.
fn supervisor_pid(state: &Path, name: &str) -> Result<i32> {
    let id = fs::read_to_string(state.join("names").join(name))?;
    let path = state
        .join("containers")
        .join(id.trim())
        .join("container.json");
    let record: Value = serde_json::from_str(&fs::read_to_string(&path)?)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match record["supervisor"].as_i64() {
        Some(pid) => Ok(pid as i32),
        None => fail!("{} não tem o pid do supervisor", path.display()),
    }
}

/// Runs one command untimed; fails with its stderr.
fn run_once(command: &mut Command) -> Result {
    time_once(command).map(|_| ())
}

/// `runc/crun run` delete the container on exit; make sure, and force it if not.
fn delete_leftover(runtime: &str, id: &str) {
    let exists = Command::new(runtime)
        .args(["state", id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if exists {
        eprintln!("  aviso: {runtime} deixou o contêiner {id}; removendo (delete -f)");
        let _ = Command::new(runtime).args(["delete", "-f", id]).status();
    }
}

/// Summary statistics of one contender, in milliseconds.
struct Stats {
    median: f64,
    p10: f64,
    p90: f64,
}

fn stats(samples: &[Duration]) -> Stats {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    Stats {
        median: quantile(&ms, 0.5),
        p10: quantile(&ms, 0.1),
        p90: quantile(&ms, 0.9),
    }
}

/// The trace's CPU, round by round ([`paired`]), in ms.
fn trace_cpu(contenders: &[Contender]) -> Option<Quartiles> {
    let cpu = |name: &str| {
        contenders.iter().find(|c| c.name == name).map(|c| {
            c.cpu
                .iter()
                .map(|d| d.as_secs_f64() * 1e3)
                .collect::<Vec<_>>()
        })
    };
    paired(&cpu("casulo")?, &cpu("casulo --trace /dev/null")?)
}

/// Prints the trace's CPU (paired, see [`trace_cpu`]) against the run's
/// median CPU `run_cpu`; returns it for the results file.
fn report_trace_cpu(contenders: &[Contender], run_cpu: Option<f64>) -> Option<Value> {
    let (t, run) = trace_cpu(contenders).zip(run_cpu)?;
    let share = t.median / run * 100.0;
    println!(
        "CPU do trace no arquivo (casulo − casulo --trace /dev/null, na mesma rodada): \
         mediana {:.2} ms (metade das rodadas entre {:.2} e {:.2}), {share:.1} % da CPU da execução",
        t.median, t.p25, t.p75
    );
    Some(json!({
        "what": "CPU of casulo minus casulo --trace /dev/null in the same round, per round",
        "median_ms": t.median,
        "p25_ms": t.p25,
        "p75_ms": t.p75,
        "share_of_run_pct": share,
    }))
}

fn report(
    contenders: &[Contender],
    opts: &Options,
    casulo: Option<&Path>,
    phases: Option<Value>,
    supervisor_rss_kib: Option<u64>,
) -> Result {
    let all: Vec<(&Contender, Stats, Stats)> = contenders
        .iter()
        .map(|c| (c, stats(&c.samples), stats(&c.cpu)))
        .collect();
    let median_of = |name: &str| {
        all.iter()
            .find(|(c, _, _)| c.name == name)
            .map(|(_, s, _)| s.median)
    };
    let cpu_of = |name: &str| {
        all.iter()
            .find(|(c, _, _)| c.name == name)
            .map(|(_, _, cpu)| cpu.median)
    };
    let crun = median_of("crun");
    let floor = median_of("piso (unshare)");
    let ratio = |m: f64, base: Option<f64>| base.map(|b| m / b);

    step(&format!(
        "Tempo de partida até a saída (ms, {} execuções cada)",
        opts.runs
    ));
    println!(
        "{:<26} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9}",
        "concorrente", "mediana", "p10", "p90", "×crun", "×piso", "CPU ms"
    );
    let mut rows = vec![];
    for (c, s, cpu) in &all {
        let (rc, rf) = (ratio(s.median, crun), ratio(s.median, floor));
        println!(
            "{:<26} {:>9.2} {:>9.2} {:>9.2} {:>8} {:>8} {:>9.2}",
            c.name,
            s.median,
            s.p10,
            s.p90,
            rc.map_or("-".into(), |r| format!("{r:.2}")),
            rf.map_or("-".into(), |r| format!("{r:.2}")),
            cpu.median,
        );
        let command = cmd::show(&(c.command)(0));
        rows.push(json!({
            "name": c.name,
            "command": command,
            "median_ms": s.median,
            "p10_ms": s.p10,
            "p90_ms": s.p90,
            "ratio_to_crun": rc,
            "ratio_to_floor": rf,
            "cpu_median_ms": cpu.median,
            "cpu_p10_ms": cpu.p10,
            "cpu_p90_ms": cpu.p90,
            "samples_ms": c.samples.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>(),
        }));
    }
    if let (Some(a), Some(b)) = (median_of("casulo"), median_of("casulo --trace /dev/null")) {
        println!(
            "\ncusto do trace (casulo − casulo --trace /dev/null): {:.2} ms na mediana",
            a - b
        );
    }
    let trace_cpu = report_trace_cpu(contenders, cpu_of("casulo"));

    let result = json!({
        "benchmark": "startup",
        "what": "wall time from spawn to exit of a container running `true` in a busybox rootfs",
        "unit": "ms",
        "runs": opts.runs,
        "warmup": opts.warmup,
        "order": "interleaved rounds, each in its own shuffled order (fixed seed)",
        "conditions": "all spawned from one private mount namespace with /sys/fs/cgroup/unified detached",
        "host": {
            "kernel": first_line(Command::new("uname").arg("-r")),
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        },
        "versions": {
            "runc": first_line(Command::new("runc").arg("--version")),
            "crun": first_line(Command::new("crun").arg("--version")),
            "unshare": first_line(Command::new("unshare").arg("--version")),
            "casulo": casulo.and_then(|bin| first_line(Command::new(bin).arg("--version"))),
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
        "contenders": rows,
        "cpu": "user + sys of the whole process tree per run, getrusage(RUSAGE_CHILDREN) around each run",
        "trace_cpu": trace_cpu,
        "casulo_phases": phases,
        "supervisor_peak_rss_kib": supervisor_rss_kib,
        "load_average": fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
    });
    write_results("startup.json", &result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!((quantile(&[0.0, 10.0], 0.1) - 1.0).abs() < 1e-9);
        assert_eq!(quantile(&[7.0], 0.9), 7.0);
    }

    #[test]
    fn options() {
        let o = parse_options(&["--runs".into(), "7".into(), "--sem-casulo".into()]).unwrap();
        assert_eq!((o.runs, o.warmup, o.with_casulo), (7, 5, false));
        assert!(parse_options(&["--runs".into()]).is_err());
        assert!(parse_options(&["--x".into()]).is_err());
    }
}
