//! PrairieLearn's external grading results (`results.json`, written to
//! `/grade/results/results.json` by an externally graded question's
//! entry point): `gradable`, `score` from 0 to 1, `message`, `output`,
//! and per test `name`, `description`, `points`, `max_points`, `message`
//! and `output`. Format reference:
//! <https://prairielearn.readthedocs.io/en/latest/externalGrading/>.
//!
//! A program that does not build or start is still gradable: it scores 0
//! and the message says why (`gradable: false` is for a grader that
//! broke, and PrairieLearn then counts the submission for nothing).

use super::Collected;
use crate::engine::{Setback, Verdict};
use crate::speclang::Level;
use serde::Serialize;

#[derive(Serialize)]
struct Results {
    gradable: bool,
    score: f64,
    message: String,
    output: String,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    name: String,
    description: String,
    points: u32,
    max_points: u32,
    message: String,
    output: String,
}

pub fn render(collected: &Collected) -> String {
    let summary = &collected.summary;
    let tests = collected
        .outcomes
        .iter()
        .map(|outcome| {
            let counted = outcome.level != Level::Informational;
            Test {
                name: format!("{}/{}", outcome.spec, outcome.case),
                description: outcome.about.clone(),
                points: if counted { outcome.points } else { 0 },
                max_points: if counted { outcome.max_points } else { 0 },
                message: match outcome.verdict {
                    Verdict::Pass => String::from("passed"),
                    _ => crate::engine::show::terminal_safe(&outcome.message),
                },
                output: super::classroom::plain_evidence(outcome),
            }
        })
        .collect();
    let score = if summary.max_points == 0 {
        f64::from(u8::from(super::classroom::status(collected) == "pass"))
    } else {
        f64::from(summary.points) / f64::from(summary.max_points)
    };
    let mut message = format!(
        "{}; {} of {} points.",
        summary.counts(),
        summary.points,
        summary.max_points
    );
    // A program that never ran: the reason first, once.
    if let Some(outcome) = collected.outcomes.iter().find(|o| o.setback.is_some()) {
        let what = match outcome.setback {
            Some(Setback::BuildFailed) => "Your program does not build",
            _ => "Your program did not start",
        };
        message = format!(
            "{what}: {}\n{message}",
            crate::engine::show::terminal_safe(&outcome.message)
        );
    }
    if summary.interrupted {
        message.push_str(" The run was cut short before every case could run.");
    }
    let output = collected
        .outcomes
        .iter()
        .map(|o| {
            format!(
                "{} {}/{} ({} of {} points)",
                match o.verdict {
                    Verdict::Pass => "PASS",
                    Verdict::Fail => "FAIL",
                    Verdict::Error => "ERROR",
                    Verdict::NotRun => "NOT RUN",
                },
                o.spec,
                o.case,
                o.points,
                o.max_points
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let results = Results {
        gradable: true,
        score,
        message,
        output,
        tests,
    };
    serde_json::to_string_pretty(&results).unwrap_or_default()
}

/// The results of a submission the grader could not grade at all (no
/// runner, a broken question): `gradable: false` with the reason.
pub fn ungradable(why: &str) -> String {
    serde_json::json!({
        "gradable": false,
        "score": 0.0,
        "message": why,
        "output": "",
        "tests": [],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_the_share_of_points_and_tests_carry_the_requirement() {
        let collected = crate::report::sample::collected();
        let report: serde_json::Value = serde_json::from_str(&render(&collected)).expect("JSON");
        assert_eq!(report["gradable"], true);
        assert_eq!(report["score"], 2.0 / 3.0);
        assert_eq!(
            report["tests"][0]["description"],
            collected.outcomes[0].about
        );
        assert_eq!(report["tests"][1]["points"], 0);
        assert_eq!(report["tests"][1]["max_points"], 1);
        let output = report["tests"][1]["output"].as_str().expect("output");
        assert!(output.contains("expected: \"你好\""), "{output}");
        assert!(report["message"]
            .as_str()
            .expect("message")
            .contains("2 of 3 points"));
    }
}
