//! Terminal narration of a trace, in Brazilian Portuguese, without colors
//! (the CLI adds them).
//!
//! [`narrate`] gives two lines per event: what happened, in words specific
//! to the event's fields; then the real operation and what the kernel
//! answered. The position, time and pid are left to the caller (the CLI puts
//! them in columns, see [`time_text`]):
//!
//! ```text
//! montou overlay em …/ab12cd34ef56/merged: 2 camadas somente-leitura + camada de escrita …/ab12cd34ef56/upper
//!     mount("overlay", …) → ok
//! ```
//!
//! The pieces are public too ([`describe`], [`outcome_text`]) for front-ends
//! that lay them out differently.

use crate::text::{self, short_digest, short_hex, thousands};
use crate::{
    DetachReason, DeviceType, Event, EventBody, Header, NsVia, Outcome, Propagation, TtyAction,
};

/// Two lines for one event: what happened, in words; then, indented by four
/// spaces, the real operation and what the kernel answered (`→ ok`, or
/// `→ ERRO ENOENT (2): …`). No seq, time or pid: the caller adds them.
pub fn narrate(event: &Event) -> String {
    format!(
        "{}\n    {} → {}",
        describe(event),
        event.op,
        outcome_text(&event.outcome)
    )
}

/// The header in two lines: format, engine and host; then the container.
pub fn narrate_header(h: &Header) -> String {
    let c = &h.container;
    let image_id = match &c.image_id {
        Some(id) => format!(" ({})", short_digest(id)),
        None => String::new(),
    };
    let command = if c.command.is_empty() {
        String::new()
    } else {
        format!(" · comando: {}", shell_words(&c.command))
    };
    format!(
        "trace {} v{} · casulo {} · kernel {} · cgroups {} · início {}\n\
         contêiner {} ({}) · imagem {}{}{}",
        h.format,
        h.format_version,
        h.engine_version,
        h.kernel,
        h.cgroup_mode,
        h.started_at,
        c.name,
        short_hex(&c.id),
        c.image,
        image_id,
        command
    )
}

/// `ok`, or `ERRO ENOENT (2): arquivo ou diretório não existe` (the
/// kernel's English message when the errno is not in [`crate::errno`]).
pub fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok => "ok".into(),
        Outcome::Error(e) => format!(
            "ERRO {} ({}): {}",
            e.name,
            e.errno,
            crate::errno::text(&e.name, &e.message)
        ),
    }
}

/// Time since the start of the trace: `0,037 ms`, `1,532 ms`, `2,104 s`.
pub fn time_text(t_us: u64) -> String {
    if t_us < 1_000_000 {
        format!("{},{:03} ms", t_us / 1000, t_us % 1000)
    } else {
        let ms = t_us / 1000;
        format!("{},{:03} s", thousands(ms / 1000), ms % 1000)
    }
}

/// The exit code a shell would show: the code itself, or 128 + signal.
pub fn shell_exit_code(code: Option<i32>, signal: Option<i32>) -> Option<i32> {
    code.or(signal.map(|s| 128 + s))
}

/// The usual name of a Linux signal number (x86/arm), e.g. 9 → `SIGKILL`.
pub fn signal_name(signal: i32) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    usize::try_from(signal)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| NAMES.get(i).copied())
}

/// What happened, in words specific to the event's fields. A failed
/// operation reads "não conseguiu …".
pub fn describe(event: &Event) -> String {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| {
        if ok {
            done
        } else {
            format!("não conseguiu {todo}")
        }
    };
    match &event.body {
        EventBody::ProcessClone { child_pid, flags } => {
            let ns: Vec<&str> = flags.iter().filter_map(|f| clone_flag_ns(f)).collect();
            let new_ns = if ns.is_empty() {
                String::new()
            } else {
                format!(" em namespaces novos: {}", ns.join(", "))
            };
            say(
                format!("clone() criou o processo {child_pid}{new_ns}"),
                format!("criar um processo com clone(){new_ns}"),
            )
        }
        EventBody::NamespaceCreate {
            ns,
            via,
            inode,
            host_inode,
        } => {
            let how = match via {
                NsVia::Clone => "",
                NsVia::Unshare => " com unshare()",
            };
            let ids = match (inode, host_inode) {
                (Some(i), Some(h)) => format!(" (inode {i}; o do host era {h})"),
                (Some(i), None) => format!(" (inode {i})"),
                (None, Some(h)) => format!(" (o do host era o inode {h})"),
                (None, None) => String::new(),
            };
            let ns = ns.proc_name();
            say(
                format!("criou namespace {ns}{how}{ids}"),
                format!("criar namespace {ns}{how}{ids}"),
            )
        }
        EventBody::NamespaceJoin {
            ns,
            target_pid,
            inode,
        } => {
            let ns = ns.proc_name();
            let id = inode.map(|i| format!(", inode {i}")).unwrap_or_default();
            say(
                format!("entrou no namespace {ns} do processo {target_pid} (setns{id})"),
                format!("entrar no namespace {ns} do processo {target_pid} (setns{id})"),
            )
        }
        EventBody::NamespaceUser {
            target_pid,
            map,
            ranges,
        } => {
            let lines: Vec<String> = ranges
                .iter()
                .map(|r| format!("{} {} {}", r.inside, r.outside, r.count))
                .collect();
            let what = format!(
                "o {map}_map do processo {target_pid}: {}",
                lines.join("; ")
            );
            say(format!("escreveu {what}"), format!("escrever {what}"))
        }
        EventBody::MountIdmap { source, userns_pid } => {
            let what = format!(
                "{} com o mapa de IDs do namespace de usuário do processo {userns_pid}",
                short_path(source)
            );
            say(
                format!("montou (idmapped) {what}"),
                format!("montar (idmapped) {what}"),
            )
        }
        EventBody::MountOverlay {
            target,
            lowerdirs,
            upperdir,
            ..
        } => {
            let what = format!(
                "overlay em {}: {} somente-leitura + camada de escrita {}",
                short_path(target),
                plural(lowerdirs.len() as u64, "camada", "camadas"),
                short_path(upperdir)
            );
            say(format!("montou {what}"), format!("montar {what}"))
        }
        EventBody::MountFs {
            fstype,
            source,
            target,
            flags,
            data,
        } => {
            let mut details: Vec<String> = flags
                .iter()
                .filter(|f| f.as_str() != "MS_BIND" && f.as_str() != "MS_REC")
                .cloned()
                .collect();
            if !data.is_empty() {
                details.push(data.clone());
            }
            let details = if details.is_empty() {
                String::new()
            } else {
                format!(" ({})", details.join(", "))
            };
            let read_only = flags.iter().any(|f| f == "MS_RDONLY");
            let what = if (fstype == "cgroup" || fstype == "cgroup2") && read_only {
                // The container's own view of its cgroups (see mounts.rs).
                let version = if fstype == "cgroup2" {
                    "v2".to_string()
                } else {
                    format!("v1 ({data})")
                };
                format!(
                    "cgroup {version} em {}, somente leitura: ali o contêiner vê o próprio \
                     grupo como raiz",
                    short_path(target)
                )
            } else if flags.iter().any(|f| f == "MS_BIND") {
                let rec = if flags.iter().any(|f| f == "MS_REC") {
                    " recursivo"
                } else {
                    ""
                };
                format!(
                    "{} em {} (bind mount{rec}){details}",
                    short_path(source),
                    short_path(target)
                )
            } else {
                let origin = if source.is_empty() || source == fstype || source == "none" {
                    String::new()
                } else {
                    format!(" (origem {})", short_path(source))
                };
                format!("{fstype} em {}{origin}{details}", short_path(target))
            };
            say(format!("montou {what}"), format!("montar {what}"))
        }
        EventBody::MountPropagation {
            target,
            propagation,
            recursive,
        } => {
            let p = match propagation {
                Propagation::Private => "private",
                Propagation::Slave => "slave",
                Propagation::Shared => "shared",
            };
            let (rec, r) = if *recursive {
                (", recursiva", "r")
            } else {
                ("", "")
            };
            let t = short_path(target);
            say(
                format!("propagação de {t} agora é {p}{rec} (como mount --make-{r}{p} {t})"),
                format!("mudar a propagação de {t} para {p}{rec}"),
            )
        }
        EventBody::MountPivotRoot { new_root, put_old } if new_root == put_old => {
            // runc's `pivot_root(".", ".")` (see mounts.rs and pivot_root(2)).
            let n = short_path(new_root);
            say(
                format!(
                    "trocou a raiz com pivot_root({n:?}, {n:?}): o diretório atual (o overlay \
                     do contêiner) virou a nova /, e a raiz antiga do host ficou empilhada no \
                     mesmo ponto, por cima dela, até o umount2(MNT_DETACH) que vem a seguir"
                ),
                format!(
                    "trocar a raiz com pivot_root({n:?}, {n:?}): o diretório atual viraria a \
                     nova /, com a raiz antiga empilhada no mesmo ponto até ser desmontada"
                ),
            )
        }
        EventBody::MountPivotRoot { new_root, put_old } => {
            let (n, o) = (short_path(new_root), short_path(put_old));
            say(
                format!("trocou a raiz: {n} virou / (a raiz antiga ficou em {o})"),
                format!("trocar a raiz para {n} (raiz antiga iria para {o})"),
            )
        }
        EventBody::MountUmount { target, detach } if target == "." && *detach => say(
            "desmontou a raiz antiga do host, que o pivot_root(\".\", \".\") tinha \
             empilhado sobre a nova (MNT_DETACH: some já da árvore; dali de dentro não há \
             mais caminho para os arquivos do host)"
                .to_string(),
            "desmontar a raiz antiga do host, empilhada sobre a nova pelo pivot_root".to_string(),
        ),
        EventBody::MountUmount { target, detach } => {
            let how = if *detach {
                " (MNT_DETACH: sai da árvore já, é liberada quando ninguém mais usar)"
            } else {
                ""
            };
            let t = short_path(target);
            say(format!("desmontou {t}{how}"), format!("desmontar {t}{how}"))
        }
        EventBody::DeviceCreate {
            path,
            dev_type,
            major,
            minor,
            mode,
        } => {
            let ty = match dev_type {
                DeviceType::Char => "de caractere",
                DeviceType::Block => "de bloco",
            };
            let what = format!(
                "dispositivo {ty} {} ({major}, {minor}) com permissões {:04o}",
                short_path(path),
                mode & 0o7777
            );
            say(format!("criou {what}"), format!("criar {what}"))
        }
        EventBody::FsSymlink { target, link } => {
            let what = format!("link simbólico {} → {target}", short_path(link));
            say(format!("criou {what}"), format!("criar {what}"))
        }
        EventBody::FsWrite { path, value } => {
            let v = quote_value(value);
            say(
                format!("escreveu {v} em {path}"),
                format!("escrever {v} em {path}"),
            )
        }
        EventBody::UtsSethostname { hostname } => say(
            format!("definiu o hostname como {hostname:?}"),
            format!("definir o hostname como {hostname:?}"),
        ),
        EventBody::NetLinkUp { ifname } => say(
            format!("ligou a interface de rede {ifname} (IFF_UP)"),
            format!("ligar a interface de rede {ifname}"),
        ),
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
        EventBody::SecurityCapabilities {
            kept,
            dropped,
            mask,
            privileged,
            added,
            removed,
        } => {
            if *privileged {
                say(
                    format!(
                        "ficou com todas as {} capabilities (--privileged: o root do \
                         contêiner pode tudo o que o root do host pode)",
                        kept.len()
                    ),
                    "ficar com todas as capabilities (--privileged)".to_string(),
                )
            } else {
                let mut asked = Vec::new();
                if !added.is_empty() {
                    asked.push(format!("--cap-add {}", added.join(", ")));
                }
                if !removed.is_empty() {
                    asked.push(format!("--cap-drop {}", removed.join(", ")));
                }
                let base = if asked.is_empty() {
                    "as do docker".to_string()
                } else {
                    format!("as do docker, com {}", asked.join(" e "))
                };
                say(
                    format!(
                        "ficou só com {} capabilities ({base}) e jogou fora {} \
                         (CapEff = {mask})",
                        kept.len(),
                        dropped.len()
                    ),
                    format!("cortar as capabilities para {base}"),
                )
            }
        }
        EventBody::SecurityNoNewPrivs {} => say(
            "ligou no_new_privs: nenhum execve dá mais privilégios".to_string(),
            "ligar no_new_privs".to_string(),
        ),
        EventBody::SecurityNonDumpable {} => say(
            "ficou não-despejável: o /proc/PID/exe do casulo fica fechado ao contêiner"
                .to_string(),
            "ficar não-despejável (PR_SET_DUMPABLE 0)".to_string(),
        ),
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
        EventBody::SecuritySeccomp {
            mode,
            profile,
            default_action,
            allowed_count,
            blocked_count,
            blocked_action,
            ..
        } => {
            let which = match profile.as_str() {
                "" => String::new(),
                p => format!(" ({p})"),
            };
            if mode != "filter" {
                say(
                    format!(
                        "ficou sem filtro seccomp{which}: toda chamada de sistema chega \
                         ao kernel"
                    ),
                    "ficar sem filtro seccomp".to_string(),
                )
            } else if default_action == "allow" {
                say(
                    format!(
                        "instalou um filtro seccomp{which}: {blocked_count} chamadas de \
                         sistema barradas com {blocked_action}, o resto permitido"
                    ),
                    "instalar o filtro seccomp".to_string(),
                )
            } else {
                say(
                    format!(
                        "instalou um filtro seccomp{which}: {allowed_count} chamadas de \
                         sistema permitidas, todas as outras voltam com {default_action}"
                    ),
                    "instalar o filtro seccomp".to_string(),
                )
            }
        }
        EventBody::ProcessChroot { path } => {
            let p = short_path(path);
            say(
                format!("mudou a raiz do processo para {p} (chroot)"),
                format!("mudar a raiz do processo para {p} (chroot)"),
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
                return format!("não conseguiu esperar o processo {exited_pid} (wait4)");
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
        EventBody::TerminalAttach { client, attached } => say(
            format!("{client} se ligou ao terminal do contêiner ({attached} ligado(s) agora)"),
            format!("ligar {client} ao terminal do contêiner"),
        ),
        EventBody::TerminalDetach {
            client,
            reason,
            attached,
        } => {
            let why = match reason {
                DetachReason::Keys => "com as teclas de saída; o contêiner continua",
                DetachReason::Gone => "porque foi embora; o contêiner continua",
                DetachReason::Ended => "porque o contêiner terminou",
            };
            say(
                format!("{client} se desligou do terminal {why} ({attached} ligado(s) agora)"),
                format!("desligar {client} do terminal"),
            )
        }
        EventBody::DaemonRequest {
            method,
            path,
            client,
        } => {
            let who = if client.is_empty() {
                "um cliente sem User-Agent".to_string()
            } else {
                client.clone()
            };
            say(
                format!("o daemon atendeu {method} {path}, pedido por {who}"),
                format!("atender {method} {path} (pedido por {who})"),
            )
        }
        EventBody::LayerUnpack {
            diff_id,
            path,
            bytes,
            files,
            duration_us,
        } => {
            let d = short_digest(diff_id);
            let p = short_path(path);
            say(
                format!(
                    "descompactou a camada {d} em {p}: {}, {} de conteúdo, em {}",
                    plural(*files, "arquivo", "arquivos"),
                    text::bytes(*bytes),
                    time_text(*duration_us)
                ),
                format!("descompactar a camada {d} em {p}"),
            )
        }
        EventBody::LayerReuse { diff_id, path } => {
            let d = short_digest(diff_id);
            let p = short_path(path);
            say(
                format!("reaproveitou a camada {d}, já descompactada em {p}"),
                format!("reaproveitar a camada {d} em {p}"),
            )
        }
        EventBody::LayerUpper {
            added,
            changed,
            deleted,
            bytes,
            ..
        } => say(
            format!(
                "a camada de escrita do contêiner ficou com {added} adicionado(s), \
                 {changed} alterado(s) (copy-up), {deleted} apagado(s), {} de conteúdo",
                text::bytes(*bytes)
            ),
            "medir a camada de escrita do contêiner".to_string(),
        ),
        EventBody::VolumeCreate {
            name,
            target,
            anonymous,
            ..
        } => {
            let which = if *anonymous {
                format!("o volume anônimo {}", &name[..name.len().min(12)])
            } else {
                format!("o volume {name}")
            };
            say(
                format!("criou {which}, que o contêiner vai ver em {target}"),
                format!("criar {which} para {target}"),
            )
        }
        EventBody::LayerWhiteout {
            diff_id,
            path,
            opaque,
        } => {
            let d = short_digest(diff_id);
            if *opaque {
                say(
                    format!("a camada {d} tornou {path} opaco: o que as camadas de baixo tinham ali some"),
                    format!("tornar {path} opaco na camada {d}"),
                )
            } else {
                say(
                    format!("a camada {d} apagou {path} (whiteout)"),
                    format!("apagar {path} na camada {d}"),
                )
            }
        }
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
        EventBody::CgroupAttach { path, target_pid } => {
            let p = short_path(path);
            say(
                format!("colocou o processo {target_pid} no cgroup {p}"),
                format!("colocar o processo {target_pid} no cgroup {p}"),
            )
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
        EventBody::NetBridge {
            name,
            address,
            created,
        } => {
            if *created {
                say(
                    format!("criou a bridge {name} com o endereço {address}"),
                    format!("criar a bridge {name}"),
                )
            } else {
                say(
                    format!("reaproveitou a bridge {name} ({address}), criada antes"),
                    format!("usar a bridge {name}"),
                )
            }
        }
        EventBody::NetVeth {
            host_ifname,
            container_ifname,
            netns_pid,
        } => say(
            format!(
                "criou o par veth {host_ifname} (host) ↔ {container_ifname} (na rede do processo {netns_pid})"
            ),
            format!("criar o par veth {host_ifname} ↔ {container_ifname}"),
        ),
        EventBody::NetAttach { ifname, bridge } => say(
            format!("ligou {ifname} à bridge {bridge}"),
            format!("ligar {ifname} à bridge {bridge}"),
        ),
        EventBody::NetAddr {
            ifname,
            address,
            inside,
        } => {
            let place = if *inside { "no contêiner" } else { "no host" };
            say(
                format!("deu o endereço {address} a {ifname} ({place})"),
                format!("dar o endereço {address} a {ifname}"),
            )
        }
        EventBody::NetRoute {
            destination,
            gateway,
            ifname,
            inside,
        } => {
            let place = if *inside { "no contêiner" } else { "no host" };
            let via = gateway
                .as_ref()
                .map(|g| format!(" via {g}"))
                .unwrap_or_default();
            say(
                format!("adicionou a rota {destination}{via} por {ifname} ({place})"),
                format!("adicionar a rota {destination}{via}"),
            )
        }
        EventBody::NetPort {
            protocol,
            host_ip,
            host_port,
            container_ip,
            container_port,
            mechanism,
        } => say(
            format!(
                "publicou {host_ip}:{host_port} → {container_ip}:{container_port}/{protocol} ({mechanism})"
            ),
            format!("publicar a porta {host_port}/{protocol}"),
        ),
        EventBody::NetPortClose {
            protocol,
            host_ip,
            host_port,
        } => say(
            format!("fechou a porta {host_ip}:{host_port}/{protocol} do host"),
            format!("fechar a porta {host_port}/{protocol}"),
        ),
        EventBody::NetLinkDelete { ifname } => say(
            format!("removeu a interface {ifname}"),
            format!("remover a interface {ifname}"),
        ),
        EventBody::NetDnsListen {
            address,
            network,
            netns_pid: _,
        } => say(
            format!("abriu o DNS da rede {network} em {address}, dentro do contêiner"),
            format!("abrir o DNS da rede {network} em {address}"),
        ),
        EventBody::NetDns {
            name,
            qtype,
            answer,
            resolved_by,
        } => {
            let who = match resolved_by.as_str() {
                "network" => "um contêiner da rede",
                "upstream" => "o DNS do host",
                _ => "ninguém",
            };
            let what = if answer.is_empty() {
                "nenhum endereço".to_string()
            } else {
                answer.join(", ")
            };
            say(
                format!("o contêiner perguntou quem é {name} ({qtype}): {what} (respondeu {who})"),
                format!("responder quem é {name}"),
            )
        }
        EventBody::NetRule {
            action,
            chain,
            rule,
            purpose,
        } => {
            let delete = action == "delete";
            match purpose.as_str() {
                // Not rules: casulo's table itself, and the host's routing.
                "table" => {
                    let (verb, inf) = if delete {
                        ("apagou", "apagar")
                    } else {
                        ("criou", "criar")
                    };
                    say(
                        format!("{verb} a tabela do nftables: {rule}"),
                        format!("{inf} a tabela do nftables"),
                    )
                }
                "forward" => say(
                    format!("ligou o roteamento entre interfaces do host: {rule}"),
                    "ligar o roteamento do host".to_string(),
                ),
                _ => {
                    let (verb, inf) = if delete {
                        ("apagou", "apagar")
                    } else {
                        ("escreveu", "escrever")
                    };
                    say(
                        format!("{verb} a regra de {purpose} em {chain}: {rule}"),
                        format!("{inf} a regra de {purpose} em {chain}"),
                    )
                }
            }
        }
        EventBody::BuildStart {
            context,
            dockerfile,
            tag,
            steps,
        } => {
            let tag = tag
                .as_ref()
                .map(|t| format!(" para {t}"))
                .unwrap_or_default();
            say(
                format!(
                    "começou o build{tag}: {} em {}, contexto {}",
                    plural(u64::from(*steps), "passo", "passos"),
                    short_path(dockerfile),
                    short_path(context)
                ),
                format!("ler o Dockerfile {}", short_path(dockerfile)),
            )
        }
        EventBody::BuildBase {
            image,
            diff_ids,
            stage,
            from_stage,
            ..
        } => {
            let layers = plural(diff_ids.len() as u64, "camada", "camadas");
            let who = stage
                .as_ref()
                .map(|s| format!("o estágio {s} "))
                .unwrap_or_default();
            match from_stage {
                Some(from) => say(
                    format!("{who}partiu do resultado do estágio {from}: {layers}"),
                    format!("usar o estágio {from} como base"),
                ),
                None => say(
                    format!("{who}partiu da imagem {image}: {layers}"),
                    format!("usar a imagem {image} como base"),
                ),
            }
        }
        EventBody::BuildStep {
            step,
            total,
            line,
            instruction,
            args,
            stage,
            copy_from,
            ..
        } => {
            let within = stage
                .as_ref()
                .map(|s| format!(", estágio {s}"))
                .unwrap_or_default();
            let source = copy_from
                .as_ref()
                .map(|f| format!(" — arquivos de {f}, não do contexto"))
                .unwrap_or_default();
            say(
                format!("passo {step}/{total} (linha {line}{within}): {instruction} {args}{source}"),
                format!("executar o passo {step}/{total} ({instruction})"),
            )
        }
        EventBody::BuildDownload {
            step,
            url,
            bytes,
            digest,
            pinned,
            ..
        } => say(
            format!(
                "passo {step} baixou {url}: {}, {}{}",
                text::bytes(*bytes),
                short_digest(digest),
                if *pinned {
                    " (o mesmo que o --checksum pede)"
                } else {
                    " (sem --checksum: nada confere que é o arquivo esperado)"
                }
            ),
            format!("baixar {url}"),
        ),
        EventBody::BuildCacheHit { step, diff_id, .. } => {
            let layer = diff_id
                .as_ref()
                .map(|d| format!(": camada {}", short_digest(d)))
                .unwrap_or_default();
            say(
                format!("passo {step} veio do cache{layer}"),
                format!("usar o cache no passo {step}"),
            )
        }
        EventBody::BuildLayer {
            step,
            diff_id,
            bytes,
            files,
            ..
        } => say(
            format!(
                "passo {step} gerou a camada {}: {}, tar descomprimido de {}",
                short_digest(diff_id),
                plural(*files, "entrada", "entradas"),
                text::bytes(*bytes)
            ),
            format!("guardar a camada do passo {step}"),
        ),
        EventBody::BuildCommit {
            tag,
            image_id,
            layers,
        } => {
            let tag = tag_suffix(tag);
            say(
                format!(
                    "gravou a imagem{tag} ({}) com {}",
                    short_digest(image_id),
                    plural(u64::from(*layers), "camada", "camadas")
                ),
                format!("gravar a imagem{tag}"),
            )
        }
        EventBody::ImageCommit {
            container,
            diff_id,
            bytes,
            files,
            whiteouts,
            image_id,
            tag,
            ..
        } => {
            let tag = tag_suffix(tag);
            say(
                format!(
                    "commit de {container}: a camada de escrita virou a camada {} ({}, {} \
                     descomprimido, {}) e a imagem{tag} ({})",
                    short_digest(diff_id),
                    plural(*files, "entrada", "entradas"),
                    text::bytes(*bytes),
                    plural(*whiteouts, "whiteout", "whiteouts"),
                    short_digest(image_id)
                ),
                format!("gravar a imagem{tag} a partir do contêiner {container}"),
            )
        }
        EventBody::RegistryPing {
            registry,
            status,
            auth,
            ..
        } => {
            let asks = match auth.as_str() {
                "" => "não pede credenciais".to_string(),
                scheme => format!("pede autenticação {scheme}"),
            };
            say(
                format!("o registry {registry} respondeu a GET /v2/ ({status}) e {asks}"),
                format!("falar com o registry {registry} (GET /v2/)"),
            )
        }
        EventBody::RegistryAuth {
            registry,
            scheme,
            scope,
            with_credentials,
            ..
        } => {
            let who = if *with_credentials {
                "com as credenciais do casulo login"
            } else {
                "sem credenciais (anônimo)"
            };
            let scope = if scope.is_empty() {
                String::new()
            } else {
                format!(" para {scope}")
            };
            say(
                format!("autenticou-se no registry {registry} ({scheme}, {who}){scope}"),
                format!("se autenticar no registry {registry} ({scheme}){scope}"),
            )
        }
        EventBody::RegistryBlobExists {
            registry,
            digest,
            size,
            exists,
            local,
            layer,
            ..
        } => {
            let what = match layer {
                Some(i) => format!(
                    "a camada {} ({}, {})",
                    i + 1,
                    short_digest(digest),
                    text::bytes(*size)
                ),
                None => format!("a config ({}, {})", short_digest(digest), text::bytes(*size)),
            };
            let place = if *local {
                "no store local".to_string()
            } else {
                format!("no registry {registry}")
            };
            let answer = if *exists {
                "já estava lá"
            } else {
                "não estava"
            };
            say(
                format!("{what} {place}: {answer}"),
                format!("perguntar se {what} existe {place}"),
            )
        }
        EventBody::RegistryBlobUpload {
            registry,
            digest,
            bytes,
            duration_us,
            layer,
            ..
        } => {
            let what = blob_label(*layer, digest);
            say(
                format!(
                    "{what} enviada ao registry {registry}: {} em {}",
                    text::bytes(*bytes),
                    time_text(*duration_us)
                ),
                format!("enviar {what} ao registry {registry}"),
            )
        }
        EventBody::RegistryBlobDownload {
            registry,
            digest,
            bytes,
            duration_us,
            layer,
            ..
        } => {
            let what = blob_label(*layer, digest);
            say(
                format!(
                    "{what} baixada do registry {registry}: {} em {}, sha256 e tamanho conferidos",
                    text::bytes(*bytes),
                    time_text(*duration_us)
                ),
                format!("baixar {what} do registry {registry}"),
            )
        }
        EventBody::RegistryBlobMount {
            registry,
            repository,
            from,
            digest,
            mounted,
            layer,
            ..
        } => {
            let what = blob_label(*layer, digest);
            let result = if *mounted {
                "montada sem enviar nenhum byte".to_string()
            } else {
                "não pôde ser montada (o registry abriu um upload comum)".to_string()
            };
            say(
                format!("{what} de {from} para {repository} no registry {registry}: {result}"),
                format!("montar {what} de {from} em {repository}"),
            )
        }
        EventBody::RegistryManifestGet {
            repository,
            reference,
            digest,
            layers,
            platform,
            ..
        } => {
            let picked = platform
                .as_ref()
                .map(|p| format!(" (do índice, a plataforma {p})"))
                .unwrap_or_default();
            say(
                format!(
                    "manifest {repository}:{reference} baixado{picked}: {}, {}",
                    short_digest(digest),
                    plural(u64::from(*layers), "camada", "camadas")
                ),
                format!("baixar o manifest {repository}:{reference}"),
            )
        }
        EventBody::RegistryManifestPut {
            registry,
            repository,
            tag,
            digest,
            layers,
            ..
        } => say(
            format!(
                "manifest {} enviado: {registry}/{repository}:{tag} aponta para a imagem ({})",
                short_digest(digest),
                plural(u64::from(*layers), "camada", "camadas")
            ),
            format!("enviar o manifest de {registry}/{repository}:{tag}"),
        ),
    }
}

/// "a camada 3 (sha256:ab12…)" or "a config (…)" for registry events.
fn blob_label(layer: Option<u32>, digest: &str) -> String {
    match layer {
        Some(i) => format!("a camada {} ({})", i + 1, short_digest(digest)),
        None => format!("a config ({})", short_digest(digest)),
    }
}

/// The namespace a `CLONE_NEW*` flag creates (`CLONE_NEWNS` → `mnt`).
fn clone_flag_ns(flag: &str) -> Option<&'static str> {
    crate::NsKind::ALL
        .iter()
        .find(|k| k.clone_flag() == flag)
        .map(|k| k.proc_name())
}

/// Long host paths keep only their last components: `…/merged/proc`.
fn short_path(path: &str) -> String {
    const MAX: usize = 40;
    const KEEP: usize = 24;
    if path.chars().count() <= MAX {
        return path.to_string();
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mut kept: Vec<String> = Vec::new();
    let mut len = 0;
    for part in parts.iter().rev() {
        let part = short_hex(part);
        if !kept.is_empty() && (kept.len() == 2 || len + part.chars().count() + 1 > KEEP) {
            break;
        }
        len += part.chars().count() + 1;
        kept.push(part);
    }
    kept.reverse();
    format!("…/{}", kept.join("/"))
}

/// `" nome:tag"`, or nothing for an image without a tag.
fn tag_suffix(tag: &str) -> String {
    if tag.is_empty() {
        String::new()
    } else {
        format!(" {tag}")
    }
}

/// A value written into a kernel file, quoted; long values are cut.
fn quote_value(v: &str) -> String {
    const MAX: usize = 60;
    let q = format!("{v:?}");
    if q.chars().count() <= MAX {
        q
    } else {
        let cut: String = q.chars().take(MAX - 2).collect();
        format!("{cut}…\" ({} bytes)", v.len())
    }
}

/// argv as you would type it in a shell.
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `1 camada`, `2 camadas`, `1.234 arquivos`.
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `24×80`, or what 0 × 0 means: casulo's caller had no terminal window.
fn window_text(rows: u16, cols: u16) -> String {
    if rows == 0 && cols == 0 {
        "sem tamanho: o casulo não rodou num terminal".to_string()
    } else {
        format!("{rows}×{cols}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{sample, Errno, NsKind};

    fn event(body: EventBody) -> Event {
        Event {
            seq: 7,
            t_us: 1532,
            pid: 4242,
            body,
            op: "op()".into(),
            outcome: Outcome::Ok,
        }
    }

    fn failed(body: EventBody) -> Event {
        Event {
            outcome: Outcome::Error(Errno {
                errno: 2,
                name: "ENOENT".into(),
                message: "No such file or directory".into(),
            }),
            ..event(body)
        }
    }

    /// The OOM tells the peak the kernel kept: what a sample between two
    /// reads misses (the visualizer charts it for the samples).
    #[test]
    fn memory_peak_in_the_oom() {
        let oom = describe(&event(EventBody::CgroupOom {
            path: "/sys/fs/cgroup/memory/casulo/ab".into(),
            oom_kills: 1,
            limit_bytes: Some(64 << 20),
            peak_bytes: Some(64 << 20),
        }));
        assert!(oom.contains("o pico de uso chegou a 64 MiB"), "{oom}");
    }

    #[test]
    fn outcome_rendering() {
        assert_eq!(outcome_text(&Outcome::Ok), "ok");
        let e = failed(EventBody::NetLinkUp {
            ifname: "lo".into(),
        });
        assert_eq!(
            outcome_text(&e.outcome),
            "ERRO ENOENT (2): arquivo ou diretório não existe"
        );
    }

    #[test]
    fn narrate_has_two_lines() {
        let e = event(EventBody::NetLinkUp {
            ifname: "lo".into(),
        });
        assert_eq!(
            narrate(&e),
            "ligou a interface de rede lo (IFF_UP)\n    op() → ok"
        );
        let e = failed(EventBody::NetLinkUp {
            ifname: "lo".into(),
        });
        assert_eq!(
            narrate(&e),
            "não conseguiu ligar a interface de rede lo\n    \
             op() → ERRO ENOENT (2): arquivo ou diretório não existe"
        );
    }

    #[test]
    fn namespace_create() {
        let e = event(EventBody::NamespaceCreate {
            ns: NsKind::Pid,
            via: NsVia::Clone,
            inode: Some(4026532201),
            host_inode: Some(4026531836),
        });
        assert_eq!(
            describe(&e),
            "criou namespace pid (inode 4026532201; o do host era 4026531836)"
        );
        let e = event(EventBody::NamespaceCreate {
            ns: NsKind::Net,
            via: NsVia::Unshare,
            inode: None,
            host_inode: None,
        });
        assert_eq!(describe(&e), "criou namespace net com unshare()");
    }

    /// Issue 12: the `pivot_root(".", ".")` trick is explained, not
    /// "`.` virou / (a raiz antiga ficou em .)".
    #[test]
    fn pivot_root_dot_dot_and_the_cgroup_view_are_explained() {
        let e = event(EventBody::MountPivotRoot {
            new_root: ".".into(),
            put_old: ".".into(),
        });
        let text = describe(&e);
        assert!(
            text.starts_with("trocou a raiz com pivot_root(\".\", \".\")"),
            "{text}"
        );
        assert!(text.contains("empilhada") && text.contains("umount2(MNT_DETACH)"));
        assert!(!text.contains("ficou em ."), "{text}");
        let e = event(EventBody::MountUmount {
            target: ".".into(),
            detach: true,
        });
        assert!(describe(&e).starts_with("desmontou a raiz antiga do host"));
        let e = event(EventBody::MountFs {
            fstype: "cgroup".into(),
            source: "cgroup".into(),
            target: "/sys/fs/cgroup/memory".into(),
            flags: vec!["MS_RDONLY".into(), "MS_NOSUID".into()],
            data: "memory".into(),
        });
        assert_eq!(
            describe(&e),
            "montou cgroup v1 (memory) em /sys/fs/cgroup/memory, somente leitura: ali o \
             contêiner vê o próprio grupo como raiz"
        );
    }

    #[test]
    fn overlay() {
        let c = "/var/lib/casulo/containers/ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12";
        let e = event(EventBody::MountOverlay {
            target: format!("{c}/merged"),
            lowerdirs: vec!["/var/lib/casulo/layers/aaaa".into()],
            upperdir: format!("{c}/upper"),
            workdir: format!("{c}/work"),
        });
        assert_eq!(
            describe(&e),
            "montou overlay em …/ab12cd34ef56/merged: 1 camada somente-leitura + camada de \
             escrita …/ab12cd34ef56/upper"
        );
    }

    #[test]
    fn exits() {
        let exit = |code, signal, name: Option<&str>| {
            describe(&event(EventBody::ProcessExit {
                exited_pid: 1234,
                code,
                signal,
                signal_name: name.map(String::from),
            }))
        };
        assert_eq!(
            exit(Some(0), None, None),
            "processo 1234 terminou com código 0"
        );
        assert_eq!(
            exit(None, Some(9), Some("SIGKILL")),
            "processo 1234 morto pelo sinal SIGKILL (9) → código 137"
        );
        assert_eq!(
            exit(None, Some(15), None),
            "processo 1234 morto pelo sinal SIGTERM (15) → código 143"
        );
        assert_eq!(shell_exit_code(None, Some(9)), Some(137));
        assert_eq!(shell_exit_code(Some(3), None), Some(3));
        assert_eq!(signal_name(2), Some("SIGINT"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(64), None);
    }

    #[test]
    fn freeze_and_thaw() {
        let e = event(EventBody::CgroupFreeze {
            file: "/sys/fs/cgroup/freezer/casulo/ab12/freezer.state".into(),
            frozen: true,
        });
        assert_eq!(
            describe(&e),
            "congelou os processos do cgroup /sys/fs/cgroup/freezer/casulo/ab12 \
             (FROZEN em freezer.state)"
        );
        let e = event(EventBody::CgroupFreeze {
            file: "/sys/fs/cgroup/casulo/ab12/cgroup.freeze".into(),
            frozen: false,
        });
        assert_eq!(
            describe(&e),
            "descongelou os processos do cgroup /sys/fs/cgroup/casulo/ab12 (0 em cgroup.freeze)"
        );
    }

    #[test]
    fn mounts_devices_and_more() {
        let e = event(EventBody::MountFs {
            fstype: "tmpfs".into(),
            source: "tmpfs".into(),
            target: "/dev".into(),
            flags: vec!["MS_NOSUID".into()],
            data: "mode=755".into(),
        });
        assert_eq!(describe(&e), "montou tmpfs em /dev (MS_NOSUID, mode=755)");
        let e = event(EventBody::MountFs {
            fstype: "".into(),
            source: "/home/aluno/dados".into(),
            target: "/dados".into(),
            flags: vec!["MS_BIND".into(), "MS_REC".into()],
            data: "".into(),
        });
        assert_eq!(
            describe(&e),
            "montou /home/aluno/dados em /dados (bind mount recursivo)"
        );
        let e = event(EventBody::MountPropagation {
            target: "/".into(),
            propagation: Propagation::Private,
            recursive: true,
        });
        assert_eq!(
            describe(&e),
            "propagação de / agora é private, recursiva (como mount --make-rprivate /)"
        );
        let e = event(EventBody::DeviceCreate {
            path: "/dev/null".into(),
            dev_type: DeviceType::Char,
            major: 1,
            minor: 3,
            mode: 0o20666,
        });
        assert_eq!(
            describe(&e),
            "criou dispositivo de caractere /dev/null (1, 3) com permissões 0666"
        );
        let e = event(EventBody::FsWrite {
            path: "/proc/1/uid_map".into(),
            value: "0 1000 1\n".into(),
        });
        assert_eq!(describe(&e), r#"escreveu "0 1000 1\n" em /proc/1/uid_map"#);
        let e = event(EventBody::ProcessExec {
            path: "/bin/sh".into(),
            argv: vec!["sh".into(), "-c".into(), "echo 'oi'".into()],
            env_keys: vec!["PATH".into()],
        });
        assert_eq!(
            describe(&e),
            r#"executou /bin/sh: sh -c 'echo '\''oi'\''' (1 variável de ambiente: PATH)"#
        );
        let e = event(EventBody::LayerUnpack {
            diff_id: "sha256:3f5a1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
                .into(),
            path: "/var/lib/casulo/layers/3f5a1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8".into(),
            bytes: 2_195_456,
            files: 1234,
            duration_us: 35_120,
        });
        assert_eq!(
            describe(&e),
            "descompactou a camada sha256:3f5a1b2c4d5e em …/layers/3f5a1b2c4d5e: 1.234 arquivos, \
             2,1 MiB de conteúdo, em 35,120 ms"
        );
        let e = event(EventBody::ProcessClone {
            child_pid: 4243,
            flags: vec![
                "CLONE_NEWPID".into(),
                "CLONE_NEWNS".into(),
                "SIGCHLD".into(),
            ],
        });
        assert_eq!(
            describe(&e),
            "clone() criou o processo 4243 em namespaces novos: pid, mnt"
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(time_text(37), "0,037 ms");
        assert_eq!(time_text(2_104_000), "2,104 s");
        assert_eq!(time_text(3_725_000_000), "3.725,000 s");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1.234.567");
        assert_eq!(text::bytes(512), "512 bytes");
        assert_eq!(text::bytes(1536), "1,5 KiB");
        assert_eq!(short_path("/proc"), "/proc");
        assert_eq!(
            short_path("/var/lib/casulo/containers/ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12/merged/proc"),
            "…/merged/proc"
        );
        assert_eq!(
            shell_words(&["a b".into(), "c".into(), "".into()]),
            "'a b' c ''"
        );
        let long = "x".repeat(100);
        assert!(quote_value(&long).ends_with("…\" (100 bytes)"));
    }

    #[test]
    fn every_sample_event_narrates() {
        for e in sample::sample_events() {
            let text = narrate(&e);
            assert_eq!(text.lines().count(), 2, "{text}");
            assert!(!describe(&e).is_empty());
            let failed = Event {
                outcome: Outcome::Error(Errno {
                    errno: 1,
                    name: "EPERM".into(),
                    message: "Operation not permitted".into(),
                }),
                ..e
            };
            assert!(
                describe(&failed).starts_with("não conseguiu "),
                "{}",
                describe(&failed)
            );
        }
    }

    #[test]
    fn header() {
        assert_eq!(
            narrate_header(&sample::sample_header()),
            "trace casulo-trace v1 · casulo 0.1.0 · kernel 6.1.0-28-amd64 · cgroups hybrid · \
             início 2025-11-26T12:00:00.000000Z\n\
             contêiner curioso_tucano (ab12cd34ef56) · imagem busybox:latest \
             (sha256:1c35c4412082) · comando: sh -c 'echo oi'"
        );
    }
}
