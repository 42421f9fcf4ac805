//! The listening sockets of a network namespace, asked of the kernel in
//! one netlink `sock_diag` query per protocol and family (what `ss -ltn`
//! does). Inside a target's private namespace every socket is the
//! target's, so this answers "is it listening yet" without walking
//! `/proc` (every process, every descriptor) while it starts; and with a
//! LISTEN state filter the kernel walks only the listening hash table,
//! not every connection as a read of `/proc/net/tcp` does.
//!
//! The request is one fixed 72-byte message and each answer a fixed
//! struct: written here with libc rather than with the netlink crates
//! (netlink-packet-sock-diag, -core, -utils, netlink-sys and what they
//! pull in) for two structs.

use super::procfs::SocketKind;
use nix::libc;
use nix::sys::socket::MsgFlags;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// `SOCK_DIAG_BY_FAMILY` (linux/sock_diag.h).
const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// `TCP_LISTEN` (the kernel's TCP state numbers).
const TCP_LISTEN: u32 = 10;
const NLMSG_HEADER: usize = 16;
/// `struct inet_diag_req_v2`.
const REQUEST_BODY: usize = 56;
/// `struct inet_diag_msg`, up to and including `idiag_inode`.
const ANSWER_BODY: usize = 72;
/// Longest the kernel may take to answer before the runner gives up on
/// this way of asking (it then walks /proc as before).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

/// A `NETLINK_SOCK_DIAG` socket, bound to the network namespace it was
/// made in for its whole life.
pub struct SockDiag {
    socket: OwnedFd,
    sequence: std::sync::atomic::AtomicU32,
}

impl SockDiag {
    /// A socket for the namespace of the calling thread.
    pub fn open() -> io::Result<SockDiag> {
        // SAFETY: socket() takes integers and returns a new descriptor
        // or -1; the descriptor is owned from here on.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a new descriptor nothing else owns.
        let socket = unsafe { OwnedFd::from_raw_fd(fd) };
        let timeout = libc::timeval {
            tv_sec: ANSWER_TIMEOUT.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        // SAFETY: SO_RCVTIMEO reads a struct timeval of the size given.
        let set = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&timeout as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if set < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(SockDiag {
            socket,
            sequence: std::sync::atomic::AtomicU32::new(1),
        })
    }

    /// Local addresses of the namespace's sockets of `kind`: listening
    /// TCP sockets, or bound UDP ones, IPv4 and IPv6.
    pub fn sockets(&self, kind: SocketKind) -> io::Result<Vec<SocketAddr>> {
        let mut found = Vec::new();
        for family in [libc::AF_INET, libc::AF_INET6] {
            let sequence = self.ask(|sequence| request(family as u8, kind, sequence))?;
            self.read_answers(sequence, &mut found)?;
        }
        Ok(found)
    }

    /// Sends the request `make` writes for a new sequence number, which
    /// it returns.
    fn ask(&self, make: impl FnOnce(u32) -> Vec<u8>) -> io::Result<u32> {
        let sequence = self
            .sequence
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        nix::sys::socket::send(self.socket.as_raw_fd(), &make(sequence), MsgFlags::empty())?;
        Ok(sequence)
    }

    /// Whether a connection to `addr` would reach a listening TCP socket
    /// of the namespace: the kernel's own lookup for an arriving
    /// connection (a listener on `addr` itself, on its wildcard, or an
    /// IPv6 one that takes IPv4 too), made once, where `sockets` walks
    /// the whole listening table, every bucket of every namespace.
    pub fn listener_for(&self, addr: SocketAddr) -> io::Result<bool> {
        let sequence = self.ask(|sequence| lookup(addr, sequence))?;
        let mut found = Vec::new();
        match self.read_answers(sequence, &mut found) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
            Ok(()) => Ok(!found.is_empty()),
        }
    }

    fn read_answers(&self, sequence: u32, found: &mut Vec<SocketAddr>) -> io::Result<()> {
        let mut buffer = vec![0u8; 32 * 1024];
        loop {
            let read = match nix::sys::socket::recv(
                self.socket.as_raw_fd(),
                &mut buffer,
                MsgFlags::empty(),
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                read => read?,
            };
            match parse(&buffer[..read], sequence, found)? {
                Parsed::Done | Parsed::One => return Ok(()),
                Parsed::More => {}
            }
        }
    }
}

/// A dump request for every socket of `family` and `kind`, each in its
/// native byte order as netlink wants it.
fn request(family: u8, kind: SocketKind, sequence: u32) -> Vec<u8> {
    let (protocol, states) = match kind {
        SocketKind::TcpListening => (libc::IPPROTO_TCP as u8, 1u32 << TCP_LISTEN),
        // A bound UDP socket is in no particular state (CLOSE, or
        // ESTABLISHED once connected): all of them.
        SocketKind::UdpBound => (libc::IPPROTO_UDP as u8, u32::MAX),
    };
    let length = (NLMSG_HEADER + REQUEST_BODY) as u32;
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    let mut message = Vec::with_capacity(length as usize);
    message.extend_from_slice(&length.to_ne_bytes());
    message.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    message.extend_from_slice(&flags.to_ne_bytes());
    message.extend_from_slice(&sequence.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes()); // to the kernel
    message.extend_from_slice(&[family, protocol, 0, 0]); // no extensions, padding
    message.extend_from_slice(&states.to_ne_bytes());
    message.resize(length as usize, 0); // any address, any port
    message
}

/// A request for the one listening TCP socket a connection to `addr`
/// would reach (no dump: the kernel looks it up as for an arriving
/// connection from `addr`'s own address, port 0).
fn lookup(addr: SocketAddr, sequence: u32) -> Vec<u8> {
    let family = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    let mut message = request(family as u8, SocketKind::TcpListening, sequence);
    let flags = libc::NLM_F_REQUEST as u16;
    message[6..8].copy_from_slice(&flags.to_ne_bytes());
    // struct inet_diag_sockid after the request's first 8 bytes: source
    // port, destination port, source and destination address (16 bytes
    // each), interface, cookie; the socket's own end is the source.
    let id = NLMSG_HEADER + 8;
    let ip = match addr.ip() {
        IpAddr::V4(ip) => {
            let mut bytes = [0u8; 16];
            bytes[..4].copy_from_slice(&ip.octets());
            bytes
        }
        IpAddr::V6(ip) => ip.octets(),
    };
    message[id..id + 2].copy_from_slice(&addr.port().to_be_bytes());
    message[id + 4..id + 20].copy_from_slice(&ip);
    message[id + 20..id + 36].copy_from_slice(&ip);
    // INET_DIAG_NOCOOKIE: any socket, not one seen before.
    message[id + 40..id + 48].fill(0xff);
    message
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// The dump goes on in the next datagram.
    More,
    Done,
    /// The one answer to a lookup (no end of dump follows).
    One,
}

/// Reads one datagram of answers to the request `sequence` into `found`.
fn parse(datagram: &[u8], sequence: u32, found: &mut Vec<SocketAddr>) -> io::Result<Parsed> {
    let u32_at = |bytes: &[u8], at: usize| -> u32 {
        u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
    };
    let mut rest = datagram;
    while rest.len() >= NLMSG_HEADER {
        let length = u32_at(rest, 0) as usize;
        if length < NLMSG_HEADER || length > rest.len() {
            return Err(io::Error::other("a truncated sock_diag answer"));
        }
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        let message = &rest[..length];
        // Messages are aligned to 4 bytes.
        rest = &rest[((length + 3) & !3).min(rest.len())..];
        if u32_at(message, 8) != sequence {
            continue;
        }
        match i32::from(kind) {
            libc::NLMSG_DONE => return Ok(Parsed::Done),
            libc::NLMSG_ERROR => {
                let code = message
                    .get(NLMSG_HEADER..NLMSG_HEADER + 4)
                    .map_or(0, |b| i32::from_ne_bytes(b.try_into().expect("4 bytes")));
                return Err(io::Error::from_raw_os_error(-code));
            }
            _ if kind == SOCK_DIAG_BY_FAMILY => {
                if let Some(addr) = message.get(NLMSG_HEADER..).and_then(local_address) {
                    found.push(addr);
                }
                let flags = u16::from_ne_bytes([message[6], message[7]]);
                if flags & libc::NLM_F_MULTI as u16 == 0 {
                    return Ok(Parsed::One);
                }
            }
            _ => {}
        }
    }
    Ok(Parsed::More)
}

/// The local address of one `struct inet_diag_msg`: family first, then
/// in `id` the source port and address in network byte order.
fn local_address(body: &[u8]) -> Option<SocketAddr> {
    if body.len() < ANSWER_BODY {
        return None;
    }
    let port = u16::from_be_bytes([body[4], body[5]]);
    let source = &body[8..24];
    let ip = match i32::from(body[0]) {
        libc::AF_INET => IpAddr::V4(Ipv4Addr::new(source[0], source[1], source[2], source[3])),
        libc::AF_INET6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(source).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One answer as the kernel writes it: header, then inet_diag_msg.
    fn answer(sequence: u32, family: u8, port: u16, address: &[u8]) -> Vec<u8> {
        let mut body = vec![0u8; ANSWER_BODY];
        body[0] = family;
        body[1] = TCP_LISTEN as u8;
        body[4..6].copy_from_slice(&port.to_be_bytes());
        body[8..8 + address.len()].copy_from_slice(address);
        let mut message = Vec::new();
        message.extend_from_slice(&((NLMSG_HEADER + body.len()) as u32).to_ne_bytes());
        message.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        message.extend_from_slice(&(libc::NLM_F_MULTI as u16).to_ne_bytes());
        message.extend_from_slice(&sequence.to_ne_bytes());
        message.extend_from_slice(&0u32.to_ne_bytes());
        message.extend_from_slice(&body);
        message
    }

    fn done(sequence: u32) -> Vec<u8> {
        let mut message = Vec::new();
        message.extend_from_slice(&20u32.to_ne_bytes());
        message.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
        message.extend_from_slice(&(libc::NLM_F_MULTI as u16).to_ne_bytes());
        message.extend_from_slice(&sequence.to_ne_bytes());
        message.extend_from_slice(&0u32.to_ne_bytes());
        message.extend_from_slice(&0i32.to_ne_bytes());
        message
    }

    #[test]
    fn a_request_asks_for_listening_tcp_sockets_of_one_family() {
        let request = request(libc::AF_INET6 as u8, SocketKind::TcpListening, 7);
        assert_eq!(request.len(), 72);
        assert_eq!(&request[0..4], &72u32.to_ne_bytes());
        assert_eq!(&request[4..6], &20u16.to_ne_bytes());
        assert_eq!(&request[8..12], &7u32.to_ne_bytes());
        assert_eq!(request[16], libc::AF_INET6 as u8);
        assert_eq!(request[17], libc::IPPROTO_TCP as u8);
        assert_eq!(&request[20..24], &(1u32 << 10).to_ne_bytes());
    }

    #[test]
    fn parses_ipv4_ipv6_and_mapped_answers_then_the_end() {
        let mut datagram = answer(3, libc::AF_INET as u8, 8900, &[127, 1, 1, 1]);
        datagram.extend(answer(3, libc::AF_INET6 as u8, 8080, &[0; 16]));
        let mapped = "::ffff:127.0.0.1".parse::<Ipv6Addr>().expect("valid");
        datagram.extend(answer(3, libc::AF_INET6 as u8, 80, &mapped.octets()));
        // An answer to another request is not this one's.
        datagram.extend(answer(2, libc::AF_INET as u8, 1, &[127, 0, 0, 1]));
        let mut found = Vec::new();
        assert_eq!(
            parse(&datagram, 3, &mut found).expect("parses"),
            Parsed::More
        );
        let expected: Vec<SocketAddr> = ["127.1.1.1:8900", "[::]:8080", "[::ffff:127.0.0.1]:80"]
            .iter()
            .map(|a| a.parse().expect("valid"))
            .collect();
        assert_eq!(found, expected);
        assert_eq!(
            parse(&done(3), 3, &mut found).expect("parses"),
            Parsed::Done
        );
        assert!(parse(&datagram[..30], 3, &mut found).is_err());
    }

    #[test]
    fn a_lookup_finds_the_listener_a_connection_would_reach_and_nothing_else() {
        // In a network of its own: in the host's, another test may bind
        // the port just freed before the last lookup.
        let network = crate::sandbox::NetNamespace::create().expect("a network namespace");
        network
            .enter(lookups_find_what_a_connection_would_reach)
            .expect("entered");
    }

    fn lookups_find_what_a_connection_would_reach() {
        let diag = SockDiag::open().expect("a sock_diag socket");
        let exact = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let at = exact.local_addr().expect("addr");
        assert!(diag.listener_for(at).expect("asked"));
        // Whether a listener bound to `bound` is what a connection to
        // `ip` on its port reaches.
        let reached = |bound: &str, ip: [u8; 4]| {
            let listener = std::net::TcpListener::bind(bound).expect("bind");
            let port = listener.local_addr().expect("addr").port();
            diag.listener_for(SocketAddr::from((ip, port)))
                .expect("asked")
        };
        assert!(reached("0.0.0.0:0", [127, 3, 4, 5]));
        // An IPv6 wildcard takes IPv4 connections too (Linux's default).
        assert!(reached("[::]:0", [127, 0, 0, 1]));
        // So does one bound to a v4-mapped address, as a JVM binds.
        assert!(reached("[::ffff:127.0.0.1]:0", [127, 0, 0, 1]));
        let v6 = std::net::TcpListener::bind("[::1]:0").expect("bind ::1");
        assert!(diag
            .listener_for(v6.local_addr().expect("addr"))
            .expect("asked"));
        // A client's end of a connection, and a closed listener, are not
        // listeners.
        let client = std::net::TcpStream::connect(at).expect("connect");
        let client_end = client.local_addr().expect("addr");
        assert!(!diag.listener_for(client_end).expect("asked"));
        drop(exact);
        assert!(!diag.listener_for(at).expect("asked"));
    }

    #[test]
    fn finds_a_listening_socket_of_this_process() {
        let v4 = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let v6 = std::net::TcpListener::bind("[::1]:0").expect("bind ::1");
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let diag = SockDiag::open().expect("a sock_diag socket");
        let listening = diag.sockets(SocketKind::TcpListening).expect("asked");
        for listener in [&v4, &v6] {
            let addr = listener.local_addr().expect("addr");
            assert!(listening.contains(&addr), "{addr} not in {listening:?}");
        }
        let udp_addr = udp.local_addr().expect("addr");
        assert!(!listening.contains(&udp_addr));
        let bound = diag.sockets(SocketKind::UdpBound).expect("asked");
        assert!(bound.contains(&udp_addr), "{udp_addr} not in {bound:?}");
    }
}
