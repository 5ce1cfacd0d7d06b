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
