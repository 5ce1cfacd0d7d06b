//! `RUN [--mount=…] [--network=…] COMMAND` and its flags.

use super::words::{command, split_first_word};
use super::{need_args, Op};

/// `RUN [--mount=…] [--network=…] COMMAND` (shell or exec form, here-documents).
pub(super) fn parse_run(keyword: &str, args: &str) -> Result<Op, String> {
    need_args(keyword, args)?;
    let mut flags = RunFlags::default();
    let mut rest = args;
    while rest.starts_with("--") {
        let (flag, after) = split_first_word(rest);
        match flag[2..].split_once('=') {
            Some(("mount", spec)) => flags.mounts.push(run_mount(spec)?),
            Some(("network", "default")) => flags.network = true,
            Some(("network", "none")) => flags.network = false,
            Some(("network", other)) => {
                return Err(format!(
                    "RUN --network={other}: use none (o padrão do casulo) ou default \
                     (a bridge casulo0); a rede do host não é dada a um passo do build"
                ))
            }
            _ => return Err(format!("RUN: opção {flag} não é suportada")),
        }
        rest = after.trim_start();
    }
    if rest.is_empty() {
        return Err("RUN precisa de um comando depois das opções".into());
    }
    Ok(Op::Run(command(keyword, rest)?, flags))
}

/// The flags of a RUN: `--mount=…` and `--network=…`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFlags {
    pub mounts: Vec<RunMount>,
    /// `--network=default`: the step's container on the default bridge
    /// (casulo's steps have no network otherwise, as `docker build
    /// --network none`).
    pub network: bool,
}

/// `RUN --mount=type=cache|tmpfs,target=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMount {
    pub cache: Option<CacheMount>,
    /// Absolute path in the step's container.
    pub target: String,
}

/// A `type=cache` mount: a directory casulo keeps between builds of the
/// same context (`id`, by default the target), never part of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheMount {
    pub id: String,
    /// `shared` (default), `locked` (one build at a time) or `private` (a
    /// fresh one when it is in use).
    pub sharing: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// `--mount=type=cache,target=/x,…` or `type=tmpfs`.
pub(super) fn run_mount(spec: &str) -> Result<RunMount, String> {
    let mut kind = "bind";
    let mut target = None;
    let mut cache = CacheMount {
        id: String::new(),
        sharing: "shared".into(),
        mode: 0o755,
        uid: 0,
        gid: 0,
    };
    let bad = |what: &str| format!("RUN --mount={spec}: {what}");
    for part in spec.split(',') {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        match key {
            "type" => kind = value,
            "target" | "dst" | "destination" => target = Some(value.to_string()),
            "id" => cache.id = value.to_string(),
            "sharing" => {
                if !matches!(value, "shared" | "locked" | "private") {
                    return Err(bad("sharing é shared, locked ou private"));
                }
                cache.sharing = value.to_string();
            }
            "mode" => {
                cache.mode = u32::from_str_radix(value, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| bad("mode é octal, como mode=0755"))?
            }
            "uid" => cache.uid = value.parse().map_err(|_| bad("uid é um número"))?,
            "gid" => cache.gid = value.parse().map_err(|_| bad("gid é um número"))?,
            _ => return Err(bad(&format!("opção {key:?} desconhecida"))),
        }
    }
    if !matches!(kind, "cache" | "tmpfs") {
        return Err(bad(&format!(
            "type={kind} ainda não é suportado pelo casulo (só cache e tmpfs)"
        )));
    }
    let target = target
        .filter(|t| t.starts_with('/'))
        .ok_or_else(|| bad("falta target=/caminho (absoluto)"))?;
    if cache.id.is_empty() {
        cache.id = target.clone();
    }
    Ok(RunMount {
        cache: (kind == "cache").then_some(cache),
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn run_flags_mount_and_network() {
        let df = parse(
            "Dockerfile",
            "FROM a\nRUN --mount=type=cache,target=/c,id=pip,sharing=locked,mode=0700,uid=1 \\\n  --network=default --mount=type=tmpfs,dst=/t make\n",
        )
        .unwrap();
        let Op::Run(Command::Shell(cmd), flags) = &df.instructions[1].op else {
            panic!("{:?}", df.instructions[1])
        };
        assert_eq!(cmd, "make");
        assert!(flags.network);
        let cache = flags.mounts[0].cache.as_ref().unwrap();
        assert_eq!(
            (
                cache.id.as_str(),
                cache.sharing.as_str(),
                cache.mode,
                cache.uid
            ),
            ("pip", "locked", 0o700, 1)
        );
        assert_eq!(flags.mounts[1].target, "/t");
        assert!(flags.mounts[1].cache.is_none());
        for (bad, says) in [
            (
                "RUN --mount=type=bind,target=/x true",
                "type=bind ainda não",
            ),
            ("RUN --mount=type=cache true", "falta target"),
            (
                "RUN --mount=type=cache,target=/x,sharing=todos true",
                "sharing",
            ),
            ("RUN --network=host true", "a rede do host"),
            ("RUN --network=default", "precisa de um comando"),
        ] {
            let e = parse("Dockerfile", &format!("FROM a\n{bad}\n")).unwrap_err();
            assert!(e.message.contains(says), "{bad}: {e}");
        }
    }
}
