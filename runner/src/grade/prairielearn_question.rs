//! `runner prairielearn-question`: an externally graded PrairieLearn
//! question for an assignment. Layout per
//! <https://prairielearn.readthedocs.io/en/latest/externalGrading/>: the
//! question's `tests/` folder is copied to `/grade/tests/` in the grading
//! container, the student's files to `/grade/student/`, and the entry
//! point writes `/grade/results/results.json`.
//!
//! The question folder holds `info.json` (`gradingMethod: External`),
//! `question.html` (a file upload and the grader's results), and in
//! `tests/` the entry point `run.sh`, the runner itself, the specs and
//! the assignment.

use crate::speclang::assignment::Assignment;
use std::path::Path;

/// The grading image when none is given: PrairieLearn's Python grader,
/// which has python3 (the common case) and bash.
pub const DEFAULT_IMAGE: &str = "prairielearn/grader-python";

const RUN: &str = r#"#!/bin/bash
# PrairieLearn runs this in the grading container with the question's
# tests/ in /grade/tests and the student's files in /grade/student; the
# results go to /grade/results/results.json. PRAIRIELEARN_GRADE_ROOT
# stands in for /grade when the question is tried elsewhere.
set -u
root="${PRAIRIELEARN_GRADE_ROOT:-/grade}"
tests="$root/tests"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/class/student" "$root/results"
cp -R "$root/student/." "$work/class/student/"
chmod +x "$tests/runner" 2>/dev/null
"$tests/runner" grade "$tests/assignment.yaml" --submissions "$work/class" \
    --out "$work/out" --layout plain --jobs 1 > "$work/grade.log" 2>&1
status=$?
cat "$work/grade.log"
if [ -s "$work/out/student/prairielearn.json" ]; then
    cp "$work/out/student/prairielearn.json" "$root/results/results.json"
else
    printf '{"gradable": false, "score": 0, "message": "The grader could not grade this submission (runner exit code %s). Please tell your instructor.", "output": "", "tests": []}\n' "$status" \
        > "$root/results/results.json"
fi
"#;

/// What the question is made with.
pub struct Options<'a> {
    /// The runner binary to carry (a static one runs on any image).
    pub runner: &'a Path,
    /// The grading container's image.
    pub image: &'a str,
    /// Seconds PrairieLearn gives the grading.
    pub timeout: u32,
}

/// Writes the question folder `dir` (created; it must not exist or be
/// empty).
pub fn write(assignment: &Assignment, dir: &Path, options: &Options) -> Result<(), String> {
    let fail = |what: &Path, e: std::io::Error| format!("{}: {e}", what.display());
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(format!(
            "{}: the folder is not empty; give a new folder for the question",
            dir.display()
        ));
    }
    let tests = dir.join("tests");
    std::fs::create_dir_all(tests.join("specs")).map_err(|e| fail(&tests, e))?;
    let write = |path: &Path, text: &[u8], mode: u32| -> Result<(), String> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).map_err(|e| fail(path, e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| fail(path, e))
    };
    let runner = std::fs::read(options.runner)
        .map_err(|e| format!("cannot read the runner {}: {e}", options.runner.display()))?;
    write(&tests.join("runner"), &runner, 0o755)?;
    write(&tests.join("run.sh"), RUN.as_bytes(), 0o755)?;
    write(
        &tests.join("assignment.yaml"),
        super::bundle::assignment_file(assignment).as_bytes(),
        0o644,
    )?;
    for program in &assignment.programs {
        write(
            &tests.join(format!("specs/{}.yaml", program.spec.name)),
            program.spec.text.as_bytes(),
            0o644,
        )?;
    }
    write(
        &dir.join("info.json"),
        info(assignment, options).as_bytes(),
        0o644,
    )?;
    write(
        &dir.join("question.html"),
        question_html(assignment).as_bytes(),
        0o644,
    )?;
    Ok(())
}

/// `info.json`: an external grader with the entry point in tests/.
fn info(assignment: &Assignment, options: &Options) -> String {
    let info = serde_json::json!({
        "uuid": uuid_v4(),
        "title": format!("Socket programming: {}", assignment.name),
        "topic": "Socket programming",
        "tags": ["sockets", "runner"],
        "type": "v3",
        "singleVariant": true,
        "gradingMethod": "External",
        "externalGradingOptions": {
            "enabled": true,
            "image": options.image,
            "entrypoint": "/grade/tests/run.sh",
            "timeout": options.timeout,
        },
    });
    serde_json::to_string_pretty(&info).unwrap_or_default() + "\n"
}

/// The question page: what to hand in, an upload of those files, and the
/// grader's results.
fn question_html(assignment: &Assignment) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut names = Vec::new();
    let mut patterns = Vec::new();
    let mut items = String::new();
    for program in &assignment.programs {
        let file = program.file.as_str();
        if file.contains(['*', '?', '[', '{', '/']) {
            patterns.push(escape(file));
        } else {
            names.push(escape(file));
        }
        items.push_str(&format!(
            "    <li><code>{}</code>: {}</li>\n",
            escape(file),
            escape(&program.spec.title)
        ));
    }
    let mut upload = String::from("<pl-file-upload");
    if !names.is_empty() {
        upload.push_str(&format!(" file-names=\"{}\"", names.join(", ")));
    }
    if !patterns.is_empty() {
        upload.push_str(&format!(" file-patterns=\"{}\"", patterns.join(", ")));
    }
    upload.push_str("></pl-file-upload>");
    format!(
        "<pl-question-panel>\n  <p>Hand in your programs:</p>\n  <ul>\n{items}  </ul>\n  <p>Each is run and talked to over real sockets; every case's result says what was expected and what your program did.</p>\n</pl-question-panel>\n\n{upload}\n\n<pl-submission-panel>\n  <pl-external-grader-results></pl-external-grader-results>\n  <pl-file-preview></pl-file-preview>\n</pl-submission-panel>\n"
    )
}

/// A random UUID (version 4), as PrairieLearn wants one per question.
fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    if let Ok(mut random) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = random.read_exact(&mut bytes);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
