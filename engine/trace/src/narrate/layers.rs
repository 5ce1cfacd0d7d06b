//! The `layer.*` kinds and volumes: what the container sees as its files.

use super::time_text;
use super::words::{plural, say, short_path};
use crate::text::{self, short_digest};
use crate::{Event, EventBody};

/// The narration of this area's kinds; `None` for other kinds.
pub(super) fn describe(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
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
        _ => return None,
    })
}
