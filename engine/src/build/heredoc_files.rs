//! `COPY <<EOF /destino`: the here-documents become files of a fresh
//! directory of `tmp/` that COPY reads as it reads the context.

use super::{dockerfile, step_copy, BuildError};
use crate::image::ImageError;
use crate::state::StateDir;

/// The documents as files (mode 0644, named after their delimiters; an
/// unquoted one with its variables expanded by `x`), removed when the
/// guard goes.
pub(super) fn write(
    state: &StateDir,
    heredocs: &[dockerfile::Heredoc],
    x: &dyn Fn(&str) -> Result<String, BuildError>,
) -> Result<step_copy::Extracted, BuildError> {
    let guard = step_copy::Extracted::fresh(state, "heredoc")
        .map_err(|e| BuildError::Image(ImageError::io(state.tmp(), e)))?;
    let dir = guard.0.clone();
    let io = |e: std::io::Error| BuildError::Image(ImageError::io(&dir, e));
    for h in heredocs {
        let content = if h.expand {
            // Each line as a word of its own: quotes and backslashes are
            // text here, only `$VAR` is replaced (as BuildKit).
            expand_text(&h.content, x)?
        } else {
            h.content.clone()
        };
        let path = dir.join(&h.name);
        std::fs::write(&path, content).map_err(io)?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .map_err(io)?;
    }
    Ok(guard)
}

/// `$VAR` and `${VAR…}` of `text` replaced through `x`, everything else
/// (quotes, backslashes) left as it is.
fn expand_text(
    text: &str,
    x: &dyn Fn(&str) -> Result<String, BuildError>,
) -> Result<String, BuildError> {
    // Quotes and backslashes escaped so that `x` (docker's word rules)
    // gives them back unchanged.
    let mut word = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '"' | '\'' | '\\') {
            word.push('\\');
        }
        word.push(c);
    }
    x(&word)
}
