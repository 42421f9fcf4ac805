//! A class on disk: one folder per student, the program files in each, and
//! a fingerprint of what a student handed in (for `--resume`).

use crate::speclang::pattern::FilePattern;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A student: their name, the LMS's id for them (empty where the class
/// layout has none), and the folder holding their files.
#[derive(Debug, Clone)]
pub struct Student {
    pub name: String,
    pub lms_id: String,
    pub dir: PathBuf,
    /// What the teacher should know about how the submission was read
    /// (an archive refused), added to the student's note.
    pub notes: Vec<String>,
}

/// The students of `submissions`, sorted by name: every folder in it but
/// hidden ones (`.git`) and `skip` (an output folder placed inside).
pub fn students(submissions: &Path, skip: Option<&Path>) -> std::io::Result<Vec<Student>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(submissions)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !path.is_dir() {
            continue;
        }
        if skip.is_some_and(|skip| same_file(&path, skip)) {
            continue;
        }
        found.push(Student {
            name,
            lms_id: String::new(),
            dir: path,
            notes: Vec::new(),
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

pub use crate::speclang::pattern::SEARCH_DEPTH;

/// Why a student's program cannot be graded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    None {
        pattern: String,
        present: Vec<String>,
    },
    Several {
        pattern: String,
        matches: Vec<String>,
    },
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::None { pattern, present } if present.is_empty() => {
                write!(f, "no file matches `{pattern}`: the folder holds no files")
            }
            Missing::None { pattern, present } => write!(
                f,
                "no file matches `{pattern}` (the folder holds {})",
                shorten_list(present)
            ),
            Missing::Several { pattern, matches } => write!(
                f,
                "{} files match `{pattern}` ({}): keep one, or give a narrower --file",
                matches.len(),
                shorten_list(matches)
            ),
        }
    }
}

fn shorten_list(names: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

/// The one file in `dir` whose name matches `pattern`: looked for at the
/// top first, then one level deeper at a time; several at the shallowest
/// level that has any is ambiguous.
pub fn find_program(dir: &Path, pattern: &FilePattern) -> Result<PathBuf, Missing> {
    let mut level = vec![dir.to_path_buf()];
    let mut present = Vec::new();
    for _ in 0..SEARCH_DEPTH {
        let mut matches = Vec::new();
        let mut deeper = Vec::new();
        for folder in &level {
            for (path, is_dir) in visible_entries(folder) {
                let inside = path.strip_prefix(dir).unwrap_or(&path);
                let relative = inside.display().to_string();
                if is_dir {
                    deeper.push(path);
                } else if pattern.matches(inside) {
                    matches.push((relative, path));
                } else {
                    present.push(relative);
                }
            }
        }
        matches.sort();
        match matches.len() {
            0 => level = deeper,
            1 => return Ok(matches.remove(0).1),
            _ => {
                return Err(Missing::Several {
                    pattern: pattern.as_str().to_string(),
                    matches: matches.into_iter().map(|(relative, _)| relative).collect(),
                })
            }
        }
    }
    present.sort();
    Err(Missing::None {
        pattern: pattern.as_str().to_string(),
        present,
    })
}

/// Entries of a folder that a student meant to hand in: not hidden, not
/// an archive tool's metadata. Symbolic links count as what they are, not
/// what they point to (a link is never a folder to descend into).
fn visible_entries(folder: &Path) -> Vec<(PathBuf, bool)> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, bool)> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && name != "__MACOSX" && name != "__pycache__"
        })
        .filter_map(|e| {
            let kind = e.file_type().ok()?;
            // A FIFO or socket is no program, and opening one could block.
            (kind.is_dir() || kind.is_file() || kind.is_symlink())
                .then(|| (e.path(), kind.is_dir()))
        })
        .collect();
    found.sort();
    found
}

/// Most files and folders a fingerprint walks, and most bytes it reads.
/// A submission is a few source files; past these it is not read whole
/// (a folder of a million files, or a 10 GiB file, would stall `--resume`
/// for every later run).
pub const FINGERPRINT_MAX_ENTRIES: usize = 10_000;
pub const FINGERPRINT_MAX_BYTES: u64 = 256 << 20;

/// A digest of everything in a student's folder: relative paths, whether
/// each file is executable, and contents. Symbolic links are hashed as
/// their target path, never followed. A folder over the caps above, or
/// holding a sparse file (a large size with few blocks on disk: cheap to
/// make, slow to read), is not hashed: the error says why.
pub fn fingerprint(dir: &Path, hasher: &mut Sha256) -> Result<(), String> {
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    let mut entries_seen = 0usize;
    while let Some(folder) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            entries_seen += 1;
            if entries_seen > FINGERPRINT_MAX_ENTRIES {
                return Err(format!(
                    "the submission holds more than {FINGERPRINT_MAX_ENTRIES} files and folders"
                ));
            }
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => stack.push(entry.path()),
                Ok(_) => files.push(entry.path()),
                Err(_) => {}
            }
        }
    }
    files.sort();
    // Sizes first, from metadata: nothing is read of a folder over the cap.
    let mut listed = Vec::with_capacity(files.len());
    let mut total: u64 = 0;
    for path in files {
        use std::os::unix::fs::MetadataExt;
        let metadata = std::fs::symlink_metadata(&path).ok();
        if let Some(metadata) = metadata.as_ref().filter(|m| m.is_file()) {
            let relative = path.strip_prefix(dir).unwrap_or(&path);
            if is_sparse(metadata.len(), metadata.blocks()) {
                return Err(format!(
                    "{} is a sparse file ({} bytes, {} on disk)",
                    crate::text::escape_controls(&relative.to_string_lossy(), |_| false),
                    crate::bounded::thousands(metadata.len()),
                    crate::bounded::thousands(metadata.blocks() * 512)
                ));
            }
            total = total.saturating_add(metadata.len());
        }
        listed.push((path, metadata));
    }
    if total > FINGERPRINT_MAX_BYTES {
        return Err(format!(
            "the submission holds {} bytes, more than {}",
            crate::bounded::thousands(total),
            crate::program::show_size(FINGERPRINT_MAX_BYTES)
        ));
    }
    for (path, metadata) in listed {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let relative = path.strip_prefix(dir).unwrap_or(&path);
        hasher.update(relative.as_os_str().as_encoded_bytes());
        hasher.update([0]);
        let Some(metadata) = metadata else {
            continue;
        };
        if metadata.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap_or_default();
            hasher.update(b"link\0");
            hasher.update(target.as_os_str().as_encoded_bytes());
        } else if !metadata.is_file() {
            // Opening a FIFO would block the grading: its kind is enough.
            hasher.update(b"special\0");
        } else {
            let executable = metadata.permissions().mode() & 0o111 != 0;
            hasher.update(if executable { b"exec\0" } else { b"file\0" });
            let opened = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
                .open(&path);
            if let Ok(mut file) = opened {
                hash_contents(&mut file, hasher);
            }
        }
        hasher.update([0]);
    }
    Ok(())
}

/// Whether a file of `size` bytes with `blocks` 512-byte blocks on disk
/// is mostly holes: over a MiB, and under an eighth of it allocated.
fn is_sparse(size: u64, blocks: u64) -> bool {
    size > 1 << 20 && blocks.saturating_mul(512) < size / 8
}

/// Reads at most `FINGERPRINT_MAX_BYTES`: a file that grows while it is
/// read is not read forever.
fn hash_contents(file: &mut std::fs::File, hasher: &mut Sha256) {
    use std::io::Read;
    let mut buffer = [0u8; 64 * 1024];
    let mut limited = file.take(FINGERPRINT_MAX_BYTES);
    while let Ok(read @ 1..) = limited.read(&mut buffer) {
        hasher.update(&buffer[..read]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, "x").expect("write");
        }
        dir
    }

    fn pattern(text: &str) -> FilePattern {
        FilePattern::new(text).expect("valid")
    }

    #[test]
    fn finds_one_file_by_glob_at_the_shallowest_level() {
        let dir = folder(&["notes.txt", "lab1/my_server.py", "lab1/old/server2.py"]);
        let found = find_program(dir.path(), &pattern("*server*.py")).expect("found");
        assert!(found.ends_with("lab1/my_server.py"), "{found:?}");
    }

    #[test]
    fn none_or_several_matches_say_why() {
        let dir = folder(&["a_server.py", "b_server.py", "readme.md"]);
        let error = find_program(dir.path(), &pattern("*server*.py")).expect_err("ambiguous");
        assert_eq!(
            error.to_string(),
            "2 files match `*server*.py` (a_server.py, b_server.py): keep one, or give a narrower --file"
        );
        let error = find_program(dir.path(), &pattern("client.py")).expect_err("missing");
        assert!(error.to_string().contains("readme.md"), "{error}");
    }

    #[test]
    fn the_fingerprint_changes_with_content_and_names_only() {
        let digest = |dir: &Path| {
            let mut hasher = Sha256::new();
            fingerprint(dir, &mut hasher).expect("a small folder is fingerprinted");
            hasher.finalize()
        };
        let dir = folder(&["server.py"]);
        let first = digest(dir.path());
        assert_eq!(first, digest(dir.path()));
        std::fs::write(dir.path().join("server.py"), "y").expect("write");
        assert_ne!(first, digest(dir.path()));
    }

    #[test]
    fn a_sparse_file_or_too_many_files_are_not_read() {
        let dir = folder(&["server.py"]);
        let file = std::fs::File::create(dir.path().join("hole.bin")).expect("create");
        file.set_len(10 << 30).expect("a 10 GiB sparse file");
        let why = fingerprint(dir.path(), &mut Sha256::new()).expect_err("sparse");
        assert!(
            why.starts_with("hole.bin is a sparse file (10,737,418,240 bytes"),
            "{why}"
        );
        assert!(!is_sparse(4096, 8));
        assert!(is_sparse(10 << 30, 0));
        let many = tempfile::tempdir().expect("tempdir");
        for index in 0..=FINGERPRINT_MAX_ENTRIES {
            std::fs::write(many.path().join(index.to_string()), "").expect("write");
        }
        let why = fingerprint(many.path(), &mut Sha256::new()).expect_err("too many");
        assert!(why.contains("more than 10000 files"), "{why}");
    }
}
