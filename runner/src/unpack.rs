//! Unpacking an archive someone else made (`.zip`, `.tar`, `.tar.gz`,
//! `.tgz`) into a folder of ours, safely: every entry is checked before
//! anything is written, and the archive is refused whole when one entry
//! would land outside the folder (`..`, an absolute path), is a link or a
//! device, or when the archive holds more files or bytes than allowed.
//! Archive tools' metadata (`__MACOSX`) and hidden files are left out.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// How much an archive may hold.
pub struct Limits {
    pub max_files: usize,
    pub max_bytes: u64,
}

/// A whole class: a few hundred students, a few files each.
pub const CLASS: Limits = Limits {
    max_files: 100_000,
    max_bytes: 2 << 30,
};

/// One student's own archive.
pub const STUDENT: Limits = Limits {
    max_files: 10_000,
    max_bytes: 256 << 20,
};

/// A folder an assignment's `build:` command made: a student's folder
/// and what was built in it.
pub const BUILT: Limits = Limits {
    max_files: 10_000,
    max_bytes: 256 << 20,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Tar,
    TarGz,
}

/// The kind of archive `path` is, by its name.
pub fn kind(path: &Path) -> Option<Kind> {
    let name = path.file_name()?.to_string_lossy().to_lowercase();
    if name.ends_with(".zip") {
        Some(Kind::Zip)
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        Some(Kind::TarGz)
    } else if name.ends_with(".tar") {
        Some(Kind::Tar)
    } else {
        None
    }
}

/// An archive's name without its extension: the folder it unpacks into.
pub fn stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_lowercase();
    for extension in [".tar.gz", ".tgz", ".tar", ".zip"] {
        if lower.ends_with(extension) {
            return name[..name.len() - extension.len()].to_string();
        }
    }
    name
}

/// Whether a name is left out: hidden, or an archive tool's metadata.
pub fn ignored(name: &str) -> bool {
    name.starts_with('.') || name == "__MACOSX"
}

fn show(name: &str) -> String {
    crate::text::escape_controls(name, |_| false)
}

/// An entry's place inside the folder, or why it is refused.
fn inside(name: &str) -> Result<PathBuf, String> {
    let mut clean = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            _ => return Err(format!("entry `{}` leads outside the archive", show(name))),
        }
    }
    Ok(clean)
}

#[derive(Debug, PartialEq, Eq)]
enum What {
    File { executable: bool },
    Folder,
    Skipped,
}

/// One entry, checked: where it goes and what it is.
struct Entry {
    path: PathBuf,
    what: What,
}

/// Checks an entry of `name`, of kind `what` (or what it is that is not
/// unpacked), and counts it against the limits.
fn check(
    name: &str,
    what: Result<What, &str>,
    size: u64,
    used: &mut Used,
) -> Result<Entry, String> {
    let path = inside(name)?;
    let what = what.map_err(|kind| format!("entry `{}` is {kind}", show(name)))?;
    // Left-out entries count too: they are read through all the same.
    used.add(size)?;
    let hidden = path
        .components()
        .any(|c| ignored(&c.as_os_str().to_string_lossy()));
    if hidden || path.as_os_str().is_empty() {
        return Ok(Entry {
            path,
            what: What::Skipped,
        });
    }
    Ok(Entry { path, what })
}

struct Used<'a> {
    limits: &'a Limits,
    files: usize,
    bytes: u64,
}

impl Used<'_> {
    fn add(&mut self, bytes: u64) -> Result<(), String> {
        self.files += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        if self.files > self.limits.max_files {
            return Err(format!(
                "it holds more than {} files",
                self.limits.max_files
            ));
        }
        if self.bytes > self.limits.max_bytes {
            return Err(format!(
                "it holds more than {}",
                crate::program::show_size(self.limits.max_bytes)
            ));
        }
        Ok(())
    }
}

fn zip_what(file: &zip::read::ZipFile<'_, std::fs::File>) -> Result<What, &'static str> {
    const KIND: u32 = 0o170000;
    let mode = file.unix_mode().unwrap_or(0);
    match mode & KIND {
        0o120000 => Err("a symbolic link"),
        0 | 0o100000 | 0o040000 if file.is_dir() => Ok(What::Folder),
        0 | 0o100000 => Ok(What::File {
            executable: mode & 0o111 != 0,
        }),
        0o040000 => Ok(What::Folder),
        _ => Err("a device or special file"),
    }
}

fn tar_what(header: &tar::Header) -> Result<What, &'static str> {
    use tar::EntryType;
    match header.entry_type() {
        EntryType::Regular | EntryType::Continuous => Ok(What::File {
            executable: header.mode().unwrap_or(0) & 0o111 != 0,
        }),
        EntryType::Directory => Ok(What::Folder),
        EntryType::Symlink => Err("a symbolic link"),
        EntryType::Link => Err("a hard link"),
        EntryType::XGlobalHeader => Ok(What::Skipped),
        EntryType::Char | EntryType::Block | EntryType::Fifo => Err("a device or special file"),
        _ => Err("of a kind that is not unpacked"),
    }
}

fn tar_reader(archive: &Path, kind: Kind) -> std::io::Result<Box<dyn Read>> {
    let file = std::fs::File::open(archive)?;
    Ok(if kind == Kind::TarGz {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// Unpacks `archive` into `into` (made here, and removed again when the
/// archive is refused). The error says why it was refused.
pub fn unpack(archive: &Path, into: &Path, limits: &Limits) -> Result<(), String> {
    let kind = kind(archive).ok_or("not an archive (.zip, .tar, .tar.gz, .tgz)")?;
    std::fs::create_dir_all(into).map_err(|e| e.to_string())?;
    let result = match kind {
        Kind::Zip => unpack_zip(archive, into, limits),
        Kind::Tar | Kind::TarGz => unpack_tar(archive, kind, into, limits),
    };
    if result.is_err() {
        let _ = std::fs::remove_dir_all(into);
    }
    result
}

fn unpack_zip(archive: &Path, into: &Path, limits: &Limits) -> Result<(), String> {
    let file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
    if zip.len() > limits.max_files {
        return Err(format!("it holds more than {} files", limits.max_files));
    }
    let mut used = Used {
        limits,
        files: 0,
        bytes: 0,
    };
    let mut entries = Vec::with_capacity(zip.len());
    for index in 0..zip.len() {
        let file = zip.by_index_raw(index).map_err(|e| e.to_string())?;
        let name = file.name().map_err(|e| e.to_string())?.into_owned();
        entries.push(check(&name, zip_what(&file), file.size(), &mut used)?);
    }
    let mut budget = limits.max_bytes;
    for (index, entry) in entries.iter().enumerate() {
        let mut file = zip.by_index(index).map_err(|e| e.to_string())?;
        write_entry(into, entry, &mut file, &mut budget)?;
    }
    Ok(())
}

fn unpack_tar(archive: &Path, kind: Kind, into: &Path, limits: &Limits) -> Result<(), String> {
    let mut used = Used {
        limits,
        files: 0,
        bytes: 0,
    };
    let mut entries = Vec::new();
    let reader = tar_reader(archive, kind).map_err(|e| e.to_string())?;
    let mut tar = tar::Archive::new(reader);
    for entry in tar.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let size = entry.header().size().unwrap_or(0);
        entries.push(check(&name, tar_what(entry.header()), size, &mut used)?);
    }
    let reader = tar_reader(archive, kind).map_err(|e| e.to_string())?;
    let mut tar = tar::Archive::new(reader);
    let mut budget = limits.max_bytes;
    for (entry, checked) in tar
        .entries()
        .map_err(|e| e.to_string())?
        .zip(entries.iter())
    {
        let mut entry = entry.map_err(|e| e.to_string())?;
        write_entry(into, checked, &mut entry, &mut budget)?;
    }
    Ok(())
}

/// Writes one checked entry; a file that holds more than it said is cut
/// at the budget and refused.
fn write_entry(
    into: &Path,
    entry: &Entry,
    reader: &mut dyn Read,
    budget: &mut u64,
) -> Result<(), String> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = into.join(&entry.path);
    let fail = |e: std::io::Error| format!("{}: {e}", show(&entry.path.to_string_lossy()));
    match entry.what {
        What::Skipped => Ok(()),
        What::Folder => std::fs::create_dir_all(&path).map_err(fail),
        What::File { executable } => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(fail)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(&path)
                .map_err(fail)?;
            let written = std::io::copy(&mut reader.take(*budget + 1), &mut file).map_err(fail)?;
            if written > *budget {
                return Err(String::from("it unpacks to more than it says"));
            }
            *budget -= written;
            let mode = if executable { 0o755 } else { 0o644 };
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(fail)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8])], link: Option<(&str, &str)>) -> tempfile::NamedTempFile {
        let file = tempfile::Builder::new()
            .suffix(".zip")
            .tempfile()
            .expect("temp");
        let mut writer = zip::ZipWriter::new(file.reopen().expect("reopen"));
        let options = zip::write::SimpleFileOptions::default();
        for (name, data) in entries {
            writer.start_file(*name, options).expect("start");
            writer.write_all(data).expect("write");
        }
        if let Some((name, target)) = link {
            writer.add_symlink(name, target, options).expect("link");
        }
        writer.finish().expect("finish");
        file
    }

    #[test]
    fn unpacks_and_leaves_out_metadata_and_hidden_files() {
        let zip = zip_of(
            &[
                ("lab1/server.py", b"print(1)"),
                ("__MACOSX/lab1/._server.py", b"x"),
                ("lab1/.DS_Store", b"x"),
            ],
            None,
        );
        let dir = tempfile::tempdir().expect("temp");
        let into = dir.path().join("out");
        unpack(zip.path(), &into, &STUDENT).expect("unpacked");
        assert!(into.join("lab1/server.py").is_file());
        assert!(!into.join("__MACOSX").exists());
        assert!(!into.join("lab1/.DS_Store").exists());
    }

    #[test]
    fn refuses_escapes_links_and_too_much() {
        let dir = tempfile::tempdir().expect("temp");
        let into = dir.path().join("out");
        let evil = zip_of(&[("ok.py", b"x"), ("../evil", b"x")], None);
        let why = unpack(evil.path(), &into, &STUDENT).expect_err("refused");
        assert_eq!(why, "entry `../evil` leads outside the archive");
        assert!(!dir.path().join("evil").exists() && !into.exists());
        let link = zip_of(&[("ok.py", b"x")], Some(("passwd", "/etc/passwd")));
        let why = unpack(link.path(), &into, &STUDENT).expect_err("refused");
        assert_eq!(why, "entry `passwd` is a symbolic link");
        let big = zip_of(&[("a", &[0u8; 2048])], None);
        let small = Limits {
            max_files: 10,
            max_bytes: 1024,
        };
        let why = unpack(big.path(), &into, &small).expect_err("refused");
        assert!(why.starts_with("it holds more than"), "{why}");
    }
}
