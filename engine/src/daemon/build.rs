//! `docker build` (`POST /build`, docker's classic builder protocol): the
//! context arrives as a tar, is checked and extracted into `tmp/`, and is
//! built by a `casulo build` child process — the same command a student
//! types, so its lines (`Passo 1/3 : FROM busybox`, the RUN output, the
//! trace's path) are what the docker CLI shows, each in docker's
//! `{"stream": …}`; then `{"aux":{"ID":…}}`, or `{"errorDetail":…}`.
//!
//! Why a child and not a call: a RUN step waits for its container with
//! `sigwait` on SIGINT/SIGTERM/SIGCHLD (see [`crate::container::wait`]);
//! inside the daemon that thread would take the daemon's own SIGTERM and
//! its other children's SIGCHLDs. (`docker exec` is a child for a
//! like reason.)
//!
//! The context is untrusted: besides the extractor's rules for layers
//! (nothing outside the directory, links checked, sizes capped), it may
//! hold no device nodes, fifos or whiteouts — a context is plain files.

use std::io::{BufRead, BufReader, Read};
use std::path::{Component, Path};
use std::process::{Command, Stdio};

use hyper::body::Bytes;
use hyper::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::http::{ApiError, Query, Reply};
use super::upload::Upload;
use super::Ctx;
use crate::build::step_copy::Extracted;
use crate::image::extract;
use crate::image::layer::{Compression, Decoder, Limits};

/// Options of docker's classic builder that change nothing here (or are
/// what casulo does anyway); any other one given is refused by name.
const HARMLESS: &[&str] = &[
    "t",
    "dockerfile",
    "buildargs",
    "target",
    "nocache",
    "labels",
    "q",
    "rm",
    "forcerm",
    "version",
    "session",
    "buildid",
    "cachefrom",
    "pull",
];

/// Defaults the CLI sends for options casulo does not have.
fn is_default(value: &str) -> bool {
    matches!(value, "" | "0" | "false" | "null" | "{}" | "[]" | "default")
}

pub fn build(ctx: &Ctx, query: &Query, tar: Upload) -> Result<Reply, ApiError> {
    if let Some(key) = query
        .keys()
        .into_iter()
        .find(|k| !HARMLESS.contains(&k.as_str()) && !query.get(k).is_none_or(is_default))
    {
        return Err(ApiError::not_implemented(&format!(
            "a opção {key} de POST /build"
        )));
    }
    if query.get("version") == Some("2") {
        return Err(ApiError::not_implemented(
            "o BuildKit (version=2 em POST /build): use DOCKER_BUILDKIT=0 docker build …",
        ));
    }
    let mut args: Vec<String> = vec!["build".into()];
    for tag in query.all("t") {
        args.push("-t".into());
        args.push(super::images::familiar(tag).to_string());
    }
    let dockerfile = query.get("dockerfile").filter(|d| !d.is_empty());
    if let Some(df) = dockerfile {
        // A name inside the context: read from our extracted copy only.
        let p = Path::new(df);
        if !p
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(ApiError::bad_request(format!(
                "dockerfile={df:?}: o Dockerfile precisa estar dentro do contexto"
            )));
        }
    }
    for (key, value) in json_map(query, "buildargs")? {
        // `null`: "from the environment" — the daemon's is not the client's.
        if let Some(v) = value.as_str() {
            args.push("--build-arg".into());
            args.push(format!("{key}={v}"));
        }
    }
    for (key, value) in json_map(query, "labels")? {
        args.push("--label".into());
        args.push(format!("{key}={}", value.as_str().unwrap_or_default()));
    }
    if let Some(target) = query.get("target").filter(|t| !t.is_empty()) {
        args.push("--target".into());
        args.push(target.into());
    }
    if query.flag("nocache") {
        args.push("--no-cache".into());
    }
    let context = Extracted::fresh(&ctx.state, "daemon-build")?;
    let dir = context.0.join("contexto");
    if let Some(dockerfile) = plain_dockerfile(tar.path())? {
        // `docker build - < Dockerfile`: no context, only the Dockerfile.
        std::fs::create_dir(&dir)?;
        std::fs::write(dir.join("Dockerfile"), dockerfile)?;
    } else {
        complete_tar(tar.path())?;
        check_context(tar.path())?;
        extract::extract_file(tar.path(), &dir, Limits::from_env(), "contexto do build").map_err(
            |e| ApiError::bad_request(format!("contexto recusado: {}", super::http::chain(&e))),
        )?;
    }
    drop(tar);
    if let Some(df) = dockerfile.filter(|d| Path::new(d) != Path::new("Dockerfile")) {
        args.push("-f".into());
        args.push(dir.join(df).display().to_string());
    }
    let iid = context.0.join("iid");
    args.push("--iidfile".into());
    args.push(iid.display().to_string());
    args.push(dir.display().to_string());
    let (reader, writer) = std::io::pipe()?;
    let child = Command::new("/proc/self/exe")
        .arg("--root")
        .arg(ctx.state.root())
        .args(&args)
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .spawn()
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("não consegui iniciar o casulo build: {e}"),
            )
        })?;
    let quiet = query.flag("q");
    // Our temp directory means nothing to the student: `Dockerfile:2: …`.
    let hide = format!("{}/", dir.display());
    Ok(Reply::Stream {
        length: None,
        content_type: "application/json",
        producer: Box::new(move |tx| {
            let _context = context;
            relay(child, reader, (&iid, &hide), quiet, &tx);
        }),
    })
}

/// The child's lines to the client; the error it ends with (`casulo: erro:`
/// and its causes) becomes docker's `errorDetail`.
fn relay(
    mut child: std::process::Child,
    reader: std::io::PipeReader,
    (iid, hide): (&Path, &str),
    quiet: bool,
    tx: &mpsc::Sender<Bytes>,
) {
    let send = |v: Value| tx.blocking_send(Bytes::from(format!("{v}\n"))).is_ok();
    let mut error: Vec<String> = Vec::new();
    let mut lines = BufReader::new(reader);
    let mut line = Vec::new();
    let mut gone = false;
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line).replace(hide, "");
        if text.starts_with("casulo: erro:") || !error.is_empty() {
            error.push(text.trim_end().to_string());
            continue;
        }
        if !quiet && !gone && !send(json!({ "stream": text })) {
            // The client left: the build goes on to its end (a half-made
            // build is worse than a finished one nobody reads).
            gone = true;
        }
    }
    let status = child.wait().ok().and_then(|s| s.code()).unwrap_or(1);
    let id = std::fs::read_to_string(iid).unwrap_or_default();
    if status == 0 && !id.trim().is_empty() {
        let id = id.trim();
        send(json!({ "aux": { "ID": id } }));
        if quiet {
            // What `docker build -q` prints: the only stream it gets.
            send(json!({ "stream": format!("{id}\n") }));
        } else {
            let short = id.trim_start_matches("sha256:").get(..12).unwrap_or(id);
            send(json!({ "stream": format!("Successfully built {short}\n") }));
        }
        return;
    }
    let message = if error.is_empty() {
        format!("o casulo build terminou com código {status}")
    } else {
        error
            .join("; ")
            .trim_start_matches("casulo: erro: ")
            .replace(";   causa: ", ": ")
    };
    send(json!({
        "errorDetail": { "message": message, "code": status },
        "error": message,
    }));
}

/// A JSON object given as a query parameter (`buildargs`, `labels`).
fn json_map(query: &Query, key: &str) -> Result<serde_json::Map<String, Value>, ApiError> {
    match query.get(key).filter(|v| !v.is_empty() && *v != "null") {
        None => Ok(Default::default()),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(ApiError::bad_request(format!(
                "{key} precisa ser um objeto JSON (recebi {text:?})"
            ))),
        },
    }
}

/// The body, when it is a Dockerfile and not a tar (`docker build -`):
/// small UTF-8 text, neither gzip nor `ustar`.
fn plain_dockerfile(path: &Path) -> Result<Option<Vec<u8>>, ApiError> {
    let size = std::fs::metadata(path)?.len();
    if size > 1024 * 1024 {
        return Ok(None);
    }
    let bytes = std::fs::read(path)?;
    let tar = bytes.starts_with(&[0x1f, 0x8b])
        || bytes.get(257..262) == Some(b"ustar".as_slice())
        || bytes.iter().all(|&b| b == 0);
    Ok((!tar && std::str::from_utf8(&bytes).is_ok()).then_some(bytes))
}

/// The docker CLI (28), when `-f` names a Dockerfile outside the context,
/// rewrites the archive to add it and a `.dockerignore`, and sends it cut
/// right after the last file's bytes: no padding to 512, no end-of-archive
/// blocks. Zeros are added (to a plain tar; harmless to a whole one, whose
/// reader stops at the first end marker).
fn complete_tar(path: &Path) -> Result<(), ApiError> {
    use std::io::Write;
    let mut head = [0u8; 2];
    let n = std::fs::File::open(path)?.read(&mut head)?;
    if head[..n].starts_with(&[0x1f, 0x8b]) {
        return Ok(());
    }
    let len = std::fs::metadata(path)?.len();
    let pad = (512 - len % 512) % 512 + 1024;
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(&vec![0u8; pad as usize])?;
    Ok(())
}

/// Refuses a context with device nodes, fifos or whiteouts (read once,
/// before anything is written).
fn check_context(tar: &Path) -> Result<(), ApiError> {
    let bad = |why: String| ApiError::bad_request(format!("contexto recusado: {why}"));
    let mut head = [0u8; 8];
    let n = std::fs::File::open(tar)?.read(&mut head)?;
    let compression = Compression::sniff(&head[..n]).map_err(bad)?;
    let file = std::fs::File::open(tar)?;
    let mut archive = tar::Archive::new(Decoder::new(BufReader::new(file), compression));
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("não é um tar: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| bad(format!("tar quebrado: {e}")))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        use tar::EntryType::*;
        let kind = entry.header().entry_type();
        if matches!(kind, Char | Block | Fifo) {
            return Err(bad(format!(
                "{name}: um contexto de build não pode ter dispositivos nem fifos"
            )));
        }
        let base = name.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        if base.starts_with(".wh.") {
            return Err(bad(format!(
                "{name}: nomes .wh.* marcam remoções em camadas, não cabem num contexto"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_build_defaults_are_harmless() {
        for v in ["", "0", "false", "null", "{}", "[]", "default"] {
            assert!(is_default(v), "{v}");
        }
        assert!(!is_default("1"));
        assert!(!is_default("host"));
    }
}
