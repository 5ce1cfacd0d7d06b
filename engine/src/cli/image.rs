//! `casulo image …`: bootstrap, import, ls, load, save, fsck, push, pull.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{CliError, CliResult};
use crate::container::image_use;
use crate::image::{archive, bootstrap, digest, fsck, import, ImageSummary, Reference, Store};
use crate::state::StateDir;

#[derive(Debug, clap::Subcommand)]
pub enum ImageCmd {
    /// Cria a imagem busybox:latest a partir da busybox estática do host (sem internet).
    #[command(
        long_about = "Cria a imagem busybox:latest a partir da busybox estática do host, sem \
                      internet: uma camada com /bin/busybox, um link para cada programa \
                      (sh, ls, ...), /etc/passwd com root e aluno, e os diretórios básicos. \
                      A imagem é reprodutível: rodar de novo dá os mesmos digests."
    )]
    Bootstrap {
        /// Caminho da busybox estática (pacote Debian busybox-static).
        #[arg(long, value_name = "CAMINHO", default_value = bootstrap::DEFAULT_BUSYBOX)]
        busybox: PathBuf,
    },
    /// Importa um rootfs (.tar ou .tar.gz) como uma imagem de uma camada.
    Import {
        /// O arquivo tar do rootfs, comprimido com gzip ou não.
        #[arg(value_name = "ARQUIVO")]
        file: PathBuf,
        /// Nome da nova imagem, ex.: meu-rootfs:1.0 (sem tag, vale latest).
        #[arg(value_name = "NOME[:TAG]")]
        reference: String,
    },
    /// Lista as imagens.
    #[command(visible_alias = "list")]
    Ls {
        /// Formato da saída.
        #[arg(long, value_enum, default_value_t = LsFormat::Table)]
        format: LsFormat,
        /// Mostra só os IDs das imagens (12 dígitos).
        #[arg(short, long)]
        quiet: bool,
        /// Mostra também o digest do manifest: o nome da imagem num registry (push/pull).
        #[arg(long)]
        digests: bool,
    },
    /// Carrega imagens de um layout OCI (diretório ou .tar) ou de um docker-archive (`docker save`), verificando cada camada antes.
    Load {
        /// O diretório ou arquivo .tar (ou .tar.gz) a carregar.
        #[arg(short = 'i', long = "input", value_name = "ARQUIVO|DIR")]
        input: PathBuf,
        /// Não mostra a barra de progresso nem o resumo.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Salva imagens num arquivo .tar (layout OCI ou docker-archive) ou num diretório OCI.
    Save {
        /// Arquivo de saída (ou diretório, terminado em '/', para um layout OCI aberto).
        #[arg(short = 'o', long = "output", value_name = "ARQUIVO")]
        output: PathBuf,
        /// oci: layout OCI (skopeo, umoci, buildah); docker: o formato do `docker save`.
        #[arg(long, value_enum, default_value_t = SaveFormat::Oci)]
        format: SaveFormat,
        /// Não mostra a barra de progresso.
        #[arg(short, long)]
        quiet: bool,
        /// As imagens (NOME[:TAG]).
        #[arg(value_name = "IMAGEM", required = true)]
        images: Vec<String>,
    },
    /// Mostra a config, as camadas e os tamanhos de imagens (JSON).
    Inspect {
        /// As imagens (NOME[:TAG]).
        #[arg(value_name = "IMAGEM", required = true)]
        images: Vec<String>,
    },
    /// Mostra as camadas de uma imagem, da mais nova à mais antiga, com o passo que criou cada uma.
    History {
        /// A imagem (NOME[:TAG]).
        #[arg(value_name = "IMAGEM")]
        image: String,
        /// Formato da saída.
        #[arg(long, value_enum, default_value_t = LsFormat::Table)]
        format: LsFormat,
        /// Não corta os textos longos.
        #[arg(long)]
        no_trunc: bool,
    },
    /// Dá outro nome (tag) a uma imagem: a mesma imagem, dois nomes.
    Tag {
        /// A imagem que já existe (NOME[:TAG]).
        #[arg(value_name = "ORIGEM")]
        source: String,
        /// O novo nome (NOME[:TAG]; sem tag, vale latest).
        #[arg(value_name = "DESTINO")]
        target: String,
    },
    /// Remove tags; os blobs e camadas que nenhuma outra imagem usa são apagados.
    #[command(visible_alias = "rmi")]
    Rm {
        /// Remove mesmo se um contêiner guardado (casulo ps -a) usa a imagem.
        #[arg(short, long)]
        force: bool,
        /// Não mostra o que foi apagado.
        #[arg(short, long)]
        quiet: bool,
        /// As imagens (NOME[:TAG]).
        #[arg(value_name = "IMAGEM", required = true)]
        images: Vec<String>,
    },
    /// Apaga blobs e camadas desempacotadas que nenhuma imagem (nem contêiner) usa.
    Prune {
        /// Não mostra o resumo do que foi apagado.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Desempacota um blob de camada num diretório novo, verificando digest e diff_id
    /// (para o benchmark `cargo xtask bench unpack`).
    #[command(hide = true)]
    Unpack {
        #[arg(long, value_name = "ARQUIVO")]
        blob: PathBuf,
        #[arg(long)]
        digest: String,
        #[arg(long)]
        diff_id: String,
        #[arg(long, default_value = crate::image::oci::MEDIA_TYPE_LAYER_TAR)]
        media_type: String,
        #[arg(value_name = "DESTINO")]
        dest: PathBuf,
    },
    /// Envia uma imagem a um registry (o mesmo que `casulo push`).
    #[command(long_about = super::registry::PUSH_ABOUT)]
    Push(super::registry::PushArgs),
    /// Baixa uma imagem de um registry (o mesmo que `casulo pull`).
    #[command(long_about = super::registry::PULL_ABOUT)]
    Pull(super::registry::PullArgs),
    /// Verifica o store: digests de todos os blobs, imagens completas, camadas que não desempacotam, restos de escritas interrompidas.
    Fsck {
        /// Não lista os problemas nem o resumo (código de saída 0: tudo certo; 1:
        /// problemas, com uma linha de erro; 125: erro do casulo).
        #[arg(short, long)]
        quiet: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SaveFormat {
    /// Layout de imagem OCI.
    Oci,
    /// docker-archive, o formato do `docker save`.
    Docker,
}

/// A byte progress bar on stderr, only on a terminal and without --quiet.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(label: &str, quiet: bool) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, falta {eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        Progress { bar: Some(bar) }
    }

    pub fn update(&self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LsFormat {
    /// Uma tabela para ler.
    Table,
    /// Uma lista JSON, para programas.
    Json,
}

pub fn run(state: &StateDir, cmd: ImageCmd) -> CliResult {
    match cmd {
        ImageCmd::Bootstrap { busybox } => return bootstrap(state, &busybox),
        ImageCmd::Import { file, reference } => {
            let image = import::rootfs_tar(state, &file, &reference)?;
            println!(
                "imagem {} importada de {}: {}",
                image.reference,
                file.display(),
                image.id
            );
        }
        ImageCmd::Ls {
            format,
            quiet,
            digests,
        } => {
            let rows = Store::open(state)?.list()?;
            let text = render_ls(&rows, format, quiet, SystemTime::now());
            print!(
                "{}",
                if digests {
                    with_digests(&rows, format, quiet, text)
                } else {
                    text
                }
            );
        }
        ImageCmd::Load { input, quiet } => return load(state, &input, quiet),
        ImageCmd::Save {
            output,
            format,
            quiet,
            images,
        } => return save(state, &output, format, quiet, &images),
        ImageCmd::Unpack {
            blob,
            digest,
            diff_id,
            media_type,
            dest,
        } => return unpack(&blob, digest, diff_id, media_type, &dest),
        ImageCmd::Inspect { images } => {
            let store = Store::open(state)?;
            let mut out = Vec::new();
            for reference in &images {
                out.push(crate::image::inspect::inspect(&store, reference)?);
            }
            println!("{}", serde_json::to_string_pretty(&out).expect("json"));
        }
        ImageCmd::History {
            image,
            format,
            no_trunc,
        } => {
            let store = Store::open(state)?;
            print!(
                "{}",
                history(&store, &image, format, no_trunc, SystemTime::now())?
            );
        }
        ImageCmd::Tag { source, target } => {
            let store = Store::open(state)?;
            // The source may be untagged and swept meanwhile: gc waits.
            let _writing = store.writing()?;
            let desc = store.descriptor(&source)?;
            let target = Reference::parse(&target)?;
            store.tag(&target, &desc)?;
        }
        ImageCmd::Rm {
            force,
            quiet,
            images,
        } => return rm(state, force, quiet, &images),
        ImageCmd::Prune { quiet } => {
            let store = Store::open(state)?;
            let (blobs, layers, bytes) = image_use::sweep(state, &store)?;
            if !quiet {
                println!(
                    "apagados: {blobs} blobs ({}), {layers} camadas desempacotadas que nada usava",
                    casulo_trace::text::bytes(bytes)
                );
            }
        }
        ImageCmd::Push(args) => return super::registry::push_cmd(state, args),
        ImageCmd::Pull(args) => return super::registry::pull_cmd(state, args),
        ImageCmd::Fsck { quiet } => return fsck_cmd(state, quiet),
    }
    Ok(0)
}

/// `casulo image bootstrap`: busybox:latest from the host's static busybox.
fn bootstrap(state: &StateDir, busybox: &Path) -> CliResult {
    let before = Store::open(state)?
        .resolve(bootstrap::REFERENCE)
        .ok()
        .map(|image| image.manifest_digest);
    let image = bootstrap::busybox(state, busybox)?;
    if before.as_deref() == Some(image.manifest_digest.as_str()) {
        println!(
            "imagem {} já existia, idêntica (nada mudou): {}",
            image.reference, image.id
        );
    } else {
        println!("imagem {} criada: {}", image.reference, image.id);
    }
    Ok(0)
}

/// `casulo image load`: an OCI layout or docker-archive tar into the store.
fn load(state: &StateDir, input: &Path, quiet: bool) -> CliResult {
    let store = Store::open(state)?;
    let progress = Progress::new("carregando", quiet);
    let report = archive::load(&store, input, &mut |d, t| progress.update(d, t))?;
    drop(progress);
    if !quiet {
        for (reference, id) in &report.tagged {
            println!("imagem carregada: {reference} ({})", digest::short_id(id));
        }
        for manifest in &report.untagged {
            println!("manifest sem nome carregado (sem tag): {manifest}");
        }
    }
    Ok(0)
}

/// `casulo image save`: images to an OCI layout or docker-archive tar.
fn save(
    state: &StateDir,
    output: &Path,
    format: SaveFormat,
    quiet: bool,
    images: &[String],
) -> CliResult {
    let store = Store::open(state)?;
    let format = match format {
        SaveFormat::Oci => archive::Format::Oci,
        SaveFormat::Docker => archive::Format::Docker,
    };
    let progress = Progress::new("salvando", quiet);
    archive::save(&store, images, format, output, &mut |d, t| {
        progress.update(d, t)
    })?;
    Ok(0)
}

/// `casulo image unpack` (the benchmark's and tests' door to the extractor).
fn unpack(
    blob: &Path,
    digest: String,
    diff_id: String,
    media_type: String,
    dest: &Path,
) -> CliResult {
    let size = std::fs::metadata(blob)
        .map_err(|e| crate::image::ImageError::io(blob, e))?
        .len();
    let layer = crate::image::Layer {
        digest,
        diff_id,
        media_type,
        size,
    };
    let stats =
        crate::image::layer::unpack(blob, &layer, dest, crate::image::layer::Limits::from_env())?;
    println!(
        "{}",
        serde_json::json!({
            "files": stats.files,
            "bytes": stats.bytes,
            "dirs": stats.dirs,
            "duration_us": stats.duration_us,
        })
    );
    Ok(0)
}

/// `casulo image rm`: untag (refused while a container uses it, unless
/// `--force`), then sweep what nothing reaches.
fn rm(state: &StateDir, force: bool, quiet: bool, images: &[String]) -> CliResult {
    let store = Store::open(state)?;
    for reference in images {
        let removed = match image_use::untag(state, &store, reference, force) {
            Ok(removed) => removed,
            Err(image_use::UntagError::InUse {
                reference,
                containers,
            }) => {
                return Err(CliError::msg(
                    1,
                    format!(
                        "a imagem {reference} é usada pelos contêineres {} (remova-os \
                         com `casulo rm` ou use --force)",
                        containers.join(", ")
                    ),
                ))
            }
            Err(image_use::UntagError::Image(e)) => return Err(e.into()),
        };
        if !quiet {
            println!("tag removida: {}", removed.untagged);
        }
    }
    let (blobs, layers, bytes) = image_use::sweep(state, &store)?;
    if !quiet {
        println!(
            "apagados: {blobs} blobs ({}), {layers} camadas desempacotadas",
            casulo_trace::text::bytes(bytes)
        );
    }
    Ok(0)
}

/// `casulo image fsck`: every blob and unpacked layer checked.
fn fsck_cmd(state: &StateDir, quiet: bool) -> CliResult {
    let report = fsck::fsck(&Store::open(state)?)?;
    if !quiet {
        for problem in &report.problems {
            println!("problema: {problem}");
        }
        println!(
            "{} blobs ({} bytes) verificados, {} imagens, {} camadas desempacotadas: {}",
            report.blobs,
            report.bytes,
            report.images,
            report.layers,
            if report.is_clean() {
                "tudo certo".to_string()
            } else {
                format!("{} problema(s)", report.problems.len())
            }
        );
    }
    if !report.is_clean() {
        return Err(CliError::msg(1, "o store de imagens tem problemas"));
    }
    Ok(0)
}

/// `casulo image history`: the config's history, newest first; each step
/// that made a layer shows that layer's size.
fn history(
    store: &Store,
    reference: &str,
    format: LsFormat,
    no_trunc: bool,
    now: SystemTime,
) -> Result<String, CliError> {
    let rows = crate::image::inspect::history(store, reference)?;
    if format == LsFormat::Json {
        let list: Vec<serde_json::Value> = rows
            .iter()
            .map(|(h, l)| {
                serde_json::json!({
                    "created": h.created,
                    "created_by": h.created_by,
                    "comment": h.comment,
                    "empty_layer": h.empty_layer,
                    "layer": l.as_ref().map(|l| &l.digest),
                    "diff_id": l.as_ref().map(|l| &l.diff_id),
                    "size": l.as_ref().map_or(0, |l| l.size),
                })
            })
            .collect();
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&list).expect("json")
        ));
    }
    // A layer is named by its diff_id (the digest of its uncompressed tar),
    // as in `build`, the trace and `layers/<diff_id>`; its size is the
    // compressed blob's (both digests and the size: `image inspect`).
    let mut out = format!(
        "{:<21}{:<19}{:<48}{:<12}COMENTÁRIO\n",
        "CAMADA (diff_id)", "CRIADA", "CRIADA POR", "COMPRIMIDA"
    );
    for (h, l) in &rows {
        let layer = l.as_ref().map_or("<vazia>".to_string(), |l| {
            format!("sha256:{}", digest::short_id(&l.diff_id))
        });
        let created = h
            .created
            .as_deref()
            .map_or("?".to_string(), |c| ago(c, now));
        let by = h.created_by.as_deref().unwrap_or("");
        let size = l.as_ref().map_or(0, |l| l.size);
        let line = format!(
            "{:<21}{:<19}{:<48}{:<12}{}",
            layer,
            created,
            created_by_cell(by, 45, no_trunc),
            casulo_trace::text::bytes(size),
            h.comment.as_deref().unwrap_or("")
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    Ok(out)
}

/// The output of `casulo image ls` (pure, so it can be tested).
/// The "CRIADA POR" cell: one line per step, so the table stays a table —
/// a here-document's script shows its first line and `…` (tabs as spaces,
/// as docker), cut at `width`; `--no-trunc` shows the whole text, as docker.
fn created_by_cell(text: &str, width: usize, no_trunc: bool) -> String {
    if no_trunc {
        return text.to_string();
    }
    let first = text.lines().next().unwrap_or("").replace('\t', " ");
    if !text.contains('\n') && first.chars().count() <= width {
        return first;
    }
    format!("{}…", first.chars().take(width - 1).collect::<String>())
}

fn render_ls(rows: &[ImageSummary], format: LsFormat, quiet: bool, now: SystemTime) -> String {
    if quiet {
        let mut seen = Vec::new();
        for row in rows {
            let id = digest::short_id(&row.id);
            if !seen.contains(&id) {
                seen.push(id);
            }
        }
        return seen.iter().map(|id| format!("{id}\n")).collect();
    }
    match format {
        LsFormat::Json => {
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|row| {
                    let (repository, tag) = split_reference(&row.reference);
                    serde_json::json!({
                        "reference": row.reference,
                        "repository": repository,
                        "tag": tag,
                        "id": row.id,
                        "created": row.created,
                        "size": row.size,
                    })
                })
                .collect();
            let mut out = serde_json::to_string_pretty(&list).expect("json");
            out.push('\n');
            out
        }
        LsFormat::Table => {
            let mut table = vec![[
                "REPOSITÓRIO".to_string(),
                "TAG".to_string(),
                "ID".to_string(),
                "CRIADA".to_string(),
                "COMPRIMIDA".to_string(),
            ]];
            for row in rows {
                let (repository, tag) = split_reference(&row.reference);
                table.push([
                    repository,
                    tag,
                    digest::short_id(&row.id).to_string(),
                    ago(&row.created, now),
                    casulo_trace::text::bytes(row.size),
                ]);
            }
            let mut widths = [0usize; 5];
            for line in &table {
                for (w, cell) in widths.iter_mut().zip(line) {
                    *w = (*w).max(cell.chars().count());
                }
            }
            let mut out = String::new();
            for line in &table {
                let mut text = String::new();
                for (i, cell) in line.iter().enumerate() {
                    text.push_str(cell);
                    if i + 1 < line.len() {
                        let pad = widths[i] - cell.chars().count() + 3;
                        text.extend(std::iter::repeat_n(' ', pad));
                    }
                }
                out.push_str(text.trim_end());
                out.push('\n');
            }
            out
        }
    }
}

/// `image ls --digests`: a DIGEST column after TAG (table), a `digest`
/// field (JSON); `-q` is unchanged.
fn with_digests(rows: &[ImageSummary], format: LsFormat, quiet: bool, text: String) -> String {
    if quiet {
        return text;
    }
    match format {
        LsFormat::Json => {
            let mut list: Vec<serde_json::Value> =
                serde_json::from_str(&text).expect("render_ls writes JSON");
            for (item, row) in list.iter_mut().zip(rows) {
                item["digest"] = row.manifest_digest.clone().into();
            }
            let mut out = serde_json::to_string_pretty(&list).expect("json");
            out.push('\n');
            out
        }
        LsFormat::Table => {
            // The ID column starts where the header says; the digest goes
            // just before it, padded to its full width.
            let mut lines = text.lines();
            let header = lines.next().unwrap_or_default();
            let at = header.find("ID").unwrap_or(header.len());
            let width = "sha256:".len() + 64 + 3;
            let mut out = format!("{}{:width$}{}\n", &header[..at], "DIGEST", &header[at..]);
            for (line, row) in lines.zip(rows) {
                let cut = line
                    .char_indices()
                    .nth(header[..at].chars().count())
                    .map_or(line.len(), |(i, _)| i);
                out.push_str(&format!(
                    "{}{:width$}{}\n",
                    &line[..cut],
                    row.manifest_digest,
                    &line[cut..]
                ));
            }
            out
        }
    }
}

/// `aluno/app:v1` → (`aluno/app`, `v1`).
fn split_reference(reference: &str) -> (String, String) {
    match Reference::parse(reference) {
        Ok(r) => (r.name, r.tag),
        Err(_) => (reference.to_string(), "<nenhuma>".to_string()),
    }
}

/// "há 3 dias", from an RFC 3339 time.
fn ago(created: &str, now: SystemTime) -> String {
    let Ok(then) = humantime::parse_rfc3339_weak(created) else {
        return if created.is_empty() {
            "?".to_string()
        } else {
            created.to_string()
        };
    };
    // Reproducible images (the bootstrap's busybox) carry the epoch, not
    // a real date: "há 56 anos" would only confuse.
    if then == SystemTime::UNIX_EPOCH {
        return "data fixa (1970)".to_string();
    }
    let Ok(elapsed) = now.duration_since(then) else {
        return "agora".to_string();
    };
    let secs = elapsed.as_secs();
    let plural = |n: u64, one: &str, many: &str| {
        if n == 1 {
            format!("há 1 {one}")
        } else {
            format!("há {n} {many}")
        }
    };
    const MIN: u64 = 60;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;
    match secs {
        0..=59 => "há poucos segundos".to_string(),
        s if s < HOUR => plural(s / MIN, "minuto", "minutos"),
        s if s < DAY => plural(s / HOUR, "hora", "horas"),
        s if s < 14 * DAY => plural(s / DAY, "dia", "dias"),
        s if s < 60 * DAY => plural(s / (7 * DAY), "semana", "semanas"),
        s if s < 365 * DAY => plural(s / (30 * DAY), "mês", "meses"),
        s => plural(s / (365 * DAY), "ano", "anos"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn row(reference: &str, id_hex: char, created: &str, size: u64) -> ImageSummary {
        ImageSummary {
            reference: reference.into(),
            id: format!("sha256:{}", id_hex.to_string().repeat(64)),
            created: created.into(),
            size,
            manifest_digest: format!("sha256:{}", "d".repeat(64)),
        }
    }

    #[test]
    fn history_shows_one_line_per_step() {
        let script = "RUN <<EOF\napk add curl\nEOF";
        assert_eq!(created_by_cell(script, 45, false), "RUN <<EOF…");
        assert_eq!(created_by_cell(script, 45, true), script);
        assert_eq!(created_by_cell("CMD\t[\"sh\"]", 45, false), "CMD [\"sh\"]");
        let long = format!("RUN {}", "x".repeat(60));
        let cell = created_by_cell(&long, 45, false);
        assert_eq!(cell.chars().count(), 45);
        assert!(cell.ends_with('…'));
    }

    #[test]
    fn image_cli_ls_digests_column_and_field() {
        let now = humantime::parse_rfc3339("2024-01-04T00:00:00Z").unwrap();
        let rows = vec![row(
            "localhost:5000/aluno/app:v1",
            'a',
            "2024-01-01T00:00:00Z",
            10,
        )];
        let table = render_ls(&rows, LsFormat::Table, false, now);
        let with = with_digests(&rows, LsFormat::Table, false, table);
        let lines: Vec<&str> = with.lines().collect();
        assert!(lines[0].contains("TAG   DIGEST"), "{with}");
        let digest = format!("sha256:{}", "d".repeat(64));
        assert!(
            lines[1].contains(&format!("v1    {digest}   aaaaaaaaaaaa")),
            "{with}"
        );
        let json = render_ls(&rows, LsFormat::Json, false, now);
        let list: serde_json::Value =
            serde_json::from_str(&with_digests(&rows, LsFormat::Json, false, json)).unwrap();
        assert_eq!(list[0]["digest"], digest.as_str());
    }

    #[test]
    fn image_cli_ls_table_json_quiet() {
        let now = humantime::parse_rfc3339("2024-01-04T00:00:00Z").unwrap();
        let rows = vec![
            row("aluno/app:v1", 'a', "2024-01-01T00:00:00Z", 1_982_256),
            row("busybox:latest", 'b', "1970-01-01T00:00:00Z", 999),
            row("outra:latest", 'b', "", 12_345),
        ];
        let table = render_ls(&rows, LsFormat::Table, false, now);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "REPOSITÓRIO   TAG      ID             CRIADA             COMPRIMIDA"
        );
        assert_eq!(
            lines[1],
            "aluno/app     v1       aaaaaaaaaaaa   há 3 dias          1,9 MiB"
        );
        assert_eq!(
            lines[2],
            "busybox       latest   bbbbbbbbbbbb   data fixa (1970)   999 bytes"
        );
        assert_eq!(
            lines[3],
            "outra         latest   bbbbbbbbbbbb   ?                  12,1 KiB"
        );

        let quiet = render_ls(&rows, LsFormat::Table, true, now);
        assert_eq!(quiet, "aaaaaaaaaaaa\nbbbbbbbbbbbb\n");

        let json: serde_json::Value =
            serde_json::from_str(&render_ls(&rows, LsFormat::Json, false, now)).unwrap();
        assert_eq!(json[0]["repository"], "aluno/app");
        assert_eq!(json[0]["tag"], "v1");
        assert_eq!(json[0]["size"], 1_982_256);
        assert_eq!(json[1]["reference"], "busybox:latest");

        assert_eq!(
            render_ls(&[], LsFormat::Table, false, now).lines().count(),
            1
        );
    }

    #[test]
    fn image_cli_human_units() {
        assert_eq!(casulo_trace::text::bytes(0), "0 bytes");
        assert_eq!(casulo_trace::text::bytes(2560), "2,5 KiB");
        assert_eq!(casulo_trace::text::bytes(123_456_789), "117,7 MiB");
        let now = humantime::parse_rfc3339("2024-01-01T00:00:00Z").unwrap();
        let at = |d: u64| humantime::format_rfc3339(now - Duration::from_secs(d)).to_string();
        assert_eq!(ago(&at(5), now), "há poucos segundos");
        assert_eq!(ago(&at(60), now), "há 1 minuto");
        assert_eq!(ago(&at(7200), now), "há 2 horas");
        assert_eq!(ago(&at(20 * 86400), now), "há 2 semanas");
        assert_eq!(ago(&at(90 * 86400), now), "há 3 meses");
        assert_eq!(ago("ontem", now), "ontem");
    }
}
