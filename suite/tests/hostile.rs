//! Hostile submissions: programs that never listen, crash, flood, fork,
//! ignore SIGTERM or eat memory. The runner must finish within its
//! deadlines, say what happened, and leave no process and no bound port
//! behind (checked in /proc and on the port itself, not just by exit code).

mod common;

use common::*;
use rstest::rstest;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// Runs `fixture NAME` as the target of the tcp-upper-server greeting case
/// on a private address, and checks the aftermath.
fn run_hostile(name: &str, extra: &[&str]) -> (i32, serde_json::Value, Duration) {
    let ip = private_loopback_ip();
    let addr = format!("{ip}:8900");
    let mut args = vec!["--addr", &addr];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let (code, report) = run_greeting(&fixture_target(name), &args);
    let took = started.elapsed();
    // Named with the private address: a hostile program may run another
    // one's code (hostile-ignores-sigterm serves as hostile-silent).
    assert_eq!(
        processes_named(&format!(" {ip} ")),
        Vec::<String>::new(),
        "{name}: processes left behind"
    );
    TcpListener::bind(&addr)
        .unwrap_or_else(|e| panic!("{name}: {addr} still bound after the run: {e}"));
    (code, report, took)
}

/// Hostile program, extra runner arguments, what the failure message says.
/// (Each program appears in one test only: the leftover check looks for
/// its name among all processes.)
#[rstest]
#[case::never_listens("hostile-never-listens", &[], "was not listening on")]
#[case::exits_with_traceback("hostile-exits-with-traceback", &[], "Address already in use")]
#[case::wrong_port("hostile-wrong-port", &[], ":8901 instead")]
#[case::silent("hostile-silent", &[], "but nothing arrived")]
#[case::trickle("hostile-trickle", &[], "but the server sent \"A\"")]
#[case::flood_socket("hostile-flood-socket", &[], "but the server sent \"xxxx")]
#[case::flood_stderr("hostile-flood-stderr", &[], "but nothing arrived")]
#[case::fork_keeps_port("hostile-fork-keeps-port", &[], "but nothing arrived")]
#[case::ignores_sigterm("hostile-ignores-sigterm", &[], "but nothing arrived")]
#[case::fork_bomb("hostile-fork-bomb", &["--max-procs", "20"], "ran into its process limit (20 processes")]
fn a_hostile_target_fails_with_a_reason_and_leaves_nothing_behind(
    #[case] name: &str,
    #[case] extra: &[&str],
    #[case] reason: &str,
) {
    let (code, report, took) = run_hostile(name, extra);
    let (verdict, message) = &verdicts(&report)["greeting"];
    assert_eq!(verdict, "fail", "{name}: {report:#}");
    assert_eq!(code, 1);
    assert!(
        message.contains(reason),
        "{name}: {message:?} lacks {reason:?}"
    );
    // Every wait has a deadline: start-up 5 s, a step 2 s, the grace 0.2 s.
    assert!(took < Duration::from_secs(10), "{name} took {took:?}");
}

#[test]
fn a_flood_of_output_is_kept_as_head_and_tail_with_the_amount_dropped() {
    let (code, report, _) = run_hostile("hostile-flood-stdout", &[]);
    assert_eq!(code, 1);
    let (_, message) = &verdicts(&report)["greeting"];
    assert!(message.contains("but nothing arrived"), "{message}");
    let tail = report["results"][0]["stdout_tail"]
        .as_str()
        .expect("stdout tail");
    assert!(tail.contains("more bytes not kept"), "{tail}");
}

#[test]
fn invalid_utf8_is_shown_in_hex_too() {
    let (code, report, _) = run_hostile("hostile-invalid-utf8", &[]);
    assert_eq!(code, 1);
    let (_, message) = &verdicts(&report)["greeting"];
    // Bytes that are not text by their runs, the text between quoted.
    assert!(
        message.contains("14 bytes: ff fe 00 + \"HEL\""),
        "{message}"
    );
    let actual = &report["results"][0]["failure"]["actual"];
    assert!(
        actual["hex"].as_str().expect("hex").starts_with("ff fe 00"),
        "{actual}"
    );
}

#[test]
fn a_server_that_closes_its_stdio_is_still_graded_on_its_socket() {
    let (code, report, _) = run_hostile("hostile-closes-stdio", &[]);
    assert_eq!(failing(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(code, 0);
}

#[test]
fn a_memory_hog_is_stopped_by_the_memory_limit() {
    let (code, report, took) = run_hostile("hostile-memory-hog", &["--max-memory", "256MiB"]);
    assert_eq!(code, 1);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let (_, message) = &verdicts(&report)["greeting"];
    assert!(
        message.starts_with("the program ran into its memory limit (256 MiB"),
        "{message}"
    );
}

/// Writes /tmp full, one file after another (each below the file size
/// limit), then crashes on the error.
const DISK_FILLER: &str = r#"
import itertools
for n in itertools.count():
    with open(f"/tmp/fill-{n}", "wb") as f:
        for _ in range(8):
            f.write(b"x" * (1 << 20))
"#;

#[test]
fn a_disk_filler_is_told_which_limit_it_ran_into() {
    let dir = world_readable_tempdir();
    let program = write_program(dir.path(), "disk_filler.py", DISK_FILLER);
    let target = format!("python3 {} {{host}} {{port}}", program.display());
    let (code, report) = run_greeting(&target, &[]);
    assert_eq!(code, 1);
    let (_, message) = &verdicts(&report)["greeting"];
    assert!(
        message.starts_with("the program filled its private /tmp (64 MiB at most)"),
        "{message}"
    );
    assert!(message.contains("No space left on device"), "{message}");
}

/// A server that reports who it runs as and under which limits, then
/// serves the greeting correctly.
const IDENTITY_SERVER: &str = r#"
import os, resource, socket, sys
print("uid", os.getuid())
print("nproc", resource.getrlimit(resource.RLIMIT_NPROC)[0])
print("as", resource.getrlimit(resource.RLIMIT_AS)[0])
print("cpu", resource.getrlimit(resource.RLIMIT_CPU)[0])
import threading
never = threading.Event()
started = 0
try:
    for _ in range(200):
        threading.Thread(target=never.wait, daemon=True).start()
        started += 1
except RuntimeError:
    pass
print("threads_started", started)
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(5)
c, _ = s.accept()
c.sendall(c.recv(1024).upper())
c.close()
"#;

fn threads_started(stdout: &str) -> u32 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("threads_started "))
        .and_then(|n| n.parse().ok())
        .expect("the identity server reports the threads it started")
}

#[test]
fn targets_never_run_as_root_and_run_under_the_limits_given() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = write_program(dir.path(), "identity.py", IDENTITY_SERVER);
    let target = format!("python3 {} {{host}} {{port}}", program.display());
    let (code, report) = run_greeting(
        &target,
        &[
            "--max-procs",
            "17",
            "--max-memory",
            "300MiB",
            "--max-cpu",
            "7s",
        ],
    );
    assert_eq!(code, 0, "{report:#}");
    let stdout = report["results"][0]["stdout_tail"]
        .as_str()
        .expect("stdout");
    let uid: u32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("uid "))
        .and_then(|u| u.parse().ok())
        .expect("uid printed");
    assert_ne!(uid, 0, "a submission ran as root");
    let lines: Vec<&str> = stdout.lines().collect();
    // The process limit is on what the target adds to the threads its user
    // already runs: about 16 more (other processes of that user starting or
    // ending meanwhile move it a little), not the 200 it tries.
    assert!((8..=30).contains(&threads_started(stdout)), "{stdout}");
    // Memory is limited for the sandbox as a whole, never as address
    // space, which a JVM or a Go runtime reserves far beyond its use.
    assert!(lines.contains(&"as -1"), "{stdout}");
    assert!(lines.contains(&"cpu 7"), "{stdout}");
}

#[test]
fn a_spec_sets_limits_and_the_command_line_overrides_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = write_program(dir.path(), "identity.py", IDENTITY_SERVER);
    let spec_file = dir.path().join("limited.yaml");
    let bundled = std::fs::read_to_string(spec("tcp-upper-server")).expect("bundled spec");
    let limited = bundled.replacen(
        "  restart: per-case\n",
        "  restart: per-case\n  limits: { processes: 13, cpu: 3s }\n",
        1,
    );
    assert_ne!(limited, bundled, "the spec has a restart line to extend");
    std::fs::write(&spec_file, limited).expect("write spec");
    let target = format!("python3 {} {{host}} {{port}}", program.display());
    let (code, report) = run_json(&[
        &spec_file.display().to_string(),
        "--case",
        "greeting",
        "--target",
        &target,
        "--max-cpu",
        "5s",
    ]);
    assert_eq!(code, 0, "{report:#}");
    let stdout = report["results"][0]["stdout_tail"]
        .as_str()
        .expect("stdout");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        (4..=26).contains(&threads_started(stdout)),
        "the spec's limit: {stdout}"
    );
    assert!(lines.contains(&"cpu 5"), "the command line wins: {stdout}");
}

/// A server that answers, then leaves daemons behind, in a session of
/// their own and orphaned: one ignores SIGTERM and holds the listening
/// socket, the other has replaced itself with an empty environment (so it
/// carries no marker) under a name that still tells where it came from.
const ESCAPING_SERVER: &str = r#"
import os, signal, socket, sys
WAIT_FOREVER = "import signal\nwhile True: signal.pause()"
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(5)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            signal.pause()
    if os.fork() == 0:
        os.execve(sys.executable, ["escaping_server.py-no-environment", "-c", WAIT_FOREVER], {})
    os._exit(0)
c, _ = s.accept()
c.sendall(c.recv(1024).upper())
c.close()
while True:
    signal.pause()
"#;

#[test]
fn a_daemon_that_escapes_the_process_group_is_killed_and_frees_the_port() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = write_program(dir.path(), "escaping_server.py", ESCAPING_SERVER);
    let ip = private_loopback_ip();
    let addr = format!("{ip}:8900");
    let target = format!("python3 {} {ip} 8900", program.display());
    let (code, report) = run_greeting(&target, &["--addr", &addr]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(processes_named("escaping_server.py"), Vec::<String>::new());
    TcpListener::bind(&addr).unwrap_or_else(|e| panic!("{addr} still held: {e}"));
}

/// A server that tries to take over the grader's terminal.
const TERMINAL_HIJACKER: &str = r#"
import socket, sys
print("\x1b]0;owned\x07\r\x1b[2K  PASS  greeting", flush=True)
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(5)
c, _ = s.accept()
c.sendall(b"\x1b[2J nope")
c.close()
"#;

#[test]
fn terminal_controls_from_a_target_are_shown_escaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = write_program(dir.path(), "hijack.py", TERMINAL_HIJACKER);
    let target = format!("python3 {} {{host}} {{port}}", program.display());
    let output = runner()
        .args([
            &spec("tcp-upper-server"),
            "--case",
            "greeting",
            "--color",
            "never",
            "--target",
            &target,
        ])
        .output()
        .expect("runner runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\r'),
        "{stdout:?}"
    );
    assert!(stdout.contains("\\u{1b}]0;owned"), "{stdout}");
}

/// The classic "fork twice so no zombie is left" server: each client is
/// served by a grandchild that is orphaned at once.
const DOUBLE_FORKING_SERVER: &str = r#"
import os, socket, sys
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(5)
while True:
    c, _ = s.accept()
    p = os.fork()
    if p == 0:
        if os.fork() == 0:
            c.sendall(c.recv(1024).upper())
            c.close()
            os._exit(0)
        os._exit(0)
    os.waitpid(p, 0)
    c.close()
"#;

#[test]
fn orphans_a_correct_server_leaves_are_reaped_as_they_die() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = write_program(dir.path(), "double_fork.py", DOUBLE_FORKING_SERVER);
    // More clients than the process limit: unreaped zombies would count
    // against it and fail the later cases.
    let mut spec_text = String::from(
        "spec: many-clients\ntitle: one server, many clients\ntarget: { role: server, transport: tcp, restart: once }\ncases:\n",
    );
    for n in 0..100 {
        spec_text.push_str(&format!(
            "  - id: c{n}\n    about: client {n} is served\n    steps:\n      - connect: a\n      - send: {{ on: a, text: hi }}\n      - recv: {{ on: a, text: HI }}\n"
        ));
    }
    let spec_file = dir.path().join("many.yaml");
    std::fs::write(&spec_file, spec_text).expect("write spec");
    let target = format!("python3 {} {{host}} {{port}}", program.display());
    let (code, report) = run_json(&[
        &spec_file.display().to_string(),
        "--target",
        &target,
        "--max-procs",
        "32",
    ]);
    assert_eq!(failing(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(code, 0);
}

/// Reads a data file next to itself, by a path relative to where it runs.
const DATA_FILE_SERVER: &str = r#"
import socket, sys
suffix = open("suffix.txt").read().strip()
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(5)
c, _ = s.accept()
c.sendall(c.recv(1024).upper() + suffix.encode())
c.close()
"#;

#[test]
fn a_submission_starts_in_its_own_folder_with_its_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = write_program(dir.path(), "server.py", DATA_FILE_SERVER);
    std::fs::write(dir.path().join("suffix.txt"), "\n").expect("write data");
    let target = format!("python3 {} {{host}} {{port}}", program.display());
    let (code, report) = run_greeting(&target, &[]);
    assert_eq!(failing(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(code, 0);
}

/// Prints "only stdio" when the program has no open file but its stdin,
/// stdout and stderr, or what else it holds.
const LISTS_ITS_FILES: &str = r#"
import os
others = []
for name in os.listdir("/proc/self/fd"):
    if int(name) > 2:
        try:
            others.append(os.readlink("/proc/self/fd/" + name))
        except OSError:
            pass  # the listing's own descriptor, closed by now
print("only stdio" if not others else "also holds: %s" % others)
"#;

const ONLY_STDIO_SPEC: &str = r#"
spec: only-stdio
title: a program holds its stdio and nothing else
target: { role: client, transport: udp }
cases:
  - id: only-stdio
    about: holds no open file but stdin, stdout and stderr
    steps:
      - stdout: { contains: "only stdio" }
"#;

/// A target inherits its stdio and nothing else: not a file the runner
/// itself inherited (a CI job's pipe, here a file left open across exec),
/// and not the terminal or sockets of a classmate started at the same
/// moment by another worker of `runner grade`.
#[test]
fn a_target_holds_its_stdio_and_nothing_else() {
    use std::os::fd::AsRawFd;
    let dir = world_readable_tempdir();
    let spec = write_program(dir.path(), "only-stdio.yaml", ONLY_STDIO_SPEC);
    let program = write_program(dir.path(), "lists.py", LISTS_ITS_FILES);
    let leaked = std::fs::File::open(&spec).expect("open");
    // SAFETY: clears close-on-exec on a descriptor this test owns, so the
    // runner inherits it.
    unsafe { nix::libc::fcntl(leaked.as_raw_fd(), nix::libc::F_SETFD, 0) };
    let (code, report) = run_spec_file(&spec, &program);
    assert_eq!(code, 0, "{report:#}");

    let addr = format!("{}:9000", private_loopback_ip());
    let submissions = dir.path().join("submissions");
    for student in ["ann", "bob", "cat", "dan", "eve", "fay"] {
        let folder = submissions.join(student);
        std::fs::create_dir_all(&folder).expect("mkdir");
        std::fs::write(folder.join("lists.py"), LISTS_ITS_FILES).expect("write");
    }
    let out = dir.path().join("out");
    let graded = runner()
        .arg("grade")
        .arg(&spec)
        .arg("--submissions")
        .arg(&submissions)
        .args([
            "--file", "lists.py", "--addr", &addr, "--jobs", "6", "--out",
        ])
        .arg(&out)
        .output()
        .expect("runner runs");
    let grades = std::fs::read_to_string(out.join("grades.csv")).unwrap_or_else(|e| {
        panic!(
            "no grades.csv ({e}): {}",
            String::from_utf8_lossy(&graded.stderr)
        )
    });
    assert_eq!(grades.lines().count(), 7, "{grades}");
    for row in grades.lines().skip(1) {
        assert!(row.contains(",1,1,graded,1,"), "{row}\n{grades}");
    }
    drop(leaked);
}
