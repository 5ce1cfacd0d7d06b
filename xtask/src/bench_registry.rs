//! `cargo xtask bench registry`: push and pull of a ~200 MB image through
//! loopback, casulo against `skopeo copy`, on the same real registry
//! (Debian's `docker-registry`, started here).
//!
//! The image is busybox plus 4 gzip layers of pseudo-random bytes (they do
//! not compress, so every byte really travels), kept in an OCI layout that
//! skopeo reads (`oci:DIR:big`) and loaded into casulo's store. Each round
//! gets a registry of its own (fresh storage) and measures, for both:
//!
//! - push, cold: nothing in the registry (casulo `push`; `skopeo copy
//!   oci:… docker://…`), then warm: the same again (every blob there);
//! - pull, cold: into an empty store (casulo `pull`; `skopeo copy docker://…
//!   oci:…`), then warm: the same again (every blob here).
//!
//! Both check each blob's sha256 and size as it arrives; casulo checks a
//! layer's diff_id and tar entries at its first unpack (as containerd),
//! not during the pull (that second gunzip halved its cold pull). Target: casulo's
//! throughput ≥ 1.0× skopeo's cold, and warm push/pull under 100 ms.
//! Output: a table and `bench-results/registry.json`.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use casulo_tests::layout::{self, LayerTar};
use casulo_tests::registry::Registry;
use serde_json::json;

use crate::bench_tools::{median, time};
use crate::cmd::{self, step};
use crate::{fail, Result};

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

/// The OCI layout `out` with `big` = busybox (saved from `state`) + 4 gzip
/// layers of `megabytes / 4` each. Returns the bytes of its blobs.
fn make_image(casulo: &Path, state: &Path, out: &Path, megabytes: u64) -> Result<u64> {
    let saved = out.with_extension("busybox");
    cmd::run(
        Command::new(casulo)
            .arg("--root")
            .arg(state)
            .args(["image", "save", "-o"])
            .arg(format!("{}/", saved.display()))
            .arg("busybox"),
    )?;
    let per_layer = (megabytes << 20) / 4;
    let mut blobs = Vec::new();
    let mut diff_ids = Vec::new();
    for i in 0..4u64 {
        // 8 files per layer: a layer of a real image has many.
        let mut tar = LayerTar::new();
        tar.dir("dados/");
        for f in 0..8u64 {
            tar.file(
                &format!("dados/camada{i}-{f}.bin"),
                &crate::bench_tools::Xorshift(i * 100 + f + 1).bytes((per_layer / 8) as usize),
            );
        }
        let tar = tar.finish();
        diff_ids.push(layout::sha256(&tar));
        blobs.push(gzip(&tar)?);
    }
    let total: u64 = blobs.iter().map(|b| b.len() as u64).sum();
    layout::extend_with(&saved, out, "big:v1", &blobs, |manifest, config| {
        let layers = manifest["layers"].as_array_mut().expect("layers");
        let n = layers.len();
        for layer in &mut layers[n - 4..] {
            layer["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar+gzip");
        }
        let ids = config["rootfs"]["diff_ids"]
            .as_array_mut()
            .expect("diff_ids");
        let n = ids.len();
        for (id, real) in ids[n - 4..].iter_mut().zip(&diff_ids) {
            *id = json!(real);
        }
    });
    fs::remove_dir_all(&saved)?;
    Ok(total)
}

/// The eight timings of one round.
#[derive(Default)]
struct Samples {
    casulo_push: Vec<Duration>,
    casulo_push_warm: Vec<Duration>,
    casulo_pull: Vec<Duration>,
    casulo_pull_warm: Vec<Duration>,
    skopeo_push: Vec<Duration>,
    skopeo_push_warm: Vec<Duration>,
    skopeo_pull: Vec<Duration>,
    skopeo_pull_warm: Vec<Duration>,
}

pub fn run(args: &[String]) -> Result {
    let opts = crate::bench_tools::runs_and_size(args, "registry", 5, 4)?;
    cmd::require_root("o store do casulo e o registry de teste ficam em diretórios de root")?;
    require_tools()?;
    let bin = cmd::build_casulo_release()?;
    let work = tempfile::Builder::new()
        .prefix("casulo-bench-registry-")
        .tempdir_in(cmd::target_dir())?;
    let casulo = |root: &Path| {
        let mut c = Command::new(&bin);
        c.arg("--root")
            .arg(root)
            .env_remove("CASULO_ROOT")
            .env_remove("CASULO_REGISTRY")
            .env("CASULO_CONFIG", work.path().join("config"));
        c
    };

    step(&format!(
        "Gerando uma imagem de ~{} MB (busybox + 4 camadas gzip de bytes aleatórios)",
        opts.megabytes
    ));
    let source = work.path().join("origem");
    cmd::run(casulo(&source).args(["image", "bootstrap"]))?;
    let layout_dir = work.path().join("layout");
    let bytes = make_image(&bin, &source, &layout_dir, opts.megabytes)?;
    cmd::run(
        casulo(&source)
            .args(["image", "load", "-q", "-i"])
            .arg(&layout_dir),
    )?;
    println!("  {:.1} MB em blobs de camada", bytes as f64 / 1e6);

    step(&format!(
        "{} rodadas, cada uma com um registry novo em 127.0.0.1",
        opts.runs
    ));
    let mut s = Samples::default();
    for round in 0..opts.runs {
        let places = Places {
            work: work.path(),
            source: &source,
            layout: &layout_dir,
        };
        measure_round(&mut s, round, &casulo, &places)?;
    }
    report(&s, bytes, opts.runs)
}

/// skopeo and the registry server, from Debian.
fn require_tools() -> Result {
    for (bin, package) in [
        ("/usr/bin/skopeo", "skopeo"),
        (casulo_tests::registry::REGISTRY_BIN, "docker-registry"),
    ] {
        if !Path::new(bin).is_file() {
            fail!("{bin} não existe: instale com `cargo xtask setup` (pacote {package})");
        }
    }
    Ok(())
}

/// Where a round reads and writes: the bench's temp dir, casulo's store
/// holding `big:v1`, and the same image as an OCI layout (for skopeo).
struct Places<'a> {
    work: &'a Path,
    source: &'a Path,
    layout: &'a Path,
}

/// One round on a registry of its own: push cold and warm, pull cold and
/// warm, casulo then skopeo; adds its eight timings to `s`.
fn measure_round(
    s: &mut Samples,
    round: usize,
    casulo: &dyn Fn(&Path) -> Command,
    at: &Places,
) -> Result {
    let registry = Registry::start_with(None, None, None)?;
    let reg = &registry.addr;
    let source = at.source;
    // casulo: push cold, push warm.
    let remote = format!("{reg}/bench/casulo:v1");
    cmd::run(casulo(source).args(["image", "tag", "big:v1", &remote]))?;
    s.casulo_push
        .push(time(casulo(source).args(["push", &remote]))?);
    s.casulo_push_warm
        .push(time(casulo(source).args(["push", &remote]))?);
    cmd::run(casulo(source).args(["image", "rm", "-q", &remote]))?;
    // skopeo: the same image from the OCI layout.
    let oci = format!("oci:{}:big:v1", at.layout.display());
    let target = format!("docker://{reg}/bench/skopeo:v1");
    let skopeo_push = || {
        let mut c = Command::new("skopeo");
        c.args(["copy", "-q", "--dest-tls-verify=false", &oci, &target]);
        c
    };
    s.skopeo_push.push(time(&mut skopeo_push())?);
    s.skopeo_push_warm.push(time(&mut skopeo_push())?);
    // Pull, cold into nothing, then warm.
    let fresh = at.work.join(format!("limpo-{round}"));
    s.casulo_pull
        .push(time(casulo(&fresh).args(["pull", &remote]))?);
    s.casulo_pull_warm
        .push(time(casulo(&fresh).args(["pull", &remote]))?);
    fs::remove_dir_all(&fresh)?;
    let copied = format!(
        "oci:{}:big",
        at.work.join(format!("skopeo-{round}")).display()
    );
    let skopeo_pull = || {
        let mut c = Command::new("skopeo");
        c.args(["copy", "-q", "--src-tls-verify=false", &target, &copied]);
        c
    };
    s.skopeo_pull.push(time(&mut skopeo_pull())?);
    s.skopeo_pull_warm.push(time(&mut skopeo_pull())?);
    fs::remove_dir_all(at.work.join(format!("skopeo-{round}")))?;
    let ms = |d: &Vec<Duration>| d[round].as_secs_f64() * 1e3;
    println!(
        "  rodada {}: push {:.0}/{:.0} ms (casulo/skopeo), morno {:.0}/{:.0}; \
         pull {:.0}/{:.0}, morno {:.0}/{:.0}",
        round + 1,
        ms(&s.casulo_push),
        ms(&s.skopeo_push),
        ms(&s.casulo_push_warm),
        ms(&s.skopeo_push_warm),
        ms(&s.casulo_pull),
        ms(&s.skopeo_pull),
        ms(&s.casulo_pull_warm),
        ms(&s.skopeo_pull_warm),
    );
    Ok(())
}

/// The table of medians, the verdicts against the targets, and
/// `bench-results/registry.json`.
fn report(s: &Samples, bytes: u64, runs: usize) -> Result {
    let mb_s = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let rows = [
        ("push frio", &s.casulo_push, &s.skopeo_push, false),
        ("push morno", &s.casulo_push_warm, &s.skopeo_push_warm, true),
        ("pull frio", &s.casulo_pull, &s.skopeo_pull, false),
        ("pull morno", &s.casulo_pull_warm, &s.skopeo_pull_warm, true),
    ];
    println!();
    println!(
        "{:<12}{:>12}{:>12}{:>14}{:>14}{:>10}",
        "mediana", "casulo ms", "skopeo ms", "casulo MB/s", "skopeo MB/s", "razão"
    );
    let mut table = Vec::new();
    let mut verdicts = Vec::new();
    for (name, c, k, warm) in rows {
        let (c, k) = (median(c), median(k));
        let ratio = k.as_secs_f64() / c.as_secs_f64();
        let throughput = |d: Duration| {
            if warm {
                "-".into()
            } else {
                format!("{:.0}", mb_s(d))
            }
        };
        println!(
            "{name:<12}{:>12.0}{:>12.0}{:>14}{:>14}{:>9.2}x",
            ms(c),
            ms(k),
            throughput(c),
            throughput(k),
            ratio
        );
        verdicts.push(verdict(name, warm, ms(c), ratio));
        table.push(json!({
            "what": name,
            "casulo_median_ms": ms(c),
            "skopeo_median_ms": ms(k),
            "casulo_mb_s": mb_s(c),
            "skopeo_mb_s": mb_s(k),
            "ratio_skopeo_over_casulo": ratio,
        }));
    }
    println!();
    for v in &verdicts {
        println!("  {v}");
    }
    let results = cmd::workspace_root().join("bench-results");
    fs::create_dir_all(&results)?;
    let out = results.join("registry.json");
    fs::write(
        &out,
        serde_json::to_vec_pretty(&json!({
            "layer_bytes": bytes,
            "runs": runs,
            "rows": table,
            "casulo_version": env!("CARGO_PKG_VERSION"),
        }))
        .expect("json"),
    )?;
    println!("resultados em {}", out.display());
    Ok(())
}

/// A row against its target: warm under 100 ms, cold ≥ 1.0× skopeo.
fn verdict(name: &str, warm: bool, casulo_ms: f64, ratio: f64) -> String {
    if warm {
        format!(
            "{name}: {casulo_ms:.0} ms {} 100 ms",
            if casulo_ms < 100.0 {
                "<"
            } else {
                "≥ (acima da meta de)"
            }
        )
    } else {
        format!(
            "{name}: {ratio:.2}x o skopeo {}",
            if ratio >= 1.0 {
                "(meta ≥ 1.0x: ok)"
            } else {
                "(abaixo da meta de 1.0x)"
            }
        )
    }
}
