//! Gradescope's "Export submissions": a folder `submission_NNN` per
//! submission, and `submission_metadata.yml` naming who handed each in:
//!
//! ```yaml
//! submission_123:
//!   :submitters:
//!   - :name: Jane Doe
//!     :sid: '1234'
//!     :email: jane@example.edu
//! ```
//!
//! A group submission is graded once per submitter.

use super::is_folder;
use crate::grade::class::Student;
use serde_yaml::Value;
use std::path::Path;

pub const METADATA: &str = "submission_metadata.yml";

pub fn recognise(root: &Path) -> bool {
    root.join(METADATA).is_file()
}

/// A key without Ruby's symbol colon.
fn key(value: &Value) -> String {
    match value {
        Value::String(text) => text.trim_start_matches(':').to_string(),
        Value::Number(number) => number.to_string(),
        _ => String::new(),
    }
}

fn field(map: &Value, name: &str) -> String {
    map.as_mapping()
        .and_then(|m| m.iter().find(|(k, _)| key(k) == name))
        .map(|(_, v)| key(v))
        .unwrap_or_default()
}

pub fn students(root: &Path, notes: &mut Vec<String>) -> Result<Vec<Student>, String> {
    let path = root.join(METADATA);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{METADATA}: {e}"))?;
    let metadata: Value = serde_yaml::from_str(&text).map_err(|e| format!("{METADATA}: {e}"))?;
    let Some(submissions) = metadata.as_mapping() else {
        return Err(format!("{METADATA}: not a mapping of submissions"));
    };
    let mut students = Vec::new();
    for (submission, about) in submissions {
        let folder = key(submission);
        let dir = root.join(&folder);
        if folder.contains('/') || folder.starts_with('.') || !is_folder(&dir) {
            notes.push(format!(
                "{folder}: named in {METADATA} but not in the export"
            ));
            continue;
        }
        let submitters = about
            .as_mapping()
            .and_then(|m| m.iter().find(|(k, _)| key(k) == "submitters"))
            .and_then(|(_, v)| v.as_sequence())
            .cloned()
            .unwrap_or_default();
        if submitters.is_empty() {
            notes.push(format!("{folder}: no submitter in {METADATA}, left out"));
        }
        for submitter in &submitters {
            let id = Some(field(submitter, "sid"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| field(submitter, "email"));
            let name = Some(field(submitter, "name"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| id.clone());
            students.push(Student {
                name: super::folder_name(&name, &folder),
                lms_id: id,
                dir: dir.clone(),
                notes: Vec::new(),
            });
        }
    }
    Ok(students)
}
