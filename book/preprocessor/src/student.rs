//! `aluno = true`: a scenario recorded as a student without root would run
//! it (rootless casulo, chapter 11). The recorder makes the user `aluno`
//! (uid [`UID`], sub-ids [`SUBIDS`]… in `/etc/subuid` and `/etc/subgid`)
//! for the scenario and removes it after, even when a step fails; its home
//! and its `XDG_RUNTIME_DIR` are folders of the scenario, shown as
//! `/home/aluno` and `/run/user/2000`. Fixed numbers, so that a recording
//! is the same on every machine; a machine where they are taken says so.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use casulo_tests::subids;

/// The student's name, uid and gid.
pub const NAME: &str = "aluno";
pub const UID: u32 = 2000;
/// Its sub-ids: `aluno:200000:65536`.
pub const SUBIDS: (u32, u32) = (200_000, 65_536);

/// How the student's folders are shown in the book.
pub const SHOWN_HOME: &str = "/home/aluno";
pub const SHOWN_RUNTIME: &str = "/run/user/2000";

/// The student while the scenario runs; removed on drop.
pub struct Student {
    pub home: PathBuf,
    pub runtime: PathBuf,
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("não consegui rodar {cmd:?}: {e} (o pacote passwd tem useradd)"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} falhou: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `path` owned by the student, with `mode`.
fn give(path: &Path, mode: u32) -> Result<(), String> {
    std::os::unix::fs::chown(path, Some(UID), Some(UID))
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)))
        .map_err(|e| format!("{}: {e}", path.display()))
}

impl Student {
    /// Makes the user and its folders under `tmp` (which it must be able
    /// to cross: made 0711).
    pub fn new(tmp: &Path) -> Result<Student, String> {
        let by_name = Command::new("id").args(["-u", NAME]).output();
        match by_name {
            Ok(o) if o.status.success() => {
                let uid = String::from_utf8_lossy(&o.stdout).trim().to_string();
                if uid != UID.to_string() {
                    return Err(format!(
                        "já existe um usuário {NAME} com uid {uid}; os cenários com aluno = true \
                         precisam do uid {UID} (remova-o com `userdel {NAME}`)"
                    ));
                }
            }
            _ => {
                run(Command::new("useradd").args([
                    "-M",
                    "-u",
                    &UID.to_string(),
                    "-U",
                    "-s",
                    "/bin/sh",
                    NAME,
                ]))
                .map_err(|e| format!("{e} (o uid {UID} está livre?)"))?;
            }
        }
        let student = Student {
            home: tmp.join("home-aluno"),
            runtime: tmp.join("run-aluno"),
        };
        for file in subids::FILES {
            subids::set(file, NAME, Some(&|_: &str| SUBIDS)).map_err(|e| format!("{file}: {e}"))?;
        }
        std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o711))
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        for dir in [&student.home, &student.runtime] {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            give(dir, 0o700)?;
        }
        Ok(student)
    }

    /// The work dir and what is in it become the student's.
    pub fn take(&self, work: &Path) -> Result<(), String> {
        run(Command::new("chown")
            .args(["-R", &format!("{UID}:{UID}")])
            .arg(work))
        .map(|_| ())
    }

    /// `bash -c` as the student, with a clean environment.
    pub fn command(&self, bin: &Path, extra_env: &[(&str, String)]) -> Command {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", NAME, "--", "env", "-i"])
            .arg(format!("HOME={}", self.home.display()))
            .arg(format!("XDG_RUNTIME_DIR={}", self.runtime.display()))
            .arg(format!("USER={NAME}"))
            .arg(format!(
                "PATH={}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                bin.display()
            ));
        for (k, v) in extra_env {
            cmd.arg(format!("{k}={v}"));
        }
        cmd
    }

    /// `text` with the student's folders as the book shows them.
    pub fn shown(&self, text: &str) -> String {
        text.replace(&*self.home.to_string_lossy(), SHOWN_HOME)
            .replace(&*self.runtime.to_string_lossy(), SHOWN_RUNTIME)
    }
}

impl Drop for Student {
    fn drop(&mut self) {
        // Its processes first (a container left by a failed step).
        let _ = Command::new("pkill").args(["-KILL", "-u", NAME]).output();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let _ = Command::new("userdel").args(["-f", NAME]).output();
        for file in subids::FILES {
            let _ = subids::set(file, NAME, None);
        }
    }
}
