//! `--lms-csv moodle|canvas FILE`: the grades in the form the LMS the
//! class came from imports back, keyed by the id that LMS gave each
//! student in its export.
//!
//! - **Moodle**, the assignment's "Upload grading worksheet": the columns
//!   its importer looks for by name (`Identifier` holding `Participant
//!   1234567`, the participant id of the export's folder names, `Grade`,
//!   `Last modified (grade)`) and `Feedback comments`, which the
//!   feedback-comments plugin takes; `Full name` and `Maximum Grade` as
//!   the worksheet Moodle hands out has them, for the teacher's eye.
//! - **Canvas**, the gradebook's "Import": `Student`, `ID` (the Canvas user
//!   id of the export's file names, which Canvas matches students by),
//!   `SIS User ID`, `SIS Login ID`, `Section`, then one column named after
//!   the assignment (Canvas asks on import which assignment it is), and a
//!   `Points Possible` row as Canvas's own export has.
//!
//! Only students whose grading finished get a row: an empty cell would
//! be a grade of its own to the LMS.

use super::record::{Column, Status, StudentRecord};
use crate::text::spreadsheet_text;
use std::path::Path;

/// The LMS a grades file is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lms {
    Moodle,
    Canvas,
}

impl Lms {
    pub fn name(self) -> &'static str {
        match self {
            Lms::Moodle => "moodle",
            Lms::Canvas => "canvas",
        }
    }

    /// The class layout whose ids this LMS takes back.
    pub fn layout(self) -> super::intake::Layout {
        match self {
            Lms::Moodle => super::intake::Layout::Moodle,
            Lms::Canvas => super::intake::Layout::Canvas,
        }
    }
}

/// Moodle's word before a participant id in `Identifier`.
const MOODLE_PARTICIPANT: &str = "Participant ";

/// Writes the grades file for `lms` at `path`. Students without an id of
/// that LMS cannot be imported: they are named in the error, and nothing
/// is written.
pub fn write(
    lms: Lms,
    path: &Path,
    assignment: &str,
    columns: &[Column],
    records: &[StudentRecord],
) -> Result<usize, String> {
    let without_id: Vec<&str> = records
        .iter()
        .filter(|r| r.status == Status::Graded && r.lms_id.is_empty())
        .map(|r| r.student.as_str())
        .collect();
    if !without_id.is_empty() {
        return Err(format!(
            "{}: not written: {} ha{} no {} id (a {} export names each student's id): {}",
            path.display(),
            crate::text::count(without_id.len() as u64, "student"),
            if without_id.len() == 1 { "s" } else { "ve" },
            lms.name(),
            lms.name(),
            without_id.join(", ")
        ));
    }
    let max_points: u32 = columns.iter().map(|c| c.max_points).sum();
    let graded: Vec<&StudentRecord> = records
        .iter()
        .filter(|r| r.status == Status::Graded)
        .collect();
    let mut buffer = Vec::new();
    {
        let mut writer = csv::Writer::from_writer(&mut buffer);
        let io = |e: csv::Error| format!("{}: {e}", path.display());
        match lms {
            Lms::Moodle => {
                let modified =
                    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
                writer
                    .write_record([
                        "Identifier",
                        "Full name",
                        "Grade",
                        "Maximum Grade",
                        "Last modified (grade)",
                        "Feedback comments",
                    ])
                    .map_err(io)?;
                for record in &graded {
                    writer
                        .write_record([
                            format!("{MOODLE_PARTICIPANT}{}", record.lms_id),
                            spreadsheet_text(&record.student).into_owned(),
                            record.points.to_string(),
                            max_points.to_string(),
                            modified.clone(),
                            spreadsheet_text(&feedback(columns, record)).into_owned(),
                        ])
                        .map_err(io)?;
                }
            }
            Lms::Canvas => {
                let assignment = spreadsheet_text(assignment);
                let header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"];
                writer
                    .write_record(header.iter().copied().chain([assignment.as_ref()]))
                    .map_err(io)?;
                let points_possible = max_points.to_string();
                writer
                    .write_record([
                        "    Points Possible",
                        "",
                        "",
                        "",
                        "",
                        points_possible.as_str(),
                    ])
                    .map_err(io)?;
                for record in &graded {
                    writer
                        .write_record([
                            spreadsheet_text(&record.student).as_ref(),
                            record.lms_id.as_str(),
                            "",
                            "",
                            "",
                            record.points.to_string().as_str(),
                        ])
                        .map_err(io)?;
                }
            }
        }
        writer
            .flush()
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    super::record::write_atomically(path, &String::from_utf8_lossy(&buffer))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(graded.len())
}

/// What a student reads next to the grade in Moodle: the note, then the
/// cases that did not pass, each with what it asks.
fn feedback(columns: &[Column], record: &StudentRecord) -> String {
    let mut lines = Vec::new();
    if !record.note.is_empty() {
        lines.push(record.note.clone());
    }
    let failed: Vec<String> = columns
        .iter()
        .enumerate()
        .filter(|(index, column)| column.max_points > 0 && !record.passed(*index))
        .map(|(_, column)| {
            if column.about.is_empty() {
                column.name.clone()
            } else {
                format!("{}: {}", column.name, column.about)
            }
        })
        .collect();
    if failed.is_empty() {
        lines.push(String::from("Every case passed."));
    } else {
        lines.push(format!("Not passed: {}", failed.join("; ")));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, about: &str) -> Column {
        Column {
            name: name.into(),
            max_points: 1,
            about: about.into(),
        }
    }

    fn record(student: &str, id: &str, verdicts: &[&str]) -> StudentRecord {
        StudentRecord {
            student: student.into(),
            lms_id: id.into(),
            status: Status::Graded,
            points: verdicts.iter().filter(|v| **v == "pass").count() as u32,
            max_points: verdicts.len() as u32,
            cases: verdicts
                .iter()
                .map(|v| Some((*v == "pass") as u32))
                .collect(),
            verdicts: verdicts.iter().map(|v| Some(v.to_string())).collect(),
            ..StudentRecord::unfinished(student, verdicts.len(), "")
        }
    }

    #[test]
    fn feedback_names_the_cases_not_passed_with_what_they_ask() {
        let columns = [column("s/a", "greets"), column("s/b", "")];
        let said = feedback(&columns, &record("x", "1", &["pass", "fail"]));
        assert_eq!(said, "Not passed: s/b");
        let said = feedback(&columns, &record("x", "1", &["fail", "pass"]));
        assert_eq!(said, "Not passed: s/a: greets");
        let said = feedback(&columns, &record("x", "1", &["pass", "pass"]));
        assert_eq!(said, "Every case passed.");
    }

    #[test]
    fn students_without_an_id_stop_the_file_being_written() {
        let folder = tempfile::tempdir().expect("a folder");
        let path = folder.path().join("moodle.csv");
        let records = [record("Ann", "", &["pass"])];
        let error = write(Lms::Moodle, &path, "lab", &[column("s/a", "")], &records)
            .expect_err("Ann has no id");
        assert!(error.contains("1 student has no moodle id"), "{error}");
        assert!(error.ends_with(": Ann"), "{error}");
        assert!(!path.exists());
    }
}
