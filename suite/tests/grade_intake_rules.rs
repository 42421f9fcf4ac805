//! What `runner grade` takes in before it grades: file patterns that are
//! real globs matched in any letter case (and refused when they cannot be
//! what the teacher meant), a `status` per student in grades.csv with a
//! note that says it in words, and output folders that cannot mix with
//! the class or with another grading.

mod common;

use common::{finish, runner};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

fn fixture(relative: &str) -> String {
    std::fs::read_to_string(common::root().join("fixtures").join(relative)).expect("fixture")
}

fn put(dir: &Path, student: &str, file: &str, text: &str) {
    let path = dir.join(student).join(file);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// grades.csv as rows of cells, the header first.
fn table(out: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(out.join("grades.csv")).expect("grades.csv");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.expect("a CSV row").iter().map(String::from).collect())
        .collect()
}

/// The cell of `column` in `student`'s row.
fn cell(rows: &[Vec<String>], student: &str, column: &str) -> String {
    let at = rows[0]
        .iter()
        .position(|c| c == column)
        .unwrap_or_else(|| panic!("no column {column}: {:?}", rows[0]));
    let row = rows
        .iter()
        .find(|r| r[0] == student)
        .unwrap_or_else(|| panic!("no row for {student}: {rows:?}"));
    row[at].clone()
}

fn grade_file(class: &Path, out: &Path, file: &str) -> common::Finished {
    let (class, out) = (class.display().to_string(), out.display().to_string());
    finish(
        runner(),
        &[
            "grade",
            "tcp-upper-server",
            "--submissions",
            &class,
            "--file",
            file,
            "--addr",
            "127.1.1.1:8900",
            "--out",
            &out,
            "--case",
            "greeting",
        ],
    )
}

#[test]
fn file_patterns_are_globs_matched_in_any_letter_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let class = dir.path().join("class");
    let correct = fixture("python/upper_server.py");
    put(&class, "ann", "ChatServer.py", &correct);
    put(&class, "bob", "lab/chatServer.py", &correct);
    put(&class, "cy", "Server.py", &correct);

    // A character class, as an assignment's `file:`.
    let assignment = dir.path().join("lab.yaml");
    std::fs::write(
        &assignment,
        "assignment: lab\nprograms:\n  - { spec: tcp-upper-server, file: \"[Cc]hat[Ss]erver.*\", addr: 127.1.1.1:8900 }\n",
    )
    .expect("write");
    let out = dir.path().join("out");
    let finished = finish(
        runner(),
        &[
            "grade",
            &assignment.display().to_string(),
            "--submissions",
            &class.display().to_string(),
            "--out",
            &out.display().to_string(),
            "--case",
            "greeting",
        ],
    );
    assert_eq!(finished.code, 0, "{}", finished.everything());
    let rows = table(&out);
    assert_eq!(cell(&rows, "ann", "points"), "2", "{rows:?}");
    assert_eq!(cell(&rows, "bob", "points"), "2", "{rows:?}");
    assert_eq!(cell(&rows, "cy", "points"), "0", "{rows:?}");
    assert_eq!(
        cell(&rows, "cy", "note"),
        "no file matches `[Cc]hat[Ss]erver.*` (the folder holds Server.py)"
    );

    // `server.*` finds `Server.py`; `{a,b}` picks among names.
    let out = dir.path().join("out2");
    let finished = grade_file(&class, &out, "{server,srv}.*");
    assert_eq!(finished.code, 0, "{}", finished.everything());
    let rows = table(&out);
    assert_eq!(cell(&rows, "cy", "points"), "2", "{rows:?}");
    assert_eq!(cell(&rows, "ann", "points"), "0", "{rows:?}");
}

#[test]
fn patterns_that_cannot_be_meant_are_refused_before_grading() {
    let dir = tempfile::tempdir().expect("tempdir");
    let class = dir.path().join("class");
    put(&class, "ann", "server.py", "");
    for (pattern, message) in [
        (
            "[server.py",
            "error: --file: `[server.py` is not a valid glob: unclosed character class; missing ']'\n",
        ),
        (
            "../alice/server.py",
            "error: --file: `../alice/server.py` leads out of the student's folder with `..`: a file pattern names a file inside it, such as server.py or *server*.py\n",
        ),
        (
            "",
            "error: --file: the file pattern is empty: give a file name or glob in each student's folder, such as server.py or *server*.py\n",
        ),
    ] {
        let out = dir.path().join("out");
        let finished = grade_file(&class, &out, pattern);
        assert_eq!(finished.code, 2, "{pattern}: {}", finished.everything());
        assert_eq!(finished.stderr, message, "{pattern}");
        assert!(!out.exists(), "{pattern}: nothing written");
    }

    let assignment = dir.path().join("lab.yaml");
    std::fs::write(
        &assignment,
        "assignment: lab\nprograms:\n  - { spec: tcp-upper-server, file: \"[Cc]hat[Ss]erver.*\" }\n  - { spec: tcp-upper-client, file: client.py }\n",
    )
    .expect("write");
    let checked = finish(runner(), &["check", &assignment.display().to_string()]);
    assert_eq!(checked.code, 0, "{}", checked.everything());
    assert!(
        checked.stdout.contains(
            "    tcp-upper-server: a file whose name matches [Cc]hat[Ss]erver.*, in any letter case, at most 5 folders down\n    tcp-upper-client: a file named client.py, in any letter case, at most 5 folders down\n"
        ),
        "{}",
        checked.stdout
    );
    std::fs::write(
        &assignment,
        "assignment: lab\nprograms:\n  - { spec: tcp-upper-server, file: \"server[.py\" }\n",
    )
    .expect("write");
    let checked = finish(runner(), &["check", &assignment.display().to_string()]);
    assert_eq!(checked.code, 2, "{}", checked.everything());
    assert_eq!(
        checked.stderr,
        format!(
            "error: {}:3:37: `server[.py` is not a valid glob: unclosed character class; missing ']'\n",
            assignment.display()
        )
    );
}

/// A class with one student per `status`, graded on the greeting alone.
fn class_of_every_status(class: &Path) {
    let correct = fixture("python/upper_server.py");
    put(
        class,
        "ann",
        "server.c",
        "#include <stdio.h>\nint main(void)\n{\n  int x = 1;\n  return upcase + x;\n}\n",
    );
    put(class, "bob", "server.py", "def broken(:\n    pass\n");
    put(class, "cy", "notes.txt", "forgot");
    put(class, "dee", "server.py", &correct);
    put(class, "dee", "Server.c", "int main(void) { return 0; }\n");
    put(class, "eve", "server.py", &correct);
    put(
        class,
        "fay",
        "server.py",
        &fixture("python/upper_server_wrong.py"),
    );
}

#[test]
fn grades_csv_says_each_students_status_and_why_in_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let class = dir.path().join("class");
    class_of_every_status(&class);
    let out = dir.path().join("out");
    let finished = grade_file(&class, &out, "server.*");
    assert_eq!(finished.code, 0, "{}", finished.everything());
    let rows = table(&out);
    assert_eq!(
        rows[0],
        [
            "student",
            "lms_id",
            "points",
            "max_points",
            "status",
            "tcp-upper-server/greeting",
            "note"
        ]
    );
    let row = |student: &str| {
        (
            cell(&rows, student, "status"),
            // gcc quotes names with ‘’ in a UTF-8 locale, '' otherwise.
            cell(&rows, student, "note").replace(['‘', '’'], "'"),
        )
    };
    let expected = [
        ("ann", "build-failed", "server.c: does not build: line 5: 'upcase' undeclared"),
        (
            "bob",
            "did-not-start",
            "server.py: did not start: the server exited with code 1 before it started listening (SyntaxError: invalid syntax)",
        ),
        (
            "cy",
            "no-program",
            "no file matches `server.*` (the folder holds notes.txt)",
        ),
        (
            "dee",
            "ambiguous",
            "2 files match `server.*` (Server.c, server.py): keep one, or give a narrower --file",
        ),
        ("eve", "graded", ""),
        ("fay", "graded", ""),
    ];
    for (student, status, note) in expected {
        assert_eq!(
            row(student),
            (status.to_string(), note.to_string()),
            "{student}"
        );
    }
    assert_eq!(cell(&rows, "eve", "points"), "2");
    assert_eq!(cell(&rows, "fay", "points"), "0");

    // The record carries it, and the dashboard shows it.
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("ann/grade.json")).expect("grade.json"),
    )
    .expect("JSON");
    assert_eq!(record["standing"], "build-failed");
    let dashboard = std::fs::read_to_string(out.join("index.html")).expect("index.html");
    for status in ["build-failed", "did-not-start", "no-program", "ambiguous"] {
        assert!(
            dashboard.contains(&format!("<td class=\"status\">{status}</td>")),
            "{status} on the dashboard"
        );
    }

    // Partitions joined by `runner merge` keep the column, cell for cell.
    let mut parts = Vec::new();
    for part in ["1/2", "2/2"] {
        let folder = dir.path().join(format!("part{}", &part[..1]));
        let finished = finish(
            runner(),
            &[
                "grade",
                "tcp-upper-server",
                "--submissions",
                &class.display().to_string(),
                "--file",
                "server.*",
                "--addr",
                "127.1.1.1:8900",
                "--out",
                &folder.display().to_string(),
                "--case",
                "greeting",
                "--partition",
                part,
            ],
        );
        assert_eq!(finished.code, 0, "{}", finished.everything());
        parts.push(folder.display().to_string());
    }
    let merged = dir.path().join("merged");
    let finished = finish(
        runner(),
        &[
            "merge",
            &parts[0],
            &parts[1],
            "--out",
            &merged.display().to_string(),
        ],
    );
    assert_eq!(finished.code, 0, "{}", finished.everything());
    assert_eq!(table(&merged), rows);
}

#[test]
fn the_class_and_the_output_folder_must_be_apart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let class = dir.path().join("class");
    put(&class, "ann", "server.py", "");
    let inside = class.join("out");
    let finished = grade_file(&class, &inside, "server.py");
    assert_eq!(finished.code, 2, "{}", finished.everything());
    assert_eq!(
        finished.stderr,
        format!(
            "error: --out {}: the output folder is inside the class folder {}; give one outside it\n",
            inside.display(),
            class.display()
        )
    );
    assert!(!inside.exists(), "nothing written in the class");

    let finished = grade_file(&class, dir.path(), "server.py");
    assert_eq!(finished.code, 2, "{}", finished.everything());
    assert_eq!(
        finished.stderr,
        format!(
            "error: --submissions {}: the class folder is inside the output folder {}; give an output folder outside it\n",
            class.display(),
            dir.path().display()
        )
    );
    assert!(!dir.path().join("grades.csv").exists());
}

#[test]
fn a_second_grading_into_the_same_folder_is_refused_at_once() {
    // Readable by the sandboxes' uids, so that nothing is staged.
    let dir = common::world_readable_tempdir();
    let class = dir.path().join("class");
    // The first student's program says it has arrived (a FIFO in its
    // folder) and waits at a gate (another) until the test opens it, while
    // they are there: the first grading holds the folder until then.
    let gated = format!(
        "import os\nhere = os.path.dirname(os.path.abspath(__file__))\nif os.path.exists(os.path.join(here, 'gate')):\n    os.write(os.open(os.path.join(here, 'arrived'), os.O_WRONLY), b'here')\n    os.close(os.open(os.path.join(here, 'gate'), os.O_RDONLY))\n{}",
        fixture("python/upper_server.py")
    );
    let students = ["ann", "bob", "cy", "dee"];
    for student in students {
        put(&class, student, "server.py", &gated);
    }
    let fifo = |name: &str| {
        let path = class.join("ann").join(name);
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o666))
            .expect("mkfifo");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .expect("chmod");
        path
    };
    let (gate, arrived) = (fifo("gate"), fifo("arrived"));
    // Opened for reading first, so that the program's writer never waits.
    let arrival = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&arrived)
        .expect("the arrival FIFO");
    let out = dir.path().join("out");
    let first = std::process::Command::new(assert_cmd::cargo::cargo_bin("runner"))
        .args([
            "grade",
            "tcp-upper-server",
            "--submissions",
            &class.display().to_string(),
            "--file",
            "server.py",
            "--addr",
            "127.1.1.1:8900",
            "--out",
            &out.display().to_string(),
            "--case",
            "greeting",
            "--jobs",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("runner starts");
    // The program is at the gate, so the first grading holds the lock.
    let mut ready = [nix::poll::PollFd::new(
        std::os::fd::AsFd::as_fd(&arrival),
        nix::poll::PollFlags::POLLIN,
    )];
    let waited = nix::poll::poll(&mut ready, nix::poll::PollTimeout::from(30_000u16));
    assert_eq!(waited, Ok(1), "the first grading never reached the program");
    let said = std::fs::read_to_string(out.join("grading.lock")).expect("the lock file");
    assert!(
        said.starts_with(&format!("pid {}, started ", first.id())),
        "{said}"
    );
    let started = std::time::Instant::now();
    let second = grade_file(&class, &out, "server.py");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(second.code, 2, "{}", second.everything());
    assert_eq!(
        second.stderr,
        format!(
            "error: {}: another `runner grade` is writing there ({}); wait for it to end, or give another --out\n",
            out.display(),
            said.trim_end()
        )
    );
    // Open the gate: the writer's open returns once the student's program
    // opens it for reading.
    let release = std::thread::spawn({
        let gate = gate.clone();
        move || drop(std::fs::OpenOptions::new().write(true).open(gate))
    });
    let status = first.wait_with_output().expect("the first ends").status;
    // Had the program never come to the gate, this reader lets the
    // release end.
    let _unblock = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&gate);
    release.join().expect("the gate opened");
    std::fs::remove_file(&gate).expect("the gate removed");
    drop(arrival);
    std::fs::remove_file(&arrived).expect("the arrival FIFO removed");
    assert!(status.success(), "{status}");
    let rows = table(&out);
    assert_eq!(rows.len(), 1 + students.len(), "{rows:?}");
    for student in students {
        assert_eq!(cell(&rows, student, "status"), "graded", "{rows:?}");
    }
    // Once the first is done, the folder is free again.
    let again = grade_file(&class, &out, "server.py");
    assert_eq!(again.code, 0, "{}", again.everything());
}
