//! Markup written as text: the panels' SVG diagrams are built as one
//! string each and handed to Yew whole (`Html::from_html_unchecked`),
//! which the browser parses in one `innerHTML`.
//!
//! Why by hand and not with `html!`: every element of the macro is its own
//! code (a boxed tag, its attributes one by one, its children list), and
//! the diagrams have a few hundred of them: that code was most of the
//! panels' wasm. Here an element is a piece of a format string. The
//! diagrams have no listeners and nothing the user opens or scrolls inside
//! them, so drawing them again whole, when they change, loses nothing.
//!
//! Everything that comes from a trace goes through [`Esc`]; the rest are
//! literals of this crate.

use std::fmt::{self, Display};

use crate::format::coord;

/// Text made safe for an element's content or a quoted attribute's value.
pub struct Esc<'a>(pub &'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..i])?;
            f.write_str(match rest.as_bytes()[i] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[i + 1..];
        }
        f.write_str(rest)
    }
}

/// A coordinate, to the hundredth ([`coord`]).
pub struct C(pub f64);

impl Display for C {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&coord(self.0))
    }
}

/// ` name="value"` when there is a value; nothing otherwise (an attribute
/// Yew would leave out).
pub struct Attr<'a>(pub &'static str, pub Option<&'a str>);

impl Display for Attr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(v) => write!(f, " {}=\"{}\"", self.0, Esc(v)),
            None => Ok(()),
        }
    }
}

/// Appends to a markup `String` (writing to a `String` cannot fail).
// Used by the panels (wasm only) and the tests.
#[cfg_attr(not(any(test, target_arch = "wasm32")), allow(unused_macros))]
macro_rules! w {
    ($s:expr, $($t:tt)*) => {
        let _ = ::std::fmt::Write::write_fmt($s, format_args!($($t)*));
    };
}
#[cfg_attr(not(any(test, target_arch = "wasm32")), allow(unused_imports))]
pub(crate) use w;

/// `class="a b"` of the words given, the empty ones left out (as
/// `classes!` with `Option`s).
pub fn class_list(words: &[&str]) -> String {
    let mut s = String::new();
    for word in words.iter().filter(|w| !w.is_empty()) {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(word);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_a_trace_cannot_open_a_tag_or_close_an_attribute() {
        let mut s = String::new();
        w!(
            &mut s,
            "<text class=\"{}\">{}</text>",
            Esc("a\"b"),
            Esc("<script>alert('x') & 1</script>")
        );
        assert_eq!(
            s,
            "<text class=\"a&quot;b\">&lt;script&gt;alert(&#39;x&#39;) &amp; 1&lt;/script&gt;</text>"
        );
        assert_eq!(
            Esc("/var/lib/casulo · eth0 ▲ ativa").to_string(),
            "/var/lib/casulo · eth0 ▲ ativa"
        );
    }

    #[test]
    fn absent_attributes_and_empty_classes_are_left_out() {
        assert_eq!(
            format!("<g{}{}>", Attr("id", Some("rede-lo")), Attr("x", None)),
            "<g id=\"rede-lo\">"
        );
        assert_eq!(class_list(&["caixa", "", "novo"]), "caixa novo");
        assert_eq!(format!("{}", C(12.5)), "12.5");
    }
}
