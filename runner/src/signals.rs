//! Ctrl-C, SIGTERM and SIGHUP stop the run cleanly: the engine finishes
//! the current step, kills every target, and the partial report is still
//! written.

use crate::stop;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

extern "C" fn on_signal(_: nix::libc::c_int) {
    stop::request();
}

/// Installs the handlers. Every wait of the runner blocks one short slice
/// at a time and then looks at the request (see `stop`), on whatever
/// thread it runs, so interrupted system calls simply restart.
pub fn stop_on_signals() {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to an atomic.
        let _ = unsafe { sigaction(signal, &action) };
    }
}
