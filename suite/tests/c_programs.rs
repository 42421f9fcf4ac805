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

/// A C client that sends each line as `fgets` read it, newline included
/// (no `strcspn`), handed in as its source file: the specs take a typed
/// line with or without its line end, so it passes like the Python one.
#[test]
fn a_c_client_that_sends_the_line_end_fgets_keeps_passes() {
    let dir = world_readable_tempdir();
    let ip = private_loopback_ip();
    let source = student_program("c/udp_client_loop.c", dir.path(), "127.0.0.1", &ip);
    let text = std::fs::read_to_string(&source).expect("copy");
    let keeps_newline = text.replace("        line[strcspn(line, \"\\n\")] = '\\0';\n", "");
    assert_ne!(text, keeps_newline, "the fixture strips the newline");
    std::fs::write(&source, keeps_newline).expect("write");
    let addr = format!("{ip}:8090");
    for spec_name in ["udp-upper-client-loop", "udp-upper-client"] {
        let (_, report) = run_json(&[
            &spec(spec_name),
            "--target",
            &source.display().to_string(),
            "--addr",
            &addr,
        ]);
        // The one-shot spec wants an exit after one reply; a loop does not.
        let expected: Vec<String> = if spec_name == "udp-upper-client" {
            vec![String::from("exits-after-reply")]
        } else {
            Vec::new()
        };
        assert_eq!(failing(&report), expected, "{spec_name}: {report:#}");
    }
}
