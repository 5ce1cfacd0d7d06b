//! `/version` and `/info`: who the daemon is and what this host holds
//! (`docker version`, `docker info`).

use hyper::StatusCode;
use serde_json::{json, Value};

use super::http::{Reply, API_VERSION, MIN_API_VERSION};
use super::Ctx;
use crate::cgroups::{detect_mode, CgroupMode};
use crate::container::ContainerState;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub fn version() -> Reply {
    let engine = json!({
        "Version": VERSION,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "rust",
        "Os": "linux",
        "Arch": arch(),
        "KernelVersion": kernel(),
        "BuildTime": "",
    });
    let mut all = engine.clone();
    all["Platform"] = json!({ "Name": "Casulo (um laboratório de contêineres)" });
    all["Components"] = json!([{ "Name": "Engine", "Version": VERSION, "Details": engine }]);
    Reply::Json(StatusCode::OK, all)
}

pub fn info(ctx: &Ctx) -> Reply {
    let containers = crate::container::list(&ctx.state);
    let count = |s: ContainerState| containers.iter().filter(|r| r.state == s).count();
    let images = crate::image::Store::open(&ctx.state)
        .and_then(|s| s.list())
        .map(|l| l.len())
        .unwrap_or(0);
    let mode = detect_mode(std::path::Path::new(crate::cgroups::DEFAULT_ROOT));
    let mem_total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024;
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into());
    let hostname = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut v = json!({
            "ID": format!("casulo-{hostname}"),
            "Containers": containers.len(),
            "ContainersRunning": count(ContainerState::Running),
            "ContainersPaused": count(ContainerState::Paused),
            "ContainersStopped": count(ContainerState::Exited),
            "Images": images,
            "Driver": "overlay",
            "DriverStatus": [["Camadas em", ctx.state.root().join("layers").display().to_string()]],
            "DockerRootDir": ctx.state.root(),
            "Plugins": {
                "Volume": ["local"],
                "Network": ["none", "bridge"],
                "Log": ["json-file"],
            },
    });
    let more = json!({
            "MemoryLimit": true,
            "SwapLimit": true,
            "CpuCfsPeriod": true,
            "CpuCfsQuota": true,
            "CPUShares": true,
            "PidsLimit": true,
            "OomKillDisable": false,
            "IPv4Forwarding": true,
            "Debug": false,
            "NFd": 0,
            "NGoroutines": 0,
            "SystemTime": crate::container::run::now_rfc3339(),
            "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs",
            "CgroupVersion": if mode == CgroupMode::V2 { "2" } else { "1" },
            "KernelVersion": kernel(),
            "OperatingSystem": os,
            "OSVersion": "",
            "OSType": "linux",
            "Architecture": std::env::consts::ARCH,
            "NCPU": ncpu,
            "MemTotal": mem_total,
            "IndexServerAddress": "",
            "Name": hostname,
            "Labels": [],
            "ExperimentalBuild": false,
            "ServerVersion": VERSION,
            "Runtimes": { "casulo": { "path": exe } },
            "DefaultRuntime": "casulo",
            "Swarm": { "LocalNodeState": "inactive", "ControlAvailable": false },
            "LiveRestoreEnabled": true,
            "Isolation": "",
            "InitBinary": "",
            "SecurityOptions": ["name=seccomp,profile=builtin", "name=no-new-privileges"],
            "Warnings": [],
    });
    if let (Some(v), Value::Object(more)) = (v.as_object_mut(), more) {
        v.extend(more);
    }
    Reply::Json(StatusCode::OK, v)
}
