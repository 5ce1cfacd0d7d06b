//! v2 device control: there is no `devices.allow` in cgroup v2. Instead
//! the kernel runs a small **eBPF program** attached to the cgroup (type
//! `BPF_PROG_TYPE_CGROUP_DEVICE`) on every `open` and `mknod` of a device
//! by one of its processes; the program answers 1 (allow) or 0 (`EPERM`).
//! runc (`libcontainer/cgroups/devices/devicefilter`) and crun generate
//! theirs from the same kind of list; so does casulo, here.
//!
//! **Written by hand, on purpose**: seeing the dozen-odd instructions that
//! stand between a container and the host's disk is the lesson (a crate
//! like aya would hide them, and weighs more than the whole program). The
//! kernel hands the program a `struct bpf_cgroup_dev_ctx`:
//!
//! ```text
//! offset 0: access_type = (access << 16) | type   type: 1 block, 2 char
//!                                                 access: 1 mknod, 2 read, 4 write
//! offset 4: major
//! offset 8: minor
//! ```
//!
//! and the program is a chain of "if it matches this rule, return 1"
//! blocks, one per rule of [`crate::cgroups::devices`], ending in "return
//! 0" (deny everything else):
//!
//! ```text
//!   r2 = *(u32 *)(r1 + 0); r2 &= 0xffff     ; type
//!   r3 = *(u32 *)(r1 + 0); r3 >>= 16        ; access asked
//!   r4 = *(u32 *)(r1 + 4)                   ; major
//!   r5 = *(u32 *)(r1 + 8)                   ; minor
//! rule c 1:3 rwm:
//!   if r2 != 2 goto next                    ; a char device?
//!   if r4 != 1 goto next                    ; major 1?
//!   if r5 != 3 goto next                    ; minor 3?
//!   r0 = 1; exit                            ; allowed
//! rule c *:* m:
//!   if r2 != 2 goto next
//!   r1 = r3; r1 &= 1; if r1 != r3 goto next ; only mknod asked?
//!   r0 = 1; exit
//! …
//!   r0 = 0; exit                            ; nothing matched: EPERM
//! ```
//!
//! Before the kernel takes it, its *verifier* proves the program safe
//! (every read inside the context, every path ends in `exit`, no loop).
//! The program is attached with `BPF_F_ALLOW_MULTI` (ancestors' programs
//! still run: a device must pass them all) and lives as long as the cgroup.
//! Under `--privileged` nothing is attached.

use std::path::Path;

use crate::cgroups::devices::{self, DevType, Rule};
use crate::cgroups::CgroupError;
use crate::kernel::bpf::BpfInsn;
use crate::kernel::Kernel;

// Registers (r0 is the return value, r1 the context on entry).
const R0: u8 = 0;
const R1: u8 = 1;
const TYPE: u8 = 2;
const ACCESS: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;

// From include/uapi/linux/bpf.h.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

pub fn apply(k: &Kernel, dir: &Path, privileged: bool) -> Result<(), CgroupError> {
    let rules = devices::rules(privileged);
    if privileged {
        k.cgroup_devices_v2_unrestricted(dir, devices::texts(&rules));
        return Ok(());
    }
    k.cgroup_devices_v2(dir, &program(&rules), devices::texts(&rules))?;
    Ok(())
}

/// The program that allows exactly `rules` and denies everything else.
pub fn program(rules: &[Rule]) -> Vec<BpfInsn> {
    let mut prog = vec![
        BpfInsn::load_u32(TYPE, R1, 0),
        BpfInsn::and32(TYPE, 0xffff),
        BpfInsn::load_u32(ACCESS, R1, 0),
        BpfInsn::rsh32(ACCESS, 16),
        BpfInsn::load_u32(MAJOR, R1, 4),
        BpfInsn::load_u32(MINOR, R1, 8),
    ];
    for rule in rules {
        prog.extend(block(rule));
    }
    prog.extend([BpfInsn::mov64(R0, 0), BpfInsn::exit()]);
    prog
}

/// One rule: its checks, each jumping past the block when it fails, then
/// "return 1".
fn block(rule: &Rule) -> Vec<BpfInsn> {
    let mut b = Vec::new();
    match rule.dev_type {
        DevType::All => {}
        DevType::Char => b.push(BpfInsn::jne(TYPE, DEV_CHAR, 0)),
        DevType::Block => b.push(BpfInsn::jne(TYPE, DEV_BLOCK, 0)),
    }
    let allowed = access_bits(rule.access);
    if allowed != ACC_MKNOD | ACC_READ | ACC_WRITE {
        // Allowed only if every access asked is in the rule's.
        b.extend([
            BpfInsn::mov32_reg(R1, ACCESS),
            BpfInsn::and32(R1, allowed),
            BpfInsn::jne_reg(R1, ACCESS, 0),
        ]);
    }
    if let Some(major) = rule.major {
        b.push(BpfInsn::jne(MAJOR, major as i32, 0));
    }
    if let Some(minor) = rule.minor {
        b.push(BpfInsn::jne(MINOR, minor as i32, 0));
    }
    b.extend([BpfInsn::mov64(R0, 1), BpfInsn::exit()]);
    // A failed check skips the rest of the block: to the next rule.
    let len = b.len();
    for (i, insn) in b.iter_mut().enumerate() {
        if insn.is_jump() {
            insn.off = (len - i - 1) as i16;
        }
    }
    b
}

fn access_bits(access: &str) -> i32 {
    access.chars().fold(0, |bits, c| {
        bits | match c {
            'm' => ACC_MKNOD,
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            _ => 0,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::double::FakeSyscalls;
    use crate::recorder::Recorder;

    /// Runs `prog` as the kernel would, for the few instructions it uses.
    fn run(prog: &[BpfInsn], dev_type: i32, access: i32, major: u32, minor: u32) -> u64 {
        let ctx = [((access as u32) << 16) | dev_type as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0;
        loop {
            let i = prog[pc];
            let (dst, src) = ((i.regs & 0x0f) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                0x61 => r[dst] = ctx[(i.off / 4) as usize] as u64,
                0x54 => r[dst] = (r[dst] as u32 & i.imm as u32) as u64,
                0x74 => r[dst] = (r[dst] as u32 >> i.imm) as u64,
                0xbc => r[dst] = r[src] as u32 as u64,
                0xb7 => r[dst] = i.imm as i64 as u64,
                0x55 if r[dst] != i.imm as i64 as u64 => pc += i.off as usize,
                0x5d if r[dst] != r[src] => pc += i.off as usize,
                0x55 | 0x5d => {}
                0x95 => return r[0],
                other => panic!("instrução inesperada {other:#x}"),
            }
        }
    }

    #[test]
    fn the_program_allows_the_list_and_denies_the_disk() {
        let prog = program(&devices::DEFAULT);
        let rw = ACC_READ | ACC_WRITE;
        // /dev/null, /dev/urandom, a pty: opened for reading and writing.
        assert_eq!(run(&prog, DEV_CHAR, rw, 1, 3), 1);
        assert_eq!(run(&prog, DEV_CHAR, ACC_READ, 1, 9), 1);
        assert_eq!(run(&prog, DEV_CHAR, rw, 136, 7), 1);
        assert_eq!(run(&prog, DEV_CHAR, rw, 5, 2), 1);
        // mknod of anything, as docker: c *:* m and b *:* m.
        assert_eq!(run(&prog, DEV_BLOCK, ACC_MKNOD, 254, 0), 1);
        assert_eq!(run(&prog, DEV_CHAR, ACC_MKNOD, 1, 1), 1);
        // Opening the host disk, /dev/mem, /dev/kmsg, the console: no.
        assert_eq!(run(&prog, DEV_BLOCK, ACC_READ, 254, 0), 0);
        assert_eq!(run(&prog, DEV_BLOCK, ACC_READ, 8, 0), 0);
        assert_eq!(run(&prog, DEV_CHAR, ACC_READ, 1, 1), 0);
        assert_eq!(run(&prog, DEV_CHAR, rw, 1, 11), 0);
        assert_eq!(run(&prog, DEV_CHAR, rw, 5, 1), 0);
        // mknod together with an open is more than "m".
        assert_eq!(run(&prog, DEV_BLOCK, ACC_MKNOD | ACC_READ, 8, 0), 0);
        // Shape: 6 loads, then per rule its checks and "r0 = 1; exit",
        // then "r0 = 0; exit"; every jump lands inside the program.
        assert_eq!(prog.len(), 6 + 2 * 6 + 7 * 5 + 4 + 2);
        for (i, insn) in prog.iter().enumerate() {
            if insn.is_jump() {
                assert!(i + 1 + (insn.off as usize) < prog.len());
            }
        }
    }

    /// A cgroup made for one test in the host's cgroup2 hierarchy, removed
    /// on drop (also when the test fails).
    struct TestCgroup(std::path::PathBuf);

    impl Drop for TestCgroup {
        fn drop(&mut self) {
            // Its processes have been reaped; the kernel may take a moment.
            for _ in 0..200 {
                if std::fs::remove_dir(&self.0).is_ok() || !self.0.exists() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }

    /// Where this host mounts cgroup2: `/sys/fs/cgroup` on a v2 host,
    /// `/sys/fs/cgroup/unified` on a hybrid one like this machine.
    fn cgroup2_mount() -> std::path::PathBuf {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        info.lines()
            .find_map(|l| {
                let (left, right) = l.split_once(" - ")?;
                (right.split(' ').next() == Some("cgroup2"))
                    .then(|| left.split(' ').nth(4).unwrap().into())
            })
            .expect("este teste precisa de um cgroup2 montado (v2 ou híbrido)")
    }

    /// Makes `node`, a block device file of the host's root disk — or, when
    /// the host's root cannot open that one, of the first other disk it
    /// can (loop devices last) — and returns its major:minor.
    pub(crate) fn openable_host_disk(node: &Path) -> (u64, u64) {
        use std::os::unix::fs::MetadataExt;
        let root = std::fs::metadata("/").unwrap().dev();
        let mut candidates = vec![root];
        let mut others: Vec<u64> = std::fs::read_dir("/sys/dev/block")
            .unwrap()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let (ma, mi) = name.split_once(':')?;
                Some(nix::sys::stat::makedev(ma.parse().ok()?, mi.parse().ok()?))
            })
            .collect();
        others.sort_by_key(|&d| (nix::sys::stat::major(d) == 7, d));
        candidates.extend(others);
        for dev in candidates {
            if nix::sys::stat::major(dev) == 0 {
                continue;
            }
            let _ = std::fs::remove_file(node);
            nix::sys::stat::mknod(
                node,
                nix::sys::stat::SFlag::S_IFBLK,
                nix::sys::stat::Mode::from_bits_truncate(0o400),
                dev,
            )
            .unwrap();
            if std::fs::File::open(node).is_ok() {
                return (nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
            }
        }
        panic!("nenhum disco deste host abre nem para o root do host");
    }

    /// `sh -c SCRIPT` moved first into the cgroup `dir`; its output.
    fn sh_in(dir: &Path, script: &str, arg: &Path) -> std::process::Output {
        std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > \"$0/cgroup.procs\" || exit 99; {script}"
            ))
            .arg(dir)
            .arg(arg)
            .output()
            .unwrap()
    }

    /// The real kernel: its verifier takes the program, and a process of
    /// the cgroup can no longer open the host's disk (read-only, one
    /// block), while `/dev/null`, `/dev/urandom` and `mknod` still work.
    /// The same read from outside the cgroup works: the program refused it.
    #[test]
    fn the_kernels_verifier_takes_the_program_and_it_refuses_the_host_disk() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "anexar um programa BPF a um cgroup exige root"
        );
        let prog = program(&devices::DEFAULT);
        if let Err((errno, log)) = crate::kernel::bpf::load_device_program(&prog) {
            panic!("o verificador recusou o programa ({errno}):\n{log}");
        }
        // A disk of the host the host itself may open: its root disk first
        // (some sandboxes, like this lab's machine, refuse even that to the
        // host's root), as a device file of our own, read-only.
        let tmp = tempfile::tempdir().unwrap();
        let disk = tmp.path().join("disco");
        let (major, minor) = openable_host_disk(&disk);
        let read_block = "dd if=\"$1\" of=/dev/null bs=512 count=1 2>&1";
        let outside = std::process::Command::new("/bin/sh")
            .args(["-c", read_block, "sh"])
            .arg(&disk)
            .output()
            .unwrap();
        assert!(
            outside.status.success(),
            "fora do cgroup o disco {major}:{minor} abre: {outside:?}"
        );

        let dir = cgroup2_mount().join(format!("casulo-teste-dispositivos-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let cg = TestCgroup(dir);
        let rec = Recorder::in_memory();
        let k = Kernel::new(&crate::kernel::LinuxSyscalls, &rec);
        apply(&k, &cg.0, false).unwrap();
        assert!(rec.events()[0].outcome.is_ok());

        let inside = sh_in(&cg.0, read_block, &disk);
        let said = String::from_utf8_lossy(&inside.stdout);
        assert!(
            !inside.status.success(),
            "o disco abriu dentro do cgroup: {said}"
        );
        assert!(said.contains("Operation not permitted"), "{said}");
        let ok = sh_in(
            &cg.0,
            "head -c 16 /dev/urandom > /dev/null && echo oi > /dev/null && \
             mknod \"$1.null\" c 1 3 && mknod \"$1.disco\" b 8 0 && echo ok",
            &disk,
        );
        let said = String::from_utf8_lossy(&ok.stdout);
        assert_eq!(said.trim(), "ok", "{ok:?}");
    }

    #[test]
    fn apply_attaches_the_program_or_under_privileged_nothing() {
        let sys = FakeSyscalls::new();
        let rec = Recorder::in_memory();
        let k = Kernel::new(&sys, &rec);
        let dir = Path::new("/sys/fs/cgroup/casulo/c1");
        apply(&k, dir, false).unwrap();
        let len = program(&devices::DEFAULT).len();
        assert_eq!(
            sys.calls(),
            [format!("attach_device_program {} {len}", dir.display())]
        );
        apply(&k, dir, true).unwrap();
        assert_eq!(sys.calls().len(), 1, "privileged: nothing attached");
        let ev = rec.events();
        let bodies: Vec<_> = ev
            .iter()
            .map(|e| match &e.body {
                casulo_trace::EventBody::CgroupDevices {
                    version,
                    privileged,
                    default_action,
                    program_insns,
                    ..
                } => (
                    version.clone(),
                    *privileged,
                    default_action.clone(),
                    *program_insns,
                ),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            bodies,
            [
                ("v2".into(), false, "deny".into(), Some(len as u32)),
                ("v2".into(), true, "allow".into(), None)
            ]
        );
        assert!(ev[0].op.contains("BPF_PROG_TYPE_CGROUP_DEVICE"));
    }
}
