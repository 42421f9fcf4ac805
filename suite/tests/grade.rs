//! `runner grade` end to end: a class folder of real student programs
//! (correct, buggy, hostile, missing, ambiguous, broken), every row and
//! report checked; the same grades whatever the parallelism, across
//! partitions and merge, and across an interruption and `--resume`; and
//! the Gradescope bundle run as Gradescope runs it.

mod common;

use common::{finish, runner, runner_as, world_readable_tempdir};
use predicates::prelude::*;
use std::path::{Path, PathBuf};

/// A marker on the command line of what a hostile student leaves behind.
const DAEMON_MARKER: &str = "grade-test-leftover-daemon";

fn fixture(relative: &str) -> String {
    std::fs::read_to_string(common::root().join("fixtures").join(relative)).expect("fixture")
}

fn put(dir: &Path, student: &str, file: &str, text: &str) {
    let path = dir.join(student).join(file);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// The correct server with a prelude run before it serves.
fn correct_after(prelude: &str) -> String {
    format!("{prelude}\n{}", fixture("python/upper_server.py"))
}

/// A class of tcp-upper-server submissions, every one hard-coding the
/// handout's 127.1.1.1:8900, with the points each must get (8 at most).
fn class(dir: &Path) -> Vec<(&'static str, u32, &'static str)> {
    let correct = fixture("python/upper_server.py");
    put(dir, "alice", "server.py", &correct);
    put(
        dir,
        "bob",
        "server.py",
        &fixture("python/upper_server_wrong.py"),
    );
    // Unpacked from an archive into a folder of its own.
    put(dir, "carol", "lab1/server.py", &correct);
    put(dir, "dave", "notes.txt", "I forgot to hand it in");
    put(dir, "erin", "server.py", &correct);
    put(dir, "erin", "server_old.py", &correct);
    put(dir, "frank", "server.py", "def broken(:\n    pass\n");
    // Hostile but correct: looks for a classmate's program, and leaves a
    // daemon behind. Neither may work, and neither may cost points.
    put(
        dir,
        "mallory",
        "server.py",
        &correct_after(
            "import os, sys\n\
             for sibling in ('../alice/server.py', '../../alice/server.py'):\n\
             \x20   here = os.path.join(os.path.dirname(os.path.abspath(__file__)), sibling)\n\
             \x20   if os.path.exists(here):\n\
             \x20       print('LEAKED', here); sys.exit(3)\n",
        ),
    );
    put(
        dir,
        "trudy",
        "server.py",
        &correct_after(&format!(
            "import os, sys\n\
             if os.fork() == 0:\n\
             \x20   os.setsid()\n\
             \x20   if os.fork() == 0:\n\
             \x20       os.execv(sys.executable, [sys.executable, '-c', 'import signal; signal.pause()', '{DAEMON_MARKER}'])\n\
             \x20   os._exit(0)\n"
        )),
    );
    vec![
        ("alice", 8, ""),
        ("bob", 3, ""),
        ("carol", 8, ""),
        (
            "dave",
            0,
            "no file matches `*server*.py` (the folder holds notes.txt)",
        ),
        (
            "erin",
            0,
            "2 files match `*server*.py` (server.py, server_old.py): keep one, or give a narrower --file",
        ),
        (
            "frank",
            0,
            "server.py: did not start: the server exited with code 1 before it started listening (SyntaxError: invalid syntax)",
        ),
        ("mallory", 8, ""),
        ("trudy", 8, ""),
    ]
}

fn grade_args<'a>(class: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "grade",
        "tcp-upper-server",
        "--submissions",
        class,
        "--file",
        "*server*.py",
        "--addr",
        "127.1.1.1:8900",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

fn grade(class: &Path, out: &Path, extra: &[&str]) -> common::Finished {
    let (class, out) = (class.display().to_string(), out.display().to_string());
    finish(runner(), &grade_args(&class, &out, extra))
}

fn csv_rows(out: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(out.join("grades.csv")).expect("grades.csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.expect("a CSV row").iter().map(String::from).collect())
        .collect()
}

fn grades(out: &Path) -> String {
    std::fs::read_to_string(out.join("grades.csv")).expect("grades.csv")
}

#[rstest::rstest]
#[case::as_root(true)]
#[case::as_nobody(false)]
fn every_student_gets_the_row_and_the_reports_they_should(#[case] as_root: bool) {
    let dir = world_readable_tempdir();
    let (class_dir, out) = (dir.path().join("class"), dir.path().join("out"));
    let expected = class(&class_dir);
    std::fs::create_dir(&out).expect("out");
    if !as_root {
        std::os::unix::fs::chown(&out, Some(65534), None).expect("chown");
        let mut chmod = std::process::Command::new("chmod");
        chmod.args(["-R", "a+rX"]).arg(dir.path());
        assert!(chmod.status().expect("chmod").success());
    }
    let (class_arg, out_arg) = (class_dir.display().to_string(), out.display().to_string());
    let finished = finish(runner_as(as_root), &grade_args(&class_arg, &out_arg, &[]));
    assert_eq!(finished.code, 0, "{}", finished.everything());

    let rows = csv_rows(&out);
    let got: Vec<(String, u32, String)> = rows
        .iter()
        .map(|row| {
            let points = row[2]
                .parse()
                .unwrap_or_else(|_| panic!("points in {row:?}"));
            (
                row[0].clone(),
                points,
                row.last().cloned().unwrap_or_default(),
            )
        })
        .collect();
    let want: Vec<(String, u32, String)> = expected
        .iter()
        .map(|(s, p, n)| (s.to_string(), *p, n.to_string()))
        .collect();
    assert_eq!(got, want, "{}", finished.everything());
    assert!(
        rows.iter().all(|row| row[3] == "8"),
        "max_points column: {rows:?}"
    );

    for (student, points, _) in &expected {
        let folder = out.join(student);
        for file in ["report.txt", "report.json", "results.json"] {
            assert!(folder.join(file).is_file(), "{student}/{file} missing");
        }
        let results: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(folder.join("results.json")).expect("results.json"),
        )
        .expect("Gradescope JSON");
        assert_eq!(results["score"], *points, "{student}: {results}");
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(folder.join("report.json")).expect("report.json"),
        )
        .expect("JSON report");
        assert_eq!(report["summary"]["points"], *points, "{student}");
        assert!(
            report["summary"]["duration_ms"].as_f64() > Some(0.0),
            "{student}: the grading's time, {}",
            report["summary"]
        );
    }
    let text = |student: &str| {
        std::fs::read_to_string(out.join(student).join("report.txt")).expect("report.txt")
    };
    assert!(text("frank").contains("SyntaxError"), "{}", text("frank"));
    assert!(text("dave").contains("no file matches"), "{}", text("dave"));
    assert!(!text("mallory").contains("LEAKED"), "{}", text("mallory"));
    assert!(!text("alice").contains('\x1b'), "no colour in report.txt");
    // The summary names the cases with their pass counts.
    assert!(
        finished.stdout.contains("8 of 8 students graded"),
        "{}",
        finished.stdout
    );
    assert!(
        finished.stdout.contains("tcp-upper-server/greeting") && finished.stdout.contains("4/8"),
        "{}",
        finished.stdout
    );
    assert!(
        common::wait_until_gone(DAEMON_MARKER, std::time::Duration::from_secs(5)),
        "a student's daemon outlived the grading: {:?}",
        common::pids_named(DAEMON_MARKER)
    );
}

#[test]
fn the_grades_do_not_depend_on_parallelism_or_partitions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let class_dir = dir.path().join("class");
    class(&class_dir);
    let out = |name: &str| dir.path().join(name);

    let serial = grade(&class_dir, &out("serial"), &["--jobs", "1"]);
    assert_eq!(serial.code, 0, "{}", serial.everything());
    let parallel = grade(&class_dir, &out("parallel"), &[]);
    assert_eq!(parallel.code, 0, "{}", parallel.everything());
    assert_eq!(grades(&out("serial")), grades(&out("parallel")));

    for part in ["1/2", "2/2"] {
        let name = format!("part{}", &part[..1]);
        let finished = grade(&class_dir, &out(&name), &["--partition", part]);
        assert_eq!(finished.code, 0, "{}", finished.everything());
    }
    // Each partition holds its share of the students, no more.
    assert_eq!(csv_rows(&out("part1")).len(), 4);
    assert_eq!(csv_rows(&out("part2")).len(), 4);
    let merged = finish(
        runner(),
        &[
            "merge",
            &out("part2").display().to_string(),
            &out("part1").display().to_string(),
            "--out",
            &out("merged").display().to_string(),
        ],
    );
    assert_eq!(merged.code, 0, "{}", merged.everything());
    assert_eq!(grades(&out("merged")), grades(&out("serial")));
    assert!(out("merged").join("bob").join("report.txt").is_file());

    // A missing partition is named, not merged into a short table.
    runner()
        .args(["merge", &out("part1").display().to_string(), "--out"])
        .arg(out("short"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("partition 2/2 missing"));
}

#[test]
fn an_interrupted_grading_keeps_what_finished_and_resume_completes_it() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let class_dir = dir.path().join("class");
    class(&class_dir);
    let (whole, resumed) = (dir.path().join("whole"), dir.path().join("resumed"));
    let finished = grade(&class_dir, &whole, &["--jobs", "1"]);
    assert_eq!(finished.code, 0, "{}", finished.everything());

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runner"))
        .args(grade_args(
            &class_dir.display().to_string(),
            &resumed.display().to_string(),
            &["--jobs", "1"],
        ))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runner starts");
    // Progress lines on stderr: interrupt once the second student is done.
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        if line.expect("a line").starts_with("[2/8]") {
            break;
        }
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("runner ends");
    assert_eq!(status.code(), Some(130), "{rest:?}");
    let rows = csv_rows(&resumed);
    assert_eq!(rows.len(), 8, "every student has a row");
    assert!(rows[0][2] == "8" && rows[1][2] == "3", "{rows:?}");
    let unfinished = rows
        .iter()
        .filter(|row| row.last().is_some_and(|n| n == "not graded: interrupted"))
        .count();
    assert!(unfinished >= 4, "{rows:?}");

    let again = grade(&class_dir, &resumed, &["--jobs", "1", "--resume"]);
    assert_eq!(again.code, 0, "{}", again.everything());
    assert!(
        again.stderr.contains("alice: 8/8 points (unchanged, kept)"),
        "{}",
        again.stderr
    );
    assert_eq!(grades(&resumed), grades(&whole));

    // A submission that changed is graded again, the others kept.
    put(
        &class_dir,
        "bob",
        "server.py",
        &fixture("python/upper_server.py"),
    );
    let changed = grade(&class_dir, &resumed, &["--resume"]);
    assert!(
        changed.stderr.contains("bob: 8/8 points\n"),
        "{}",
        changed.stderr
    );
    assert!(changed
        .stderr
        .contains("carol: 8/8 points (unchanged, kept)"));
}

#[test]
fn an_assignment_file_grades_several_programs_per_student() {
    let dir = tempfile::tempdir().expect("tempdir");
    let class_dir = dir.path().join("class");
    put(
        &class_dir,
        "ann",
        "server.py",
        &fixture("python/upper_server.py"),
    );
    put(
        &class_dir,
        "ann",
        "client.py",
        &fixture("python/upper_client.py"),
    );
    put(
        &class_dir,
        "ben",
        "server.py",
        &fixture("python/upper_server.py"),
    );
    let assignment = dir.path().join("lab1.yaml");
    std::fs::write(
        &assignment,
        "assignment: socket-lab-1\nprograms:\n  - { spec: tcp-upper-server, file: server.py, addr: 127.1.1.1:8900 }\n  - { spec: tcp-upper-client, file: client.py, addr: 127.1.1.1:8900 }\n",
    )
    .expect("write");
    let out = dir.path().join("out");
    let finished = finish(
        runner(),
        &[
            "grade",
            &assignment.display().to_string(),
            "--submissions",
            &class_dir.display().to_string(),
            "--out",
            &out.display().to_string(),
        ],
    );
    assert_eq!(finished.code, 0, "{}", finished.everything());
    let rows = csv_rows(&out);
    let header = grades(&out)
        .lines()
        .next()
        .map(String::from)
        .unwrap_or_default();
    assert!(header.contains("tcp-upper-client/"), "{header}");
    let (ann, ben) = (&rows[0], &rows[1]);
    assert_eq!(ann[2], ann[3], "ann gets every point: {ann:?}");
    assert!(
        ben.last()
            .is_some_and(|n| n.starts_with("tcp-upper-client: no file matches `client.py`")),
        "{ben:?}"
    );
    assert!(ben[2].parse::<u32>().expect("points") == 8, "{ben:?}");

    // Loaded with the care of a spec: an unknown key is placed.
    std::fs::write(
        &assignment,
        "assignment: lab\nprograms:\n  - { spec: tcp-upper-server, file: s.py, adr: 127.1.1.1:8900 }\n",
    )
    .expect("write");
    runner()
        .args(["check"])
        .arg(&assignment)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("lab1.yaml:3:").and(predicate::str::contains("adr")));
}

#[test]
fn grading_refuses_what_would_lose_or_mix_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let class_dir = dir.path().join("class");
    put(&class_dir, "ann", "server.py", "");
    let foreign = dir.path().join("foreign");
    put(&foreign, "", "thesis.tex", "years of work");
    let (class_arg, foreign_arg) = (
        class_dir.display().to_string(),
        foreign.display().to_string(),
    );
    runner()
        .args(grade_args(&class_arg, &foreign_arg, &[]))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did not write"));
    assert!(foreign.join("thesis.tex").is_file());
    runner()
        .args([
            "grade",
            "tcp-upper-server",
            "--submissions",
            &class_arg,
            "--out",
        ])
        .arg(dir.path().join("out"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--file"));
}

/// Unpacks `zip` into `to` with Python's zipfile (which, like Gradescope's
/// unpacking, need not keep file modes).
fn unzip(zip: &Path, to: &Path) {
    let status = std::process::Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(zip)
        .arg(to)
        .status()
        .expect("python3 runs");
    assert!(status.success());
}

#[rstest::rstest]
#[case::correct("python/upper_server.py", 8)]
#[case::buggy("python/upper_server_wrong.py", 3)]
fn the_gradescope_bundle_grades_a_submission_as_gradescope_runs_it(
    #[case] program: &str,
    #[case] score: u64,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let zip = dir.path().join("autograder.zip");
    runner()
        .args([
            "gradescope-bundle",
            "tcp-upper-server",
            "--file",
            "server.py",
        ])
        .args(["--addr", "127.1.1.1:8900", "-o"])
        .arg(&zip)
        .assert()
        .code(0);
    // A temporary root standing in for /autograder.
    let root: PathBuf = dir.path().join("autograder");
    unzip(&zip, &root.join("source"));
    for file in ["setup.sh", "run_autograder", "runner", "assignment.yaml"] {
        assert!(
            root.join("source").join(file).is_file(),
            "{file} in the zip"
        );
    }
    put(&root, "submission", "server.py", &fixture(program));
    std::fs::create_dir_all(root.join("results")).expect("results");
    let output = std::process::Command::new("bash")
        .arg(root.join("source/run_autograder"))
        .env("AUTOGRADER_ROOT", &root)
        .output()
        .expect("run_autograder runs");
    assert!(output.status.success(), "{output:?}");
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("results/results.json")).expect("results.json"),
    )
    .expect("JSON");
    assert_eq!(results["score"], score, "{results}");
    assert_eq!(
        results["tests"].as_array().map(Vec::len),
        Some(6),
        "{results}"
    );
}

#[test]
fn links_to_a_classmate_fifos_and_odd_names_neither_cheat_nor_hang() {
    let dir = tempfile::tempdir().expect("tempdir");
    let class_dir = dir.path().join("class");
    put(
        &class_dir,
        "alice",
        "server.py",
        &fixture("python/upper_server.py"),
    );
    // Copying a classmate's work through a link.
    std::fs::create_dir_all(class_dir.join("copycat")).expect("mkdir");
    std::os::unix::fs::symlink("../alice/server.py", class_dir.join("copycat/server.py"))
        .expect("symlink");
    // A FIFO would block whoever opens it: the fingerprint, a lookup.
    let jammer = class_dir.join("jammer");
    put(
        &class_dir,
        "jammer",
        "server.py",
        &fixture("python/upper_server.py"),
    );
    nix::unistd::mkfifo(&jammer.join("pipe.py"), nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    // A folder name that would drive the terminal.
    put(&class_dir, "evil\x1b[2Jname", "server.py", "");
    let out = dir.path().join("out");
    let finished = grade(&class_dir, &out, &["--resume"]);
    assert_eq!(finished.code, 0, "{}", finished.everything());
    let rows = csv_rows(&out);
    let row = |student: &str| {
        rows.iter()
            .find(|r| r[0] == student)
            .unwrap_or_else(|| panic!("{student} in {rows:?}"))
            .clone()
    };
    assert_eq!(row("alice")[2], "8");
    assert_eq!(row("jammer")[2], "8");
    let copycat = row("copycat");
    assert_eq!(copycat[2], "0", "{copycat:?}");
    assert!(
        copycat
            .last()
            .is_some_and(|n| n.contains("link to a file outside")),
        "{copycat:?}"
    );
    assert!(
        !finished.everything().contains('\x1b'),
        "{}",
        finished.everything()
    );
}

/// Folder names are the students' own: in grades.csv a name a spreadsheet
/// would evaluate is text, and a name or file name with terminal escapes
/// prints escaped, in the summary and in the report's `target:` line.
#[test]
fn names_are_inert_in_the_spreadsheet_the_terminal_and_the_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let class_dir = dir.path().join("class");
    // A folder name cannot hold `/`: the look-alike U+2215 stands in.
    let formula = "=HYPERLINK(\"http:\u{2215}\u{2215}x\",\"click\")";
    let command = "+cmd|' \u{2215}C calc'!A0";
    let escapes = "evil\u{1b}[2J\u{202e}name";
    put(&class_dir, formula, "notes.txt", "no program");
    put(&class_dir, command, "notes.txt", "no program");
    // A program that fails at once, named so that the target line quotes
    // an escape sequence.
    let file = "\u{1b}]0;pwned\u{7}server.py";
    put(&class_dir, escapes, file, "raise SystemExit(3)\n");
    let out = dir.path().join("out");
    let finished = grade(&class_dir, &out, &[]);
    assert_eq!(finished.code, 0, "{}", finished.everything());
    let text = grades(&out);
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http:\u{2215}\u{2215}x\"\",\"\"click\"\")\""),
        "{text}"
    );
    let rows = csv_rows(&out);
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert!(names.contains(&format!("'{formula}").as_str()), "{names:?}");
    assert!(names.contains(&format!("'{command}").as_str()), "{names:?}");
    assert!(names.contains(&escapes), "{names:?}");
    // Points stay numbers.
    assert!(rows.iter().all(|r| r[2] == "0" && r[3] == "8"), "{rows:?}");
    let printed = finished.everything();
    assert!(!printed.contains('\u{1b}'), "{printed}");
    assert!(!printed.contains('\u{202e}'), "{printed}");
    assert!(printed.contains("evil\\u{1b}[2J\\u{202e}name"), "{printed}");
    let report = std::fs::read_to_string(out.join(escapes).join("report.txt")).expect("report");
    let target = report
        .lines()
        .find(|l| l.trim_start().starts_with("target:"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        target.contains("\\u{1b}]0;pwned\\u{7}server.py"),
        "{target:?}"
    );
    assert!(!report.contains('\u{1b}'), "{report:?}");
}

/// `--resume` does not read a submission whole when it is too big to
/// hash: a 10 GiB sparse file, or more files than a submission has. Such
/// a student is graded again, and the note says why.
#[test]
fn resume_does_not_read_a_huge_submission_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let class_dir = dir.path().join("class");
    put(&class_dir, "holey", "notes.txt", "no program");
    let hole = std::fs::File::create(class_dir.join("holey/hole.bin")).expect("create");
    hole.set_len(10 << 30).expect("a 10 GiB sparse file");
    let many = class_dir.join("many/files");
    std::fs::create_dir_all(&many).expect("mkdir");
    for index in 0..10_001 {
        std::fs::write(many.join(index.to_string()), "").expect("write");
    }
    let out = dir.path().join("out");
    for run in 0..2 {
        let started = std::time::Instant::now();
        let finished = grade(&class_dir, &out, &["--resume"]);
        let took = started.elapsed();
        assert_eq!(finished.code, 0, "{}", finished.everything());
        assert!(
            took < std::time::Duration::from_secs(20),
            "run {run} took {took:?}"
        );
        let rows = csv_rows(&out);
        let note = |student: &str| {
            rows.iter()
                .find(|r| r[0] == student)
                .and_then(|r| r.last().cloned())
                .unwrap_or_else(|| panic!("{student} in {rows:?}"))
        };
        let holey = note("holey");
        assert!(
            holey.starts_with("hole.bin is a sparse file (10,737,418,240 bytes")
                && holey.contains("graded again at every --resume"),
            "{holey}"
        );
        let many = note("many");
        assert!(
            many.starts_with("the submission holds more than 10000 files")
                && many.contains("graded again at every --resume"),
            "{many}"
        );
    }
}

/// Writes `text` as `name` in `dir` and returns its path.
fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// The packages `setup.sh` of a bundle of `assignment` installs.
fn setup_packages(dir: &Path, assignment: &Path) -> Vec<String> {
    let zip = dir.join("autograder.zip");
    let _ = std::fs::remove_file(&zip);
    runner()
        .arg("gradescope-bundle")
        .arg(assignment)
        .arg("-o")
        .arg(&zip)
        .assert()
        .code(0);
    let source = dir.join("source");
    let _ = std::fs::remove_dir_all(&source);
    unzip(&zip, &source);
    let setup = std::fs::read_to_string(source.join("setup.sh")).expect("setup.sh");
    let line = setup
        .lines()
        .find_map(|l| l.strip_prefix("apt-get install -y --no-install-recommends "))
        .unwrap_or_else(|| panic!("no install line in {setup}"));
    line.split(' ').map(String::from).collect()
}

#[test]
fn the_gradescope_bundle_installs_the_toolchains_the_file_patterns_can_need() {
    let dir = tempfile::tempdir().expect("tempdir");
    let java = write_file(
        dir.path(),
        "java.yaml",
        "assignment: lab\nprograms:\n  - { spec: tcp-upper-server, file: '*.java' }\n",
    );
    assert_eq!(
        setup_packages(dir.path(), &java),
        ["python3", "default-jdk-headless"]
    );
    let any = write_file(
        dir.path(),
        "any.yaml",
        "assignment: lab\nprograms:\n  - { spec: tcp-upper-server, file: 'server.*' }\n",
    );
    let packages = setup_packages(dir.path(), &any);
    for package in [
        "python3",
        "gcc",
        "g++",
        "make",
        "golang",
        "default-jdk-headless",
        "nodejs",
    ] {
        assert!(
            packages.iter().any(|p| p == package),
            "{package}: {packages:?}"
        );
    }
    let extra = write_file(
        dir.path(),
        "extra.yaml",
        "assignment: lab\npackages: [libssl-dev, zlib1g-dev]\nprograms:\n  - { spec: tcp-upper-server, file: server.c }\n",
    );
    assert_eq!(
        setup_packages(dir.path(), &extra),
        ["python3", "gcc", "make", "libssl-dev", "zlib1g-dev"]
    );
}

/// A bundle of an assignment whose C program builds only by its own
/// command (`-DUPPER`, two files) grades a submission under
/// run_autograder as Gradescope runs it.
#[test]
fn the_gradescope_bundle_carries_the_assignments_build_and_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let assignment = write_file(
        dir.path(),
        "lab.yaml",
        "assignment: lab\npackages: [libssl-dev]\nprograms:\n  - spec: tcp-upper-server\n    file: main.c\n    addr: 127.1.1.1:8900\n    build: cc -o server {file} net.c -DUPPER\n    run: ./server\n",
    );
    let zip = dir.path().join("autograder.zip");
    runner()
        .arg("gradescope-bundle")
        .arg(&assignment)
        .arg("-o")
        .arg(&zip)
        .assert()
        .code(0);
    let root: PathBuf = dir.path().join("autograder");
    unzip(&zip, &root.join("source"));
    let bundled = std::fs::read_to_string(root.join("source/assignment.yaml")).expect("yaml");
    for line in [
        "packages: [\"libssl-dev\"]",
        "build: \"cc -o server {file} net.c -DUPPER\"",
        "run: \"./server\"",
    ] {
        assert!(bundled.contains(line), "{line} in {bundled}");
    }
    let main = format!(
        "#ifndef UPPER\n#error build with -DUPPER\n#endif\nint net_ready(void);\n{}",
        fixture("c/upper_server.c")
    );
    put(&root, "submission", "main.c", &main);
    put(
        &root,
        "submission",
        "net.c",
        "int net_ready(void) { return 1; }\n",
    );
    std::fs::create_dir_all(root.join("results")).expect("results");
    let output = std::process::Command::new("bash")
        .arg(root.join("source/run_autograder"))
        .env("AUTOGRADER_ROOT", &root)
        .output()
        .expect("run_autograder runs");
    assert!(output.status.success(), "{output:?}");
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("results/results.json")).expect("results.json"),
    )
    .expect("JSON");
    assert_eq!(results["score"], 8, "{results}");
}
