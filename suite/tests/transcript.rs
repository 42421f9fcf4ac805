//! The transcript says how the program was when the case began and when
//! it ended, in its place in time, also when no step asked.

mod common;

use common::*;
use serde_json::Value;

/// The transcript of `case` in `report`, as (milliseconds, channel, text).
fn entries(report: &Value, case: &str) -> Vec<(f64, String, String)> {
    let result = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["case"] == case)
        .unwrap_or_else(|| panic!("no {case} in {report:#}"));
    result["transcript"]
        .as_array()
        .expect("transcript")
        .iter()
        .map(|e| {
            (
                e["at_ms"].as_f64().expect("at_ms"),
                e["channel"].as_str().expect("channel").to_string(),
                e["data"]["text"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A server that dies of a reset it does not handle: the transcript shows
/// its start, the exchange, the reset and then its exit, in time order,
/// though the case has no `exit` step.
#[test]
fn a_crash_no_step_asked_about_is_in_the_transcript_in_its_place() {
    let (_, report) = run_json(&[
        &spec("tcp-chat-server"),
        "--case",
        "survives-reset",
        "--target",
        &fixture_target("chat-server-no-reset-handling"),
    ]);
    let entries = entries(&report, "survives-reset");
    let (first_at, first_channel, first_text) = &entries[0];
    assert_eq!(
        (first_channel.as_str(), *first_at < 50.0),
        ("target", true),
        "{entries:?}"
    );
    assert!(
        first_text.starts_with("started, listening on "),
        "{entries:?}"
    );
    let times: Vec<f64> = entries.iter().map(|e| e.0).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "in time order: {entries:?}"
    );
    let reset = entries
        .iter()
        .position(|e| e.2 == "reset by the runner (RST)")
        .unwrap_or_else(|| panic!("no reset in {entries:?}"));
    let exit = entries
        .iter()
        .position(|e| e.1 == "target" && e.2 == "exited with code 1")
        .unwrap_or_else(|| panic!("no exit in {entries:?}"));
    assert!(reset < exit, "{entries:?}");
}

/// A client that runs to its end: the `exit` step's note is the only one.
#[test]
fn an_exit_a_step_saw_is_noted_once() {
    let (code, report) = run_json(&[&spec("udp-upper-client"), "--case", "exits-after-reply"]);
    assert_eq!(code, 0, "{report:#}");
    let entries = entries(&report, "exits-after-reply");
    assert!(
        entries[0].2.starts_with("started, to reach the runner at "),
        "{entries:?}"
    );
    let exits = entries
        .iter()
        .filter(|e| e.2.starts_with("exited with code"))
        .count();
    assert_eq!(exits, 1, "{entries:?}");
}
