//! What Linux's /proc says about a target without touching it: the
//! processes of its group, their CPU time, and the sockets they listen on.

use std::collections::HashSet;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Fields of /proc/PID/stat after the command name.
struct Stat {
    /// R, S, D, Z (zombie), ...
    state: char,
    parent: i32,
    process_group: i32,
    /// utime + stime, in clock ticks.
    cpu_ticks: u64,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces.
    let after_name = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): pgrp is field 5, utime 14, stime 15.
    Some(Stat {
        state: fields.first()?.chars().next()?,
        parent: fields.get(1)?.parse().ok()?,
        process_group: fields.get(2)?.parse().ok()?,
        cpu_ticks: fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?,
    })
}

/// Every live process of the group led by `leader`, and every live
/// descendant of the leader even if it left the group (`setsid`).
pub fn tree_members(leader: i32) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let all: Vec<(i32, Stat)> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .filter(|(_, s)| !matches!(s.state, 'Z' | 'X'))
        .collect();
    let mut members: Vec<i32> = all
        .iter()
        .filter(|(pid, s)| s.process_group == leader || *pid == leader)
        .map(|(pid, _)| *pid)
        .collect();
    // Follow parent links until no new descendant turns up.
    loop {
        let before = members.len();
        for (pid, s) in &all {
            if members.contains(&s.parent) && !members.contains(pid) {
                members.push(*pid);
            }
        }
        if members.len() == before {
            return members;
        }
    }
}

/// Live processes whose environment holds `entry` (`NAME=value`): a
/// target's processes carry a marker variable, so even one that left the
/// process group and lost its parent (setsid, double fork) is found.
pub fn processes_with_env(entry: &str) -> Vec<i32> {
    processes_with_env_where(|var| var == entry.as_bytes())
}

/// Live processes with an environment variable starting with `prefix`.
pub fn processes_with_env_prefix(prefix: &str) -> Vec<i32> {
    processes_with_env_where(|var| var.starts_with(prefix.as_bytes()))
}

fn processes_with_env_where(wanted: impl Fn(&[u8]) -> bool) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| stat(*pid).is_some_and(|s| !matches!(s.state, 'Z' | 'X')))
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.split(|b| *b == 0).any(&wanted))
        })
        .collect()
}

/// Threads (the kernel's unit for RLIMIT_NPROC) of all processes whose
/// real user is `uid`.
pub fn threads_of_user(uid: u32) -> u64 {
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next())
                .is_some_and(|real| real == uid.to_string())
        })
        .filter_map(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse::<u64>().ok())
        })
        .sum()
}

/// The runner's own children, zombies included, from the kernel's list
/// (cheap, unlike a walk over /proc); falls back to that walk.
pub fn own_children() -> Vec<i32> {
    let Ok(tasks) = fs::read_dir("/proc/self/task") else {
        return children_of(std::process::id() as i32);
    };
    let mut children = Vec::new();
    for task in tasks.flatten() {
        match fs::read_to_string(task.path().join("children")) {
            Ok(list) => children.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            ),
            Err(_) => return children_of(std::process::id() as i32),
        }
    }
    children
}

/// Processes whose parent is `parent`, zombies included, from the
/// kernel's list of each of its threads' children (no walk of `/proc`).
pub fn children_of(parent: i32) -> Vec<i32> {
    let Ok(threads) = fs::read_dir(format!("/proc/{parent}/task")) else {
        return Vec::new();
    };
    let mut children = Vec::new();
    for thread in threads.flatten() {
        let listed = fs::read_to_string(thread.path().join("children")).unwrap_or_default();
        for child in listed
            .split_whitespace()
            .filter_map(|c| c.parse::<i32>().ok())
        {
            if !children.contains(&child) {
                children.push(child);
            }
        }
    }
    children
}

/// `root` and every process that descends from it. A process whose
/// parent died is adopted by a sandbox's init (or the runner's
/// subreaper), so it stays in the tree.
pub fn descendants(root: i32) -> Vec<i32> {
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        for child in children_of(found[next]) {
            if !found.contains(&child) {
                found.push(child);
            }
        }
        next += 1;
    }
    found
}

pub fn is_zombie(pid: i32) -> bool {
    stat(pid).is_some_and(|s| s.state == 'Z')
}

/// Whether `pid` is no live process: a zombie, dying, or gone.
pub fn is_gone(pid: i32) -> bool {
    stat(pid).is_none_or(|s| matches!(s.state, 'Z' | 'X'))
}

/// CPU time used so far by the live processes `pids`.
pub fn cpu_time(pids: &[i32]) -> Duration {
    let ticks: u64 = pids
        .iter()
        .filter_map(|pid| stat(*pid))
        .map(|s| s.cpu_ticks)
        .sum();
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|t| *t > 0)
        .unwrap_or(100) as u64;
    Duration::from_nanos(ticks.saturating_mul(1_000_000_000) / per_second)
}

/// For every thread of the given processes, how long it has been
/// runnable: running, or ready and waiting for a CPU
/// (`/proc/PID/task/TID/schedstat`). A thread that spins is runnable all
/// the time however busy the machine is, while its CPU time shrinks with
/// the CPUs it has to share: this is what tells a busy loop from a program
/// waiting for input on a loaded machine. Keyed by thread id.
pub fn runnable_times(pids: &[i32]) -> std::collections::HashMap<i32, Duration> {
    let mut times = std::collections::HashMap::new();
    for pid in pids {
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            let Ok(text) = fs::read_to_string(task.path().join("schedstat")) else {
                continue;
            };
            let mut fields = text
                .split_whitespace()
                .map(|f| f.parse::<u64>().unwrap_or(0));
            let (running, waiting) = (fields.next().unwrap_or(0), fields.next().unwrap_or(0));
            times.insert(tid, Duration::from_nanos(running.saturating_add(waiting)));
        }
    }
    times
}

/// Socket inodes held open by the given processes.
fn socket_inodes(pids: &[i32]) -> HashSet<u64> {
    let mut inodes = HashSet::new();
    for pid in pids {
        let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(link) = fs::read_link(fd.path()) {
                let link = link.to_string_lossy();
                if let Some(inode) = link
                    .strip_prefix("socket:[")
                    .and_then(|rest| rest.strip_suffix(']'))
                    .and_then(|n| n.parse().ok())
                {
                    inodes.insert(inode);
                }
            }
        }
    }
    inodes
}

/// Which kind of socket to look for.
#[derive(Debug, Clone, Copy)]
pub enum SocketKind {
    /// A TCP socket in the LISTEN state.
    TcpListening,
    /// A bound UDP socket.
    UdpBound,
}

/// Local addresses of the sockets of `kind` owned by the processes
/// `owners`, as listed in the socket tables of the folder `tables`
/// (`/proc/net`, or `/proc/thread-self/net` for the network namespace of
/// the calling thread).
pub fn sockets_of(owners: &[i32], tables: &str, kind: SocketKind) -> Vec<SocketAddr> {
    let inodes = socket_inodes(owners);
    if inodes.is_empty() {
        return Vec::new();
    }
    let (names, wanted_state) = match kind {
        SocketKind::TcpListening => (["tcp", "tcp6"], Some("0A")),
        SocketKind::UdpBound => (["udp", "udp6"], None),
    };
    let mut found = Vec::new();
    for name in names {
        let Ok(text) = fs::read_to_string(format!("{tables}/{name}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) =
                (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let state_ok = wanted_state.is_none_or(|wanted| *state == wanted);
            let owned = inode.parse::<u64>().is_ok_and(|i| inodes.contains(&i));
            if state_ok && owned {
                if let Some(addr) = parse_address(local) {
                    found.push(addr);
                }
            }
        }
    }
    found
}

/// Whether a TCP connection whose local address is `addr` (or the same
/// port on any address) sits in TIME_WAIT: a program that binds `addr`
/// without SO_REUSEADDR then fails with "Address already in use".
pub fn time_wait_on(addr: SocketAddr) -> bool {
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let local = fields.get(1).and_then(|l| parse_address(l));
                fields.get(3) == Some(&"06")
                    && local.is_some_and(|l| {
                        l.port() == addr.port() && (l.ip() == addr.ip() || l.ip().is_unspecified())
                    })
            })
        })
    })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits + port (IPv6), as the kernel
/// writes them: each 32-bit word in host byte order.
fn parse_address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    // The kernel prints each 32-bit word of the address as a native-endian
    // integer: reading it back the same way restores the network-order bytes.
    let bytes: Vec<u8> = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<Vec<u32>>>()?
        .into_iter()
        .flat_map(u32::to_ne_bytes)
        .collect();
    let ip = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_addresses() {
        assert_eq!(
            parse_address("0100007F:1F90"),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            parse_address("0101017F:22C4"),
            Some("127.1.1.1:8900".parse().unwrap())
        );
        assert_eq!(
            parse_address("00000000000000000000000001000000:0050"),
            Some("[::1]:80".parse().unwrap())
        );
    }

    #[test]
    fn sees_a_listening_socket_of_this_process() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let own = [std::process::id() as i32];
        assert!(sockets_of(&own, "/proc/net", SocketKind::TcpListening).contains(&addr));
        // Some work, so that at least one clock tick is counted.
        let start = std::time::Instant::now();
        while cpu_time(&own).is_zero() && start.elapsed() < Duration::from_secs(5) {}
        assert!(!cpu_time(&own).is_zero());
    }
}
