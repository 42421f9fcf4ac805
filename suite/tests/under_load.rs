//! Verdicts do not depend on how busy the machine is: a class graded in
//! parallel, or a CI machine shared with other jobs, keeps every CPU busy.
//! A busy loop is caught even when it gets a small share of a CPU, and a
//! correct program still passes.

mod common;

use common::*;

fn no_spin_verdict(target: &str) -> String {
    let (_, report) = run_json(&[
        &spec("tcp-chat-server"),
        "--target",
        target,
        "--case",
        "no-spin-after-disconnect",
    ]);
    verdicts(&report)["no-spin-after-disconnect"].0.clone()
}

#[test]
fn a_busy_loop_is_caught_and_a_waiting_server_passes_on_a_loaded_machine() {
    let _load = Load::start();
    for _ in 0..3 {
        assert_eq!(
            no_spin_verdict(&fixture_target("chat-server-spin-on-empty")),
            "fail"
        );
        assert_eq!(no_spin_verdict(&fixture_target("chat-server")), "pass");
    }
}
