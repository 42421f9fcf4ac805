//! A network namespace per sandbox, with only `lo`, brought up here. The
//! runner opens the case's sockets from a thread that has entered the
//! namespace: a socket stays in the namespace it was made in, so the
//! exchange works as on the host while the target sees nothing else, and
//! an address it hard-codes is private to the case.

use nix::sched::{setns, unshare, CloneFlags};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

pub struct NetNamespace {
    handle: OwnedFd,
}

impl NetNamespace {
    /// A new namespace with `lo` up. Made from a thread of its own, so the
    /// runner's other threads stay where they are.
    pub fn create() -> io::Result<NetNamespace> {
        let made = std::thread::scope(|scope| {
            scope
                .spawn(|| -> io::Result<OwnedFd> {
                    unshare(CloneFlags::CLONE_NEWNET)?;
                    loopback_up()?;
                    Ok(File::open("/proc/thread-self/ns/net")?.into())
                })
                .join()
        });
        let handle = made.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok(NetNamespace { handle })
    }

    /// The namespace's handle, for a target to join.
    pub fn handle(&self) -> &OwnedFd {
        &self.handle
    }

    /// Runs `f` on a thread inside the namespace.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> io::Result<T> {
        let ran = std::thread::scope(|scope| {
            scope
                .spawn(|| -> io::Result<T> {
                    setns(&self.handle, CloneFlags::CLONE_NEWNET)?;
                    Ok(f())
                })
                .join()
        });
        ran.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// Where the runner opens a case's sockets.
#[derive(Clone)]
pub enum Network {
    /// The runner's own namespace (the weak fallback).
    Host,
    /// The sandbox's namespace.
    Private(Arc<NetNamespace>),
}

impl Network {
    /// A network of its own for one target, where namespaces can be made;
    /// the host's otherwise (the fallback).
    pub fn for_target() -> io::Result<Network> {
        if super::isolation().namespaces() {
            Ok(Network::Private(Arc::new(NetNamespace::create()?)))
        } else {
            Ok(Network::Host)
        }
    }

    /// Runs `f` where this network is.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
        match self {
            Network::Host => f(),
            Network::Private(namespace) => namespace.enter(f)?,
        }
    }

    pub fn is_private(&self) -> bool {
        matches!(self, Network::Private(_))
    }
}

/// `ip link set lo up`, with the ioctl that needs no netlink.
fn loopback_up() -> io::Result<()> {
    use nix::libc;
    #[repr(C)]
    struct InterfaceFlags {
        name: [u8; libc::IFNAMSIZ],
        flags: libc::c_short,
        _rest: [u8; 22],
    }
    let socket = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let mut request = InterfaceFlags {
        name: [0; libc::IFNAMSIZ],
        flags: 0,
        _rest: [0; 22],
    };
    request.name[..2].copy_from_slice(b"lo");
    // SAFETY: both ioctls read and write a struct ifreq, of which
    // InterfaceFlags has the size and layout (name, then the flags).
    unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) < 0 {
            return Err(io::Error::last_os_error());
        }
        request.flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
