//! Docker habits: what casulo says when a student types a docker command or
//! option it does not have — whether it exists under another name, is
//! coming, or is not planned, and what to do meanwhile.

/// About a docker subcommand casulo does not have (`casulo cp`).
pub fn subcommand(name: &str) -> Option<&'static str> {
    Some(match name {
        "compose" => {
            "`compose` não existe e não está nos planos: rode cada serviço com \
             `casulo network create app` e `casulo run -d --network app --name …`, um por serviço"
        }
        "images" => "no casulo é `casulo image ls`",
        "rmi" => "no casulo é `casulo image rm`",
        "load" | "save" | "tag" | "history" | "import" => {
            "no casulo ele fica em `casulo image` (veja `casulo image --help`)"
        }
        "search" => {
            "`search` não existe: o protocolo de registry (OCI distribution) não tem busca; \
             procure a imagem na página do registry e use `casulo pull REGISTRY/NOME:TAG`"
        }
        "cp" => {
            "`cp` não existe: o que o contêiner escreveu fica na camada de escrita dele (sem \
             --rm); veja com `casulo diff NOME`"
        }
        "version" => "é `casulo --version` (e `casulo info` mostra o kernel e os cgroups)",
        _ => return None,
    })
}

/// About a docker option of `run` casulo does not have (`-c`).
pub fn run_option(arg: &str) -> Option<&'static str> {
    Some(match arg {
        "-c" => {
            "`-c` (cpu-shares do docker) é `--cpu-shares` aqui, só na forma longa: um `-c` \
             depois da imagem vai para o comando (como em `sh -c`)"
        }
        _ => return None,
    })
}

/// The subcommand path the user typed (`casulo image`), walking `argv`
/// through `cmd`'s subcommands; global `--root DIR` is skipped. Each one
/// walked through is built on the way: a deferred one (`super::deferred`) has
/// no subcommands of its own until then.
pub fn command_path(cmd: &mut clap::Command, argv: &[String]) -> String {
    let mut path = vec![cmd.get_name().to_string()];
    let mut current = cmd;
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--root" {
            args.next();
            continue;
        }
        if arg.starts_with('-') {
            continue;
        }
        match current.find_subcommand_mut(arg) {
            Some(sub) => {
                sub.build();
                path.push(sub.get_name().to_string());
                current = sub;
            }
            None => break,
        }
    }
    path.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_help_named_is_the_subcommands() {
        let mut cmd = super::super::Cli::command();
        let argv = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            command_path(&mut cmd, &argv("casulo run -it busybox")),
            "casulo run"
        );
        assert_eq!(
            command_path(&mut cmd, &argv("casulo --root /x image search a")),
            "casulo image"
        );
        assert_eq!(command_path(&mut cmd, &argv("casulo search")), "casulo");
        // `image` is deferred: its subcommands exist once it is built.
        assert_eq!(
            command_path(&mut cmd, &argv("casulo --bogus image ls -x")),
            "casulo image ls"
        );
        assert_eq!(subcommand("pull"), None, "casulo pull existe");
        assert!(subcommand("search").unwrap().contains("não tem busca"));
        assert_eq!(subcommand("exec"), None, "casulo exec existe");
        assert!(run_option("-c").unwrap().contains("--cpu-shares"));
        assert_eq!(run_option("-d"), None, "-d existe");
    }
}
