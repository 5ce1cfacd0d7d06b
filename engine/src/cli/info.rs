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
    println!("cgroup de cada um:   {}", layout(mode));
    println!("diretório de estado: {}", state.root().display());
    println!("executando como:     uid {}", nix::unistd::geteuid());
    Ok(0)
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
