//! `cargo xtask bench lado-a-lado NOME=BINÁRIO…`: two or more casulo
//! binaries side by side, `run --rm busybox true`, to tell whether a change
//! made a run faster.
//!
//! What #19 taught about comparing them on this machine:
//! - interleaved rounds, each in its own shuffled order, the floor
//!   (`unshare`) among them: a slow moment of the machine hits all alike;
//! - the state directories **in rotation**: each binary has its turn in
//!   every directory (binary `i` uses directory `(i + round) mod K`). Where
//!   a fresh state directory lands on the ext4 (its block group, the inodes
//!   deleted near it lately) moves a binary's median by 0.3–0.5 ms here —
//!   as much as the changes being measured. Without the rotation the bench
//!   measures the directory;
//! - besides each median, the difference to the first binary **in the same
//!   round** (its median and quartiles): less noise than two medians;
//! - each binary's page cache dropped before the rounds ([`read_anew`]):
//!   pages a write or a `read()` brought in (a fresh build, a `cp`) are
//!   large folios, and the same binary ran ~0.35 ms faster from them than
//!   from the small ones an `exec`'s faults bring in;
//! - even so, two binaries of the same code differed by up to ~0.5 ms from
//!   one run of this bench to the next here (a shared VM): repeat a
//!   comparison, in both orders, and distrust a difference smaller than
//!   that.
//!
//! The binaries share nothing but the busybox image, bootstrapped by the
//! first one into each directory (in a temporary folder, removed at the end).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::bench_tools::{children_cpu, paired, quartiles, read_anew, time_once, Xorshift};
use crate::cmd::{self, step};
use crate::{fail, Result};

/// Rounds before the measured ones (caches, a layer's first unpack).
const WARMUP: usize = 3;

struct Contender {
    name: String,
    bin: PathBuf,
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

/// `[--runs N] NOME=BINÁRIO NOME=BINÁRIO…`
pub fn run(args: &[String]) -> Result {
    let mut runs = 200;
    let mut contenders = vec![];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => match it.next().and_then(|n| n.parse().ok()).filter(|n| *n > 0) {
                Some(n) => runs = n,
                None => fail!("--runs pede um número de rodadas maior que zero"),
            },
            spec => match spec.split_once('=') {
                Some((name, bin)) if !name.is_empty() && !bin.is_empty() => {
                    contenders.push(Contender {
                        name: name.to_string(),
                        bin: std::fs::canonicalize(bin).map_err(|e| format!("{bin}: {e}"))?,
                        wall: vec![],
                        cpu: vec![],
                    })
                }
                _ => fail!(
                    "uso: cargo xtask bench lado-a-lado [--runs N] NOME=BINÁRIO NOME=BINÁRIO… \
                     ({spec:?} não é NOME=BINÁRIO)"
                ),
            },
        }
    }
    if contenders.len() < 2 {
        fail!("dê pelo menos dois binários do casulo, como NOME=BINÁRIO");
    }
    cmd::require_root("os contêineres medidos criam namespaces e cgroups de verdade")?;

    let work = tempfile::Builder::new()
        .prefix("casulo-lado-a-lado-")
        .tempdir()?;
    let k = contenders.len();
    let dirs: Vec<PathBuf> = (0..k)
        .map(|j| work.path().join(format!("estado-{j}")))
        .collect();
    step(&format!(
        "busybox em {k} pastas de estado (pelo {})",
        contenders[0].name
    ));
    for dir in &dirs {
        cmd::run(
            Command::new(&contenders[0].bin)
                .arg("--root")
                .arg(dir)
                .args(["image", "bootstrap"]),
        )?;
    }

    for c in &contenders {
        read_anew(&c.bin)?;
    }
    step(&format!(
        "{WARMUP} rodadas de aquecimento + {runs} medidas; cada binário lido de novo do disco e em \
         cada pasta, em rodízio"
    ));
    let mut floor = vec![];
    // -1: the floor.
    let mut order: Vec<isize> = (-1..k as isize).collect();
    let mut seed = Xorshift(0x2545_f491_4f6c_dd1d);
    for round in 0..WARMUP + runs {
        seed.shuffle(&mut order);
        for &i in &order {
            let mut command = match usize::try_from(i) {
                Ok(i) => {
                    let mut c = Command::new(&contenders[i].bin);
                    c.arg("--root")
                        .arg(&dirs[(i + round) % k])
                        .args(["run", "--rm", "busybox", "true"]);
                    c
                }
                Err(_) => {
                    let mut c = Command::new("unshare");
                    c.args(["-fpmnuiC", "--mount-proc", "true"]);
                    c
                }
            };
            let before = children_cpu();
            let wall = ms(time_once(&mut command)?);
            let cpu = ms(children_cpu().saturating_sub(before));
            if round < WARMUP {
                continue;
            }
            match usize::try_from(i) {
                Ok(i) => {
                    contenders[i].wall.push(wall);
                    contenders[i].cpu.push(cpu);
                }
                Err(_) => floor.push(wall),
            }
        }
    }
    report(&contenders, &floor);
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(contenders: &[Contender], floor: &[f64]) {
    let Some(floor) = quartiles(floor).map(|q| q.median) else {
        return;
    };
    step(&format!(
        "run --rm busybox true, ms (piso `unshare`: {floor:.2}); a diferença de cada um para `{}`, rodada a rodada",
        contenders[0].name
    ));
    println!(
        "{:<16} {:>8} {:>8} {:>8} {:>8} {:>7}   {:>22}",
        "binário", "mediana", "p25", "p75", "CPU", "×piso", "diferença (p25 … p75)"
    );
    for c in contenders {
        let (Some(wall), Some(cpu), Some(diff)) = (
            quartiles(&c.wall),
            quartiles(&c.cpu),
            paired(&c.wall, &contenders[0].wall),
        ) else {
            continue;
        };
        println!(
            "{:<16} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7.2}   {:>+7.2} ({:+.2} … {:+.2})",
            c.name,
            wall.median,
            wall.p25,
            wall.p75,
            cpu.median,
            wall.median / floor,
            diff.median,
            diff.p25,
            diff.p75,
        );
    }
}
