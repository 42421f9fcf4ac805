//! Cgroups of a sandbox: memory (resident and socket buffers, all its
//! processes together) and process count limits on the sandbox as a
//! whole, an equal share of the CPUs, its CPU time, and `cgroup.kill`.
//!
//! Machines differ: pure cgroup v2 with the controllers delegated; a
//! hybrid, where v2 is mounted with no controllers (its `cgroup.kill`
//! still works) and `memory` and `pids` are v1 hierarchies; or a
//! container where no cgroup can be written at all. Each controller is
//! taken from v2 where it is enabled, else from v1, else it is missing,
//! and `Cgroups::describe` says which applied. The target joins them
//! before it runs (the sandbox's init writes itself into each
//! `cgroup.procs` before it starts anything), never after.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The cgroups of one sandbox (none, some or all of them).
#[derive(Debug, Default)]
pub struct Cgroups {
    /// The v2 cgroup (for `cgroup.kill`, and the controllers v2 has).
    unified: Option<PathBuf>,
    /// Where the memory limit is set, and in which version.
    memory: Option<(PathBuf, Version)>,
    /// Where the process limit is set, and in which version.
    pids: Option<(PathBuf, Version)>,
    /// Where the sandbox's CPU share is set (`cpu.weight` or `cpu.shares`).
    cpu: Option<(PathBuf, Version)>,
    /// Where the sandbox's CPU time is counted (v2 `cpu.stat`, which every
    /// v2 cgroup has, or v1 `cpuacct.usage`).
    cpu_usage: Option<(PathBuf, Version)>,
    /// A limit the watchdog stopped the sandbox for (see `Watchdog`).
    stopped_for: std::sync::Mutex<Option<Breach>>,
    /// The files read again and again while the sandbox runs.
    held: HeldFiles,
}

/// Counters read again and again while a sandbox runs (its CPU time and
/// memory): opened once and read from their start each time, one system
/// call where opening, sizing, reading and closing took five. The kernel
/// writes such a file's text afresh on every read from 0 (unlike a v1
/// `cgroup.procs`, whose list is kept for the open file).
#[derive(Debug, Default)]
struct HeldFiles(std::sync::Mutex<Vec<(PathBuf, fs::File)>>);

impl HeldFiles {
    fn read(&self, path: &Path) -> Option<String> {
        let mut files = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let index = match files.iter().position(|(held, _)| held == path) {
            Some(index) => index,
            None => {
                files.push((path.to_path_buf(), fs::File::open(path).ok()?));
                files.len() - 1
            }
        };
        read_from_start(&files[index].1)
    }
}

/// The whole text of a kernel-made file, read from its start. A read
/// shorter than asked is the end: the kernel fills what it is given.
fn read_from_start(file: &fs::File) -> Option<String> {
    use std::os::unix::fs::FileExt;
    let mut text = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let got = file.read_at(&mut chunk, text.len() as u64).ok()?;
        text.extend_from_slice(&chunk[..got]);
        if got < chunk.len() {
            break;
        }
    }
    String::from_utf8(text).ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// A limit the sandbox ran into during the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    /// The kernel killed a process for exceeding the memory limit.
    Memory,
    /// A fork or thread was refused at the process limit.
    Processes,
    /// All its processes together used up the sandbox's CPU time (the
    /// watchdog stopped it).
    Cpu,
}

/// The prefix of every cgroup a runner makes, followed by its pid.
const PREFIX: &str = "socket-runner-";

impl Cgroups {
    /// New cgroups below the runner's own, limited to `memory` bytes and
    /// `processes` tasks; whatever cannot be made is left out.
    pub fn create(memory: u64, processes: u64) -> Cgroups {
        let spare = SPARE.lock().ok().and_then(|mut spare| spare.take());
        if let Some(spare) = spare {
            if spare.set_limits(memory, processes) {
                return spare;
            }
        }
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let name = format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mounts = Mounts::of_runner();
        remove_stale_once(mounts);
        let mut cgroups = Cgroups::default();
        if let Some(dir) = mounts.v2.as_ref().and_then(|base| make(base, &name)) {
            enable_controllers(&dir);
            let controllers =
                fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
            let has = |c: &str| controllers.split_whitespace().any(|w| w == c);
            if has("memory") && fs::write(dir.join("memory.max"), memory.to_string()).is_ok() {
                let _ = fs::write(dir.join("memory.swap.max"), "0");
                cgroups.memory = Some((dir.clone(), Version::V2));
            }
            if has("pids") && fs::write(dir.join("pids.max"), processes.to_string()).is_ok() {
                cgroups.pids = Some((dir.clone(), Version::V2));
            }
            // Siblings of equal weight share the CPUs equally, however
            // many processes each runs.
            if has("cpu") && fs::write(dir.join("cpu.weight"), "100").is_ok() {
                cgroups.cpu = Some((dir.clone(), Version::V2));
            }
            if dir.join("cpu.stat").exists() {
                cgroups.cpu_usage = Some((dir.clone(), Version::V2));
            }
            cgroups.unified = Some(dir);
        }
        if cgroups.memory.is_none() {
            if let Some(dir) = mounts.v1_memory.as_ref().and_then(|b| make(b, &name)) {
                if fs::write(dir.join("memory.limit_in_bytes"), memory.to_string()).is_ok() {
                    // With swap accounting, swap counts too (else it is off).
                    let _ = fs::write(dir.join("memory.memsw.limit_in_bytes"), memory.to_string());
                    // v1 counts socket buffers (TCP and UDP alike) only once
                    // this limit is set, and even then lets them past it:
                    // the watchdog adds them to the memory in use. (v2
                    // always counts them as memory.)
                    let _ = fs::write(
                        dir.join("memory.kmem.tcp.limit_in_bytes"),
                        memory.to_string(),
                    );
                    cgroups.memory = Some((dir, Version::V1));
                } else {
                    let _ = fs::remove_dir(&dir);
                }
            }
        }
        if cgroups.pids.is_none() {
            if let Some(dir) = mounts.v1_pids.as_ref().and_then(|b| make(b, &name)) {
                if fs::write(dir.join("pids.max"), processes.to_string()).is_ok() {
                    cgroups.pids = Some((dir, Version::V1));
                } else {
                    let _ = fs::remove_dir(&dir);
                }
            }
        }
        if cgroups.cpu.is_none() {
            if let Some(dir) = mounts.v1_cpu.as_ref().and_then(|b| make(b, &name)) {
                if fs::write(dir.join("cpu.shares"), "1024").is_ok() {
                    cgroups.cpu = Some((dir, Version::V1));
                } else {
                    let _ = fs::remove_dir(&dir);
                }
            }
        }
        if cgroups.cpu_usage.is_none() {
            let v1 = mounts.v1_cpuacct.as_ref();
            // The cpuacct controller may share the cpu hierarchy.
            let existing = cgroups
                .cpu
                .as_ref()
                .filter(|(dir, _)| dir.join("cpuacct.usage").exists())
                .map(|(dir, _)| dir.clone());
            if let Some(dir) = existing.or_else(|| v1.and_then(|b| make(b, &name))) {
                if dir.join("cpuacct.usage").exists() {
                    cgroups.cpu_usage = Some((dir, Version::V1));
                } else {
                    let _ = fs::remove_dir(&dir);
                }
            }
        }
        cgroups
    }

    /// Keeps cgroups that no process ever joined (the probe of what can be
    /// limited) for the next `create`, which sets its own limits on them.
    pub fn keep_spare(self) {
        if self.dirs().is_empty() {
            return;
        }
        if let Ok(mut spare) = SPARE.lock() {
            *spare = Some(self);
        }
    }

    /// Sets the limits of cgroups no process has joined yet; whether every
    /// limit they held before could be set again.
    fn set_limits(&self, memory: u64, processes: u64) -> bool {
        let write = |dir: &Path, file: &str, value: &str| fs::write(dir.join(file), value).is_ok();
        let (memory, processes) = (memory.to_string(), processes.to_string());
        let memory_set = match &self.memory {
            None => true,
            Some((dir, Version::V2)) => write(dir, "memory.max", &memory),
            Some((dir, Version::V1)) => {
                // Raised or lowered in the order the kernel accepts: the
                // limit with swap is never below the one without.
                let _ = write(dir, "memory.memsw.limit_in_bytes", &memory);
                let set = write(dir, "memory.limit_in_bytes", &memory);
                let _ = write(dir, "memory.memsw.limit_in_bytes", &memory);
                let _ = write(dir, "memory.kmem.tcp.limit_in_bytes", &memory);
                set
            }
        };
        let processes_set = self
            .pids
            .as_ref()
            .is_none_or(|(dir, _)| write(dir, "pids.max", &processes));
        memory_set && processes_set
    }

    /// CPU time used so far by all the sandbox's processes together, dead
    /// ones included; None where no cgroup counts it.
    pub fn cpu_time(&self) -> Option<Duration> {
        let (dir, version) = self.cpu_usage.as_ref()?;
        match version {
            Version::V2 => Some(Duration::from_micros(counter(
                &self.held.read(&dir.join("cpu.stat")).unwrap_or_default(),
                "usage_usec",
            ))),
            Version::V1 => self
                .held
                .read(&dir.join("cpuacct.usage"))
                .and_then(|t| t.trim().parse().ok())
                .map(Duration::from_nanos),
        }
    }

    /// Memory the sandbox's processes hold, socket buffers included; None
    /// where no cgroup limits memory. v1 counts socket buffers apart
    /// (`memory.kmem.tcp`) and does not hold them to its limit: the
    /// watchdog adds them up and stops the sandbox past it.
    pub fn memory_in_use(&self) -> Option<u64> {
        let (dir, version) = self.memory.as_ref()?;
        let read =
            |file: &str| -> Option<u64> { self.held.read(&dir.join(file))?.trim().parse().ok() };
        match version {
            Version::V2 => read("memory.current"),
            Version::V1 => Some(
                read("memory.usage_in_bytes")?
                    .saturating_add(read("memory.kmem.tcp.usage_in_bytes").unwrap_or(0)),
            ),
        }
    }

    /// Whether the sandbox has a CPU share of its own.
    pub fn shares_cpu(&self) -> bool {
        self.cpu.is_some()
    }

    /// The `cgroup.procs` files the sandbox joins before it starts.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs()
            .into_iter()
            .map(|d| d.join("cgroup.procs"))
            .collect()
    }

    pub fn limits_memory(&self) -> bool {
        self.memory.is_some()
    }

    pub fn limits_processes(&self) -> bool {
        self.pids.is_some()
    }

    /// Which cgroups applied, for the run's notice.
    pub fn describe(&self) -> String {
        let part = |what: &str, place: &Option<(PathBuf, Version)>| match place {
            Some((_, Version::V2)) => format!("{what}: cgroup v2"),
            Some((_, Version::V1)) => format!("{what}: cgroup v1"),
            None => format!("{what}: no writable cgroup"),
        };
        format!(
            "{}, {}, {}, {}",
            part("memory", &self.memory),
            part("processes", &self.pids),
            part("CPU share", &self.cpu),
            part("CPU time", &self.cpu_usage)
        )
    }

    /// Every folder of the sandbox's cgroups, each once.
    fn dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        let places = [&self.memory, &self.pids, &self.cpu, &self.cpu_usage];
        for dir in places
            .into_iter()
            .flatten()
            .map(|(dir, _)| dir)
            .chain(self.unified.iter())
        {
            if !dirs.contains(dir) {
                dirs.push(dir.clone());
            }
        }
        dirs
    }

    /// Every live process of the sandbox, from the list of one of its
    /// cgroups (its init joins every one before anything starts, and
    /// nothing inside can leave, so every process is in each); None where
    /// the sandbox has no cgroup.
    pub fn processes(&self) -> Option<Vec<i32>> {
        let file = self.procs_files().into_iter().next()?;
        Some(listed(&file))
    }

    /// Every process in any of the sandbox's cgroups: what must be gone
    /// before each can be removed.
    pub fn members(&self) -> Vec<i32> {
        let mut members: Vec<i32> = self.procs_files().iter().flat_map(|f| listed(f)).collect();
        members.sort_unstable();
        members.dedup();
        members
    }

    /// SIGKILL to every process of the v2 cgroup at once, where it has one.
    pub fn kill(&self) {
        if let Some(dir) = &self.unified {
            let _ = fs::write(dir.join("cgroup.kill"), "1");
        }
    }

    /// Notes that the watchdog stopped the sandbox at a limit.
    pub fn note_breach(&self, breach: Breach) {
        if let Ok(mut stopped) = self.stopped_for.lock() {
            stopped.get_or_insert(breach);
        }
    }

    /// The limit the watchdog stopped the sandbox for, if it did.
    pub fn stopped_for(&self) -> Option<Breach> {
        self.stopped_for.lock().ok().and_then(|s| *s)
    }

    /// The limits the sandbox ran into so far.
    pub fn breaches(&self) -> Vec<Breach> {
        let mut found: Vec<Breach> = self
            .stopped_for
            .lock()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        if let Some((dir, version)) = &self.memory {
            let (file, key) = match version {
                Version::V2 => ("memory.events", "oom_kill"),
                Version::V1 => ("memory.oom_control", "oom_kill"),
            };
            let text = fs::read_to_string(dir.join(file)).unwrap_or_default();
            if counter(&text, key) > 0 && !found.contains(&Breach::Memory) {
                found.push(Breach::Memory);
            }
        }
        if let Some((dir, _)) = &self.pids {
            let text = fs::read_to_string(dir.join("pids.events")).unwrap_or_default();
            if counter(&text, "max") > 0 && !found.contains(&Breach::Processes) {
                found.push(Breach::Processes);
            }
        }
        found
    }
}

/// Cgroups made and never joined (see `Cgroups::keep_spare`).
static SPARE: std::sync::Mutex<Option<Cgroups>> = std::sync::Mutex::new(None);

/// Longest the runner waits for a sandbox's cgroups to empty before it
/// gives up removing them (and says so).
const EMPTY_WAIT: Duration = Duration::from_secs(5);

impl Drop for Cgroups {
    fn drop(&mut self) {
        let dirs = self.dirs();
        if dirs.is_empty() {
            return;
        }
        // A cgroup can be removed only once its last process is gone: a
        // process that forks while it dies, or one still being torn down
        // by the kernel, is killed again until none is left.
        let deadline = Instant::now() + EMPTY_WAIT;
        loop {
            let left = self.members();
            if left.is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                eprintln!(
                    "runner: warning: {} process(es) of a sandbox survived being killed; its cgroups are left in place: {}",
                    left.len(),
                    dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
                );
                return;
            }
            self.kill_all();
            std::thread::sleep(crate::stop::SLICE.min(Duration::from_millis(10)));
        }
        for dir in dirs {
            let _ = fs::remove_dir(dir);
        }
    }
}

impl Cgroups {
    /// SIGKILL to every process of the sandbox's cgroups: all at once
    /// through v2's `cgroup.kill`, and one by one for v1.
    pub fn kill_all(&self) {
        self.kill();
        for pid in self.members() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Removes, once per run, the cgroups left by runners that no longer
/// exist (killed with SIGKILL or by the OOM killer, they had no chance to
/// remove their own): their processes are killed, their folders removed.
fn remove_stale_once(mounts: &Mounts) {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        let bases = [
            &mounts.v2,
            &mounts.v1_memory,
            &mounts.v1_pids,
            &mounts.v1_cpu,
            &mounts.v1_cpuacct,
        ];
        for base in bases.into_iter().flatten() {
            for dir in stale_cgroups(base) {
                let mut stale = Cgroups::default();
                stale.unified = Some(dir);
                drop(stale);
            }
        }
    });
}

/// The runner cgroups in `base` whose runner's pid is not a live runner.
fn stale_cgroups(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(base) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
                return false;
            };
            let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                return false;
            };
            pid != std::process::id() && !is_live_runner(pid)
        })
        .map(|entry| entry.path())
        .collect()
}

/// Whether the runner `pid` may still be alive. (A pid reused since by
/// another process only delays the clean-up to a later run.)
fn is_live_runner(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The processes a `cgroup.procs` file lists, read afresh: v1 keeps the
/// list it made for an open file, and a held one would show processes
/// long gone.
fn listed(procs: &Path) -> Vec<i32> {
    fs::read_to_string(procs)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse::<i32>().ok())
        .collect()
}

/// `key N` in the text of a flat-keyed cgroup file.
fn counter(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(' ')?;
            (name == key).then(|| value.trim().parse().ok()).flatten()
        })
        .unwrap_or(0)
}

/// Makes `base/name`, or None when the runner may not.
fn make(base: &Path, name: &str) -> Option<PathBuf> {
    let dir = base.join(name);
    fs::create_dir(&dir).ok().map(|()| dir)
}

/// Asks the parent of a v2 cgroup to hand memory and pids down to its
/// children. Refused (and then left alone) where the parent holds
/// processes of its own and is not the root: v2's "no internal processes".
fn enable_controllers(dir: &Path) {
    // Every sandbox's parent is the runner's own cgroup: once per run.
    static ASKED: std::sync::Once = std::sync::Once::new();
    ASKED.call_once(|| {
        if let Some(parent) = dir.parent() {
            for controller in ["+memory", "+pids", "+cpu"] {
                let _ = fs::write(parent.join("cgroup.subtree_control"), controller);
            }
        }
    });
}

/// Where the runner's own cgroups are, per hierarchy.
#[derive(Debug, Default)]
struct Mounts {
    v2: Option<PathBuf>,
    v1_memory: Option<PathBuf>,
    v1_pids: Option<PathBuf>,
    v1_cpu: Option<PathBuf>,
    v1_cpuacct: Option<PathBuf>,
}

impl Mounts {
    /// The runner's, read once: its cgroups and mounts stay the same.
    fn of_runner() -> &'static Mounts {
        static MOUNTS: std::sync::OnceLock<Mounts> = std::sync::OnceLock::new();
        MOUNTS.get_or_init(Mounts::read)
    }

    fn read() -> Mounts {
        let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let own_path = |wanted: &dyn Fn(&str) -> bool| {
            own.lines().find_map(|line| {
                let mut fields = line.splitn(3, ':');
                let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
                wanted(controllers).then(|| path.to_string())
            })
        };
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut mounts = Mounts::default();
        for line in mountinfo.lines() {
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let left: Vec<&str> = left.split_whitespace().collect();
            let right: Vec<&str> = right.split_whitespace().collect();
            let (Some(root), Some(point), Some(fstype)) = (left.get(3), left.get(4), right.first())
            else {
                continue;
            };
            let options = right.get(2).copied().unwrap_or("");
            let place = |path: Option<String>| {
                let path = path?;
                let inside = Path::new(&path).strip_prefix(root).ok()?;
                Some(Path::new(point).join(inside))
            };
            match *fstype {
                "cgroup2" if mounts.v2.is_none() => mounts.v2 = place(own_path(&|c| c.is_empty())),
                "cgroup" if options.split(',').any(|o| o == "memory") => {
                    mounts.v1_memory = place(own_path(&|c| c.split(',').any(|c| c == "memory")))
                }
                "cgroup" if options.split(',').any(|o| o == "pids") => {
                    mounts.v1_pids = place(own_path(&|c| c.split(',').any(|c| c == "pids")))
                }
                "cgroup" if options.split(',').any(|o| o == "cpu" || o == "cpuacct") => {
                    let has = |name: &'static str| move |c: &str| c.split(',').any(|c| c == name);
                    if options.split(',').any(|o| o == "cpu") {
                        mounts.v1_cpu = place(own_path(&has("cpu")));
                    }
                    if options.split(',').any(|o| o == "cpuacct") {
                        mounts.v1_cpuacct = place(own_path(&has("cpuacct")));
                    }
                }
                _ => {}
            }
        }
        mounts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_by_key() {
        let text = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n";
        assert_eq!(counter(text, "oom_kill"), 2);
        assert_eq!(counter(text, "max"), 3);
        assert_eq!(counter(text, "missing"), 0);
    }

    #[test]
    fn a_held_file_is_read_whole_and_afresh() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("memory.stat");
        let long: String = (0..3000).map(|pid| format!("{pid}\n")).collect();
        fs::write(&file, &long).expect("write");
        let held = HeldFiles::default();
        assert_eq!(held.read(&file).as_deref(), Some(long.as_str()));
        fs::write(&file, "7\n").expect("write");
        assert_eq!(held.read(&file).as_deref(), Some("7\n"));
    }
}
