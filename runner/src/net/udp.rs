//! A datagram socket of the runner's, with deadlines on receive.

use crate::mutate::DatagramRelay;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Mutex;
use std::time::Instant;

pub struct Datagrams {
    socket: UdpSocket,
    /// `runner mutate`: what the runner receives goes through a mutant.
    relay: Option<Mutex<DatagramRelay>>,
}

impl Datagrams {
    pub fn bind(addr: SocketAddr) -> io::Result<Datagrams> {
        UdpSocket::bind(addr).map(|socket| Datagrams {
            socket,
            relay: None,
        })
    }

    /// From now on, datagrams arrive as a mutant would send them.
    pub fn relay_through(&mut self, relay: Option<DatagramRelay>) {
        self.relay = relay.map(Mutex::new);
    }

    fn relay(&self) -> Option<std::sync::MutexGuard<'_, DatagramRelay>> {
        // A poisoned lock only means a panic elsewhere; the queue is intact.
        let relay = self.relay.as_ref()?;
        Some(relay.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    pub fn send_to(&self, bytes: &[u8], to: SocketAddr) -> io::Result<()> {
        let sent = self.socket.send_to(bytes, to)?;
        if sent != bytes.len() {
            return Err(io::Error::other("datagram truncated on send"));
        }
        if let Some(mut relay) = self.relay() {
            relay.sent(bytes);
        }
        Ok(())
    }

    /// The next datagram and its sender, or None when `deadline` passes.
    pub fn recv_from(&self, deadline: Instant) -> io::Result<Option<(Vec<u8>, SocketAddr)>> {
        if self.relay.is_none() {
            return self.recv_raw(deadline);
        }
        loop {
            let due = self.relay().and_then(|relay| relay.next_due());
            if let Some(due) = due {
                if due > deadline || !crate::stop::sleep_until(due) {
                    crate::stop::sleep_until(deadline);
                    return Ok(None);
                }
                match self.relay().and_then(|mut relay| relay.pop()) {
                    Some(datagram) => return Ok(Some(datagram)),
                    None => continue,
                }
            }
            let Some((data, from)) = self.recv_raw(deadline)? else {
                return Ok(None);
            };
            if let Some(mut relay) = self.relay() {
                relay.arrived(data, from);
            }
        }
    }

    /// One datagram from the socket itself. Datagrams larger than 64 KiB
    /// cannot exist over IPv4.
    fn recv_raw(&self, deadline: Instant) -> io::Result<Option<(Vec<u8>, SocketAddr)>> {
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
