//! eBPF, the bare minimum casulo needs: the instruction format, and the two
//! `bpf(2)` commands that put a cgroup-device program in place —
//! `BPF_PROG_LOAD` (the kernel's verifier checks the program, then it is
//! compiled) and `BPF_PROG_ATTACH` (hang it on a cgroup directory).
//!
//! No crate: the `bpf` syscall takes a `union bpf_attr`, and only the first
//! fields of its two variants are needed; the kernel treats the fields past
//! the size we pass as zero. The program itself is written in
//! `cgroups::v2::devices`.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;

/// One eBPF instruction (`struct bpf_insn`, 8 bytes): an opcode, the
/// destination register in the low 4 bits of `regs` and the source register
/// in the high 4, a signed jump offset (in instructions, from the next one)
/// or memory offset, and a 32-bit immediate.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcode pieces (include/uapi/linux/bpf.h and bpf_common.h).
const BPF_LDX: u8 = 0x01;
const BPF_ALU: u8 = 0x04; // 32-bit arithmetic
const BPF_JMP: u8 = 0x05;
const BPF_ALU64: u8 = 0x07;
const BPF_W: u8 = 0x00; // a 32-bit word
const BPF_MEM: u8 = 0x60;
const BPF_K: u8 = 0x00; // the operand is the immediate
const BPF_X: u8 = 0x08; // the operand is the source register
const BPF_AND: u8 = 0x50;
const BPF_RSH: u8 = 0x70;
const BPF_MOV: u8 = 0xb0;
const BPF_JNE: u8 = 0x50;
const BPF_EXIT: u8 = 0x90;

impl BpfInsn {
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        BpfInsn {
            code,
            regs: (src << 4) | (dst & 0x0f),
            off,
            imm,
        }
    }

    /// `dst = *(u32 *)(src + off)`.
    pub fn load_u32(dst: u8, src: u8, off: i16) -> Self {
        Self::new(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
    }

    /// `dst = (u32)dst & imm`.
    pub fn and32(dst: u8, imm: i32) -> Self {
        Self::new(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm)
    }

    /// `dst = (u32)dst >> imm`.
    pub fn rsh32(dst: u8, imm: i32) -> Self {
        Self::new(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm)
    }

    /// `dst = (u32)src`.
    pub fn mov32_reg(dst: u8, src: u8) -> Self {
        Self::new(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
    }

    /// `dst = imm`.
    pub fn mov64(dst: u8, imm: i32) -> Self {
        Self::new(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
    }

    /// `if dst != imm goto +off`.
    pub fn jne(dst: u8, imm: i32, off: i16) -> Self {
        Self::new(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
    }

    /// `if dst != src goto +off`.
    pub fn jne_reg(dst: u8, src: u8, off: i16) -> Self {
        Self::new(BPF_JMP | BPF_JNE | BPF_X, dst, src, off, 0)
    }

    /// `return r0`.
    pub fn exit() -> Self {
        Self::new(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
    }

    /// True for a jump with an offset to fix (not `exit`).
    pub fn is_jump(&self) -> bool {
        self.code & 0x07 == BPF_JMP && self.code & 0xf0 != BPF_EXIT
    }
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Programs of the ancestors keep running too (all must allow): what runc,
/// crun and systemd use for device programs.
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The `BPF_PROG_LOAD` variant of `union bpf_attr`, up to
/// `expected_attach_type`.
#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH` variant of `union bpf_attr`.
#[repr(C)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> Result<libc::c_long, Errno> {
    // SAFETY: `attr` is a live, fully initialised `repr(C)` prefix of
    // `union bpf_attr`, and its size is passed along.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    Errno::result(r)
}

/// `BPF_PROG_LOAD` of a `BPF_PROG_TYPE_CGROUP_DEVICE` program named
/// `casulo_devices`. On a refusal, the errno and what the verifier said
/// (its log: the instruction it stopped at and why).
pub fn load_device_program(program: &[BpfInsn]) -> Result<OwnedFd, (Errno, String)> {
    let license = CString::new("GPL").expect("no NUL");
    let mut log = vec![0u8; 64 * 1024];
    let mut name = [0u8; 16];
    name[..14].copy_from_slice(b"casulo_devices");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: program.len() as u32,
        insns: program.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        kern_version: 0,
        prog_flags: 0,
        prog_name: name,
        prog_ifindex: 0,
        expected_attach_type: 0,
    };
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // SAFETY: BPF_PROG_LOAD returns a new descriptor (close-on-exec) we own.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(errno) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            Err((errno, String::from_utf8_lossy(&log[..end]).into_owned()))
        }
    }
}

/// `BPF_PROG_ATTACH` of `program` to the cgroup directory `cgroup` as its
/// device program (`BPF_CGROUP_DEVICE`, `BPF_F_ALLOW_MULTI`). The cgroup
/// holds the program from then on: both descriptors can be closed, and
/// the program goes away with the cgroup.
pub fn attach_device_program(cgroup: &Path, program: &OwnedFd) -> Result<(), Errno> {
    let dir = nix::fcntl::open(
        cgroup,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    let mut attr = ProgAttachAttr {
        target_fd: dir.as_raw_fd() as u32,
        attach_bpf_fd: program.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_are_encoded_as_the_kernel_reads_them() {
        assert_eq!(std::mem::size_of::<BpfInsn>(), 8);
        // ldxw r2, [r1+0]: dst in the low nibble, src in the high one.
        assert_eq!(
            BpfInsn::load_u32(2, 1, 0),
            BpfInsn {
                code: 0x61,
                regs: 0x12,
                off: 0,
                imm: 0
            }
        );
        assert_eq!(BpfInsn::mov64(0, 1).code, 0xb7);
        assert_eq!(BpfInsn::jne(4, 254, 3).code, 0x55);
        assert_eq!(BpfInsn::jne_reg(1, 3, 1).regs, 0x31);
        assert_eq!(BpfInsn::exit().code, 0x95);
        assert!(BpfInsn::jne(4, 1, 0).is_jump() && !BpfInsn::exit().is_jump());
        assert!(!BpfInsn::and32(2, 0xffff).is_jump());
    }
}
