//! seccomp: a filter the kernel runs on every system call.
//!
//! Capabilities decide which *privileged actions* root may take; seccomp
//! (*secure computing*) decides which *system calls* reach the kernel at
//! all. The process hands the kernel a tiny program in classic BPF (the
//! language of `tcpdump` filters) with `seccomp(SECCOMP_SET_MODE_FILTER)`;
//! from then on, before each system call, the kernel runs that program on
//! a `struct seccomp_data` (the call's number, the architecture, the
//! arguments) and obeys its verdict: allow, fail with an errno, kill. The
//! filter is inherited by every child and can never be removed, and
//! `/proc/PID/status` shows `Seccomp: 2` (filter mode).
//!
//! The filter is written as data, a *profile* in docker's JSON format
//! ([`profile`]), and compiled to BPF for the container's capabilities
//! ([`compile`], with the `seccompiler` crate); the default profile is
//! compiled once, at build time, for the capabilities most containers
//! keep ([`precompiled`]). Three sources, as
//! `docker run --security-opt` has them:
//!
//! - casulo's default, [`DEFAULT_PROFILE`] (the file
//!   `engine/src/security/perfil-padrao.json`, embedded in the binary):
//!   like docker's default (moby's `profiles/seccomp/default.json`) an
//!   **allow-list** — about 300 calls allowed, every other one fails with
//!   `EPERM` — with the same conditional rules: `clone` only without
//!   namespace flags, `clone3` refused with `ENOSYS` (its flags live in
//!   memory a filter cannot read, so libc falls back to `clone`), `socket`
//!   of any family but `AF_VSOCK`, `personality` with its harmless values,
//!   and the calls a capability governs (`mount`, `unshare`, `setns` need
//!   `CAP_SYS_ADMIN`; `reboot`, `CAP_SYS_BOOT`; …) allowed only when the
//!   container has that capability (`--cap-add`); and, like docker's since
//!   2023, no `io_uring` (its operations never pass through seccomp, and it
//!   was the door of many kernel exploits). It differs from docker's
//!   in being written for x86_64 only (docker's also lists the calls of
//!   other machines and of the 32-bit ABIs, which casulo refuses outright,
//!   see [`compile::abi_program`]), in its comments (in Portuguese, one
//!   per group of calls, so it can be read as a map of the kernel's
//!   interface), and in a handful of calls added to the kernel after
//!   docker's list was written (`fchmodat2`, `futex_wait`, `mseal`, …)
//!   that a recent libc uses. `docker run --security-opt
//!   seccomp=perfil-padrao.json` takes it as it is;
//! - `--security-opt seccomp=ARQUIVO.json`: the user's profile, read on
//!   the host before the container exists (the init, after `pivot_root`,
//!   no longer sees the host's files) and carried in
//!   [`super::SecurityOptions::seccomp_profile`];
//! - `--security-opt seccomp=unconfined` (and `--privileged`): no filter,
//!   `Seccomp: 0`.

pub mod compile;
pub mod precompiled;
pub mod profile;

use std::path::Path;

use nix::errno::Errno;

use crate::kernel::{Kernel, KernelError, SeccompSummary};

/// Casulo's default profile, in docker's format.
pub const DEFAULT_PROFILE: &str = include_str!("../perfil-padrao.json");

/// `--security-opt seccomp=unconfined`.
pub const UNCONFINED: &str = "unconfined";

/// Reads a profile file for `--security-opt seccomp=ARQUIVO.json`: its
/// text, checked. The message (in Portuguese) names the file, and the
/// field, line and column of the mistake.
pub fn load_profile_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("não consegui ler o perfil seccomp {}: {e}", path.display()))?;
    profile::parse(&text).map_err(|e| {
        format!(
            "perfil seccomp {} inválido: {e} (o formato é o do docker: \
             defaultAction, syscalls[{{names, action, args}}], …)",
            path.display()
        )
    })?;
    Ok(text)
}

/// The running kernel's version, for `minKernel` (`None` if unreadable).
fn kernel_version(k: &Kernel) -> Option<profile::KernelVersion> {
    k.read_file(Path::new("/proc/sys/kernel/osrelease"))
        .ok()
        .and_then(|s| s.parse().ok())
}

/// Installs the filter `opts` asks for, for a container keeping the
/// capabilities `caps`: one `security.seccomp` event. Must come after
/// `no_new_privs` (the kernel refuses a filter from a process without it
/// and without `CAP_SYS_ADMIN`), and last before `execve`: from here on,
/// casulo's own code is filtered too.
pub fn install(k: &Kernel, opts: &super::SecurityOptions, caps: &[u32]) -> Result<(), KernelError> {
    let (source, path, text) = match opts.seccomp.as_deref() {
        _ if opts.privileged => {
            k.seccomp_unconfined(UNCONFINED);
            return Ok(());
        }
        Some(UNCONFINED) => {
            k.seccomp_unconfined(UNCONFINED);
            return Ok(());
        }
        None => ("padrão", None, DEFAULT_PROFILE),
        Some(path) => match &opts.seccomp_profile {
            Some(text) => ("arquivo", Some(path.to_string()), text.as_str()),
            None => {
                return Err(KernelError {
                    op: format!("seccomp: o perfil {path} não foi lido antes de criar o contêiner"),
                    errno: Errno::EINVAL,
                })
            }
        },
    };
    let invalid = |why: String| KernelError {
        op: format!(
            "seccomp: perfil {}: {why}",
            path.as_deref().unwrap_or(source)
        ),
        errno: Errno::EINVAL,
    };
    if !cfg!(target_arch = "x86_64") {
        return Err(KernelError {
            op: "seccomp: o casulo só conhece os números de syscall do x86_64".into(),
            errno: Errno::ENOSYS,
        });
    }
    let kernel = kernel_version(k);
    // The default profile comes compiled from the build when it fits.
    let built = match opts.seccomp {
        None => precompiled::default_for(caps, kernel),
        Some(_) => None,
    };
    let compiled = match built {
        Some(c) => c,
        None => {
            let profile = profile::parse(text).map_err(|e| invalid(e.to_string()))?;
            compile::compile(&profile, caps, kernel).map_err(invalid)?
        }
    };
    let summary = SeccompSummary {
        profile: source.to_string(),
        path,
        default_action: compiled.default_action.to_string(),
        rule_count: compiled.rule_count,
        allowed_count: compiled.allowed_count,
        blocked_action: compiled.blocked_action,
        blocked: compiled.blocked,
        ignored: compiled.ignored,
    };
    k.install_seccomp(&compiled.programs, summary)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::compile::tests::{errno, verdict};
    use super::*;
    use crate::security::capabilities::DOCKER_DEFAULT;

    fn default_for(caps: &[u32]) -> compile::Compiled {
        let p = profile::parse(DEFAULT_PROFILE).expect("the embedded profile is valid");
        compile::compile(&p, caps, Some(profile::KernelVersion(6, 1))).unwrap()
    }

    #[test]
    fn the_default_profile_is_dockers_allow_list() {
        let c = default_for(&DOCKER_DEFAULT);
        use libc::*;
        let allow = SECCOMP_RET_ALLOW;
        for nr in [
            SYS_read, SYS_write, SYS_execve, SYS_openat, SYS_chown, SYS_ptrace,
        ] {
            assert_eq!(verdict(&c, nr, [0; 6]), allow, "{nr}");
        }
        // Not in the list: EPERM, without asking the kernel.
        for nr in [
            SYS_mount,
            SYS_umount2,
            SYS_pivot_root,
            SYS_init_module,
            SYS_kexec_load,
            SYS_bpf,
            SYS_keyctl,
            SYS_add_key,
            SYS_unshare,
            SYS_setns,
            SYS_reboot,
            SYS_settimeofday,
            SYS_open_by_handle_at,
            SYS_userfaultfd,
            SYS_io_uring_setup,
        ] {
            assert_eq!(verdict(&c, nr, [0; 6]), errno(EPERM), "{nr}");
        }
        let newpid = (CLONE_NEWPID | SIGCHLD) as u64;
        let thread = (CLONE_VM | CLONE_THREAD | CLONE_SIGHAND) as u64;
        assert_eq!(verdict(&c, SYS_clone, [thread, 0, 0, 0, 0, 0]), allow);
        assert_eq!(
            verdict(&c, SYS_clone, [newpid, 0, 0, 0, 0, 0]),
            errno(EPERM)
        );
        assert_eq!(verdict(&c, SYS_clone3, [0; 6]), errno(ENOSYS));
        assert_eq!(
            verdict(&c, SYS_socket, [AF_INET as u64, 0, 0, 0, 0, 0]),
            allow
        );
        assert_eq!(verdict(&c, SYS_socket, [40, 0, 0, 0, 0, 0]), errno(EPERM));
        assert_eq!(
            verdict(&c, SYS_personality, [0xffff_ffff, 0, 0, 0, 0, 0]),
            allow
        );
        assert_eq!(
            verdict(&c, SYS_personality, [0x0040_0000, 0, 0, 0, 0, 0]),
            errno(EPERM)
        );
        assert_eq!(c.blocked, ["clone3"]);
        assert!(c.allowed_count > 300, "{}", c.allowed_count);
        assert!(c.ignored.is_empty(), "{:?}", c.ignored);
    }

    #[test]
    fn a_capability_opens_the_calls_it_governs() {
        let mut caps = DOCKER_DEFAULT.to_vec();
        caps.push(21); // --cap-add SYS_ADMIN
        let c = default_for(&caps);
        use libc::*;
        let newns = (CLONE_NEWNS | SIGCHLD) as u64;
        assert_eq!(verdict(&c, SYS_mount, [0; 6]), SECCOMP_RET_ALLOW);
        assert_eq!(
            verdict(&c, SYS_unshare, [newns, 0, 0, 0, 0, 0]),
            SECCOMP_RET_ALLOW
        );
        assert_eq!(verdict(&c, SYS_clone3, [0; 6]), SECCOMP_RET_ALLOW);
        assert_eq!(verdict(&c, SYS_reboot, [0; 6]), errno(EPERM));
    }

    #[test]
    fn the_filter_is_one_event_after_no_new_privs() {
        use crate::kernel::double::FakeSyscalls;
        use crate::recorder::Recorder;
        use casulo_trace::EventBody;
        let sys = FakeSyscalls::new();
        sys.set_file("/proc/sys/kernel/cap_last_cap", "40\n");
        sys.set_file("/proc/sys/kernel/osrelease", "6.1.0-casulo\n");
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        crate::security::harden(&k, &Default::default()).unwrap();
        let events = rec.events();
        assert_eq!(events[1].body.kind(), "security.no_new_privs");
        let EventBody::SecuritySeccomp {
            mode,
            profile,
            default_action,
            blocked_count,
            blocked,
            filters,
            rule_count,
            allowed_count,
            ..
        } = &events[2].body
        else {
            panic!("{:?}", events[2].body);
        };
        assert_eq!(
            (mode.as_str(), profile.as_str(), default_action.as_str()),
            ("filter", "padrão", "errno(EPERM)")
        );
        assert_eq!(*blocked_count as usize, blocked.len());
        assert_eq!(blocked, &["clone3"]);
        assert!(*rule_count > *allowed_count && *allowed_count > 300);
        assert!(events[2].op.starts_with("seccomp(SECCOMP_SET_MODE_FILTER"));
        let installs: Vec<_> = sys
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("install_seccomp"))
            .collect();
        assert_eq!(installs.len(), *filters as usize);
        assert_eq!(installs.len(), 3, "abi, allow-list, clone3's ENOSYS");
    }

    #[test]
    fn unconfined_and_privileged_install_nothing_and_say_so() {
        use crate::kernel::double::FakeSyscalls;
        use crate::recorder::Recorder;
        use casulo_trace::EventBody;
        for opts in [
            crate::security::SecurityOptions {
                seccomp: Some("unconfined".into()),
                ..Default::default()
            },
            crate::security::SecurityOptions {
                privileged: true,
                ..Default::default()
            },
        ] {
            let sys = FakeSyscalls::new();
            sys.set_file("/proc/sys/kernel/cap_last_cap", "40\n");
            let rec = Recorder::in_memory();
            let k = Kernel::new(&sys, &rec);
            crate::security::harden(&k, &opts).unwrap();
            assert!(!sys.calls().iter().any(|c| c.starts_with("install_seccomp")));
            let events = rec.events();
            let last = events.last().unwrap();
            let EventBody::SecuritySeccomp { mode, profile, .. } = &last.body else {
                panic!("{:?}", last.body);
            };
            assert_eq!(
                (mode.as_str(), profile.as_str()),
                ("disabled", "unconfined")
            );
            let nnp = sys.calls().iter().any(|c| c == "set_no_new_privs");
            assert_eq!(nnp, !opts.privileged, "{opts:?}");
        }
    }

    #[test]
    fn a_file_profile_must_have_been_read_on_the_host() {
        use crate::kernel::double::FakeSyscalls;
        use crate::recorder::Recorder;
        let sys = FakeSyscalls::new();
        sys.set_file("/proc/sys/kernel/cap_last_cap", "40\n");
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let opts = crate::security::SecurityOptions {
            seccomp: Some("/tmp/perfil.json".into()),
            ..Default::default()
        };
        let e = crate::security::harden(&k, &opts).unwrap_err();
        assert!(e.op.contains("/tmp/perfil.json"), "{}", e.op);
        let opts = crate::security::SecurityOptions {
            seccomp_profile: Some(
                r#"{"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}"#
                    .into(),
            ),
            ..opts
        };
        crate::security::harden(&k, &opts).unwrap();
        let events = rec.events();
        let casulo_trace::EventBody::SecuritySeccomp {
            profile,
            path,
            default_action,
            blocked,
            ..
        } = &events.last().unwrap().body
        else {
            panic!()
        };
        assert_eq!(profile, "arquivo");
        assert_eq!(path.as_deref(), Some("/tmp/perfil.json"));
        assert_eq!(default_action, "allow");
        assert_eq!(blocked, &["mkdir"]);
    }
}
