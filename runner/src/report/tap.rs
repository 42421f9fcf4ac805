//! TAP version 13 (<https://testanything.org/tap-version-13-specification.html>):
//! one test point per case, and on every case that did not pass a YAML
//! diagnostic block with the evidence: verdict, message, requirement,
//! points, spec file, step and line, expected, received (text, and hex when
//! it is not printable), the hint, the transcript and the tail of the
//! program's stdout and stderr.
//!
//! Version 13, not 14: the report uses nothing TAP 14 added, and the
//! most common consumer, Perl's `prove` (TAP::Harness 3.44), rejects a
//! stream that declares 14.
//!
//! Verdicts: `pass` is `ok`; `fail` and `error` are `not ok`; a case the
//! run never reached (`not_run`: its `--deadline`, Ctrl-C) is
//! `not ok N - spec/case # SKIP <why>`. TAP::Parser counts a `not ok` with
//! a SKIP directive as skipped *and* failed (SKIP, unlike TODO, does not
//! turn a `not ok` into a pass), so for `prove` a stream fails as soon as a
//! case failed, erred or was not run, exactly when the runner exits 1;
//! `ok ... # SKIP` would have let a run cut short by its deadline pass.
//!
//! Nothing a program sends or prints can break the stream: text in a test
//! point's line has its control characters and bidirectional controls
//! escaped and `#` and `\` backslash-escaped, and every string in a
//! diagnostic block is a one-line double-quoted YAML scalar that uses only
//! the escapes both YAML and TAP::Parser's YAMLish reader decode
//! (`\" \\ \n \r \t \e`, and `\xHH` for the other controls), plus
//! `\uHHHH` for the characters a YAML document cannot hold as they are
//! (U+2028, U+2029, U+FEFF, U+FFFE, U+FFFF), which TAP::Parser then shows
//! as written. Invalid UTF-8 reaches the report as U+FFFD in the text, and
//! byte for byte in the hex.

use super::{tail, Collected};
use crate::engine::show::{hex, is_printable};
use crate::engine::{CaseOutcome, Direction, Verdict};
use std::fmt::Write;

/// Lines of a program's stdout and stderr kept in a diagnostic block.
const TAIL_LINES: usize = 20;

pub fn render(collected: &Collected) -> String {
    let mut out = String::from("TAP version 13\n");
    if collected.outcomes.is_empty() {
        out.push_str("1..0 # SKIP no case selected\n");
    } else {
        let _ = writeln!(out, "1..{}", collected.outcomes.len());
    }
    for (index, outcome) in collected.outcomes.iter().enumerate() {
        let status = if outcome.verdict == Verdict::Pass {
            "ok"
        } else {
            "not ok"
        };
        let name = description(&format!("{}/{}", outcome.spec, outcome.case));
        let _ = write!(out, "{status} {} - {name}", index + 1);
        if outcome.verdict == Verdict::NotRun {
            let why = if outcome.message.trim().is_empty() {
                "not run".to_string()
            } else {
                one_line(&outcome.message)
            };
            let _ = write!(out, " # SKIP {why}");
        } else if outcome.level == crate::speclang::Level::Informational
            && outcome.verdict != Verdict::Pass
        {
            // A TODO test point is reported and counts as no failure.
            let _ = write!(out, " # TODO informational, not counted");
        }
        out.push('\n');
        if outcome.verdict != Verdict::Pass {
            diagnostics(&mut out, outcome);
        }
    }
    let summary = &collected.summary;
    let _ = writeln!(
        out,
        "# {} passed, {} failed, {} errors, {} not run; {}/{} points",
        summary.passed,
        summary.failed,
        summary.errors,
        summary.not_run,
        summary.points,
        summary.max_points
    );
    if summary.interrupted {
        out.push_str("# the run was cut short (its --deadline or an interrupt)\n");
    }
    out
}

/// The YAML block under a test point, indented by two spaces. Lists hold
/// only mappings: TAP::Parser's YAMLish reader takes a list item that is a
/// string with `: ` in it (`- "received: hello"`) for a mapping and fails,
/// so the output tails are one string each, lines joined by `\n`, as in the
/// JSON report.
fn diagnostics(out: &mut String, outcome: &CaseOutcome) {
    let mut yaml = Yaml::default();
    yaml.plain(0, "verdict", outcome.verdict.as_str());
    yaml.string(0, "message", &outcome.message);
    yaml.string(0, "requirement", &outcome.about);
    yaml.plain(0, "points", &outcome.points.to_string());
    yaml.plain(0, "max_points", &outcome.max_points.to_string());
    yaml.string(0, "spec_file", &outcome.spec_file);
    if let Some(failure) = &outcome.failure {
        yaml.plain(0, "step", &failure.step.to_string());
        yaml.plain(0, "line", &failure.line.to_string());
        yaml.string(0, "action", &failure.action);
        yaml.string(0, "expected", &failure.expected);
        if let Some(actual) = &failure.actual {
            yaml.string(0, "received", &String::from_utf8_lossy(actual));
            if !is_printable(actual) {
                yaml.string(0, "received_hex", &hex(actual, usize::MAX));
            }
        }
        if let Some((headline, dump)) = super::received_dump(failure, 64) {
            yaml.string(0, "difference", &headline);
            yaml.string(0, "received_dump", &dump);
        }
    }
    if let Some(hint) = &outcome.hint {
        yaml.string(0, "hint", hint);
    }
    if outcome.verdict != Verdict::NotRun {
        yaml.plain(0, "duration_ms", &millis(outcome.duration));
    }
    if !outcome.transcript.is_empty() {
        yaml.key(0, "transcript");
        for entry in &outcome.transcript {
            let direction = match entry.direction {
                Direction::Sent => "sent",
                Direction::Received => "received",
                Direction::Note => "note",
            };
            yaml.item_key(1, "at_ms", &millis(entry.at));
            yaml.string(2, "channel", &entry.channel);
            yaml.plain(2, "direction", direction);
            yaml.string(2, "text", &String::from_utf8_lossy(&entry.bytes));
            if !is_printable(&entry.bytes) {
                yaml.string(2, "hex", &hex(&entry.bytes, usize::MAX));
            }
        }
    }
    for (key, snapshot) in [
        ("stdout_tail", &outcome.stdout),
        ("stderr_tail", &outcome.stderr),
    ] {
        if let Some(text) = tail(snapshot, TAIL_LINES) {
            yaml.string(0, key, &text);
        }
    }
    out.push_str("  ---\n");
    for line in yaml.lines {
        let _ = writeln!(out, "  {line}");
    }
    out.push_str("  ...\n");
}

/// A diagnostic block being written, a line at a time; `depth` is the
/// nesting level (two spaces each).
#[derive(Default)]
struct Yaml {
    lines: Vec<String>,
}

impl Yaml {
    fn push(&mut self, depth: usize, line: String) {
        self.lines.push(format!("{}{line}", "  ".repeat(depth)));
    }

    /// `key: value` for a value known to be a plain scalar (a number, a
    /// verdict).
    fn plain(&mut self, depth: usize, key: &str, value: &str) {
        self.push(depth, format!("{key}: {value}"));
    }

    fn string(&mut self, depth: usize, key: &str, value: &str) {
        self.push(depth, format!("{key}: {}", yaml_string(value)));
    }

    /// `key:` opening a nested list.
    fn key(&mut self, depth: usize, key: &str) {
        self.push(depth, format!("{key}:"));
    }

    /// A list item that is a mapping, opened with its first (plain) entry;
    /// the other entries follow at `depth + 1`.
    fn item_key(&mut self, depth: usize, key: &str, value: &str) {
        self.push(depth, format!("- {key}: {value}"));
    }
}

fn millis(duration: std::time::Duration) -> String {
    format!("{:.3}", duration.as_secs_f64() * 1000.0)
}

/// A double-quoted YAML scalar on one line, read back to `text` by YAML
/// parsers and by TAP::Parser's YAMLish reader alike (but for the rare
/// `\u` escapes, which YAMLish leaves as written).
fn yaml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{1b}' => out.push_str("\\e"),
            // C0, DEL and C1 controls (YAML 1.1 reads U+0085 as a line
            // break): `\xHH`, which YAML and YAMLish both decode.
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            // Line and paragraph separators, the byte order mark and the
            // two non-characters YAML does not allow in a document.
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text for a test point's description: on one line, control characters
/// escaped, and `#` (which would start a directive) and `\` escaped with a
/// backslash, as TAP 13 allows.
fn description(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '#' => out.push_str("\\#"),
            c => out.push(c),
        }
    }
    one_line(&out)
}

/// Text on one line as it is shown: line breaks, other control characters
/// and the bidirectional controls escaped.
fn one_line(text: &str) -> String {
    crate::text::escape_controls(text, |_| false)
}

#[cfg(test)]
mod tests {
    use crate::engine::{Direction, Entry, Verdict};
    use crate::report::Collected;

    /// The diagnostic block after the first `  ---` at or after line
    /// `from`, unindented.
    fn block(text: &str, from: usize) -> String {
        text.lines()
            .skip(from)
            .skip_while(|l| *l != "  ---")
            .skip(1)
            .take_while(|l| *l != "  ...")
            .map(|l| format!("{}\n", l.strip_prefix("  ").expect("indented")))
            .collect()
    }

    fn yaml(text: &str) -> serde_yaml::Value {
        serde_yaml::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
    }

    #[test]
    fn one_test_point_per_case_and_a_yaml_block_on_failure() {
        let text = super::render(&crate::report::sample::collected());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[..3],
            ["TAP version 13", "1..2", "ok 1 - tcp-upper-server/greeting"]
        );
        assert_eq!(lines[3], "not ok 2 - tcp-upper-server/utf8-text");
        let block = yaml(&block(&text, 0));
        assert_eq!(block["verdict"].as_str(), Some("fail"));
        assert_eq!(block["points"].as_u64(), Some(0));
        assert_eq!(block["max_points"].as_u64(), Some(1));
        assert_eq!(block["step"].as_u64(), Some(3));
        assert_eq!(block["line"].as_u64(), Some(35));
        assert_eq!(block["expected"].as_str(), Some("\"你好\""));
        assert_eq!(block["received"].as_str(), Some("\u{fffd}\u{0}"));
        assert_eq!(block["received_hex"].as_str(), Some("ff 00"));
        assert_eq!(block["hint"].as_str(), Some("decode as UTF-8"));
        assert_eq!(
            block["message"].as_str(),
            Some("expected \"你好\", but the server sent \"\\xff\" <&>\u{1b}")
        );
        assert_eq!(
            lines.last(),
            Some(&"# 1 passed, 1 failed, 0 errors, 0 not run; 2/3 points")
        );
    }

    #[test]
    fn a_case_not_run_is_a_skipped_not_ok_with_its_reason() {
        let mut collected = crate::report::sample::collected();
        let outcome = &mut collected.outcomes[1];
        outcome.verdict = Verdict::NotRun;
        outcome.message = "not run: the run reached its --deadline\n# before this case".into();
        outcome.failure = None;
        let text = super::render(&collected);
        assert!(
            text.lines().any(|l| l
                == "not ok 2 - tcp-upper-server/utf8-text # SKIP not run: the run reached its --deadline\\n# before this case"),
            "{text}"
        );
        assert_eq!(yaml(&block(&text, 0))["verdict"].as_str(), Some("not_run"));
    }

    #[test]
    fn hostile_text_stays_inside_its_yaml_string_and_reads_back_unchanged() {
        let hostile = "\u{202e}a\"b\\c\nnot ok 9 - forged\r\n  ...\n# comment\t\u{0}\u{7}\u{1b}[2J\u{7f}\u{85}\u{2028}\u{feff}\u{ffff}: - [x] 'y' 你好";
        let mut collected = crate::report::sample::collected();
        let outcome = &mut collected.outcomes[1];
        outcome.case = "evil\n# case\u{202e}".into();
        outcome.message = hostile.into();
        outcome.about = hostile.into();
        outcome.hint = Some(hostile.into());
        outcome.transcript = vec![Entry {
            at: std::time::Duration::from_millis(2),
            channel: hostile.into(),
            direction: Direction::Received,
            bytes: b"\xff\xfe\x00HEL\x1b[31mLO\xc3\n...\n---".to_vec(),
        }];
        let text = super::render(&collected);
        // Every line is the version, the plan, a test point, a comment or
        // indented: nothing escaped the block or the test point.
        for line in text.lines() {
            assert!(
                line.starts_with("TAP version")
                    || line.starts_with("1..")
                    || line.starts_with("ok ")
                    || line.starts_with("not ok ")
                    || line.starts_with("# ")
                    || line.starts_with("  "),
                "stray line {line:?} in\n{text}"
            );
            assert!(
                !line.chars().any(|c| c.is_control()),
                "control character in {line:?}"
            );
            // TAP::Parser's YAMLish reader misreads string list items.
            assert!(!line.trim_start().starts_with("- \""), "{line:?}");
        }
        assert_eq!(text.lines().filter(|l| l.starts_with("not ok")).count(), 1);
        assert!(text.contains("not ok 2 - tcp-upper-server/evil\\n\\# case\\u{202e}\n"));
        let block = yaml(&block(&text, 0));
        for key in ["message", "requirement", "hint"] {
            assert_eq!(block[key].as_str(), Some(hostile), "{key}");
        }
        let entry = &block["transcript"][0];
        assert_eq!(entry["channel"].as_str(), Some(hostile));
        assert_eq!(entry["direction"].as_str(), Some("received"));
        assert_eq!(
            entry["text"].as_str(),
            Some("\u{fffd}\u{fffd}\u{0}HEL\u{1b}[31mLO\u{fffd}\n...\n---")
        );
        assert_eq!(
            entry["hex"].as_str(),
            Some("ff fe 00 48 45 4c 1b 5b 33 31 6d 4c 4f c3 0a 2e 2e 2e 0a 2d 2d 2d")
        );
    }

    #[test]
    fn yaml_strings_use_only_escapes_tap_parsers_know() {
        assert_eq!(
            super::yaml_string("\"\\\n\r\t\u{1b}\u{0}\u{7f}\u{85}\u{2028}#"),
            "\"\\\"\\\\\\n\\r\\t\\e\\x00\\x7f\\x85\\u2028#\""
        );
    }

    #[test]
    fn no_case_is_an_empty_plan_skipped() {
        let text = super::render(&Collected::default());
        assert!(text.starts_with("TAP version 13\n1..0 # SKIP no case selected\n"));
    }
}
