//! The JSON report for graders and scripts. One object per case in
//! `results`, with at least `spec`, `case`, `verdict`, `points`,
//! `max_points` and `message`; the schema is versioned by `version`.

use super::{tail, Collected};
use crate::engine::show::{hex, is_printable};
use crate::engine::{CaseOutcome, Direction};
use serde_json::{json, Value};

pub const VERSION: u32 = 1;

pub fn render(collected: &Collected) -> String {
    let summary = &collected.summary;
    let report = json!({
        "version": VERSION,
        // How targets were confined: "namespaces" or "process-group".
        "isolation": crate::sandbox::isolation().name(),
        "summary": {
            "passed": summary.passed,
            "failed": summary.failed,
            "errors": summary.errors,
            "not_run": summary.not_run,
            "points": summary.points,
            "max_points": summary.max_points,
            "duration_ms": summary.duration.as_secs_f64() * 1000.0,
            "interrupted": summary.interrupted,
        },
        "results": collected.outcomes.iter().map(case).collect::<Vec<_>>(),
    });
    // Serialising a Value cannot fail.
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

fn bytes(data: &[u8]) -> Value {
    let mut object = json!({ "text": String::from_utf8_lossy(data) });
    if !is_printable(data) {
        object["hex"] = json!(hex(data, usize::MAX));
    }
    object
}

fn case(outcome: &CaseOutcome) -> Value {
    let failure = outcome.failure.as_ref().map(|f| {
        json!({
            "step": f.step,
            "line": f.line,
            "action": f.action,
            "expected": f.expected,
            "actual": f.actual.as_deref().map(bytes),
        })
    });
    let transcript: Vec<Value> = outcome
        .transcript
        .iter()
        .map(|entry| {
            json!({
                "at_ms": entry.at.as_secs_f64() * 1000.0,
                "channel": entry.channel,
                "direction": match entry.direction {
                    Direction::Sent => "sent",
                    Direction::Received => "received",
                    Direction::Note => "note",
                },
                "data": bytes(&entry.bytes),
            })
        })
        .collect();
    json!({
        "spec": outcome.spec,
        "spec_file": outcome.spec_file,
        "case": outcome.case,
        "verdict": outcome.verdict.as_str(),
        "points": outcome.points,
        "max_points": outcome.max_points,
        "message": outcome.message,
        "about": outcome.about,
        "hint": outcome.hint,
        "duration_ms": outcome.duration.as_secs_f64() * 1000.0,
        "failure": failure,
        "transcript": transcript,
        "stdout_tail": tail(&outcome.stdout, 20),
        "stderr_tail": tail(&outcome.stderr, 20),
    })
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
    }
}
