//! What a rootless casulo refuses up front, and why (said to the student
//! before anything is created). The CLI asks these before entering the
//! user namespace.

use super::delegation;

/// `--memory`, `--cpus`, `--pids-limit`… (the flags given, as typed):
/// allowed when a delegated cgroup v2 subtree hands the controllers they
/// need ([`delegation`]), else refused saying what is missing.
pub fn limits(flags: &[&str]) -> Result<(), String> {
    if flags.is_empty() {
        return Ok(());
    }
    limits_with(flags, delegation::find())
}

fn limits_with(
    flags: &[&str],
    found: Result<delegation::Delegation, delegation::Missing>,
) -> Result<(), String> {
    let Some(first) = flags.first() else {
        return Ok(());
    };
    let why = match found {
        Err(missing) => {
            format!("sem cgroup delegado, o casulo sem root roda sem limites: {missing}")
        }
        Ok(d) => {
            let lacks = d.lacks(flags);
            if lacks.is_empty() {
                return Ok(());
            }
            format!(
                "o cgroup delegado {} não recebeu o(s) controlador(es) {} (seu cgroup.controllers \
                 lista: {}; quem delegou precisa escrever +{} no cgroup.subtree_control de cima)",
                d.dir.display(),
                lacks.join(", "),
                if d.controllers.is_empty() {
                    "nada".to_string()
                } else {
                    d.controllers.join(" ")
                },
                lacks.join(" +")
            )
        }
    };
    Err(format!(
        "{} precisa de um cgroup: {why}. Tire {} ou rode com sudo",
        flags.join(", "),
        if flags.len() == 1 {
            first
        } else {
            "essas opções"
        }
    ))
}

/// `--network bridge`, a named network, `-p`.
pub fn network(mode: &str) -> Result<(), String> {
    Err(format!(
        "{mode} precisa de uma bridge e de um par veth no host, o que só o root cria; \
         sem root o contêiner fica com a própria rede isolada, e -p publica portas \
         pelo pasta (sem bridge). Tire a opção ou rode com sudo"
    ))
}

/// `--privileged`, `--userns`, the daemon, `network create`…
pub fn host_only(what: &str, why: &str) -> Result<(), String> {
    Err(format!(
        "{what} não funciona sem root: {why}. Rode com sudo se precisar disso"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_messages_name_the_flags_and_the_reason() {
        use delegation::{Delegation, Missing};
        assert!(limits(&[]).is_ok());
        let none = || Err(Missing::NotV2("hybrid"));
        let one = limits_with(&["--memory"], none()).unwrap_err();
        assert!(one.contains("--memory precisa de um cgroup"), "{one}");
        assert!(one.contains("sem cgroup delegado"), "{one}");
        assert!(one.contains("Tire --memory"), "{one}");
        let two = limits_with(&["--memory", "--cpus"], none()).unwrap_err();
        assert!(two.contains("Tire essas opções"), "{two}");
        let d = Delegation {
            dir: "/sys/fs/cgroup/u".into(),
            controllers: vec!["memory".into(), "pids".into()],
        };
        assert!(limits_with(&["--memory", "--pids-limit"], Ok(d.clone())).is_ok());
        let cpu = limits_with(&["--cpus"], Ok(d)).unwrap_err();
        assert!(
            cpu.contains("não recebeu o(s) controlador(es) cpu"),
            "{cpu}"
        );
        assert!(cpu.contains("lista: memory pids"), "{cpu}");
        assert!(network("--network bridge").unwrap_err().contains("bridge"));
    }
}
