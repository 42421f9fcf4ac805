//! Every target runs in a session of its own, without a controlling
//! terminal (as bubblewrap's `--new-session` does it, CVE-2017-5226).
//!
//! In the runner's session a program could open `/dev/tty`, the
//! terminal the runner was started from, and push characters into its
//! input with TIOCSTI (a command typed for the teacher), or make itself
//! the terminal's foreground process group with TIOCSPGRP (Ctrl-C no
//! longer stops the grading). Outside that session `/dev/tty` opens
//! nothing (ENXIO), and no ioctl reaches that terminal. The program's
//! stdin, the runner's own pseudo-terminal, is only inherited, never
//! made a controlling terminal, and works the same.
//!
//! A session also starts a process group of its own, whose id is the
//! caller's pid: `killpg` of that pid still reaches the whole group.

/// Makes the calling process the leader of a new session and process
/// group, without a controlling terminal. Fails (EPERM) if it already
/// leads a process group. Only a system call: safe between fork and exec.
pub fn leave_terminal() -> std::io::Result<()> {
    nix::unistd::setsid()
        .map(drop)
        .map_err(std::io::Error::from)
}
