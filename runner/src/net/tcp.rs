//! One TCP connection as the engine sees it: what has arrived but not yet
//! been matched, and whether the peer closed or reset.

use super::remaining;
use socket2::SockRef;
use std::io::{self, ErrorKind, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Most bytes `drain` reads.
const MAX_DRAIN: usize = 256 << 10;

pub struct Connection {
    stream: TcpStream,
    /// Received and not yet consumed by a step.
    pub pending: Vec<u8>,
    /// The peer closed its side (a read returned 0).
    pub peer_closed: bool,
    /// The peer reset the connection.
    pub peer_reset: bool,
}

/// What one read brought.
#[derive(Debug)]
pub enum ReadEvent {
    Data(Vec<u8>),
    Closed,
    Reset,
    TimedOut,
    Failed(io::Error),
}

impl Connection {
    pub fn new(stream: TcpStream) -> Connection {
        // Chunks written with a pause between them must leave as separate
        // segments, not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        Connection {
            stream,
            pending: Vec::new(),
            peer_closed: false,
            peer_reset: false,
        }
    }

    /// One connection attempt, bounded by `deadline`.
    pub fn connect(addr: SocketAddr, deadline: Instant) -> io::Result<Connection> {
        let timeout = remaining(deadline).ok_or_else(|| io::Error::from(ErrorKind::TimedOut))?;
        TcpStream::connect_timeout(&addr, timeout).map(Connection::new)
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.stream.local_addr().ok()
    }

    /// Writes all of `bytes`, failing with TimedOut if the peer stops
    /// reading and the buffers stay full until `deadline` (or a stop is
    /// requested). Waits in slices, like every wait of the runner.
    pub fn send(&mut self, bytes: &[u8], deadline: Instant) -> io::Result<()> {
        self.stream.set_nonblocking(true)?;
        let sent = crate::stop::write_all_until(&mut self.stream, bytes, deadline);
        self.stream.set_nonblocking(false)?;
        sent
    }

    /// Reads once, waiting until `deadline` at most. Data is appended to
    /// `pending` as well as returned.
    pub fn read_some(&mut self, deadline: Instant) -> ReadEvent {
        if self.peer_reset {
            return ReadEvent::Reset;
        }
        if self.peer_closed {
            return ReadEvent::Closed;
        }
        let mut buffer = [0u8; 16 * 1024];
        let read = loop {
            let Some(slice) = crate::stop::slice_until(deadline) else {
                if crate::stop::requested() {
                    return ReadEvent::Failed(io::Error::from(ErrorKind::Interrupted));
                }
                return ReadEvent::TimedOut;
            };
            if let Err(error) = self.stream.set_read_timeout(Some(slice)) {
                return ReadEvent::Failed(error);
            }
            match self.stream.read(&mut buffer) {
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        match read {
            Ok(0) => {
                self.peer_closed = true;
                ReadEvent::Closed
            }
            Ok(n) => {
                self.pending.extend_from_slice(&buffer[..n]);
                ReadEvent::Data(buffer[..n].to_vec())
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                self.peer_reset = true;
                ReadEvent::Reset
            }
            Err(e) => ReadEvent::Failed(e),
        }
    }

    /// Takes the first `n` pending bytes.
    pub fn consume(&mut self, n: usize) -> Vec<u8> {
        self.pending.drain(..n.min(self.pending.len())).collect()
    }

    /// Half-close: the peer's next read returns 0; we can still read.
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    /// Reads whatever has already arrived, without waiting. Closing a
    /// socket with unread data sends RST instead of FIN, so a graceful close
    /// drains first.
    /// A peer that keeps sending is read only up to `MAX_DRAIN` bytes: its
    /// flood would otherwise keep the runner reading, and holding, forever.
    pub fn drain(&mut self) -> Vec<u8> {
        let mut drained = Vec::new();
        let deadline = Instant::now() + Duration::from_millis(1);
        while drained.len() < MAX_DRAIN {
            let ReadEvent::Data(data) = self.read_some(deadline) else {
                break;
            };
            if data.is_empty() {
                break;
            }
            drained.extend_from_slice(&data);
        }
        drained
    }

    /// Graceful close (FIN).
    pub fn close(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Abortive close (RST): SO_LINGER on with a zero timeout, then close.
    /// Also leaves no TIME_WAIT behind on either side.
    pub fn reset(self) {
        let _ = SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
    }
}
