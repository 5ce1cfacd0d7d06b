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
//! **This is a deny-list, not docker's profile.** Docker's default profile
//! is an *allow-list* of about 350 calls (everything else fails with
//! `EPERM`). Casulo's filter, for now, is the opposite and simpler shape:
//! it allows everything except the dangerous calls of [`BLOCKED`] (the
//! ones docker's profile leaves out or gates on a capability the container
//! does not have: `mount`, `pivot_root`, module loading, `kexec`, `bpf`,
//! `ptrace`, the kernel keyring, `reboot`, `swapon`, setting the clock,
//! …), which return `EPERM`, plus, as docker does, `unshare` and `clone`
//! with a namespace flag (new namespaces are how most container escapes
//! start), `setns`, and `clone3` with `ENOSYS` (its flags live in memory
//! a filter cannot read, so libc falls back to `clone`). A call this list
//! forgot is allowed: that is the price of a deny-list.
//!
//! The numbers are x86_64's; the first instructions check the
//! architecture, so a call made with another ABI (i386 through `int 0x80`,
//! x32) is refused instead of slipping through with different numbers. On
//! another architecture [`install_default`] refuses to start the
//! container (`ENOSYS`) rather than run it without the filter.
//!
//! Written by hand, twenty lines of BPF, rather than with the `seccompiler`
//! crate: the program *is* the lesson, and the trace shows its size.

use crate::kernel::{Kernel, KernelError};

/// A syscall the default filter refuses, with what it refuses.
#[derive(Clone, Copy)]
pub struct Rule {
    /// The call's name (`man 2 NAME`).
    pub name: &'static str,
    /// Its number on this architecture.
    pub nr: i64,
    /// `Some(mask)`: refused only when its first argument (the flags of
    /// `unshare`/`clone`) has one of these bits; `None`: always.
    pub flags: Option<u32>,
    /// The errno it fails with.
    pub errno: i32,
}

/// The namespace flags of `clone`/`unshare`: `CLONE_NEWNS`,
/// `CLONE_NEWCGROUP`, `CLONE_NEWUTS`, `CLONE_NEWIPC`, `CLONE_NEWUSER`,
/// `CLONE_NEWPID`, `CLONE_NEWNET`.
pub const NAMESPACE_FLAGS: u32 = 0x7e02_0000;
/// `unshare` also takes `CLONE_NEWTIME` (0x80, an exit-signal bit for
/// `clone`).
const CLONE_NEWTIME: u32 = 0x80;

#[cfg(target_arch = "x86_64")]
macro_rules! deny {
    ($($name:ident),* $(,)?) => {
        &[$(Rule { name: stringify!($name), nr: libc::$name as i64, flags: None, errno: libc::EPERM }),*]
    };
}

/// The calls always refused with `EPERM` (x86_64 names without `SYS_`).
#[cfg(target_arch = "x86_64")]
const ALWAYS: &[Rule] = deny![
    // filesystems and the root
    SYS_mount,
    SYS_umount2,
    SYS_pivot_root,
    SYS_fsopen,
    SYS_fsconfig,
    SYS_fsmount,
    SYS_fspick,
    SYS_move_mount,
    SYS_open_tree,
    SYS_mount_setattr,
    SYS_open_by_handle_at,
    SYS_name_to_handle_at,
    SYS_quotactl,
    SYS_swapon,
    SYS_swapoff,
    SYS_acct,
    // the kernel itself
    SYS_init_module,
    SYS_finit_module,
    SYS_delete_module,
    SYS_kexec_load,
    SYS_kexec_file_load,
    SYS_reboot,
    SYS_bpf,
    SYS_perf_event_open,
    SYS_lookup_dcookie,
    SYS_nfsservctl,
    SYS__sysctl,
    SYS_syslog,
    SYS_iopl,
    SYS_ioperm,
    SYS_uselib,
    SYS_vhangup,
    SYS_userfaultfd,
    // other processes' memory
    SYS_ptrace,
    SYS_process_vm_readv,
    SYS_process_vm_writev,
    SYS_kcmp,
    // the kernel keyring (not namespaced)
    SYS_keyctl,
    SYS_add_key,
    SYS_request_key,
    // the host's clock (not namespaced)
    SYS_settimeofday,
    SYS_clock_settime,
    SYS_clock_adjtime,
    SYS_adjtimex,
    // entering namespaces
    SYS_setns,
];

/// Every rule of the default filter, in the order the program tests them.
#[cfg(target_arch = "x86_64")]
pub fn default_rules() -> Vec<Rule> {
    let mut rules: Vec<Rule> = ALWAYS
        .iter()
        .map(|r| Rule {
            name: r.name.trim_start_matches("SYS_"),
            ..*r
        })
        .collect();
    rules.push(Rule {
        name: "unshare",
        nr: libc::SYS_unshare,
        flags: Some(NAMESPACE_FLAGS | CLONE_NEWTIME),
        errno: libc::EPERM,
    });
    rules.push(Rule {
        name: "clone",
        nr: libc::SYS_clone,
        flags: Some(NAMESPACE_FLAGS),
        errno: libc::EPERM,
    });
    rules.push(Rule {
        name: "clone3",
        nr: libc::SYS_clone3,
        flags: None,
        errno: libc::ENOSYS,
    });
    rules
}

#[cfg(not(target_arch = "x86_64"))]
pub fn default_rules() -> Vec<Rule> {
    Vec::new()
}

/// `AUDIT_ARCH_X86_64` (`linux/audit.h`).
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// Syscall numbers with this bit are the x32 ABI.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

// Classic BPF opcodes (`linux/filter.h`).
const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

// Offsets into `struct seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;
const ARG0_LOW: u32 = 16; // little endian: the low 32 bits of args[0]

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The BPF program for `rules`: check the architecture (kill on another
/// one), refuse x32 numbers, then one small block per rule, and allow.
pub fn program(rules: &[Rule]) -> Vec<libc::sock_filter> {
    let eperm = SECCOMP_RET_ERRNO | libc::EPERM as u32;
    let mut p = vec![
        stmt(LD_W_ABS, ARCH),
        jump(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        stmt(RET_K, SECCOMP_RET_KILL_PROCESS),
        stmt(LD_W_ABS, NR),
        jump(JGE_K, X32_SYSCALL_BIT, 0, 1),
        stmt(RET_K, eperm),
    ];
    for r in rules {
        let refuse = SECCOMP_RET_ERRNO | r.errno as u32;
        match r.flags {
            None => {
                // nr == rule ? refuse : next rule
                p.push(jump(JEQ_K, r.nr as u32, 0, 1));
                p.push(stmt(RET_K, refuse));
            }
            Some(mask) => {
                // nr == rule ? (flags & mask ? refuse : allow) : next rule
                p.push(jump(JEQ_K, r.nr as u32, 0, 4));
                p.push(stmt(LD_W_ABS, ARG0_LOW));
                p.push(jump(JSET_K, mask, 0, 1));
                p.push(stmt(RET_K, refuse));
                p.push(stmt(RET_K, SECCOMP_RET_ALLOW));
            }
        }
    }
    p.push(stmt(RET_K, SECCOMP_RET_ALLOW));
    p
}

/// The names the trace shows (`unshare(CLONE_NEW*)`-style for the rules
/// that look at flags).
pub fn blocked_names(rules: &[Rule]) -> Vec<String> {
    rules
        .iter()
        .map(|r| match r.flags {
            Some(_) => format!("{}(CLONE_NEW*)", r.name),
            None => r.name.to_string(),
        })
        .collect()
}

/// Installs the default filter: one `security.seccomp` event. Must come
/// after `no_new_privs` (the kernel refuses a filter from a process
/// without it and without `CAP_SYS_ADMIN`), and last before `execve`:
/// from here on, casulo's own code is filtered too.
pub fn install_default(k: &Kernel) -> Result<(), KernelError> {
    if !cfg!(target_arch = "x86_64") {
        return Err(KernelError {
            op: "seccomp: o filtro padrão só conhece os números de syscall do x86_64".into(),
            errno: nix::errno::Errno::ENOSYS,
        });
    }
    let rules = default_rules();
    k.install_seccomp(&program(&rules), blocked_names(&rules))
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// Runs the classic BPF program on a `seccomp_data`, as the kernel
    /// would (only the instructions [`program`] emits).
    fn run(p: &[libc::sock_filter], arch: u32, nr: u32, arg0: u64) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        data[16..24].copy_from_slice(&arg0.to_le_bytes());
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = p[pc];
            pc += 1;
            match i.code {
                LD_W_ABS => {
                    let o = i.k as usize;
                    acc = u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
                }
                JEQ_K | JGE_K | JSET_K => {
                    let taken = match i.code {
                        JEQ_K => acc == i.k,
                        JGE_K => acc >= i.k,
                        _ => acc & i.k != 0,
                    };
                    pc += if taken { i.jt } else { i.jf } as usize;
                }
                RET_K => return i.k,
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn the_program_refuses_the_dangerous_calls_and_allows_the_rest() {
        let rules = default_rules();
        let p = program(&rules);
        let eperm = SECCOMP_RET_ERRNO | libc::EPERM as u32;
        let a = AUDIT_ARCH_X86_64;
        for nr in [libc::SYS_mount, libc::SYS_ptrace, libc::SYS_init_module] {
            assert_eq!(run(&p, a, nr as u32, 0), eperm, "{nr}");
        }
        for nr in [libc::SYS_read, libc::SYS_write, libc::SYS_execve] {
            assert_eq!(run(&p, a, nr as u32, 0), SECCOMP_RET_ALLOW, "{nr}");
        }
        // unshare(CLONE_NEWNET) refused, unshare(CLONE_FILES) allowed.
        let unshare = libc::SYS_unshare as u32;
        assert_eq!(run(&p, a, unshare, libc::CLONE_NEWNET as u64), eperm);
        assert_eq!(
            run(&p, a, unshare, libc::CLONE_FILES as u64),
            SECCOMP_RET_ALLOW
        );
        // fork-like clone allowed, clone with a new pid namespace refused.
        let clone = libc::SYS_clone as u32;
        assert_eq!(run(&p, a, clone, libc::SIGCHLD as u64), SECCOMP_RET_ALLOW);
        assert_eq!(
            run(&p, a, clone, (libc::CLONE_NEWPID | libc::SIGCHLD) as u64),
            eperm
        );
        assert_eq!(
            run(&p, a, libc::SYS_clone3 as u32, 0),
            SECCOMP_RET_ERRNO | libc::ENOSYS as u32
        );
        // Another ABI: killed; x32 numbers: refused.
        assert_eq!(run(&p, 0x4000_0003, 3, 0), SECCOMP_RET_KILL_PROCESS);
        assert_eq!(run(&p, a, X32_SYSCALL_BIT | 1, 0), eperm);
    }

    #[test]
    fn the_filter_is_one_event_after_no_new_privs() {
        use crate::kernel::double::FakeSyscalls;
        use crate::recorder::Recorder;
        use casulo_trace::EventBody;
        let sys = FakeSyscalls::new();
        sys.set_file("/proc/sys/kernel/cap_last_cap", "40\n");
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        crate::security::harden(&k).unwrap();
        let events = rec.events();
        assert_eq!(events[1].body.kind(), "security.no_new_privs");
        let EventBody::SecuritySeccomp {
            mode,
            default_action,
            blocked_count,
            blocked,
            ..
        } = &events[2].body
        else {
            panic!("{:?}", events[2].body);
        };
        assert_eq!(
            (mode.as_str(), default_action.as_str()),
            ("filter", "allow")
        );
        assert_eq!(*blocked_count as usize, blocked.len());
        for name in [
            "mount",
            "umount2",
            "pivot_root",
            "bpf",
            "unshare(CLONE_NEW*)",
        ] {
            assert!(blocked.iter().any(|b| b == name), "{name}: {blocked:?}");
        }
        assert!(events[2].op.starts_with("seccomp(SECCOMP_SET_MODE_FILTER"));
        let last = sys.calls().last().unwrap().clone();
        assert_eq!(
            last,
            format!("install_seccomp {}", program(&default_rules()).len())
        );
    }
}
