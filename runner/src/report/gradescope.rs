//! Gradescope autograder results (`results.json`), for teachers grading on
//! that platform. Format reference:
//! <https://gradescope-autograders.readthedocs.io/en/latest/specs/>.

use super::Collected;
use crate::engine::Verdict;
use serde_json::json;

pub fn render(collected: &Collected) -> String {
    let tests: Vec<serde_json::Value> = collected
        .outcomes
        .iter()
        .map(|outcome| {
            let mut output = format!("requirement: {}", outcome.about);
            if outcome.verdict != Verdict::Pass {
                output.push_str(&format!("\n{}", outcome.message));
                if let Some(hint) = &outcome.hint {
                    output.push_str(&format!("\nhint: {hint}"));
                }
            }
            json!({
                "name": format!("{}/{}", outcome.spec, outcome.case),
                "score": outcome.points,
                "max_score": outcome.max_points,
                "status": if outcome.verdict == Verdict::Pass { "passed" } else { "failed" },
                "output": output,
                "visibility": "visible",
            })
        })
        .collect();
    let summary = &collected.summary;
    let report = json!({
        "score": summary.points,
        "execution_time": summary.duration.as_secs(),
        "output": format!(
            "{} passed, {} failed, {} errors",
            summary.passed, summary.failed, summary.errors
        ),
        "tests": tests,
    });
    serde_json::to_string_pretty(&report).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn scores_add_up_and_failures_carry_the_message() {
        let text = super::render(&crate::report::sample::collected());
        let report: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(report["score"], 2);
        assert_eq!(report["tests"][0]["status"], "passed");
        assert_eq!(report["tests"][1]["status"], "failed");
        assert!(report["tests"][1]["output"]
            .as_str()
            .expect("output")
            .contains("hint: decode"));
    }
}
