//! The CLI's side of rootless mode (see [`crate::rootless`]): what is
//! refused before anything is made, then the user namespace entered (a
//! new one, or the container's for `exec`).

use super::Command;
use crate::rootless::refusals;
use crate::state::StateDir;

/// Refuses, with the reason, what a rootless casulo cannot do.
pub fn refuse(command: &Command) -> Result<(), String> {
    match command {
        Command::Run(args) => {
            let mut limits = Vec::new();
            let flags = [
                (args.memory.is_some(), "--memory"),
                (args.memory_swap.is_some(), "--memory-swap"),
                (args.cpus.is_some(), "--cpus"),
                (args.cpu_shares.is_some(), "--cpu-shares"),
                (args.cpu_weight.is_some(), "--cpu-weight"),
                (args.pids_limit.is_some(), "--pids-limit"),
            ];
            for (given, flag) in flags {
                if given {
                    limits.push(flag);
                }
            }
            refusals::limits(&limits)?;
            match &args.network {
                Some(crate::network::NetworkMode::Bridge) => refusals::network("--network bridge")?,
                Some(crate::network::NetworkMode::Named(name)) => {
                    refusals::network(&format!("--network {name}"))?
                }
                _ => {}
            }
            if args.privileged {
                refusals::host_only(
                    "--privileged",
                    "o root do contêiner seria só o root do seu user namespace, sem os \
                     dispositivos, módulos e /sys do host que --privileged promete",
                )?;
            }
            if args.userns.as_deref().is_some_and(|m| m != "host") {
                refusals::host_only(
                    "--userns",
                    "sem root o contêiner já roda num user namespace (o do casulo), com o \
                     seu usuário como root",
                )?;
            }
            Ok(())
        }
        Command::Network(cmd) if cmd.changes_state() => refusals::host_only(
            "casulo network (criar, remover, conectar)",
            "uma rede é uma bridge no host, e só o root cria interfaces no host",
        ),
        Command::Daemon(_) => refusals::host_only(
            "casulo daemon",
            "o daemon atende no socket /run/casulo/casulo.sock e cria redes no host",
        ),
        Command::Gc(_) => refusals::host_only(
            "casulo gc",
            "ele limpa cgroups, endereços e regras de firewall do host; sem root o \
             casulo não cria nada disso (`casulo rm` remove os seus contêineres)",
        ),
        Command::Pause(_) | Command::Unpause(_) | Command::Stats(_) | Command::Top(_) => {
            refusals::host_only(
                "este comando (pause, unpause, stats, top)",
                "ele usa o cgroup do contêiner, e sem root o contêiner só tem um quando pede \
                 limites, num cgroup delegado — que estes comandos ainda não procuram",
            )
        }
        _ => Ok(()),
    }
}

/// Enters the user namespace for `command`: `exec` joins its running
/// container's, everything else makes a new one. Only for an ordinary user
/// (the supervisor and helpers are already inside).
pub fn enter(state: &StateDir, command: &Command) -> Result<(), String> {
    // `lab` reads the student's own files and runs its `comando` checks as
    // the student (their `id -u`, their files' owners as the host shows
    // them); only `reiniciar` enters, to delete what a container's other
    // users (sub-ids) wrote in the work folder.
    if let Command::Lab(cmd) = command {
        if !matches!(cmd.0, super::lab::LabCmd::Reiniciar(_)) {
            return Ok(());
        }
    }
    if let Command::Exec(args) = command {
        let key = args.container_and_command.first().map(String::as_str);
        let pid = key
            .and_then(|key| crate::container::find(state, key).ok())
            .and_then(|record| record.pid);
        if let Some(pid) = pid {
            return crate::rootless::join(pid).map_err(|e| e.to_string());
        }
    }
    let maps = crate::rootless::enter().map_err(|e| e.to_string())?;
    let makes = matches!(
        command,
        Command::Run(_) | Command::Build(_) | Command::Image(_) | Command::Pull(_)
    );
    if makes && !maps.subids {
        eprintln!(
            "casulo: nota: sem root e sem linha sua em /etc/subuid e /etc/subgid, o user \
             namespace tem um só id (0 = você): arquivos de imagens com outros donos ficam \
             do root do contêiner (peça ao administrador uma faixa: usermod --add-subuids)"
        );
    }
    if let Command::Run(args) = command {
        let limited = args.memory.is_some()
            || args.memory_swap.is_some()
            || args.cpus.is_some()
            || args.cpu_shares.is_some()
            || args.cpu_weight.is_some()
            || args.pids_limit.is_some();
        let on_path = |tool: &str| {
            std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        };
        let network = match (&args.network, on_path("pasta")) {
            (Some(_), _) => "",
            (None, true) => "; rede pelo pasta",
            (None, false) => {
                "; sem rede: o pasta não está instalado (pacote passt), e o contêiner fica \
                 só com o lo"
            }
        };
        if !limited {
            eprintln!(
                "casulo: nota: sem root: o contêiner roda no seu user namespace, sem cgroup \
                 (sem limites de memória, CPU ou processos){network}"
            );
        } else if !network.is_empty() {
            eprintln!("casulo: nota: sem root{network}");
        }
    }
    Ok(())
}
