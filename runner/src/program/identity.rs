//! Who a target runs as when the runner is root (as graders and CI often
//! are): in a sandbox, a uid of its own (`crate::sandbox::IdLease`); in
//! the fallback, an unprivileged user (`nobody` unless told otherwise) with
//! a home folder of its own. Either way, private files it needs are staged
//! where it can read them but not change them.
//!
//! The staging area belongs to root and is never writable by the target:
//! the runner, as root, only ever writes into folders the target cannot
//! touch, so a submission cannot redirect those writes with symlinks.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The unprivileged identity targets run as, and their folders.
#[derive(Debug)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Owned by the target's user: its HOME, where it may write. Made
    /// when first needed: a sandboxed target has a private HOME instead,
    /// and a new folder costs a scan of the file system's inode bitmap.
    home: OnceLock<tempfile::TempDir>,
    /// Owned by root, readable by all: copies of private files. Made when
    /// the first file is staged.
    staging: OnceLock<tempfile::TempDir>,
    /// Source file -> its staged copy, so each file is staged once a run.
    staged: Mutex<HashMap<PathBuf, PathBuf>>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("no user `{0}` on this machine: name an unprivileged user with --user")]
    NoSuchUser(String),
    #[error("--user {0}: submissions never run as root; name an unprivileged user")]
    Root(String),
    #[error("cannot prepare folders for the target's user: {0}")]
    Folders(std::io::Error),
}

impl Identity {
    /// The sandbox for this run: None when the runner is not root (then the
    /// limits bind the runner's own unprivileged user).
    pub fn for_this_run(user: &str) -> Result<Option<Identity>, IdentityError> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(None);
        }
        let entry = nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .ok_or_else(|| IdentityError::NoSuchUser(user.to_string()))?;
        if entry.uid.is_root() {
            return Err(IdentityError::Root(user.to_string()));
        }
        // The temporary folder must be usable before anything runs: a
        // run that could not stage a file would fail case by case.
        let temp = std::env::temp_dir();
        nix::unistd::access(
            &temp,
            nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
        )
        .map_err(|e| IdentityError::Folders(e.into()))?;
        Ok(Some(Identity {
            uid: entry.uid.as_raw(),
            gid: entry.gid.as_raw(),
            home: OnceLock::new(),
            staging: OnceLock::new(),
            staged: Mutex::new(HashMap::new()),
        }))
    }

    /// The target's HOME, the one folder it may write to.
    pub fn home(&self) -> std::io::Result<&Path> {
        let (uid, gid) = (self.uid, self.gid);
        let home = made_once(&self.home, "home", |dir| {
            nix::unistd::chown(dir, Some(uid.into()), Some(gid.into())).map_err(Into::into)
        })?;
        Ok(home)
    }

    /// The staging area, readable by all and writable by root only.
    fn staging(&self) -> std::io::Result<&Path> {
        made_once(&self.staging, "staged", |dir| {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
        })
    }

    /// Rewrites `argv` so that every file it names is readable by the
    /// target's user: files behind folders that user cannot enter are
    /// copied (with their sibling files, for imports) into the staging
    /// area, once a run. Other files get absolute paths.
    pub fn stage(&self, argv: &[String]) -> std::io::Result<Vec<String>> {
        argv.iter()
            .map(|arg| {
                let path = Path::new(arg);
                if !path.is_file() {
                    return Ok(arg.clone());
                }
                let source = fs::canonicalize(path)?;
                if reachable_by_others(&source) {
                    return Ok(source.display().to_string());
                }
                self.staged_copy(&source)
                    .map(|staged| staged.display().to_string())
            })
            .collect()
    }

    fn staged_copy(&self, source: &Path) -> std::io::Result<PathBuf> {
        // Held while copying: specs running side by side stage each file
        // once, and never see a half-staged folder.
        let mut staged = self.staged.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(copy) = staged.get(source) {
            return Ok(copy.clone());
        }
        let folder = source.parent().unwrap_or(Path::new("/"));
        let index = staged.len();
        let target_folder = self.staging()?.join(format!("{index}"));
        fs::create_dir(&target_folder)?;
        fs::set_permissions(&target_folder, fs::Permissions::from_mode(0o755))?;
        let mut budget: u64 = SIBLING_BUDGET;
        for entry in fs::read_dir(folder)?.flatten() {
            let sibling = entry.path();
            // Not following links: a link in a submission's folder could
            // point anywhere, even at files only root may read.
            let Ok(metadata) = fs::symlink_metadata(&sibling) else {
                continue;
            };
            if !metadata.is_file() || metadata.len() > budget {
                continue;
            }
            budget -= metadata.len();
            let copy = target_folder.join(entry.file_name());
            copy_readable(&sibling, &copy, metadata.mode())?;
            if let Ok(canonical) = fs::canonicalize(&sibling) {
                staged.insert(canonical, copy);
            }
        }
        let copy = target_folder.join(source.file_name().unwrap_or_default());
        if !copy.exists() {
            let mode = fs::metadata(source)?.mode();
            copy_readable(source, &copy, mode)?;
        }
        staged.insert(source.to_path_buf(), copy.clone());
        Ok(copy)
    }
}

/// The folder in `cell`, made (a scratch folder of `kind`, then `prepare`d)
/// on the first call. Two threads racing to make it each make one; the
/// loser's is removed at once.
fn made_once<'a>(
    cell: &'a OnceLock<tempfile::TempDir>,
    kind: &str,
    prepare: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<&'a Path> {
    if let Some(dir) = cell.get() {
        return Ok(dir.path());
    }
    let dir = super::scratch::folder(kind)?;
    prepare(dir.path())?;
    let _ = cell.set(dir);
    Ok(cell.get().expect("set just now").path())
}

/// How many bytes of a submission's sibling files are staged with it.
const SIBLING_BUDGET: u64 = 16 << 20;

/// Copies a file into a fresh file (never through an existing name or a
/// link), readable, and executable if it was, by everyone.
fn copy_readable(from: &Path, to: &Path, mode: u32) -> std::io::Result<()> {
    let executable = mode & 0o111 != 0;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if executable { 0o755 } else { 0o644 })
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(to)?;
    file.write_all(&fs::read(from)?)
}

/// `argv` with every argument that names a file made absolute: the target
/// starts in its submission's folder, where relative paths would no
/// longer lead to the files.
pub fn absolute_files(argv: &[String]) -> Vec<String> {
    argv.iter()
        .map(|arg| {
            let path = Path::new(arg);
            match fs::canonicalize(path) {
                Ok(absolute) if path.is_file() => absolute.display().to_string(),
                _ => arg.clone(),
            }
        })
        .collect()
}

/// The folder a target starts in: that of the first file the command
/// names (the submission, as when a student runs `python3 server.py` in
/// their folder), or None to keep the runner's own.
pub fn submission_dir(argv: &[String]) -> Option<PathBuf> {
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
        .map(Path::to_path_buf)
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

    #[test]
    fn a_copy_never_goes_through_an_existing_name_or_link() {
        let dir = tempfile::tempdir().expect("temp dir");
        let victim = dir.path().join("victim");
        fs::write(&victim, "secret").expect("write");
        let source = dir.path().join("source");
        fs::write(&source, "payload").expect("write");
        let planted = dir.path().join("planted");
        std::os::unix::fs::symlink(&victim, &planted).expect("symlink");
        assert!(copy_readable(&source, &planted, 0o644).is_err());
        assert_eq!(fs::read_to_string(&victim).expect("read"), "secret");
    }

    #[test]
    fn the_submission_folder_is_that_of_the_first_file_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("server.py");
        fs::write(&file, "").expect("write");
        let argv = vec![String::from("/usr/bin/python3"), file.display().to_string()];
        assert_eq!(submission_dir(&argv).as_deref(), Some(dir.path()));
    }
}
