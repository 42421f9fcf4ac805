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
