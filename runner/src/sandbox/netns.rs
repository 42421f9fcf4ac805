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
                    limit_socket_buffers();
                    Ok(File::open("/proc/thread-self/ns/net")?.into())
                })
                .join()
        });
        let handle = made.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok(NetNamespace { handle })
    }

    /// Keeps a namespace no target has used (the one made at start to see
    /// whether namespaces can be made) for the next `take_or_create`.
    pub fn keep_spare(self) {
        if let Ok(mut spare) = SPARE.lock() {
            *spare = Some(self);
        }
    }

    /// The spare namespace if there is one (fresh: nothing ever ran or
    /// opened a socket in it), else a new one.
    pub fn take_or_create() -> io::Result<NetNamespace> {
        match SPARE.lock().ok().and_then(|mut spare| spare.take()) {
            Some(namespace) => Ok(namespace),
            None => NetNamespace::create(),
        }
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

/// A namespace made and never used (see `keep_spare`).
static SPARE: std::sync::Mutex<Option<NetNamespace>> = std::sync::Mutex::new(None);

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
            Ok(Network::Private(Arc::new(NetNamespace::take_or_create()?)))
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

/// Socket buffer sizes of the namespace (these settings are per network
/// namespace), set for what an assignment needs: messages of up to a few
/// MiB flow through buffers of 1 MiB, and a program cannot make one socket
/// hold 32 MiB that no memory limit sees. (Where the kernel charges socket
/// buffers to the memory cgroup, as v2 does and v1 does once its TCP limit
/// is set, the sandbox's memory limit holds them all together.) Written
/// from the thread that is inside the namespace; a setting the kernel
/// refuses (an older kernel, an unprivileged runner) keeps its default.
fn limit_socket_buffers() {
    // (`core/rmem_max` and `wmem_max`, which cap SO_RCVBUF for UDP, are
    // the host's and read-only inside a namespace.)
    for (setting, value) in [
        ("ipv4/tcp_rmem", "4096 131072 1048576"),
        ("ipv4/tcp_wmem", "4096 16384 1048576"),
    ] {
        // /proc/sys/net shows the namespace of the thread that opens it.
        let _ = std::fs::write(format!("/proc/sys/net/{setting}"), value);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(name: &str) -> String {
        std::fs::read_to_string(format!("/proc/sys/net/{name}"))
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_namespace_has_small_socket_buffers_and_the_host_keeps_its_own() {
        let host = setting("ipv4/tcp_rmem");
        let namespace = NetNamespace::create().expect("a namespace");
        let inside = namespace
            .enter(|| (setting("ipv4/tcp_rmem"), setting("ipv4/tcp_wmem")))
            .expect("entered");
        assert_eq!(
            inside,
            (
                String::from("4096 131072 1048576"),
                String::from("4096 16384 1048576")
            )
        );
        assert_eq!(setting("ipv4/tcp_rmem"), host);
    }
}
