//! A target's stdout or stderr, captured by a pump thread and read by the
//! engine as a stream (prompts have no newline, so nothing is line based).

use std::io::Read;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// Past the head (kept for matching, its size a limit), the stream's middle
/// is dropped and only this much of its tail is kept, for the report.
const KEEP_TAIL: usize = 64 << 10;

#[derive(Default)]
struct Captured {
    /// Bytes of the head to keep.
    keep_head: usize,
    head: Vec<u8>,
    tail: Vec<u8>,
    dropped: u64,
    closed: bool,
}

/// One captured output stream, shared between its pump and the engine.
#[derive(Default)]
pub struct Output {
    captured: Mutex<Captured>,
    changed: Condvar,
}

/// A copy of what a stream produced, for reports.
#[derive(Debug, Clone, Default)]
pub struct OutputSnapshot {
    pub head: Vec<u8>,
    pub dropped: u64,
    pub tail: Vec<u8>,
}

impl Output {
    /// Starts a thread copying `source` into a new capture until EOF.
    /// The first `keep_head` bytes are kept whole.
    pub fn pump(mut source: impl Read + Send + 'static, keep_head: usize) -> Arc<Output> {
        let output = Arc::new(Output::default());
        output.lock().keep_head = keep_head;
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            loop {
                match source.read(&mut buffer) {
                    Ok(n) if n > 0 => sink.append(&buffer[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Ok(_) | Err(_) => break,
                }
            }
            sink.lock().closed = true;
            sink.changed.notify_all();
        });
        output
    }

    fn lock(&self) -> MutexGuard<'_, Captured> {
        // A poisoned lock only means a pump panicked; the data is still good.
        self.captured.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn append(&self, bytes: &[u8]) {
        let mut captured = self.lock();
        let room = captured.keep_head.saturating_sub(captured.head.len());
        let (head, rest) = bytes.split_at(room.min(bytes.len()));
        captured.head.extend_from_slice(head);
        if !rest.is_empty() {
            captured.dropped += rest.len() as u64;
            captured.tail.extend_from_slice(rest);
            let excess = captured.tail.len().saturating_sub(KEEP_TAIL);
            captured.tail.drain(..excess);
        }
        drop(captured);
        self.changed.notify_all();
    }

    /// Waits until `ready` says yes about the bytes from `from` on, the
    /// stream closes, or `deadline` passes. Returns the bytes from `from` and
    /// whether the stream is closed.
    pub fn wait_for(
        &self,
        from: usize,
        deadline: Instant,
        mut ready: impl FnMut(&[u8]) -> bool,
    ) -> (Vec<u8>, bool) {
        let mut captured = self.lock();
        loop {
            let start = from.min(captured.head.len());
            if ready(&captured.head[start..]) || captured.closed {
                return (captured.head[start..].to_vec(), captured.closed);
            }
            let Some(slice) = crate::stop::slice_until(deadline) else {
                return (captured.head[start..].to_vec(), captured.closed);
            };
            captured = self
                .changed
                .wait_timeout(captured, slice)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Waits until the stream is closed (the writer exited) or `deadline`.
    pub fn wait_closed(&self, deadline: Instant) -> bool {
        self.wait_for(0, deadline, |_| false).1
    }

    pub fn snapshot(&self) -> OutputSnapshot {
        let captured = self.lock();
        OutputSnapshot {
            head: captured.head.clone(),
            dropped: captured.dropped,
            tail: captured.tail.clone(),
        }
    }
}

impl OutputSnapshot {
    /// The last `lines` lines of the stream, as text, for a report.
    pub fn last_lines(&self, lines: usize) -> String {
        let bytes = if self.tail.is_empty() {
            &self.head
        } else {
            &self.tail
        };
        let text = String::from_utf8_lossy(bytes);
        let all: Vec<&str> = text.lines().collect();
        let mut out = all[all.len().saturating_sub(lines)..].join("\n");
        if self.dropped > 0 {
            out = format!("[{} bytes not kept]\n{out}", self.dropped);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn waits_until_the_bytes_arrive() {
        let output = Output::pump(&b"prompt: hello\n"[..], 1024);
        let deadline = Instant::now() + Duration::from_secs(5);
        let (bytes, _) = output.wait_for(0, deadline, |b| b.ends_with(b"\n"));
        assert_eq!(bytes, b"prompt: hello\n");
        let (rest, closed) = output.wait_for(8, deadline, |_| false);
        assert_eq!(rest, b"hello\n");
        assert!(closed);
    }

    #[test]
    fn keeps_head_and_tail_of_a_flood() {
        let keep_head = 4096;
        let flood = vec![b'x'; keep_head + KEEP_TAIL * 2];
        let output = Output::pump(std::io::Cursor::new(flood), keep_head);
        output.wait_for(0, Instant::now() + Duration::from_secs(5), |_| false);
        let snapshot = output.snapshot();
        assert_eq!(snapshot.head.len(), keep_head);
        assert_eq!(snapshot.tail.len(), KEEP_TAIL);
        assert_eq!(snapshot.dropped, (KEEP_TAIL * 2) as u64);
    }
}
