//! The sandbox every target runs in, tried the way a student would attack
//! it. Each hostile program (fixtures/python/hostile/) is a correct
//! tcp-upper-server except that it first tries one attack: on the next
//! student's program, on another student's files, on the grader's machine,
//! or on the grade itself. Where the attack works it prints the evidence
//! and sends it back instead of the reply, so a test asserts both that the
//! greeting passes and that the evidence is nowhere in the report. Where it
//! can, a test also runs the same attack outside the runner (a control)
//! to show that the sandbox is what stops it.
//!
//! Most tests run twice: with the runner as root (as CI runs it, targets
//! then run as unprivileged uids) and as `nobody` (user namespaces give the
//! same isolation).

mod common;

use common::*;
use rstest::rstest;
use serde_json::Value;

use std::net::TcpListener;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A hostile program of fixtures/python/hostile/.
fn hostile(name: &str) -> PathBuf {
    root().join("fixtures/python/hostile").join(name)
}

/// A name no other test of this run (or of a parallel run) uses, for
/// files, markers on command lines and secrets.
fn unique(what: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs the greeting case against `python3 PROGRAM {host} {port} ARGS...`
/// with `extra` runner arguments, the runner as root or as nobody.
fn greet(as_root: bool, program: &Path, args: &[&str], extra: &[&str]) -> Finished {
    let mut target = format!("python3 {} {{host}} {{port}}", program.display());
    for arg in args {
        target.push(' ');
        target.push_str(arg);
    }
    greet_target(runner_as(as_root), &target, extra)
}

/// Runs the greeting case against the target command `target`.
fn greet_target(command: assert_cmd::Command, target: &str, extra: &[&str]) -> Finished {
    let spec = spec("tcp-upper-server");
    let mut args = vec![
        spec.as_str(),
        "--case",
        "greeting",
        "--target",
        target,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    finish(command, &args)
}

/// Verdict and message of the greeting case.
fn greeting(report: &Value) -> (String, String) {
    verdicts(report)
        .remove("greeting")
        .unwrap_or_else(|| panic!("no greeting case in {report:#}"))
}

/// What the target printed on stdout during the greeting case.
fn stdout_tail(report: &Value) -> String {
    report["results"][0]["stdout_tail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The greeting passed: the attack found nothing to send back.
fn assert_greeting_passes(run: &Finished) -> Value {
    let report = run.report();
    let (verdict, message) = greeting(&report);
    assert_eq!(
        verdict,
        "pass",
        "{message}\nstdout of the target: {}\nstderr of the runner: {}",
        stdout_tail(&report),
        run.stderr
    );
    assert_eq!(run.code, 0, "{report:#}");
    report
}

/// The number a target printed after `label ` (e.g. `visible pids 3`).
fn printed_number(stdout: &str, label: &str) -> Option<u64> {
    stdout.lines().find_map(|line| {
        line.strip_prefix(label)?
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    })
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `python3` as an unprivileged user reaches it: a version manager's shim
/// under /root does not work for them.
fn system_python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// Kills what a test's hostile program may have left, even when the test
/// fails (today's runner leaves them), so that no other test sees them.
struct KillOnDrop(String);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        kill_processes_named(&self.0);
    }
}

/// Removes files a hostile program may have left on the host, and a System
/// V segment, even when the test fails.
struct RemoveOnDrop {
    patterns: Vec<(PathBuf, String)>,
    sysv_key: Option<i32>,
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for (folder, prefix) in &self.patterns {
            for path in files_starting_with(folder, prefix) {
                let _ = std::fs::remove_file(path);
            }
        }
        if let Some(key) = self.sysv_key {
            let _ = std::process::Command::new("ipcrm")
                .args(["-M", &key.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Files of `folder` whose name starts with `prefix`.
fn files_starting_with(folder: &Path, prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the host has a System V shared memory segment with `key`.
fn host_has_sysv_segment(key: i32) -> bool {
    let table = std::fs::read_to_string("/proc/sysvipc/shm").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .any(|line| line.split_whitespace().next() == Some(key.to_string().as_str()))
}

// 1. Nothing outlives its case.

#[test]
fn a_chain_of_daemons_and_a_constructor_fork_do_not_outlive_their_case() {
    let marker = unique("leftover");
    let _cleanup = KillOnDrop(marker.clone());

    // The chain's last link squats the address once the server lets go.
    let ip = private_loopback_ip();
    let addr = format!("{ip}:8900");
    let chain = format!(
        "python3 {} {ip} 8900 {marker}",
        hostile("leftover_chain.py").display()
    );
    assert_greeting_passes(&greet_target(runner(), &chain, &["--addr", &addr]));

    // The binary's name carries the marker to its constructor's child.
    let dir = world_readable_tempdir();
    let binary = dir.path().join(format!("constructor-fork-{marker}"));
    let status = std::process::Command::new("cc")
        .arg("-o")
        .arg(&binary)
        .arg(root().join("fixtures/c/constructor_fork.c"))
        .status()
        .expect("a C compiler (cc) is installed");
    assert!(status.success(), "constructor_fork.c compiles");
    let other_ip = private_loopback_ip();
    let forking = format!("{} {other_ip} 8900", binary.display());
    assert_greeting_passes(&greet_target(
        runner(),
        &forking,
        &["--addr", &format!("{other_ip}:8900")],
    ));

    // A process being killed may still be exiting when the runner returns.
    let gone = wait_until_gone(&marker, Duration::from_secs(2));
    assert!(gone, "left behind: {:#?}", pids_named(&marker));

    // The next student's correct server gets the address.
    let next_dir = world_readable_tempdir();
    let next = student_program("python/upper_server.py", next_dir.path(), "127.1.1.1", &ip);
    chmod(&next, 0o644);
    assert_greeting_passes(&greet_target(
        runner(),
        &next.display().to_string(),
        &["--addr", &addr],
    ));
}

// 2. Students do not see each other's folders.

#[rstest]
#[case::as_root(true)]
#[case::as_nobody(false)]
fn a_target_cannot_read_or_list_the_folder_of_another_submission(#[case] as_root: bool) {
    // Root-owned, default umask: how a grader's loop leaves them.
    let submissions = world_readable_tempdir();
    let alice = submissions.path().join("alice");
    let bob = submissions.path().join("bob");
    let secret = unique("bob-secret");
    for folder in [&alice, &bob] {
        std::fs::create_dir(folder).expect("mkdir");
        chmod(folder, 0o755);
    }
    let bob_server = std::fs::read_to_string(root().join("fixtures/python/upper_server.py"))
        .expect("fixture exists");
    for (name, text) in [
        ("server.py", format!("# {secret}\n{bob_server}")),
        ("report.json", format!("{{\"token\": \"{secret}\"}}\n")),
    ] {
        let path = bob.join(name);
        std::fs::write(&path, text).expect("write");
        chmod(&path, 0o644);
    }
    let program = alice.join("server.py");
    std::fs::copy(hostile("read_siblings.py"), &program).expect("copy");
    chmod(&program, 0o644);
    let bob_path = bob.display().to_string();

    // Control: any other unprivileged user reads bob's files.
    let control = std::process::Command::new("setpriv")
        .args(AS_NOBODY)
        .arg(system_python())
        .arg(&program)
        .args(["attack-only", "-", &bob_path])
        .current_dir(&alice)
        .output()
        .expect("setpriv runs");
    let control_stdout = String::from_utf8_lossy(&control.stdout);
    assert!(
        control_stdout.contains(&secret),
        "outside the runner, the attack should read bob's files: {control_stdout}{}",
        String::from_utf8_lossy(&control.stderr)
    );

    let run = greet(as_root, &program, &[&bob_path], &[]);
    assert_greeting_passes(&run);
    assert!(!run.everything().contains(&secret), "{}", run.stdout);
}

// 3. Temporary folders and System V IPC are private to one target.

#[rstest]
#[case::as_root(true)]
#[case::as_nobody(false)]
fn what_a_target_leaves_in_temporary_folders_is_gone_for_the_next(#[case] as_root: bool) {
    let marker = unique("planted");
    // Below 2^31 (a key_t), distinct per test process and case.
    let key = 0x5100_0000 + ((std::process::id() & 0xffff) << 8) as i32 + i32::from(as_root);
    let places = ["/tmp", "/var/tmp", "/dev/shm"];
    let _cleanup = RemoveOnDrop {
        patterns: places
            .iter()
            .map(|p| (PathBuf::from(p), marker.clone()))
            .collect(),
        sysv_key: Some(key),
    };
    let program = hostile("tmp_persistence.py");
    let key_text = key.to_string();

    let planted = assert_greeting_passes(&greet(
        as_root,
        &program,
        &["plant", &marker, &key_text],
        &[],
    ));
    // Its own /tmp, /var/tmp and /dev/shm are writable.
    let planted = stdout_tail(&planted);
    for place in places {
        assert!(
            planted.contains(&format!("planted {place}/{marker}")),
            "{place} should be writable: {planted}"
        );
    }
    assert!(planted.contains("planted sysv"), "{planted}");

    let checked = greet(as_root, &program, &["check", &marker, &key_text], &[]);
    assert_greeting_passes(&checked);
    assert!(!checked.stdout.contains("LEAKED"), "{}", checked.stdout);

    for place in places {
        let path = Path::new(place).join(&marker);
        assert!(!path.exists(), "{} reached the host", path.display());
    }
    assert!(
        !host_has_sysv_segment(key),
        "the System V segment {key} reached the host"
    );
}

// 4. /proc shows a target its own processes only.

#[rstest]
#[case::as_root(true)]
#[case::as_nobody(false)]
fn a_target_sees_only_its_own_processes_and_not_the_runner(#[case] as_root: bool) {
    let run = greet(as_root, &hostile("proc_scan.py"), &[], &[]);
    let report = assert_greeting_passes(&run);
    let stdout = stdout_tail(&report);
    let visible = printed_number(&stdout, "visible pids").expect("the scan reports a count");
    // Itself and, at most, the sandbox's init.
    assert!(visible <= 2, "sees {visible} processes: {stdout}");
}

// 5. The runner's own reference cannot stand in for the submission.

#[rstest]
#[case::as_root(true)]
#[case::as_nobody(false)]
fn a_target_cannot_start_the_bundled_reference_in_its_place(#[case] as_root: bool) {
    let runner_path = assert_cmd::cargo::cargo_bin("runner");
    let runner_text = runner_path.display().to_string();

    // Control: given as the target itself, the command does serve the
    // greeting (the runner waits for it to listen).
    let reference = format!("{runner_text} __reference upper-server {{host}} {{port}}");
    assert_greeting_passes(&greet_target(runner_as(as_root), &reference, &[]));

    let run = greet(
        as_root,
        &hostile("reference_cheat.py"),
        &[&runner_text],
        &[],
    );
    let report = run.report();
    let (verdict, message) = greeting(&report);
    let stdout = stdout_tail(&report);
    assert!(
        stdout.contains("trying the bundled reference"),
        "the cheat ran: {stdout}\n{message}"
    );
    assert_eq!(verdict, "fail", "the cheat passed: {stdout}");
    assert_eq!(run.code, 1);
}

// 5a. A bundled reference runs in the process its sandbox forked for the
// program, which is the runner already, without an exec: it must be left
// as the exec left it.

/// A spec whose one case holds the bundled upper-server, connected, for
/// two seconds before its exchange.
const HELD_REFERENCE: &str = "\
spec: held-reference
title: the bundled reference, held
about: a reference that waits on its client long enough to be looked at
target:
  role: server
  transport: tcp
  reference: upper-server
cases:
  - id: held
    about: replies after two seconds of waiting
    steps:
      - connect: a
      - quiet: { on: a, for: 2s }
      - send: { on: a, text: \"hello\" }
      - recv: { on: a, text: \"HELLO\" }
";

/// The processes below `pid`.
fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut parents = vec![pid];
    while let Some(parent) = parents.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                found.push(child);
                parents.push(child);
            }
        }
    }
    found
}

/// What the kernel shows of a sandbox's program: its /proc status, name,
/// the owner of its /proc files (root's unless it is dumpable), and where
/// each of its descriptors points.
struct ProgramProcess {
    status: String,
    comm: String,
    owner: u32,
    fds: Vec<(u32, String)>,
}

impl ProgramProcess {
    /// The process below `runner` that is a sandbox's program (pid 2
    /// inside: the init's first child), once it has a socket open.
    fn below(runner: u32) -> Option<ProgramProcess> {
        use std::os::unix::fs::MetadataExt;
        descendants(runner).into_iter().find_map(|pid| {
            let proc_ = PathBuf::from(format!("/proc/{pid}"));
            let status = std::fs::read_to_string(proc_.join("status")).ok()?;
            let inside = status.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
            if inside.split_whitespace().nth(1) != Some("2") {
                return None;
            }
            let mut fds = Vec::new();
            for entry in std::fs::read_dir(proc_.join("fd")).ok()?.flatten() {
                let fd = entry.file_name().to_str()?.parse().ok()?;
                let to = std::fs::read_link(entry.path()).ok()?;
                fds.push((fd, to.display().to_string()));
            }
            fds.sort();
            fds.iter()
                .any(|(fd, to)| *fd > 2 && to.starts_with("socket:"))
                .then(|| ProgramProcess {
                    comm: std::fs::read_to_string(proc_.join("comm"))
                        .unwrap_or_default()
                        .trim_end()
                        .to_string(),
                    owner: std::fs::metadata(proc_.join("status")).map_or(u32::MAX, |m| m.uid()),
                    status,
                    fds,
                })
        })
    }

    /// The first value of `field` in the status.
    fn field(&self, field: &str) -> &str {
        self.status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.split_whitespace().next())
            .unwrap_or_else(|| panic!("no {field} in {}", self.status))
    }

    fn mask(&self, field: &str) -> u64 {
        u64::from_str_radix(self.field(field), 16).expect("a hexadecimal mask")
    }
}

/// A runner started in the background, killed if a failed test leaves it
/// running.
struct Started(Option<std::process::Child>);

impl Started {
    fn child(&mut self) -> &mut std::process::Child {
        self.0.as_mut().expect("not waited for yet")
    }

    /// Waits for its end and what it printed.
    fn output(mut self) -> std::process::Output {
        let child = self.0.take().expect("not waited for yet");
        child.wait_with_output().expect("runner ends")
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The runner, as root or as nobody, started in the background on the
/// spec `text` (written to a folder nobody can read) with `args`, its
/// JSON report on stdout.
fn start_on_spec(as_root: bool, text: &str, args: &[&str]) -> (Started, tempfile::TempDir) {
    let folder = world_readable_tempdir();
    let spec = folder.path().join("spec.yaml");
    std::fs::write(&spec, text).expect("write");
    chmod(&spec, 0o644);
    let runner = assert_cmd::cargo::cargo_bin("runner");
    let mut command = if as_root {
        std::process::Command::new(&runner)
    } else {
        let mut command = std::process::Command::new("setpriv");
        command.args(AS_NOBODY).arg(&runner);
        command
    };
    command
        .arg(&spec)
        .args(["--format", "json"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    (
        Started(Some(command.spawn().expect("runner starts"))),
        folder,
    )
}

/// The program of the case `run` holds its reference in, once seen.
/// No event says a process opened a socket: between looks, the test waits
/// on the runner's own end (its pidfd), for 10 ms at most.
fn held_program(run: &mut Started) -> ProgramProcess {
    // The runner waits up to 10 s for a sandbox to start its program, and
    // the case lasts two seconds.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let runner_pid = run.child().id() as i32;
    loop {
        if let Some(seen) = ProgramProcess::below(runner_pid as u32) {
            return seen;
        }
        let next_look = std::time::Instant::now() + Duration::from_millis(10);
        if next_look > deadline || wait_for_exit(runner_pid, next_look) {
            panic!("no reference with a socket open was seen below the runner");
        }
    }
}

/// Waits for the end of `run` and asserts that each of `cases` passed.
fn assert_cases_pass(run: Started, cases: &[&str]) {
    let output = run.output();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no report ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let verdicts = verdicts(&report);
    for case in cases {
        assert_eq!(
            verdicts[*case].0,
            "pass",
            "{case}: {report:#}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[rstest]
#[case::as_root(true)]
#[case::as_nobody(false)]
fn a_bundled_reference_runs_as_its_exec_would_have_left_it(#[case] as_root: bool) {
    let (mut run, _folder) = start_on_spec(as_root, HELD_REFERENCE, &[]);
    let seen = held_program(&mut run);
    // Its own name, as an exec names a process.
    assert_eq!(seen.comm, "runner");
    // Nothing but stdio and its own sockets: the error channel closed
    // before the reference started, and nothing of the init's is left.
    let others: Vec<_> = seen
        .fds
        .iter()
        .filter(|(fd, to)| *fd > 2 && !to.starts_with("socket:"))
        .collect();
    assert!(others.is_empty(), "descriptors left open: {:?}", seen.fds);
    // SIGPIPE ignored, as a Rust program starts (a write to a client gone
    // fails with EPIPE), no signal blocked.
    let sigpipe = 1 << (nix::libc::SIGPIPE - 1);
    assert_ne!(seen.mask("SigIgn") & sigpipe, 0, "{}", seen.status);
    assert_eq!(seen.mask("SigBlk"), 0, "{}", seen.status);
    // No capability (as root, the uid changed; as nobody, the helper's are
    // given up as the exec gave them up), confined as a student's program.
    assert_eq!(seen.mask("CapEff"), 0, "{}", seen.status);
    assert_eq!(seen.mask("CapPrm"), 0, "{}", seen.status);
    assert_eq!(seen.field("NoNewPrivs"), "1", "{}", seen.status);
    assert_eq!(seen.field("Seccomp"), "2", "{}", seen.status);
    // Dumpable, as after the exec of a program its uid can read: its /proc
    // files are its own uid's.
    assert_eq!(seen.owner.to_string(), seen.field("Uid"), "{}", seen.status);
    assert_cases_pass(run, &["held"]);
}

/// A second case for `HELD_REFERENCE`'s spec, which replies at once.
const GREETED_CASE: &str = "  - id: greeted
    about: replies at once
    steps:
      - connect: a
      - send: { on: a, text: \"again\" }
      - recv: { on: a, text: \"AGAIN\" }
";

/// The runner's child that forks each sandbox's helper, by its name.
fn sandbox_starter_of(runner: u32) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{runner}/task/{runner}/children"))
        .unwrap_or_default();
    children
        .split_whitespace()
        .filter_map(|c| c.parse::<u32>().ok())
        .find(|child| {
            std::fs::read_to_string(format!("/proc/{child}/comm"))
                .is_ok_and(|comm| comm.trim_end() == "sandbox-starter")
        })
}

/// Sandboxes still start once the starter that forks their helpers is
/// gone: the runner spawns each helper itself instead.
#[rstest]
#[case::as_root(true)]
#[case::as_nobody(false)]
fn sandboxes_start_without_their_starter_once_it_is_gone(#[case] as_root: bool) {
    // A deadline runs the cases one after the other: the second starts
    // after the first, held, is over.
    let spec = format!("{HELD_REFERENCE}{GREETED_CASE}");
    let (mut run, _folder) = start_on_spec(as_root, &spec, &["--deadline", "60s"]);
    // While the first case holds its reference, the starter is killed.
    held_program(&mut run);
    let runner_pid = run.child().id();
    let starter = sandbox_starter_of(runner_pid).expect("the runner has a sandbox starter");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(starter as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("the starter is killed");
    assert_cases_pass(run, &["held", "greeted"]);
}

// 5b. A course kept under /opt or /usr/local is the teacher's alone.

/// A course as a teacher may keep it under `root` (`/opt`, `/usr/local`):
/// an assignment file with hidden cases, a class folder with a student's
/// submission, and a copy of the runner. Removed when dropped.
struct Course {
    folder: tempfile::TempDir,
}

impl Course {
    fn under(root: &str, secret: &str) -> Course {
        let folder = tempfile::Builder::new()
            .prefix("runner-test-course-")
            .tempdir_in(root)
            .unwrap_or_else(|e| panic!("a course folder under {root}: {e}"));
        chmod(folder.path(), 0o755);
        let class = folder.path().join("class/alice");
        std::fs::create_dir_all(&class).expect("mkdir");
        chmod(&folder.path().join("class"), 0o755);
        chmod(&class, 0o755);
        for (path, text) in [
            (
                folder.path().join("assignment.yaml"),
                format!("hidden: [{{ id: {secret} }}]\n"),
            ),
            (class.join("server.py"), format!("# {secret}\n")),
        ] {
            std::fs::write(&path, text).expect("write");
            chmod(&path, 0o644);
        }
        copy_runner(&folder.path().join("runner"));
        Course { folder }
    }

    fn path(&self) -> String {
        self.folder.path().display().to_string()
    }

    fn runner(&self) -> String {
        self.folder.path().join("runner").display().to_string()
    }
}

/// A copy of the runner binary at `to`, executable by anyone.
fn copy_runner(to: &Path) {
    std::fs::copy(assert_cmd::cargo::cargo_bin("runner"), to).expect("copy the runner");
    chmod(to, 0o755);
}

#[rstest]
#[case::as_root(true)]
#[case::as_nobody(false)]
fn a_course_under_opt_or_usr_local_is_unseen_and_no_copy_of_the_runner_serves_a_reference(
    #[case] as_root: bool,
) {
    let secret = unique("course-secret");
    let courses = [
        Course::under("/opt", &secret),
        Course::under("/usr/local", &secret),
    ];
    // The student's own folder, with a copy of the runner handed in too.
    let submission = world_readable_tempdir();
    let program = submission.path().join("server.py");
    std::fs::copy(hostile("course_peek.py"), &program).expect("copy");
    chmod(&program, 0o644);
    let own_copy = submission.path().join("runner");
    copy_runner(&own_copy);
    let mut paths: Vec<String> = courses.iter().map(Course::path).collect();
    paths.extend(courses.iter().map(Course::runner));
    paths.push(own_copy.display().to_string());
    // Known to the student, but not named on the command line (the folder
    // of a file named there is shown to the target).
    let listed = submission.path().join("paths.txt");
    std::fs::write(&listed, paths.join("\n")).expect("write");
    chmod(&listed, 0o644);
    let listed = listed.display().to_string();

    // Control: any unprivileged user outside the runner finds the course
    // and gets a bundled reference to serve from every copy.
    let control = std::process::Command::new("setpriv")
        .args(AS_NOBODY)
        .arg(system_python())
        .arg(&program)
        .args(["attack-only", "-", &listed])
        .output()
        .expect("setpriv runs");
    let control_stdout = String::from_utf8_lossy(&control.stdout);
    for course in &courses {
        for evidence in [
            format!("read {}/assignment.yaml", course.path()),
            format!("read {}/class/alice/server.py", course.path()),
            format!(
                "the bundled reference of {} served: b'HELLO'",
                course.runner()
            ),
        ] {
            assert!(
                control_stdout.contains(&evidence),
                "outside the runner: {evidence:?} missing from {control_stdout}{}",
                String::from_utf8_lossy(&control.stderr)
            );
        }
    }
    assert!(control_stdout.contains(&secret), "{control_stdout}");

    let run = greet(as_root, &program, &[&listed], &[]);
    let report = assert_greeting_passes(&run);
    let stdout = stdout_tail(&report);
    assert!(!stdout.contains("LEAKED"), "{stdout}");
    assert!(!run.everything().contains(&secret), "{}", run.stdout);
    // The copy it could see was started, and refused to serve.
    assert!(
        stdout.contains(&format!("{} __reference exited 2", own_copy.display())),
        "{stdout}"
    );
}

// 6. and 7. Root writes and reads nothing through a link.

#[test]
fn an_output_file_that_is_a_symlink_is_refused_and_its_target_kept() {
    let dir = world_readable_tempdir();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").expect("write");
    let link = dir.path().join("report.json");
    symlink(&victim, &link).expect("symlink");

    let run = finish(
        runner(),
        &[
            &spec("tcp-upper-server"),
            "--case",
            "greeting",
            "--format",
            "json",
            "--output",
            &link.display().to_string(),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.everything());
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim is there"),
        "precious\n"
    );
    assert!(link.is_symlink(), "the link is left as it was");
}

/// A root-only file a submission links to, like `server.py -> /etc/shadow`.
fn root_only_secret(secret: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    chmod(dir.path(), 0o700);
    let file = dir.path().join("shadow");
    // Not Python: running it prints this line in the traceback.
    std::fs::write(&file, format!("root:{secret}:19000:0:99999:7:::\n")).expect("write");
    chmod(&file, 0o600);
    (dir, file)
}

#[test]
fn a_submission_that_is_a_symlink_is_refused_and_never_read() {
    let secret = unique("shadow-secret");
    let (_secret_dir, secret_file) = root_only_secret(&secret);
    let dir = world_readable_tempdir();
    let link = dir.path().join("server.py");
    symlink(&secret_file, &link).expect("symlink");

    let run = greet_target(runner(), &link.display().to_string(), &[]);
    assert_eq!(run.code, 2, "{}", run.everything());
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert!(!run.everything().contains(&secret), "{}", run.everything());
}

#[test]
fn a_symlinked_submission_given_to_python_is_refused_or_confined_and_never_read() {
    let secret = unique("shadow-secret");
    let (_secret_dir, secret_file) = root_only_secret(&secret);
    let dir = world_readable_tempdir();
    let link = dir.path().join("server.py");
    symlink(&secret_file, &link).expect("symlink");

    let run = greet(true, &link, &[], &[]);
    // Refused (2), or run where it cannot read the file (1).
    assert!(run.code == 1 || run.code == 2, "{}", run.everything());
    assert!(!run.everything().contains(&secret), "{}", run.everything());
}

// 8. and 9. Limits hold for the sandbox as a whole.

#[test]
fn children_together_stay_under_the_memory_limit_of_the_sandbox() {
    // Six children of 300 MiB each: every one under a per-process limit of
    // 512 MiB, together 1.8 GiB.
    let run = greet(
        true,
        &hostile("memory_children.py"),
        &["300", "6"],
        &["--max-memory", "512MiB"],
    );
    let report = run.report();
    let (verdict, message) = greeting(&report);
    let stdout = stdout_tail(&report);
    if verdict != "pass" {
        assert!(
            message.contains("memory limit"),
            "{verdict}: {message}\n{stdout}"
        );
    }
    // Children may finish one after another as the limit kills the ones
    // before (so count those holding their memory at the same time); or
    // the whole sandbox may be killed before the parent can count.
    match printed_number(&stdout, "held_together") {
        Some(held) => assert!(held < 2, "{held} children held 300 MiB at once: {stdout}"),
        None => assert_ne!(verdict, "pass", "{stdout}"),
    }
}

#[rstest]
#[case::as_root(true)]
#[case::as_nobody(false)]
fn a_disk_filler_fills_only_its_own_small_tmp(#[case] as_root: bool) {
    let marker = unique("filler");
    let _cleanup = RemoveOnDrop {
        patterns: vec![(PathBuf::from("/tmp"), format!("fill-{marker}-"))],
        sysv_key: None,
    };
    let run = greet(as_root, &hostile("disk_filler.py"), &[&marker], &[]);
    let report = assert_greeting_passes(&run);
    let stdout = stdout_tail(&report);
    let filled = printed_number(&stdout, "filled").expect("the filler reports how much");
    // A 64 MiB /tmp by default: most of it usable, never more.
    assert!((48..=65).contains(&filled), "{stdout}");
    let on_host = files_starting_with(Path::new("/tmp"), &format!("fill-{marker}-"));
    assert_eq!(on_host, Vec::<PathBuf>::new(), "the host's /tmp was filled");
}

// 10. No network but its own loopback.

#[rstest]
#[case::as_root(true)]
#[case::as_nobody(false)]
fn a_target_has_no_route_off_the_machine_and_cannot_reach_the_hosts_services(
    #[case] as_root: bool,
) {
    let program = hostile("no_network.py");

    // Control: outside the runner the same program reaches a host service.
    let control_service = TcpListener::bind("127.0.0.1:0").expect("bind");
    let control_port = control_service
        .local_addr()
        .expect("addr")
        .port()
        .to_string();
    let control = std::process::Command::new(system_python())
        .arg(&program)
        .args(["attack-only", "-", &control_port])
        .output()
        .expect("python3 runs");
    let control_stdout = String::from_utf8_lossy(&control.stdout);
    assert!(
        control_stdout.contains("host service: connected"),
        "{control_stdout}"
    );

    let service = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = service.local_addr().expect("addr").port().to_string();
    let run = greet(as_root, &program, &[&port], &[]);
    let report = assert_greeting_passes(&run);
    let stdout = stdout_tail(&report);
    assert!(
        stdout.contains("route off the machine: no, ENETUNREACH"),
        "{stdout}"
    );
    assert_eq!(printed_number(&stdout, "routes"), Some(0), "{stdout}");
    assert!(stdout.contains("host service: not connected"), "{stdout}");
    service.set_nonblocking(true).expect("non-blocking");
    assert!(
        service.accept().is_err(),
        "the host's service got a connection"
    );
}

// 11. A cleared environment, in every mode.

#[rstest]
#[case::as_root(true)]
#[case::as_nobody(false)]
fn the_grading_jobs_environment_reaches_a_target_only_when_passed_on_purpose(
    #[case] as_root: bool,
) {
    let token = unique("secret-token-value");
    let program = hostile("print_env.py");
    let target = format!("python3 {} {{host}} {{port}}", program.display());

    let mut command = runner_as(as_root);
    command.env("SECRET_TOKEN", &token);
    let run = greet_target(command, &target, &[]);
    let report = assert_greeting_passes(&run);
    assert!(
        !run.everything().contains(&token),
        "the token reached the target: {}",
        run.stdout
    );
    let stdout = stdout_tail(&report);
    assert!(
        stdout.contains("ENV HOME=/tmp\n"),
        "HOME should be the private /tmp: {stdout}"
    );
    assert!(stdout.contains("ENV PATH="), "PATH is kept: {stdout}");

    let mut command = runner_as(as_root);
    command.env("SECRET_TOKEN", &token);
    let run = greet_target(
        command,
        &target,
        &["--env", "SECRET_TOKEN", "--env", "GIVEN=on-purpose"],
    );
    let stdout = stdout_tail(&assert_greeting_passes(&run));
    assert!(
        stdout.contains(&format!("ENV SECRET_TOKEN={token}\n")),
        "{stdout}"
    );
    assert!(stdout.contains("ENV GIVEN=on-purpose\n"), "{stdout}");
}

// 12. Two gradings on the same hard-coded address at once.

#[test]
fn two_servers_on_the_same_hard_coded_address_pass_side_by_side_next_to_a_squatter() {
    // The one test on the handout's real address: the host's own socket
    // there must disturb neither sandbox.
    let _squatter = TcpListener::bind("127.1.1.1:8900").expect("127.1.1.1:8900 is free");
    let dir = world_readable_tempdir();
    let children: Vec<_> = ["alice", "bob"]
        .iter()
        .map(|name| {
            let folder = dir.path().join(name);
            std::fs::create_dir(&folder).expect("mkdir");
            chmod(&folder, 0o755);
            let program = folder.join("server.py");
            std::fs::copy(root().join("fixtures/python/upper_server.py"), &program).expect("copy");
            chmod(&program, 0o644);
            std::process::Command::new(assert_cmd::cargo::cargo_bin("runner"))
                .arg(spec("tcp-upper-server"))
                .arg("--target")
                .arg(&program)
                .args(["--addr", "127.1.1.1:8900", "--format", "json"])
                .args(["--deadline", "60s"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("runner starts")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("runner finishes");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

// The report says how targets were isolated.

#[rstest]
#[case::as_root(true)]
#[case::as_nobody(false)]
fn the_report_says_targets_ran_in_namespaces(#[case] as_root: bool) {
    let run = greet(as_root, &hostile("print_env.py"), &[], &[]);
    let report = assert_greeting_passes(&run);
    assert_eq!(report["isolation"], "namespaces", "{}", run.stderr);
    // Root writes cgroups here (v1 memory and pids); nobody cannot, and is
    // told how the limits apply instead.
    assert_eq!(
        run.stderr.contains("no writable cgroup"),
        !as_root,
        "{}",
        run.stderr
    );
}

// 13. The program's own end reaches the report.

/// A server that reads the greeting, then ends as its third argument
/// says: `segv`, by that signal of its own, or with that exit code.
const ENDING_SERVER: &str = r#"
import os, signal, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen()
conn, _ = s.accept()
conn.recv(1024)
if sys.argv[3] == "segv":
    os.kill(os.getpid(), signal.SIGSEGV)
sys.exit(int(sys.argv[3]))
"#;

/// How the program ended is what the report says: its exit code, or the
/// signal that killed it, which the sandbox's init (pid 1, which cannot
/// end by that signal) reports on a channel of its own.
#[rstest]
#[case::signal_as_root(true, "segv", "was killed by signal 11 (SIGSEGV)")]
#[case::signal_as_nobody(false, "segv", "was killed by signal 11 (SIGSEGV)")]
#[case::exit_code_as_root(true, "3", "exited with code 3")]
#[case::exit_code_as_nobody(false, "3", "exited with code 3")]
fn a_programs_end_is_reported_as_it_ended(
    #[case] as_root: bool,
    #[case] how: &str,
    #[case] said: &str,
) {
    let dir = world_readable_tempdir();
    let program = write_program(dir.path(), "ending.py", ENDING_SERVER);
    let target = format!("python3 {} {{host}} {{port}} {how}", program.display());
    let spec = spec("tcp-upper-server");
    let finished = finish(
        runner_as(as_root),
        &[
            &spec, "--case", "greeting", "--target", &target, "--format", "json",
        ],
    );
    let report = finished.report();
    let (verdict, message) = &verdicts(&report)["greeting"];
    assert_eq!(verdict, "fail", "{report:#}");
    assert!(message.contains(said), "{message}");
}
