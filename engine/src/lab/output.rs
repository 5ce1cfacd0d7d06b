//! Checks over text: a file the student saved in the work folder (`saida`),
//! or the output of a command the checker runs (`comando`).

use std::path::Path;
use std::process::{Command, Stdio};

use super::spec::Check;

/// Why `text` fails the check's `contem` / `nao_contem` / `regex`, if it does.
pub fn text_problem(c: &Check, text: &str) -> Option<String> {
    if let Some(want) = &c.contains {
        if !text.contains(want.as_str()) {
            return Some(format!("não contém {want:?}"));
        }
    }
    if let Some(bad) = &c.not_contains {
        if text.contains(bad.as_str()) {
            return Some(format!("contém {bad:?}"));
        }
    }
    if let Some(re) = &c.regex {
        let ok = regex::Regex::new(re.get_ref())
            .map(|r| r.is_match(text))
            .unwrap_or(false);
        if !ok {
            return Some(format!("não casa com a expressão {:?}", re.get_ref()));
        }
    }
    None
}

/// `saida = "arquivo"`: a file of the work folder.
pub fn output_check(work: &Path, c: &Check) -> Result<String, String> {
    let name = c.output.as_deref().unwrap_or_default();
    let path = work.join(name);
    let text = std::fs::read(&path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|_| format!("o arquivo {} não existe", path.display()))?;
    match text_problem(c, &text) {
        Some(why) => Err(format!("{}: {why}", path.display())),
        None => Ok(format!("{} confere", path.display())),
    }
}

/// `comando = "…"`: run with `sh -c` in the work folder, `CASULO_ROOT` set
/// to the state dir and this casulo's directory first on `PATH` (a
/// `casulo ps` in it is the casulo that checks, wherever it is installed);
/// stdout and stderr together are the text checked.
pub fn command_check(work: &Path, root: &Path, c: &Check) -> Result<String, String> {
    let cmd = c.command.as_deref().unwrap_or_default();
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        let mut dirs = vec![dir];
        dirs.extend(std::env::split_paths(&path));
        path = std::env::join_paths(dirs).unwrap_or(path);
    }
    let out = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(work)
        .env("CASULO_ROOT", root)
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("não consegui rodar `{cmd}`: {e}"))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let code = out.status.code().unwrap_or(-1);
    if let Some(want) = c.code {
        if code != want {
            // Its last line says why, when the command says it.
            let said = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(" (ele disse: {})", l.trim()))
                .unwrap_or_default();
            return Err(format!(
                "`{cmd}` terminou com código {code}, esperava {want}{said}"
            ));
        }
    }
    match text_problem(c, &text) {
        Some(why) => Err(format!("a saída de `{cmd}` {why}")),
        None => Ok(format!("`{cmd}` confere")),
    }
}
