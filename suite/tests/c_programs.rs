//! A student program in C: its stdio buffers everything when stdout is a
//! pipe, and the runner must still see each printed reply in time.

mod common;

use common::*;
use std::process::Command;

#[test]
fn a_c_client_that_never_flushes_is_graded_on_what_it_prints() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ip = private_loopback_ip();
    let source = student_program("c/udp_client_loop.c", dir.path(), "127.0.0.1", &ip);
    let binary = dir.path().join("udp_client_loop");
    let status = Command::new("cc")
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .status()
        .expect("a C compiler (cc) is installed");
    assert!(status.success(), "the C fixture compiles");
    let addr = format!("{ip}:8090");
    let (code, report) = run_json(&[
        &spec("udp-upper-client-loop"),
        "--target",
        &binary.display().to_string(),
        "--addr",
        &addr,
    ]);
    assert_eq!(failing(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(code, 0);
}
