//! `busybox:latest` without internet: an image made from the host's static
//! busybox (Debian package `busybox-static`, installed as `/bin/busybox`).
//!
//! BusyBox is one executable that behaves as ~270 programs ("applets")
//! depending on the name it is called by: `/bin/sh`, `/bin/ls`, … are all
//! symlinks to `/bin/busybox`. It must be *statically* linked: inside the
//! container there is no `/lib`, so a dynamic binary could not even start
//! (its ELF program headers would name a loader, `PT_INTERP`, that is not
//! there).
//!
//! The image has a single gzip layer and is **reproducible**: entries sorted
//! by path, every mtime fixed at [`MTIME`] (the Unix epoch, as builds with
//! `SOURCE_DATE_EPOCH=0` do), owners and modes fixed, `created` fixed at
//! [`CREATED`]. Bootstrapping twice from the same busybox gives the same
//! digests, so the second run changes nothing.
//!
//! Layer contents:
//!
//! ```text
//! bin/busybox                      the host's binary (0755)
//! bin/sh -> /bin/busybox, …        one symlink per applet of `busybox --list-full`
//! dev/ proc/ (0555) sys/ (0555)    mount points the runtime fills
//! tmp/ (1777)  root/ (0700)  home/aluno/ (1000:1000)  var/  run/
//! etc/passwd                       root, aluno (uid 1000), nobody
//! etc/group  etc/hostname  etc/hosts
//! ```

use std::fs;
use std::io;
use std::path::Path;
use std::process::Command;

use super::layer::{entry_path, Compression, LayerBuilder};
use super::oci;
use super::{Image, ImageError, Layer, Reference, Store};
use crate::state::StateDir;

/// Where Debian's `busybox-static` installs it.
pub const DEFAULT_BUSYBOX: &str = "/bin/busybox";
/// The reference the bootstrap creates.
pub const REFERENCE: &str = "busybox:latest";
/// The fixed `created` of the image (reproducible: not "now").
pub const CREATED: &str = "1970-01-01T00:00:00Z";
/// The fixed mtime of every layer entry.
pub const MTIME: u64 = 0;

const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
aluno:x:1000:1000:Aluno:/home/aluno:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
";

const GROUP: &str = "\
root:x:0:
aluno:x:1000:
nogroup:x:65534:
";

const HOSTS: &str = "\
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
";

/// What casulo found out about a busybox binary.
#[derive(Debug, Clone)]
pub struct BusyboxInfo {
    /// e.g. `1.35.0`.
    pub version: String,
    /// OCI name of the ELF's machine, e.g. `amd64`.
    pub architecture: String,
    /// Applet paths from `busybox --list-full` (relative, e.g. `bin/sh`).
    pub applets: Vec<String>,
}

/// Creates (or re-creates, identically) `busybox:latest` from `busybox_path`.
pub fn busybox(state: &StateDir, busybox_path: &Path) -> Result<Image, ImageError> {
    let store = Store::open(state)?;
    let binary = fs::read(busybox_path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            ImageError::Other(format!(
                "busybox não encontrada em {}: instale o pacote busybox-static \
                 (apt install busybox-static) ou indique outra com --busybox CAMINHO",
                busybox_path.display()
            ))
        } else {
            ImageError::io(busybox_path, e)
        }
    })?;
    let info = inspect(busybox_path, &binary)?;
    let rootfs = rootfs(&binary, &info.applets);

    // The blobs are unreachable until tagged: keep gc out until then.
    let _writing = store.writing()?;
    let writer = store.blob_writer()?;
    let tmp = writer.temp_path().to_path_buf();
    let (diff_id, writer) = rootfs
        .write_gzip(writer)
        .map_err(|e| ImageError::io(&tmp, e))?;
    let blob = writer.commit()?;
    let layer = Layer {
        digest: blob.digest,
        diff_id,
        media_type: Compression::Gzip.media_type().to_string(),
        size: blob.size,
    };
    let config = oci::rootfs_config(
        CREATED.into(),
        info.architecture.clone(),
        format!("casulo image bootstrap: busybox {} do host", info.version),
    );
    store.write_image(&Reference::parse(REFERENCE)?, config, &[layer])
}

/// Checks that `path` is a static ELF busybox and asks it its version and
/// applets.
pub fn inspect(path: &Path, binary: &[u8]) -> Result<BusyboxInfo, ImageError> {
    let elf = inspect_elf(binary).map_err(|why| {
        ImageError::Other(format!(
            "{} não é uma busybox utilizável: {why}; instale o pacote busybox-static",
            path.display()
        ))
    })?;
    if let Some(loader) = elf.interpreter {
        return Err(ImageError::Other(format!(
            "{} é ligada dinamicamente (precisa do carregador {loader} e de bibliotecas, \
             que não existem dentro do contêiner); instale a busybox estática: \
             apt install busybox-static",
            path.display()
        )));
    }
    let run = |arg: &str| -> Result<String, ImageError> {
        let out = Command::new(path).arg(arg).output().map_err(|e| {
            ImageError::Other(format!(
                "não consegui executar {} {arg}: {e} (é uma busybox para esta máquina?)",
                path.display()
            ))
        })?;
        if !out.status.success() {
            return Err(ImageError::Other(format!(
                "{} {arg} falhou ({}): é mesmo uma busybox?",
                path.display(),
                out.status
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let help = run("--help")?;
    let version = help
        .split_whitespace()
        .skip_while(|w| *w != "BusyBox")
        .nth(1)
        .and_then(|v| v.strip_prefix('v'))
        .ok_or_else(|| {
            ImageError::Other(format!(
                "{} --help não mostrou \"BusyBox v…\": é mesmo uma busybox?",
                path.display()
            ))
        })?
        .to_string();
    let applets = parse_applets(&run("--list-full")?);
    if !applets.iter().any(|a| a == "bin/sh") {
        return Err(ImageError::Other(format!(
            "{} --list-full não tem bin/sh: esta busybox não serve como base",
            path.display()
        )));
    }
    Ok(BusyboxInfo {
        version,
        architecture: elf.architecture,
        applets,
    })
}

/// Applet paths, sorted; skips `bin/busybox` itself, `linuxrc` (an initrd
/// entry point, meaningless in a container) and anything that is not a
/// plain relative path.
fn parse_applets(list: &str) -> Vec<String> {
    let mut applets: Vec<String> = list
        .lines()
        .map(str::trim)
        .filter(|line| line.contains('/') && *line != "bin/busybox")
        .filter(|line| {
            entry_path(line.as_bytes())
                .is_ok_and(|p| p.as_os_str().as_encoded_bytes() == line.as_bytes())
        })
        .map(str::to_string)
        .collect();
    applets.sort();
    applets.dedup();
    applets
}

/// The layer's file tree.
fn rootfs(binary: &[u8], applets: &[String]) -> LayerBuilder {
    let mut b = LayerBuilder::new(MTIME);
    for dir in [
        "bin", "dev", "etc", "home", "run", "sbin", "usr/bin", "usr/sbin", "var",
    ] {
        b.dir(dir, 0o755, 0, 0);
    }
    b.dir("proc", 0o555, 0, 0)
        .dir("sys", 0o555, 0, 0)
        .dir("tmp", 0o1777, 0, 0)
        .dir("root", 0o700, 0, 0)
        .dir("home/aluno", 0o755, 1000, 1000)
        .file("bin/busybox", 0o755, 0, 0, binary.to_vec())
        .file("etc/passwd", 0o644, 0, 0, PASSWD.into())
        .file("etc/group", 0o644, 0, 0, GROUP.into())
        .file("etc/hostname", 0o644, 0, 0, b"casulo\n".to_vec())
        .file("etc/hosts", 0o644, 0, 0, HOSTS.into());
    for applet in applets {
        if !b.contains(applet) {
            b.symlink(applet, "/bin/busybox");
        }
    }
    b
}

/// What the ELF header says.
#[derive(Debug, Clone, PartialEq)]
pub struct ElfInfo {
    pub architecture: String,
    /// The `PT_INTERP` path (the dynamic loader); `None` for a static binary.
    pub interpreter: Option<String>,
}

/// Reads an ELF header and program headers: machine and `PT_INTERP`.
pub fn inspect_elf(bytes: &[u8]) -> Result<ElfInfo, String> {
    const PT_INTERP: u32 = 3;
    if bytes.len() < 0x34 || &bytes[..4] != b"\x7fELF" {
        return Err("não é um executável ELF".into());
    }
    let is64 = match bytes[4] {
        1 => false,
        2 => true,
        c => return Err(format!("classe ELF desconhecida {c}")),
    };
    let little = match bytes[5] {
        1 => true,
        2 => false,
        d => return Err(format!("ordem de bytes ELF desconhecida {d}")),
    };
    let truncated = || "cabeçalho ELF truncado".to_string();
    let uint = |at: u64, len: usize| -> Result<u64, String> {
        let at = usize::try_from(at).map_err(|_| truncated())?;
        let slice = bytes
            .get(at..at.checked_add(len).ok_or_else(truncated)?)
            .ok_or_else(truncated)?;
        let mut v: u64 = 0;
        for i in 0..len {
            let byte = if little { slice[len - 1 - i] } else { slice[i] };
            v = (v << 8) | u64::from(byte);
        }
        Ok(v)
    };
    let machine = uint(0x12, 2)?;
    let (phoff, phentsize, phnum) = if is64 {
        (uint(0x20, 8)?, uint(0x36, 2)?, uint(0x38, 2)?)
    } else {
        (uint(0x1c, 4)?, uint(0x2a, 2)?, uint(0x2c, 2)?)
    };
    let mut interpreter = None;
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        if uint(ph, 4)? as u32 == PT_INTERP {
            let (offset, size) = if is64 {
                (uint(ph + 8, 8)?, uint(ph + 32, 8)?)
            } else {
                (uint(ph + 4, 4)?, uint(ph + 16, 4)?)
            };
            let start = usize::try_from(offset).map_err(|_| truncated())?;
            let end = start.saturating_add(usize::try_from(size).map_err(|_| truncated())?);
            let raw = bytes.get(start..end).ok_or_else(truncated)?;
            let path = raw.split(|&b| b == 0).next().unwrap_or_default();
            interpreter = Some(String::from_utf8_lossy(path).into_owned());
        }
    }
    let architecture = match machine {
        62 => "amd64".to_string(),
        183 => "arm64".to_string(),
        3 => "386".to_string(),
        40 => "arm".to_string(),
        243 => "riscv64".to_string(),
        21 if little => "ppc64le".to_string(),
        21 => "ppc64".to_string(),
        22 => "s390x".to_string(),
        other => return Err(format!("arquitetura ELF desconhecida (e_machine {other})")),
    };
    Ok(ElfInfo {
        architecture,
        interpreter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::digest;
    use std::os::unix::fs::MetadataExt;
    use std::path::PathBuf;

    /// The host's busybox, when it is the static one (else the test is skipped).
    fn host_busybox() -> Option<PathBuf> {
        let path = PathBuf::from(DEFAULT_BUSYBOX);
        let bytes = fs::read(&path).ok()?;
        match inspect_elf(&bytes) {
            Ok(ElfInfo {
                interpreter: None, ..
            }) => Some(path),
            _ => {
                eprintln!("sem busybox estática em {DEFAULT_BUSYBOX}; teste pulado");
                None
            }
        }
    }

    #[test]
    fn image_bootstrap_is_deterministic_and_complete() {
        let Some(busybox_path) = host_busybox() else {
            return;
        };
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join("root"));
        let first = busybox(&state, &busybox_path).unwrap();
        let index_after_first = fs::read(state.images().join("index.json")).unwrap();
        let second = busybox(&state, &busybox_path).unwrap();
        assert_eq!(first.manifest_digest, second.manifest_digest);
        assert_eq!(first.id, second.id);
        assert_eq!(first.layers, second.layers);
        assert_eq!(
            fs::read(state.images().join("index.json")).unwrap(),
            index_after_first,
            "idempotent: index unchanged"
        );
        // Another store, same digests: they depend only on the content.
        let other = StateDir::new(tmp.path().join("other"));
        assert_eq!(
            busybox(&other, &busybox_path).unwrap().manifest_digest,
            first.manifest_digest
        );

        assert_eq!(first.reference, "busybox:latest");
        assert_eq!(first.config.cmd, ["sh"]);
        assert_eq!(first.config.env, [oci::DEFAULT_PATH_ENV]);
        assert_eq!(first.layers.len(), 1);
        assert_eq!(first.layers[0].media_type, oci::MEDIA_TYPE_LAYER_TAR_GZIP);

        let store = Store::open(&state).unwrap();
        let config: serde_json::Value =
            serde_json::from_slice(&store.read_blob(&first.id, None).unwrap()).unwrap();
        assert_eq!(config["architecture"], oci::host_architecture());
        assert_eq!(config["os"], "linux");
        assert_eq!(config["created"], CREATED);
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            first.layers[0].diff_id.as_str()
        );
        let made_by = config["history"][0]["created_by"].as_str().unwrap();
        assert!(
            made_by.starts_with("casulo image bootstrap: busybox 1."),
            "{made_by}"
        );

        let dir = store.ensure_layer(&first.layers[0]).unwrap().path;
        let meta = |p: &str| fs::symlink_metadata(dir.join(p)).unwrap();
        assert_eq!(meta("bin/busybox").mode() & 0o7777, 0o755);
        assert_eq!(
            fs::read(dir.join("bin/busybox")).unwrap(),
            fs::read(&busybox_path).unwrap()
        );
        for applet in ["bin/sh", "bin/ls", "usr/bin/env", "sbin/ifconfig"] {
            assert_eq!(
                fs::read_link(dir.join(applet)).unwrap(),
                Path::new("/bin/busybox"),
                "{applet}"
            );
        }
        assert!(!dir.join("linuxrc").exists());
        assert_eq!(meta("tmp").mode() & 0o7777, 0o1777);
        assert_eq!(meta("root").mode() & 0o7777, 0o700);
        assert_eq!(meta("proc").mode() & 0o7777, 0o555);
        for d in ["dev", "sys", "etc", "var", "run", "home/aluno"] {
            assert!(meta(d).is_dir(), "{d}");
        }
        let passwd = fs::read_to_string(dir.join("etc/passwd")).unwrap();
        assert!(passwd.starts_with("root:x:0:0:root:/root:/bin/sh\n"));
        assert!(passwd.contains("aluno:x:1000:1000:Aluno:/home/aluno:/bin/sh\n"));
        assert!(passwd.contains("nobody:"));
        assert!(fs::read_to_string(dir.join("etc/hosts"))
            .unwrap()
            .contains("localhost"));
        if nix::unistd::geteuid().is_root() {
            assert_eq!(meta("home/aluno").uid(), 1000);
            assert_eq!(meta("bin/busybox").uid(), 0);
        }
        assert_eq!(digest::short_id(&first.id).len(), 12);
    }

    #[test]
    fn image_bootstrap_refuses_dynamic_missing_and_non_elf() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::new(tmp.path().join("root"));
        // This test binary is dynamically linked (it has a PT_INTERP).
        let me = std::env::current_exe().unwrap();
        let elf = inspect_elf(&fs::read(&me).unwrap()).unwrap();
        assert!(elf.interpreter.is_some(), "{elf:?}");
        let err = busybox(&state, &me).unwrap_err().to_string();
        assert!(
            err.contains("dinamicamente") && err.contains("busybox-static"),
            "{err}"
        );

        let err = busybox(&state, &tmp.path().join("nao-existe"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("busybox-static"), "{err}");

        let text = tmp.path().join("texto");
        fs::write(&text, "#!/bin/sh\necho oi\n").unwrap();
        let err = busybox(&state, &text).unwrap_err().to_string();
        assert!(err.contains("não é um executável ELF"), "{err}");

        // Nothing was tagged by the failed attempts.
        assert!(Store::open(&state).unwrap().list().unwrap().is_empty());
    }

    #[test]
    fn image_bootstrap_elf_of_host_busybox_is_static() {
        let Some(path) = host_busybox() else {
            return;
        };
        let elf = inspect_elf(&fs::read(path).unwrap()).unwrap();
        assert_eq!(elf.interpreter, None);
        assert_eq!(elf.architecture, oci::host_architecture());
    }

    #[test]
    fn image_bootstrap_applet_list_is_filtered() {
        let list = "linuxrc\nbin/busybox\nbin/sh\nusr/bin/env\n../evil\n/abs/x\nbin/sh\n";
        assert_eq!(parse_applets(list), ["bin/sh", "usr/bin/env"]);
    }
}
