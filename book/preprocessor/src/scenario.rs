//! A scenario: `book/exemplos/<nome>.toml`, what the recorder runs (see
//! `book/README.md`). Parsing errors name the file, the line and the field.

use std::path::Path;

use serde::Deserialize;

/// One example of the course, as its author wrote it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the example shows (for whoever reads the file).
    pub descricao: String,
    /// Commands run before the steps and not shown.
    #[serde(default)]
    pub preparo: Vec<String>,
    /// Files created in the work dir before anything runs.
    #[serde(default)]
    pub arquivo: Vec<File>,
    /// What the reader types, in order.
    pub passo: Vec<Step>,
    /// A real registry (docker-registry) runs on loopback for the whole
    /// scenario: `localhost:5000` in the commands is it (its real port is
    /// a free one, shown as 5000 in the recording).
    #[serde(default)]
    pub registro: bool,
    /// With `registro`: the registry speaks HTTPS, with a certificate of a
    /// CA made for the scenario; the CA's certificate is `ca.crt` in the
    /// work dir (what a teacher hands the class), and `/etc/casulo/certs.d`
    /// in the commands is a folder of the scenario's own.
    #[serde(default)]
    pub registro_tls: bool,
    /// Every command runs as the user `aluno`, without root (rootless
    /// casulo; see `student.rs`).
    #[serde(default)]
    pub aluno: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// Relative to the work dir; never `..` nor absolute.
    pub caminho: String,
    pub conteudo: String,
    /// Unix mode (e.g. `0o755`); default 0o644.
    #[serde(default)]
    pub modo: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// A shell command (`bash -c`), shown as `# comando`.
    pub comando: String,
    /// This step's trace becomes the example's trace.
    #[serde(default)]
    pub trace: bool,
    /// The exit code it must end with.
    #[serde(default)]
    pub codigo: i32,
    /// Regular expressions for what varies between runs (compare only).
    #[serde(default)]
    pub ignorar: Vec<String>,
    /// Seconds before the step is killed (default 120).
    #[serde(default)]
    pub limite_s: Option<u64>,
}

/// Reads and checks a scenario; the error is ready to print (pt-BR).
pub fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: não consegui ler: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}:{e}", path.display()))
}

/// Parses `text`; errors start with the line number (`3: …`).
pub fn parse(text: &str) -> Result<Scenario, String> {
    let scenario: Scenario = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_at(text, s.start)).unwrap_or(1);
        format!("{line}: {}", in_portuguese(e.message()))
    })?;
    check(&scenario, text)?;
    Ok(scenario)
}

/// The rules serde cannot say: at most one traced step, files inside the
/// work dir, regular expressions that compile.
fn check(s: &Scenario, text: &str) -> Result<(), String> {
    let line_of = |needle: &str| text.find(needle).map(|i| line_at(text, i)).unwrap_or(1);
    if s.passo.is_empty() {
        return Err("1: o cenário não tem nenhum [[passo]]".into());
    }
    let traced: Vec<&Step> = s.passo.iter().filter(|p| p.trace).collect();
    if traced.len() > 1 {
        return Err(format!(
            "{}: só um passo pode ter trace = true (há {})",
            line_of("trace = true"),
            traced.len()
        ));
    }
    for f in &s.arquivo {
        let p = Path::new(&f.caminho);
        if p.is_absolute() || p.components().any(|c| c.as_os_str() == "..") {
            return Err(format!(
                "{}: arquivo.caminho {:?} sai da pasta de trabalho (use um caminho relativo, sem ..)",
                line_of(&f.caminho),
                f.caminho
            ));
        }
    }
    if s.registro_tls && !s.registro {
        return Err(format!(
            "{}: registro_tls = true precisa de registro = true",
            line_of("registro_tls")
        ));
    }
    for p in &s.passo {
        for re in &p.ignorar {
            if let Err(e) = regex::Regex::new(re) {
                return Err(format!(
                    "{}: passo.ignorar {re:?} não é uma expressão regular válida: {e}",
                    line_of(re)
                ));
            }
        }
    }
    Ok(())
}

/// The 1-based line of byte `at`.
fn line_at(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// serde's usual messages, said in Portuguese.
fn in_portuguese(message: &str) -> String {
    let m = message.trim();
    if let Some(rest) = m.strip_prefix("unknown field ") {
        let (field, expected) = rest.split_once(", expected").unwrap_or((rest, ""));
        let expected = expected.trim_start_matches(" one of").trim();
        return format!("campo desconhecido {field} (aceitos: {expected})");
    }
    if let Some(field) = m.strip_prefix("missing field ") {
        return format!("falta o campo {field}");
    }
    if let Some(rest) = m.strip_prefix("invalid type: ") {
        return format!("tipo errado: {}", rest.replace(", expected", "; esperava"));
    }
    m.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_scenario_parses() {
        let s = parse(
            r#"
descricao = "PID 1"
preparo = ["mkdir app"]
[[arquivo]]
caminho = "app/Dockerfile"
conteudo = "FROM busybox\n"
[[passo]]
comando = "casulo run --rm busybox true"
trace = true
[[passo]]
comando = "casulo trace show $TRACE"
ignorar = ['\d+ bytes']
"#,
        )
        .unwrap();
        assert_eq!(s.passo.len(), 2);
        assert!(s.passo[0].trace);
        assert_eq!(s.arquivo[0].caminho, "app/Dockerfile");
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        let e = parse("descricao = \"x\"\n[[passo]]\ncomandoo = \"true\"\n").unwrap_err();
        assert!(e.starts_with("3: "), "{e}");
        assert!(e.contains("comandoo"), "{e}");
        let e = parse("descricao = \"x\"\n[[arquivo]]\ncaminho = \"../fora\"\nconteudo = \"\"\n[[passo]]\ncomando = \"true\"\n").unwrap_err();
        assert!(e.starts_with("3: ") && e.contains("sai da pasta"), "{e}");
        let e = parse("descricao = \"x\"\n[[passo]]\ncomando = \"a\"\ntrace = true\n[[passo]]\ncomando = \"b\"\ntrace = true\n").unwrap_err();
        assert!(e.contains("só um passo"), "{e}");
        let e =
            parse("descricao = \"x\"\n[[passo]]\ncomando = \"a\"\nignorar = ['(']\n").unwrap_err();
        assert!(e.starts_with("4: ") && e.contains("ignorar"), "{e}");
    }
}
