//! The hidden subcommand that runs a bundled reference program: the runner
//! starts itself this way, so the references work after `cargo install`.

use std::process::Command;

const RUNNER: &str = env!("CARGO_BIN_EXE_runner");

#[test]
fn an_unknown_reference_is_refused_with_the_list_of_known_ones() {
    let output = Command::new(RUNNER)
        .args([
            runner::REFERENCE_SUBCOMMAND,
            "no-such-program",
            "127.0.0.1",
            "9",
        ])
        .output()
        .expect("runner starts");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("upper-server"), "{stderr}");
}

#[test]
fn a_reference_client_with_no_server_fails_with_a_message() {
    // Port 9 (discard) is not listening on loopback here: connect is refused.
    let output = Command::new(RUNNER)
        .args([
            runner::REFERENCE_SUBCOMMAND,
            "upper-client",
            "127.0.0.1",
            "9",
        ])
        .output()
        .expect("runner starts");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("refused"));
}
