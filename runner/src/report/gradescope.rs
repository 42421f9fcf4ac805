//! Gradescope autograder results (`results.json`), for teachers grading on
//! that platform. Format reference:
//! <https://gradescope-autograders.readthedocs.io/en/latest/specs/>.
//!
//! Outputs are Markdown (`output_format: md`). Everything the program
//! produced (the message quoting its bytes, what it sent, its output) goes
//! into indented code blocks, where Markdown renders text as is: no HTML,
//! no emphasis, no links, whatever the bytes are; control characters and
//! invalid UTF-8 are shown as escapes. The spec's own words (requirement,
//! hint) are escaped as Markdown text.

use super::{tail, Collected};
use crate::engine::show::quoted_short;
use crate::engine::{CaseOutcome, Verdict};
use serde::Serialize;
use std::fmt::Write as _;

/// How Gradescope renders the outputs written here.
const FORMAT: &str = "md";

#[derive(Serialize)]
struct Results {
    score: u32,
    /// Seconds.
    execution_time: f64,
    output: String,
    output_format: &'static str,
    test_output_format: &'static str,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    name: String,
    score: u32,
    max_score: u32,
    status: &'static str,
    output: String,
    output_format: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    visibility: &'static str,
}

pub fn render(collected: &Collected) -> String {
    let tests = collected
        .outcomes
        .iter()
        .map(|outcome| {
            // Cases of a spec this process did not load (none should be)
            // are shown, untagged.
            let (visibility, tags) = (outcome.visibility, outcome.tags.clone());
            Test {
                name: format!("{}/{}", outcome.spec, outcome.case),
                score: outcome.points,
                max_score: outcome.max_points,
                status: if outcome.verdict == Verdict::Pass {
                    "passed"
                } else {
                    "failed"
                },
                output: output(outcome),
                output_format: FORMAT,
                tags,
                visibility: visibility.as_str(),
            }
        })
        .collect();
    let summary = &collected.summary;
    let mut overall = summary.counts();
    overall.push_str(&format!(
        "; {} of {} points.",
        summary.points, summary.max_points
    ));
    if summary.interrupted {
        overall.push_str(" The run was cut short before every case could run.");
    }
    let results = Results {
        score: summary.points,
        execution_time: summary.duration.as_secs_f64(),
        output: overall,
        output_format: FORMAT,
        test_output_format: FORMAT,
        tests,
    };
    serde_json::to_string_pretty(&results).unwrap_or_default()
}

/// The test's output: the requirement, and unless it passed, what happened
/// with all the evidence.
fn output(outcome: &CaseOutcome) -> String {
    let mut out = String::new();
    paragraph(&mut out, "requirement", &outcome.about);
    match outcome.verdict {
        Verdict::Pass => return out,
        Verdict::NotRun => {
            let why = outcome.message.strip_prefix("not run: ");
            paragraph(
                &mut out,
                "not run",
                &format!(
                    "{}; no points.",
                    why.unwrap_or(&outcome.message).trim_end_matches('.')
                ),
            );
            return out;
        }
        Verdict::Fail => out.push_str("**failed**\n\n"),
        Verdict::Error => {
            out.push_str("**error**: the case could not be judged, for the reason below\n\n")
        }
    }
    code_block(&mut out, &outcome.message);
    if let Some(failure) = &outcome.failure {
        let _ = writeln!(
            out,
            "**step {}**, line {} of {}:\n",
            failure.step,
            failure.line,
            markdown_text(&outcome.spec_file)
        );
        code_block(&mut out, &failure.action);
        out.push_str("**expected**\n\n");
        code_block(&mut out, &failure.expected);
        if let Some((headline, dump)) = super::received_dump(failure, 32) {
            out.push_str("**received**\n\n");
            code_block(&mut out, &format!("{headline}\n\n{dump}"));
        } else if let Some(actual) = &failure.actual {
            out.push_str("**received**\n\n");
            code_block(&mut out, &quoted_short(actual, 300));
        }
    }
    if let Some(hint) = &outcome.hint {
        paragraph(&mut out, "hint", hint);
    }
    if !outcome.transcript.is_empty() {
        out.push_str("**transcript**\n\n");
        let mut lines = String::new();
        for entry in &outcome.transcript {
            let (time, rest) = super::transcript_line(entry, 160);
            let _ = writeln!(lines, "{time} {rest}");
        }
        code_block(&mut out, &lines);
    }
    let stderr_in_message = outcome.stderr_in_message();
    for (name, snapshot) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
        if name == "stderr" && stderr_in_message {
            continue;
        }
        if let Some(text) = tail(snapshot, 20) {
            let _ = writeln!(out, "**{name}** (last lines)\n");
            code_block(&mut out, &text);
        }
    }
    out
}

/// `**label:** text`, the text escaped, as a paragraph of its own.
fn paragraph(out: &mut String, label: &str, text: &str) {
    let _ = write!(out, "**{label}:** {}\n\n", markdown_text(text));
}

/// `text` as an indented code block: Markdown shows its content as is.
/// Every line is indented, so no line of it can end the block.
fn code_block(out: &mut String, text: &str) {
    let text = crate::engine::show::terminal_safe(text);
    let text = text.trim_end_matches('\n');
    if text.trim().is_empty() {
        out.push_str("    (nothing)\n\n");
        return;
    }
    for line in text.split('\n') {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
}

/// `text` on one line, as Markdown that shows it literally: the characters
/// that start inline markup (emphasis, code, links, strikethrough, HTML,
/// entities) are escaped, and line breaks become spaces, so that no line
/// starts a block (a heading, a list, a code block).
fn markdown_text(text: &str) -> String {
    let text = crate::engine::show::terminal_safe(text);
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            match c {
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '&' => out.push_str("&amp;"),
                '\\' | '`' | '*' | '_' | '[' | ']' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> serde_json::Value {
        let text = render(&crate::report::sample::collected());
        serde_json::from_str(&text).expect("valid JSON")
    }

    #[test]
    fn scores_add_up_and_failures_carry_the_message() {
        let report = report();
        assert_eq!(report["score"], 2);
        assert_eq!(report["tests"][0]["status"], "passed");
        assert_eq!(report["tests"][1]["status"], "failed");
        assert_eq!(report["tests"][1]["output_format"], "md");
        let output = report["tests"][1]["output"].as_str().expect("output");
        assert!(output.contains("**hint:** decode as UTF-8"), "{output}");
        assert!(output.contains("**received**"), "{output}");
        // Bytes that are not text: both lengths first, then the dump.
        assert!(
            output.contains("expected 6 bytes, received 2: they first differ at offset 0"),
            "{output}"
        );
        assert!(output.contains("00000000  ff 00 "), "{output}");
    }

    #[test]
    fn execution_time_is_in_seconds_and_not_truncated() {
        let mut collected = crate::report::sample::collected();
        collected.summary.duration = std::time::Duration::from_millis(1500);
        let text = render(&collected);
        let report: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(report["execution_time"], 1.5);
    }

    #[test]
    fn the_programs_bytes_are_shown_as_text_never_as_markdown_or_html() {
        let report = report();
        let output = report["tests"][1]["output"].as_str().expect("output");
        // The message quotes `<&>` and an escape character: inside a code
        // block, every line indented, with the control character escaped.
        let message = output
            .lines()
            .find(|line| line.contains("but the server sent"))
            .expect("the message is shown");
        assert!(message.starts_with("    "), "{message:?}");
        assert!(message.contains("<&>\\u{1b}"), "{message:?}");
        assert!(!output.contains('\u{1b}'));
    }

    #[test]
    fn code_blocks_hold_any_text() {
        let mut out = String::new();
        code_block(
            &mut out,
            "```\n</pre><script>x</script>\n# title\n\u{202e}abc\r\n\n",
        );
        assert_eq!(
            out,
            "    ```\n    </pre><script>x</script>\n    # title\n    \\u{202e}abc\\r\n\n"
        );
    }

    #[test]
    fn spec_text_is_escaped_as_markdown() {
        assert_eq!(
            markdown_text("use `recv` *twice* <b>\n[x](y) & more"),
            "use \\`recv\\` \\*twice\\* &lt;b&gt; \\[x\\](y) &amp; more"
        );
    }
}
