//! The sandbox's watchdog: a thread that looks at a running sandbox a few
//! times a second and stops it at a limit no kernel mechanism holds for
//! the sandbox as a whole.
//!
//! - CPU time of all its processes together, dead ones included (a
//!   per-process `RLIMIT_CPU` lets sixty processes spin sixty times as
//!   long): read from the cgroup where one counts it, else summed over
//!   the process tree.
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
    /// Resident memory of the whole sandbox, where no cgroup holds it.
    pub memory: Option<u64>,
    /// Processes and threads of the whole sandbox, where no cgroup holds it.
    pub threads: Option<u64>,
}

/// A running watchdog; it stops when dropped.
pub struct Watchdog {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Watches the sandbox whose processes descend from `root` (the
    /// runner's child) and are in `cgroups`.
    pub fn start(root: i32, cgroups: Arc<Cgroups>, budget: Budget) -> Watchdog {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(String::from("sandbox-watchdog"))
            .spawn(move || watch(root, &cgroups, budget, &stopped))
            .ok();
        Watchdog { stop, thread }
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

fn watch(root: i32, cgroups: &Cgroups, budget: Budget, stop: &(Mutex<bool>, Condvar)) {
    let (lock, wake) = stop;
    let Ok(mut stopped) = lock.lock() else {
        return;
    };
    loop {
        let Ok((guard, _)) = wake.wait_timeout(stopped, PERIOD) else {
            return;
        };
        stopped = guard;
        if *stopped {
            return;
        }
        let tree = Tree::measure(root);
        let cpu = cgroups.cpu_time().unwrap_or(tree.cpu);
        let breach = if cpu > budget.cpu {
            Some(Breach::Cpu)
        } else if budget.memory.is_some_and(|limit| tree.resident > limit) {
            Some(Breach::Memory)
        } else if budget.threads.is_some_and(|limit| tree.threads > limit) {
            Some(Breach::Processes)
        } else {
            None
        };
        if let Some(breach) = breach {
            cgroups.note_breach(breach);
            cgroups.kill_all();
            for pid in &tree.members {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
            }
            return;
        }
    }
}

/// What a process tree uses, summed over its live processes.
#[derive(Debug, Default)]
struct Tree {
    members: Vec<i32>,
    /// CPU time of the live processes and of the children they reaped.
    cpu: Duration,
    resident: u64,
    threads: u64,
}

impl Tree {
    fn measure(root: i32) -> Tree {
        let mut tree = Tree {
            members: crate::program::tree_members(root),
            ..Tree::default()
        };
        for pid in &tree.members {
            if let Some(usage) = Usage::of(*pid) {
                tree.cpu += usage.cpu;
                tree.resident = tree.resident.saturating_add(usage.resident);
                tree.threads += usage.threads;
            }
        }
        tree
    }
}

/// One process's use, from `/proc/PID/stat` and `/proc/PID/statm`.
#[derive(Debug, PartialEq)]
struct Usage {
    cpu: Duration,
    resident: u64,
    threads: u64,
}

impl Usage {
    fn of(pid: i32) -> Option<Usage> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
        Usage::parse(&stat, &statm, ticks_per_second(), page_size())
    }

    fn parse(stat: &str, statm: &str, ticks: u64, page: u64) -> Option<Usage> {
        // The name in parentheses may hold spaces: fields count from the
        // last ')'. After it: state (3), ..., utime (14), stime (15),
        // cutime (16), cstime (17), ..., num_threads (20).
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        let ticks_used = field(14)? + field(15)? + field(16)? + field(17)?;
        let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(Usage {
            cpu: Duration::from_nanos(ticks_used.saturating_mul(1_000_000_000) / ticks.max(1)),
            resident: resident_pages.saturating_mul(page),
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

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_line_is_read_past_a_name_with_spaces_and_parentheses() {
        let stat = "42 (a (b) c) R 1 42 42 0 -1 4194304 0 0 0 0 150 50 30 20 20 0 7 0 100 0 0";
        let usage = Usage::parse(stat, "1000 300 20 1 0 50 0\n", 100, 4096).expect("parsed");
        assert_eq!(
            usage,
            Usage {
                cpu: Duration::from_millis(2500),
                resident: 300 * 4096,
                threads: 7,
            }
        );
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
            memory: None,
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
