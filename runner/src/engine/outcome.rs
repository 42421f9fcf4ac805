//! What the engine tells reporters: one enum of events, and the outcome of
//! each case with all the evidence a student needs.

use super::transcript::Entry;
use crate::program::OutputSnapshot;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The target behaved as the case demands.
    Pass,
    /// The target misbehaved.
    Fail,
    /// The harness or the spec is at fault, or the target could not be
    /// started at all: says nothing about the target's correctness.
    Error,
    /// The run ended (its `--deadline`, Ctrl-C) before the case started,
    /// or an earlier case found the server listening at another address.
    NotRun,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
            Verdict::NotRun => "not_run",
        }
    }
}

/// The step where a case failed and what went wrong there.
#[derive(Debug, Clone)]
pub struct Failure {
    /// 1-based index of the step within the case; 0 when the case failed
    /// before its first step (the target did not start).
    pub step: usize,
    /// Line of the step in the spec file.
    pub line: usize,
    /// The step as written, in short: `recv on a: text "HELLO"`.
    pub action: String,
    /// What would have passed.
    pub expected: String,
    /// What arrived instead, if anything did.
    pub actual: Option<Vec<u8>>,
    /// When what arrived is not text: both lengths and what is wrong, and
    /// the offset its hex dump marks.
    pub difference: Option<super::difference::Difference>,
}

/// Why a program never got to a case's exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setback {
    /// Its source file does not build.
    BuildFailed,
    /// It was built (or needs no build) but did not start: it exited,
    /// or never listened.
    DidNotStart,
}

impl Setback {
    /// The setback in a few words, as a case that refers to the one that
    /// tells it in full says it: `the program does not build`.
    pub fn short(self) -> &'static str {
        match self {
            Setback::BuildFailed => "the program does not build",
            Setback::DidNotStart => "the program did not start",
        }
    }
}

/// What the engine writes before the stderr tail it adds to a message.
pub const STDERR_IN_MESSAGE: &str = "; its stderr ends with:\n";

#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub spec: String,
    /// Where the spec came from: a path, or `bundled:NAME.yaml` (shown by
    /// `runner show NAME`).
    pub spec_file: String,
    pub case: String,
    /// The requirement the case checks.
    pub about: String,
    pub hint: Option<String>,
    /// The case's tags in the spec.
    pub tags: Vec<String>,
    /// Who sees the result on Gradescope.
    pub visibility: crate::speclang::Visibility,
    /// An informational case counts in neither the verdict nor the points.
    pub level: crate::speclang::Level,
    pub verdict: Verdict,
    pub points: u32,
    pub max_points: u32,
    pub duration: Duration,
    /// One sentence: what happened, in the student's terms. Empty on pass.
    pub message: String,
    pub failure: Option<Failure>,
    /// Set when the case failed because the program could not be built or
    /// started, not because of what it did once running.
    pub setback: Option<Setback>,
    /// On a case whose setback an earlier case of its spec already told in
    /// full (the compiler's messages, the traceback): that case's id. Its
    /// message only refers to it, and it carries no output of its own, so
    /// that every report says a setback once.
    pub setback_told_by: Option<String>,
    /// The exchange as it happened, on every channel.
    pub transcript: Vec<Entry>,
    pub stdout: OutputSnapshot,
    pub stderr: OutputSnapshot,
}

impl CaseOutcome {
    /// Whether the message already ends with the program's stderr, as
    /// that of a program that died does: reports then leave out the tail.
    pub fn stderr_in_message(&self) -> bool {
        self.message.contains(STDERR_IN_MESSAGE)
    }

    /// Whether this case is the one that tells its spec's setback in full
    /// (the first case it hit): reports show it once, apart from the
    /// cases' lines.
    pub fn tells_setback(&self) -> bool {
        self.setback.is_some() && self.setback_told_by.is_none()
    }

    /// The outcome of `case` with `verdict`: full points on a pass, none
    /// otherwise; the hint for a program in `language`; evidence fields
    /// start empty.
    pub fn new(
        spec: &crate::speclang::Spec,
        case: &crate::speclang::Case,
        language: Option<crate::speclang::Language>,
        verdict: Verdict,
        message: String,
    ) -> CaseOutcome {
        CaseOutcome {
            spec: spec.name.clone(),
            spec_file: spec.source.clone(),
            case: case.id.clone(),
            about: case.about.clone(),
            hint: case.hints.for_language(language),
            tags: case.tags.clone(),
            visibility: case.visibility,
            level: case.level,
            verdict,
            points: if verdict == Verdict::Pass {
                case.points
            } else {
                0
            },
            max_points: case.points,
            duration: Duration::ZERO,
            message,
            failure: None,
            setback: None,
            setback_told_by: None,
            transcript: Vec::new(),
            stdout: OutputSnapshot::default(),
            stderr: OutputSnapshot::default(),
        }
    }
}

/// Totals of a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    /// Selected cases the run did not reach.
    pub not_run: usize,
    pub points: u32,
    pub max_points: u32,
    /// Informational cases run, and how many of them did not pass: in
    /// none of the counts above.
    pub informational: usize,
    pub informational_not_passed: usize,
    pub duration: Duration,
    /// The run was cut short (global deadline or interrupt).
    pub interrupted: bool,
}

impl Summary {
    pub fn add(&mut self, outcome: &CaseOutcome) {
        if outcome.level == crate::speclang::Level::Informational
            && outcome.verdict != Verdict::NotRun
        {
            self.informational += 1;
            if outcome.verdict != Verdict::Pass {
                self.informational_not_passed += 1;
            }
            return;
        }
        match outcome.verdict {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail => self.failed += 1,
            Verdict::Error => self.errors += 1,
            Verdict::NotRun => self.not_run += 1,
        }
        self.points += outcome.points;
        self.max_points += outcome.max_points;
    }

    /// The counts in words: `5 passed, 1 failed, 0 errors, 2 not run`
    /// (the last only when some did not run).
    pub fn counts(&self) -> String {
        let mut counts = format!(
            "{} passed, {} failed, {} errors",
            self.passed, self.failed, self.errors
        );
        if self.not_run > 0 {
            counts.push_str(&format!(", {} not run", self.not_run));
        }
        if self.informational > 0 {
            counts.push_str(&format!(
                "; {} informational ({} not passed)",
                self.informational, self.informational_not_passed
            ));
        }
        counts
    }

    /// Every selected case, run or not.
    pub fn total(&self) -> usize {
        self.ran() + self.not_run
    }

    /// The cases that ran, informational ones included.
    pub fn ran(&self) -> usize {
        self.passed + self.failed + self.errors + self.informational
    }
}

/// Everything reporters hear about, in order.
#[derive(Debug)]
pub enum Event<'a> {
    RunStarted {
        specs: usize,
        cases: usize,
    },
    SpecStarted {
        spec: &'a str,
        title: &'a str,
        /// What is under test: `reference upper-server`, or the command.
        target: &'a str,
        cases: usize,
    },
    /// A case is about to run (its target may start first). In a run of
    /// specs side by side, this comes as it happens, so possibly before
    /// its spec's `SpecStarted`, which keeps spec order; not sent for a
    /// case the run does not reach.
    CaseStarted {
        spec: &'a str,
        case: &'a str,
    },
    CaseFinished(&'a CaseOutcome),
    RunFinished(&'a Summary),
}
