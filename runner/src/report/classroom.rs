//! GitHub Classroom's autograding result: the JSON that the
//! `classroom-resources/autograding-grading-reporter` action reads, base64
//! encoded, from a `<RUNNER-ID>_RESULTS` variable, as the
//! `autograding-command-grader` and `autograding-io-grader` actions write
//! it: `version` 1, the run's `status` (`pass`, `fail` or `error`), its
//! `max_score`, and one entry per test with `name`, `status`, `score`,
//! `message`, `test_code`, `filename`, `line_no` and `duration` (ms).
//!
//! The reporter adds up `tests[].score` of every runner and their
//! `max_score`s: here each case is a test scoring the points it earned,
//! so the sum is the runner's points. An informational case scores 0.

use super::Collected;
use crate::engine::{CaseOutcome, Verdict};
use crate::speclang::Level;
use serde::Serialize;
use std::fmt::Write as _;

/// The version of the result shape the reporter reads.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct Results {
    version: u32,
    status: &'static str,
    max_score: u32,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    name: String,
    status: &'static str,
    score: u32,
    message: String,
    test_code: String,
    filename: String,
    line_no: usize,
    /// Milliseconds, as the graders write it.
    duration: u64,
}

/// What the run was given, for each test's `test_code`: the command line
/// that runs the case again.
#[derive(Default, Clone)]
pub struct Context {
    /// The `--target` of the run, if any.
    pub target: Option<String>,
    /// The `--addr` of the run, if any.
    pub addr: Option<String>,
}

/// The run's status as the reporter reads it: `fail` when a case that
/// counts failed, `error` when none failed but one could not be judged or
/// was not run, `pass` otherwise.
pub fn status(collected: &Collected) -> &'static str {
    let counted = || {
        collected
            .outcomes
            .iter()
            .filter(|o| o.level != Level::Informational)
    };
    if counted().any(|o| o.verdict == Verdict::Fail) {
        "fail"
    } else if collected.summary.interrupted || counted().any(|o| o.verdict != Verdict::Pass) {
        "error"
    } else {
        "pass"
    }
}

pub fn render(collected: &Collected, context: &Context) -> String {
    let tests = collected
        .outcomes
        .iter()
        .map(|outcome| Test {
            name: format!("{}/{}", outcome.spec, outcome.case),
            status: match outcome.verdict {
                Verdict::Pass => "pass",
                Verdict::Fail => "fail",
                Verdict::Error | Verdict::NotRun => "error",
            },
            score: if outcome.level == Level::Informational {
                0
            } else {
                outcome.points
            },
            message: plain_evidence(outcome),
            test_code: test_code(outcome, context),
            filename: outcome.spec_file.clone(),
            line_no: outcome.failure.as_ref().map_or(0, |f| f.line),
            duration: outcome.duration.as_millis() as u64,
        })
        .collect();
    let results = Results {
        version: VERSION,
        status: status(collected),
        max_score: collected.summary.max_points,
        tests,
    };
    serde_json::to_string_pretty(&results).unwrap_or_default()
}

/// The command that runs the case again.
fn test_code(outcome: &CaseOutcome, context: &Context) -> String {
    let spec = if outcome.spec_file.starts_with("bundled:") {
        outcome.spec.clone()
    } else {
        outcome.spec_file.clone()
    };
    let mut words = vec![
        String::from("runner"),
        spec,
        String::from("--case"),
        outcome.case.clone(),
    ];
    if let Some(target) = &context.target {
        words.extend([String::from("--target"), target.clone()]);
    }
    if let Some(addr) = &context.addr {
        words.extend([String::from("--addr"), addr.clone()]);
    }
    shell_words::join(words)
}

/// A case's evidence as plain text, for consumers that show a message as
/// it is (a log, a `<pre>`): the requirement, and unless it passed, the
/// message, the step, expected and received, the hint, the transcript and
/// the output tails. Control characters are escaped.
pub fn plain_evidence(outcome: &CaseOutcome) -> String {
    use crate::engine::show::{quoted_short, terminal_safe};
    let mut out = String::new();
    let _ = writeln!(out, "requirement: {}", outcome.about);
    if outcome.level == Level::Informational {
        out.push_str("informational: counts for no points\n");
    }
    match outcome.verdict {
        Verdict::Pass => return terminal_safe(out.trim_end()),
        Verdict::NotRun => {
            let _ = writeln!(out, "{}; no points.", outcome.message.trim_end_matches('.'));
            return terminal_safe(out.trim_end());
        }
        Verdict::Fail | Verdict::Error => {
            let _ = writeln!(out, "{}", outcome.message);
        }
    }
    if let Some(failure) = &outcome.failure {
        let _ = writeln!(
            out,
            "step {} ({}:{}): {}",
            failure.step, outcome.spec_file, failure.line, failure.action
        );
        let _ = writeln!(out, "expected: {}", failure.expected);
        if let Some((headline, dump)) = super::received_dump(failure, 32) {
            let _ = writeln!(out, "received: {headline}\n{dump}");
        } else if let Some(actual) = &failure.actual {
            let _ = writeln!(out, "received: {}", quoted_short(actual, 300));
        }
    }
    if let Some(hint) = &outcome.hint {
        let _ = writeln!(out, "hint: {hint}");
    }
    if !outcome.transcript.is_empty() {
        out.push_str("transcript:\n");
        for entry in &outcome.transcript {
            let (time, rest) = super::transcript_line(entry, 160);
            let _ = writeln!(out, "  {time} {rest}");
        }
    }
    let stderr_in_message = outcome.stderr_in_message();
    for (name, snapshot) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
        if name == "stderr" && stderr_in_message {
            continue;
        }
        if let Some(text) = super::tail(snapshot, 20) {
            let _ = writeln!(out, "{name} (last lines):");
            for line in text.trim_end_matches('\n').split('\n') {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    // Line ends stay: the reporter prints the message as lines.
    out.trim_end()
        .split('\n')
        .map(terminal_safe)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the grading reporter adds up: every test's score.
    fn scores_sum(report: &serde_json::Value) -> u64 {
        report["tests"]
            .as_array()
            .expect("tests")
            .iter()
            .map(|t| t["score"].as_u64().expect("score"))
            .sum()
    }

    #[test]
    fn scores_add_up_to_the_runners_points() {
        let collected = crate::report::sample::collected();
        let text = render(&collected, &Context::default());
        let report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(report["version"], 1);
        assert_eq!(report["status"], "fail");
        assert_eq!(report["max_score"], collected.summary.max_points);
        assert_eq!(scores_sum(&report), u64::from(collected.summary.points));
        let failed = &report["tests"][1];
        assert_eq!(failed["status"], "fail");
        assert_eq!(failed["line_no"], 35);
        assert_eq!(
            failed["test_code"],
            "runner tcp-upper-server --case utf8-text"
        );
        let message = failed["message"].as_str().expect("message");
        assert!(message.contains("hint: decode as UTF-8"), "{message}");
        assert!(message.contains("00000000  ff 00 "), "{message}");
        assert!(!message.contains('\u{1b}'), "{message}");
    }

    #[test]
    fn an_informational_case_scores_nothing_and_decides_nothing() {
        let mut collected = crate::report::sample::collected();
        for outcome in &mut collected.outcomes {
            if outcome.verdict != Verdict::Pass {
                outcome.level = Level::Informational;
            }
        }
        let mut summary = crate::engine::Summary::default();
        for outcome in &collected.outcomes {
            summary.add(outcome);
        }
        collected.summary = summary;
        collected.outcomes[0].level = Level::Required;
        let mut informational_pass = collected.outcomes[0].clone();
        informational_pass.level = Level::Informational;
        collected.outcomes.push(informational_pass);
        let report: serde_json::Value =
            serde_json::from_str(&render(&collected, &Context::default())).expect("JSON");
        assert_eq!(report["status"], "pass");
        assert_eq!(report["tests"][2]["score"], 0);
        assert_eq!(scores_sum(&report), u64::from(collected.summary.points));
    }
}
