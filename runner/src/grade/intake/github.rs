//! GitHub Classroom's `gh classroom clone student-repos`: a repository
//! per student, `assignment-slug-username`, all sharing the assignment's
//! prefix; the student is the username.

use super::{file_name, is_folder};
use crate::grade::class::Student;
use std::path::{Path, PathBuf};

/// The prefix every folder shares, up to and with a `-`.
fn prefix(names: &[String]) -> Option<String> {
    let first = names.first()?;
    let mut common = first.len();
    for name in &names[1..] {
        common = common.min(
            first
                .bytes()
                .zip(name.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    let cut = first[..common].rfind('-')? + 1;
    let prefix = &first[..cut];
    names
        .iter()
        .all(|n| n.len() > prefix.len())
        .then(|| prefix.to_string())
}

/// Folders only, at least two sharing a prefix, and either clones (a
/// `.git` in one) or three and more (two classmates can share a prefix).
pub fn recognise(entries: &[PathBuf]) -> bool {
    if entries.len() < 2 || !entries.iter().all(|e| is_folder(e)) {
        return false;
    }
    let names: Vec<String> = entries.iter().map(|e| file_name(e)).collect();
    prefix(&names).is_some()
        && (entries.len() >= 3 || entries.iter().any(|e| e.join(".git").exists()))
}

pub fn students(
    root: &Path,
    skip: Option<&Path>,
    notes: &mut Vec<String>,
) -> Result<Vec<Student>, String> {
    let folders: Vec<PathBuf> = super::visible(root, skip)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|e| is_folder(e))
        .collect();
    let names: Vec<String> = folders.iter().map(|e| file_name(e)).collect();
    let Some(prefix) = prefix(&names) else {
        return Err(String::from(
            "the folders share no assignment prefix (`assignment-username`)",
        ));
    };
    notes.push(format!("assignment prefix `{prefix}`"));
    Ok(folders
        .into_iter()
        .zip(names)
        .map(|(dir, name)| Student {
            name: super::folder_name(&name[prefix.len()..], ""),
            lms_id: String::new(),
            dir,
            notes: Vec::new(),
        })
        .collect())
}
