//! The sandbox's watchdog: a thread that looks at a running sandbox a few
//! times a second and stops it at a limit no kernel mechanism holds for
//! the sandbox as a whole.
//!
//! - CPU time of all its processes together, dead ones included (a
//!   per-process `RLIMIT_CPU` lets sixty processes spin sixty times as
//!   long): read from the cgroup where one counts it, else summed over
//!   the process tree.
//! - Memory with socket buffers: cgroup v1 counts these apart and lets
//!   them past its limit (v2 counts them as memory).
//! - Without writable cgroups (a runner that is not root), memory and
//!   processes of the sandbox as a whole: the resident memory of every
//!   process (shared anonymous memory included, which `RLIMIT_DATA` does
//!   not count) and every thread, summed over the process tree. The
//!   per-uid `RLIMIT_NPROC` stays as a net under fork bombs, set well
//!   above one sandbox's share so that one student cannot use up a
//!   classmate's.
//!
//! A sandbox stopped here is reported as having run into that limit, with
//! the same words as when a cgroup stopped it.

use super::{Breach, Cgroups};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the watchdog looks.
const PERIOD: Duration = Duration::from_millis(100);

/// What the watchdog holds a sandbox to.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// CPU time of all the sandbox's processes together.
    pub cpu: Duration,
    /// Memory of the whole sandbox: where a cgroup holds it, what the
    /// cgroup lets past its limit (v1's socket buffers); else the resident
    /// memory of its processes summed.
    pub memory: u64,
    /// Processes and threads of the whole sandbox, where no cgroup holds it.
    pub threads: Option<u64>,
}

/// A running watchdog; it stops when dropped.
pub struct Watchdog {
    watched: Arc<Watched>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

/// The sandbox a watchdog looks at.
struct Watched {
    /// The runner's child, of which every process of the sandbox descends.
    root: i32,
    cgroups: Arc<Cgroups>,
    budget: Budget,
    /// The sandbox's list of System V shared memory segments, opened in
    /// its IPC namespace (the list shows the namespace it was opened in).
    segments: Option<Mutex<std::fs::File>>,
}

impl Watchdog {
    /// Watches the sandbox whose processes descend from `root` (the
    /// runner's child) and are in `cgroups`.
    pub fn start(root: i32, cgroups: Arc<Cgroups>, budget: Budget) -> Watchdog {
        // Where a cgroup counts memory, it counts segments too.
        let segments = cgroups
            .memory_in_use()
            .is_none()
            .then(|| segment_list(root))
            .flatten()
            .map(Mutex::new);
        let watched = Arc::new(Watched {
            root,
            cgroups,
            budget,
            segments,
        });
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = {
            let (watched, stop) = (Arc::clone(&watched), Arc::clone(&stop));
            std::thread::Builder::new()
                .name(String::from("sandbox-watchdog"))
                .spawn(move || watch(&watched, &stop))
                .ok()
        };
        Watchdog {
            watched,
            stop,
            thread,
        }
    }

    /// Looks once more, now: a limit passed since the last look (between
    /// two looks a program can fork a hundred times) is noted before the
    /// runner reports which limits the sandbox ran into.
    pub fn check_now(&self) {
        self.watched.check();
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        if let Ok(mut stop) = lock.lock() {
            *stop = true;
        }
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watch(watched: &Watched, stop: &(Mutex<bool>, Condvar)) {
    let (lock, wake) = stop;
    let Ok(mut stopped) = lock.lock() else {
        return;
    };
    loop {
        let Ok((guard, _)) = wake.wait_timeout(stopped, PERIOD) else {
            return;
        };
        stopped = guard;
        if *stopped || watched.check().is_some() {
            return;
        }
    }
}

impl Watched {
    /// Stops the sandbox if it is past a limit, and says which.
    fn check(&self) -> Option<Breach> {
        let (cgroups, budget) = (&self.cgroups, &self.budget);
        // The process tree is walked only for what no cgroup counts.
        let (cpu, memory) = (cgroups.cpu_time(), cgroups.memory_in_use());
        let tree = (cpu.is_none() || memory.is_none() || budget.threads.is_some()).then(|| {
            let mut tree = Tree::measure(self.root);
            tree.memory = tree.memory.saturating_add(self.segment_memory());
            tree
        });
        let tree = tree.as_ref();
        let over = |used: Option<u64>, limit: u64| used.is_some_and(|used| used > limit);
        let breach = if cpu
            .or(tree.map(|t| t.cpu))
            .is_some_and(|cpu| cpu > budget.cpu)
        {
            Breach::Cpu
        } else if over(memory.or(tree.map(|t| t.memory)), budget.memory) {
            Breach::Memory
        } else if budget
            .threads
            .is_some_and(|limit| over(tree.map(|t| t.threads), limit))
        {
            Breach::Processes
        } else {
            return None;
        };
        cgroups.note_breach(breach);
        cgroups.kill_all();
        for pid in Tree::measure(self.root).members {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        Some(breach)
    }
}

impl Watched {
    /// Memory in the sandbox's System V segments (resident and swapped).
    fn segment_memory(&self) -> u64 {
        use std::io::{Read, Seek};
        let Some(list) = &self.segments else {
            return 0;
        };
        let Ok(mut list) = list.lock() else {
            return 0;
        };
        let mut text = String::new();
        if list
            .rewind()
            .and_then(|()| list.read_to_string(&mut text))
            .is_err()
        {
            return 0;
        }
        segments_in(&text)
    }
}

/// The list of System V segments of the IPC namespace of process `pid`,
/// opened from a thread that joins that namespace for the purpose.
fn segment_list(pid: i32) -> Option<std::fs::File> {
    let namespace = std::fs::File::open(format!("/proc/{pid}/ns/ipc")).ok()?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::setns(&namespace, nix::sched::CloneFlags::CLONE_NEWIPC).ok()?;
                std::fs::File::open("/proc/sysvipc/shm").ok()
            })
            .join()
            .ok()
            .flatten()
    })
}

/// Bytes resident or swapped in the segments of a `/proc/sysvipc/shm`
/// text (columns named by its first line).
fn segments_in(text: &str) -> u64 {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return 0;
    };
    let columns: Vec<&str> = header.split_whitespace().collect();
    let at = |name: &str| columns.iter().position(|c| *c == name);
    let (Some(rss), swap) = (at("rss"), at("swap")) else {
        return 0;
    };
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let value = |i: Option<usize>| -> u64 {
                i.and_then(|i| fields.get(i)?.parse().ok()).unwrap_or(0)
            };
            value(Some(rss)).saturating_add(value(swap))
        })
        .fold(0, u64::saturating_add)
}

/// What a process tree uses, summed over its live processes.
#[derive(Debug, Default)]
struct Tree {
    members: Vec<i32>,
    /// CPU time of the live processes and of the children they reaped.
    cpu: Duration,
    /// Proportional set size: each resident page divided among the
    /// processes that share it, so that a page of a forked child or of a
    /// shared mapping counts once in the sum.
    memory: u64,
    threads: u64,
}

impl Tree {
    fn measure(root: i32) -> Tree {
        let mut tree = Tree {
            members: crate::program::descendants(root),
            ..Tree::default()
        };
        for pid in &tree.members {
            if let Some(usage) = Usage::of(*pid) {
                tree.cpu += usage.cpu;
                tree.memory = tree.memory.saturating_add(usage.memory);
                tree.threads += usage.threads;
            }
        }
        tree
    }
}

/// One process's use, from `/proc/PID/stat` and `/proc/PID/smaps_rollup`.
#[derive(Debug, PartialEq)]
struct Usage {
    cpu: Duration,
    memory: u64,
    threads: u64,
}

impl Usage {
    fn of(pid: i32) -> Option<Usage> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // A zombie or a kernel thread has no memory map to read.
        let rollup =
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        Usage::parse(&stat, &rollup, ticks_per_second())
    }

    fn parse(stat: &str, rollup: &str, ticks: u64) -> Option<Usage> {
        // The name in parentheses may hold spaces: fields count from the
        // last ')'. After it: state (3), ..., utime (14), stime (15),
        // cutime (16), cstime (17), ..., num_threads (20).
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        let ticks_used = field(14)? + field(15)? + field(16)? + field(17)?;
        let pss_kib: u64 = rollup
            .lines()
            .find_map(|line| line.strip_prefix("Pss:"))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        Some(Usage {
            cpu: Duration::from_nanos(ticks_used.saturating_mul(1_000_000_000) / ticks.max(1)),
            memory: pss_kib.saturating_mul(1024),
            threads: field(20)?,
        })
    }
}

fn ticks_per_second() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_line_is_read_past_a_name_with_spaces_and_parentheses() {
        let stat = "42 (a (b) c) R 1 42 42 0 -1 4194304 0 0 0 0 150 50 30 20 20 0 7 0 100 0 0";
        let rollup = "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss: 9000 kB\nPss: 1200 kB\nPss_Anon: 800 kB\n";
        let usage = Usage::parse(stat, rollup, 100).expect("parsed");
        assert_eq!(
            usage,
            Usage {
                cpu: Duration::from_millis(2500),
                memory: 1200 * 1024,
                threads: 7,
            }
        );
    }

    #[test]
    fn segments_count_what_they_hold_in_memory_and_swap() {
        let text = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n\
                             0          1   600              33554432   100   100      0  4242  4242  4242  4242          0          0          0              33554432                     0\n\
                             0          2   600              33554432   100   100      0  4242  4242  4242  4242          0          0          0               1048576                  4096\n";
        assert_eq!(segments_in(text), 33554432 + 1048576 + 4096);
        assert_eq!(segments_in(""), 0);
    }

    #[test]
    fn a_sandbox_over_its_cpu_time_is_killed_and_noted() {
        let mut spinner = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("sh");
        let cgroups = Arc::new(Cgroups::default());
        let budget = Budget {
            cpu: Duration::from_millis(200),
            memory: u64::MAX,
            threads: None,
        };
        let _watchdog = Watchdog::start(spinner.id() as i32, Arc::clone(&cgroups), budget);
        let status = spinner.wait().expect("wait");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        assert_eq!(cgroups.breaches(), vec![Breach::Cpu]);
    }
}
