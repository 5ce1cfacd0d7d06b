//! The `process.*` kinds: a process is born, changes root, user and
//! session, runs a program and ends.

use super::signal_name;
use super::words::{plural, say, shell_words, short_path};
use crate::{Event, EventBody, TtyAction};

/// The narration of this area's kinds; `None` for other kinds.
pub(super) fn describe(event: &Event) -> Option<String> {
    lifecycle(event).or_else(|| setup(event))
}

/// Birth, `execve`, exit, signals and restarts.
fn lifecycle(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
        EventBody::ProcessClone { child_pid, flags } => {
            let ns: Vec<&str> = flags.iter().filter_map(|f| clone_flag_ns(f)).collect();
            let new_ns = if ns.is_empty() {
                String::new()
            } else {
                format!(" em namespaces novos: {}", ns.join(", "))
            };
            // clone3 with CLONE_INTO_CGROUP (cgroup v2): the process is
            // born in its cgroup; the `cgroup.attach` that follows says which.
            let call = match flags.iter().any(|f| f == "CLONE_INTO_CGROUP") {
                true => "clone3()",
                false => "clone()",
            };
            say(
                format!("{call} criou o processo {child_pid}{new_ns}"),
                format!("criar um processo com {call}{new_ns}"),
            )
        }
        EventBody::ProcessExec {
            path,
            argv,
            env_keys,
        } => {
            let args = if argv.is_empty() {
                String::new()
            } else {
                format!(": {}", shell_words(argv))
            };
            let env = match env_keys.len() {
                0 => " (sem variáveis de ambiente)".to_string(),
                n => {
                    let mut names = env_keys.iter().take(5).cloned().collect::<Vec<_>>();
                    if n > 5 {
                        names.push("…".into());
                    }
                    format!(
                        " ({} de ambiente: {})",
                        plural(n as u64, "variável", "variáveis"),
                        names.join(", ")
                    )
                }
            };
            say(
                format!("executou {path}{args}{env}"),
                format!("executar {path}{args}"),
            )
        }
        EventBody::ProcessExit {
            exited_pid,
            code,
            signal,
            signal_name: name,
        } => {
            if !ok {
                return Some(format!(
                    "não conseguiu esperar o processo {exited_pid} (wait4)"
                ));
            }
            match (code, signal) {
                (Some(c), _) => format!("processo {exited_pid} terminou com código {c}"),
                (None, Some(s)) => {
                    let name = name.as_deref().or(signal_name(*s)).unwrap_or("sinal");
                    format!(
                        "processo {exited_pid} morto pelo sinal {name} ({s}) → código {}",
                        128 + s
                    )
                }
                (None, None) => format!("processo {exited_pid} terminou"),
            }
        }
        EventBody::ProcessSignal {
            target_pid,
            signal,
            signal_name: name,
        } => {
            let name = if name.is_empty() {
                signal_name(*signal).unwrap_or("sinal")
            } else {
                name
            };
            say(
                format!("enviou {name} ({signal}) ao processo {target_pid}"),
                format!("enviar {name} ({signal}) ao processo {target_pid}"),
            )
        }
        EventBody::ProcessRestart {
            policy,
            attempt,
            exit_code,
            delay_ms,
        } => say(
            format!(
                "o contêiner terminou com {exit_code}; --restart {policy}: reinício {attempt} \
                 daqui a {delay_ms} ms"
            ),
            format!("reiniciar o contêiner (--restart {policy}, tentativa {attempt})"),
        ),
        _ => return None,
    })
}

/// What the child sets up before `execve`: directory, root, user, session, terminal, fds.
fn setup(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
        EventBody::ProcessChdir { path } => {
            let p = short_path(path);
            say(
                format!("mudou o diretório de trabalho para {p}"),
                format!("mudar o diretório de trabalho para {p}"),
            )
        }
        EventBody::ProcessUser {
            uid,
            gid,
            groups,
            name,
        } => {
            let who = match name {
                Some(n) => format!("{n} (uid {uid}, gid {gid})"),
                None => format!("uid {uid}, gid {gid}"),
            };
            say(
                format!("passou a rodar como {who}, grupos {groups:?}"),
                format!("passar a rodar como {who}"),
            )
        }
        EventBody::ProcessSetsid { had_terminal } => say(
            if *had_terminal {
                "abriu uma sessão nova: largou o terminal de controle de quem chamou o casulo"
                    .to_string()
            } else {
                "abriu uma sessão nova, sem terminal de controle".to_string()
            },
            "abrir uma sessão nova (setsid)".to_string(),
        ),
        EventBody::ProcessTty {
            action: TtyAction::Open,
            path,
            rows,
            cols,
        } => say(
            format!(
                "abriu um pseudo-terminal ({path}, {}) e o tomou como terminal de controle, \
                 entrada e saída",
                window_text(*rows, *cols)
            ),
            format!("abrir um pseudo-terminal ({path})"),
        ),
        EventBody::ProcessTty {
            action: TtyAction::Resize,
            path,
            rows,
            cols,
        } => say(
            format!("passou o tamanho novo da janela ao terminal {path}: {rows}×{cols}"),
            format!("mudar o tamanho do terminal {path} para {rows}×{cols}"),
        ),
        EventBody::ProcessFdsClosed { first, inherited } => say(
            if inherited.is_empty() {
                format!("marcou os descritores a partir do {first} para fechar no execve")
            } else {
                let fds: Vec<String> = inherited.iter().map(|f| f.to_string()).collect();
                format!(
                    "marcou os descritores a partir do {first} para fechar no execve \
                     (herdados de quem chamou: {})",
                    fds.join(", ")
                )
            },
            "fechar os descritores herdados".to_string(),
        ),
        EventBody::ProcessChroot { path } => {
            let p = short_path(path);
            say(
                format!("mudou a raiz do processo para {p} (chroot)"),
                format!("mudar a raiz do processo para {p} (chroot)"),
            )
        }
        _ => return None,
    })
}

/// The namespace a `CLONE_NEW*` flag creates (`CLONE_NEWNS` → `mnt`).
fn clone_flag_ns(flag: &str) -> Option<&'static str> {
    crate::NsKind::ALL
        .iter()
        .find(|k| k.clone_flag() == flag)
        .map(|k| k.proc_name())
}

/// `24×80`, or what 0 × 0 means: casulo's caller had no terminal window.
fn window_text(rows: u16, cols: u16) -> String {
    if rows == 0 && cols == 0 {
        "sem tamanho: o casulo não rodou num terminal".to_string()
    } else {
        format!("{rows}×{cols}")
    }
}
