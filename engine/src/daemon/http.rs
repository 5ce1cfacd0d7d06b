//! The HTTP side of the daemon: what a handler answers ([`Reply`]), the
//! errors docker's client understands (`{"message": "…"}` with a status
//! code), the request's query string, and a body fed by a thread.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Frame};
use hyper::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::container::RunError;
use crate::image::ImageError;

/// The body of every response.
pub type Body = BoxBody<Bytes, Infallible>;

/// The API version the daemon speaks (docker 24's): the docker CLI, newer,
/// negotiates down to it after `/_ping`.
pub const API_VERSION: &str = "1.43";
/// The oldest version a client may ask for (docker's own minimum).
pub const MIN_API_VERSION: &str = "1.24";
/// The largest request body read into memory (a `create` is a few KiB);
/// the tar bodies of `load` and `build` go to a file instead
/// ([`super::upload`]).
pub const MAX_BODY: usize = 1024 * 1024;

/// docker's media types for a container's output: a tty's bytes as they
/// are, or stdout and stderr in frames (see [`super::stream`]).
pub const RAW_STREAM: &str = "application/vnd.docker.raw-stream";
pub const MULTIPLEXED_STREAM: &str = "application/vnd.docker.multiplexed-stream";

/// Whatever writes a stream's bytes, in a thread of its own (it may block
/// for as long as the container runs). Sending fails once the client is
/// gone: that is its signal to stop.
pub type Producer = Box<dyn FnOnce(mpsc::Sender<Bytes>) + Send>;

/// Whatever takes the client's bytes of a hijacked connection (`docker run
/// -i`'s stdin, the keys of `-it`), in a thread of its own: the receiver
/// ends when the client stops sending (its input ended, or it left).
pub type Consumer = Box<dyn FnOnce(mpsc::Receiver<Bytes>) + Send>;

/// What a handler answers.
pub enum Reply {
    Json(StatusCode, Value),
    /// No body: 204 (done), 304 (already so).
    Status(StatusCode),
    /// `/_ping`'s `OK`.
    Text(&'static str),
    /// A body that comes as the producer writes it (`logs -f`, `wait`):
    /// the headers go at once.
    Stream {
        content_type: &'static str,
        producer: Producer,
        /// The body's size when known up front (a file): sent as
        /// `Content-Length` instead of chunks.
        length: Option<u64>,
    },
    /// docker's attach: `101 UPGRADED`, then the connection is a plain
    /// byte stream the producer writes to.
    Hijack {
        content_type: &'static str,
        producer: Producer,
        /// The client's side, when it has something to say (stdin).
        input: Option<Consumer>,
    },
}

impl Reply {
    /// `file` sent as it is read (a saved image can be gigabytes: never
    /// whole in memory), with its size as `Content-Length` (a browser
    /// reading a 25 MB trace gets it in one piece, not in chunks): the
    /// bytes it had when opened — a trace still being written grows past
    /// them, and its new lines are the live view's. `keep` lives until the
    /// last byte went or the client left (a temp file's guard, which
    /// removes it).
    pub fn file(
        content_type: &'static str,
        file: std::fs::File,
        keep: impl Send + 'static,
    ) -> Reply {
        // A size that cannot be read: the file as it comes, in chunks.
        let length = file.metadata().ok().map(|m| m.len());
        Reply::Stream {
            content_type,
            length,
            producer: Box::new(move |tx| {
                use std::io::Read;
                let _keep = keep;
                let mut file = file.take(length.unwrap_or(u64::MAX));
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    match file.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                                return;
                            }
                        }
                    }
                }
            }),
        }
    }
}

/// An error as docker's API says it: a status code and `{"message": "…"}`
/// (the docker CLI prints the message as it is).
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// An endpoint (or an option of one) casulo does not serve: said, never
    /// answered wrong.
    pub fn not_implemented(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            format!(
                "o casulo daemon ainda não implementa {what} \
                 (a lista do que ele atende está no README do casulo)"
            ),
        )
    }

    pub fn body(&self) -> Value {
        serde_json::json!({ "message": self.message })
    }
}

/// docker's `filters` query parameter (JSON), each key with its values
/// (none when absent or empty); malformed JSON is a 400 that says so.
pub fn filters(text: Option<&str>) -> Result<Vec<(String, Vec<String>)>, ApiError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        ApiError::bad_request(format!("o parâmetro filters não é JSON válido: {e}"))
    })?;
    Ok(value
        .as_object()
        .into_iter()
        .flatten()
        .map(|(key, values)| (key.clone(), filter_values(values)))
        .collect())
}

/// The values of one key of docker's `filters` parameter, in either of its
/// shapes: `["a","b"]` (new clients) or `{"a":true}` (old ones).
pub fn filter_values(values: &Value) -> Vec<String> {
    match values {
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str())
            .map(String::from)
            .collect(),
        Value::Object(o) => o.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The message of an error and its causes, in one line (as the CLI's
/// `causa:` lines, joined), errnos said in Portuguese.
pub fn chain(error: &dyn std::error::Error) -> String {
    use crate::kernel::translate_os_errors as pt;
    let mut said = pt(&error.to_string());
    let mut cause = error.source();
    while let Some(c) = cause {
        let text = pt(&c.to_string());
        if !said.ends_with(&text) {
            said = format!("{said}: {text}");
        }
        cause = c.source();
    }
    said
}

impl From<RunError> for ApiError {
    fn from(e: RunError) -> ApiError {
        let status = match &e {
            RunError::NoSuchContainer(_) => StatusCode::NOT_FOUND,
            RunError::Image(ImageError::NotFound(_)) => StatusCode::NOT_FOUND,
            RunError::NameInUse(_)
            | RunError::SameName(_)
            | RunError::StillRunning(_)
            | RunError::NotRunning(_)
            | RunError::AlreadyPaused(_)
            | RunError::NotPaused(_) => StatusCode::CONFLICT,
            RunError::BadEnv(_)
            | RunError::BadName(_)
            | RunError::BadWorkdir(_)
            | RunError::NoCommand(_)
            | RunError::BadLimit(_)
            | RunError::BadMount(_)
            | RunError::AmbiguousId(..)
            | RunError::Image(ImageError::BadReference { .. }) => StatusCode::BAD_REQUEST,
            RunError::NotYet(_) => StatusCode::NOT_IMPLEMENTED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut message = chain(&e);
        // docker's CLI picks `run`'s exit code (127, 126) from these words
        // of the message: said after ours, in its language.
        if let RunError::Init { code, .. } = &e {
            match code {
                127 => message.push_str(" (executable file not found)"),
                126 => message.push_str(" (permission denied)"),
                _ => {}
            }
        }
        ApiError::new(status, message)
    }
}

impl From<ImageError> for ApiError {
    fn from(e: ImageError) -> ApiError {
        let status = match &e {
            ImageError::NotFound(_) => StatusCode::NOT_FOUND,
            ImageError::BadReference { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, chain(&e))
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, chain(&e))
    }
}

/// A request's query string, decoded (`?all=1&filters=%7B…%7D`), and the
/// `X-Registry-Auth` header of the requests that carry one (pull, push).
#[derive(Debug, Default)]
pub struct Query(HashMap<String, Vec<String>>, Option<String>);

impl Query {
    pub fn parse(text: Option<&str>) -> Query {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for pair in text
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.entry(decode(k)).or_default().push(decode(v));
        }
        Query(map, None)
    }

    pub fn with_registry_auth(mut self, auth: Option<String>) -> Query {
        self.1 = auth;
        self
    }

    /// `X-Registry-Auth`: base64 (URL-safe) of docker's JSON credentials.
    pub fn registry_auth(&self) -> Option<&str> {
        self.1.as_deref()
    }

    /// The keys given.
    pub fn keys(&self) -> Vec<&String> {
        self.0.keys().collect()
    }

    /// Every value of a repeated key (`?names=a&names=b`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .get(key)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.last()).map(String::as_str)
    }

    /// docker's booleans: `1`, `true`, `True` (anything but empty, `0`, `false`).
    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| !matches!(v, "" | "0" | "false" | "False"))
    }
}

/// `%XX` and `+` of a query string.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

pub fn empty() -> Body {
    full(Bytes::new())
}

/// A body whose frames come from a channel, as a producer thread sends them.
pub struct ChannelBody(pub mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_query_strings_are_decoded() {
        let q = Query::parse(Some(
            "all=1&filters=%7B%22name%22%3A%5B%22x%22%5D%7D&t=a+b&z=%",
        ));
        assert!(q.flag("all"));
        assert_eq!(q.get("filters"), Some(r#"{"name":["x"]}"#));
        assert_eq!(q.get("t"), Some("a b"));
        assert_eq!(q.get("z"), Some("%"));
        assert!(!q.flag("nada"));
        assert!(!Query::parse(Some("all=0")).flag("all"));
    }
}
