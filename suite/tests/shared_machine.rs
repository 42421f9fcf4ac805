//! What a sandbox shares with the teacher's machine and with classmates
//! graded beside it: CPU time and CPU share, memory that hides in socket
//! buffers or shared mappings, the process count, what a build runs, and
//! what is left behind when a runner is killed. Each test runs a hostile
//! program under the runner and, where the attack can work, the same
//! attack outside it (`attack-only`) as the control that shows it does.

mod common;

use common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

/// A uid of no account and not `nobody`'s: as `nobody`, a test would share
/// its process count with every other program the machine runs as nobody.
const UNPRIVILEGED_UID: &str = "4242";

fn hostile(name: &str) -> PathBuf {
    root().join("fixtures/python/hostile").join(name)
}

/// The runner as root, or as an unprivileged uid other than nobody's.
fn runner_as(as_root: bool) -> assert_cmd::Command {
    if as_root {
        return runner();
    }
    let mut command = assert_cmd::Command::new("setpriv");
    command
        .args([
            &format!("--reuid={UNPRIVILEGED_UID}"),
            &format!("--regid={UNPRIVILEGED_UID}"),
            "--clear-groups",
        ])
        .arg(assert_cmd::cargo::cargo_bin("runner"))
        .current_dir("/")
        .timeout(Duration::from_secs(180));
    command
}

/// `python3` as an unprivileged user reaches it (a version manager's shim
/// under /root is out of its reach).
fn system_python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// Runs tcp-upper-server's greeting against `python3 PROGRAM {host} {port}
/// ARGS`; the attack must not have worked (it says LEAKED where it did).
fn greet(
    as_root: bool,
    program: &Path,
    args: &[&str],
    extra: &[&str],
) -> (Finished, String, String) {
    let (run, verdict, message, stdout) = greet_unchecked(as_root, program, args, extra);
    assert!(
        !stdout.contains("LEAKED"),
        "the attack worked under the runner: {stdout}\n{message}"
    );
    (run, verdict, message)
}

/// Runs the greeting as `greet` does; also returns what the target printed.
fn greet_unchecked(
    as_root: bool,
    program: &Path,
    args: &[&str],
    extra: &[&str],
) -> (Finished, String, String, String) {
    let mut target = format!(
        "{} {} {{host}} {{port}}",
        system_python(),
        program.display()
    );
    for arg in args {
        target.push(' ');
        target.push_str(arg);
    }
    let spec = spec("tcp-upper-server");
    let mut all = vec![
        spec.as_str(),
        "--case",
        "greeting",
        "--target",
        &target,
        "--format",
        "json",
    ];
    all.extend_from_slice(extra);
    let run = finish(runner_as(as_root), &all);
    let report = run.report();
    let (verdict, message) = verdicts(&report)
        .remove("greeting")
        .unwrap_or_else(|| panic!("no greeting case in {report:#}"));
    let stdout = stdout_tail(&report);
    (run, verdict, message, stdout)
}

fn stdout_tail(report: &Value) -> String {
    report["results"][0]["stdout_tail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Runs tcp-upper-server's greeting against the program file `target`,
/// which hard-codes the handout's address, with the runner `command`.
fn greet_at_handout_address(
    command: assert_cmd::Command,
    target: &str,
    extra: &[&str],
) -> Finished {
    let spec = spec("tcp-upper-server");
    let mut args = vec![
        spec.as_str(),
        "--case",
        "greeting",
        "--target",
        target,
        "--addr",
        "127.1.1.1:8900",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    finish(command, &args)
}

/// Runs the attack alone outside the runner; what it printed.
fn attack_outside(program: &Path, args: &[&str]) -> String {
    let output = StdCommand::new(system_python())
        .arg(program)
        .args(["attack-only", "0"])
        .args(args)
        .output()
        .expect("python3 runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Memory that a limit on process memory alone does not see: socket
/// buffers nobody reads (root only: without root nothing charges them to
/// a sandbox, as the README says), shared anonymous memory, and System V
/// segments that no process maps any more.
#[rstest::rstest]
#[case::socket_buffers(true, "socket_buffer_hog.py", "768")]
#[case::shared_memory(true, "shared_memory_hog.py", "600")]
#[case::shared_memory_unprivileged(false, "shared_memory_hog.py", "600")]
#[case::sysv_segments(true, "sysv_memory_hog.py", "600")]
#[case::sysv_segments_unprivileged(false, "sysv_memory_hog.py", "600")]
fn memory_hidden_outside_the_processes_counts_against_the_sandbox(
    #[case] as_root: bool,
    #[case] program: &str,
    #[case] mib: &str,
) {
    // Control: outside, the program holds all it asks for.
    let outside = attack_outside(&hostile(program), &[mib]);
    assert!(outside.contains("LEAKED"), "control: {outside}");

    let (run, verdict, message) = greet(
        as_root,
        &hostile(program),
        &[mib],
        &["--max-memory", "256MiB"],
    );
    // The attack did not work (`greet` checks): the sandbox was stopped at
    // its limit, or (System V segments, as root) the kernel refused past
    // the size of the sandbox's /dev/shm and the program served correctly.
    if verdict != "pass" {
        assert!(
            message.contains("memory limit (256 MiB"),
            "{message}\n{}",
            run.stdout
        );
    }
}

#[rstest::rstest]
#[case::as_root(true)]
#[case::unprivileged(false)]
fn a_sandbox_is_held_to_its_own_process_count(#[case] as_root: bool) {
    let outside = attack_outside(&hostile("many_processes.py"), &["100"]);
    assert!(outside.contains("LEAKED"), "control: {outside}");

    let (run, verdict, message, stdout) =
        greet_unchecked(as_root, &hostile("many_processes.py"), &["100"], &[]);
    if as_root {
        // The cgroup refuses the fork past the limit: the program serves
        // with the processes it got.
        assert!(!stdout.contains("LEAKED"), "{stdout}");
        assert!(stdout.contains("fork failed"), "{stdout}");
    } else {
        // The per-user process limit is shared with classmates, and set
        // well above one sandbox's share: the watchdog, which counts the
        // sandbox's own, stops it.
        assert_eq!(verdict, "fail", "{}", run.stdout);
        assert!(message.contains("process limit (64 processes"), "{message}");
    }
    // Below the limit, the same program is not stopped for it.
    let (_, _, message, _) = greet_unchecked(as_root, &hostile("many_processes.py"), &["20"], &[]);
    assert!(!message.contains("limit"), "{message}");
}

/// A folder any user can enter, holding `files` (name, text).
fn submission(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = world_readable_tempdir();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    dir
}

/// An annotation processor that, run by javac, says so and fails the build.
const PROCESSOR: &str = r#"import java.util.Set;
import javax.annotation.processing.*;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.TypeElement;

@SupportedAnnotationTypes("*")
public class Evil extends AbstractProcessor {
    @Override public SourceVersion getSupportedSourceVersion() { return SourceVersion.latestSupported(); }
    @Override public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
        throw new RuntimeException("PROCESSOR RAN: the student's code ran inside javac");
    }
}
"#;

#[test]
fn a_java_build_runs_no_annotation_processor_of_the_submission() {
    let server = std::fs::read_to_string(
        root().join("fixtures/java/fairness/tcp_upper_server/UpperServer.java"),
    )
    .expect("the Java server");
    let dir = submission(&[
        ("UpperServer.java", &server),
        ("Evil.java", PROCESSOR),
        (
            "META-INF/services/javax.annotation.processing.Processor",
            "Evil\n",
        ),
    ]);
    // The processor, compiled where javac finds it: on its default class
    // path, the folder it runs in.
    let compiled = StdCommand::new("javac")
        .args(["-proc:none", "-d", ".", "Evil.java"])
        .current_dir(dir.path())
        .status()
        .expect("javac");
    assert!(compiled.success());
    std::fs::remove_file(dir.path().join("Evil.java")).expect("rm");
    for entry in std::fs::read_dir(dir.path()).expect("list").flatten() {
        let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o755));
    }

    // Control: javac run in the submission's folder runs it.
    let control = StdCommand::new("javac")
        .args(["-d", "/tmp", "UpperServer.java"])
        .current_dir(dir.path())
        .output()
        .expect("javac");
    let said = String::from_utf8_lossy(&control.stderr);
    assert!(said.contains("PROCESSOR RAN"), "control: {said}");

    let target = dir.path().join("UpperServer.java").display().to_string();
    let run = greet_at_handout_address(runner(), &target, &[]);
    assert!(
        !run.everything().contains("PROCESSOR RAN"),
        "{}",
        run.everything()
    );
    let (verdict, message) = verdicts(&run.report())
        .remove("greeting")
        .expect("a greeting case");
    assert_eq!(verdict, "pass", "{message}");
}

/// The runner's cgroup folders named for the runner `pid`, in every
/// hierarchy.
fn cgroups_of_runner(pid: u32) -> Vec<PathBuf> {
    cgroup_tree(pid).0
}

/// The cgroup folders named for the runner `pid`, and the folders looked
/// in for them (where the runner makes them).
fn cgroup_tree(pid: u32) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let prefix = format!("socket-runner-{pid}-");
    let mut found = Vec::new();
    let mut scanned = Vec::new();
    let mut folders = vec![PathBuf::from("/sys/fs/cgroup")];
    // Two levels of hierarchy folders are enough to reach the runner's own
    // cgroup's children on the machines this runs on (hybrid and v2),
    // plus the folder of this test's own cgroup in each hierarchy.
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        scanned.push(folder.clone());
        for entry in entries.flatten() {
            let path = entry.path();
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) {
                found.push(path);
            } else if path.components().count() <= 5 || own.contains(&format!("/{name}")) {
                folders.push(path);
            }
        }
    }
    (found, scanned)
}

/// Waits until `ready()` holds, woken by a folder made in any of
/// `folders` (inotify) or by the end of the process `pid` (its pidfd),
/// until `deadline` at most.
fn wait_for_folders(pid: u32, folders: &[PathBuf], ready: impl Fn() -> bool, deadline: Instant) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).expect("inotify");
    for folder in folders {
        // A folder gone since it was listed has nothing to make in it.
        let _ = inotify.add_watch(folder, AddWatchFlags::IN_CREATE);
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let raw = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    assert!(raw >= 0, "the runner {pid} is gone");
    // SAFETY: a descriptor pidfd_open just returned, owned by nothing else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
    // Checked after the watches are set: nothing made before is missed.
    while !ready() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        let mut fds = [
            PollFd::new(inotify.as_fd(), PollFlags::POLLIN),
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
        ];
        let _ = poll(&mut fds, timeout);
        if fds[1].any().unwrap_or(false) {
            return; // the runner ended
        }
        let _ = inotify.read_events();
    }
}

#[test]
fn a_killed_runners_cgroups_and_folders_are_removed_by_the_next_runner() {
    // A target built from source (a build folder) that spins until it is
    // stopped, and a runner that is killed while the target runs.
    let spinner = root()
        .join("fixtures/cpp/hostile/spinning_upper_server.cpp")
        .display()
        .to_string();
    let spec = spec("tcp-upper-server");
    let mut killed = StdCommand::new(assert_cmd::cargo::cargo_bin("runner"))
        .args([
            spec.as_str(),
            "--case",
            "greeting",
            "--target",
            &spinner,
            "--addr",
            "127.1.1.1:8900",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runner starts");
    let build_folder = format!("runner-build-{}-", killed.id());
    let build_folders = || temporary_folders(&build_folder);
    // Until the target runs: a build folder, and the cgroups of the
    // target's own sandbox, which stay until it is stopped. The runner
    // numbers its sandboxes' cgroups as it makes them: the first, a probe
    // made at start, goes to the build, and is removed when the build
    // ends; the target's come after.
    let targets_cgroups = || {
        cgroups_of_runner(killed.id())
            .into_iter()
            .filter(|folder| sandbox_number(folder) >= 2)
            .collect::<Vec<_>>()
    };
    let mut watched = cgroup_tree(killed.id()).1;
    watched.push(std::env::temp_dir());
    wait_for_folders(
        killed.id(),
        &watched,
        || !targets_cgroups().is_empty() && !build_folders().is_empty(),
        Instant::now() + Duration::from_secs(60),
    );
    let mut left = targets_cgroups();
    if left.is_empty() || build_folders().is_empty() {
        let _ = killed.kill();
        let output = killed.wait_with_output().expect("the runner's end");
        panic!(
            "the runner made no cgroup or build folder to leave behind ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    killed.kill().expect("SIGKILL");
    killed.wait().expect("reaped");
    left.extend(build_folders());
    assert!(
        left.iter().any(|p| p.starts_with(std::env::temp_dir())),
        "no build folder to leave behind: {left:?}"
    );
    // Control: a runner killed with SIGKILL has no chance to clean up.
    assert!(left.iter().all(|dir| dir.exists()), "{left:?}");

    // The next runner removes them first.
    let upper = root()
        .join("fixtures/c/upper_server.c")
        .display()
        .to_string();
    let (code, report) = run_json(&[
        &spec,
        "--case",
        "greeting",
        "--target",
        &upper,
        "--addr",
        "127.1.1.1:8900",
    ]);
    assert_eq!(code, 0, "{report:#}");
    let still: Vec<&PathBuf> = left.iter().filter(|dir| dir.exists()).collect();
    assert!(still.is_empty(), "left behind: {still:?}");
}

/// The number of the sandbox a runner's cgroup folder
/// (`socket-runner-PID-N`) is for: N.
fn sandbox_number(folder: &Path) -> u32 {
    folder
        .file_name()
        .and_then(|name| name.to_str()?.rsplit('-').next()?.parse().ok())
        .unwrap_or(0)
}

/// What the temporary folder holds whose name starts with `prefix`.
fn temporary_folders(prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(std::env::temp_dir())
        .expect("the temporary folder")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect()
}

/// A class archive of one student whose `chat_server.py` is `source`, in
/// `dir`.
fn class_archive(dir: &Path, source: &str) -> PathBuf {
    let student = dir.join("class/student-1");
    std::fs::create_dir_all(&student).expect("mkdir");
    std::fs::write(student.join("chat_server.py"), source).expect("write");
    let archive = dir.join("class.tar.gz");
    let packed = StdCommand::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(dir)
        .arg("class")
        .status()
        .expect("tar runs");
    assert!(packed.success());
    archive
}

#[test]
fn a_killed_gradings_unpacked_class_is_removed_by_the_next_runner() {
    // A grading of a class archive, killed while its one student's
    // program (which never listens) is waited for.
    let dir = tempfile::tempdir().expect("temp dir");
    // It waits for a signal that never comes (until the runner's SIGKILL).
    let asleep = class_archive(dir.path(), "import signal\nsignal.pause()\n");
    let grade = |archive: &Path, out: &str| {
        let mut command = StdCommand::new(assert_cmd::cargo::cargo_bin("runner"));
        command
            .args(["grade", "tcp-chat-server", "--case", "prints-received"])
            .args(["--file", "chat_server.py", "--addr", "127.1.1.1:8900"])
            .arg("--submissions")
            .arg(archive)
            .arg("--out")
            .arg(dir.path().join(out))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };
    let mut killed = grade(&asleep, "killed").spawn().expect("runner starts");
    let prefix = format!("runner-class-{}-", killed.id());
    let class_folders = || temporary_folders(&prefix);
    // Until the class is unpacked and its student's program started.
    wait_for_folders(
        killed.id(),
        &[std::env::temp_dir()],
        || class_folders().iter().any(|f| f.join("export").exists()),
        Instant::now() + Duration::from_secs(60),
    );
    killed.kill().expect("SIGKILL");
    killed.wait().expect("reaped");
    let left = class_folders();
    // Control: a runner killed with SIGKILL has no chance to clean up.
    assert!(!left.is_empty(), "the killed grading unpacked no class");

    // The next grading removes it first.
    let correct = std::fs::read_to_string(root().join("fixtures/python/chat_server.py"))
        .expect("the chat server fixture");
    let next = tempfile::tempdir().expect("temp dir");
    let archive = class_archive(next.path(), &correct);
    let status = grade(&archive, "next").status().expect("runner runs");
    assert_eq!(status.code(), Some(0));
    let still: Vec<&PathBuf> = left.iter().filter(|dir| dir.exists()).collect();
    assert!(still.is_empty(), "left behind: {still:?}");
}

#[test]
fn classmates_spinning_in_a_build_and_a_run_do_not_push_correct_java_servers_past_a_timeout() {
    let class = world_readable_tempdir();
    let fixture = |relative: &str| {
        std::fs::read_to_string(root().join("fixtures").join(relative)).expect("a fixture")
    };
    let server = fixture("java/fairness/tcp_upper_server/UpperServer.java");
    let mut students = vec![
        (
            "slow-builder",
            "UpperServer.cpp",
            fixture("cpp/hostile/slow_build_upper_server.cpp"),
        ),
        (
            "spinner",
            "UpperServer.cpp",
            fixture("cpp/hostile/spinning_upper_server.cpp"),
        ),
    ];
    for student in ["ann", "bob", "cid", "dee"] {
        students.push((student, "UpperServer.java", server.clone()));
    }
    for (student, file, text) in &students {
        let folder = class.path().join(student);
        std::fs::create_dir(&folder).expect("mkdir");
        std::fs::write(folder.join(file), text).expect("write");
    }
    for entry in walk(class.path()) {
        let mode = if entry.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let out = tempfile::tempdir().expect("out");
    let (class_text, out_text) = (
        class.path().display().to_string(),
        out.path().display().to_string(),
    );
    let run = finish(
        runner(),
        &[
            "grade",
            "tcp-upper-server",
            "--submissions",
            &class_text,
            "--file",
            "UpperServer.*",
            "--out",
            &out_text,
            "--jobs",
            "6",
        ],
    );
    let grades = std::fs::read_to_string(out.path().join("grades.csv")).expect("grades.csv");
    let mut reader = csv::Reader::from_reader(grades.as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("a row").iter().map(String::from).collect())
        .collect();
    let points = |student: &str| {
        let row = rows
            .iter()
            .find(|row| row[0] == student)
            .unwrap_or_else(|| panic!("no row for {student}: {grades}"));
        (row[2].clone(), row[3].clone())
    };
    for student in ["ann", "bob", "cid", "dee", "slow-builder"] {
        let (got, of) = points(student);
        assert_eq!(got, of, "{student} lost points:\n{grades}\n{}", run.stdout);
    }
    // The spinner earns what its program earns: nothing, it never replies.
    assert_eq!(points("spinner").0, "0", "{grades}");
}

/// A target that prints the cgroups it is in, then serves.
const PRINTS_ITS_CGROUPS: &str = "import socket,sys; print(open('/proc/self/cgroup').read(), flush=True); s=socket.socket(); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(); c,_=s.accept(); c.sendall(c.recv(1024).upper()); c.close()";

#[test]
fn each_sandbox_has_a_cpu_share_of_its_own() {
    let target = format!(
        "{} -c \"{PRINTS_ITS_CGROUPS}\" {{host}} {{port}}",
        system_python()
    );
    let spec = spec("tcp-upper-server");
    let run = finish(
        runner(),
        &[
            &spec, "--case", "greeting", "--target", &target, "--format", "json",
        ],
    );
    let stdout = stdout_tail(&run.report());
    // Where the machine has a v1 cpu hierarchy, the share is set there;
    // else in the v2 cgroup.
    let own = std::fs::read_to_string("/proc/self/cgroup").expect("own cgroups");
    let is_cpu = |line: &str| {
        let controllers = line.split(':').nth(1).unwrap_or("");
        controllers.split(',').any(|c| c == "cpu")
    };
    let wanted: &dyn Fn(&str) -> bool = if own.lines().any(is_cpu) {
        &is_cpu
    } else {
        &|line: &str| line.starts_with("0::")
    };
    let line = stdout
        .lines()
        .find(|line| wanted(line))
        .unwrap_or_else(|| panic!("no CPU cgroup in {stdout}"));
    assert!(line.contains("/socket-runner-"), "{line}");
}

#[rstest::rstest]
#[case::as_root(true)]
#[case::unprivileged(false)]
fn the_cpu_time_of_a_sandbox_is_that_of_all_its_processes_together(#[case] as_root: bool) {
    // 61 processes that each stay far below a per-process CPU limit.
    let spinner = root().join("fixtures/cpp/hostile/spinning_upper_server.cpp");
    let target = spinner.display().to_string();
    let run = greet_at_handout_address(
        runner_as(as_root),
        &target,
        // Small enough that the spinners use it up before the case's 2 s
        // deadline even on a machine busy with other tests.
        &["--max-cpu", "200ms"],
    );
    let (verdict, message) = verdicts(&run.report())
        .remove("greeting")
        .expect("a greeting case");
    assert_eq!(verdict, "fail");
    assert!(
        message.contains("CPU time limit (200ms for all its processes together)"),
        "{message}"
    );
}

/// Every folder and file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}

/// Asks for an io_uring instance (system call 425 on every architecture),
/// says what it got, then serves.
const ASKS_FOR_IO_URING: &str = "import ctypes, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(425, 4, ctypes.create_string_buffer(120))
print('io_uring_setup', fd, ctypes.get_errno(), flush=True)
if sys.argv[1] == 'attack-only':
    sys.exit(0)
s = socket.socket(); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen()
c, _ = s.accept(); c.sendall(c.recv(1024).upper()); c.close()
";

#[rstest::rstest]
#[case::as_root(true)]
#[case::unprivileged(false)]
fn io_uring_is_refused_in_a_sandbox(#[case] as_root: bool) {
    let dir = world_readable_tempdir();
    let program = write_program(dir.path(), "uring.py", ASKS_FOR_IO_URING);
    // Control: outside, the kernel hands one out.
    let outside = attack_outside(&program, &[]);
    assert!(!outside.contains("io_uring_setup -1"), "control: {outside}");

    let (run, verdict, _, stdout) = greet_unchecked(as_root, &program, &[], &[]);
    assert_eq!(verdict, "pass", "{}", run.stdout);
    // EPERM (1) from the filter.
    assert!(stdout.contains("io_uring_setup -1 1"), "{stdout}");
}
