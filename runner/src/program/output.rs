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

use crate::bounded::Capped;

/// Past the head (kept for matching, its size a limit), the stream's middle
/// is dropped and only this much of its tail is kept, for the report.
const KEEP_TAIL: usize = 64 << 10;

#[derive(Default)]
struct Captured {
    /// What was read, within its caps as it is read.
    bytes: Capped,
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
    /// The stream's first bytes, up to the capture's cap.
    pub head: Vec<u8>,
    /// Bytes between the head and the tail, not kept.
    pub dropped: u64,
    /// The stream's last bytes past the head, up to 64 KiB.
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
            captured.bytes = Capped::new(keep_head, KEEP_TAIL);
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
                    captured.bytes.push(&buffer[..n]);
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
            let head = captured.bytes.head();
            let start = from.min(head.len());
            if ready(&head[start..]) || captured.closed {
                return (head[start..].to_vec(), captured.closed);
            }
            let Some(slice) = crate::stop::slice_until(deadline) else {
                return (head[start..].to_vec(), captured.closed);
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
            head: captured.bytes.head().to_vec(),
            dropped: captured.bytes.dropped(),
            tail: captured.bytes.tail(),
        }
    }

    /// Keeps at most `keep_head` bytes of the head from now on (and drops
    /// what is held past it): for a stream that `pump` was given a larger
    /// cap for than it deserves, such as a compiler's messages, which share
    /// their cap with the built program on stdout.
    pub fn limit_head(&self, keep_head: usize) {
        self.lock().bytes.limit_head(keep_head);
    }
}

/// Bytes of a stream's end a report shows, whatever its lines: one line
/// can be the whole stream.
pub const REPORT_TAIL: usize = 4 << 10;

impl OutputSnapshot {
    /// The snapshot as an outcome keeps it: the reports show only the
    /// stream's end, so only its last `REPORT_TAIL` bytes are held (every
    /// case of every student waiting for its reports holds one), the rest
    /// counted as dropped.
    pub fn for_report(&self) -> OutputSnapshot {
        let (bytes, before) = if self.tail.is_empty() {
            (self.head.as_slice(), 0)
        } else {
            (self.tail.as_slice(), self.dropped + self.head.len() as u64)
        };
        let kept = crate::bounded::cut(bytes, 0, REPORT_TAIL);
        if kept.dropped == 0 && before == 0 {
            return self.clone();
        }
        // A cut that drops nothing keeps everything in its head.
        let end = if kept.dropped == 0 {
            kept.head
        } else {
            kept.tail
        };
        OutputSnapshot {
            head: Vec::new(),
            dropped: before + kept.dropped,
            tail: end.to_vec(),
        }
    }

    /// The last `lines` lines of the stream, at most `REPORT_TAIL` bytes
    /// of them, as text for a report; what came before them and was not
    /// kept is counted in a first line (`… N more bytes not kept`).
    pub fn last_lines(&self, lines: usize) -> String {
        let (bytes, mut dropped) = if self.tail.is_empty() {
            (self.head.as_slice(), 0)
        } else {
            (self.tail.as_slice(), self.dropped + self.head.len() as u64)
        };
        // The start of the last `lines` lines (a final newline ends the
        // last line, it does not start another).
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        let mut start = body.len();
        for _ in 0..lines {
            match body[..start].iter().rposition(|b| *b == b'\n') {
                Some(newline) => start = newline,
                None => {
                    start = 0;
                    break;
                }
            }
        }
        if start > 0 {
            start += 1;
        }
        let earliest = body.len().saturating_sub(REPORT_TAIL);
        let from = crate::bounded::ceil_boundary(body, start.min(body.len()).max(earliest));
        // Lines left out only for their number are not news; once bytes
        // were lost, everything before the text shown is counted.
        if dropped > 0 || from > start {
            dropped += from as u64;
        }
        let text = String::from_utf8_lossy(&body[from..]);
        if dropped > 0 {
            format!("{}\n{text}", crate::bounded::not_kept(dropped))
        } else {
            text.into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_short_end_after_a_long_head_is_kept_for_the_report() {
        let snapshot = OutputSnapshot {
            head: vec![b'A'; 1000],
            dropped: 5,
            tail: b"<b>the end</b>\n".to_vec(),
        };
        let kept = snapshot.for_report();
        assert_eq!(kept.tail, b"<b>the end</b>\n");
        assert_eq!(kept.dropped, 1005);
        assert!(kept.head.is_empty());
    }

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
        // The middle: past the head, before the tail.
        assert_eq!(snapshot.dropped, KEEP_TAIL as u64);
    }

    #[test]
    fn the_last_lines_are_cut_by_bytes_too() {
        let snapshot = OutputSnapshot {
            head: b"one\ntwo\nthree\n".to_vec(),
            ..OutputSnapshot::default()
        };
        assert_eq!(snapshot.last_lines(2), "two\nthree");
        assert_eq!(snapshot.last_lines(5), "one\ntwo\nthree");
        // One line of a MiB: its last bytes, and the count of the rest.
        let line = "好".repeat(1 << 18);
        let snapshot = OutputSnapshot {
            head: line.as_bytes().to_vec(),
            ..OutputSnapshot::default()
        };
        let shown = snapshot.last_lines(20);
        assert!(shown.len() < REPORT_TAIL + 100, "{}", shown.len());
        let dropped = line.len() - (REPORT_TAIL / 3) * 3;
        assert!(
            shown.starts_with(&crate::bounded::not_kept(dropped as u64)),
            "{}",
            &shown[..80]
        );
        assert!(shown.ends_with('好'));
        let kept = snapshot.for_report();
        assert_eq!(kept.tail.len(), (REPORT_TAIL / 3) * 3);
        assert_eq!(kept.last_lines(20), shown);
    }
}
