//! Variable expansion as docker does it, step by step: `$VAR`, `${VAR}`,
//! `${VAR:-padrão}`, `${VAR:+outro}`; quotes and `\` escapes removed.

use std::collections::BTreeMap;

/// Processes one raw word as docker does: quotes removed, `\x` → `x`
/// (outside single quotes), and with `substitute`, `$VAR`, `${VAR}`,
/// `${VAR:-padrão}` and `${VAR:+valor}` replaced from `vars` (outside single
/// quotes; unknown variables become empty).
pub fn expand(
    word: &str,
    vars: &BTreeMap<String, String>,
    substitute: bool,
) -> Result<String, String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => out.push(c),
            (_, '\\') => {
                i += 1;
                if let Some(&next) = chars.get(i) {
                    // Inside double quotes only \" \\ \$ are escapes.
                    if quote == Some('"') && !matches!(next, '"' | '\\' | '$') {
                        out.push('\\');
                    }
                    out.push(next);
                } else {
                    out.push('\\');
                }
            }
            (_, '$') if substitute => {
                let (value, used) = variable(&chars[i + 1..], vars)?;
                out.push_str(&value);
                i += used;
            }
            (_, c) => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// After a `$`: the variable's value and how many chars it used.
pub(super) fn variable(
    rest: &[char],
    vars: &BTreeMap<String, String>,
) -> Result<(String, usize), String> {
    let name_char = |c: &char| c.is_ascii_alphanumeric() || *c == '_';
    if rest.first() == Some(&'{') {
        let Some(end) = rest.iter().position(|c| *c == '}') else {
            return Err("${ sem o } que fecha".into());
        };
        let inner: String = rest[1..end].iter().collect();
        let (name, modifier) = match inner.find(":") {
            Some(pos) => (&inner[..pos], Some(&inner[pos..])),
            None => (inner.as_str(), None),
        };
        if name.is_empty() || !name.chars().all(|c| name_char(&c)) {
            return Err(format!("variável inválida ${{{inner}}}"));
        }
        let value = vars.get(name).filter(|v| !v.is_empty());
        let out = match modifier {
            None => vars.get(name).cloned().unwrap_or_default(),
            Some(m) if m.starts_with(":-") => value
                .cloned()
                .unwrap_or_else(|| expand(&m[2..], vars, true).unwrap_or_default()),
            Some(m) if m.starts_with(":+") => match value {
                Some(_) => expand(&m[2..], vars, true)?,
                None => String::new(),
            },
            Some(m) => return Err(format!("modificador {m:?} não suportado em ${{{inner}}}")),
        };
        return Ok((out, end + 1));
    }
    let len = rest.iter().take_while(|c| name_char(c)).count();
    if len == 0 {
        // A lone `$` stays.
        return Ok(("$".into(), 0));
    }
    let name: String = rest[..len].iter().collect();
    Ok((vars.get(&name).cloned().unwrap_or_default(), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expands_like_docker() {
        let v = vars(&[("A", "um"), ("E", "")]);
        let x = |w: &str| expand(w, &v, true).unwrap();
        assert_eq!(x("$A-${A}"), "um-um");
        assert_eq!(x("'$A'\"$A\""), "$Aum");
        assert_eq!(x("\\$A"), "$A");
        assert_eq!(
            x("${NADA:-pad}${E:-vazio}${A:+sim}${E:+nao}"),
            "padvaziosim"
        );
        assert_eq!(x("custa $ 5"), "custa $ 5");
        assert_eq!(x("\"a b\""), "a b");
        assert!(expand("${A", &v, true).is_err());
    }
}
