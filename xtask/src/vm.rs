//! `cargo xtask vm`: the cgroup v2 code against a real pure-v2 kernel.
//!
//! This machine is hybrid (v1 controllers), so cgroup v2 limits can only be
//! tested inside a VM (recipe: `shared/notes/cgroup-v2-under-qemu.md`):
//!
//! 1. the kernel: Debian's `linux-image-cloud-amd64`, resolved to the real
//!    package, `apt-get download`ed and unpacked with `dpkg-deb -x` into
//!    `target/vm/kernel/` (cached: done once), keeping `vmlinuz` and
//!    `overlay.ko` (overlayfs is a module in that kernel);
//! 2. a static casulo (musl, release) and the probe;
//! 3. an initramfs: the host's static busybox and its applet links,
//!    `dev/console`/`dev/null`, overlay.ko, casulo, probe, and
//!    `xtask/vm/init.sh` as `/init`, which runs the limit tests;
//! 4. `qemu-system-x86_64` (TCG: no KVM here) booted with
//!    `cgroup_no_v1=all`, always under `timeout`, its serial console in
//!    `target/vm/console.log`;
//! 5. the console must show `CASULO-VM-OK` for every test in [`EXPECTED`]
//!    and `CASULO-VM-FIM … falhas=0`, or this step fails.
//!
//! [`kernel`], [`initramfs`] and [`qemu`] also make the VMs that
//! `cargo xtask medir` compares with containers (`medir_vms.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::cmd::{self, cargo, step};
use crate::{fail, Result};

/// The tests `/init` runs; each must print `CASULO-VM-OK <name>`.
pub const EXPECTED: &[&str] = &[
    "modo-v2",
    "oom",
    "memoria-abaixo",
    "pids",
    "cpu",
    "amostras",
    "cgroupns",
    "cgroup-visao",
    "dispositivos",
    "pausa",
    "sem-sobras",
];

const KERNEL_META: &str = "linux-image-cloud-amd64";
const INIT: &str = include_str!("../vm/init.sh");
const TARGET: &str = "x86_64-unknown-linux-musl";
/// Whole VM run, boot to poweroff (normally ~30 s under TCG).
const TIMEOUT_SECS: &str = "240";

pub fn run(probe: Option<PathBuf>) -> Result {
    let dir = cmd::target_dir().join("vm");
    std::fs::create_dir_all(&dir)?;
    step("VM cgroup v2: kernel do Debian (cache em target/vm/kernel)");
    let (vmlinuz, overlay) = kernel()?;

    step("VM cgroup v2: casulo estático (musl, release)");
    // The registry client's TLS (rustls + ring) has C code: musl-tools' gcc.
    cmd::run_timed(
        cargo()
            .args(["build", "-p", "casulo", "--release", "--target", TARGET])
            .env("CC_x86_64_unknown_linux_musl", "musl-gcc"),
    )?;
    let casulo = cmd::target_dir().join(TARGET).join("release/casulo");
    let probe = match probe {
        Some(p) => p,
        None => crate::test::build_probe()?,
    };

    step("VM cgroup v2: initramfs (busybox, casulo, probe, overlay.ko, /init)");
    let initrd = dir.join("initrd.gz");
    initramfs(
        &dir.join("initramfs"),
        INIT,
        &[
            (&casulo, "casulo"),
            (&probe, "probe"),
            (&overlay, "overlay.ko"),
        ],
        &initrd,
    )?;
    println!(
        "  {} ({} KiB)",
        initrd.display(),
        std::fs::metadata(&initrd)?.len() / 1024
    );

    step("VM cgroup v2: boot no qemu (TCG, cgroup_no_v1=all) e testes de limites");
    let console = dir.join("console.log");
    let _ = std::fs::remove_file(&console);
    let start = Instant::now();
    let status = qemu(
        TIMEOUT_SECS,
        512,
        &vmlinuz,
        &initrd,
        &format!("file:{}", console.display()),
        "cgroup_no_v1=all",
    )
    .stdin(std::process::Stdio::null())
    .status()
    .map_err(|e| {
        format!("não consegui rodar qemu-system-x86_64 ({e}): rode `cargo xtask setup`")
    })?;
    let secs = start.elapsed().as_secs_f64();
    let log = std::fs::read_to_string(&console).unwrap_or_default();
    for line in log.lines() {
        let line = line.trim_end_matches('\r');
        if !line.trim().is_empty() {
            println!("  | {line}");
        }
    }
    println!(
        "  (qemu terminou em {secs:.1} s: {})",
        cmd::describe(status)
    );
    let missing: Vec<&str> = EXPECTED
        .iter()
        .filter(|t| {
            !log.contains(&format!("CASULO-VM-OK {t}\n"))
                && !log.contains(&format!("CASULO-VM-OK {t}\r"))
        })
        .copied()
        .collect();
    let finished = log.contains("CASULO-VM-FIM") && log.contains("falhas=0");
    if !missing.is_empty() || !finished {
        fail!(
            "os testes de cgroup v2 na VM falharam (faltou: {}); console completo em {}",
            if missing.is_empty() {
                "o marcador final".to_string()
            } else {
                missing.join(", ")
            },
            console.display()
        );
    }
    println!(
        "  cgroup v2 na VM: {} testes ok em {secs:.1} s",
        EXPECTED.len()
    );
    Ok(())
}

/// `qemu-system-x86_64` under `timeout -k 5 <secs>` (so it can never hang
/// a run; `--foreground` keeps qemu in the caller's process group, so a
/// Ctrl-C reaches it at once): TCG (no KVM here), one vCPU, `memory_mb` of RAM, no devices but
/// the serial console (`serial`: `file:<path>` or `stdio`), booting
/// `vmlinuz` + `initrd` with `console=ttyS0 quiet panic=-1` and `append`.
/// Shared by the cgroup v2 tests and `cargo xtask medir`.
pub fn qemu(
    timeout_secs: &str,
    memory_mb: u32,
    vmlinuz: &Path,
    initrd: &Path,
    serial: &str,
    append: &str,
) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.args([
        "--foreground",
        "-k",
        "5",
        timeout_secs,
        "qemu-system-x86_64",
    ])
    .args(["-accel", "tcg", "-cpu", "max", "-smp", "1"])
    .arg("-m")
    .arg(memory_mb.to_string())
    .args(["-nodefaults", "-no-user-config", "-display", "none"])
    .args(["-no-reboot", "-monitor", "none"])
    .args(["-serial", serial])
    .arg("-kernel")
    .arg(vmlinuz)
    .arg("-initrd")
    .arg(initrd)
    .arg("-append")
    .arg(format!("console=ttyS0 quiet panic=-1 {append}").trim_end());
    cmd
}

/// `vmlinuz` and `overlay.ko` of Debian's cloud kernel, downloaded once
/// into `target/vm/kernel/`.
pub fn kernel() -> Result<(PathBuf, PathBuf)> {
    let cache = &cmd::target_dir().join("vm/kernel");
    let (vmlinuz, overlay) = (cache.join("vmlinuz"), cache.join("overlay.ko"));
    if vmlinuz.is_file() && overlay.is_file() {
        println!("  ok      {} (em cache)", vmlinuz.display());
        return Ok((vmlinuz, overlay));
    }
    std::fs::create_dir_all(cache)?;
    // The meta package depends on the real one: linux-image-6.1.0-NN-cloud-amd64.
    let deps = cmd::capture(Command::new("apt-cache").args(["depends", KERNEL_META]))?;
    let Some(pkg) = deps.lines().find_map(|l| {
        l.trim()
            .strip_prefix("Depends: ")
            .filter(|p| p.starts_with("linux-image-"))
            .map(str::to_string)
    }) else {
        fail!("não achei o pacote real do kernel em `apt-cache depends {KERNEL_META}`:\n{deps}");
    };
    println!("  baixando {pkg} ({KERNEL_META})");
    cmd::run(
        Command::new("apt-get")
            .args(["download", &pkg])
            .current_dir(cache),
    )?;
    let deb = std::fs::read_dir(cache)?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .ok_or("apt-get download não deixou nenhum .deb")?;
    let extract = cache.join("extract");
    let _ = std::fs::remove_dir_all(&extract);
    cmd::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&extract))?;
    let found_vmlinuz = find(&extract.join("boot"), &|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
    })
    .ok_or("o pacote do kernel não tem boot/vmlinuz-*")?;
    let found_overlay = find(&extract.join("lib/modules"), &|p| {
        p.file_name().is_some_and(|n| n == "overlay.ko")
    })
    .ok_or("o pacote do kernel não tem overlay.ko (descomprimido)")?;
    std::fs::copy(found_vmlinuz, &vmlinuz)?;
    std::fs::copy(found_overlay, &overlay)?;
    std::fs::remove_dir_all(&extract)?;
    std::fs::remove_file(&deb)?;
    Ok((vmlinuz, overlay))
}

/// The first file under `dir` (recursively) that `pred` accepts.
fn find(dir: &Path, pred: &dyn Fn(&Path) -> bool) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(p) = find(&path, pred) {
                return Some(p);
            }
        } else if pred(&path) {
            return Some(path);
        }
    }
    None
}

/// Packs an initramfs into `out` (gzip'd cpio, built in `dir`): the host's
/// static busybox and its applet links, `dev/console` and `dev/null`,
/// `init` as `/init`, and each `(file, name)` of `files` copied to `/<name>`.
pub fn initramfs(dir: &Path, init: &str, files: &[(&Path, &str)], out: &Path) -> Result {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_dir_all(dir);
    for sub in [
        "bin", "sbin", "usr/bin", "usr/sbin", "dev", "etc", "proc", "sys",
    ] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let busybox = Path::new("/bin/busybox");
    std::fs::copy(busybox, dir.join("bin/busybox"))?;
    let applets = cmd::capture(Command::new(busybox).arg("--list-full"))?;
    for applet in applets.lines().map(str::trim).filter(|a| !a.is_empty()) {
        let link = dir.join(applet);
        if applet != "bin/busybox" && !link.exists() {
            if let Some(parent) = link.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::os::unix::fs::symlink("/bin/busybox", &link)?;
        }
    }
    for (name, minor) in [("console", "1"), ("null", "3")] {
        let (major, minor) = if name == "console" {
            ("5", minor)
        } else {
            ("1", minor)
        };
        cmd::run(
            Command::new("mknod")
                .args(["-m", "600"])
                .arg(dir.join("dev").join(name))
                .args(["c", major, minor]),
        )?;
    }
    std::fs::write(dir.join("init"), init)?;
    std::fs::set_permissions(dir.join("init"), std::fs::Permissions::from_mode(0o755))?;
    for (from, to) in files {
        std::fs::copy(from, dir.join(to))?;
    }
    let script = format!(
        "cd {} && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1 > {}",
        dir.display(),
        out.display()
    );
    cmd::run(Command::new("sh").args(["-c", &script]))
}
