//! `runner grade`: a whole class at once. Every student's programs run
//! through their specs, students side by side (each target has a sandbox
//! and a network of its own, so the handout's hard-coded address can be
//! graded many times at once), and the results go to an output folder:
//! `grades.csv`, a manifest, and per student the reports.

pub mod assignment;
pub mod bundle;
pub mod class;
pub mod merge;
pub mod pattern;
mod progress;
pub mod record;
pub mod stats;
mod student;
pub mod table;

use crate::engine::Selection;
use crate::program::Identity;
use crate::spec::LimitSettings;
use assignment::Assignment;
use class::Student;
use record::{Column, Manifest, Partition, StudentRecord};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub use student::{GRADESCOPE_REPORT, HTML_REPORT, HUMAN_REPORT, JSON_REPORT};

/// Name of the class table inside `OUTDIR/`.
pub const GRADES_FILE: &str = "grades.csv";

/// Name of the class dashboard inside `OUTDIR/`.
pub const DASHBOARD_FILE: &str = "index.html";

/// Students graded at once when `--jobs` is not given, per CPU. Most of a
/// case is spent waiting on sockets and observation windows, not on the
/// CPU: `bench/grade-class.sh` on 2 CPUs graded 100 chat servers in 45 s
/// with 8 at once and 37 s with 16 (the machine otherwise busy); verdicts
/// stay the same (`idle` judges busy loops by runnable time, not by CPU
/// share, and the tests compare --jobs 1 with the default).
pub const JOBS_PER_CPU: usize = 8;

/// Everything the grading of one student needs, shared by all workers.
pub struct Grading {
    pub assignment: Assignment,
    /// The cases graded, in order: the columns of `grades.csv`.
    pub columns: Vec<Column>,
    pub selection: Selection,
    pub limits: LimitSettings,
    pub identity: Option<Arc<Identity>>,
    pub env: Vec<(String, String)>,
    pub out: PathBuf,
    /// Keep a student's earlier result when nothing changed since.
    pub resume: bool,
    /// What, besides the submission, a result depends on (for `--resume`).
    basis: String,
}

impl Grading {
    pub fn new(
        assignment: Assignment,
        selection: Selection,
        limits: LimitSettings,
        env: Vec<(String, String)>,
        out: PathBuf,
    ) -> Grading {
        let columns = assignment
            .programs
            .iter()
            .flat_map(|program| {
                let spec = &program.spec;
                spec.cases
                    .iter()
                    .filter(|case| selection.includes(spec, case))
                    .map(|case| Column {
                        name: format!("{}/{}", spec.name, case.id),
                        max_points: case.points,
                        about: case.about.clone(),
                    })
            })
            .collect();
        let mut basis = format!(
            "runner {}\n{}\n{selection:?}\n{limits:?}\n{env:?}\n",
            env!("CARGO_PKG_VERSION"),
            assignment.name
        );
        for program in &assignment.programs {
            basis.push_str(&format!(
                "{}\n{:?}\n{}\n",
                program.file, program.addr, program.spec.text
            ));
        }
        Grading {
            assignment,
            columns,
            selection,
            limits,
            identity: None,
            env,
            out,
            resume: false,
            basis,
        }
    }

    pub fn manifest(&self, students: &[Student], partition: Option<Partition>) -> Manifest {
        Manifest {
            assignment: self.assignment.name.clone(),
            columns: self.columns.clone(),
            students: students.iter().map(|s| s.name.clone()).collect(),
            partition,
        }
    }
}

/// How a class grading ended.
pub struct ClassResult {
    /// One per student of the partition, sorted by name.
    pub records: Vec<StudentRecord>,
    pub interrupted: bool,
}

/// Grades the students of `students` that `partition` holds, `jobs` at a
/// time, writing each one's reports as they finish. A stop request
/// (Ctrl-C) lets running students end their current step; students not
/// finished are marked so.
pub fn grade_class(
    grading: &Grading,
    students: &[Student],
    partition: Option<Partition>,
    jobs: usize,
) -> ClassResult {
    let mine: Vec<&Student> = students
        .iter()
        .enumerate()
        .filter(|(position, _)| partition.is_none_or(|p| p.holds(*position)))
        .map(|(_, student)| student)
        .collect();
    let mut results: Vec<Option<StudentRecord>> = vec![None; mine.len()];
    let mut progress = progress::Progress::new(mine.len());
    let next = AtomicUsize::new(0);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, mine.len().max(1)) {
            let sender = sender.clone();
            let (next, mine) = (&next, &mine);
            scope.spawn(move || loop {
                if crate::stop::requested() {
                    break;
                }
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(student) = mine.get(index) else {
                    break;
                };
                let graded = student::grade(grading, student);
                if sender.send((index, graded)).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        for (index, graded) in receiver {
            let name = &mine[index].name;
            let record = match graded {
                Ok(graded) => {
                    let kept = matches!(graded, student::Graded::Kept(_));
                    let record = graded.record();
                    progress.done(&describe(&record, kept));
                    record
                }
                Err(error) => {
                    progress.done(&format!("{name}: cannot write the results: {error}"));
                    StudentRecord::unfinished(
                        name,
                        grading.columns.len(),
                        &format!("not graded: cannot write the results ({error})"),
                    )
                }
            };
            results[index] = Some(record);
        }
    });
    progress.finish();
    let interrupted = crate::stop::requested();
    let records = mine
        .iter()
        .zip(results)
        .map(|(student, record)| {
            record.unwrap_or_else(|| {
                StudentRecord::unfinished(
                    &student.name,
                    grading.columns.len(),
                    "not graded: interrupted",
                )
            })
        })
        .collect();
    ClassResult {
        records,
        interrupted,
    }
}

fn describe(record: &StudentRecord, kept: bool) -> String {
    let student = &record.student;
    match record.status {
        record::Status::Unfinished => format!("{student}: {}", record.note),
        record::Status::Graded => format!(
            "{student}: {}/{} points{}",
            record.points,
            record.max_points,
            if kept { " (unchanged, kept)" } else { "" }
        ),
    }
}

/// The output folder may be new, empty, or one that grading wrote before;
/// anything else is refused rather than mixed with a class's results.
pub fn check_output_folder(out: &Path) -> Result<(), String> {
    let Ok(mut entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    if entries.next().is_none() || out.join(record::MANIFEST_FILE).is_file() {
        return Ok(());
    }
    Err(format!(
        "{}: the folder exists and holds files that `runner grade` did not write; give a new or empty folder",
        out.display()
    ))
}

/// Names of what grading writes at the top of the output folder, which no
/// student's folder there may take.
pub const RESERVED_NAMES: [&str; 3] = [GRADES_FILE, record::MANIFEST_FILE, DASHBOARD_FILE];

/// Writes `grades.csv`, the dashboard `index.html` and the manifest of an
/// output folder.
pub fn write_class_files(
    out: &Path,
    manifest: &Manifest,
    records: &[StudentRecord],
) -> std::io::Result<()> {
    table::write_csv(&out.join(GRADES_FILE), &manifest.columns, records)?;
    let dashboard = crate::report::html::dashboard(out, manifest, records);
    record::write_atomically(&out.join(DASHBOARD_FILE), &dashboard)?;
    let text = serde_json::to_string_pretty(manifest).map_err(std::io::Error::other)?;
    record::write_atomically(&out.join(record::MANIFEST_FILE), &text)
}

/// Students graded at once by default: a few per CPU.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) * JOBS_PER_CPU
}
