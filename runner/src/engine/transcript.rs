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
    /// Once traffic is left out: the index of the note that says so, and
    /// the bytes left out so far.
    full: Option<(usize, u64)>,
}

/// Entries and bytes past these are left out: a flooding target must not
/// fill the runner's memory, and every report format quotes the
/// transcript of every case (JSON in text and hex), so one student's
/// reports stay within a few MiB.
const MAX_ENTRIES: usize = 300;
const MAX_BYTES: usize = 16 << 10;
/// Notes kept past `MAX_ENTRIES`.
const NOTES_PAST_CAP: usize = 16;

impl Transcript {
    pub fn new() -> Transcript {
        Transcript {
            started: Instant::now(),
            entries: Vec::new(),
            kept: 0,
            full: None,
        }
    }

    /// Records `bytes`, or what fits of them: past the transcript's caps
    /// one note says how much was left out, its count kept up to date.
    pub fn record(&mut self, channel: &str, direction: Direction, bytes: &[u8]) {
        let mut left_out = bytes.len() as u64;
        if self.full.is_none() && self.entries.len() < MAX_ENTRIES {
            let fits = crate::bounded::cut(bytes, MAX_BYTES - self.kept, 0);
            if !fits.head.is_empty() || bytes.is_empty() {
                self.kept += fits.head.len();
                self.entries.push(Entry {
                    at: self.started.elapsed(),
                    channel: channel.to_string(),
                    direction,
                    bytes: fits.head.to_vec(),
                });
            }
            left_out = fits.dropped;
            if left_out == 0 {
                return;
            }
        }
        let (note, dropped) = self.full.get_or_insert_with(|| {
            self.entries.push(Entry {
                at: self.started.elapsed(),
                channel: channel.to_string(),
                direction: Direction::Note,
                bytes: Vec::new(),
            });
            (self.entries.len() - 1, 0)
        });
        *dropped += left_out;
        self.entries[*note].bytes = format!(
            "transcript full: later traffic is not shown ({})",
            crate::bounded::not_kept(*dropped)
        )
        .into_bytes();
    }

    /// A note of the runner's own: short, so it is kept even past the
    /// byte cap (what ended the flood is worth knowing), up to a few
    /// entries past the count cap.
    pub fn note(&mut self, channel: &str, text: impl Into<String>) {
        if self.entries.len() >= MAX_ENTRIES + NOTES_PAST_CAP {
            return;
        }
        self.entries.push(Entry {
            at: self.started.elapsed(),
            channel: channel.to_string(),
            direction: Direction::Note,
            bytes: text.into().into_bytes(),
        });
    }

    /// A note of something that happened at `when`, which may be before
    /// entries already recorded: it goes in its place in time.
    pub fn note_at(&mut self, when: Instant, channel: &str, text: impl Into<String>) {
        let at = when.saturating_duration_since(self.started);
        let place = self.entries.partition_point(|entry| entry.at <= at);
        if let Some((note, _)) = &mut self.full {
            if place <= *note {
                *note += 1;
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_keeps_what_fits_and_counts_the_rest() {
        let mut transcript = Transcript::new();
        transcript.note("a", "connected");
        for _ in 0..100 {
            transcript.record("a", Direction::Received, &[b'x'; 1000]);
        }
        transcript.note("a", "closed by the server");
        let kept: usize = transcript
            .entries
            .iter()
            .filter(|e| e.direction == Direction::Received)
            .map(|e| e.bytes.len())
            .sum();
        assert_eq!(kept, MAX_BYTES);
        let full = transcript
            .entries
            .iter()
            .find(|e| e.bytes.starts_with(b"transcript full"))
            .expect("a note says the transcript is full");
        let said = String::from_utf8_lossy(&full.bytes);
        let dropped = 100_000 - MAX_BYTES as u64;
        assert!(said.contains(&crate::bounded::not_kept(dropped)), "{said}");
        let last = transcript.entries.last().expect("entries");
        assert_eq!(last.bytes, b"closed by the server");
    }
}
