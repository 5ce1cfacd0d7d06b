//! # casulo-trace — the spine of Casulo
//!
//! Every kernel-level operation the engine performs becomes one line of a
//! JSON Lines file (`.trace.jsonl`): line 1 is a [`Header`], each further line
//! an [`Event`]. This crate owns, in one place:
//!
//! - the types ([`event`]), serde-serializable, and the JSON Schema generated
//!   from them ([`schema`], checked in at `schema/trace.schema.json`);
//! - the reader/validator ([`reader`]) with pt-BR error messages that name
//!   the line;
//! - the pt-BR explanation catalog ([`catalog`]): one paragraph per kind;
//! - the common errnos in pt-BR ([`errno`]);
//! - the terminal narration of one event ([`narrate`]);
//! - a small realistic example trace with every kind ([`sample`]);
//! - sizes, numbers, ids as the student reads them everywhere ([`text`]).
//!
//! It has no OS dependency and builds for `wasm32-unknown-unknown`, so the
//! CLI, the visualizer, the labs and the book share one source of truth.

pub mod catalog;
pub mod errno;
pub mod event;
mod event_from_json;
mod header_from_json;
pub mod narrate;
pub mod reader;
pub mod replay;
pub mod sample;
pub mod schema;
pub mod text;

pub use event::*;
#[cfg(not(target_arch = "wasm32"))]
pub use reader::read_trace_file;
pub use reader::{read_trace, Reader, Trace, TraceError};
