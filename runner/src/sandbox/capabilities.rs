//! Capabilities across the sandbox's execs. The sandbox starter needs
//! them for its inits to build the sandbox; the program must have none,
//! whatever it execs.

use nix::libc;

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Sets {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const VERSION_3: u32 = 0x2008_0522;
const LAST_CAPABILITY: libc::c_ulong = 63;

fn get() -> Option<[Sets; 2]> {
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut sets = [Sets::default(); 2];
    // SAFETY: capget with a version-3 header and room for two sets.
    let done = unsafe { libc::syscall(libc::SYS_capget, &header, sets.as_mut_ptr()) };
    (done == 0).then_some(sets)
}

fn set(sets: &[Sets; 2]) {
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    // SAFETY: capset with a version-3 header and two sets.
    unsafe { libc::syscall(libc::SYS_capset, &header, sets.as_ptr()) };
}

/// Makes every permitted capability inheritable and ambient, so that it
/// survives the exec of a program that is not setuid. Only system calls
/// on the stack: safe between fork and exec.
pub fn keep_across_exec() {
    let Some(mut sets) = get() else {
        return;
    };
    for set_ in &mut sets {
        set_.inheritable = set_.permitted;
    }
    set(&sets);
    for capability in 0..=LAST_CAPABILITY {
        // SAFETY: prctl with integer arguments; a capability the kernel
        // does not know is refused, harmlessly.
        unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                capability,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
    }
}

/// Clears the ambient and inheritable sets and the bounding set: after
/// exec, a program running as a uid other than 0 has no capability, and
/// no setuid or file capability can give it one.
pub fn drop_all() {
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    for capability in 0..=LAST_CAPABILITY {
        // SAFETY: as above.
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, capability, 0, 0, 0) };
    }
    if let Some(mut sets) = get() {
        for set_ in &mut sets {
            set_.inheritable = 0;
        }
        set(&sets);
    }
}

/// Gives up every capability the process holds (effective, permitted,
/// inheritable), as an exec as a uid other than 0 does after `drop_all`:
/// for a program that runs without one.
pub fn give_up_held() -> std::io::Result<()> {
    let header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let none = [Sets::default(); 2];
    // SAFETY: capset with a version-3 header and two sets.
    let done = unsafe { libc::syscall(libc::SYS_capset, &header, none.as_ptr()) };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
