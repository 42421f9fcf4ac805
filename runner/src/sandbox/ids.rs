//! A uid and gid of its own for every sandbox running at the same time
//! (when the runner is root), from a range no account uses, as isolate
//! does: no target can signal, trace or read another's files.
//!
//! A lease is an abstract Unix socket bound under the id's name: the
//! kernel releases it when the runner exits however it exits, and runners
//! running side by side never hand out the same id.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};

/// The first id of the range; ids from here on belong to sandboxes.
pub const FIRST_ID: u32 = 1_900_000_000;
/// How many ids the range holds (far more than sandboxes run at once).
const IDS: u32 = 100_000;

/// An id held by one sandbox until dropped.
#[derive(Debug)]
pub struct IdLease {
    pub id: u32,
    _lock: UnixListener,
}

impl IdLease {
    /// The first free id, starting from a place that depends on the
    /// runner's pid so that runners side by side rarely contend.
    pub fn take() -> std::io::Result<IdLease> {
        let start = std::process::id().wrapping_mul(7919) % IDS;
        for step in 0..IDS {
            let id = FIRST_ID + (start + step) % IDS;
            let name = SocketAddr::from_abstract_name(format!("socket-runner-id-{id}"))?;
            if let Ok(lock) = UnixListener::bind_addr(&name) {
                return Ok(IdLease { id, _lock: lock });
            }
        }
        Err(std::io::Error::other("every sandbox id is in use"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_leases_never_share_an_id() {
        let first = IdLease::take().expect("an id");
        let second = IdLease::take().expect("another id");
        assert_ne!(first.id, second.id);
        assert!(first.id >= FIRST_ID && second.id >= FIRST_ID);
    }
}
