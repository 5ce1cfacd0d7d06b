//! `cargo xtask vm`: the cgroup v2 code against a real pure-v2 kernel.
//!
//! This machine is hybrid (v1 controllers), so cgroup v2 limits can only be
//! tested inside a VM (recipe: `shared/notes/cgroup-v2-under-qemu.md`);
//! and the students' laptops are pure v2, so the demo's whole path runs
//! there too:
//!
//! 1. the kernel: Debian's `linux-image-cloud-amd64`, resolved to the real
//!    package, `apt-get download`ed and unpacked with `dpkg-deb -x` into
//!    `target/vm/kernel/` (cached: done once), keeping `vmlinuz` and the
//!    modules of [`MODULES`] with their dependencies, in load order
//!    (`modules/NN-name.ko`: overlayfs, bridge, veth, nftables, NAT are
//!    modules in that kernel);
//! 2. `dist/casulo` (`cargo xtask dist`: static, musl, the course inside —
//!    the file a teacher hands out) and the probe;
//! 3. an initramfs: the host's static busybox and its applet links,
//!    `dev/console`/`dev/null`, the modules, casulo, probe, `nft` with its
//!    libraries, the docker CLI (a static binary), the multi-stage build
//!    context of the trace fixtures as `/ctx/estagios`, `xtask/vm/demo.sh`
//!    and `xtask/vm/init.sh` as `/init`, which runs the limit tests and then
//!    the demo's path (`demo.sh`: bootstrap, build twice with cache, the
//!    built image, `--network bridge -p` asked from the VM, `-d` + `exec` +
//!    `stop` + `rm`, a volume, the daemon with `docker`, `-p` by DNAT), and
//!    then `rootless.sh`: an ordinary user with sub-ids and a cgroup
//!    subtree delegated by hand as systemd does, running casulo without
//!    root (`run`, a build, `-p` and the way out through pasta, `--memory`
//!    that OOM-kills, `--pids-limit`);
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

use crate::cmd::{self, step};
use crate::{fail, musl, Result};

/// The tests `/init` runs; each must print `CASULO-VM-OK <name>`. The
/// last ones are the demo's path (`demo.sh`).
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
    "demo-primeiro",
    "build-estagios",
    "build-cache",
    "imagem-construida",
    "rede-porta",
    "exec",
    "stop",
    "rm",
    "volume",
    "docker",
    "rede-dnat",
    "rede-limpa",
    "rl-info",
    "rl-id",
    "rl-build",
    "rl-porta",
    "rl-saida",
    "rl-oom",
    "rl-pids",
    "rl-limpo",
];

/// The kernel modules the VM loads (with their dependencies, found in each
/// module's `depends=`): overlayfs for every container; a bridge and veths
/// for `--network bridge`; nftables with NAT and `fib` for casulo's rules
/// (`network/firewall.rs`: masquerade, DNAT, `fib daddr type local`).
const MODULES: &[&str] = &[
    "overlay",
    "bridge",
    "veth",
    "nf_tables",
    "nft_chain_nat",
    "nft_nat",
    "nft_masq",
    "nft_fib_inet",
    "nft_fib_ipv4",
    "nft_fib_ipv6",
    // /dev/net/tun: pasta's tap in a rootless container's network namespace.
    "tun",
];

const KERNEL_META: &str = "linux-image-cloud-amd64";
pub const INIT: &str = include_str!("../vm/init.sh");
const DEMO: &str = include_str!("../vm/demo.sh");
const ROOTLESS: &str = include_str!("../vm/rootless.sh");
/// RAM of the VM: the initramfs (casulo, docker's CLI) is copied to a tmpfs,
/// where the images, the build and the containers live too.
pub const MEMORY_MB: u32 = 1024;
/// Whole VM run, boot to poweroff (normally ~60 s under TCG).
const TIMEOUT_SECS: &str = "400";

/// `probe` and `casulo` (`dist/casulo`) when the caller has built them
/// (`cargo xtask test`), else built here.
pub fn run(probe: Option<PathBuf>, casulo: Option<PathBuf>) -> Result {
    let dir = cmd::target_dir().join("vm");
    std::fs::create_dir_all(&dir)?;
    step("VM cgroup v2: kernel do Debian e seus módulos (cache em target/vm/kernel)");
    let (vmlinuz, modules) = kernel()?;

    // The one file a teacher hands out (`cargo xtask dist`) is what runs here.
    let casulo = match casulo {
        Some(c) => c,
        None => crate::dist::build()?,
    };
    let probe = match probe {
        Some(p) => p,
        None => musl::build_probe()?,
    };

    step("VM cgroup v2: initramfs (busybox, módulos, casulo, probe, nft, docker, /init)");
    let initrd = dir.join("initrd.gz");
    let mut files: Vec<(PathBuf, String)> =
        vec![(casulo.clone(), "casulo".into()), (probe, "probe".into())];
    for m in &modules {
        let name = m.file_name().expect("module file").to_string_lossy();
        files.push((m.clone(), format!("modules/{name}")));
    }
    files.extend(nft_files(&dir)?);
    files.extend(rootless_files()?);
    let docker = static_docker()?;
    files.push((docker, "docker".into()));
    let context =
        cmd::workspace_root().join("engine/trace/tests/fixtures/build-multistage-context");
    for entry in std::fs::read_dir(&context)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .expect("file")
            .to_string_lossy()
            .into_owned();
        files.push((path, format!("ctx/estagios/{name}")));
    }
    let demo = dir.join("demo.sh");
    std::fs::write(&demo, DEMO)?;
    files.push((demo, "demo.sh".into()));
    let rootless = dir.join("rootless.sh");
    std::fs::write(&rootless, ROOTLESS)?;
    files.push((rootless, "rootless.sh".into()));
    let files: Vec<(&Path, &str)> = files
        .iter()
        .map(|(p, n)| (p.as_path(), n.as_str()))
        .collect();
    initramfs(&dir.join("initramfs"), INIT, &files, &initrd)?;
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
        MEMORY_MB,
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

/// `vmlinuz` and the modules of [`MODULES`] (dependencies first, in load
/// order) of Debian's cloud kernel, downloaded once into `target/vm/kernel/`.
pub fn kernel() -> Result<(PathBuf, Vec<PathBuf>)> {
    let cache = &cmd::target_dir().join("vm/kernel");
    let vmlinuz = cache.join("vmlinuz");
    let modules_dir = cache.join("modules");
    // The list of modules is part of the cache: a new one downloads again.
    let wanted = cache.join("modules/pedidos");
    if vmlinuz.is_file() && std::fs::read_to_string(&wanted).ok() == Some(MODULES.join("\n")) {
        println!(
            "  ok      {} e {} (em cache)",
            vmlinuz.display(),
            modules_dir.display()
        );
        return Ok((vmlinuz, loaded_modules(&modules_dir)?));
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
    for old in std::fs::read_dir(cache)?.flatten() {
        if old.path().extension().is_some_and(|e| e == "deb") {
            std::fs::remove_file(old.path())?;
        }
    }
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
    std::fs::copy(found_vmlinuz, &vmlinuz)?;
    let _ = std::fs::remove_dir_all(&modules_dir);
    std::fs::create_dir_all(&modules_dir)?;
    let order = modules_in_order(&extract.join("lib/modules"), MODULES)?;
    for (i, (name, path)) in order.iter().enumerate() {
        std::fs::copy(path, modules_dir.join(format!("{i:02}-{name}.ko")))?;
    }
    std::fs::write(&wanted, MODULES.join("\n"))?;
    let _ = std::fs::remove_file(cache.join("overlay.ko")); // the old cache's
    std::fs::remove_dir_all(&extract)?;
    std::fs::remove_file(&deb)?;
    Ok((vmlinuz, loaded_modules(&modules_dir)?))
}

/// `modules/NN-name.ko`, in load order.
fn loaded_modules(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ko"))
        .collect();
    out.sort();
    Ok(out)
}

/// The `.ko` files under `root` for `wanted` and everything they depend
/// on, dependencies first (the `depends=` of each module's `.modinfo`:
/// the package has no `modules.dep`, depmod makes it on install).
fn modules_in_order(root: &Path, wanted: &[&str]) -> Result<Vec<(String, PathBuf)>> {
    let mut index = std::collections::HashMap::new();
    let mut all = Vec::new();
    collect_files(root, &mut all);
    for path in all {
        let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".ko"))
        else {
            continue;
        };
        index.insert(stem.replace('-', "_"), path);
    }
    let mut order: Vec<(String, PathBuf)> = Vec::new();
    fn visit(
        name: &str,
        index: &std::collections::HashMap<String, PathBuf>,
        order: &mut Vec<(String, PathBuf)>,
        seen: &mut Vec<String>,
    ) -> Result {
        if seen.iter().any(|s| s == name) {
            return Ok(());
        }
        seen.push(name.to_string());
        let Some(path) = index.get(name) else {
            fail!("o kernel do Debian não tem o módulo {name} (compilado dentro dele? procure em modules.builtin)");
        };
        for dep in module_depends(&std::fs::read(path)?) {
            visit(&dep, index, order, seen)?;
        }
        order.push((name.to_string(), path.clone()));
        Ok(())
    }
    let mut seen = Vec::new();
    for name in wanted {
        visit(name, &index, &mut order, &mut seen)?;
    }
    Ok(order)
}

/// The modules named in the `depends=` string of a module's `.modinfo`.
fn module_depends(ko: &[u8]) -> Vec<String> {
    const KEY: &[u8] = b"\0depends=";
    let Some(at) = ko.windows(KEY.len()).position(|w| w == KEY) else {
        return Vec::new();
    };
    let rest = &ko[at + KEY.len()..];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end])
        .split(',')
        .filter(|d| !d.is_empty())
        .map(|d| d.replace('-', "_"))
        .collect()
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Debian's `nft` (package nftables), which casulo runs for its rules.
const NFT: &str = "/usr/sbin/nft";

/// `nft` and the shared libraries `ldd` says it loads, in `opt/nft/`,
/// started by `/usr/sbin/nft`, a script that runs it through its own
/// loader: the rest of the VM stays static, as before (no glibc in
/// `/lib` for anything else to pick up).
fn nft_files(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    let binary = Path::new(NFT);
    if !binary.is_file() {
        fail!("{NFT} não existe: rode `cargo xtask setup` (pacote nftables)");
    }
    let ldd = cmd::capture(Command::new("ldd").arg(binary))?;
    let mut out = vec![(binary.to_path_buf(), "opt/nft/nft".to_string())];
    let mut loader = None;
    for line in ldd.lines() {
        // `libx.so.1 => /lib/…/libx.so.1 (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`
        let (path, is_loader) = match line.split_once("=>") {
            Some((_, right)) => (right.split_whitespace().next(), false),
            None => (line.split_whitespace().next(), true),
        };
        let Some(path) = path.filter(|p| p.starts_with('/')).map(Path::new) else {
            continue;
        };
        let name = path.file_name().expect("library name").to_string_lossy();
        if is_loader {
            loader = Some(name.to_string());
        }
        out.push((std::fs::canonicalize(path)?, format!("opt/nft/lib/{name}")));
    }
    let Some(loader) = loader else {
        fail!("ldd {NFT} não mostrou o carregador dinâmico:\n{ldd}");
    };
    let script = dir.join("nft.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec /opt/nft/lib/{loader} --library-path /opt/nft/lib /opt/nft/nft \"$@\"\n"
        ),
    )?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    out.push((script, "usr/sbin/nft".to_string()));
    Ok(out)
}

/// What the rootless scenario (`rootless.sh`) needs: Debian's
/// `newuidmap`/`newgidmap` (package uidmap; made setuid by the script) and
/// `pasta` (package passt), with the glibc libraries `ldd` says they load,
/// at the paths it says (a setuid program cannot be started through a
/// loader script, as `nft` is). Nothing else in the VM is dynamic.
fn rootless_files() -> Result<Vec<(PathBuf, String)>> {
    dynamic_files(
        &["/usr/bin/newuidmap", "/usr/bin/newgidmap", "/usr/bin/pasta"],
        "pacotes uidmap e passt",
    )
}

/// Debian `programs` with the glibc libraries `ldd` says they load, each
/// at its own path in the VM; `packages` says where a missing one comes from.
pub fn dynamic_files(programs: &[&str], packages: &str) -> Result<Vec<(PathBuf, String)>> {
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    for program in programs {
        let path = Path::new(program);
        if !path.exists() {
            fail!("{program} não existe: rode `cargo xtask setup` ({packages})");
        }
        out.push((std::fs::canonicalize(path)?, program[1..].to_string()));
        let ldd = cmd::capture(Command::new("ldd").arg(path))?;
        for line in ldd.lines() {
            // `libx.so.1 => /lib/…/libx.so.1 (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`
            let lib = line
                .split_whitespace()
                .find(|w| w.starts_with('/'))
                .map(Path::new);
            let Some(lib) = lib else { continue };
            let to = lib.to_string_lossy().trim_start_matches('/').to_string();
            if !out.iter().any(|(_, t)| *t == to) {
                out.push((std::fs::canonicalize(lib)?, to));
            }
        }
    }
    Ok(out)
}

/// The docker CLI of the PATH (the daemon's tests use it too), which must
/// be a static binary to run in the VM as it is.
fn static_docker() -> Result<PathBuf> {
    let found = std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("docker"))
                .find(|p| p.is_file())
        })
        .ok_or("não achei o `docker` (o cliente) no PATH: a VM o usa contra o casulo daemon")?;
    let ldd = Command::new("ldd").arg(&found).output()?;
    let text =
        String::from_utf8_lossy(&ldd.stdout).to_string() + &String::from_utf8_lossy(&ldd.stderr);
    if !(text.contains("not a dynamic executable") || text.contains("statically linked")) {
        fail!(
            "{} não é estático (ldd: {}); a VM precisa de um cliente docker estático",
            found.display(),
            text.trim()
        );
    }
    Ok(std::fs::canonicalize(found)?)
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

/// Packs an initramfs into `out` (gzip'd cpio, built in `dir`, removed
/// after): the host's
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
        let dest = dir.join(to);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // A name of busybox's (a symlink to it) is replaced by the real program.
        if dest.is_symlink() {
            std::fs::remove_file(&dest)?;
        }
        std::fs::copy(from, &dest).map_err(|e| format!("{} → {to}: {e}", from.display()))?;
    }
    let script = format!(
        "cd {} && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1 > {}",
        dir.display(),
        out.display()
    );
    cmd::run(Command::new("sh").args(["-c", &script]))?;
    // The packed file is what qemu reads; the tree would keep ~70 MB on disk.
    std::fs::remove_dir_all(dir)?;
    Ok(())
}
