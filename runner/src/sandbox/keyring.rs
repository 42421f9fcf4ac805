//! Every program starts with a fresh, empty session keyring. Otherwise it
//! inherits the runner's: the teacher's login keyring, with whatever a
//! desktop, ssh-agent helper or Kerberos keeps there. (The seccomp filter
//! then refuses the keyring system calls altogether.)

use nix::libc;

/// keyctl's operation that replaces the session keyring.
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;

/// Replaces the calling process's session keyring with a new anonymous
/// one, owned by its uid (call it after the change of uid). Only a system
/// call: safe between fork and exec.
pub fn join_fresh_session_keyring() -> std::io::Result<()> {
    // SAFETY: keyctl(JOIN_SESSION_KEYRING, NULL) reads no memory: a null
    // name asks for an anonymous keyring.
    let joined = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    if joined >= 0 {
        return Ok(());
    }
    match std::io::Error::last_os_error() {
        // A kernel without keyrings has none to inherit either.
        e if e.raw_os_error() == Some(libc::ENOSYS) => Ok(()),
        e => Err(e),
    }
}
