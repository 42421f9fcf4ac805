//! Messages a student acts on: what each report says about a realistic
//! bug, in every format. The broken programs are in
//! `fixtures/python/broken/` (see its README).

mod common;

use common::reports::{every_report, EveryReport};
use common::*;

/// Runs the broken program `fixtures/python/broken/FILE` (hard-coding
/// `hard_coded`, moved to a private address) against `spec_name`'s
/// `case`, writing every report.
fn broken(spec_name: &str, file: &str, case: &str) -> EveryReport {
    let dir = world_readable_tempdir();
    let hard_coded = hard_coded_addr(spec_name);
    let (ip, port) = hard_coded.split_once(':').expect("ip:port");
    let private = private_loopback_ip();
    let program = student_program(&format!("python/broken/{file}"), dir.path(), ip, &private);
    let addr = format!("{private}:{port}");
    every_report(&[
        &spec(spec_name),
        "--case",
        case,
        "--target",
        &program.display().to_string(),
        "--addr",
        &addr,
    ])
}

/// A UDP server that sends its whole 1024-byte buffer: every format gives
/// both lengths and the padding in words, then a hex dump with offsets
/// whose first difference (offset 5, after `HELLO`) is marked, and no
/// format spells the padding out as escapes.
#[test]
fn a_padded_datagram_is_a_hex_dump_with_both_lengths_in_every_format() {
    let reports = broken("udp-upper-server", "udp_server_padded.py", "greeting");
    assert_eq!(reports.code, 1, "{}", reports.human);
    let failure = &reports.json["results"][0]["failure"];
    assert_eq!(failure["first_difference"], 5, "{failure:#}");
    for (format, text) in reports.texts() {
        for wanted in [
            "expected 5 bytes, received 1024: the datagram is padded with 1019 NUL bytes",
            "00000000  48 45 4c 4c 4f 00 00 00  00 00 00 00 00 00 00 00  |HELLO...........|",
            "^^ first difference (offset 5)",
            "00000400",
        ] {
            assert!(text.contains(wanted), "{format} lacks {wanted:?}:\n{text}");
        }
        // Three NULs escaped in a row are the start of the old wall of
        // escapes (JSON's own `text` of the bytes aside, read by programs).
        for escaped in [
            "\\u{0}\\u{0}\\u{0}",
            "\\u0000\\u0000\\u0000",
            "\\x00\\x00\\x00",
        ] {
            // JSON's and TAP's `text` and TAP's `received` keep the bytes
            // for programs; people read the difference and the dump beside.
            let shown = match format {
                "json" => text.replace(&"\u{0}".repeat(1019), ""),
                "tap" => text
                    .lines()
                    .filter(|line| {
                        let key = line.trim_start().trim_start_matches("- ");
                        !key.starts_with("received: ") && !key.starts_with("text: ")
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => text.clone(),
            };
            assert!(!shown.contains(escaped), "{format} has {escaped}:\n{text}");
        }
    }
    // The message says what arrived by its runs, once.
    let message = reports.json["results"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.ends_with("a datagram of 1024 bytes: \"HELLO\" + 1019 NUL bytes"),
        "{message}"
    );
    // The HTML keeps the dump preformatted, so the carets stand under the
    // byte they mark.
    assert!(
        reports
            .html
            .contains("<pre class=\"hexdump\">00000000  48 45"),
        "{}",
        reports.html
    );
}

/// The lines of the first `<pre class="CLASS">` of `html`, entities
/// decoded back to the text they stand for.
fn preformatted(html: &str, class: &str) -> Vec<String> {
    let open = format!("<pre class=\"{class}\">");
    let start = html
        .find(&open)
        .unwrap_or_else(|| panic!("no {open} in {html}"))
        + open.len();
    let end = start + html[start..].find("</pre>").expect("closed");
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .lines()
        .map(String::from)
        .collect()
}

/// A program that does not start: the HTML report keeps Python's
/// traceback preformatted (monospace, spaces kept, styled so), so the
/// `^` stands under the parenthesis that was never closed.
#[test]
fn a_traceback_stays_preformatted_in_the_html_report() {
    let reports = broken(
        "tcp-upper-server",
        "upper_server_syntax_error.py",
        "greeting",
    );
    assert_eq!(reports.code, 1, "{}", reports.human);
    let lines = preformatted(&reports.html, "quoted");
    let code = lines
        .iter()
        .position(|line| line.contains("serverSocket.listen(5"))
        .unwrap_or_else(|| panic!("no source line in {lines:#?}"));
    let caret = lines[code + 1].find('^').expect("a caret line after it");
    assert_eq!(
        lines[code].find('('),
        Some(caret),
        "the caret points at the parenthesis: {lines:#?}"
    );
    assert!(
        reports
            .html
            .contains(".message pre.quoted { font-weight: 400; white-space: pre;"),
        "the quoted text keeps its spaces"
    );
}

/// The run's `--deadline` falling inside an `idle` window: the CPU share
/// over the shorter window proves nothing, so the case is an error (the
/// run's doing), never a pass.
#[test]
fn a_deadline_cutting_into_an_idle_window_makes_the_case_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec_file = write_program(
        dir.path(),
        "idle.yaml",
        "spec: idle-cut\n\
         title: a long idle window\n\
         target: { role: server, transport: tcp }\n\
         cases:\n  \
           - id: waits-quietly\n    \
             points: 1\n    \
             about: burns no CPU while a client is connected\n    \
             steps:\n      \
               - connect: a\n      \
               - idle: { for: 30s, max-cpu: 20% }\n",
    );
    let started = std::time::Instant::now();
    let (code, report) = run_json_within(
        std::time::Duration::from_secs(20),
        &[
            &spec_file.display().to_string(),
            "--target",
            &fixture_target("upper-server-loop"),
            "--deadline",
            "2s",
        ],
    );
    let result = &report["results"][0];
    assert_eq!(result["verdict"], "error", "{result:#}");
    assert_eq!(code, 1);
    assert!(
        result["message"]
            .as_str()
            .is_some_and(|m| m.contains("the time for the whole run ran out") && !m.contains("--")),
        "{result:#}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// A server that reads the request by lines while the client sends
/// `hello` without a line end: "nothing arrived" comes with the likely
/// causes, in the program's language (Python, from `.py`).
#[test]
fn nothing_arriving_names_the_likely_causes_in_the_program_s_language() {
    let reports = broken("tcp-upper-server", "upper_server_readline.py", "greeting");
    assert_eq!(reports.code, 1, "{}", reports.human);
    let message = reports.json["results"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for wanted in [
        "but nothing arrived; likely causes:",
        "the server waits for a line end, which the runner never sent",
        "conn.makefile().readline()",
        "the server waits for more than the 5 bytes that were sent",
    ] {
        assert!(message.contains(wanted), "{wanted:?} in {message}");
    }
    // Every format carries the message.
    for (format, text) in reports.texts() {
        let text = text.replace("&#39;", "'").replace("&apos;", "'");
        assert!(
            text.contains("conn.makefile().readline()"),
            "{format}: {text}"
        );
    }
}

/// A misspelt spec name, on the command line or in an assignment file,
/// gets the bundled name it is a typo of.
#[test]
fn a_misspelt_spec_name_gets_a_did_you_mean() {
    let finished = finish(runner(), &["tcp-uper-server", "--target", "server.py"]);
    assert_eq!(finished.code, 2, "{}", finished.everything());
    assert!(
        finished.stderr.contains("did you mean `tcp-upper-server`?"),
        "{}",
        finished.stderr
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let assignment = write_program(
        dir.path(),
        "lab1.yaml",
        "assignment: lab1\nprograms:\n  - { spec: udp-upper-sever, file: server.py, addr: 127.0.0.1:8090 }\n",
    );
    let checked = finish(runner(), &["check", &assignment.display().to_string()]);
    assert_eq!(checked.code, 2, "{}", checked.everything());
    assert!(
        checked.stderr.contains("did you mean `udp-upper-server`?"),
        "{}",
        checked.stderr
    );
}

/// A class where 2 students of 3 pass a case: its pass rate is 67%
/// (rounded), not 66% (cut), on stdout and on the dashboard.
#[test]
fn pass_rates_round_to_the_nearest_percent() {
    let class = world_readable_tempdir();
    for (student, file) in [
        ("ada", "python/upper_server.py"),
        ("bob", "python/upper_server.py"),
        ("cy", "python/upper_server_wrong.py"),
    ] {
        let folder = class.path().join(student);
        std::fs::create_dir(&folder).expect("student folder");
        let copy = student_program(file, &folder, "127.1.1.1", "127.1.1.1");
        std::fs::rename(&copy, folder.join("server.py")).expect("named server.py");
    }
    let out = tempfile::tempdir().expect("out");
    let out_dir = out.path().join("grades");
    let finished = finish(
        runner(),
        &[
            "grade",
            "tcp-upper-server",
            "--case",
            "greeting",
            "--submissions",
            &class.path().display().to_string(),
            "--file",
            "server.py",
            "--addr",
            "127.1.1.1:8900",
            "--out",
            &out_dir.display().to_string(),
        ],
    );
    assert_eq!(finished.code, 0, "{}", finished.everything());
    let line = finished
        .stdout
        .lines()
        .find(|l| l.contains("tcp-upper-server/greeting"))
        .unwrap_or_else(|| panic!("no pass rate in {}", finished.stdout));
    assert!(line.trim_end().ends_with("2/3   67%"), "{line}");
    let dashboard = std::fs::read_to_string(out_dir.join("index.html")).expect("index.html");
    assert!(dashboard.contains("data-value=\"67\""), "{dashboard}");
}

/// Checks that `reports` tell the setback `short` once: the first case's
/// message holds `evidence` (the compiler's or the interpreter's lines),
/// every later case only refers to it, in every format.
fn told_once(reports: &EveryReport, evidence: &str, short: &str) {
    assert_eq!(reports.code, 1, "{}", reports.human);
    let results = reports.json["results"].as_array().expect("results");
    assert!(results.len() >= 3, "{:#}", reports.json);
    let first = results[0]["case"].as_str().expect("case");
    assert!(
        results[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(evidence)),
        "{:#}",
        results[0]
    );
    // JSON keeps a result per case, each failed, the later ones referring
    // to the first with no output of their own.
    for result in &results[1..] {
        assert_eq!(result["verdict"], "fail", "{result:#}");
        assert_eq!(
            result["message"],
            format!("{short} (see case {first})"),
            "{result:#}"
        );
        assert!(result["stderr_tail"].is_null(), "{result:#}");
    }
    // The human report says it once, above the cases, whose lines refer
    // to it.
    let human = &reports.human;
    assert_eq!(human.matches(evidence).count(), 1, "{human}");
    assert_eq!(
        human.matches(&format!("{short} (see above)")).count(),
        results.len(),
        "{human}"
    );
    assert!(
        human.find(evidence) < human.find(&format!("FAIL  {first}")),
        "{human}"
    );
    // HTML: one box, and no empty diagram for a case that never ran.
    let html = &reports.html;
    assert_eq!(
        html.matches("<section class=\"setback\"").count(),
        1,
        "{html}"
    );
    assert_eq!(html.matches(evidence).count(), 1, "{html}");
    assert!(!html.contains("<figure class=\"diagram"), "{html}");
    // JUnit, TAP and Gradescope: the evidence in the first case only.
    let junit_later = reports.junit.splitn(3, "<testcase").nth(2).expect("cases");
    assert!(!junit_later.contains(evidence), "{}", reports.junit);
    let tap_later = reports.tap.split_once("ok 2 ").expect("case 2").1;
    assert!(!tap_later.contains(evidence), "{}", reports.tap);
    for test in &reports.gradescope["tests"].as_array().expect("tests")[1..] {
        let output = test["output"].as_str().unwrap_or_default();
        assert!(!output.contains(evidence), "{test:#}");
        assert!(output.contains(short), "{test:#}");
    }
}

/// A Python server that does not start (a syntax error) fails every
/// case; its traceback is told once, not once per case.
#[test]
fn a_program_that_does_not_start_is_told_once_in_every_format() {
    let reports = broken("tcp-upper-server", "upper_server_syntax_error.py", "*");
    told_once(&reports, "SyntaxError", "the program did not start");
}

/// A C server that does not build: the compiler's messages once, above
/// the cases, which refer to them.
#[test]
fn a_program_that_does_not_build_is_told_once_in_every_format() {
    let dir = world_readable_tempdir();
    let source = std::fs::read_to_string(root().join("fixtures/c/upper_server.c"))
        .expect("fixture")
        .replace("return 0;", "return 0");
    let server = write_program(dir.path(), "server.c", &source);
    let reports = every_report(&[
        &spec("tcp-upper-server"),
        "--target",
        &server.display().to_string(),
        "--addr",
        &format!("{}:8900", private_loopback_ip()),
    ]);
    told_once(
        &reports,
        "cc exited with code 1",
        "the program does not build",
    );
}

/// A server that reads until its client leaves, and does not catch a
/// reset: the runner's teardown at each case's end makes it print a
/// traceback.
const RESET_TRACEBACK_SERVER: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(5)
while True:
    conn, _ = s.accept()
    while True:
        data = conn.recv(1024)
        if not data:
            break
        conn.sendall(data.upper())
"#;

/// What a program prints once its case has ended (its traceback when the
/// runner resets the connections) is not the case's evidence: a passing
/// case shows no traceback as the program's error output in any format.
#[test]
fn what_a_program_prints_after_a_passing_case_ended_is_not_shown() {
    let dir = world_readable_tempdir();
    let server = write_program(dir.path(), "server.py", RESET_TRACEBACK_SERVER);
    let mut yaml = String::from(
        "spec: reset-at-the-end\n\
         title: the runner resets the connection after the exchange\n\
         target: { role: server, transport: tcp }\n\
         cases:\n",
    );
    for case in 1..=6 {
        yaml.push_str(&format!(
            "  - id: exchange-{case}\n    \
               about: replies to hello\n    \
               steps:\n      \
                 - connect: a\n      \
                 - send: {{ on: a, text: hello }}\n      \
                 - recv: {{ on: a, text: HELLO }}\n"
        ));
    }
    let spec_file = write_program(dir.path(), "reset.yaml", &yaml);
    let reports = every_report(&[
        &spec_file.display().to_string(),
        "--target",
        &format!("python3 {} {{host}} {{port}}", server.display()),
    ]);
    assert_eq!(reports.code, 0, "{}", reports.human);
    for (format, text) in reports.texts() {
        for traceback in ["Traceback", "ConnectionResetError"] {
            assert!(
                !text.contains(traceback),
                "{format} shows {traceback}:\n{text}"
            );
        }
    }
}
