//! Moodle's "Download all submissions". With "Download submissions in
//! folders" (the default): a folder per student and submission plugin,
//! `Full Name_1234567_assignsubmission_file_`, the name as the student
//! wrote it (spaces, accents) and the participant id. Without it: one flat
//! folder of files `Full Name_1234567_assignsubmission_file_server.py`,
//! gathered here into a folder per student under their original names.

use super::{file_name, is_folder};
use crate::grade::class::Student;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn pattern() -> regex::Regex {
    regex::Regex::new(r"^(.+)_(\d+)_assignsubmission_([A-Za-z]+)_?$").expect("a valid regex")
}

/// A file of a flat export: name, participant id, plugin, original name.
fn flat_pattern() -> regex::Regex {
    regex::Regex::new(r"^(.+)_(\d+)_assignsubmission_([A-Za-z]+)_(.+)$").expect("a valid regex")
}

/// Whether `entries` are a flat export: files only, all named as Moodle
/// names them.
pub fn recognise_flat(entries: &[PathBuf]) -> bool {
    let pattern = flat_pattern();
    !entries.is_empty()
        && entries
            .iter()
            .all(|e| !is_folder(e) && pattern.is_match(&file_name(e)))
}

pub fn recognise(entries: &[PathBuf]) -> bool {
    if recognise_flat(entries) {
        return true;
    }
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
    work: &Path,
    notes: &mut Vec<String>,
) -> Result<Vec<Student>, String> {
    let entries = super::visible(root, skip).map_err(|e| e.to_string())?;
    if recognise_flat(&entries) {
        return flat_students(&entries, work, notes);
    }
    let pattern = pattern();
    // Per participant id: the name, and the folder (the files plugin's
    // before any other: online text is no program).
    let mut found: BTreeMap<String, (String, PathBuf, bool)> = BTreeMap::new();
    for path in entries {
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

/// A flat export: each participant's files (of the files plugin; online
/// text is no program) copied into a folder of their own.
fn flat_students(
    entries: &[PathBuf],
    work: &Path,
    notes: &mut Vec<String>,
) -> Result<Vec<Student>, String> {
    let pattern = flat_pattern();
    // Participant id → (name, files under their original names).
    let mut found: BTreeMap<String, (String, Vec<(String, PathBuf)>)> = BTreeMap::new();
    for path in entries {
        let name = file_name(path);
        let Some(parts) = pattern.captures(&name) else {
            continue;
        };
        let student = found
            .entry(parts[2].to_string())
            .or_insert_with(|| (parts[1].to_string(), Vec::new()));
        if &parts[3] == "file" {
            student.1.push((parts[4].to_string(), path.clone()));
        } else {
            notes.push(format!("{name}: not a file handed in, left out"));
        }
    }
    let mut students = Vec::new();
    for (id, (name, files)) in found {
        let folder = super::folder_name(&name, &id);
        let dir = work.join(&id).join(&folder);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        for (original, path) in files {
            std::fs::copy(&path, dir.join(super::folder_name(&original, &id)))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        students.push(Student {
            name: folder,
            lms_id: id,
            dir,
            notes: Vec::new(),
        });
    }
    Ok(students)
}
