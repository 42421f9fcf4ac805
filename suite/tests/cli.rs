//! The runner's command-line contract: exit codes, report formats, spec
//! selection, refusals.

mod common;

use common::*;
use predicates::prelude::*;
use rstest::rstest;

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
    assert_eq!(report["version"], 2);
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
            "TAP version 13\n1..6\nok 1 - tcp-upper-server/greeting",
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
fn list_shows_cases_without_running_them() {
    runner()
        .args(["--list"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("greeting").and(predicate::str::contains("replies to")));
}

/// Command lines that are refused with exit 2 and one clear message,
/// before anything runs.
#[rstest]
#[case::no_case_selected(&["tcp-upper-server", "--case", "no-such-case"], "no case matches")]
#[case::addr_off_loopback(
    &["tcp-upper-server", "--target", "true", "--addr", "10.0.0.1:8900"],
    "only loopback addresses"
)]
#[case::missing_target(&["tcp-upper-server", "--target", "./no/such/server.py"], "not found")]
#[case::unknown_spec(&["no-such-spec"], "bundled specs: tcp-chat-client")]
#[case::unknown_tag(&["tcp-upper-server", "--tag", "beyond-handuot"], "tags here: beyond-handout")]
#[case::bad_limit(&["tcp-upper-server", "--max-memory", "lots"], "not a size")]
#[case::tiny_memory(&["tcp-upper-server", "--max-memory", "1"], "too little")]
#[case::unwritable_report(
    &["tcp-upper-server", "--format", "json", "--output", "/no/such/folder/report.json"],
    "cannot write the report"
)]
fn a_bad_command_line_is_a_usage_error(#[case] args: &[&str], #[case] message: &str) {
    runner()
        .args(args)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(message));
}

#[test]
fn show_prints_a_bundled_spec_line_for_line_so_failure_lines_can_be_looked_up() {
    let spec = std::fs::read_to_string(common::spec("tcp-upper-server")).expect("bundled spec");
    runner()
        .args(["show", "tcp-upper-server"])
        .assert()
        .code(0)
        .stdout(spec.clone());
    // The old flag still works, and says what replaced it.
    runner()
        .args(["--show", "tcp-upper-server"])
        .assert()
        .code(0)
        .stdout(spec)
        .stderr(predicate::str::contains("`runner show`"));
}

#[test]
fn help_lists_every_command_with_an_example() {
    let assert = runner().arg("--help").assert().code(0);
    let help = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    // Every command help lists, whatever its number, has an example.
    let listed: Vec<&str> = help
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        // A wrapped description goes on deeper indented lines.
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|command| *command != "help")
        .collect();
    for command in [
        "grade",
        "merge",
        "gradescope-bundle",
        "list",
        "show",
        "check",
        "completions",
        "man",
    ] {
        assert!(
            listed.contains(&command),
            "`{command}` is not listed:\n{help}"
        );
    }
    for command in listed {
        assert!(
            help.contains(&format!("  runner {command} ")),
            "no example of `{command}`:\n{help}"
        );
    }
}

#[test]
fn check_loads_specs_without_running_and_reports_every_bad_one() {
    let bad = common::root().join("suite/bad-specs/unknown-key.yaml");
    let missing = common::root().join("suite/bad-specs/missing-field.yaml");
    runner()
        .args([
            "check",
            "tcp-upper-server",
            &common::spec("tcp-chat-server"),
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "ok  bundled:tcp-upper-server.yaml: spec tcp-upper-server, 7 cases",
        ));
    runner()
        .args(["check", "tcp-upper-server"])
        .arg(&bad)
        .arg(&missing)
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "ok  bundled:tcp-upper-server.yaml",
        ))
        .stderr(
            predicate::str::contains("unknown-key.yaml:10:24")
                .and(predicate::str::contains("missing-field.yaml:6:5")),
        );
}

#[test]
fn list_is_a_command_and_the_old_flag_still_works() {
    runner()
        .args(["list", "tcp-upper-server", "--partition", "2/3"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("mixed-text")
                .and(predicate::str::contains("closes-after-reply"))
                .and(predicate::str::contains("greeting").not()),
        );
    runner()
        .args(["--list", "tcp-upper-server"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("greeting"))
        .stderr(predicate::str::contains("`runner list`"));
}

#[test]
fn a_partitioned_run_runs_its_share_of_the_cases_and_the_parts_cover_all() {
    let mut seen = Vec::new();
    for part in ["1/2", "2/2"] {
        let (code, report) = common::run_json(&["tcp-upper-server", "--partition", part]);
        assert_eq!(code, 0, "{report}");
        let cases: Vec<String> = report["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["case"].as_str().expect("case").to_string())
            .collect();
        assert_eq!(cases.len(), 3, "{part}: {cases:?}");
        seen.extend(cases);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 6, "{seen:?}");
}
