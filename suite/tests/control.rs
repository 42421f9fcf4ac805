//! The runner stays in control: Ctrl-C, a run deadline and bad command
//! lines all end cleanly, with a report or one clear message.

mod common;

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use predicates::prelude::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A server that listens, says so through the FIFO named in its last
/// argument, then never answers.
const SILENT_LISTENER: &str = r#"
import signal, socket, sys
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(5)
with open(sys.argv[3], "w") as up:
    up.write("up")
while True:
    signal.pause()
"#;

/// A FIFO in `dir` the sandboxed target can write to (a FIFO works through
/// its read-only view of its folder), opened for reading.
fn announcements(dir: &std::path::Path) -> (std::path::PathBuf, std::fs::File) {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = dir.join("up.fifo");
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o666)).expect("mkfifo");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&path)
        .expect("open the FIFO");
    (path, reader)
}

/// Waits until something is written to `fifo`, for at most `limit`.
fn announced(fifo: &std::fs::File, limit: Duration) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let timeout = PollTimeout::try_from(limit).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(fifo.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, timeout).is_ok_and(|ready| ready > 0)
}

#[test]
fn ctrl_c_kills_the_target_and_still_prints_the_partial_report() {
    let dir = world_readable_tempdir();
    let program = write_program(dir.path(), "silent_listener.py", SILENT_LISTENER);
    let (fifo, up) = announcements(dir.path());
    let target = format!(
        "python3 {} {{host}} {{port}} {}",
        program.display(),
        fifo.display()
    );
    let child = Command::new(assert_cmd::cargo::cargo_bin("runner"))
        .args([
            &spec("tcp-upper-server"),
            "--color",
            "never",
            "--target",
            &target,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("runner starts");
    // Interrupt once the target has said it is listening.
    assert!(
        announced(&up, Duration::from_secs(10)),
        "the target never listened"
    );
    let interrupted = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("signal the runner");
    let output = child.wait_with_output().expect("runner ends");
    assert!(
        interrupted.elapsed() < Duration::from_secs(3),
        "took {:?}",
        interrupted.elapsed()
    );
    assert_eq!(output.status.code(), Some(130));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("ERROR greeting"), "{stdout}");
    assert!(stdout.contains("(interrupted)"), "{stdout}");
    assert_eq!(
        processes_named("silent_listener.py"),
        Vec::<String>::new(),
        "the target outlived the runner"
    );
}

#[test]
fn a_run_deadline_stops_the_run_and_reports_what_ran() {
    let ip = private_loopback_ip();
    let (code, report) = run_json_within(
        Duration::from_secs(4),
        &[
            &spec("tcp-upper-server"),
            "--target",
            &fixture_target("hostile-silent"),
            "--addr",
            &format!("{ip}:8900"),
            "--deadline",
            "1s",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(report["summary"]["interrupted"], true);
    // The case the deadline cut short is the runner's doing, not the
    // program's: an error; the cases after it are reported, not run.
    let all = verdicts(&report);
    let (verdict, message) = &all["greeting"];
    assert_eq!(verdict, "error");
    // Said in the student's terms, without the runner's flags.
    assert!(
        message.contains("the time for the whole run ran out") && !message.contains("--"),
        "{message}"
    );
    assert_eq!(all.len(), 6, "every selected case is reported");
    assert!(
        all.iter()
            .filter(|(case, _)| *case != "greeting")
            .all(|(_, (verdict, _))| verdict == "not_run"),
        "{all:?}"
    );
    assert_eq!(report["summary"]["not_run"], 5);
    assert_eq!(
        processes_named(&format!("hostile-silent {ip}")),
        Vec::<String>::new()
    );
}

#[test]
fn an_address_held_on_the_host_does_not_disturb_the_sandboxed_target() {
    let ip = private_loopback_ip();
    let addr = format!("{ip}:8900");
    let holder = std::net::TcpListener::bind(&addr).expect("bind");
    let dir = world_readable_tempdir();
    let copy = student_program("python/upper_server.py", dir.path(), "127.1.1.1", &ip);
    let (code, report) = run_greeting(&copy.display().to_string(), &["--addr", &addr]);
    assert_eq!(code, 0, "{report:#}");
    drop(holder);
}

#[test]
fn a_target_that_is_not_executable_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("server");
    std::fs::write(&file, "#!/bin/sh\n").expect("write");
    runner()
        .args(["tcp-upper-server", "--target"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("is not executable").and(predicate::str::contains("chmod +x")),
        );
}

#[test]
fn output_writes_the_human_report_to_a_file_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("report.txt");
    runner()
        .args([
            "tcp-upper-server",
            "--case",
            "greeting",
            "--color",
            "always",
            "--output",
        ])
        .arg(&file)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("all passed"));
    let written = std::fs::read_to_string(&file).expect("report written");
    assert!(written.contains("PASS  greeting"), "{written}");
    assert!(
        !written.contains('\x1b'),
        "no colour in a file: {written:?}"
    );
}

#[test]
fn a_port_in_time_wait_on_the_host_does_not_block_the_sandboxed_target() {
    use std::io::Read;
    let ip = private_loopback_ip();
    let addr = format!("{ip}:8900");
    // Leave the server side of a connection in TIME_WAIT: it closes first.
    let listener = std::net::TcpListener::bind(&addr).expect("bind");
    let mut client = std::net::TcpStream::connect(&addr).expect("connect");
    let (server_side, _) = listener.accept().expect("accept");
    drop(server_side);
    assert_eq!(client.read(&mut [0; 8]).expect("read EOF"), 0);
    drop(client);
    drop(listener);
    let dir = world_readable_tempdir();
    let program = student_program("python/upper_server.py", dir.path(), "127.1.1.1", &ip);
    let (code, report) = run_greeting(&program.display().to_string(), &["--addr", &addr]);
    // The target has a network of its own, where nothing is in TIME_WAIT.
    assert_eq!(code, 0, "{report:#}");
}

/// A server that never reads: the runner's send blocks once the buffers
/// are full.
const NON_READING_SERVER: &str = r#"
import signal, socket, sys
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(5)
c, _ = s.accept()
while True:
    signal.pause()
"#;

#[test]
fn a_send_the_target_never_reads_ends_at_the_case_time_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = dir.path().join("no_read.py");
    std::fs::write(&program, NON_READING_SERVER).expect("write");
    let spec_file = dir.path().join("big-send.yaml");
    std::fs::write(
        &spec_file,
        "spec: big-send\ntitle: t\ntarget: { role: server, transport: tcp }\ndefaults: { timeout: 20s }\ncases:\n  - id: big\n    about: a large message\n    steps:\n      - connect: a\n      - send: { on: a, text: \"0123456789abcdef\", repeat: 1000000 }\n",
    )
    .expect("write spec");
    let (code, report) = run_json_within(
        Duration::from_secs(4),
        &[
            &spec_file.display().to_string(),
            "--target",
            &format!("python3 {} {{host}} {{port}}", program.display()),
            "--max-case-time",
            "1s",
        ],
    );
    assert_eq!(code, 1);
    let (_, message) = &verdicts(&report)["big"];
    assert!(message.contains("wall-time limit"), "{message}");
}

#[test]
fn the_run_deadline_also_bounds_a_target_that_never_starts_listening() {
    let (code, _) = run_json_within(
        Duration::from_secs(3),
        &[
            &spec("tcp-upper-server"),
            "--target",
            &fixture_target("hostile-never-listens"),
            "--deadline",
            "1s",
        ],
    );
    assert_eq!(code, 1);
}

/// A spec of `cases` cases against the bundled looping server, each of
/// which waits `quiet_ms` after its reply.
fn waiting_spec(dir: &std::path::Path, cases: usize, quiet_ms: u64) -> std::path::PathBuf {
    let mut text = String::from(
        "spec: waiting\ntitle: cases that wait\ntarget:\n  role: server\n  transport: tcp\n  \
         reference: upper-server-loop\n  restart: per-case\ncases:\n",
    );
    for n in 0..cases {
        text.push_str(&format!(
            "  - id: case-{n}\n    about: replies, then stays quiet\n    steps:\n      \
             - connect: a\n      - send: {{ on: a, text: \"hi {n}\" }}\n      \
             - recv: {{ on: a, text: \"HI {n}\" }}\n      - quiet: {{ on: a, for: {quiet_ms}ms }}\n"
        ));
    }
    let path = dir.join("waiting.yaml");
    std::fs::write(&path, text).expect("write the spec");
    path
}

/// The run's own duration, and the sum of its cases' durations, in ms.
fn run_and_case_durations(report: &serde_json::Value) -> (f64, f64) {
    let run = report["summary"]["duration_ms"]
        .as_f64()
        .expect("a run duration");
    let cases = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["duration_ms"].as_f64().expect("a case duration"))
        .sum();
    (run, cases)
}

#[test]
fn a_specs_cases_run_side_by_side_each_in_its_sandbox_and_are_reported_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = waiting_spec(dir.path(), 6, 300);
    let (code, report) = run_json(&[&spec.display().to_string()]);
    assert_eq!(code, 0, "{report:#}");
    let order: Vec<&str> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["case"].as_str().expect("a case id"))
        .collect();
    assert_eq!(
        order,
        ["case-0", "case-1", "case-2", "case-3", "case-4", "case-5"]
    );
    // Each case waits 300 ms: one after another the run would last at
    // least as long as its cases together.
    let (run, cases) = run_and_case_durations(&report);
    assert!(run < cases / 2.0, "run {run} ms, cases {cases} ms together");
}

#[test]
fn under_a_run_deadline_cases_run_one_after_another() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = waiting_spec(dir.path(), 3, 200);
    let (code, report) = run_json(&[&spec.display().to_string(), "--deadline", "5m"]);
    assert_eq!(code, 0, "{report:#}");
    let (run, cases) = run_and_case_durations(&report);
    assert!(run >= cases, "run {run} ms, cases {cases} ms together");
}
