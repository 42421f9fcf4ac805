//! The JSON report for graders and scripts. One object per case in
//! `results`, with at least `spec`, `case`, `verdict`, `points`,
//! `max_points` and `message`; the shape is versioned by `version`, and
//! its JSON Schema (`runner schema report`) is generated from the types
//! below, so the two cannot disagree.

use super::{tail, Collected};
use crate::engine::show::{hex, is_printable};
use crate::engine::{CaseOutcome, Direction, Verdict};
use schemars::{JsonSchema, Schema};
use serde::Serialize;

/// The version of the report's shape: raised whenever a field changes
/// meaning or goes away.
pub const VERSION: u32 = 2;

/// The report of one run of `runner`: every selected case of every spec,
/// with its verdict, points and the evidence of a failure.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "runner JSON report")]
pub struct Report {
    /// The version of this report's shape (this schema describes version 2).
    #[schemars(extend("const" = 2))]
    pub version: u32,
    /// How targets were confined: `namespaces` (a sandbox and a network of
    /// their own) or `process-group` (the fallback without namespaces).
    pub isolation: Isolation,
    /// Totals of the run.
    pub summary: Summary,
    /// One entry per selected case, in the order they were run.
    pub results: Vec<CaseResult>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    Namespaces,
    ProcessGroup,
}

/// Totals of a run.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Cases that passed.
    pub passed: usize,
    /// Cases the program failed.
    pub failed: usize,
    /// Cases the runner could not set up or run to the end (not the
    /// program's fault, or the program could not be started).
    pub errors: usize,
    /// Selected cases the run did not reach (its `--deadline`, Ctrl-C).
    pub not_run: usize,
    /// Informational cases that ran, in none of the counts above.
    pub informational: usize,
    /// Of those, the ones that did not pass.
    pub informational_not_passed: usize,
    /// Points earned.
    pub points: u32,
    /// Points of every selected case, run or not.
    pub max_points: u32,
    /// Wall time of the run, in milliseconds.
    pub duration_ms: f64,
    /// The run was cut short (its deadline or an interrupt).
    pub interrupted: bool,
}

/// Whether a case counts.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LevelName {
    Required,
    Informational,
}

/// The outcome of one case, with the evidence of a failure.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseResult {
    /// The spec's name.
    pub spec: String,
    /// Where the spec came from: a path, or `bundled:NAME.yaml` (printed
    /// by `runner show NAME`).
    pub spec_file: String,
    /// The case's id.
    pub case: String,
    /// `pass`, `fail` (the program misbehaved), `error` (the runner could
    /// not run the case) or `not_run` (the run ended before the case, or
    /// the server listens at a wrong address, which an earlier case says).
    pub verdict: VerdictName,
    /// `required`, or `informational`: reported with its evidence, counted
    /// in neither the run's verdict nor its points.
    pub level: LevelName,
    /// Points earned: all of `max_points` on a pass, none otherwise.
    pub points: u32,
    /// Points the case is worth.
    pub max_points: u32,
    /// What happened, in the student's terms; empty on a pass.
    pub message: String,
    /// The requirement the case checks.
    pub about: String,
    /// Advice for the student, if the spec gives any.
    pub hint: Option<String>,
    /// Wall time of the case, program start included, in milliseconds.
    pub duration_ms: f64,
    /// The step where the case failed, if it failed at a step.
    pub failure: Option<Failure>,
    /// The exchange as it happened, on every channel.
    pub transcript: Vec<TranscriptEntry>,
    /// The last lines the program wrote to stdout, if any.
    pub stdout_tail: Option<String>,
    /// The last lines the program wrote to stderr, if any.
    pub stderr_tail: Option<String>,
}

/// A case's verdict.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerdictName {
    /// The program behaved as the case demands.
    Pass,
    /// The program misbehaved.
    Fail,
    /// The runner or the spec is at fault, or the program could not be
    /// started at all: says nothing about the program's correctness.
    Error,
    /// The run ended before the case started, or an earlier case found
    /// the server listening at another address than the one it was to
    /// serve.
    NotRun,
}

/// The step where a case failed and what went wrong there.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// 1-based index of the step within the case; 0 when the case failed
    /// before its first step (the program did not start).
    pub step: usize,
    /// Line of the step in the spec file.
    pub line: usize,
    /// The step as written, in short: `recv on a (text)`.
    pub action: String,
    /// What would have passed.
    pub expected: String,
    /// What arrived instead, if anything did.
    pub actual: Option<Bytes>,
    /// When what arrived is not text: both lengths and what is wrong
    /// (`expected 5 bytes, received 1024: the datagram is padded with 1019
    /// NUL bytes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub difference: Option<String>,
    /// The offset of the first byte that differs from what was expected
    /// (or, with no exact expectation, the first that is not text).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "usize")]
    pub first_difference: Option<usize>,
    /// What arrived as a hex dump with offsets (`hexdump -C`'s layout, runs
    /// of identical lines folded into `*`), the first difference marked by
    /// a line of carets; only when it is not text.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub dump: Option<String>,
}

/// One event of a case's exchange.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TranscriptEntry {
    /// When it happened, in milliseconds since the case started.
    pub at_ms: f64,
    /// The connection or socket name, `stdin`, `stdout`, `stderr` or
    /// `target`.
    pub channel: String,
    /// `sent` (runner to program), `received` (program to runner) or
    /// `note` (something that happened: connected, closed, exited).
    pub direction: DirectionName,
    /// The bytes, or the note's text.
    pub data: Bytes,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DirectionName {
    Sent,
    Received,
    Note,
}

/// Bytes from the wire or a stream, as text and, unless they are
/// printable text, as hex.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bytes {
    /// The bytes as UTF-8, invalid sequences replaced by U+FFFD.
    pub text: String,
    /// The bytes in hex (`68 65 6c`), present only when they are not
    /// printable UTF-8 text.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub hex: Option<String>,
}

/// The report's JSON Schema, describing the report as written.
pub fn schema() -> Schema {
    schemars::generate::SchemaSettings::draft07()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<Report>()
}

pub fn report(collected: &Collected) -> Report {
    let summary = &collected.summary;
    Report {
        version: VERSION,
        isolation: if crate::sandbox::isolation().namespaces() {
            Isolation::Namespaces
        } else {
            Isolation::ProcessGroup
        },
        summary: Summary {
            passed: summary.passed,
            failed: summary.failed,
            errors: summary.errors,
            not_run: summary.not_run,
            informational: summary.informational,
            informational_not_passed: summary.informational_not_passed,
            points: summary.points,
            max_points: summary.max_points,
            duration_ms: milliseconds(summary.duration),
            interrupted: summary.interrupted,
        },
        results: collected.outcomes.iter().map(case).collect(),
    }
}

pub fn render(collected: &Collected) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    serde_json::to_string_pretty(&report(collected)).unwrap_or_default()
}

fn milliseconds(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn bytes(data: &[u8]) -> Bytes {
    Bytes {
        text: String::from_utf8_lossy(data).into_owned(),
        hex: (!is_printable(data)).then(|| hex(data, usize::MAX)),
    }
}

fn case(outcome: &CaseOutcome) -> CaseResult {
    CaseResult {
        spec: outcome.spec.clone(),
        spec_file: outcome.spec_file.clone(),
        case: outcome.case.clone(),
        verdict: match outcome.verdict {
            Verdict::Pass => VerdictName::Pass,
            Verdict::Fail => VerdictName::Fail,
            Verdict::Error => VerdictName::Error,
            Verdict::NotRun => VerdictName::NotRun,
        },
        level: match outcome.level {
            crate::speclang::Level::Required => LevelName::Required,
            crate::speclang::Level::Informational => LevelName::Informational,
        },
        points: outcome.points,
        max_points: outcome.max_points,
        message: outcome.message.clone(),
        about: outcome.about.clone(),
        hint: outcome.hint.clone(),
        duration_ms: milliseconds(outcome.duration),
        failure: outcome.failure.as_ref().map(|f| Failure {
            step: f.step,
            line: f.line,
            action: f.action.clone(),
            expected: f.expected.clone(),
            actual: f.actual.as_deref().map(bytes),
            difference: f.difference.as_ref().map(|d| d.headline.clone()),
            first_difference: f.difference.as_ref().and_then(|d| d.mark),
            dump: super::received_dump(f, 256).map(|(_, dump)| dump),
        }),
        transcript: outcome
            .transcript
            .iter()
            .map(|entry| TranscriptEntry {
                at_ms: milliseconds(entry.at),
                channel: entry.channel.clone(),
                direction: match entry.direction {
                    Direction::Sent => DirectionName::Sent,
                    Direction::Received => DirectionName::Received,
                    Direction::Note => DirectionName::Note,
                },
                data: bytes(&entry.bytes),
            })
            .collect(),
        stdout_tail: tail(&outcome.stdout, 20),
        stderr_tail: tail(&outcome.stderr, 20),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_report_parses_back_with_the_contract_fields() {
        let text = super::render(&crate::report::sample::collected());
        let report: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(report["version"], super::VERSION);
        let failed = &report["results"][1];
        assert_eq!(failed["verdict"], "fail");
        assert_eq!(failed["max_points"], 1);
        assert_eq!(failed["failure"]["actual"]["hex"], "ff 00");
        assert_eq!(report["summary"]["points"], 2);
        assert_eq!(report["summary"]["not_run"], 0);
        assert!(report["summary"]["duration_ms"].is_f64());
        assert!(report["results"][0]["duration_ms"].is_f64());
        assert!(report["results"][0]["failure"].is_null());
    }

    #[test]
    fn the_schema_names_every_verdict_and_describes_the_fields() {
        let schema = serde_json::to_value(super::schema()).expect("a schema is JSON");
        let text = schema.to_string();
        for verdict in ["pass", "fail", "error", "not_run"] {
            assert!(text.contains(&format!("\"{verdict}\"")), "{verdict}");
        }
        let summary = &schema["definitions"]["Summary"]["properties"];
        assert!(summary["not_run"]["description"].is_string());
        assert_eq!(summary["duration_ms"]["type"], "number");
    }
}
