//! The sandbox starter: a copy of the runner forked at start, while the
//! runner still has one thread, that forks each sandbox's helper on
//! request. The helper then needs no exec of the runner's binary (its
//! loading, relocation and page faults were the largest share of a
//! sandbox's own cost), and the seccomp filter is compiled once, here,
//! instead of once per helper.
//!
//! A helper is forked with `CLONE_PARENT`: its parent is the runner, as
//! when the runner spawned it, so the runner waits for it, is signalled
//! when it ends and reaps it; the starter never has a child of its own.
//!
//! The starter holds nothing of the teacher's: before it serves, it
//! leaves the runner's session and terminal, closes every descriptor but
//! its socket, clears its environment and overwrites the command line in
//! its memory, which every helper and every sandbox's init inherit (a
//! program in a sandbox reads its init's `/proc/1/cmdline`; without this
//! it would show the teacher's `runner grade ...` line).
//!
//! Where the starter cannot be made, or has died, the runner spawns the
//! helper as `runner __sandbox` instead (`program::sandboxed`).

use super::seccomp::Filter;
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// The runner's end of the starter's socket; None where there is no
/// starter, or once it is found gone.
static STARTER: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// What a helper's `/proc/PID/cmdline` reads, as when it was exec'd.
const COMMAND_LINE: &[u8] = b"/proc/self/exe\0__sandbox\0";

/// Forks the starter. Call while the runner has a single thread.
pub fn start() {
    let Ok((runner_end, starter_end)) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    ) else {
        return;
    };
    let runner = nix::unistd::getpid();
    // SAFETY: the runner has a single thread here, so the child may run
    // any code.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            drop(runner_end);
            serve(starter_end, runner)
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => {
            drop(starter_end);
            if let Ok(mut starter) = STARTER.lock() {
                *starter = Some(runner_end);
            }
        }
        Err(_) => {}
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

/// The starter's life: scrubbed of the teacher's state, it forks a helper
/// per request until the runner closes its socket or dies.
fn serve(socket: OwnedFd, runner: nix::unistd::Pid) -> ! {
    use nix::sys::prctl;
    let _ = prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    if nix::unistd::getppid() != runner {
        std::process::exit(0);
    }
    let _ = prctl::set_dumpable(false);
    let _ = prctl::set_name(c"sandbox-starter");
    // Out of the runner's session: Ctrl-C at the teacher's terminal is
    // the runner's to handle, and no helper inherits that terminal.
    let _ = super::session::leave_terminal();
    let socket = keep_only(socket);
    scrub_memory_of_command_line();
    let filter = Filter::compile();
    loop {
        let Some(helper_end) = next_request(socket) else {
            std::process::exit(0);
        };
        let answer = match fork_with_runner_as_parent() {
            Ok(0) => {
                // SAFETY: the starter's socket is not used again here.
                unsafe { nix::libc::close(socket) };
                if nix::unistd::dup2(helper_end.as_raw_fd(), 0).is_err() {
                    std::process::exit(super::init::SETUP_FAILED);
                }
                drop(helper_end);
                super::init::serve(filter.clone())
            }
            Ok(pid) => pid,
            Err(errno) => -(errno as i32),
        };
        drop(helper_end);
        let _ = nix::sys::socket::send(socket, &answer.to_ne_bytes(), MsgFlags::MSG_NOSIGNAL);
    }
}

/// Closes every descriptor but the starter's socket, which it returns as
/// fd 3; stdin, stdout and stderr become /dev/null.
fn keep_only(socket: OwnedFd) -> RawFd {
    const SOCKET: RawFd = 3;
    let fd = socket.as_raw_fd();
    if fd != SOCKET {
        let _ = nix::unistd::dup2(fd, SOCKET);
        drop(socket);
    } else {
        std::mem::forget(socket);
    }
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for place in 0..3 {
            let _ = nix::unistd::dup2(null.as_raw_fd(), place);
        }
    }
    // SAFETY: close_range takes plain integers; nothing here owns any
    // descriptor above the socket.
    unsafe {
        nix::libc::syscall(
            nix::libc::SYS_close_range,
            SOCKET as u32 + 1,
            nix::libc::c_uint::MAX,
            0,
        )
    };
    SOCKET
}

/// Waits for the next request: the helper's socket, or None when the
/// runner has closed its end.
fn next_request(socket: RawFd) -> Option<OwnedFd> {
    loop {
        let mut byte = [0u8; 1];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let mut buffer = [io::IoSliceMut::new(&mut byte)];
        let message = match recvmsg::<()>(
            socket,
            &mut buffer,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(message) => message,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return None,
        };
        if message.bytes == 0 {
            return None;
        }
        let mut handed = None;
        for control in message.cmsgs().ok()? {
            if let ControlMessageOwned::ScmRights(fds) = control {
                for fd in fds {
                    // SAFETY: a descriptor just received, owned by no one else.
                    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                    handed.get_or_insert(fd);
                }
            }
        }
        if let Some(fd) = handed {
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

/// Empties the environment and overwrites the command line and the
/// environment's strings where the kernel shows them (`/proc/PID/cmdline`
/// and `environ`), so that no helper or init forked from here shows the
/// teacher's.
fn scrub_memory_of_command_line() {
    // SAFETY: single-threaded; nothing holds a pointer into the
    // environment.
    unsafe { nix::libc::clearenv() };
    let Some([arg_start, arg_end, env_start, env_end]) = areas() else {
        return;
    };
    for (start, end) in [(arg_start, arg_end), (env_start, env_end)] {
        if end <= start {
            continue;
        }
        let len = end - start;
        // SAFETY: the kernel says these bytes are this process's command
        // line and environment strings, on its stack: mapped and
        // writable. After `clearenv` nothing reads the environment's, and
        // Rust's copy of the arguments was made at start.
        unsafe { std::ptr::write_bytes(start as *mut u8, 0, len) };
    }
    let len = arg_end.saturating_sub(arg_start);
    if COMMAND_LINE.len() <= len {
        // SAFETY: within the command line's bytes, as above.
        unsafe {
            std::ptr::copy_nonoverlapping(
                COMMAND_LINE.as_ptr(),
                arg_start as *mut u8,
                COMMAND_LINE.len(),
            )
        };
    }
}

/// Where the kernel says this process's command line and environment
/// strings are: fields 48 to 51 of `/proc/self/stat`.
fn areas() -> Option<[usize; 4]> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which may hold spaces and ')'.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Field 3 is the first after the name; field N is at index N - 3.
    let field = |n: usize| fields.get(n - 3)?.parse::<usize>().ok();
    Some([field(48)?, field(49)?, field(50)?, field(51)?])
}
