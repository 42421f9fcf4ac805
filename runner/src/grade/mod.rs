//! `runner grade`: a whole class at once. Every student's programs run
//! through their specs, students side by side (each target has a sandbox
//! and a network of its own, so the handout's hard-coded address can be
//! graded many times at once), and the results go to an output folder:
//! `grades.csv`, a manifest, and per student the reports.

pub mod bundle;
pub mod class;
pub mod classroom_workflow;
pub mod intake;
pub mod lms;
pub mod merge;
pub mod prairielearn_question;
mod progress;
pub mod record;
pub mod stats;
mod student;
pub mod table;

use crate::engine::Selection;
use crate::program::Identity;
use crate::speclang::assignment::Assignment;
use crate::speclang::LimitSettings;
use class::Student;
use record::{Column, Manifest, Partition, StudentRecord};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub use student::{
    CLASSROOM_REPORT, GRADESCOPE_REPORT, HTML_REPORT, HUMAN_REPORT, JSON_REPORT,
    PRAIRIELEARN_REPORT,
};

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
    /// The places every student's cases share when they run side by side
    /// (see `RunOptions::cases_at_once`); None: one case after another.
    pub cases_at_once: Option<Arc<crate::engine::slots::Slots>>,
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
            cases_at_once: None,
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
            let mut record = record.unwrap_or_else(|| {
                StudentRecord::unfinished(
                    &student.name,
                    grading.columns.len(),
                    "not graded: interrupted",
                )
            });
            record.lms_id.clone_from(&student.lms_id);
            record
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

/// Name of the lock file inside `OUTDIR/`, held while a grading writes
/// there; it says who holds it.
pub const LOCK_FILE: &str = "grading.lock";

/// The output folder may be new, empty, or one that grading wrote before
/// (or is writing: it holds the lock file); anything else is refused
/// rather than mixed with a class's results.
pub fn check_output_folder(out: &Path) -> Result<(), String> {
    let Ok(mut entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    if entries.next().is_none()
        || out.join(record::MANIFEST_FILE).is_file()
        || out.join(LOCK_FILE).is_file()
    {
        return Ok(());
    }
    Err(format!(
        "{}: the folder exists and holds files that `runner grade` did not write; give a new or empty folder",
        out.display()
    ))
}

/// The class folder and the output folder must be apart: an output folder
/// inside the class would be graded as a student (or its reports read as
/// a submission), and a class inside the output folder mixed with
/// results.
pub fn check_folders_apart(class: &Path, out: &Path) -> Result<(), String> {
    let (class_real, out_real) = (real_path(class), real_path(out));
    if out_real.starts_with(&class_real) {
        return Err(format!(
            "--out {}: the output folder is inside the class folder {}; give one outside it",
            out.display(),
            class.display()
        ));
    }
    if class_real.starts_with(&out_real) {
        return Err(format!(
            "--submissions {}: the class folder is inside the output folder {}; give an output folder outside it",
            class.display(),
            out.display()
        ));
    }
    Ok(())
}

/// `path` with its longest existing head resolved (links and `..`), the
/// rest as given: a folder not made yet is still placed.
fn real_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut head = absolute.as_path();
    let mut tail = Vec::new();
    loop {
        if let Ok(real) = head.canonicalize() {
            let mut real = real;
            for part in tail.iter().rev() {
                real.push(part);
            }
            return real;
        }
        match (head.parent(), head.file_name()) {
            (Some(parent), Some(name)) => {
                tail.push(name.to_os_string());
                head = parent;
            }
            _ => return absolute,
        }
    }
}

/// The output folder held for one grading: dropped, the next may write.
pub struct OutputLock {
    _held: nix::fcntl::Flock<std::fs::File>,
}

/// Takes the output folder for this grading: its lock file held with
/// `flock`, and this process's id and start time written in it. Another
/// grading holding it is refused at once, with what its lock says.
pub fn lock_output(out: &Path) -> Result<OutputLock, String> {
    use nix::fcntl::{Flock, FlockArg};
    use std::io::{Read, Seek, Write};
    let path = out.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut held = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(held) => held,
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut said = String::new();
            let _ = file.read_to_string(&mut said);
            let who = said.split_whitespace().collect::<Vec<_>>().join(" ");
            let who = crate::text::escape_controls(&who, |_| false);
            return Err(format!(
                "{}: another `runner grade` is writing there ({}); wait for it to end, or give another --out",
                out.display(),
                if who.is_empty() { "its lock says nothing yet" } else { &who }
            ));
        }
        Err((_, error)) => return Err(format!("{}: cannot lock it: {error}", path.display())),
    };
    let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let written = held
        .set_len(0)
        .and_then(|()| held.rewind())
        .and_then(|()| writeln!(held, "pid {}, started {started}", std::process::id()));
    written.map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(OutputLock { _held: held })
}

/// Names of what grading writes at the top of the output folder, which no
/// student's folder there may take.
pub const RESERVED_NAMES: [&str; 4] = [
    GRADES_FILE,
    record::MANIFEST_FILE,
    DASHBOARD_FILE,
    LOCK_FILE,
];

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
