//! `runner gradescope-bundle`: the zip that Gradescope's autograder takes.
//! Layout per <https://gradescope-autograders.readthedocs.io/en/latest/specs/>:
//! `setup.sh` and `run_autograder` at the top of the zip, unpacked into
//! `/autograder/source`; the student's files in `/autograder/submission`;
//! the results in `/autograder/results/results.json`.

use super::assignment::Assignment;
use std::io::Write;
use std::path::Path;
use zip::write::SimpleFileOptions;

const SETUP: &str = r#"#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# The runner is a self-contained Linux binary; the students' programs need
# their language's toolchain. Add what your class writes in (for example
# default-jdk-headless, golang, nodejs, gcc).
set -eu
apt-get update
apt-get install -y --no-install-recommends python3
chmod +x /autograder/source/runner
"#;

const RUN_AUTOGRADER: &str = r#"#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, with the student's
# files in /autograder/submission. AUTOGRADER_ROOT stands in for
# /autograder when the bundle is tried elsewhere.
set -u
root="${AUTOGRADER_ROOT:-/autograder}"
source_dir="$root/source"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/class" "$root/results"
cp -R "$root/submission" "$work/class/submission"
chmod +x "$source_dir/runner"
"$source_dir/runner" grade "$source_dir/assignment.yaml" \
    --submissions "$work/class" --out "$work/out" --jobs 1
status=$?
if [ -f "$work/out/submission/results.json" ]; then
    cp "$work/out/submission/results.json" "$root/results/results.json"
else
    printf '{"score": 0, "output": "The autograder could not grade this submission (runner exit code %s). Please tell your teacher.", "tests": []}\n' "$status" \
        > "$root/results/results.json"
fi
"#;

/// Writes the autograder zip for `assignment` to `path`. The runner
/// itself goes in as `runner`, the specs as `specs/NAME.yaml`, and the
/// assignment, rewritten to point at them, as `assignment.yaml`.
pub fn write(assignment: &Assignment, path: &Path) -> Result<(), String> {
    let runner = std::env::current_exe()
        .and_then(std::fs::read)
        .map_err(|e| format!("cannot read the runner's own binary: {e}"))?;
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let executable = SimpleFileOptions::default().unix_permissions(0o755);
    let plain = SimpleFileOptions::default().unix_permissions(0o644);
    let mut add = |name: &str, options: SimpleFileOptions, bytes: &[u8]| {
        zip.start_file(name, options)
            .and_then(|()| zip.write_all(bytes).map_err(Into::into))
            .map_err(|e| format!("{}: cannot write {name}: {e}", path.display()))
    };
    add("setup.sh", executable, SETUP.as_bytes())?;
    add("run_autograder", executable, RUN_AUTOGRADER.as_bytes())?;
    add("runner", executable, &runner)?;
    add(
        "assignment.yaml",
        plain,
        assignment_file(assignment).as_bytes(),
    )?;
    for program in &assignment.programs {
        add(
            &format!("specs/{}.yaml", program.spec.name),
            plain,
            program.spec.text.as_bytes(),
        )?;
    }
    zip.finish()
        .map_err(|e| format!("{}: cannot finish the zip: {e}", path.display()))?;
    Ok(())
}

/// The assignment file inside the bundle, with specs as bundle paths.
fn assignment_file(assignment: &Assignment) -> String {
    let quote = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let mut text = format!(
        "# Written by `runner gradescope-bundle`.\nassignment: {}\nprograms:\n",
        quote(&assignment.name)
    );
    for program in &assignment.programs {
        text.push_str(&format!(
            "  - spec: {}\n    file: {}\n",
            quote(&format!("specs/{}.yaml", program.spec.name)),
            quote(program.file.as_str())
        ));
        if let Some(addr) = program.addr {
            text.push_str(&format!("    addr: {}\n", quote(&addr.to_string())));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_assignment_file_round_trips() {
        let spec = crate::spec::bundled_named("tcp-upper-server")
            .expect("bundled")
            .expect("valid");
        let assignment = super::Assignment::single(
            spec,
            super::super::pattern::FilePattern::new("my server.py").expect("valid"),
            Some("127.1.1.1:8900".parse().expect("addr")),
        );
        let folder = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(folder.path().join("specs")).expect("mkdir");
        std::fs::write(
            folder.path().join("specs/tcp-upper-server.yaml"),
            &assignment.programs[0].spec.text,
        )
        .expect("write spec");
        let path = folder.path().join("assignment.yaml");
        std::fs::write(&path, super::assignment_file(&assignment)).expect("write");
        let loaded = super::super::assignment::load(&path).expect("loads");
        assert_eq!(loaded.programs[0].file.as_str(), "my server.py");
        assert_eq!(loaded.programs[0].addr, assignment.programs[0].addr);
    }
}
