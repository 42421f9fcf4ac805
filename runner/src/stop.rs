//! A request to stop the run early (Ctrl-C, SIGTERM), and the waiting
//! primitives that honour it: every wait in the runner blocks at most one
//! slice at a time, then looks again at the request and its deadline, so a
//! stop takes effect within a slice on every thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static STOP: AtomicBool = AtomicBool::new(false);

/// Longest a wait blocks before it looks at the stop request again.
pub const SLICE: Duration = Duration::from_millis(50);

/// Asks the engine to stop. Async-signal-safe: one atomic store.
pub fn request() {
    STOP.store(true, Ordering::SeqCst);
}

pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// How long the next blocking call of a wait until `deadline` may block:
/// None once the deadline has passed or a stop was requested.
pub fn slice_until(deadline: Instant) -> Option<Duration> {
    if requested() {
        return None;
    }
    let left = deadline.checked_duration_since(Instant::now())?;
    (!left.is_zero()).then(|| left.min(SLICE))
}

/// Sleeps until `deadline`; false if a stop request cut it short.
pub fn sleep_until(deadline: Instant) -> bool {
    while let Some(slice) = slice_until(deadline) {
        std::thread::sleep(slice);
    }
    !requested()
}

/// `now + duration`, or a moment a century away when that would overflow
/// (a limit of "forever" given as a huge number).
pub fn deadline_after(duration: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(duration)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

/// Writes all of `bytes` to a non-blocking `writer`, waiting for room in
/// slices until `deadline`; TimedOut when there is still none by then.
pub fn write_all_until<W: std::io::Write + std::os::fd::AsFd>(
    writer: &mut W,
    bytes: &[u8],
    deadline: Instant,
) -> std::io::Result<()> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::io::ErrorKind;
    let mut rest = bytes;
    while !rest.is_empty() {
        match writer.write(rest) {
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let Some(slice) = slice_until(deadline) else {
                    return Err(std::io::Error::from(ErrorKind::TimedOut));
                };
                let wait = PollTimeout::try_from(slice).unwrap_or(PollTimeout::MAX);
                let mut fds = [PollFd::new(writer.as_fd(), PollFlags::POLLOUT)];
                poll(&mut fds, wait).map_err(std::io::Error::from)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_duration_saturates_instead_of_overflowing() {
        assert!(deadline_after(Duration::MAX) > Instant::now());
    }

    #[test]
    fn slices_are_short_and_end_at_the_deadline() {
        let deadline = Instant::now() + Duration::from_secs(10);
        assert_eq!(slice_until(deadline), Some(SLICE));
        assert_eq!(slice_until(Instant::now()), None);
    }
}
