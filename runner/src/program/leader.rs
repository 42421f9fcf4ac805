//! The runner's own child for a target: the program itself (the
//! fallback), a sandbox's helper spawned by the runner, or one forked for
//! it by the sandbox starter, which is the runner's child all the same
//! (`CLONE_PARENT`) but was not made by `std::process`.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};

pub enum Leader {
    Spawned(Child),
    Forked {
        pid: i32,
        /// Set once reaped: the pid may then be anyone's.
        status: Option<ExitStatus>,
    },
}

impl Leader {
    pub fn forked(pid: i32) -> Leader {
        Leader::Forked { pid, status: None }
    }

    pub fn id(&self) -> u32 {
        match self {
            Leader::Spawned(child) => child.id(),
            Leader::Forked { pid, .. } => *pid as u32,
        }
    }

    /// The exit status, reaping the child, if it has exited.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        match self {
            Leader::Spawned(child) => child.try_wait(),
            Leader::Forked { pid, status } => {
                if status.is_none() {
                    *status = reap(*pid, nix::libc::WNOHANG)?;
                }
                Ok(*status)
            }
        }
    }

    /// Waits for the child to exit, and reaps it.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        match self {
            Leader::Spawned(child) => child.wait(),
            Leader::Forked { pid, status } => loop {
                if let Some(status) = status {
                    return Ok(*status);
                }
                *status = reap(*pid, 0)?;
            },
        }
    }

    /// SIGKILL, unless it has been reaped.
    pub fn kill(&mut self) -> io::Result<()> {
        match self {
            Leader::Spawned(child) => child.kill(),
            Leader::Forked { pid, status: None } => {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::SIGKILL)
                    .map_err(io::Error::from)
            }
            Leader::Forked { .. } => Ok(()),
        }
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

    #[test]
    fn a_forked_child_is_waited_for_and_reaped_once() {
        // SAFETY: the child only exits.
        let pid = match unsafe { nix::unistd::fork() }.expect("fork") {
            nix::unistd::ForkResult::Child => unsafe { nix::libc::_exit(3) },
            nix::unistd::ForkResult::Parent { child } => child.as_raw(),
        };
        let mut leader = Leader::forked(pid);
        let status = leader.wait().expect("wait");
        assert_eq!(status.code(), Some(3));
        // Reaped once: asked again, the status is the one kept.
        assert_eq!(leader.try_wait().expect("try_wait"), Some(status));
        assert!(leader.kill().is_ok());
    }
}
