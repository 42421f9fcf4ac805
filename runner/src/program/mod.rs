//! Starting and supervising the program under test.

mod build;
mod command;
mod identity;
mod keyboard;
mod leader;
mod limits;
mod output;
mod process;
mod procfs;
mod recipe;
mod sandboxed;
pub(crate) mod scratch;
mod sockdiag;
mod toolchain;

pub use build::BuildFailure;
pub use command::{packages_for_extension, CommandError, TargetCommand, PROGRAM_EXTENSIONS};
pub use identity::{reachable_by_others, submission_dir, Identity, IdentityError};
pub use keyboard::untypable;
pub use limits::{parse_size, show_size, Limits, MIN_MEMORY};
pub use output::{Output, OutputSnapshot};
pub use process::{
    become_subreaper, describe_status, kill_leftovers, without_spawns, Confinement, Process, POLL,
};
pub use procfs::{descendants, time_wait_on, SocketKind};
pub use recipe::command as assignment_command;

use crate::sandbox::Network;
use crate::speclang::Transport;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::time::{Duration, Instant};

/// Makes reads and writes on `fd` return at once instead of blocking:
/// the runner waits on its own terms, with a deadline.
fn set_nonblocking(fd: &impl std::os::fd::AsRawFd) -> std::io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_truncate(fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL)?);
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Why a target could not be brought to the point where a case can start.
#[derive(Debug)]
pub enum StartFailure {
    /// The program could not be started at all (not the target's fault).
    Spawn(std::io::Error),
    /// It exited before it was listening.
    Exited { status: String },
    /// The run was stopped while the target was starting.
    Interrupted,
    /// It kept running but never listened where expected.
    NotListening {
        expected: Option<SocketAddr>,
        seen: Vec<SocketAddr>,
        waited: Duration,
    },
}

impl StartFailure {
    pub fn describe(&self, noun: &str) -> String {
        match self {
            StartFailure::Spawn(error) => format!("the {noun} could not be started: {error}"),
            StartFailure::Interrupted => {
                String::from("interrupted: the run was stopped while the target was starting")
            }
            StartFailure::Exited { status } => {
                format!("the {noun} {status} before it started listening")
            }
            StartFailure::NotListening {
                expected,
                seen,
                waited,
            } => {
                let wanted = match expected {
                    Some(addr) => format!("on {addr}"),
                    None => String::from("on any address"),
                };
                if !seen.is_empty() {
                    let seen: Vec<String> = seen.iter().map(ToString::to_string).collect();
                    return format!(
                        "the {noun} listens on {} instead of {}: the address in the program and the one the runner was given (--addr) differ",
                        seen.join(", "),
                        expected.map_or_else(|| String::from("the expected address"), |a| a.to_string())
                    );
                }
                format!(
                    "the {noun} was still running after {} but was not listening {wanted}",
                    humantime::format_duration(Duration::from_millis(waited.as_millis() as u64))
                )
            }
        }
    }
}

/// Does a socket bound to `bound` receive what is sent to `wanted`? An
/// IPv6 socket bound to an IPv4-mapped address (`::ffff:127.1.1.1`, as a
/// JVM binds) receives what is sent to the IPv4 address; a wildcard one
/// receives everything on its port.
fn serves(bound: SocketAddr, wanted: SocketAddr) -> bool {
    let bound_ip = bound.ip().to_canonical();
    bound.port() == wanted.port()
        && (bound_ip.is_unspecified() || bound_ip == wanted.ip().to_canonical())
}

/// Waits until the target's own process group holds a socket of `kind`
/// (listening TCP, bound UDP) that serves `expected`, or any such socket
/// when the address is not known in advance. It only watches /proc, so it
/// never uses up a one-shot server's single connection.
pub fn wait_until_serving(
    process: &mut Process,
    kind: SocketKind,
    expected: Option<SocketAddr>,
    deadline: Instant,
) -> Result<SocketAddr, StartFailure> {
    let started = Instant::now();
    // When the program serves somewhere else, since when: a wrong address
    // (its own or --addr) shows at once, and need not cost the whole wait.
    let mut elsewhere_since: Option<Instant> = None;
    let mut seen = Vec::new();
    let mut looks = 0u32;
    loop {
        // Where the kernel can say at once whether the expected address
        // is served, every socket is listed only now and then, to tell a
        // program that serves elsewhere: the listing walks the kernel's
        // whole table of listening sockets, the lookup one bucket.
        let looked_up = match (kind, expected) {
            (SocketKind::TcpListening, Some(wanted)) => match process.listener_for(wanted) {
                Some(true) => return Ok(wanted),
                answer => answer,
            },
            _ => None,
        };
        if looked_up.is_none() || looks.is_multiple_of(LIST_EVERY) {
            seen = process.sockets(kind);
        }
        looks = looks.wrapping_add(1);
        let found = match expected {
            Some(wanted) => seen.iter().any(|b| serves(*b, wanted)).then_some(wanted),
            None => seen.first().map(|addr| reachable(*addr)),
        };
        if let Some(addr) = found {
            return Ok(addr);
        }
        let since = *elsewhere_since.get_or_insert_with(Instant::now);
        if seen.is_empty() {
            elsewhere_since = None;
        } else if since.elapsed() >= ELSEWHERE_GRACE {
            return Err(StartFailure::NotListening {
                expected,
                seen,
                waited: started.elapsed(),
            });
        }
        if let Some(status) = process.exit_status() {
            return Err(StartFailure::Exited {
                status: describe_status(status),
            });
        }
        if crate::stop::requested() {
            return Err(StartFailure::Interrupted);
        }
        if Instant::now() >= deadline {
            return Err(StartFailure::NotListening {
                expected,
                seen,
                waited: started.elapsed(),
            });
        }
        std::thread::sleep(pause_before_next_look(started.elapsed()));
    }
}

/// One look in this many lists every socket, where the expected address
/// is looked up (at most 50 ms apart at the longest pause).
const LIST_EVERY: u32 = 5;

/// How long to wait before looking again for a target's socket, after
/// `waited` already: every 2 ms at first (a bundled reference listens
/// within one), then an eighth of the wait so far, up to 10 ms. A slow
/// start (a JVM, or a Python start on a machine busy with a class) is
/// seen at most an eighth of its time late, with far fewer looks.
fn pause_before_next_look(waited: Duration) -> Duration {
    (waited / 8).clamp(POLL, READINESS_POLL_MAX)
}

/// The longest pause between two looks for a target's socket.
const READINESS_POLL_MAX: Duration = Duration::from_millis(10);

/// How long a program that serves on another address than the expected
/// one is given to open the expected one too, before the case fails.
const ELSEWHERE_GRACE: Duration = Duration::from_millis(500);

/// A loopback port that nothing is bound to right now, in `network`.
pub fn free_port(transport: Transport, network: &Network) -> Result<SocketAddr, String> {
    let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    // The probe socket must not be copied into a target another thread is
    // starting at this moment: that copy would hold the port until the
    // other target's exec, and this target's bind would fail.
    let found = without_spawns(|| {
        network.run(|| match transport {
            Transport::Tcp => TcpListener::bind(any).and_then(|l| l.local_addr()),
            Transport::Udp => UdpSocket::bind(any).and_then(|s| s.local_addr()),
        })
    });
    found.map_err(|e| format!("the runner found no free loopback port: {e}"))
}

/// A wildcard bind (`''`, `0.0.0.0`, `::`) is reached through loopback.
fn reachable(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        _ if !bound.ip().to_canonical().is_unspecified() => {
            SocketAddr::new(bound.ip().to_canonical(), bound.port())
        }
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), bound.port())
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), bound.port())
        }
        _ => bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_dual_stack_and_mapped_sockets_serve_the_address_they_reach() {
        let wanted: SocketAddr = "127.1.1.1:8900".parse().expect("valid");
        for bound in [
            "127.1.1.1:8900",
            "0.0.0.0:8900",
            "[::]:8900",
            "[::ffff:127.1.1.1]:8900",
        ] {
            assert!(serves(bound.parse().expect("valid"), wanted), "{bound}");
        }
        for bound in [
            "127.1.1.1:8901",
            "127.0.0.1:8900",
            "[::ffff:127.0.0.1]:8900",
            "[::1]:8900",
        ] {
            assert!(!serves(bound.parse().expect("valid"), wanted), "{bound}");
        }
    }

    #[test]
    fn looks_for_a_socket_grow_apart_with_the_wait_up_to_a_bound() {
        let ms = Duration::from_millis;
        assert_eq!(pause_before_next_look(ms(0)), POLL);
        assert_eq!(pause_before_next_look(ms(40)), ms(5));
        assert_eq!(pause_before_next_look(ms(5000)), READINESS_POLL_MAX);
    }
}
