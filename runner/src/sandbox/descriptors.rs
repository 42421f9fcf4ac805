//! The program inherits its stdin, stdout and stderr, and no other open
//! file: not what the runner itself inherited (a CI job's pipes, a
//! grader's log), and not the terminal or sockets of a target started at
//! the same moment by another worker.
//!
//! What a sandbox's init and the sandbox starter are handed (stdio, a
//! namespace's handle, a socket) comes with a message on a socket
//! (`receive`).

/// The first descriptor after stdin, stdout and stderr.
const FIRST_OTHER: u32 = 3;
/// `close_range`'s flag that marks the range close-on-exec instead of
/// closing it (Linux 5.11).
const CLOSE_RANGE_CLOEXEC: nix::libc::c_uint = 1 << 2;

/// Marks every descriptor but stdio close-on-exec, so the exec that
/// follows drops them all while the error channel still works until then.
/// Only system calls, no allocation: safe between fork and exec.
pub fn close_others_on_exec() {
    for_others(CLOSE_RANGE_CLOEXEC, |fd| {
        // SAFETY: F_SETFD on a descriptor that may not exist fails with
        // EBADF and changes nothing.
        unsafe { nix::libc::fcntl(fd, nix::libc::F_SETFD, nix::libc::FD_CLOEXEC) };
    });
}

/// Closes every descriptor but stdio, as the exec after
/// `close_others_on_exec` would, for a program that runs without one
/// (a bundled reference, see `init`). Whatever owned them must never use
/// (or close) them again.
pub fn close_others() {
    for_others(0, |fd| {
        // SAFETY: closing a descriptor that may not exist fails with
        // EBADF and changes nothing; the caller owns no other use of it.
        unsafe { nix::libc::close(fd) };
    });
}

/// `close_range` from the first descriptor after stdio to the last, with
/// `flags`; on an older kernel, `each` on every descriptor up to the
/// process's limit.
fn for_others(flags: nix::libc::c_uint, each: impl Fn(i32)) {
    // SAFETY: close_range takes plain integers and touches no memory.
    let done = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_close_range,
            FIRST_OTHER,
            nix::libc::c_uint::MAX,
            flags,
        )
    };
    if done == 0 {
        return;
    }
    let mut limit = nix::libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given.
    let known = unsafe { nix::libc::getrlimit(nix::libc::RLIMIT_NOFILE, &mut limit) } == 0;
    let last = if known {
        limit.rlim_cur.min(1 << 20) as i32
    } else {
        1024
    };
    for fd in FIRST_OTHER as i32..last {
        each(fd);
    }
}

/// The most descriptors `receive` takes in one message.
const RECEIVED_AT_MOST: usize = 8;

/// Reads one message from the Unix socket `socket` into `buffer`: how
/// many bytes it held (0 at the end of the stream) and the descriptors
/// it carried, close-on-exec; None where the read failed.
pub fn receive(
    socket: std::os::fd::RawFd,
    buffer: &mut [u8],
) -> Option<(usize, Vec<std::os::fd::OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::FromRawFd;
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; RECEIVED_AT_MOST]);
    let mut slices = [std::io::IoSliceMut::new(buffer)];
    let message = loop {
        match recvmsg::<()>(
            socket,
            &mut slices,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            read => break read.ok()?,
        }
    };
    let mut fds = Vec::new();
    for control in message.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(received) = control {
            // SAFETY: descriptors just received, owned by no one else.
            fds.extend(
                received
                    .into_iter()
                    .map(|fd| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    Some((message.bytes, fds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_message_comes_with_the_descriptors_it_carried() {
        use nix::sys::socket::{
            sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
        };
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .expect("socketpair");
        let file = std::fs::File::open("/dev/null").expect("/dev/null");
        sendmsg::<()>(
            theirs.as_raw_fd(),
            &[std::io::IoSlice::new(b"plan")],
            &[ControlMessage::ScmRights(&[file.as_raw_fd()])],
            MsgFlags::empty(),
            None,
        )
        .expect("sent");
        let mut buffer = [0u8; 16];
        let (got, fds) = receive(ours.as_raw_fd(), &mut buffer).expect("received");
        assert_eq!(&buffer[..got], b"plan");
        assert_eq!(fds.len(), 1);
        drop(theirs);
        let (got, fds) = receive(ours.as_raw_fd(), &mut buffer).expect("the end");
        assert_eq!((got, fds.len()), (0, 0));
    }

    #[test]
    fn every_descriptor_but_stdio_is_marked_close_on_exec() {
        let file = std::fs::File::open("/dev/null").expect("/dev/null");
        let fd = file.as_raw_fd();
        // SAFETY: plain fcntl calls on a descriptor this test owns.
        let flags = |fd| unsafe { nix::libc::fcntl(fd, nix::libc::F_GETFD) };
        unsafe { nix::libc::fcntl(fd, nix::libc::F_SETFD, 0) };
        assert_eq!(flags(fd) & nix::libc::FD_CLOEXEC, 0);
        close_others_on_exec();
        assert_eq!(flags(fd) & nix::libc::FD_CLOEXEC, nix::libc::FD_CLOEXEC);
    }
}
