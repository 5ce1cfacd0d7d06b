//! Who asked: the request a blocking thread is answering (method, path and
//! the client's `User-Agent`), so a handler can write it into the trace of
//! the container it makes (`daemon.request`) without every handler's
//! signature carrying the headers.

use std::cell::RefCell;

/// The request being answered on this thread.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub method: String,
    /// As the client sent it, version included (`/v1.43/containers/create`).
    pub path: String,
    /// Its `User-Agent`, empty when none.
    pub client: String,
    /// `Last-Event-ID`: a browser's `EventSource` that reconnects says the
    /// last event it got (a live stream resumes after it).
    pub last_event_id: Option<u64>,
}

impl Asked {
    pub fn of(method: &hyper::Method, path: &str, headers: &hyper::HeaderMap) -> Asked {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        Asked {
            method: method.to_string(),
            path: path.to_string(),
            client: header("user-agent").unwrap_or_default().to_string(),
            last_event_id: header("last-event-id").and_then(|v| v.trim().parse().ok()),
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Asked>> = const { RefCell::new(None) };
}

/// Runs `f` with `asked` as this thread's request.
pub fn answering<T>(asked: Asked, f: impl FnOnce() -> T) -> T {
    CURRENT.with(|c| *c.borrow_mut() = Some(asked));
    let out = f();
    CURRENT.with(|c| *c.borrow_mut() = None);
    out
}

/// The request being answered on this thread, if any.
pub fn current() -> Option<Asked> {
    CURRENT.with(|c| c.borrow().clone())
}

/// The trace event that says who asked (recorded by `create`).
pub fn event(asked: &Asked) -> (casulo_trace::EventBody, String) {
    let op = if asked.client.is_empty() {
        format!("{} {}", asked.method, asked.path)
    } else {
        format!(
            "{} {} (User-Agent: {})",
            asked.method, asked.path, asked.client
        )
    };
    (
        casulo_trace::EventBody::DaemonRequest {
            method: asked.method.clone(),
            path: asked.path.clone(),
            client: asked.client.clone(),
        },
        op,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_request_is_known_only_while_answered() {
        assert!(current().is_none());
        let asked = Asked {
            method: "POST".into(),
            path: "/v1.43/containers/create".into(),
            client: "curl/7.88.1".into(),
            last_event_id: None,
        };
        let seen = answering(asked, || current().map(|a| a.client));
        assert_eq!(seen.as_deref(), Some("curl/7.88.1"));
        assert!(current().is_none());
    }
}
