//! A uid and gid of its own for every sandbox running at the same time
//! (when the runner is root), from a range no account uses, as isolate
//! does: no target can signal, trace or read another's files.
//!
//! A lease is an abstract Unix socket bound under the id's name: the
//! kernel releases it when the runner exits however it exits, and runners
//! running side by side never hand out the same id.
//!
//! An id is never handed on while a process of it lives: a lease is let
//! go only once no process of its id is left (they are killed first), and
//! a lease taken over from a runner that died (whose processes may have
//! outlived it) starts by killing what is left of its id.

use super::vfork::ChildStack;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::time::{Duration, Instant};

/// The first id of the range; ids from here on belong to sandboxes.
pub const FIRST_ID: u32 = 1_900_000_000;
/// How many ids the range holds (far more than sandboxes run at once).
const IDS: u32 = 100_000;

/// An id held by one sandbox until dropped.
#[derive(Debug)]
pub struct IdLease {
    pub id: u32,
    /// Taken out only when the lease is let go of.
    lock: Option<UnixListener>,
}

impl IdLease {
    /// The first free id, starting from a place that depends on the
    /// runner's pid so that runners side by side rarely contend.
    pub fn take() -> std::io::Result<IdLease> {
        // An id this runner let go of is known to have no process left,
        // and its lock is still held, so no other runner took it since.
        if let Some(lease) = FREE.lock().ok().and_then(|mut free| free.pop()) {
            return Ok(lease);
        }
        let start = std::process::id().wrapping_mul(7919) % IDS;
        for step in 0..IDS {
            let id = FIRST_ID + (start + step) % IDS;
            let name = SocketAddr::from_abstract_name(format!("socket-runner-id-{id}"))?;
            if let Ok(lock) = UnixListener::bind_addr(&name) {
                if kill_every_process_of(id) {
                    return Ok(IdLease {
                        id,
                        lock: Some(lock),
                    });
                }
            }
        }
        Err(std::io::Error::other("every sandbox id is in use"))
    }
}

/// Ids let go of with no process left, their locks still held.
static FREE: std::sync::Mutex<Vec<IdLease>> = std::sync::Mutex::new(Vec::new());

impl Drop for IdLease {
    fn drop(&mut self) {
        let Some(lock) = self.lock.take() else {
            return;
        };
        if kill_every_process_of(self.id) {
            // Handed to the next sandbox of this runner without another look.
            if let Ok(mut free) = FREE.lock() {
                free.push(IdLease {
                    id: self.id,
                    lock: Some(lock),
                });
            }
        } else {
            // Held until the runner exits: better an id out of use than
            // one handed to a classmate beside a process that can signal
            // or trace the classmate's program.
            eprintln!(
                "runner: warning: a process of sandbox uid {} survived being killed; the uid is not used again in this run",
                self.id
            );
            std::mem::forget(lock);
        }
    }
}

/// Longest the runner waits for the processes of an id to be gone.
const GONE_WAIT: Duration = Duration::from_secs(5);

/// Kills every process of uid `id` and waits until none is left (at most
/// GONE_WAIT); whether none is. Done as the uid itself, from a child of
/// the runner: `kill(-1, ...)` then reaches exactly the processes of that
/// uid (and no other), in every PID namespace below the runner's.
fn kill_every_process_of(id: u32) -> bool {
    let deadline = Instant::now() + GONE_WAIT;
    loop {
        match as_uid(id, Signal::SIGKILL) {
            Some(false) => return true,
            None => return false,
            // Something of the id took the signal, if only a zombie (which
            // takes signals and does nothing, and may never be reaped
            // where the machine's pid 1 reaps nothing): look closer.
            Some(true) if !any_live_process_of(id) => return true,
            Some(true) if Instant::now() >= deadline => return false,
            Some(true) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Whether a process of uid `id` that is not a zombie lives. Walks
/// `/proc`, so only when a signal said there may be one.
fn any_live_process_of(id: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("status")).ok())
        .any(|status| {
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(name))
                    .map(str::trim)
                    .unwrap_or("")
                    .to_string()
            };
            let zombie = field("State:").starts_with('Z') || field("State:").starts_with('X');
            let uids: Vec<String> = field("Uid:").split_whitespace().map(String::from).collect();
            !zombie && uids.iter().any(|uid| *uid == id.to_string())
        })
}

/// Sends `signal` to every process of uid `id` from a child running as
/// that uid; whether there was any (None: the child could not run).
fn as_uid(id: u32, signal: Signal) -> Option<bool> {
    let (mut stack, mut probe_stack) = (ChildStack::new(), ChildStack::new());
    let mut child = || {
        // The raw system call: libc's setresuid would also change the ids
        // of the runner's threads, with which this child shares memory.
        // SAFETY: setresuid takes three ids and touches no memory.
        let changed = unsafe { nix::libc::syscall(nix::libc::SYS_setresuid, id, id, id) };
        if changed != 0 {
            return 2;
        }
        match nix::sys::signal::kill(Pid::from_raw(-1), signal) {
            // kill(-1) succeeds whenever any other process exists (a
            // refusal does not count as a failure): whether one of this
            // uid is left is asked of the kernel's count.
            Ok(()) if alone_as_this_uid(&mut probe_stack) => 0,
            Ok(()) => 1,
            Err(_) => 0,
        }
    };
    // SAFETY: the child makes system calls only, on its own stacks.
    let child = unsafe { super::vfork::run(&mut stack, &mut child) }.ok()?;
    match nix::sys::wait::waitpid(Pid::from_raw(child), None) {
        Ok(WaitStatus::Exited(_, 0)) => Some(false),
        Ok(WaitStatus::Exited(_, 1)) => Some(true),
        // The orphan reaper (the runner is a subreaper) took the child's
        // exit before this wait could: its answer is lost, so say "maybe"
        // and let the caller look in /proc.
        Err(nix::errno::Errno::ECHILD) => Some(true),
        _ => None,
    }
}

/// In a child that has just become an unprivileged uid: whether it is
/// the only task of that uid, from the kernel's own count of the uid's
/// tasks (zombies and threads included), which `RLIMIT_NPROC` is held
/// to: with the limit at 2, a fork succeeds only if this child was the
/// only one. Only system calls, on a stack prepared before.
fn alone_as_this_uid(stack: &mut ChildStack) -> bool {
    use nix::libc;
    let limit = libc::rlimit {
        rlim_cur: 2,
        rlim_max: 2,
    };
    // SAFETY: setrlimit reads a valid struct; the probe child only returns.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_NPROC, &limit) != 0 {
            return false;
        }
        match super::vfork::run(stack, &mut || 0) {
            Ok(probe) => {
                let mut status = 0;
                libc::wait4(probe, &mut status, 0, std::ptr::null_mut());
                true
            }
            Err(_) => false,
        }
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

    #[test]
    fn a_lease_is_let_go_only_once_no_process_of_its_id_is_left() {
        use std::os::unix::process::CommandExt;
        let lease = IdLease::take().expect("an id");
        let id = lease.id;
        let mut left_behind = std::process::Command::new("sleep")
            .arg("600")
            .uid(id)
            .gid(id)
            .spawn()
            .expect("sleep as the sandbox's uid");
        assert_eq!(as_uid(id, Signal::SIGCONT), Some(true));
        drop(lease);
        let status = left_behind.wait().expect("wait");
        // Killed before the lease was let go. (Once it is, another test
        // running alongside may take the same id and start processes as
        // it: nothing more about the id can be asserted here.)
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
    }

    #[test]
    fn an_id_nothing_runs_as_is_seen_free_without_a_walk_of_proc() {
        let lease = IdLease::take().expect("an id");
        assert_eq!(as_uid(lease.id, Signal::SIGCONT), Some(false));
    }
}
