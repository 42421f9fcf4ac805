//! The runner's command-line contract: exit codes, report formats, spec
//! selection, refusals.

mod common;

use common::*;
use predicates::prelude::*;

#[test]
fn with_no_arguments_every_bundled_spec_passes_against_its_reference() {
    let dir = tempfile::tempdir().expect("temp dir");
    // From an unrelated directory: the specs and references are built in.
    runner()
        .current_dir(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("all passed"))
        .stdout(predicate::str::contains("FAIL").not());
}

#[test]
fn the_json_report_has_one_result_per_case_with_the_contract_fields() {
    let (code, report) = run_json(&["tcp-upper-server"]);
    assert_eq!(code, 0);
    assert_eq!(report["version"], 1);
    let results = report["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for result in results {
        for field in ["spec", "case", "verdict", "points", "max_points", "message"] {
            assert!(!result[field].is_null(), "missing {field} in {result}");
        }
        assert_eq!(result["points"], result["max_points"]);
    }
    assert_eq!(report["summary"]["failed"], 0);
}

#[test]
fn junit_and_tap_reports_are_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let junit = dir.path().join("report.xml");
    runner()
        .args(["tcp-upper-server", "--format", "junit", "--output"])
        .arg(&junit)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("all passed"));
    let xml = std::fs::read_to_string(&junit).expect("report written");
    assert!(
        xml.contains("<testsuite name=\"tcp-upper-server\""),
        "{xml}"
    );
    assert!(xml.contains("<testcase name=\"greeting\""), "{xml}");
    runner()
        .args(["tcp-upper-server", "--format", "tap"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "TAP version 14\n1..6\nok 1 - tcp-upper-server/greeting",
        ));
}

#[test]
fn case_selects_by_glob() {
    let (code, report) = run_json(&["tcp-upper-server", "--case", "*-text"]);
    assert_eq!(code, 0);
    let cases: Vec<String> = verdicts(&report).into_keys().collect();
    assert_eq!(cases, ["mixed-text", "utf8-text"]);
}

#[test]
fn a_selection_that_matches_nothing_is_a_usage_error() {
    runner()
        .args(["tcp-upper-server", "--case", "no-such-case"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no case matches"));
}

#[test]
fn addr_off_loopback_is_refused() {
    runner()
        .args([
            "tcp-upper-server",
            "--target",
            "true",
            "--addr",
            "10.0.0.1:8900",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("only loopback addresses"));
}

#[test]
fn a_missing_target_is_a_usage_error() {
    runner()
        .args(["tcp-upper-server", "--target", "./no/such/server.py"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not found"));
}

#[test]
fn an_unknown_spec_name_lists_the_bundled_ones() {
    runner().arg("no-such-spec").assert().code(2).stderr(
        predicate::str::contains("bundled: ").and(predicate::str::contains("tcp-upper-server")),
    );
}

#[test]
fn list_shows_cases_without_running_them() {
    runner()
        .args(["--list"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("greeting").and(predicate::str::contains("replies to")));
}
