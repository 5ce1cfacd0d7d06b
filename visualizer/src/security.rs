//! The Segurança panel's content: what the container's root can and cannot
//! do at a point of the trace, as a list of [`Row`]s, one per protection.
//!
//! Each row comes from its own trace kind (`security.capabilities`,
//! `security.no_new_privs`, `security.seccomp`) or from the replayed world
//! (who PID 1 is, and whether there is a user namespace). A new protection
//! (the device allow-list of `cgroup.devices`, a `privileged` flag) is one
//! more function that returns one more [`Row`]: the panel draws whatever
//! rows it is given. Pure (no browser): tested on the host.

use casulo_trace::replay::{Process, World};
use casulo_trace::{Event, EventBody, NsKind};

use crate::capabilities::meaning;

/// Where a protection stands at this point of the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// In force: the kernel enforces it from now on.
    On,
    /// Not yet: it comes later in the trace (before the `execve`).
    Pending,
    /// Absent (or it failed): the container's root is not held back by it.
    Off,
}

impl State {
    /// The word shown next to the row's title (not only a colour).
    pub fn word(self) -> &'static str {
        match self {
            State::On => "ativo",
            State::Pending => "ainda não",
            State::Off => "ausente",
        }
    }

    /// The CSS class of the row.
    pub fn class(self) -> &'static str {
        match self {
            State::On => "ativo",
            State::Pending => "pendente",
            State::Off => "ausente",
        }
    }
}

/// One protection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// DOM id of the row (`seg-capabilities`, …).
    pub id: &'static str,
    pub title: &'static str,
    pub state: State,
    /// One sentence: what it means for the container's root, now.
    pub summary: String,
    /// Lists under the sentence (what stays, what goes, examples).
    pub groups: Vec<Group>,
    /// Index of the event this row comes from, when it has one (the panel
    /// marks the row of the event just applied).
    pub at: Option<usize>,
}

/// A list under a row: a title and `(name, what it means)` items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// DOM id (`seg-mantidas`, …).
    pub id: &'static str,
    pub title: String,
    pub items: Vec<(String, String)>,
    /// Shown open (the short lists); long ones start closed.
    pub open: bool,
}

/// The rows at `world` (the replay after `world.applied` events of
/// `events`). Empty when the whole trace has no security event and no
/// container (nothing to say).
pub fn rows(events: &[Event], world: &World) -> Vec<Row> {
    let seen = &events[..world.applied.min(events.len())];
    let init = world
        .processes
        .values()
        .find(|p| p.container_pid == Some(1));
    let exec_done = init.is_some_and(|p| p.exec.is_some());
    // Not applied yet: pending if it comes later in the trace, or if the
    // container's program has not started (it may still come); absent
    // otherwise.
    let missing = |kind: &str| {
        let later = events[seen.len()..].iter().any(|e| e.body.kind() == kind);
        if later || !exec_done {
            State::Pending
        } else {
            State::Off
        }
    };
    vec![
        user_row(init, world),
        capabilities_row(
            last_of(seen, "security.capabilities"),
            missing("security.capabilities"),
        ),
        no_new_privs_row(
            last_of(seen, "security.no_new_privs"),
            missing("security.no_new_privs"),
        ),
        seccomp_row(
            last_of(seen, "security.seccomp"),
            missing("security.seccomp"),
        ),
    ]
}

/// True when the trace has something for the panel to show.
pub fn has_security(events: &[Event]) -> bool {
    events
        .iter()
        .any(|e| e.body.kind().starts_with("security."))
}

/// The last event of `kind`, with its index.
fn last_of<'a>(events: &'a [Event], kind: &str) -> Option<(usize, &'a Event)> {
    events
        .iter()
        .enumerate()
        .rev()
        .find(|(_, e)| e.body.kind() == kind)
}

/// An event that failed: its errno, for the row's sentence.
fn failed(e: &Event) -> Option<String> {
    match &e.outcome {
        casulo_trace::Outcome::Ok => None,
        casulo_trace::Outcome::Error(e) => Some(format!("{}: {}", e.name, e.message)),
    }
}

/// Whether the container's root is the host's root: a user namespace maps
/// the uid 0 inside to an unprivileged uid outside; without one, the uid
/// is the same on both sides.
fn user_row(init: Option<&Process>, world: &World) -> Row {
    let userns = world.namespaces.iter().any(|n| n.kind == NsKind::User);
    let (state, summary) = match (init, userns) {
        (None, _) => (
            State::Pending,
            "Ainda não há contêiner: o processo dele nasce no clone.".to_string(),
        ),
        (Some(_), true) => (
            State::On,
            "O uid 0 de dentro do contêiner é mapeado para outro uid, sem poder, no host."
                .to_string(),
        ),
        (Some(p), false) => {
            let who = match p.user {
                Some((uid, gid)) if uid != 0 => {
                    format!("roda como uid {uid}, gid {gid} — o mesmo uid {uid} do host")
                }
                _ => "é root, uid 0 — o mesmo uid 0 do host".to_string(),
            };
            (
                State::Off,
                format!(
                    "O PID 1 (PID {} no host) {who}: sem user namespace (o casulo \
                     ainda não cria um), não há tradução de uids. O que o segura são \
                     as proteções abaixo.",
                    p.host_pid
                ),
            )
        }
    };
    Row {
        id: "seg-usuario",
        title: "User namespace",
        state,
        summary,
        groups: vec![],
        at: None,
    }
}

fn capabilities_row(event: Option<(usize, &Event)>, missing: State) -> Row {
    let mut row = Row {
        id: "seg-capabilities",
        title: "Capabilities",
        state: missing,
        summary: String::new(),
        groups: vec![],
        at: event.map(|(i, _)| i),
    };
    let Some((_, e)) = event else {
        row.summary = if missing == State::Pending {
            "Por enquanto o processo tem todas as capabilities do root do host; \
             o corte vem antes do execve."
                .into()
        } else {
            "Nenhum corte: o root do contêiner tem todas as capabilities do root do host.".into()
        };
        return row;
    };
    let EventBody::SecurityCapabilities {
        kept,
        dropped,
        mask,
        ..
    } = &e.body
    else {
        return row;
    };
    if let Some(errno) = failed(e) {
        row.state = State::Off;
        row.summary = format!("O corte falhou ({errno}): nada foi tirado.");
        return row;
    }
    row.state = State::On;
    row.summary = format!(
        "Ficaram {} capabilities (máscara {mask}, o CapEff do /proc/self/status) e \
         {} saíram de todos os conjuntos: nem um programa setuid as recupera.",
        kept.len(),
        dropped.len()
    );
    let described = |names: &[String]| {
        names
            .iter()
            .map(|n| (n.clone(), meaning(n).to_string()))
            .collect()
    };
    row.groups = vec![
        Group {
            id: "seg-mantidas",
            title: format!("Ainda pode ({} mantidas)", kept.len()),
            items: described(kept),
            open: true,
        },
        Group {
            id: "seg-retiradas",
            title: format!("Não pode mais ({} retiradas)", dropped.len()),
            items: described(dropped),
            open: false,
        },
    ];
    row
}

fn no_new_privs_row(event: Option<(usize, &Event)>, missing: State) -> Row {
    let (state, summary) = match event {
        Some((_, e)) => match failed(e) {
            None => (
                State::On,
                "Nenhum execve dá mais poder: um programa setuid (su, passwd) roda \
                 sem virar root, e capabilities gravadas em arquivos são ignoradas."
                    .to_string(),
            ),
            Some(errno) => (State::Off, format!("O prctl falhou ({errno}).")),
        },
        None if missing == State::Pending => (
            missing,
            "Ainda não ligado: vem depois do corte das capabilities.".into(),
        ),
        None => (
            missing,
            "Desligado: um programa setuid dentro do contêiner pode ganhar privilégios.".into(),
        ),
    };
    Row {
        id: "seg-no-new-privs",
        title: "no_new_privs",
        state,
        summary,
        groups: vec![],
        at: event.map(|(i, _)| i),
    }
}

/// System calls a student knows, with what refusing them prevents: the
/// examples shown first when the filter blocks them.
const REFUSED_EXAMPLES: [(&str, &str); 10] = [
    (
        "mount",
        "montar um sistema de arquivos (o disco do host, um proc novo)",
    ),
    ("umount2", "desmontar as máscaras de /proc"),
    ("init_module", "carregar código no kernel"),
    ("kexec_load", "trocar o kernel em execução"),
    ("reboot", "reiniciar a máquina"),
    ("ptrace", "espiar ou controlar outro processo"),
    (
        "unshare(CLONE_NEW*)",
        "criar namespaces novos (um user namespace, por exemplo)",
    ),
    ("keyctl", "mexer no chaveiro de senhas do kernel"),
    ("bpf", "carregar programas BPF no kernel"),
    ("settimeofday", "mudar o relógio do host"),
];

fn seccomp_row(event: Option<(usize, &Event)>, missing: State) -> Row {
    let mut row = Row {
        id: "seg-seccomp",
        title: "Filtro seccomp",
        state: missing,
        summary: String::new(),
        groups: vec![],
        at: event.map(|(i, _)| i),
    };
    let Some((_, e)) = event else {
        row.summary = if missing == State::Pending {
            "Ainda sem filtro: ele é instalado por último, logo antes do execve.".into()
        } else {
            "Sem filtro: toda chamada ao sistema chega ao kernel.".into()
        };
        return row;
    };
    let EventBody::SecuritySeccomp {
        mode,
        default_action,
        blocked_action,
        blocked_count,
        blocked,
        ..
    } = &e.body
    else {
        return row;
    };
    if let Some(errno) = failed(e) {
        row.state = State::Off;
        row.summary = format!("O filtro não foi instalado ({errno}).");
        return row;
    }
    row.state = State::On;
    let default = match default_action.as_str() {
        "allow" => "todas as outras passam".to_string(),
        other => format!("as outras: {other}"),
    };
    row.summary = format!(
        "Modo {mode}: o kernel confere cada chamada ao sistema. {blocked_count} são \
         recusadas com {blocked_action}; {default}."
    );
    let examples: Vec<(String, String)> = REFUSED_EXAMPLES
        .iter()
        .filter(|(call, _)| blocked.iter().any(|b| b == call))
        .map(|(call, what)| (call.to_string(), what.to_string()))
        .collect();
    row.groups = vec![
        Group {
            id: "seg-recusadas-exemplos",
            title: "Por exemplo, não pode".into(),
            items: examples,
            open: true,
        },
        Group {
            id: "seg-recusadas",
            title: format!("Todas as {} chamadas recusadas", blocked.len()),
            items: blocked.iter().map(|c| (c.clone(), String::new())).collect(),
            open: false,
        },
    ];
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use casulo_trace::replay::Replay;

    /// The trace crate's sample (every kind) replayed: (events, world at `applied`).
    fn sample_at(applied: impl Fn(&[Event]) -> usize) -> (Vec<Event>, World) {
        let events = casulo_trace::sample::sample_events();
        let replay = Replay::new(events.clone());
        let n = applied(&events);
        (events, replay.world_at(n))
    }

    fn index_of(events: &[Event], kind: &str) -> usize {
        events.iter().position(|e| e.body.kind() == kind).unwrap()
    }

    #[test]
    fn before_the_cut_everything_is_pending_and_after_it_each_row_is_on() {
        let (events, world) = sample_at(|ev| index_of(ev, "security.capabilities"));
        let got = rows(&events, &world);
        let ids: Vec<&str> = got.iter().map(|r| r.id).collect();
        assert_eq!(
            ids,
            [
                "seg-usuario",
                "seg-capabilities",
                "seg-no-new-privs",
                "seg-seccomp"
            ]
        );
        assert!(
            got[1..].iter().all(|r| r.state == State::Pending),
            "{got:#?}"
        );

        let (events, world) = sample_at(|ev| index_of(ev, "security.seccomp") + 1);
        let got = rows(&events, &world);
        assert!(got[1..].iter().all(|r| r.state == State::On), "{got:#?}");
        let caps = &got[1];
        assert_eq!(caps.groups[0].id, "seg-mantidas");
        assert!(caps.groups[0]
            .items
            .iter()
            .any(|(n, m)| n == "CAP_CHOWN" && m.contains("dono")));
        assert!(caps.groups[1]
            .items
            .iter()
            .any(|(n, m)| n == "CAP_SYS_ADMIN" && m.contains("mount")));
        let seccomp = &got[3];
        assert!(seccomp.summary.contains("EPERM"), "{}", seccomp.summary);
        assert!(
            !seccomp.groups[0].items.is_empty(),
            "examples of refused calls"
        );
        // No user namespace in the sample: PID 1 is the host's uid 0.
        assert_eq!(got[0].state, State::Off);
        assert!(got[0].summary.contains("mesmo uid 0 do host"));
    }

    #[test]
    fn a_trace_without_security_events_says_so_after_the_exec() {
        let (events, _) = sample_at(|_| 0);
        let plain: Vec<Event> = events
            .into_iter()
            .filter(|e| !e.body.kind().starts_with("security."))
            .collect();
        assert!(!has_security(&plain));
        let world = Replay::new(plain.clone()).world_at(plain.len());
        let got = rows(&plain, &world);
        assert!(got[1..].iter().all(|r| r.state == State::Off), "{got:#?}");
        assert!(got[1].summary.contains("todas as capabilities"));
    }
}
