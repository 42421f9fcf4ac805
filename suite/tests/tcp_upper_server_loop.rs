//! The looping TCP upper-case server spec against the reference, the mutants
//! and the student-style Python program.

mod common;

use common::*;
use rstest::rstest;

const SPEC: &str = "tcp-upper-server-loop";
const TAGGED: &str = "concurrent-clients";
const ALL: &[&str] = &[
    "any-bytes",
    "clients-one-after-another",
    "closes-on-disconnect",
    "greeting",
    "next-client-after-disconnect",
    "no-spin-after-disconnect",
    "several-messages",
    "survives-reset",
    "utf8-text",
];

#[test]
fn the_reference_passes_every_default_case() {
    let (code, report) = run_json(&[&spec(SPEC)]);
    assert_eq!(failing(&report), Vec::<String>::new(), "{report:#}");
    let cases: Vec<String> = verdicts(&report).into_keys().collect();
    assert_eq!(cases, ALL);
    assert_eq!(code, 0);
}

#[test]
fn the_reference_passes_the_beyond_handout_case_too() {
    let (code, report) = run_json(&[&spec(SPEC), "--tag", "beyond-handout"]);
    assert_eq!(failing(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(verdicts(&report).len(), ALL.len() + 1);
    assert_eq!(verdicts(&report)[TAGGED].0, "pass");
    assert_eq!(code, 0);
}

/// Mutant, the cases it must fail (all other default cases pass), and a
/// case whose message must name the symptom.
#[rstest]
#[case::one_client(
    "upper-server-loop-one-client",
    &["clients-one-after-another", "next-client-after-disconnect", "survives-reset"],
    "next-client-after-disconnect",
    "exited with code 0"
)]
#[case::one_message(
    "upper-server-loop-one-message",
    &["several-messages"],
    "several-messages",
    // Closed or reset: the second message may arrive after the close.
    "expected \"TWO WORDS\", but the server"
)]
#[case::spin_on_empty(
    "upper-server-loop-spin-on-empty",
    &["closes-on-disconnect", "no-spin-after-disconnect"],
    "no-spin-after-disconnect",
    "busy-looping"
)]
#[case::no_reset_handling(
    "upper-server-loop-no-reset-handling",
    &["survives-reset"],
    "survives-reset",
    "ConnectionResetError"
)]
#[case::utf8_text(
    "upper-server-loop-utf8-text",
    &["any-bytes"],
    "any-bytes",
    "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0"
)]
#[case::never_closes(
    "upper-server-loop-never-closes",
    &["closes-on-disconnect"],
    "closes-on-disconnect",
    "kept the connection open"
)]
fn each_mutant_fails_exactly_its_cases(
    #[case] mutant: &str,
    #[case] expected_failures: &[&str],
    #[case] symptom_case: &str,
    #[case] symptom: &str,
) {
    let (code, report) = run_json(&[&spec(SPEC), "--target", &fixture_target(mutant)]);
    assert_eq!(failing(&report), expected_failures, "{mutant}: {report:#}");
    assert_eq!(verdicts(&report).len(), ALL.len());
    assert_eq!(code, expected_code(&report));
    let (verdict, message) = &verdicts(&report)[symptom_case];
    assert_eq!(verdict, "fail", "{mutant}/{symptom_case}: {message}");
    assert!(
        message.contains(symptom),
        "{mutant}/{symptom_case}: message {message:?} lacks {symptom:?}"
    );
}

#[test]
fn a_student_python_server_with_a_hard_coded_address_passes() {
    let (code, report) =
        run_student_program(SPEC, "python/upper_server_loop.py", "127.1.1.1", 8900);
    assert_eq!(failing(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(verdicts(&report).len(), ALL.len());
    assert_eq!(code, 0);
}

#[test]
fn the_concurrent_clients_case_is_off_by_default_and_bites_a_sequential_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ip = private_loopback_ip();
    let program = student_program("python/upper_server_loop.py", dir.path(), "127.1.1.1", &ip);
    let addr = format!("{ip}:8900");
    let (code, report) = run_json(&[
        &spec(SPEC),
        "--target",
        &program.display().to_string(),
        "--addr",
        &addr,
        "--tag",
        "beyond-handout",
    ]);
    assert_eq!(failing(&report), [TAGGED], "{report:#}");
    assert_eq!(code, 1);
    let (_, message) = &verdicts(&report)[TAGGED];
    assert!(
        message.contains("expected \"SECOND\"") && message.contains("nothing arrived"),
        "{message}"
    );
}
