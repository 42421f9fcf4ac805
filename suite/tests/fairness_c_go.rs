//! Fairness across languages: the nine programs of the assignment family,
//! written as students write them in C and in Go and handed to the runner
//! as source files, get every point of every default case, run after run
//! and on a machine whose CPUs are all busy; a realistic buggy version of
//! each, in each language, fails exactly the cases its bug breaks and
//! passes the others. Two chat clients correct for a user at a terminal
//! are held to the same standard (see the runner issue they show, below).
//!
//! The programs are in `fixtures/c/fairness/` and `fixtures/go/fairness/`
//! (their READMEs list every program, its spec and, for a buggy one, its
//! bug). They hard-code the handout's addresses (TCP `127.1.1.1:8900`, UDP
//! `127.0.0.1:8090`) and are given to the runner with `--addr`: every run
//! has its own network namespace, so runs in parallel share the address
//! without meeting.

mod common;

use common::*;
use rstest::rstest;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy)]
enum Language {
    C,
    Go,
}

/// The source file of program `name`: `fixtures/c/fairness/NAME.c`, or
/// `fixtures/go/fairness/NAME/main.go`.
fn source(language: Language, name: &str) -> PathBuf {
    let path = match language {
        Language::C => root().join("fixtures/c/fairness").join(format!("{name}.c")),
        Language::Go => root()
            .join("fixtures/go/fairness")
            .join(name)
            .join("main.go"),
    };
    assert!(path.is_file(), "{} exists", path.display());
    path
}

/// One run of the spec's default cases against the program; the exit
/// code, case id -> (verdict, message), and the report for messages.
fn run(
    spec_name: &str,
    language: Language,
    program: &str,
) -> (i32, BTreeMap<String, (String, String)>, Value) {
    let target = source(language, program).display().to_string();
    let (code, report) = run_json(&[
        &spec(spec_name),
        "--target",
        &target,
        "--addr",
        hard_coded_addr(spec_name),
    ]);
    // Runs in parallel share the hard-coded address only because each has
    // a network namespace of its own.
    assert_eq!(report["isolation"], "namespaces", "{report:#}");
    let verdicts = verdicts(&report);
    let ran: Vec<String> = verdicts.keys().cloned().collect();
    assert_eq!(
        ran,
        default_cases(spec_name),
        "every default case ran: {report:#}"
    );
    (code, verdicts, report)
}

/// Runs the program's spec three times, then once more while every CPU is
/// kept busy: every default case passes each time.
fn passes_every_time(spec_name: &str, language: Language, program: &str) {
    for attempt in ["first run", "second run", "third run", "under load"] {
        let _load = (attempt == "under load").then(Load::start);
        let (code, verdicts, report) = run(spec_name, language, program);
        assert_eq!(
            failing(&report),
            Vec::<String>::new(),
            "{language:?} {program}, {attempt}: {verdicts:#?}"
        );
        assert_eq!(code, 0, "{language:?} {program}, {attempt}: {report:#}");
    }
}

/// A correct program passes every default case three times in a row, and
/// once more while every CPU is kept busy: the same verdicts each time.
#[rstest]
#[case::tcp_upper_server("tcp-upper-server", "tcp_upper_server")]
#[case::tcp_upper_server_loop("tcp-upper-server-loop", "tcp_upper_server_loop")]
#[case::tcp_upper_client("tcp-upper-client", "tcp_upper_client")]
#[case::tcp_chat_server("tcp-chat-server", "tcp_chat_server")]
#[case::tcp_chat_client("tcp-chat-client", "tcp_chat_client")]
#[case::udp_upper_server("udp-upper-server", "udp_upper_server")]
#[case::udp_upper_server_loop("udp-upper-server-loop", "udp_upper_server_loop")]
#[case::udp_upper_client("udp-upper-client", "udp_upper_client")]
#[case::udp_upper_client_loop("udp-upper-client-loop", "udp_upper_client_loop")]
fn a_correct_program_passes_every_default_case_every_time(
    #[case] spec_name: &str,
    #[case] program: &str,
    #[values(Language::C, Language::Go)] language: Language,
) {
    passes_every_time(spec_name, language, program);
}

/// Chat clients that are correct for a user at a terminal, where each read
/// of standard input returns one typed line: the C one reads what is typed
/// with read(2) on fd 0, the Go one makes a new bufio.Reader on stdin for
/// every exchange (any bytes a reader holds beyond its line are dropped
/// with it).
///
/// Case `several-exchanges` of tcp-chat-client types "n" (at the quit
/// question) and "第二条" (the next message) as two `stdin` steps in a
/// row. The runner types as a person does: into a terminal in line mode,
/// where a read returns at most one line, and the next line only once the
/// program has read the last one, so neither program gets "n\n第二条\n"
/// in one read and drops the message.
#[rstest]
#[case::c_read_on_stdin(Language::C, "tcp_chat_client_read")]
#[case::go_reader_per_exchange(Language::Go, "tcp_chat_client_reader_per_line")]
fn a_chat_client_correct_at_a_terminal_passes_every_default_case_every_time(
    #[case] language: Language,
    #[case] program: &str,
) {
    passes_every_time("tcp-chat-client", language, program);
}

/// A buggy program fails exactly the cases listed, each with a message
/// naming what went wrong (`word`), and passes every other default case.
#[rstest]
#[case::c_tcp_upper_server_short_buffer(
    Language::C,
    "tcp-upper-server",
    "tcp_upper_server_short_buffer",
    &[("full-buffer", "1023 bytes")]
)]
#[case::c_tcp_upper_server_loop_exit_on_reset(
    Language::C,
    "tcp-upper-server-loop",
    "tcp_upper_server_loop_exit_on_reset",
    &[("survives-reset", "exited with code 1")]
)]
#[case::c_tcp_upper_client_sends_nul(
    Language::C,
    "tcp-upper-client",
    "tcp_upper_client_sends_nul",
    &[("sends-greeting", "\"hello\" + 00")]
)]
#[case::c_tcp_chat_server_no_conn_loop(
    Language::C,
    "tcp-chat-server",
    "tcp_chat_server_no_conn_loop",
    &[
        ("next-client-after-disconnect", "exited with code 0"),
        ("clients-one-after-another", "exited with code 0"),
        ("survives-reset", "exited with code 0"),
    ]
)]
#[case::c_tcp_chat_client_star_newline(
    Language::C,
    "tcp-chat-client",
    "tcp_chat_client_star_newline",
    &[("quits-on-star", "kept the connection open")]
)]
#[case::c_udp_upper_server_keeps_looping(
    Language::C,
    "udp-upper-server",
    "udp_upper_server_keeps_looping",
    &[("exits-after-reply", "still running")]
)]
#[case::c_udp_upper_server_loop_stale_buffer(
    Language::C,
    "udp-upper-server-loop",
    "udp_upper_server_loop_stale_buffer",
    &[("many-datagrams", "\"TWOEE\"")]
)]
#[case::c_udp_upper_client_sizeof(
    Language::C,
    "udp-upper-client",
    "udp_upper_client_sizeof",
    &[
        ("sends-typed-line", "sent a datagram of 1024 bytes: \"hello\\n\" + "),
        ("utf8-text", "sent a datagram of 1024 bytes: \"你好 udp\\n\" + "),
    ]
)]
#[case::c_udp_upper_client_loop_one_shot(
    Language::C,
    "udp-upper-client-loop",
    "udp_upper_client_loop_one_shot",
    &[
        ("several-lines", "exited with code 0"),
        ("keeps-going", "exited with code 0"),
    ]
)]
#[case::go_tcp_upper_server_println(
    Language::Go,
    "tcp-upper-server",
    "tcp_upper_server_println",
    &[
        ("greeting", "but the server sent \"\\n\""),
        ("mixed-text", "\\n"),
        ("utf8-text", "\\n"),
        ("full-buffer", "\\n"),
    ]
)]
#[case::go_tcp_upper_server_loop_bytes_toupper(
    Language::Go,
    "tcp-upper-server-loop",
    "tcp_upper_server_loop_bytes_toupper",
    &[("any-bytes", "\u{fffd}")]
)]
#[case::go_tcp_upper_client_read_all(
    Language::Go,
    "tcp-upper-client",
    "tcp_upper_client_read_all",
    &[
        ("prints-reply", "printed nothing more"),
        ("closes-and-exits", "kept the connection open"),
    ]
)]
#[case::go_tcp_chat_server_defer_close(
    Language::Go,
    "tcp-chat-server",
    "tcp_chat_server_defer_close",
    &[("closes-on-disconnect", "kept the connection open")]
)]
#[case::go_tcp_chat_client_ignores_error(
    Language::Go,
    "tcp-chat-client",
    "tcp_chat_client_ignores_error",
    &[("reports-reset", "printed \"message: reply: \\nquit? (* to quit): \"")]
)]
#[case::go_udp_upper_server_whole_buffer(
    Language::Go,
    "udp-upper-server",
    "udp_upper_server_whole_buffer",
    &[
        ("greeting", "a datagram of 1024 bytes: \"HELLO\" + 1019 NUL bytes"),
        ("utf8-text", "\"你好, UDP 世界\" + "),
    ]
)]
#[case::go_udp_upper_server_loop_one_shot(
    Language::Go,
    "udp-upper-server-loop",
    "udp_upper_server_loop_one_shot",
    &[
        ("many-datagrams", "exited with code 0"),
        ("several-clients", "exited with code 0"),
        ("keeps-running", "exited with code 0"),
    ]
)]
#[case::go_udp_upper_client_scanln(
    Language::Go,
    "udp-upper-client",
    "udp_upper_client_scanln",
    &[("utf8-text", "sent the datagram \"你好\"")]
)]
#[case::go_udp_upper_client_loop_read_string(
    Language::Go,
    "udp-upper-client-loop",
    "udp_upper_client_loop_read_string",
    &[
        ("several-lines", "containing \"ONE\""),
        ("keeps-going", "containing \"PING\""),
    ]
)]
fn a_buggy_program_fails_exactly_the_cases_its_bug_breaks(
    #[case] language: Language,
    #[case] spec_name: &str,
    #[case] program: &str,
    #[case] failures: &[(&str, &str)],
) {
    let (code, verdicts, report) = run(spec_name, language, program);
    let expected: Vec<String> = failures.iter().map(|(case, _)| case.to_string()).collect();
    let mut failed = failing(&report);
    let mut expected_sorted = expected.clone();
    failed.sort();
    expected_sorted.sort();
    assert_eq!(
        failed, expected_sorted,
        "{language:?} {program}: {verdicts:#?}"
    );
    for (case, word) in failures {
        let (verdict, message) = &verdicts[*case];
        assert_eq!(verdict, "fail", "{language:?} {program}, {case}: {message}");
        assert!(
            message.contains(word),
            "{language:?} {program}, {case}: the message names {word:?}: {message}"
        );
    }
    assert_eq!(
        code,
        expected_code(&report),
        "{language:?} {program}: {report:#}"
    );
}
