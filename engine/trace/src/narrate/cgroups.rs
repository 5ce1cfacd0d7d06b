//! The `cgroup.*` kinds: the group, its limits and what it measured.

use super::time_text;
use super::words::{plural, say, short_path};
use crate::text;
use crate::{AttachVia, Event, EventBody};

/// The narration of this area's kinds; `None` for other kinds.
pub(super) fn describe(event: &Event) -> Option<String> {
    lifecycle(event).or_else(|| limits(event))
}

/// The group itself: created, joined, frozen, removed.
fn lifecycle(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
        EventBody::CgroupCreate {
            path,
            version,
            controller,
        } => {
            let p = short_path(path);
            let what = if controller.is_empty() {
                format!("cgroup {version}")
            } else {
                format!("cgroup {version} ({controller})")
            };
            say(format!("criou o {what} {p}"), format!("criar o {what} {p}"))
        }
        EventBody::CgroupAttach {
            path,
            target_pid,
            via: AttachVia::Write,
        } => {
            let p = short_path(path);
            say(
                format!("colocou o processo {target_pid} no cgroup {p}"),
                format!("colocar o processo {target_pid} no cgroup {p}"),
            )
        }
        EventBody::CgroupAttach {
            path,
            target_pid,
            via: AttachVia::Tasks,
        } => {
            let p = short_path(path);
            say(
                format!(
                    "o processo {target_pid} entrou sozinho no cgroup {p} (escreveu 0 em tasks)"
                ),
                format!("entrar sozinho no cgroup {p} (escrevendo 0 em tasks)"),
            )
        }
        EventBody::CgroupAttach {
            path,
            target_pid,
            via: AttachVia::Clone3,
        } => {
            let p = short_path(path);
            say(
                format!("o processo {target_pid} nasceu dentro do cgroup {p} (clone3 com CLONE_INTO_CGROUP)"),
                format!("fazer o processo nascer dentro do cgroup {p} (clone3 com CLONE_INTO_CGROUP)"),
            )
        }
        EventBody::CgroupFreeze { file, frozen } => {
            let (dir, name) = file.rsplit_once('/').unwrap_or(("", file.as_str()));
            let p = short_path(dir);
            let value = match (name, frozen) {
                ("freezer.state", true) => "FROZEN",
                ("freezer.state", false) => "THAWED",
                (_, true) => "1",
                (_, false) => "0",
            };
            if *frozen {
                say(
                    format!("congelou os processos do cgroup {p} ({value} em {name})"),
                    format!("congelar o cgroup {p}"),
                )
            } else {
                say(
                    format!("descongelou os processos do cgroup {p} ({value} em {name})"),
                    format!("descongelar o cgroup {p}"),
                )
            }
        }
        EventBody::CgroupDelete { path } => {
            let p = short_path(path);
            say(
                format!("removeu o cgroup {p}"),
                format!("remover o cgroup {p}"),
            )
        }
        _ => return None,
    })
}

/// Limits and what the kernel measured or enforced.
fn limits(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
        EventBody::CgroupLimit {
            controller,
            file,
            value,
        } => {
            let f = file.rsplit('/').next().unwrap_or(file);
            say(
                format!("limitou {controller}: {f} = {value}"),
                format!("escrever {f} = {value} ({controller})"),
            )
        }
        EventBody::CgroupDevices {
            path,
            version,
            privileged,
            allowed,
            program_insns,
            ..
        } => {
            let p = short_path(path);
            if *privileged {
                say(
                    format!("liberou todos os dispositivos no cgroup {p} (--privileged)"),
                    format!("liberar todos os dispositivos no cgroup {p}"),
                )
            } else {
                let how = match (version.as_str(), program_insns) {
                    ("v2", Some(n)) => format!("programa eBPF de {n} instruções"),
                    _ => "devices.deny + devices.allow".to_string(),
                };
                say(
                    format!(
                        "negou todos os dispositivos menos {} regras no cgroup {p} ({how})",
                        allowed.len()
                    ),
                    format!("limitar os dispositivos do cgroup {p}"),
                )
            }
        }
        EventBody::CgroupSample {
            memory_bytes,
            memory_limit_bytes,
            pids,
            pids_limit,
            cpu_usage_us,
            ..
        } => {
            let mut parts = Vec::new();
            if let Some(m) = memory_bytes {
                let limit = memory_limit_bytes
                    .map(|l| format!(" de {}", text::bytes(l)))
                    .unwrap_or_default();
                parts.push(format!("memória {}{limit}", text::bytes(*m)));
            }
            if let Some(p) = pids {
                let limit = pids_limit.map(|l| format!(" de {l}")).unwrap_or_default();
                parts.push(format!("{p}{limit} processos"));
            }
            if let Some(c) = cpu_usage_us {
                parts.push(format!("CPU {}", time_text(*c)));
            }
            say(
                format!("uso medido: {}", parts.join(", ")),
                "medir o uso do cgroup".to_string(),
            )
        }
        EventBody::CgroupOom {
            oom_kills,
            limit_bytes,
            peak_bytes,
            ..
        } => {
            let limit = limit_bytes
                .map(|l| format!(": limite de memória de {} atingido", text::bytes(l)))
                .unwrap_or_default();
            let peak = peak_bytes
                .map(|p| format!(" (o pico de uso chegou a {})", text::bytes(p)))
                .unwrap_or_default();
            say(
                format!("o kernel matou um processo por falta de memória (OOM){limit}{peak} — {oom_kills} morte(s) até agora"),
                "detectar o OOM".to_string(),
            )
        }
        EventBody::CgroupPidsMax { limit, refused, .. } => say(
            format!(
                "limite de {limit} processos atingido: o kernel recusou {}",
                plural(*refused, "fork", "forks")
            ),
            "ler pids.events".to_string(),
        ),
        _ => return None,
    })
}
