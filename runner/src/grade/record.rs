//! What grading writes down: a record per student (`grade.json` in the
//! student's output folder, read back by `--resume` and `runner merge`),
//! and the class manifest (`grading.json`) that says which columns and
//! students an output folder covers.

pub use crate::partition::Partition;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Name of a student's record inside `OUTDIR/<student>/`.
pub const RECORD_FILE: &str = "grade.json";
/// Name of the class manifest inside `OUTDIR/`.
pub const MANIFEST_FILE: &str = "grading.json";

/// A column of `grades.csv`: one case of one spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// `spec/case`.
    pub name: String,
    pub max_points: u32,
    /// The case's requirement, for the dashboard.
    #[serde(default)]
    pub about: String,
}

/// How a student's grading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every case ran (a missing program is graded too: 0 points).
    Graded,
    /// The grading was stopped before this student was done.
    Unfinished,
}

/// Where a student's grading got to, as the `status` column of
/// `grades.csv` says it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
    /// The program ran through its cases (whatever their verdicts).
    #[default]
    Graded,
    /// A program was started but never got to its cases.
    DidNotStart,
    /// A program's source does not build.
    BuildFailed,
    /// Several files match a program's pattern.
    Ambiguous,
    /// No file matches a program's pattern (or it is a link out).
    NoProgram,
    /// The grading did not finish (interrupted, or results not written).
    NotGraded,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Graded => "graded",
            Standing::DidNotStart => "did-not-start",
            Standing::BuildFailed => "build-failed",
            Standing::Ambiguous => "ambiguous",
            Standing::NoProgram => "no-program",
            Standing::NotGraded => "not-graded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentRecord {
    pub student: String,
    /// The LMS's id for the student (empty for a plain class folder).
    #[serde(default)]
    pub lms_id: String,
    pub status: Status,
    /// The worst of the student's programs; `not-graded` when unfinished.
    #[serde(default)]
    pub standing: Standing,
    /// Digest of the submission and of what it was graded against.
    pub fingerprint: String,
    pub points: u32,
    pub max_points: u32,
    /// Points per column, in column order; None where the case did not run.
    pub cases: Vec<Option<u32>>,
    /// Verdict per column (`pass`, `fail`, `error`), None where not run.
    pub verdicts: Vec<Option<String>>,
    /// Why points are missing beyond the cases' own messages.
    pub note: String,
}

impl StudentRecord {
    /// The row of a student whose grading did not finish.
    pub fn unfinished(student: &str, columns: usize, note: &str) -> StudentRecord {
        StudentRecord {
            student: student.to_string(),
            lms_id: String::new(),
            status: Status::Unfinished,
            standing: Standing::NotGraded,
            fingerprint: String::new(),
            points: 0,
            max_points: 0,
            cases: vec![None; columns],
            verdicts: vec![None; columns],
            note: note.to_string(),
        }
    }

    /// The `status` cell of `grades.csv`.
    pub fn csv_status(&self) -> &'static str {
        match self.status {
            Status::Unfinished => Standing::NotGraded.as_str(),
            Status::Graded => self.standing.as_str(),
        }
    }

    pub fn passed(&self, column: usize) -> bool {
        self.verdicts.get(column).and_then(Option::as_deref) == Some("pass")
    }

    /// The record in `dir`, if one is there and readable.
    pub fn read(dir: &Path) -> Option<StudentRecord> {
        let text = std::fs::read_to_string(dir.join(RECORD_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// What an output folder of `runner grade` covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub assignment: String,
    pub columns: Vec<Column>,
    /// Every student of the class, whichever partition grades them.
    pub students: Vec<String>,
    pub partition: Option<Partition>,
}

impl Manifest {
    pub fn read(dir: &Path) -> Result<Manifest, String> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: not an output folder of `runner grade` ({e})",
                dir.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Writes `text` to `path` through a temporary file and a rename, so that
/// an interrupted run never leaves half a record behind.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let temporary = path.with_extension("partial");
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}
