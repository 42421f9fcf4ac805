//! Correct TCP upper-case servers in Java, Go and JavaScript (Node), written
//! as a student writes the handout's program, pass every default case of
//! their spec under the runner's default limits.

mod common;

use common::*;
use rstest::rstest;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Sets `path`'s mode: the runner, as root, runs targets as another user,
/// who must be able to read (and run) the submission.
fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Builds the Go program `source` into `dir/server` and returns its path.
fn go_build(source: &Path, dir: &Path) -> String {
    let binary = dir.join("server");
    let mut go = Command::new("go");
    go.arg("build").arg("-o").arg(&binary).arg(source);
    // Go needs a build cache; without HOME it has no default one.
    let cache = tempfile::tempdir().expect("temp dir");
    if std::env::var_os("GOCACHE").is_none() && std::env::var_os("HOME").is_none() {
        go.env("GOCACHE", cache.path().join("cache"))
            .env("GOPATH", cache.path().join("gopath"));
    }
    let output = go.output().expect("Go (go) is installed");
    assert!(
        output.status.success(),
        "the Go fixture builds: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    chmod(&binary, 0o755);
    binary.display().to_string()
}

#[rstest]
#[case::java("java/Server.java")]
#[case::go("go/server.go")]
#[case::node("js/server.js")]
fn a_correct_server_passes_every_default_case_under_default_limits(
    #[case] relative: &str,
    #[values(true, false)] as_root: bool,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    chmod(dir.path(), 0o755);
    let ip = private_loopback_ip();
    let source = student_program(relative, dir.path(), "127.1.1.1", &ip);
    chmod(&source, 0o644);
    let target = match source.extension().and_then(|e| e.to_str()) {
        Some("java") => format!("java {}", source.display()),
        Some("js") => format!("node {}", source.display()),
        Some("go") => go_build(&source, dir.path()),
        other => panic!("no language for {other:?}"),
    };
    let addr = format!("{ip}:8900");
    let started = Instant::now();
    // As root (targets get uids of their own and cgroup limits) and as
    // nobody (a user namespace; limits per process).
    let run = finish(
        runner_as(as_root),
        &[
            &spec("tcp-upper-server"),
            "--target",
            &target,
            "--addr",
            &addr,
            "--format",
            "json",
        ],
    );
    let (code, report): (i32, serde_json::Value) = (
        run.code,
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("no JSON report ({e}): {}\n{}", run.stdout, run.stderr)),
    );
    println!(
        "{relative} (root: {as_root}): runner took {:?}",
        started.elapsed()
    );
    assert_eq!(failing(&report), Vec::<String>::new(), "{report:#}");
    assert!(!verdicts(&report).is_empty(), "{report:#}");
    assert_eq!(code, 0, "{report:#}");
}
