//! The `build.*` kinds and `image.commit`: images made from a Dockerfile or a container.

use super::words::{plural, say, short_path};
use crate::text::{self, short_digest};
use crate::{Event, EventBody};

/// The narration of this area's kinds; `None` for other kinds.
pub(super) fn describe(event: &Event) -> Option<String> {
    steps(event).or_else(|| results(event))
}

/// The build as it runs: start, base image, each step, downloads.
fn steps(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
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
                format!(
                    "passo {step}/{total} (linha {line}{within}): {instruction} {args}{source}"
                ),
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
        _ => return None,
    })
}

/// What a step or a build leaves: cache hits, layers, the image.
fn results(event: &Event) -> Option<String> {
    let ok = event.outcome.is_ok();
    // Past tense when it worked, "não conseguiu" + infinitive when it failed.
    let say = |done: String, todo: String| say(ok, done, todo);
    Some(match &event.body {
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
        _ => return None,
    })
}

/// `" nome:tag"`, or nothing for an image without a tag.
fn tag_suffix(tag: &str) -> String {
    if tag.is_empty() {
        String::new()
    } else {
        format!(" {tag}")
    }
}
