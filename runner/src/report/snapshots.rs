//! The human report pinned as snapshots: a change of wording or layout is
//! a reviewed change (`cargo insta review`), not an accident.

use super::human::Human;
use super::sample;
use crate::engine::{CaseOutcome, Direction, Entry, Event, Summary, Verdict};
use std::time::Duration;

/// The human report of `outcomes` under one spec heading, as a student
/// sees it without colour.
fn render(outcomes: &[CaseOutcome]) -> String {
    let mut out = Vec::new();
    let mut human = Human::new(&mut out, false);
    human.event(&Event::SpecStarted {
        spec: "tcp-upper-server",
        title: "TCP upper-case server, one exchange per connection",
        target: "server.py",
        cases: outcomes.len(),
    });
    let mut summary = Summary::default();
    for outcome in outcomes {
        summary.add(outcome);
        human.event(&Event::CaseFinished(outcome));
    }
    summary.interrupted = summary.not_run > 0;
    summary.duration = Duration::from_millis(1234);
    human.event(&Event::RunFinished(&summary));
    String::from_utf8(out).expect("the human report is UTF-8")
}

#[test]
fn a_pass_and_a_failure_with_its_evidence() {
    let mut collected = sample::collected();
    let failed = &mut collected.outcomes[1];
    failed.transcript = vec![
        Entry {
            at: Duration::from_millis(2),
            channel: String::from("a"),
            direction: Direction::Sent,
            bytes: "你好".as_bytes().to_vec(),
        },
        Entry {
            at: Duration::from_millis(9),
            channel: String::from("a"),
            direction: Direction::Received,
            bytes: vec![0xff, 0x00],
        },
    ];
    failed.stdout = crate::program::OutputSnapshot {
        head: b"waiting for a connection...\nreceived: \xe4\xbd\xa0\xe5\xa5\xbd\n".to_vec(),
        dropped: 0,
        tail: Vec::new(),
    };
    insta::assert_snapshot!(render(&collected.outcomes));
}

#[test]
fn cases_the_run_did_not_reach() {
    let collected = sample::collected();
    let mut not_run = collected.outcomes[0].clone();
    not_run.case = String::from("fresh-start");
    not_run.verdict = Verdict::NotRun;
    not_run.points = 0;
    not_run.duration = Duration::ZERO;
    not_run.message = String::from("not run: the time for the whole run ran out before this case");
    insta::assert_snapshot!(render(&[collected.outcomes[0].clone(), not_run]));
}
