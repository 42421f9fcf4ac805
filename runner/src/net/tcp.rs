//! One TCP connection as the engine sees it: what has arrived but not yet
//! been matched, and whether the peer closed or reset.

use super::remaining;
use crate::mutate::{Piece, StreamRelay};
use socket2::SockRef;
use std::io::{self, ErrorKind, Read};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long a mutated connection waits, as the runner lets go of it, for
/// what the program still does on it.
const CATCH_UP: Duration = Duration::from_millis(200);

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
    /// `runner mutate`: what the runner reads goes through a mutant.
    relay: Option<StreamRelay>,
    /// The socket itself reached its end (closed or reset), whatever the
    /// relay makes of it.
    raw_ended: bool,
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
            relay: None,
            raw_ended: false,
        }
    }

    /// The connection as a mutant would behave on it.
    pub fn relayed(mut self, relay: Option<StreamRelay>) -> Connection {
        self.relay = relay;
        self
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
        if let (Ok(()), Some(relay)) = (&sent, &mut self.relay) {
            relay.sent(bytes);
        }
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
        let event = match self.relay.take() {
            None => self.read_raw(deadline),
            Some(mut relay) => {
                let event = self.read_relayed(&mut relay, deadline);
                self.relay = Some(relay);
                event
            }
        };
        match &event {
            ReadEvent::Data(data) => self.pending.extend_from_slice(data),
            ReadEvent::Closed => self.peer_closed = true,
            ReadEvent::Reset => self.peer_reset = true,
            _ => {}
        }
        event
    }

    /// The next thing the mutant delivers: what is due in the relay's
    /// queue, else what the socket brings, reshaped.
    fn read_relayed(&mut self, relay: &mut StreamRelay, deadline: Instant) -> ReadEvent {
        let waited = |until: Instant| {
            if crate::stop::sleep_until(until) {
                ReadEvent::TimedOut
            } else {
                ReadEvent::Failed(io::Error::from(ErrorKind::Interrupted))
            }
        };
        loop {
            if let Some(due) = relay.next_due() {
                if due > deadline {
                    return waited(deadline);
                }
                if let ReadEvent::Failed(e) = waited(due) {
                    return ReadEvent::Failed(e);
                }
                return match relay.pop() {
                    Some(Piece::Data(data)) => ReadEvent::Data(data),
                    Some(Piece::Closed) => ReadEvent::Closed,
                    Some(Piece::Reset) => ReadEvent::Reset,
                    None => continue,
                };
            }
            if relay.muted() || self.raw_ended {
                return waited(deadline);
            }
            if let Some(other) = self.read_into(relay, deadline) {
                return other;
            }
        }
    }

    /// One read of the socket itself.
    fn read_raw(&mut self, deadline: Instant) -> ReadEvent {
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
            Ok(0) => ReadEvent::Closed,
            Ok(n) => ReadEvent::Data(buffer[..n].to_vec()),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => ReadEvent::Reset,
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
    pub fn close(mut self) {
        self.catch_up();
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Abortive close (RST): SO_LINGER on with a zero timeout, then close.
    /// Also leaves no TIME_WAIT behind on either side.
    pub fn reset(mut self) {
        self.catch_up();
        let _ = SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
    }

    /// `runner mutate`: before the runner lets go of the connection, the
    /// relay sees what the program still sent or whether it closed,
    /// though no step looks: a mutant that would have behaved
    /// differently there (never closing) took effect, and survived.
    fn catch_up(&mut self) {
        let Some(mut relay) = self.relay.take() else {
            return;
        };
        let deadline = Instant::now() + CATCH_UP;
        while !self.raw_ended {
            if self.read_into(&mut relay, deadline).is_some() {
                break;
            }
        }
    }

    /// One read of what the program sent, handed to the mutant's relay;
    /// what is not a piece for it (a timeout, a failure) is given back.
    fn read_into(&mut self, relay: &mut StreamRelay, deadline: Instant) -> Option<ReadEvent> {
        let piece = match self.read_raw(deadline) {
            ReadEvent::Data(data) => Piece::Data(data),
            ReadEvent::Closed => Piece::Closed,
            ReadEvent::Reset => Piece::Reset,
            other => return Some(other),
        };
        self.raw_ended |= !matches!(piece, Piece::Data(_));
        relay.arrived(piece);
        None
    }
}
