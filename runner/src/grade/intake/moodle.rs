//! Moodle's "Download all submissions" (with "Download submissions in
//! folders"): a folder per student and submission plugin,
//! `Full Name_1234567_assignsubmission_file_`, the name as the student
//! wrote it (spaces, accents) and the participant id.

use super::{file_name, is_folder};
use crate::grade::class::Student;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn pattern() -> regex::Regex {
    regex::Regex::new(r"^(.+)_(\d+)_assignsubmission_([A-Za-z]+)_?$").expect("a valid regex")
}

pub fn recognise(entries: &[PathBuf]) -> bool {
    let pattern = pattern();
    let folders: Vec<String> = entries
        .iter()
        .filter(|e| is_folder(e))
        .map(|e| file_name(e))
        .collect();
    !folders.is_empty() && folders.iter().all(|name| pattern.is_match(name))
}

pub fn students(
    root: &Path,
    skip: Option<&Path>,
    notes: &mut Vec<String>,
) -> Result<Vec<Student>, String> {
    let pattern = pattern();
    // Per participant id: the name, and the folder (the files plugin's
    // before any other: online text is no program).
    let mut found: BTreeMap<String, (String, PathBuf, bool)> = BTreeMap::new();
    for path in super::visible(root, skip).map_err(|e| e.to_string())? {
        let name = file_name(&path);
        let Some(parts) = pattern.captures(&name).filter(|_| is_folder(&path)) else {
            notes.push(format!("{name}: not a Moodle submission folder, left out"));
            continue;
        };
        let files = &parts[3] == "file";
        let id = parts[2].to_string();
        let entry = (parts[1].to_string(), path.clone(), files);
        match found.get(&id) {
            Some((_, _, true)) => {}
            _ => {
                found.insert(id, entry);
            }
        }
    }
    Ok(found
        .into_iter()
        .map(|(id, (name, dir, _))| Student {
            name: super::folder_name(&name, &id),
            lms_id: id,
            dir,
            notes: Vec::new(),
        })
        .collect())
}
