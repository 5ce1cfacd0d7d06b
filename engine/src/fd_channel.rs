//! Handing a file descriptor to another process over a Unix socket pair
//! (`SCM_RIGHTS`), with a few bytes beside it: how the init gets its
//! idmapped overlay from casulo (`--userns`) and casulo gets the container's
//! terminal from the init (`-t`).

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::sys::socket::{self, ControlMessage, ControlMessageOwned, MsgFlags};

/// A connected pair (one end for each process), both close-on-exec;
/// `SEQPACKET` keeps each message (descriptor and bytes) whole.
pub fn pair() -> std::io::Result<(OwnedFd, OwnedFd)> {
    socket::socketpair(
        socket::AddressFamily::Unix,
        socket::SockType::SeqPacket,
        None,
        socket::SockFlag::SOCK_CLOEXEC,
    )
    .map_err(std::io::Error::from)
}

/// Sends `fd` with `bytes` (at least one: a message needs a payload).
pub fn send(channel: BorrowedFd, fd: BorrowedFd, bytes: &[u8]) -> std::io::Result<()> {
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [std::io::IoSlice::new(bytes)];
    socket::sendmsg::<()>(channel.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)?;
    Ok(())
}

/// Receives a descriptor (close-on-exec) and its bytes into `bytes`;
/// returns it and how many bytes came. `None`: the message held no
/// descriptor (the other end closed). Any extra descriptor is closed.
pub fn receive(channel: BorrowedFd, bytes: &mut [u8]) -> std::io::Result<Option<(OwnedFd, usize)>> {
    let mut iov = [IoSliceMut::new(bytes)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = socket::recvmsg::<()>(
        channel.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let len = msg.bytes;
    let mut first = None;
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                // SAFETY: the kernel installed these descriptors for us.
                let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                first.get_or_insert(fd);
            }
        }
    }
    Ok(first.map(|fd| (fd, len)))
}
