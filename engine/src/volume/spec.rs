//! What the user typed for a mount, read into a [`MountSpec`]: docker's
//! `-v ORIGEM:DESTINO[:ro]`, `--tmpfs DESTINO[:opções]` and the long form
//! `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly]`.
//!
//! Only the text is checked here (absolute target, a valid volume name,
//! known options); whether a host path exists is checked by `create`.

use serde::{Deserialize, Serialize};

/// The three kinds of mount docker offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A host directory (or file) seen in the container.
    Bind,
    /// A directory kept by casulo in its state dir (`casulo volume`).
    Volume,
    /// A filesystem in memory, gone with the container.
    Tmpfs,
}

impl MountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        }
    }
}

/// One mount the user asked for (or an image's `VOLUME`, anonymous).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    #[serde(rename = "type")]
    pub kind: MountKind,
    /// bind: the host path; volume: the volume's name (empty: anonymous,
    /// a name is generated); tmpfs: empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Absolute path inside the container.
    pub target: String,
    #[serde(default)]
    pub readonly: bool,
    /// tmpfs only: `size=…,mode=…` as given to the kernel.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub options: String,
    /// A volume with a generated name (removed with `rm -v` and `--rm`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
}

/// `-v ORIGEM:DESTINO[:ro|rw]` or `-v DESTINO` (an anonymous volume).
/// ORIGEM starting with `/` is a host path (bind), otherwise a volume name.
pub fn parse_volume(text: &str) -> Result<MountSpec, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => ("", *target, ""),
        [source, target] => (*source, *target, ""),
        [source, target, mode] => (*source, *target, *mode),
        _ => {
            return Err(format!(
            "-v {text:?}: use ORIGEM:DESTINO[:ro], como /srv/dados:/dados:ro ou meu-volume:/dados"
        ))
        }
    };
    let readonly = match mode {
        "" | "rw" => false,
        "ro" => true,
        other => {
            return Err(format!(
                "-v {text:?}: modo {other:?} desconhecido (use ro ou rw)"
            ))
        }
    };
    check_target(text, target)?;
    let kind = if source.is_empty() || !source.starts_with(['/', '.', '~']) {
        MountKind::Volume
    } else {
        MountKind::Bind
    };
    if kind == MountKind::Bind && !source.starts_with('/') {
        return Err(format!(
            "-v {text:?}: a origem {source:?} precisa ser um caminho absoluto do host \
             (como /home/aluno/dados; para um diretório daqui, use \"$PWD/dados\")"
        ));
    }
    if kind == MountKind::Volume && !source.is_empty() {
        check_volume_name(source)?;
    }
    Ok(MountSpec {
        kind,
        source: source.to_string(),
        target: target.to_string(),
        readonly,
        options: String::new(),
        anonymous: source.is_empty(),
    })
}

/// `--tmpfs DESTINO[:size=64m,mode=1777,ro,exec,…]`.
pub fn parse_tmpfs(text: &str) -> Result<MountSpec, String> {
    let (target, opts) = text.split_once(':').unwrap_or((text, ""));
    check_target(text, target)?;
    let (options, readonly) = tmpfs_options(text, opts.split(',').filter(|o| !o.is_empty()))?;
    Ok(MountSpec {
        kind: MountKind::Tmpfs,
        source: String::new(),
        target: target.to_string(),
        readonly,
        options,
        anonymous: false,
    })
}

/// `--mount type=bind,source=/a,target=/b,readonly` (also `src`, `dst`,
/// `destination`, `ro`, `tmpfs-size`, `tmpfs-mode`).
pub fn parse_mount(text: &str) -> Result<MountSpec, String> {
    let (mut kind, mut source, mut target, mut readonly) = (None, String::new(), None, false);
    let mut tmpfs = Vec::new();
    for field in text.split(',').filter(|f| !f.is_empty()) {
        let (key, value) = field.split_once('=').unwrap_or((field, ""));
        match key {
            "type" => {
                kind = Some(match value {
                    "bind" => MountKind::Bind,
                    "volume" => MountKind::Volume,
                    "tmpfs" => MountKind::Tmpfs,
                    other => {
                        return Err(format!(
                        "--mount {text:?}: tipo {other:?} desconhecido (use bind, volume ou tmpfs)"
                    ))
                    }
                })
            }
            "source" | "src" => source = value.to_string(),
            "target" | "destination" | "dst" => target = Some(value.to_string()),
            "readonly" | "ro" => readonly = matches!(value, "" | "true" | "1"),
            "tmpfs-size" => tmpfs.push(format!("size={value}")),
            "tmpfs-mode" => tmpfs.push(format!("mode={value}")),
            other => {
                return Err(format!(
                    "--mount {text:?}: campo {other:?} desconhecido \
                     (use type, source, target, readonly, tmpfs-size, tmpfs-mode)"
                ))
            }
        }
    }
    let kind = kind.ok_or_else(|| format!("--mount {text:?}: falta type=bind|volume|tmpfs"))?;
    let target = target.ok_or_else(|| format!("--mount {text:?}: falta target=/caminho"))?;
    match kind {
        MountKind::Tmpfs => {
            if !source.is_empty() {
                return Err(format!("--mount {text:?}: um tmpfs não tem source"));
            }
            let mut spec = parse_tmpfs(&format!("{target}:{}", tmpfs.join(",")))?;
            spec.readonly |= readonly;
            Ok(spec)
        }
        MountKind::Bind if !source.starts_with('/') => Err(format!(
            "--mount {text:?}: um bind precisa de source=/caminho/absoluto do host"
        )),
        MountKind::Bind | MountKind::Volume => {
            if kind == MountKind::Volume && source.starts_with('/') {
                return Err(format!(
                    "--mount {text:?}: {source:?} é um caminho; para um diretório do host use type=bind"
                ));
            }
            let mode = if readonly { ":ro" } else { "" };
            let short = if source.is_empty() {
                target
            } else {
                format!("{source}:{target}{mode}")
            };
            let mut spec = parse_volume(&short)?;
            spec.readonly = readonly;
            Ok(spec)
        }
    }
}

/// Docker's rule for volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn check_volume_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest = chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if first && rest && name.len() >= 2 && name.len() <= 128 {
        Ok(())
    } else {
        Err(format!(
            "nome de volume inválido: {name:?} (use ao menos 2 caracteres: letras, dígitos, \
             '_', '.' ou '-', começando por letra ou dígito)"
        ))
    }
}

fn check_target(text: &str, target: &str) -> Result<(), String> {
    if !target.starts_with('/') {
        return Err(format!(
            "{text:?}: o destino {target:?} precisa ser um caminho absoluto no contêiner, como /dados"
        ));
    }
    if target.split('/').all(|c| c.is_empty() || c == ".") {
        return Err(format!(
            "{text:?}: o destino não pode ser a raiz / do contêiner"
        ));
    }
    if target.split('/').any(|c| c == "..") {
        return Err(format!("{text:?}: o destino {target:?} não pode ter '..'"));
    }
    Ok(())
}

/// tmpfs options: `size` and `mode` go to the kernel; `ro`/`rw`, `exec`/
/// `noexec`, … are flags handled by the mount itself (see
/// [`super::mount::tmpfs_flags`]). Returns (kernel data, readonly).
fn tmpfs_options<'a>(
    text: &str,
    opts: impl Iterator<Item = &'a str>,
) -> Result<(String, bool), String> {
    let mut data = Vec::new();
    let mut readonly = false;
    for opt in opts {
        let (key, value) = opt.split_once('=').unwrap_or((opt, ""));
        match key {
            "size" => {
                let digits = value.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G', '%']);
                if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                    return Err(format!(
                        "--tmpfs {text:?}: tamanho {value:?} inválido (use, por exemplo, size=64m)"
                    ));
                }
                data.push(format!("size={}", value.to_ascii_lowercase()));
            }
            "mode" => {
                if value.is_empty() || u32::from_str_radix(value, 8).is_err() {
                    return Err(format!(
                        "--tmpfs {text:?}: modo {value:?} inválido (use octal, como mode=1777)"
                    ));
                }
                data.push(format!("mode={value}"));
            }
            "uid" | "gid" | "nr_inodes" if value.parse::<u64>().is_ok() => {
                data.push(opt.to_string())
            }
            "ro" => readonly = true,
            "rw" => readonly = false,
            "exec" | "noexec" | "suid" | "nosuid" | "dev" | "nodev" => data.push(opt.to_string()),
            _ => {
                return Err(format!(
                    "--tmpfs {text:?}: opção {opt:?} desconhecida \
                     (use size=, mode=, uid=, gid=, ro, exec, suid, dev)"
                ))
            }
        }
    }
    Ok((data.join(","), readonly))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_are_read_as_docker_reads_them() {
        let b = parse_volume("/srv/x:/dados:ro").unwrap();
        assert_eq!(
            (b.kind, b.source.as_str(), b.target.as_str(), b.readonly),
            (MountKind::Bind, "/srv/x", "/dados", true)
        );
        let v = parse_volume("meu-vol:/dados").unwrap();
        assert_eq!(
            (v.kind, v.readonly, v.anonymous),
            (MountKind::Volume, false, false)
        );
        let a = parse_volume("/dados").unwrap();
        assert!(a.anonymous && a.kind == MountKind::Volume && a.source.is_empty());
        assert!(parse_volume("./rel:/x").unwrap_err().contains("absoluto"));
        assert!(parse_volume("vol:dados").unwrap_err().contains("absoluto"));
        assert!(parse_volume("vol:/").unwrap_err().contains("raiz"));
        assert!(parse_volume("vol:/a/../b").is_err());
        assert!(parse_volume("vol:/x:rx").unwrap_err().contains("rx"));
        assert!(parse_volume("-x:/x").unwrap_err().contains("inválido"));
    }

    #[test]
    fn tmpfs_and_mount_forms() {
        let t = parse_tmpfs("/run:size=64M,mode=1777").unwrap();
        assert_eq!(t.options, "size=64m,mode=1777");
        assert!(!t.readonly);
        assert!(parse_tmpfs("/run:size=muito").is_err());
        assert!(parse_tmpfs("/run:mode=999").is_err());
        assert!(parse_tmpfs("/run:bogus").is_err());
        let m = parse_mount("type=bind,source=/srv,target=/x,readonly").unwrap();
        assert_eq!((m.kind, m.readonly), (MountKind::Bind, true));
        let m = parse_mount("type=volume,src=dados,dst=/d").unwrap();
        assert_eq!((m.kind, m.source.as_str()), (MountKind::Volume, "dados"));
        let m = parse_mount("type=tmpfs,target=/t,tmpfs-size=1m").unwrap();
        assert_eq!(m.options, "size=1m");
        assert!(parse_mount("type=bind,source=rel,target=/x").is_err());
        assert!(parse_mount("source=/a,target=/x").is_err());
    }
}
