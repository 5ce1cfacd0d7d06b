//! `cargo xtask setup`: installs what the project needs, idempotently.
//!
//! - Debian packages: busybox-static (the base image), runc and crun (the
//!   benchmark's references), strace, nftables (the `nft` tool: user
//!   networks' isolation, NAT and DNAT), skopeo, umoci and buildah (interop
//!   checks), docker-registry and apache2-utils (the real registry of the
//!   push/pull tests and of `cargo xtask registro`; htpasswd),
//!   qemu-system-x86 and cpio (the pure cgroup v2 VM test), hunspell and
//!   hunspell-pt-br (the course's spelling);
//! - rustup targets: x86_64-unknown-linux-musl (the static probe) and
//!   wasm32-unknown-unknown (trace crate and visualizer).
//!
//! Only what is missing is installed; `apt-get update` runs at most once.

use std::process::{Command, Stdio};

use crate::cmd::{self, step};
use crate::{fail, Result};

/// Debian packages the project uses, with why (shown when installing).
pub const DEBIAN_PACKAGES: &[(&str, &str)] = &[
    ("busybox-static", "imagem base busybox:latest, sem internet"),
    ("runc", "referência no benchmark"),
    ("crun", "referência no benchmark"),
    ("strace", "ver as chamadas de sistema do motor"),
    (
        "nftables",
        "o nft: isolamento entre redes, NAT de saída e -p por DNAT",
    ),
    (
        "musl-tools",
        "musl-gcc: o casulo estático (musl) da VM compila o ring, a criptografia do TLS do registry, em C",
    ),
    ("skopeo", "interoperabilidade com imagens OCI"),
    ("umoci", "interoperabilidade com imagens OCI"),
    (
        "docker-registry",
        "o registry de verdade (CNCF distribution) dos testes de push/pull e da aula",
    ),
    (
        "apache2-utils",
        "htpasswd: senhas do registry com autenticação",
    ),
    (
        "openssl",
        "chaves e certificados dos testes do registry (tokens Bearer, TLS com CA própria)",
    ),
    ("chromium", "testes do visualizador no navegador (headless)"),
    (
        "nodejs",
        "roda os testes do navegador (node --test + playwright-core)",
    ),
    (
        "buildah",
        "interoperabilidade com imagens OCI (buildah from)",
    ),
    (
        "qemu-system-x86",
        "testar o cgroup v2 num kernel de verdade (VM, só cgroup2)",
    ),
    ("cpio", "montar o initramfs da VM de teste"),
    (
        "curl",
        "o capítulo 10 fala com a API do casulo daemon pelo socket",
    ),
    (
        "uidmap",
        "newuidmap/newgidmap: o casulo sem root com a faixa de /etc/subuid (testes rootless)",
    ),
    (
        "passt",
        "o pasta: a rede do casulo sem root (-p sem bridge; testes rootless)",
    ),
    ("hunspell", "ortografia do curso"),
    (
        "hunspell-pt-br",
        "o dicionário pt_BR da ortografia do curso",
    ),
];

/// Rust targets the build needs besides the host's.
pub const RUST_TARGETS: &[(&str, &str)] = &[
    ("x86_64-unknown-linux-musl", "a sonda estática dos testes"),
    (
        "wasm32-unknown-unknown",
        "o crate de trace e o visualizador",
    ),
];

/// The Rust target the demo needs besides the host's: the visualizer's.
const DEMO_TARGETS: &[(&str, &str)] = &[("wasm32-unknown-unknown", "o visualizador")];

pub fn run() -> Result {
    cmd::require_root(
        "ele instala pacotes do sistema com apt-get, e o Casulo cria contêineres \
         de verdade (namespaces, montagens, cgroups), o que só root pode fazer",
    )?;
    step("Preparando a máquina (cargo xtask setup)");
    debian_packages()?;
    rust_targets(RUST_TARGETS)?;
    println!("pronto: a máquina tem tudo o que o Casulo precisa.");
    Ok(())
}

/// What `cargo xtask demo` needs and nothing more (the test tools stay
/// with `cargo xtask setup`/`test`), on Debian and elsewhere.
pub struct DemoNeed {
    /// What it is for (shown when missing).
    pub why: &'static str,
    /// The package, by package manager: apt-get, dnf, pacman, zypper.
    pub packages: [&'static str; 4],
    /// Whether the machine already has it, whatever installed it.
    pub present: fn() -> bool,
}

/// The package managers of [`DemoNeed::packages`], in that order.
const MANAGERS: [&str; 4] = ["apt-get", "dnf", "pacman", "zypper"];

pub const DEMO_NEEDS: &[DemoNeed] = &[
    DemoNeed {
        why: "a busybox *estática* de que nasce a imagem busybox:latest, sem internet",
        packages: ["busybox-static", "busybox", "busybox", "busybox-static"],
        present: || busybox().is_some(),
    },
    DemoNeed {
        why: "o nft: a saída da bridge para fora (NAT) e o isolamento entre redes",
        packages: ["nftables", "nftables", "nftables", "nftables"],
        present: || cmd::capture(Command::new("nft").arg("--version")).is_ok(),
    },
];

/// The host's busybox: `/bin/busybox` (Debian's busybox-static) or the one
/// on the PATH (Fedora and Arch install it in /usr/sbin or /usr/bin).
pub fn busybox() -> Option<std::path::PathBuf> {
    let debian = std::path::Path::new("/bin/busybox");
    if debian.is_file() {
        return Some(debian.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .chain(["/usr/sbin".into(), "/sbin".into()])
            .map(|dir| dir.join("busybox"))
            .find(|p| p.is_file())
    })
}

/// `cargo xtask demo`'s setup: only what the demo needs. With apt-get it
/// installs what is missing; elsewhere it says exactly what to install
/// with the system's package manager, and goes on if it is all there.
pub fn run_demo() -> Result {
    cmd::require_root(
        "o Casulo cria contêineres de verdade (namespaces, montagens, cgroups), \
         o que só root pode fazer",
    )?;
    step("Preparando a máquina para a demonstração (só o que ela usa)");
    let mut missing: Vec<&DemoNeed> = Vec::new();
    for need in DEMO_NEEDS {
        let state = if (need.present)() {
            "ok"
        } else {
            missing.push(need);
            "falta"
        };
        println!("  {state:<7} {} ({})", need.packages[0], need.why);
    }
    if !missing.is_empty() {
        let manager = MANAGERS
            .iter()
            .position(|m| cmd::capture(Command::new(m).arg("--version")).is_ok());
        match manager {
            Some(0) => install_debian_packages(
                &missing
                    .iter()
                    .map(|n| (n.packages[0], n.why))
                    .collect::<Vec<_>>(),
            )?,
            Some(i) => {
                let names: Vec<&str> = missing.iter().map(|n| n.packages[i]).collect();
                let line = match MANAGERS[i] {
                    "pacman" => format!("pacman -S --needed {}", names.join(" ")),
                    m => format!("{m} install {}", names.join(" ")),
                };
                fail!(
                    "faltam pacotes para a demonstração. Instale-os e rode de novo:\n    {line}\n\
                     (a busybox precisa ser estática: `file $(command -v busybox)` diz \
                     \"statically linked\")"
                );
            }
            None => fail!(
                "faltam {} e não achei apt-get, dnf, pacman nem zypper: instale-os \
                 pelo gerenciador de pacotes do sistema e rode de novo",
                missing
                    .iter()
                    .map(|n| n.packages[0])
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    rust_targets(DEMO_TARGETS)?;
    println!("pronto: a máquina tem o que a demonstração usa.");
    Ok(())
}

fn debian_packages() -> Result {
    install_debian_packages(DEBIAN_PACKAGES)
}

/// Installs those of `packages` (name, why) that are missing; `apt-get
/// update` runs only when something is.
pub fn install_debian_packages(packages: &[(&str, &str)]) -> Result {
    let mut missing = vec![];
    for (pkg, why) in packages {
        if dpkg_installed(pkg)? {
            println!("  ok      {pkg} já instalado");
        } else {
            println!("  falta   {pkg} ({why})");
            missing.push(*pkg);
        }
    }
    if missing.is_empty() {
        println!("  pacotes Debian: nada a instalar (apt-get não foi chamado)");
        return Ok(());
    }
    println!("  instalando: {}", missing.join(" "));
    cmd::run(Command::new("apt-get").arg("update"))?;
    cmd::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y"])
            .args(&missing),
    )?;
    for pkg in &missing {
        if !dpkg_installed(pkg)? {
            fail!("o pacote {pkg} continua ausente depois do apt-get install");
        }
    }
    Ok(())
}

/// `dpkg-query -W -f='${Status}' PKG` says "install ok installed" when it is.
fn dpkg_installed(pkg: &str) -> Result<bool> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    match out {
        // Non-zero exit: dpkg has never heard of the package.
        Ok(out) => Ok(out.status.success()
            && String::from_utf8_lossy(&out.stdout).trim() == "install ok installed"),
        Err(e) => fail!(
            "não foi possível rodar dpkg-query ({e}): o setup supõe um sistema Debian \
             (ou derivado) com dpkg e apt-get"
        ),
    }
}

fn rust_targets(targets: &[(&str, &str)]) -> Result {
    let installed =
        match cmd::capture(Command::new("rustup").args(["target", "list", "--installed"])) {
            Ok(list) => list,
            Err(e) => {
                // No rustup (e.g. a distro toolchain): look in the sysroot instead.
                println!("  rustup indisponível ({e}); verificando o sysroot do rustc");
                return rust_targets_without_rustup(targets);
            }
        };
    let installed: Vec<&str> = installed.lines().map(str::trim).collect();
    let missing: Vec<&str> = targets
        .iter()
        .filter(|(t, _)| !installed.contains(t))
        .map(|(t, _)| *t)
        .collect();
    for (t, why) in targets {
        if installed.contains(t) {
            println!("  ok      alvo {t} já instalado");
        } else {
            println!("  falta   alvo {t} ({why})");
        }
    }
    if !missing.is_empty() {
        cmd::run(
            Command::new("rustup")
                .args(["target", "add"])
                .args(&missing),
        )?;
    } else {
        println!("  alvos do Rust: nada a instalar");
    }
    Ok(())
}

fn rust_targets_without_rustup(targets: &[(&str, &str)]) -> Result {
    let sysroot = cmd::capture(Command::new("rustc").args(["--print", "sysroot"]))?;
    for (t, why) in targets {
        let dir = std::path::Path::new(sysroot.trim())
            .join("lib/rustlib")
            .join(t);
        if dir.is_dir() {
            println!("  ok      alvo {t} presente em {}", dir.display());
        } else {
            fail!("o alvo {t} ({why}) não está instalado e não há rustup para instalá-lo");
        }
    }
    Ok(())
}
