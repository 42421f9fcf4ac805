//! `runner grade --submissions` takes the class export a teacher downloads
//! from their LMS, unchanged: Moodle, Canvas, GitHub Classroom and
//! Gradescope layouts, and a zipped class, each built here as the platform
//! writes it; a student's own zip is unpacked; an archive that reaches
//! outside its folder or holds a link is refused with a note, and nothing
//! is written outside.

mod common;

use common::{finish, runner, world_readable_tempdir};
use std::path::Path;

fn fixture(relative: &str) -> String {
    std::fs::read_to_string(common::root().join("fixtures").join(relative)).expect("fixture")
}

fn correct() -> String {
    fixture("python/upper_server.py")
}

/// A server whose replies are wrong (capitalised, not upper-cased), and
/// right in all else: 3 of tcp-upper-server's 8 points (the close and the
/// fresh start).
fn wrong() -> String {
    fixture("python/upper_server_wrong.py")
}

fn put(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// Writes an archive (zip, or tar by its name) with Python: entries of
/// (name, text), and links of (name, target).
fn archive(path: &Path, entries: &[(&str, &str)], links: &[(&str, &str)]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let script = r#"
import io, json, sys, tarfile, zipfile
path, entries, links = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
if path.endswith('.zip'):
    with zipfile.ZipFile(path, 'w') as z:
        for name, text in entries:
            z.writestr(name, text)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            z.writestr(info, target)
else:
    with tarfile.open(path, 'w:gz' if path.endswith('gz') else 'w') as t:
        for name, text in entries:
            data = text.encode()
            info = tarfile.TarInfo(name); info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name); info.type = tarfile.SYMTYPE; info.linkname = target
            t.addfile(info)
"#;
    let status = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .arg(serde_json::to_string(entries).expect("json"))
        .arg(serde_json::to_string(links).expect("json"))
        .status()
        .expect("python3 runs");
    assert!(status.success());
}

/// Grades `submissions` and returns the run and the rows of grades.csv as
/// (student, lms_id, points, note).
fn grade(
    submissions: &Path,
    out: &Path,
    extra: &[&str],
) -> (common::Finished, Vec<(String, String, String, String)>) {
    let (submissions, out_arg) = (submissions.display().to_string(), out.display().to_string());
    let mut args = vec![
        "grade",
        "tcp-upper-server",
        "--submissions",
        &submissions,
        "--file",
        "server.py",
        "--addr",
        "127.1.1.1:8900",
        "--out",
        &out_arg,
    ];
    args.extend_from_slice(extra);
    let finished = finish(runner(), &args);
    let Ok(text) = std::fs::read_to_string(out.join("grades.csv")) else {
        return (finished, Vec::new());
    };
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(header[..3], ["student", "lms_id", "points"], "{text}");
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("a row");
            (
                r[0].to_string(),
                r[1].to_string(),
                r[2].to_string(),
                r[r.len() - 1].to_string(),
            )
        })
        .collect();
    (finished, rows)
}

fn row(student: &str, id: &str, points: &str) -> (String, String, String, String) {
    (student.into(), id.into(), points.into(), String::new())
}

#[test]
fn a_moodle_export_keeps_full_names_and_ids_and_opens_a_students_zip() {
    let dir = world_readable_tempdir();
    let class = dir.path().join("moodle");
    put(
        &class.join("Zoë Dubois_1234567_assignsubmission_file_/server.py"),
        &correct(),
    );
    // A zip with a folder of its own and macOS's metadata beside it.
    archive(
        &class.join("Jean Luc Picard_7654321_assignsubmission_file_/lab1.zip"),
        &[
            ("lab1/server.py", &correct()),
            ("__MACOSX/lab1/._server.py", "resource fork"),
            ("lab1/.DS_Store", "finder"),
        ],
        &[],
    );
    put(
        &class.join("Jean Luc Picard_7654321_assignsubmission_onlinetext_/onlinetext.html"),
        "<p>see my zip</p>",
    );
    put(
        &class.join("Ana Bell_1111111_assignsubmission_file_/server.py"),
        &wrong(),
    );
    let worksheet = dir.path().join("worksheet.csv");
    let worksheet_arg = worksheet.display().to_string();
    let (finished, rows) = grade(
        &class,
        &dir.path().join("out"),
        &["--lms-csv", "moodle", &worksheet_arg],
    );
    assert_eq!(finished.code, 0, "{}", finished.everything());
    assert!(
        finished.stderr.contains("moodle layout (recognised"),
        "{}",
        finished.stderr
    );
    assert_eq!(
        rows,
        vec![
            row("Ana Bell", "1111111", "3"),
            row("Jean Luc Picard", "7654321", "8"),
            row("Zoë Dubois", "1234567", "8"),
        ]
    );
    // Moodle's worksheet importer finds its columns by these names, and
    // the student by `Participant` and the id of the folder names.
    let worksheet = csv_rows(&worksheet);
    assert_eq!(
        worksheet[0],
        [
            "Identifier",
            "Full name",
            "Grade",
            "Maximum Grade",
            "Last modified (grade)",
            "Feedback comments"
        ]
    );
    assert_eq!(worksheet.len(), 4);
    assert_eq!(
        worksheet[1][..4],
        ["Participant 1111111", "Ana Bell", "3", "8"]
    );
    assert!(
        worksheet[1][5].contains("Not passed: tcp-upper-server/greeting"),
        "{:?}",
        worksheet[1]
    );
    assert_eq!(
        worksheet[3][..4],
        ["Participant 1234567", "Zoë Dubois", "8", "8"]
    );
    assert_eq!(worksheet[3][5], "Every case passed.");
    assert!(worksheet[3][4].starts_with("20"), "{:?}", worksheet[3]);
    // Partitions joined by `runner merge` keep the ids.
    let parts: Vec<std::path::PathBuf> = ["1/2", "2/2"]
        .iter()
        .enumerate()
        .map(|(index, part)| {
            let out = dir.path().join(format!("part-{index}"));
            let (finished, _) = grade(&class, &out, &["--partition", part]);
            assert_eq!(finished.code, 0, "{}", finished.everything());
            out
        })
        .collect();
    let merged = dir.path().join("merged");
    let merged_worksheet = dir.path().join("merged-worksheet.csv");
    let mut merge = runner();
    merge.arg("merge").args(&parts).arg("--out").arg(&merged);
    merge.arg("--lms-csv").arg("moodle").arg(&merged_worksheet);
    merge.assert().success();
    let text = std::fs::read_to_string(merged.join("grades.csv")).expect("grades.csv");
    assert!(text.contains("Zoë Dubois,1234567,8,"), "{text}");
    assert!(text.contains("Ana Bell,1111111,3,"), "{text}");
    let ids: Vec<String> = csv_rows(&merged_worksheet)
        .iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(
        ids,
        [
            "Identifier",
            "Participant 1111111",
            "Participant 7654321",
            "Participant 1234567"
        ]
    );
    // The teacher's export is left as it was.
    assert!(class
        .join("Jean Luc Picard_7654321_assignsubmission_file_/lab1.zip")
        .is_file());
    assert!(!class
        .join("Jean Luc Picard_7654321_assignsubmission_file_/lab1")
        .exists());
}

#[test]
fn a_canvas_export_groups_a_students_files_and_takes_the_resubmission() {
    let dir = world_readable_tempdir();
    let class = dir.path().join("canvas");
    // Handed in twice: Canvas renamed the second `server.py`.
    put(&class.join("doejane_4242_90001_server.py"), &wrong());
    put(&class.join("doejane_4242_90001_server-1.py"), &correct());
    put(&class.join("doejane_4242_90001_notes.txt"), "notes");
    put(
        &class.join("smithbob_late_5151_90002_server.py"),
        &correct(),
    );
    put(&class.join("lopezmaría_6161_90003_client.py"), &correct());
    let gradebook = dir.path().join("gradebook.csv");
    let gradebook_arg = gradebook.display().to_string();
    let (finished, rows) = grade(
        &class,
        &dir.path().join("out"),
        &["--lms-csv", "canvas", &gradebook_arg],
    );
    assert_eq!(finished.code, 0, "{}", finished.everything());
    assert!(
        finished.stderr.contains("canvas layout"),
        "{}",
        finished.stderr
    );
    assert_eq!(rows[0], row("doejane", "4242", "8"));
    assert_eq!(rows[1].0, "lopezmaría");
    assert_eq!(
        rows[1].3,
        "no file matches `server.py` (the folder holds client.py)"
    );
    assert_eq!(rows[2], row("smithbob", "5151", "8"));
    assert_eq!(rows.len(), 3);
    // Canvas's gradebook import: its leading columns, matched by the user
    // id of the file names, and the points possible as its export has.
    assert_eq!(
        csv_rows(&gradebook),
        [
            vec![
                "Student",
                "ID",
                "SIS User ID",
                "SIS Login ID",
                "Section",
                "tcp-upper-server"
            ],
            vec!["    Points Possible", "", "", "", "", "8"],
            vec!["doejane", "4242", "", "", "", "8"],
            vec!["lopezmaría", "6161", "", "", "", "0"],
            vec!["smithbob", "5151", "", "", "", "8"],
        ]
    );
}

#[test]
fn a_flat_moodle_export_is_gathered_per_participant() {
    let dir = world_readable_tempdir();
    let class = dir.path().join("flat");
    put(
        &class.join("Zoë Dubois_1234567_assignsubmission_file_server.py"),
        &correct(),
    );
    put(
        &class.join("Zoë Dubois_1234567_assignsubmission_file_README.md"),
        "read me",
    );
    put(
        &class.join("Ana Bell_1111111_assignsubmission_file_Server.py"),
        &wrong(),
    );
    put(
        &class.join("Ana Bell_1111111_assignsubmission_onlinetext_onlinetext.html"),
        "<p>done</p>",
    );
    let (finished, rows) = grade(&class, &dir.path().join("out"), &[]);
    assert_eq!(finished.code, 0, "{}", finished.everything());
    assert!(
        finished.stderr.contains("moodle layout"),
        "{}",
        finished.stderr
    );
    assert_eq!(
        rows,
        vec![
            row("Ana Bell", "1111111", "3"),
            row("Zoë Dubois", "1234567", "8")
        ]
    );
}

#[test]
fn lms_grades_for_a_class_from_elsewhere_are_refused_before_grading() {
    let dir = world_readable_tempdir();
    let class = dir.path().join("plain");
    put(&class.join("alice/server.py"), &correct());
    let out = dir.path().join("out");
    let file = dir.path().join("worksheet.csv").display().to_string();
    let (finished, rows) = grade(&class, &out, &["--lms-csv", "moodle", &file]);
    assert_eq!(finished.code, 2, "{}", finished.everything());
    assert!(
        finished
            .stderr
            .contains("by the ids of a moodle export, and"),
        "{}",
        finished.stderr
    );
    assert!(
        finished.stderr.contains("is a plain export"),
        "{}",
        finished.stderr
    );
    assert!(rows.is_empty());
    assert!(!Path::new(&file).exists());
    let (finished, _) = grade(&class, &out, &["--lms-csv", "blackboard", &file]);
    assert_eq!(finished.code, 2, "{}", finished.everything());
    assert!(
        finished.stderr.contains("the LMS is `moodle` or `canvas`"),
        "{}",
        finished.stderr
    );
}

/// The rows of a CSV file, header first.
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).expect("a CSV file");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("a row").iter().map(String::from).collect())
        .collect()
}

#[test]
fn a_github_classroom_clone_and_a_gradescope_export_name_their_students() {
    let dir = world_readable_tempdir();
    // The output goes outside the folder that holds the export.
    let elsewhere = world_readable_tempdir();
    let clone = dir.path().join("lab1-submissions");
    for (user, text) in [("octocat", correct()), ("mona-lisa", wrong())] {
        put(&clone.join(format!("lab1-{user}/server.py")), &text);
        std::fs::create_dir_all(clone.join(format!("lab1-{user}/.git"))).expect("mkdir");
    }
    let (finished, rows) = grade(dir.path(), &elsewhere.path().join("out-gh"), &[]);
    assert_eq!(finished.code, 0, "{}", finished.everything());
    assert!(
        finished.stderr.contains("github-classroom layout"),
        "{}",
        finished.stderr
    );
    assert_eq!(
        rows,
        vec![row("mona-lisa", "", "3"), row("octocat", "", "8")]
    );

    let export = dir.path().join("gradescope");
    put(
        &export.join("submission_metadata.yml"),
        "submission_101:\n  :submitters:\n  - :name: Ana María Núñez\n    :sid: '2001'\n    :email: ana@example.edu\n  :created_at: 2026-01-01 10:00:00 +0000\n\
         submission_102:\n  :submitters:\n  - :name: Pair One\n    :sid: '2002'\n    :email: one@example.edu\n  - :name: Pair Two\n    :sid: '2003'\n    :email: two@example.edu\n",
    );
    put(&export.join("submission_101/server.py"), &correct());
    put(&export.join("submission_102/server.py"), &wrong());
    let (finished, rows) = grade(&export, &dir.path().join("out-gs"), &[]);
    assert_eq!(finished.code, 0, "{}", finished.everything());
    assert!(
        finished.stderr.contains("gradescope layout"),
        "{}",
        finished.stderr
    );
    assert_eq!(
        rows,
        vec![
            row("Ana María Núñez", "2001", "8"),
            row("Pair One", "2002", "3"),
            row("Pair Two", "2003", "3"),
        ]
    );
}

#[test]
fn a_zipped_class_is_graded_and_a_forced_layout_is_said() {
    let dir = world_readable_tempdir();
    let zip = dir.path().join("class.zip");
    archive(
        &zip,
        &[
            ("class/Émile Zola/server.py", &correct()),
            ("class/ann/lab/server.py", &wrong()),
            ("__MACOSX/class/._ann", "x"),
        ],
        &[],
    );
    let (finished, rows) = grade(&zip, &dir.path().join("out"), &["--layout", "plain"]);
    assert_eq!(finished.code, 0, "{}", finished.everything());
    assert!(
        finished.stderr.contains("plain layout (from --layout)"),
        "{}",
        finished.stderr
    );
    assert_eq!(rows, vec![row("ann", "", "3"), row("Émile Zola", "", "8")]);
}

#[test]
fn archives_that_reach_outside_or_hold_links_are_refused_with_a_note() {
    let dir = world_readable_tempdir();
    let evil = dir.path().join("deep/class.zip");
    archive(
        &evil,
        &[("alice/server.py", &correct()), ("../evil", "gotcha")],
        &[],
    );
    let (finished, rows) = grade(&evil, &dir.path().join("out"), &[]);
    assert_eq!(finished.code, 2, "{}", finished.everything());
    assert!(
        finished
            .stderr
            .contains("refused, nothing unpacked: entry `../evil` leads outside the archive"),
        "{}",
        finished.stderr
    );
    assert!(rows.is_empty());
    assert!(!dir.path().join("evil").exists() && !dir.path().join("deep/evil").exists());

    let class = dir.path().join("class");
    put(&class.join("alice/server.py"), &correct());
    archive(
        &class.join("bob/lab1.tar.gz"),
        &[("lab1/server.py", &correct())],
        &[("lab1/passwd", "/etc/passwd")],
    );
    archive(
        &class.join("carol/lab1.zip"),
        &[("server.py", &correct()), ("../../evil.py", "gotcha")],
        &[],
    );
    archive(
        &class.join("dave/lab1.zip"),
        &[("server.py", &correct())],
        &[("secret", "/etc/shadow")],
    );
    let (finished, rows) = grade(&class, &dir.path().join("out2"), &[]);
    assert_eq!(finished.code, 0, "{}", finished.everything());
    assert_eq!(rows[0], row("alice", "", "8"));
    let note = |index: usize| rows[index].3.clone();
    assert!(
        note(1).starts_with("lab1.tar.gz: refused, not unpacked: entry `lab1/passwd` is a symbolic link; no file matches"),
        "{rows:?}"
    );
    assert!(
        note(2).starts_with(
            "lab1.zip: refused, not unpacked: entry `../../evil.py` leads outside the archive"
        ),
        "{rows:?}"
    );
    assert!(
        note(3).starts_with("lab1.zip: refused, not unpacked: entry `secret` is a symbolic link"),
        "{rows:?}"
    );
    assert!(rows[1..].iter().all(|r| r.2 == "0"), "{rows:?}");
    assert!(!dir.path().join("evil.py").exists() && !class.join("evil.py").exists());
    assert!(!class.join("bob/lab1").exists() && !class.join("carol/lab1").exists());
}
