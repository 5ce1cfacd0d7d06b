//! `casulo lab verificar`: every task of a lab, checked against the
//! student's work since `lab iniciar`; for each check, what was found and
//! the event of the trace that proves it (or shows what is missing).

use std::path::PathBuf;
use std::time::SystemTime;

use super::facts;
use super::output;
use super::pattern;
use super::progress::{self, Progress};
use super::spec::{Check, Cmp, Subject};
use super::store;
use super::traces::{self, StudentTrace};
use super::{trace_url, Lab};
use crate::state::StateDir;

/// An event of a trace in `traces/`: where the student sees the proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub trace: String,
    pub seq: u64,
}

impl Proof {
    /// The visualizer at that event.
    pub fn url(&self) -> String {
        trace_url(&self.trace, self.seq)
    }
}

/// The verdict on one check.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub ok: bool,
    /// What was found (ok) or what is missing (not ok), in pt-BR.
    pub detail: String,
    pub proof: Option<Proof>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskStatus {
    Passed,
    Failed,
    /// Not checked: these tasks it depends on have not passed.
    Blocked(Vec<String>),
}

/// The verdict on one task.
#[derive(Debug, Clone)]
pub struct TaskReport {
    pub id: String,
    pub title: String,
    pub status: TaskStatus,
    pub checks: Vec<CheckOutcome>,
    /// Recognised mistakes: the text the lab gives, and where it was seen.
    pub mistakes: Vec<(String, Option<Proof>)>,
}

/// The verdict on a lab.
#[derive(Debug, Clone)]
pub struct Report {
    pub tasks: Vec<TaskReport>,
    /// Traces recorded since the lab started (and read).
    pub traces: usize,
    /// Trace files that could not be read (left out).
    pub unreadable: usize,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Passed)
            .count()
    }

    pub fn all_passed(&self) -> bool {
        self.passed() == self.tasks.len()
    }

    /// The first task that has not passed.
    pub fn first_pending(&self) -> Option<&TaskReport> {
        self.tasks.iter().find(|t| t.status != TaskStatus::Passed)
    }
}

/// What a check looks at.
struct Context<'a> {
    state: &'a StateDir,
    work: PathBuf,
    since: SystemTime,
    traces: Vec<StudentTrace>,
}

/// Checks every task of `lab` (dependencies first).
pub fn verify(state: &StateDir, lab: &Lab, progress: &Progress) -> Report {
    let since = progress.started();
    let (traces, unreadable) = traces::since(state, since);
    let cx = Context {
        state,
        work: progress::work_dir(state, lab),
        since,
        traces,
    };
    let mut tasks: Vec<TaskReport> = vec![];
    for task in &lab.spec.tasks {
        let id = task.id.get_ref().clone();
        let blocked: Vec<String> = task
            .depends
            .iter()
            .map(|d| d.get_ref().clone())
            .filter(|d| {
                tasks
                    .iter()
                    .any(|t| &t.id == d && t.status != TaskStatus::Passed)
            })
            .collect();
        if !blocked.is_empty() {
            tasks.push(TaskReport {
                id,
                title: task.title.clone(),
                status: TaskStatus::Blocked(blocked),
                checks: vec![],
                mistakes: vec![],
            });
            continue;
        }
        let checks: Vec<CheckOutcome> = task
            .checks
            .iter()
            .map(|c| check(&cx, c.get_ref()))
            .collect();
        let passed = checks.iter().all(|c| c.ok);
        let mistakes = if passed {
            vec![]
        } else {
            task.mistakes
                .iter()
                .map(|m| (m.get_ref(), check(&cx, m.get_ref())))
                .filter(|(_, o)| o.ok)
                .map(|(m, o)| (m.text.clone().unwrap_or_default(), o.proof))
                .collect()
        };
        tasks.push(TaskReport {
            id,
            title: task.title.clone(),
            status: if passed {
                TaskStatus::Passed
            } else {
                TaskStatus::Failed
            },
            checks,
            mistakes,
        });
    }
    Report {
        tasks,
        traces: cx.traces.len(),
        unreadable,
    }
}

fn check(cx: &Context, c: &Check) -> CheckOutcome {
    let plain = |r: Result<String, String>| match r {
        Ok(detail) => CheckOutcome {
            ok: true,
            detail,
            proof: None,
        },
        Err(detail) => CheckOutcome {
            ok: false,
            detail,
            proof: None,
        },
    };
    match c.subject() {
        Subject::Trace => trace_check(cx, c),
        Subject::Image => plain(store::image_check(cx.state, c)),
        Subject::Containers => plain(store::containers_check(cx.state, c, cx.since)),
        Subject::Output => plain(output::output_check(&cx.work, c)),
        Subject::Command => plain(output::command_check(&cx.work, cx.state.root(), c)),
    }
}

/// One trace against the trace refinements of a check.
struct TraceEval {
    ok: bool,
    /// Conditions met (to pick the closest trace when none passes).
    met: usize,
    /// The first condition not met, in words.
    missing: Option<String>,
    /// The event to show: the proof, or where the problem is.
    at: Option<usize>,
}

fn eval_trace(c: &Check, t: &StudentTrace) -> TraceEval {
    let mut e = TraceEval {
        ok: true,
        met: 0,
        missing: None,
        at: None,
    };
    let fail = |e: &mut TraceEval, why: String, at: Option<usize>| {
        if e.ok {
            e.ok = false;
            e.missing = Some(why);
            if at.is_some() {
                e.at = at;
            }
        }
    };
    for p in &c.with {
        match t
            .json
            .iter()
            .position(|ev| pattern::matches(p.get_ref(), ev))
        {
            Some(i) => {
                e.met += 1;
                if e.ok {
                    e.at = Some(e.at.map_or(i, |a| a.max(i)));
                }
            }
            None => fail(
                &mut e,
                format!("faltou {}", pattern::describe(p.get_ref())),
                None,
            ),
        }
    }
    for p in &c.without {
        match t
            .json
            .iter()
            .position(|ev| pattern::matches(p.get_ref(), ev))
        {
            Some(i) => fail(
                &mut e,
                format!(
                    "o trace tem {} (e não devia)",
                    pattern::describe(p.get_ref())
                ),
                Some(i),
            ),
            None => e.met += 1,
        }
    }
    if let Some(fs) = &c.facts {
        for (name, want) in fs.get_ref() {
            let r = facts::eval(name, want, t);
            if r.ok {
                e.met += 1;
                if e.ok {
                    if let Some(i) = r.at {
                        e.at = Some(e.at.map_or(i, |a| a.max(i)));
                    }
                }
            } else {
                fail(
                    &mut e,
                    format!(
                        "{name}: esperava {}; no trace: {}",
                        facts::describe_want(want),
                        r.have
                    ),
                    r.at,
                );
            }
        }
    }
    e
}

fn trace_check(cx: &Context, c: &Check) -> CheckOutcome {
    let which = c
        .trace
        .as_ref()
        .map(|t| t.get_ref().as_str())
        .unwrap_or("run");
    let (noun, how) = match which {
        "build" => ("build", "casulo build"),
        "run" => ("execução", "casulo run"),
        "push" => ("push", "casulo push"),
        "pull" => ("pull", "casulo pull"),
        _ => (
            "execução, build, push ou pull",
            "casulo run, build, push ou pull",
        ),
    };
    let candidates: Vec<&StudentTrace> = cx
        .traces
        .iter()
        .rev()
        .filter(|t| match which {
            "build" => t.is_build(),
            "run" => !t.is_build() && t.transfer().is_none(),
            "push" | "pull" => t.transfer() == Some(which),
            _ => true,
        })
        .collect();
    let times = c
        .times
        .as_ref()
        .and_then(|v| Cmp::from_value(v.get_ref()))
        .unwrap_or(Cmp {
            op: super::spec::CmpOp::Ge,
            n: 1,
        });
    let evals: Vec<(&StudentTrace, TraceEval)> =
        candidates.iter().map(|t| (*t, eval_trace(c, t))).collect();
    let passing: Vec<&(&StudentTrace, TraceEval)> = evals.iter().filter(|(_, e)| e.ok).collect();
    let proof = |t: &StudentTrace, at: Option<usize>| {
        let index = at.unwrap_or(t.trace.events.len().saturating_sub(1));
        Some(Proof {
            trace: t.file_name.clone(),
            seq: t.seq(index),
        })
    };
    let n = passing.len() as i64;
    if times.holds(n) {
        let (detail, pr) = match passing.first() {
            Some((t, e)) if c.times.is_none() => {
                (format!("visto no trace {}", t.file_name), proof(t, e.at))
            }
            Some((t, e)) => (format!("{n} traces conferem"), proof(t, e.at)),
            None => ("nenhum trace confere, como esperado".to_string(), None),
        };
        return CheckOutcome {
            ok: true,
            detail,
            proof: pr,
        };
    }
    if candidates.is_empty() {
        return CheckOutcome {
            ok: false,
            detail: format!(
                "nenhum trace de {noun} desde que você iniciou o laboratório (rode `{how}`)"
            ),
            proof: None,
        };
    }
    if c.times.is_some() {
        let (t, e) = passing.first().copied().unwrap_or(&evals[0]);
        let why = if n == 0 {
            e.missing.clone().unwrap_or_default()
        } else {
            String::new()
        };
        return CheckOutcome {
            ok: false,
            detail: format!(
                "{n} de {} traces de {noun} conferem; esperava {times}{}",
                candidates.len(),
                if why.is_empty() {
                    String::new()
                } else {
                    format!(" (no último: {why})")
                }
            ),
            proof: proof(t, e.at),
        };
    }
    // The closest trace: most conditions met, the newest on a tie.
    let (t, e) = evals
        .iter()
        .rev()
        .max_by_key(|(_, e)| e.met)
        .expect("candidates is not empty");
    CheckOutcome {
        ok: false,
        detail: format!(
            "{} (no trace mais próximo: {})",
            e.missing.clone().unwrap_or_default(),
            t.file_name
        ),
        proof: proof(t, e.at),
    }
}
