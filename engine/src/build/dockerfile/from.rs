//! `FROM [--platform=P] IMAGE [AS NAME]`.

use super::words::{take_flags, words};
use super::{need_args, Op};

/// `FROM [--platform=P] IMAGE [AS NAME]`.
pub(super) fn parse_from(keyword: &str, args: &str) -> Result<Op, String> {
    need_args(keyword, args)?;
    let (flags, words) = take_flags(&words(args)?);
    for (flag, value) in &flags {
        match (flag.as_str(), value) {
            ("platform", Some(p)) => check_platform(p)?,
            _ => return Err(format!("FROM: opção --{flag} não é suportada")),
        }
    }
    match words.as_slice() {
        [image] => Ok(Op::From {
            image: image.clone(),
            alias: None,
        }),
        [image, as_, alias] if as_.eq_ignore_ascii_case("as") => Ok(Op::From {
            image: image.clone(),
            alias: Some(alias.clone()),
        }),
        _ => Err("FROM espera uma imagem (FROM busybox) ou FROM imagem AS nome".into()),
    }
}

/// `FROM --platform=…`: casulo builds for this machine's platform only
/// (another would need an emulator, as docker's `binfmt`); the variables
/// docker predefines for it name this one.
pub(super) fn check_platform(platform: &str) -> Result<(), String> {
    let here = host_platform();
    let named = match platform {
        "$BUILDPLATFORM" | "${BUILDPLATFORM}" | "$TARGETPLATFORM" | "${TARGETPLATFORM}" => {
            return Ok(())
        }
        p => p.to_ascii_lowercase(),
    };
    if named == here || named == format!("{here}/v1") || named == "linux" {
        Ok(())
    } else {
        Err(format!(
            "FROM --platform={platform}: o casulo só constrói para a plataforma desta máquina, \
             {here} (outra precisaria de um emulador, como o binfmt/qemu do docker)"
        ))
    }
}

/// This machine's platform in docker's words (`linux/amd64`).
pub fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("linux/{arch}")
}

#[cfg(test)]
mod tests {
    use super::super::tests::assert_errors;
    use super::super::*;

    #[test]
    fn platform_of_this_machine_only() {
        assert!(parse("Dockerfile", "FROM --platform=$BUILDPLATFORM busybox\n").is_ok());
        assert!(parse(
            "Dockerfile",
            &format!("FROM --platform={} a\n", host_platform())
        )
        .is_ok());
        assert_errors(&[(
            "FROM --platform=linux/arm64 busybox\n",
            1,
            "só constrói para a plataforma desta máquina",
        )]);
    }
}
