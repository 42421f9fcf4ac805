//! TAP version 14 (<https://testanything.org/tap-version-14-specification.html>):
//! one test point per case, with a YAML diagnostic block on failure.

use super::Collected;
use crate::engine::Verdict;

pub fn render(collected: &Collected) -> String {
    let mut out = String::from("TAP version 14\n");
    out.push_str(&format!("1..{}\n", collected.outcomes.len()));
    for (index, outcome) in collected.outcomes.iter().enumerate() {
        let status = if outcome.verdict == Verdict::Pass {
            "ok"
        } else {
            "not ok"
        };
        let directive = if outcome.verdict == Verdict::NotRun {
            format!(" # SKIP {}", one_line(&outcome.message))
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{status} {} - {}/{}{directive}\n",
            index + 1,
            outcome.spec,
            outcome.case
        ));
        if !matches!(outcome.verdict, Verdict::Pass | Verdict::NotRun) {
            out.push_str("  ---\n");
            out.push_str(&format!("  verdict: {}\n", outcome.verdict.as_str()));
            out.push_str(&format!("  message: {}\n", yaml_string(&outcome.message)));
            out.push_str(&format!("  requirement: {}\n", yaml_string(&outcome.about)));
            if let Some(failure) = &outcome.failure {
                out.push_str(&format!(
                    "  step: {}\n  line: {}\n",
                    failure.step, failure.line
                ));
            }
            out.push_str("  ...\n");
        }
    }
    out
}

/// Text on one line, with nothing TAP would read as a directive.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r', '#'], " ")
}

/// A double-quoted YAML scalar (JSON strings are valid YAML).
fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_test_point_per_case_and_a_yaml_block_on_failure() {
        let text = super::render(&crate::report::sample::collected());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[..3],
            ["TAP version 14", "1..2", "ok 1 - tcp-upper-server/greeting"]
        );
        assert_eq!(lines[3], "not ok 2 - tcp-upper-server/utf8-text");
        let block: String = lines
            .iter()
            .skip_while(|l| **l != "  ---")
            .skip(1)
            .take_while(|l| **l != "  ...")
            .map(|l| format!("{}\n", l.trim_start_matches("  ")))
            .collect();
        let block: serde_yaml::Value =
            serde_yaml::from_str(&block).expect("the diagnostic block is YAML");
        assert_eq!(block["verdict"].as_str(), Some("fail"));
    }
}
