//! The runner's own temporary folders (a build's output, a target's HOME
//! and staged files in the fallback, a class being graded as unpacked
//! from its archive), named for the runner's pid so that
//! those of a runner that no longer exists (killed with SIGKILL, or by
//! the OOM killer, before it could remove them) are found and removed by
//! the next runner.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Once;

/// What every such folder's name starts with.
const PREFIX: &str = "runner-";
/// The kinds of folder, each the word after the prefix.
const KINDS: [&str; 4] = ["build", "home", "staged", "class"];

/// A new temporary folder of kind `kind` (one of KINDS), removed when
/// dropped; the first call of a run first removes the stale ones.
pub fn folder(kind: &str) -> io::Result<tempfile::TempDir> {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| remove_stale(&std::env::temp_dir()));
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{kind}-{}-", std::process::id()))
        .tempdir()
}

/// Removes the folders in `dir` of runners that no longer exist and that
/// belong to this user (another user's are theirs to remove). Removal
/// does not follow links: a link a target left inside points nowhere the
/// runner will go.
fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let me = nix::unistd::geteuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(runner_pid) else {
            continue;
        };
        let ours = fs::symlink_metadata(entry.path()).is_ok_and(|m| m.is_dir() && m.uid() == me);
        if ours && pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The pid in a folder name `runner-KIND-PID-...`.
fn runner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (kind, rest) = rest.split_once('-')?;
    if !KINDS.contains(&kind) {
        return None;
    }
    rest.split_once('-')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_runners_folders_go_and_a_live_ones_stay() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut exited = std::process::Command::new("true").spawn().expect("true");
        let dead = exited.id();
        exited.wait().expect("reaped");
        let stale = tmp.path().join(format!("runner-build-{dead}-abc"));
        let live = tmp
            .path()
            .join(format!("runner-home-{}-abc", std::process::id()));
        let other = tmp.path().join(format!("something-{dead}-abc"));
        for folder in [&stale, &live, &other] {
            fs::create_dir(folder).expect("mkdir");
        }
        std::os::unix::fs::symlink("/etc", stale.join("link")).expect("a link inside");
        remove_stale(tmp.path());
        assert!(!stale.exists());
        assert!(live.exists() && other.exists());
        assert!(Path::new("/etc/passwd").exists());
    }

    #[test]
    fn only_the_runners_names_are_read_as_runners() {
        assert_eq!(runner_pid("runner-build-123-xYz"), Some(123));
        assert_eq!(runner_pid("runner-staged-9-a"), Some(9));
        assert_eq!(runner_pid("runner-class-77-a"), Some(77));
        assert_eq!(runner_pid("runner-other-123-a"), None);
        assert_eq!(runner_pid("runner-build-abc"), None);
    }
}
