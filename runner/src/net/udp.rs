//! A datagram socket of the runner's, with deadlines on receive.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

pub struct Datagrams {
    socket: UdpSocket,
}

impl Datagrams {
    pub fn bind(addr: SocketAddr) -> io::Result<Datagrams> {
        UdpSocket::bind(addr).map(|socket| Datagrams { socket })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    pub fn send_to(&self, bytes: &[u8], to: SocketAddr) -> io::Result<()> {
        let sent = self.socket.send_to(bytes, to)?;
        if sent != bytes.len() {
            return Err(io::Error::other("datagram truncated on send"));
        }
        Ok(())
    }

    /// The next datagram and its sender, or None when `deadline` passes.
    /// Datagrams larger than 64 KiB cannot exist over IPv4.
    pub fn recv_from(&self, deadline: Instant) -> io::Result<Option<(Vec<u8>, SocketAddr)>> {
        loop {
            let Some(slice) = crate::stop::slice_until(deadline) else {
                return Ok(None);
            };
            self.socket.set_read_timeout(Some(slice))?;
            let mut buffer = vec![0u8; 65536];
            match self.socket.recv_from(&mut buffer) {
                Ok((n, from)) => {
                    buffer.truncate(n);
                    return Ok(Some((buffer, from)));
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                // An ICMP "port unreachable" from an earlier send surfaces
                // here on Linux; it says nothing about this datagram.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionRefused | ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }
}
