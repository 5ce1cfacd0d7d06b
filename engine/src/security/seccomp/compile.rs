//! A profile, for one container on this machine, turned into BPF.
//!
//! First the profile is *resolved*: a rule whose `includes`/`excludes`
//! do not hold here (a capability the container lacks, another machine, an
//! older kernel) is left out, as docker does, and each remaining name
//! becomes its x86_64 number. Then the BPF: the calls a rule matches
//! whatever their arguments (nearly all) are found by a binary search over
//! runs of consecutive numbers, written here by hand ([`range_tree`]: 239
//! instructions for docker's default, where one linear chain had 1,567);
//! the few with argument conditions go on to a chain the `seccompiler`
//! crate (the one Firecracker uses) writes. One seccompiler filter has a single
//! action for the calls it matches, while a docker profile may give each
//! rule its own action (`ALLOW` for most, `ERRNO(ENOSYS)` for `clone3`), so
//! casulo installs a small stack of programs, and lets the kernel combine
//! them (it runs every program and keeps the strictest verdict, `man 2
//! seccomp`):
//!
//! 1. [`abi_program`], written by hand: a call made with another ABI
//!    (i386 through `int 0x80`, x32) kills or fails, since its numbers are
//!    not x86_64's and would slip past the rules below;
//! 2. the *default* program: a call that some rule names (with its
//!    arguments) passes; any other gets the profile's `defaultAction`
//!    (left out when that is `SCMP_ACT_ALLOW`);
//! 3. one program per other action: the calls of its rules get it,
//!    everything else passes.
//!
//! Where two rules with different actions match the same call the
//! strictest wins (libseccomp would pick one by its own rules); the
//! profiles docker and casulo ship never do that.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::profile::{Action, Arg, KernelVersion, Op, Profile, Rule};

/// Docker's (Go's) name of this machine, for `includes.arches`.
const NATIVE_ARCH: &str = "amd64";

/// `AUDIT_ARCH_X86_64` (`linux/audit.h`).
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// Syscall numbers with this bit are the x32 ABI.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Which calls of one number match: all of them, or those whose
/// arguments satisfy one of the lists (each list: all its conditions).
#[derive(Debug, Clone)]
enum Match {
    Always,
    When(Vec<Vec<Arg>>),
}

/// The profile resolved for one container, and its BPF.
#[derive(Debug)]
pub struct Compiled {
    /// In the order to install them.
    pub programs: Vec<Vec<libc::sock_filter>>,
    pub default_action: Action,
    /// Distinct system calls the applied rules name.
    pub rule_count: u32,
    /// Of those, the ones a rule allows (maybe only with some arguments).
    pub allowed_count: u32,
    /// The ones a rule refuses, by name.
    pub blocked: Vec<String>,
    /// Their actions (`errno(ENOSYS)`), joined.
    pub blocked_action: String,
    /// Names that are other architectures' calls.
    pub ignored: Vec<String>,
}

/// Whether a rule applies to a container with `caps` on a kernel
/// `kernel` (moby's `profiles/seccomp` rules: every `includes` holds and
/// no `excludes` does; an unknown kernel fails a `minKernel`).
fn applies(rule: &Rule, caps: &[u32], kernel: Option<KernelVersion>) -> bool {
    let inc = &rule.includes;
    let exc = &rule.excludes;
    let at_least = |min: KernelVersion| kernel.is_some_and(|k| k >= min);
    inc.caps.iter().all(|c| caps.contains(&c.0))
        && (inc.arches.is_empty() || inc.arches.iter().any(|a| a == NATIVE_ARCH))
        && inc.min_kernel.is_none_or(at_least)
        && !exc.caps.iter().any(|c| caps.contains(&c.0))
        && !exc.arches.iter().any(|a| a == NATIVE_ARCH)
        && !exc.min_kernel.is_some_and(at_least)
}

/// Resolves `profile` for a container with capabilities `caps` and
/// compiles it. Errors (in Portuguese) only when the BPF would be too long.
pub fn compile(
    profile: &Profile,
    caps: &[u32],
    kernel: Option<KernelVersion>,
) -> Result<Compiled, String> {
    let default_action = profile.default_action.with_ret(profile.default_errno_ret);
    let Resolved {
        by_action,
        names,
        ignored,
    } = resolve(profile, caps, kernel);
    let mut programs = vec![abi_program(default_action)];
    if default_action != Action::Allow {
        // Every call some rule names passes this one (the others decide).
        programs.push(program(&union(&by_action), default_action, Action::Allow)?);
    }
    let mut blocked: BTreeMap<i64, Vec<Action>> = BTreeMap::new();
    for (action, calls) in by_action.iter().filter(|(a, _)| **a != Action::Allow) {
        programs.push(program(calls, Action::Allow, *action)?);
        for nr in calls.keys() {
            blocked.entry(*nr).or_default().push(*action);
        }
    }
    let mut actions: Vec<String> = blocked.values().flatten().map(|a| a.to_string()).collect();
    actions.sort();
    actions.dedup();
    Ok(Compiled {
        programs,
        default_action,
        rule_count: names.len() as u32,
        allowed_count: by_action.get(&Action::Allow).map_or(0, |c| c.len()) as u32,
        blocked: blocked.keys().map(|nr| names[nr].clone()).collect(),
        blocked_action: actions.join(", "),
        ignored,
    })
}

/// The rules that apply, by action: each call's number and what of it
/// matches; with the names and the calls of other architectures.
struct Resolved {
    by_action: BTreeMap<Action, BTreeMap<i64, Match>>,
    names: BTreeMap<i64, String>,
    ignored: Vec<String>,
}

fn resolve(profile: &Profile, caps: &[u32], kernel: Option<KernelVersion>) -> Resolved {
    let mut by_action: BTreeMap<Action, BTreeMap<i64, Match>> = BTreeMap::new();
    let mut names: BTreeMap<i64, String> = BTreeMap::new();
    let mut ignored: Vec<String> = Vec::new();
    for rule in profile.syscalls.iter().filter(|r| applies(r, caps, kernel)) {
        let action = rule.action.with_ret(rule.errno_ret);
        for call in rule.all_names() {
            let Some(nr) = call.nr else {
                if !ignored.contains(&call.name) {
                    ignored.push(call.name.clone());
                }
                continue;
            };
            names.insert(nr, call.name.clone());
            let entry = by_action.entry(action).or_default();
            let merged = match (entry.remove(&nr), rule.args.is_empty()) {
                (Some(Match::Always), _) | (_, true) => Match::Always,
                (Some(Match::When(mut alts)), false) => {
                    alts.push(rule.args.clone());
                    Match::When(alts)
                }
                (None, false) => Match::When(vec![rule.args.clone()]),
            };
            entry.insert(nr, merged);
        }
    }
    Resolved {
        by_action,
        names,
        ignored,
    }
}

/// Every call some rule names, whatever its action.
fn union(by_action: &BTreeMap<Action, BTreeMap<i64, Match>>) -> BTreeMap<i64, Match> {
    let mut union: BTreeMap<i64, Match> = BTreeMap::new();
    for calls in by_action.values() {
        for (nr, m) in calls {
            let merged = match (union.remove(nr), m) {
                (Some(Match::Always), _) | (_, Match::Always) => Match::Always,
                (Some(Match::When(mut a)), Match::When(b)) => {
                    a.extend(b.iter().cloned());
                    Match::When(a)
                }
                (None, m) => m.clone(),
            };
            union.insert(*nr, merged);
        }
    }
    union
}

/// The hand-written first program: only x86_64's 64-bit ABI reaches the
/// rules. Another architecture's call kills the process (its numbers mean
/// other calls); an x32 call gets the profile's default, or `EPERM` when
/// that is allow.
pub fn abi_program(default: Action) -> Vec<libc::sock_filter> {
    use libc::{BPF_ABS, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let stmt = |code: u32, k: u32| jump(code, k, 0, 0);
    let x32 = match default {
        Action::Allow | Action::Log | Action::Trace(_) => Action::Errno(Some(libc::EPERM as u32)),
        other => other,
    };
    vec![
        stmt(BPF_LD | BPF_W | BPF_ABS, 4), // seccomp_data.arch
        jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(BPF_LD | BPF_W | BPF_ABS, 0), // seccomp_data.nr
        jump(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1),
        stmt(BPF_RET | BPF_K, seccomp_ret(x32)),
        stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW),
    ]
}

/// One BPF instruction: `code` with `k`, and where a conditional jump goes
/// when true (`jt`) and false (`jf`), counted from the next instruction.
fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

fn seccompiler_action(a: Action) -> SeccompAction {
    match a {
        Action::Allow => SeccompAction::Allow,
        Action::Errno(e) => SeccompAction::Errno(e.unwrap_or(libc::EPERM as u32)),
        Action::KillThread => SeccompAction::KillThread,
        Action::KillProcess => SeccompAction::KillProcess,
        Action::Trap => SeccompAction::Trap,
        Action::Trace(m) => SeccompAction::Trace(m.unwrap_or(0)),
        Action::Log => SeccompAction::Log,
    }
}

/// The value a BPF `RET` gives the kernel for `a`.
pub fn seccomp_ret(a: Action) -> u32 {
    seccompiler_action(a).into()
}

fn condition(arg: &Arg) -> Result<SeccompCondition, String> {
    let (op, value) = match arg.op {
        Op::Ne => (SeccompCmpOp::Ne, arg.value),
        Op::Lt => (SeccompCmpOp::Lt, arg.value),
        Op::Le => (SeccompCmpOp::Le, arg.value),
        Op::Eq => (SeccompCmpOp::Eq, arg.value),
        Op::Ge => (SeccompCmpOp::Ge, arg.value),
        Op::Gt => (SeccompCmpOp::Gt, arg.value),
        // libseccomp: (arg & value) == valueTwo.
        Op::MaskedEq => (SeccompCmpOp::MaskedEq(arg.value), arg.value_two),
    };
    // All 64 bits, as libseccomp compares them.
    SeccompCondition::new(arg.index.0, SeccompCmpArgLen::Qword, op, value)
        .map_err(|e| format!("condição inválida: {e}"))
}

/// Most instructions a program may have (`BPF_MAXINSNS`).
const MAX_INSNS: usize = 4096;

/// One program: `calls` get `on_match`, the rest `otherwise`.
///
/// seccompiler writes one linear chain: docker's ~300 allowed calls made
/// 1,567 instructions, which the kernel converts and JITs at every run
/// (~0.75 ms here, ~6.6 ms in the emulated VM) and walks at every call the
/// container makes. So the calls matched whatever their arguments — nearly
/// all — go first, as ranges of consecutive numbers found by a binary
/// search ([`range_tree`]); only the few with argument conditions (and
/// every other number) fall through to seccompiler's chain of just those.
fn program(
    calls: &BTreeMap<i64, Match>,
    otherwise: Action,
    on_match: Action,
) -> Result<Vec<libc::sock_filter>, String> {
    let always: Vec<u32> = calls
        .iter()
        .filter(|(_, m)| matches!(m, Match::Always))
        .map(|(nr, _)| *nr as u32)
        .collect();
    let conditional: BTreeMap<i64, Match> = calls
        .iter()
        .filter(|(_, m)| !matches!(m, Match::Always))
        .map(|(nr, m)| (*nr, m.clone()))
        .collect();
    let mut bpf = range_tree(&ranges(&always), seccomp_ret(on_match));
    bpf.extend(chain(&conditional, otherwise, on_match)?);
    if bpf.len() > MAX_INSNS {
        return Err(too_large(bpf.len()));
    }
    Ok(bpf)
}

fn too_large(n: usize) -> String {
    format!(
        "o filtro ficou grande demais: {n} instruções BPF (o kernel aceita até {MAX_INSNS} \
         por programa); junte as regras com os mesmos argumentos"
    )
}

/// Sorted numbers as runs of consecutive ones, `(first, last)`.
fn ranges(numbers: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &n in numbers {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == n => *last = n,
            _ => out.push((n, n)),
        }
    }
    out
}

/// Loads the call's number and returns `ret_match` when it falls in one of
/// `ranges` (sorted, disjoint); any other number goes on to the instruction
/// right after this code. A node splits at its right half's first number
/// (`nr >= pivot`: skip the left half, with a `JA` that reaches any
/// distance, where a conditional jump reaches only 255); a leaf is one range.
fn range_tree(ranges: &[(u32, u32)], ret_match: u32) -> Vec<libc::sock_filter> {
    use libc::{
        BPF_ABS, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W,
    };
    /// An instruction, or a jump to the end of the tree (resolved last).
    enum Ins {
        Op(libc::sock_filter),
        ToEnd,
    }
    fn op(code: u32, k: u32, jt: u8, jf: u8) -> Ins {
        Ins::Op(jump(code, k, jt, jf))
    }
    fn node(ranges: &[(u32, u32)], ret: u32, out: &mut Vec<Ins>) {
        match ranges {
            [] => out.push(Ins::ToEnd),
            [(lo, hi)] if lo == hi => {
                out.push(op(BPF_JMP | BPF_JEQ | BPF_K, *lo, 0, 1));
                out.push(op(BPF_RET | BPF_K, ret, 0, 0));
                out.push(Ins::ToEnd);
            }
            [(lo, hi)] => {
                out.push(op(BPF_JMP | BPF_JGE | BPF_K, *lo, 0, 2));
                out.push(op(BPF_JMP | BPF_JGT | BPF_K, *hi, 1, 0));
                out.push(op(BPF_RET | BPF_K, ret, 0, 0));
                out.push(Ins::ToEnd);
            }
            _ => {
                let (left, right) = ranges.split_at(ranges.len() / 2);
                let mut left_code = Vec::new();
                node(left, ret, &mut left_code);
                out.push(op(BPF_JMP | BPF_JGE | BPF_K, right[0].0, 0, 1));
                out.push(op(BPF_JMP | BPF_JA, left_code.len() as u32, 0, 0));
                out.extend(left_code);
                node(right, ret, out);
            }
        }
    }
    let mut code = vec![op(BPF_LD | BPF_W | BPF_ABS, 0, 0, 0)]; // seccomp_data.nr
    node(ranges, ret_match, &mut code);
    let end = code.len();
    code.into_iter()
        .enumerate()
        .map(|(at, ins)| match ins {
            Ins::Op(op) => op,
            Ins::ToEnd => jump(BPF_JMP | BPF_JA, (end - at - 1) as u32, 0, 0),
        })
        .collect()
}

/// seccompiler's program: `calls` get `on_match`, the rest `otherwise`,
/// one number after another.
fn chain(
    calls: &BTreeMap<i64, Match>,
    otherwise: Action,
    on_match: Action,
) -> Result<Vec<libc::sock_filter>, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (nr, m) in calls {
        let chain = match m {
            Match::Always => Vec::new(),
            Match::When(alts) => alts
                .iter()
                .map(|args| {
                    let conds = args.iter().map(condition).collect::<Result<Vec<_>, _>>()?;
                    SeccompRule::new(conds).map_err(|e| format!("regra inválida: {e}"))
                })
                .collect::<Result<Vec<_>, String>>()?,
        };
        rules.insert(*nr, chain);
    }
    let filter = SeccompFilter::new(
        rules,
        seccompiler_action(otherwise),
        seccompiler_action(on_match),
        TargetArch::x86_64,
    )
    .map_err(|e| format!("filtro inválido: {e}"))?;
    let bpf: BpfProgram = filter.try_into().map_err(|e| match e {
        seccompiler::BackendError::FilterTooLarge(n) => too_large(n),
        other => format!("filtro inválido: {other}"),
    })?;
    Ok(bpf
        .into_iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect())
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::security::seccomp::profile::parse;

    /// Runs a classic BPF program on a `seccomp_data`, as the kernel does
    /// (the instructions seccompiler and [`abi_program`] emit).
    pub fn run(p: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        use libc::*;
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = p[pc];
            pc += 1;
            let code = i.code as u32;
            match code & 0x07 {
                c if c == BPF_LD => {
                    let o = i.k as usize;
                    acc = u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
                }
                c if c == BPF_ALU => {
                    assert_eq!(code & 0xf0, BPF_AND, "alu {code:#x}");
                    acc &= i.k;
                }
                c if c == BPF_RET => return i.k,
                c if c == BPF_JMP => {
                    let op = code & 0xf0;
                    if op == BPF_JA {
                        pc += i.k as usize;
                        continue;
                    }
                    let taken = match op {
                        o if o == BPF_JEQ => acc == i.k,
                        o if o == BPF_JGT => acc > i.k,
                        o if o == BPF_JGE => acc >= i.k,
                        o if o == BPF_JSET => acc & i.k != 0,
                        o => panic!("jmp {o:#x}"),
                    };
                    pc += if taken { i.jt } else { i.jf } as usize;
                }
                c => panic!("class {c:#x}"),
            }
        }
    }

    /// The kernel's verdict for a stack: every program, the strictest
    /// wins, and among equals the last installed.
    pub fn verdict(c: &Compiled, nr: i64, args: [u64; 6]) -> u32 {
        let strict = |r: u32| match r & libc::SECCOMP_RET_ACTION_FULL {
            libc::SECCOMP_RET_KILL_PROCESS => 6,
            libc::SECCOMP_RET_KILL_THREAD => 5,
            libc::SECCOMP_RET_TRAP => 4,
            libc::SECCOMP_RET_ERRNO => 3,
            libc::SECCOMP_RET_TRACE => 2,
            libc::SECCOMP_RET_LOG => 1,
            _ => 0,
        };
        let mut best = libc::SECCOMP_RET_ALLOW;
        for p in c.programs.iter().rev() {
            let r = run(p, AUDIT_ARCH_X86_64, nr as u32, args);
            if strict(r) > strict(best) {
                best = r;
            }
        }
        best
    }

    pub fn errno(e: i32) -> u32 {
        libc::SECCOMP_RET_ERRNO | e as u32
    }

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;

    #[test]
    fn an_allow_list_allows_its_calls_and_refuses_the_rest() {
        let p = parse(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
                {"names": ["read", "write", "_llseek"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
                 "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["clone", "mount"], "action": "SCMP_ACT_ALLOW",
                 "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
                {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW",
                 "includes": {"minKernel": "4.8"}},
                {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW",
                 "includes": {"arches": ["amd64"]}},
                {"names": ["sync_file_range2"], "action": "SCMP_ACT_ALLOW",
                 "includes": {"arches": ["ppc64le"]}}
            ]}"#,
        )
        .unwrap();
        let c = compile(&p, &[0, 5], Some(KernelVersion(6, 1))).unwrap();
        let nr = |n: i64| n;
        use libc::*;
        assert_eq!(verdict(&c, nr(SYS_read), [0; 6]), ALLOW);
        assert_eq!(verdict(&c, nr(SYS_mkdir), [0; 6]), errno(EPERM));
        assert_eq!(verdict(&c, nr(SYS_mount), [0; 6]), errno(EPERM));
        assert_eq!(verdict(&c, nr(SYS_personality), [8, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(verdict(&c, nr(SYS_personality), [0; 6]), ALLOW);
        assert_eq!(
            verdict(&c, nr(SYS_personality), [1, 0, 0, 0, 0, 0]),
            errno(EPERM)
        );
        let fork = SIGCHLD as u64;
        let newns = (CLONE_NEWNS | SIGCHLD) as u64;
        assert_eq!(verdict(&c, nr(SYS_clone), [fork, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(
            verdict(&c, nr(SYS_clone), [newns, 0, 0, 0, 0, 0]),
            errno(EPERM)
        );
        assert_eq!(verdict(&c, nr(SYS_clone3), [0; 6]), errno(ENOSYS));
        assert_eq!(verdict(&c, nr(SYS_socket), [2, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(
            verdict(&c, nr(SYS_socket), [40, 0, 0, 0, 0, 0]),
            errno(EPERM)
        );
        assert_eq!(verdict(&c, nr(SYS_ptrace), [0; 6]), ALLOW);
        assert_eq!(verdict(&c, nr(SYS_arch_prctl), [0; 6]), ALLOW);
        assert_eq!(c.ignored, ["_llseek"]);
        assert_eq!(c.blocked, ["clone3"]);
        assert_eq!(c.blocked_action, "errno(ENOSYS)");
        assert_eq!(c.default_action.to_string(), "errno(EPERM)");
        // read write personality clone clone3 socket ptrace arch_prctl
        assert_eq!((c.rule_count, c.allowed_count), (8, 7));

        // With CAP_SYS_ADMIN: any clone, and mount. An unknown kernel: no ptrace.
        let c = compile(&p, &[21], None).unwrap();
        assert_eq!(verdict(&c, nr(SYS_clone), [newns, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(verdict(&c, nr(SYS_mount), [0; 6]), ALLOW);
        assert_eq!(verdict(&c, nr(SYS_ptrace), [0; 6]), errno(EPERM));
    }

    #[test]
    fn a_deny_list_refuses_its_calls_and_other_abis() {
        let p = parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"}]}"#,
        )
        .unwrap();
        let c = compile(&p, &[], None).unwrap();
        assert_eq!(
            c.programs.len(),
            3,
            "abi + one per action, no default program"
        );
        assert_eq!(verdict(&c, libc::SYS_mkdir, [0; 6]), errno(libc::EPERM));
        assert_eq!(verdict(&c, libc::SYS_read, [0; 6]), ALLOW);
        assert_eq!(
            verdict(&c, libc::SYS_reboot, [0; 6]),
            libc::SECCOMP_RET_KILL_PROCESS
        );
        assert_eq!(c.blocked, ["mkdir", "reboot", "mkdirat"]);
        let abi = &c.programs[0];
        assert_eq!(
            run(abi, 0x4000_0003, 3, [0; 6]),
            libc::SECCOMP_RET_KILL_PROCESS,
            "i386"
        );
        assert_eq!(
            run(abi, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 83, [0; 6]),
            errno(libc::EPERM),
            "x32 mkdir"
        );
    }

    /// The range tree in front of the chain decides every call as
    /// seccompiler's whole chain did, for docker's default profile with a
    /// few capability sets: every number up to 1023 and a few of x32's,
    /// with no arguments and with each value a condition names (and its
    /// neighbours) in the argument it names. And it is far shorter.
    #[test]
    fn the_range_tree_decides_as_the_whole_chain() {
        use crate::security::capabilities::DOCKER_DEFAULT;
        let p = parse(crate::security::seccomp::DEFAULT_PROFILE).unwrap();
        let all_caps: Vec<u32> = (0..41).collect();
        for caps in [&DOCKER_DEFAULT[..], &all_caps[..], &[][..]] {
            let r = resolve(&p, caps, Some(KernelVersion(6, 1)));
            let mut maps = vec![(union(&r.by_action), Action::Errno(None), Action::Allow)];
            for (action, calls) in r.by_action.iter().filter(|(a, _)| **a != Action::Allow) {
                maps.push((calls.clone(), Action::Allow, *action));
            }
            for (calls, otherwise, on_match) in maps {
                let tree = program(&calls, otherwise, on_match).unwrap();
                let whole = chain(&calls, otherwise, on_match).unwrap();
                let mut argsets = vec![[0u64; 6]];
                for m in calls.values() {
                    if let Match::When(alts) = m {
                        for a in alts.iter().flatten() {
                            for v in [
                                a.value,
                                a.value_two,
                                a.value.wrapping_add(1),
                                a.value.wrapping_sub(1),
                                !0,
                            ] {
                                let mut args = [0u64; 6];
                                args[a.index.0 as usize] = v;
                                argsets.push(args);
                            }
                        }
                    }
                }
                let numbers = (0..1024u32).chain([X32_SYSCALL_BIT, X32_SYSCALL_BIT | 83, u32::MAX]);
                for nr in numbers {
                    for args in &argsets {
                        assert_eq!(
                            run(&tree, AUDIT_ARCH_X86_64, nr, *args),
                            run(&whole, AUDIT_ARCH_X86_64, nr, *args),
                            "nr {nr} args {args:?} ({on_match:?} / {otherwise:?})"
                        );
                    }
                }
                if calls.len() > 100 {
                    assert!(
                        tree.len() * 3 < whole.len(),
                        "{} × {}",
                        tree.len(),
                        whole.len()
                    );
                }
            }
        }
    }

    #[test]
    fn consecutive_numbers_make_one_range() {
        assert_eq!(ranges(&[0, 1, 2, 5, 7, 8]), [(0, 2), (5, 5), (7, 8)]);
        assert_eq!(ranges(&[]), []);
    }
}
