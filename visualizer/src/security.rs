//! The Segurança panel's content: what the container's root can and cannot
//! do at a point of the trace, as a list of [`Row`]s, one per protection,
//! and a [`privileged`] warning when the container runs with
//! `--privileged`.
//!
//! Each row comes from its own trace kinds (`security.capabilities`,
//! `security.no_new_privs`, `security.seccomp`, `cgroup.devices`,
//! `process.setsid` with `process.fds_closed`, `security.non_dumpable`) or
//! from the replayed world (who PID 1 is, its user namespace's id maps, the
//! idmapped layers). A new protection is one more function that returns one
//! more [`Row`]: the panel draws whatever rows it is given. Pure (no
//! browser): tested on the host.

use casulo_trace::replay::{Process, World};
use casulo_trace::{Event, EventBody, IdRange, NsKind};

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

impl Row {
    /// A row with no text yet, marked with the index of its event.
    fn empty(
        id: &'static str,
        title: &'static str,
        state: State,
        event: Option<(usize, &Event)>,
    ) -> Row {
        Row {
            id,
            title,
            state,
            summary: String::new(),
            groups: vec![],
            at: event.map(|(i, _)| i),
        }
    }
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

/// The warning of a `--privileged` container, in words: shown above the
/// rows for the whole trace (the choice was made before the first event),
/// `None` for any other container.
pub fn privileged(events: &[Event]) -> Option<&'static str> {
    events
        .iter()
        .any(|e| match &e.body {
            EventBody::SecurityCapabilities { privileged, .. }
            | EventBody::CgroupDevices { privileged, .. } => *privileged,
            _ => false,
        })
        .then_some(
            "--privileged: as travas estão desligadas. O root do contêiner tem todas as \
             capabilities do root do host, nenhum filtro seccomp, no_new_privs desligado e \
             todos os dispositivos: pode montar o disco do host, carregar módulos no kernel, \
             mudar o relógio. Os namespaces continuam, mas com esse poder sair deles é fácil. \
             Como o root do host.",
        )
}

/// The rows at `world` (the replay after `world.applied` events of
/// `events`). Rows of kinds the whole trace never has (a recording made
/// before casulo had them) are left out, except the first four, which say
/// "absent" in words.
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
    let in_trace = |kind: &str| events.iter().any(|e| e.body.kind() == kind);
    let privileged = privileged(events).is_some();
    let mut rows = vec![
        user_row(init, world),
        capabilities_row(
            last_of(seen, "security.capabilities"),
            missing("security.capabilities"),
        ),
        no_new_privs_row(
            last_of(seen, "security.no_new_privs"),
            missing("security.no_new_privs"),
            privileged,
        ),
        seccomp_row(
            last_of(seen, "security.seccomp"),
            missing("security.seccomp"),
        ),
    ];
    if in_trace("cgroup.devices") {
        rows.push(devices_row(last_of(seen, "cgroup.devices")));
    }
    if in_trace("process.setsid") || in_trace("process.fds_closed") {
        rows.push(session_row(
            last_of(seen, "process.setsid"),
            last_of(seen, "process.fds_closed"),
        ));
    }
    if in_trace("security.non_dumpable") {
        rows.push(non_dumpable_row(last_of(seen, "security.non_dumpable")));
    }
    if in_trace("process.tty") {
        rows.push(terminal_row(last_of(seen, "process.tty"), world));
    }
    rows
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

/// `0 → 100000, 65536 ids` (several ranges joined with `; `).
pub fn map_text(ranges: &[IdRange]) -> String {
    ranges
        .iter()
        .map(|r| format!("{} → {}, {} ids", r.inside, r.outside, r.count))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The host id of `id` through `ranges`, when mapped.
fn outside(ranges: &[IdRange], id: u32) -> Option<u64> {
    ranges
        .iter()
        .find(|r| id >= r.inside && u64::from(id) < u64::from(r.inside) + u64::from(r.count))
        .map(|r| u64::from(r.outside) + u64::from(id - r.inside))
}

/// Whether the container's root is the host's root: a user namespace maps
/// the uid 0 inside to an unprivileged uid outside (`--userns`); without
/// one, the uid is the same on both sides.
fn user_row(init: Option<&Process>, world: &World) -> Row {
    let userns = world.namespaces.iter().any(|n| n.kind == NsKind::User);
    let mut groups = vec![];
    let (state, summary) = match (init, userns) {
        (None, _) => (
            State::Pending,
            "Ainda não há contêiner: o processo dele nasce no clone.".to_string(),
        ),
        (Some(p), true) if p.uid_map.is_empty() => (
            State::Pending,
            "O user namespace existe (--userns), mas os mapas de uid e gid ainda não foram \
             escritos: por enquanto ninguém lá dentro tem uid."
                .to_string(),
        ),
        (Some(p), true) => {
            let uid = p.user.map_or(0, |(u, _)| u);
            let host =
                outside(&p.uid_map, uid).map_or("nenhum uid".to_string(), |h| format!("o uid {h}"));
            let mut text = format!(
                "--userns: o uid {uid} de dentro do contêiner é {host} do host, um usuário \
                 sem poder nenhum aqui fora. uid: {}",
                map_text(&p.uid_map)
            );
            if !p.gid_map.is_empty() {
                text += &format!("; gid: {}", map_text(&p.gid_map));
            }
            text.push('.');
            if !world.idmapped.is_empty() {
                groups.push(Group {
                    id: "seg-idmapped",
                    title: format!(
                        "Camadas da imagem por montagem idmapped ({})",
                        world.idmapped.len()
                    ),
                    items: world
                        .idmapped
                        .iter()
                        .map(|path| {
                            (
                                short_layer(path),
                                "o dono 0 do disco aparece como root lá dentro, sem cópia \
                                 nem chown"
                                    .to_string(),
                            )
                        })
                        .collect(),
                    open: true,
                });
            }
            (State::On, text)
        }
        // Rootless: the container's namespaces belong to casulo's own user
        // namespace, whose maps are on the casulo process.
        (Some(p), false) if rootless_maps(world, p).is_some() => {
            let casulo = rootless_maps(world, p).expect("checked");
            let uid = p.user.map_or(0, |(u, _)| u);
            let host = outside(&casulo.uid_map, uid)
                .map_or("nenhum uid".to_string(), |h| format!("o uid {h}"));
            (
                State::On,
                format!(
                    "Rootless: o casulo rodou sem root, num user namespace seu, e o contêiner \
                     nasceu dentro dele: o uid {uid} de dentro é {host} do host, um usuário \
                     comum. uid: {}; gid: {}.",
                    map_text(&casulo.uid_map),
                    map_text(&casulo.gid_map)
                ),
            )
        }
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
                    "O PID 1 (PID {} no host) {who}: sem --userns não há tradução de \
                     uids (uid 0 do contêiner = uid 0 do host). O que o segura são as \
                     proteções abaixo.",
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
        groups,
        at: None,
    }
}

/// Rootless: the process (casulo, not the init) whose user namespace has
/// maps (`namespace.user` of a rootless trace).
fn rootless_maps<'a>(world: &'a World, init: &Process) -> Option<&'a Process> {
    world
        .processes
        .values()
        .find(|pr| pr.host_pid != init.host_pid && !pr.uid_map.is_empty())
}

/// The last part of a layer's path, shortened like docker's ids.
fn short_layer(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.chars().take(12).collect()
}

fn capabilities_row(event: Option<(usize, &Event)>, missing: State) -> Row {
    let mut row = Row::empty("seg-capabilities", "Capabilities", missing, event);
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
        privileged,
        added,
        removed,
    } = &e.body
    else {
        return row;
    };
    if let Some(errno) = failed(e) {
        row.state = State::Off;
        row.summary = format!("O corte falhou ({errno}): nada foi tirado.");
        return row;
    }
    let described = |names: &[String]| {
        names
            .iter()
            .map(|n| (n.clone(), meaning(n).to_string()))
            .collect()
    };
    if *privileged {
        row.state = State::Off;
        row.summary = format!(
            "--privileged: nenhum corte. Ficaram todas as {} capabilities (máscara {mask}), \
             as mesmas do root do host.",
            kept.len()
        );
        row.groups = vec![Group {
            id: "seg-mantidas",
            title: format!("Pode tudo ({} mantidas)", kept.len()),
            items: described(kept),
            open: false,
        }];
        return row;
    }
    row.state = State::On;
    let mut summary = format!(
        "Ficaram {} capabilities (máscara {mask}, o CapEff do /proc/self/status) e \
         {} saíram de todos os conjuntos: nem um programa setuid as recupera.",
        kept.len(),
        dropped.len()
    );
    let mut changes = vec![];
    if !added.is_empty() {
        changes.push(format!("--cap-add deu {}", added.join(", ")));
    }
    if !removed.is_empty() {
        changes.push(format!("--cap-drop tirou {}", removed.join(", ")));
    }
    if changes.is_empty() {
        summary += " O padrão do docker, sem --cap-add nem --cap-drop.";
    } else {
        summary += &format!(" Em relação ao padrão do docker: {}.", changes.join("; "));
    }
    row.summary = summary;
    row.groups = vec![
        Group {
            id: "seg-mantidas",
            title: format!("Ainda pode ({} mantidas)", kept.len()),
            items: described(kept),
            // Closed: the count is in the sentence, and the panel
            // must fit the book's 900 px with the other rows.
            open: false,
        },
        Group {
            id: "seg-retiradas",
            title: format!("Não pode mais ({} retiradas)", dropped.len()),
            items: described(dropped),
            open: false,
        },
    ];
    if !added.is_empty() || !removed.is_empty() {
        let mut items: Vec<(String, String)> = added
            .iter()
            .map(|n| (format!("+ {n}"), format!("--cap-add: {}", meaning(n))))
            .collect();
        items.extend(
            removed
                .iter()
                .map(|n| (format!("− {n}"), format!("--cap-drop: {}", meaning(n)))),
        );
        row.groups.insert(
            0,
            Group {
                id: "seg-mudadas",
                title: "Mudadas na linha de comando".into(),
                items,
                open: true,
            },
        );
    }
    row
}

fn no_new_privs_row(event: Option<(usize, &Event)>, missing: State, privileged: bool) -> Row {
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
        None if missing == State::Pending && !privileged => (
            missing,
            "Ainda não ligado: vem depois do corte das capabilities.".into(),
        ),
        None if privileged => (
            State::Off,
            "Desligado pelo --privileged: um programa setuid dentro do contêiner pode \
             ganhar privilégios."
                .into(),
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
/// examples shown first when the filter blocks them by name.
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

/// Where a profile came from, in words.
fn profile_words(profile: &str, path: Option<&str>) -> String {
    match profile {
        "padrão" => "perfil padrão do casulo (o do docker)".into(),
        "arquivo" => format!(
            "perfil do arquivo {} (--security-opt seccomp=)",
            path.unwrap_or("?")
        ),
        "unconfined" => "seccomp=unconfined".into(),
        "" => "perfil do casulo".into(),
        other => format!("perfil {other}"),
    }
}

fn seccomp_row(event: Option<(usize, &Event)>, missing: State) -> Row {
    let mut row = Row::empty("seg-seccomp", "Filtro seccomp", missing, event);
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
        profile,
        path,
        default_action,
        rule_count,
        allowed_count,
        blocked_action,
        blocked_count,
        blocked,
        filters,
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
    let source = profile_words(profile, path.as_deref());
    if mode == "disabled" {
        row.state = State::Off;
        row.summary = format!(
            "Sem filtro ({source}): toda chamada ao sistema chega ao kernel \
             (Seccomp: 0 no /proc/self/status)."
        );
        return row;
    }
    row.state = State::On;
    let stacked = match filters {
        0 => String::new(),
        1 => " 1 programa BPF instalado.".into(),
        n => format!(" {n} programas BPF empilhados."),
    };
    row.summary = if default_action == "allow" {
        format!(
            "Lista do que não pode ({source}): {blocked_count} chamadas são recusadas com \
             {blocked_action}; todas as outras passam.{stacked}"
        )
    } else {
        let named = if *rule_count > 0 {
            format!(
                "{allowed_count} das {rule_count} chamadas que ele nomeia passam (algumas só \
                 com certos argumentos)"
            )
        } else {
            "as chamadas que ele nomeia passam".into()
        };
        let refused = match blocked_count {
            0 => String::new(),
            1 => format!(
                "; 1 é recusada pelo nome com {blocked_action}: {}",
                blocked.join(", ")
            ),
            n => format!(
                "; {n} são recusadas pelo nome com {blocked_action}: {}",
                blocked.join(", ")
            ),
        };
        format!(
            "Lista do que pode ({source}): {named}; qualquer outra é recusada com \
             {default_action}{refused}.{stacked}"
        )
    };
    let examples: Vec<(String, String)> = REFUSED_EXAMPLES
        .iter()
        .filter(|(call, _)| blocked.iter().any(|b| b == call))
        .map(|(call, what)| (call.to_string(), what.to_string()))
        .collect();
    row.groups = vec![Group {
        id: "seg-recusadas-exemplos",
        title: "Por exemplo, não pode".into(),
        items: examples,
        open: true,
    }];
    if blocked.len() > 3 {
        row.groups.push(Group {
            id: "seg-recusadas",
            title: format!("Todas as {} chamadas recusadas pelo nome", blocked.len()),
            items: blocked.iter().map(|c| (c.clone(), String::new())).collect(),
            open: false,
        });
    }
    row
}

/// What a device rule of the v1 syntax (`c 1:3 rwm`) lets the container
/// do, in words.
pub fn device_words(rule: &str) -> String {
    let mut parts = rule.split_whitespace();
    let (kind, number, access) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let what = match (kind, number) {
        ("a", _) => "todos os dispositivos".to_string(),
        ("c", "*:*") => "qualquer dispositivo de caractere".into(),
        ("b", "*:*") => "qualquer dispositivo de bloco (discos)".into(),
        ("c", "1:3") => "/dev/null".into(),
        ("c", "1:5") => "/dev/zero".into(),
        ("c", "1:7") => "/dev/full".into(),
        ("c", "1:8") => "/dev/random".into(),
        ("c", "1:9") => "/dev/urandom".into(),
        ("c", "5:0") => "/dev/tty".into(),
        ("c", "5:1") => "/dev/console".into(),
        ("c", "5:2") => "/dev/ptmx".into(),
        ("c", "136:*") => "/dev/pts/* (os terminais)".into(),
        ("c", "10:200") => "/dev/net/tun".into(),
        ("c", "10:229") => "/dev/fuse".into(),
        ("b", n) => format!("o disco {n}"),
        (_, n) => format!("o dispositivo {n}"),
    };
    let verbs: Vec<&str> = access
        .chars()
        .filter_map(|c| match c {
            'r' => Some("ler"),
            'w' => Some("escrever"),
            'm' => Some("criar (mknod)"),
            _ => None,
        })
        .collect();
    if access == "m" {
        format!("{what}: só criar o arquivo (mknod), não abrir")
    } else {
        format!("{what}: {}", verbs.join(", "))
    }
}

fn devices_row(event: Option<(usize, &Event)>) -> Row {
    let mut row = Row {
        id: "seg-dispositivos",
        title: "Dispositivos (cgroup)",
        state: State::Pending,
        summary: "Ainda sem lista: o cgroup do contêiner recebe a lista antes do clone.".into(),
        groups: vec![],
        at: event.map(|(i, _)| i),
    };
    let Some((_, e)) = event else {
        return row;
    };
    let EventBody::CgroupDevices {
        version,
        privileged,
        allowed,
        program_insns,
        ..
    } = &e.body
    else {
        return row;
    };
    if let Some(errno) = failed(e) {
        row.state = State::Off;
        row.summary = format!("A lista não foi aplicada ({errno}).");
        return row;
    }
    let how = if version == "v2" {
        match program_insns {
            Some(n) => format!("um programa eBPF de {n} instruções preso ao cgroup v2"),
            None => "um programa eBPF preso ao cgroup v2".into(),
        }
    } else {
        "os arquivos devices.deny e devices.allow do cgroup v1".into()
    };
    if *privileged {
        row.state = State::Off;
        row.summary = format!(
            "Todos: --privileged libera todos os dispositivos ({how}): o root do contêiner \
             abre o disco do host, a memória (/dev/mem)…"
        );
        return row;
    }
    row.state = State::On;
    row.summary = format!(
        "Só {} regras de permissão ({how}): qualquer outro dispositivo é recusado \
         (EPERM), mesmo ao root que o cria com mknod.",
        allowed.len()
    );
    row.groups = vec![Group {
        id: "seg-dispositivos-lista",
        title: format!("Permitidos ({} regras)", allowed.len()),
        items: allowed
            .iter()
            .map(|r| (r.clone(), device_words(r)))
            .collect(),
        open: false,
    }];
    row
}

/// `process.setsid` and `process.fds_closed`: what of the caller's
/// session and open files could reach the container.
fn session_row(setsid: Option<(usize, &Event)>, fds: Option<(usize, &Event)>) -> Row {
    let at = match (setsid, fds) {
        (Some((a, _)), Some((b, _))) => Some(a.max(b)),
        (a, b) => a.or(b).map(|(i, _)| i),
    };
    let mut parts = vec![];
    let mut ok = 0;
    match setsid.map(|(_, e)| (e, &e.body)) {
        Some((e, EventBody::ProcessSetsid { had_terminal })) if failed(e).is_none() => {
            ok += 1;
            parts.push(if *had_terminal {
                "Sessão nova (setsid): o terminal de quem rodou o casulo deixou de ser o dele; \
                 nada lá dentro digita nele (TIOCSTI)."
                    .to_string()
            } else {
                "Sessão nova (setsid), sem terminal de controle (o casulo não rodou de um \
                 terminal)."
                    .to_string()
            });
        }
        Some((e, _)) => parts.push(format!(
            "O setsid falhou ({}).",
            failed(e).unwrap_or_default()
        )),
        None => parts.push("Ainda na sessão (e no terminal) de quem rodou o casulo.".into()),
    }
    match fds.map(|(_, e)| (e, &e.body)) {
        Some((e, EventBody::ProcessFdsClosed { first, inherited })) if failed(e).is_none() => {
            ok += 1;
            let list: Vec<String> = inherited.iter().map(i32::to_string).collect();
            parts.push(if inherited.is_empty() {
                format!("Do descritor {first} em diante, tudo fecha no execve: só 0, 1 e 2 entram.")
            } else {
                match list.as_slice() {
                    [one] => format!(
                        "Do descritor {first} em diante, tudo fecha no execve: o {one}, \
                         herdado de quem rodou o casulo, não entra no contêiner; só 0, 1 e 2."
                    ),
                    many => format!(
                        "Do descritor {first} em diante, tudo fecha no execve: os {} herdados \
                         de quem rodou o casulo ({}) não entram no contêiner; só 0, 1 e 2.",
                        many.len(),
                        many.join(", ")
                    ),
                }
            });
        }
        Some((e, _)) => parts.push(format!(
            "O close_range falhou ({}).",
            failed(e).unwrap_or_default()
        )),
        None => parts.push("Os descritores herdados ainda estão abertos.".into()),
    }
    let state = match (ok, setsid.is_some() && fds.is_some()) {
        (2, _) => State::On,
        (_, true) => State::Off,
        _ => State::Pending,
    };
    Row {
        id: "seg-sessao",
        title: "Terminal e descritores",
        state,
        summary: parts.join(" "),
        groups: vec![],
        at,
    }
}

/// `process.tty` (`run -t`): the container's own pseudo-terminal, from
/// its own devpts, instead of none (or the caller's).
fn terminal_row(event: Option<(usize, &Event)>, world: &World) -> Row {
    let (state, summary) = match (event, &world.terminal) {
        (Some((_, e)), _) if failed(e).is_some() => (
            State::Off,
            format!(
                "O terminal do contêiner falhou ({}).",
                failed(e).unwrap_or_default()
            ),
        ),
        (Some(_), Some(t)) => {
            let size = if t.rows == 0 && t.cols == 0 {
                "sem tamanho: o casulo não rodou num terminal".to_string()
            } else if t.resizes == 0 {
                format!("{}×{}", t.rows, t.cols)
            } else {
                format!(
                    "agora {}×{}, depois de {} mudança(s) da janela (TIOCSWINSZ)",
                    t.rows, t.cols, t.resizes
                )
            };
            // A -dit container's terminal, held by its supervisor: who is attached.
            let attached = match t.attached {
                0 => String::new(),
                n => format!(" Ligado(s) a ele agora: {n} cliente(s) de attach."),
            };
            (
                State::On,
                format!(
                    "Terminal próprio: {} ({size}), do devpts do contêiner, é o terminal de \
                     controle do PID 1 (TIOCSCTTY) e a sua entrada e saída. O casulo só copia \
                     bytes entre ele e o seu terminal: Ctrl-C e Ctrl-Z viram sinais lá dentro, \
                     para o grupo em primeiro plano (controle de jobs).{attached}",
                    t.path
                ),
            )
        }
        _ => (
            State::Pending,
            "Ainda não: com -t o init abre o terminal dele antes do execve.".into(),
        ),
    };
    Row {
        id: "seg-terminal",
        title: "Terminal do contêiner (-t)",
        state,
        summary,
        groups: vec![],
        at: event.map(|(i, _)| i),
    }
}

fn non_dumpable_row(event: Option<(usize, &Event)>) -> Row {
    let (state, summary) = match event {
        Some((_, e)) => match failed(e) {
            None => (
                State::On,
                "O init do casulo não é despejável (PR_SET_DUMPABLE 0): nada do contêiner o \
                 espia com ptrace nem alcança o binário do casulo do host pelo /proc/PID/exe."
                    .to_string(),
            ),
            Some(errno) => (State::Off, format!("O prctl falhou ({errno}).")),
        },
        None => (
            State::Pending,
            "Ainda não: o init liga isso logo depois do clone.".into(),
        ),
    };
    Row {
        id: "seg-dumpable",
        title: "init não despejável",
        state,
        summary,
        groups: vec![],
        at: event.map(|(i, _)| i),
    }
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

    /// A real recording (a course example or a fixture), replayed to its end.
    fn recorded(text: &str) -> (Vec<Event>, World) {
        let events = casulo_trace::reader::read_trace(text).unwrap().events;
        let world = Replay::new(events.clone()).world_at(events.len());
        (events, world)
    }

    fn row<'a>(rows: &'a [Row], id: &str) -> &'a Row {
        rows.iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no row {id}: {rows:#?}"))
    }

    fn group<'a>(row: &'a Row, id: &str) -> &'a Group {
        row.groups
            .iter()
            .find(|g| g.id == id)
            .unwrap_or_else(|| panic!("no group {id}: {row:#?}"))
    }

    const PRIVILEGED: &str =
        include_str!("../../engine/trace/tests/fixtures/run-privileged.trace.jsonl");
    const USERNS: &str = include_str!("../../book/exemplos/11-userns.trace.jsonl");
    const CAP_ADD: &str = include_str!("../../book/exemplos/11-privilegios.trace.jsonl");
    const DEVICES: &str = include_str!("../../book/exemplos/11-dispositivos.trace.jsonl");
    const DEFAULT: &str = include_str!("../../book/exemplos/11-o-que-o-conteiner-ve.trace.jsonl");
    const ATTACKS: &str = include_str!("../../book/exemplos/11-ataques.trace.jsonl");
    const ROOTLESS: &str =
        include_str!("../../engine/trace/tests/fixtures/run-rootless.trace.jsonl");

    /// Rootless: no --userns, but the container's root is the user on the
    /// host, through casulo's own namespace (never "uid 0 do host").
    #[test]
    fn rootless_says_the_containers_root_is_the_user() {
        let (events, world) = recorded(ROOTLESS);
        let got = rows(&events, &world);
        let user = row(&got, "seg-usuario");
        assert_eq!(user.state, State::On);
        assert!(user.summary.contains("Rootless"), "{}", user.summary);
        assert!(
            user.summary
                .contains("o uid 0 de dentro é o uid 1001 do host"),
            "{}",
            user.summary
        );
        assert!(!user.summary.contains("uid 0 do host"), "{}", user.summary);
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
                "seg-seccomp",
                "seg-dispositivos",
                "seg-sessao",
                "seg-dumpable",
                "seg-terminal",
            ]
        );
        assert!(
            got[1..4].iter().all(|r| r.state == State::Pending),
            "{got:#?}"
        );

        let (events, world) = sample_at(|ev| ev.len());
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
        // The sample's profile is an allow-list: counts, and the one call
        // refused by name.
        assert!(
            seccomp.summary.contains("Lista do que pode (perfil padrão")
                && seccomp.summary.contains("2 das 3 chamadas")
                && seccomp.summary.contains("errno(EPERM)")
                && seccomp.summary.contains("clone3")
                && seccomp.summary.contains("3 programas BPF empilhados"),
            "{}",
            seccomp.summary
        );
        // No user namespace in the sample: PID 1's uid (1000, after
        // process.user) is the host's.
        assert_eq!(got[0].state, State::Off);
        assert!(
            got[0].summary.contains("mesmo uid 1000 do host"),
            "{}",
            got[0].summary
        );
        assert!(got[0]
            .summary
            .contains("uid 0 do contêiner = uid 0 do host"));
        assert!(privileged(&events).is_none());
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
        assert!(got[1..4].iter().all(|r| r.state == State::Off), "{got:#?}");
        assert!(got[1].summary.contains("todas as capabilities"));
    }

    #[test]
    fn a_privileged_container_gets_the_warning_and_every_row_says_absent() {
        let (events, world) = recorded(PRIVILEGED);
        let warning = privileged(&events).expect("the banner of --privileged");
        assert!(warning.contains("todas as capabilities") && warning.contains("disco do host"));
        // From the first event on: the choice was made before the run.
        assert!(privileged(&events[..1]).is_none());
        let got = rows(&events, &world);
        let caps = row(&got, "seg-capabilities");
        assert_eq!(caps.state, State::Off);
        assert!(caps.summary.contains("--privileged"), "{}", caps.summary);
        assert!(group(caps, "seg-mantidas")
            .items
            .iter()
            .any(|(n, _)| n == "CAP_SYS_ADMIN"));
        let nnp = row(&got, "seg-no-new-privs");
        assert_eq!(nnp.state, State::Off);
        assert!(nnp.summary.contains("--privileged"));
        let seccomp = row(&got, "seg-seccomp");
        assert_eq!(seccomp.state, State::Off);
        assert!(
            seccomp.summary.contains("Seccomp: 0"),
            "{}",
            seccomp.summary
        );
        let devices = row(&got, "seg-dispositivos");
        assert_eq!(devices.state, State::Off);
        assert!(devices.summary.starts_with("Todos"), "{}", devices.summary);
        // The kernel's own protections of casulo's init stay on.
        assert_eq!(row(&got, "seg-dumpable").state, State::On);
        assert_eq!(row(&got, "seg-sessao").state, State::On);
        // Even before the capabilities event, no_new_privs is known to be off.
        let first = index_of(&events, "security.capabilities");
        let world = Replay::new(events.clone()).world_at(first);
        let got = rows(&events, &world);
        assert_eq!(row(&got, "seg-no-new-privs").state, State::Off);
        assert_eq!(row(&got, "seg-capabilities").state, State::Pending);
    }

    #[test]
    fn userns_shows_the_maps_and_the_idmapped_layers() {
        let (events, world) = recorded(USERNS);
        assert!(privileged(&events).is_none());
        let maps: Vec<&IdRange> = events
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::NamespaceUser { map, ranges, .. } if map == "uid" => ranges.first(),
                _ => None,
            })
            .collect();
        let r = maps[0];
        let got = rows(&events, &world);
        let user = row(&got, "seg-usuario");
        assert_eq!(user.state, State::On);
        let text = format!("{} → {}, {} ids", r.inside, r.outside, r.count);
        assert!(
            user.summary.contains(&format!("uid: {text}"))
                && user
                    .summary
                    .contains(&format!("é o uid {} do host", r.outside)),
            "{}",
            user.summary
        );
        let layers = group(user, "seg-idmapped");
        assert_eq!(layers.items.len(), world.idmapped.len());
        assert!(!layers.items.is_empty() && layers.items[0].0.len() == 12);
        // Before the maps are written the namespace is there, without ids.
        let at = index_of(&events, "namespace.user");
        let before = Replay::new(events.clone()).world_at(at);
        let got = rows(&events, &before);
        assert_eq!(row(&got, "seg-usuario").state, State::Pending);
    }

    #[test]
    fn without_userns_uid_0_is_the_hosts_in_every_recorded_example() {
        for text in [DEFAULT, CAP_ADD, DEVICES, ATTACKS] {
            let (events, world) = recorded(text);
            let got = rows(&events, &world);
            let user = row(&got, "seg-usuario");
            assert_eq!(user.state, State::Off);
            assert!(
                user.summary.contains("uid 0 do contêiner = uid 0 do host"),
                "{}",
                user.summary
            );
            assert_eq!(row(&got, "seg-capabilities").state, State::On);
            assert_eq!(row(&got, "seg-seccomp").state, State::On);
            assert!(privileged(&events).is_none());
        }
    }

    #[test]
    fn cap_add_is_told_apart_from_the_docker_default() {
        let (events, world) = recorded(CAP_ADD);
        let added: Vec<String> = events
            .iter()
            .find_map(|e| match &e.body {
                EventBody::SecurityCapabilities { added, .. } => Some(added.clone()),
                _ => None,
            })
            .unwrap();
        assert!(!added.is_empty(), "the example runs with --cap-add");
        let got = rows(&events, &world);
        let caps = row(&got, "seg-capabilities");
        assert!(
            caps.summary
                .contains(&format!("--cap-add deu {}", added.join(", "))),
            "{}",
            caps.summary
        );
        let changed = group(caps, "seg-mudadas");
        assert_eq!(changed.items[0].0, format!("+ {}", added[0]));
        // The default container says it has docker's 14, unchanged.
        let (events, world) = recorded(DEFAULT);
        let got = rows(&events, &world);
        let caps = row(&got, "seg-capabilities");
        assert!(caps.summary.contains("sem --cap-add nem --cap-drop"));
        assert!(caps.groups.iter().all(|g| g.id != "seg-mudadas"));
    }

    #[test]
    fn the_device_list_says_which_devices_and_how() {
        let (events, world) = recorded(DEVICES);
        let (allowed, version) = events
            .iter()
            .find_map(|e| match &e.body {
                EventBody::CgroupDevices {
                    allowed, version, ..
                } => Some((allowed.clone(), version.clone())),
                _ => None,
            })
            .unwrap();
        let got = rows(&events, &world);
        let devices = row(&got, "seg-dispositivos");
        assert_eq!(devices.state, State::On);
        let how = if version == "v1" {
            "devices.allow"
        } else {
            "eBPF"
        };
        assert!(devices.summary.contains(how), "{}", devices.summary);
        let list = group(devices, "seg-dispositivos-lista");
        assert_eq!(list.items.len(), allowed.len());
        assert!(list
            .items
            .iter()
            .any(|(r, w)| r == "c 1:3 rwm" && w == "/dev/null: ler, escrever, criar (mknod)"));
        assert!(list
            .items
            .iter()
            .any(|(r, w)| r == "b *:* m" && w.contains("não abrir")));
        // Before the cgroup is set up, it is pending.
        let before = Replay::new(events.clone()).world_at(0);
        assert_eq!(
            row(&rows(&events, &before), "seg-dispositivos").state,
            State::Pending
        );
        // A recording without the kind has no such row.
        let (events, world) = recorded(DEFAULT);
        if !events.iter().any(|e| e.body.kind() == "cgroup.devices") {
            assert!(rows(&events, &world)
                .iter()
                .all(|r| r.id != "seg-dispositivos"));
        }
    }

    #[test]
    fn session_inherited_descriptors_and_non_dumpable_from_a_real_run() {
        let (events, world) = recorded(PRIVILEGED);
        let inherited = events
            .iter()
            .find_map(|e| match &e.body {
                EventBody::ProcessFdsClosed { inherited, .. } => Some(inherited.clone()),
                _ => None,
            })
            .unwrap();
        let got = rows(&events, &world);
        let session = row(&got, "seg-sessao");
        assert!(session.summary.contains("Sessão nova (setsid)"));
        assert!(session.summary.contains("Do descritor 3 em diante"));
        for fd in &inherited {
            assert!(session.summary.contains(&fd.to_string()));
        }
        assert!(row(&got, "seg-dumpable").summary.contains("/proc/PID/exe"));
        // Between setsid and close_range: not yet complete.
        let at = index_of(&events, "process.setsid") + 1;
        let mid = Replay::new(events.clone()).world_at(at);
        let got = rows(&events, &mid);
        let session = row(&got, "seg-sessao");
        assert_eq!(session.state, State::Pending);
        assert_eq!(session.at, Some(at - 1));
    }

    #[test]
    fn the_terminal_row_follows_the_pty_and_its_resizes() {
        let events = casulo_trace::sample::sample_events();
        let replay = Replay::new(events.clone());
        let open = index_of(&events, "process.tty");
        let got = rows(&events, &replay.world_at(open));
        assert_eq!(row(&got, "seg-terminal").state, State::Pending);
        let got = rows(&events, &replay.world_at(open + 1));
        let terminal = row(&got, "seg-terminal");
        assert_eq!((terminal.state, terminal.at), (State::On, Some(open)));
        assert!(
            terminal.summary.contains("/dev/pts/0 (24×80)"),
            "{}",
            terminal.summary
        );
        let got = rows(&events, &replay.world_at(events.len()));
        assert!(row(&got, "seg-terminal").summary.contains("agora 40×120"));
    }

    #[test]
    fn device_rules_in_words() {
        assert_eq!(
            device_words("a *:* rwm"),
            "todos os dispositivos: ler, escrever, criar (mknod)"
        );
        assert_eq!(
            device_words("c 136:* rwm"),
            "/dev/pts/* (os terminais): ler, escrever, criar (mknod)"
        );
        assert_eq!(device_words("b 8:0 r"), "o disco 8:0: ler");
        assert_eq!(
            map_text(&[IdRange {
                inside: 0,
                outside: 100000,
                count: 65536
            }]),
            "0 → 100000, 65536 ids"
        );
    }
}
