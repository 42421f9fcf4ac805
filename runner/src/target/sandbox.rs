//! Who a target runs as. Graders and CI often run as root, and root is
//! exempt from the process limit: so when the runner is root, targets run
//! as an unprivileged user (`nobody` unless told otherwise), in a work
//! folder of their own, with private files they need staged where that
//! user can read them.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The unprivileged identity targets run as, and their work folder.
#[derive(Debug)]
pub struct Sandbox {
    pub uid: u32,
    pub gid: u32,
    pub user: String,
    /// Owned by the target's user; its current directory and HOME.
    workdir: tempfile::TempDir,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("no user `{0}` on this machine: name an unprivileged user with --user")]
    NoSuchUser(String),
    #[error("--user {0}: submissions never run as root; name an unprivileged user")]
    Root(String),
    #[error("cannot prepare a work folder for the target's user: {0}")]
    Workdir(std::io::Error),
}

impl Sandbox {
    /// The sandbox for this run: None when the runner is not root (then the
    /// limits bind the runner's own unprivileged user).
    pub fn for_this_run(user: &str) -> Result<Option<Sandbox>, SandboxError> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(None);
        }
        let entry = nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .ok_or_else(|| SandboxError::NoSuchUser(user.to_string()))?;
        if entry.uid.is_root() {
            return Err(SandboxError::Root(user.to_string()));
        }
        let workdir = tempfile::Builder::new()
            .prefix("runner-target-")
            .tempdir()
            .map_err(SandboxError::Workdir)?;
        nix::unistd::chown(workdir.path(), Some(entry.uid), Some(entry.gid))
            .map_err(|e| SandboxError::Workdir(e.into()))?;
        Ok(Some(Sandbox {
            uid: entry.uid.as_raw(),
            gid: entry.gid.as_raw(),
            user: user.to_string(),
            workdir,
        }))
    }

    pub fn workdir(&self) -> &Path {
        self.workdir.path()
    }

    /// Where a target given `argv` (already staged) starts: the folder of
    /// the first file it names, as when a student runs `python3 server.py`
    /// in their folder, else the work folder.
    pub fn current_dir(&self, argv: &[String]) -> PathBuf {
        let system = |path: &Path| {
            ["/usr", "/bin", "/sbin", "/lib"]
                .iter()
                .any(|d| path.starts_with(d))
        };
        let program = argv.first().map(Path::new).into_iter();
        argv.iter()
            .skip(1)
            .map(Path::new)
            .chain(program)
            .find(|path| path.is_absolute() && path.is_file() && !system(path))
            .and_then(Path::parent)
            .filter(|dir| reachable_by_others(dir) || dir.starts_with(self.workdir()))
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.workdir().to_path_buf())
    }

    /// Rewrites `argv` so that every file it names is readable by the
    /// target's user: files behind folders that user cannot enter are
    /// copied (with their sibling files, for imports) into the work folder.
    pub fn stage(&self, argv: &[String]) -> std::io::Result<Vec<String>> {
        argv.iter()
            .map(|arg| {
                let path = Path::new(arg);
                if !path.is_file() {
                    return Ok(arg.clone());
                }
                // The target runs in the work folder: relative paths would
                // no longer lead to the file.
                if reachable_by_others(path) {
                    return Ok(fs::canonicalize(path)?.display().to_string());
                }
                self.stage_file(path)
                    .map(|staged| staged.display().to_string())
            })
            .collect()
    }

    fn stage_file(&self, path: &Path) -> std::io::Result<PathBuf> {
        let source = fs::canonicalize(path)?;
        let folder = source.parent().unwrap_or(Path::new("/"));
        // One staging folder per source folder, so siblings stay siblings.
        let name = format!("{:x}", fxhash(folder.as_os_str().as_encoded_bytes()));
        let staged_folder = self.workdir().join(name);
        // Specs may run side by side: the first to create the folder
        // stages the siblings; every copy lands by an atomic rename.
        let created = match fs::create_dir(&staged_folder) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(e),
        };
        if created {
            fs::set_permissions(&staged_folder, fs::Permissions::from_mode(0o755))?;
            let mut budget: u64 = SIBLING_BUDGET;
            for entry in fs::read_dir(folder)?.flatten() {
                let sibling = entry.path();
                let Ok(metadata) = entry.metadata() else {
                    continue;
                };
                if !metadata.is_file() || sibling == source {
                    continue;
                }
                if metadata.len() > budget {
                    continue;
                }
                budget -= metadata.len();
                copy_readable(&sibling, &staged_folder.join(entry.file_name()))?;
            }
        }
        let staged = staged_folder.join(source.file_name().unwrap_or_default());
        if !staged.exists() {
            copy_readable(&source, &staged)?;
        }
        Ok(staged)
    }
}

/// How many bytes of a submission's sibling files are staged with it.
const SIBLING_BUDGET: u64 = 16 << 20;

/// Copies a file, readable (and executable, if it was) by everyone. The
/// copy appears whole or not at all (written aside, then renamed).
fn copy_readable(from: &Path, to: &Path) -> std::io::Result<()> {
    let aside = to.with_extension(format!(
        "partial-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    fs::copy(from, &aside)?;
    let executable = fs::metadata(from)?.permissions().mode() & 0o111 != 0;
    let mode = if executable { 0o755 } else { 0o644 };
    fs::set_permissions(&aside, fs::Permissions::from_mode(mode))?;
    fs::rename(&aside, to)
}

/// True when a user who is neither the owner nor in the group can read
/// `path`: every folder above it is searchable by others and the file is
/// readable by others.
pub fn reachable_by_others(path: &Path) -> bool {
    let Ok(path) = fs::canonicalize(path) else {
        return false;
    };
    let readable = fs::metadata(&path).is_ok_and(|m| m.mode() & 0o004 != 0);
    readable
        && path
            .ancestors()
            .skip(1)
            .all(|dir| fs::metadata(dir).is_ok_and(|m| m.mode() & 0o001 != 0))
}

/// A small stable hash for folder names (FxHash's mixing step).
fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |hash, byte| {
        (hash.rotate_left(5) ^ u64::from(*byte)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_in_a_private_folder_is_not_reachable() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        let file = dir.path().join("server.py");
        fs::write(&file, "print()").expect("write");
        assert!(!reachable_by_others(&file));
        assert!(reachable_by_others(Path::new("/bin/sh")));
    }
}
