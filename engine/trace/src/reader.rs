//! Reading and validating a trace (stub: being written).
use crate::{Event, Header};

/// A trace read and validated.
#[derive(Debug, Clone)]
pub struct Trace {
    pub header: Header,
    /// Known events, in order.
    pub events: Vec<Event>,
    /// Lines skipped because their kind is unknown to this reader: (line number, kind).
    pub skipped: Vec<(usize, String)>,
}

/// The first problem found, with its 1-based line number; message in pt-BR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "linha {}: {}", self.line, self.message)
    }
}

impl std::error::Error for TraceError {}

pub fn read_trace(_text: &str) -> Result<Trace, TraceError> {
    Err(TraceError {
        line: 1,
        message: "todo".into(),
    })
}
