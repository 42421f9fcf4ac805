//! Whatever a student's program prints, sends, or makes its compiler say,
//! one student's reports in every format together stay within a few MiB,
//! the runner's own memory stays bounded, and every cut says how many
//! bytes it dropped: a C source whose compiler error is one 32 MiB line,
//! a Python server that prints one 128 MiB line on stdout and on stderr,
//! and one that answers with a 128 MiB line on its socket, each through
//! `runner` with every report format and through `runner grade`.

mod common;

use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// All reports of one student, every format together.
const REPORTS_CAP: u64 = 4 << 20;
/// The runner's peak resident memory.
const RSS_CAP_KIB: u64 = 200 << 10;

/// A spec whose reply step waits for its text anywhere in the stream, so
/// a flood without it keeps the step reading; five cases, so whatever a
/// report keeps per case is multiplied. The cases reach the runner's caps
/// within a second when they have the CPU; the timeout is long because the
/// cases of a spec run side by side and this file's floods run together,
/// and a flood starved of the CPU must still reach the caps the tests are
/// about, not the timeout.
const SPEC: &str = "spec: bounded-flood
title: a reply somewhere in the stream
target:
  role: server
  transport: tcp
  restart: per-case
defaults:
  timeout: 30s
cases:
  - id: first
    about: replies to hello with HELLO
    steps:
      - connect: a
      - send: { on: a, text: \"hello\" }
      - recv: { on: a, contains: \"HELLO\" }
  - id: second
    about: replies to hello with HELLO
    steps:
      - connect: a
      - send: { on: a, text: \"hello\" }
      - recv: { on: a, contains: \"HELLO\" }
  - id: third
    about: replies to hello with HELLO
    steps:
      - connect: a
      - send: { on: a, text: \"hello\" }
      - recv: { on: a, contains: \"HELLO\" }
  - id: fourth
    about: replies to hello with HELLO
    steps:
      - connect: a
      - send: { on: a, text: \"hello\" }
      - recv: { on: a, contains: \"HELLO\" }
  - id: fifth
    about: replies to hello with HELLO
    steps:
      - connect: a
      - send: { on: a, text: \"hello\" }
      - recv: { on: a, contains: \"HELLO\" }
";

/// What one run of the runner cost.
struct Measured {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    /// The runner's own peak resident memory (VmHWM), in KiB.
    peak_kib: u64,
}

/// The peak resident memory of process `pid` so far, if it is alive.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the runner with `args` to the end, watching its own memory (not
/// its targets' or compilers'): VmHWM only grows, so its last reading
/// before the exit is the peak, up to the last few milliseconds.
fn run_measured(args: &[&str]) -> Measured {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("runner"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runner starts");
    let pid = child.id();
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = out.read_to_end(&mut bytes);
        bytes
    });
    let stderr = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = err.read_to_end(&mut bytes);
        bytes
    });
    let started = std::time::Instant::now();
    let mut peak_kib = 0;
    let status = loop {
        if let Some(hwm) = vm_hwm(pid) {
            peak_kib = peak_kib.max(hwm);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(300),
            "the runner did not finish"
        );
        // The high-water mark is sampled until the runner ends: each wait
        // is on its exit, for at most 5 ms.
        let next_sample = std::time::Instant::now() + std::time::Duration::from_millis(5);
        common::wait_for_exit(pid as i32, next_sample);
    };
    Measured {
        code: status.code().expect("runner exits normally"),
        stdout: stdout.join().expect("stdout"),
        stderr: String::from_utf8_lossy(&stderr.join().expect("stderr")).into_owned(),
        peak_kib,
    }
}

/// Bytes of every file under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let kind = entry.file_type().expect("file type");
        total += if kind.is_dir() {
            bytes_under(&entry.path())
        } else {
            entry.metadata().expect("metadata").len()
        };
    }
    total
}

/// The number in the first `… N more bytes not kept` of `text`.
fn dropped_in(text: &str) -> Option<u64> {
    let end = text.find(" more bytes not kept")?;
    let start = text[..end].rfind("… ")? + "… ".len();
    text[start..end].replace(',', "").parse().ok()
}

fn fixture(relative: &str) -> PathBuf {
    common::root().join("fixtures").join(relative)
}

/// Runs `target` through the flood spec with every report format into
/// `dir`; returns the run, the bytes of all reports (the human one on
/// stdout included) and the JSON report.
fn run_with_every_format(dir: &Path, target: &str) -> (Measured, u64, Value) {
    let spec = dir.join("flood.yaml");
    std::fs::write(&spec, SPEC).expect("spec");
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).expect("mkdir");
    let path = |name: &str| reports.join(name).display().to_string();
    let (json, junit, tap, gradescope, html) = (
        path("report.json"),
        path("report.xml"),
        path("report.tap"),
        path("results.json"),
        path("report.html"),
    );
    let spec = spec.display().to_string();
    let measured = run_measured(&[
        &spec,
        "--target",
        target,
        "--report-json",
        &json,
        "--report-junit",
        &junit,
        "--report-tap",
        &tap,
        "--report-gradescope",
        &gradescope,
        "--report-html",
        &html,
    ]);
    assert_eq!(
        measured.code,
        1,
        "every case fails: {}\n{}",
        String::from_utf8_lossy(&measured.stdout),
        measured.stderr
    );
    let total = bytes_under(&reports) + measured.stdout.len() as u64;
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("JSON");
    (measured, total, report)
}

fn assert_bounded(what: &str, measured: &Measured, reports: u64) {
    eprintln!(
        "{what}: reports {reports} bytes, runner peak {} KiB",
        measured.peak_kib
    );
    assert!(
        reports < REPORTS_CAP,
        "{what}: the reports take {reports} bytes"
    );
    assert!(
        measured.peak_kib < RSS_CAP_KIB,
        "{what}: the runner peaked at {} KiB",
        measured.peak_kib
    );
}

#[test]
fn a_compiler_error_of_one_enormous_line_is_cut_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = fixture("c/huge_error_line.c").display().to_string();
    let (measured, reports, report) = run_with_every_format(dir.path(), &source);
    assert_bounded("huge compiler error", &measured, reports);
    let results = report["results"].as_array().expect("results");
    // The first case tells the build failure; the others refer to it.
    let message = results[0]["message"].as_str().expect("message");
    assert!(message.contains("does not build"), "{message:.300}");
    assert!(
        message.contains("static assertion failed"),
        "{message:.300}"
    );
    // The line is 32 MiB: all of it but the few KiB shown is counted.
    let dropped = dropped_in(message).unwrap_or_else(|| panic!("{message:.300}"));
    assert!(dropped > 32_000_000, "{dropped}");
    let first = results[0]["case"].as_str().expect("case");
    for result in &results[1..] {
        assert_eq!(
            result["message"].as_str().expect("message"),
            format!("the program does not build (see case {first})"),
            "{result:#}"
        );
    }
}

#[test]
fn one_enormous_line_on_stdout_and_stderr_is_cut_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = format!(
        "python3 {} {{host}} {{port}}",
        fixture("python/hostile/huge_output_line.py").display()
    );
    let (measured, reports, report) = run_with_every_format(dir.path(), &target);
    assert_bounded("huge output line", &measured, reports);
    for result in report["results"].as_array().expect("results") {
        for stream in ["stdout_tail", "stderr_tail"] {
            let tail = result[stream]
                .as_str()
                .unwrap_or_else(|| panic!("{result}"));
            // 128 MiB printed, a few KiB of its end kept.
            let dropped = dropped_in(tail).unwrap_or_else(|| panic!("{stream}: {tail:.300}"));
            assert!(dropped > 134_000_000, "{stream}: {dropped}");
            assert!(tail.len() < 8 << 10, "{stream}: {} bytes", tail.len());
        }
    }
}

#[test]
fn a_socket_flood_of_one_line_is_cut_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = format!(
        "python3 {} {{host}} {{port}}",
        fixture("python/hostile/socket_flood_line.py").display()
    );
    let (measured, reports, report) = run_with_every_format(dir.path(), &target);
    assert_bounded("socket flood", &measured, reports);
    for result in report["results"].as_array().expect("results") {
        let message = result["message"].as_str().expect("message");
        assert!(message.contains("without it"), "{message:.300}");
        let dropped = dropped_in(message).unwrap_or_else(|| panic!("{message:.300}"));
        assert!(dropped > 1_000_000, "{dropped}");
        let actual = result["failure"]["actual"]["text"]
            .as_str()
            .expect("actual");
        assert!(actual.len() <= 4 << 10, "{} bytes", actual.len());
    }
}

#[test]
fn grading_a_class_of_floods_keeps_each_student_within_the_cap() {
    let dir = common::world_readable_tempdir();
    let class = dir.path().join("class");
    for (student, from, to) in [
        ("compiler", "c/huge_error_line.c", "server.c"),
        ("printer", "python/hostile/huge_output_line.py", "server.py"),
        (
            "flooder",
            "python/hostile/socket_flood_line.py",
            "server.py",
        ),
    ] {
        std::fs::create_dir_all(class.join(student)).expect("mkdir");
        std::fs::copy(fixture(from), class.join(student).join(to)).expect("copy");
    }
    let spec = dir.path().join("flood.yaml");
    std::fs::write(&spec, SPEC).expect("spec");
    let out = dir.path().join("out");
    let (spec, class_arg, out_arg) = (
        spec.display().to_string(),
        class.display().to_string(),
        out.display().to_string(),
    );
    let measured = run_measured(&[
        "grade",
        &spec,
        "--submissions",
        &class_arg,
        "--file",
        "server.*",
        "--addr",
        "127.1.1.1:8900",
        "--out",
        &out_arg,
    ]);
    assert_eq!(measured.code, 0, "{}", measured.stderr);
    eprintln!("grading: runner peak {} KiB", measured.peak_kib);
    assert!(
        measured.peak_kib < RSS_CAP_KIB,
        "grading peaked at {} KiB",
        measured.peak_kib
    );
    for student in ["compiler", "printer", "flooder"] {
        let reports = bytes_under(&out.join(student));
        eprintln!("grading: {student}'s reports {reports} bytes");
        assert!(reports < REPORTS_CAP, "{student}: {reports} bytes");
        let json = std::fs::read_to_string(out.join(student).join("report.json")).expect("json");
        assert!(json.contains("more bytes not kept"), "{student}");
    }
    let grades = std::fs::read_to_string(out.join("grades.csv")).expect("grades.csv");
    assert!(grades.len() < 64 << 10, "{} bytes", grades.len());
}
