//! What `runner grade` takes in before it grades: file patterns that are
//! real globs matched in any letter case (and refused when they cannot be
//! what the teacher meant), a `status` per student in grades.csv with a
//! note that says it in words, and output folders that cannot mix with
//! the class or with another grading.

mod common;

use common::{finish, runner};
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
            "error: --file `[server.py` is not a valid glob: unclosed character class; missing ']'\n",
        ),
        (
            "../alice/server.py",
            "error: --file `../alice/server.py` leads out of the student's folder with `..`: a file pattern names a file inside it, such as server.py or *server*.py\n",
        ),
        (
            "",
            "error: --file the file pattern is empty: give a file name or glob in each student's folder, such as server.py or *server*.py\n",
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
            "    tcp-upper-server: a file whose name matches [Cc]hat[Ss]erver.*, in any letter case, at most 2 folders down\n    tcp-upper-client: a file named client.py, in any letter case, at most 2 folders down\n"
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
