//! The `mount.*` kinds, and what is created in the new root: devices, symlinks, written files.

use super::words::{plural, say, short_path};
use crate::{DeviceType, Event, EventBody, Propagation};

/// The narration of this area's kinds; `None` for other kinds.
pub(super) fn describe(event: &Event) -> Option<String> {
    mounts(event)
        .or_else(|| tree(event))
        .or_else(|| files(event))
}

/// Mounting: idmapped mounts, the overlay, the other file systems.
fn mounts(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
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
        _ => return None,
    })
}

/// Reshaping the mount tree: propagation, `pivot_root`, unmounts.
fn tree(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
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
        _ => return None,
    })
}

/// Files created in the new root: device nodes, symlinks, written files.
fn files(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
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
        _ => return None,
    })
}

/// A value written into a kernel file, quoted; long values are cut.
pub(super) fn quote_value(v: &str) -> String {
    const MAX: usize = 60;
    let q = format!("{v:?}");
    if q.chars().count() <= MAX {
        q
    } else {
        let cut: String = q.chars().take(MAX - 2).collect();
        format!("{cut}…\" ({} bytes)", v.len())
    }
}
