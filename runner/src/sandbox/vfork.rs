//! A child process that shares the caller's memory until it exits or
//! execs (`clone` with `CLONE_VM | CLONE_VFORK`, as `posix_spawn` does):
//! no copy of the runner's address space, which in a grading runner with
//! a hundred threads costs more than the few system calls the child makes.

use nix::libc;

/// A stack for one such child, allocated before it starts (the child must
/// not allocate: it shares the heap with the runner's other threads).
pub struct ChildStack(Vec<u8>);

impl ChildStack {
    pub fn new() -> ChildStack {
        ChildStack(vec![0; 64 * 1024])
    }
}

/// Runs `child` in a new process on `stack`, and returns its pid once it
/// has exited or exec'd; its return value is its exit code. Every signal
/// is blocked in the child (it inherits the caller's mask, blocked here
/// for the while): none of the runner's handlers runs in it.
///
/// # Safety
/// `child` runs on memory shared with the caller and its threads: it may
/// only make system calls on data prepared before, never allocate, take a
/// lock or unwind.
pub unsafe fn run(stack: &mut ChildStack, child: &mut dyn FnMut() -> i32) -> nix::Result<i32> {
    extern "C" fn trampoline(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` is the `&mut dyn FnMut` passed to clone below,
        // alive until the child has exited or exec'd.
        let child = unsafe { &mut *arg.cast::<&mut dyn FnMut() -> i32>() };
        child()
    }
    let mut child = child;
    let top = stack.0.as_mut_ptr().wrapping_add(stack.0.len());
    // The ABI wants a 16-byte aligned stack.
    let top = top.wrapping_sub(top as usize % 16);
    let all = nix::sys::signal::SigSet::all();
    let mut before = nix::sys::signal::SigSet::empty();
    nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&all),
        Some(&mut before),
    )?;
    // SAFETY: the stack is ours and outlives the child (CLONE_VFORK
    // returns once it has exited or exec'd); the argument is a pointer to
    // the closure reference, valid as long.
    let pid = unsafe {
        libc::clone(
            trampoline,
            top.cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&mut child as *mut &mut dyn FnMut() -> i32).cast(),
        )
    };
    let error = nix::errno::Errno::last();
    let _ = nix::sys::signal::pthread_sigmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&before),
        None,
    );
    if pid < 0 {
        Err(error)
    } else {
        Ok(pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_runs_and_its_exit_code_is_its_return_value() {
        let mut stack = ChildStack::new();
        // SAFETY: the child only returns a number.
        let pid = unsafe { run(&mut stack, &mut || 7) }.expect("a child");
        let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
        assert_eq!(
            status,
            Ok(nix::sys::wait::WaitStatus::Exited(
                nix::unistd::Pid::from_raw(pid),
                7
            ))
        );
    }
}
