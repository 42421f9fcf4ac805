//! The exchange as it happened, for the report: every byte sent and
//! received on every channel, with its time.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the runner to the target.
    Sent,
    /// From the target to the runner.
    Received,
    /// Something that happened: connected, closed, reset, exited.
    Note,
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// Since the case started.
    pub at: Duration,
    /// Connection or socket name, `stdin`, `stdout`, `stderr` or `target`.
    pub channel: String,
    pub direction: Direction,
    pub bytes: Vec<u8>,
}

pub struct Transcript {
    started: Instant,
    pub entries: Vec<Entry>,
    /// Bytes kept in entries so far.
    kept: usize,
    /// Whether later traffic is being left out.
    full: bool,
}

/// Entries and bytes past these are left out: a flooding target
/// must not fill the runner's memory, and a report must stay readable.
const MAX_ENTRIES: usize = 2000;
const MAX_BYTES: usize = 256 << 10;

impl Transcript {
    pub fn new() -> Transcript {
        Transcript {
            started: Instant::now(),
            entries: Vec::new(),
            kept: 0,
            full: false,
        }
    }

    pub fn record(&mut self, channel: &str, direction: Direction, bytes: &[u8]) {
        if self.entries.len() >= MAX_ENTRIES || self.kept + bytes.len() > MAX_BYTES {
            if !self.full {
                self.entries.push(Entry {
                    at: self.started.elapsed(),
                    channel: channel.to_string(),
                    direction: Direction::Note,
                    bytes: b"transcript full: later traffic is not shown".to_vec(),
                });
            }
            self.full = true;
            return;
        }
        self.kept += bytes.len();
        self.entries.push(Entry {
            at: self.started.elapsed(),
            channel: channel.to_string(),
            direction,
            bytes: bytes.to_vec(),
        });
    }

    pub fn note(&mut self, channel: &str, text: impl Into<String>) {
        self.record(channel, Direction::Note, text.into().as_bytes());
    }

    /// A note of something that happened at `when`, which may be before
    /// entries already recorded: it goes in its place in time.
    pub fn note_at(&mut self, when: Instant, channel: &str, text: impl Into<String>) {
        let at = when.saturating_duration_since(self.started);
        let place = self.entries.partition_point(|entry| entry.at <= at);
        self.entries.insert(
            place,
            Entry {
                at,
                channel: channel.to_string(),
                direction: Direction::Note,
                bytes: text.into().into_bytes(),
            },
        );
    }
}
