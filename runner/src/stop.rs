//! A request to stop the run early (Ctrl-C, SIGTERM): set from a signal
//! handler, read by the engine between and inside steps.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

/// Asks the engine to stop. Async-signal-safe: one atomic store.
pub fn request() {
    STOP.store(true, Ordering::SeqCst);
}

pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
