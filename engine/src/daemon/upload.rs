//! The bodies that are tar archives (`POST /images/load`, `POST /build`):
//! they may be far larger than the 1 MiB every other request is held to,
//! so they go to a file in the state dir's `tmp/` as they arrive, never
//! whole into memory, and the file is removed when the request is done.

use std::io::Write;
use std::path::{Path, PathBuf};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use super::http::ApiError;
use super::Ctx;

/// The largest tar body taken: far above a course's images and contexts,
/// low enough that a runaway client cannot fill the disk unnoticed.
pub const MAX_TAR_BODY: u64 = 8 << 30;

/// Whether the request's body is a tar archive read into a file.
pub fn takes_tar(method: &Method, path: &str, query: &super::http::Query) -> bool {
    if method != Method::POST {
        return false;
    }
    // With or without the `/v1.43` prefix.
    let path = match path.strip_prefix("/v") {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => {
            rest.find('/').map_or("", |i| &rest[i..])
        }
        _ => path,
    };
    match path.trim_end_matches('/') {
        "/images/load" | "/build" => true,
        // `docker import -`: the rootfs tar is the body (`fromSrc=-`).
        "/images/create" => query.get("fromSrc") == Some("-"),
        _ => false,
    }
}

/// A received body, removed on drop.
#[derive(Debug)]
pub struct Upload(PathBuf);

impl Upload {
    /// A file of ours at `path`, removed when the guard goes.
    pub fn new(path: PathBuf) -> Upload {
        Upload(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Streams the body of `req` into a new file of `tmp/` (413 beyond
/// [`MAX_TAR_BODY`], and nothing is left).
pub async fn receive(ctx: &Ctx, req: Request<Incoming>) -> Result<Upload, ApiError> {
    let too_big = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "o arquivo tar enviado passa de {} GiB, o máximo que o casulo daemon aceita",
                MAX_TAR_BODY >> 30
            ),
        )
    };
    let announced = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_TAR_BODY) {
        return Err(too_big());
    }
    let tmp = ctx.state.tmp();
    std::fs::create_dir_all(&tmp)?;
    let path = req.uri().path();
    let kind = if path.ends_with("/build") {
        "build"
    } else if path.ends_with("/images/create") {
        "import"
    } else {
        "load"
    };
    let upload = Upload(tmp.join(format!(
        "daemon-upload-{kind}-{}-{}.tar",
        std::process::id(),
        crate::container::new_id().get(..12).unwrap_or("0")
    )));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(upload.path())?;
    let mut body = req.into_body();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::bad_request(format!("não consegui ler o corpo do pedido: {e}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len() as u64;
        if total > MAX_TAR_BODY {
            return Err(too_big());
        }
        // A local file: the write is short, but it blocks.
        tokio::task::block_in_place(|| file.write_all(&data))?;
    }
    tokio::task::block_in_place(|| file.flush())?;
    Ok(upload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_only_load_build_and_import_take_a_tar() {
        let q = crate::daemon::http::Query::parse(None);
        let import = crate::daemon::http::Query::parse(Some("fromSrc=-&repo=x"));
        assert!(takes_tar(&Method::POST, "/v1.43/images/create", &import));
        assert!(!takes_tar(&Method::POST, "/v1.43/images/create", &q));
        assert!(takes_tar(&Method::POST, "/v1.43/images/load", &q));
        assert!(takes_tar(&Method::POST, "/build", &q));
        assert!(!takes_tar(&Method::GET, "/build", &q));
        assert!(!takes_tar(&Method::POST, "/containers/create", &q));
        assert!(!takes_tar(&Method::POST, "/images/a/tag", &q));
        assert!(!takes_tar(&Method::POST, "/images/x/build/push", &q));
    }
}
