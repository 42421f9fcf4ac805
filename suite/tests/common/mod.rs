//! Helpers shared by the end-to-end tests: the real `runner` and `fixture`
//! binaries, JSON reports, and student programs on private addresses.

#![allow(dead_code)]

pub mod reports;

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// The workspace root (specs/, fixtures/ live here).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("suite/ is inside the workspace")
        .to_path_buf()
}

pub fn spec(name: &str) -> String {
    root()
        .join("specs")
        .join(format!("{name}.yaml"))
        .display()
        .to_string()
}

/// The `runner` binary built by `cargo test --workspace`.
pub fn runner() -> Command {
    let mut command =
        Command::cargo_bin("runner").expect("run `cargo test --workspace` so the runner is built");
    command.timeout(std::time::Duration::from_secs(120));
    command
}

/// A command line running the mutant (or reference) `name` of the
/// `fixture` binary on the runner's chosen address.
pub fn fixture_target(name: &str) -> String {
    let binary = assert_cmd::cargo::cargo_bin("fixture");
    assert!(
        binary.exists(),
        "run `cargo test --workspace` so the fixtures are built"
    );
    format!("{} {name} {{host}} {{port}}", binary.display())
}

/// Runs `args` with `--format json` and returns the exit code and report.
pub fn run_json(args: &[&str]) -> (i32, Value) {
    let output = runner()
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runner runs");
    let code = output.status.code().expect("runner exits normally");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (code, report)
}

/// case id -> (verdict, message) of a JSON report.
pub fn verdicts(report: &Value) -> BTreeMap<String, (String, String)> {
    report["results"]
        .as_array()
        .expect("results is an array")
        .iter()
        .map(|r| {
            (
                r["case"].as_str().expect("case").to_string(),
                (
                    r["verdict"].as_str().expect("verdict").to_string(),
                    r["message"].as_str().expect("message").to_string(),
                ),
            )
        })
        .collect()
}

/// The ids of the cases that did not pass.
pub fn failing(report: &Value) -> Vec<String> {
    verdicts(report)
        .into_iter()
        .filter(|(_, (verdict, _))| verdict != "pass")
        .map(|(case, _)| case)
        .collect()
}

/// The exit code a run with `report` ends with: 1 when a case that counts
/// did not pass, 0 when only informational ones did not.
pub fn expected_code(report: &Value) -> i32 {
    let counted_failure = report["results"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .any(|r| r["verdict"] != "pass" && r["level"] != "informational")
        })
        .unwrap_or(false);
    i32::from(counted_failure)
}

/// A loopback address no other test of this run uses, so tests that run
/// hard-coded-address programs can run in parallel.
pub fn private_loopback_ip() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    format!(
        "127.{}.{}.{}",
        100 + pid % 100,
        (pid / 100) % 250 + 1,
        n % 250 + 1
    )
}

/// Copies the student-style program `fixtures/RELATIVE` (e.g.
/// `python/upper_server.py`) into `dir`, moving its hard-coded IP `from_ip`
/// to `to_ip`; returns the copy's path.
pub fn student_program(relative: &str, dir: &Path, from_ip: &str, to_ip: &str) -> PathBuf {
    let source = root().join("fixtures").join(relative);
    let text = std::fs::read_to_string(&source).expect("fixture exists");
    assert!(text.contains(from_ip), "{relative} hard-codes {from_ip}");
    let path = dir.join(source.file_name().expect("a file"));
    std::fs::write(&path, text.replace(from_ip, to_ip)).expect("temp dir is writable");
    path
}

/// Runs the greeting case of tcp-upper-server against `target` with
/// `extra` runner arguments; returns the exit code and the JSON report.
pub fn run_greeting(target: &str, extra: &[&str]) -> (i32, Value) {
    let spec = spec("tcp-upper-server");
    let mut args = vec![spec.as_str(), "--case", "greeting", "--target", target];
    args.extend_from_slice(extra);
    run_json(&args)
}

/// Processes whose command line names `marker`, other than a runner's (whose
/// `--target` names it too).
pub fn processes_named(marker: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|e| {
            let raw = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            (cmdline.contains(marker) && !cmdline.contains("--target")).then_some(cmdline)
        })
        .collect()
}

/// Writes a Python program used as a target into `dir`.
pub fn write_program(dir: &std::path::Path, name: &str, source: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, source).expect("temp dir is writable");
    path
}

/// Runs spec `spec_name` against the student program `fixtures/RELATIVE`,
/// moved from the IP it hard-codes to a private one (port unchanged) and
/// given to the runner with `--addr`.
pub fn run_student_program(
    spec_name: &str,
    relative: &str,
    hard_coded_ip: &str,
    port: u16,
) -> (i32, Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ip = private_loopback_ip();
    let path = student_program(relative, dir.path(), hard_coded_ip, &ip);
    let addr = format!("{ip}:{port}");
    run_json(&[
        &spec(spec_name),
        "--target",
        &path.display().to_string(),
        "--addr",
        &addr,
    ])
}

/// Runs the spec file `spec` against `target` (a path the runner is
/// given with `--target`), reached on a private loopback address; returns
/// the exit code and the JSON report.
pub fn run_spec_file(spec: &Path, target: &Path) -> (i32, Value) {
    let addr = format!("{}:9000", private_loopback_ip());
    run_json(&[
        &spec.display().to_string(),
        "--target",
        &target.display().to_string(),
        "--addr",
        &addr,
    ])
}

/// The address the handout's programs hard-code: TCP programs
/// 127.1.1.1:8900, UDP ones 127.0.0.1:8090. Each target runs in a network
/// namespace of its own, so programs on the same address run side by side.
pub fn hard_coded_addr(spec_name: &str) -> &'static str {
    if spec_name.starts_with("udp-") {
        "127.0.0.1:8090"
    } else {
        "127.1.1.1:8900"
    }
}

/// The ids of a bundled spec's default (untagged) cases, sorted, read
/// from its file.
pub fn default_cases(spec_name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(spec(spec_name)).expect("the spec exists");
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("the spec is YAML");
    let mut cases: Vec<String> = yaml["cases"]
        .as_sequence()
        .expect("cases is a list")
        .iter()
        .filter(|case| case.get("tags").is_none())
        .map(|case| case["id"].as_str().expect("a case id").to_string())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "{spec_name} has default cases");
    cases
}

/// As `run_json`, failing the test if the run took `limit` or longer.
pub fn run_json_within(limit: std::time::Duration, args: &[&str]) -> (i32, Value) {
    let started = std::time::Instant::now();
    let result = run_json(args);
    assert!(started.elapsed() < limit, "took {:?}", started.elapsed());
    result
}

// The runner as root or as an unprivileged user, and what a run leaves.

/// `setpriv`'s arguments that run a command as `nobody`, with no groups.
pub const AS_NOBODY: [&str; 3] = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"];

/// The runner binary started as `nobody` (through `setpriv`), the way a CI
/// job run by a normal user starts it. The binary and the fixtures under
/// the workspace are world-readable.
pub fn runner_as_nobody() -> Command {
    let mut command = Command::new("setpriv");
    command
        .args(AS_NOBODY)
        .arg(assert_cmd::cargo::cargo_bin("runner"))
        .timeout(std::time::Duration::from_secs(120));
    command
}

/// The runner as root (the test's own user) or as `nobody`.
pub fn runner_as(as_root: bool) -> Command {
    if as_root {
        runner()
    } else {
        runner_as_nobody()
    }
}

/// What one runner run printed.
pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The JSON report on stdout (the run was given `--format json`).
    pub fn report(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON report ({e}); exit {}; stdout: {}\nstderr: {}",
                self.code, self.stdout, self.stderr
            )
        })
    }

    /// Everything the run printed, to look for what must not be there.
    pub fn everything(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `command` with `args` to the end.
pub fn finish(mut command: Command, args: &[&str]) -> Finished {
    let output = command.args(args).output().expect("runner runs");
    Finished {
        code: output.status.code().expect("runner exits normally"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A temporary folder any user can read and enter: targets run as another
/// uid than the test.
pub fn world_readable_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod temp dir");
    dir
}

/// Waits until the process `pid` has ended (its pidfd becomes readable)
/// or `deadline` passes; whether it ended.
pub fn wait_for_exit(pid: i32, deadline: std::time::Instant) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let raw = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    if raw < 0 {
        return true; // no such process any more
    }
    // SAFETY: a descriptor pidfd_open just returned, owned by nothing else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    poll(&mut fds, timeout).is_ok_and(|ready| ready > 0)
}

/// Waits until no process `pids_named(marker)` finds is left, each wait
/// on a process's own exit, for at most `limit`; whether none is left.
pub fn wait_until_gone(marker: &str, limit: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = pids_named(marker);
        if left.is_empty() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        for (pid, _) in left {
            wait_for_exit(pid, deadline);
        }
    }
}

/// Pid and command line of the processes whose command line names
/// `marker`, other than a runner's (whose `--target` names it too).
pub fn pids_named(marker: &str) -> Vec<(i32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let raw = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            (cmdline.contains(marker) && !cmdline.contains("--target")).then_some((pid, cmdline))
        })
        .collect()
}

/// SIGKILLs every process `pids_named(marker)` finds, until none is left
/// (a chain may still be starting new ones) or 2 s have passed.
pub fn kill_processes_named(marker: &str) {
    use nix::sys::signal::{kill, Signal};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let left = pids_named(marker);
        if left.is_empty() || std::time::Instant::now() >= deadline {
            return;
        }
        for (pid, _) in &left {
            let _ = kill(nix::unistd::Pid::from_raw(*pid), Signal::SIGKILL);
        }
        for (pid, _) in left {
            wait_for_exit(pid, deadline);
        }
    }
}

// A busy machine, for verdicts that must not depend on load.

/// Keeps every CPU of the machine busy (twice over) while it lives.
pub struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    pub fn start() -> Load {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cpus * 2)
            .map(|_| {
                let stop = std::sync::Arc::clone(&stop);
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        Load { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}
