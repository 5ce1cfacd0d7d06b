//! `casulo info`: facts about this host that matter for containers.

use std::path::Path;

use super::CliResult;
use crate::cgroups::{detect_mode, CgroupMode};
use crate::state::StateDir;

pub fn run(state: &StateDir) -> CliResult {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mode = detect_mode(Path::new("/sys/fs/cgroup"));
    println!("casulo {}", env!("CARGO_PKG_VERSION"));
    println!("kernel:              {}", kernel.trim());
    println!("cgroups:             {} — {}", mode.as_str(), explain(mode));
    if crate::rootless::active() {
        println!("diretório de estado: {}", state.root().display());
        rootless();
        return Ok(0);
    }
    println!("cgroup de cada um:   {}", layout(mode));
    println!("diretório de estado: {}", state.root().display());
    println!("executando como:     uid {}", nix::unistd::geteuid());
    userns(state);
    Ok(0)
}

/// Rootless mode (see [`crate::rootless`]): why, the maps, and what works.
fn rootless() {
    use crate::rootless::{current_maps, Maps};
    let (uids, gids) = current_maps();
    let host = uids.first().map(|r| r.outside).unwrap_or_default();
    println!(
        "modo:                rootless — você não é root (uid {host} no host): o casulo roda \
         num user namespace seu, onde é o root"
    );
    let from = if uids.len() > 1 {
        "faixa de /etc/subuid e /etc/subgid, escrita com newuidmap/newgidmap"
    } else {
        "um só id: sem linha sua em /etc/subuid e /etc/subgid"
    };
    println!("mapa de uids:        {} ({from})", Maps::describe(&uids));
    println!("mapa de gids:        {}", Maps::describe(&gids));
    match crate::rootless::runtime_dir() {
        Ok(dir) => println!("estado de execução:  {}", dir.display()),
        Err(e) => println!("estado de execução:  {e}"),
    }
    match crate::rootless::delegation::find() {
        Ok(d) => {
            let flags: Vec<&str> = crate::rootless::delegation::NEEDS
                .iter()
                .map(|(flag, _)| *flag)
                .collect();
            let lacks = d.lacks(&flags);
            let limits = if lacks.is_empty() {
                "--memory, --cpus e --pids-limit funcionam (o cgroup do contêiner vai em \
                 casulo/<id> dentro dele)"
                    .to_string()
            } else {
                format!(
                    "sem o(s) controlador(es) {}: as opções que precisam dele(s) são recusadas",
                    lacks.join(", ")
                )
            };
            println!(
                "cgroup delegado:     {} (controladores: {}) — {limits}",
                d.dir.display(),
                d.controllers.join(" ")
            );
        }
        Err(why) => println!(
            "cgroup delegado:     nenhum — os contêineres rodam sem limites; --memory, --cpus \
             e --pids-limit são recusados: {why}"
        ),
    }
    match crate::rootless::probe_overlay() {
        Ok(()) => println!(
            "overlay:             nativo no user namespace (montado de verdade agora, com userxattr)"
        ),
        Err(e) => println!("overlay:             não funciona no user namespace: {e}"),
    }
    let found = |tool: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
    };
    if found("pasta") {
        println!(
            "rede:                cada contêiner com a própria rede, ligada ao host pelo pasta \
             (encontrado): sai para fora, e -p publica portas; --network none deixa só o lo; \
             sem bridge nem --network bridge"
        );
    } else {
        println!(
            "rede:                sem o pasta, que não está instalado (pacote passt), cada \
             contêiner fica só com o lo, e -p não funciona"
        );
    }
}

fn explain(mode: CgroupMode) -> &'static str {
    match mode {
        CgroupMode::V1 => "só as hierarquias antigas, uma por controlador",
        CgroupMode::V2 => {
            "uma hierarquia única (cgroup2), como na maioria das distribuições atuais"
        }
        CgroupMode::Hybrid => "controladores v1 e um cgroup2 em /sys/fs/cgroup/unified",
        CgroupMode::Unknown => "não encontrei cgroups montados em /sys/fs/cgroup",
    }
}

/// Where each container's cgroup goes in this mode.
fn layout(mode: CgroupMode) -> String {
    match mode {
        CgroupMode::V2 => {
            "/sys/fs/cgroup/casulo/<id> (v2: um diretório com memory, cpu e pids)".to_string()
        }
        CgroupMode::V1 | CgroupMode::Hybrid => {
            let names: Vec<String> = crate::cgroups::v1::hierarchies(Path::new("/sys/fs/cgroup"))
                .iter()
                .map(|h| h.controllers.join(","))
                .collect();
            format!(
                "/sys/fs/cgroup/<controlador>/casulo/<id> (v1: um diretório por hierarquia: {})",
                names.join(", ")
            )
        }
        CgroupMode::Unknown => "nenhum (sem limites de recursos)".to_string(),
    }
}

/// What `--userns` would use, and whether idmapped layers work on the
/// filesystem of the state dir (tried for real, see
/// [`crate::security::userns::probe`]).
fn userns(state: &StateDir) {
    use crate::security::userns;
    let ids = match userns::resolve(Path::new("/etc")) {
        Ok(ids) => ids,
        Err(e) => {
            println!("--userns:            não funciona: {e}");
            return;
        }
    };
    println!("--userns:            {}", ids.describe());
    // Where the layers are (or will be): the state dir, else its parent.
    let dir = [
        state.root(),
        state.root().parent().unwrap_or(Path::new("/")),
    ]
    .into_iter()
    .find(|d| d.is_dir())
    .unwrap_or(Path::new("/"));
    let rec = crate::recorder::Recorder::in_memory();
    let k = crate::kernel::Kernel::new(&crate::kernel::LinuxSyscalls, &rec);
    match userns::probe(&k, dir, &ids) {
        Ok(()) => println!(
            "montagens idmapped:  funcionam em {} (as camadas aparecem como do root do contêiner, sem cópia)",
            dir.display()
        ),
        Err(e) => println!(
            "montagens idmapped:  não funcionam em {}: {e} — `casulo run --userns` recusa aqui",
            dir.display()
        ),
    }
}
