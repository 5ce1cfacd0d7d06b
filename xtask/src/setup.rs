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

pub fn run() -> Result {
    cmd::require_root(
        "ele instala pacotes do sistema com apt-get, e o Casulo cria contêineres \
         de verdade (namespaces, montagens, cgroups), o que só root pode fazer",
    )?;
    step("Preparando a máquina (cargo xtask setup)");
    debian_packages()?;
    rust_targets()?;
    println!("pronto: a máquina tem tudo o que o Casulo precisa.");
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

fn rust_targets() -> Result {
    let installed =
        match cmd::capture(Command::new("rustup").args(["target", "list", "--installed"])) {
            Ok(list) => list,
            Err(e) => {
                // No rustup (e.g. a distro toolchain): look in the sysroot instead.
                println!("  rustup indisponível ({e}); verificando o sysroot do rustc");
                return rust_targets_without_rustup();
            }
        };
    let installed: Vec<&str> = installed.lines().map(str::trim).collect();
    let missing: Vec<&str> = RUST_TARGETS
        .iter()
        .filter(|(t, _)| !installed.contains(t))
        .map(|(t, _)| *t)
        .collect();
    for (t, why) in RUST_TARGETS {
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

fn rust_targets_without_rustup() -> Result {
    let sysroot = cmd::capture(Command::new("rustc").args(["--print", "sysroot"]))?;
    for (t, why) in RUST_TARGETS {
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
