//! The default profile, compiled at build time (`engine/build.rs`) for
//! docker's default capabilities. Nearly every container runs with it, and
//! compiling it on every run (reading 20 KB of JSON, resolving ~300 names,
//! writing the BPF) was about 3 % of `casulo run`'s CPU. The build uses
//! this module's siblings [`super::profile`] and [`super::compile`], so the
//! programs are the ones a run would compute (a test below checks it).
//!
//! The filter depends on the container only through the capabilities the
//! profile's rules ask about (`includes`/`excludes.caps`) and the kernel's
//! version (`minKernel`): a container that differs there
//! (`--cap-add SYS_ADMIN`, a kernel older than 4.8) gets the profile
//! compiled at run time, as before.

use super::compile::Compiled;
use super::profile::{Action, KernelVersion};

mod generated {
    use super::{Action, KernelVersion};
    include!(concat!(env!("OUT_DIR"), "/seccomp_padrao.rs"));
}

/// The default profile compiled for a container keeping `caps` on a
/// kernel `kernel`, if the build's copy fits it.
pub fn default_for(caps: &[u32], kernel: Option<KernelVersion>) -> Option<Compiled> {
    use generated::*;
    let caps_fit = ASKED_CAPS
        .iter()
        .all(|c| caps.contains(c) == HELD_CAPS.contains(c));
    let kernel_fits = MIN_KERNELS
        .iter()
        .all(|min| kernel.is_some_and(|k| k >= *min));
    if !(caps_fit && kernel_fits) {
        return None;
    }
    Some(Compiled {
        programs: PROGRAMS
            .iter()
            .map(|p| {
                p.iter()
                    .map(|&(code, jt, jf, k)| libc::sock_filter { code, jt, jf, k })
                    .collect()
            })
            .collect(),
        default_action: DEFAULT_ACTION,
        rule_count: RULE_COUNT,
        allowed_count: ALLOWED_COUNT,
        blocked: BLOCKED.iter().map(|s| s.to_string()).collect(),
        blocked_action: BLOCKED_ACTION.to_string(),
        ignored: IGNORED.iter().map(|s| s.to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::capabilities::DOCKER_DEFAULT;
    use crate::security::seccomp::{compile, profile, DEFAULT_PROFILE};

    fn at_run_time(caps: &[u32], kernel: KernelVersion) -> Compiled {
        let p = profile::parse(DEFAULT_PROFILE).unwrap();
        compile::compile(&p, caps, Some(kernel)).unwrap()
    }

    fn same(a: &Compiled, b: &Compiled) {
        let insns = |c: &Compiled| -> Vec<Vec<(u16, u8, u8, u32)>> {
            c.programs
                .iter()
                .map(|p| p.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect())
                .collect()
        };
        assert_eq!(insns(a), insns(b));
        assert_eq!(
            (a.default_action, a.rule_count, a.allowed_count),
            (b.default_action, b.rule_count, b.allowed_count)
        );
        assert_eq!(
            (&a.blocked, &a.blocked_action),
            (&b.blocked, &b.blocked_action)
        );
        assert_eq!(a.ignored, b.ignored);
    }

    #[test]
    fn the_build_copy_is_what_a_run_would_compile() {
        let kernel = KernelVersion(6, 1);
        let built = default_for(&DOCKER_DEFAULT, Some(kernel)).expect("fits the defaults");
        same(&built, &at_run_time(&DOCKER_DEFAULT, kernel));
        // A cap the profile never asks about changes nothing.
        let mut caps = DOCKER_DEFAULT.to_vec();
        caps.retain(|c| *c != 5); // --cap-drop KILL
        caps.push(12); // --cap-add NET_ADMIN
        let built = default_for(&caps, Some(kernel)).expect("KILL, NET_ADMIN: not asked");
        same(&built, &at_run_time(&caps, kernel));
    }

    #[test]
    fn a_container_it_does_not_fit_is_compiled_at_run_time() {
        let mut caps = DOCKER_DEFAULT.to_vec();
        caps.push(21); // --cap-add SYS_ADMIN
        assert!(default_for(&caps, Some(KernelVersion(6, 1))).is_none());
        assert!(default_for(&DOCKER_DEFAULT, Some(KernelVersion(4, 4))).is_none());
        assert!(default_for(&DOCKER_DEFAULT, None).is_none());
    }
}
