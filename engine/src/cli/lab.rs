//! `casulo lab …`: the labs, checked from the student's own work.

use std::path::PathBuf;

use super::{CliError, CliResult};
use crate::lab::progress::{self, Progress};
use crate::lab::{self, chapter_url, Lab, Report, TaskStatus};
use crate::state::StateDir;

#[derive(Debug, clap::Subcommand)]
pub enum LabCmd {
    /// Lista os laboratórios, o capítulo de cada um e o seu progresso.
    #[command(visible_alias = "list")]
    Ls,
    /// Começa um laboratório: prepara a pasta de trabalho e mostra o objetivo e os passos
    /// (sem root, só os feitos sem root, como o 14; os outros pedem root, e o 14
    /// não roda como root).
    #[command(visible_alias = "start")]
    Iniciar(Which),
    /// Confere as tarefas: ✓, ✗ ou · (esperando outra) para cada uma, com o link para a
    /// prova no trace; sai com 1 se falta alguma.
    #[command(visible_alias = "check")]
    Verificar(Which),
    /// Mostra a próxima dica da primeira tarefa que falta.
    #[command(visible_alias = "hint")]
    Dica(Which),
    /// Recomeça do zero: apaga o progresso e a pasta de trabalho.
    #[command(visible_alias = "reset")]
    Reiniciar(Which),
}

/// Which lab: by number or name, or from a folder.
#[derive(Debug, clap::Args)]
pub struct Which {
    /// Número ou nome do laboratório (veja `casulo lab ls`).
    #[arg(value_name = "LAB", required_unless_present = "dir")]
    pub lab: Option<String>,
    /// Usa o laboratório desta pasta (com lab.toml e README.md) em vez dos que vêm no casulo.
    #[arg(long, value_name = "PASTA")]
    pub dir: Option<PathBuf>,
}

impl Which {
    fn load(&self) -> Result<Lab, CliError> {
        Ok(match &self.dir {
            Some(dir) => lab::bundle::from_dir(dir)?,
            None => lab::bundle::find(self.lab.as_deref().unwrap_or_default())?,
        })
    }

    /// How to name this lab again on the command line.
    fn arg(&self, lab: &Lab) -> String {
        match &self.dir {
            Some(dir) => format!("--dir {}", dir.display()),
            None => lab.number.to_string(),
        }
    }
}

pub fn run(state: &StateDir, cmd: LabCmd) -> CliResult {
    match cmd {
        LabCmd::Ls => ls(state),
        LabCmd::Iniciar(w) => start(state, &w),
        LabCmd::Verificar(w) => check(state, &w),
        LabCmd::Dica(w) => hint(state, &w),
        LabCmd::Reiniciar(w) => {
            let lab = w.load()?;
            allowed(&lab)?;
            progress::reset(state, &lab)?;
            println!(
                "Laboratório {} recomeçado do zero: progresso e pasta de trabalho apagados. \
                 Imagens e contêineres guardados continuam (veja `casulo image ls` e `casulo ps -a`).\n",
                lab.number
            );
            start(state, &w)
        }
    }
}

/// Refuses, before anything is made, a lab meant for the other side (root
/// or no root).
fn allowed(lab: &Lab) -> Result<(), CliError> {
    let all = lab::bundle::all()?;
    lab::privilege::may_start(lab, crate::rootless::active(), &all)?;
    Ok(())
}

fn ls(state: &StateDir) -> CliResult {
    let labs = lab::bundle::all()?;
    let rootless = crate::rootless::active();
    println!(
        "{:<3} {:<34} {:<28} PROGRESSO",
        "Nº", "LABORATÓRIO", "CAPÍTULO"
    );
    for l in &labs {
        let status = match progress::load(state, l)? {
            None if l.spec.rootless != rootless => if rootless {
                "precisa de root"
            } else {
                "só sem root"
            }
            .to_string(),
            None => "—".to_string(),
            Some(p) if p.done_at.is_some() => "concluído ✓".to_string(),
            Some(Progress {
                last_check: Some((passed, total)),
                ..
            }) => format!("{passed} de {total} tarefas"),
            Some(p) => format!("iniciado em {}", short_time(&p.started_at)),
        };
        println!(
            "{:<3} {:<34} {:<28} {status}",
            format!("{:02}", l.number),
            l.spec.title,
            l.spec.chapter
        );
    }
    match labs.iter().find(|l| l.spec.rootless) {
        Some(l) if rootless => println!(
            "\nSem root, faça o laboratório {n}: `casulo lab iniciar {n}` (os outros pedem root).",
            n = l.number
        ),
        _ => println!("\nComece com `casulo lab iniciar 1`."),
    }
    Ok(0)
}

fn start(state: &StateDir, w: &Which) -> CliResult {
    let lab = w.load()?;
    allowed(&lab)?;
    let arg = w.arg(&lab);
    let existing = progress::load(state, &lab)?;
    if existing.is_none() {
        progress::start(state, &lab)?;
    }
    // The README (goal, background, steps) starts with the lab's title;
    // without one, the title and the summary of lab.toml.
    if lab.readme.trim().is_empty() {
        println!("Laboratório {} — {}\n", lab.number, lab.spec.title);
        println!("{}\n", lab.spec.summary.trim());
    } else {
        println!("{}\n", lab.readme.trim_end());
    }
    let store = crate::image::Store::open(state).ok();
    for image in &lab.spec.images {
        if store.as_ref().is_none_or(|s| s.resolve(image).is_err()) {
            let how = if image.starts_with("busybox") {
                "crie-a com `casulo image bootstrap`"
            } else {
                "veja `casulo image --help`"
            };
            println!("⚠ Falta a imagem {image}, que este laboratório usa: {how}.");
        }
    }
    println!("Capítulo do curso: {}", chapter_url(&lab.spec.chapter));
    println!(
        "Pasta de trabalho: {}",
        progress::work_dir(state, &lab).display()
    );
    if lab.spec.rootless {
        // The proof links name traces of *this* state dir: a visualizer
        // serving root's /var/lib/casulo would not have them.
        println!(
            "Os links «prova:» abrem os seus traces ({}) num visualizador rodado por você, \
             sem sudo: `casulo ui`, ou no repositório `cargo xtask serve --traces {}`.",
            state.traces().display(),
            state.traces().display()
        );
    }
    println!("\nTarefas:");
    for t in &lab.spec.tasks {
        println!("  ☐ {} — {}", t.id.get_ref(), t.title);
    }
    match existing {
        Some(p) => println!(
            "\nEste laboratório já estava iniciado (desde {}): continue de onde parou, \
             ou recomece com `casulo lab reiniciar {arg}`.",
            short_time(&p.started_at)
        ),
        None => println!(
            "\nSó contam os contêineres e builds de agora em diante. \
             Quando terminar: `casulo lab verificar {arg}`."
        ),
    }
    Ok(0)
}

fn started(state: &StateDir, lab: &Lab, arg: &str) -> Result<Progress, CliError> {
    progress::load(state, lab)?.ok_or_else(|| lab::LabError::NotStarted(arg.to_string()).into())
}

fn check(state: &StateDir, w: &Which) -> CliResult {
    let lab = w.load()?;
    let arg = w.arg(&lab);
    let mut progress = started(state, &lab, &arg)?;
    let report = lab::verify(state, &lab, &progress);
    println!("Laboratório {} — {}", lab.number, lab.spec.title);
    println!(
        "({} trace(s) gravado(s) desde o início, em {}{})\n",
        report.traces,
        short_time(&progress.started_at),
        match report.unreadable {
            0 => String::new(),
            n => format!("; {n} ilegível(is) ignorado(s)"),
        }
    );
    print!("{}", render(&report));
    let total = report.tasks.len();
    progress.last_check = Some((report.passed(), total));
    if report.all_passed() && progress.done_at.is_none() {
        progress.done_at =
            Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string());
    }
    progress::save(state, &lab, &progress)?;
    if report.all_passed() {
        println!("\nParabéns! As {total} tarefas estão cumpridas. 🎉");
        Ok(0)
    } else {
        println!(
            "\n{} de {total} tarefas cumpridas. Travou? `casulo lab dica {arg}` dá uma pista.",
            report.passed()
        );
        Ok(1)
    }
}

/// ✓/✗ per task, the detail of what failed, hints, links to the proof.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for t in &report.tasks {
        match &t.status {
            TaskStatus::Passed => {
                out.push_str(&format!("✓ {} — {}\n", t.id, t.title));
                let mut seen = vec![];
                for p in t.checks.iter().filter_map(|c| c.proof.as_ref()) {
                    if !seen.contains(&p) {
                        out.push_str(&format!("    prova: {}\n", p.url()));
                        seen.push(p);
                    }
                }
            }
            TaskStatus::Failed => {
                out.push_str(&format!("✗ {} — {}\n", t.id, t.title));
                for c in t.checks.iter().filter(|c| !c.ok) {
                    out.push_str(&format!("    falta: {}\n", c.detail));
                    if let Some(p) = &c.proof {
                        out.push_str(&format!("    onde olhei: {}\n", p.url()));
                    }
                }
                for (text, proof) in &t.mistakes {
                    out.push_str(&format!("    dica: {}\n", text.trim()));
                    if let Some(p) = proof {
                        out.push_str(&format!("    veja: {}\n", p.url()));
                    }
                }
            }
            TaskStatus::Blocked(deps) => {
                let deps: Vec<String> = deps.iter().map(|d| format!("«{d}»")).collect();
                out.push_str(&format!(
                    "· {} — {} (espera {})\n",
                    t.id,
                    t.title,
                    deps.join(", ")
                ));
            }
        }
    }
    out
}

fn hint(state: &StateDir, w: &Which) -> CliResult {
    let lab = w.load()?;
    let arg = w.arg(&lab);
    let mut progress = started(state, &lab, &arg)?;
    let report = lab::verify(state, &lab, &progress);
    let Some(pending) = report.first_pending() else {
        println!("Todas as tarefas já estão cumpridas: não há dica a dar. 🎉");
        return Ok(0);
    };
    let task = lab
        .spec
        .tasks
        .iter()
        .find(|t| t.id.get_ref() == &pending.id)
        .expect("the report's task is in the lab");
    println!("Tarefa {} — {}", pending.id, pending.title);
    for (text, _) in &pending.mistakes {
        println!("  {}", text.trim());
    }
    if task.hints.is_empty() {
        if pending.mistakes.is_empty() {
            println!(
                "  Esta tarefa não tem dicas: releia os passos com `casulo lab iniciar {arg}`."
            );
        }
        return Ok(0);
    }
    let seen = progress.hints_seen.get(&pending.id).copied().unwrap_or(0);
    let i = seen.min(task.hints.len() - 1);
    println!(
        "Dica {} de {}: {}",
        i + 1,
        task.hints.len(),
        task.hints[i].trim()
    );
    if i + 1 == task.hints.len() && seen >= task.hints.len() {
        println!("(era a última dica desta tarefa)");
    }
    progress.hints_seen.insert(pending.id.clone(), seen + 1);
    progress::save(state, &lab, &progress)?;
    Ok(0)
}

/// `2026-12-02T03:49:28.863406Z` → `2026-12-02 03:49 UTC`.
fn short_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => rfc3339.to_string(),
    }
}
