//! The sandbox starter: a process the runner starts once, at start, that
//! forks each sandbox's helper on request. The helper then needs no exec
//! of the runner's binary of its own (its loading, relocation and page
//! faults were the largest share of a sandbox's own cost), and the
//! seccomp filter is compiled once, here, instead of once per helper.
//!
//! The starter is itself an exec of the runner (`runner
//! __sandbox-starter`), spawned from the runner's main thread, which it
//! dies with, with an empty environment and nothing open but its socket:
//! it holds nothing of the teacher's (command line, environment, memory)
//! for a helper or a sandbox's init to inherit, and, made inside the
//! runner's user namespace where the runner has one, its helpers are the
//! runner's to look into as exec'd ones were.
//!
//! A helper is forked with `CLONE_PARENT`: its parent is the runner, as
//! when the runner spawned it, so the runner waits for it, is signalled
//! when it ends and reaps it; the starter never has a child of its own.
//!
//! Where the starter could not be started, or has died, the runner spawns
//! the helper as `runner __sandbox` instead (`program::sandboxed`).

use super::seccomp::Filter;
use nix::sys::socket::{
    sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// The hidden first argument that starts the sandbox starter.
pub const SUBCOMMAND: &str = "__sandbox-starter";

/// The runner's end of the starter's socket; None where there is no
/// starter, or once it is found gone.
static STARTER: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// Starts the sandbox starter. Call from the runner's main thread, which
/// lives as long as the runner: the starter asks to die with the thread
/// that started it.
pub fn start(as_root: bool) {
    let Ok((runner_end, starter_end)) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    ) else {
        return;
    };
    let mut command = std::process::Command::new("/proc/self/exe");
    command
        .arg(SUBCOMMAND)
        .env_clear()
        .stdin(std::process::Stdio::from(starter_end))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if !as_root {
        // SAFETY: the closure only makes system calls.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                // What its helpers need to build sandboxes in the runner's
                // user namespace, as for a spawned helper (`sandboxed`).
                super::keep_capabilities_across_exec();
                Ok(())
            });
        }
    }
    // Never waited for through its handle: it ends when the runner's end
    // of its socket closes, and the runner's reaper reaps it.
    if command.spawn().is_ok() {
        if let Ok(mut starter) = STARTER.lock() {
            *starter = Some(runner_end);
        }
    }
}

/// Has the starter fork a helper whose stdin is `helper_end` and whose
/// parent is the runner. Returns the helper's pid; None where there is
/// no starter (the caller spawns the helper itself).
pub fn fork_helper(helper_end: &OwnedFd) -> Option<io::Result<i32>> {
    let mut starter = STARTER.lock().unwrap_or_else(|e| e.into_inner());
    let socket = starter.as_ref()?;
    match ask(socket.as_raw_fd(), helper_end.as_raw_fd()) {
        Ok(Ok(pid)) => Some(Ok(pid)),
        // The starter could not fork: that is this sandbox's error.
        Ok(Err(errno)) => Some(Err(io::Error::from_raw_os_error(errno))),
        // The starter is gone: from now on helpers are spawned.
        Err(_) => {
            *starter = None;
            None
        }
    }
}

/// One request: the helper's socket out, the pid (or the fork's errno,
/// negated) back.
fn ask(socket: RawFd, helper_end: RawFd) -> nix::Result<Result<i32, i32>> {
    let handed = [helper_end];
    sendmsg::<()>(
        socket,
        &[io::IoSlice::new(b"h")],
        &[ControlMessage::ScmRights(&handed)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )?;
    let mut answer = [0u8; 4];
    let got = nix::sys::socket::recv(socket, &mut answer, MsgFlags::empty())?;
    if got != answer.len() {
        return Err(nix::errno::Errno::EPIPE);
    }
    let value = i32::from_ne_bytes(answer);
    Ok(if value > 0 { Ok(value) } else { Err(-value) })
}

/// Entry point of `runner __sandbox-starter`: forks a helper per request
/// on its stdin, the runner's socket, until the runner closes it or dies.
pub fn main() -> ! {
    use nix::sys::prctl;
    const SOCKET: RawFd = 0;
    let _ = prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    let _ = prctl::set_dumpable(false);
    let _ = prctl::set_name(c"sandbox-starter");
    // Out of the runner's session: Ctrl-C at the teacher's terminal is
    // the runner's to handle.
    let _ = super::session::leave_terminal();
    let filter = Filter::compile();
    loop {
        let Some(helper_end) = next_request(SOCKET) else {
            std::process::exit(0);
        };
        let answer = match fork_with_runner_as_parent() {
            Ok(0) => {
                // The helper's stdin is its own socket, in place of the
                // starter's.
                if nix::unistd::dup2(helper_end.as_raw_fd(), SOCKET).is_err() {
                    std::process::exit(super::init::SETUP_FAILED);
                }
                drop(helper_end);
                super::init::serve(filter.clone())
            }
            Ok(pid) => pid,
            Err(errno) => -(errno as i32),
        };
        drop(helper_end);
        let _ = nix::sys::socket::send(SOCKET, &answer.to_ne_bytes(), MsgFlags::MSG_NOSIGNAL);
    }
}

/// Waits for the next request: the helper's socket, or None when the
/// runner has closed its end.
fn next_request(socket: RawFd) -> Option<OwnedFd> {
    loop {
        let mut byte = [0u8; 1];
        let (got, fds) = super::descriptors::receive(socket, &mut byte)?;
        if got == 0 {
            return None;
        }
        if let Some(fd) = fds.into_iter().next() {
            return Some(fd);
        }
    }
}

/// `fork`, except that the child's parent is the starter's own parent,
/// the runner (`CLONE_PARENT`), which glibc's fork cannot ask for. Returns
/// 0 in the child and its pid in the starter.
fn fork_with_runner_as_parent() -> Result<i32, nix::errno::Errno> {
    // SAFETY: a fork-like clone (no new stack, no shared memory) of a
    // single-threaded process. glibc's record of the thread's id goes
    // stale in the child; what reads it for the calling thread (raise,
    // pthread_kill) asks the kernel instead since glibc 2.34, and the
    // helper starts no threads.
    let pid = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_clone,
            (nix::libc::CLONE_PARENT | nix::libc::SIGCHLD) as nix::libc::c_ulong,
            0 as nix::libc::c_ulong,
            0 as nix::libc::c_ulong,
            0 as nix::libc::c_ulong,
            0 as nix::libc::c_ulong,
        )
    };
    if pid < 0 {
        Err(nix::errno::Errno::last())
    } else {
        Ok(pid as i32)
    }
}
