//! A sandbox's init, made by the sandbox starter (`starter`) in the
//! sandbox's new mount, PID, IPC and UTS namespaces, where it is pid 1,
//! with, as its stdin, a socket on which the runner hands it the target's
//! stdio, the network namespace's handle, the write ends of an error
//! channel and of a status channel, and the plan (which holds the
//! target's environment).
//!
//! Two processes:
//! - the init joins the cgroups, enters the network namespace, starts a
//!   session of its own, builds the filesystem, forks the program, reaps
//!   every orphan, and when the program ends, writes its wait status on
//!   the status channel and exits, which makes the kernel kill whatever
//!   is left in the namespace. The runner, its parent, reads the status
//!   there (pid 1 cannot end by the program's signal);
//! - the program drops to its ids, limits and no_new_privs, gets a fresh
//!   keyring and the seccomp filter, and execs; a bundled reference,
//!   which is the runner's own binary as the init is, is run right
//!   there instead, as the exec would have left it (`run_reference`).
//!
//! Setup errors go to the error channel, which the runner reads: they are
//! the runner's, not the program's, and are reported as such.

use super::mounts;
use super::plan::Plan;
use super::seccomp::Filter;
use nix::fcntl::{fcntl, FcntlArg};
use nix::sched::{setns, CloneFlags};
use nix::sys::prctl;
use nix::sys::signal::{signal, SigHandler, SigSet, Signal};
use nix::unistd::{fork, ForkResult};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;

/// The network namespace's handle in the init.
pub const NETNS_FD: i32 = 3;
/// The write end of the error channel in the init.
pub const ERROR_FD: i32 = 4;
/// The write end of the status channel in the init.
pub const STATUS_FD: i32 = 5;
/// What the runner hands the init on its socket, in this order: the
/// target's stdin, stdout and stderr, the network namespace, the error
/// channel, the status channel.
const HANDED: usize = 6;
/// Exit code of a sandbox that could not start its program.
pub(super) const SETUP_FAILED: i32 = 127;

/// The init's work, in a process the sandbox starter made (it is pid 1
/// of the new PID namespace), with its socket as stdin and `filter`
/// compiled by the starter.
pub(super) fn serve(filter: Result<Filter, String>) -> ! {
    // Dies with the runner, its parent; a runner already gone closed the
    // socket, so the plan is not read in full below.
    let _ = prctl::set_pdeathsig(Signal::SIGKILL);
    let _ = prctl::set_name(c"sandbox-init");
    // Nothing inside may read this process's memory or files.
    let _ = prctl::set_dumpable(false);
    let Some(plan) = take_handover() else {
        std::process::exit(SETUP_FAILED)
    };
    // SAFETY: fds 4 and 5 are the channels just put in place.
    let (errors, status) = unsafe { (File::from_raw_fd(ERROR_FD), File::from_raw_fd(STATUS_FD)) };
    let plan = match serde_json::from_slice::<Plan>(&plan) {
        Ok(plan) => plan,
        _ => fail(errors, "the sandbox was given no valid plan"),
    };
    take_environment(&plan.env);
    let filter = match filter {
        Ok(filter) => filter,
        Err(message) => fail(errors, &message),
    };
    match set_up(&plan) {
        Ok(()) => init(&plan, &filter, &errors, status),
        Err(message) => fail(errors, &message),
    }
}

/// Reads what the runner hands over on stdin (a socket): the descriptors,
/// put in place as fds 0 to 4, and the plan, returned.
fn take_handover() -> Option<Vec<u8>> {
    let mut plan = vec![0u8; 65536];
    let (mut got, fds) = super::descriptors::receive(0, &mut plan)?;
    if fds.len() != HANDED {
        return None;
    }
    // The rest of the plan, up to the end of the stream.
    // SAFETY: fd 0 is the socket, left open here (dup2 replaces it below).
    let mut control = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(0) });
    loop {
        if got == plan.len() {
            return None;
        }
        match control.read(&mut plan[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    plan.truncate(got);
    // Through fresh numbers first: any may already be one of the places.
    let mut moved = Vec::new();
    for fd in fds {
        moved.push(fcntl(fd.as_raw_fd(), FcntlArg::F_DUPFD_CLOEXEC(10)).ok()?);
    }
    for (place, fd) in [0, 1, 2, NETNS_FD, ERROR_FD, STATUS_FD]
        .into_iter()
        .zip(moved)
    {
        nix::unistd::dup2(fd, place).ok()?;
        let _ = nix::unistd::close(fd);
    }
    Some(plan)
}

/// Makes `env` the process's whole environment, which the program
/// inherits: the target's, whatever the init started with.
fn take_environment(env: &[(String, String)]) {
    for (name, _) in std::env::vars_os() {
        std::env::remove_var(name);
    }
    for (name, value) in env {
        std::env::set_var(name, value);
    }
}

fn fail(mut errors: File, message: &str) -> ! {
    let _ = errors.write_all(message.as_bytes());
    std::process::exit(SETUP_FAILED)
}

/// What the init does before it starts the program: joins the cgroups,
/// holds the IPC namespace to its memory, enters the network namespace,
/// starts a session of its own, and builds the filesystem.
fn set_up(plan: &Plan) -> Result<(), String> {
    for file in &plan.cgroup_procs {
        std::fs::write(file, "0")
            .map_err(|e| format!("cannot join the cgroup {}: {e}", file.display()))?;
    }
    // Refused to a runner that is not root (the namespace's settings are
    // its root's, a uid such a runner does not map): the watchdog counts
    // the segments there instead.
    let _ = limit_ipc_memory(plan.scratch_size);
    // SAFETY: fd 3 is the network namespace's handle the runner passed in.
    let netns = unsafe { OwnedFd::from_raw_fd(NETNS_FD) };
    setns(&netns, CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("cannot enter the sandbox's network: {e}"))?;
    drop(netns);
    // Out of the starter's process group (and session): `kill(0, ...)` by
    // any process inside then reaches only the sandbox's own processes,
    // never the starter, which lives outside the PID namespace and,
    // without root, runs as the same uid as the program.
    super::session::leave_terminal().map_err(|e| format!("cannot start a session: {e}"))?;
    mounts::build_root(plan)?;
    let _ = nix::unistd::sethostname(if plan.reference {
        super::REFERENCE_HOSTNAME
    } else {
        super::TARGET_HOSTNAME
    });
    Ok(())
}

/// System V shared memory and message queues of the sandbox's new IPC
/// namespace (these settings are per IPC namespace), held to what its
/// private `/dev/shm` may hold: a segment outlives every mapping of it, so
/// its memory is in no process's size.
fn limit_ipc_memory(bytes: u64) -> Result<(), String> {
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|p| u64::try_from(p).ok())
        .unwrap_or(4096);
    for (setting, value) in [
        ("shmmax", bytes),
        ("shmall", bytes / page),
        // Queues of at most msgmnb (16 KiB) bytes each.
        ("msgmni", 16),
    ] {
        let file = format!("/proc/sys/kernel/{setting}");
        std::fs::write(&file, value.to_string())
            .map_err(|e| format!("cannot limit the sandbox's {file}: {e}"))?;
    }
    Ok(())
}

/// Pid 1 of the sandbox, once set up: starts the program and reaps until
/// it ends.
fn init(plan: &Plan, filter: &Filter, errors: &File, mut status: File) -> ! {
    // SAFETY: the init is a fork of the single-threaded starter and
    // starts no thread, so the child may run any code.
    let program = match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            drop(status);
            let error = start_program(plan, filter);
            let _ = (&*errors).write_all(error.as_bytes());
            std::process::exit(SETUP_FAILED);
        }
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => {
            let _ = (&*errors).write_all(format!("cannot fork: {e}").as_bytes());
            std::process::exit(SETUP_FAILED);
        }
    };
    close_stdio();
    let _ = nix::unistd::close(errors.as_raw_fd());
    // From here on the init only reaps: it needs no privilege, and keeps
    // none (as the sandbox's own uid, which cannot trace or signal it).
    super::capabilities::drop_all();
    if let Some((uid, gid)) = plan.ids {
        let _ = nix::unistd::setgroups(&[])
            .and_then(|()| nix::unistd::setresgid(gid.into(), gid.into(), gid.into()))
            .and_then(|()| nix::unistd::setresuid(uid.into(), uid.into(), uid.into()));
    }
    // A change of uid clears both: set them again.
    let _ = prctl::set_pdeathsig(Signal::SIGKILL);
    let _ = prctl::set_dumpable(false);
    // Reap everything; when the program ends, so does the sandbox.
    loop {
        let mut raw = 0;
        // SAFETY: waitpid with a valid pointer to an int.
        let pid = unsafe { nix::libc::waitpid(-1, &mut raw, 0) };
        if pid == program.as_raw() {
            let _ = status.write_all(&raw.to_ne_bytes());
            std::process::exit(0);
        }
        if pid < 0 && nix::errno::Errno::last() != nix::errno::Errno::EINTR {
            std::process::exit(0);
        }
    }
}

/// In the program's process: drops privileges, applies the limits and
/// execs. Returns only on failure, with the reason.
fn start_program(plan: &Plan, filter: &Filter) -> String {
    let _ = prctl::set_pdeathsig(Signal::SIGKILL);
    // Nothing but stdio survives the exec: the error channel closes when
    // the exec succeeds, and neither what the runner inherited nor another
    // target's terminal reaches the program.
    super::close_others_on_exec();
    // The init is a Rust program, which ignores SIGPIPE: the target
    // must start with every signal at its default and none blocked. A
    // bundled reference is the runner, a Rust program too, whose runtime
    // would ignore it again at once: it keeps it ignored, so that a write
    // to a closed pipe fails with EPIPE instead of killing it.
    let pipe = if plan.reference {
        SigHandler::SigIgn
    } else {
        SigHandler::SigDfl
    };
    // SAFETY: the default or ignored disposition installs no handler.
    let _ = unsafe { signal(Signal::SIGPIPE, pipe) };
    let _ = SigSet::all().thread_unblock();
    // While the capability to do so is still there (a new uid loses it).
    super::capabilities::drop_all();
    if let Some((uid, gid)) = plan.ids {
        let dropped = nix::unistd::setgroups(&[])
            .and_then(|()| nix::unistd::setresgid(gid.into(), gid.into(), gid.into()))
            .and_then(|()| nix::unistd::setresuid(uid.into(), uid.into(), uid.into()));
        if let Err(e) = dropped {
            return format!("cannot switch to the sandbox's uid {uid}: {e}");
        }
        // The change of uid cleared it.
        let _ = prctl::set_pdeathsig(Signal::SIGKILL);
    }
    if let Err(e) = plan.rlimits.apply() {
        return format!("cannot set the limits: {e}");
    }
    // Owned by the program's uid: after the change of uid.
    if let Err(e) = super::join_fresh_session_keyring() {
        return format!("cannot give the program a keyring of its own: {e}");
    }
    // Whatever the program execs, it can never gain a privilege.
    if let Err(e) = prctl::set_no_new_privs() {
        return format!("cannot set no_new_privs: {e}");
    }
    // Last: from here on the init's own code needs none of the refused
    // calls, only the exec (and the error channel's write); a bundled
    // reference runs under it as it would after the exec.
    if let Err(e) = filter.install() {
        return format!("cannot install the seccomp filter: {e}");
    }
    let Some((program, args)) = plan.argv.split_first() else {
        return String::from("the command is empty");
    };
    if plan.reference {
        if let Err(error) = std::env::set_current_dir(&plan.cwd) {
            return format!("{program}: {error}");
        }
        // Without a change of uid (a runner that is not root) the process
        // still holds the init's capabilities, which the exec, of a
        // program that is not setuid, would drop.
        if let Err(e) = super::capabilities::give_up_held() {
            return format!("cannot give up the capabilities: {e}");
        }
        run_reference(program, args.get(1..).unwrap_or_default());
    }
    // Exec with the caller's environment (the init's, which is the
    // target's); the program is looked up on its PATH.
    let error = std::process::Command::new(program)
        .args(args)
        .current_dir(&plan.cwd)
        .exec();
    format!("{program}: {error}")
}

/// Runs the bundled reference of `args` (`NAME HOST PORT`) in the
/// program's process, set up as for an exec, and exits as `runner
/// __reference` would: the runner's binary, `program`, is the one this
/// process runs already, and its exec cost more CPU than a short case
/// does besides. Only for `Plan::reference`, which the runner sets for its
/// own binary alone: a student's program never gets here.
fn run_reference(program: &str, args: &[String]) -> ! {
    // What the exec sets: the process's name, the last part of the path
    // it was given (at most 15 bytes), and dumpable again (the init and
    // the change of uid cleared it) for a program its uid may read.
    let name = std::path::Path::new(program)
        .file_name()
        .map(|name| name.as_encoded_bytes())
        .unwrap_or(b"runner");
    let name = &name[..name.len().min(15)];
    if let Ok(name) = std::ffi::CString::new(name) {
        let _ = prctl::set_name(&name);
    }
    if nix::unistd::access(program, nix::unistd::AccessFlags::R_OK).is_ok() {
        let _ = prctl::set_dumpable(true);
    }
    // What the exec drops: every descriptor but stdio, the error channel
    // among them, whose close tells the runner that the program started.
    // Nothing here uses one again: this process never returns.
    super::descriptors::close_others();
    // A panic ends it as it ends the runner, its message already printed.
    let code = std::panic::catch_unwind(|| crate::run_reference(args)).unwrap_or(101);
    // Flushes stdout, as the runner's return from main does.
    std::process::exit(i32::from(code))
}

/// The init keeps no end of the target's pipes: the runner must see
/// end-of-file when the program's own processes close them.
fn close_stdio() {
    if let Ok(null) = File::options().read(true).write(true).open("/dev/null") {
        for fd in 0..3 {
            let _ = nix::unistd::dup2(null.as_raw_fd(), fd);
        }
    } else {
        for fd in 0..3 {
            let _ = nix::unistd::close(fd);
        }
    }
}
