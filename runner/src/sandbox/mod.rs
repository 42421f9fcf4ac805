//! A sandbox of its own for every target, the way trusted judges (isolate,
//! nsjail, bubblewrap) confine untrusted programs:
//!
//! - its own network namespace with only `lo`, where the runner opens
//!   that case's sockets too (`netns`);
//! - its own mount, PID, IPC and UTS namespaces: a read-only root with
//!   the system folders and the submission's own folder, private `/tmp`,
//!   `/var/tmp` and `/dev/shm`, a `/proc` of its own processes (`init`,
//!   `mounts`); when its init dies, the kernel kills everything inside;
//! - its own unprivileged uid and gid per concurrent sandbox when the
//!   runner is root (`ids`);
//! - memory and process limits on the sandbox as a whole (`cgroup`);
//! - a session of its own without a controlling terminal (`session`), a
//!   fresh session keyring (`keyring`), and a seccomp filter of the
//!   system calls a socket assignment never needs (`seccomp`), in the
//!   fallback too.
//!
//! As root, the runner makes the namespaces directly. Without root, it
//! first enters a user namespace of its own (`set_up_at_start`), in which
//! it may make the others: a student's laptop and a CI job get the same
//! confinement. Where neither works, targets run in a process group of
//! their own (`Isolation::ProcessGroup`), and every report says so.

mod capabilities;
mod cgroup;
mod descriptors;
mod ids;
mod init;
mod keyring;
mod mounts;
mod netns;
mod plan;
mod seccomp;
mod session;
mod starter;
mod vfork;
mod watchdog;

pub use capabilities::keep_across_exec as keep_capabilities_across_exec;
pub use cgroup::{Breach, Cgroups};
pub use descriptors::close_others_on_exec;
pub use ids::IdLease;
pub use keyring::join_fresh_session_keyring;
pub use mounts::{HIDDEN_SYSTEM_FOLDERS, SCRATCH_FOLDERS, SYSTEM_FOLDERS};
pub use netns::{NetNamespace, Network};
pub use plan::{Plan, Rlimits};
pub use seccomp::Filter as SyscallFilter;
pub use session::leave_terminal;
pub use starter::{fork_init, main as starter_main, SUBCOMMAND as STARTER_SUBCOMMAND};
pub use watchdog::{Budget, Watchdog};

use std::sync::OnceLock;

/// How targets are confined in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// A sandbox per target. `as_root`: the runner is root, so each
    /// sandbox also gets uids of its own and cgroup limits.
    Namespaces { as_root: bool },
    /// The weak fallback: a process group, setrlimit and a cleared
    /// environment; `reason` says why namespaces were not available.
    ProcessGroup { reason: String },
}

impl Isolation {
    /// The name reports use: `namespaces` or `process-group`.
    pub fn name(&self) -> &'static str {
        match self {
            Isolation::Namespaces { .. } => "namespaces",
            Isolation::ProcessGroup { .. } => "process-group",
        }
    }

    pub fn namespaces(&self) -> bool {
        matches!(self, Isolation::Namespaces { .. })
    }
}

/// Processes of a sandbox that are not the program's: its init. They
/// count in the sandbox's process limit.
pub const OWN_PROCESSES: u64 = 1;

/// The host name of a student's sandbox (its UTS namespace's own): it
/// tells a program what the sandbox it runs in holds.
pub const TARGET_HOSTNAME: &str = "sandbox";
/// The host name of the sandbox of a bundled reference program.
pub const REFERENCE_HOSTNAME: &str = "sandbox-reference";

/// Whether a bundled reference may run here: anywhere but in a student's
/// sandbox, whatever copy of the runner a student's program finds there.
/// A program in a sandbox cannot rename it: it holds no capability in the
/// user namespace that owns the sandbox's UTS namespace. (Outside any
/// sandbox, in the process-group fallback, a student's program can run
/// the runner it finds as any user can: that mode says it is weak.)
pub fn may_run_reference() -> bool {
    nix::unistd::gethostname().is_ok_and(|name| name != TARGET_HOSTNAME)
}

static ISOLATION: OnceLock<Isolation> = OnceLock::new();

/// Decides how targets are confined, and starts the sandbox starter
/// (`starter`) where sandboxes can be made. Must run first thing in
/// `main`, while the runner still has a single thread (a process can only
/// enter a new user namespace then), and on the main thread, which the
/// starter dies with.
pub fn set_up_at_start() {
    let root = nix::unistd::geteuid().is_root();
    let entered = if root { Ok(()) } else { enter_user_namespace() };
    let isolation = match entered.and_then(|()| {
        NetNamespace::create()
            .map(NetNamespace::keep_spare)
            .map_err(|e| format!("cannot make a network namespace: {e}"))
    }) {
        Ok(()) => {
            starter::start(root);
            Isolation::Namespaces { as_root: root }
        }
        Err(reason) => Isolation::ProcessGroup { reason },
    };
    let _ = ISOLATION.set(isolation);
}

/// How targets are confined in this run (the fallback when
/// `set_up_at_start` was never called, as in unit tests).
pub fn isolation() -> &'static Isolation {
    ISOLATION.get_or_init(|| Isolation::ProcessGroup {
        reason: String::from("sandboxes were not set up"),
    })
}

/// Where the sandbox's memory and process limits cannot be set on the
/// sandbox as a whole (no writable cgroup), one sentence saying how they
/// apply instead; None where cgroups hold both.
/// The probe's cgroups, never joined, are kept for the first sandbox.
pub fn limits_notice() -> Option<String> {
    let probe = Cgroups::create(1 << 30, 64);
    let notice = (!(probe.limits_memory() && probe.limits_processes())).then(|| format!(
        "no writable cgroup for every limit ({}): where none is, the runner sums the memory and processes of each sandbox a few times a second and stops it past the limit, and the kernel holds each process to its data size and the user to a process count",
        probe.describe()
    ));
    probe.keep_spare();
    notice
}

/// Enters a new user namespace in which the runner keeps its own uid and
/// gid and holds the capabilities to make the other namespaces.
fn enter_user_namespace() -> Result<(), String> {
    let uid = nix::unistd::getuid();
    let gid = nix::unistd::getgid();
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
        .map_err(|e| format!("unprivileged user namespaces are not available ({e})"))?;
    let write = |file: &str, text: String| {
        std::fs::write(file, text).map_err(|e| format!("cannot write {file}: {e}"))
    };
    write("/proc/self/setgroups", String::from("deny"))?;
    write("/proc/self/uid_map", format!("{uid} {uid} 1\n"))?;
    write("/proc/self/gid_map", format!("{gid} {gid} 1\n"))
}
