//! What the runner tells the sandbox's init: the program, its
//! environment, the folders it may see, its ids and limits. Handed over
//! as JSON on the init's socket.

use super::Cgroups;
use crate::program::Limits;
use nix::sys::resource::{setrlimit, Resource};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The program and its arguments; a program name without `/` is
    /// looked up on the target's PATH, inside the sandbox.
    pub argv: Vec<String>,
    /// The program's whole environment.
    pub env: Vec<(String, String)>,
    /// Where the program starts (inside the sandbox).
    pub cwd: PathBuf,
    /// The uid and gid to run as; None keeps the runner's (without root,
    /// a user namespace maps no other).
    pub ids: Option<(u32, u32)>,
    /// Folders (or files) of the host shown read-only at the same path.
    pub binds: Vec<PathBuf>,
    /// Files hidden behind an empty one (the runner's own binary, where it
    /// lies inside a folder the target sees).
    pub masks: Vec<PathBuf>,
    /// Size of each private writable folder (/tmp, /var/tmp, /dev/shm).
    pub scratch_size: u64,
    /// `cgroup.procs` files to join before anything starts.
    pub cgroup_procs: Vec<PathBuf>,
    /// setrlimit limits of every process.
    pub rlimits: Rlimits,
    /// The program is a bundled reference (the runner itself): its
    /// sandbox is named so (`REFERENCE_HOSTNAME`), and only there does
    /// `runner __reference` run. The program's process, already the
    /// runner, runs it without an exec (see `init`).
    pub reference: bool,
}

/// How many sandboxes' worth of threads RLIMIT_NPROC leaves a target where
/// no cgroup counts its processes (see `Rlimits::new`).
const NPROC_NET_FACTOR: u64 = 4;

/// The setrlimit limits of every process of a target.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Rlimits {
    pub cpu_seconds: u64,
    pub file_size: u64,
    /// Only where no cgroup limits processes.
    pub processes: Option<u64>,
    /// Only where no cgroup limits memory: data segment and private
    /// writable mappings per process (unlike the address space, it does
    /// not count what a JVM or Go runtime merely reserves).
    pub data: Option<u64>,
}

impl Rlimits {
    /// The per-process limits of a target under `limits`: CPU time and
    /// file size always; the process count and the data size only where
    /// `cgroups` does not limit them for the whole sandbox. Never the
    /// address space, which a JVM or a Go runtime reserves far beyond what
    /// it uses. RLIMIT_NPROC counts every thread of the user, whose
    /// sandboxes share it: the sandbox's own count is held by the
    /// watchdog, and RLIMIT_NPROC is only a net under a fork bomb faster
    /// than the watchdog, set on what the target adds to the
    /// `already_running` ones, with room for the classmates started after.
    /// `already_running` (a walk of /proc) is asked only then.
    pub fn new(
        limits: &Limits,
        cgroups: &Cgroups,
        already_running: impl FnOnce() -> u64,
    ) -> Rlimits {
        Rlimits {
            cpu_seconds: limits.cpu.as_secs(),
            file_size: limits.file_size,
            processes: (!cgroups.limits_processes()).then(|| {
                limits
                    .processes
                    .saturating_mul(NPROC_NET_FACTOR)
                    .saturating_add(already_running())
            }),
            data: (!cgroups.limits_memory()).then_some(limits.memory),
        }
    }

    /// Applies the limits to the calling process. Only system calls, no
    /// allocation: safe between fork and exec.
    pub fn apply(&self) -> nix::Result<()> {
        let cpu = self.cpu_seconds.max(1);
        setrlimit(Resource::RLIMIT_CPU, cpu, cpu.saturating_add(1))?;
        setrlimit(Resource::RLIMIT_FSIZE, self.file_size, self.file_size)?;
        setrlimit(Resource::RLIMIT_CORE, 0, 0)?;
        if let Some(processes) = self.processes {
            setrlimit(Resource::RLIMIT_NPROC, processes, processes)?;
        }
        if let Some(data) = self.data {
            setrlimit(Resource::RLIMIT_DATA, data, data)?;
        }
        Ok(())
    }
}
