//! The reports as their real consumers read them: one run writes every
//! format (`--report-json`, `--report-junit`, `--report-tap`,
//! `--report-gradescope`), then Perl's `prove` and TAP::Parser read the
//! TAP, `xmllint` validates the JUnit against `junit-10.xsd` (Jenkins'
//! xunit plugin, Surefire) and Python's expat parser reads it back, and
//! every format must tell the same story: the same cases, verdicts,
//! points and messages as the JSON report.
//!
//! `scripts/test` installs prove (perl), tap-parser (npm, under
//! target/test-tools) and xmllint (libxml2-utils);
//! these tests never skip themselves when a tool is missing.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every report of one run, read back.
struct Reports {
    code: i32,
    json: Value,
    junit: PathBuf,
    tap: PathBuf,
    gradescope: Value,
    /// Kept so the files outlive the run.
    _dir: tempfile::TempDir,
}

/// Runs the runner with `args`, writing every format from that one run.
fn run_every_format(args: &[&str]) -> Reports {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name);
    let output = runner()
        .args(args)
        .arg("--report-json")
        .arg(path("report.json"))
        .arg("--report-junit")
        .arg(path("report.xml"))
        .arg("--report-tap")
        .arg(path("report.tap"))
        .arg("--report-gradescope")
        .arg(path("results.json"))
        .output()
        .expect("runner runs");
    let code = output.status.code().expect("runner exits normally");
    let read_json = |name: &str| -> Value {
        let text = std::fs::read_to_string(path(name)).unwrap_or_else(|e| {
            panic!(
                "{name} not written ({e}); exit {code}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON ({e}): {text}"))
    };
    Reports {
        code,
        json: read_json("report.json"),
        gradescope: read_json("results.json"),
        junit: path("report.xml"),
        tap: path("report.tap"),
        _dir: dir,
    }
}

fn run_tool(program: &str, args: &[&str], file: &Path) -> Output {
    Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed (scripts/test installs it): {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What the JSON report says of one case.
#[derive(Debug, Clone, PartialEq)]
struct Case {
    verdict: String,
    points: u64,
    max_points: u64,
    message: String,
}

/// `spec/case` -> the case, from the JSON report, in report order.
fn json_cases(report: &Value) -> Vec<(String, Case)> {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let name = format!(
                "{}/{}",
                r["spec"].as_str().expect("spec"),
                r["case"].as_str().expect("case")
            );
            let case = Case {
                verdict: r["verdict"].as_str().expect("verdict").to_string(),
                points: r["points"].as_u64().expect("points"),
                max_points: r["max_points"].as_u64().expect("max_points"),
                message: r["message"].as_str().expect("message").to_string(),
            };
            (name, case)
        })
        .collect()
}

/// The JSON summary's counts: passed, failed, errors, not run, points,
/// max points.
fn json_counts(report: &Value) -> [u64; 6] {
    let summary = &report["summary"];
    [
        "passed",
        "failed",
        "errors",
        "not_run",
        "points",
        "max_points",
    ]
    .map(|key| {
        summary[key]
            .as_u64()
            .unwrap_or_else(|| panic!("summary.{key}"))
    })
}

// TAP, as prove and TAP::Parser read it.

/// Reads a TAP file with TAP::Parser (what prove uses) and prints what it
/// understood as JSON: version, plan, each test point with its YAML
/// diagnostics, the parse errors.
const TAP_TO_JSON: &str = r#"
use strict; use warnings; use TAP::Parser; use JSON::PP;
open my $fh, '<:encoding(UTF-8)', $ARGV[0] or die "$ARGV[0]: $!";
my $tap = do { local $/; <$fh> };
my $parser = TAP::Parser->new({ tap => $tap });
my (@tests, $last);
while (my $result = $parser->next) {
    if ($result->is_test) {
        $last = {
            number => $result->number + 0,
            ok => $result->is_ok ? JSON::PP::true : JSON::PP::false,
            description => $result->description,
            directive => $result->directive,
            explanation => $result->explanation,
        };
        push @tests, $last;
    } elsif ($result->is_yaml) {
        die "YAML before any test point" unless $last;
        $last->{yaml} = $result->data;
    }
}
print JSON::PP->new->utf8->canonical->encode({
    version => $parser->version + 0,
    planned => $parser->tests_planned + 0,
    tests => \@tests,
    parse_errors => [ $parser->parse_errors ],
});
"#;

fn tap_parsed(file: &Path) -> Value {
    let output = run_tool("perl", &["-e", TAP_TO_JSON], file);
    assert!(
        output.status.success(),
        "TAP::Parser failed: {}",
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

/// Runs `prove` on the TAP file; returns whether it passed and its output.
fn prove(file: &Path) -> (bool, String) {
    let output = run_tool("prove", &["--exec", "cat"], file);
    let shown = format!("{}{}", text(&output.stdout), text(&output.stderr));
    (output.status.success(), shown)
}

/// prove's verdict must match the run's, and prove must read the whole
/// stream without a parse error; TAP::Parser's reading must agree with the
/// JSON report case by case.
fn check_tap(reports: &Reports) {
    let (passed, shown) = prove(&reports.tap);
    let tap = std::fs::read_to_string(&reports.tap).expect("TAP written");
    assert_eq!(
        passed,
        reports.code == 0,
        "prove's verdict against exit code {}:\n{shown}\n{tap}",
        reports.code
    );
    for problem in ["Parse errors", "Bad plan", "TAP specified version"] {
        assert!(!shown.contains(problem), "{problem}:\n{shown}\n{tap}");
    }
    let parsed = tap_parsed(&reports.tap);
    assert_eq!(parsed["parse_errors"], serde_json::json!([]), "{tap}");
    assert_eq!(parsed["version"], 13);
    let cases = json_cases(&reports.json);
    assert_eq!(parsed["planned"], cases.len());
    let tests = parsed["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), cases.len(), "{tap}");
    for (index, (test, (name, case))) in tests.iter().zip(&cases).enumerate() {
        assert_eq!(test["number"], index + 1);
        assert_eq!(test["description"], format!("- {name}"), "{test}");
        let skipped = test["directive"] == "SKIP";
        assert_eq!(skipped, case.verdict == "not_run", "{name}: {test}");
        // A SKIP on a `not ok` does not make it a pass for TAP::Parser.
        assert_eq!(test["ok"] == true, case.verdict == "pass", "{name}: {test}");
        if case.verdict == "pass" {
            assert!(test["yaml"].is_null(), "{name}: {test}");
            continue;
        }
        if skipped {
            assert_eq!(test["explanation"], case.message, "{name}");
        }
        let yaml = &test["yaml"];
        assert_eq!(yaml["verdict"], case.verdict, "{name}: {test}");
        assert_eq!(yaml["message"], case.message, "{name}: {test}");
        // YAMLish reads numbers as strings.
        assert_eq!(yaml["points"], case.points.to_string(), "{name}");
        assert_eq!(yaml["max_points"], case.max_points.to_string(), "{name}");
        assert!(yaml["requirement"].is_string(), "{name}: {test}");
        assert!(yaml["spec_file"].is_string(), "{name}: {test}");
    }
    let [passed, failed, errors, not_run, points, max_points] = json_counts(&reports.json);
    let summary =
        format!("# {passed} passed, {failed} failed, {errors} errors, {not_run} not run; {points}/{max_points} points");
    assert!(tap.lines().any(|l| l == summary), "{summary} in\n{tap}");
}

// JUnit, as xmllint validates it and expat reads it.

fn schema() -> PathBuf {
    root().join("suite/data/junit-10.xsd")
}

/// Reads a JUnit file with Python's expat-based ElementTree and prints it
/// as JSON: the root's attributes, and per suite its attributes,
/// properties and cases (attributes, the element saying how the case
/// ended, its message, system-out and system-err).
const JUNIT_TO_JSON: &str = r#"
import json, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = []
for suite in root.findall("testsuite"):
    cases = []
    for case in suite.findall("testcase"):
        ends = [e for e in case if e.tag in ("failure", "error", "skipped")]
        end = ends[0] if ends else None
        cases.append({
            "attributes": dict(case.attrib),
            "end": None if end is None else end.tag,
            "ends": len(ends),
            "message": None if end is None else end.get("message"),
            "type": None if end is None else end.get("type"),
            "body": None if end is None else (end.text or ""),
            "system_out": case.findtext("system-out"),
            "system_err": case.findtext("system-err"),
        })
    properties = [[p.get("name"), p.get("value")] for p in suite.findall("properties/property")]
    suites.append({"attributes": dict(suite.attrib), "properties": properties, "cases": cases})
print(json.dumps({"tag": root.tag, "attributes": dict(root.attrib), "suites": suites}))
"#;

fn junit_parsed(file: &Path) -> Value {
    let output = run_tool("python3", &["-c", JUNIT_TO_JSON], file);
    assert!(
        output.status.success(),
        "ElementTree could not read the JUnit report: {}",
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

fn attribute<'a>(element: &'a Value, name: &str) -> &'a str {
    element["attributes"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {element}"))
}

fn number(element: &Value, name: &str) -> u64 {
    attribute(element, name)
        .parse()
        .unwrap_or_else(|e| panic!("{name} of {element}: {e}"))
}

/// xmllint must validate the report against junit-10.xsd, and the report
/// must agree with the JSON one: counts, points, verdicts, messages.
fn check_junit(reports: &Reports) {
    let output = run_tool(
        "xmllint",
        &["--noout", "--schema", &schema().display().to_string()],
        &reports.junit,
    );
    let xml = std::fs::read_to_string(&reports.junit).expect("JUnit written");
    assert!(
        output.status.success(),
        "xmllint rejects the report: {}\n{xml}",
        text(&output.stderr)
    );
    let parsed = junit_parsed(&reports.junit);
    assert_eq!(parsed["tag"], "testsuites");
    let [passed, failed, errors, not_run, points, max_points] = json_counts(&reports.json);
    let root = &parsed;
    assert_eq!(number(root, "tests"), passed + failed + errors + not_run);
    assert_eq!(number(root, "failures"), failed);
    assert_eq!(number(root, "errors"), errors);
    let suites = parsed["suites"].as_array().expect("suites");
    let mut sums = [0u64; 6];
    let mut junit_cases: Vec<(String, Case)> = Vec::new();
    for suite in suites {
        let name = attribute(suite, "name");
        assert!(!attribute(suite, "timestamp").is_empty());
        assert!(suite["attributes"]["disabled"].is_null());
        let properties: BTreeMap<String, u64> = suite["properties"]
            .as_array()
            .expect("properties")
            .iter()
            .map(|p| {
                let value = p[1].as_str().expect("value").parse().expect("a number");
                (p[0].as_str().expect("name").to_string(), value)
            })
            .collect();
        let cases = suite["cases"].as_array().expect("cases");
        assert_eq!(number(suite, "tests"), cases.len() as u64, "{name}");
        let count = |end: &str| cases.iter().filter(|c| c["end"] == end).count() as u64;
        assert_eq!(number(suite, "failures"), count("failure"), "{name}");
        assert_eq!(number(suite, "errors"), count("error"), "{name}");
        assert_eq!(number(suite, "skipped"), count("skipped"), "{name}");
        let mut suite_points = [0u64; 2];
        for case in cases {
            assert!(case["ends"].as_u64() <= Some(1), "{case}");
            assert_eq!(attribute(case, "classname"), name);
            let id = attribute(case, "name");
            let verdict = match case["end"].as_str() {
                None => "pass",
                Some("failure") => "fail",
                Some("error") => "error",
                Some("skipped") => "not_run",
                Some(other) => panic!("{other}"),
            };
            let case_points = properties[&format!("{id}.points")];
            let case_max = properties[&format!("{id}.max_points")];
            suite_points[0] += case_points;
            suite_points[1] += case_max;
            if verdict != "pass" {
                let body = case["body"].as_str().unwrap_or_default();
                if verdict != "not_run" {
                    assert_eq!(case["type"], verdict, "{case}");
                    assert!(body.starts_with("requirement: "), "{case}");
                    assert!(
                        body.contains(&format!("points: {case_points}/{case_max}\n")),
                        "{case}"
                    );
                }
            }
            junit_cases.push((
                format!("{name}/{id}"),
                Case {
                    verdict: verdict.to_string(),
                    points: case_points,
                    max_points: case_max,
                    message: case["message"].as_str().unwrap_or_default().to_string(),
                },
            ));
        }
        assert_eq!(properties["points"], suite_points[0], "{name}");
        assert_eq!(properties["max_points"], suite_points[1], "{name}");
        sums[4] += suite_points[0];
        sums[5] += suite_points[1];
    }
    for (_, case) in &junit_cases {
        match case.verdict.as_str() {
            "pass" => sums[0] += 1,
            "fail" => sums[1] += 1,
            "error" => sums[2] += 1,
            _ => sums[3] += 1,
        }
    }
    assert_eq!(sums, [passed, failed, errors, not_run, points, max_points]);
    // The same cases, verdicts, points and messages, in the same order.
    assert_eq!(junit_cases, json_cases(&reports.json), "{xml}");
}

// Gradescope's results.json.

fn check_gradescope(reports: &Reports) {
    let results = &reports.gradescope;
    let [passed, _, _, _, points, _] = json_counts(&reports.json);
    assert_eq!(results["score"].as_u64(), Some(points));
    let tests = results["tests"].as_array().expect("tests");
    let cases = json_cases(&reports.json);
    assert_eq!(tests.len(), cases.len());
    let mut statuses_passed = 0;
    for (test, (name, case)) in tests.iter().zip(&cases) {
        assert_eq!(test["name"], name.as_str());
        assert_eq!(test["score"].as_u64(), Some(case.points), "{name}");
        assert_eq!(test["max_score"].as_u64(), Some(case.max_points), "{name}");
        let status = test["status"].as_str().expect("status");
        assert_eq!(status == "passed", case.verdict == "pass", "{name}: {test}");
        statuses_passed += usize::from(status == "passed");
        if matches!(case.verdict.as_str(), "fail" | "error") {
            let output = test["output"].as_str().expect("output");
            for line in case.message.lines().filter(|l| !l.trim().is_empty()) {
                assert!(output.contains(line.trim()), "{line:?} in {output}");
            }
        }
    }
    assert_eq!(statuses_passed as u64, passed);
}

/// node-tap's `tap-parser`, installed by scripts/test under
/// target/test-tools (npm).
fn tap_parser() -> PathBuf {
    let path = common::root().join("target/test-tools/node_modules/.bin/tap-parser");
    assert!(
        path.exists(),
        "{} is missing: scripts/test installs it (npm install --prefix target/test-tools tap-parser)",
        path.display()
    );
    path
}

/// tap-parser, in strict mode, must read the stream as TAP::Parser does:
/// its final result agrees with the run's exit code and the JSON report.
fn check_tap_parser(reports: &Reports) {
    let tap = std::fs::read_to_string(&reports.tap).expect("TAP written");
    let output = Command::new(tap_parser())
        .args(["--strict", "-j", "0"])
        .stdin(std::fs::File::open(&reports.tap).expect("TAP file"))
        .output()
        .expect("tap-parser runs");
    let events: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "tap-parser output is not JSON ({e}): {}",
            text(&output.stdout)
        )
    });
    let events = events.as_array().expect("events");
    let kinds: Vec<&str> = events.iter().filter_map(|e| e[0].as_str()).collect();
    assert!(
        !kinds.contains(&"extra") && !kinds.contains(&"parseError"),
        "tap-parser found lines it could not read: {events:?}\n{tap}"
    );
    let complete = &events
        .iter()
        .find(|e| e[0] == "complete")
        .expect("a complete event")[1];
    let cases = json_cases(&reports.json);
    assert_eq!(complete["ok"], reports.code == 0, "{complete}\n{tap}");
    assert_eq!(complete["count"], cases.len(), "{complete}");
    let passing = cases.iter().filter(|(_, c)| c.verdict == "pass").count();
    assert_eq!(complete["pass"], passing, "{complete}");
    let asserts: Vec<&Value> = events
        .iter()
        .filter(|e| e[0] == "assert")
        .map(|e| &e[1])
        .collect();
    assert_eq!(asserts.len(), cases.len());
    for (test, (name, case)) in asserts.iter().zip(&cases) {
        assert_eq!(test["name"], name.as_str(), "{test}");
        assert_eq!(test["ok"] == true, case.verdict == "pass", "{name}: {test}");
        if case.verdict != "pass" && case.verdict != "not_run" {
            assert_eq!(test["diag"]["message"], case.message, "{name}: {test}");
            assert_eq!(test["diag"]["points"], case.points, "{name}: {test}");
        }
    }
}

fn check_every_format(reports: &Reports) {
    check_tap(reports);
    check_tap_parser(reports);
    check_junit(reports);
    check_gradescope(reports);
}

#[test]
fn a_passing_run_passes_in_every_consumer() {
    let reports = run_every_format(&["tcp-upper-server"]);
    assert_eq!(reports.code, 0);
    let [passed, failed, errors, not_run, points, max_points] = json_counts(&reports.json);
    assert!(passed > 0);
    assert_eq!([failed, errors, not_run], [0, 0, 0]);
    assert_eq!(points, max_points);
    check_every_format(&reports);
}

#[test]
fn a_failing_run_fails_in_every_consumer_with_the_same_evidence() {
    let target = fixture_target("upper-server-no-upper");
    let reports = run_every_format(&["tcp-upper-server", "--target", &target]);
    assert_eq!(reports.code, 1);
    let [_, failed, ..] = json_counts(&reports.json);
    assert!(failed > 0);
    check_every_format(&reports);
    // The evidence reaches the TAP diagnostics and the JUnit system-out.
    let tap = tap_parsed(&reports.tap);
    let yaml = &tap["tests"][0]["yaml"];
    assert_eq!(yaml["expected"], "\"HELLO\"", "{yaml}");
    assert_eq!(yaml["received"], "hello", "{yaml}");
    assert_eq!(yaml["stdout_tail"], "received: hello", "{yaml}");
    // The program's start, the connect, then what was sent.
    let started = yaml["transcript"][0]["text"].as_str().unwrap_or_default();
    assert!(started.starts_with("started, listening on "), "{yaml}");
    assert_eq!(yaml["transcript"][2]["direction"], "sent", "{yaml}");
    let junit = junit_parsed(&reports.junit);
    let case = &junit["suites"][0]["cases"][0];
    let out = case["system_out"].as_str().expect("system-out");
    assert!(out.contains("received: hello"), "{out}");
    assert!(out.contains("transcript:"), "{out}");
}

#[test]
fn hostile_bytes_and_output_break_no_format() {
    // Replies with invalid UTF-8, a NUL and an ANSI escape, and prints
    // invalid UTF-8 and screen-clearing escapes.
    let target = fixture_target("hostile-invalid-utf8");
    let reports = run_every_format(&["tcp-upper-server", "--target", &target]);
    assert_eq!(reports.code, 1);
    check_every_format(&reports);
    let tap = tap_parsed(&reports.tap);
    let yaml = &tap["tests"][0]["yaml"];
    assert_eq!(
        yaml["received_hex"], "ff fe 00 48 45 4c 1b 5b 33 31 6d 4c 4f c3",
        "{yaml}"
    );
    assert_eq!(
        yaml["received"], "\u{fffd}\u{fffd}\u{0}HEL\u{1b}[31mLO\u{fffd}",
        "{yaml}"
    );
}

#[test]
fn a_run_cut_short_by_its_deadline_is_a_failure_with_skips() {
    let reports = run_every_format(&["--deadline", "300ms"]);
    assert_eq!(reports.code, 1);
    let [_, _, _, not_run, ..] = json_counts(&reports.json);
    assert!(not_run > 0, "{}", reports.json["summary"]);
    check_every_format(&reports);
    let (_, shown) = prove(&reports.tap);
    assert!(shown.contains("skipped"), "{shown}");
    let tap = std::fs::read_to_string(&reports.tap).expect("TAP written");
    assert!(tap.contains("# SKIP not run: "), "{tap}");
}
