//! `--submissions`: the class export a teacher downloads from their LMS,
//! taken as it is (a folder, or an archive of the whole class), turned
//! into the list of students: a name, the LMS's id for the student where
//! the layout has one, and a folder holding the student's files. A
//! student's own archive (`lab1.zip`) is unpacked before their program is
//! looked for. Archives are unpacked into a private temporary folder that
//! lives as long as the `Class`.

mod canvas;
mod github;
mod gradescope;
mod moodle;
mod plain;
pub use crate::unpack;

use super::class::Student;
use std::path::{Path, PathBuf};

/// How an export lays out its students.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// One folder per student, named after the student.
    Plain,
    /// Moodle's "Download all submissions": `Full Name_1234567_assignsubmission_file_/`.
    Moodle,
    /// Canvas's "Download submissions": files `login[_late]_userid_submissionid_name`.
    Canvas,
    /// `gh classroom clone student-repos`: folders `assignment-username`.
    GithubClassroom,
    /// Gradescope's "Export submissions": `submission_NNN/` and `submission_metadata.yml`.
    Gradescope,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Plain => "plain",
            Layout::Moodle => "moodle",
            Layout::Canvas => "canvas",
            Layout::GithubClassroom => "github-classroom",
            Layout::Gradescope => "gradescope",
        }
    }
}

/// A class ready to grade.
pub struct Class {
    /// Sorted by name, names unique.
    pub students: Vec<Student>,
    pub layout: Layout,
    /// Whether the layout was recognised (not forced with `--layout`).
    pub recognised: bool,
    /// What was left out or refused, for the teacher.
    pub notes: Vec<String>,
    _work: tempfile::TempDir,
}

/// The visible entries of a folder: not hidden, not `__MACOSX`, not `skip`.
pub(crate) fn visible(folder: &Path, skip: Option<&Path>) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        let name = file_name(&path);
        if unpack::ignored(&name) || skip.is_some_and(|skip| same_file(&path, skip)) {
            continue;
        }
        found.push(path);
    }
    found.sort();
    Ok(found)
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A real folder (a link to one is not taken).
pub(crate) fn is_folder(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// A name usable as a folder of the output: no `/`, not hidden.
pub(crate) fn folder_name(name: &str, id: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        format!("student-{id}")
    } else {
        cleaned
    }
}

/// Opens `submissions` (a folder or an archive) as a class, in `forced`
/// layout or the one recognised; `skip` is an output folder placed inside.
pub fn open(
    submissions: &Path,
    forced: Option<Layout>,
    skip: Option<&Path>,
) -> Result<Class, String> {
    // Named for the runner: a grading killed before it could remove the
    // unpacked class has it removed by the next runner.
    let work =
        crate::program::scratch::folder("class").map_err(|e| format!("a temporary folder: {e}"))?;
    let shown = submissions.display();
    let mut root = if submissions.is_dir() {
        submissions.to_path_buf()
    } else if submissions.is_file() && unpack::kind(submissions).is_some() {
        let into = work.path().join("export");
        unpack::unpack(submissions, &into, &unpack::CLASS)
            .map_err(|why| format!("--submissions {shown}: refused, nothing unpacked: {why}"))?;
        // An archive of the class folder holds that folder.
        match visible(&into, None).map_err(|e| e.to_string())?.as_slice() {
            [only] if is_folder(only) && holds_only_folders(only) => only.clone(),
            _ => into,
        }
    } else {
        return Err(format!(
            "--submissions {shown}: neither a folder nor a class archive (.zip, .tar, .tar.gz, .tgz)"
        ));
    };
    // `gh classroom clone` puts the repositories in `<assignment>-submissions/`.
    if forced.is_none() && detect(&root, skip) == Layout::Plain {
        if let Ok([only]) = visible(&root, skip).as_deref() {
            if is_folder(only) && detect(only, skip) != Layout::Plain {
                root = only.clone();
            }
        }
    }
    let layout = forced.unwrap_or_else(|| detect(&root, skip));
    let mut notes = Vec::new();
    let work_dir = work.path().to_path_buf();
    let mut students = match layout {
        Layout::Plain => plain::students(&root, skip),
        Layout::Moodle => moodle::students(&root, skip, &work_dir.join("moodle"), &mut notes),
        Layout::Canvas => canvas::students(&root, skip, &work_dir.join("canvas"), &mut notes),
        Layout::GithubClassroom => github::students(&root, skip, &mut notes),
        Layout::Gradescope => gradescope::students(&root, &mut notes),
    }
    .map_err(|why| format!("--submissions {shown}: {why}"))?;
    for (index, student) in students.iter_mut().enumerate() {
        open_own_archives(student, &work_dir.join("students").join(index.to_string()));
    }
    unique_names(&mut students);
    Ok(Class {
        students,
        layout,
        recognised: forced.is_none(),
        notes,
        _work: work,
    })
}

fn holds_only_folders(folder: &Path) -> bool {
    visible(folder, None).is_ok_and(|entries| entries.iter().all(|e| is_folder(e)))
}

/// The layout `root` looks like.
pub fn detect(root: &Path, skip: Option<&Path>) -> Layout {
    if gradescope::recognise(root) {
        return Layout::Gradescope;
    }
    let Ok(entries) = visible(root, skip) else {
        return Layout::Plain;
    };
    if moodle::recognise(&entries) {
        Layout::Moodle
    } else if canvas::recognise(&entries) {
        Layout::Canvas
    } else if github::recognise(&entries) {
        Layout::GithubClassroom
    } else {
        Layout::Plain
    }
}

/// Two students of one name are told apart by their id.
fn unique_names(students: &mut [Student]) {
    students.sort_by(|a, b| a.name.cmp(&b.name).then(a.lms_id.cmp(&b.lms_id)));
    let names: Vec<String> = students.iter().map(|s| s.name.clone()).collect();
    for (index, student) in students.iter_mut().enumerate() {
        let twins = names.iter().filter(|n| **n == student.name).count();
        if twins > 1 {
            let tag = if student.lms_id.is_empty() {
                (index + 1).to_string()
            } else {
                student.lms_id.clone()
            };
            student.name = format!("{} ({tag})", student.name);
        }
    }
    students.sort_by(|a, b| a.name.cmp(&b.name));
}

/// Unpacks the archives at the top of a student's folder. The teacher's
/// folder is never written to: a student folder with archives is copied
/// to `copy` first (one made by intake is unpacked in place).
fn open_own_archives(student: &mut Student, copy: &Path) {
    let Ok(entries) = visible(&student.dir, None) else {
        return;
    };
    let archives: Vec<String> = entries
        .iter()
        .filter(|e| {
            std::fs::symlink_metadata(e).is_ok_and(|m| m.is_file()) && unpack::kind(e).is_some()
        })
        .map(|e| file_name(e))
        .collect();
    if archives.is_empty() {
        return;
    }
    if !student
        .dir
        .starts_with(copy.parent().and_then(Path::parent).unwrap_or(copy))
    {
        if let Err(why) = copy_folder(&student.dir, copy) {
            student
                .notes
                .push(format!("its archives were not unpacked: {why}"));
            return;
        }
        student.dir = copy.to_path_buf();
    }
    for archive in archives {
        let path = student.dir.join(&archive);
        let mut into = student.dir.join(unpack::stem(&path));
        if into.exists() {
            into = student
                .dir
                .join(format!("{}-unpacked", unpack::stem(&path)));
        }
        match unpack::unpack(&path, &into, &unpack::STUDENT) {
            Ok(()) => {
                let _ = std::fs::remove_file(&path);
            }
            Err(why) => student.notes.push(format!(
                "{}: refused, not unpacked: {why}",
                crate::text::escape_controls(&archive, |_| false)
            )),
        }
    }
}

/// Copies a student's folder (links kept as links, special files left
/// out), within the limits of a student's archive.
fn copy_folder(from: &Path, to: &Path) -> Result<(), String> {
    let mut files = 0usize;
    let mut bytes = 0u64;
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((source, target)) = stack.pop() {
        std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
        for entry in std::fs::read_dir(&source).map_err(|e| e.to_string())? {
            let entry = entry.map_err(|e| e.to_string())?;
            let kind = entry.file_type().map_err(|e| e.to_string())?;
            let destination = target.join(entry.file_name());
            files += 1;
            if files > unpack::STUDENT.max_files {
                return Err(format!(
                    "the folder holds more than {} files",
                    unpack::STUDENT.max_files
                ));
            }
            if kind.is_dir() {
                stack.push((entry.path(), destination));
            } else if kind.is_symlink() {
                let link = std::fs::read_link(entry.path()).map_err(|e| e.to_string())?;
                std::os::unix::fs::symlink(link, destination).map_err(|e| e.to_string())?;
            } else if kind.is_file() {
                bytes += entry.metadata().map(|m| m.len()).unwrap_or(0);
                if bytes > unpack::STUDENT.max_bytes {
                    return Err(format!(
                        "the folder holds more than {}",
                        crate::program::show_size(unpack::STUDENT.max_bytes)
                    ));
                }
                std::fs::copy(entry.path(), destination).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folders(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in names {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            if name.ends_with('/') {
                std::fs::create_dir_all(&path).expect("mkdir");
            } else {
                std::fs::write(&path, "x").expect("write");
            }
        }
        dir
    }

    #[test]
    fn layouts_are_recognised_and_classmates_sharing_a_prefix_stay_plain() {
        let cases: [(&[&str], Layout); 7] = [
            (&["alice/", "bob/"], Layout::Plain),
            (&["anna-lee/", "anna-maria/"], Layout::Plain),
            (
                &["lab1-anna/.git/", "lab1-bob/.git/"],
                Layout::GithubClassroom,
            ),
            (
                &["Zoë Dubois_1234567_assignsubmission_file_/"],
                Layout::Moodle,
            ),
            (
                &["Zoë Dubois_1234567_assignsubmission_file_server.py"],
                Layout::Moodle,
            ),
            (
                &["doe_12_34_server.py", "doe_late_12_34_x.py"],
                Layout::Canvas,
            ),
            (
                &["submission_1/", "submission_metadata.yml"],
                Layout::Gradescope,
            ),
        ];
        for (names, layout) in cases {
            let dir = folders(names);
            assert_eq!(detect(dir.path(), None), layout, "{names:?}");
        }
    }

    #[test]
    fn twins_are_told_apart_by_their_id() {
        let student = |name: &str, id: &str| Student {
            name: name.into(),
            lms_id: id.into(),
            dir: PathBuf::new(),
            notes: Vec::new(),
        };
        let mut students = vec![
            student("Li Wei", "2"),
            student("Li Wei", "1"),
            student("Ann", "3"),
        ];
        unique_names(&mut students);
        let names: Vec<&str> = students.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["Ann", "Li Wei (1)", "Li Wei (2)"]);
    }
}
