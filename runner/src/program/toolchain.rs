//! Which host paths a program's own toolchain needs in the sandbox, when
//! it lives outside the system folders every sandbox shows (a JDK under
//! `/opt/jdk-21`, a Python built into `/usr/local`, a Go in
//! `/usr/local/go`): only that toolchain's folder, never its neighbours
//! (a course, a class folder or a copy of the runner kept there too).

use crate::sandbox::{HIDDEN_SYSTEM_FOLDERS, SYSTEM_FOLDERS};
use std::path::{Path, PathBuf};

/// Whether the sandbox shows `path` without being told: it lies in a
/// system folder and not in a hidden part of one (`/usr/local`).
pub fn shown_anyway(path: &Path) -> bool {
    SYSTEM_FOLDERS.iter().any(|s| path.starts_with(s))
        && !HIDDEN_SYSTEM_FOLDERS.iter().any(|h| path.starts_with(h))
}

/// The paths to show for `program` (a path, or a name looked up on the
/// runner's PATH, which the target inherits): each link on the way to
/// the real file that lies where the sandbox would not show it, and the
/// real file's installation (see `installation`). Empty for a program
/// of the system folders.
pub fn binds(program: &str) -> Vec<PathBuf> {
    let Some(start) = locate(program) else {
        return Vec::new();
    };
    let mut binds = Vec::new();
    // The links themselves (exec goes through them), each shown as a link.
    let mut current = start.clone();
    for _ in 0..40 {
        let Ok(target) = std::fs::read_link(&current) else {
            break;
        };
        if !shown_anyway(&current) {
            binds.push(current.clone());
        }
        current = current.parent().unwrap_or(Path::new("/")).join(target);
    }
    let Ok(real) = std::fs::canonicalize(&start) else {
        return binds;
    };
    if !shown_anyway(&real) {
        binds.extend(installation(&real));
    }
    binds.dedup();
    binds
}

/// Where `program` is: itself if it names a path, else the first
/// executable of that name on PATH.
fn locate(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What the real program file `real` needs of its installation. An
/// install prefix is the parent of the `bin/` folder it sits in, when
/// that parent has a `lib/` too (a JDK, a Go, a Python or Node built
/// from source): shown whole when it is the toolchain's own folder
/// (`/opt/jdk-21`, `/usr/local/go`). When the prefix is shared by
/// everything installed there (`/usr/local`, `/opt`), only the program
/// and what carries its name in `lib/` are shown (`bin/python3.11`,
/// `lib/python3.11/`, `lib/libpython3.11.so.1.0`). A program outside any
/// prefix (a submission's own executable) shows its folder.
fn installation(real: &Path) -> Vec<PathBuf> {
    let Some(folder) = real.parent() else {
        return Vec::new();
    };
    let prefix = folder
        .parent()
        .filter(|_| folder.file_name().is_some_and(|n| n == "bin"))
        .filter(|prefix| prefix.join("lib").is_dir());
    let Some(prefix) = prefix else {
        return if folder == Path::new("/") || is_shared(folder) {
            vec![real.to_path_buf()]
        } else {
            vec![folder.to_path_buf()]
        };
    };
    if !is_shared(prefix) {
        return vec![prefix.to_path_buf()];
    }
    let mut binds = vec![real.to_path_buf()];
    let Some(name) = real.file_name().and_then(|n| n.to_str()) else {
        return binds;
    };
    let lib = prefix.join("lib");
    if lib.join(name).is_dir() {
        binds.push(lib.join(name));
    }
    let shared_library = format!("lib{name}.so");
    if let Ok(entries) = std::fs::read_dir(&lib) {
        let mut libraries: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&shared_library))
            .map(|e| e.path())
            .collect();
        libraries.sort();
        binds.extend(libraries);
    }
    binds
}

/// A folder that holds many installations side by side, not one.
fn is_shared(folder: &Path) -> bool {
    folder == Path::new("/")
        || HIDDEN_SYSTEM_FOLDERS.iter().any(|h| folder == Path::new(h))
        || SHARED_ROOTS.iter().any(|r| folder == Path::new(r))
}

/// Host folders a sandbox never shows whole: a teacher keeps the course
/// there as readily as a toolchain.
const SHARED_ROOTS: &[&str] = &["/opt", "/home", "/root", "/srv", "/mnt", "/media"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_system_program_needs_nothing_more() {
        assert!(binds("/bin/sh").is_empty());
        assert!(binds("sh").is_empty());
        assert!(shown_anyway(Path::new("/usr/bin/python3")));
        assert!(!shown_anyway(Path::new("/usr/local/bin/python3")));
        assert!(!shown_anyway(Path::new("/opt/jdk-21/bin/java")));
    }

    #[test]
    fn a_toolchain_of_its_own_shows_its_prefix_and_a_shared_prefix_only_its_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A JDK of its own under a shared root, with a link to it.
        let jdk = dir.path().join("jdk-21");
        std::fs::create_dir_all(jdk.join("bin")).expect("mkdir");
        std::fs::create_dir_all(jdk.join("lib")).expect("mkdir");
        std::fs::write(jdk.join("bin/java"), "").expect("write");
        assert_eq!(installation(&jdk.join("bin/java")), vec![jdk.clone()]);
        // Without lib/, bin/ is not an install prefix's.
        let loose = dir.path().join("alice/bin");
        std::fs::create_dir_all(&loose).expect("mkdir");
        std::fs::write(loose.join("server"), "").expect("write");
        assert_eq!(installation(&loose.join("server")), vec![loose.clone()]);
        // Under /usr/local: the program and what carries its name.
        let python = Path::new("/usr/local/bin/python-made-up-9.9");
        assert_eq!(installation(python), vec![python.to_path_buf()]);
    }
}
