//! Rootless network: `pasta` (Debian package passt) gives a container's
//! network namespace a tap interface and forwards the published ports
//! (`-p`) from the host, in user space. casulo (root of its user namespace,
//! still in the host's network namespace) starts it after the container's
//! init exists: pasta joins the init's network namespace (which belongs to
//! casulo's user namespace), binds the host ports, daemonizes once ready
//! (so `run -d -p` returns with the port answering), and is stopped when
//! the container ends.

use std::path::{Path, PathBuf};

use casulo_trace::{EventBody, Outcome};

use crate::kernel::PortSpec;
use crate::recorder::Recorder;

/// A running pasta, stopped by [`Pasta::stop`] (or when dropped).
#[derive(Debug)]
pub struct Pasta {
    pid: i32,
    ports: Vec<PortSpec>,
    pid_file: PathBuf,
    netns: PathBuf,
}

/// Starts pasta for the init `pid`, publishing `ports`; the pid file goes
/// in `dir` (the container's directory). Records `net.pasta` and a
/// `net.port` per port. An error says what is missing.
pub fn start(rec: &Recorder, dir: &Path, pid: i32, ports: &[PortSpec]) -> Result<Pasta, String> {
    let pid_file = dir.join("pasta.pid");
    // pasta drops CAP_SYS_PTRACE before it opens the namespace, and
    // `/proc/PID/ns/net` needs it here: casulo (with every capability of its
    // namespace) binds it to a file first, like `ip netns`; an nsfs bind
    // opens without the ptrace check.
    let netns = dir.join("netns");
    bind_netns(pid, &netns)?;
    let netns = netns.display().to_string();
    let args = arguments(&pid_file, &netns, ports);
    let op = format!("pasta {}", args.join(" "));
    let shown: Vec<String> = ports.iter().map(ToString::to_string).collect();
    let failed = run_pasta(&args);
    let helper = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());
    let body = |helper_pid| EventBody::NetPasta {
        target_pid: pid,
        helper_pid,
        ports: shown.clone(),
    };
    match (failed, helper) {
        (None, Some(helper)) => {
            rec.record(body(helper), op, Outcome::Ok);
            record_ports(rec, ports);
            Ok(Pasta {
                pid: helper,
                ports: ports.to_vec(),
                pid_file,
                netns: PathBuf::from(netns),
            })
        }
        (why, _) => {
            unbind_netns(Path::new(&netns));
            let why = why.unwrap_or_else(|| "não escreveu o arquivo de pid".into());
            rec.record(
                body(0),
                op,
                Outcome::Error(casulo_trace::Errno {
                    errno: libc::EIO,
                    name: "EIO".into(),
                    message: why.clone(),
                }),
            );
            Err(format!("a rede sem root (pasta) não subiu: {why}"))
        }
    }
}

/// pasta's command line: the container's side (`eth0`, the netns bound
/// in `netns`), who it runs as, its pid file, and the ports.
fn arguments(pid_file: &Path, netns: &str, ports: &[PortSpec]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--config-net".into(),
        // The name every container has (the default is the host's own).
        "--ns-ifname".into(),
        "eth0".into(),
        "--quiet".into(),
        // Runs as the user (root of casulo's namespace), not as "nobody",
        // which a single-id map does not have.
        "--runas".into(),
        "0:0".into(),
        "--pid".into(),
        pid_file.display().to_string(),
        "--netns".into(),
        netns.to_string(),
        "-T".into(),
        "none".into(),
        "-U".into(),
        "none".into(),
    ];
    args.extend([
        "-t".into(),
        port_list(ports, crate::kernel::Protocol::Tcp),
        "-u".into(),
        port_list(ports, crate::kernel::Protocol::Udp),
    ]);
    args
}

/// The `-t`/`-u` value for one protocol: `[ADDR/]HOST:CONTAINER,…`, or `none`.
fn port_list(ports: &[PortSpec], proto: crate::kernel::Protocol) -> String {
    let each: Vec<String> = ports
        .iter()
        .filter(|p| p.protocol == proto)
        .map(|p| {
            let addr = if p.host_ip.is_unspecified() {
                String::new()
            } else {
                format!("{}/", p.host_ip)
            };
            format!("{addr}{}:{}", p.host_port, p.container_port)
        })
        .collect();
    if each.is_empty() {
        "none".into()
    } else {
        each.join(",")
    }
}

/// Runs pasta (it daemonizes once ready); why it failed, if it did.
fn run_pasta(args: &[String]) -> Option<String> {
    let out = std::process::Command::new("pasta")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output();
    match &out {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "{}: {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .filter(|l| !l.contains("syslog"))
                .collect::<Vec<_>>()
                .join(" ")
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some("o pasta não está instalado (pacote passt: apt-get install passt)".to_string())
        }
        Err(e) => Some(e.to_string()),
    }
}

/// A `net.port` per published port, each bound on the host by pasta.
fn record_ports(rec: &Recorder, ports: &[PortSpec]) {
    for p in ports {
        rec.record(
            EventBody::NetPort {
                protocol: p.protocol.to_string(),
                host_ip: p.host_ip.to_string(),
                host_port: p.host_port,
                container_ip: "(rede do pasta)".into(),
                container_port: p.container_port,
                mechanism: "pasta".into(),
            },
            format!("pasta: bind({}:{}) no host", p.host_ip, p.host_port),
            Outcome::Ok,
        );
    }
}

impl Pasta {
    /// Stops pasta (SIGKILL: it keeps nothing to save, and it does not end
    /// on SIGTERM here; reaped by init, as it daemonized) and records each
    /// port's `net.port_close`.
    pub fn stop(self, rec: &Recorder) {
        // SAFETY: a signal to the pasta this casulo started.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        // Its ports are free once it has exited (a zombie holds no socket):
        // waited for, so a `run -p` right after this one can bind them.
        wait_exited(self.pid, std::time::Duration::from_secs(2));
        for p in &self.ports {
            rec.record(
                EventBody::NetPortClose {
                    protocol: p.protocol.to_string(),
                    host_ip: p.host_ip.to_string(),
                    host_port: p.host_port,
                },
                format!("kill({}, SIGKILL) /* pasta */", self.pid),
                Outcome::Ok,
            );
        }
        let _ = std::fs::remove_file(&self.pid_file);
        unbind_netns(&self.netns);
    }
}

/// Until `pid` has exited (gone, or a zombie: pasta runs in the
/// background, so init reaps it, not this casulo), at most `limit`.
fn wait_exited(pid: i32, limit: std::time::Duration) {
    let began = std::time::Instant::now();
    while began.elapsed() < limit {
        let fields = crate::kernel::proc_stat::fields(&pid.to_string());
        let state = fields.as_ref().and_then(|f| f.first()).map(String::as_str);
        if matches!(state, None | Some("Z" | "X")) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// `mount --bind /proc/PID/ns/net FILE` (in casulo's own mount namespace).
fn bind_netns(pid: i32, file: &Path) -> Result<(), String> {
    std::fs::File::create(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let source = format!("/proc/{pid}/ns/net");
    nix::mount::mount(
        Some(source.as_str()),
        file,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| {
        let _ = std::fs::remove_file(file);
        format!("mount --bind {source} {}: {e}", file.display())
    })
}

fn unbind_netns(file: &Path) {
    let _ = nix::mount::umount2(file, nix::mount::MntFlags::MNT_DETACH);
    let _ = std::fs::remove_file(file);
}
