//! The limits a target runs under, as given (spec, command line,
//! defaults): the sandbox holds them with cgroups and setrlimit (see
//! `crate::sandbox::Rlimits`), the runner with its own deadlines.

use std::time::Duration;

/// Limits on one target process (and, for processes, its user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU time per process; SIGXCPU at the limit, SIGKILL a second later.
    pub cpu: Duration,
    /// Resident memory of the whole sandbox, in bytes (a cgroup limit);
    /// where no cgroup can be written, the data size of each process.
    pub memory: u64,
    /// Processes and threads of the whole sandbox (a cgroup limit); where
    /// no cgroup can be written, what the target may add to its user's.
    pub processes: u64,
    /// Largest file the target may write, in bytes.
    pub file_size: u64,
    /// Bytes of each output stream kept whole (for matching and reports);
    /// past them only the last 64 KiB are kept, and the rest is counted.
    pub output: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            cpu: Duration::from_secs(10),
            memory: 1 << 30,
            processes: 64,
            file_size: 64 << 20,
            output: 1 << 20,
        }
    }
}

/// Below this much address space not even an interpreter starts: a
/// smaller memory limit would fail every program for the limit's sake.
pub const MIN_MEMORY: u64 = 16 << 20;

/// A size for people: `512 MiB`, `1 GiB`, `4096 bytes`.
pub fn show_size(bytes: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// Parses a size such as `512MiB`, `1GiB`, `1G`, `64M`, `4096`.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(scale).filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("-1M"), None);
        assert_eq!(parse_size("12 parsecs"), None);
        assert_eq!(show_size(512 << 20), "512 MiB");
        assert_eq!(show_size(1 << 30), "1 GiB");
        assert_eq!(show_size(1000), "1000 bytes");
    }
}
