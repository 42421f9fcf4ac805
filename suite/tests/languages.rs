//! Correct TCP upper-case servers in C, C++, Java, Go and JavaScript (Node),
//! written as a student writes the handout's program and handed to the
//! runner as the source file itself, pass every default case of their spec
//! under the runner's default limits; a program that does not build fails
//! with the compiler's messages; a build sees nothing but the submission.

mod common;

use common::*;
use rstest::rstest;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

/// Sets `path`'s mode: the runner, as root, runs targets as another user,
/// who must be able to read (and run) the submission.
fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[rstest]
#[case::c("c/upper_server.c")]
#[case::cpp("cpp/upper_server.cpp")]
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
    let target = source.display().to_string();
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

/// Writes `files` (name, text) into a fresh folder any user can read.
fn submission(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    chmod(dir.path(), 0o755);
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        chmod(&path, 0o644);
    }
    dir
}

fn greeting(target: &Path, addr: &str) -> serde_json::Value {
    let run = finish(
        runner(),
        &[
            &spec("tcp-upper-server"),
            "--target",
            &target.display().to_string(),
            "--addr",
            addr,
            "--case",
            "greeting",
            "--format",
            "json",
        ],
    );
    run.report()
}

#[test]
fn a_program_that_does_not_build_fails_with_the_compilers_messages() {
    let source =
        std::fs::read_to_string(common::root().join("fixtures/c/upper_server.c")).expect("fixture");
    let broken = source.replace("return 0;", "return 0");
    let dir = submission(&[("server.c", &broken)]);
    let report = greeting(&dir.path().join("server.c"), "127.1.1.1:8900");
    let result = &report["results"][0];
    assert_eq!(result["verdict"], "fail", "{report:#}");
    let message = result["message"].as_str().expect("message");
    assert!(
        message.starts_with("server.c does not build: cc exited with code 1"),
        "{message}"
    );
    assert!(
        message.contains("expected ';'") || message.contains("expected \u{2018};\u{2019}"),
        "{message}"
    );
}

#[test]
fn a_java_program_of_several_files_is_compiled_together() {
    let original =
        std::fs::read_to_string(common::root().join("fixtures/java/Server.java")).expect("fixture");
    let start = original
        .find("        for (int i = 0; i < n; i++) {")
        .expect("the loop");
    let end = original.find("        out.write(").expect("the write");
    // The upper-casing moves to a class of its own, in a file of its own.
    let server = format!(
        "{}        Upper.bytes(data, n);\n{}",
        &original[..start],
        &original[end..]
    );
    let upper = "public class Upper {\n    static void bytes(byte[] data, int n) {\n        for (int i = 0; i < n; i++) {\n            if (data[i] >= 'a' && data[i] <= 'z') data[i] -= 32;\n        }\n    }\n}\n";
    let dir = submission(&[("Server.java", &server), ("Upper.java", upper)]);
    let report = greeting(&dir.path().join("Server.java"), "127.1.1.1:8900");
    assert_eq!(report["results"][0]["verdict"], "pass", "{report:#}");
}

#[test]
fn a_build_cannot_read_the_graders_files_or_a_classmates() {
    let classmate = submission(&[("secret.h", "#error CLASSMATE-SECRET-1234\n")]);
    let source = format!(
        "#include \"{}/secret.h\"\n#include \"/etc/shadow\"\nint main(void) {{ return 0; }}\n",
        classmate.path().display()
    );
    let dir = submission(&[("server.c", &source)]);
    let report = greeting(&dir.path().join("server.c"), "127.1.1.1:8900");
    let message = report["results"][0]["message"]
        .as_str()
        .expect("message")
        .to_string();
    assert!(message.contains("does not build"), "{message}");
    assert!(!message.contains("CLASSMATE-SECRET"), "{message}");
    assert!(!message.contains("root:"), "{message}");
}

/// A spec whose one case every program below fails, with a hint per
/// language.
const HINTED_SPEC: &str = r#"
spec: hinted
title: hints per language
target: { role: client, transport: udp }
cases:
  - id: prints-the-word
    about: prints a word it is never told
    hint:
      default: "the hint for any language"
      python: "the hint for Python"
      c: "the hint for C"
      javascript: "the hint for JavaScript"
    steps:
      - stdout: { contains: "a word nobody prints", timeout: 200ms }
"#;

#[rstest]
#[case::python("program.py", "print('hi')\n", "the hint for Python")]
#[case::python_script(
    "program",
    "#!/usr/bin/env python3\nprint('hi')\n",
    "the hint for Python"
)]
#[case::c("program.c", "int main(void) { return 0; }\n", "the hint for C")]
#[case::cpp_gets_c_s("program.cpp", "int main() { return 0; }\n", "the hint for C")]
#[case::javascript("program.js", "console.log('hi');\n", "the hint for JavaScript")]
#[case::go_gets_the_default(
    "program.go",
    "package main\n\nfunc main() {}\n",
    "the hint for any language"
)]
#[case::shell_gets_the_default("program", "#!/bin/sh\necho hi\n", "the hint for any language")]
fn a_failed_case_s_hint_fits_the_program_s_language(
    #[case] file: &str,
    #[case] source: &str,
    #[case] hint: &str,
) {
    let dir = world_readable_tempdir();
    let spec = write_program(dir.path(), "hinted.yaml", HINTED_SPEC);
    let program = write_program(dir.path(), file, source);
    chmod(&program, 0o755);
    let (code, report) = run_spec_file(&spec, &program);
    assert_eq!(code, 1, "{report:#}");
    let result = &report["results"][0];
    assert_eq!(result["verdict"], "fail", "{result:#}");
    assert_eq!(result["hint"], hint, "{result:#}");
}

/// A client that prints its prompt with printf and no fflush, then waits
/// for the typed line.
const PROMPT_WITHOUT_FLUSH: &str = r#"#include <stdio.h>
int main(void) {
    char line[100];
    printf("message: ");
    if (fgets(line, sizeof line, stdin) == NULL) return 1;
    return 0;
}
"#;

const PROMPT_SPEC: &str = r#"
spec: prompt
title: a prompt before the typed line
target: { role: client, transport: udp }
cases:
  - id: prompts
    about: asks for the message before reading it
    steps:
      - stdout: { contains: "message: ", timeout: 500ms }
      - stdin: "hello"
      - exit: { code: 0 }
"#;

/// A prebuilt statically linked program keeps what it prints without
/// flushing in its buffer (the runner cannot make it unbuffered): the
/// failed output step says so and what to do. Handed in as source, the
/// same program passes.
#[test]
fn a_static_binary_s_unflushed_output_is_named_in_the_failure() {
    let dir = world_readable_tempdir();
    let spec = write_program(dir.path(), "prompt.yaml", PROMPT_SPEC);
    let source = write_program(dir.path(), "client.c", PROMPT_WITHOUT_FLUSH);
    let binary = dir.path().join("client");
    let built = std::process::Command::new("cc")
        .args(["-static", "-o"])
        .arg(&binary)
        .arg(&source)
        .status()
        .expect("cc runs");
    assert!(built.success(), "a static build (libc6-dev has libc.a)");
    let (_, report) = run_spec_file(&spec, &binary);
    let result = &report["results"][0];
    assert_eq!(result["verdict"], "fail", "{result:#}");
    let message = result["message"].as_str().expect("a message");
    assert!(
        message.contains("statically linked") && message.contains("fflush(stdout)"),
        "{message}"
    );
    let (code, report) = run_spec_file(&spec, &source);
    assert_eq!(code, 0, "{report:#}");
}
