//! Canvas's "Download submissions": one flat folder of files named
//! `login_userid_submissionid_original-name` (`login_late_...` when
//! late). Canvas adds `-1`, `-2` before the extension of a file handed in
//! again (`server-1.py` stands for `server.py`). A student's files are
//! gathered into a folder of their own under their original names.

use super::{file_name, is_folder};
use crate::grade::class::Student;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn pattern() -> regex::Regex {
    regex::Regex::new(r"^(.+?)(?:_(?i:late))?_(\d+)_(\d+)_(.+)$").expect("a valid regex")
}

/// Files only (folders aside), and most of them named as Canvas names.
pub fn recognise(entries: &[PathBuf]) -> bool {
    let pattern = pattern();
    let files: Vec<String> = entries
        .iter()
        .filter(|e| !is_folder(e))
        .map(|e| file_name(e))
        .collect();
    let named = files.iter().filter(|n| pattern.is_match(n)).count();
    named > 0 && named * 2 > files.len() && files.len() >= entries.len() / 2
}

/// `server-1.py` → (`server.py`, 1); a name without the suffix → 0.
fn original(name: &str) -> (String, u32) {
    let suffix = regex::Regex::new(r"^(.+)-(\d+)(\.[^.]*)?$").expect("a valid regex");
    match suffix.captures(name) {
        Some(parts) => (
            format!("{}{}", &parts[1], parts.get(3).map_or("", |m| m.as_str())),
            parts[2].parse().unwrap_or(0),
        ),
        None => (name.to_string(), 0),
    }
}

pub fn students(
    root: &Path,
    skip: Option<&Path>,
    work: &Path,
    notes: &mut Vec<String>,
) -> Result<Vec<Student>, String> {
    let pattern = pattern();
    // login → (user id, original name → (submission id, resubmission, file)).
    type Files = BTreeMap<String, ((u64, u32), PathBuf)>;
    let mut found: BTreeMap<String, (String, Files)> = BTreeMap::new();
    for path in super::visible(root, skip).map_err(|e| e.to_string())? {
        let name = file_name(&path);
        let parts = pattern.captures(&name);
        let Some(parts) =
            parts.filter(|_| std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()))
        else {
            notes.push(format!("{name}: not a Canvas submission file, left out"));
            continue;
        };
        let submission: u64 = parts[3].parse().unwrap_or(0);
        let (original, again) = original(&parts[4]);
        let student = found
            .entry(parts[1].to_string())
            .or_insert_with(|| (parts[2].to_string(), BTreeMap::new()));
        let newest = student
            .1
            .get(&original)
            .is_none_or(|(rank, _)| *rank < (submission, again));
        if newest {
            student.1.insert(original, ((submission, again), path));
        }
    }
    let mut students = Vec::new();
    for (login, (id, files)) in found {
        let name = super::folder_name(&login, &id);
        let dir = work.join(&name);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        for (original, (_, path)) in files {
            std::fs::copy(&path, dir.join(super::folder_name(&original, &id)))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        students.push(Student {
            name,
            lms_id: id,
            dir,
            notes: Vec::new(),
        });
    }
    Ok(students)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_resubmitted_file_stands_for_its_original() {
        assert_eq!(super::original("server-1.py"), ("server.py".into(), 1));
        assert_eq!(super::original("server.py"), ("server.py".into(), 0));
        assert_eq!(super::original("Makefile-2"), ("Makefile".into(), 2));
        let parts = super::pattern()
            .captures("doejane_late_4242_998_server-1.py")
            .expect("a Canvas name");
        assert_eq!(
            (&parts[1], &parts[2], &parts[4]),
            ("doejane", "4242", "server-1.py")
        );
    }
}
