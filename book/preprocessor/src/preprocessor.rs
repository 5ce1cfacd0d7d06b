//! The mdBook side: a [`Preprocessor`] that expands the course's
//! directives in every chapter (see [`crate::directives`]). Registered by
//! `cargo xtask book` with `MDBook::with_preprocessor`, so it runs after
//! mdBook's own `{{#include}}`.

use mdbook_preprocessor::book::{Book, BookItem};
use mdbook_preprocessor::errors::{Error, Result};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

use crate::directives::{expand, Sources};

pub struct Casulo;

impl Preprocessor for Casulo {
    fn name(&self) -> &str {
        "casulo"
    }

    fn run(&self, ctx: &PreprocessorContext, mut book: Book) -> Result<Book> {
        let examples = ctx.root.join("exemplos");
        let measures = ctx.root.join("medidas");
        let labs = ctx.root.parent().unwrap_or(&ctx.root).join("labs");
        let src = Sources {
            examples: &examples,
            measures: &measures,
            labs: &labs,
        };
        // Every mistake of every chapter at once, not only the first.
        let mut errors = Vec::new();
        book.for_each_mut(|item| {
            let BookItem::Chapter(chapter) = item else {
                return;
            };
            let Some(path) = chapter.source_path.clone() else {
                return;
            };
            match expand(&chapter.content, &path, &src) {
                Ok(text) => chapter.content = text,
                Err(e) => errors.push(e),
            }
        });
        if errors.is_empty() {
            Ok(book)
        } else {
            Err(Error::msg(errors.join("\n")))
        }
    }
}
