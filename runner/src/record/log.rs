//! What a recording holds: every event of the session, in the order the
//! recorder saw it, with the time since the program started.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which side of a relayed connection acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The side the runner plays when the draft is run: the teacher's
    /// client (server role) or the upstream server (client role).
    Runner,
    /// The program being recorded.
    Program,
}

/// Something that happened on one relayed connection (or, on UDP, one
/// peer's datagram exchange).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetWhat {
    /// The connection was opened (TCP) or the first datagram came (UDP).
    Open,
    /// Bytes (TCP) or one datagram (UDP) from `side`.
    Data(Vec<u8>),
    /// `side` half-closed (FIN).
    Fin,
    /// `side` reset the connection.
    Reset,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    Net {
        conn: usize,
        side: Side,
        what: NetWhat,
    },
    /// A line typed on the recorder's stdin, without its newline.
    Stdin(String),
    /// A complete line the program printed (without its line end), or a
    /// prompt it left without a newline when input was typed.
    Stdout(String),
    /// A line the program printed on stderr.
    Stderr(String),
    /// The program exited by itself with this code (None: by a signal).
    Exit(Option<i32>),
}

#[derive(Debug, Clone)]
pub struct Event {
    /// Since the program was started.
    pub at: Duration,
    pub what: What,
}

/// The shared, growing log. Events are stamped under the lock, so their
/// order in the log is the order of their times.
#[derive(Clone)]
pub struct Log {
    start: Instant,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Log {
    pub fn new(start: Instant) -> Log {
        Log {
            start,
            events: Arc::default(),
        }
    }

    pub fn push(&self, what: What) {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        events.push(Event {
            at: self.start.elapsed(),
            what,
        });
    }

    pub fn net(&self, conn: usize, side: Side, what: NetWhat) {
        self.push(What::Net { conn, side, what });
    }

    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Splits a growing output stream into lines as it comes, and hands out
/// the pending partial line (a prompt) on request.
#[derive(Default)]
pub struct Lines {
    seen: usize,
    pending: Vec<u8>,
}

impl Lines {
    /// Takes the stream's bytes so far and returns the lines completed.
    pub fn feed(&mut self, all: &[u8]) -> Vec<String> {
        if all.len() > self.seen {
            self.pending.extend_from_slice(&all[self.seen..]);
            self.seen = all.len();
        }
        let mut lines = Vec::new();
        while let Some(at) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=at).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            lines.push(text.trim_end_matches('\r').to_string());
        }
        lines
    }

    /// The partial line left, if any, as its own segment.
    pub fn flush(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        let text = String::from_utf8_lossy(&self.pending).to_string();
        self.pending.clear();
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::Lines;

    #[test]
    fn lines_come_whole_and_prompts_on_request() {
        let mut lines = Lines::default();
        assert_eq!(lines.feed(b"connected\r\nrecei"), ["connected"]);
        assert_eq!(
            lines.feed(b"connected\r\nreceived: hi\nreply: "),
            ["received: hi"]
        );
        assert_eq!(lines.flush().as_deref(), Some("reply: "));
        assert_eq!(lines.flush(), None);
    }
}
