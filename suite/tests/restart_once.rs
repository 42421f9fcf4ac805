//! `restart: once`: one target process serves every case of the spec.

mod common;

use common::*;

const SPEC: &str = r#"
spec: chat-once
title: chat server kept running across cases
target: { role: server, transport: tcp, reference: chat-server, restart: once }
cases:
  - id: first
    about: a first client is served
    steps:
      - connect: a
      - send: { on: a, text: "one" }
      - stdin: "r1"
      - recv: { on: a, text: "r1" }
  - id: second
    about: the same server serves a second client after the first left
    steps:
      - connect: b
      - send: { on: b, text: "two" }
      - stdout: { contains: "two" }
      - stdin: "r2"
      - recv: { on: b, text: "r2" }
"#;

#[test]
fn one_process_serves_all_cases_and_sees_each_client_leave() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("chat-once.yaml");
    std::fs::write(&file, SPEC).expect("write spec");
    let (code, report) = run_json(&[&file.display().to_string()]);
    assert_eq!(failing(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(code, 0);
    // The second case's stdout is the same process's: both clients, and
    // the first one's graceful departure, are in it.
    let stdout = report["results"][1]["stdout_tail"]
        .as_str()
        .expect("stdout");
    assert_eq!(stdout.matches("connected: ").count(), 2, "{stdout}");
    assert!(stdout.contains("client disconnected"), "{stdout}");
    // Each transcript starts with the program as the case found it.
    let first_note = |case: usize| report["results"][case]["transcript"][0]["data"]["text"].clone();
    assert!(
        first_note(0)
            .as_str()
            .unwrap_or_default()
            .starts_with("started, listening on "),
        "{report:#}"
    );
    assert_eq!(
        first_note(1),
        "running since an earlier case (restart: once)",
        "{report:#}"
    );
}
