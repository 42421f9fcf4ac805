//! The TCP upper-case server spec against the reference, the mutants and
//! student-style Python programs.

mod common;

use common::*;
use rstest::rstest;

const SPEC: &str = "tcp-upper-server";
const ALL: &[&str] = &[
    "closes-after-reply",
    "fresh-start",
    "full-buffer",
    "greeting",
    "mixed-text",
    "utf8-text",
];

/// The cases about the reply's bytes; the close and the fresh start take
/// a reply of any content.
const CONTENT: &[&str] = &["full-buffer", "greeting", "mixed-text", "utf8-text"];

#[test]
fn the_reference_passes_every_default_case() {
    let (code, report) = run_json(&[&spec(SPEC)]);
    assert_eq!(failing(&report), Vec::<String>::new());
    assert_eq!(verdicts(&report).len(), ALL.len());
    assert_eq!(code, 0);
}

/// Mutant, the cases it must fail (all others pass), and a case whose
/// message must name the symptom.
#[rstest]
#[case::no_upper(
    "upper-server-no-upper",
    CONTENT,
    "greeting",
    "but the server sent \"hello\""
)]
#[case::replies_twice(
    "upper-server-replies-twice",
    CONTENT,
    "greeting",
    "expected no data for 200ms, but the server sent \"HELLO\""
)]
#[case::never_closes(
    "upper-server-never-closes",
    &["closes-after-reply"],
    "closes-after-reply",
    "kept the connection open for"
)]
#[case::crash_on_connect("upper-server-crash-on-connect", ALL, "greeting", "exited with code 1")]
fn each_mutant_fails_exactly_its_cases(
    #[case] mutant: &str,
    #[case] expected_failures: &[&str],
    #[case] symptom_case: &str,
    #[case] symptom: &str,
) {
    let (code, report) = run_json(&[&spec(SPEC), "--target", &fixture_target(mutant)]);
    assert_eq!(failing(&report), expected_failures, "{mutant}: {report:#}");
    assert_eq!(code, 1);
    let (_, message) = &verdicts(&report)[symptom_case];
    assert!(
        message.contains(symptom),
        "{mutant}/{symptom_case}: message {message:?} lacks {symptom:?}"
    );
}

#[test]
fn the_split_message_case_is_off_by_default_and_bites_a_one_shot_recv() {
    let (code, report) = run_json(&[&spec(SPEC), "--tag", "beyond-handout"]);
    assert_eq!(failing(&report), ["split-message"]);
    assert_eq!(code, 1);
    let (_, message) = &verdicts(&report)["split-message"];
    assert!(message.contains("\"SPLIT\""), "{message}");
}

#[test]
fn a_student_python_server_with_a_hard_coded_address_passes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ip = private_loopback_ip();
    let program = student_program("python/upper_server.py", dir.path(), "127.1.1.1", &ip);
    let target = format!("python3 {}", program.display());
    let addr = format!("{ip}:8900");
    let (code, report) = run_json(&[&spec(SPEC), "--target", &target, "--addr", &addr]);
    assert_eq!(failing(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(code, 0);
}

#[test]
fn a_wrong_student_python_server_fails_with_what_it_sent() {
    let (code, report) =
        run_student_program(SPEC, "python/upper_server_wrong.py", "127.1.1.1", 8900);
    assert_eq!(code, 1);
    // capitalize() lower-cases the rest of the text: every reply is wrong,
    // and the close and the fresh start are right.
    assert_eq!(failing(&report), CONTENT);
    let (_, message) = &verdicts(&report)["greeting"];
    assert!(message.contains("sent \"Hello\""), "{message}");
}

#[test]
fn a_server_that_hard_codes_its_address_is_found_without_addr() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ip = private_loopback_ip();
    let program = student_program("python/upper_server.py", dir.path(), "127.1.1.1", &ip);
    let (code, report) = run_json(&[
        &spec(SPEC),
        "--target",
        &program.display().to_string(),
        "--case",
        "greeting",
    ]);
    assert_eq!(failing(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(code, 0);
}

/// A wrong `--addr` (or a wrong address in the program) is found at the
/// first start, within a fraction of the start timeout, and said once:
/// the first case fails naming both addresses, without a hint about
/// upper-casing; the rest of the spec is not run against the program.
#[test]
fn a_wrong_addr_is_reported_once_and_the_rest_of_the_spec_is_not_run() {
    let program = common::root().join("fixtures/python/upper_server.py");
    let started = std::time::Instant::now();
    let (code, report) = run_json(&[
        &spec(SPEC),
        "--target",
        &program.display().to_string(),
        "--addr",
        "127.1.1.2:8900",
    ]);
    assert_eq!(code, 1);
    // Well before the 5 s the runner gives a program to start listening.
    assert!(started.elapsed().as_secs_f64() < 4.0, "{report:#}");
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), ALL.len(), "{report:#}");
    let first = &results[0];
    assert_eq!(first["verdict"], "fail", "{first:#}");
    let message = first["message"].as_str().expect("message");
    assert!(
        message.contains("listens on 127.1.1.1:8900 instead of 127.1.1.2:8900"),
        "{message}"
    );
    assert!(first["hint"].is_null(), "{first:#}");
    let case = first["case"].as_str().expect("case");
    for result in &results[1..] {
        assert_eq!(result["verdict"], "not_run", "{result:#}");
        let message = result["message"].as_str().expect("message");
        assert_eq!(
            message,
            format!("not run: the server listens on 127.1.1.1:8900, not on 127.1.1.2:8900 (see case {case})"),
        );
    }
    assert_eq!(report["summary"]["interrupted"], false, "{report:#}");
}
