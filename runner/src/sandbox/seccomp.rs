//! The system calls a socket assignment never needs, refused to every
//! program of a target: the ones container runtimes (Docker's default
//! profile, bubblewrap's, nsjail's) refuse, because they reach kernel
//! state shared with the rest of the machine (keyrings, modules, mounts,
//! clocks, the terminal's input queue) or widen the kernel's attack
//! surface (bpf, perf, userfaultfd).
//!
//! A refused call fails with EPERM, as it would for an unprivileged user,
//! so a program that merely probes (a runtime asking for a new user
//! namespace) carries on. `clone3` fails with ENOSYS instead: its flags
//! lie in memory a filter cannot read, and on ENOSYS libc falls back to
//! `clone`, whose flags the filter does read (as Docker does it).
//!
//! The filter is compiled before the fork (compiling allocates) and only
//! installed between fork and exec.

use nix::libc;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};
use std::collections::BTreeMap;

/// System calls refused whatever their arguments.
const REFUSED: &[i64] = &[
    // Keyrings: shared with every process of the same user.
    libc::SYS_add_key,
    libc::SYS_keyctl,
    libc::SYS_request_key,
    // Kernel programs, tracing and page-fault handling.
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    // Kernels and modules.
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    // Other processes' memory.
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_kcmp,
    // Mounts, old and new interface, and namespaces.
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_open_tree,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_setns,
    libc::SYS_unshare,
    // Files by handle, around the sandbox's view of the filesystem.
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_fanotify_init,
    // io_uring: a large kernel surface that container runtimes refuse
    // for its record of exploits, and whose requests pass by this filter;
    // runtimes that try it (libuv, Node) fall back to plain calls.
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    // The machine itself.
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_reboot,
    libc::SYS_acct,
    libc::SYS_quotactl,
    libc::SYS_lookup_dcookie,
    libc::SYS_syslog,
    libc::SYS_vhangup,
    // Setting the clocks. adjtimex and clock_adjtime stay: glibc's
    // ntp_gettime reads the clock's state through them (modes 0), a
    // filter cannot look inside their struct, and without CAP_SYS_TIME,
    // which no program has, the kernel refuses every change they ask.
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
];

/// personality() values programs use: the default, the query, and what
/// `setarch -R` (no address randomisation) and `uname26` set.
const USUAL_PERSONALITIES: &[u64] = &[0, 0x0008, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// The x32 ABI's bit in a system call number: the same calls under other
/// numbers, on kernels built with it.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: i64 = 0x4000_0000;
/// x32's own numbers for ioctl and process_vm_readv/writev.
#[cfg(target_arch = "x86_64")]
const X32_OWN: &[i64] = &[514, 539, 540];

/// The compiled filter, ready to be installed.
#[derive(Clone)]
pub struct Filter {
    /// Everything refused with EPERM.
    refused: BpfProgram,
    /// clone3, refused with ENOSYS.
    clone3: BpfProgram,
}

impl Filter {
    /// Compiles the filter for the machine's architecture. Allocates:
    /// call it before the fork.
    pub fn compile() -> Result<Filter, String> {
        let failed =
            |e: seccompiler::BackendError| format!("cannot compile the seccomp filter: {e}");
        let arch = TargetArch::try_from(std::env::consts::ARCH)
            .map_err(|e| format!("no seccomp filter for this machine: {e}"))?;
        let refused = SeccompFilter::new(
            refused_rules().map_err(failed)?,
            SeccompAction::Allow,
            SeccompAction::Errno(libc::EPERM as u32),
            arch,
        )
        .map_err(failed)?;
        let clone3 = SeccompFilter::new(
            BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
            SeccompAction::Allow,
            SeccompAction::Errno(libc::ENOSYS as u32),
            arch,
        )
        .map_err(failed)?;
        Ok(Filter {
            refused: refused.try_into().map_err(failed)?,
            clone3: clone3.try_into().map_err(failed)?,
        })
    }

    /// Installs the filter on the calling thread, which it keeps across
    /// exec, as do all its children. Needs no_new_privs (or it sets it).
    /// Only prctl and seccomp system calls on the compiled program: safe
    /// between fork and exec.
    pub fn install(&self) -> std::io::Result<()> {
        for program in [&self.refused, &self.clone3] {
            seccompiler::apply_filter(program).map_err(|e| match e {
                seccompiler::Error::Seccomp(e) | seccompiler::Error::Prctl(e) => e,
                _ => std::io::Error::from_raw_os_error(libc::EINVAL),
            })?;
        }
        Ok(())
    }
}

fn refused_rules() -> Result<BTreeMap<i64, Vec<SeccompRule>>, seccompiler::BackendError> {
    let argument = |index, operator, value| {
        SeccompCondition::new(index, SeccompCmpArgLen::Dword, operator, value)
    };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        REFUSED.iter().map(|&number| (number, Vec::new())).collect();
    // A new user namespace would give back every capability inside it.
    let new_user = libc::CLONE_NEWUSER as u64;
    rules.insert(
        libc::SYS_clone,
        vec![SeccompRule::new(vec![argument(
            0,
            SeccompCmpOp::MaskedEq(new_user),
            new_user,
        )?])?],
    );
    // TIOCSTI pushes characters into a terminal's input, as if typed;
    // TIOCLINUX does that and more on a virtual console. The kernel
    // compares the request as 32 bits, and so does the filter.
    // The requests' type is an int on musl, an unsigned long on glibc.
    #[allow(clippy::unnecessary_cast)]
    let requests = [libc::TIOCSTI as u64, libc::TIOCLINUX as u64];
    let ioctl: Vec<SeccompRule> = requests
        .into_iter()
        .map(|request| SeccompRule::new(vec![argument(1, SeccompCmpOp::Eq, request)?]))
        .collect::<Result<_, _>>()?;
    rules.insert(libc::SYS_ioctl, ioctl);
    let unusual = USUAL_PERSONALITIES
        .iter()
        .map(|&value| argument(0, SeccompCmpOp::Ne, value))
        .collect::<Result<_, _>>()?;
    rules.insert(libc::SYS_personality, vec![SeccompRule::new(unusual)?]);
    #[cfg(target_arch = "x86_64")]
    {
        let mut x32: Vec<(i64, Vec<SeccompRule>)> = rules
            .iter()
            .map(|(number, chain)| (number | X32_SYSCALL_BIT, chain.clone()))
            .collect();
        for number in X32_OWN {
            let chain = if *number == 514 {
                rules[&libc::SYS_ioctl].clone()
            } else {
                Vec::new()
            };
            x32.push((number | X32_SYSCALL_BIT, chain));
        }
        rules.extend(x32);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_compiles_for_this_machine() {
        let filter = Filter::compile().expect("compiles");
        assert!(!filter.refused.is_empty() && !filter.clone3.is_empty());
    }
}
