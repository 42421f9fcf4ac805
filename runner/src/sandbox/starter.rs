//! The sandbox starter: a process the runner starts once, at start, that
//! makes each sandbox's init on request, in the sandbox's new mount, PID,
//! IPC and UTS namespaces. The init then needs no exec of the runner's
//! binary of its own (its loading, relocation and page faults were the
//! largest share of a sandbox's own cost), and the seccomp filter is
//! compiled once, here, instead of once per sandbox.
//!
//! The starter is itself an exec of the runner (`runner
//! __sandbox-starter`), spawned from the runner's main thread, which it
//! dies with, with an empty environment and nothing open but its socket:
//! it holds nothing of the teacher's (command line, environment, memory)
//! for a sandbox's init to inherit, and, made inside the runner's user
//! namespace where the runner has one, its inits are the runner's to look
//! into as exec'd ones were.
//!
//! An init is cloned with `CLONE_PARENT`: its parent is the runner, which
//! waits for it, is signalled when it ends and reaps it; the starter never
//! has a child of its own.
//!
//! Where the starter could not be started, or has died, the runner starts
//! a starter for that one sandbox, which ends once it has made the init.

use super::seccomp::Filter;
use nix::sys::socket::{
    sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// The hidden first argument that starts the sandbox starter.
pub const SUBCOMMAND: &str = "__sandbox-starter";

/// The namespaces a sandbox's init is made in. Its network namespace is
/// the runner's to make (the runner opens the case's sockets there too):
/// the init enters it.
const SANDBOX_NAMESPACES: nix::libc::c_int = nix::libc::CLONE_NEWNS
    | nix::libc::CLONE_NEWPID
    | nix::libc::CLONE_NEWIPC
    | nix::libc::CLONE_NEWUTS;

/// The runner's end of the starter's socket; None where there is no
/// starter, or once it is found gone.
static STARTER: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// Starts the run's sandbox starter. Call from the runner's main thread,
/// which lives as long as the runner: the starter asks to die with the
/// thread that started it.
pub fn start(as_root: bool) {
    // Never waited for through its handle: it ends when the runner's end
    // of its socket closes, and the runner's reaper reaps it.
    if let Ok((runner_end, _starter)) = spawn(as_root) {
        if let Ok(mut starter) = STARTER.lock() {
            *starter = Some(runner_end);
        }
    }
}

/// Spawns a starter: the runner's end of its socket, and the process.
fn spawn(as_root: bool) -> io::Result<(OwnedFd, std::process::Child)> {
    let (runner_end, starter_end) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
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
                // In the runner's user namespace the starter is not uid 0
                // there, so exec would drop the capabilities its inits
                // need to build sandboxes: they go along as ambient
                // capabilities, which the program itself never gets.
                super::keep_capabilities_across_exec();
                Ok(())
            });
        }
    }
    Ok((runner_end, command.spawn()?))
}

/// Has a starter make a sandbox's init whose stdin is `init_end` and
/// whose parent is the runner: the run's starter, or, where it is gone, a
/// starter for this sandbox alone. Returns the init's pid (in the
/// runner's PID namespace).
pub fn fork_init(init_end: &OwnedFd, as_root: bool) -> io::Result<i32> {
    {
        let mut starter = STARTER.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(socket) = starter.as_ref() {
            match ask(socket.as_raw_fd(), init_end.as_raw_fd()) {
                Ok(made) => return made,
                // The starter is gone: from now on each sandbox has one.
                Err(_) => *starter = None,
            }
        }
    }
    let (socket, mut once) = spawn(as_root)?;
    let made = ask(socket.as_raw_fd(), init_end.as_raw_fd());
    // Its socket closed, it ends.
    drop(socket);
    let _ = once.wait();
    made.map_err(io::Error::from)?
}

/// One request: the init's socket out, the init's pid (or the clone's
/// errno, negated) back. Err where the starter did not answer.
fn ask(socket: RawFd, init_end: RawFd) -> nix::Result<io::Result<i32>> {
    let handed = [init_end];
    sendmsg::<()>(
        socket,
        &[io::IoSlice::new(b"i")],
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
    Ok(if value > 0 {
        Ok(value)
    } else {
        // The starter could not make it: that is this sandbox's error.
        Err(io::Error::from_raw_os_error(-value))
    })
}

/// Entry point of `runner __sandbox-starter`: makes a sandbox's init per
/// request on its stdin, the runner's socket, until the runner closes it
/// or dies.
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
        let Some(init_end) = next_request(SOCKET) else {
            std::process::exit(0);
        };
        let answer = match clone_init() {
            Ok(0) => {
                // The init's stdin is its own socket, in place of the
                // starter's.
                if nix::unistd::dup2(init_end.as_raw_fd(), SOCKET).is_err() {
                    std::process::exit(super::init::SETUP_FAILED);
                }
                drop(init_end);
                super::init::serve(filter.clone())
            }
            Ok(pid) => pid,
            Err(errno) => -(errno as i32),
        };
        drop(init_end);
        let _ = nix::sys::socket::send(SOCKET, &answer.to_ne_bytes(), MsgFlags::MSG_NOSIGNAL);
    }
}

/// Waits for the next request: the init's socket, or None when the
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

/// `fork`, except that the child is made in the sandbox's new namespaces
/// (`SANDBOX_NAMESPACES`), where it is pid 1, and its parent is the
/// starter's own parent, the runner (`CLONE_PARENT`), neither of which
/// glibc's fork can ask for. Returns 0 in the child and its pid in the
/// starter.
fn clone_init() -> Result<i32, nix::errno::Errno> {
    // SAFETY: a fork-like clone (no new stack, no shared memory) of a
    // single-threaded process. glibc's record of the thread's id goes
    // stale in the child; what reads it for the calling thread (raise,
    // pthread_kill) asks the kernel instead since glibc 2.34, and the
    // init starts no threads.
    let pid = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_clone,
            (nix::libc::CLONE_PARENT | SANDBOX_NAMESPACES | nix::libc::SIGCHLD)
                as nix::libc::c_ulong,
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
