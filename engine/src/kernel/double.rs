//! A test double of [`Syscalls`]: performs nothing, remembers every call.
//!
//! With it, the container set-up runs in a unit test without root, and the
//! test asserts the exact sequence of kernel operations (and of trace
//! events, since the [`super::Kernel`] facade records them as usual).
//! `fail_on` makes one named call fail with an errno, to test error paths.

use std::collections::HashMap;
use std::convert::Infallible;
use std::ffi::{CStr, CString};
use std::net::SocketAddrV4;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::path::PathBuf;
use std::sync::Mutex;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::signal::Signal;
use nix::sys::stat::{Mode, SFlag};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::netlink::Request;
use super::syscalls::{Forked, Syscalls};
use super::types::Protocol;

#[derive(Default)]
pub struct FakeSyscalls {
    calls: Mutex<Vec<String>>,
    failures: Mutex<Vec<(String, Errno)>>,
    /// What `read_file` answers, per path (anything else: ENOENT).
    files: Mutex<HashMap<PathBuf, String>>,
    /// Interfaces `if_index` knows (anything else: ENODEV).
    links: Mutex<HashMap<String, u32>>,
    /// IPv4 addresses `if_ipv4` answers (anything else: none).
    addrs: Mutex<HashMap<String, std::net::Ipv4Addr>>,
    /// What `clone_process` answers (default: we are the parent of pid 4242).
    pub clone_answer: Option<Forked>,
}

impl FakeSyscalls {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every call so far, as `name arg…` strings.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// The next call whose text starts with `prefix` fails with `errno`.
    pub fn fail_on(&self, prefix: &str, errno: Errno) {
        self.failures
            .lock()
            .unwrap()
            .push((prefix.to_string(), errno));
    }

    /// Makes `read_file(path)` answer `content`.
    pub fn set_file(&self, path: impl Into<PathBuf>, content: &str) {
        self.files
            .lock()
            .unwrap()
            .insert(path.into(), content.to_string());
    }

    /// Makes `if_index(ifname)` answer `index`.
    pub fn set_link(&self, ifname: &str, index: u32) {
        self.links.lock().unwrap().insert(ifname.to_string(), index);
    }

    /// Makes `if_ipv4(ifname)` answer `addr`.
    pub fn set_addr(&self, ifname: &str, addr: std::net::Ipv4Addr) {
        self.addrs.lock().unwrap().insert(ifname.to_string(), addr);
    }

    fn call(&self, text: String) -> Result<(), Errno> {
        let failure = {
            let mut failures = self.failures.lock().unwrap();
            let pos = failures
                .iter()
                .position(|(p, _)| text.starts_with(p.as_str()));
            pos.map(|i| failures.remove(i).1)
        };
        self.calls.lock().unwrap().push(text);
        failure.map_or(Ok(()), Err)
    }
}

impl Syscalls for FakeSyscalls {
    fn clone_process(&self, flags: CloneFlags) -> Result<Forked, Errno> {
        self.call(format!("clone {flags:?}"))?;
        Ok(self
            .clone_answer
            .unwrap_or(Forked::Parent(Pid::from_raw(4242))))
    }
    fn clone_into_cgroup(&self, flags: CloneFlags, _cgroup: BorrowedFd) -> Result<Forked, Errno> {
        self.call(format!("clone3 {flags:?} CLONE_INTO_CGROUP"))?;
        Ok(self
            .clone_answer
            .unwrap_or(Forked::Parent(Pid::from_raw(4242))))
    }
    fn unshare(&self, flags: CloneFlags) -> Result<(), Errno> {
        self.call(format!("unshare {flags:?}"))
    }
    fn setns(&self, _fd: BorrowedFd, nstype: CloneFlags) -> Result<(), Errno> {
        self.call(format!("setns {nstype:?}"))
    }
    fn mount(
        &self,
        source: Option<&str>,
        target: &Path,
        fstype: Option<&str>,
        _flags: MsFlags,
        data: Option<&str>,
    ) -> Result<(), Errno> {
        self.call(format!(
            "mount {} {} {} {}",
            source.unwrap_or("-"),
            target.display(),
            fstype.unwrap_or("-"),
            data.unwrap_or("-")
        ))
    }
    fn umount2(&self, target: &Path, _flags: MntFlags) -> Result<(), Errno> {
        self.call(format!("umount2 {}", target.display()))
    }
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> Result<(), Errno> {
        self.call(format!(
            "pivot_root {} {}",
            new_root.display(),
            put_old.display()
        ))
    }
    fn sethostname(&self, name: &str) -> Result<(), Errno> {
        self.call(format!("sethostname {name}"))
    }
    fn write_file(&self, path: &Path, value: &str) -> Result<(), Errno> {
        self.call(format!("write {} {value}", path.display()))
    }
    fn write_lines(&self, path: &Path, lines: &[&str]) -> Result<(), (usize, Errno)> {
        for (i, line) in lines.iter().enumerate() {
            self.call(format!("write {} {line}", path.display()))
                .map_err(|errno| (i, errno))?;
        }
        Ok(())
    }
    fn read_file(&self, path: &Path) -> Result<String, Errno> {
        self.call(format!("read {}", path.display()))?;
        self.files
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .ok_or(Errno::ENOENT)
    }
    fn mkdir(&self, path: &Path) -> Result<(), Errno> {
        self.call(format!("mkdir {}", path.display()))
    }
    fn rmdir(&self, path: &Path) -> Result<(), Errno> {
        self.call(format!("rmdir {}", path.display()))
    }
    fn mknod(&self, path: &Path, _kind: SFlag, _perm: Mode, dev: u64) -> Result<(), Errno> {
        self.call(format!("mknod {} {dev}", path.display()))
    }
    fn symlink(&self, target: &str, link: &Path) -> Result<(), Errno> {
        self.call(format!("symlink {target} {}", link.display()))
    }
    fn chdir(&self, path: &Path) -> Result<(), Errno> {
        self.call(format!("chdir {}", path.display()))
    }
    fn chroot(&self, path: &Path) -> Result<(), Errno> {
        self.call(format!("chroot {}", path.display()))
    }
    fn link_up(&self, ifname: &str) -> Result<(), Errno> {
        self.call(format!("link_up {ifname}"))
    }
    fn netlink(&self, request: &Request) -> Result<(), Errno> {
        self.call(format!("netlink {request}"))
    }
    fn if_index(&self, ifname: &str) -> Result<u32, Errno> {
        self.call(format!("if_index {ifname}"))?;
        self.links
            .lock()
            .unwrap()
            .get(ifname)
            .copied()
            .ok_or(Errno::ENODEV)
    }
    fn if_ipv4(&self, ifname: &str) -> Result<Option<std::net::Ipv4Addr>, Errno> {
        self.call(format!("if_ipv4 {ifname}"))?;
        Ok(self.addrs.lock().unwrap().get(ifname).copied())
    }
    fn bind_port(&self, protocol: Protocol, addr: SocketAddrV4) -> Result<OwnedFd, Errno> {
        self.call(format!("bind_port {protocol} {addr}"))?;
        // Any descriptor will do: nothing reads from it.
        std::fs::File::open("/dev/null")
            .map(OwnedFd::from)
            .map_err(|_| Errno::EIO)
    }
    fn udp_socket_in_netns(&self, pid: i32, addr: SocketAddrV4) -> Result<OwnedFd, Errno> {
        self.call(format!("udp_socket_in_netns {pid} {addr}"))?;
        std::fs::File::open("/dev/null")
            .map(OwnedFd::from)
            .map_err(|_| Errno::EIO)
    }
    fn tcp_listener_in_netns(&self, pid: i32, addr: SocketAddrV4) -> Result<OwnedFd, Errno> {
        self.call(format!("tcp_listener_in_netns {pid} {addr}"))?;
        std::fs::File::open("/dev/null")
            .map(OwnedFd::from)
            .map_err(|_| Errno::EIO)
    }
    fn nft(&self, args: &[&str], stdin: &str) -> Result<String, Errno> {
        self.call(format!("nft {} {}", args.join(" "), stdin.trim_end()))?;
        // The double has no table to list: as a host where casulo made none.
        if args.contains(&"list") {
            return Err(Errno::ENOENT);
        }
        Ok(String::new())
    }
    fn shutdown_socket(&self, fd: BorrowedFd) -> Result<(), Errno> {
        self.call(format!("shutdown_socket {}", fd.as_raw_fd()))
    }
    fn close_socket(&self, fd: OwnedFd) -> Result<(), Errno> {
        // The descriptor (a /dev/null, see bind_port) is really closed.
        self.call(format!("close_socket {}", fd.as_raw_fd()))
    }
    fn execve(&self, path: &CStr, argv: &[CString], _env: &[CString]) -> Result<Infallible, Errno> {
        self.call(format!("execve {} {argv:?}", path.to_string_lossy()))?;
        // A fake cannot replace the process: report it as "not executed".
        Err(Errno::ENOSYS)
    }
    fn wait(&self, pid: Pid, _block: bool) -> Result<Option<WaitStatus>, Errno> {
        self.call(format!("wait {pid}"))?;
        Ok(Some(WaitStatus::Exited(pid, 0)))
    }
    fn kill(&self, pid: Pid, signal: Signal) -> Result<(), Errno> {
        self.call(format!("kill {pid} {}", signal.as_str()))
    }
    fn setgroups(&self, groups: &[u32]) -> Result<(), Errno> {
        self.call(format!("setgroups {groups:?}"))
    }
    fn setgid(&self, gid: u32) -> Result<(), Errno> {
        self.call(format!("setgid {gid}"))
    }
    fn setuid(&self, uid: u32) -> Result<(), Errno> {
        self.call(format!("setuid {uid}"))
    }
    fn restrict_capabilities(&self, keep: u64, last_cap: u32) -> Result<(), Errno> {
        self.call(format!("restrict_capabilities {keep:016x} {last_cap}"))
    }
    fn set_no_new_privs(&self) -> Result<(), Errno> {
        self.call("set_no_new_privs".to_string())
    }
    fn install_seccomp(&self, program: &[libc::sock_filter]) -> Result<(), Errno> {
        self.call(format!("install_seccomp {}", program.len()))
    }
    fn set_dumpable(&self, dumpable: bool) -> Result<(), Errno> {
        self.call(format!("set_dumpable {dumpable}"))
    }
    fn setsid(&self) -> Result<bool, Errno> {
        self.call("setsid".to_string()).map(|()| false)
    }
    fn open_pty(&self) -> Result<(OwnedFd, OwnedFd, String), Errno> {
        self.call("open_pty".to_string())?;
        let null = || {
            std::fs::File::open("/dev/null")
                .map(OwnedFd::from)
                .map_err(|_| Errno::EIO)
        };
        Ok((null()?, null()?, "/dev/pts/0".to_string()))
    }
    fn set_window_size(&self, _fd: BorrowedFd, rows: u16, cols: u16) -> Result<(), Errno> {
        self.call(format!("set_window_size {rows}x{cols}"))
    }
    fn take_terminal(&self, _tty: BorrowedFd) -> Result<(), Errno> {
        self.call("take_terminal".to_string())
    }
    fn close_fds_on_exec(&self, first: i32) -> Result<Vec<i32>, Errno> {
        self.call(format!("close_fds_on_exec {first}"))
            .map(|()| vec![])
    }

    fn idmapped_tree(&self, path: &Path, _userns: BorrowedFd) -> Result<OwnedFd, Errno> {
        self.call(format!("idmapped_tree {}", path.display()))?;
        std::fs::File::open("/dev/null")
            .map(OwnedFd::from)
            .map_err(|_| Errno::EIO)
    }
    fn overlay_from_fds(
        &self,
        lowers: &[BorrowedFd],
        upper: &Path,
        work: &Path,
    ) -> Result<OwnedFd, Errno> {
        self.call(format!(
            "overlay_from_fds {} {} {}",
            lowers.len(),
            upper.display(),
            work.display()
        ))?;
        std::fs::File::open("/dev/null")
            .map(OwnedFd::from)
            .map_err(|_| Errno::EIO)
    }
    fn attach_mount(&self, _fd: BorrowedFd, target: &Path) -> Result<(), Errno> {
        self.call(format!("attach_mount {}", target.display()))
    }

    fn attach_device_program(
        &self,
        cgroup: &Path,
        program: &[super::bpf::BpfInsn],
    ) -> Result<(), Errno> {
        self.call(format!(
            "attach_device_program {} {}",
            cgroup.display(),
            program.len()
        ))
    }
}
