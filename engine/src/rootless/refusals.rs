//! What a rootless casulo refuses up front, and why (said to the student
//! before anything is created). The CLI asks these before entering the
//! user namespace.

use std::path::PathBuf;

/// The cgroup v2 directory systemd delegated to this user
/// (`…/user@UID.service`), when the host is pure v2 and the user may write
/// it. Hybrid/v1 hosts (like this project's Debian) have none.
pub fn delegated_cgroup() -> Option<PathBuf> {
    let root = std::path::Path::new(crate::cgroups::DEFAULT_ROOT);
    if crate::cgroups::detect_mode(root) != crate::cgroups::CgroupMode::V2 {
        return None;
    }
    let me = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = me.lines().find_map(|l| l.strip_prefix("0::"))?;
    let service = format!("user@{}.service", nix::unistd::getuid());
    let cut = path.find(&service)? + service.len();
    let dir = root.join(path[..cut].trim_start_matches('/'));
    let procs = dir.join("cgroup.subtree_control");
    nix::unistd::access(&procs, nix::unistd::AccessFlags::W_OK)
        .ok()
        .map(|_| dir)
}

/// `--memory`, `--cpus`, `--pids-limit`… (the flags given, as typed).
pub fn limits(flags: &[&str]) -> Result<(), String> {
    let Some(first) = flags.first() else {
        return Ok(());
    };
    let why = match delegated_cgroup() {
        None => "este host não delegou ao seu usuário um cgroup v2 \
                 (o systemd faz isso em user@UID.service nos sistemas só com cgroup v2), \
                 e sem root não se escreve em /sys/fs/cgroup"
            .to_string(),
        Some(dir) => format!(
            "há um cgroup delegado ({}), mas o casulo sem root ainda não o usa",
            dir.display()
        ),
    };
    Err(format!(
        "{} precisa de um cgroup, e sem root o casulo roda sem limites: {why}. \
         Tire {} ou rode com sudo",
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
        assert!(limits(&[]).is_ok());
        let one = limits(&["--memory"]).unwrap_err();
        assert!(one.contains("--memory precisa de um cgroup"), "{one}");
        assert!(one.contains("Tire --memory"), "{one}");
        let two = limits(&["--memory", "--cpus"]).unwrap_err();
        assert!(two.contains("Tire essas opções"), "{two}");
        assert!(network("--network bridge").unwrap_err().contains("bridge"));
    }
}
