//! A running target: its own session and process group, captured stdio, and
//! a stop that takes the whole group down (SIGTERM, a grace period, then
//! SIGKILL).

use super::identity::Identity;
use super::keyboard::Keyboard;
use super::leader::Leader;
use super::limits::Limits;
use super::output::Output;
use super::procfs::{self, SocketKind};
use super::sandboxed::Sandboxed;
use crate::sandbox::{Breach, Budget, Cgroups, Network, Rlimits, Watchdog};
use nix::sys::prctl::set_pdeathsig;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
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
    /// Set when the runner is root: staged copies of private files, and
    /// (without namespaces) the unprivileged user to run as.
    pub identity: Option<&'a Identity>,
    /// Variables passed on purpose (`--env`), on top of the kept ones.
    pub env: &'a [(String, String)],
    /// Programs the target runs by name besides its own (a build's
    /// compiler): the sandbox shows their toolchains too.
    pub tools: &'a [&'a str],
    /// The folder the program starts in and is shown read-only, when the
    /// command says (a teacher's `run:`); else that of the first file its
    /// command names.
    pub folder: Option<&'a std::path::Path>,
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

/// Variables a target keeps from the runner's environment; the rest
/// (tokens, credentials of a CI job) never reach a submission.
const KEPT_ENVIRONMENT: &[&str] = &["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ"];

/// The whole environment of a target: the kept variables, HOME, what
/// makes its output unbuffered, and what `--env` passes on purpose.
pub fn target_environment(
    home: &std::path::Path,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = KEPT_ENVIRONMENT
        .iter()
        .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
        .collect();
    env.push((String::from("HOME"), home.display().to_string()));
    env.push((String::from("PYTHONUNBUFFERED"), String::from("1")));
    env.push((String::from("PYTHONIOENCODING"), String::from("utf-8")));
    env.push((String::from("PYTHONDONTWRITEBYTECODE"), String::from("1")));
    env.extend(unbuffered_c_stdio());
    for (name, value) in extra {
        env.retain(|(kept, _)| kept != name);
        env.push((name.clone(), value.clone()));
    }
    env
}

pub struct Process {
    /// Stops the sandbox at the limits it holds (first to go on drop).
    watchdog: Option<Watchdog>,
    child: Leader,
    /// How the target is held: a sandbox of its own, or a process group.
    hold: Hold,
    /// Where the target's sockets are.
    network: Network,
    /// Asks the target's private network which sockets listen (made on
    /// first use, kept for the target's life; None where it cannot be).
    listening: std::sync::OnceLock<Option<super::sockdiag::SockDiag>>,
    group: i32,
    /// The program's stdin, as a keyboard (None once the program is stopped).
    keyboard: Option<Keyboard>,
    pub stdout: Arc<Output>,
    pub stderr: Arc<Output>,
    status: Option<ExitStatus>,
    /// When the runner first saw the main process exited.
    exited_at: Option<Instant>,
}

/// What keeps track of a target's processes.
enum Hold {
    /// A sandbox: the runner's child is the init of the target's PID
    /// namespace.
    Sandboxed(Sandboxed),
    /// The fallback: a process group, an environment marker, the
    /// runner's subreaper, and a cgroup where root can make one.
    Direct {
        marker: String,
        cgroups: Arc<Cgroups>,
    },
}

impl Hold {
    /// The target's cgroups (empty where none could be made).
    fn cgroups(&self) -> &Arc<Cgroups> {
        match self {
            Hold::Sandboxed(sandboxed) => &sandboxed.cgroups,
            Hold::Direct { cgroups, .. } => cgroups,
        }
    }
}

impl Process {
    /// Starts `argv` with piped stdio under `confinement`: in a sandbox of
    /// its own whose network is `network`, or (the fallback, when the
    /// network is the host's) in a process group of its own. Python is
    /// told not to buffer its output, so prompts and prints arrive in time.
    pub fn spawn(
        argv: &[String],
        confinement: &Confinement,
        network: &Network,
    ) -> io::Result<Process> {
        let argv = match confinement.identity {
            Some(identity) => identity.stage(argv)?,
            None => super::identity::absolute_files(argv),
        };
        if argv.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
        }
        let keep = usize::try_from(confinement.limits.output).unwrap_or(usize::MAX);
        // Registered under the lock it is started under: the orphan reaper
        // never mistakes a target's own main process for an orphan.
        let (keyboard, stdin) = Keyboard::open()?;
        let mut leaders = LEADERS.lock().unwrap_or_else(|e| e.into_inner());
        let (child, [stdout, stderr], hold) = match network {
            Network::Private(namespace) => {
                let (child, output, sandboxed) =
                    Sandboxed::spawn(&argv, confinement, namespace, stdin)?;
                (child, output, Hold::Sandboxed(sandboxed))
            }
            Network::Host => {
                let (mut child, hold) = spawn_direct(&argv, confinement, Stdio::from(stdin))?;
                let stdout = OwnedFd::from(child.stdout.take().expect("stdout is piped"));
                let stderr = OwnedFd::from(child.stderr.take().expect("stderr is piped"));
                (Leader::Spawned(child), [stdout, stderr], hold)
            }
        };
        leaders.push(child.id() as i32);
        drop(leaders);
        let group = child.id() as i32;
        let stdout = Output::pump(stdout, keep);
        let stderr = Output::pump(stderr, keep);
        let mut process = Process {
            watchdog: None,
            hold,
            network: network.clone(),
            listening: std::sync::OnceLock::new(),
            keyboard: Some(keyboard),
            child,
            group,
            stdout,
            stderr,
            status: None,
            exited_at: None,
        };
        if let Hold::Sandboxed(sandboxed) = &mut process.hold {
            // Returns once the program is exec'd, or with why it was not.
            if let Err(error) = sandboxed.wait_started() {
                process.stop();
                return Err(error);
            }
            sandboxed.watch_scratch(process.child.id() as i32);
        }
        process.watchdog = Some(Watchdog::start(
            group,
            Arc::clone(process.hold.cgroups()),
            budget(&confinement.limits, process.hold.cgroups()),
        ));
        Ok(process)
    }

    /// The exit status, if the main process has exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
            if self.status.is_some() {
                self.exited_at = Some(Instant::now());
            }
        }
        self.status
    }

    /// When the runner first saw the main process exited (it looks every
    /// few milliseconds while a step waits), if it has.
    pub fn exited_at(&mut self) -> Option<Instant> {
        self.exit_status()?;
        self.exited_at
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

    /// Types into the target's stdin, failing with TimedOut when the
    /// target does not read and its input stays full until `deadline`.
    pub fn write_stdin(&mut self, bytes: &[u8], deadline: Instant) -> io::Result<()> {
        // The runner keeps its own end of the terminal open, so typing
        // into a program that has ended would not fail by itself.
        if self.exit_status().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the program has ended",
            ));
        }
        match &mut self.keyboard {
            Some(keyboard) => keyboard.type_bytes(bytes, deadline),
            None => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "stdin was closed",
            )),
        }
    }

    /// Whether the target's stdin is a terminal (see `Keyboard`).
    pub fn stdin_is_terminal(&self) -> bool {
        self.keyboard.as_ref().is_some_and(Keyboard::is_terminal)
    }

    /// Waits until the program has read everything typed so far, as a
    /// person types the next line only once the program has taken the
    /// last one. Gives up at `deadline`, or when the program has ended.
    pub fn wait_stdin_taken(&mut self, deadline: Instant) {
        loop {
            let unread = match &self.keyboard {
                Some(keyboard) => keyboard.unread().unwrap_or(0),
                None => 0,
            };
            if unread == 0 || Instant::now() >= deadline || crate::stop::requested() {
                return;
            }
            if self.exit_status().is_some() {
                return;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Ends the target's input (Ctrl-D at its terminal).
    pub fn close_stdin(&mut self, deadline: Instant) {
        if let Some(keyboard) = &mut self.keyboard {
            keyboard.end_input(deadline);
        }
    }

    /// CPU time used so far by the live processes of the target.
    pub fn cpu_time(&self) -> Duration {
        procfs::cpu_time(&self.members())
    }

    /// How long each thread of the target has been runnable so far.
    pub fn runnable_times(&self) -> std::collections::HashMap<i32, Duration> {
        procfs::runnable_times(&self.members())
    }

    /// Whether a connection to `addr` would reach a listening socket of
    /// the target, asked of the kernel in one lookup; None where it cannot
    /// be asked so (outside a private network).
    pub fn listener_for(&self, addr: std::net::SocketAddr) -> Option<bool> {
        self.sock_diag()?.listener_for(addr).ok()
    }

    /// The target's network's sock_diag socket, made on first use; None
    /// outside a private network (where not every socket is the target's).
    fn sock_diag(&self) -> Option<&super::sockdiag::SockDiag> {
        self.listening
            .get_or_init(|| match &self.network {
                Network::Private(_) => self.network.run(super::sockdiag::SockDiag::open).ok(),
                Network::Host => None,
            })
            .as_ref()
    }

    /// Local addresses of the target's sockets of `kind`. In a private
    /// network every socket is the target's (the runner opens none there
    /// before the target serves): one sock_diag query answers. Otherwise
    /// read from the tables of its network, and owned by its processes.
    pub fn sockets(&self, kind: SocketKind) -> Vec<std::net::SocketAddr> {
        if let Some(found) = self.sock_diag().and_then(|diag| diag.sockets(kind).ok()) {
            return found;
        }
        let owners = self.members();
        let tables = if self.network.is_private() {
            "/proc/thread-self/net"
        } else {
            "/proc/net"
        };
        self.network
            .run(|| Ok(procfs::sockets_of(&owners, tables, kind)))
            .unwrap_or_default()
    }

    /// The limits the sandbox ran into so far, in words, e.g. "the
    /// sandbox's memory limit (1 GiB)".
    pub fn limits_hit(&self, limits: &Limits) -> Vec<String> {
        if let Some(watchdog) = &self.watchdog {
            watchdog.check_now();
        }
        let cgroups = self.hold.cgroups();
        // Who held the limit: the kernel, or the watchdog, which stops
        // the whole sandbox.
        let held = |breach: Breach, by_kernel: &str| {
            if cgroups.stopped_for() == Some(breach) {
                String::from(", and the runner stopped it")
            } else {
                String::from(by_kernel)
            }
        };
        let mut hit: Vec<String> = cgroups
            .breaches()
            .into_iter()
            .map(|breach| match breach {
                Breach::Memory => format!(
                    "the program ran into its memory limit ({}: all its processes together){}",
                    super::limits::show_size(limits.memory),
                    held(breach, ", and the kernel killed a process")
                ),
                Breach::Processes => format!(
                    "the program ran into its process limit ({} processes and threads together){}",
                    limits.processes,
                    held(breach, ": a fork or a new thread was refused")
                ),
                Breach::Cpu => format!(
                    "the program ran into its CPU time limit ({} for all its processes together), and the runner stopped it",
                    humantime::format_duration(limits.cpu)
                ),
            })
            .collect();
        if let Hold::Sandboxed(sandboxed) = &self.hold {
            for folder in sandboxed.full_scratch() {
                hit.push(format!(
                    "the program filled its private {folder} ({} at most)",
                    super::limits::show_size(limits.file_size)
                ));
            }
        }
        if let Some(signal) = self.status.and_then(|s| s.signal()) {
            if signal == Signal::SIGXFSZ as i32 {
                hit.push(format!(
                    "the program ran into its file size limit ({} per file)",
                    super::limits::show_size(limits.file_size)
                ));
            }
            if signal == Signal::SIGXCPU as i32 {
                hit.push(format!(
                    "the program ran into its CPU time limit ({} per process)",
                    humantime::format_duration(limits.cpu)
                ));
            }
        }
        hit
    }

    /// Stops every process of the target: SIGTERM, up to GRACE to exit,
    /// then SIGKILL. Reaps the main process.
    pub fn stop(&mut self) {
        // A limit passed since the watchdog last looked is noted before
        // the processes that passed it are gone.
        if let Some(watchdog) = &self.watchdog {
            watchdog.check_now();
        }
        self.keyboard = None;
        let init = matches!(self.hold, Hold::Sandboxed(_)).then_some(self.group);
        // The program's own processes: in a sandbox, all but its init,
        // which ends when the program has.
        let program = |process: &Process| -> Vec<i32> {
            let mut members = process.members();
            members.retain(|pid| Some(*pid) != init);
            members
        };
        let members = program(self);
        if !members.is_empty() {
            self.signal(&members, Signal::SIGTERM);
            let deadline = Instant::now() + GRACE;
            while Instant::now() < deadline && !program(self).is_empty() {
                self.exit_status();
                std::thread::sleep(POLL);
            }
        }
        // Until none is left: a process that forks while dying leaves a
        // new one behind, and a killed process under load takes a moment.
        let deadline = Instant::now() + KILL_WAIT;
        let mut members = self.members();
        while Instant::now() < deadline && !members.is_empty() {
            if let Some(init) = init {
                // The init's end is the sandbox's: the kernel kills every
                // process left in its PID namespace, and only then lets
                // the runner see the init exit, so that its end means
                // nothing is left. Not once reaped: the pid may be
                // anyone's by then.
                if self.exit_status().is_none() {
                    let _ = nix::sys::signal::kill(Pid::from_raw(init), Signal::SIGKILL);
                }
                members.retain(|pid| *pid != init);
            }
            self.signal(&members, Signal::SIGKILL);
            self.exit_status();
            // A sandbox's orphans are its init's.
            if init.is_none() {
                reap_orphans();
            }
            members = self.members();
            if !members.is_empty() {
                std::thread::sleep(POLL);
            }
        }
        if self.status.is_none() {
            // A main process that outlived its deadline is killed too.
            let _ = nix::sys::signal::kill(Pid::from_raw(self.group), Signal::SIGKILL);
            self.status = self.child.wait().ok();
        }
        if let Ok(mut leaders) = LEADERS.lock() {
            leaders.retain(|pid| *pid != self.group);
        }
    }
}

impl Process {
    /// Every live process of the target: its group and every descendant
    /// (in a sandbox, everything in its PID namespace descends from its
    /// init), and any process in its cgroups or (the fallback) carrying
    /// its marker, such as one that escaped with setsid and a double fork.
    ///
    /// A sandbox's processes all descend from its init (an orphan is
    /// adopted by the sandbox's init, and none can leave its PID
    /// namespace): the kernel's lists of children name them, with no walk
    /// over every process of the machine. Where the sandbox has cgroups,
    /// its init joined them before it started anything, and no process
    /// inside can leave them: their lists alone name every process.
    fn members(&self) -> Vec<i32> {
        let (mut members, listed) = match &self.hold {
            // The kernel lets a PID namespace's init be reaped only once
            // every other process in it is gone; its pid may be anyone's
            // by then.
            Hold::Sandboxed(_) if self.status.is_some() => return Vec::new(),
            Hold::Sandboxed(sandboxed) => match sandboxed.cgroups.processes() {
                Some(in_cgroups) => (Vec::new(), in_cgroups),
                None => {
                    let mut tree = procfs::descendants(self.group);
                    tree.retain(|pid| !procfs::is_gone(*pid));
                    (tree, Vec::new())
                }
            },
            Hold::Direct { marker, cgroups } => {
                let mut listed = procfs::processes_with_env(marker);
                // The fallback's target joins what cgroups it can.
                listed.extend(cgroups.members());
                (procfs::tree_members(self.group), listed)
            }
        };
        for pid in listed {
            if !members.contains(&pid) && !procfs::is_zombie(pid) {
                members.push(pid);
            }
        }
        members
    }

    /// Signals the group, its cgroup (SIGKILL only) and `members`.
    fn signal(&self, members: &[i32], signal: Signal) {
        if signal == Signal::SIGKILL {
            self.hold.cgroups().kill();
            if matches!(self.hold, Hold::Direct { .. }) {
                let _ = killpg(Pid::from_raw(self.group), signal);
            }
        }
        for &pid in members {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), signal);
        }
    }
}

/// What the watchdog holds a target to: its CPU time and memory as a
/// whole always, and its threads where no cgroup holds them (the init of
/// a sandbox counts among its threads).
fn budget(limits: &Limits, cgroups: &Cgroups) -> Budget {
    Budget {
        cpu: limits.cpu,
        memory: limits.memory,
        threads: (!cgroups.limits_processes()).then_some(
            limits
                .processes
                .saturating_add(crate::sandbox::OWN_PROCESSES),
        ),
    }
}

/// The fallback start: the program itself in a new session (and so a new
/// process group, whose id is its pid), with setrlimit limits, a fresh
/// keyring, the seccomp filter, a cleared environment and a marker
/// variable, as the runner's user or (when root) the unprivileged one.
fn spawn_direct(
    argv: &[String],
    confinement: &Confinement,
    stdin: Stdio,
) -> io::Result<(Child, Hold)> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
    let mut command = Command::new(program);
    let home = match confinement.identity {
        Some(identity) => identity.home()?.to_path_buf(),
        None => std::env::temp_dir(),
    };
    command
        .env_clear()
        .envs(target_environment(&home, confinement.env));
    if let Some(identity) = confinement.identity {
        command.uid(identity.uid).gid(identity.gid);
    }
    // Like a student running `python3 server.py` in their folder: data
    // files next to the program are found. Without a file to go by, a
    // target starts in its home.
    command.current_dir(
        confinement
            .folder
            .map(std::path::Path::to_path_buf)
            .or_else(|| super::submission_dir(argv))
            .unwrap_or(home),
    );
    let marker = next_marker();
    DIRECT_STARTED.store(true, std::sync::atomic::Ordering::SeqCst);
    let (marker_name, marker_value) = marker.split_once('=').unwrap_or((MARKER, ""));
    command.env(marker_name, marker_value);
    // Where the runner may make cgroups (root): limits on the whole group.
    let cgroups = Cgroups::create(confinement.limits.memory, confinement.limits.processes);
    let uid = confinement
        .identity
        .map_or_else(|| nix::unistd::getuid().as_raw(), |i| i.uid);
    let rlimits = Rlimits::new(&confinement.limits, &cgroups, || {
        procfs::threads_of_user(uid)
    });
    let join: Vec<std::ffi::CString> = cgroups
        .procs_files()
        .into_iter()
        .filter_map(|path| std::ffi::CString::new(path.into_os_string().into_encoded_bytes()).ok())
        .collect();
    let filter = crate::sandbox::SyscallFilter::compile().map_err(io::Error::other)?;
    // SAFETY: the closure runs in the forked child before exec and only
    // makes system calls (setsid, open, write, setrlimit, prctl, keyctl,
    // seccomp) on data prepared before the fork: async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            // Out of the runner's session: no controlling terminal to
            // inject input into or take over (see `sandbox::leave_terminal`).
            crate::sandbox::leave_terminal()?;
            // The runner blocks its stop signals in helper threads;
            // the target must start with none blocked, or SIGTERM
            // would not reach it.
            nix::sys::signal::SigSet::all()
                .thread_unblock()
                .map_err(io::Error::from)?;
            // Into the cgroups before exec: every process the program
            // starts is born inside.
            for file in &join {
                let fd = nix::libc::open(file.as_ptr(), nix::libc::O_WRONLY | nix::libc::O_CLOEXEC);
                if fd >= 0 {
                    nix::libc::write(fd, b"0".as_ptr().cast(), 1);
                    nix::libc::close(fd);
                }
            }
            rlimits.apply()?;
            crate::sandbox::close_others_on_exec();
            // If the runner dies without cleaning up, the target dies too.
            set_pdeathsig(Signal::SIGKILL)?;
            // std has already switched to the target's uid: the keyring
            // is the target's own.
            crate::sandbox::join_fresh_session_keyring()?;
            nix::sys::prctl::set_no_new_privs()?;
            // Last, once nothing but the exec is left to do.
            filter.install()
        });
    }
    command
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("{program}: {e}")))?;
    Ok((
        child,
        Hold::Direct {
            marker,
            cgroups: Arc::new(cgroups),
        },
    ))
}

/// The runner is a child subreaper (see `become_subreaper`): orphaned
/// processes of its targets become its children, and it reaps the ones
/// that have died. Its own targets' main processes are reaped by their
/// `Child`, so only processes not started by the runner are waited for.
fn reap_orphans() {
    use nix::sys::wait::{waitpid, WaitPidFlag};
    // Most of the time no child of the runner has died unreaped: one
    // system call says so, where the sweep below reads a file per thread.
    if !any_child_died() {
        return;
    }
    // Held throughout: no target starts (and goes unregistered) meanwhile.
    let leaders = LEADERS.lock().unwrap_or_else(|e| e.into_inner());
    for pid in procfs::own_children() {
        if procfs::is_zombie(pid) && !leaders.contains(&pid) {
            let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
        }
    }
}

/// Whether any child of the runner (of any of its threads) is a zombie,
/// without reaping it (`WNOWAIT`).
fn any_child_died() -> bool {
    use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
    let flags =
        WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT | WaitPidFlag::__WALL;
    match waitid(Id::All, flags) {
        Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => false,
        // A zombie, or an answer not understood: sweep.
        _ => true,
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

/// Whether a target was ever started without a sandbox (with a marker).
static DIRECT_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

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
            // A sandbox's orphans are its init's, which the runner
            // reaps as the target's main process.
            let direct = DIRECT_STARTED.load(std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(if direct {
                REAP_EVERY
            } else {
                REAP_SANDBOXED_EVERY
            });
            reap_orphans();
        });
    }
}

/// How often adopted orphans that died are reaped.
const REAP_EVERY: Duration = Duration::from_millis(10);
/// How often, while every target so far ran in a sandbox: its orphans
/// are its init's, and its init is the runner's child that its target
/// reaps, so this only catches what nothing else would (a sandbox starter
/// that died).
const REAP_SANDBOXED_EVERY: Duration = Duration::from_secs(1);

/// Kills every process any target of this runner left behind: the last
/// line of defence, run when the run ends and no target is starting. That
/// includes orphans the runner adopted, even one that cleared its marker.
pub fn kill_leftovers() {
    let prefix = format!("{MARKER}={}-", std::process::id());
    // Only targets started without a sandbox carry the marker.
    let marked = DIRECT_STARTED.load(std::sync::atomic::Ordering::SeqCst);
    for _ in 0..10 {
        let mut left = if marked {
            procfs::processes_with_env_prefix(&prefix)
        } else {
            Vec::new()
        };
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
    vec![
        (String::from("LD_PRELOAD"), library.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// What a program started by the fallback finds about itself: its
    /// session and group, the terminal, keyrings and namespaces.
    const PROBE: &str = r#"
import ctypes, errno, os, platform
libc = ctypes.CDLL(None, use_errno=True)
numbers = {"x86_64": (248, 272), "aarch64": (217, 97)}[platform.machine()]
def call(number, *args):
    done = libc.syscall(number, *args)
    return "ok" if done >= 0 else errno.errorcode[ctypes.get_errno()]
print("session leader", os.getsid(0) == os.getpid() == os.getpgrp())
try:
    os.open("/dev/tty", os.O_RDWR)
    print("tty opened")
except OSError as e:
    print("tty", errno.errorcode[e.errno])
print("add_key", call(numbers[0], b"user", b"probe", b"x", 1, ctypes.c_long(-3)))
print("unshare", call(numbers[1], 0x10000000))
"#;

    /// The fallback gives the same session, keyring and filter as a
    /// sandbox: the only confinement of a machine without namespaces.
    #[test]
    fn the_fallback_starts_a_session_without_terminal_and_refuses_keyrings() {
        let argv = ["python3", "-c", PROBE].map(String::from);
        let confinement = Confinement {
            limits: Limits::default(),
            identity: None,
            env: &[],
            tools: &[],
            folder: None,
        };
        let (mut child, _hold) =
            spawn_direct(&argv, &confinement, Stdio::null()).expect("python3 starts");
        let mut printed = String::new();
        child
            .stdout
            .take()
            .expect("piped")
            .read_to_string(&mut printed)
            .expect("read");
        let status = child.wait().expect("wait");
        assert!(status.success(), "{printed}");
        for line in [
            "session leader True",
            "tty ENXIO",
            "add_key EPERM",
            "unshare EPERM",
        ] {
            assert!(printed.contains(line), "{line:?} not in {printed}");
        }
    }
}
