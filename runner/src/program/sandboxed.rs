//! Starting a target in a sandbox of its own (see `crate::sandbox`): the
//! runner decides what the sandbox holds (ids, cgroups, visible folders,
//! limits, environment) and has its init made by the sandbox starter,
//! then hands it the plan and the target's stdio.

use super::leader::Leader;
use super::process::{target_environment, Confinement};
use super::procfs;
use super::toolchain;
use crate::sandbox::{Cgroups, IdLease, NetNamespace, Plan, Rlimits, SCRATCH_FOLDERS};
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest a sandbox may take to build itself and exec the program.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest plan handed to a sandbox's init.
const PLAN_CAPACITY: usize = 65536;

/// HOME of every sandboxed program, and where it starts without a
/// submission folder: its private /tmp.
const HOME: &str = "/tmp";

/// A started sandbox, as the runner holds it.
pub struct Sandboxed {
    pub cgroups: std::sync::Arc<Cgroups>,
    /// Its uid and gid, held until its last process is gone.
    _lease: Option<IdLease>,
    /// Where the sandbox says why it could not start the program.
    errors: Option<File>,
    /// Handles on its private writable folders (see `watch_scratch`).
    scratch: Vec<(&'static str, std::os::fd::OwnedFd)>,
}

impl Sandboxed {
    /// Starts the sandbox's init for `argv` in `network`.
    pub fn spawn(
        argv: &[String],
        confinement: &Confinement,
        network: &NetNamespace,
        stdin: OwnedFd,
    ) -> io::Result<(Leader, [OwnedFd; 2], Sandboxed)> {
        let limits = confinement.limits;
        let as_root = nix::unistd::geteuid().is_root();
        let lease = as_root.then(IdLease::take).transpose()?;
        // Without root no cgroup can be written: the limits are then per
        // process (the run's notice says so). The init counts among the
        // processes.
        let cgroups = Cgroups::create(
            limits.memory,
            limits
                .processes
                .saturating_add(crate::sandbox::OWN_PROCESSES),
        );
        let uid = lease
            .as_ref()
            .map_or_else(|| nix::unistd::getuid().as_raw(), |l| l.id);
        let plan = Plan {
            argv: argv.to_vec(),
            env: target_environment(Path::new(HOME), confinement.env),
            cwd: confinement
                .folder
                .map(Path::to_path_buf)
                .or_else(|| super::submission_dir(argv))
                .unwrap_or_else(|| PathBuf::from(HOME)),
            ids: lease.as_ref().map(|l| (l.id, l.id)),
            binds: visible_folders(argv, confinement.tools, confinement.folder),
            masks: runner_binary_unless_running_it(argv),
            reference: is_bundled_reference(argv),
            scratch_size: limits.file_size,
            cgroup_procs: cgroups.procs_files(),
            rlimits: Rlimits::new(&limits, &cgroups, || procfs::threads_of_user(uid)),
        };
        // Handed over on a socket, not on the command line, which the
        // sandbox's init would show in its /proc/1/cmdline.
        let plan = serde_json::to_vec(&plan).map_err(io::Error::other)?;
        if plan.len() >= PLAN_CAPACITY {
            return Err(io::Error::other("the target's command line is too long"));
        }
        let (control, init_end) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        let (errors, errors_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        let (stdout, stdout_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        let (stderr, stderr_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        let (reports, reports_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        super::set_nonblocking(&reports)?;
        let init = crate::sandbox::fork_init(&init_end, as_root).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot make the sandbox's namespaces: {e}"),
            )
        })?;
        drop(init_end);
        let child = Leader::sandbox_init(init, File::from(reports));
        let handed = [
            stdin.as_raw_fd(),
            stdout_write.as_raw_fd(),
            stderr_write.as_raw_fd(),
            network.handle().as_raw_fd(),
            errors_write.as_raw_fd(),
            reports_write.as_raw_fd(),
        ];
        let sent = sendmsg::<()>(
            control.as_raw_fd(),
            &[io::IoSlice::new(&plan)],
            &[ControlMessage::ScmRights(&handed)],
            MsgFlags::empty(),
            None,
        )
        .map_err(io::Error::from)
        .and_then(|sent| File::from(control).write_all(&plan[sent..]));
        drop((
            stdin,
            stdout_write,
            stderr_write,
            errors_write,
            reports_write,
        ));
        if let Err(error) = sent {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
            return Err(error);
        }
        Ok((
            child,
            [stdout, stderr],
            Sandboxed {
                cgroups: std::sync::Arc::new(cgroups),
                _lease: lease,
                errors: Some(File::from(errors)),
                scratch: Vec::new(),
            },
        ))
    }

    /// Waits until the program is exec'd, or a bundled reference started
    /// in its place (the error channel closes with nothing said), or
    /// returns why the sandbox could not start it.
    pub fn wait_started(&mut self) -> io::Result<()> {
        let Some(mut errors) = self.errors.take() else {
            return Ok(());
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let mut said = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the sandbox did not start the program within 10 s",
                ));
            }
            let wait =
                PollTimeout::try_from(left.min(crate::stop::SLICE)).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(errors.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, wait) {
                Ok(0) => continue,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
                Ok(_) => {}
            }
            let mut chunk = [0u8; 4096];
            match errors.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => said.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if said.is_empty() {
            Ok(())
        } else {
            Err(io::Error::other(
                String::from_utf8_lossy(&said).into_owned(),
            ))
        }
    }
}

impl Sandboxed {
    /// Keeps a handle on each private writable folder of the sandbox
    /// whose init is `init`, so that whether it filled up can be told
    /// even after the sandbox is gone.
    pub fn watch_scratch(&mut self, init: i32) {
        for folder in SCRATCH_FOLDERS {
            let path = format!("/proc/{init}/root{folder}");
            let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
            if let Ok(fd) = nix::fcntl::open(path.as_str(), flags, nix::sys::stat::Mode::empty()) {
                // SAFETY: open returned a new descriptor that nothing else owns.
                let fd =
                    unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
                self.scratch.push((folder, fd));
            }
        }
    }

    /// The sandbox's private writable folders that are full.
    pub fn full_scratch(&self) -> Vec<&'static str> {
        self.scratch
            .iter()
            .filter(|(_, fd)| {
                nix::sys::statvfs::fstatvfs(fd)
                    .is_ok_and(|stat| stat.blocks() > 0 && stat.blocks_available() == 0)
            })
            .map(|(folder, _)| *folder)
            .collect()
    }
}

/// The folders of the files `argv` names, shown read-only in the
/// sandbox: the submission's own folder, and what the toolchain of the
/// program and of `tools` (a build's compiler, run by name) needs where
/// the system folders do not show it.
fn visible_folders(argv: &[String], tools: &[&str], folder: Option<&Path>) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = Vec::new();
    let mut add = |folder: PathBuf| {
        if folder != Path::new("/") && !folders.iter().any(|f| folder.starts_with(f)) {
            folders.retain(|f| !f.starts_with(&folder));
            folders.push(folder);
        }
    };
    if let Some(folder) = folder {
        add(folder.to_path_buf());
    }
    for arg in argv.iter().skip(1) {
        let path = Path::new(arg);
        if !path.is_absolute() || !path.is_file() || toolchain::shown_anyway(path) {
            continue;
        }
        if let Some(folder) = path.parent() {
            add(folder.to_path_buf());
        }
    }
    let programs = argv.first().map(String::as_str).into_iter();
    for program in programs.chain(tools.iter().copied()) {
        for path in toolchain::binds(program) {
            add(path);
        }
    }
    folders
}

/// Whether `argv` starts a bundled reference: the runner's own binary,
/// told to run one.
fn is_bundled_reference(argv: &[String]) -> bool {
    runner_binary_unless_running_it(argv).is_empty()
        && argv.get(1).map(String::as_str) == Some(crate::REFERENCE_SUBCOMMAND)
}

/// The runner's own binary is hidden from every target but the bundled
/// references (which are the runner): a submission must not run them.
fn runner_binary_unless_running_it(argv: &[String]) -> Vec<PathBuf> {
    let Ok(runner) = std::env::current_exe().and_then(std::fs::canonicalize) else {
        return Vec::new();
    };
    let program = argv.first().and_then(|p| std::fs::canonicalize(p).ok());
    if program.as_deref() == Some(runner.as_path()) {
        Vec::new()
    } else {
        vec![runner]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submission_folder_is_visible_and_system_folders_are_not_repeated() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("server.py");
        std::fs::write(&file, "").expect("write");
        let argv = vec![
            String::from("/usr/bin/python3"),
            file.display().to_string(),
            String::from("127.0.0.1"),
        ];
        assert_eq!(
            visible_folders(&argv, &[], None),
            vec![dir.path().to_path_buf()]
        );
    }
}
