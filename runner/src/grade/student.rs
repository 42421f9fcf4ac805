//! Grades one student: runs every program of the assignment found in the
//! student's folder through its spec, and writes the student's reports.

use super::assignment::Program;
use super::class::{self, Student};
use super::record::{self, Status, StudentRecord};
use super::Grading;
use crate::engine::{self, CaseOutcome, Event, RunOptions, Summary, Verdict};
use crate::program::TargetCommand;
use crate::report::{self, human::Human, Collected};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Files written in `OUTDIR/<student>/`.
pub const HUMAN_REPORT: &str = "report.txt";
pub const JSON_REPORT: &str = "report.json";
pub const GRADESCOPE_REPORT: &str = "results.json";
pub const HTML_REPORT: &str = "report.html";

/// Whether a student's record was made now or kept from an earlier run.
pub enum Graded {
    Now(StudentRecord),
    Kept(StudentRecord),
}

impl Graded {
    pub fn record(self) -> StudentRecord {
        match self {
            Graded::Now(record) | Graded::Kept(record) => record,
        }
    }
}

/// Grades `student`, or keeps the earlier result when `--resume` is on and
/// neither the submission nor the assignment changed since.
pub fn grade(grading: &Grading, student: &Student) -> std::io::Result<Graded> {
    let fingerprint = fingerprint(grading, &student.dir);
    let out = grading.out.join(&student.name);
    if let (true, Ok(fingerprint)) = (grading.resume, &fingerprint) {
        if let Some(earlier) = StudentRecord::read(&out) {
            if earlier.status == Status::Graded && &earlier.fingerprint == fingerprint {
                return Ok(Graded::Kept(earlier));
            }
        }
    }
    std::fs::create_dir_all(&out)?;
    // A stale record must not outlive a regrading that gets interrupted.
    let _ = std::fs::remove_file(out.join(record::RECORD_FILE));
    let mut human = Human::new(report::create_file(&out.join(HUMAN_REPORT))?, false);
    let started = std::time::Instant::now();
    let mut collected = Collected::default();
    let mut notes = Vec::new();
    let fingerprint = fingerprint.unwrap_or_else(|why| {
        notes.push(format!(
            "{why}: not fingerprinted, so graded again at every --resume"
        ));
        String::new()
    });
    let mut interrupted = false;
    for program in &grading.assignment.programs {
        let mut tell = |event: &Event| {
            if !matches!(event, Event::RunStarted { .. } | Event::RunFinished(_)) {
                human.event(event);
            }
            collected.event(event);
        };
        match program_command(program, &student.dir) {
            Ok(command) => {
                let options = run_options(grading, program, command);
                let summary = engine::run(std::slice::from_ref(&program.spec), &options, &mut tell);
                interrupted |= summary.interrupted;
            }
            Err(reason) => {
                not_handed_in(grading, program, &reason, &mut tell);
                notes.push(if grading.assignment.programs.len() > 1 {
                    format!("{}: {reason}", program.spec.name)
                } else {
                    reason
                });
            }
        }
    }
    let mut summary = Summary::default();
    for outcome in &collected.outcomes {
        summary.add(outcome);
    }
    summary.interrupted = interrupted;
    summary.duration = started.elapsed();
    collected.summary = summary.clone();
    human.event(&Event::RunFinished(&summary));
    if interrupted {
        return Ok(Graded::Now(StudentRecord::unfinished(
            &student.name,
            grading.columns.len(),
            "not graded: interrupted",
        )));
    }
    let errors = summary.errors;
    if errors > 0 {
        notes.push(format!(
            "{errors} case{} could not be run (see report.txt)",
            if errors == 1 { "" } else { "s" }
        ));
    }
    record::write_atomically(&out.join(JSON_REPORT), &report::json::render(&collected))?;
    let context = report::html::Context {
        student: Some(student.name.clone()),
        target: None,
        class_index: Some(String::from("../index.html")),
    };
    record::write_atomically(
        &out.join(HTML_REPORT),
        &report::html::render(&collected, &context),
    )?;
    record::write_atomically(
        &out.join(GRADESCOPE_REPORT),
        &report::gradescope::render(&collected),
    )?;
    let record = to_record(grading, &student.name, fingerprint, &collected, notes);
    let text = serde_json::to_string_pretty(&record).map_err(std::io::Error::other)?;
    record::write_atomically(&out.join(record::RECORD_FILE), &text)?;
    Ok(Graded::Now(record))
}

/// The digest that decides whether `--resume` may keep a result: what the
/// student handed in, and what it is graded against; or why there is
/// none. A submission too big to hash (or holding a sparse file) has none
/// and is graded again at every `--resume`: keeping its result would take
/// on trust that nothing changed, and a teacher who resumes expects every
/// changed submission regraded; grading does not read such files anyway
/// (the sandbox only shows them to the program), so it costs what grading
/// the student costs, not what reading 10 GiB costs.
fn fingerprint(grading: &Grading, dir: &Path) -> Result<String, String> {
    let mut hasher = Sha256::new();
    hasher.update(grading.basis.as_bytes());
    class::fingerprint(dir, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// The command that starts the student's program, or why there is none.
fn program_command(program: &Program, dir: &Path) -> Result<TargetCommand, String> {
    let path = class::find_program(dir, &program.file).map_err(|missing| missing.to_string())?;
    let name = path
        .strip_prefix(dir)
        .unwrap_or(&path)
        .display()
        .to_string();
    // A link to a classmate's program (or anything else outside the
    // folder) would grade someone else's work.
    let inside = match (path.canonicalize(), dir.canonicalize()) {
        (Ok(real), Ok(folder)) => real.starts_with(folder),
        _ => false,
    };
    if !inside {
        return Err(format!(
            "{name} is a link to a file outside the submission, or a broken link: hand in the program itself"
        ));
    }
    TargetCommand::parse(&path.display().to_string())
        .map(|mut command| {
            command.label = name.clone();
            command
        })
        .map_err(|e| format!("{name} cannot be run: {e}"))
}

fn run_options(grading: &Grading, program: &Program, command: TargetCommand) -> RunOptions {
    RunOptions {
        target: Some(command),
        addr: program.addr,
        selection: grading.selection.clone(),
        limits: grading.limits,
        identity: grading.identity.clone(),
        env: grading.env.clone(),
        deadline: None,
    }
}

/// Every case of a program that was not handed in (or cannot run) fails
/// with the reason, so the student's report says what is missing.
fn not_handed_in(grading: &Grading, program: &Program, reason: &str, tell: &mut dyn FnMut(&Event)) {
    let spec = &program.spec;
    let cases: Vec<_> = spec
        .cases
        .iter()
        .filter(|case| grading.selection.includes(spec, case))
        .collect();
    tell(&Event::SpecStarted {
        spec: &spec.name,
        title: &spec.title,
        target: &format!("`{}` (not found)", program.file.as_str()),
        cases: cases.len(),
    });
    for case in cases {
        let mut outcome = CaseOutcome::new(spec, case, None, Verdict::Fail, reason.to_string());
        // The case's hint is about a program that runs; this one does not.
        outcome.hint = None;
        tell(&Event::CaseFinished(&outcome));
    }
}

fn to_record(
    grading: &Grading,
    student: &str,
    fingerprint: String,
    collected: &Collected,
    notes: Vec<String>,
) -> StudentRecord {
    let mut cases = vec![None; grading.columns.len()];
    let mut verdicts = vec![None; grading.columns.len()];
    for outcome in &collected.outcomes {
        let name = format!("{}/{}", outcome.spec, outcome.case);
        if let Some(index) = grading.columns.iter().position(|c| c.name == name) {
            cases[index] = Some(outcome.points);
            verdicts[index] = Some(outcome.verdict.as_str().to_string());
        }
    }
    StudentRecord {
        student: student.to_string(),
        status: Status::Graded,
        fingerprint,
        points: collected.summary.points,
        max_points: collected.summary.max_points,
        cases,
        verdicts,
        note: notes.join("; "),
    }
}
