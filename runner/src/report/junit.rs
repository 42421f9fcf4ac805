//! JUnit XML, for CI dashboards and grading platforms: one `<testsuite>`
//! per spec, one `<testcase>` per case, valid against `junit-10.xsd`, the
//! schema of Jenkins' xunit plugin and Maven Surefire (a copy is in
//! `suite/data/`, and the end-to-end tests validate every report against
//! it).
//!
//! - `<testsuites name tests failures errors time>`, then per spec
//!   `<testsuite name tests failures errors skipped time timestamp>`; the
//!   timestamp is when the run started, `time` the sum of its cases.
//! - The suite's `<properties>` hold its `points` and `max_points` and,
//!   for every case, `<case>.points` and `<case>.max_points`: the schema
//!   allows no properties inside a `<testcase>`.
//! - `<testcase name classname time>` (classname: the spec) holds
//!   `<failure message type="fail">` or `<error message type="error">`
//!   with the evidence in its text (requirement, points, step and line,
//!   expected, received with hex where it is not printable, hint), or
//!   `<skipped message>` for a case the run did not reach. A case that did
//!   not pass also gets `<system-out>` (the tail of the program's stdout,
//!   then the transcript) and `<system-err>` (the tail of its stderr).
//!
//! Written with quick-xml's writer rather than quick-junit: quick-junit
//! always writes a `disabled` attribute on `<testsuite>`, which the schema
//! rejects, has no `timestamp` there, and editing its output afterwards
//! would mean parsing XML with string functions. quick-xml writes the
//! structure (nesting, indentation); the text going into it is escaped
//! here, because XML has characters it cannot hold even as references: a
//! hostile program's control characters (other than tab and line breaks),
//! U+FFFE and U+FFFF, and also DEL and the C1 controls, which XML merely
//! discourages, and the bidirectional controls, which could reorder what
//! a reader of the dashboard sees, are written as visible `\u{1b}`
//! escapes. Line breaks and
//! tabs in attributes, and carriage returns anywhere, are written as
//! character references so a parser gives them back instead of
//! normalising them to spaces.

use super::{tail, Collected};
use crate::engine::show::quoted_short;
use crate::engine::{CaseOutcome, Verdict};
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::name::QName;
use quick_xml::Writer;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;
use std::time::{Duration, SystemTime};

/// Lines of a program's stdout and stderr kept in a test case.
const TAIL_LINES: usize = 50;

pub fn render(collected: &Collected) -> String {
    // The report is written as the run ends: it started `duration` ago.
    let now = SystemTime::now();
    let started = now.checked_sub(collected.summary.duration).unwrap_or(now);
    let timestamp = humantime::format_rfc3339_seconds(started).to_string();
    // Writing into a Vec cannot fail, and everything written is UTF-8.
    let bytes = write(collected, &timestamp).unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

fn write(collected: &Collected, timestamp: &str) -> io::Result<Vec<u8>> {
    let mut suites: Vec<(&str, Vec<&CaseOutcome>)> = Vec::new();
    for outcome in &collected.outcomes {
        match suites.iter_mut().find(|(spec, _)| *spec == outcome.spec) {
            Some((_, cases)) => cases.push(outcome),
            None => suites.push((&outcome.spec, vec![outcome])),
        }
    }
    let summary = &collected.summary;
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer
        .create_element("testsuites")
        .with_attribute(attr("name", "runner"))
        .with_attribute(attr("tests", &summary.total().to_string()))
        .with_attribute(attr("failures", &summary.failed.to_string()))
        .with_attribute(attr("errors", &summary.errors.to_string()))
        .with_attribute(attr("time", &seconds(summary.duration)))
        .write_inner_content(|writer| {
            for (spec, cases) in &suites {
                suite(writer, spec, cases, timestamp)?;
            }
            Ok(())
        })?;
    let mut bytes = writer.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

fn suite(
    writer: &mut Writer<Vec<u8>>,
    spec: &str,
    cases: &[&CaseOutcome],
    timestamp: &str,
) -> io::Result<()> {
    let count = |verdict: Verdict| cases.iter().filter(|c| junit_verdict(c) == verdict).count();
    let points: u32 = cases.iter().map(|c| c.points).sum();
    let max_points: u32 = cases.iter().map(|c| c.max_points).sum();
    let time: Duration = cases.iter().map(|c| c.duration).sum();
    writer
        .create_element("testsuite")
        .with_attribute(attr("name", spec))
        .with_attribute(attr("tests", &cases.len().to_string()))
        .with_attribute(attr("failures", &count(Verdict::Fail).to_string()))
        .with_attribute(attr("errors", &count(Verdict::Error).to_string()))
        .with_attribute(attr("skipped", &count(Verdict::NotRun).to_string()))
        .with_attribute(attr("time", &seconds(time)))
        .with_attribute(attr("timestamp", timestamp))
        .write_inner_content(|writer| {
            writer
                .create_element("properties")
                .write_inner_content(|writer| {
                    property(writer, "points", &points.to_string())?;
                    property(writer, "max_points", &max_points.to_string())?;
                    for case in cases {
                        let points = case.points.to_string();
                        property(writer, &format!("{}.points", case.case), &points)?;
                        let max_points = case.max_points.to_string();
                        property(writer, &format!("{}.max_points", case.case), &max_points)?;
                    }
                    Ok(())
                })?;
            for case in cases {
                testcase(writer, case)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn property(writer: &mut Writer<Vec<u8>>, name: &str, value: &str) -> io::Result<()> {
    writer
        .create_element("property")
        .with_attribute(attr("name", name))
        .with_attribute(attr("value", value))
        .write_empty()?;
    Ok(())
}

/// The verdict CI sees: an informational case that did not pass is
/// skipped, never a failure that would stop a pipeline.
fn junit_verdict(outcome: &CaseOutcome) -> Verdict {
    if outcome.level == crate::speclang::Level::Informational && outcome.verdict != Verdict::Pass {
        Verdict::NotRun
    } else {
        outcome.verdict
    }
}

fn testcase(writer: &mut Writer<Vec<u8>>, outcome: &CaseOutcome) -> io::Result<()> {
    let element = writer
        .create_element("testcase")
        .with_attribute(attr("name", &outcome.case))
        .with_attribute(attr("classname", &outcome.spec))
        .with_attribute(attr("time", &seconds(outcome.duration)));
    if outcome.verdict == Verdict::Pass {
        element.write_empty()?;
        return Ok(());
    }
    element.write_inner_content(|writer| {
        let (tag, kind) = match junit_verdict(outcome) {
            Verdict::NotRun => {
                let message = if outcome.verdict == Verdict::NotRun {
                    outcome.message.clone()
                } else {
                    format!("informational, not counted: {}", outcome.message)
                };
                writer
                    .create_element("skipped")
                    .with_attribute(attr("message", &message))
                    .write_empty()?;
                return Ok(());
            }
            Verdict::Error => ("error", "error"),
            Verdict::Fail | Verdict::Pass => ("failure", "fail"),
        };
        writer
            .create_element(tag)
            .with_attribute(attr("message", &outcome.message))
            .with_attribute(attr("type", kind))
            .write_text_content(text(&evidence(outcome)))?;
        let mut out = String::new();
        if let Some(stdout) = tail(&outcome.stdout, TAIL_LINES) {
            let _ = writeln!(out, "stdout (last lines):\n{stdout}");
        }
        if !outcome.transcript.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&transcript(outcome));
        }
        if !out.is_empty() {
            writer
                .create_element("system-out")
                .write_text_content(text(&out))?;
        }
        if let Some(stderr) = tail(&outcome.stderr, TAIL_LINES) {
            writer
                .create_element("system-err")
                .write_text_content(text(&format!("stderr (last lines):\n{stderr}\n")))?;
        }
        Ok(())
    })?;
    Ok(())
}

/// The body of a `<failure>` or `<error>`: what a student needs to fix it.
fn evidence(outcome: &CaseOutcome) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "requirement: {}", outcome.about);
    let _ = writeln!(out, "points: {}/{}", outcome.points, outcome.max_points);
    if let Some(failure) = &outcome.failure {
        let _ = writeln!(
            out,
            "failed at step {} ({}:{}): {}",
            failure.step, outcome.spec_file, failure.line, failure.action
        );
        let _ = writeln!(out, "expected: {}", failure.expected);
        if let Some((headline, dump)) = super::received_dump(failure, 64) {
            let _ = writeln!(out, "received: {headline}\n{dump}");
        } else if let Some(actual) = &failure.actual {
            let _ = writeln!(out, "received: {}", quoted_short(actual, 1000));
        }
    } else {
        let _ = writeln!(out, "spec: {}", outcome.spec_file);
    }
    if let Some(hint) = &outcome.hint {
        let _ = writeln!(out, "hint: {hint}");
    }
    out
}

/// The exchange, a line per entry: time, channel, direction, data.
fn transcript(outcome: &CaseOutcome) -> String {
    let mut out = String::from("transcript:\n");
    for entry in &outcome.transcript {
        let (time, rest) = super::transcript_line(entry, 1000);
        let _ = writeln!(out, "  {time} {rest}");
    }
    out
}

/// Seconds with at most three decimals, as the schema's SUREFIRE_TIME
/// demands.
fn seconds(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

fn attr<'a>(key: &'a str, value: &str) -> Attribute<'a> {
    Attribute {
        key: QName(key.as_bytes()),
        value: Cow::Owned(escape(value, true).into_bytes()),
    }
}

fn text(content: &str) -> BytesText<'static> {
    BytesText::from_escaped(escape(content, false))
}

/// `text` escaped for XML character data (`attribute`: for an attribute
/// value in double quotes). See the module comment.
fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control()
                || matches!(c, '\u{fffe}' | '\u{ffff}')
                || crate::text::is_invisible_format(c) =>
            {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::engine::{Direction, Entry, Verdict};
    use quick_xml::events::Event;

    /// An element read back: name, attributes and text, unescaped.
    #[derive(Debug, Default)]
    struct Element {
        name: String,
        attributes: Vec<(String, String)>,
        text: String,
        children: Vec<Element>,
    }

    impl Element {
        fn attribute(&self, name: &str) -> Option<&str> {
            self.attributes
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        }

        fn child(&self, name: &str) -> Option<&Element> {
            self.children.iter().find(|c| c.name == name)
        }

        fn all(&self, name: &str) -> Vec<&Element> {
            self.children.iter().filter(|c| c.name == name).collect()
        }
    }

    /// Parses `xml` with quick-xml's reader, failing on malformed XML.
    fn parse(xml: &str) -> Element {
        fn open(start: &quick_xml::events::BytesStart) -> Element {
            Element {
                name: String::from_utf8_lossy(start.name().as_ref()).into_owned(),
                attributes: start
                    .attributes()
                    .map(|a| {
                        let a = a.expect("well-formed attribute");
                        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                        (
                            key,
                            a.unescape_value().expect("known entities").into_owned(),
                        )
                    })
                    .collect(),
                ..Element::default()
            }
        }
        let mut reader = quick_xml::Reader::from_str(xml);
        reader.config_mut().check_end_names = true;
        let mut stack = vec![Element::default()];
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(start) => stack.push(open(&start)),
                Event::Empty(start) => {
                    let element = open(&start);
                    stack.last_mut().expect("a parent").children.push(element);
                }
                Event::End(_) => {
                    let element = stack.pop().expect("an open element");
                    stack.last_mut().expect("a parent").children.push(element);
                }
                Event::Text(text) => {
                    stack.last_mut().expect("an element").text +=
                        &text.xml10_content().expect("UTF-8")
                }
                Event::GeneralRef(reference) => {
                    let c = match reference.resolve_char_ref().expect("a valid reference") {
                        Some(c) => c,
                        None => match &*reference {
                            b"amp" => '&',
                            b"lt" => '<',
                            b"gt" => '>',
                            b"quot" => '"',
                            b"apos" => '\'',
                            other => panic!("unknown entity {other:?}"),
                        },
                    };
                    stack.last_mut().expect("an element").text.push(c);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(stack.len(), 1, "unclosed elements");
        let mut document = stack.pop().expect("the document");
        assert_eq!(document.children.len(), 1, "one root element");
        document.children.pop().expect("the root")
    }

    /// Characters XML 1.0 allows in a document.
    fn is_xml_char(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
    }

    #[test]
    fn the_report_parses_back_with_its_verdicts_points_and_evidence() {
        let xml = super::render(&crate::report::sample::collected());
        assert!(!xml.contains("disabled"));
        let root = parse(&xml);
        assert_eq!(root.name, "testsuites");
        assert_eq!(root.attribute("tests"), Some("2"));
        assert_eq!(root.attribute("failures"), Some("1"));
        let suite = root.child("testsuite").expect("a suite");
        for (key, value) in [
            ("name", "tcp-upper-server"),
            ("tests", "2"),
            ("failures", "1"),
            ("errors", "0"),
            ("skipped", "0"),
            ("time", "0.006"),
        ] {
            assert_eq!(suite.attribute(key), Some(value), "{key}");
        }
        assert!(suite
            .attribute("timestamp")
            .is_some_and(|t| t.ends_with('Z')));
        let properties: Vec<(&str, &str)> = suite
            .child("properties")
            .expect("properties")
            .all("property")
            .iter()
            .map(|p| (p.attribute("name").unwrap(), p.attribute("value").unwrap()))
            .collect();
        assert_eq!(
            properties,
            [
                ("points", "2"),
                ("max_points", "3"),
                ("greeting.points", "2"),
                ("greeting.max_points", "2"),
                ("utf8-text.points", "0"),
                ("utf8-text.max_points", "1"),
            ]
        );
        let cases = suite.all("testcase");
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].attribute("classname"), Some("tcp-upper-server"));
        assert!(cases[0].children.is_empty());
        let failure = cases[1].child("failure").expect("a failure");
        assert_eq!(failure.attribute("type"), Some("fail"));
        assert_eq!(
            failure.attribute("message"),
            Some("expected \"你好\", but the server sent \"\\xff\" <&>\\u{1b}")
        );
        for line in [
            "points: 0/1\n",
            "failed at step 3 (bundled:tcp-upper-server.yaml:35): recv on a (text)\n",
            "received: expected 6 bytes, received 2: they first differ at offset 0",
            "00000000  ff 00 ",
            "hint: decode as UTF-8\n",
        ] {
            assert!(failure.text.contains(line), "{line} in {}", failure.text);
        }
    }

    #[test]
    fn errors_and_cases_not_run_have_their_own_elements() {
        let mut collected = crate::report::sample::collected();
        collected.outcomes[0].verdict = Verdict::NotRun;
        collected.outcomes[0].message = "not run: the run reached its --deadline".into();
        collected.outcomes[1].verdict = Verdict::Error;
        let root = parse(&super::render(&collected));
        let suite = root.child("testsuite").expect("a suite");
        assert_eq!(suite.attribute("skipped"), Some("1"));
        assert_eq!(suite.attribute("errors"), Some("1"));
        let cases = suite.all("testcase");
        let skipped = cases[0].child("skipped").expect("skipped");
        assert_eq!(
            skipped.attribute("message"),
            Some("not run: the run reached its --deadline")
        );
        let error = cases[1].child("error").expect("an error");
        assert_eq!(error.attribute("type"), Some("error"));
    }

    #[test]
    fn hostile_text_cannot_make_the_document_invalid() {
        let hostile =
            "a\"b'c<d>&e\nf\r\ng\th\u{0}\u{7}\u{1b}[2J\u{7f}\u{85}\u{fffe}\u{ffff}\u{202e}]]><!-- 你好";
        let mut collected = crate::report::sample::collected();
        let outcome = &mut collected.outcomes[1];
        outcome.case = hostile.into();
        outcome.message = hostile.into();
        outcome.about = hostile.into();
        outcome.transcript = vec![Entry {
            at: std::time::Duration::from_millis(2),
            channel: "a".into(),
            direction: Direction::Note,
            bytes: hostile.as_bytes().to_vec(),
        }];
        let xml = super::render(&collected);
        assert!(xml.chars().all(is_xml_char), "{xml:?}");
        let root = parse(&xml);
        let suite = root.child("testsuite").expect("a suite");
        let case = suite.all("testcase")[1];
        // What XML can hold comes back as it was, line breaks and tabs in
        // attributes included; the rest is escaped where it was.
        let shown = "a\"b'c<d>&e\nf\r\ng\th\\u{0}\\u{7}\\u{1b}[2J\\u{7f}\\u{85}\\u{fffe}\\u{ffff}\\u{202e}]]><!-- 你好";
        assert_eq!(case.attribute("name"), Some(shown));
        let failure = case.child("failure").expect("a failure");
        assert_eq!(failure.attribute("message"), Some(shown));
        assert!(
            failure.text.starts_with(&format!("requirement: {shown}\n")),
            "{:?}",
            failure.text
        );
        let out = case.child("system-out").expect("transcript in system-out");
        assert!(out.text.contains(shown), "{:?}", out.text);
        let property = format!("{shown}.points");
        assert!(suite
            .child("properties")
            .expect("properties")
            .all("property")
            .iter()
            .any(|p| p.attribute("name") == Some(&property)));
    }

    #[test]
    fn escape_keeps_text_and_escapes_markup_and_controls() {
        assert_eq!(
            super::escape("<a href=\"x\">&\n\t\r\u{1b}</a>", true),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#10;&#9;&#13;\\u{1b}&lt;/a&gt;"
        );
        assert_eq!(super::escape("\"\n\t", false), "\"\n\t");
    }
}
