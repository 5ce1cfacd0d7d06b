//! The raw kernel calls casulo makes, behind one trait.
//!
//! [`LinuxSyscalls`] performs them for real; `kernel::double::FakeSyscalls`
//! only remembers them, so the container set-up can be unit-tested without
//! root. Nothing here records: the [`super::Kernel`] facade wraps every call
//! and turns it into a trace event.

use std::convert::Infallible;
use std::ffi::{CStr, CString};
use std::net::SocketAddrV4;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::sys::stat::{Mode, SFlag};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::bpf::BpfInsn;
use super::netlink;
use super::types::Protocol;

/// What `clone` returned, seen from the calling side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// We are the parent; the child has this host pid.
    Parent(Pid),
    /// We are the new child process.
    Child,
}

/// `Sync`: the cgroup sampler thread reads usage through the same facade
/// while the main thread waits for the container.
pub trait Syscalls: Sync {
    /// `clone(flags | SIGCHLD)` without a new stack: fork-like, in new namespaces.
    fn clone_process(&self, flags: CloneFlags) -> Result<Forked, Errno>;
    /// `clone3` as [`Syscalls::clone_process`] (no new stack, exit signal
    /// `SIGCHLD`), with `CLONE_INTO_CGROUP`: born in the cgroup v2
    /// directory `cgroup` is open on (Linux 5.7).
    fn clone_into_cgroup(&self, flags: CloneFlags, cgroup: BorrowedFd) -> Result<Forked, Errno>;
    fn unshare(&self, flags: CloneFlags) -> Result<(), Errno>;
    /// `setns(fd, nstype)`: the calling process joins the namespace `fd`
    /// (an open `/proc/PID/ns/<kind>`) is. For a pid namespace only the
    /// children born after it are in it.
    fn setns(&self, fd: BorrowedFd, nstype: CloneFlags) -> Result<(), Errno>;
    fn mount(
        &self,
        source: Option<&str>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> Result<(), Errno>;
    fn umount2(&self, target: &Path, flags: MntFlags) -> Result<(), Errno>;
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> Result<(), Errno>;
    fn sethostname(&self, name: &str) -> Result<(), Errno>;
    fn write_file(&self, path: &Path, value: &str) -> Result<(), Errno>;
    /// Each of `lines` written into `path` by a `write(2)` of its own, the
    /// file opened once (a v1 `devices.allow` takes one rule per write).
    /// On failure: the index of the line the kernel refused, and why.
    fn write_lines(&self, path: &Path, lines: &[&str]) -> Result<(), (usize, Errno)>;
    /// Reads a small kernel file (cgroup counters) as text.
    fn read_file(&self, path: &Path) -> Result<String, Errno>;
    /// `mkdir(path, 0755)` (a new cgroup is a new directory).
    fn mkdir(&self, path: &Path) -> Result<(), Errno>;
    /// `rmdir(path)` (a cgroup is removed with rmdir, once empty).
    fn rmdir(&self, path: &Path) -> Result<(), Errno>;
    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> Result<(), Errno>;
    fn symlink(&self, target: &str, link: &Path) -> Result<(), Errno>;
    fn chdir(&self, path: &Path) -> Result<(), Errno>;
    fn chroot(&self, path: &Path) -> Result<(), Errno>;
    /// Sets IFF_UP on an interface of the current network namespace.
    fn link_up(&self, ifname: &str) -> Result<(), Errno>;
    /// Sends one rtnetlink request (in the current network namespace) and
    /// waits for the kernel's ack.
    fn netlink(&self, request: &netlink::Request) -> Result<(), Errno>;
    /// The index of an interface of the current network namespace
    /// (`if_nametoindex`; ENODEV when there is none by that name).
    fn if_index(&self, ifname: &str) -> Result<u32, Errno>;
    /// The (primary) IPv4 address of an interface of the current network
    /// namespace (`ioctl(SIOCGIFADDR)`), `None` when it has none.
    fn if_ipv4(&self, ifname: &str) -> Result<Option<std::net::Ipv4Addr>, Errno>;
    /// A host socket bound to `addr` (`socket` + `bind`, and `listen` for
    /// TCP): the host side of a published port.
    fn bind_port(&self, protocol: Protocol, addr: SocketAddrV4) -> Result<OwnedFd, Errno>;
    /// A UDP socket bound to `addr` *in the network namespace of `pid`*:
    /// `setns` there (this thread only), `lo` up, `socket` + `bind`, and
    /// `setns` back, whatever happened.
    fn udp_socket_in_netns(&self, pid: i32, addr: SocketAddrV4) -> Result<OwnedFd, Errno>;
    /// The same for a listening TCP socket (`socket` + `bind` + `listen`).
    fn tcp_listener_in_netns(&self, pid: i32, addr: SocketAddrV4) -> Result<OwnedFd, Errno>;
    /// Runs `nft` with `args` (`-f -` reads `stdin`); its standard output.
    /// ENOENT when the `nft` tool is missing, EINVAL when it refused.
    fn nft(&self, args: &[&str], stdin: &str) -> Result<String, Errno>;
    /// `shutdown(fd, SHUT_RDWR)`: a listening TCP socket stops listening
    /// (and a thread blocked in its `accept` wakes up).
    fn shutdown_socket(&self, fd: BorrowedFd) -> Result<(), Errno>;
    /// `close(fd)` with its result (dropping an `OwnedFd` ignores it).
    fn close_socket(&self, fd: OwnedFd) -> Result<(), Errno>;
    /// Replaces the process image; returns only on failure.
    fn execve(&self, path: &CStr, argv: &[CString], env: &[CString]) -> Result<Infallible, Errno>;
    /// `wait4(pid)`: its exit or death, or `None` when `block` is false and
    /// it is still running (stops are never reported).
    fn wait(&self, pid: Pid, block: bool) -> Result<Option<WaitStatus>, Errno>;
    fn kill(&self, pid: Pid, signal: Signal) -> Result<(), Errno>;
    /// Supplementary groups of the calling process.
    fn setgroups(&self, groups: &[u32]) -> Result<(), Errno>;
    fn setgid(&self, gid: u32) -> Result<(), Errno>;
    fn setuid(&self, uid: u32) -> Result<(), Errno>;
    /// Cuts the capabilities to `keep` (a mask of capability numbers):
    /// `prctl(PR_CAPBSET_DROP)` of every capability up to `last_cap` not in
    /// it, `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)`, then `capset`
    /// with effective = permitted = inheritable = `keep`.
    fn restrict_capabilities(&self, keep: u64, last_cap: u32) -> Result<(), Errno>;
    /// `prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)`.
    fn set_no_new_privs(&self) -> Result<(), Errno>;
    /// `seccomp(SECCOMP_SET_MODE_FILTER, 0, &{len, program})`: installs a
    /// classic BPF filter on the calling thread (needs no_new_privs or
    /// `CAP_SYS_ADMIN`).
    fn install_seccomp(&self, program: &[libc::sock_filter]) -> Result<(), Errno>;
    /// `prctl(PR_SET_DUMPABLE, dumpable)`.
    fn set_dumpable(&self, dumpable: bool) -> Result<(), Errno>;
    /// `setsid()`; returns whether the process had a controlling terminal
    /// before (`tty_nr` of `/proc/self/stat`).
    fn setsid(&self) -> Result<bool, Errno>;
    /// A new pseudo-terminal from the `/dev/ptmx` of the current root:
    /// `posix_openpt(O_RDWR|O_NOCTTY|O_CLOEXEC)`, `unlockpt`, `ptsname`,
    /// and the slave opened (`O_RDWR|O_NOCTTY|O_CLOEXEC`). Returns
    /// (master, slave, the slave's path).
    fn open_pty(&self) -> Result<(OwnedFd, OwnedFd, String), Errno>;
    /// `ioctl(fd, TIOCSWINSZ, {rows, cols})` on either end of a pty.
    fn set_window_size(&self, fd: BorrowedFd, rows: u16, cols: u16) -> Result<(), Errno>;
    /// `ioctl(tty, TIOCSCTTY, 0)` (the caller leads a session without a
    /// terminal), then `dup2(tty, 0|1|2)`.
    fn take_terminal(&self, tty: BorrowedFd) -> Result<(), Errno>;
    /// `close_range(first, ~0U, CLOSE_RANGE_CLOEXEC)`: every descriptor
    /// from `first` on closes at the next `execve`. Returns the ones that
    /// were open without close-on-exec before (they would have crossed it).
    fn close_fds_on_exec(&self, first: i32) -> Result<Vec<i32>, Errno>;
    /// An idmapped detached copy of the mount at `path` (see
    /// [`super::mount_api::idmapped_tree`]).
    fn idmapped_tree(&self, path: &Path, userns: BorrowedFd) -> Result<OwnedFd, Errno>;
    /// A detached overlay of mount descriptors (`fsopen`/`fsconfig`/`fsmount`).
    fn overlay_from_fds(
        &self,
        lowers: &[BorrowedFd],
        upper: &Path,
        work: &Path,
    ) -> Result<OwnedFd, Errno>;
    /// `move_mount` of a detached mount onto `target`.
    fn attach_mount(&self, fd: BorrowedFd, target: &Path) -> Result<(), Errno>;
    /// `bpf(BPF_PROG_LOAD)` of a `BPF_PROG_TYPE_CGROUP_DEVICE` program,
    /// then `bpf(BPF_PROG_ATTACH)` of it to the cgroup directory `cgroup`
    /// (see [`super::bpf`]); both descriptors closed after.
    fn attach_device_program(&self, cgroup: &Path, program: &[BpfInsn]) -> Result<(), Errno>;
}

/// The real kernel.
pub struct LinuxSyscalls;

impl Syscalls for LinuxSyscalls {
    fn clone_process(&self, flags: CloneFlags) -> Result<Forked, Errno> {
        // A raw clone with no stack behaves like fork(): the child continues
        // on a copy of our stack. This is safe because casulo is
        // single-threaded at this point (no other thread holds a lock).
        let flags = flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
        // SAFETY: clone without CLONE_VM/CLONE_SETTLS and a NULL stack has
        // fork semantics; arguments are plain integers.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_clone,
                flags,
                std::ptr::null_mut::<libc::c_void>(),
                std::ptr::null_mut::<libc::c_int>(),
                std::ptr::null_mut::<libc::c_int>(),
                0 as libc::c_ulong,
            )
        };
        match ret {
            -1 => Err(Errno::last()),
            0 => Ok(Forked::Child),
            pid => Ok(Forked::Parent(Pid::from_raw(pid as i32))),
        }
    }

    fn clone_into_cgroup(&self, flags: CloneFlags, cgroup: BorrowedFd) -> Result<Forked, Errno> {
        // libc has it for glibc only, not musl (the static build).
        const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
        let args = libc::clone_args {
            flags: flags.bits() as u64 | CLONE_INTO_CGROUP,
            pidfd: 0,
            child_tid: 0,
            parent_tid: 0,
            exit_signal: libc::SIGCHLD as u64,
            stack: 0,
            stack_size: 0,
            tls: 0,
            set_tid: 0,
            set_tid_size: 0,
            cgroup: cgroup.as_raw_fd() as u64,
        };
        // SAFETY: as in `clone_process` (no stack: fork semantics, casulo
        // single-threaded here); `args` is a valid clone_args of the size given.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const libc::clone_args,
                std::mem::size_of::<libc::clone_args>(),
            )
        };
        match ret {
            -1 => Err(Errno::last()),
            0 => Ok(Forked::Child),
            pid => Ok(Forked::Parent(Pid::from_raw(pid as i32))),
        }
    }

    fn unshare(&self, flags: CloneFlags) -> Result<(), Errno> {
        nix::sched::unshare(flags)
    }

    fn setns(&self, fd: BorrowedFd, nstype: CloneFlags) -> Result<(), Errno> {
        nix::sched::setns(fd, nstype)
    }

    fn mount(
        &self,
        source: Option<&str>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> Result<(), Errno> {
        nix::mount::mount(source, target, fstype, flags, data)
    }

    fn umount2(&self, target: &Path, flags: MntFlags) -> Result<(), Errno> {
        nix::mount::umount2(target, flags)
    }

    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> Result<(), Errno> {
        nix::unistd::pivot_root(new_root, put_old)
    }

    fn sethostname(&self, name: &str) -> Result<(), Errno> {
        nix::unistd::sethostname(name)
    }

    fn write_file(&self, path: &Path, value: &str) -> Result<(), Errno> {
        std::fs::write(path, value).map_err(io_errno)
    }

    fn write_lines(&self, path: &Path, lines: &[&str]) -> Result<(), (usize, Errno)> {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| (0, io_errno(e)))?;
        for (i, line) in lines.iter().enumerate() {
            file.write_all(line.as_bytes())
                .map_err(|e| (i, io_errno(e)))?;
        }
        Ok(())
    }

    fn read_file(&self, path: &Path) -> Result<String, Errno> {
        std::fs::read_to_string(path).map_err(io_errno)
    }

    fn mkdir(&self, path: &Path) -> Result<(), Errno> {
        nix::unistd::mkdir(path, Mode::from_bits_truncate(0o755))
    }

    fn rmdir(&self, path: &Path) -> Result<(), Errno> {
        std::fs::remove_dir(path).map_err(io_errno)
    }

    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> Result<(), Errno> {
        nix::sys::stat::mknod(path, kind, perm, dev)
    }

    fn symlink(&self, target: &str, link: &Path) -> Result<(), Errno> {
        std::os::unix::fs::symlink(target, link).map_err(io_errno)
    }

    fn chdir(&self, path: &Path) -> Result<(), Errno> {
        nix::unistd::chdir(path)
    }

    fn chroot(&self, path: &Path) -> Result<(), Errno> {
        nix::unistd::chroot(path)
    }

    fn link_up(&self, ifname: &str) -> Result<(), Errno> {
        // SIOCGIFFLAGS / SIOCSIFFLAGS on any socket of the namespace.
        let (sock, mut req) = ifreq_socket(ifname)?;
        // SAFETY: ifreq is plain data; the kernel fills/reads the flags
        // union member.
        unsafe {
            if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) < 0 {
                return Err(Errno::last());
            }
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req) < 0 {
                return Err(Errno::last());
            }
        }
        Ok(())
    }

    fn netlink(&self, request: &netlink::Request) -> Result<(), Errno> {
        netlink::send(request)
    }

    fn if_index(&self, ifname: &str) -> Result<u32, Errno> {
        netlink::index_of(ifname)
    }

    fn if_ipv4(&self, ifname: &str) -> Result<Option<std::net::Ipv4Addr>, Errno> {
        let (sock, mut req) = ifreq_socket(ifname)?;
        // SAFETY: ifreq is plain data; the kernel fills ifr_addr.
        unsafe {
            if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFADDR as _, &mut req) < 0 {
                return match Errno::last() {
                    Errno::EADDRNOTAVAIL => Ok(None),
                    e => Err(e),
                };
            }
            let sin =
                &*(&req.ifr_ifru.ifru_addr as *const libc::sockaddr as *const libc::sockaddr_in);
            Ok(Some(std::net::Ipv4Addr::from(u32::from_be(
                sin.sin_addr.s_addr,
            ))))
        }
    }

    fn bind_port(&self, protocol: Protocol, addr: SocketAddrV4) -> Result<OwnedFd, Errno> {
        use nix::sys::socket::{
            bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
            SockaddrIn,
        };
        let kind = match protocol {
            Protocol::Tcp => SockType::Stream,
            Protocol::Udp => SockType::Datagram,
        };
        let sock = socket(AddressFamily::Inet, kind, SockFlag::SOCK_CLOEXEC, None)?;
        // As docker-proxy: a port left in TIME_WAIT by an earlier run is free.
        setsockopt(&sock, sockopt::ReuseAddr, &true)?;
        bind(sock.as_raw_fd(), &SockaddrIn::from(addr))?;
        if protocol == Protocol::Tcp {
            listen(&sock, Backlog::MAXCONN)?;
        }
        Ok(sock)
    }

    fn udp_socket_in_netns(&self, pid: i32, addr: SocketAddrV4) -> Result<OwnedFd, Errno> {
        use nix::sys::socket::{bind, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
        in_netns(pid, || {
            // `lo` up first: bound while it is down, the socket would not
            // own 127.0.0.11 and its replies would leave from 127.0.0.1
            // (which a resolver that `connect`ed to 127.0.0.11 drops).
            self.link_up("lo")?;
            let sock = socket(
                AddressFamily::Inet,
                SockType::Datagram,
                SockFlag::SOCK_CLOEXEC,
                None,
            )?;
            bind(sock.as_raw_fd(), &SockaddrIn::from(addr))?;
            Ok(sock)
        })
    }

    fn tcp_listener_in_netns(&self, pid: i32, addr: SocketAddrV4) -> Result<OwnedFd, Errno> {
        use nix::sys::socket::{
            bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn,
        };
        in_netns(pid, || {
            self.link_up("lo")?;
            let sock = socket(
                AddressFamily::Inet,
                SockType::Stream,
                SockFlag::SOCK_CLOEXEC,
                None,
            )?;
            bind(sock.as_raw_fd(), &SockaddrIn::from(addr))?;
            listen(&sock, Backlog::new(16).unwrap_or(Backlog::MAXCONN))?;
            Ok(sock)
        })
    }

    fn nft(&self, args: &[&str], stdin: &str) -> Result<String, Errno> {
        use std::io::Write;
        let mut child = std::process::Command::new("nft")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(io_errno)?;
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        let out = child.wait_with_output().map_err(io_errno)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(Errno::EINVAL)
        }
    }

    fn shutdown_socket(&self, fd: BorrowedFd) -> Result<(), Errno> {
        nix::sys::socket::shutdown(fd.as_raw_fd(), nix::sys::socket::Shutdown::Both)
    }

    fn close_socket(&self, fd: OwnedFd) -> Result<(), Errno> {
        nix::unistd::close(fd.into_raw_fd())
    }

    fn execve(&self, path: &CStr, argv: &[CString], env: &[CString]) -> Result<Infallible, Errno> {
        nix::unistd::execve(path, argv, env)
    }

    fn wait(&self, pid: Pid, block: bool) -> Result<Option<WaitStatus>, Errno> {
        let flags = (!block).then_some(nix::sys::wait::WaitPidFlag::WNOHANG);
        loop {
            match nix::sys::wait::waitpid(pid, flags) {
                Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    return Ok(Some(status))
                }
                Ok(WaitStatus::StillAlive) => return Ok(None),
                Ok(_) => continue,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn kill(&self, pid: Pid, signal: Signal) -> Result<(), Errno> {
        nix::sys::signal::kill(pid, signal)
    }

    fn setgroups(&self, groups: &[u32]) -> Result<(), Errno> {
        let gids: Vec<nix::unistd::Gid> = groups
            .iter()
            .map(|g| nix::unistd::Gid::from_raw(*g))
            .collect();
        nix::unistd::setgroups(&gids)
    }

    fn setgid(&self, gid: u32) -> Result<(), Errno> {
        nix::unistd::setgid(nix::unistd::Gid::from_raw(gid))
    }

    fn setuid(&self, uid: u32) -> Result<(), Errno> {
        nix::unistd::setuid(nix::unistd::Uid::from_raw(uid))
    }

    fn restrict_capabilities(&self, keep: u64, last_cap: u32) -> Result<(), Errno> {
        // 1. The bounding set, one capability at a time (needs CAP_SETPCAP,
        //    which is still effective: capset comes last).
        for cap in 0..=last_cap {
            if keep & (1 << cap) == 0 {
                // SAFETY: prctl with integer arguments.
                let r =
                    unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
                Errno::result(r)?;
            }
        }
        // 2. The ambient set, all at once.
        // SAFETY: prctl with integer arguments.
        let r = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
                0,
                0,
                0,
            )
        };
        Errno::result(r)?;
        // 3. effective, permitted, inheritable: capset, version 3 (two
        //    32-bit words per set: capabilities 0–31 and 32–63).
        #[repr(C)]
        struct Header {
            version: u32,
            pid: i32,
        }
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
        let header = Header {
            version: LINUX_CAPABILITY_VERSION_3,
            pid: 0,
        };
        let word = |w: u32| {
            let bits = (keep >> (32 * w)) as u32;
            Data {
                effective: bits,
                permitted: bits,
                inheritable: bits,
            }
        };
        let data = [word(0), word(1)];
        // SAFETY: header and data are valid for the duration of the call,
        // with the layout of `struct __user_cap_{header,data}_struct`.
        let r = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
        Errno::result(r).map(drop)
    }

    fn set_no_new_privs(&self) -> Result<(), Errno> {
        // SAFETY: prctl with integer arguments.
        let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        Errno::result(r).map(drop)
    }

    fn install_seccomp(&self, program: &[libc::sock_filter]) -> Result<(), Errno> {
        let len = u16::try_from(program.len()).map_err(|_| Errno::E2BIG)?;
        let prog = libc::sock_fprog {
            len,
            filter: program.as_ptr() as *mut libc::sock_filter,
        };
        const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
        // SAFETY: `prog` points at `program`, alive for the whole call; the
        // kernel copies the filter before returning.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                0 as libc::c_ulong,
                &prog as *const libc::sock_fprog,
            )
        };
        Errno::result(r).map(drop)
    }

    fn set_dumpable(&self, dumpable: bool) -> Result<(), Errno> {
        // SAFETY: prctl with integer arguments.
        let r = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, dumpable as libc::c_ulong, 0, 0, 0) };
        Errno::result(r).map(drop)
    }

    fn setsid(&self) -> Result<bool, Errno> {
        // tty_nr: 0 when there is no controlling terminal.
        let had_terminal = super::proc_stat::fields("self")
            .and_then(|f| f.into_iter().nth(4))
            .is_some_and(|tty| tty != "0");
        nix::unistd::setsid().map(|_| had_terminal)
    }

    fn open_pty(&self) -> Result<(OwnedFd, OwnedFd, String), Errno> {
        use nix::fcntl::OFlag;
        let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        let master = nix::pty::posix_openpt(flags)?;
        nix::pty::unlockpt(&master)?;
        let path = nix::pty::ptsname_r(&master)?;
        let slave = nix::fcntl::open(path.as_str(), flags, Mode::empty())?;
        Ok((OwnedFd::from(master), slave, path))
    }

    fn set_window_size(&self, fd: BorrowedFd, rows: u16, cols: u16) -> Result<(), Errno> {
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize from a valid pointer.
        Errno::result(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &size) }).map(drop)
    }

    fn take_terminal(&self, tty: BorrowedFd) -> Result<(), Errno> {
        // SAFETY: TIOCSCTTY with an integer argument (0: never steal a
        // terminal that is another session's).
        Errno::result(unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0) })?;
        for target in 0..3 {
            // SAFETY: dup2 on integers; 0, 1, 2 are replaced atomically.
            Errno::result(unsafe { libc::dup2(tty.as_raw_fd(), target) })?;
        }
        Ok(())
    }

    fn close_fds_on_exec(&self, first: i32) -> Result<Vec<i32>, Errno> {
        // Which ones would have crossed the execve (for the trace).
        let mut inherited: Vec<i32> = std::fs::read_dir("/proc/self/fd")
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                    .filter(|fd| *fd >= first)
                    .filter(|fd| {
                        // SAFETY: F_GETFD on an integer; a closed fd gives -1.
                        let flags = unsafe { libc::fcntl(*fd, libc::F_GETFD) };
                        flags >= 0 && flags & libc::FD_CLOEXEC == 0
                    })
                    .collect()
            })
            .unwrap_or_default();
        inherited.sort_unstable();
        // SAFETY: close_range with integer arguments (Linux ≥ 5.11 for
        // CLOSE_RANGE_CLOEXEC).
        let r = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                first as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
            )
        };
        match Errno::result(r) {
            Ok(_) => Ok(inherited),
            // An older kernel: the same, one descriptor at a time.
            Err(Errno::ENOSYS | Errno::EINVAL) => {
                for fd in &inherited {
                    // SAFETY: F_SETFD on an integer.
                    Errno::result(unsafe { libc::fcntl(*fd, libc::F_SETFD, libc::FD_CLOEXEC) })?;
                }
                Ok(inherited)
            }
            Err(e) => Err(e),
        }
    }

    fn idmapped_tree(&self, path: &Path, userns: BorrowedFd) -> Result<OwnedFd, Errno> {
        super::mount_api::idmapped_tree(path, userns)
    }

    fn overlay_from_fds(
        &self,
        lowers: &[BorrowedFd],
        upper: &Path,
        work: &Path,
    ) -> Result<OwnedFd, Errno> {
        super::mount_api::overlay_from_fds(lowers, upper, work)
    }

    fn attach_mount(&self, fd: BorrowedFd, target: &Path) -> Result<(), Errno> {
        super::mount_api::attach(fd, target)
    }

    fn attach_device_program(&self, cgroup: &Path, program: &[BpfInsn]) -> Result<(), Errno> {
        let prog = super::bpf::load_device_program(program).map_err(|(errno, _log)| errno)?;
        super::bpf::attach_device_program(cgroup, &prog)
    }
}

fn io_errno(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// An IPv4 datagram socket of the caller's network namespace and an
/// `ifreq` naming `ifname`: what the interface ioctls (`SIOCGIFFLAGS`,
/// `SIOCGIFADDR`, …) take.
fn ifreq_socket(ifname: &str) -> Result<(OwnedFd, libc::ifreq), Errno> {
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain data, all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    // At most IFNAMSIZ - 1 bytes: the name stays NUL-terminated.
    for (dst, src) in req
        .ifr_name
        .iter_mut()
        .zip(ifname.bytes())
        .take(libc::IFNAMSIZ - 1)
    {
        *dst = src as libc::c_char;
    }
    Ok((sock, req))
}

/// Runs `make` in the network namespace of `pid` (this thread only) and
/// comes back, whatever happened: the sockets it makes stay there.
fn in_netns(pid: i32, make: impl FnOnce() -> Result<OwnedFd, Errno>) -> Result<OwnedFd, Errno> {
    let home = std::fs::File::open("/proc/thread-self/ns/net").map_err(io_errno)?;
    let there = std::fs::File::open(format!("/proc/{pid}/ns/net")).map_err(io_errno)?;
    nix::sched::setns(&there, CloneFlags::CLONE_NEWNET)?;
    let made = make();
    // Back home before anything else: the rest of casulo lives in the
    // host's namespace (a failure here would leave it in the child's).
    nix::sched::setns(&home, CloneFlags::CLONE_NEWNET)?;
    made
}
