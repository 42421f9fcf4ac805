//! Grades one student: runs every program of the assignment found in the
//! student's folder through its spec, and writes the student's reports.

use super::class::{self, Student};
use super::record::{self, Standing, Status, StudentRecord};
use super::Grading;
use crate::engine::{self, CaseOutcome, Event, RunOptions, Setback, Summary, Verdict};
use crate::program::TargetCommand;
use crate::report::{self, human::Human, Collected};
use crate::speclang::assignment::Program;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Files written in `OUTDIR/<student>/`.
pub const HUMAN_REPORT: &str = "report.txt";
pub const JSON_REPORT: &str = "report.json";
pub const GRADESCOPE_REPORT: &str = "results.json";
pub const HTML_REPORT: &str = "report.html";
pub const CLASSROOM_REPORT: &str = "classroom.json";
pub const PRAIRIELEARN_REPORT: &str = "prairielearn.json";

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
    let mut notes = student.notes.clone();
    let fingerprint = fingerprint.unwrap_or_else(|why| {
        notes.push(format!(
            "{why}: not fingerprinted, so graded again at every --resume"
        ));
        String::new()
    });
    let mut interrupted = false;
    let mut standing = Standing::Graded;
    let several = grading.assignment.programs.len() > 1;
    for program in &grading.assignment.programs {
        let earlier = collected.outcomes.len();
        let mut tell = |event: &Event| {
            if !matches!(event, Event::RunStarted { .. } | Event::RunFinished(_)) {
                human.event(event);
            }
            collected.event(event);
        };
        let ran = match program_command(program, &student.dir) {
            Ok(command) => {
                let label = command.label.clone();
                let options = run_options(grading, program, command);
                let summary = engine::run(std::slice::from_ref(&program.spec), &options, &mut tell);
                interrupted |= summary.interrupted;
                Ok(label)
            }
            Err((why, reason)) => {
                not_handed_in(grading, program, &reason, &mut tell);
                Err((why, reason))
            }
        };
        let (why, reason) = match ran {
            Ok(label) => match setback(&label, &collected.outcomes[earlier..]) {
                Some(found) => found,
                None => continue,
            },
            Err(found) => found,
        };
        standing = standing.max(why);
        notes.push(if several {
            format!("{}: {reason}", program.spec.name)
        } else {
            reason
        });
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
    record::write_atomically(
        &out.join(CLASSROOM_REPORT),
        &report::classroom::render(&collected, &Default::default()),
    )?;
    record::write_atomically(
        &out.join(PRAIRIELEARN_REPORT),
        &report::prairielearn::render(&collected),
    )?;
    let mut record = to_record(grading, &student.name, fingerprint, &collected, notes);
    // In grade.json too, for `runner merge`.
    record.lms_id.clone_from(&student.lms_id);
    record.standing = standing;
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

/// Why a program that was found never got to its cases, and the note
/// that says it: a build that failed (with the compiler's first error),
/// or a program that did not start in any case. None when it ran.
fn setback(label: &str, outcomes: &[CaseOutcome]) -> Option<(Standing, String)> {
    if let Some(failed) = outcomes
        .iter()
        .find(|o| o.setback == Some(Setback::BuildFailed))
    {
        let note = format!(
            "{label}: does not build: {}",
            first_error(&failed.message, label)
        );
        return Some((Standing::BuildFailed, note));
    }
    let first = outcomes.first()?;
    if !outcomes
        .iter()
        .all(|o| o.setback == Some(Setback::DidNotStart))
    {
        return None;
    }
    let (said, stderr) = first
        .message
        .split_once(engine::STDERR_IN_MESSAGE)
        .unwrap_or((&first.message, ""));
    let mut note = format!("{label}: did not start: {}", first_line(said));
    if let Some(last) = stderr.lines().rev().find(|l| !l.trim().is_empty()) {
        note.push_str(&format!(" ({})", shorten(last.trim())));
    }
    Some((Standing::DidNotStart, note))
}

/// The compiler's first error in a build failure's message, in short:
/// `line 12: 'upcase' undeclared`, or `util.c line 8: ...` when it is in
/// another file than `program`'s; else the sentence before it.
fn first_error(message: &str, program: &str) -> String {
    let (why, said) = message
        .split_once("; the compiler says:\n")
        .or_else(|| message.split_once("; the build command says:\n"))
        .unwrap_or((message, ""));
    let lines: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
    // `file:LINE:COLUMN: error: what` (gcc, clang, go, javac): the line
    // number and what; an error line first, then any placed line.
    let placed: Vec<(&str, &str, String)> = lines.iter().filter_map(|l| placed(l)).collect();
    let said = match placed
        .iter()
        .find(|(_, _, what)| what.starts_with("error:") || what.starts_with("fatal error:"))
        .or_else(|| placed.first())
    {
        Some((file, number, what)) => {
            let what = what
                .strip_prefix("fatal error:")
                .or_else(|| what.strip_prefix("error:"))
                .unwrap_or(what)
                .trim();
            let base = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
            if base(file) == base(program) || file.is_empty() {
                format!("line {number}: {what}")
            } else {
                format!("{} line {number}: {what}", base(file))
            }
        }
        None => match lines
            .iter()
            .find(|l| l.contains("error"))
            .or_else(|| lines.first())
        {
            Some(line) => line.trim().to_string(),
            None => {
                let why = why.split_once(" does not build: ").map_or(why, |(_, w)| w);
                return shorten(first_line(why));
            }
        },
    };
    // gcc's aside on the first use says nothing a student needs here.
    let said = said
        .strip_suffix(" (first use in this function)")
        .unwrap_or(&said);
    shorten(said)
}

/// The file, line number and what of a compiler's
/// `file:LINE[:COLUMN]: what`.
fn placed(line: &str) -> Option<(&str, &str, String)> {
    let mut parts = line.splitn(3, ':');
    let (file, number, rest) = (parts.next()?.trim(), parts.next()?.trim(), parts.next()?);
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // An optional column, then what.
    let rest = rest.trim_start();
    let what = match rest.split_once(':') {
        Some((column, what))
            if !column.is_empty() && column.bytes().all(|b| b.is_ascii_digit()) =>
        {
            what
        }
        _ => rest,
    };
    Some((file, number, what.trim().to_string()))
}

fn first_line(text: &str) -> &str {
    text.lines()
        .next()
        .unwrap_or("")
        .trim_end_matches(';')
        .trim()
}

/// At most 100 characters, control characters made visible.
fn shorten(text: &str) -> String {
    const LONGEST: usize = 100;
    let text = crate::text::escape_controls(text, |_| false);
    if text.chars().count() <= LONGEST {
        return text;
    }
    let mut cut: String = text.chars().take(LONGEST - 1).collect();
    cut.push('…');
    cut
}

/// The command that starts the student's program, or why there is none.
fn program_command(program: &Program, dir: &Path) -> Result<TargetCommand, (Standing, String)> {
    let path = class::find_program(dir, &program.file).map_err(|missing| {
        let why = match missing {
            class::Missing::None { .. } => Standing::NoProgram,
            class::Missing::Several { .. } => Standing::Ambiguous,
        };
        (why, missing.to_string())
    })?;
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
        return Err((Standing::NoProgram, format!(
            "{name} is a link to a file outside the submission, or a broken link: hand in the program itself"
        )));
    }
    // The assignment's own commands, else the way the file's type says.
    let command = match &program.run {
        Some(run) => crate::program::assignment_command(&path, program.build.as_deref(), run),
        None => TargetCommand::parse(&path.display().to_string()),
    };
    command
        .map(|mut command| {
            command.label = name.clone();
            command
        })
        .map_err(|e| (Standing::DidNotStart, format!("{name} cannot be run: {e}")))
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
        mutation: None,
        cases_at_once: grading.cases_at_once.clone(),
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
        lms_id: String::new(),
        status: Status::Graded,
        standing: Standing::Graded,
        fingerprint,
        points: collected.summary.points,
        max_points: collected.summary.max_points,
        cases,
        verdicts,
        note: notes.join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::first_error;

    #[test]
    fn a_build_failure_is_said_by_its_first_error_in_short() {
        let gcc = "server.c does not build: cc exited with code 1; the compiler says:\n\
                   /tmp/c/server.c: In function 'main':\n\
                   /tmp/c/server.c:12:10: error: 'upcase' undeclared (first use in this function)\n\
                   \x20  12 |   return upcase;";
        assert_eq!(first_error(gcc, "server.c"), "line 12: 'upcase' undeclared");
        let helper = "server.c does not build: cc exited with code 1; the compiler says:\n\
                      /tmp/c/util.c:8:1: error: expected ';' before '}' token";
        assert_eq!(
            first_error(helper, "server.c"),
            "util.c line 8: expected ';' before '}' token"
        );
        let javac = "Server.java does not build: javac exited with code 1; the compiler says:\n\
                     Server.java:5: error: cannot find symbol";
        assert_eq!(
            first_error(javac, "src/lab1/Server.java"),
            "line 5: cannot find symbol"
        );
        let go = "server.go does not build: go exited with code 1; the compiler says:\n\
                  # command-line-arguments\n./server.go:7:2: undefined: upcase";
        assert_eq!(first_error(go, "server.go"), "line 7: undefined: upcase");
        let command = "main.c does not build: the build command exited with code 1; the build command says:\n\
                       main.c:3:1: error: unknown type name 'nope'";
        assert_eq!(
            first_error(command, "main.c"),
            "line 3: unknown type name 'nope'"
        );
        let silent = "server.c does not build: cc was still running after 60s";
        assert_eq!(
            first_error(silent, "server.c"),
            "cc was still running after 60s"
        );
    }
}
