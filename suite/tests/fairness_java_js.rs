//! Fairness across languages: the handout's programs written in Java and in
//! JavaScript (Node) the way students write them (fixtures/java/fairness/,
//! fixtures/js/fairness/), handed to the runner as the source file itself
//! with the address they hard-code. Every correct program passes every
//! default case of its spec, three times and once more while every CPU is
//! kept busy; every buggy program, one realistic mistake of its language,
//! fails exactly the cases that check what it gets wrong, with a message
//! that names the symptom, and passes the others.
//!
//! Each run is a test of its own, so that runs go side by side; the runs
//! under load wait until no quiet run is going on, and share one load.

mod common;

use common::*;
use rstest::rstest;
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

/// What one run of a spec's default cases gave.
struct Outcome {
    code: i32,
    /// The exit code the report's verdicts call for.
    expected_code: i32,
    /// case id -> its verdict, message and the runner's notes (CPU measured,
    /// connections seen...), the evidence shown when a test fails.
    cases: BTreeMap<String, (String, String, Vec<String>)>,
}

impl Outcome {
    fn verdict(&self, case: &str) -> &str {
        &self.cases[case].0
    }

    fn message(&self, case: &str) -> &str {
        &self.cases[case].1
    }

    /// The cases that did not pass, in id order.
    fn not_passed(&self) -> Vec<&str> {
        self.cases
            .iter()
            .filter(|(_, (verdict, _, _))| verdict != "pass")
            .map(|(case, _)| case.as_str())
            .collect()
    }

    /// Every case with its verdict and message, and the notes of those
    /// that did not pass.
    fn describe(&self) -> String {
        self.cases
            .iter()
            .map(|(case, (verdict, message, notes))| {
                if verdict == "pass" {
                    format!("{case}: pass")
                } else {
                    format!(
                        "{case}: {verdict}: {message}\n    notes: {}",
                        notes.join(" | ")
                    )
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One run of `spec_name`'s default cases against `fixtures/RELATIVE`.
fn run(spec_name: &str, relative: &str) -> Outcome {
    let program = root().join("fixtures").join(relative);
    assert!(program.is_file(), "{} exists", program.display());
    let (code, report) = run_json(&[
        &spec(spec_name),
        "--target",
        &program.display().to_string(),
        "--addr",
        hard_coded_addr(spec_name),
    ]);
    let cases = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| {
            let text = |key: &str| result[key].as_str().unwrap_or_default().to_string();
            let notes = result["transcript"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|event| event["direction"] == "note")
                .filter_map(|event| event["data"]["text"].as_str())
                .map(String::from)
                .collect();
            (text("case"), (text("verdict"), text("message"), notes))
        })
        .collect();
    let outcome = Outcome {
        code,
        expected_code: expected_code(&report),
        cases,
    };
    assert_eq!(
        outcome.cases.keys().collect::<Vec<_>>(),
        default_cases(spec_name).iter().collect::<Vec<_>>(),
        "{relative}: not every default case of {spec_name} ran"
    );
    outcome
}

/// Checks that one run of a correct program passed every default case.
fn assert_all_passed(spec_name: &str, relative: &str, what: &str, outcome: &Outcome) {
    assert!(
        outcome.not_passed().is_empty(),
        "{relative} ({what}) is correct but did not pass every case of {spec_name}:\n{}",
        outcome.describe()
    );
    assert_eq!(outcome.code, 0, "{relative} ({what})");
}

// Runs while every CPU is busy, kept apart from the quiet runs.

/// Whether a run is quiet or loaded. Runs of one kind go side by side; a
/// run of the other kind waits until none is going on, so that the quiet
/// runs never share the machine with the load, and the loaded runs share
/// one load.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Quiet,
    Loaded,
}

struct GateState {
    phase: Option<Phase>,
    inside: usize,
    load: Option<Load>,
}

static GATE: Mutex<GateState> = Mutex::new(GateState {
    phase: None,
    inside: 0,
    load: None,
});
static GATE_TURN: Condvar = Condvar::new();

/// A run inside the gate in one phase; the last one out ends the phase
/// (and the load).
struct Inside;

fn enter(phase: Phase) -> Inside {
    let mut state = GATE.lock().unwrap_or_else(|e| e.into_inner());
    while state.phase.is_some_and(|current| current != phase) {
        state = GATE_TURN.wait(state).unwrap_or_else(|e| e.into_inner());
    }
    state.phase = Some(phase);
    state.inside += 1;
    if phase == Phase::Loaded && state.load.is_none() {
        state.load = Some(Load::start());
    }
    Inside
}

impl Drop for Inside {
    fn drop(&mut self) {
        let mut state = GATE.lock().unwrap_or_else(|e| e.into_inner());
        state.inside -= 1;
        if state.inside == 0 {
            state.phase = None;
            state.load = None;
            GATE_TURN.notify_all();
        }
    }
}

/// The correct programs, for a test of each: spec and program.
///
/// `udp_upper_client.js` closes its readline after the one question, and
/// Node then exits at a terminal but goes on reading a pipe that stays
/// open: it passes because the runner types into a terminal, as students
/// do.
macro_rules! correct_programs {
    (
        $(#[$attribute:meta])*
        fn $name:ident($spec:ident, $program:ident $(, #[$how:meta] $extra:ident: $type:ty)*)
        $body:block
    ) => {
        #[rstest]
        #[case::java_tcp_chat_server("tcp-chat-server", "java/fairness/tcp_chat_server/ChatServer.java")]
        #[case::js_tcp_chat_server("tcp-chat-server", "js/fairness/tcp_chat_server.js")]
        #[case::java_tcp_upper_server_loop("tcp-upper-server-loop", "java/fairness/tcp_upper_server_loop/UpperServerLoop.java")]
        #[case::js_tcp_upper_server_loop("tcp-upper-server-loop", "js/fairness/tcp_upper_server_loop.js")]
        #[case::java_tcp_upper_server("tcp-upper-server", "java/fairness/tcp_upper_server/UpperServer.java")]
        #[case::js_tcp_upper_server("tcp-upper-server", "js/fairness/tcp_upper_server.js")]
        #[case::java_udp_upper_server("udp-upper-server", "java/fairness/udp_upper_server/UdpServer.java")]
        #[case::js_udp_upper_server("udp-upper-server", "js/fairness/udp_upper_server.js")]
        #[case::java_udp_upper_server_loop("udp-upper-server-loop", "java/fairness/udp_upper_server_loop/UdpServerLoop.java")]
        #[case::js_udp_upper_server_loop("udp-upper-server-loop", "js/fairness/udp_upper_server_loop.js")]
        #[case::java_tcp_chat_client("tcp-chat-client", "java/fairness/tcp_chat_client/ChatClient.java")]
        #[case::js_tcp_chat_client("tcp-chat-client", "js/fairness/tcp_chat_client.js")]
        #[case::java_udp_upper_client("udp-upper-client", "java/fairness/udp_upper_client/UdpClient.java")]
        #[case::js_udp_upper_client("udp-upper-client", "js/fairness/udp_upper_client.js")]
        #[case::java_tcp_upper_client("tcp-upper-client", "java/fairness/tcp_upper_client/UpperClient.java")]
        #[case::js_tcp_upper_client("tcp-upper-client", "js/fairness/tcp_upper_client.js")]
        #[case::java_udp_upper_client_loop("udp-upper-client-loop", "java/fairness/udp_upper_client_loop/UdpClientLoop.java")]
        #[case::js_udp_upper_client_loop("udp-upper-client-loop", "js/fairness/udp_upper_client_loop.js")]
        $(#[$attribute])*
        fn $name(#[case] $spec: &str, #[case] $program: &str $(, #[$how] $extra: $type)*) $body
    };
}

correct_programs! {
    /// A quiet run, three times: every default case passes each time.
    fn a_correct_program_passes_every_default_case(
        spec_name,
        program,
        #[values(1, 2, 3)] run_number: u32
    ) {
        let outcome = {
            let _quiet = enter(Phase::Quiet);
            run(spec_name, program)
        };
        assert_all_passed(spec_name, program, &format!("run {run_number}"), &outcome);
    }
}

correct_programs! {
    /// One more run while every CPU is busy (a class graded in parallel, a
    /// shared CI machine): the same verdicts.
    fn a_correct_program_passes_every_default_case_on_a_busy_machine(spec_name, program) {
        let outcome = {
            let _loaded = enter(Phase::Loaded);
            run(spec_name, program)
        };
        assert_all_passed(spec_name, program, "under load", &outcome);
    }
}

/// Each buggy program, the cases it must fail (sorted; every other default
/// case passes), a case whose message must name the symptom, and a word of
/// that message.
#[rstest]
#[case::java_tcp_chat_server_no_reset_handling(
    "tcp-chat-server",
    "java/fairness/tcp_chat_server_no_reset_handling/ChatServer.java",
    &["survives-reset"],
    "survives-reset",
    "the server exited with code 1"
)]
#[case::js_tcp_chat_server_no_reset_handling(
    "tcp-chat-server",
    "js/fairness/tcp_chat_server_no_reset_handling.js",
    &["survives-reset"],
    "survives-reset",
    "ECONNRESET"
)]
#[case::java_tcp_upper_server_loop_string_upper(
    "tcp-upper-server-loop",
    "java/fairness/tcp_upper_server_loop_string_upper/UpperServerLoop.java",
    &["any-bytes"],
    "any-bytes",
    "\u{fffd}"
)]
#[case::js_tcp_upper_server_loop_string_upper(
    "tcp-upper-server-loop",
    "js/fairness/tcp_upper_server_loop_string_upper.js",
    &["any-bytes"],
    "any-bytes",
    "\u{fffd}"
)]
#[case::java_tcp_upper_server_whole_buffer(
    "tcp-upper-server",
    "java/fairness/tcp_upper_server_whole_buffer/UpperServer.java",
    &["greeting", "mixed-text", "utf8-text"],
    "greeting",
    "NUL"
)]
#[case::js_tcp_upper_server_never_closes(
    "tcp-upper-server",
    "js/fairness/tcp_upper_server_never_closes.js",
    &["closes-after-reply"],
    "closes-after-reply",
    "kept the connection open"
)]
#[case::java_udp_upper_server_latin1_upper(
    "udp-upper-server",
    "java/fairness/udp_upper_server_latin1_upper/UdpServer.java",
    &["utf8-text"],
    "utf8-text",
    "but the server sent a datagram of 18 bytes: \"\u{13d}"
)]
#[case::js_udp_upper_server_never_closes(
    "udp-upper-server",
    "js/fairness/udp_upper_server_never_closes.js",
    &["exits-after-reply"],
    "exits-after-reply",
    "still running"
)]
#[case::java_udp_upper_server_loop_ignores_length(
    "udp-upper-server-loop",
    "java/fairness/udp_upper_server_loop_ignores_length/UdpServerLoop.java",
    &["many-datagrams"],
    "many-datagrams",
    "TWOEE"
)]
#[case::js_udp_upper_server_loop_once(
    "udp-upper-server-loop",
    "js/fairness/udp_upper_server_loop_once.js",
    &["many-datagrams", "several-clients"],
    "many-datagrams",
    "expected a datagram \"THREE\""
)]
#[case::java_tcp_chat_client_string_identity(
    "tcp-chat-client",
    "java/fairness/tcp_chat_client_string_identity/ChatClient.java",
    &["quits-on-star"],
    "quits-on-star",
    "kept the connection open"
)]
#[case::js_tcp_chat_client_no_quit_question(
    "tcp-chat-client",
    "js/fairness/tcp_chat_client_no_quit_question.js",
    &["several-exchanges"],
    "several-exchanges",
    "but the client sent \"n\""
)]
#[case::java_udp_upper_client_scanner_next(
    "udp-upper-client",
    "java/fairness/udp_upper_client_scanner_next/UdpClient.java",
    &["utf8-text"],
    "utf8-text",
    "but the client sent the datagram \"你好\""
)]
#[case::js_udp_upper_client_char_count(
    "udp-upper-client",
    "js/fairness/udp_upper_client_char_count.js",
    &["utf8-text"],
    "utf8-text",
    "but the client sent the datagram \"你好\""
)]
#[case::java_tcp_upper_client_prints_array(
    "tcp-upper-client",
    "java/fairness/tcp_upper_client_prints_array/UpperClient.java",
    &["prints-reply"],
    "prints-reply",
    "[B@"
)]
#[case::js_tcp_upper_client_never_closes(
    "tcp-upper-client",
    "js/fairness/tcp_upper_client_never_closes.js",
    &["closes-and-exits"],
    "closes-and-exits",
    "kept the connection open"
)]
#[case::java_udp_upper_client_loop_char_count(
    "udp-upper-client-loop",
    "java/fairness/udp_upper_client_loop_char_count/UdpClientLoop.java",
    &["several-lines"],
    "several-lines",
    "but the client sent the datagram \"第\""
)]
#[case::js_udp_upper_client_loop_closes_after_reply(
    "udp-upper-client-loop",
    "js/fairness/udp_upper_client_loop_closes_after_reply.js",
    &["several-lines"],
    "several-lines",
    "ERR_SOCKET_DGRAM_NOT_RUNNING"
)]
fn a_buggy_program_fails_exactly_its_cases(
    #[case] spec_name: &str,
    #[case] program: &str,
    #[case] expected_failures: &[&str],
    #[case] symptom_case: &str,
    #[case] symptom: &str,
) {
    let outcome = {
        let _quiet = enter(Phase::Quiet);
        run(spec_name, program)
    };
    assert_eq!(
        outcome.not_passed(),
        expected_failures,
        "{program}:\n{}",
        outcome.describe()
    );
    for case in expected_failures {
        assert_eq!(
            outcome.verdict(case),
            "fail",
            "{program}/{case}: the program's fault, not the runner's: {}",
            outcome.message(case)
        );
    }
    let message = outcome.message(symptom_case);
    assert!(
        message.contains(symptom),
        "{program}/{symptom_case}: message {message:?} lacks {symptom:?}"
    );
    assert_eq!(outcome.code, outcome.expected_code, "{program}");
}
