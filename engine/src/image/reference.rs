//! Image references: `name[:tag]`, as docker writes them.
//!
//! A name is one or more components separated by `/` (`busybox`,
//! `aluno/meu-app`); each component is lowercase letters and digits, joined
//! by one `.`, one `_`, two `__` or any number of `-`. A name with more than
//! one component may start with a registry host (`localhost:5000/app`,
//! `registry.example.com/app`). The tag is up to 128 characters of letters,
//! digits, `_`, `.` and `-`, not starting with `.` or `-`; when missing it is
//! `latest`. The normalized form is always `name:tag`, and that is the string
//! stored in `index.json` under `org.opencontainers.image.ref.name`.
//!
//! Digest references (`busybox@sha256:…`) are not supported yet.

use std::fmt;
use std::str::FromStr;

use super::ImageError;

/// The tag used when a reference has none.
pub const DEFAULT_TAG: &str = "latest";
/// Longest name docker accepts.
pub const MAX_NAME_LEN: usize = 255;
/// Longest tag docker accepts.
pub const MAX_TAG_LEN: usize = 128;

/// A parsed, valid image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// Repository name, e.g. `busybox` or `localhost:5000/aluno/app`.
    pub name: String,
    /// Tag, e.g. `latest`.
    pub tag: String,
}

impl Reference {
    /// Parses `name[:tag]`; the error says, in pt-BR, what is wrong.
    pub fn parse(input: &str) -> Result<Reference, ImageError> {
        let bad = |why: String| ImageError::BadReference {
            reference: input.to_string(),
            why,
        };
        if input.is_empty() {
            return Err(bad(
                "a referência está vazia (use NOME ou NOME:TAG, ex.: busybox:latest)".into(),
            ));
        }
        if let Some(at) = input.find('@') {
            return Err(bad(format!(
                "referências por digest (\"{}\") ainda não são suportadas; use NOME:TAG",
                &input[at..]
            )));
        }
        // The tag is after the last ':' only if that ':' comes after the last
        // '/': in `localhost:5000/app` the ':' belongs to the registry host.
        let last_slash = input.rfind('/');
        let (name, tag) = match input.rfind(':') {
            Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
                (&input[..colon], Some(&input[colon + 1..]))
            }
            _ => (input, None),
        };
        check_name(name).map_err(bad)?;
        let tag = match tag {
            Some(tag) => {
                check_tag(tag).map_err(bad)?;
                tag
            }
            None => DEFAULT_TAG,
        };
        Ok(Reference {
            name: name.to_string(),
            tag: tag.to_string(),
        })
    }

    /// Same image name, another tag.
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ImageError> {
        Reference::parse(&format!("{}:{tag}", self.name))
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

impl FromStr for Reference {
    type Err = ImageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

/// Normalizes a reference string to `name:tag` (adds `:latest`).
pub fn normalize(input: &str) -> Result<String, ImageError> {
    Ok(Reference::parse(input)?.to_string())
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("falta o nome antes de ':'".into());
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(format!(
            "o nome tem {len} caracteres (máximo {MAX_NAME_LEN})"
        ));
    }
    let components: Vec<&str> = name.split('/').collect();
    for (i, component) in components.iter().enumerate() {
        if component.is_empty() {
            return Err("o nome tem uma parte vazia (barra '/' no início, no fim ou dupla)".into());
        }
        if i == 0 && components.len() > 1 && looks_like_host(component) {
            // Like docker's grammar: a registry host, or else a plain component.
            check_host(component).or_else(|e| check_component(component).map_err(|_| e))?;
        } else {
            check_component(component)?;
        }
    }
    Ok(())
}

/// Docker's rule: the first component is a registry host when it has a `.`
/// or a `:`, or is `localhost`.
fn looks_like_host(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

fn check_host(host: &str) -> Result<(), String> {
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    for label in name.split('.') {
        let ok = !label.is_empty()
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!(
                "o endereço do registry \"{host}\" é inválido (use algo como localhost:5000 ou registry.exemplo.com)"
            ));
        }
    }
    if let Some(port) = port {
        if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) || port.len() > 5 {
            return Err(format!(
                "a porta do registry em \"{host}\" deve ser um número (ex.: localhost:5000)"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn check_component(component: &str) -> Result<(), String> {
    for c in component.chars() {
        if c.is_ascii_uppercase() {
            return Err(format!(
                "o nome tem a letra maiúscula '{c}' (nomes de imagem são só minúsculas: \"{}\")",
                component.to_ascii_lowercase()
            ));
        }
        if !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
            return Err(format!(
                "o caractere '{c}' não é permitido no nome (use letras minúsculas, dígitos, '.', '_', '-' e '/')"
            ));
        }
    }
    let is_alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let first = component.chars().next().unwrap_or('.');
    let last = component.chars().last().unwrap_or('.');
    if !is_alnum(first) || !is_alnum(last) {
        return Err(format!(
            "a parte \"{component}\" do nome deve começar e terminar com letra minúscula ou dígito"
        ));
    }
    // Every run of separators between two alphanumerics must be one of
    // ".", "_", "__" or "-+".
    let mut run = String::new();
    for c in component.chars() {
        if is_alnum(c) {
            let ok = run.is_empty()
                || run == "."
                || run == "_"
                || run == "__"
                || run.chars().all(|c| c == '-');
            if !ok {
                return Err(format!(
                    "a parte \"{component}\" do nome tem os separadores \"{run}\" seguidos \
                     (só vale um '.', um '_', dois '__' ou vários '-')"
                ));
            }
            run.clear();
        } else {
            run.push(c);
        }
    }
    Ok(())
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("a tag depois de ':' está vazia (ex.: busybox:latest)".into());
    }
    let len = tag.chars().count();
    if len > MAX_TAG_LEN {
        return Err(format!("a tag tem {len} caracteres (máximo {MAX_TAG_LEN})"));
    }
    if let Some(c) = tag
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Err(format!(
            "o caractere '{c}' não é permitido na tag \"{tag}\" (use letras, dígitos, '_', '.' e '-')"
        ));
    }
    if tag.starts_with('.') || tag.starts_with('-') {
        return Err(format!(
            "a tag \"{tag}\" não pode começar com '.' nem '-' (comece com letra, dígito ou '_')"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        Reference::parse(input)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .to_string()
    }

    fn why(input: &str) -> String {
        match Reference::parse(input) {
            Ok(r) => panic!("{input} should be refused, got {r}"),
            Err(ImageError::BadReference { reference, why }) => {
                assert_eq!(reference, input);
                why
            }
            Err(e) => panic!("unexpected error {e}"),
        }
    }

    #[test]
    fn image_reference_valid_and_normalized() {
        assert_eq!(ok("busybox"), "busybox:latest");
        assert_eq!(ok("busybox:latest"), "busybox:latest");
        assert_eq!(ok("busybox:1.35.0"), "busybox:1.35.0");
        assert_eq!(ok("aluno/meu-app:v1"), "aluno/meu-app:v1");
        assert_eq!(ok("a.b_c__d---e/f:_Tag-1.x"), "a.b_c__d---e/f:_Tag-1.x");
        assert_eq!(ok("localhost:5000/app"), "localhost:5000/app:latest");
        assert_eq!(ok("localhost:5000/app:2"), "localhost:5000/app:2");
        assert_eq!(
            ok("registry.example.com/x/y:z"),
            "registry.example.com/x/y:z"
        );
        let r = Reference::parse("localhost:5000/app:2").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("localhost:5000/app", "2")
        );
        assert_eq!(normalize("busybox").unwrap(), "busybox:latest");
        let tag128 = format!("b:{}", "t".repeat(128));
        assert_eq!(ok(&tag128), tag128);
    }

    #[test]
    fn image_reference_errors_name_the_problem() {
        assert!(why("").contains("vazia"));
        assert!(why("Busybox").contains("maiúscula 'B'"));
        assert!(why("busy box").contains("' '"));
        assert!(why("busybox:").contains("tag depois de ':' está vazia"));
        assert!(why(":latest").contains("falta o nome"));
        assert!(why("/busybox").contains("parte vazia"));
        assert!(why("a//b").contains("parte vazia"));
        assert!(why("a/").contains("parte vazia"));
        assert!(why("-abc").contains("começar e terminar"));
        assert!(why("abc.").contains("começar e terminar"));
        assert!(why("a..b").contains("\"..\""));
        assert!(why("a___b").contains("\"___\""));
        assert!(why("a._b").contains("\"._\""));
        assert!(why("busybox:.x").contains("não pode começar"));
        assert!(why("busybox:-x").contains("não pode começar"));
        assert!(why("busybox:a+b").contains("'+'"));
        assert!(why(&format!("b:{}", "t".repeat(129))).contains("máximo 128"));
        assert!(why(&"a".repeat(256)).contains("máximo 255"));
        assert!(why("busybox@sha256:abcd").contains("digest"));
        assert!(why("ação").contains("'ç'"));
        assert!(why("local:host:5000/app").contains("registry"));
    }
}
