//! `probe cronometrar`: start→exit of programs, timed side by side where
//! no other tool is (the cgroup v2 VM of `cargo xtask bench vm` has busybox,
//! whose `date` has no nanoseconds). Rounds are interleaved, each in its
//! own shuffled order, so a slow moment hits every contender alike and no
//! contender always follows the same other one (a rotation kept the
//! cycle: casulo always ran right after crun and paid the kernel's
//! deferred cleanup of crun's cgroup); the first [`WARMUP`] rounds are not
//! counted. Shuffling only spread that cost: in the VM every run right
//! after a `crun run` paid ~90 ms more CPU (13 of 13 `casulo run`s, 7 of 7
//! `casulo --version`s, 5 of 5 `crun`s; none after any other contender),
//! so each timed run now follows an untimed run of the same program: what
//! each one costs run again and again (crun's aftermath lands on crun),
//! not what the previous contender left behind. Wall time from `fork` to `wait4`,
//! and the CPU the child and its descendants used (`wait4`'s rusage).
//! Besides the medians, each contender's CPU round by round (`cpu_ms`,
//! `null` for a run that failed), so the bench can pair two contenders
//! of the same round (the trace's CPU: `casulo` − `casulo --trace
//! /dev/null`).

use std::process::{Command, Stdio};
use std::time::Instant;

use crate::{emit, Json};

/// Rounds run before the measured ones (caches, first-run work).
const WARMUP: usize = 2;

struct Contender<'a> {
    name: &'a str,
    argv: &'a [&'a str],
    wall_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
    /// Every measured round's CPU, in order (`None`: the run failed).
    cpu_by_round: Vec<Option<f64>>,
    failures: usize,
}

/// A fixed-seed xorshift: the same orders on every run of the bench.
struct Shuffle(u64);

impl Shuffle {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Fisher–Yates.
    fn shuffle(&mut self, items: &mut [usize]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// `RODADAS NOME PROG ARGS... [,, NOME PROG ARGS...]`.
pub fn run(rounds: usize, spec: &[&str]) -> i32 {
    let mut contenders: Vec<Contender> = spec
        .split(|a| *a == ",,")
        .filter_map(|part| match part {
            [name, argv @ ..] if !argv.is_empty() => Some(Contender {
                name,
                argv,
                wall_ms: vec![],
                cpu_ms: vec![],
                cpu_by_round: vec![],
                failures: 0,
            }),
            _ => None,
        })
        .collect();
    if contenders.is_empty() || rounds == 0 {
        return crate::usage();
    }
    let n = contenders.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut seed = Shuffle(0x9e37_79b9_7f4a_7c15);
    for round in 0..WARMUP + rounds {
        seed.shuffle(&mut order);
        for &k in &order {
            let c = &mut contenders[k];
            // The same program just before, untimed (see the module docs).
            let _ = time_one(c.argv);
            let timed = time_one(c.argv);
            match timed {
                Some((wall, cpu)) if round >= WARMUP => {
                    c.wall_ms.push(wall);
                    c.cpu_ms.push(cpu);
                }
                Some(_) => {}
                None => c.failures += 1,
            }
            if round >= WARMUP {
                c.cpu_by_round.push(timed.map(|(_, cpu)| cpu));
            }
        }
    }
    let list = contenders
        .iter()
        .map(|c| {
            let mut wall = c.wall_ms.clone();
            let mut cpu = c.cpu_ms.clone();
            Json::Obj(vec![
                ("nome".into(), Json::Str(c.name.into())),
                ("medidas".into(), Json::Int(wall.len() as i64)),
                ("falhas".into(), Json::Int(c.failures as i64)),
                ("mediana_ms".into(), ms(percentile(&mut wall, 50))),
                ("p10_ms".into(), ms(percentile(&mut wall, 10))),
                ("p90_ms".into(), ms(percentile(&mut wall, 90))),
                ("cpu_mediana_ms".into(), ms(percentile(&mut cpu, 50))),
                (
                    "cpu_ms".into(),
                    Json::Arr(
                        c.cpu_by_round
                            .iter()
                            .map(|cpu| cpu.map_or(Json::Null, ms))
                            .collect(),
                    ),
                ),
            ])
        })
        .collect();
    emit(&Json::Obj(vec![
        ("rodadas".into(), Json::Int(rounds as i64)),
        ("concorrentes".into(), Json::Arr(list)),
    ]));
    if contenders.iter().any(|c| c.failures > 0) {
        1
    } else {
        0
    }
}

/// One run of `argv` (its output thrown away): wall and CPU ms, or `None`
/// if it could not start or did not exit 0.
fn time_one(argv: &[&str]) -> Option<(f64, f64)> {
    let began = Instant::now();
    let child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for the child spawned above (std will not wait for it again).
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let wall = began.elapsed().as_secs_f64() * 1000.0;
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    let cpu = ms(usage.ru_utime) + ms(usage.ru_stime);
    let ok = pid > 0 && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    ok.then_some((wall, cpu))
}

/// A number of milliseconds, to the microsecond.
fn ms(x: f64) -> Json {
    Json::Raw(format!("{x:.3}"))
}

/// The `p`th percentile (nearest rank) of `v`; 0 when empty.
fn percentile(v: &mut [f64], p: usize) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let rank = (p * v.len()).div_ceil(100).max(1);
    v[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&mut v, 50), 3.0);
        assert_eq!(percentile(&mut v, 10), 1.0);
        assert_eq!(percentile(&mut v, 90), 5.0);
        assert_eq!(percentile(&mut [], 50), 0.0);
    }

    #[test]
    fn a_program_is_timed_and_a_failure_counted() {
        let (wall, cpu) = time_one(&[
            "sh",
            "-c",
            "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done",
        ])
        .unwrap();
        assert!(wall > 0.0 && cpu > 0.0, "{wall} {cpu}");
        assert!(time_one(&["false"]).is_none());
        assert!(time_one(&["/nao/existe"]).is_none());
    }

    /// Every order is a permutation, and over the rounds each contender
    /// follows more than one other (a rotation always put the same one
    /// before it).
    #[test]
    fn the_rounds_vary_who_runs_before_whom() {
        let mut order: Vec<usize> = (0..5).collect();
        let mut seed = Shuffle(0x9e37_79b9_7f4a_7c15);
        let mut before = vec![std::collections::BTreeSet::new(); 5];
        for _ in 0..20 {
            seed.shuffle(&mut order);
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
            for pair in order.windows(2) {
                before[pair[1]].insert(pair[0]);
            }
        }
        assert!(before.iter().all(|b| b.len() >= 3), "{before:?}");
    }
}
