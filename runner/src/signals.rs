//! Ctrl-C, SIGTERM and SIGHUP stop the run cleanly: the engine finishes
//! the current step, kills every target, and the partial report is still
//! written.

use crate::stop;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

extern "C" fn on_signal(_: nix::libc::c_int) {
    stop::request();
}

/// Installs the handlers. Without SA_RESTART, a blocking read in the main
/// thread returns EINTR, so waits notice the request at once.
pub fn stop_on_signals() {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic.
        let _ = unsafe { sigaction(signal, &action) };
    }
}

/// Keeps the stop signals away from a helper thread, so that they
/// interrupt the main thread's waits instead.
pub fn block_in_this_thread() {
    let mut set = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(signal);
    }
    let _ = set.thread_block();
}
