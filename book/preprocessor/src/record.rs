//! The recorder: runs a scenario with the real `casulo`, as root (or as a
//! student without root: `aluno = true`, [`crate::student`]), in a fresh
//! state dir and work dir, and keeps what the reader will see.
//!
//! The transcript is saved as `<nome>.saida.json` (one entry per step:
//! the command as shown, its output, its exit code) and the traced step's
//! trace as `<nome>.trace.jsonl`. The temporary paths are rewritten to the
//! ones a student has (`/var/lib/casulo`, `~/curso`), in both.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::leftovers::{self, Groups};
use crate::scenario::Scenario;
use crate::student::Student;

/// What the reader sees of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    pub passos: Vec<RecordedStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedStep {
    /// The command as shown (`$TRACE` replaced by the trace's path).
    pub comando: String,
    pub saida: String,
    pub codigo: i32,
}

/// A fresh recording: the transcript and, if a step was traced, the trace
/// text (paths already rewritten).
pub struct Recorded {
    pub recording: Recording,
    pub trace: Option<String>,
}

/// The state dir and work dir as the book shows them.
pub const SHOWN_ROOT: &str = "/var/lib/casulo";
pub const SHOWN_WORK: &str = "~/curso";

/// Runs `scenario` with the `casulo` binary `casulo`, using a new directory
/// under `scratch` (removed at the end). The error says which step failed
/// and shows its output.
pub fn record(scenario: &Scenario, casulo: &Path, scratch: &Path) -> Result<Recorded, String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    // Kept (not a TempDir): removing it is checked below, not silent.
    let tmp = tempfile::Builder::new()
        .prefix("cenario-")
        .tempdir_in(scratch)
        .map_err(|e| format!("não consegui criar uma pasta em {}: {e}", scratch.display()))?
        .keep();
    let result = record_in(scenario, casulo, &tmp);
    // What ran is gone (record_in cleans up, passed or failed): what the
    // containers left are files; a failure here is worth saying.
    if let Err(e) = std::fs::remove_dir_all(&tmp) {
        return Err(format!(
            "não consegui apagar {} depois do cenário ({e}): algo ficou montado?",
            tmp.display()
        ));
    }
    result
}

fn record_in(scenario: &Scenario, casulo: &Path, tmp: &Path) -> Result<Recorded, String> {
    // The registry (when the scenario has one) lives until the steps end
    // and what they left is gone.
    let (paths, _registry) = set_up(scenario, casulo, tmp)?;
    let recorded = record_steps(scenario, &paths);
    // Passed or failed: a failed step skipped the steps that clean up.
    paths.clean_up();
    recorded
}

fn record_steps(scenario: &Scenario, paths: &Paths) -> Result<Recorded, String> {
    remove_empty_cgroup_parents();
    write_files(scenario, paths)?;
    prepare(scenario, paths)?;
    let (passos, trace) = run_steps(scenario, paths)?;
    let trace = match trace {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("não consegui ler o trace {}: {e}", path.display()))?;
            Some(paths.shown(&text))
        }
        None => None,
    };
    Ok(Recorded {
        recording: Recording { passos },
        trace,
    })
}

/// The scenario's folders, its `casulo` (a copy for the student, a link
/// for root) and its registry.
fn set_up(
    scenario: &Scenario,
    casulo: &Path,
    tmp: &Path,
) -> Result<(Paths, Option<casulo_tests::registry::Registry>), String> {
    let (state, work, bin) = (tmp.join("estado"), tmp.join("curso"), tmp.join("bin"));
    for d in [&state, &work, &bin] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let casulo = std::fs::canonicalize(casulo)
        .map_err(|e| format!("o binário {} não existe: {e}", casulo.display()))?;
    let student = if scenario.aluno {
        // A copy the student can run (the target dir may be closed to it).
        use std::os::unix::fs::PermissionsExt;
        std::fs::copy(&casulo, bin.join("casulo"))
            .and_then(|_| std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)))
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        Some(Student::new(tmp)?)
    } else {
        std::os::unix::fs::symlink(&casulo, bin.join("casulo"))
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        None
    };
    // `localhost:5000` in the commands is a registry of this scenario's own.
    let certs_d = scenario.registro_tls.then(|| tmp.join("certs.d"));
    let registry = match (scenario.registro, &certs_d) {
        (true, Some(certs_d)) => {
            // The CA goes to the work dir only: putting it where casulo
            // looks is the reader's step.
            let made = tmp.join("ca-gerada");
            let registry = casulo_tests::registry::Registry::start_with_tls(&made);
            let ca = made.join(&registry.addr).join("ca.crt");
            std::fs::copy(&ca, work.join("ca.crt"))
                .map_err(|e| format!("{}: {e}", ca.display()))?;
            std::fs::create_dir_all(certs_d).map_err(|e| format!("{}: {e}", certs_d.display()))?;
            Some(registry)
        }
        (true, None) => Some(casulo_tests::registry::Registry::start_with(
            None, None, None,
        )?),
        (false, _) => None,
    };
    let port = registry
        .as_ref()
        .and_then(|r| r.addr.rsplit_once(':').map(|(_, p)| p.to_string()));
    let paths = Paths {
        state,
        work,
        bin,
        registry_port: port,
        certs_d,
        student,
        groups: Groups::default(),
    };
    Ok((paths, registry))
}

/// Every scenario starts as on a machine where no casulo container ran
/// since boot (or since `casulo gc`): the `casulo` parent cgroups, which
/// the first container makes and the last one leaves, are removed when
/// empty (a busy one stays: `rmdir` refuses it). Without this, whether the
/// trace opens with the parent's `mkdir`s would depend on what ran before,
/// and the chapters number those events.
fn remove_empty_cgroup_parents() {
    for parent in casulo_tests::host_casulo_cgroup_parents() {
        let _ = std::fs::remove_dir(parent);
    }
}

/// The scenario's files, written into the work dir (the student's, when
/// the scenario runs as one).
fn write_files(scenario: &Scenario, paths: &Paths) -> Result<(), String> {
    for f in &scenario.arquivo {
        let path = paths.work.join(&f.caminho);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, &f.conteudo).map_err(|e| format!("{}: {e}", path.display()))?;
        use std::os::unix::fs::PermissionsExt;
        let mode = f.modo.unwrap_or(0o644);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(student) = &paths.student {
        student.take(&paths.work)?;
    }
    Ok(())
}

/// The steps the page does not show: the bootstrap and the scenario's `preparo`.
fn prepare(scenario: &Scenario, paths: &Paths) -> Result<(), String> {
    let hidden = std::iter::once("casulo image bootstrap".to_string())
        .chain(scenario.preparo.iter().cloned());
    for command in hidden {
        let (out, code) = paths.run(&paths.real(&command), None, 300)?;
        if code != 0 {
            return Err(format!(
                "o preparo `{command}` terminou com código {code}:\n{out}"
            ));
        }
    }
    Ok(())
}

/// The shown steps, each checked against its expected code; the trace
/// of the last step that wrote one.
fn run_steps(
    scenario: &Scenario,
    paths: &Paths,
) -> Result<(Vec<RecordedStep>, Option<PathBuf>), String> {
    let mut passos = Vec::new();
    let mut trace: Option<(PathBuf, String)> = None;
    for (i, step) in scenario.passo.iter().enumerate() {
        let shown_trace = trace.as_ref().map(|(_, shown)| shown.as_str());
        let comando = match shown_trace {
            Some(t) => step.comando.replace("$TRACE", t),
            None => step.comando.clone(),
        };
        let real_trace = trace.as_ref().map(|(p, _)| p.as_path());
        let (out, code) = paths.run(
            &paths.real(&step.comando),
            real_trace,
            step.limite_s.unwrap_or(120),
        )?;
        if code != step.codigo {
            return Err(format!(
                "o passo {} (`{}`) terminou com código {code}, e o cenário espera {}:\n{out}",
                i + 1,
                step.comando,
                step.codigo
            ));
        }
        if step.trace {
            let Some(path) = out
                .lines()
                .rev()
                .find_map(|l| l.trim_end().strip_prefix("casulo: trace: "))
            else {
                return Err(format!(
                    "o passo {} tem trace = true, mas não escreveu a linha `casulo: trace: <caminho>`:\n{out}",
                    i + 1
                ));
            };
            // A relative path (from a relative --root) is relative to the
            // step's folder, the work dir.
            let path = paths.work.join(path.trim());
            trace = Some((path.clone(), paths.shown(&path.to_string_lossy())));
        }
        passos.push(RecordedStep {
            comando,
            saida: paths.shown(out.trim_end_matches('\n')),
            codigo: code,
        });
    }
    Ok((passos, trace.map(|(path, _)| path)))
}

struct Paths {
    state: PathBuf,
    work: PathBuf,
    bin: PathBuf,
    /// The real port of the scenario's registry (`registro = true`).
    registry_port: Option<String>,
    /// The scenario's own `/etc/casulo/certs.d` (`registro_tls = true`).
    certs_d: Option<PathBuf>,
    /// `aluno = true`: who runs the commands.
    student: Option<Student>,
    /// The process group of every command run, for [`Paths::clean_up`].
    groups: Groups,
}

/// Where casulo looks for a registry's CA, as written in commands.
const SHOWN_CERTS_D: &str = "/etc/casulo/certs.d";

/// How the scenario's registry is written in commands and recordings.
const SHOWN_REGISTRY: &str = "localhost:5000";

impl Paths {
    /// `command` with `localhost:5000` pointing at the scenario's registry.
    fn real(&self, command: &str) -> String {
        let command = match &self.certs_d {
            Some(dir) => command.replace(SHOWN_CERTS_D, &dir.to_string_lossy()),
            None => command.to_string(),
        };
        match &self.registry_port {
            Some(port) => command.replace(SHOWN_REGISTRY, &format!("localhost:{port}")),
            None => command,
        }
    }

    /// Runs `command` with bash in the work dir, stdout and stderr in one
    /// stream, killed after `limit_s`: (output, exit code). It runs in a
    /// process group of its own, which its background jobs keep after it
    /// ends: [`Paths::clean_up`] stops them.
    fn run(
        &self,
        command: &str,
        trace: Option<&Path>,
        limit_s: u64,
    ) -> Result<(String, i32), String> {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into())
        );
        let mut cmd = match &self.student {
            // Its own clean environment: its state goes where a student's
            // goes (~/.local/share/casulo), not to CASULO_ROOT.
            Some(student) => {
                let mut env = vec![("COLUMNS", "100".to_string())];
                if let Some(t) = trace {
                    env.push(("TRACE", t.display().to_string()));
                }
                student.command(&self.bin, &env)
            }
            None => {
                let mut cmd = Command::new("env");
                cmd.env("PATH", path)
                    .env("CASULO_ROOT", &self.state)
                    .env("COLUMNS", "100")
                    .env_remove("CASULO_BIN");
                if let Some(t) = trace {
                    cmd.env("TRACE", t);
                }
                cmd
            }
        };
        cmd.args(["timeout", "-k", "5", &limit_s.to_string(), "bash", "-c"])
            .arg(format!("exec 2>&1\n{command}"))
            .current_dir(&self.work)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        match &self.certs_d {
            Some(dir) => cmd.env("CASULO_CERTS_D", dir),
            None => cmd.env_remove("CASULO_CERTS_D"),
        };
        // The group `timeout` makes for itself anyway (to kill the whole
        // command when time is up), made here so that its number is known.
        let child = cmd
            .process_group(0)
            .spawn()
            .map_err(|e| format!("não consegui rodar bash: {e}"))?;
        self.groups.add(child.id());
        let out = child
            .wait_with_output()
            .map_err(|e| format!("não consegui rodar bash: {e}"))?;
        let code = out.status.code().unwrap_or(128);
        if code == 124 {
            // timeout's own code: the step hung.
            return Err(format!(
                "`{command}` passou de {limit_s} s e foi interrompido:\n{}",
                String::from_utf8_lossy(&out.stdout)
            ));
        }
        Ok((String::from_utf8_lossy(&out.stdout).into_owned(), code))
    }

    /// What the scenario started stops ([`leftovers`]): its containers
    /// are removed by casulo (`rm -f` thaws a paused one, waits for its
    /// `casulo run` or supervisor to record the end and clean up), then
    /// what is left of its commands' process groups gets SIGTERM, and
    /// SIGKILL after [`leftovers::GRACE`]. The student's processes also
    /// go when it is dropped.
    fn clean_up(&self) {
        let _ = self.run("casulo ps -aq | xargs -r casulo rm -f", None, 60);
        self.groups.stop(leftovers::GRACE);
    }

    /// `text` with the temporary dirs written as a student has them.
    fn shown(&self, text: &str) -> String {
        let state = self.state.to_string_lossy();
        let work = self.work.to_string_lossy();
        let mut text = text
            .replace(&*state, SHOWN_ROOT)
            .replace(&*work, SHOWN_WORK);
        if let Some(student) = &self.student {
            text = student.shown(&text);
        }
        if let Some(dir) = &self.certs_d {
            text = text.replace(&*dir.to_string_lossy(), SHOWN_CERTS_D);
        }
        match &self.registry_port {
            Some(port) => text
                .replace(&format!("localhost:{port}"), SHOWN_REGISTRY)
                .replace(&format!("127.0.0.1:{port}"), SHOWN_REGISTRY),
            None => text,
        }
    }
}

/// `<dir>/<nome>.saida.json`
pub fn recording_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.saida.json"))
}

/// `<dir>/<nome>.trace.jsonl`
pub fn trace_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.trace.jsonl"))
}

/// Writes a fresh recording next to its scenario.
pub fn save(dir: &Path, name: &str, recorded: &Recorded) -> Result<(), String> {
    let json = serde_json::to_string_pretty(&recorded.recording).expect("serializable") + "\n";
    let path = recording_path(dir, name);
    std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    let trace = trace_path(dir, name);
    match &recorded.trace {
        Some(text) => std::fs::write(&trace, text).map_err(|e| format!("{}: {e}", trace.display())),
        None => match std::fs::remove_file(&trace) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("{}: {e}", trace.display()))
            }
            _ => Ok(()),
        },
    }
}

/// Reads an example's recorded trace: it must validate and be of this
/// engine's trace format (an older one means: record it again).
pub fn load_trace(dir: &Path, name: &str) -> Result<casulo_trace::Trace, String> {
    let path = trace_path(dir, name);
    let trace = casulo_trace::read_trace_file(&path).map_err(|e| {
        format!(
            "o trace do exemplo {name} ({}) é inválido: {e}",
            path.display()
        )
    })?;
    if trace.header.format_version != casulo_trace::FORMAT_VERSION {
        return Err(format!(
            "o trace do exemplo {name} é do formato {}, e o atual é {}: grave de novo (cargo xtask book --regravar {name})",
            trace.header.format_version,
            casulo_trace::FORMAT_VERSION
        ));
    }
    Ok(trace)
}

/// Reads a saved recording.
pub fn load(dir: &Path, name: &str) -> Result<Recording, String> {
    let path = recording_path(dir, name);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "{}: não consegui ler ({e}); grave com `cargo xtask book`",
            path.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|e| format!("{}:{}: {e}", path.display(), e.line()))
}
