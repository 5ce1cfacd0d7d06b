//! `cargo xtask registro`: a real registry (Debian's `docker-registry`,
//! CNCF distribution) for a class, in the foreground until Ctrl-C, with
//! its blobs kept in `target/registro/` (or `--dados DIR`) so they survive
//! a restart. It prints what the students type to point at it.

use std::path::PathBuf;

use casulo_tests::registry::Registry;

use crate::cmd::{self, step};
use crate::{fail, Result};

pub fn run(args: &[String]) -> Result {
    let mut port = 5000u16;
    let mut bind = "0.0.0.0".to_string();
    let mut data: Option<PathBuf> = None;
    let mut user: Option<String> = None;
    let mut password: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| match it.next() {
            Some(v) => Ok(v.clone()),
            None => Err(crate::Error(format!("{name} precisa de um valor"))),
        };
        match a.as_str() {
            "--porta" => {
                port = value("--porta")?
                    .parse()
                    .map_err(|_| crate::Error("--porta deve ser um número".into()))?
            }
            "--endereco" => bind = value("--endereco")?,
            "--dados" => data = Some(PathBuf::from(value("--dados")?)),
            "--usuario" => user = Some(value("--usuario")?),
            "--senha" => password = Some(value("--senha")?),
            other => fail!(
                "opção desconhecida para `registro`: {other} \
                 (aceita: --porta N, --endereco IP, --dados DIR, --usuario U --senha S)"
            ),
        }
    }
    let auth = match (&user, &password) {
        (Some(u), Some(p)) => Some((u.as_str(), p.as_str())),
        (None, None) => None,
        _ => fail!("--usuario e --senha vão juntos"),
    };
    crate::setup::run()?;
    let data = data.unwrap_or_else(|| cmd::target_dir().join("registro"));
    step("Registry para a turma (docker-registry, CNCF distribution)");
    let addr = format!("{bind}:{port}");
    let mut registry =
        Registry::start_with(Some(&addr), auth, Some(&data)).map_err(crate::Error)?;
    let shown = if bind == "0.0.0.0" {
        host_ip().map_or(format!("IP-DESTA-MAQUINA:{port}"), |ip| {
            format!("{ip}:{port}")
        })
    } else {
        addr.clone()
    };
    println!(
        "registry no ar em http://{addr}/v2/ (blobs em {})",
        data.display()
    );
    println!("\nNos computadores dos alunos:");
    println!("  export CASULO_REGISTRY={shown}");
    println!("  export CASULO_INSECURE_REGISTRIES={shown}   # HTTP sem TLS: só na rede da aula");
    if let Some(u) = &user {
        println!("  sudo -E casulo login {shown} -u {u}");
    }
    println!("  sudo -E casulo push {shown}/aluno/meu-app:v1");
    println!("  sudo -E casulo pull {shown}/professor/exemplo:v1");
    println!("\nNesta máquina: localhost:{port}/… (loopback fala HTTP sem configurar nada).");
    println!("Ctrl-C para parar.");
    registry.wait();
    Ok(())
}

/// The first address of `hostname -I` (where students reach this machine).
fn host_ip() -> Option<String> {
    let out = std::process::Command::new("hostname")
        .arg("-I")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .map(str::to_string)
}
