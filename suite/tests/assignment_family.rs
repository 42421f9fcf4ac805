//! Every spec of the assignment family against its reference, its
//! student-style Python program, and its mutants. The table below is the
//! promise that each case bites: every mutant fails exactly the cases listed
//! for it and passes all others.

mod common;

use common::*;
use rstest::rstest;

#[rstest]
#[case("tcp-upper-server")]
#[case("tcp-upper-client")]
#[case("tcp-chat-server")]
#[case("tcp-chat-client")]
#[case("udp-upper-server")]
#[case("udp-upper-server-loop")]
#[case("udp-upper-client")]
#[case("udp-upper-client-loop")]
fn the_reference_passes_every_case(#[case] spec_name: &str) {
    let (code, report) = run_json(&[&spec(spec_name)]);
    assert_eq!(failing(&report), Vec::<String>::new(), "{report:#}");
    assert!(!verdicts(&report).is_empty());
    assert_eq!(code, 0);
}

/// Spec, a correct student program in fixtures/ (the handout's style, or
/// another student's in python/variants/: a spec checks the protocol and
/// the essential output, so every style must pass), the address it
/// hard-codes.
#[rstest]
#[case("tcp-upper-server", "python/upper_server.py", "127.1.1.1", 8900)]
#[case("tcp-upper-client", "python/upper_client.py", "127.1.1.1", 8900)]
#[case("tcp-chat-server", "python/chat_server.py", "127.1.1.1", 8900)]
#[case("tcp-chat-client", "python/chat_client.py", "127.1.1.1", 8900)]
#[case("udp-upper-server", "python/udp_server.py", "127.0.0.1", 8090)]
#[case(
    "udp-upper-server-loop",
    "python/udp_server_loop.py",
    "127.0.0.1",
    8090
)]
#[case("udp-upper-client", "python/udp_client.py", "127.0.0.1", 8090)]
#[case(
    "udp-upper-client-loop",
    "python/udp_client_loop.py",
    "127.0.0.1",
    8090
)]
#[case(
    "tcp-upper-server",
    "python/variants/upper_server_caps_names.py",
    "127.50.1.1",
    8901
)]
#[case(
    "tcp-upper-server",
    "python/variants/upper_server_socketserver.py",
    "127.50.1.3",
    8903
)]
#[case(
    "tcp-chat-server",
    "python/variants/chat_server_oserror.py",
    "127.50.3.6",
    8926
)]
#[case(
    "tcp-chat-client",
    "python/variants/chat_client_english_note.py",
    "127.50.9.2",
    8982
)]
#[case(
    "tcp-chat-client",
    "python/variants/chat_client_chinese_note.py",
    "127.50.9.3",
    8983
)]
#[case(
    "tcp-chat-client",
    "python/variants/chat_client_prints_bytes.py",
    "127.50.4.6",
    8936
)]
#[case(
    "udp-upper-server",
    "python/variants/udp_server_print_addr.py",
    "127.50.5.4",
    8944
)]
#[case(
    "udp-upper-client",
    "python/variants/udp_client_connected.py",
    "127.50.7.2",
    8962
)]
#[case(
    "udp-upper-client-loop",
    "python/variants/udp_client_loop_connected.py",
    "127.50.8.2",
    8972
)]
#[case(
    "udp-upper-client-loop",
    "python/variants/udp_client_loop_prints_bytes.py",
    "127.50.8.5",
    8975
)]
fn a_correct_student_program_passes(
    #[case] spec_name: &str,
    #[case] program: &str,
    #[case] hard_coded_ip: &str,
    #[case] port: u16,
) {
    let (code, report) = run_student_program(spec_name, program, hard_coded_ip, port);
    assert_eq!(
        failing(&report),
        Vec::<String>::new(),
        "{program}: {report:#}"
    );
    assert_eq!(code, 0);
}

/// Spec, program (a mutant, or a reference of a sibling program that
/// breaks one promise of this spec), the cases it must fail, and the
/// symptom the message of the first of them names (`a|b`: either, where
/// the timing of a dying program decides which the runner sees first).
#[rstest]
// tcp-upper-client
#[case("tcp-upper-client", "upper-client-no-print", &["prints-reply"], "print text containing \"HELLO FROM THE SERVER\"")]
#[case("tcp-upper-client", "upper-client-never-closes", &["closes-and-exits"], "kept the connection open")]
#[case(
    "tcp-upper-client",
    "upper-client-recv-first",
    &["sends-greeting", "prints-reply", "closes-and-exits"],
    "nothing arrived"
)]
// tcp-chat-server
#[case(
    "tcp-chat-server",
    "chat-server-spin-on-empty",
    &["closes-on-disconnect", "next-client-after-disconnect", "no-spin-after-disconnect", "clients-one-after-another"],
    "kept the connection open"
)]
#[case(
    "tcp-chat-server",
    "chat-server-no-empty-check",
    &["closes-on-disconnect", "next-client-after-disconnect", "clients-one-after-another", "survives-reset"],
    "kept the connection open"
)]
#[case("tcp-chat-server", "chat-server-no-reset-handling", &["survives-reset"], "ConnectionResetError")]
#[case(
    "tcp-chat-server",
    "chat-server-one-client",
    &["next-client-after-disconnect", "clients-one-after-another"],
    "exited with code 0"
)]
#[case("tcp-chat-server", "chat-server-no-print", &["prints-received"], "\"hello server\"")]
#[case("tcp-chat-server", "chat-server-never-closes", &["closes-on-disconnect"], "kept the connection open")]
#[case(
    "tcp-chat-server",
    "chat-server-echo",
    // Only the cases about the reply's text: the others take any reply.
    &["replies-from-stdin", "several-exchanges", "utf8-text"],
    "but the server sent \"hi\""
)]
#[case(
    "tcp-chat-server",
    "chat-server-one-exchange",
    &["several-exchanges"],
    "closed the connection|reset the connection|closed or reset the connection"
)]
#[case("tcp-chat-server", "chat-server-latin1", &["utf8-text"], "sent \"??????\"")]
// tcp-chat-client
#[case("tcp-chat-client", "chat-client-no-quit", &["quits-on-star"], "kept the connection open")]
#[case("tcp-chat-client", "chat-client-hangs-on-reset", &["reports-reset"], "/(?i)reset")]
#[case("tcp-chat-client", "chat-client-no-print", &["prints-reply", "several-exchanges"], "\"HI THERE\"")]
#[case(
    "tcp-chat-client",
    "chat-client-sends-fixed-text",
    &["sends-typed-line", "several-exchanges", "quits-on-star", "reports-reset"],
    "but the client sent \"hello\""
)]
// udp-upper-server
#[case(
    "udp-upper-server",
    "udp-server-fixed-reply-address",
    &["greeting", "utf8-text", "full-datagram", "exits-after-reply"],
    "must reply to the address the request came from"
)]
#[case(
    "udp-upper-server",
    "udp-server-no-upper",
    &["greeting", "utf8-text", "full-datagram"],
    "sent the datagram \"hello\""
)]
#[case("udp-upper-server", "udp-upper-server-loop", &["exits-after-reply"], "still running")]
// udp-upper-server-loop
#[case(
    "udp-upper-server-loop",
    "udp-server-loop-one-shot",
    &["many-datagrams", "several-clients", "keeps-running"],
    "\"THREE\""
)]
#[case(
    "udp-upper-server-loop",
    "udp-server-no-upper",
    // A one-shot server besides: the loop's cases fail too.
    &["many-datagrams", "several-clients", "utf8-text", "keeps-running"],
    "sent the datagram \"one\""
)]
// udp-upper-client
#[case(
    "udp-upper-client",
    "udp-client-sends-repr",
    &["sends-typed-line", "utf8-text"],
    "sent the datagram \"b'hello'\""
)]
#[case("udp-upper-client", "udp-client-no-print", &["prints-reply"], "text containing \"HELLO\"")]
#[case("udp-upper-client", "udp-upper-client-loop", &["exits-after-reply"], "still running")]
// udp-upper-client-loop
#[case(
    "udp-upper-client-loop",
    "udp-client-loop-one-shot",
    &["several-lines", "keeps-going"],
    "exited with code 0"
)]
#[case(
    "udp-upper-client-loop",
    "udp-client-sends-repr",
    &["sends-typed-line", "several-lines", "keeps-going"],
    "\"b'hello'\""
)]
fn each_mutant_fails_exactly_its_cases(
    #[case] spec_name: &str,
    #[case] program: &str,
    #[case] expected_failures: &[&str],
    #[case] symptom: &str,
) {
    let (code, report) = run_json(&[&spec(spec_name), "--target", &fixture_target(program)]);
    let mut expected: Vec<String> = expected_failures.iter().map(ToString::to_string).collect();
    expected.sort();
    assert_eq!(
        failing(&report),
        expected,
        "{spec_name} x {program}: {report:#}"
    );
    assert_eq!(code, 1);
    let first = expected_failures[0];
    let (verdict, message) = &verdicts(&report)[first];
    assert_eq!(verdict, "fail");
    assert!(
        symptom.split('|').any(|s| message.contains(s)),
        "{program}/{first}: {message:?} lacks {symptom:?}"
    );
}

/// The runner leaves no TIME_WAIT on an address it played the server on:
/// grading a client and then a server program that hard-code the same
/// address (and bind it without SO_REUSEADDR, as students do) works at once.
#[test]
fn a_client_and_then_a_server_on_one_hard_coded_address_are_both_graded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ip = private_loopback_ip();
    let addr = format!("{ip}:8900");
    for (spec_name, program) in [
        ("tcp-upper-client", "python/upper_client.py"),
        ("tcp-chat-client", "python/chat_client.py"),
        ("tcp-upper-server", "python/upper_server.py"),
        ("tcp-chat-server", "python/chat_server.py"),
    ] {
        let path = student_program(program, dir.path(), "127.1.1.1", &ip);
        let (code, report) = run_json(&[
            &spec(spec_name),
            "--target",
            &path.display().to_string(),
            "--addr",
            &addr,
        ]);
        assert_eq!(
            failing(&report),
            Vec::<String>::new(),
            "{spec_name}: {report:#}"
        );
        assert_eq!(code, 0);
    }
}
