//! The runner's own child for a target: the program itself (the
//! fallback), or a sandbox's init, made for the runner by the sandbox
//! starter, which is the runner's child all the same (`CLONE_PARENT`) but
//! was not made by `std::process`.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};

pub enum Leader {
    Spawned(Child),
    SandboxInit {
        pid: i32,
        /// Set once reaped: the pid may then be anyone's.
        status: Option<ExitStatus>,
        /// Where the init writes the program's wait status before it
        /// exits (non-blocking).
        reports: File,
    },
}

impl Leader {
    /// The init `pid` of a sandbox, which reports its program's status on
    /// `reports`.
    pub fn sandbox_init(pid: i32, reports: File) -> Leader {
        Leader::SandboxInit {
            pid,
            status: None,
            reports,
        }
    }

    pub fn id(&self) -> u32 {
        match self {
            Leader::Spawned(child) => child.id(),
            Leader::SandboxInit { pid, .. } => *pid as u32,
        }
    }

    /// The exit status of the program, reaping the child, if it has
    /// exited: a sandbox's is the one its init reported, or the init's
    /// own where it reported none (it was killed, or could not start the
    /// program).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match self {
            Leader::Spawned(child) => child.try_wait(),
            Leader::SandboxInit {
                pid,
                status,
                reports,
            } => {
                if status.is_none() {
                    *status = reap_init(*pid, reports, nix::libc::WNOHANG)?;
                }
                Ok(*status)
            }
        }
    }

    /// Waits for the child to exit, and reaps it.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        match self {
            Leader::Spawned(child) => child.wait(),
            Leader::SandboxInit {
                pid,
                status,
                reports,
            } => loop {
                if let Some(status) = status {
                    return Ok(*status);
                }
                *status = reap_init(*pid, reports, 0)?;
            },
        }
    }

    /// SIGKILL, unless it has been reaped.
    pub fn kill(&mut self) -> io::Result<()> {
        match self {
            Leader::Spawned(child) => child.kill(),
            Leader::SandboxInit {
                pid, status: None, ..
            } => {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::SIGKILL)
                    .map_err(io::Error::from)
            }
            Leader::SandboxInit { .. } => Ok(()),
        }
    }
}

/// `reap` of a sandbox's init: the status it reported, if it was reaped.
fn reap_init(pid: i32, reports: &mut File, flags: i32) -> io::Result<Option<ExitStatus>> {
    Ok(reap(pid, flags)?.map(|own| reported(reports, own)))
}

/// The wait status a sandbox's init wrote on `reports` before it exited,
/// or `own`, the init's, where it wrote none.
fn reported(reports: &mut File, own: ExitStatus) -> ExitStatus {
    let mut raw = [0u8; 4];
    match reports.read(&mut raw) {
        // Written at once (a pipe's writes of at most PIPE_BUF bytes are).
        Ok(4) => ExitStatus::from_raw(i32::from_ne_bytes(raw)),
        _ => own,
    }
}

/// `waitpid` on `pid` with `flags`: its status if it was reaped, None if
/// it has not exited (WNOHANG).
fn reap(pid: i32, flags: i32) -> io::Result<Option<ExitStatus>> {
    loop {
        let mut raw = 0;
        // SAFETY: waitpid with a valid pointer to an int.
        let got = unsafe { nix::libc::waitpid(pid, &mut raw, flags) };
        if got == pid {
            return Ok(Some(ExitStatus::from_raw(raw)));
        }
        if got == 0 {
            return Ok(None);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// A child like a sandbox's init: it writes `report` (if any) on its
    /// status channel, then exits with 0. Its leader.
    fn init_reporting(report: Option<i32>) -> Leader {
        let (read, write) = nix::unistd::pipe().expect("pipe");
        // SAFETY: the child only writes and exits.
        match unsafe { nix::unistd::fork() }.expect("fork") {
            nix::unistd::ForkResult::Child => unsafe {
                if let Some(raw) = report {
                    nix::libc::write(write.as_raw_fd(), raw.to_ne_bytes().as_ptr().cast(), 4);
                }
                nix::libc::_exit(0)
            },
            nix::unistd::ForkResult::Parent { child } => {
                drop(write);
                Leader::sandbox_init(child.as_raw(), File::from(read))
            }
        }
    }

    #[test]
    fn a_sandbox_ends_with_the_status_its_init_reported_and_is_reaped_once() {
        // Killed by SIGSEGV, as waitpid encodes it.
        let mut leader = init_reporting(Some(nix::libc::SIGSEGV));
        let status = leader.wait().expect("wait");
        assert_eq!(status.signal(), Some(nix::libc::SIGSEGV));
        // Reaped once: asked again, the status is the one kept.
        assert_eq!(leader.try_wait().expect("try_wait"), Some(status));
        assert!(leader.kill().is_ok());
    }

    #[test]
    fn an_init_that_reported_nothing_gives_its_own_status() {
        let mut leader = init_reporting(None);
        assert_eq!(leader.wait().expect("wait").code(), Some(0));
    }
}
