//! The teacher's machine stays the teacher's: a target reaches nothing of
//! the machine it is graded on beyond its own sandbox. Each test runs a
//! hostile program (fixtures/python/hostile/) under the runner, and where
//! the attack can be shown outside it, the same program without the runner
//! first (a control) to prove the attack is real:
//!
//! - the terminal the runner was started from: a program in the runner's
//!   session could type into it with TIOCSTI (the kernel here allows it),
//!   send it Ctrl-C, switch its echo off or take its foreground;
//! - signals: a child's `kill(0, SIGSTOP)` and `kill(-1, SIGKILL)` stop
//!   or kill nothing outside the sandbox;
//! - keyrings: the session keyring the runner inherited is out of reach,
//!   and the keyring system calls are refused.
//!
//! Each runs with the runner as root and as an unprivileged user (not
//! `nobody`: a uid of its own, so its keyrings and processes are the
//! test's alone).

mod common;

use common::*;
use nix::libc;
use rstest::rstest;
use std::ffi::CString;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The unprivileged user the runner runs as in the non-root cases.
const USER: u32 = 4242;

/// Longest a run may take before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(60);

fn hostile(name: &str) -> PathBuf {
    root().join("fixtures/python/hostile").join(name)
}

fn unique(what: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `program ARGS` as root, or as `USER` through setpriv.
fn as_user(as_root: bool, program: &Path, args: &[&str]) -> Command {
    let mut command = if as_root {
        Command::new(program)
    } else {
        let mut command = Command::new("setpriv");
        command
            .arg(format!("--reuid={USER}"))
            .arg(format!("--regid={USER}"))
            .arg("--clear-groups")
            .arg(program);
        command
    };
    command.args(args);
    command
}

/// The runner binary, as root or as `USER`.
fn runner_binary(as_root: bool, args: &[&str]) -> Command {
    as_user(as_root, &assert_cmd::cargo::cargo_bin("runner"), args)
}

/// The system python3 (a version manager's shim may not work for `USER`).
fn python() -> &'static Path {
    Path::new("/usr/bin/python3")
}

/// What a finished child printed, and how it ended.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Waits for `child` until RUN_LIMIT, killing it if it takes longer.
fn wait_limited(mut child: Child) -> Ran {
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("still running after {RUN_LIMIT:?}");
        }
        wait_for_exit(child.id() as i32, deadline);
    };
    let read = |pipe: Option<&mut dyn std::io::Read>| {
        let mut text = String::new();
        if let Some(pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    };
    let stdout = read(child.stdout.as_mut().map(|p| p as &mut dyn std::io::Read));
    let stderr = read(child.stderr.as_mut().map(|p| p as &mut dyn std::io::Read));
    Ran {
        code: status.code(),
        stdout,
        stderr,
    }
}

/// Runs `command` to its end (its output must fit the pipes: a report).
fn run(mut command: Command) -> Ran {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    wait_limited(child)
}

/// The JSON report of a run, with its greeting case's verdict.
fn verdict_of(ran: &Ran, case: &str) -> (serde_json::Value, String, String) {
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); exit {:?}\nstdout: {}\nstderr: {}",
            ran.code, ran.stdout, ran.stderr
        )
    });
    let (verdict, message) = verdicts(&report)
        .remove(case)
        .unwrap_or_else(|| panic!("no case {case} in {report:#}"));
    (report, verdict, message)
}

fn stdout_tail(report: &serde_json::Value) -> String {
    report["results"][0]["stdout_tail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The runner's arguments for the greeting case of tcp-upper-server
/// against `python3 PROGRAM {host} {port} ARGS`.
fn greeting_args(program: &Path, args: &[&str]) -> Vec<String> {
    let mut target = format!(
        "{} {} {{host}} {{port}}",
        python().display(),
        program.display()
    );
    for arg in args {
        target.push_str(&format!(" '{arg}'"));
    }
    let addr = format!("{}:8900", private_loopback_ip());
    [
        spec("tcp-upper-server").as_str(),
        "--case",
        "greeting",
        "--target",
        &target,
        "--addr",
        &addr,
        "--format",
        "json",
    ]
    .map(String::from)
    .to_vec()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

// 1. The terminal.

/// A pseudo-terminal the test plays the teacher's terminal with.
struct Terminal {
    master: OwnedFd,
    slave: OwnedFd,
}

impl Terminal {
    fn open() -> Terminal {
        use nix::fcntl::OFlag;
        let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        let master = nix::pty::posix_openpt(flags).expect("posix_openpt");
        nix::pty::grantpt(&master).expect("grantpt");
        nix::pty::unlockpt(&master).expect("unlockpt");
        let name = nix::pty::ptsname_r(&master).expect("ptsname");
        let slave = nix::fcntl::open(
            name.as_str(),
            flags | OFlag::O_NONBLOCK,
            nix::sys::stat::Mode::empty(),
        )
        .expect("open the slave");
        // SAFETY: open returned a new descriptor that nothing else owns.
        let slave = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(slave) };
        // SAFETY: the master is a descriptor nothing else owns.
        let master =
            unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(master.into_raw_fd()) };
        Terminal { master, slave }
    }

    /// `command`, started as the leader of a new session whose
    /// controlling terminal (and stdin) this is, as a shell starts a
    /// program the teacher types.
    fn start(&self, mut command: Command) -> Child {
        let slave = self.slave.try_clone().expect("dup");
        command
            .stdin(Stdio::from(slave))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: only system calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                nix::unistd::setsid()?;
                if libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        command.spawn().expect("starts")
    }

    /// What is waiting in the terminal's input: typed, and not read yet.
    fn pending_input(&self) -> String {
        let mut buffer = [0u8; 4096];
        match nix::unistd::read(self.slave.as_raw_fd(), &mut buffer) {
            Ok(n) => String::from_utf8_lossy(&buffer[..n]).into_owned(),
            Err(_) => String::new(),
        }
    }

    fn mode(&self) -> nix::sys::termios::Termios {
        nix::sys::termios::tcgetattr(&self.slave).expect("tcgetattr")
    }
}

/// The parts of a terminal's mode that a program could change.
fn mode_summary(mode: &nix::sys::termios::Termios) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?}",
        mode.input_flags,
        mode.output_flags,
        mode.control_flags,
        mode.local_flags,
        mode.control_chars
    )
}

#[rstest]
#[case::as_root(true)]
#[case::as_user(false)]
fn a_target_cannot_type_into_or_take_over_the_teachers_terminal(#[case] as_root: bool) {
    let program = hostile("terminal_takeover.py");

    // Control: run from the terminal itself, the program types a command
    // into it and switches its echo off.
    let terminal = Terminal::open();
    let typed = unique("echo control");
    let control = wait_limited(terminal.start(as_user(
        as_root,
        python(),
        &[&program.display().to_string(), "attack-only", "-", &typed],
    )));
    assert!(
        terminal.pending_input().contains(&typed),
        "outside the runner, the program should type into its terminal: {}{}",
        control.stdout,
        control.stderr
    );
    assert!(
        !terminal
            .mode()
            .local_flags
            .contains(nix::sys::termios::LocalFlags::ECHO),
        "outside the runner, the program should turn the echo off"
    );

    // The runner started from a terminal, grading the same program.
    let terminal = Terminal::open();
    let before = mode_summary(&terminal.mode());
    let typed = unique("echo graded");
    let args = greeting_args(&program, &[&typed]);
    let ran = wait_limited(terminal.start(runner_binary(as_root, &strs(&args))));
    let (report, verdict, message) = verdict_of(&ran, "greeting");
    assert_eq!(
        verdict,
        "pass",
        "{message}\nstdout of the target: {}\nstderr: {}",
        stdout_tail(&report),
        ran.stderr
    );
    assert_eq!(ran.code, Some(0), "the grading was interrupted: {report:#}");
    assert!(
        stdout_tail(&report).contains("no terminal:"),
        "{}",
        stdout_tail(&report)
    );
    assert_eq!(
        terminal.pending_input(),
        "",
        "input arrived at the terminal"
    );
    assert_eq!(
        mode_summary(&terminal.mode()),
        before,
        "the terminal's mode changed"
    );
}

/// A server that listens and never answers: a case that would wait for
/// it a long time. Once it has its client it says so in the FIFO named
/// by its third argument.
const SILENT_SERVER: &str = r#"
import os, signal, socket, sys
server = socket.socket()
server.bind((sys.argv[1], int(sys.argv[2])))
server.listen(5)
conn, _ = server.accept()
os.write(os.open(sys.argv[3], os.O_WRONLY), b"accepted")
signal.pause()
"#;

const PATIENT_SPEC: &str = r#"
spec: patient
title: waits a long time for a reply
target: { role: server, transport: tcp }
defaults: { timeout: 120s }
cases:
  - id: waits
    about: replies, eventually
    steps:
      - connect: a
      - send: { on: a, text: "hello" }
      - recv: { on: a, text: "HELLO" }
"#;

/// The teacher's own Ctrl-C still stops a grading: the runner stays the
/// terminal's foreground process group, its targets are not in it.
#[rstest]
#[case::as_root(true)]
#[case::as_user(false)]
fn ctrl_c_typed_at_the_teachers_terminal_still_stops_a_grading(#[case] as_root: bool) {
    let dir = world_readable_tempdir();
    let spec = write_program(dir.path(), "patient.yaml", PATIENT_SPEC);
    let marker = unique("silent");
    let program = write_program(dir.path(), &format!("{marker}.py"), SILENT_SERVER);
    // Where the target says it is waiting on its client: opened for
    // reading first, so that its writer never waits for a reader.
    let accepted = dir.path().join("accepted");
    nix::unistd::mkfifo(&accepted, nix::sys::stat::Mode::from_bits_truncate(0o666))
        .expect("mkfifo");
    std::fs::set_permissions(
        &accepted,
        std::os::unix::fs::PermissionsExt::from_mode(0o666),
    )
    .expect("chmod");
    let said = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&accepted)
        .expect("the FIFO");
    let target = format!(
        "{} {} {{host}} {{port}} {}",
        python().display(),
        program.display(),
        accepted.display()
    );
    let addr = format!("{}:9000", private_loopback_ip());
    let terminal = Terminal::open();
    let child = terminal.start(runner_binary(
        as_root,
        &[
            &spec.display().to_string(),
            "--target",
            &target,
            "--addr",
            &addr,
            "--format",
            "json",
        ],
    ));
    let mut ready = [nix::poll::PollFd::new(
        std::os::fd::AsFd::as_fd(&said),
        nix::poll::PollFlags::POLLIN,
    )];
    let waited = nix::poll::poll(&mut ready, nix::poll::PollTimeout::from(20_000u16));
    assert_eq!(waited, Ok(1), "the target never had its client");
    let typed = Instant::now();
    nix::unistd::write(&terminal.master, b"\x03").expect("type Ctrl-C");
    let ran = wait_limited(child);
    assert_eq!(
        ran.code,
        Some(130),
        "stdout: {}\nstderr: {}",
        ran.stdout,
        ran.stderr
    );
    assert!(
        typed.elapsed() < Duration::from_secs(10),
        "took {:?}",
        typed.elapsed()
    );
    assert!(
        wait_until_gone(&marker, Duration::from_secs(5)),
        "the target outlived the run"
    );
}

// 2. Signals.

const SIGNAL_SPEC: &str = r#"
spec: serves-and-exits
title: a one-shot server serves once and exits
target: { role: server, transport: tcp }
defaults: { timeout: 5s }
cases:
  - id: serves-and-exits
    about: replies upper-cased, closes, and exits with code 0
    steps:
      - connect: a
      - send: { on: a, text: "hello" }
      - recv: { on: a, text: "HELLO" }
      - eof: a
      - exit: { code: 0 }
"#;

#[rstest]
#[case::as_root(true)]
#[case::as_user(false)]
fn a_target_signals_nothing_outside_its_sandbox(#[case] as_root: bool) {
    let dir = world_readable_tempdir();
    let spec = write_program(dir.path(), "serves-and-exits.yaml", SIGNAL_SPEC);
    // A process of the runner's own user, outside any sandbox.
    let mut bystander = as_user(as_root, Path::new("/bin/sleep"), &["600"])
        .spawn()
        .expect("sleep starts");
    let target = format!(
        "{} {} {{host}} {{port}}",
        python().display(),
        hostile("signal_group.py").display()
    );
    let addr = format!("{}:9000", private_loopback_ip());
    let started = Instant::now();
    let ran = run(runner_binary(
        as_root,
        &[
            &spec.display().to_string(),
            "--target",
            &target,
            "--addr",
            &addr,
            "--format",
            "json",
        ],
    ));
    let took = started.elapsed();
    let alive = bystander.try_wait().expect("wait").is_none();
    let _ = bystander.kill();
    let _ = bystander.wait();
    let (report, verdict, message) = verdict_of(&ran, "serves-and-exits");
    let tail = stdout_tail(&report);
    assert_eq!(
        verdict, "pass",
        "{message}\nstdout of the target: {tail}\nstderr: {}",
        ran.stderr
    );
    assert_eq!(ran.code, Some(0), "{report:#}");
    assert!(
        tail.contains("child stopped"),
        "the attack did not run: {tail}"
    );
    assert!(alive, "kill(-1) reached a process outside the sandbox");
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

// 3. Keyrings.

/// keyctl's operation and add_key's keyring: see keyrings(7).
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;

/// Starts `command` in a session keyring of its own holding a key named
/// `secret`, as a teacher's login keyring holds credentials.
fn with_secret_key(mut command: Command, secret: &str) -> Command {
    let kind = CString::new("user").expect("no NUL");
    let name = CString::new(secret).expect("no NUL");
    // SAFETY: only system calls on strings made before the fork.
    unsafe {
        command.pre_exec(move || {
            if libc::syscall(
                libc::SYS_keyctl,
                KEYCTL_JOIN_SESSION_KEYRING,
                std::ptr::null::<libc::c_char>(),
            ) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            let payload = b"hunter2";
            if libc::syscall(
                libc::SYS_add_key,
                kind.as_ptr(),
                name.as_ptr(),
                payload.as_ptr(),
                payload.len(),
                KEY_SPEC_SESSION_KEYRING,
            ) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

#[rstest]
#[case::as_root(true)]
#[case::as_user(false)]
fn a_target_starts_with_an_empty_keyring_and_cannot_use_keyrings(#[case] as_root: bool) {
    let program = hostile("keyring_probe.py");
    let secret = unique("teacher-secret");

    // Control: the same program, started without the runner, sees the key
    // and may add one.
    let control = run(with_secret_key(
        as_user(
            as_root,
            python(),
            &[&program.display().to_string(), "attack-only", "-"],
        ),
        &secret,
    ));
    assert!(
        control.stdout.contains(&secret) && control.stdout.contains("add_key: added"),
        "outside the runner, the program should see the key and add one: {}{}",
        control.stdout,
        control.stderr
    );

    let args = greeting_args(&program, &[]);
    let ran = run(with_secret_key(
        runner_binary(as_root, &strs(&args)),
        &secret,
    ));
    let (report, verdict, message) = verdict_of(&ran, "greeting");
    let tail = stdout_tail(&report);
    assert_eq!(
        verdict, "pass",
        "{message}\nstdout of the target: {tail}\nstderr: {}",
        ran.stderr
    );
    assert_eq!(ran.code, Some(0));
    assert!(
        !ran.stdout.contains(&secret) && !ran.stderr.contains(&secret),
        "{tail}"
    );
    assert!(tail.contains("add_key: EPERM"), "{tail}");
    assert!(tail.contains("keyctl: EPERM"), "{tail}");
}
