//! What the runner tells the sandbox's helper: the program, the folders
//! it may see, its ids and limits. Passed as JSON on the helper's command
//! line (which no target can see: the helper lives outside the target's
//! PID namespace). The target's environment is the helper's own.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The program and its arguments; a program name without `/` is
    /// looked up on the target's PATH, inside the sandbox.
    pub argv: Vec<String>,
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
}

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
