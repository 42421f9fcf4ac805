//! Every file in suite/bad-specs/ is a broken spec whose first line says
//! the error it must produce: `# expect: LINE:COL MESSAGE-FRAGMENT`.

mod common;

use common::*;
use std::path::PathBuf;

fn bad_specs() -> Vec<PathBuf> {
    let dir = root().join("suite/bad-specs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("suite/bad-specs exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn each_broken_spec_is_reported_at_its_line_and_column_with_exit_2() {
    let files = bad_specs();
    assert!(
        files.len() >= 8,
        "expected the bad-spec collection, found {files:?}"
    );
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} lacks its `# expect:` line", file.display()));
        let (position, fragment) = expect.split_once(' ').expect("LINE:COL MESSAGE");
        let output = runner().arg(&file).output().expect("runner runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}: {stderr}",
            file.display()
        );
        let wanted = format!("{}:{position}: ", file.display());
        assert!(
            stderr.contains(&wanted),
            "{}: wanted {wanted:?} in {stderr:?}",
            file.display()
        );
        assert!(
            stderr.contains(fragment),
            "{}: wanted {fragment:?} in {stderr:?}",
            file.display()
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        // Messages are for teachers, not Rust programmers.
        for jargon in ["struct Raw", "Raw", "map with a single key"] {
            assert!(!stderr.contains(jargon), "{jargon:?} in {stderr}");
        }
        assert_eq!(stderr.lines().count(), 1, "one message: {stderr}");
    }
}

/// A teacher fixing several mistakes sees them all at once, as a
/// compiler shows them: each on its own line at its file:line:col, in
/// file order, for `runner check` and for a run alike.
#[test]
fn every_mistake_of_a_file_is_reported_in_one_pass() {
    let dir = tempfile::tempdir().expect("temp dir");
    let misspelt = dir.path().join("misspelt.yaml");
    std::fs::write(
        &misspelt,
        "spec: bad\ntitle: t\ntarget: { role: server, transport: tcp }\ncases:\n  - id: one\n    about: a\n    steps:\n      - connect: a\n      - send: { on: a, txt: \"hello\" }\n  - id: two\n    about: b\n    steps:\n      - conect: a\n",
    )
    .expect("write");
    let wrong = dir.path().join("wrong.yaml");
    std::fs::write(
        &wrong,
        "spec: bad\ntitle: t\ntarget: { role: server, transport: tcp }\ncases:\n  - id: one\n    about: a\n    steps:\n      - connect: a\n      - recv: { on: b, text: \"x\" }\n  - id: one\n    about: again\n    steps:\n      - connect: a\n  - id: three\n    about: c\n    steps:\n      - connect: a\n      - quiet: { on: a, for: 0s }\n",
    )
    .expect("write");
    let checked = finish(
        runner(),
        &[
            "check",
            &misspelt.display().to_string(),
            &wrong.display().to_string(),
        ],
    );
    assert_eq!(checked.code, 2, "{}", checked.everything());
    let lines: Vec<&str> = checked.stderr.lines().collect();
    let at = |file: &std::path::Path, place: &str| format!("error: {}:{place}: ", file.display());
    let expected = [
        (at(&misspelt, "9:24"), "unknown field `txt`"),
        (at(&misspelt, "13:17"), "unknown step `conect`"),
        (at(&wrong, "9:21"), "unknown connection `b`"),
        (at(&wrong, "10:9"), "duplicate case id `one`"),
        (
            at(&wrong, "18:30"),
            "the duration must be greater than zero",
        ),
    ];
    assert_eq!(lines.len(), expected.len(), "{}", checked.stderr);
    for (line, (start, fragment)) in lines.iter().zip(expected) {
        assert!(line.starts_with(&start), "{line:?} starts with {start:?}");
        assert!(line.contains(fragment), "{line:?} says {fragment:?}");
    }
}
