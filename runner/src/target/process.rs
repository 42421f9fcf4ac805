//! A running target: its own process group, captured stdio, and a stop that
//! takes the whole group down (SIGTERM, a grace period, then SIGKILL).

use super::cgroup::Cgroup;
use super::limits::Limits;
use super::output::Output;
use super::procfs;
use super::sandbox::Sandbox;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::prctl::set_pdeathsig;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a target has to exit after SIGTERM before it gets SIGKILL.
const GRACE: Duration = Duration::from_millis(200);
/// How long SIGKILLed processes may take to disappear.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// Polling interval while waiting for a state change the kernel does not
/// notify us of (a process exiting while we also watch other things).
pub const POLL: Duration = Duration::from_millis(2);

/// What a target is confined by.
#[derive(Debug, Clone, Copy)]
pub struct Confinement<'a> {
    pub limits: Limits,
    /// Set when the runner is root: the unprivileged user to run as.
    pub sandbox: Option<&'a Sandbox>,
}

/// The environment variable every process of a target carries, with a
/// value unique to that target (see `procfs::processes_with_env`).
pub const MARKER: &str = "SOCKET_RUNNER_TARGET";

/// Marker values: this runner's pid and a counter.
fn next_marker() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{MARKER}={}-{n}", std::process::id())
}

/// Variables a sandboxed target keeps from the runner's environment; the
/// rest (tokens, credentials of a CI job) never reach a submission.
const KEPT_ENVIRONMENT: &[&str] = &["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ"];

pub struct Process {
    child: Child,
    /// The target's own cgroup, where the machine allows one.
    cgroup: Option<Cgroup>,
    /// `MARKER=value` in the environment of each of its processes.
    marker: String,
    group: i32,
    stdin: Option<ChildStdin>,
    pub stdout: Arc<Output>,
    pub stderr: Arc<Output>,
    status: Option<ExitStatus>,
}

impl Process {
    /// Starts `argv` in a new process group with piped stdio, under
    /// `confinement`. Python is told not to buffer its output, so prompts
    /// and prints arrive in time.
    pub fn spawn(argv: &[String], confinement: &Confinement) -> io::Result<Process> {
        let argv = match confinement.sandbox {
            Some(sandbox) => sandbox.stage(argv)?,
            None => super::sandbox::absolute_files(argv),
        };
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let mut command = Command::new(program);
        if let Some(sandbox) = confinement.sandbox {
            command.env_clear();
            for name in KEPT_ENVIRONMENT {
                if let Some(value) = std::env::var_os(name) {
                    command.env(name, value);
                }
            }
            command
                .uid(sandbox.uid)
                .gid(sandbox.gid)
                .env("HOME", sandbox.home());
        }
        // Like a student running `python3 server.py` in their folder: data
        // files next to the program are found. Without a file to go by, a
        // sandboxed target starts in its home, others where the runner is.
        match (super::submission_dir(&argv), confinement.sandbox) {
            (Some(dir), _) => {
                command.current_dir(dir);
            }
            (None, Some(sandbox)) => {
                command.current_dir(sandbox.home());
            }
            (None, None) => {}
        }
        let marker = next_marker();
        let (marker_name, marker_value) = marker.split_once('=').unwrap_or((MARKER, ""));
        command.env(marker_name, marker_value);
        let mut limits = confinement.limits;
        // RLIMIT_NPROC counts every thread of the user, including those it
        // already runs (a desktop, other targets): the limit is on what the
        // target adds.
        let uid = confinement
            .sandbox
            .map_or_else(|| nix::unistd::getuid().as_raw(), |s| s.uid);
        limits.processes = limits
            .processes
            .saturating_add(procfs::threads_of_user(uid));
        // SAFETY: the closure runs in the forked child before exec and only
        // makes system calls (setrlimit, prctl): async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                // The runner blocks its stop signals in helper threads;
                // the target must start with none blocked, or SIGTERM
                // would not reach it.
                nix::sys::signal::SigSet::all()
                    .thread_unblock()
                    .map_err(io::Error::from)?;
                limits.apply()?;
                // If the runner dies without cleaning up, the target dies too.
                set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)
            });
        }
        command
            .args(args)
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .envs(unbuffered_c_stdio())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // Registered under the lock it is started under: the orphan reaper
        // never mistakes a target's own main process for an orphan.
        let mut leaders = LEADERS.lock().unwrap_or_else(|e| e.into_inner());
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("{program}: {e}")))?;
        leaders.push(child.id() as i32);
        drop(leaders);
        if let Some(stdin) = &child.stdin {
            // Writes must never block the runner: they wait with a deadline.
            let flags = fcntl(stdin.as_raw_fd(), FcntlArg::F_GETFL).map_err(io::Error::from)?;
            let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
            fcntl(stdin.as_raw_fd(), FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
        }
        let group = child.id() as i32;
        // Moved in from here, right after the start: any process the
        // program starts later is born inside.
        let cgroup = Cgroup::create().filter(|cgroup| cgroup.adopt(child.id()));
        let keep = usize::try_from(limits.output).unwrap_or(usize::MAX);
        let stdout = Output::pump(child.stdout.take().expect("stdout is piped"), keep);
        let stderr = Output::pump(child.stderr.take().expect("stderr is piped"), keep);
        Ok(Process {
            cgroup,
            marker,
            stdin: child.stdin.take(),
            child,
            group,
            stdout,
            stderr,
            status: None,
        })
    }

    pub fn group(&self) -> i32 {
        self.group
    }

    /// The exit status, if the main process has exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits for the main process to exit until `deadline`.
    pub fn wait_exit(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.exit_status() {
                return Some(status);
            }
            if Instant::now() >= deadline || crate::stop::requested() {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Writes to the target's stdin, failing with TimedOut when the target
    /// does not read and the pipe stays full until `deadline`.
    pub fn write_stdin(&mut self, bytes: &[u8], deadline: Instant) -> io::Result<()> {
        let Some(stdin) = &mut self.stdin else {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "stdin was closed",
            ));
        };
        let mut rest = bytes;
        while !rest.is_empty() {
            match stdin.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let Some(slice) = crate::stop::slice_until(deadline) else {
                        return Err(io::Error::from(io::ErrorKind::TimedOut));
                    };
                    let wait = PollTimeout::try_from(slice).unwrap_or(PollTimeout::MAX);
                    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLOUT)];
                    poll(&mut fds, wait).map_err(io::Error::from)?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// CPU time used so far by the live processes of the group.
    pub fn cpu_time(&self) -> Duration {
        procfs::group_cpu_time(self.group)
    }

    /// Stops every process of the group: SIGTERM, up to GRACE to exit,
    /// then SIGKILL. Reaps the main process.
    pub fn stop(&mut self) {
        self.stdin = None;
        let members = self.members();
        if !members.is_empty() {
            self.signal(&members, Signal::SIGTERM);
            let deadline = Instant::now() + GRACE;
            while Instant::now() < deadline && !self.members().is_empty() {
                self.exit_status();
                std::thread::sleep(POLL);
            }
            // Until none is left: a process that forks while dying leaves
            // a new one behind, and a killed process under load takes a
            // moment to go.
            let deadline = Instant::now() + KILL_WAIT;
            let mut members = self.members();
            while Instant::now() < deadline && !members.is_empty() {
                self.signal(&members, Signal::SIGKILL);
                self.exit_status();
                reap_orphans();
                members = self.members();
                if !members.is_empty() {
                    std::thread::sleep(POLL);
                }
            }
        }
        if self.status.is_none() {
            self.status = self.child.wait().ok();
        }
        if let Ok(mut leaders) = LEADERS.lock() {
            leaders.retain(|pid| *pid != self.group);
        }
    }
}

impl Process {
    /// Every live process of the target: its group, the descendants that
    /// left it, and any process carrying its marker or in its cgroup (one
    /// that escaped with setsid and a double fork).
    fn members(&self) -> Vec<i32> {
        let mut members = procfs::tree_members(self.group);
        let in_cgroup = self
            .cgroup
            .as_ref()
            .map(Cgroup::members)
            .unwrap_or_default();
        let marked = procfs::processes_with_env(&self.marker);
        for pid in marked.into_iter().chain(in_cgroup) {
            if !members.contains(&pid) {
                members.push(pid);
            }
        }
        members
    }

    /// Signals the group, its cgroup (SIGKILL only) and `members`.
    fn signal(&self, members: &[i32], signal: Signal) {
        if signal == Signal::SIGKILL {
            if let Some(cgroup) = &self.cgroup {
                cgroup.kill();
            }
        }
        let _ = killpg(Pid::from_raw(self.group), signal);
        for &pid in members {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), signal);
        }
    }
}

/// The runner is a child subreaper (see `become_subreaper`): orphaned
/// processes of its targets become its children, and it reaps the ones
/// that have died. Its own targets' main processes are reaped by their
/// `Child`, so only processes not started by the runner are waited for.
fn reap_orphans() {
    use nix::sys::wait::{waitpid, WaitPidFlag};
    // Held throughout: no target starts (and goes unregistered) meanwhile.
    let leaders = LEADERS.lock().unwrap_or_else(|e| e.into_inner());
    for pid in procfs::own_children() {
        if procfs::is_zombie(pid) && !leaders.contains(&pid) {
            let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
        }
    }
}

/// Live children of the runner that it did not start: orphans of targets,
/// adopted because the runner is a subreaper. Only meaningful when no
/// target is being started (a child between fork and registration would
/// look the same).
fn adopted_orphans() -> Vec<i32> {
    let leaders = LEADERS.lock().map(|l| l.clone()).unwrap_or_default();
    procfs::own_children()
        .into_iter()
        .filter(|pid| !leaders.contains(pid) && !procfs::is_zombie(*pid))
        .collect()
}

/// Runs `f` while no target is being started: between fork and exec a
/// starting target holds copies of all the runner's sockets.
pub fn without_spawns<T>(f: impl FnOnce() -> T) -> T {
    let _no_spawns = LEADERS.lock().unwrap_or_else(|e| e.into_inner());
    f()
}

/// Main processes of live targets, which their `Child` reaps.
static LEADERS: std::sync::Mutex<Vec<i32>> = std::sync::Mutex::new(Vec::new());

/// Makes the runner the reaper of its targets' orphans, so that a process
/// that double-forks stays below the runner instead of escaping to init.
/// Call it once every helper process (such as the python3 lookup) has
/// been waited for: from then on the runner starts only targets.
pub fn become_subreaper() {
    if nix::sys::prctl::set_child_subreaper(true).is_ok() {
        // Adopted orphans that die are reaped as they go: a server that
        // double-forks per client would otherwise pile up zombies, which
        // count against its process limit.
        std::thread::spawn(|| loop {
            std::thread::sleep(REAP_EVERY);
            reap_orphans();
        });
    }
}

/// How often adopted orphans that died are reaped.
const REAP_EVERY: Duration = Duration::from_millis(10);

/// Kills every process any target of this runner left behind: the last
/// line of defence, run when the run ends and no target is starting. That
/// includes orphans the runner adopted, even one that cleared its marker.
pub fn kill_leftovers() {
    let prefix = format!("{MARKER}={}-", std::process::id());
    for _ in 0..10 {
        let mut left = procfs::processes_with_env_prefix(&prefix);
        left.extend(adopted_orphans());
        if left.is_empty() {
            break;
        }
        for pid in left {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        std::thread::sleep(POLL);
        reap_orphans();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where coreutils keeps the library behind `stdbuf`.
const LIBSTDBUF: &[&str] = &[
    "/usr/libexec/coreutils/libstdbuf.so",
    "/usr/lib/coreutils/libstdbuf.so",
    "/usr/local/libexec/coreutils/libstdbuf.so",
];

/// C programs buffer stdout when it is a pipe, so a prompt or a printed
/// reply would reach the runner only at exit. What `stdbuf -o0 -e0` does:
/// preload coreutils' libstdbuf, which makes stdio unbuffered. It works for
/// dynamically linked C and C++ programs and does nothing to the others.
fn unbuffered_c_stdio() -> Vec<(String, String)> {
    let Some(library) = LIBSTDBUF
        .iter()
        .find(|path| std::path::Path::new(path).is_file())
    else {
        return Vec::new();
    };
    let preload = match std::env::var("LD_PRELOAD") {
        Ok(existing) if !existing.is_empty() => format!("{library}:{existing}"),
        _ => library.to_string(),
    };
    vec![
        (String::from("LD_PRELOAD"), preload),
        (String::from("_STDBUF_O"), String::from("0")),
        (String::from("_STDBUF_E"), String::from("0")),
    ]
}

/// "exited with code 1" / "was killed by signal 9 (SIGKILL)".
pub fn describe_status(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    match status.signal() {
        Some(signal) => match Signal::try_from(signal) {
            Ok(name) => format!("was killed by signal {signal} ({name})"),
            Err(_) => format!("was killed by signal {signal}"),
        },
        None => String::from("ended"),
    }
}
