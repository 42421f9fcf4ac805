//! Waiting for a server to listen: the runner finds its socket however it
//! binds (IPv4, IPv6 dual-stack as Node does, IPv4-mapped as a JVM does),
//! and waiting costs it next to nothing, however many processes and
//! descriptors the target holds.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A correct one-shot upper-case server that binds as MODE says.
const FORMS: &str = r#"
import socket, sys
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "ipv4":
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind((host, port))
else:
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    server.bind(("::" if mode == "dual-stack" else "::ffff:" + host, port))
server.listen(5)
conn, _ = server.accept()
conn.sendall(conn.recv(1024).upper())
conn.close()
server.close()
"#;

#[test]
fn a_server_is_found_listening_on_ipv4_dual_stack_ipv6_and_ipv4_mapped() {
    let dir = world_readable_tempdir();
    let program = write_program(dir.path(), "server.py", FORMS);
    for mode in ["ipv4", "dual-stack", "ipv4-mapped"] {
        let target = format!("python3 {} {mode} {{host}} {{port}}", program.display());
        let (code, report) = run_greeting(&target, &[]);
        let (verdict, message) = &verdicts(&report)["greeting"];
        assert_eq!(verdict, "pass", "{mode}: {message}");
        assert_eq!(code, 0, "{mode}");
    }
}

/// utime + stime of `pid` and its state, from /proc/PID/stat.
fn cpu_and_state(pid: u32) -> Option<(Duration, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text[text.rfind(')')? + 2..].split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let per_second = clock_ticks_per_second();
    let state = fields.first()?.chars().next()?;
    Some((Duration::from_millis(ticks * 1000 / per_second), state))
}

/// The unit of /proc/PID/stat's times.
fn clock_ticks_per_second() -> u64 {
    let output = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf runs");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("getconf prints CLK_TCK")
}

#[test]
fn waiting_for_a_server_that_never_listens_costs_the_runner_little_cpu() {
    let hoarder = root().join("fixtures/python/hostile/fd_hoarder.py");
    let report_file = tempfile::NamedTempFile::new().expect("temp file");
    let started = Instant::now();
    // Ahead of everything else on the machine (the tests run as root): a
    // runner that keeps walking /proc then gets all the CPU it asks for,
    // however busy a shared machine is, and the bound below tells.
    let mut runner = Command::new("nice")
        .args(["-n", "-19"])
        .arg(assert_cmd::cargo::cargo_bin("runner"))
        .args([
            &spec("tcp-upper-server"),
            "--case",
            "greeting",
            "--target",
            &format!("python3 {} {{host}} {{port}}", hoarder.display()),
            "--format",
            "json",
        ])
        .stdout(report_file.reopen().expect("reopen"))
        .stderr(Stdio::null())
        .spawn()
        .expect("runner starts");
    // The runner's own CPU time (not its children's): read once it has
    // ended and is a zombie, whose /proc/PID/stat holds its totals, then
    // reaped.
    let deadline = started + Duration::from_secs(60);
    assert!(
        wait_for_exit(runner.id() as i32, deadline),
        "the runner took over 60 s"
    );
    let wall = started.elapsed();
    let (cpu, state) = cpu_and_state(runner.id()).expect("the runner's totals");
    assert_eq!(state, 'Z');
    runner.wait().expect("reaped");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report_file.path()).expect("read"))
            .expect("a JSON report");
    let (verdict, message) = &verdicts(&report)["greeting"];
    assert_eq!(verdict, "fail", "{message}");
    assert!(message.contains("was not listening"), "{message}");
    let stdout = report["results"][0]["stdout_tail"].as_str().unwrap_or("");
    assert!(
        stdout.contains("holding") && stdout.contains("in 60 processes"),
        "the target did not set up its descriptors: {stdout}"
    );
    // Start-up, the sandbox and the stop cost some; waiting 5 s must not
    // (walking /proc every few milliseconds cost most of a CPU).
    assert!(
        cpu < wall / 5,
        "the runner used {cpu:?} of CPU in {wall:?} while the target never listened"
    );
}
