//! # casulo-book — the course's tooling
//!
//! The course (`book/`) shows only what really ran: every example is a
//! scenario ([`scenario`]) that the recorder ([`record`]) runs with the
//! real `casulo`; the mdBook preprocessor ([`preprocessor`]) puts the
//! recorded commands, outputs and replays in the chapters
//! ([`directives`]); the course's doctest ([`compare`]) runs each scenario
//! again and compares; what a scenario started stops when it ends, even
//! when a step failed ([`leftovers`]). [`spelling`] and [`links`] feed the
//! book's other checks; [`medida`] draws a measurement (`book/medidas/`).
//! `cargo xtask book` and `cargo xtask test` drive all of it; the authors'
//! guide is `book/README.md`.

pub mod compare;
pub mod directives;
pub mod leftovers;
pub mod links;
pub mod medida;
pub mod preprocessor;
pub mod record;
pub mod scenario;
pub mod search;
pub mod spelling;
pub mod student;
