//! The runner's side of the conversation: TCP connections and datagram
//! sockets, with deadlines on every wait.

mod tcp;
mod udp;

pub use tcp::{Connection, ReadEvent};
pub use udp::Datagrams;

use std::time::{Duration, Instant};

/// Time left until `deadline`, never zero (a zero socket timeout means
/// "block forever").
pub(crate) fn remaining(deadline: Instant) -> Option<Duration> {
    let left = deadline.checked_duration_since(Instant::now())?;
    (!left.is_zero()).then_some(left)
}
