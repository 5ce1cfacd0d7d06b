//! The course's tooling (see `book/README.md`).

pub mod medida;
