//! A target's stdout or stderr, captured by a pump thread and read by the
//! engine as a stream (prompts have no newline, so nothing is line based).
//!
//! The pipe is non-blocking and read only under the capture's lock, by the
//! pump when poll says there is data and by `snapshot` itself: a snapshot
//! holds everything the target wrote before it was taken, so the evidence
//! of a run does not depend on when a thread got scheduled.

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
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
    /// The read end of the pipe, non-blocking; None once it reached EOF.
    source: Option<OwnedFd>,
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
    /// Starts a thread copying the pipe `source` into a new capture until
    /// EOF. The first `keep_head` bytes are kept whole.
    pub fn pump(source: impl Into<OwnedFd>, keep_head: usize) -> Arc<Output> {
        let source: OwnedFd = source.into();
        let _ = super::set_nonblocking(&source);
        let watched = source.try_clone();
        let output = Arc::new(Output::default());
        {
            let mut captured = output.lock();
            captured.keep_head = keep_head;
            captured.source = Some(source);
        }
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let Ok(watched) = watched else {
                sink.read_available();
                return;
            };
            loop {
                let mut fds = [PollFd::new(watched.as_fd(), PollFlags::POLLIN)];
                match poll(
                    &mut fds,
                    PollTimeout::from(crate::stop::SLICE.as_millis() as u16),
                ) {
                    Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                    Ok(_) => {}
                    Err(_) => break,
                }
                if sink.read_available() {
                    break;
                }
            }
            sink.read_available();
        });
        output
    }

    /// Reads what the pipe holds now, under the lock; true once it is
    /// closed (EOF or an error).
    fn read_available(&self) -> bool {
        let mut captured = self.lock();
        let mut buffer = [0u8; 8192];
        let mut appended = false;
        let closed = loop {
            let Some(source) = &captured.source else {
                break true;
            };
            match nix::unistd::read(source.as_raw_fd(), &mut buffer) {
                Ok(0) => break true,
                Ok(n) => {
                    captured.append(&buffer[..n]);
                    appended = true;
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(nix::errno::Errno::EAGAIN) => break false,
                Err(_) => break true,
            }
        };
        if closed {
            captured.source = None;
            captured.closed = true;
        }
        drop(captured);
        if appended || closed {
            self.changed.notify_all();
        }
        closed
    }

    fn lock(&self) -> MutexGuard<'_, Captured> {
        // A poisoned lock only means a pump panicked; the data is still good.
        self.captured.lock().unwrap_or_else(|e| e.into_inner())
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

    /// What the stream holds, including every byte written before this
    /// call that the pump has not read yet.
    pub fn snapshot(&self) -> OutputSnapshot {
        self.read_available();
        let captured = self.lock();
        OutputSnapshot {
            head: captured.head.clone(),
            dropped: captured.dropped,
            tail: captured.tail.clone(),
        }
    }
}

impl Captured {
    fn append(&mut self, bytes: &[u8]) {
        let room = self.keep_head.saturating_sub(self.head.len());
        let (head, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(head);
        if !rest.is_empty() {
            self.dropped += rest.len() as u64;
            self.tail.extend_from_slice(rest);
            let excess = self.tail.len().saturating_sub(KEEP_TAIL);
            self.tail.drain(..excess);
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

    /// A pipe holding `bytes`, its write end closed.
    fn pipe_with(bytes: &[u8]) -> OwnedFd {
        let (read, write) = nix::unistd::pipe().expect("pipe");
        let writer = std::thread::spawn({
            let bytes = bytes.to_vec();
            move || {
                let mut file = std::fs::File::from(write);
                std::io::Write::write_all(&mut file, &bytes).expect("write");
            }
        });
        std::mem::forget(writer);
        read
    }

    #[test]
    fn a_snapshot_holds_everything_written_before_it() {
        let (read, write) = nix::unistd::pipe().expect("pipe");
        let output = Output::pump(read, 64 << 10);
        for line in 0..200 {
            nix::unistd::write(&write, format!("line {line}\n").as_bytes()).expect("write");
            let snapshot = output.snapshot();
            let text = String::from_utf8_lossy(&snapshot.head).into_owned();
            assert!(text.ends_with(&format!("line {line}\n")), "{text}");
        }
    }

    #[test]
    fn waits_until_the_bytes_arrive() {
        let output = Output::pump(pipe_with(b"prompt: hello\n"), 1024);
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
        let output = Output::pump(pipe_with(&flood), keep_head);
        output.wait_for(0, Instant::now() + Duration::from_secs(5), |_| false);
        let snapshot = output.snapshot();
        assert_eq!(snapshot.head.len(), keep_head);
        assert_eq!(snapshot.tail.len(), KEEP_TAIL);
        assert_eq!(snapshot.dropped, (KEEP_TAIL * 2) as u64);
    }
}
